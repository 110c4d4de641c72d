import { inTheFuture, PRINCIPAL_ARN } from '../ledger-limits';
import { type Exemption, MAX_EXEMPTION_MS } from './ledger';
import { neverExempt } from './resource-types';

/**
 * The limits an exemption in the ledger keeps, checked by the command line before it writes one and
 * again by whoever reads one (shared/ledger-limits.ts says why). Apart from the grant limits because
 * it reads the rule registry: a rule module importing it would capture the registry half-built.
 */

/** Why an exemption in the ledger exempts nothing, or undefined when it keeps every limit. */
export function exemptionBeyondLimits(exemption: Exemption, now: Date): string | undefined {
  const never = neverExempt(exemption.ruleId);
  if (never) return never;
  if (!PRINCIPAL_ARN.test(exemption.setBy)) return 'it was not set by an IAM principal';
  if (inTheFuture(exemption.setAt, now)) return `it was set in the future (${exemption.setAt})`;
  const lasts = Date.parse(exemption.until) - Date.parse(exemption.setAt);
  if (lasts <= 0) return 'it ends before it was set';
  if (lasts > MAX_EXEMPTION_MS) {
    return `it ends ${exemption.until}, more than a year after it was set (${exemption.setAt})`;
  }
  return undefined;
}
