import type { Settings } from '../shared/config';
import { errorMessage } from '../shared/errors';
import {
  type GrantChangeRecord,
  type Incident,
  Mode,
  type Step,
  StepResult,
  type Summary,
  TriggerSource,
} from '../shared/model';
import { type AlertPublisher, buildAlert } from '../shared/pipeline/alerts';
import { DynamoDbIncidentStore } from '../shared/pipeline/incident-store';
import { IncidentStatus } from '../shared/pipeline/lifecycle';
import { newIncidentId } from '../shared/pipeline/run-pipeline';
import type { StepRecorder } from '../shared/rules/rule';
import { sshGrantExpired } from '../shared/rules/ssh-grant-expired';
import { type Grant, GrantKind } from '../shared/ssh/grant-ledger';
import { IAM_REGION, IAM_USER } from '../shared/ssh/iam-keys';
import { SECURITY_GROUP, securityGroupArn } from '../shared/ssh/security-groups';
import type { Caller, CliContext } from './context';
import { CliError, explainError } from './errors';
import { inTable } from './ledger-access';
import { type CliStep, terminalSteps } from './steps';

/**
 * `ssh grant` and `ssh revoke` change AWS for a person: each is recorded as an incident of the rule
 * that polices grants (ssh-grant-expired: §164.312(a)(1) access control, its runbook) and told to
 * on-call once, like every other command that changes AWS (docs/lifecycle.md, "Changes people make").
 *
 * The incident is written alone (DynamoDbIncidentStore.record): never a delivery marker or the
 * rule's drift lock, so a finding of the rule on the same resource (a grant's expiry, a world-open
 * rule on the same group) always opens its own incident. It is written `open` before the first call
 * (what is about to change, and the alert recorded pending), then once the calls have run `resolved`
 * (every call succeeded) or `failed` (the failed step says which and why), then the alert is
 * published and recorded sent. A process that dies in between leaves the incident `open` with its
 * alert pending: the rule's sweep pages it (at least once, never silently).
 */

export type GrantAction = GrantChangeRecord['action'];

const TITLES: Readonly<Record<GrantAction, string>> = {
  grant: 'SSH access granted by a person',
  revoke: 'SSH grant ended by a person',
};

/** What a grant opens, in words (no secrets: an address block, a group id, a user name). */
export function grantTarget(grant: Grant): string {
  const where = grant.account ? ` in account ${grant.account}` : '';
  if (grant.kind === GrantKind.IamSshKey) return `IAM user ${grant.target.userName}${where}`;
  const { groupId, cidr, port, region } = grant.target;
  return `${groupId} ${cidr} port ${port} (${region})${where}`;
}

/** The resource an incident about the grant names: the security group, or the IAM user. */
function resourceOf(grant: Grant, accountId: string, userArn?: string) {
  if (grant.kind === GrantKind.IamSshKey) {
    const { userName } = grant.target;
    return {
      resourceType: IAM_USER,
      resourceId: userName,
      resourceArn: userArn ?? `arn:aws:iam::${accountId}:user/${userName}`,
      region: IAM_REGION,
    };
  }
  const { region, groupId } = grant.target;
  return {
    resourceType: SECURITY_GROUP,
    resourceId: groupId,
    resourceArn: securityGroupArn(region, accountId, groupId),
    region,
  };
}

/** Bounded facts: ids, the address block, the port, times. Never the ledger item or a call's payload. */
function evidenceOf(grant: Grant): Summary {
  const common = {
    grantId: grant.grantId,
    grantedTo: grant.grantedTo,
    grantExpiresAt: grant.expiresAt,
    ...(grant.account && { grantAccount: grant.account }),
  };
  if (grant.kind === GrantKind.IamSshKey) return { ...common, userName: grant.target.userName };
  const { groupId, cidr, port, ruleId } = grant.target;
  return { ...common, groupId, cidr, port, securityGroupRuleId: ruleId ?? null };
}

export interface GrantChange {
  action: GrantAction;
  grant: Grant;
  caller: Caller;
  reason: string;
  /** The settings the stack was deployed with (the rule's mode as configured when this ran). */
  deployed: Settings;
  /** What is about to change, in words (the opening reason says it while the calls run). */
  plan: string;
  /** The IAM user's ARN as read, when the grant is for a user. */
  userArn?: string;
  /**
   * deployment: organisation - the incident's id, chosen before the member role is assumed under a
   * session of that name (so the member's CloudTrail names the incident), and that session's ARN.
   */
  member?: { incidentId: string; session: string };
}

function openingIncident(change: GrantChange, now: Date): Incident {
  const { action, grant, caller, reason, deployed } = change;
  const at = now.toISOString();
  const record: GrantChangeRecord = {
    action,
    grantId: grant.grantId,
    by: caller.arn,
    reason,
    at,
    grantedTo: grant.grantedTo,
    target: grantTarget(grant),
    expiresAt: grant.expiresAt,
    ...(change.member && { memberSession: change.member.session }),
  };
  const rule = sshGrantExpired;
  // The grant's account: a member's, or (no account named) the security account's own.
  const account = grant.account ?? caller.accountId;
  return {
    schemaVersion: 1,
    incidentId: change.member?.incidentId ?? newIncidentId(now),
    ruleId: rule.id,
    title: TITLES[action],
    severity: rule.severity,
    hipaa: rule.hipaa,
    account,
    ...resourceOf(grant, account, change.userArn),
    detectedAt: at,
    updatedAt: at,
    trigger: {
      source: TriggerSource.CommandLine,
      eventId: `${grant.grantId}#${action}`,
      eventName: `ssh ${action}`,
    },
    actor: { type: 'command-line', arn: caller.arn },
    evidence: evidenceOf(grant),
    reason:
      action === 'grant'
        ? `${caller.arn} granted SSH ${grantTarget(grant)} to ${grant.grantedTo} until ${grant.expiresAt} (grant ${grant.grantId}): ${reason}`
        : `${caller.arn} ended SSH grant ${grant.grantId} (${grantTarget(grant)} for ${grant.grantedTo}) early: ${reason}`,
    mode: deployed.modes[rule.id] ?? rule.defaultMode ?? Mode.Enforce,
    status: IncidentStatus.Open,
    statusReason: `ssh ${action} ${grant.grantId} under way: ${change.plan}`,
    steps: [],
    alert: { status: 'pending', at },
    runbook: rule.runbook,
    grantChange: record,
  };
}

