import { EnableAlarmActionsCommand } from '@aws-sdk/client-cloudwatch';
import { UpdateTableCommand } from '@aws-sdk/client-dynamodb';
import { EnableRuleCommand, PutPermissionCommand } from '@aws-sdk/client-eventbridge';
import { CancelKeyDeletionCommand, EnableKeyCommand, EnableKeyRotationCommand } from '@aws-sdk/client-kms';
import { DeleteFunctionConcurrencyCommand } from '@aws-sdk/client-lambda';
import { fieldsOutsideShape, OWN_CALL_SHAPES, OwnCall, refuseOutsideShape } from '../aws/own-calls';
import type { Settings } from '../config';
import { RemediationDeclined } from '../errors';
import { Mode, Severity, type Summary } from '../model';
import {
  DEFAULT_BUS,
  namedStatements,
  organisationStatementId,
  otherStatementsProblem,
} from '../organisation/bus-policy';
import { resourceTypeOfCall } from '../resources';
import { stackResourceTypes } from '../resources/stack-resource';
import { changesEvidence, configurationProblem } from './function-configuration';
import {
  type CallFilter,
  defineRule,
  type Finding,
  type Loaded,
  type OwnCallRecord,
  type RemediationContext,
  Stack,
} from './rule';
import {
  listStackResources,
  readStackResource,
  type StackResourceState,
  StackResourceType,
  stackKeyAlias,
} from './stack-resources';

/**
 * Changes whose effect no read can compare with the deployment (the template is not read): a
 * function's permissions, the responder's roles (IAM: delivered in us-east-1 only), the key policy,
 * a log group's retention.
 */
const JUDGED_BY_CALL = [
  'AddPermission20150331v2',
  'AddPermission',
  'RemovePermission20150331v2',
  'RemovePermission',
  'PutRolePolicy',
  'DeleteRolePolicy',
  'AttachRolePolicy',
  'DetachRolePolicy',
  'UpdateAssumeRolePolicy',
  'PutRolePermissionsBoundary',
  'DeleteRolePermissionsBoundary',
  'PutKeyPolicy',
  'PutRetentionPolicy',
  'DeleteRetentionPolicy',
];

/**
 * Self-protection: the CloudTrail calls that would blind, silence or disarm the responder: every
 * call shared/resources declares on the stack's own resources (stack-resource.ts, which says which
 * service logs each and which resource it names; PutRule and PutTargets among them, since either
 * can disable a rule), and the trail's selectors and the recorder (trail.ts, recorder.ts).
 */
export const SELF_PROTECTION_EVENTS = [
  ...stackResourceTypes.flatMap((resource) =>
    Object.entries(resource.calls).map(([eventName, call]) => [eventName, call.eventSource] as const),
  ),
  ['PutEventSelectors', undefined] as const,
  ['PutConfigurationRecorder', undefined] as const,
].map(([eventName, eventSource]) => ({
  eventName,
  resourceType: resourceTypeOfCall(eventName, eventSource),
}));

/**
 * Which of those calls touch the stack's own resources: serverless names EventBridge rules
 * <stack>-<function>-rule-<n> and CloudFormation names schedules <stack>-<LogicalId>-<suffix>; Lambda
 * calls name a function by name or ARN. The trail's selectors (any trail: selectors without management
 * events blind every event trigger) and the recorder are routed unfiltered.
 */
