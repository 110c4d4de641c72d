import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { formatDuration } from '../duration';
import type { Incident, Severity, Step } from '../model';
import { type ExposureWindow, exposureWindow } from './exposure-window';
import {
  actionLine,
  actionNeededFor,
  NEEDS_ACTION,
  NoticeStatus,
  type Triage,
  triageOf,
  undoAdvice,
} from './triage';

/** SNS rejects subjects of 100 characters or more: the whole alert would be lost. */
export const SUBJECT_LIMIT = 99;
/** SNS rejects a message over 256 KiB, counting the message, the subject and the attributes in bytes. */
export const SNS_MESSAGE_LIMIT = 262_144;
/** Steps an alert lists; the rest are counted, and the incident keeps every one. */
export const ALERT_STEP_LIMIT = 20;

export interface AlertMessage {
  subject: string;
  /** MessageStructure 'json': one body per protocol. */
  message: string;
  attributes: Record<string, string>;
}

/**
 * `[SEVERITY] what: status — account/region`, shortening what, never the status or where. The status
 * is the lifecycle's own word (shared/pipeline/lifecycle.ts), as the body, the attribute and the CLI say it.
 */
function boundedSubject(head: string, tail: string): string {
  if (head.length + tail.length <= SUBJECT_LIMIT) return `${head}${tail}`;
  return `${head.slice(0, SUBJECT_LIMIT - tail.length - 1)}…${tail}`;
}

function subjectOf(incident: Incident): string {
  // Region-level settings are "resources" named by the account, which the tail already names.
  const resource = incident.resourceId === incident.account ? '' : ` ${incident.resourceId}`;
  return boundedSubject(
    `[${incident.severity}] ${incident.title}${resource}`,
    `: ${incident.status} — ${incident.account}/${incident.region}`,
  );
}

/** A person reversed it: who, when, why, and the exemption that keeps the responder off. */
function undoLines(undo: NonNullable<Incident['undo']>): string[] {
  const when = undo.finishedAt ?? undo.startedAt;
  return [
    `Undone:    by ${undo.by} at ${when} (${undo.calls.length} call(s), ${undo.result})`,
    ...(undo.memberSession ? [`As:        ${undo.memberSession}`] : []),
    `Why:       ${undo.reason ?? '(not recorded)'}`,
    undo.exemption
      ? `Exempted:  until ${undo.exemption.until} (${undo.exemption.exemptionId}), then the responder acts again`
      : 'Exempted:  no: the responder may act on it again at once',
  ];
}

/** A person ordered the fix (`ssh lockdown`): who, why, and what the order went past. */
function lockdownLines(lockdown: NonNullable<Incident['lockdown']>): string[] {
  const overridden = lockdown.exemptionOverridden;
  return [
    `Ordered:   by ${lockdown.by} at ${lockdown.startedAt} (ssh lockdown${lockdown.emergency ? ' --emergency, past the blast-radius guard' : ''})`,
    `Why:       ${lockdown.reason}`,
    ...(overridden
      ? [
          `Overrode:  exemption ${overridden.exemptionId} (until ${overridden.until}, set by ${overridden.setBy})`,
        ]
      : []),
  ];
}

/** A person's SSH grant or revoke: what it opens or closes, for whom, until when, and why. */
function grantChangeLines(change: NonNullable<Incident['grantChange']>): string[] {
  return [
    `Grant:     ${change.grantId} (ssh ${change.action} at ${change.at}): ${change.target} for ${change.grantedTo}, ${change.action === 'grant' ? 'until' : 'was to end at'} ${change.expiresAt}`,
    `Why:       ${change.reason}`,
    ...(change.memberSession ? [`As:        ${change.memberSession}`] : []),
  ];
}

const lockdownFacts = (lockdown: Incident['lockdown']) =>
  lockdown && {
    by: lockdown.by,
    reason: lockdown.reason,
    runId: lockdown.runId,
    startedAt: lockdown.startedAt,
    emergency: lockdown.emergency === true,
    exemptionOverridden: lockdown.exemptionOverridden?.exemptionId,
  };

const undoFacts = (undo: Incident['undo']) =>
  undo && {
    by: undo.by,
    ...(undo.memberSession && { memberSession: undo.memberSession }),
    reason: undo.reason,
    startedAt: undo.startedAt,
    finishedAt: undo.finishedAt,
    result: undo.result,
    exemption: undo.exemption,
  };

