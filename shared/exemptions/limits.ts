import { inTheFuture, PRINCIPAL_ARN } from '../ledger-limits';
import { type Exemption, MAX_EXEMPTION_MS } from './ledger';

/**
 * The limits an exemption in the ledger keeps, checked by the command line before it writes one and
 * again by whoever reads one (shared/ledger-limits.ts says why).
 */

/**
 * Why an exemption in the ledger exempts nothing, or undefined when it keeps every limit. `never` is
 * its rule's `neverExempt`: the caller passes it (a function knows its own rule; the command line
 * looks it up) so that a function's bundle need not carry the whole rule registry.
 */
export function exemptionBeyondLimits(
  exemption: Exemption,
  now: Date,
  never: string | undefined,
): string | undefined {
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