const STACK_NAMED = [{ prefix: `${Stack.name}-` }];
const STACK_FUNCTION = [{ prefix: `${Stack.name}-` }, { wildcard: `*:function:${Stack.name}-*` }];
const STACK_TABLE = [Stack.ref('IncidentTable'), Stack.arn('IncidentTable')];
const STACK_RESOURCE_FILTERS: readonly CallFilter[] = [
  { eventNames: ['DisableRule', 'DeleteRule', 'PutRule'], requestParameters: { name: STACK_NAMED } },
  { eventNames: ['RemoveTargets', 'PutTargets'], requestParameters: { rule: STACK_NAMED } },
  // Lambda logs its calls with the API version appended; both spellings are routed.
  {
    eventNames: ['DeleteFunction20150331', 'DeleteFunction'],
    requestParameters: { functionName: STACK_FUNCTION },
  },
  {
    eventNames: ['PutFunctionConcurrency20171031', 'PutFunctionConcurrency'],
    requestParameters: { functionName: STACK_FUNCTION, reservedConcurrentExecutions: [0] },
  },
  // Any change to a function's configuration or code outside a deployment: compared with the
  // version the deployment published (environment, role, layers, code hash).
  {
    eventNames: [
      'UpdateFunctionConfiguration20150331v2',
      'UpdateFunctionConfiguration',
      'UpdateFunctionCode20150331v2',
      'UpdateFunctionCode',
    ],
    requestParameters: { functionName: STACK_FUNCTION },
  },
  { eventNames: ['DeleteConfigRule'], requestParameters: { configRuleName: STACK_NAMED } },
  { eventNames: ['DeleteTopic'], requestParameters: { topicArn: [Stack.ref('AlertTopic')] } },
  // A filter policy (SetSubscriptionAttributes) silences a subscriber as surely as Unsubscribe.
  {
    eventNames: ['Unsubscribe', 'SetSubscriptionAttributes'],
    requestParameters: { subscriptionArn: [{ prefix: `${Stack.ref('AlertTopic')}:` }] },
  },
  {
    eventNames: ['UpdateTable'],
    requestParameters: { tableName: STACK_TABLE, deletionProtectionEnabled: [false] },
  },
  { eventNames: ['DeleteTable'], requestParameters: { tableName: STACK_TABLE } },
  {
    eventNames: ['DisableKey', 'ScheduleKeyDeletion', 'DisableKeyRotation', 'PutKeyPolicy'],
    requestParameters: { keyId: [Stack.ref('ResponderKey'), Stack.arn('ResponderKey')] },
  },
  // Silencing by configuration: permissions, roles, alarms, log retention.
  {
    // EventBridge logs a RemovePermission too (the bus policy: ORGANISATION_BUS_FILTER).
    eventSource: 'lambda.amazonaws.com',
    eventNames: [
      'AddPermission20150331v2',
      'AddPermission',
      'RemovePermission20150331v2',
      'RemovePermission',
    ],
    requestParameters: { functionName: STACK_FUNCTION },
  },
  // IAM's CloudTrail events reach EventBridge in us-east-1 only (forwarded from there to a home elsewhere).
  {
    eventNames: [
      'PutRolePolicy',
      'DeleteRolePolicy',
      'AttachRolePolicy',
      'DetachRolePolicy',
      'UpdateAssumeRolePolicy',
      'PutRolePermissionsBoundary',
      'DeleteRolePermissionsBoundary',
    ],
    requestParameters: { roleName: STACK_NAMED },
  },
  { eventNames: ['DisableAlarmActions', 'DeleteAlarms'], requestParameters: { alarmNames: STACK_NAMED } },
  {
    eventNames: ['PutRetentionPolicy', 'DeleteRetentionPolicy'],
    requestParameters: { logGroupName: [{ prefix: `/aws/lambda/${Stack.name}-` }] },
  },
];

/**
 * deployment: organisation - a change to the default bus's policy in the home region: the default bus
 * is named by no name, its name or its ARN. Only the home stack of an organisation routes it
 * (scripts/lib/deployment.ts); a single account's stack has no such statement to watch.
 */
const DEFAULT_BUS_ARN = `arn:${Stack.partition}:events:${Stack.region}:${Stack.accountId}:event-bus/default`;
const ORGANISATION_BUS_FILTER: CallFilter = {
  eventSource: 'events.amazonaws.com',
  eventNames: ['PutPermission', 'RemovePermission'],
  requestParameters: { eventBusName: [{ exists: false }, DEFAULT_BUS, DEFAULT_BUS_ARN] },
};

/**
 * A responder role's call outside the shape the responder ever sends (shared/aws/own-calls.ts): its
 * role is used by someone else, or its code was changed. Field names only, never their values.
 */
function ownCallOutsideShape(call: OwnCallRecord): Finding | undefined {
  const shape = OWN_CALL_SHAPES.get(call.eventName);
  const request = typeof call.request === 'object' && call.request !== null ? call.request : {};
  const outside = shape ? fieldsOutsideShape(shape, request) : ['(no declared shape)'];
  if (outside.length === 0) return undefined;
  const fields = outside.join(', ');
  return {
    compliant: false,
    reason: `one of the responder's own roles sent ${call.eventName} for ${call.resourceId} with ${fields} outside what the responder ever sends: its role is being used by someone or something else, or its code was changed`,
    plan: `Nothing automatic (an own call is alerted, never undone): check ${call.resourceId} by hand, then find who used the role (the actor's session) and whether the function's code is the deployed one`,
    evidence: { ownCall: call.eventName, fieldsOutsideShape: outside.join(',') },
  };
}

/** Calls no read can judge against the deployment: the call itself, by anyone but the deploy role, is the drift. */
const JUDGED_BY_CALL_NAMES: ReadonlySet<string> = new Set(JUDGED_BY_CALL);

/** KMS's longest waiting period: the safest window to put back if a cancelled deletion must be redone. */
const LONGEST_KEY_DELETION_WINDOW_DAYS = 30;

type Drift = { reason: string; plan: string; evidence: Summary };

const KIND_WORDS: Readonly<Record<StackResourceType, string>> = {
  [StackResourceType.EventRule]: 'EventBridge rule',
  [StackResourceType.Function]: 'function',
  [StackResourceType.ConfigRule]: 'Config rule',
  [StackResourceType.Topic]: 'alert topic',
  [StackResourceType.Subscription]: 'alert subscription',
  [StackResourceType.Table]: 'incident table',
  [StackResourceType.Key]: 'stack key',
  [StackResourceType.Role]: 'role',
  [StackResourceType.Alarm]: 'alarm',
  [StackResourceType.LogGroup]: 'log group',
  [StackResourceType.Trail]: 'trail',
  [StackResourceType.Recorder]: 'Config recorder',
  [StackResourceType.BusPolicy]: 'default event bus',
};

