import { type PermissionStatement, Stack, statementActions } from '../rules/rule';

/**
 * What `ssh grant` and `ssh revoke` call in the account a grant opens, declared once: the member
 * stack's roles for them are generated from these (scripts/lib/member.ts), and the unit tests check
 * that the commands the command line sends are among them. The ledger and the grant's incident stay
 * the home stack's (its table, its topic): nothing here reaches them.
 */

const USERS = `arn:${Stack.partition}:iam::${Stack.accountId}:user/*`;
const GROUPS_AND_RULES = [
  `arn:${Stack.partition}:ec2:*:${Stack.accountId}:security-group/*`,
  `arn:${Stack.partition}:ec2:*:${Stack.accountId}:security-group-rule/*`,
];

/** The reads both make before they change anything (the user's keys, the group's rules). */
const READS: readonly PermissionStatement[] = [
  {
    sid: 'ReadGroupsAndRules',
    actions: ['ec2:DescribeSecurityGroups', 'ec2:DescribeSecurityGroupRules'],
    why: 'No resource-level permissions for these reads.',
  },
  { sid: 'ReadUsersKeys', actions: ['iam:GetUser', 'iam:ListSSHPublicKeys'], resources: [USERS] },
];

type Conditions = NonNullable<PermissionStatement['conditions']>;

/** `ssh grant` (the approver's): a user's keys set Active, or one rule opened and tagged, with `tagKeys`, as it is created. */
const grantStatements = (tagKeys: Conditions): readonly PermissionStatement[] => [
  ...READS,
  {
    sid: 'ActivateGrantedKeys',
    actions: ['iam:UpdateSSHPublicKey'],
    resources: [USERS],
    why: 'ssh grant --user sets the keys Active; ssh-grant-expired sets them Inactive when the grant ends.',
  },
  { sid: 'OpenTheGrantedRule', actions: ['ec2:AuthorizeSecurityGroupIngress'], resources: GROUPS_AND_RULES },
  {
    sid: 'TagTheGrantedRuleAsItIsCreated',
    actions: ['ec2:CreateTags'],
    resources: [`arn:${Stack.partition}:ec2:*:${Stack.accountId}:security-group-rule/*`],
    conditions: { StringEquals: { 'ec2:CreateAction': ['AuthorizeSecurityGroupIngress'] }, ...tagKeys },
  },
];

/**
 * In a member (its `<stack>-member-approver` role): the member stack does not know the grant tag, so
 * any of the responder's reserved keys (the grant tag, sshGrantTag, must be one of them there).
 */
export const GRANT_STATEMENTS: readonly PermissionStatement[] = grantStatements({
  'ForAllValues:StringLike': { 'aws:TagKeys': ['compliance-responder:*'] },
});

/**
 * In the security account (serverless.yml's ApproverRole, through scripts/serverless/approver.cjs):
 * the same calls, tagging with exactly the stack's grant tag.
 */
export const homeGrantStatements = (grantTag: string): readonly PermissionStatement[] =>
  grantStatements({ 'ForAllValues:StringEquals': { 'aws:TagKeys': [grantTag] } });

/** `ssh revoke` (on-call's): a user's Active keys set Inactive, or the granted rule revoked. */
export const REVOKE_STATEMENTS: readonly PermissionStatement[] = [
  ...READS,
  { sid: 'DeactivateGrantedKeys', actions: ['iam:UpdateSSHPublicKey'], resources: [USERS] },
  { sid: 'RevokeTheGrantedRule', actions: ['ec2:RevokeSecurityGroupIngress'], resources: GROUPS_AND_RULES },
];

/** Every action of the statements, once each, sorted. */
export const actionsOf = (statements: readonly PermissionStatement[]): string[] =>
  statementActions(statements).sort();