const describeStep = (step: Step): string =>
  `  - ${step.action}: ${step.result}${step.error ? ` (${step.error})` : ''}${
    step.undo
      ? `\n      undo: ${step.undo.service} ${step.undo.action} ${JSON.stringify(step.undo.input)}`
      : ''
  }`;

const showCommand = (incident: Incident): string =>
  `npx compliance-responder incidents show ${incident.incidentId}`;

function describeSteps(incident: Incident, shown: number): string {
  if (incident.steps.length === 0) return '  (none: no change was made)';
  const omitted = incident.steps.length - shown;
  return [
    ...incident.steps.slice(0, shown).map(describeStep),
    ...(omitted > 0 ? [`  … and ${omitted} more step(s); the full record: ${showCommand(incident)}`] : []),
  ].join('\n');
}

/** `detected …, closed … (3.0 s)`, `detected …, still open`, and when an undo opened it again. */
function describeExposure(window: ExposureWindow): string {
  const detected = `detected ${window.detectedAt}`;
  const closed =
    window.closedAt === null ? undefined : `closed ${window.closedAt} (${formatDuration(window.exposedMs)})`;
  if (window.reopenedAt)
    return `${detected}, ${closed ?? 'never closed'}, open again since ${window.reopenedAt} (undone)`;
  return `${detected}, ${closed ?? 'still open'}`;
}

/** The body's opening: whether action is needed, then the status in the subject's word and why. */
const heading = (incident: Incident, triage: Triage): string[] => [
  actionLine(triage),
  '',
  `Status:    ${incident.status}${incident.statusReason ? ` (${clip(incident.statusReason)})` : ''}`,
];

function emailBody(incident: Incident, runbookUrl: string, shownSteps: number): string {
  const foundBy = incident.lockdown ? 'ssh lockdown' : 'a scheduled sweep or Config';
  const actor = incident.actor?.arn ?? incident.actor?.principalId ?? `unknown (found by ${foundBy})`;
  const undo = undoAdvice(incident);
  return [
    ...heading(incident, triageOf(incident)),
    '',
    `What:      ${incident.reason}`,
    `Resource:  ${incident.resourceArn}`,
    `Account:   ${incident.account}   Region: ${incident.region}`,
    `Who:       ${actor}${incident.actor?.sourceIp ? ` from ${incident.actor.sourceIp}` : ''}`,
    // A grant's incident records a person's change, not drift: the access it opens is the grant's.
    ...(incident.grantChange ? [] : [`Exposure:  ${describeExposure(exposureWindow(incident))}`]),
    `Trigger:   ${incident.trigger.source} ${incident.trigger.eventName}`,
    `Mode:      ${incident.mode}`,
    `HIPAA:     ${incident.hipaa.map((citation) => `§${citation}`).join(', ')}`,
    ...(incident.exemptionRequest ? [`Exemption: ${incident.exemptionRequest.note}`] : []),
    ...(incident.lockdown ? lockdownLines(incident.lockdown) : []),
    ...(incident.grantChange ? grantChangeLines(incident.grantChange) : []),
    ...(incident.undo ? undoLines(incident.undo) : []),
    '',
    'What was done:',
    describeSteps(incident, shownSteps),
    ...(undo ? [`Undo:      ${undo.line}`] : []),
    '',
    `Incident:  ${incident.incidentId}   (${showCommand(incident)})`,
    `Runbook:   ${runbookUrl}`,
  ].join('\n');
}

/**
 * One body per kind of subscriber: plain text for email, JSON for every other protocol (SNS sends
 * `default` to a protocol without its own key, email-json included).
 */
const bodies = (machine: string, email: string): string => JSON.stringify({ default: machine, email });

/** The size SNS holds against its limit: the message, the subject and the attributes, in bytes. */
export function encodedSize(alert: AlertMessage): number {
  const attributes = Object.entries(alert.attributes).reduce(
    (total, [name, value]) => total + Buffer.byteLength(name) + Buffer.byteLength(value) + 'String'.length,
    0,
  );
  return Buffer.byteLength(alert.message) + Buffer.byteLength(alert.subject) + attributes;
}

/** What subscribers filter on; `actionNeeded` ("true"/"false") is what a pager's filter policy matches. */
const attributesOf = (incident: Incident): Record<string, string> => ({
  severity: incident.severity,
  ruleId: incident.ruleId,
  status: incident.status,
  account: incident.account,
  actionNeeded: String(actionNeededFor(incident)),
});