/** Why a gone (or unreadable) resource matters, and what on-call does about it (nothing is recreated automatically). */
function goneDrift(resource: Loaded<StackResourceState>, settings: Settings): Drift {
  const { state } = resource;
  const what = `the responder's ${KIND_WORDS[state.type]} ${resource.resourceId}`;
  const evidence = { resourceType: state.type, exists: false };
  if (!state.exists && state.refused) {
    return {
      reason: `${what} could not be read (${state.refused}): ${state.changedBy ?? 'a call'} changed it and the responder can neither check nor restore it`,
      plan: 'Nothing automatic: check the resource by hand and find what refuses the responder (an SCP, a boundary, a changed role)',
      evidence: { resourceType: state.type, readRefused: true },
    };
  }
  switch (state.type) {
    case StackResourceType.Subscription:
      return {
        reason: `${what} was removed: that subscriber no longer receives compliance alerts`,
        plan: 'Nothing automatic: subscribe the endpoint again and confirm it with authenticate-on-unsubscribe',
        evidence,
      };
    case StackResourceType.Key:
      return {
        reason: `${stackKeyAlias(settings)} names no key: the key that encrypts incidents and alerts cannot be checked`,
        plan: 'Nothing automatic: restore the alias to the retained stack key and check the key is enabled',
        evidence,
      };
    case StackResourceType.Trail:
    case StackResourceType.Recorder:
      return {
        reason: `the ${KIND_WORDS[state.type]} ${resource.resourceId} no longer exists`,
        plan: 'Nothing automatic: cloudtrail-logging-on and config-recorder-on own trails and recorders',
        evidence,
      };
    default:
      return {
        reason: `${what} was deleted: the responder is partly blind or silent until the stack is redeployed`,
        plan: 'Nothing automatic: redeploy the stack (serverless deploy) to recreate it',
        evidence,
      };
  }
}

type FunctionState = Extract<StackResourceState, { type: typeof StackResourceType.Function; exists: true }>;

function functionDrift(name: string, state: FunctionState): Drift | undefined {
  const configuration = configurationProblem(state.changes);
  const stopped = state.reservedConcurrency === 0;
  const permissions =
    state.changedBy &&
    `had its resource policy changed by ${state.changedBy} outside a deployment: the triggers that lost their permission can no longer invoke it`;
  if (!configuration && !stopped && !permissions) return undefined;
  const problems = [
    configuration,
    stopped && 'has reserved concurrency 0: it cannot run at all',
    permissions,
  ].filter(Boolean);
  const restore = `DeleteFunctionConcurrency ${name} (the next deploy restores the stack's reserved concurrency)`;
  const redeploy =
    'Nothing automatic (the responder holds no power to rewrite functions, grant invocations or pass roles): redeploy the stack (serverless deploy)';
  return {
    reason: `the responder's function ${name} ${problems.join(' and ')}`,
    plan: [stopped && restore, (configuration || permissions) && redeploy].filter(Boolean).join('; '),
    evidence: {
      resourceType: state.type,
      exists: true,
      ...(stopped && { reservedConcurrency: 0 }),
      ...(configuration && (state.changes ? changesEvidence(state.changes) : { deployedVersion: false })),
      ...(state.changedBy && { changedBy: state.changedBy }),
    },
  };
}

/** A change judged by its call (roles, key policy, retention): who made it is in the incident's actor. */
const changedByDrift = (reason: string, plan: string, evidence: Summary): Drift => ({
  reason,
  plan,
  evidence,
});

