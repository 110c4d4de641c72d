import type { Incident } from '../model';
import { type Exemption, type ExemptionLedger, isInForce, MAX_EXEMPTION_MS, newExemptionId } from './ledger';
import { exemptionBeyondLimits } from './limits';
import { ExemptionRefusedError, neverExempt } from './resource-types';

/**
 * For `incidents undo`: exempts the incident's resource from its rule until `until`, so the
 * responder does not revert the undo a minute later. An exemption already in force (and within the
 * ledger's limits) that lasts at least as long is kept (and returned); any other is superseded in the
 * same write.
 */
export async function exemptAfterUndo(
  ledger: ExemptionLedger,
  incident: Pick<Incident, 'incidentId' | 'ruleId' | 'resourceArn'>,
  options: { until: Date; setBy: string; now?: Date },
): Promise<Exemption> {
  const now = options.now ?? new Date();
  const ahead = options.until.getTime() - now.getTime();
  if (ahead <= 0 || ahead > MAX_EXEMPTION_MS) {
    throw new ExemptionRefusedError(
      `an exemption after undo must end in the future and at most a year ahead, not ${options.until.toISOString()}`,
    );
  }
  const current = await ledger.current(incident.ruleId, incident.resourceArn);
  const inForce = current && isInForce(current, now) ? current : undefined;
  // One beyond the ledger's limits exempts nothing (the functions ignore it): it is superseded too.
  const kept =
    inForce && !exemptionBeyondLimits(inForce, now, neverExempt(incident.ruleId)) ? inForce : undefined;
  if (kept && Date.parse(kept.until) >= options.until.getTime()) return kept;
  const exemption: Exemption = {
    exemptionId: newExemptionId(now),
    ruleId: incident.ruleId,
    resourceArn: incident.resourceArn,
    reason: `undo of incident ${incident.incidentId}`,
    until: options.until.toISOString(),
    setBy: options.setBy,
    setAt: now.toISOString(),
  };
  await ledger.add(exemption, { supersedes: inForce, now });
  return exemption;
}
