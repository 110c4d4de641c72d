import { cloudtrailLoggingOn } from './cloudtrail-logging-on';
import { configRecorderOn } from './config-recorder-on';
import { ebsEncryptionByDefault } from './ebs-encryption-by-default';
import { ebsVolumeEncrypted } from './ebs-volume-encrypted';
import { ecrScannedImmutable } from './ecr-scanned-immutable';
import { ecsTaskUnprivileged } from './ecs-task-unprivileged';
import { elbBackendEncrypted } from './elb-backend-encrypted';
import { elbClassicListenerTls } from './elb-classic-listener-tls';
import { elbListenerTls } from './elb-listener-tls';
import { imageFindingsMitigated } from './image-findings-mitigated';
import { phiDedicatedTenancy } from './phi-dedicated-tenancy';
import type { Rule } from './rule';
import { selfProtection } from './self-protection';
import { sshGrantExpired } from './ssh-grant-expired';
import { sshOpenToWorld } from './ssh-open-to-world';

/** THE registry: every rule, listed once. */
export const rules: readonly Rule[] = [
  ebsEncryptionByDefault,
  ebsVolumeEncrypted,
  phiDedicatedTenancy,
  sshOpenToWorld,
  sshGrantExpired,
  cloudtrailLoggingOn,
  configRecorderOn,
  selfProtection,
  elbListenerTls,
  ecrScannedImmutable,
  ecsTaskUnprivileged,
  elbClassicListenerTls,
  elbBackendEncrypted,
  imageFindingsMitigated,
];

export function ruleById(id: string): Rule {
  const rule = rules.find((candidate) => candidate.id === id);
  if (!rule) throw new Error(`Unknown rule '${id}'. Known rules: ${rules.map((r) => r.id).join(', ')}`);
  return rule;
}
