import { errorMessage, RemediationDeclined } from '../errors';
import { Metric } from '../metrics';
import { type Incident, Mode } from '../model';
import type { Finding, Loaded } from '../rules/rule';
import { reevaluateConfigRules } from './config-evaluations';
import type { PipelineContext } from './context';
import { IncidentStatus, moveIncident } from './lifecycle';
import { alert, alertGuardTripped } from './notify';
import { stepRecorder, verify } from './steps';

/** Decides an open incident: exempted, left open (notify mode, guard tripped), or remediated. */
export async function respond(
  ctx: PipelineContext,
  incident: Incident,
  resource: Loaded<unknown>,
  finding: Finding,
): Promise<Incident> {
  const { store, guard } = ctx.deps;
  const { exemption } = incident;
  if (exemption) {
    // Recorded for the audit trail, but nobody is paged for an approved exception.
    const statusReason = `exempt until ${exemption.until} by ${exemption.setBy} (${exemption.exemptionId}): ${exemption.reason}`;
    const move = await moveIncident(store, incident, IncidentStatus.Exempted, statusReason);
    return move.moved ? { ...incident, status: IncidentStatus.Exempted, statusReason } : move.current;
  }
  if (incident.mode === Mode.Notify) {
    const move = await moveIncident(
      store,
      incident,
      IncidentStatus.Open,
      `notify mode: ${finding.plan} was not done`,
    );
    return move.moved ? alert(ctx, incident.incidentId) : move.current;
  }
  const decision = await guard.acquire();
  if (!decision.allowed) {
    const move = await moveIncident(store, incident, IncidentStatus.Open, decision.reason);
    if (decision.justTripped) await alertGuardTripped(ctx, incident, decision.reason);
    return move.moved ? alert(ctx, incident.incidentId) : move.current;
  }
  // Another writer changed the incident since it was read (resolved it, or began remediating it):
  // what it decided stands, and nothing is changed in AWS here.
  const move = await moveIncident(store, incident, IncidentStatus.Remediating);
  if (!move.moved) return move.current;
  const workflow = { startedAt: ctx.now().toISOString(), state: {} };
  await store.setWorkflow(incident.incidentId, workflow);
  return remediateAndFinish(
    ctx,
    { ...incident, status: IncidentStatus.Remediating, workflow },
    resource,
    finding,
  );
}

/**
 * Runs (or continues) the rule's remediation of a `remediating` incident. Waiting leaves it
 * `remediating` with what it waits for; done is verified by a read before it says `remediated`.
 */
export async function remediateAndFinish(
  ctx: PipelineContext,
  incident: Incident,
  resource: Loaded<unknown>,
  finding: Finding,
): Promise<Incident> {
  const { store, settings, logger, metrics } = ctx.deps;
  const workflow = incident.workflow ?? { startedAt: ctx.now().toISOString(), state: {} };
  const state = { ...workflow.state };
  let kept = false;
  try {
    const progress = await ctx.rule.remediate(resource, finding, {
      aws: ctx.deps.aws,
      settings,
      step: stepRecorder(store, incident.incidentId, ctx.now),
      incidentId: incident.incidentId,
      workflow: {
        state,
        save: async (patch) => {
          Object.assign(state, patch);
          await store.setWorkflow(incident.incidentId, { ...workflow, state });
        },
      },
    });
    if (progress) {
      const statusReason = `waiting for ${progress.waitingFor}`;
      await store.setWorkflow(incident.incidentId, { ...workflow, state, waitingFor: progress.waitingFor });
      const move = await moveIncident(store, incident, IncidentStatus.Remediating, statusReason);
      if (!move.moved) return move.current;
      metrics.count(Metric.RemediationWaiting);
      return { ...incident, status: IncidentStatus.Remediating, statusReason };
    }
    kept = await verify(ctx, { ...incident, workflow: { ...workflow, state } }, resource);
    await store.setWorkflow(incident.incidentId, { startedAt: workflow.startedAt, state });
    const move = await moveIncident(store, incident, IncidentStatus.Remediated);
    if (!move.moved) return move.current;
    metrics.count(Metric.Remediated);
    await reevaluateConfigRules(ctx, incident);
  } catch (error) {
    if (error instanceof RemediationDeclined) {
      // Not a failure: the rule chose not to change this resource, and says why.
      metrics.count(Metric.RemediationDeclined);
      const move = await moveIncident(store, incident, IncidentStatus.Open, error.message.slice(0, 512));
      return move.moved ? alert(ctx, incident.incidentId) : move.current;
    }
    logger.error('remediation failed', {
      ruleId: ctx.rule.id,
      incidentId: incident.incidentId,
      error: errorMessage(error),
    });
    metrics.count(Metric.RemediationFailed);
    const move = await moveIncident(
      store,
      incident,
      IncidentStatus.Failed,
      errorMessage(error).slice(0, 512),
    );
    if (!move.moved) return move.current;
  }
  const alerted = await alert(ctx, incident.incidentId);
  // The drift lock outlives the alert: if the process dies before it, the next check finds the
  // incident through the lock and pages (resolveOpenDrift), instead of seeing a compliant resource.
  // A kept original is still drift, which this incident answers for: it keeps the lock.
  if (alerted.status === IncidentStatus.Remediated && !kept)
    await store.releaseDrift(incident.ruleId, incident.resourceArn, incident.incidentId);
  return alerted;
}
