import {
  approverRoleName,
  functionRoleName,
  memberApproverRoleName,
  memberOnCallRoleName,
  memberRoleName,
  onCallRoleName,
  SECURITY_HUB_IMPORTER,
} from '../../shared/organisation/member-roles';
import { rules as registry } from '../../shared/rules';
import { LOCKDOWN_RULES } from '../../shared/rules/lockdown';
import { type PermissionStatement, REEVALUATE_PAIRED_CONFIG_RULES, type Rule } from '../../shared/rules/rule';
import { GRANT_STATEMENTS, REVOKE_STATEMENTS } from '../../shared/ssh/grant-actions';
import { onCallActions, policyStatement, roleName, UNDONE_WITH_CONDITIONS } from './deployment';
import { IMPORTER_ROLE_LOGICAL_ID, importerAllowed, importerRole } from './member-importer';

/**
 * The member stack's roles, generated from the registry (docs/organisation.md): in every member
 * account of an organisation deployment, one role per rule that only that rule's function in the
 * security account may assume, holding the statements of the rule that act on the account's own
 * resources, under one permissions boundary. The statements that reach the home stack's resources
 * (the incident table's grant ledger) stay on the function's own role in the security account.
 * scripts/serverless/forwarder.cjs adds these to the member stack; test/contract/member.test.ts
 * checks the packaged result.
 */

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** The condition under which the member stack holds the roles: IAM is global, so one region per account. */
export const HOLDS_MEMBER_ROLES = 'HoldsMemberRoles';
export const MEMBER_BOUNDARY = 'MemberBoundary';
export const MEMBER_ON_CALL_ROLE = 'MemberOnCallRole';
export const MEMBER_APPROVER_ROLE = 'MemberApproverRole';

/** A stack value naming one of the home stack's resources (`${IncidentTable.Arn}`), not a pseudo parameter. */
const HOME_RESOURCE = /\$\{(?!AWS::)\w+(\.\w+)?\}/;

const reachesHomeStack = (statement: PermissionStatement): boolean =>
  HOME_RESOURCE.test(JSON.stringify([statement.resources ?? [], statement.conditions ?? {}]));

/** What the rule's function does in a member account: its statements that stay in that account. */
export const memberStatements = (rule: Rule): PermissionStatement[] =>
  rule.permissions.filter((statement) => !reachesHomeStack(statement));

/** The rules that act in member accounts: all but those that watch only the home stack. */
export const memberRules = (rules: readonly Rule[] = registry): Rule[] =>
  rules.filter((rule) => rule.homeStackOnly === undefined && memberStatements(rule).length > 0);

/**
 * The functions of rules that watch only the home stack (self-protection): a member stack forwards
 * nothing for them (no member event is theirs to judge), and holds no role for them.
 */
export const homeStackOnlyFunctions = (rules: readonly Rule[] = registry): string[] =>
  rules.filter((rule) => rule.homeStackOnly !== undefined).map((rule) => rule.id);

export const memberRoleLogicalId = (rule: Pick<Rule, 'id'>): string => `Member${roleName(rule)}`;

export interface MemberStackFacts {
  /** The security account, which runs the home stack (12 digits). */
  securityAccount: string;
  /** The home stack's name (`<service>-<stage>`): its roles are named after it. */
  homeStackName: string;
}

/**
 * The role of one rule in a member account. Trusted: only the rule's own function role in the
 * security account, by its name (an organisation deployment names it), never the account as a whole.
 * The principal is the account with a condition, not the role: IAM refuses a trust policy naming a
 * role that does not exist yet, and the home stack may be deployed after the member stacks.
 */
function memberRole(rule: Rule, facts: MemberStackFacts): Json {
  return {
    Type: 'AWS::IAM::Role',
    Condition: HOLDS_MEMBER_ROLES,
    Properties: {
      RoleName: memberRoleName(facts.homeStackName, rule.id),
      Description: `compliance-responder: what the ${rule.id} function of security account ${facts.securityAccount} may do here`,
      PermissionsBoundary: { Ref: MEMBER_BOUNDARY },
      // An hour is IAM's default: a remediation's session, named after its incident, never needs more.
      MaxSessionDuration: 3600,
      AssumeRolePolicyDocument: onlyRole(facts)(
        functionRoleName(facts.homeStackName, rule.id),
        'OnlyThisRulesFunction',
      ),
      Policies: [
        {
          PolicyName: `rule-${rule.id}`,
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: memberStatements(rule).map(policyStatement),
          },
        },
      ],
    },
  };
}

/** Trust in one role of the security account (a function's, on-call's), by its name (see memberRole). */
const onlyRole =
  (facts: MemberStackFacts) =>
  (role: string, sid: string): Json => ({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: sid,
        Effect: 'Allow',
        Principal: { AWS: { 'Fn::Sub': `arn:\${AWS::Partition}:iam::${facts.securityAccount}:root` } },
        Action: 'sts:AssumeRole',
        Condition: {
          ArnEquals: {
            'aws:PrincipalArn': {
              'Fn::Sub': `arn:\${AWS::Partition}:iam::${facts.securityAccount}:role/${role}`,
            },
          },
        },
      },
    ],
  });
