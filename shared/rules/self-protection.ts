import { UpdateTableCommand } from '@aws-sdk/client-dynamodb';
import { EnableRuleCommand } from '@aws-sdk/client-eventbridge';
import { CancelKeyDeletionCommand, EnableKeyCommand } from '@aws-sdk/client-kms';
import { DeleteFunctionConcurrencyCommand } from '@aws-sdk/client-lambda';
import type { Settings } from '../config';
import { RemediationDeclined } from '../errors';
import { Mode, Severity, type Summary } from '../model';
import { changesEvidence, configurationProblem } from './function-configuration';
import { defineRule, type Finding, type Loaded, type RemediationContext } from './rule';
import {
  listStackResources,
  readStackResource,
  type StackResourceState,
  StackResourceType,
  stackKeyAlias,
} from './stack-resources';

/**
 * Self-protection: the CloudTrail calls that would blind, silence or disarm the responder, on its
 * own resources. Each row is also the mapping the CloudTrail adapter needs (eventName → resource
 * type, and the request field holding the id), and what the EventBridge patterns route.
 * Lambda logs its calls with the API version appended; both spellings are listed.
 */
export const SELF_PROTECTION_EVENTS = [
  {
    eventSource: 'events.amazonaws.com',
    eventName: 'DisableRule',
    resourceType: StackResourceType.EventRule,
    idField: 'name',
  },
  {
    eventSource: 'events.amazonaws.com',
    eventName: 'DeleteRule',
    resourceType: StackResourceType.EventRule,
    idField: 'name',
  },
  {
    eventSource: 'events.amazonaws.com',
    eventName: 'RemoveTargets',
    resourceType: StackResourceType.EventRule,
    idField: 'rule',
  },
  // PutRule can disable a rule (State: DISABLED) and PutTargets replace its targets: the rule's
  // state is judged again after either.
  {
    eventSource: 'events.amazonaws.com',
    eventName: 'PutRule',
    resourceType: StackResourceType.EventRule,
    idField: 'name',
  },
  {
    eventSource: 'events.amazonaws.com',
    eventName: 'PutTargets',
    resourceType: StackResourceType.EventRule,
    idField: 'rule',
  },
  {
    eventSource: 'lambda.amazonaws.com',
    eventName: 'DeleteFunction20150331',
    resourceType: StackResourceType.Function,
    idField: 'functionName',
  },
  {
    eventSource: 'lambda.amazonaws.com',
    eventName: 'DeleteFunction',
    resourceType: StackResourceType.Function,
    idField: 'functionName',
  },
  {
    eventSource: 'lambda.amazonaws.com',
    eventName: 'PutFunctionConcurrency20171031',
    resourceType: StackResourceType.Function,
    idField: 'functionName',
  },
  {
    eventSource: 'lambda.amazonaws.com',
    eventName: 'PutFunctionConcurrency',
    resourceType: StackResourceType.Function,
    idField: 'functionName',
  },
  ...[
    'UpdateFunctionConfiguration20150331v2',
    'UpdateFunctionConfiguration',
    'UpdateFunctionCode20150331v2',
    'UpdateFunctionCode',
  ].map(
    (eventName) =>
      ({
        eventSource: 'lambda.amazonaws.com',
        eventName,
        resourceType: StackResourceType.Function,
        idField: 'functionName',
      }) as const,
  ),
  {
    eventSource: 'config.amazonaws.com',
    eventName: 'DeleteConfigRule',
    resourceType: StackResourceType.ConfigRule,
    idField: 'configRuleName',
  },
  {
    eventSource: 'sns.amazonaws.com',
    eventName: 'DeleteTopic',
    resourceType: StackResourceType.Topic,
    idField: 'topicArn',
  },
  {
    eventSource: 'sns.amazonaws.com',
    eventName: 'Unsubscribe',
    resourceType: StackResourceType.Subscription,
    idField: 'subscriptionArn',
  },
  {
    eventSource: 'dynamodb.amazonaws.com',
    eventName: 'UpdateTable',
    resourceType: StackResourceType.Table,
    idField: 'tableName',
  },
  {
    eventSource: 'dynamodb.amazonaws.com',
    eventName: 'DeleteTable',
    resourceType: StackResourceType.Table,
    idField: 'tableName',
  },
  {
    eventSource: 'kms.amazonaws.com',
    eventName: 'DisableKey',
    resourceType: StackResourceType.Key,
    idField: 'keyId',
  },
  {
    eventSource: 'kms.amazonaws.com',
    eventName: 'ScheduleKeyDeletion',
    resourceType: StackResourceType.Key,
    idField: 'keyId',
  },
] as const;

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
};

