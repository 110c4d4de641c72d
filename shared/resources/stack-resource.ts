import { z } from 'zod';
import { idString, parseWith, scalarAt } from '../triggers/parse';
import {
  type CallFacts,
  type CallMapping,
  type ResourceType,
  requestParameter,
  sameMapping,
} from './resource-type';

/**
 * The responder's own resources: functions, the rules that trigger them, the table, key, roles,
 * topic, alarms, log groups and Config rules. Each call names its service, since names repeat
 * across services (DeleteRule, UpdateTable). None has an ARN pattern: no exemption may silence
 * what protects the responder itself.
 */

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
  type: 'AWS::Events::Rule',
  calls: {
    ...sameMapping(['DisableRule', 'DeleteRule', 'PutRule'], named('events.amazonaws.com', 'name')),
    ...sameMapping(['RemoveTargets', 'PutTargets'], named('events.amazonaws.com', 'rule')),
  },
};

export const lambdaFunction: ResourceType = {
  type: 'AWS::Lambda::Function',
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
  type: 'AWS::DynamoDB::Table',
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
  type: 'AWS::KMS::Key',
  calls: sameMapping(
    ['DisableKey', 'ScheduleKeyDeletion', 'PutKeyPolicy', 'DisableKeyRotation'],
    named('kms.amazonaws.com', 'keyId', (record) => ({
      pendingWindowInDays: scalarAt(record, 'requestParameters', 'pendingWindowInDays'),
    })),
  ),
};

export const role: ResourceType = {
  type: 'AWS::IAM::Role',
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
  type: 'AWS::Logs::LogGroup',
  calls: sameMapping(
    ['PutRetentionPolicy', 'DeleteRetentionPolicy'],
    named('logs.amazonaws.com', 'logGroupName', (record) => ({
      retentionInDays: scalarAt(record, 'requestParameters', 'retentionInDays'),
    })),
  ),
};

const alarmNamesInRequest = z.object({
  requestParameters: z.object({ alarmNames: z.array(idString).min(1).max(100) }),
});

export const alarm: ResourceType = {
  type: 'AWS::CloudWatch::Alarm',
  // DisableAlarmActions and DeleteAlarms name up to 100 alarms: each is its own observation.
  calls: sameMapping(['DisableAlarmActions', 'DeleteAlarms'], {
    eventSource: 'monitoring.amazonaws.com',
    resourceIds: (record, prefix) => [
      ...new Set(parseWith(alarmNamesInRequest, record, prefix).requestParameters.alarmNames),
    ],
  }),
};

export const configRule: ResourceType = {
  type: 'AWS::Config::ConfigRule',
  calls: { DeleteConfigRule: named('config.amazonaws.com', 'configRuleName') },
};

export const topic: ResourceType = {
  type: 'AWS::SNS::Topic',
  calls: { DeleteTopic: named('sns.amazonaws.com', 'topicArn') },
};

export const subscription: ResourceType = {
  type: 'AWS::SNS::Subscription',
  calls: {
    Unsubscribe: named('sns.amazonaws.com', 'subscriptionArn'),
    SetSubscriptionAttributes: named('sns.amazonaws.com', 'subscriptionArn', (record) => ({
      attributeName: scalarAt(record, 'requestParameters', 'attributeName'),
    })),
  },
};
