import type { Exemption } from '../exemptions/ledger';
import type { Severity } from '../model';
import { type AlertMessage, buildNotice, GUARD_ALERT_RULE_ID } from './alerts';
import type { GuardReset } from './guards';

/**
 * What on-call hears when a person changes how the responder acts (command line): a guard reset
 * and an exemption added or removed. A reversed remediation is its incident's own alert (buildAlert
 * of the `undone` incident). Same shape as every alert (buildNotice), so one filter policy serves all.
 */

export interface Where {
  account: string;
  region: string;
}

export function buildGuardResetAlert(reset: GuardReset, where: Where): AlertMessage {
  return buildNotice({
    severity: 'HIGH',
    ruleId: GUARD_ALERT_RULE_ID,
    status: 'guard-reset',
    ...where,
    headline: 'Blast-radius guard reset',
    outcome: 'the responder remediates again',
    text: [
      'A person reset the blast-radius guard: the responder remediates again.',
      '',
      `Who:       ${reset.resetBy}`,
      `When:      ${reset.resetAt}`,
      `Why:       ${reset.reason}`,
      `Tripped:   ${reset.trippedAt}: ${reset.tripReason}`,
      '',
      'The reset is kept in the table: npx compliance-responder guard status',
    ],
    facts: {
      resetBy: reset.resetBy,
      resetAt: reset.resetAt,
      reason: reset.reason,
      trippedAt: reset.trippedAt,
      tripReason: reset.tripReason,
    },
  });
}

const shortArn = (arn: string) => arn.split(/[:/]/).pop() ?? arn;

/** `severity`: the exempted rule's, so a filter paging on it hears its findings were silenced. */
export function buildExemptionAlert(
  change: 'added' | 'removed',
  exemption: Exemption,
  where: Where & { severity: Severity },
): AlertMessage {
  const removed = change === 'removed';
  const what = `${exemption.ruleId} ${shortArn(exemption.resourceArn)}`;
  return buildNotice({
    severity: where.severity,
    ruleId: exemption.ruleId,
    status: `exemption-${change}`,
    account: where.account,
    region: where.region,
    // The outcome is kept whole, the rule and resource shortened first.
    headline: what,
    outcome: removed ? 'exemption removed' : `exempted until ${exemption.until.slice(0, 10)}`,
    text: [
      removed
        ? 'A person ended an exemption early: the responder handles this resource as usual again.'
        : 'A person exempted a resource: its findings are recorded as exempted and page nobody until it ends.',
      '',
      `Rule:      ${exemption.ruleId}`,
      `Resource:  ${exemption.resourceArn}`,
      `Until:     ${exemption.until}`,
      `Set by:    ${exemption.setBy} at ${exemption.setAt}`,
      `Why:       ${exemption.reason}`,
      ...(removed
        ? [
            `Removed:   by ${exemption.removedBy ?? '?'} at ${exemption.removedAt ?? '?'}: ${exemption.removeReason ?? '(no reason given)'}`,
          ]
        : []),
      '',
      `Exemption: ${exemption.exemptionId}   (npx compliance-responder exemptions list --all)`,
    ],
    facts: {
      exemptionId: exemption.exemptionId,
      ruleId: exemption.ruleId,
      resourceArn: exemption.resourceArn,
      until: exemption.until,
      setBy: exemption.setBy,
      setAt: exemption.setAt,
      reason: exemption.reason,
      removedBy: exemption.removedBy,
      removedAt: exemption.removedAt,
      removeReason: exemption.removeReason,
    },
  });
}
