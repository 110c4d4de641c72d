import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReceivedAlert } from '../../scripts/lib/local-stack';
import type { Incident } from '../../shared/model';
import { MAX_ID_LENGTH, MAX_SUMMARY_KEYS, MAX_SUMMARY_VALUE_LENGTH } from '../../shared/triggers/parse';

/** Sentinel tag values seeded on resources: none may ever reach a log line, an alert or an incident. */
export const SENTINEL = 'SENTINEL-PHI-7f3c';
/**
 * Sentinel in the caller's session name and user agent: an incident records who made the change
 * (actor), so it may appear there, within its bound, and nowhere else (never in a log line).
 */
export const ACTOR_SENTINEL = 'ACTOR-SENTINEL-91d2';
/** The CloudTrail adapter refuses actor fields longer than this (shared/triggers/cloudtrail.ts). */
export const MAX_ACTOR_FIELD_LENGTH = 2048;
export const sentinelTags = [
  { Key: 'patient', Value: `${SENTINEL}-jane-doe-mrn-0042` },
  { Key: 'notes', Value: `${SENTINEL}-${'x'.repeat(230)}` },
];

const summaryViolations = (where: string, summary: Record<string, unknown> | undefined): string[] => {
  if (!summary) return [];
  const found: string[] = [];
  if (Object.keys(summary).length > MAX_SUMMARY_KEYS)
    found.push(`${where}: more than ${MAX_SUMMARY_KEYS} keys`);
  for (const [key, value] of Object.entries(summary))
    if (typeof value === 'string' && value.length > MAX_SUMMARY_VALUE_LENGTH)
      found.push(`${where}.${key}: ${value.length} characters`);
  return found;
};

/** Every stored field of an incident that is over its bound (empty: all within bounds). */
export function incidentViolations(incident: Incident): string[] {
  const found = [
    ...summaryViolations('evidence', incident.evidence),
    ...summaryViolations('workflow.state', incident.workflow?.state),
    ...incident.steps.flatMap((step, index) => summaryViolations(`steps[${index}].output`, step.output)),
  ];
  for (const [field, value] of Object.entries({
    resourceId: incident.resourceId,
    resourceArn: incident.resourceArn,
    'trigger.eventId': incident.trigger.eventId,
  }))
    if (value.length > MAX_ID_LENGTH) found.push(`${field}: ${value.length} characters`);
  for (const [field, value] of Object.entries({
    reason: incident.reason,
    statusReason: incident.statusReason ?? '',
  }))
    if (value.length > 1024) found.push(`${field}: ${value.length} characters`);
  for (const [index, step] of incident.steps.entries())
    if ((step.error ?? '').length > 1024) found.push(`steps[${index}].error: too long`);
  if (JSON.stringify(incident).length > 350_000) found.push('incident: over DynamoDB item size');
  return found;
}

/** What an alert may carry: SNS rejects a Subject of 100 characters or more, and the alert would be lost. */
export function alertViolations(alert: ReceivedAlert): string[] {
  const found: string[] = [];
  if (alert.subject.length >= 100) found.push(`subject: ${alert.subject.length} characters`);
  for (const [name, value] of Object.entries(alert.attributes))
    if (value.length > 256) found.push(`attribute ${name}: ${value.length} characters`);
  if (JSON.stringify(alert.body).length > 200_000) found.push('body: over 200 KB');
  return found;
}

/** Texts (log output, alert bodies, incidents) that contain a sentinel tag value. */
export const leaks = (texts: readonly string[]): string[] =>
  texts
    .filter((text) => text.includes(SENTINEL))
    .map((text) => text.slice(Math.max(0, text.indexOf(SENTINEL) - 80), text.indexOf(SENTINEL) + 40));

/** Actor fields over their bound (an incident's or an alert body's `actor`). */
export const actorViolations = (where: string, actor: Record<string, unknown> | undefined): string[] =>
  Object.entries(actor ?? {})
    .filter(([, value]) => typeof value === 'string' && value.length > MAX_ACTOR_FIELD_LENGTH)
    .map(([field, value]) => `${where}.actor.${field}: ${String(value).length} characters`);

/**
 * A copy of everything a function process writes (stdout and stderr: its logs and its result), via
 * capture-output.cjs preloaded into the process: pass `env` to LocalResponder.invokeBundle.
 */
export function outputCapture() {
  const file = join(mkdtempSync(join(tmpdir(), 'reliability-')), 'output.log');
  writeFileSync(file, '');
  return {
    env: { NODE_OPTIONS: `--require ${require.resolve('./capture-output.cjs')}`, CAPTURE_OUTPUT_FILE: file },
    read: () => readFileSync(file, 'utf8'),
  };
}
