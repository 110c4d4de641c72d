import type { AwsClients } from '../shared/aws/clients';
import { errorMessage, ResponderError } from '../shared/errors';
import { exemptAfterUndo } from '../shared/exemptions/after-undo';
import { neverExempt } from '../shared/exemptions/resource-types';
import {
  type Incident,
  type Step,
  StepResult,
  type UndoCall,
  UndoCallResult,
  type UndoRecord,
} from '../shared/model';
import { type AlertPublisher, buildAlert } from '../shared/pipeline/alerts';
import { buildUndoFailedAlert } from '../shared/pipeline/human-alerts';
import { IncidentStatus, recordMove } from '../shared/pipeline/lifecycle';
import { VERIFY_STEP } from '../shared/pipeline/steps';
import { rules } from '../shared/rules';
import type { CliContext } from './context';
import { CliError, explainError } from './errors';
import { findIncident, incidentStore } from './incidents-store';
import { exemptionLedger } from './ledger-access';
import { type MemberPlace, organisationMembers } from './member-access';
import { tellOnCall } from './on-call';
import { type PlannedCall, planCall } from './undo-calls';
import { UndoRefused } from './undo-checks';

/** The undo calls to replay: those of the steps that succeeded, last step first. */
export function undoCallsOf(incident: Incident): { step: number; call: UndoCall }[] {
  return incident.steps
    .map((step, index) => ({ step: index, result: step.result, call: step.undo }))
    .filter(
      (entry): entry is { step: number; result: StepResult; call: UndoCall } =>
        entry.result === StepResult.Succeeded && entry.call !== undefined,
    )
    .map(({ step, call }) => ({ step, call }))
    .reverse();
}

/**
 * What the undo leaves as it is: the steps that succeeded with no undo call (a snapshot, an encrypted
 * copy the remediation made), besides the read that verified the fix.
 */
export function notReversedBy(
  incident: Incident,
): { step: number; action: string; output?: Step['output'] }[] {
  return incident.steps.flatMap((step, index) =>
    step.result === StepResult.Succeeded && !step.undo && step.action !== VERIFY_STEP
      ? [{ step: index, action: step.action, output: step.output }]
      : [],
  );
}

/** Without --exempt-for: as short as the incident's rule allows, a day at most. */
const DEFAULT_UNDO_EXEMPTION_MINUTES = 24 * 60;

export function undoExemptionMinutes(ruleId: string): number {
  const rule = rules.find((candidate) => candidate.id === ruleId);
  return Math.min(
    rule?.undoExemptionMinutes ?? DEFAULT_UNDO_EXEMPTION_MINUTES,
    DEFAULT_UNDO_EXEMPTION_MINUTES,
  );
}

export interface UndoPlan {
  incident: Incident;
  calls: PlannedCall[];
}

/** A plan whose every call was checked against AWS now: what each check found, in call order. */
export interface CheckedPlan extends UndoPlan {
  found: string[];
  /** A member's incident: the member on-call role's session its checks ran as, and its calls will. */
  memberSession?: string;
}

/**
 * An incident of an account other than the caller's: an ACTIVE member of the organisation deployment
 * (Organizations says so now), or why the undo is refused.
 */
export type OtherAccount = { member: true } | { member: false; why: string };

/** self-protection restores the responder's own stack: its undo would break the responder again. */
const SELF_PROTECTION = 'self-protection';

const refuse = (id: string, why: string) =>
  new CliError(
    `refused: incident ${id}: ${why}; nothing was changed: review it with incidents show ${id} and undo by hand what is right`,
  );

/**
 * Where the record says its resource is, against itself and the credentials: the incident's account
 * is the caller's (or an ACTIVE member's, `other`), and its resource ARN names the same account and region.
 */
function whereRefusal(incident: Incident, callerAccount: string, other?: OtherAccount): string | undefined {
  if (incident.account !== callerAccount && !other?.member) {
    return (
      other?.why ??
      `it is of account ${incident.account}, and your credentials are account ${callerAccount}'s`
    );
  }
  const [, , , region = '', account = ''] = incident.resourceArn.split(':');
  if (account !== '' && account !== incident.account) {
    return `its resource ARN names account ${account}, not ${incident.account}`;
  }
  if (region !== '' && region !== incident.region) {
    return `its resource ARN names ${region}, not ${incident.region}`;
  }
  return undefined;
}

/**
 * What `incidents undo` would replay, from the record alone, or a one-line refusal: undone before,
 * still remediating, self-protection, a step left running, nothing to undo, another account, or a
 * call its rule does not record, of another shape, not its step's undo, aimed at another resource
 * or restoring more than its step removed (refused before any AWS call).
 */