/** The protective state each kind of resource must keep; undefined when it keeps it. */
function stateDrift(resource: Loaded<StackResourceState>, settings: Settings): Drift | undefined {
  const { state, resourceId } = resource;
  if (!state.exists) return goneDrift(resource, settings);
  switch (state.type) {
    case StackResourceType.EventRule: {
      if (state.enabled && state.targetCount > 0) return undefined;
      const problems = [!state.enabled && 'is disabled', state.targetCount === 0 && 'has no targets'].filter(
        Boolean,
      );
      return {
        reason: `the responder's EventBridge rule ${resourceId} ${problems.join(' and ')}: the events it routes no longer reach the responder`,
        plan: state.enabled
          ? 'Nothing automatic: redeploy the stack to restore its targets'
          : `EnableRule ${resourceId}`,
        evidence: {
          resourceType: state.type,
          exists: true,
          enabled: state.enabled,
          targetCount: state.targetCount,
        },
      };
    }
    case StackResourceType.Function:
      return functionDrift(resourceId, state);
    case StackResourceType.ConfigRule:
      if (!state.ruleState.startsWith('DELETING')) return undefined;
      return {
        reason: `the responder's Config rule ${resourceId} is being deleted`,
        plan: 'Nothing automatic: redeploy the stack to recreate it',
        evidence: { resourceType: state.type, exists: true, ruleState: state.ruleState },
      };
    case StackResourceType.Topic:
      if (state.confirmedSubscriptions > 0) return undefined;
      return {
        reason: "the responder's alert topic has no confirmed subscription: compliance alerts reach nobody",
        plan: 'Nothing automatic: subscribe on-call and confirm with authenticate-on-unsubscribe',
        evidence: { resourceType: state.type, exists: true, confirmedSubscriptions: 0 },
      };
    case StackResourceType.Table:
      if (state.deletionProtection) return undefined;
      return {
        reason: `deletion protection is off on the incident table ${resourceId}: the system of record can be deleted`,
        plan: `UpdateTable ${resourceId} DeletionProtectionEnabled=true`,
        evidence: { resourceType: state.type, exists: true, deletionProtection: false },
      };
    case StackResourceType.Key:
      return keyDrift(resourceId, state);
    case StackResourceType.Subscription:
      if (!state.filterPolicy) return undefined;
      return {
        reason: `the alert subscription ${resourceId} has a filter policy: that subscriber receives only the alerts it matches`,
        plan: 'Nothing automatic: remove the filter policy (or confirm the deployment set it on purpose)',
        evidence: { resourceType: state.type, exists: true, filterPolicy: true },
      };
    case StackResourceType.Role:
      if (!state.changedBy) return undefined;
      return changedByDrift(
        `the responder's role ${resourceId} was changed by ${state.changedBy} outside a deployment: its powers are no longer the ones the template grants`,
        'Nothing automatic (the responder holds no IAM write power): compare the role with the template and redeploy',
        { resourceType: state.type, exists: true, changedBy: state.changedBy },
      );
    case StackResourceType.Alarm:
      if (state.actionsEnabled) return undefined;
      return {
        reason: `the responder's alarm ${resourceId} has its actions disabled: it can no longer page on-call`,
        plan: `EnableAlarmActions ${resourceId}`,
        evidence: { resourceType: state.type, exists: true, actionsEnabled: false },
      };
    case StackResourceType.LogGroup:
      if (!state.changedBy) return undefined;
      return changedByDrift(
        `the retention of the responder's log group ${resourceId} was changed by ${state.changedBy} outside a deployment`,
        'Nothing automatic: put back the logRetentionDays the stack was deployed with',
        {
          resourceType: state.type,
          exists: true,
          retentionInDays: state.retentionInDays,
          changedBy: state.changedBy,
        },
      );
    case StackResourceType.Trail:
      if (state.logsEveryManagementWrite) return undefined;
      return {
        reason: `the trail ${resourceId} no longer logs every management write event: the responder's event triggers are blind to the calls it drops`,
        plan: "Nothing automatic: restore the trail's event selectors (all management events, no excluded sources)",
        evidence: { resourceType: state.type, exists: true, logsEveryManagementWrite: false },
      };
    case StackResourceType.Recorder:
      if (state.recordsAll) return undefined;
      return {
        reason: `the Config recorder ${resourceId} no longer records every supported resource type: Config rules and the evidence they keep miss what it leaves out`,
        plan: 'Nothing automatic: record all supported resource types again',
        evidence: { resourceType: state.type, exists: true, recordsAll: false },
      };
    case StackResourceType.BusPolicy:
      return busPolicyDrift(state.statement, settings);
  }
}

type BusPolicyState = Extract<StackResourceState, { type: typeof StackResourceType.BusPolicy; exists: true }>;

/** Our statement is missing or not as deployed (what the restore answers). */
const ownStatementDrifted = (statement: BusPolicyState['statement']): boolean =>
  !statement.present || statement.differences.length > 0;

/**
 * What other statements on the bus do that ours cannot make up for: admit principals outside the
 * organisation, or deny PutEvents. Only ever reported: the responder never removes or rewrites a
 * statement it did not make.
 */
function otherStatementsDrift(
  statement: BusPolicyState['statement'],
  organisation: string,
): string | undefined {
  const { othersBeyondOrganisation: beyond, othersDenying: denying } = statement;
  const parts = [
    beyond.length > 0 &&
      `${namedStatements(beyond)} letting principals outside organisation ${organisation} put events (principal "*" without aws:PrincipalOrgID ${organisation}): any AWS account can send events to the bus, which match the responder's rules and use up its functions' concurrency`,
    denying.length > 0 &&
      `${namedStatements(denying)} denying events:PutEvents on the bus: member accounts' events can be refused, and show only hours later as silent members`,
  ].filter((part): part is string => typeof part === 'string');
  return parts.length > 0 ? parts.join('; and it has ') : undefined;
}

/** The statements named in evidence: the first five ids, as the words name them. */
const evidenceNames = (sids: readonly string[]): string => sids.slice(0, 5).join(',');

/**
 * The organisation statement differs from the deployed one, or is gone, or another statement admits
 * more than the organisation or denies its events: what it means, and the restore (ours only).
 */
