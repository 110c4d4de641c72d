import { ebsEncryptionByDefault } from './ebs-encryption-by-default';
import { ebsVolumeEncrypted } from './ebs-volume-encrypted';
import { phiDedicatedTenancy } from './phi-dedicated-tenancy';
import type { Rule } from './rule';

/** THE registry: every rule, listed once. */
export const rules: readonly Rule[] = [ebsEncryptionByDefault, ebsVolumeEncrypted, phiDedicatedTenancy];

export function ruleById(id: string): Rule {
  const rule = rules.find((candidate) => candidate.id === id);
  if (!rule) throw new Error(`Unknown rule '${id}'. Known rules: ${rules.map((r) => r.id).join(', ')}`);
  return rule;
}