/** Why a gone resource matters, and what on-call does about it (nothing is recreated automatically). */
function goneDrift(resource: Loaded<StackResourceState>, settings: Settings): Drift {
  const what = `the responder's ${KIND_WORDS[resource.state.type]} ${resource.resourceId}`;
  const evidence = { resourceType: resource.state.type, exists: false };
  switch (resource.state.type) {
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
  if (!configuration && !stopped) return undefined;
  const problems = [configuration, stopped && 'has reserved concurrency 0: it cannot run at all'].filter(
    Boolean,
  );
  const restore = `DeleteFunctionConcurrency ${name} (the next deploy restores the stack's reserved concurrency)`;
  const redeploy =
    'Nothing automatic (the responder holds no power to rewrite functions or pass roles): redeploy the stack (serverless deploy)';
  return {
    reason: `the responder's function ${name} ${problems.join(' and ')}`,
    plan: [stopped && restore, configuration && redeploy].filter(Boolean).join('; '),
    evidence: {
      resourceType: state.type,
      exists: true,
      ...(stopped && { reservedConcurrency: 0 }),
      ...(configuration && (state.changes ? changesEvidence(state.changes) : { deployedVersion: false })),
    },
  };
}

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
    case StackResourceType.Subscription:
      return undefined;
    case StackResourceType.Table:
      if (state.deletionProtection) return undefined;
      return {
        reason: `deletion protection is off on the incident table ${resourceId}: the system of record can be deleted`,
        plan: `UpdateTable ${resourceId} DeletionProtectionEnabled=true`,
        evidence: { resourceType: state.type, exists: true, deletionProtection: false },
      };
    case StackResourceType.Key: {
      if (state.keyState !== 'Disabled' && state.keyState !== 'PendingDeletion') return undefined;
      const pending = state.keyState === 'PendingDeletion';
      return {
        reason: `the stack key ${resourceId} is ${pending ? 'scheduled for deletion' : 'disabled'}: incidents, alerts, dead letters and function settings encrypted with it ${pending ? 'will become' : 'are'} unreadable`,
        plan: pending ? `CancelKeyDeletion then EnableKey ${resourceId}` : `EnableKey ${resourceId}`,
        evidence: { resourceType: state.type, exists: true, keyState: state.keyState },
      };
    }
  }
}

/** Why the responder leaves a resource to a person: it can only restore settings, never recreate. */
function declineReason(resource: Loaded<StackResourceState>): string | undefined {
  const { state, resourceId } = resource;
  if (!state.exists) {
    switch (state.type) {
      case StackResourceType.Subscription:
        return `subscription ${resourceId} was removed; a subscription needs its endpoint's confirmation, so the responder cannot restore it: subscribe again and confirm with authenticate-on-unsubscribe`;
      case StackResourceType.Key:
        return `the stack key's alias is missing; restore the alias to the retained key (the responder does not guess which key it was)`;
      case StackResourceType.Table:
        return `the incident table ${resourceId} was deleted; restore it from its point-in-time recovery backup and redeploy`;
      default:
        return `${KIND_WORDS[state.type]} ${resourceId} was deleted; redeploy the stack (serverless deploy) to recreate it`;
    }
  }
  const configuration = state.type === StackResourceType.Function && configurationProblem(state.changes);
  if (configuration) {
    return `function ${resourceId} ${configuration}; the responder holds no power to rewrite functions or pass roles: redeploy the stack (serverless deploy) after finding who changed it and why`;
  }
  if (state.type === StackResourceType.EventRule && state.targetCount === 0) {
    return `EventBridge rule ${resourceId} has no targets; the responder does not re-add them (their ids and inputs are the template's): redeploy the stack`;
  }
  if (state.type === StackResourceType.ConfigRule) {
    return `Config rule ${resourceId} is being deleted; redeploy the stack to recreate it`;
  }
  if (state.type === StackResourceType.Topic) {
    return 'the alert topic has no confirmed subscription; subscribe on-call and confirm with authenticate-on-unsubscribe';
  }
  return undefined;
}

/** Restores what can be restored without recreating anything; every change with its exact undo. */
async function restore(
  resource: Loaded<StackResourceState>,
  { aws, step }: RemediationContext,
): Promise<void> {
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
        await step(
          'UpdateTable',
          () =>
            aws
              .dynamodbControl(region)
              .send(new UpdateTableCommand({ TableName: id, DeletionProtectionEnabled: true })),
          {
            undo: {
              service: 'dynamodb',
              action: 'UpdateTable',
              input: { TableName: id, DeletionProtectionEnabled: false, Region: region },
            },
          },
        );
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
      return;
    }
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
  defaultMode: Mode.Enforce,
  // The protected unit; each incident names the exact resource type (AWS::Events::Rule, ...).
  resourceType: 'AWS::CloudFormation::Stack',
  triggers: {
    cloudTrail: {
      // Triggers.cloudTrail holds one eventSource; these calls come from six services, listed in
      // SELF_PROTECTION_EVENTS. The pipeline routes by eventName.
      eventSource: SELF_PROTECTION_EVENTS[0].eventSource,
      eventNames: SELF_PROTECTION_EVENTS.map((event) => event.eventName),
    },
    schedule: 'rate(1 hour)',
    // Its rules, functions and records live in the home region, and its role reaches only there.
    sweepScope: 'home-region',
  },
  // Its deploy role changes the stack on purpose; anyone else is paged.
  trustedRoleArns: (settings) => settings.deployRoleArns,
  permissions: [
    'events:DescribeRule',
    'events:ListRules',
    'events:ListTargetsByRule',
    'events:EnableRule',
    'lambda:ListFunctions',
    'lambda:GetFunctionConfiguration',
    'lambda:ListVersionsByFunction',
    'lambda:GetFunctionConcurrency',
    'lambda:DeleteFunctionConcurrency',
    'config:DescribeConfigRules',
    'sns:GetTopicAttributes',
    'sns:ListSubscriptionsByTopic',
    'sns:GetSubscriptionAttributes',
    'dynamodb:DescribeTable',
    'dynamodb:UpdateTable',
    'kms:DescribeKey',
    'kms:CancelKeyDeletion',
    'kms:EnableKey',
  ],

  async load(ref, aws, settings) {
    return readStackResource(ref, aws, settings);
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
    const declined = declineReason(resource);
    if (declined) throw new RemediationDeclined(declined);
  },
});