/** Services whose resources are the home stack's (table, topic, queues): never on-call's in a member. */
const HOME_SERVICES = /^(dynamodb|sns|sqs):/;

/**
 * What on-call may call in a member account: the on-call actions (every undo call a rule records and
 * every read) of the rules that act there, limited to the actions of their in-account statements and
 * their undo calls; nothing of the home stack's. ec2:DeleteTags is held only for the responder's tag keys.
 */
export const memberOnCallActions = (rules: readonly Rule[] = registry): string[] => {
  const acting = memberRules(rules);
  const inAccount = new Set([
    ...acting.flatMap(memberStatements).flatMap((statement) => statement.actions),
    ...acting.flatMap((rule) => rule.undoActions ?? []),
  ]);
  return onCallActions(acting).filter((action) => inAccount.has(action) && !HOME_SERVICES.test(action));
};

/**
 * What `ssh lockdown --account` calls in a member: the in-account statements of the rules whose paths
 * it closes (shared/rules/lockdown.ts), as their functions hold them there, but for asking Config to
 * re-evaluate the stack's own Config rules, which exist in the security account only (the pipeline
 * skips that step in a member: shared/pipeline/config-evaluations.ts).
 */
export const memberLockdownStatements = (rules: readonly Rule[] = LOCKDOWN_RULES): PermissionStatement[] =>
  rules
    .flatMap(memberStatements)
    .filter((statement) => statement.sid !== REEVALUATE_PAIRED_CONFIG_RULES.sid)
    .filter(
      (statement, index, all) =>
        all.findIndex((other) => JSON.stringify(other) === JSON.stringify(statement)) === index,
    );

/** Removing a tag, and only the responder's own keys, as the home on-call role may (serverless.yml). */
const onlyTheRespondersOwnTags = (resource: Json): Json => ({
  Sid: 'UndoOnlyTheRespondersOwnTags',
  Effect: 'Allow',
  Action: UNDONE_WITH_CONDITIONS[0] ?? 'ec2:DeleteTags',
  Resource: resource,
  Condition: { 'ForAllValues:StringLike': { 'aws:TagKeys': ['compliance-responder:*'] } },
});

/**
 * On-call's role in a member account (`incidents undo` of its incidents, `scan --account`), under the
 * member boundary. Trusted: only the security account's on-call role, by its name (the way
 * memberRole names a function's role), for an hour at most.
 */
function memberOnCallRole(rules: readonly Rule[], facts: MemberStackFacts): Json {
  return {
    Type: 'AWS::IAM::Role',
    Condition: HOLDS_MEMBER_ROLES,
    Metadata: {
      checkov: {
        skip: [
          {
            id: 'CKV_AWS_111',
            comment:
              'Undo replays calls on whatever resource an incident names, several with no resource-level permissions; the CLI replays only the undo calls recorded in an incident, checked against AWS first (as the home OnCallRole)',
          },
          {
            id: 'CKV_AWS_109',
            comment:
              'The one IAM write, UpdateSSHPublicKey, is an undo call (reactivating a key the responder deactivated)',
          },
        ],
      },
    },
    Properties: {
      RoleName: memberOnCallRoleName(facts.homeStackName),
      Description: `compliance-responder: what on-call of security account ${facts.securityAccount} may undo and read here`,
      PermissionsBoundary: { Ref: MEMBER_BOUNDARY },
      MaxSessionDuration: 3600,
      AssumeRolePolicyDocument: onlyRole(facts)(
        onCallRoleName(facts.homeStackName),
        'OnlyTheSecurityAccountsOnCall',
      ),
      Policies: [
        {
          PolicyName: 'on-call',
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              policyStatement({ sid: 'UndoAndTheReadsItChecksFirst', actions: memberOnCallActions(rules) }),
              onlyTheRespondersOwnTags({ 'Fn::Sub': `arn:\${AWS::Partition}:ec2:*:\${AWS::AccountId}:*/*` }),
            ],
          },
        },
        {
          // ssh revoke of a member's grant: exactly what it calls there (shared/ssh/grant-actions.ts).
          PolicyName: 'end-ssh-grants',
          PolicyDocument: { Version: '2012-10-17', Statement: REVOKE_STATEMENTS.map(policyStatement) },
        },
        {
          // ssh lockdown --account: what the SSH rules' functions do there (shared/rules/lockdown.ts).
          PolicyName: 'ssh-lockdown',
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: memberLockdownStatements().map(policyStatement),
          },
        },
      ],
    },
  };
}

/**
 * The approver's role in a member account (`ssh grant --account`): exactly what a grant calls there
 * (shared/ssh/grant-actions.ts), under the member boundary. Trusted: only the security account's
 * approver role, by its name, for an hour at most. The ledger and the grant's incident stay the home
 * stack's: nothing of the table or topic here.
 */
