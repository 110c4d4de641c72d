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
    await moveIncident(store, incident, IncidentStatus.Exempted, statusReason);
    return { ...incident, status: IncidentStatus.Exempted, statusReason };
  }
  if (incident.mode === Mode.Notify) {
    await moveIncident(store, incident, IncidentStatus.Open, `notify mode: ${finding.plan} was not done`);
    return alert(ctx, incident.incidentId);
  }
  const decision = await guard.acquire();
  if (!decision.allowed) {
    await moveIncident(store, incident, IncidentStatus.Open, decision.reason);
    if (decision.justTripped) await alertGuardTripped(ctx, incident, decision.reason);
    return alert(ctx, incident.incidentId);
  }
  await moveIncident(store, incident, IncidentStatus.Remediating);
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
      await moveIncident(store, incident, IncidentStatus.Remediating, statusReason);
      metrics.count(Metric.RemediationWaiting);
      return { ...incident, status: IncidentStatus.Remediating, statusReason };
    }
    kept = await verify(ctx, { ...incident, workflow: { ...workflow, state } }, resource);
    await store.setWorkflow(incident.incidentId, { startedAt: workflow.startedAt, state });
    await moveIncident(store, incident, IncidentStatus.Remediated);
    metrics.count(Metric.Remediated);
    await reevaluateConfigRules(ctx, incident);
  } catch (error) {
    if (error instanceof RemediationDeclined) {
      // Not a failure: the rule chose not to change this resource, and says why.
      metrics.count(Metric.RemediationDeclined);
      await moveIncident(store, incident, IncidentStatus.Open, error.message.slice(0, 512));
      return alert(ctx, incident.incidentId);
    }
    logger.error('remediation failed', {
      ruleId: ctx.rule.id,
      incidentId: incident.incidentId,
      error: errorMessage(error),
    });
    metrics.count(Metric.RemediationFailed);
    await moveIncident(store, incident, IncidentStatus.Failed, errorMessage(error).slice(0, 512));
  }
  const alerted = await alert(ctx, incident.incidentId);
  // The drift lock outlives the alert: if the process dies before it, the next check finds the
  // incident through the lock and pages (resolveOpenDrift), instead of seeing a compliant resource.
  // A kept original is still drift, which this incident answers for: it keeps the lock.
  if (alerted.status === IncidentStatus.Remediated && !kept)
    await store.releaseDrift(incident.ruleId, incident.resourceArn, incident.incidentId);
  return alerted;
}