function alertShowing(incident: Incident, runbookUrl: string, shownSteps: number): AlertMessage {
  const triage = triageOf(incident);
  const machine = JSON.stringify({
    incidentId: incident.incidentId,
    ruleId: incident.ruleId,
    severity: incident.severity,
    status: incident.status,
    actionNeeded: triage.actionNeeded,
    action: triage.action,
    statusReason: incident.statusReason,
    hipaa: incident.hipaa,
    account: incident.account,
    region: incident.region,
    resourceArn: incident.resourceArn,
    detectedAt: incident.detectedAt,
    exposure: exposureWindow(incident),
    actor: incident.actor,
    reason: incident.reason,
    mode: incident.mode,
    steps: incident.steps.slice(0, shownSteps),
    stepCount: incident.steps.length,
    stepsOmitted: incident.steps.length - shownSteps,
    exemptionRequest: incident.exemptionRequest,
    lockdown: lockdownFacts(incident.lockdown),
    grantChange: incident.grantChange,
    undo: undoFacts(incident.undo),
    undoCommand: undoAdvice(incident)?.command,
    runbook: runbookUrl,
  });
  return {
    subject: subjectOf(incident),
    message: bodies(machine, emailBody(incident, runbookUrl, shownSteps)),
    attributes: attributesOf(incident),
  };
}

/** The last resort, when even an alert without steps is too large: what it is, where, and where to read more. */
function minimalAlert(incident: Incident, runbookUrl: string): AlertMessage {
  const pointer = `The incident record is too large for an alert; read it in full: ${showCommand(incident)}`;
  const triage = triageOf(incident);
  const window = exposureWindow(incident);
  const machine = JSON.stringify({
    incidentId: incident.incidentId,
    ruleId: incident.ruleId,
    severity: incident.severity,
    status: incident.status,
    actionNeeded: triage.actionNeeded,
    action: triage.action,
    exposure: window,
    account: incident.account,
    region: incident.region,
    resourceArn: incident.resourceArn,
    stepCount: incident.steps.length,
    stepsOmitted: incident.steps.length,
    note: pointer,
    runbook: runbookUrl,
  });
  const email = [
    ...heading(incident, triage),
    '',
    `Resource:  ${incident.resourceArn}`,
    `Exposure:  ${describeExposure(window)}`,
    pointer,
    `Runbook:   ${runbookUrl}`,
  ].join('\n');
  return {
    subject: subjectOf(incident),
    message: bodies(machine, email),
    attributes: attributesOf(incident),
  };
}

/**
 * The alert exactly as subscribers receive it: plain text for email, the incident as JSON for
 * machines. It lists at most ALERT_STEP_LIMIT steps (fewer if they would not fit under SNS's
 * limit) and counts the rest, which the incident keeps: an alert SNS rejected would never arrive.
 */
export function buildAlert(incident: Incident, runbookBaseUrl: string): AlertMessage {
  const runbookUrl = `${runbookBaseUrl}/${incident.runbook.replace(/^docs\/runbooks\//, '')}`;
  for (let shown = Math.min(ALERT_STEP_LIMIT, incident.steps.length); ; shown = Math.floor(shown / 2)) {
    const alert = alertShowing(incident, runbookUrl, shown);
    if (encodedSize(alert) <= SNS_MESSAGE_LIMIT) return alert;
    if (shown === 0) return minimalAlert(incident, runbookUrl);
  }
}

/** The longest text a notice copies from a record: a hand-written ledger item can hold 400 KB. */
const NOTICE_FIELD_LIMIT = 1_024;

const clip = (text: string): string =>
  text.length > NOTICE_FIELD_LIMIT ? `${text.slice(0, NOTICE_FIELD_LIMIT - 1)}…` : text;

/**
 * An alert about the responder itself or a person's change outside an incident (the guard, the
 * exemption ledger), in the incident alert's shape: the same subject form and limit, bodies and
 * attributes. Every text is clipped, so a notice stays far below SNS's size limit.
 */
export interface Notice {
  severity: Severity;
  /** A rule id, or `blast-radius-guard`: what subscribers filter on as `ruleId`. */
  ruleId: string;
  /** The `status` attribute, e.g. `guard-reset`; also the machine body's `event`. Decides actionNeeded. */
  status: NoticeStatus;
  /** The first line's words after "Action needed: " (`none, …` where NEEDS_ACTION says none is). */
  action: string;
  account: string;
  region: string;
  /** What happened, as the subject says it before the outcome (shortened first when too long). */
  headline: string;
  /** The subject's outcome: `responder is notify-only`. */
  outcome: string;
  /** The email body's lines, after the action line. */
  text: readonly string[];
  /** The machine body's fields, besides event, account and region. */
  facts: Readonly<Record<string, string | undefined>>;
}

