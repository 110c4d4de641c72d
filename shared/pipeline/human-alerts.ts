import type { Exemption } from '../exemptions/ledger';
import {
  type Incident,
  type LockdownRecord,
  type MitigationRecord,
  type Severity,
  UndoCallResult,
  type UndoRecord,
} from '../model';
import { type AlertMessage, buildNotice, GUARD_ALERT_RULE_ID } from './alerts';
import type { GuardReset } from './guards';
import { NoticeStatus, undoAdvice } from './triage';

/**
 * What on-call hears when a person changes how the responder acts (command line): a guard reset,
 * an exemption added or removed, and an `ssh lockdown` (one alert for all the paths it closed). A reversed remediation is its incident's own alert (buildAlert
 * of the `undone` incident); an undo that stopped part-way is buildUndoFailedAlert. Same shape as every
 * alert (buildNotice), so one filter policy serves all.
 */

export interface Where {
  account: string;
  region: string;
}

export function buildGuardResetAlert(reset: GuardReset, where: Where): AlertMessage {
  return buildNotice({
    severity: 'HIGH',
    ruleId: GUARD_ALERT_RULE_ID,
    status: NoticeStatus.GuardReset,
    ...where,
    headline: 'Blast-radius guard reset',
    outcome: 'the responder remediates again',
    action: `none, ${reset.resetBy} reset the blast-radius guard on purpose: the responder remediates again`,
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
    status: removed ? NoticeStatus.ExemptionRemoved : NoticeStatus.ExemptionAdded,
    account: where.account,
    region: where.region,
    // The outcome is kept whole, the rule and resource shortened first.
    headline: what,
    outcome: removed ? 'exemption removed' : `exempted until ${exemption.until.slice(0, 10)}`,
    action: removed
      ? `none, ${exemption.removedBy ?? 'a person'} ended an exemption: the responder handles the resource as usual again`
      : `none, ${exemption.setBy} exempted a resource on purpose: its findings page nobody until ${exemption.until}`,
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

type UndoEntry = UndoRecord['calls'][number];

const callName = (entry: UndoEntry) => `step ${entry.step + 1} (${entry.call.service} ${entry.call.action})`;

const callLine = (entry: UndoEntry) =>
  `  - ${callName(entry)} ${JSON.stringify(entry.call.input)}${entry.error ? `: FAILED: ${entry.error}` : ''}`;

/**
 * An undo that did not end `undone`: a call failed (the rest did not run), or every call ran but the
 * incident could not be recorded undone. The incident keeps its status, so its own alert would say
 * nothing changed: this says what was reversed, what was not, and what to do. `problem`: why it stopped.
 */
export function buildUndoFailedAlert(incident: Incident, undo: UndoRecord, problem: string): AlertMessage {
  const reversed = undo.calls.filter((entry) => entry.result === UndoCallResult.Succeeded);
  const notReversed = undo.calls.filter((entry) => entry.result !== UndoCallResult.Succeeded);
  const outcome =
    reversed.length === 0
      ? 'undo failed, nothing reversed'
      : notReversed.length === 0
        ? 'undo ran, not recorded undone'
        : `undo stopped, ${reversed.length} of ${undo.calls.length} reversed`;
  const names = (entries: readonly UndoEntry[]) => entries.map(callName).join('; ') || undefined;
  const { exemption } = undo;
  return buildNotice({
    severity: incident.severity,
    ruleId: incident.ruleId,
    status: NoticeStatus.UndoFailed,
    account: incident.account,
    region: incident.region,
    // As the incident's own subject: a region-level setting is named by the account the tail names.
    headline:
      incident.resourceId === incident.account ? incident.title : `${incident.title} ${incident.resourceId}`,
    outcome,
    action:
      reversed.length === 0
        ? 'an undo of this remediation failed before it reversed anything; the remediation stands. Check why before trying again.'
        : 'an undo of this remediation stopped part-way; the resource is neither as remediated nor as before. Finish the undo by hand or remediate again.',
    text: [
      `Incident:  ${incident.incidentId} (${incident.title}; status ${incident.status})`,
      `Resource:  ${incident.resourceArn}`,
      `Undo by:   ${undo.by} at ${undo.startedAt}`,
      ...(undo.memberSession ? [`As:        ${undo.memberSession}`] : []),
      `Why:       ${undo.reason ?? '(not recorded)'}`,
      `Stopped:   ${problem}`,
      '',
      'Reversed:',
      ...(reversed.length > 0 ? reversed.map(callLine) : ['  (nothing)']),
      'NOT reversed:',
      ...(notReversed.length > 0 ? notReversed.map(callLine) : ['  (nothing)']),
      '',
      exemption
        ? `Exempted:  until ${exemption.until} (${exemption.exemptionId}): the responder leaves the resource as it is until then`
        : 'Exempted:  no: the responder may act on the resource again at once',
      '',
      `The undo entry is in the incident: npx compliance-responder incidents show ${incident.incidentId}`,
    ],
    facts: {
      incidentId: incident.incidentId,
      incidentStatus: incident.status,
      by: undo.by,
      ...(undo.memberSession && { memberSession: undo.memberSession }),
      reason: undo.reason,
      startedAt: undo.startedAt,
      finishedAt: undo.finishedAt,
      problem,
      reversed: names(reversed),
      failed: names(undo.calls.filter((entry) => entry.result === UndoCallResult.Failed)),
      notRun: names(
        undo.calls.filter(
          (entry) => entry.result !== UndoCallResult.Succeeded && entry.result !== UndoCallResult.Failed,
        ),
      ),
      exemptionId: exemption?.exemptionId,
      exemptionUntil: exemption?.until,
    },
  });
}

/**
 * A person documented a mitigation and so resolved the incident (`incidents resolve --mitigation`):
 * on-call hears what was decided, by whom, for which resource. `severity`: the incident's.
 */
export function buildMitigationAlert(incident: Incident, mitigation: MitigationRecord): AlertMessage {
  return buildNotice({
    severity: incident.severity,
    ruleId: incident.ruleId,
    status: NoticeStatus.Mitigated,
    action: `none, ${mitigation.by} documented a mitigation on purpose; review it if it is unexpected`,
    account: incident.account,
    region: incident.region,
    headline: `${incident.title} ${incident.resourceId}`,
    outcome: 'mitigation recorded',
    text: [
      'A person documented a mitigation: the incident is resolved, the finding is not fixed.',
      '',
      `Incident:   ${incident.incidentId} (${incident.title})`,
      `Resource:   ${incident.resourceArn}`,
      `Finding:    ${incident.reason}`,
      `Mitigation: ${mitigation.text}`,
      `By:         ${mitigation.by} at ${mitigation.at}`,
      '',
      `The mitigation is kept in the incident: npx compliance-responder incidents show ${incident.incidentId}`,
    ],
    facts: {
      incidentId: incident.incidentId,
      resourceArn: incident.resourceArn,
      mitigation: mitigation.text,
      by: mitigation.by,
      at: mitigation.at,
    },
  });
}

/** The ruleId attribute of a lockdown's alert: it covers both SSH rules' paths. */
export const LOCKDOWN_ALERT_RULE_ID = 'ssh-lockdown';

/** One path a lockdown acted on or left: its incident when one was opened. */
export interface LockdownPath {
  ruleId: string;
  resourceId: string;
  incident?: Incident;
  /** Why it failed or was skipped, when its incident does not say (no incident, an exemption). */
  detail?: string;
}

export interface LockdownPaths {
  closed: readonly LockdownPath[];
  /** Still open: the incident could not be opened, or the fix failed or was not verified. */
  failed: readonly LockdownPath[];
  /** Left open on purpose: exempt. */
  skipped: readonly LockdownPath[];
}

/** Paths listed by name in the e-mail per section; the rest are counted (each is in the table). */
const LISTED_PATHS = 50;

const SEVERITY_ORDER = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;

function listed<T>(items: readonly T[], line: (item: T) => string): string[] {
  const more = items.length - LISTED_PATHS;
  return [
    ...items.slice(0, LISTED_PATHS).map(line),
    ...(more > 0 ? [`  … and ${more} more: npx compliance-responder incidents list --since 1d`] : []),
  ];
}

function pathLine(path: LockdownPath): string {
  const { incident } = path;
  const why = path.detail ?? (incident?.status === 'remediated' ? undefined : incident?.statusReason);
  return `  ${path.ruleId} ${path.resourceId}${incident ? `: ${incident.incidentId} (${incident.status})` : ''}${why ? `: ${why}` : ''}`;
}

/**
 * One alert for one human action: `ssh lockdown` closes each path as its own incident (steps, undo,
 * verify), whose alerts it holds, then tells on-call once: how many paths closed, failed and were
 * skipped, the incidents, who and why, and each undo command. Pages (actionNeeded) only when a path
 * is still open.
 */
export function buildLockdownAlert(order: LockdownRecord, where: Where, paths: LockdownPaths): AlertMessage {
  const { closed, failed, skipped } = paths;
  const incidents = [...closed, ...failed].flatMap((path) => (path.incident ? [path.incident] : []));
  const severity =
    SEVERITY_ORDER.slice()
      .reverse()
      .find((level) => incidents.some((incident) => incident.severity === level)) ?? 'HIGH';
  const undo = incidents.flatMap((incident) => {
    const command = undoAdvice(incident)?.command;
    return command ? [command] : [];
  });
  const counts = [
    ...(closed.length > 0 ? [`${closed.length} closed`] : []),
    ...(failed.length > 0 ? [`${failed.length} failed`] : []),
  ];
  return buildNotice({
    severity,
    ruleId: LOCKDOWN_ALERT_RULE_ID,
    status: failed.length > 0 ? NoticeStatus.LockdownFailed : NoticeStatus.Lockdown,
    ...where,
    headline: 'SSH lockdown',
    outcome: counts.join(', ') || 'nothing closed',
    action:
      failed.length > 0
        ? `close by hand the ${failed.length} SSH path(s) the lockdown by ${order.by} could not close (each incident says where it stopped)`
        : `none, ${order.by} closed ${closed.length} SSH path(s) on purpose; each is its own incident`,
    text: [
      'A person locked down SSH with their credentials: each path is its own incident, with its steps and undo.',
      '',
      `Who:       ${order.by}`,
      `Why:       ${order.reason}`,
      `When:      ${order.startedAt} (ssh lockdown${order.emergency ? ' --emergency, past the blast-radius guard' : ''})`,
      `Where:     account ${where.account}, ${where.region} (and IAM, which is global)`,
      `Paths:     ${closed.length} closed, ${failed.length} failed, ${skipped.length} skipped`,
      '',
      'Closed:',
      ...(closed.length > 0 ? listed(closed, pathLine) : ['  (none)']),
      ...(failed.length > 0 ? ['NOT closed (still open):', ...listed(failed, pathLine)] : []),
      ...(skipped.length > 0 ? ['Skipped (left open on purpose):', ...listed(skipped, pathLine)] : []),
      '',
      'Undo (each path on its own, with --reason):',
      ...(undo.length > 0 ? listed(undo, (command) => `  ${command}`) : ['  (nothing to undo)']),
      '',
      `Each incident in full: npx compliance-responder incidents show <incident-id>`,
    ],
    facts: {
      by: order.by,
      reason: order.reason,
      runId: order.runId,
      startedAt: order.startedAt,
      emergency: String(order.emergency === true),
      closed: String(closed.length),
      failed: String(failed.length),
      skipped: String(skipped.length),
      // Clipped for a very large lockdown: its incidents share lockdown.runId.
      incidentIds: incidents.map((incident) => incident.incidentId).join(','),
      ruleIds: [...new Set([...closed, ...failed].map((path) => path.ruleId))].join(','),
      undoCommands: undo.join('\n'),
    },
  });
}