const toStep = (step: CliStep): Step => ({
  action: step.action,
  at: step.at,
  result: step.result === 'succeeded' ? StepResult.Succeeded : StepResult.Failed,
  ...(step.error === undefined ? {} : { error: step.error.slice(0, 512) }),
  ...(step.undo ? { undo: step.undo } : {}),
  ...(step.output ? { output: step.output } : {}),
});

/** Why the incident ends as it does, naming the grant. */
function endingReason(change: GrantChange, steps: readonly Step[], failure: unknown): string {
  const { action, grant } = change;
  const ran = steps.filter((step) => step.result === StepResult.Succeeded).length;
  if (failure !== undefined) {
    const why = errorMessage(failure).slice(0, 512);
    return action === 'grant'
      ? `ssh grant ${grant.grantId} failed after ${ran} call(s): ${why}`
      : `ssh revoke ${grant.grantId} failed after ${ran} call(s): ${why}; the grant is ended in the ledger, the path may still be open`;
  }
  if (steps.length === 0) {
    return action === 'grant'
      ? `ssh grant ${grant.grantId} recorded; no AWS call was needed (the keys were already Active)`
      : `ssh revoke ${grant.grantId} recorded in the ledger; no AWS call was needed (nothing of the grant was open)`;
  }
  return action === 'grant'
    ? `ssh grant ${grant.grantId}: a person's deliberate change, ${ran} call(s) succeeded`
    : `ssh revoke ${grant.grantId}: a person's deliberate change, ${ran} call(s) succeeded`;
}

export interface RecordedChange<T> {
  result: T;
  steps: CliStep[];
  incident: Incident;
  /** The alert's message id. */
  alertMessageId: string;
}

/**
 * Records the change as an incident, runs `work` (each AWS call through `step`, with its undo), ends
 * the incident resolved or failed, and tells on-call once on the deployed topic (`onCall`, resolved
 * by the caller before anything changed). A failed call is rethrown once recorded and alerted; a
 * Publish that fails after the change says the change stands, recorded, and on-call was not told.
 */
export async function recordGrantChange<T>(
  ctx: CliContext,
  onCall: AlertPublisher,
  change: GrantChange,
  work: (step: StepRecorder) => Promise<T>,
): Promise<RecordedChange<T>> {
  const store = new DynamoDbIncidentStore(
    ctx.aws().dynamo(),
    ctx.tableName,
    change.deployed.incidentRetentionDays,
    ctx.now,
    change.caller.arn,
  );
  const opening = openingIncident(change, ctx.now());
  const { incidentId } = opening;
  await inTable(ctx, () => store.record(opening));
  const { step, steps } = terminalSteps(ctx.io, ctx.now);
  let result: T | undefined;
  let failure: unknown;
  try {
    result = await work(step);
  } catch (error) {
    failure = error;
  }
  const recorded = steps.map(toStep);
  const to = failure === undefined ? IncidentStatus.Resolved : IncidentStatus.Failed;
  const reason = endingReason(change, recorded, failure);
  const at = ctx.now().toISOString();
  const incident = await inTable(ctx, () =>
    store.commit(incidentId, {
      from: IncidentStatus.Open,
      moves: [{ from: IncidentStatus.Open, to, at, reason }],
      steps: recorded,
    }),
  );
  if (!incident) {
    // Nobody else writes this incident; a change of status under us is a tampered table.
    throw new CliError(
      `the ${change.action} ${failure === undefined ? 'went through' : 'failed'}, but incident ${incidentId} was changed by another writer before its result was recorded: see incidents show ${incidentId} and tell on-call yourself`,
      { cause: failure },
    );
  }
  let messageId: string;
  try {
    messageId = await onCall.publish(buildAlert(incident, change.deployed.runbookBaseUrl));
  } catch (error) {
    const done =
      failure === undefined
        ? `ssh ${change.action} ${change.grant.grantId} done and recorded in incident ${incidentId}`
        : `ssh ${change.action} ${change.grant.grantId} failed (${errorMessage(failure)}), recorded in incident ${incidentId}`;
    throw new CliError(
      `${done}, but on-call could not be alerted: ${explainError(error).message}; tell them yourself (the alert stays pending: the ssh-grant-expired sweep sends it)`,
      { cause: error },
    );
  }
  const sent = { status: 'sent' as const, messageId, at: ctx.now().toISOString() };
  await inTable(ctx, () => store.setAlert(incidentId, sent));
  if (failure !== undefined) throw failure;
  return { result: result as T, steps, incident: { ...incident, alert: sent }, alertMessageId: messageId };
}
