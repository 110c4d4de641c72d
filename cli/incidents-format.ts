import type { FindingRef, Incident, Step, Summary, UndoCall } from '../shared/model';
import { IncidentStatus } from '../shared/pipeline/lifecycle';
import { VERIFY_STEP } from '../shared/pipeline/steps';
import { rules } from '../shared/rules';
import { formatMinutes } from './duration';
import { UsageError } from './errors';
import { formatTable, type TableLayout } from './table';
import { type CheckedPlan, notReversedBy } from './undo';

const STATUSES: readonly string[] = Object.values(IncidentStatus);

/** `--status`: one of the incident statuses, or a usage mistake naming them. */
export function parseStatus(text: string): IncidentStatus {
  const status = text.trim().toLowerCase();
  if (!STATUSES.includes(status)) {
    throw new UsageError(`invalid --status '${text}': one of ${STATUSES.join(', ')}`);
  }
  return status as IncidentStatus;
}

/** `--rule`: a rule id from the registry, or a usage mistake naming them. */
export function parseRule(text: string): string {
  const ids = rules.map((rule) => rule.id);
  const id = text.trim().toLowerCase();
  if (!ids.includes(id)) throw new UsageError(`invalid --rule '${text}': one of ${ids.join(', ')}`);
  return id;
}

/** 2026-11-23T23:27:13.123Z → 2026-11-23 23:27 (UTC, as stored). */
const minute = (iso: string) => iso.slice(0, 16).replace('T', ' ');

/** The incidents as an aligned table, in the order given (the store returns newest first). */
export function incidentsTable(incidents: readonly Incident[], layout?: TableLayout): string[] {
  return formatTable(
    [
      ['INCIDENT', 'DETECTED (UTC)', 'SEVERITY', 'RULE', 'STATUS', 'ACCOUNT', 'REGION', 'RESOURCE'],
      ...incidents.map((incident) => [
        incident.incidentId,
        minute(incident.detectedAt),
        incident.severity,
        incident.ruleId,
        incident.status,
        incident.account,
        incident.region,
        incident.resourceId,
      ]),
    ],
    layout,
  );
}

/** The findings a mitigation covers, by id and severity: the first few, then how many. */
const coveredWords = (covers: readonly FindingRef[], shown = 10) =>
  covers.length === 0
    ? 'no finding recorded'
    : `${covers
        .slice(0, shown)
        .map((finding) => `${finding.id} (${finding.severity})`)
        .join(', ')}${covers.length > shown ? `, … (${covers.length} in all)` : ''}`;

const words = (summary: Summary | undefined) =>
  Object.entries(summary ?? {})
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');

export const describeCall = (call: UndoCall): string =>
  `${call.service} ${call.action} ${JSON.stringify(call.input)}`;

function stepLines(step: Step, index: number): string[] {
  const output = words(step.output);
  return [
    `  ${index + 1}. ${step.action} → ${step.result} at ${step.at}${output ? `  ${output}` : ''}`,
    ...(step.error ? [`       error: ${step.error}`] : []),
    ...(step.undo ? [`       undo:  ${describeCall(step.undo)}`] : []),
  ];
}

