import { Metric } from '../metrics';
import type { Incident } from '../model';
import { buildAlert, buildGuardAlert } from './alerts';
import type { PipelineContext } from './context';
import type { DriftRef } from './incident-store';
import type { Journal } from './journal';
import { claimIfStale, IncidentStatus } from './lifecycle';

/**
/**
 * At-least-once alert: recorded pending before Publish, sent (with the message id) after; or, where
 * the deps hold alerts for one summary (ssh lockdown), recorded pending and handed over. `again`
 * pages once more for an incident already alerted (one reopened by a finding its mitigation did not
 * cover); its record is replaced the same way, so a crash in between re-sends it once.
 */
export async function alert(
  ctx: PipelineContext,
  incidentId: string,
  { again = false }: { again?: boolean } = {},
): Promise<Incident> {
  const { store } = ctx.deps;
  const incident = await store.get(incidentId);
  if (!incident) throw new Error(`incident ${incidentId} vanished before its alert`);
  if (!again && incident.alert?.status === 'sent') return incident;
  const pending = { status: 'pending' as const, at: ctx.now().toISOString() };
  await store.setAlert(incidentId, pending);
  return page(ctx, { ...incident, alert: pending });
}

/**
 * Publishes the alert of an incident recorded with its alert pending, then records it sent; with
 * `release`, the drift lock goes in the same write. A held alert (ssh lockdown) stays pending here.
 */
export async function page(ctx: PipelineContext, incident: Incident, release?: DriftRef): Promise<Incident> {
  const { store, alerts, settings, metrics } = ctx.deps;
  if (ctx.deps.holdAlert) {
    ctx.deps.holdAlert(incident);
    return incident;
  }
  const messageId = await alerts.publish(buildAlert(incident, settings.runbookBaseUrl));
  const sent = { status: 'sent' as const, messageId, at: ctx.now().toISOString() };
  await store.alertSent(incident.incidentId, sent, release);
  metrics.count(Metric.AlertsSent);
  return { ...incident, alert: sent };
}

/**
 * Writes what the journal owes with the alert recorded pending, then pages: a record's last two
 * writes. Lost to another writer: the incident as it left it, not paged here.
 */
export async function recordAndPage(
  ctx: PipelineContext,
  journal: Journal,
  release?: DriftRef,
): Promise<Incident> {
  const move = await journal.flush({ alert: { status: 'pending', at: ctx.now().toISOString() } });
  return move.moved ? page(ctx, journal.incident, release) : move.current;
}

/** Statuses whose incident is alerted for; one without any alert record was left by a crash. */
const ALERTED: readonly IncidentStatus[] = [
  IncidentStatus.Open,
  IncidentStatus.Remediated,
  IncidentStatus.Failed,
];

/**
 * Pages for an incident whose alert a crashed process left unsent: "pending" (it died between
 * recording and sending) or none at all (it died before recording). Only once the incident has
 * been idle as long as an interrupted remediation, and only by the one resumer whose claim wins,
 * so a process that is still finishing is never paged over.
 */
export async function resumeAlert(ctx: PipelineContext, incident: Incident): Promise<Incident> {
  if (incident.alert?.status === 'sent') return incident;
  if (incident.alert?.status !== 'pending' && !ALERTED.includes(incident.status)) return incident;
  const staleSeconds = ctx.deps.settings.remediationStaleSeconds;
  if (!(await claimIfStale(ctx.deps.store, incident, { staleSeconds, now: ctx.now() }))) return incident;
  return alert(ctx, incident.incidentId);
}

/** The blast-radius guard just tripped: on-call hears it once, besides the incident's own alert. */
export async function alertGuardTripped(
  ctx: PipelineContext,
  incident: Incident,
  reason: string,
): Promise<void> {
  ctx.deps.metrics.count(Metric.GuardTripped);
  ctx.deps.logger.warn('blast-radius guard tripped', { ruleId: ctx.rule.id });
  await ctx.deps.alerts.publish(buildGuardAlert(incident, reason));
}
