import { idString, parseWith, scalarAt } from '../triggers/parse';
import * as z from '../zod';
import { RECORDER } from './recorder';
import {
  type CallFacts,
  type CallMapping,
  type ResourceType,
  requestParameter,
  sameMapping,
} from './resource-type';
import { TRAIL } from './trail';

/**
 * The responder's own resources: functions, the rules that trigger them, the table, key, roles,
 * topic, alarms, log groups and Config rules. Each call names its service, since names repeat
 * across services (DeleteRule, UpdateTable). None has an ARN pattern: no exemption may silence
 * what protects the responder itself.
 */

/** The kinds of resource the responder guards of its own stack, and what its triggers stand on. */
export const StackResourceType = {
  EventRule: 'AWS::Events::Rule',
  Function: 'AWS::Lambda::Function',
  ConfigRule: 'AWS::Config::ConfigRule',
  Topic: 'AWS::SNS::Topic',
  Subscription: 'AWS::SNS::Subscription',
  Table: 'AWS::DynamoDB::Table',
  Key: 'AWS::KMS::Key',
  Role: 'AWS::IAM::Role',
  Alarm: 'AWS::CloudWatch::Alarm',
  LogGroup: 'AWS::Logs::LogGroup',
  /** deployment: organisation - the default bus's statement admitting the organisation. */
  BusPolicy: 'AWS::Events::EventBusPolicy',
  // Not the stack's own, but what its triggers stand on: any trail's selectors, the account's recorder.
  Trail: TRAIL,
  Recorder: RECORDER,
} as const;
export type StackResourceType = (typeof StackResourceType)[keyof typeof StackResourceType];

const named = (
  eventSource: string,
  idField: string,
  facts?: (record: unknown) => CallFacts,
): CallMapping => ({
  eventSource,
  resourceIds: requestParameter(idField),
  facts,
});

export const eventRule: ResourceType = {
  type: StackResourceType.EventRule,
  calls: {
    ...sameMapping(['DisableRule', 'DeleteRule', 'PutRule'], named('events.amazonaws.com', 'name')),
    ...sameMapping(['RemoveTargets', 'PutTargets'], named('events.amazonaws.com', 'rule')),
  },
};

export const lambdaFunction: ResourceType = {
  type: StackResourceType.Function,
  // Lambda logs its calls with the API version appended; both spellings are listed. The request's
  // environment is never read: its values may be secrets (CloudTrail hides them too).
  calls: sameMapping(
    [
      'DeleteFunction20150331',
      'DeleteFunction',
      'PutFunctionConcurrency20171031',
      'PutFunctionConcurrency',
      'UpdateFunctionConfiguration20150331v2',
      'UpdateFunctionConfiguration',
      'UpdateFunctionCode20150331v2',
      'UpdateFunctionCode',
      'AddPermission20150331v2',
      'AddPermission',
      'RemovePermission20150331v2',
      'RemovePermission',
    ],
    named('lambda.amazonaws.com', 'functionName', (record) => ({
      reservedConcurrentExecutions: scalarAt(record, 'requestParameters', 'reservedConcurrentExecutions'),
    })),
  ),
};

export const table: ResourceType = {
  type: StackResourceType.Table,
  calls: sameMapping(
    ['UpdateTable', 'DeleteTable'],
    named('dynamodb.amazonaws.com', 'tableName', (record) => ({
      deletionProtectionEnabled: scalarAt(record, 'requestParameters', 'deletionProtectionEnabled'),
    })),
  ),
};

// Request values that may be policies (a filter policy, a key or role policy document) are never
// read: only which attribute or policy changed.
export const key: ResourceType = {
  type: StackResourceType.Key,
  calls: sameMapping(
    ['DisableKey', 'ScheduleKeyDeletion', 'PutKeyPolicy', 'DisableKeyRotation'],
    named('kms.amazonaws.com', 'keyId', (record) => ({
      pendingWindowInDays: scalarAt(record, 'requestParameters', 'pendingWindowInDays'),
    })),
  ),
};