function busPolicyDrift(statement: BusPolicyState['statement'], settings: Settings): Drift | undefined {
  const drifted = ownStatementDrifted(statement);
  const organisation = settings.organizationId ?? '(none)';
  const othersDrift = otherStatementsDrift(statement, organisation);
  if (!drifted && !othersDrift) return undefined;
  const sid = organisationStatementId(settings.stackName);
  const what = `the default event bus's statement ${sid} admitting organisation ${organisation}`;
  const effect =
    statement.present && statement.admitsOrganisation
      ? 'the bus admits more than the organisation'
      : "every member account's events are refused and only the hourly sweep reaches them";
  const others = statement.othersAdmittingEveryone;
  const ownReason = statement.present
    ? `${what} was changed (${statement.differences.join(', ')} not as deployed): ${effect}`
    : `${what} was removed: ${effect}`;
  const ownPlan =
    others.length > 0
      ? `Nothing automatic: statement ${others.join(', ')} also grants every principal, and putting ${sid} back by principal "*" could replace it; put ${sid} back by hand`
      : `PutPermission ${sid} (events:PutEvents, principal "*", aws:PrincipalOrgID ${organisation}) on the default bus; other statements are left as they are`;
  const flagged = [...new Set([...statement.othersBeyondOrganisation, ...statement.othersDenying])];
  const othersPlan = `nothing automatic for ${namedStatements(flagged)} (the responder never removes or rewrites a statement it did not make): review, and remove or narrow by hand`;
  const othersReason = `the default event bus's policy ${drifted ? 'also ' : ''}has ${othersDrift}`;
  return {
    reason: [drifted && ownReason, othersDrift && othersReason].filter(Boolean).join('; '),
    plan: drifted
      ? `${ownPlan}${othersDrift ? `, then ${othersPlan}` : ''}`
      : `${othersPlan.charAt(0).toUpperCase()}${othersPlan.slice(1)}`,
    evidence: {
      resourceType: StackResourceType.BusPolicy,
      exists: true,
      statement: !statement.present ? 'missing' : drifted ? 'changed' : 'intact',
      ...(statement.present &&
        drifted && {
          differences: statement.differences.join(','),
          admitsOrganisation: statement.admitsOrganisation,
        }),
      ...(drifted && others.length > 0 && { othersGrantingEveryone: others.length }),
      ...(statement.othersBeyondOrganisation.length > 0 && {
        othersBeyondOrganisation: evidenceNames(statement.othersBeyondOrganisation),
      }),
      ...(statement.othersDenying.length > 0 && { othersDenying: evidenceNames(statement.othersDenying) }),
    },
  };
}

/**
 * Puts the organisation statement back exactly as the stack deploys it, by statement id: EventBridge
 * replaces a statement of the same id, and other statements stay. Not when another statement also
 * grants every principal: EventBridge (and moto) may replace that one too (declineReason says so).
 */
async function restoreBusStatement(
  state: BusPolicyState,
  region: string,
  { aws, step, settings }: RemediationContext,
): Promise<void> {
  const { statement } = state;
  const drifted = ownStatementDrifted(statement);
  if (!drifted || statement.othersAdmittingEveryone.length > 0 || !settings.organizationId) return;
  const StatementId = organisationStatementId(settings.stackName);
  const input = {
    EventBusName: DEFAULT_BUS,
    StatementId,
    Action: 'events:PutEvents',
    Principal: '*',
    Condition: { Type: 'StringEquals', Key: 'aws:PrincipalOrgID', Value: settings.organizationId },
  };
  // IAM cannot limit PutPermission's fields: the shape refuses anything else (a whole Policy above all).
  const send = async () => {
    refuseOutsideShape(OwnCall.PutPermission, input);
    return aws.events(region).send(new PutPermissionCommand(input));
  };
  await step('PutPermission', send, {
    undo: {
      service: 'events',
      action: 'RemovePermission',
      input: { EventBusName: DEFAULT_BUS, StatementId, Region: region },
    },
  });
}

type KeyState = Extract<StackResourceState, { type: typeof StackResourceType.Key; exists: true }>;

function keyDrift(keyId: string, state: KeyState): Drift | undefined {
  const pending = state.keyState === 'PendingDeletion';
  const unusable = pending || state.keyState === 'Disabled';
  const problems = [
    unusable &&
      `is ${pending ? 'scheduled for deletion' : 'disabled'}: incidents, alerts, dead letters and function settings encrypted with it ${pending ? 'will become' : 'are'} unreadable`,
    state.rotation === false && 'no longer rotates',
    state.changedBy &&
      `was changed: its policy was replaced by ${state.changedBy} outside a deployment, so who may use or manage it is no longer what the template grants`,
  ].filter(Boolean);
  if (problems.length === 0) return undefined;
  const plan = [
    pending && 'CancelKeyDeletion',
    unusable && 'EnableKey',
    state.rotation === false && 'EnableKeyRotation',
    state.changedBy && 'compare the key policy with the template and redeploy (nothing automatic)',
  ].filter(Boolean);
  return {
    reason: `the stack key ${keyId} ${problems.join(' and ')}`,
    plan: `${plan.join(', then ')} (${keyId})`,
    evidence: {
      resourceType: state.type,
      exists: true,
      keyState: state.keyState,
      rotation: state.rotation,
      ...(state.changedBy && { changedBy: state.changedBy }),
    },
  };
}