export function planUndo(incident: Incident, callerAccount: string, other?: OtherAccount): UndoPlan {
  const id = incident.incidentId;
  if (incident.undo) {
    throw new CliError(
      `incident ${id} was already undone by ${incident.undo.by} at ${incident.undo.startedAt} (${incident.undo.result}): an incident is undone once; see incidents show ${id}`,
    );
  }
  if (incident.status === IncidentStatus.Remediating) {
    throw new CliError(
      `incident ${id} is still remediating: wait until it ends (incidents show ${id}), then undo it`,
    );
  }
  if (incident.grantChange) {
    const { action, grantId } = incident.grantChange;
    throw new CliError(
      action === 'grant'
        ? `refused: incident ${id} records a person's SSH grant; end it through the ledger with ssh revoke ${grantId} --reason "..." (nothing was changed)`
        : `refused: incident ${id} records a person's SSH revoke; grant again with ssh grant ... --reason "..." if access is still needed (a path reopened without a grant is revoked again; nothing was changed)`,
    );
  }
  if (incident.ruleId === SELF_PROTECTION) {
    throw new CliError(
      `refused: incident ${id} restored the responder's own stack; replaying its undo would break the responder again: nothing was changed`,
    );
  }
  // A step left running may have gone through: undoing around it would leave the change half undone.
  const running = incident.steps.flatMap((step, index) =>
    step.result === StepResult.Running ? [`${index + 1}. ${step.action}`] : [],
  );
  if (running.length > 0) {
    throw new CliError(
      `refused: incident ${id} has step(s) still recorded as running (${running.join(', ')}), whose call may have gone through; nothing was changed: finish by hand with incidents show ${id}`,
    );
  }
  const recorded = undoCallsOf(incident);
  if (recorded.length === 0) {
    throw new CliError(`incident ${id} records no change to undo (no succeeded step with an undo call)`);
  }
  const where = whereRefusal(incident, callerAccount, other);
  if (where) throw refuse(id, where);
  const rule = rules.find((candidate) => candidate.id === incident.ruleId);
  if (!rule) throw refuse(id, `its rule ${incident.ruleId} is not one of this responder's`);
  const planned = recorded.map(({ step, call }) => planCall(call, step, incident, rule));
  const refused = planned.flatMap((call) => ('refused' in call ? [call.refused] : []));
  if (refused.length > 0) throw refuse(id, refused.join('; '));
  return { incident, calls: planned.flatMap((call) => ('refused' in call ? [] : [call])) };
}

/**
 * Checks every planned call against AWS as it is now (its target exists in the incident's account
 * and region, and is what the step changed), all before anything runs: what each found, or a
 * one-line refusal naming every call that must not run.
 */
export async function checkUndo(ctx: CliContext, plan: UndoPlan, member?: MemberPlace): Promise<CheckedPlan> {
  const id = plan.incident.incidentId;
  const results = await Promise.all(
    plan.calls.map(async (planned): Promise<{ found: string } | { refused: string }> => {
      const name = `${planned.call.service} ${planned.call.action}`;
      try {
        return { found: await planned.check({ aws: (member?.ctx ?? ctx).aws(), settings: ctx.settings }) };
      } catch (error) {
        if (error instanceof UndoRefused) return { refused: `${name}: ${error.message}` };
        throw new CliError(
          `incident ${id}: could not check ${name} against AWS (${explainError(error).message}); nothing was changed`,
          { cause: error },
        );
      }
    }),
  );
  const refused = results.flatMap((result) => ('refused' in result ? [result.refused] : []));
  if (refused.length > 0) throw refuse(id, refused.join('; '));
  return {
    ...plan,
    found: results.flatMap((result) => ('found' in result ? [result.found] : [])),
    ...(member && { memberSession: member.session }),
  };
}

/**
 * Where an incident of another account than the caller's may be undone: nowhere in a single-account
 * deployment (the refusal as before); in an organisation deployment, only in an account Organizations
 * lists as ACTIVE now, as its member on-call role under a session naming the incident.
 */
async function reachOther(
  ctx: CliContext,
  incident: Incident,
  callerAccount: string,
): Promise<{ other?: OtherAccount; enter?: () => Promise<MemberPlace> }> {
  const members = await organisationMembers(ctx);
  if (!members) return {};
  const { account, incidentId } = incident;
  if (!(await members.isActive(account))) {
    return {
      other: {
        member: false,
        why: `it is of account ${account}, which is not an ACTIVE account of organisation ${members.organizationId}, and your credentials are account ${callerAccount}'s`,
      },
    };
  }
  return { other: { member: true }, enter: () => members.enter(account, `undo-${incidentId}`) };
}

/**
 * The undone resource gets a time-boxed exemption in the ledger before any call runs, so the
 * responder does not revert the undo a minute later. Rules that can never be exempted say so.
 */