/** Every field of the documented incident, for a person: what, who, when, evidence, steps, undo, HIPAA, runbook. */
export function incidentLines(incident: Incident, runbookBaseUrl: string): string[] {
  const { actor, alert, exemption, exemptionRequest, workflow, undo, lockdown, mitigation } = incident;
  const who = actor
    ? [
        actor.arn ?? actor.principalId ?? 'unknown',
        actor.sourceIp ? `from ${actor.sourceIp}` : '',
        actor.userAgent ? `(${actor.userAgent})` : '',
      ]
        .filter(Boolean)
        .join(' ')
    : `not known (found by ${lockdown ? 'ssh lockdown' : 'a scheduled sweep or AWS Config'})`;
  // The same link the alert carries.
  const runbook = `${runbookBaseUrl}/${incident.runbook.replace(/^docs\/runbooks\//, '')}`;
  return [
    `incident ${incident.incidentId}  [${incident.severity}] ${incident.ruleId}  ${incident.status}`,
    `  title:     ${incident.title}`,
    `  what:      ${incident.reason}`,
    `  status:    ${incident.status}${incident.statusReason ? ` — ${incident.statusReason}` : ''}`,
    `  mode:      ${incident.mode}`,
    `  resource:  ${incident.resourceType} ${incident.resourceId}`,
    `  arn:       ${incident.resourceArn}`,
    `  where:     account ${incident.account}, ${incident.region}`,
    `  who:       ${who}`,
    `  when:      detected ${incident.detectedAt}, updated ${incident.updatedAt}`,
    `  trigger:   ${incident.trigger.source} ${incident.trigger.eventName} (event ${incident.trigger.eventId})`,
    `  hipaa:     ${incident.hipaa.map((citation) => `§${citation}`).join(', ')}`,
    `  evidence:  ${words(incident.evidence) || '(none)'}`,
    incident.steps.length > 0 ? '  steps:' : '  steps:     (none: no change was made)',
    ...incident.steps.flatMap(stepLines),
    `  alert:     ${alert ? `${alert.status}${alert.messageId ? ` (message ${alert.messageId})` : ''} at ${alert.at}` : 'none'}`,
    ...(exemption
      ? [
          `  exemption: ${exemption.exemptionId}: ${exemption.reason} (until ${exemption.until}; set by ${exemption.setBy} at ${exemption.setAt})`,
        ]
      : []),
    ...(exemptionRequest
      ? [`  exemption request: until ${exemptionRequest.until}: ${exemptionRequest.note}`]
      : []),
    ...(lockdown
      ? [
          `  lockdown:  ordered by ${lockdown.by} at ${lockdown.startedAt} (run ${lockdown.runId})${lockdown.emergency ? ', --emergency: past the blast-radius guard' : ''}`,
          `    why:   ${lockdown.reason}`,
          ...(lockdown.memberSession ? [`    as:    ${lockdown.memberSession}`] : []),
          ...(lockdown.exemptionOverridden
            ? [
                `    overrode exemption ${lockdown.exemptionOverridden.exemptionId} (until ${lockdown.exemptionOverridden.until}; set by ${lockdown.exemptionOverridden.setBy})`,
              ]
            : []),
        ]
      : []),
    ...(mitigation
      ? [
          `  mitigation: recorded by ${mitigation.by} at ${mitigation.at}`,
          `    what:  ${mitigation.text}`,
          ...(mitigation.covers ? [`    covers: ${coveredWords(mitigation.covers)}`] : []),
        ]
      : []),
    ...(incident.earlierMitigations ?? []).map(
      (earlier) => `  earlier mitigation: recorded by ${earlier.by} at ${earlier.at}: ${earlier.text}`,
    ),
    ...(workflow
      ? [
          `  workflow:  started ${workflow.startedAt}${workflow.waitingFor ? `, waiting for ${workflow.waitingFor}` : ''}${
            words(workflow.state) ? `; ${words(workflow.state)}` : ''
          }`,
        ]
      : []),
    ...(undo
      ? [
          `  undo:      ${undo.result} by ${undo.by}, started ${undo.startedAt}${undo.finishedAt ? `, finished ${undo.finishedAt}` : ''} (exemption asked: ${formatMinutes(undo.exemptForMinutes)}${undo.exemption ? `, set: ${undo.exemption.exemptionId} until ${undo.exemption.until}` : ''})`,
          ...(undo.reason ? [`    why:   ${undo.reason}`] : []),
          ...(undo.memberSession ? [`    as:    ${undo.memberSession}`] : []),
          ...(undo.alert
            ? [
                `    alert: ${undo.alert.status}${undo.alert.messageId ? ` (message ${undo.alert.messageId})` : ''} at ${undo.alert.at}`,
              ]
            : []),
          ...undo.calls.map(
            (entry) =>
              `    - ${entry.call.service} ${entry.call.action} (reverses step ${entry.step + 1}) → ${entry.result}${
                entry.at ? ` at ${entry.at}` : ''
              }${entry.error ? `: ${entry.error}` : ''}`,
          ),
        ]
      : []),
    `  runbook:   ${runbook}`,
  ];
}

/** What `incidents undo` is about to do, and what each call's check found in AWS, shown before it asks. */
export function undoPlanLines(plan: CheckedPlan, exemptForMinutes: number): string[] {
  const { incident } = plan;
  const kept = notReversedBy(incident);
  const verified = incident.steps.some((step) => step.action === VERIFY_STEP);
  return [
    `undo incident ${incident.incidentId} (${incident.ruleId}, ${incident.resourceId} in ${incident.region}): ${plan.calls.length} call(s), last step first, ${plan.memberSession ? `in account ${incident.account} as ${plan.memberSession}` : 'with your credentials'}`,
    `  first the resource is to be exempted for ${formatMinutes(exemptForMinutes)}, so the responder does not revert the undo; then:`,
    ...plan.calls.flatMap(({ call, region, step }, index) => [
      `  ${call.service} ${call.action} in ${region} (reverses step ${step + 1}, ${incident.steps[step]?.action}): ${JSON.stringify(call.input)}`,
      `    checked: ${plan.found[index]}`,
    ]),
    ...(kept.length > 0
      ? [
          '  will NOT reverse (left as they are: delete them by hand once nothing needs them):',
          ...kept.map(
            ({ step, action, output }) =>
              `    step ${step + 1} ${action}${words(output) ? `: ${words(output)}` : ''}`,
          ),
          ...(verified ? [`  (the ${VERIFY_STEP} step only read)`] : []),
        ]
      : ['  everything the remediation changed is reversed']),
  ];
}
