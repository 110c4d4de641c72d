import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Incident, Step } from '../model';

/** SNS rejects subjects of 100 characters or more: the whole alert would be lost. */
export const SUBJECT_LIMIT = 99;

export interface AlertMessage {
  subject: string;
  /** MessageStructure 'json': one body per protocol. */
  message: string;
  attributes: Record<string, string>;
}

const STATUS_WORDS: Record<Incident['status'], string> = {
  open: 'found',
  remediating: 'remediating',
  remediated: 'remediated',
  failed: 'REMEDIATION FAILED',
  exempted: 'exempted',
  suppressed: 'suppressed',
  resolved: 'resolved',
  undone: 'undone by a person',
};

function subjectOf(incident: Incident): string {
  // Region-level settings are "resources" named by the account, which the tail already names.
  const resource = incident.resourceId === incident.account ? '' : ` ${incident.resourceId}`;
  const head = `[${incident.severity}] ${incident.title}${resource}`;
  const tail = `: ${STATUS_WORDS[incident.status]} — ${incident.account}/${incident.region}`;
  // Shorten the head, never the status or where: those are what on-call triages by.
  if (head.length + tail.length <= SUBJECT_LIMIT) return `${head}${tail}`;
  return `${head.slice(0, SUBJECT_LIMIT - tail.length - 1)}…${tail}`;
}

const describeStep = (step: Step): string =>
  `  - ${step.action}: ${step.result}${step.error ? ` (${step.error})` : ''}${
    step.undo
      ? `\n      undo: ${step.undo.service} ${step.undo.action} ${JSON.stringify(step.undo.input)}`
      : ''
  }`;

function emailBody(incident: Incident, runbookUrl: string): string {
  const actor =
    incident.actor?.arn ?? incident.actor?.principalId ?? 'unknown (found by a scheduled sweep or Config)';
  const steps =
    incident.steps.length > 0 ? incident.steps.map(describeStep).join('\n') : '  (none: no change was made)';
  return [
    `${incident.title} — ${incident.status.toUpperCase()}`,
    '',
    `What:      ${incident.reason}`,
    `Resource:  ${incident.resourceArn}`,
    `Account:   ${incident.account}   Region: ${incident.region}`,
    `Who:       ${actor}${incident.actor?.sourceIp ? ` from ${incident.actor.sourceIp}` : ''}`,
    `When:      ${incident.detectedAt} (trigger: ${incident.trigger.source} ${incident.trigger.eventName})`,
    `Mode:      ${incident.mode}${incident.statusReason ? ` — ${incident.statusReason}` : ''}`,
    `HIPAA:     ${incident.hipaa.map((citation) => `§${citation}`).join(', ')}`,
    ...(incident.exemptionRequest ? [`Exemption: ${incident.exemptionRequest.note}`] : []),
    '',
    'What was done:',
    steps,
    '',
    `Incident:  ${incident.incidentId}   (npx compliance-responder incidents show ${incident.incidentId})`,
    `Runbook:   ${runbookUrl}`,
  ].join('\n');
}

/** The alert exactly as subscribers receive it: plain text for email, the incident as JSON for machines. */
export function buildAlert(incident: Incident, runbookBaseUrl: string): AlertMessage {
  const runbookUrl = `${runbookBaseUrl}/${incident.runbook.replace(/^docs\/runbooks\//, '')}`;
  const machine = JSON.stringify({
    incidentId: incident.incidentId,
    ruleId: incident.ruleId,
    severity: incident.severity,
    status: incident.status,
    statusReason: incident.statusReason,
    hipaa: incident.hipaa,
    account: incident.account,
    region: incident.region,
    resourceArn: incident.resourceArn,
    detectedAt: incident.detectedAt,
    actor: incident.actor,
    reason: incident.reason,
    mode: incident.mode,
    steps: incident.steps,
    exemptionRequest: incident.exemptionRequest,
    runbook: runbookUrl,
  });
  return {
    subject: subjectOf(incident),
    message: JSON.stringify({
      default: machine,
      sqs: machine,
      lambda: machine,
      https: machine,
      email: emailBody(incident, runbookUrl),
      'email-json': machine,
    }),
    attributes: {
      severity: incident.severity,
      ruleId: incident.ruleId,
      status: incident.status,
      account: incident.account,
    },
  };
}

/**
 * The one critical alert when the blast-radius guard trips: the responder has stopped changing
 * anything and needs a person. Names the incident that tripped it.
 */
export function buildGuardAlert(trippedBy: Incident, reason: string): AlertMessage {
  const where = `${trippedBy.account}/${trippedBy.region}`;
  const text = [
    'The blast-radius guard tripped: the responder is now notify-only (it records and alerts, changes nothing).',
    '',
    `Why:       ${reason}`,
    `Tripped by: incident ${trippedBy.incidentId} (${trippedBy.ruleId}, ${trippedBy.resourceArn})`,
    '',
    'Check the recent incidents for a mass change (npx compliance-responder incidents list --since 1h),',
    'then reset the guard once you are satisfied.',
  ].join('\n');
  const machine = JSON.stringify({
    event: 'guard-tripped',
    reason,
    trippedBy: trippedBy.incidentId,
    account: trippedBy.account,
    region: trippedBy.region,
  });
  return {
    subject: `[CRITICAL] Blast-radius guard tripped: responder is notify-only — ${where}`.slice(
      0,
      SUBJECT_LIMIT,
    ),
    message: JSON.stringify({
      default: machine,
      sqs: machine,
      lambda: machine,
      https: machine,
      email: text,
      'email-json': machine,
    }),
    attributes: {
      severity: 'CRITICAL',
      ruleId: 'blast-radius-guard',
      status: 'guard-tripped',
      account: trippedBy.account,
    },
  };
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
