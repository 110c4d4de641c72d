import { errorMessage, RemediationDeclined, ResponderError } from '../errors';
import { Metric } from '../metrics';
import { type Incident, Mode } from '../model';
import type { Finding, Loaded } from '../rules/rule';
import { reevaluateConfigRules } from './config-evaluations';
import type { PipelineContext } from './context';
import type { GuardRead } from './guards';
import { IntentNotWritten, type Journal, LostToAnotherWriter, NotOpened } from './journal';
import { IncidentStatus } from './lifecycle';
import { alertGuardTripped, page, recordAndPage } from './notify';
import { stepRecorder, verify } from './steps';

/**
 * Decides an incident: exempted, left open (notify mode, guard tripped), or remediated. A new
 * incident's journal opens it with the decision's first write (shared/pipeline/journal.ts).
 */
export async function respond(
  ctx: PipelineContext,
  journal: Journal,
  resource: Loaded<unknown>,
  finding: Finding,
  /** The guard's items, read with the delivery's others (delivery-reads.ts); absent, it reads them. */
  guardRead?: GuardRead,
): Promise<Incident> {
  const { exemption, mode } = journal.incident;
  if (exemption) {
    // Recorded for the audit trail, but nobody is paged for an approved exception.
    const statusReason = `exempt until ${exemption.until} by ${exemption.setBy} (${exemption.exemptionId}): ${exemption.reason}`;
    journal.move(IncidentStatus.Exempted, statusReason);
    const move = await journal.flush();
    return move.moved ? journal.incident : move.current;
  }
  if (mode === Mode.Notify) {
    journal.move(IncidentStatus.Open, `notify mode: ${finding.plan} was not done`);
    return recordAndPage(ctx, journal);
  }
  // Written with the first step's intent: another writer that changed the incident since it was
  // read (resolved it, or began remediating it) wins, and nothing is changed in AWS here.
  journal.move(IncidentStatus.Remediating);
  journal.saveWorkflow({ startedAt: ctx.now().toISOString(), state: {} });
  // The guard's slot is taken just before the first change, ahead of the opening write (racing
  // deliveries of one drift take one slot between them): a rule that reads and declines takes
  // none, so drift the responder only reports can never trip the guard.
  const { ruleId, resourceArn } = journal.incident;
  const takeSlot = async () => {
    const decision = await ctx.deps.guard.acquire({ ruleId, resourceArn }, guardRead);
    if (!decision.allowed) throw new GuardRefused(decision.reason, decision.justTripped);
  };
  return remediateAndFinish(ctx, journal, resource, finding, takeSlot);
}

/** The blast-radius guard refused the first change: nothing was changed. */
class GuardRefused extends ResponderError {
  override name = 'GuardRefused';
  constructor(
    message: string,
    readonly justTripped: boolean,
  ) {
    super(message);
  }
}

/**
 * Runs (or continues) the rule's remediation of a `remediating` incident. Waiting leaves it
 * `remediating` with what it waits for; done is verified by a read before it says `remediated`.
 */
export async function remediateAndFinish(
  ctx: PipelineContext,
  journal: Journal,
  resource: Loaded<unknown>,
  finding: Finding,
  /** Before the first change (a new decision: the guard's slot); a resumed remediation has its slot. */
  beforeFirstChange?: () => Promise<void>,
): Promise<Incident> {
  const { settings, logger, metrics } = ctx.deps;
  const { incidentId } = journal.incident;
  const workflow = journal.incident.workflow ?? { startedAt: ctx.now().toISOString(), state: {} };
  const state = { ...workflow.state };
  let kept = false;
  try {
    const progress = await ctx.rule.remediate(resource, finding, {
      aws: ctx.deps.aws,
      settings,
      step: stepRecorder(journal, ctx.now, beforeFirstChange),
      incidentId,
      ...(ctx.deps.remainingMs && { remainingMs: ctx.deps.remainingMs }),
      workflow: {
        state,
        // Written with the next step's intent (or the final write), ahead of any later change.
        save: async (patch) => {
          Object.assign(state, patch);
          journal.saveWorkflow({ ...workflow, state: { ...state } });
        },
      },
    });
    if (progress) {
      journal.saveWorkflow({ ...workflow, state, waitingFor: progress.waitingFor });
      journal.move(IncidentStatus.Remediating, `waiting for ${progress.waitingFor}`);
      const move = await journal.flush();
      if (!move.moved) return move.current;
      metrics.count(Metric.RemediationWaiting);
      return journal.incident;
    }
    kept = await verify(ctx, journal, resource);
    journal.saveWorkflow({ startedAt: workflow.startedAt, state });
    journal.move(IncidentStatus.Remediated);
    await reevaluateConfigRules(ctx, journal);
  } catch (error) {
    if (error instanceof NotOpened) throw error;
    // Nothing was opened and nothing changed: the delivery fails and is retried.
    if (error instanceof IntentNotWritten && !journal.opened) throw error;
    if (error instanceof LostToAnotherWriter) return error.current;
    if (error instanceof GuardRefused) {
      journal.move(IncidentStatus.Open, error.message);
      if (error.justTripped) await alertGuardTripped(ctx, journal.incident, error.message);
      return recordAndPage(ctx, journal);
    }
    if (error instanceof RemediationDeclined) {
      // Not a failure: the rule chose not to change this resource, and says why.
      metrics.count(Metric.RemediationDeclined);
      journal.move(IncidentStatus.Open, error.message.slice(0, 512));
      return recordAndPage(ctx, journal);
    }
    logger.error('remediation failed', { ruleId: ctx.rule.id, incidentId, error: errorMessage(error) });
    metrics.count(Metric.RemediationFailed);
    journal.move(IncidentStatus.Failed, errorMessage(error).slice(0, 512));
  }
  const remediated = journal.incident.status === IncidentStatus.Remediated;
  const move = await journal.flush({ alert: { status: 'pending', at: ctx.now().toISOString() } });
  if (!move.moved) return move.current;
  if (remediated) metrics.count(Metric.Remediated);
  // The drift lock outlives the alert: if the process dies before it, the next check finds the
  // incident through the lock and pages (resolveOpenDrift), instead of seeing a compliant resource.
  // A kept original is still drift, which this incident answers for: it keeps the lock.
  const { ruleId, resourceArn } = journal.incident;
  return page(ctx, journal.incident, remediated && !kept ? { ruleId, resourceArn } : undefined);
}
