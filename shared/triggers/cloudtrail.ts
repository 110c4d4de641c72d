import { z } from 'zod';
import { type Actor, type Observation, TriggerSource } from '../model';
import { eventBridgeEnvelope } from './eventbridge';
import {
  accountIdString,
  boundedSummary,
  fieldPath,
  idString,
  invalid,
  isoTimestamp,
  parseWith,
  regionString,
  scalarAt,
  truncate,
} from './parse';
import type { TriggerEvent } from './types';

/**
 * EventBridge "AWS API Call via CloudTrail" events, and bare CloudTrail records (the event's
 * `detail`, or one entry of a CloudTrail log file's `Records`).
 */

export const CLOUDTRAIL_DETAIL_TYPE = 'AWS API Call via CloudTrail';

const MAX_ACTOR_FIELD_LENGTH = 1024;

const userIdentitySchema = z.object({
  type: z.string().max(64).optional(),
  arn: z.string().max(2048).optional(),
  principalId: idString.optional(),
  accountId: accountIdString.optional(),
  sessionContext: z
    .object({ sessionIssuer: z.object({ arn: z.string().max(2048).optional() }).optional() })
    .optional(),
});

const recordSchema = z.object({
  eventName: idString,
  eventSource: idString,
  eventID: idString,
  eventTime: isoTimestamp,
  awsRegion: regionString,
  recipientAccountId: accountIdString.optional(),
  userIdentity: userIdentitySchema,
  sourceIPAddress: z.string().max(8192).optional(),
  userAgent: z.string().max(8192).optional(),
  errorCode: z.string().max(1024).optional(),
});
type CloudTrailRecord = z.output<typeof recordSchema>;

type Facts = Record<string, string | number | boolean | undefined>;

/**
 * Which resource a call touched, by eventName. This is knowledge of CloudTrail event shapes, not of
 * rules. `resourceIds` validates what it reads and throws ValidationError naming the field.
 */
interface ResourceMapping {
  resourceType: string;
  /** Where the eventName is ambiguous across services (DeleteRule, UpdateTable), the one it means. */
  eventSource?: string;
  resourceIds: (record: unknown, prefix: string, accountId: string) => string[];
  /** Safe, descriptive request facts for the summary: no tag values, no user data. */
  facts?: (record: unknown) => Facts;
}

const withRequestParameters = z.object({ requestParameters: z.record(z.string(), z.unknown()) });

/** The one id at `requestParameters.<key>`. */
const requestParameter =
  (key: string): ResourceMapping['resourceIds'] =>
  (record, prefix) => {
    const parameters = parseWith(withRequestParameters, record, prefix).requestParameters;
    return [parseWith(idString, parameters[key], fieldPath(prefix, 'requestParameters', key))];
  };

const createdVolume = z.object({ responseElements: z.object({ volumeId: idString }) });

const instancesInResponse = z.object({
  responseElements: z.object({
    instancesSet: z.object({
      items: z
        .array(z.object({ instanceId: idString }))
        .min(1)
        .max(1000),
    }),
  }),
});

const securityGroupInRequest = z.object({ requestParameters: z.object({ groupId: idString.optional() }) });
const securityGroupsInResponse = z.object({
  responseElements: z.object({
    securityGroupRuleSet: z.object({
      items: z
        .array(z.object({ groupId: idString }))
        .min(1)
        .max(1000),
    }),
  }),
});

const modifiedSecurityGroup = z.object({
  requestParameters: z.object({ ModifySecurityGroupRulesRequest: z.object({ GroupId: idString }) }),
});

/** The group is named in the request; calls by group name only name it in the response's rules. */
const authorizedSecurityGroups: ResourceMapping['resourceIds'] = (record, prefix) => {
  const groupId = parseWith(securityGroupInRequest, record, prefix).requestParameters.groupId;
  if (groupId) return [groupId];
  const rules = parseWith(securityGroupsInResponse, record, prefix).responseElements.securityGroupRuleSet
    .items;
  return [...new Set(rules.map((rule) => rule.groupId))];
};