/** Why the responder leaves a resource to a person: it can only restore settings, never recreate. */
function declineReason(resource: Loaded<StackResourceState>, settings: Settings): string | undefined {
  const { state, resourceId } = resource;
  if (!state.exists) {
    if (state.refused) {
      return `${KIND_WORDS[state.type]} ${resourceId} could not be read (${state.refused}); the responder cannot check or restore it: check it by hand and find what refuses the responder`;
    }
    switch (state.type) {
      case StackResourceType.Subscription:
        return `subscription ${resourceId} was removed; a subscription needs its endpoint's confirmation, so the responder cannot restore it: subscribe again and confirm with authenticate-on-unsubscribe`;
      case StackResourceType.Key:
        return `the stack key's alias is missing; restore the alias to the retained key (the responder does not guess which key it was)`;
      case StackResourceType.Table:
        return `the incident table ${resourceId} was deleted; restore it from its point-in-time recovery backup and redeploy`;
      case StackResourceType.Trail:
      case StackResourceType.Recorder:
        return `${KIND_WORDS[state.type]} ${resourceId} no longer exists; cloudtrail-logging-on and config-recorder-on page on that`;
      default:
        return `${KIND_WORDS[state.type]} ${resourceId} was deleted; redeploy the stack (serverless deploy) to recreate it`;
    }
  }
  switch (state.type) {
    case StackResourceType.Function: {
      const configuration = configurationProblem(state.changes);
      if (configuration) {
        return `function ${resourceId} ${configuration}; the responder holds no power to rewrite functions or pass roles: redeploy the stack (serverless deploy) after finding who changed it and why`;
      }
      if (state.changedBy) {
        return `function ${resourceId} had its resource policy changed by ${state.changedBy}; putting permissions back needs lambda:AddPermission, the power to let anyone invoke the responder, which it does not hold: redeploy the stack`;
      }
      return undefined;
    }
    case StackResourceType.EventRule:
      return state.targetCount === 0
        ? `EventBridge rule ${resourceId} has no targets; the responder does not re-add them: their definition (ids, retry and dead-letter settings, a forwarder's role, which needs iam:PassRole) is the template's, and events:PutTargets would be the power to send the responder's events elsewhere: redeploy the stack`
        : undefined;
    case StackResourceType.ConfigRule:
      return `Config rule ${resourceId} is being deleted; redeploy the stack to recreate it`;
    case StackResourceType.Topic:
      return 'the alert topic has no confirmed subscription; subscribe on-call and confirm with authenticate-on-unsubscribe';
    case StackResourceType.Subscription:
      return `subscription ${resourceId} has a filter policy; removing it needs sns:SetSubscriptionAttributes, and sns:SetSubscriptionAttributes is also the power to set one (to silence on-call), so the responder does not hold it: remove the filter, or have the deployment own it`;
    case StackResourceType.Key:
      return state.changedBy
        ? `the stack key's policy was replaced by ${state.changedBy}; putting it back needs kms:PutKeyPolicy, the power to take the key, which the responder does not hold: compare with the template and redeploy`
        : undefined;
    case StackResourceType.Role:
      return `role ${resourceId} was changed by ${state.changedBy ?? 'a call'}; the responder holds no IAM write power (it could otherwise grant itself anything): compare the role with the template and redeploy`;
    case StackResourceType.LogGroup:
      return `log group ${resourceId} retention was changed by ${state.changedBy ?? 'a call'}; the responder holds no logs write power: put back the stack's logRetentionDays (redeploy) and check no log events were lost`;
    case StackResourceType.Trail:
      return `trail ${resourceId} no longer logs every management write; the responder holds no cloudtrail:PutEventSelectors (the selectors are the account's, not the stack's): restore them by hand`;
    case StackResourceType.Recorder:
      return `Config recorder ${resourceId} was narrowed; the responder holds no config:PutConfigurationRecorder (it would need iam:PassRole for the recorder's role): restore the recording group by hand`;
    case StackResourceType.BusPolicy: {
      const { statement } = state;
      const others = statement.othersAdmittingEveryone;
      const notRestored =
        ownStatementDrifted(statement) && others.length > 0
          ? `the default event bus's organisation statement is not as deployed, and statement ${others.join(', ')} also grants every principal; EventBridge may replace a statement of the same principal when one is put, so the responder changes nothing (nothing destroyed): put the organisation statement back by hand (redeploy) and review ${others.join(', ')}`
          : undefined;
      // Alert only: removing or rewriting someone else's statement would destroy what the responder did not make.
      const problem = otherStatementsProblem(statement, settings.organizationId ?? '(none)');
      const othersLeft = problem
        ? `${problem}; the responder never removes or rewrites a statement it did not make: review, and remove or narrow it by hand`
        : undefined;
      const reasons = [notRestored, othersLeft].filter((reason): reason is string => reason !== undefined);
      return reasons.length > 0 ? reasons.join('; ') : undefined;
    }
    default:
      return undefined;
  }
}