export const role: ResourceType = {
  type: StackResourceType.Role,
  calls: sameMapping(
    [
      'PutRolePolicy',
      'DeleteRolePolicy',
      'AttachRolePolicy',
      'DetachRolePolicy',
      'UpdateAssumeRolePolicy',
      'PutRolePermissionsBoundary',
      'DeleteRolePermissionsBoundary',
    ],
    named('iam.amazonaws.com', 'roleName', (record) => ({
      policyName: scalarAt(record, 'requestParameters', 'policyName'),
      policyArn: scalarAt(record, 'requestParameters', 'policyArn'),
    })),
  ),
};

export const logGroup: ResourceType = {
  type: StackResourceType.LogGroup,
  calls: sameMapping(
    ['PutRetentionPolicy', 'DeleteRetentionPolicy'],
    named('logs.amazonaws.com', 'logGroupName', (record) => ({
      retentionInDays: scalarAt(record, 'requestParameters', 'retentionInDays'),
    })),
  ),
};

const alarmNamesInRequest = z.object({
  requestParameters: z.object({ alarmNames: z.array(idString).check(z.minLength(1), z.maxLength(100)) }),
});

export const alarm: ResourceType = {
  type: StackResourceType.Alarm,
  // DisableAlarmActions and DeleteAlarms name up to 100 alarms: each is its own observation.
  calls: sameMapping(['DisableAlarmActions', 'DeleteAlarms'], {
    eventSource: 'monitoring.amazonaws.com',
    resourceIds: (record, prefix) => [
      ...new Set(parseWith(alarmNamesInRequest, record, prefix).requestParameters.alarmNames),
    ],
  }),
};

export const configRule: ResourceType = {
  type: StackResourceType.ConfigRule,
  calls: { DeleteConfigRule: named('config.amazonaws.com', 'configRuleName') },
};

export const topic: ResourceType = {
  type: StackResourceType.Topic,
  calls: { DeleteTopic: named('sns.amazonaws.com', 'topicArn') },
};

export const subscription: ResourceType = {
  type: StackResourceType.Subscription,
  calls: {
    Unsubscribe: named('sns.amazonaws.com', 'subscriptionArn'),
    SetSubscriptionAttributes: named('sns.amazonaws.com', 'subscriptionArn', (record) => ({
      attributeName: scalarAt(record, 'requestParameters', 'attributeName'),
    })),
  },
};

const busPolicyRequest = z.object({
  requestParameters: z.optional(z.nullable(z.object({ eventBusName: z.optional(z.nullable(idString)) }))),
});

/**
 * deployment: organisation - the statement admitting the organisation on the default bus. EventBridge
 * names the bus by name or ARN, and the default bus when none is given; Lambda's RemovePermission
 * shares the name, told apart by its service. The policy a request carries is never read: only
 * which statement it named, and whether it replaced the policy whole.
 */
export const eventBusPolicy: ResourceType = {
  type: StackResourceType.BusPolicy,
  calls: sameMapping(['PutPermission', 'RemovePermission'], {
    eventSource: 'events.amazonaws.com',
    resourceIds: (record, prefix) => {
      const named = parseWith(busPolicyRequest, record, prefix).requestParameters?.eventBusName;
      return [named ? (/:event-bus\/(.+)$/.exec(named)?.[1] ?? named) : 'default'];
    },
    facts: (record) => ({
      statementId: scalarAt(record, 'requestParameters', 'statementId'),
      removeAllPermissions: scalarAt(record, 'requestParameters', 'removeAllPermissions'),
      policyReplaced: scalarAt(record, 'requestParameters', 'policy') !== undefined ? true : undefined,
    }),
  }),
};

/** The stack's own resource types: every call on them is watched. */
export const stackResourceTypes: readonly ResourceType[] = [
  eventRule,
  lambdaFunction,
  table,
  key,
  role,
  logGroup,
  alarm,
  configRule,
  topic,
  subscription,
];