export async function exemptUndoneResource(
  ctx: CliContext,
  incident: Incident,
  exemption: { until: Date; by: string },
): Promise<{ exempted?: { exemptionId: string; until: string }; note: string }> {
  const refusal = neverExempt(incident.ruleId);
  if (refusal) {
    return {
      note: `no exemption was set (${refusal}): the responder may act on ${incident.resourceId} again`,
    };
  }
  const set = await exemptAfterUndo(exemptionLedger(ctx), incident, {
    until: exemption.until,
    setBy: exemption.by,
    now: ctx.now(),
  });
  return {
    exempted: { exemptionId: set.exemptionId, until: set.until },
    note: `${incident.resourceId} is exempt from ${incident.ruleId} until ${set.until} (${set.exemptionId}), so the responder leaves the undo in place; end it early with: compliance-responder exemptions remove ${set.exemptionId}`,
  };
}

export interface UndoOptions {
  /** Why (`--reason`): recorded in the incident and sent to on-call. */
  reason: string;
  /** `--exempt-for`; absent: the rule's shortest (undoExemptionMinutes). */
  exemptForMinutes?: number;
  /** Asked after the plan and what its checks found are shown; false cancels with nothing changed. */
  confirm(plan: CheckedPlan, exemptForMinutes: number): Promise<boolean>;
  /** Told about each call as it runs. */
  progress(line: string): void;
}

export interface UndoResult {
  incidentId: string;
  undo: UndoRecord;
  exemption: { exempted?: { exemptionId: string; until: string }; note: string };
}

const ERROR_LIMIT = 512;

/**
 * Replays an incident's recorded undo calls with the caller's credentials (a member's incident: as
 * that account's member on-call role, `memberSession` in the entry), recorded as the
 * incident's undo entry before the first call and after each one. The first failure stops the
 * replay: the entry says which calls ran and which did not, and the command exits non-zero.
 */
export async function undoIncident(
  ctx: CliContext,
  incidentId: string,
  options: UndoOptions,
): Promise<UndoResult> {
  const caller = await ctx.caller();
  // Before anything changes: an undo on-call would not hear of does not start.
  const onCall = await ctx.onCall();
  const incident = await findIncident(ctx, incidentId);
  const elsewhere =
    incident.account === caller.accountId ? {} : await reachOther(ctx, incident, caller.accountId);
  const planned = planUndo(incident, caller.accountId, elsewhere.other);
  // A member's incident: its checks and calls run there, as the member on-call role; the record stays home.
  const member = await elsewhere.enter?.();
  const plan = await checkUndo(ctx, planned, member);
  const exemptForMinutes = options.exemptForMinutes ?? undoExemptionMinutes(plan.incident.ruleId);
  if (!(await options.confirm(plan, exemptForMinutes))) throw new CliError('cancelled: nothing was changed');
  const startedAt = ctx.now();
  const undo: UndoRecord = {
    by: caller.arn,
    ...(member && { memberSession: member.session }),
    reason: options.reason,
    startedAt: startedAt.toISOString(),
    result: 'running',
    exemptForMinutes,
    calls: plan.calls.map(({ step, call }) => ({ step, call, result: UndoCallResult.Pending })),
  };
  const store = incidentStore(ctx);
  if (!(await store.beginUndo(incidentId, undo))) {
    throw new CliError(
      `incident ${incidentId} is being (or was) undone by someone else: see incidents show ${incidentId}`,
    );
  }
  let exemption: UndoResult['exemption'];
  try {
    // Claimed first, so only the one undoing exempts; still before the first call runs.
    exemption = await exemptUndoneResource(ctx, plan.incident, {
      until: new Date(startedAt.getTime() + exemptForMinutes * 60_000),
      by: caller.arn,
    });
    if (exemption.exempted) {
      undo.exemption = exemption.exempted;
      await store.saveUndo(incidentId, undo);
    }
    await replayCalls(ctx, (member?.ctx ?? ctx).aws(), plan, undo, options.progress);
    Object.assign(undo, { result: 'succeeded', finishedAt: ctx.now().toISOString() });
    await store.saveUndo(incidentId, undo);
    // The calls ran whatever a check wrote meanwhile: recorded from the status read again if need be.
    const reason = `undone by ${caller.arn} at ${undo.finishedAt}: ${options.reason}`;
    const move = await recordMove(store, plan.incident, IncidentStatus.Undone, reason);
    if (!move.moved) {
      // Another writer took it up again (a remediation began): its status and its drift lock stand.
      throw new UndoStoppedError(
        `the undo calls of ${incidentId} ran, but it is now ${move.current.status}, which cannot become undone`,
      );
    }
  } catch (error) {
    return tellUndoStopped(ctx, onCall, plan.incident, undo, error);
  }
  // Let go of the drift, so a later delivery (once the exemption ends) opens, fixes and pages anew.
  await store.releaseDrift(plan.incident.ruleId, plan.incident.resourceArn, incidentId);
  await alertUndone(ctx, onCall, incidentId, undo);
  return { incidentId, undo, exemption };
}

