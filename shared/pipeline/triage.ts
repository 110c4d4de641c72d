import { type Incident, Mode, StepResult } from '../model';
import { verifiedKeptAsEvidence } from './kept-evidence';
import { IncidentStatus } from './lifecycle';

/**
 * What on-call must do about an alert, decided in one place from the status and the incident's
 * outcome (a fix that kept the original as evidence leaves a person to delete it), never per rule: the first line of every alert body and the `actionNeeded` attribute a
 * pager's subscription filter policy matches (README, "Paging only when action is needed").
 */

/** The `status` attribute of alerts that are not an incident's: the responder itself, a person's change. */
export const NoticeStatus = {
  GuardTripped: 'guard-tripped',
  GuardReset: 'guard-reset',
  ExemptionAdded: 'exemption-added',
  ExemptionRemoved: 'exemption-removed',
  UndoFailed: 'undo-failed',
  /** A person documented a mitigation and so resolved an incident (`incidents resolve --mitigation`). */
  Mitigated: 'mitigated',
  /** `ssh lockdown` closed every path it set out to: one alert for the lockdown, each path its incident. */
  Lockdown: 'lockdown',
  /** `ssh lockdown` could not close some path: it is still open. */
  LockdownFailed: 'lockdown-failed',
  /** A resource left a rule's narrowed scope while its drift incident was unresolved: closed, not judged. */
  LeftScope: 'left-scope',
} as const;
export type NoticeStatus = (typeof NoticeStatus)[keyof typeof NoticeStatus];

export type AlertStatus = IncidentStatus | NoticeStatus;

/**
 * Whether an alert of each status needs a person. A Record over every status: one added to the
 * lifecycle does not compile until it says here whether it pages.
 */
export const NEEDS_ACTION: Readonly<Record<AlertStatus, boolean>> = {
  // Drift stands: notify mode, the guard or the rule left it, or the remediation failed.
  open: true,
  failed: true,
  // A person reversed a fix: the drift is back, on purpose or not.
  undone: true,
  remediating: false,
  remediated: false,
  exempted: false,
  suppressed: false,
  resolved: false,
  // The responder stopped remediating; an undo left a resource half reversed.
  'guard-tripped': true,
  'undo-failed': true,
  // A person's lockdown left a path open.
  'lockdown-failed': true,
  // Drift nobody fixed is no longer judged: someone took the resource out of the scope.
  'left-scope': true,
  // A person's deliberate change, told so it is on the record and noticed if unexpected.
  'guard-reset': false,
  'exemption-added': false,
  'exemption-removed': false,
  mitigated: false,
  lockdown: false,
};

export interface Triage {
  actionNeeded: boolean;
  /** What the first line says after "Action needed: ". */
  action: string;
}

export const actionLine = (triage: Triage): string => `Action needed: ${triage.action}`;

const why = (incident: Incident): string => incident.statusReason ?? 'no reason recorded';

const ACTIONS: Readonly<Record<IncidentStatus, (incident: Incident) => string>> = {
  open: (incident) =>
    incident.mode === Mode.Notify
      ? 'fix it by hand or exempt it; notify mode: the responder changed nothing'
      : `fix it by hand; the responder did not remediate it: ${why(incident)}`,
  failed: (incident) =>
    `finish the remediation by hand (the steps below say where it stopped); it failed: ${why(incident)}`,
  undone: ({ undo }) => {
    const after = undo?.exemption
      ? `exempted until ${undo.exemption.until}, then the responder acts again`
      : 'and the responder may act on it again at once';
    return `confirm the undo by ${undo?.by ?? 'a person'} was intended; the drift is back, ${after}`;
  },
  remediating: (incident) =>
    `none yet, remediation under way (${incident.statusReason ?? 'running'}); follow it with incidents show ${incident.incidentId}`,
  remediated: (incident) =>
    keepsEvidenceForAPerson(incident)
      ? `delete the original ${incident.resourceId} once its evidence is no longer needed (${incident.title}, kept as evidence by this incident; the fix is remediated and verified)`
      : 'none, remediated and verified',
  exempted: ({ exemption, statusReason }) =>
    exemption
      ? `none, exempted until ${exemption.until} (${exemption.exemptionId}, set by ${exemption.setBy})`
      : `none, exempted: ${statusReason ?? 'no exemption recorded'}`,
  suppressed: (incident) => `none, suppressed: ${why(incident)}`,
  resolved: (incident) => `none, resolved: ${incident.statusReason ?? 'found compliant again'}`,
};