const theAccount: ResourceMapping = {
  resourceType: 'AWS::::Account',
  resourceIds: (_record, _prefix, accountId) => [accountId],
};
const trail: ResourceMapping = {
  resourceType: 'AWS::CloudTrail::Trail',
  resourceIds: requestParameter('name'),
};
const recorder: ResourceMapping = {
  resourceType: 'AWS::Config::ConfigurationRecorder',
  resourceIds: requestParameter('configurationRecorderName'),
};
const instances: ResourceMapping = {
  resourceType: 'AWS::EC2::Instance',
  resourceIds: (record, prefix) =>
    parseWith(instancesInResponse, record, prefix).responseElements.instancesSet.items.map(
      (item) => item.instanceId,
    ),
  facts: (record) => ({ instanceType: scalarAt(record, 'requestParameters', 'instanceType') }),
};
const sshKeyUser: ResourceMapping = {
  resourceType: 'AWS::IAM::User',
  resourceIds: requestParameter('userName'),
  facts: (record) => ({
    sshPublicKeyId:
      scalarAt(record, 'requestParameters', 'sSHPublicKeyId') ??
      scalarAt(record, 'responseElements', 'sSHPublicKey', 'sSHPublicKeyId'),
    status: scalarAt(record, 'requestParameters', 'status'),
  }),
};

/** Calls on the responder's own stack (self-protection); each names its service, since names repeat. */
const stackResource = (
  eventSource: string,
  resourceType: string,
  idField: string,
  facts?: ResourceMapping['facts'],
): ResourceMapping => ({ eventSource, resourceType, resourceIds: requestParameter(idField), facts });
const eventRule = (idField: string) => stackResource('events.amazonaws.com', 'AWS::Events::Rule', idField);
const lambdaFunction = stackResource(
  'lambda.amazonaws.com',
  'AWS::Lambda::Function',
  'functionName',
  (record) => ({
    reservedConcurrentExecutions: scalarAt(record, 'requestParameters', 'reservedConcurrentExecutions'),
  }),
);
const table = stackResource('dynamodb.amazonaws.com', 'AWS::DynamoDB::Table', 'tableName', (record) => ({
  deletionProtectionEnabled: scalarAt(record, 'requestParameters', 'deletionProtectionEnabled'),
}));
const key = stackResource('kms.amazonaws.com', 'AWS::KMS::Key', 'keyId', (record) => ({
  pendingWindowInDays: scalarAt(record, 'requestParameters', 'pendingWindowInDays'),
}));

const role = stackResource('iam.amazonaws.com', 'AWS::IAM::Role', 'roleName', (record) => ({
  policyName: scalarAt(record, 'requestParameters', 'policyName'),
  policyArn: scalarAt(record, 'requestParameters', 'policyArn'),
}));
const logGroup = stackResource('logs.amazonaws.com', 'AWS::Logs::LogGroup', 'logGroupName', (record) => ({
  retentionInDays: scalarAt(record, 'requestParameters', 'retentionInDays'),
}));
const alarmNamesInRequest = z.object({
  requestParameters: z.object({ alarmNames: z.array(idString).min(1).max(100) }),
});
/** DisableAlarmActions and DeleteAlarms name up to 100 alarms: each is its own observation. */
const alarms: ResourceMapping = {
  eventSource: 'monitoring.amazonaws.com',
  resourceType: 'AWS::CloudWatch::Alarm',
  resourceIds: (record, prefix) => [
    ...new Set(parseWith(alarmNamesInRequest, record, prefix).requestParameters.alarmNames),
  ],
};
const recorderInRequest = z.object({
  requestParameters: z.object({ configurationRecorder: z.object({ name: idString }) }),
});