/** Why an undo stopped, in one line (the calls' results are in the undo entry). */
class UndoStoppedError extends ResponderError {
  override name = 'UndoStoppedError';
}

/**
 * Replays the planned calls in order, recording each result; the first failure marks the rest not
 * run, ends the entry `failed` and throws UndoStoppedError naming the call.
 */
async function replayCalls(
  ctx: CliContext,
  aws: AwsClients,
  plan: CheckedPlan,
  undo: UndoRecord,
  progress: (line: string) => void,
): Promise<void> {
  const store = incidentStore(ctx);
  const incidentId = plan.incident.incidentId;
  for (const [index, planned] of plan.calls.entries()) {
    const entry = undo.calls[index];
    if (!entry) continue;
    const name = `${planned.call.service} ${planned.call.action} (${planned.region})`;
    try {
      await planned.run(aws);
    } catch (error) {
      const explained = explainError(error).message;
      Object.assign(entry, {
        result: UndoCallResult.Failed,
        at: ctx.now().toISOString(),
        error: errorMessage(error).slice(0, ERROR_LIMIT),
      });
      for (const rest of undo.calls.slice(index + 1)) rest.result = UndoCallResult.NotRun;
      Object.assign(undo, { result: 'failed', finishedAt: ctx.now().toISOString() });
      await store.saveUndo(incidentId, undo);
      progress(`  FAILED: ${name}: ${explained}`);
      const notRun = undo.calls.length - index - 1;
      throw new UndoStoppedError(
        `undo of ${incidentId} stopped at ${name}: ${explained}; ${index} call(s) ran, ${notRun} did not`,
        { cause: error },
      );
    }
    Object.assign(entry, { result: UndoCallResult.Succeeded, at: ctx.now().toISOString() });
    await store.saveUndo(incidentId, undo);
    progress(`  undone: ${name}`);
  }
}

/**
 * An undo that began and did not end `undone` (a call failed, the record could not be written, or
 * the incident moved on): the entry is closed as it stands, and on-call hears what was and was not
 * reversed (recorded in the entry: pending before Publish, the message id after). Always throws.
 */
async function tellUndoStopped(
  ctx: CliContext,
  onCall: AlertPublisher,
  incident: Incident,
  undo: UndoRecord,
  error: unknown,
): Promise<never> {
  const { incidentId } = incident;
  const problem = error instanceof UndoStoppedError ? error.message : explainError(error).message;
  const store = incidentStore(ctx);
  if (undo.result === 'running') {
    // Stopped outside a call (the exemption, a table write): what had not run never will.
    for (const entry of undo.calls)
      if (entry.result === UndoCallResult.Pending) entry.result = UndoCallResult.NotRun;
    Object.assign(undo, { result: 'failed', finishedAt: ctx.now().toISOString() });
  }
  const recorded = `recorded in the incident: see incidents show ${incidentId} and finish by hand`;
  let told: string;
  try {
    undo.alert = { status: 'pending', at: ctx.now().toISOString() };
    await store.saveUndo(incidentId, undo);
    const current = (await store.get(incidentId)) ?? incident;
    const messageId = await onCall.publish(buildUndoFailedAlert(current, undo, problem));
    undo.alert = { status: 'sent', messageId, at: ctx.now().toISOString() };
    await store.saveUndo(incidentId, undo);
    told = `on-call was alerted (message ${messageId})`;
  } catch (alertError) {
    told = `on-call could not be alerted (${explainError(alertError).message}): tell them yourself`;
  }
  throw new CliError(`${problem} (${recorded}); ${told}`, { cause: error });
}

/**
 * Tells on-call, with the incident's own alert as the table now reads it (status undone, who, why,
 * the exemption), recorded in the undo entry: pending before Publish, the message id after.
 */
async function alertUndone(ctx: CliContext, onCall: AlertPublisher, incidentId: string, undo: UndoRecord) {
  const store = incidentStore(ctx);
  undo.alert = { status: 'pending', at: ctx.now().toISOString() };
  await store.saveUndo(incidentId, undo);
  const incident = await store.get(incidentId);
  if (!incident)
    throw new CliError(`${incidentId} was undone, but is gone from the table: tell on-call yourself`);
  const alert = buildAlert(incident, ctx.settings.runbookBaseUrl);
  const messageId = await tellOnCall(onCall, alert, `${incidentId} was undone (recorded in the incident)`);
  undo.alert = { status: 'sent', messageId, at: ctx.now().toISOString() };
  await store.saveUndo(incidentId, undo);
}