/** Restores what can be restored without recreating anything; every change with its exact undo. */
async function restore(resource: Loaded<StackResourceState>, context: RemediationContext): Promise<void> {
  const { aws, step } = context;
  const { state, resourceId: id, region } = resource;
  if (!state.exists) return;
  switch (state.type) {
    case StackResourceType.EventRule:
      if (!state.enabled) {
        await step('EnableRule', () => aws.events(region).send(new EnableRuleCommand({ Name: id })), {
          undo: { service: 'events', action: 'DisableRule', input: { Name: id, Region: region } },
        });
      }
      return;
    case StackResourceType.Function:
      if (state.reservedConcurrency === 0) {
        await step(
          'DeleteFunctionConcurrency',
          () => aws.lambda(region).send(new DeleteFunctionConcurrencyCommand({ FunctionName: id })),
          {
            undo: {
              service: 'lambda',
              action: 'PutFunctionConcurrency',
              input: { FunctionName: id, ReservedConcurrentExecutions: 0, Region: region },
            },
          },
        );
      }
      return;
    case StackResourceType.Table:
      if (!state.deletionProtection) {
        const input = { TableName: id, DeletionProtectionEnabled: true };
        // IAM cannot limit UpdateTable's fields: the shape refuses anything but protection on.
        const send = async () => {
          refuseOutsideShape(OwnCall.UpdateTable, input);
          return aws.dynamodbControl(region).send(new UpdateTableCommand(input));
        };
        await step('UpdateTable', send, {
          undo: {
            service: 'dynamodb',
            action: 'UpdateTable',
            input: { TableName: id, DeletionProtectionEnabled: false, Region: region },
          },
        });
      }
      return;
    case StackResourceType.Key: {
      // By key id, not ARN: moto 5.2.1 fails EnableKey and ScheduleKeyDeletion given an ARN.
      const kms = aws.kms(region);
      // A cancelled deletion leaves the key disabled: cancel first, then enable (the reverse fails).
      if (state.keyState === 'PendingDeletion') {
        await step(
          'CancelKeyDeletion',
          () => kms.send(new CancelKeyDeletionCommand({ KeyId: state.keyId })),
          {
            undo: {
              service: 'kms',
              action: 'ScheduleKeyDeletion',
              input: {
                KeyId: state.keyId,
                PendingWindowInDays: LONGEST_KEY_DELETION_WINDOW_DAYS,
                Region: region,
              },
            },
          },
        );
      }
      if (state.keyState === 'PendingDeletion' || state.keyState === 'Disabled') {
        await step('EnableKey', () => kms.send(new EnableKeyCommand({ KeyId: state.keyId })), {
          undo: { service: 'kms', action: 'DisableKey', input: { KeyId: state.keyId, Region: region } },
        });
      }
      if (state.rotation === false) {
        await step(
          'EnableKeyRotation',
          () => kms.send(new EnableKeyRotationCommand({ KeyId: state.keyId })),
          {
            undo: {
              service: 'kms',
              action: 'DisableKeyRotation',
              input: { KeyId: state.keyId, Region: region },
            },
          },
        );
      }
      return;
    }
    case StackResourceType.BusPolicy:
      await restoreBusStatement(state, region, context);
      return;
    case StackResourceType.Alarm:
      if (!state.actionsEnabled) {
        await step(
          'EnableAlarmActions',
          () => aws.cloudwatch(region).send(new EnableAlarmActionsCommand({ AlarmNames: [id] })),
          {
            undo: {
              service: 'cloudwatch',
              action: 'DisableAlarmActions',
              input: { AlarmNames: [id], Region: region },
            },
          },
        );
      }
      return;
    default:
      return;
  }
}