const RESOURCE_MAPPINGS: Readonly<Record<string, ResourceMapping>> = {
  DisableEbsEncryptionByDefault: theAccount,
  EnableEbsEncryptionByDefault: theAccount,
  ModifyEbsDefaultKmsKeyId: theAccount,
  ResetEbsDefaultKmsKeyId: theAccount,
  CreateVolume: {
    resourceType: 'AWS::EC2::Volume',
    resourceIds: (record, prefix) => [parseWith(createdVolume, record, prefix).responseElements.volumeId],
    facts: (record) => ({
      encrypted: scalarAt(record, 'responseElements', 'encrypted'),
      kmsKeyId: scalarAt(record, 'responseElements', 'kmsKeyId'),
      snapshotId: scalarAt(record, 'requestParameters', 'snapshotId'),
      volumeType: scalarAt(record, 'responseElements', 'volumeType'),
    }),
  },
  AttachVolume: {
    resourceType: 'AWS::EC2::Volume',
    resourceIds: requestParameter('volumeId'),
    facts: (record) => ({
      instanceId: scalarAt(record, 'requestParameters', 'instanceId'),
      device: scalarAt(record, 'requestParameters', 'device'),
    }),
  },
  AuthorizeSecurityGroupIngress: {
    resourceType: 'AWS::EC2::SecurityGroup',
    resourceIds: authorizedSecurityGroups,
  },
  ModifySecurityGroupRules: {
    resourceType: 'AWS::EC2::SecurityGroup',
    resourceIds: (record, prefix) => [
      parseWith(modifiedSecurityGroup, record, prefix).requestParameters.ModifySecurityGroupRulesRequest
        .GroupId,
    ],
  },
  RunInstances: instances,
  StartInstances: instances,
  ModifyInstancePlacement: {
    resourceType: 'AWS::EC2::Instance',
    resourceIds: requestParameter('instanceId'),
    facts: (record) => ({ tenancy: scalarAt(record, 'requestParameters', 'tenancy') }),
  },
  StopLogging: trail,
  StartLogging: trail,
  DeleteTrail: trail,
  UpdateTrail: trail,
  StopConfigurationRecorder: recorder,
  DeleteConfigurationRecorder: recorder,
  UploadSSHPublicKey: sshKeyUser,
  UpdateSSHPublicKey: sshKeyUser,
  DisableRule: eventRule('name'),
  DeleteRule: eventRule('name'),
  RemoveTargets: eventRule('rule'),
  PutRule: eventRule('name'),
  PutTargets: eventRule('rule'),
  DeleteFunction20150331: lambdaFunction,
  DeleteFunction: lambdaFunction,
  PutFunctionConcurrency20171031: lambdaFunction,
  PutFunctionConcurrency: lambdaFunction,
  // The request's environment is never read: its values may be secrets (CloudTrail hides them too).
  UpdateFunctionConfiguration20150331v2: lambdaFunction,
  UpdateFunctionConfiguration: lambdaFunction,
  UpdateFunctionCode20150331v2: lambdaFunction,
  UpdateFunctionCode: lambdaFunction,
  DeleteConfigRule: stackResource('config.amazonaws.com', 'AWS::Config::ConfigRule', 'configRuleName'),
  DeleteTopic: stackResource('sns.amazonaws.com', 'AWS::SNS::Topic', 'topicArn'),
  Unsubscribe: stackResource('sns.amazonaws.com', 'AWS::SNS::Subscription', 'subscriptionArn'),
  UpdateTable: table,
  DeleteTable: table,
  DisableKey: key,
  ScheduleKeyDeletion: key,
  // Silencing by configuration (self-protection). Request values that may be policies (a filter
  // policy, a key or role policy document) are never read: only which attribute or policy changed.
  AddPermission20150331v2: lambdaFunction,
  AddPermission: lambdaFunction,
  RemovePermission20150331v2: lambdaFunction,
  RemovePermission: lambdaFunction,
  PutRolePolicy: role,
  DeleteRolePolicy: role,
  AttachRolePolicy: role,
  DetachRolePolicy: role,
  UpdateAssumeRolePolicy: role,
  PutRolePermissionsBoundary: role,
  DeleteRolePermissionsBoundary: role,
  PutKeyPolicy: key,
  DisableKeyRotation: key,
  SetSubscriptionAttributes: stackResource(
    'sns.amazonaws.com',
    'AWS::SNS::Subscription',
    'subscriptionArn',
    (record) => ({ attributeName: scalarAt(record, 'requestParameters', 'attributeName') }),
  ),
  DisableAlarmActions: alarms,
  DeleteAlarms: alarms,
  PutRetentionPolicy: logGroup,
  DeleteRetentionPolicy: logGroup,
  PutEventSelectors: stackResource('cloudtrail.amazonaws.com', 'AWS::CloudTrail::Trail', 'trailName'),
  PutConfigurationRecorder: {
    eventSource: 'config.amazonaws.com',
    resourceType: 'AWS::Config::ConfigurationRecorder',
    resourceIds: (record, prefix) => [
      parseWith(recorderInRequest, record, prefix).requestParameters.configurationRecorder.name,
    ],
  },
};