function memberApproverRole(facts: MemberStackFacts): Json {
  return {
    Type: 'AWS::IAM::Role',
    Condition: HOLDS_MEMBER_ROLES,
    Metadata: {
      checkov: {
        skip: [
          {
            id: 'CKV_AWS_109',
            comment:
              "The one IAM write, UpdateSSHPublicKey, sets a granted user's keys Active for the grant (ssh-grant-expired sets them Inactive when it ends)",
          },
        ],
      },
    },
    Properties: {
      RoleName: memberApproverRoleName(facts.homeStackName),
      Description: `compliance-responder: what approvers of security account ${facts.securityAccount} may open here for an SSH grant`,
      PermissionsBoundary: { Ref: MEMBER_BOUNDARY },
      MaxSessionDuration: 3600,
      AssumeRolePolicyDocument: onlyRole(facts)(
        approverRoleName(facts.homeStackName),
        'OnlyTheSecurityAccountsApprovers',
      ),
      Policies: [
        {
          PolicyName: 'ssh-grant',
          PolicyDocument: { Version: '2012-10-17', Statement: GRANT_STATEMENTS.map(policyStatement) },
        },
      ],
    },
  };
}

/**
 * The ceiling of every member role (IAM caps a managed policy at 6,144 characters, too few for every
 * statement): the actions the rules declare without conditions, on any resource (each role's own
 * policy narrows them), and each statement with conditions as declared, once each.
 */
function memberBoundary(rules: readonly Rule[]): Json {
  // The grant and revoke statements of the people's member roles too (shared/ssh/grant-actions.ts).
  const statements = [...rules.flatMap(memberStatements), ...GRANT_STATEMENTS, ...REVOKE_STATEMENTS];
  const unconditioned = [
    ...new Set([
      ...statements.filter((s) => s.conditions === undefined).flatMap((s) => s.actions),
      ...memberOnCallActions(rules),
    ]),
  ].sort();
  const conditioned = new Map<string, PermissionStatement>();
  for (const statement of statements.filter((s) => s.conditions !== undefined)) {
    const key = JSON.stringify({ ...statement, sid: '' });
    const sidTaken = [...conditioned.values()].some((other) => other.sid === statement.sid);
    if (!conditioned.has(key))
      conditioned.set(
        key,
        sidTaken ? { ...statement, sid: `${statement.sid}${conditioned.size}` } : statement,
      );
  }
  return {
    Type: 'AWS::IAM::ManagedPolicy',
    Condition: HOLDS_MEMBER_ROLES,
    Metadata: {
      checkov: {
        skip: [
          {
            id: 'CKV_AWS_111',
            comment: 'A boundary grants nothing; each member role narrows its writes to resources',
          },
          {
            id: 'CKV_AWS_109',
            comment: 'A boundary grants nothing; its only IAM write, UpdateSSHPublicKey, is scoped to users',
          },
        ],
      },
    },
    Properties: {
      Description: 'compliance-responder member permissions boundary - the most any member role may do',
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          policyStatement({ sid: 'TheRulesActions', actions: unconditioned }),
          ...[...conditioned.values()].map(policyStatement),
          // The Security Hub importer's (scripts/lib/member-importer.ts), conditions included.
          ...importerAllowed(),
          onlyTheRespondersOwnTags('*'),
        ],
      },
    },
  };
}

/** The member stack's roles and their boundary, by logical id. */
export function memberRoleResources(
  facts: MemberStackFacts,
  rules: readonly Rule[] = registry,
): Record<string, Json> {
  if (!/^\d{12}$/.test(facts.securityAccount)) {
    throw new Error(`a member stack needs securityAccount (12 digits), not "${facts.securityAccount}"`);
  }
  const acting = memberRules(rules);
  if (rules.some((rule) => rule.id === SECURITY_HUB_IMPORTER))
    throw new Error(
      `no rule may be named ${SECURITY_HUB_IMPORTER}: the importer's member role has that name`,
    );
  return {
    [MEMBER_BOUNDARY]: memberBoundary(acting),
    [MEMBER_ON_CALL_ROLE]: memberOnCallRole(acting, facts),
    [MEMBER_APPROVER_ROLE]: memberApproverRole(facts),
    ...Object.fromEntries(acting.map((rule) => [memberRoleLogicalId(rule), memberRole(rule, facts)])),
    [IMPORTER_ROLE_LOGICAL_ID]: importerRole(
      facts.homeStackName,
      facts.securityAccount,
      onlyRole(facts),
      MEMBER_BOUNDARY,
      HOLDS_MEMBER_ROLES,
    ),
  };
}

/** An organisation deployment names its rule roles: packaging fails on a name IAM would refuse. */
export function checkFunctionRoleNames(homeStackName: string, rules: readonly Rule[] = registry): void {
  for (const rule of memberRules(rules)) functionRoleName(homeStackName, rule.id);
  // The security-hub-findings function's role, named too (serverless.yml, SecurityHubFindingsRole).
  functionRoleName(homeStackName, SECURITY_HUB_IMPORTER);
}