export const selfProtection = defineRule<StackResourceState>({
  id: 'self-protection',
  title: "The responder's own stack was changed",
  severity: Severity.Critical,
  hipaa: ['164.312(b)', '164.308(a)(1)(ii)(D)'],
  runbook: 'docs/runbooks/self-protection.md',
  readme: {
    enforce:
      "pages (CRITICAL, naming the actor) on a change to the responder's own rules, functions, Config rules, alert topic, incident table or key by anyone but its deploy role; compares each function's environment (variable names, never values), role, layers and code with the version its deployment published, so `MODE_*=off` or an added loop-guard role set outside a deploy pages (never rewritten: it holds no power to); also pages on silencing by configuration: function permissions, its roles' policies and boundaries, the key policy, an alert-subscription filter policy, deleted alarms, log retention, trail event selectors without management writes, a narrowed Config recorder, and a function role's own `UpdateTrail`, `UpdateSSHPublicKey` or `UpdateTable` beyond what the responder sends (alert only, the loop guard's one exception); re-enables rules, the key, key rotation and alarm actions, cancels key deletion, removes a 0 reserved concurrency, turns table deletion protection back on; in an organisation deployment, puts back the default bus's statement admitting the organisation when `PutPermission` or `RemovePermission` removed, narrowed or widened it (other statements left as they are), and pages, alert only, when another statement there lets principal `*` put events without the organisation's condition or denies `events:PutEvents`; deletions and the rest are alert-only",
  },
  defaultMode: Mode.Enforce,
  // The protected unit; each incident names the exact resource type (AWS::Events::Rule, ...).
  resourceType: 'AWS::CloudFormation::Stack',
  // An exemption would be a way around the responder's own protection.
  neverExempt: "the responder's own stack cannot be exempted: change it through its deploy role",
  homeStackOnly:
    "it watches the home stack's functions, table, topic, key and (organisation) the bus statement admitting members; member stacks are kept in place by service control policies (docs/organisation.md)",
  triggers: {
    cloudTrail: {
      // These calls come from eleven services: each maps by its own (shared/resources/stack-resource.ts).
      eventNames: SELF_PROTECTION_EVENTS.map((event) => event.eventName),
      filters: STACK_RESOURCE_FILTERS,
    },
    schedule: 'rate(1 hour)',
    // Its rules, functions and records live in the home region, and its role reaches only there.
    sweepScope: 'home-region',
  },
  // Its deploy role changes the stack on purpose; anyone else is paged.
  trustedRoleArns: (settings) => settings.deployRoleArns,
  // deployment: organisation - the default bus's statement admitting the organisation: routed, read
  // and put back there only; a single account's stack has neither the pattern nor the permission.
  organisation: {
    cloudTrail: [ORGANISATION_BUS_FILTER],
    permissions: [
      {
        sid: 'TheOrganisationsBusStatement',
        actions: ['events:DescribeEventBus', 'events:PutPermission'],
        resources: [DEFAULT_BUS_ARN],
        why: 'Reads the default bus policy and puts back its organisation statement; never RemovePermission.',
      },
    ],
  },
  // The loop guard's one exception: what IAM cannot limit in the responder's own calls.
  ownCalls: {
    eventNames: Object.values(OwnCall).map((shape) => shape.eventName),
    judge: ownCallOutsideShape,
  },
  permissions: [
    {
      sid: 'Listing',
      actions: [
        'events:ListRules',
        'lambda:ListFunctions',
        'config:DescribeConfigRules',
        'config:DescribeConfigurationRecorders',
        'sns:GetSubscriptionAttributes',
        'cloudwatch:DescribeAlarms',
        'logs:DescribeLogGroups',
      ],
      why: 'No resource-level permissions for these reads.',
    },
    {
      sid: 'StackRules',
      actions: ['events:DescribeRule', 'events:ListTargetsByRule', 'events:EnableRule'],
      resources: [`arn:${Stack.partition}:events:*:${Stack.accountId}:rule/${Stack.name}-*`],
      why: "Any region: a forwarder stack's rules (<stack>-forward-*) are read and re-enabled where they live.",
    },
    {
      sid: 'StackFunctions',
      actions: [
        'lambda:GetFunctionConfiguration',
        'lambda:ListVersionsByFunction',
        'lambda:GetFunctionConcurrency',
        'lambda:DeleteFunctionConcurrency',
      ],
      resources: [
        `arn:${Stack.partition}:lambda:${Stack.region}:${Stack.accountId}:function:${Stack.name}-*`,
      ],
      why: 'Reads the configuration and the published versions; never UpdateFunctionConfiguration or iam:PassRole.',
    },
    {
      sid: 'AlertTopic',
      actions: ['sns:GetTopicAttributes', 'sns:ListSubscriptionsByTopic'],
      resources: [Stack.ref('AlertTopic')],
    },
    {
      sid: 'IncidentTable',
      actions: ['dynamodb:DescribeTable', 'dynamodb:UpdateTable'],
      resources: [Stack.arn('IncidentTable')],
    },
    {
      sid: 'StackKey',
      actions: [
        'kms:DescribeKey',
        'kms:EnableKey',
        'kms:CancelKeyDeletion',
        'kms:GetKeyRotationStatus',
        'kms:EnableKeyRotation',
      ],
      resources: [Stack.arn('ResponderKey')],
    },
    {
      sid: 'StackRoles',
      actions: ['iam:GetRole'],
      resources: [`arn:${Stack.partition}:iam::${Stack.accountId}:role/${Stack.name}-*`],
      why: 'Read only: the responder holds no IAM write power (it pages on changes to its roles).',
    },
    {
      sid: 'StackAlarms',
      actions: ['cloudwatch:EnableAlarmActions'],
      resources: [`arn:${Stack.partition}:cloudwatch:*:${Stack.accountId}:alarm:${Stack.name}-*`],
      why: "Any region: a forwarder stack's alarms are re-enabled where they live.",
    },
    {
      sid: 'TrailSelectors',
      actions: ['cloudtrail:GetEventSelectors'],
      resources: [`arn:${Stack.partition}:cloudtrail:*:${Stack.accountId}:trail/*`],
      why: 'Read only, any trail in any region (a trail is read in its home region).',
    },
  ],

  async load(ref, aws, settings) {
    const changedBy = ref.eventName && JUDGED_BY_CALL_NAMES.has(ref.eventName) ? ref.eventName : undefined;
    return readStackResource(ref, aws, settings, changedBy);
  },

  list(scope, aws, settings) {
    return listStackResources(scope, aws, settings);
  },

  detect(resource, settings) {
    const drift = stateDrift(resource, settings);
    return drift ? { compliant: false, ...drift } : { compliant: true };
  },

  async remediate(resource, _finding: Finding, context) {
    await restore(resource, context);
    const declined = declineReason(resource, context.settings);
    if (declined) throw new RemediationDeclined(declined);
  },
});
