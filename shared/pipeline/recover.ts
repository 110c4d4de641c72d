import { Metric } from '../metrics';
import type { Incident } from '../model';
import type { Finding, Loaded } from '../rules/rule';
import { leftScopeCallOf } from '../rules/scope';
import { buildLeftScopeAlert } from './alerts';
import type { PipelineContext } from './context';
import { Journal } from './journal';
import { claimIfStale, IncidentStatus, moveIncident } from './lifecycle';
import { alert, resumeAlert } from './notify';
import { remediateAndFinish, respond } from './respond';

/** The drifted resource a delivery found, when one collapses on an existing incident. */
export interface Found {
  resource: Loaded<unknown>;
  finding: Finding;
}

/**
 * The one entry point for an incident that already exists, whoever comes back to it (a delivery
 * that collapses on it, an EBS notification, the sweep, a check that finds the resource compliant):
 * finishes an interrupted remediation, decides an open incident its process abandoned (only with
 * the drift `found` again), or re-sends an alert a crash left unsent. Each only when the incident
 * has been idle long enough and this caller's claim wins; otherwise it is returned as read.
 */
export async function recover(ctx: PipelineContext, incident: Incident, found?: Found): Promise<Incident> {
  if (incident.status === IncidentStatus.Remediating) return resumeRemediation(ctx, incident);
  if (found && abandoned(incident)) {
    const staleSeconds = ctx.deps.settings.remediationStaleSeconds;
    if (await claimIfStale(ctx.deps.store, incident, { staleSeconds, now: ctx.now() })) {
      ctx.deps.metrics.count(Metric.RemediationResumed);
      return respond(ctx, Journal.of(ctx.deps.store, incident, ctx.now), found.resource, found.finding);
    }
  }
  return resumeAlert(ctx, incident);
}

/**
 * Its process died after opening it and before deciding anything (exemption, mode, guard): still
 * open, with no reason and no alert. Left alone it would stay open and unremediated, every later
 * delivery collapsing on it.
 */
const abandoned = (incident: Incident): boolean =>
  incident.status === IncidentStatus.Open && !incident.statusReason && !incident.alert;

/**
 * Continues a remediation that waits for AWS (or whose process died mid-way). Past the stuck limit
 * the incident fails and pages.
 */
async function resumeRemediation(ctx: PipelineContext, incident: Incident): Promise<Incident> {
  const { store, settings, metrics } = ctx.deps;
  // A remediation untouched for longer than any Lambda timeout was interrupted; otherwise it still runs.
  const claimed = await claimIfStale(store, incident, {
    staleSeconds: settings.remediationStaleSeconds,
    now: ctx.now(),
    evenIfRecent: Boolean(incident.workflow?.waitingFor),
  });
  if (!claimed) return incident;
  metrics.count(Metric.RemediationResumed);
  const { incidentId } = incident;
  const startedAt = new Date(incident.workflow?.startedAt ?? incident.detectedAt).getTime();
  if (ctx.now().getTime() - startedAt > settings.workflowStuckMinutes * 60_000) {
    const reason = `stuck: still waiting for ${incident.workflow?.waitingFor ?? 'a step to finish'} after ${settings.workflowStuckMinutes} minutes; resources created so far are listed in the steps`;
    const move = await moveIncident(store, incident, IncidentStatus.Failed, reason);
    if (!move.moved) return move.current;
    metrics.count(Metric.RemediationStuck);
    return alert(ctx, incidentId);
  }
  const ref = {
    resourceType: incident.resourceType,
    resourceId: incident.resourceId,
    region: incident.region,
    accountId: incident.account,
  };
  const resource = await ctx.rule.load(ref, ctx.deps.aws, settings);
  if (!resource) {
    const reason = 'the resource disappeared during remediation';
    const move = await moveIncident(store, incident, IncidentStatus.Failed, reason);
    return move.moved ? alert(ctx, incidentId) : move.current;
  }
  const verdict = ctx.rule.detect(resource, settings);
  const finding: Finding = verdict.compliant
    ? {
        compliant: false,
        reason: incident.reason,
        evidence: incident.evidence,
        plan: 'finish the remediation',
      }
    : verdict;
  return remediateAndFinish(ctx, Journal.of(store, incident, ctx.now), resource, finding);
}

/**
 * The resource reads compliant: the incident holding its drift lock is resolved and the lock let
 * go, once nothing is owed (a remediation still running, an alert not yet sent). A verdict that
 * `endsIncident` after a narrow read resolves it with that reason and pages once.
 */
export async function resolveOpenDrift(
  ctx: PipelineContext,
  resource: Loaded<unknown>,
  outOfScope?: string,
  endsIncident?: string,
): Promise<void> {
  const { store } = ctx.deps;
  const incidentId = await store.openDrift(ctx.rule.id, resource.arn);
  if (!incidentId) return;
  const incident = await store.get(incidentId);
  // A remediation holds the lock until it finishes; an interrupted one is finished now.
  if (incident?.status === IncidentStatus.Remediating) {
    await recover(ctx, incident);
    return;
  }
  // An undone incident keeps saying so: a person reversed the fix on purpose; a mitigated one keeps
  // saying who mitigated it.
  const mitigated = incident?.status === IncidentStatus.Resolved && incident.mitigation !== undefined;
  if (
    incident &&
    !mitigated &&
    incident.status !== IncidentStatus.Remediated &&
    incident.status !== IncidentStatus.Undone
  ) {
    const reason =
      endsIncident ??
      (outOfScope
        ? `left the scope with its drift unresolved: ${outOfScope}; on-call paged`
        : 'found compliant again by a later check');
    // Leaving a narrowed scope is a change on-call must see: paged before the incident closes, so a
    // crash in between pages again (never zero times). An incident that is itself about leaving the
    // scope was paged as such when it opened.
    if (outOfScope && leftScopeCallOf(incident) === undefined)
      await ctx.deps.alerts.publish(buildLeftScopeAlert(incident, outOfScope));
    const pages = endsIncident !== undefined && incident.status !== IncidentStatus.Resolved;
    // Recorded pending before the move: a crash before the page leaves it to the sweep's resend.
    if (pages) await store.setAlert(incidentId, { status: 'pending', at: ctx.now().toISOString() });
    const move = await moveIncident(store, incident, IncidentStatus.Resolved, reason);
    // Lost to another writer: the lock goes only if that writer resolved it too.
    if (!move.moved && move.current.status !== IncidentStatus.Resolved) return;
    // Only the writer that ended it pages: one page however many deliveries judged the deletion.
    if (pages && move.moved) await alert(ctx, incidentId, { again: true });
  }
  // A remediated incident whose alert never went out pages before its lock is let go.
  if (incident?.status === IncidentStatus.Remediated) {
    const alerted = await recover(ctx, incident);
    // Not yet sent: the process that remediated is still finishing, and lets the lock go itself.
    if (alerted.alert?.status !== 'sent') return;
  }
  await store.releaseDrift(ctx.rule.id, resource.arn, incidentId);
}