/**
 * A person's SSH grant or revoke (Incident.grantChange): resolved means the change they meant went
 * through, so an expected grant needs nobody; a failed grant opened nothing more than its steps say
 * (the requester saw the error); a failed revoke, or one that stopped before recording its result,
 * may have left the path open, and pages.
 */
function grantChangeTriage(incident: Incident): Triage | undefined {
  const change = incident.grantChange;
  if (!change) return undefined;
  const { status } = incident;
  const grant = change.action === 'grant';
  const who = `${change.by} (why: ${change.reason})`;
  if (status === IncidentStatus.Resolved)
    return {
      actionNeeded: false,
      action: grant
        ? `none if you expected this grant: ${who} granted SSH ${change.target} to ${change.grantedTo} until ${change.expiresAt}; if not, end it now: npx compliance-responder ssh revoke ${change.grantId} --reason "<why>"`
        : `none, ${who} ended SSH grant ${change.grantId} (${change.target}) on purpose`,
    };
  if (status === IncidentStatus.Failed)
    return grant
      ? {
          actionNeeded: false,
          action: `none unless the grant is still needed: ssh grant ${change.grantId} by ${who} FAILED (${why(incident)}); the steps below say what, if anything, was opened`,
        }
      : {
          actionNeeded: true,
          action: `close ${change.target} by hand (or ssh lockdown): ssh revoke ${change.grantId} by ${who} FAILED and the path may be still open (${why(incident)})`,
        };
  if (status === IncidentStatus.Open)
    return {
      actionNeeded: true,
      action: `check ${change.target}: ssh ${change.action} ${change.grantId} by ${who} stopped before recording its result; compare AWS with the steps and the grant ledger (ssh grants)`,
    };
  return undefined;
}

/** The longest action a first line carries: a hand-written record's reason can hold 400 KB. */
const ACTION_LIMIT = 1_024;

/**
 * Whether this incident's alert needs a person: its status's answer, except that a fix which kept the
 * original as evidence (nothing destroyed by default) leaves a person to dispose of it.
 */
export function actionNeededFor(incident: Incident): boolean {
  const change = grantChangeTriage(incident);
  if (change) return change.actionNeeded;
  return NEEDS_ACTION[incident.status] || keepsEvidenceForAPerson(incident);
}

const keepsEvidenceForAPerson = (incident: Incident): boolean =>
  incident.status === IncidentStatus.Remediated && verifiedKeptAsEvidence(incident);

export function triageOf(incident: Incident): Triage {
  const action = grantChangeTriage(incident)?.action ?? ACTIONS[incident.status](incident);
  return {
    actionNeeded: actionNeededFor(incident),
    action: action.length > ACTION_LIMIT ? `${action.slice(0, ACTION_LIMIT - 1)}…` : action,
  };
}

/** The rule whose incidents `incidents undo` refuses (cli/undo.ts): its fixes restored the responder itself. */
const UNDO_REFUSED_RULE = 'self-protection';

/**
 * The command that reverses an incident's changes, or why there is none; undefined when nothing was
 * changed or it was undone already (the body says by whom). The CLI requires --reason.
 */
export function undoAdvice(incident: Incident): { command?: string; line: string } | undefined {
  if (incident.undo) return undefined;
  const succeeded = incident.steps.filter((step) => step.result === StepResult.Succeeded);
  // No change: the steps already say so.
  if (succeeded.length === 0) return undefined;
  // A grant is undone through the ledger, so the responder's record stays true (incidents undo refuses it).
  const change = incident.grantChange;
  if (change?.action === 'grant') {
    const command = `npx compliance-responder ssh revoke ${change.grantId} --reason "<why>"`;
    return { command, line: command };
  }
  if (change?.action === 'revoke')
    return {
      line: 'grant again if it is still needed: npx compliance-responder ssh grant ... --reason "<why>" (incidents undo refuses a revoke: a path reopened without a grant is revoked again)',
    };
  if (!succeeded.some((step) => step.undo)) return { line: 'nothing to undo: no step recorded an undo call' };
  if (incident.status === IncidentStatus.Remediating)
    return { line: 'not yet: the remediation is still under way' };
  if (incident.ruleId === UNDO_REFUSED_RULE)
    return { line: "not offered: the fix restored the responder's own stack (incidents undo refuses it)" };
  if (incident.steps.some((step) => step.result === StepResult.Running))
    return { line: 'not offered: a step is still recorded as running; finish by hand' };
  const command = `npx compliance-responder incidents undo ${incident.incidentId} --reason "<why>"`;
  return { command, line: command };
}