/** The eventNames the adapter can map to resources (what the EventBridge rules may route). */
export const CLOUDTRAIL_EVENT_NAMES: readonly string[] = Object.keys(RESOURCE_MAPPINGS);

export interface CloudTrailRecordOptions {
  /** The account the event was delivered in (EventBridge `account`); else the record's recipient account. */
  accountId?: string;
  /** Where the record sits in the event, for error fields: `detail` inside an EventBridge envelope. */
  fieldPrefix?: string;
}

/**
 * Parses one CloudTrail record. A call that failed (`errorCode`) changed nothing: it is reported as
 * ignored with no observations. An eventName not in the table is a routing mistake: ValidationError.
 */
export const parseCloudTrailRecord = (
  record: unknown,
  options: CloudTrailRecordOptions = {},
): TriggerEvent => {
  const prefix = options.fieldPrefix ?? '';
  const parsed = parseWith(recordSchema, record, prefix);
  const mapping = Object.hasOwn(RESOURCE_MAPPINGS, parsed.eventName)
    ? RESOURCE_MAPPINGS[parsed.eventName]
    : undefined;
  if (!mapping) {
    throw invalid(
      fieldPath(prefix, 'eventName'),
      `no resource mapping for ${JSON.stringify(truncate(parsed.eventName, 64))}`,
    );
  }
  if (mapping.eventSource && mapping.eventSource !== parsed.eventSource) {
    throw invalid(
      fieldPath(prefix, 'eventSource'),
      `${parsed.eventName} is mapped for ${mapping.eventSource}, not ${truncate(parsed.eventSource, 64)}`,
    );
  }
  if (parsed.errorCode !== undefined) {
    return {
      kind: 'resources',
      observations: [],
      ignored: `call failed: ${truncate(parsed.errorCode, 128)}`,
    };
  }
  const accountId = options.accountId ?? parsed.recipientAccountId ?? parsed.userIdentity.accountId;
  if (!accountId) throw invalid(fieldPath(prefix, 'recipientAccountId'), 'required to know the account');

  const summary = boundedSummary({
    eventName: parsed.eventName,
    eventSource: parsed.eventSource,
    ...mapping.facts?.(record),
  });
  const actor = actorOf(parsed);
  const observations = mapping.resourceIds(record, prefix, accountId).map(
    (resourceId): Observation => ({
      source: TriggerSource.CloudTrail,
      eventId: parsed.eventID,
      eventName: parsed.eventName,
      accountId,
      region: parsed.awsRegion,
      resourceType: mapping.resourceType,
      resourceId,
      observedAt: parsed.eventTime,
      actor: { ...actor },
      summary: { ...summary },
    }),
  );
  return { kind: 'resources', observations };
};

const actorOf = (record: CloudTrailRecord): Actor => {
  const identity = record.userIdentity;
  const fields: Actor = {
    type: identity.type,
    arn: identity.arn,
    principalId: identity.principalId,
    accountId: identity.accountId,
    sessionIssuerArn: identity.sessionContext?.sessionIssuer?.arn,
    sourceIp: record.sourceIPAddress && truncate(record.sourceIPAddress, MAX_ACTOR_FIELD_LENGTH),
    userAgent: record.userAgent && truncate(record.userAgent, MAX_ACTOR_FIELD_LENGTH),
  };
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
};

const cloudTrailEventSchema = eventBridgeEnvelope(z.unknown()).extend({
  'detail-type': z.literal(CLOUDTRAIL_DETAIL_TYPE),
  source: z.string().regex(/^aws\.[a-z0-9-]{1,64}$/, 'expected an AWS service source (aws.*)'),
});

/** Parses an EventBridge "AWS API Call via CloudTrail" event; the record is its `detail`. */
export const parseCloudTrailEvent = (event: unknown): TriggerEvent => {
  const envelope = parseWith(cloudTrailEventSchema, event);
  return parseCloudTrailRecord(envelope.detail, { accountId: envelope.account, fieldPrefix: 'detail' });
};
