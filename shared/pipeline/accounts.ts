import { errorMessage } from '../errors';
import type { Actor, Observation } from '../model';
import { MemberRoleUnavailable } from '../organisation/accounts';
import { memberRoleName, memberSessionOf } from '../organisation/member-roles';
import type { Finding, Loaded } from '../rules/rule';
import type { PipelineContext } from './context';
import { IncidentStatus } from './lifecycle';

/**
 * Which account a delivery acts in (docs/organisation.md). A single-account deployment has no
 * AccountAccess: everything is its own account, as before. An organisation deployment acts in its
 * own account with its own role, and in another only if that account is an ACTIVE member of its
 * organisation, as the rule's member role there.
 */

/** The session of reads, which change nothing; a change is made under its incident's id. */
export const readSession = (ruleId: string): string => `read-${ruleId}`.slice(0, 64);

/** Why the pipeline will not act in this account, or undefined when it may. */
export async function refusal(ctx: PipelineContext, accountId: string): Promise<string | undefined> {
  if (!(await actsElsewhere(ctx, accountId))) return undefined;
  const homeOnly = homeOnlyRefusal(ctx, accountId);
  if (homeOnly) return homeOnly;
  if (await ctx.deps.accounts?.isActiveMember(accountId)) return undefined;
  return `account ${accountId} is not an ACTIVE member of organisation ${ctx.deps.settings.organizationId}`;
}

/**
 * Another account, for a rule that watches only the home stack (Rule.homeStackOnly): never acted
 * in, and Organizations never asked (its role holds neither organizations:ListAccounts nor
 * sts:AssumeRole). Call only for an account actsElsewhere names.
 */
export function homeOnlyRefusal(ctx: PipelineContext, accountId: string): string | undefined {
  if (ctx.rule.homeStackOnly === undefined) return undefined;
  return `${ctx.rule.id} watches only the home stack, never account ${accountId}`;
}

/**
 * The context whose clients act in the account: the pipeline's own, or the rule's member role there
 * as `session`. The table, topic and queue stay the function's own. Throws MemberRoleUnavailable.
 */
export async function contextIn(
  ctx: PipelineContext,
  accountId: string,
  session: string = readSession(ctx.rule.id),
): Promise<PipelineContext> {
  if (!(await actsElsewhere(ctx, accountId))) return ctx;
  const { aws, guard, accounts } = ctx.deps;
  if (!guard.forAccount) throw new Error(`no blast-radius guard for account ${accountId}`);
  const member = await accounts?.clientsIn(accountId, session);
  if (!member) throw new Error(`no way into account ${accountId}`);
  return {
    ...ctx,
    deps: {
      ...ctx.deps,
      aws: { ...member, dynamo: aws.dynamo, sns: aws.sns, sqs: aws.sqs },
      // Each account its own guard: one account's burst (or an insider's) never silences another.
      guard: guard.forAccount(accountId),
    },
  };
}

/** Is the account another than this function's own (an organisation deployment's member)? */
export async function actsElsewhere(ctx: PipelineContext, accountId: string): Promise<boolean> {
  const { accounts } = ctx.deps;
  return accounts !== undefined && accountId !== (await accounts.own()).accountId;
}

/**
 * How long after its incident's last write a member role's own call may still be delivered. AWS
 * documents that CloudTrail "typically delivers logs within an average of about 5 minutes of an API
 * call. This time is not guaranteed" (AWS CloudTrail User Guide, "Getting and viewing your CloudTrail
 * log files"); its earlier guides said within 15 minutes. A call delivered later is judged like
 * anyone's: the fix it made reads compliant, so that costs a read, never an incident.
 */
export const OWN_CALL_DELIVERY_ALLOWANCE_MS = 15 * 60_000;

/** What a CloudTrail call says about itself: when, where, and the resource it names (if one). */
export interface CallMade {
  /** CloudTrail's eventTime: the call's, whenever it is delivered. */
  observedAt: string;
  region: string;
  resourceType?: string;
  resourceId?: string;
}

/** Statuses in which an incident may still make calls: it remediates, or may again (resumed). */
const ACTING: readonly string[] = [IncidentStatus.Open, IncidentStatus.Remediating];

/**
 * The loop guard's member half: a call made as one of this stack's member roles is the responder's
 * own only if the session names an incident of ours, of that account and that role's rule, that
 * made it: still acting (or ended within the delivery allowance), the call's time from its opening
 * to its last write plus the allowance, and on its resource in its region. The role's name alone
 * proves nothing (anyone who can create roles in an account without the member stack could take
 * it), nor does an incident id alone (CloudTrail and the incident's tags show it to the member).
 */
export async function isOwnMemberSession(
  ctx: PipelineContext,
  actor: Actor | undefined,
  call: CallMade,
): Promise<boolean> {
  const { accounts, settings, store } = ctx.deps;
  if (!accounts) return false;
  const session = memberSessionOf(actor?.arn, settings.stackName);
  // In its own account the responder acts with its own role, never as a member role.
  if (!session || !(await actsElsewhere(ctx, session.accountId))) return false;
  const incident = await store.get(session.session);
  if (incident?.account !== session.accountId || incident.ruleId !== session.ruleId) return false;
  const at = Date.parse(call.observedAt);
  // CloudTrail's eventTime is whole seconds: a call in the second the incident opened counts.
  const opened = Math.floor(Date.parse(incident.detectedAt) / 1000) * 1000;
  const lastWrite = Date.parse(incident.updatedAt);
  const endedLately = ctx.now().getTime() <= lastWrite + OWN_CALL_DELIVERY_ALLOWANCE_MS;
  const sameResource =
    call.resourceId === undefined ||
    (call.resourceId === incident.resourceId && call.resourceType === incident.resourceType);
  return (
    (ACTING.includes(incident.status) || endedLately) &&
    at >= opened &&
    at <= lastWrite + OWN_CALL_DELIVERY_ALLOWANCE_MS &&
    call.region === incident.region &&
    sameResource
  );
}

/**
 * The member role could not be assumed: the drift it may hide cannot be judged. Recorded and paged
 * as a notify-only incident about the role itself (one per account and rule until it ends), never
 * silence.
 */
export async function unreachableAccount(
  ctx: PipelineContext,
  observation: Observation,
  error: MemberRoleUnavailable,
): Promise<{ resource: Loaded<unknown>; finding: Finding }> {
  const { partition } = (await ctx.deps.accounts?.own()) ?? { partition: 'aws' };
  const roleName = memberRoleName(ctx.deps.settings.stackName, ctx.rule.id);
  const resource: Loaded<unknown> = {
    resourceType: 'AWS::IAM::Role',
    resourceId: roleName,
    region: observation.region,
    accountId: error.accountId,
    arn: `arn:${partition}:iam::${error.accountId}:role/${roleName}`,
    tags: {},
    state: undefined,
  };
  const finding: Finding = {
    compliant: false,
    reason: `the responder cannot act in account ${error.accountId}: assuming its member role failed (${errorMessage(error.cause)}), so ${observation.resourceType} ${observation.resourceId} was not judged`,
    evidence: {
      memberRole: error.roleArn,
      unjudgedType: observation.resourceType,
      unjudgedResource: observation.resourceId,
    },
    plan: 'notify: restore the member stack in that account (docs/organisation.md); the sweep judges what was missed',
  };
  return { resource, finding };
}

export { MemberRoleUnavailable };
