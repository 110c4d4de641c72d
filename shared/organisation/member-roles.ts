/**
 * The role each rule's function assumes in a member account of an organisation deployment
 * (docs/organisation.md). Its name is fixed, so the security account's function can build its ARN
 * from the account an event names; the member stack creates it (scripts/lib/member.ts).
 */

/** IAM's limit on role names. */
const MAX_ROLE_NAME = 64;

function roleNameOf(name: string): string {
  if (name.length > MAX_ROLE_NAME) {
    throw new Error(`role name ${name} exceeds IAM's ${MAX_ROLE_NAME} characters: use a shorter stage`);
  }
  return name;
}

/** `<home stack>-member-<rule id>`: e.g. compliance-responder-prod-member-ssh-open-to-world. */
export const memberRoleName = (homeStackName: string, ruleId: string): string =>
  roleNameOf(`${homeStackName}-member-${ruleId}`);

/**
 * The security-hub-findings function is not a rule, but imports a member's incidents in that member
 * as a member role of its own (docs/security-hub.md), named as a rule's would be: no rule may take the id.
 */
export const SECURITY_HUB_IMPORTER = 'security-hub-findings';

/** `<home stack>-member-security-hub-findings`: the importer's role in each member account. */
export const importerRoleName = (homeStackName: string): string =>
  memberRoleName(homeStackName, SECURITY_HUB_IMPORTER);

/**
 * `<home stack>-member-on-call`: the role on-call's CLI assumes in a member account (`incidents undo`
 * of its incident, `scan --account`), from the home stack's `<home stack>-on-call` only. No rule may
 * be named `on-call` (test/contract/member.test.ts), so it never shares a rule's member role name.
 */
export const memberOnCallRoleName = (homeStackName: string): string =>
  memberRoleName(homeStackName, 'on-call');

/**
 * `<home stack>-member-approver`: the role an approver's `ssh grant --account` assumes in a member
 * account, from the home stack's `<home stack>-approver` only. No rule may be named `approver`.
 */
export const memberApproverRoleName = (homeStackName: string): string =>
  memberRoleName(homeStackName, 'approver');

/** The security account's approver role (serverless.yml, ApproverRole), which alone may assume it. */
export const approverRoleName = (homeStackName: string): string => roleNameOf(`${homeStackName}-approver`);

/** The security account's on-call role (serverless.yml, OnCallRole), which alone may assume it. */
export const onCallRoleName = (homeStackName: string): string => roleNameOf(`${homeStackName}-on-call`);

/**
 * An organisation deployment's rule function role in the security account, `<home stack>-<rule id>`:
 * named, so a member role's trust policy can name it exactly (scripts/lib/deployment.ts).
 */
export const functionRoleName = (homeStackName: string, ruleId: string): string =>
  roleNameOf(`${homeStackName}-${ruleId}`);

/** A session of one of this stack's member roles, as CloudTrail names its actor. */
export interface MemberSession {
  accountId: string;
  ruleId: string;
  /** The session name: the incident id when the session changed something. */
  session: string;
}

/**
 * arn:aws:sts::<account>:assumed-role/<home stack>-member-<rule id>/<session> → its parts. Only a
 * claim: anyone who can create a role of that name in an account could make it, and incident ids
 * are no secret; the incident the session names, acting on the call's resource at the call's time,
 * is the proof (shared/pipeline/accounts.ts, isOwnMemberSession: the loop guard).
 */
export function memberSessionOf(
  actorArn: string | undefined,
  homeStackName: string,
): MemberSession | undefined {
  const match = /^arn:aws[a-z-]*:sts::(\d{12}):assumed-role\/([^/]+)\/(.+)$/.exec(actorArn ?? '');
  const prefix = `${homeStackName}-member-`;
  const [, accountId, role, session] = match ?? [];
  if (!accountId || !role?.startsWith(prefix) || !session) return undefined;
  return { accountId, ruleId: role.slice(prefix.length), session };
}