export function buildNotice(notice: Notice): AlertMessage {
  const outcome = notice.outcome ? `: ${notice.outcome}` : '';
  const facts = Object.fromEntries(
    Object.entries(notice.facts).map(([name, value]) => [name, value === undefined ? value : clip(value)]),
  );
  const triage: Triage = { actionNeeded: NEEDS_ACTION[notice.status], action: clip(notice.action) };
  const machine = JSON.stringify({
    event: notice.status,
    actionNeeded: triage.actionNeeded,
    action: triage.action,
    ...facts,
    account: notice.account,
    region: notice.region,
  });
  return {
    subject: boundedSubject(
      `[${notice.severity}] ${clip(notice.headline)}`,
      `${outcome} — ${notice.account}/${notice.region}`,
    ),
    message: bodies(machine, [actionLine(triage), '', ...notice.text.map(clip)].join('\n')),
    attributes: {
      severity: notice.severity,
      ruleId: notice.ruleId,
      status: notice.status,
      account: notice.account,
      actionNeeded: String(triage.actionNeeded),
    },
  };
}

/** The ruleId attribute of the guard's alerts. */
export const GUARD_ALERT_RULE_ID = 'blast-radius-guard';

/**
 * The one critical alert when the blast-radius guard trips: the responder has stopped changing
 * anything and needs a person. Names the incident that tripped it.
 */
export function buildGuardAlert(trippedBy: Incident, reason: string): AlertMessage {
  return buildNotice({
    severity: 'CRITICAL',
    ruleId: GUARD_ALERT_RULE_ID,
    status: NoticeStatus.GuardTripped,
    account: trippedBy.account,
    region: trippedBy.region,
    headline: 'Blast-radius guard tripped',
    outcome: 'responder is notify-only',
    action: 'find the mass change, fix by hand what must not wait, then reset the guard',
    text: [
      'The blast-radius guard tripped: the responder is now notify-only (it records and alerts, changes nothing).',
      '',
      `Why:       ${reason}`,
      `Tripped by: incident ${trippedBy.incidentId} (${trippedBy.ruleId}, ${trippedBy.resourceArn})`,
      '',
      'Check the recent incidents for a mass change (npx compliance-responder incidents list --since 1h),',
      'then reset the guard once you are satisfied.',
    ],
    facts: { reason, trippedBy: trippedBy.incidentId },
  });
}

/**
 * A resource left its rule's narrowed scope while the incident below was unresolved: the incident is
 * closed (the responder no longer judges the resource), so a person must confirm the move was meant.
 */
export function buildLeftScopeAlert(incident: Incident, outOfScope: string): AlertMessage {
  return buildNotice({
    severity: incident.severity,
    ruleId: incident.ruleId,
    status: NoticeStatus.LeftScope,
    account: incident.account,
    region: incident.region,
    headline: `${incident.resourceId} left the scope with drift unresolved`,
    outcome: `incident ${incident.incidentId} closed`,
    action: `confirm with its owner that ${incident.resourceId} is meant to be out of scope, or put the tag back; its drift is no longer judged`,
    text: [
      `${incident.resourceId} is ${outOfScope}, while incident ${incident.incidentId} (${incident.status}) still held its drift:`,
      `  ${incident.reason}`,
      '',
      'The incident is resolved because the responder no longer judges the resource; nothing was changed.',
      `Details: npx compliance-responder incidents show ${incident.incidentId}`,
    ],
    facts: { incidentId: incident.incidentId, resourceArn: incident.resourceArn, scope: outOfScope },
  });
}

/** Port: how on-call is reached. */
export interface AlertPublisher {
  publish(alert: AlertMessage): Promise<string>;
}

export class SnsAlertPublisher implements AlertPublisher {
  constructor(
    private readonly sns: SNSClient,
    private readonly topicArn: string,
  ) {}

  async publish(alert: AlertMessage): Promise<string> {
    const result = await this.sns.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: alert.subject,
        Message: alert.message,
        MessageStructure: 'json',
        MessageAttributes: Object.fromEntries(
          Object.entries(alert.attributes).map(([name, value]) => [
            name,
            { DataType: 'String', StringValue: value },
          ]),
        ),
      }),
    );
    if (!result.MessageId) throw new Error('SNS Publish returned no MessageId');
    return result.MessageId;
  }
}
