import { CloudTrailClient, GetEventSelectorsCommand } from '@aws-sdk/client-cloudtrail';
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  EnableAlarmActionsCommand,
} from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  ConfigServiceClient,
  DescribeConfigRulesCommand,
  DescribeConfigurationRecordersCommand,
} from '@aws-sdk/client-config-service';
import { DescribeTableCommand, DynamoDBClient, UpdateTableCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeEventBusCommand,
  DescribeRuleCommand,
  EnableRuleCommand,
  EventBridgeClient,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutPermissionCommand,
} from '@aws-sdk/client-eventbridge';
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  CancelKeyDeletionCommand,
  DescribeKeyCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  GetKeyRotationStatusCommand,
  KMSClient,
} from '@aws-sdk/client-kms';
import {
  DeleteFunctionConcurrencyCommand,
  type FunctionConfiguration,
  GetFunctionConcurrencyCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  ListFunctionsCommand,
  ListVersionsByFunctionCommand,
} from '@aws-sdk/client-lambda';
import {
  GetSubscriptionAttributesCommand,
  GetTopicAttributesCommand,
  ListSubscriptionsByTopicCommand,
  SNSClient,
} from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { cloudTrailEvent, humanCaller, roleCaller } from '../../../scripts/lib/events';
import { createAwsClients } from '../../../shared/aws/clients';
import * as ownCalls from '../../../shared/aws/own-calls';
import { RemediationDeclined } from '../../../shared/errors';
import type { Observation } from '../../../shared/model';
import type { BlastRadiusGuard } from '../../../shared/pipeline/guards';
import { ResponsePipeline } from '../../../shared/pipeline/run-pipeline';
import { actionsOf, type Loaded, organisationActionsOf, type ResourceRef } from '../../../shared/rules/rule';
import { selfProtection as rule, SELF_PROTECTION_EVENTS } from '../../../shared/rules/self-protection';
import { parseCloudTrailEvent } from '../../../shared/triggers/cloudtrail';
import { testSettings } from '../../support/incident';
import { CollectingAlerts, MemoryExemptionLedger, MemoryIncidentStore } from '../../support/memory-store';
import { SentActions } from '../../support/permissions';
import { recordingContext } from '../../support/remediation';

const ACCOUNT = '111122223333';
// testSettings(): STAGE dev → stack compliance-responder-dev; table `incidents`; topic `alerts`; home us-east-1.
const STACK = 'compliance-responder-dev';
const TOPIC = `arn:aws:sns:us-east-1:${ACCOUNT}:alerts`;
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const KEY_ARN = `arn:aws:kms:us-east-1:${ACCOUNT}:key/${KEY_ID}`;
const RULE = `${STACK}-ebs-encryption-by-default-rule-1`;
const FUNCTION = `${STACK}-ebs-encryption-by-default`;

const ref = (
  resourceType: string,
  resourceId: string,
  region = 'us-east-1',
  eventName?: string,
): ResourceRef => ({ resourceType, resourceId, region, accountId: ACCOUNT, eventName });
/** A function as its deployment left it: the configuration its published version 2 recorded. */
const DEPLOYED: FunctionConfiguration = {
  FunctionName: FUNCTION,
  Role: `arn:aws:iam::${ACCOUNT}:role/${STACK}-EbsEncryptionByDefaultRole-1A2B`,
  CodeSha256: 'deployed-code-hash',
  Environment: {
    Variables: { MODE_EBS_ENCRYPTION_BY_DEFAULT: 'enforce', RESPONDER_ROLE_ARNS: 'arn:role/a' },
  },
};
const awsError = (name: string) => Object.assign(new Error(`${name} raised`), { name });

describe('rule self-protection', () => {
  const events = mockClient(EventBridgeClient);
  const lambda = mockClient(LambdaClient);
  const dynamodb = mockClient(DynamoDBClient);
  const sns = mockClient(SNSClient);
  const kms = mockClient(KMSClient);
  const config = mockClient(ConfigServiceClient);
  const iam = mockClient(IAMClient);
  const cloudwatch = mockClient(CloudWatchClient);
  const logs = mockClient(CloudWatchLogsClient);
  const cloudtrail = mockClient(CloudTrailClient);
  const stubs = [events, lambda, dynamodb, sns, kms, config, iam, cloudwatch, logs, cloudtrail];
  const aws = createAwsClients('us-east-1');
  const sent = new SentActions();
  beforeEach(() => {
    for (const stub of stubs) stub.reset();
    // The stack key rotates, as the template creates it.
    kms.on(GetKeyRotationStatusCommand).resolves({ KeyRotationEnabled: true });
  });
  /** $LATEST as `live` says (the deployed configuration when unchanged); versions 1 and 2 published. */
  function deployedFunction(live: FunctionConfiguration = DEPLOYED) {
    lambda.on(GetFunctionConfigurationCommand).resolves(live);
    lambda
      .on(ListVersionsByFunctionCommand)
      .resolvesOnce({ Versions: [{ ...DEPLOYED, Version: '$LATEST' }, { Version: '1' }], NextMarker: 'm' })
      .resolvesOnce({ Versions: [{ ...DEPLOYED, Version: '2' }] });
  }
  afterEach(() => {
    sent.collect('EventBridgeClient', events);
    sent.collect('LambdaClient', lambda);
    sent.collect('DynamoDBClient', dynamodb);
    sent.collect('SNSClient', sns);
    sent.collect('KMSClient', kms);
    sent.collect('ConfigServiceClient', config);
    sent.collect('IAMClient', iam);
    sent.collect('CloudWatchClient', cloudwatch);
    sent.collect('CloudWatchLogsClient', logs);
    sent.collect('CloudTrailClient', cloudtrail);
  });
  afterAll(() => {
    for (const stub of stubs) stub.restore();
  });

  /** load → detect → remediate, as the pipeline runs them; the outcome of remediate, and the steps. */
  async function respond(resourceRef: ResourceRef) {
    const settings = testSettings();
    const loaded = await rule.load(resourceRef, aws, settings);
    if (!loaded) throw new Error('expected a resource of the stack');
    const verdict = rule.detect(loaded, settings);
    if (verdict.compliant) throw new Error('expected drift');
    const { context, steps } = recordingContext(aws, settings);
    const outcome = await rule.remediate(loaded, verdict, context).then(
      () => 'restored',
      (error: unknown) =>
        error instanceof RemediationDeclined ? `declined: ${error.message}` : `failed: ${error}`,
    );
    return { loaded, verdict, steps, outcome };
  }

  describe('EventBridge rules of the stack (DisableRule, DeleteRule, RemoveTargets)', () => {
    it('enables a disabled rule again, with DisableRule as the undo, in the region the event names', async () => {
      // Prepare
      events.on(DescribeRuleCommand).resolves({ Name: RULE, State: 'DISABLED' });
      events.on(ListTargetsByRuleCommand).resolves({ Targets: [{ Id: 't', Arn: 'arn:fn' }] });
      events.on(EnableRuleCommand).resolves({});
      // Act
      const { verdict, steps, outcome } = await respond(ref('AWS::Events::Rule', RULE, 'eu-west-1'));
      // Assess
      expect(verdict).toMatchObject({
        reason: `the responder's EventBridge rule ${RULE} is disabled: the events it routes no longer reach the responder`,
        evidence: { resourceType: 'AWS::Events::Rule', enabled: false, targetCount: 1 },
      });
      expect(outcome).toBe('restored');
      expect(events).toHaveReceivedCommandWith(EnableRuleCommand, { Name: RULE });
      expect(await events.commandCalls(EnableRuleCommand)[0]?.thisValue.config.region()).toBe('eu-west-1');
      expect(steps).toEqual([
        {
          action: 'EnableRule',
          undo: { service: 'events', action: 'DisableRule', input: { Name: RULE, Region: 'eu-west-1' } },
        },
      ]);
    });

    it('alerts only for a rule whose targets were removed: re-adding them is the template’s job', async () => {
      // Prepare
      events.on(DescribeRuleCommand).resolves({ Name: RULE, State: 'ENABLED' });
      events.on(ListTargetsByRuleCommand).resolves({ Targets: [] });
      // Act
      const { outcome, steps } = await respond(ref('AWS::Events::Rule', RULE));
      // Assess
      expect(outcome).toMatch(/^declined: EventBridge rule .* has no targets; .* redeploy the stack$/);
      expect(steps).toEqual([]);
    });

    it('counts targets over every page', async () => {
      // Prepare
      events.on(DescribeRuleCommand).resolves({ Name: RULE, State: 'ENABLED' });
      events
        .on(ListTargetsByRuleCommand)
        .resolvesOnce({ Targets: [], NextToken: 'page-2' })
        .resolvesOnce({ Targets: [{ Id: 't', Arn: 'arn:fn' }] });
      // Act
      const loaded = await rule.load(ref('AWS::Events::Rule', RULE), aws, testSettings());
      // Assess
      expect(loaded?.state).toEqual({
        type: 'AWS::Events::Rule',
        exists: true,
        enabled: true,
        targetCount: 1,
      });
      expect(loaded && rule.detect(loaded, testSettings())).toEqual({ compliant: true });
    });

    it('reads a deleted rule as drift and declines: redeploying recreates it', async () => {
      // Prepare
      events.on(DescribeRuleCommand).rejects(awsError('ResourceNotFoundException'));
      // Act
      const { loaded, outcome } = await respond(ref('AWS::Events::Rule', RULE));
      // Assess
      expect(loaded).toMatchObject({
        arn: `arn:aws:events:us-east-1:${ACCOUNT}:rule/${RULE}`,
        state: { exists: false },
      });
      expect(outcome).toBe(
        `declined: EventBridge rule ${RULE} was deleted; redeploy the stack (serverless deploy) to recreate it`,
      );
    });
  });

  describe('functions of the stack (DeleteFunction, PutFunctionConcurrency)', () => {
    it('removes a reserved concurrency of 0, by name even when the event gave an ARN, with the undo', async () => {
      // Prepare
      deployedFunction();
      lambda.on(GetFunctionConcurrencyCommand).resolves({ ReservedConcurrentExecutions: 0 });
      lambda.on(DeleteFunctionConcurrencyCommand).resolves({});
      const arn = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${FUNCTION}`;
      // Act
      const { verdict, steps, outcome } = await respond(ref('AWS::Lambda::Function', arn));
      // Assess
      expect(verdict).toMatchObject({ evidence: { reservedConcurrency: 0 } });
      expect(outcome).toBe('restored');
      expect(lambda).toHaveReceivedCommandWith(DeleteFunctionConcurrencyCommand, { FunctionName: FUNCTION });
      expect(steps).toEqual([
        {
          action: 'DeleteFunctionConcurrency',
          undo: {
            service: 'lambda',
            action: 'PutFunctionConcurrency',
            input: { FunctionName: FUNCTION, ReservedConcurrentExecutions: 0, Region: 'us-east-1' },
          },
        },
      ]);
    });

    it('is compliant with any other reserved concurrency', async () => {
      // Prepare
      deployedFunction();
      lambda.on(GetFunctionConcurrencyCommand).resolves({ ReservedConcurrentExecutions: 5 });
      // Act
      const loaded = await rule.load(ref('AWS::Lambda::Function', FUNCTION), aws, testSettings());
      // Assess
      expect(loaded && rule.detect(loaded, testSettings())).toEqual({ compliant: true });
    });

    it('reads a deleted function as drift and declines', async () => {
      // Prepare
      lambda.on(GetFunctionConfigurationCommand).rejects(awsError('ResourceNotFoundException'));
      // Act
      const { outcome } = await respond(ref('AWS::Lambda::Function', FUNCTION));
      // Assess
      expect(outcome).toBe(
        `declined: function ${FUNCTION} was deleted; redeploy the stack (serverless deploy) to recreate it`,
      );
    });
  });

  describe('function configuration against the deployed version (UpdateFunctionConfiguration, UpdateFunctionCode)', () => {
    const changed = (live: FunctionConfiguration) => {
      deployedFunction(live);
      lambda.on(GetFunctionConcurrencyCommand).resolves({ ReservedConcurrentExecutions: 5 });
      return respond(ref('AWS::Lambda::Function', FUNCTION));
    };

    it('names the variables set, added or removed outside a deployment, never their values, and changes nothing', async () => {
      // Act
      const { verdict, steps, outcome } = await changed({
        ...DEPLOYED,
        Environment: {
          Variables: { MODE_EBS_ENCRYPTION_BY_DEFAULT: 'off', NODE_OPTIONS: '--require /tmp/x.js' },
        },
      });
      // Assess
      expect(verdict).toMatchObject({
        reason: `the responder's function ${FUNCTION} was changed outside a deployment: environment (MODE_EBS_ENCRYPTION_BY_DEFAULT, NODE_OPTIONS, RESPONDER_ROLE_ARNS) (compared with the version the deployment published)`,
        evidence: {
          environmentChanged: 'MODE_EBS_ENCRYPTION_BY_DEFAULT,NODE_OPTIONS,RESPONDER_ROLE_ARNS',
          roleChanged: false,
          layersChanged: false,
          codeChanged: false,
        },
      });
      expect(JSON.stringify(verdict)).not.toMatch(/off|\/tmp|arn:role/);
      expect(steps).toEqual([]);
      expect(outcome).toMatch(/^declined: function .* no power to rewrite functions or pass roles/);
    });

    it.each([
      ['role', { Role: `arn:aws:iam::${ACCOUNT}:role/admin` }, { roleChanged: true }],
      [
        'layers',
        { Layers: [{ Arn: 'arn:aws:lambda:us-east-1:999999999999:layer:x:1' }] },
        { layersChanged: true },
      ],
      ['code', { CodeSha256: 'other-code-hash' }, { codeChanged: true }],
    ])('pages a changed %s', async (aspect, change, evidence) => {
      // Act
      const { verdict, outcome } = await changed({ ...DEPLOYED, ...change });
      // Assess
      expect(verdict).toMatchObject({
        reason: expect.stringContaining(`outside a deployment: ${aspect}`),
        evidence,
      });
      expect(outcome).toMatch(/^declined:/);
    });

    it('pages a function with no published version: nothing recorded to compare with', async () => {
      // Prepare
      lambda.on(GetFunctionConfigurationCommand).resolves(DEPLOYED);
      lambda.on(ListVersionsByFunctionCommand).resolves({ Versions: [{ ...DEPLOYED, Version: '$LATEST' }] });
      lambda.on(GetFunctionConcurrencyCommand).resolves({});
      // Act
      const { verdict, outcome } = await respond(ref('AWS::Lambda::Function', FUNCTION));
      // Assess
      expect(verdict).toMatchObject({ evidence: { deployedVersion: false } });
      expect(outcome).toMatch(/^declined: function .* has no published version/);
    });

    it('restores a concurrency of 0 and still pages a changed configuration', async () => {
      // Prepare
      deployedFunction({ ...DEPLOYED, CodeSha256: 'other-code-hash' });
      lambda.on(GetFunctionConcurrencyCommand).resolves({ ReservedConcurrentExecutions: 0 });
      lambda.on(DeleteFunctionConcurrencyCommand).resolves({});
      // Act
      const { verdict, steps, outcome } = await respond(ref('AWS::Lambda::Function', FUNCTION));
      // Assess
      expect(verdict).toMatchObject({ evidence: { reservedConcurrency: 0, codeChanged: true } });
      expect(steps.map((step) => step.action)).toEqual(['DeleteFunctionConcurrency']);
      expect(outcome).toMatch(/^declined:/);
    });
  });

  describe('the rest of the stack (DeleteConfigRule, DeleteTopic, Unsubscribe, UpdateTable, DeleteTable)', () => {
    // moto 5.2.1 answers an unknown Config rule name with an empty list; AWS raises NoSuchConfigRuleException.
    it.each([
      [
        'NoSuchConfigRuleException',
        () => config.on(DescribeConfigRulesCommand).rejects(awsError('NoSuchConfigRuleException')),
      ],
      ['an empty list (moto)', () => config.on(DescribeConfigRulesCommand).resolves({ ConfigRules: [] })],
    ])('reads a Config rule deleted (%s) as drift and declines', async (_how, arrange) => {
      // Prepare
      arrange();
      // Act
      const { outcome } = await respond(ref('AWS::Config::ConfigRule', `${STACK}-ebs-encryption-by-default`));
      // Assess
      expect(outcome).toMatch(/^declined: Config rule .* was deleted; redeploy the stack/);
    });

    it('reads the deleted alert topic as drift and declines', async () => {
      // Prepare
      sns.on(GetTopicAttributesCommand).rejects(awsError('NotFoundException'));
      // Act
      const { verdict, outcome } = await respond(ref('AWS::SNS::Topic', TOPIC));
      // Assess
      expect(verdict).toMatchObject({ reason: expect.stringContaining('alert topic') });
      expect(outcome).toMatch(/^declined: alert topic .* was deleted/);
    });

    it('finds drift when the alert topic has no confirmed subscription (pending ones receive nothing)', async () => {
      // Prepare
      sns.on(GetTopicAttributesCommand).resolves({ Attributes: {} });
      sns
        .on(ListSubscriptionsByTopicCommand)
        .resolves({ Subscriptions: [{ SubscriptionArn: 'PendingConfirmation', Protocol: 'email' }] });
      // Act
      const { verdict, outcome } = await respond(ref('AWS::SNS::Topic', TOPIC));
      // Assess
      expect(verdict).toMatchObject({ evidence: { confirmedSubscriptions: 0 } });
      expect(outcome).toMatch(/^declined: the alert topic has no confirmed subscription/);
    });

    it('reads a removed alert subscription as drift and declines: only its endpoint can confirm it again', async () => {
      // Prepare
      sns.on(GetSubscriptionAttributesCommand).rejects(awsError('NotFoundException'));
      // Act
      const { outcome } = await respond(ref('AWS::SNS::Subscription', `${TOPIC}:0b1c2d3e`));
      // Assess
      expect(outcome).toMatch(/^declined: subscription .* was removed; .* authenticate-on-unsubscribe$/);
    });

    it('turns deletion protection back on, in the home region, with the undo', async () => {
      // Prepare
      dynamodb
        .on(DescribeTableCommand)
        .resolves({ Table: { TableName: 'incidents', DeletionProtectionEnabled: false } });
      dynamodb.on(UpdateTableCommand).resolves({});
      // Act
      const { steps, outcome } = await respond(ref('AWS::DynamoDB::Table', 'incidents', 'eu-west-1'));
      // Assess
      expect(outcome).toBe('restored');
      expect(dynamodb).toHaveReceivedCommandWith(UpdateTableCommand, {
        TableName: 'incidents',
        DeletionProtectionEnabled: true,
      });
      expect(await dynamodb.commandCalls(UpdateTableCommand)[0]?.thisValue.config.region()).toBe('us-east-1');
      expect(steps.map((step) => step.undo)).toEqual([
        {
          service: 'dynamodb',
          action: 'UpdateTable',
          input: { TableName: 'incidents', DeletionProtectionEnabled: false, Region: 'us-east-1' },
        },
      ]);
    });

    it('sends UpdateTable only through its shape: a refused request is never sent', async () => {
      // Prepare: the shape refuses (as it would protection off), whatever the code built
      dynamodb
        .on(DescribeTableCommand)
        .resolves({ Table: { TableName: 'incidents', DeletionProtectionEnabled: false } });
      const refuse = jest.spyOn(ownCalls, 'refuseOutsideShape').mockImplementation(() => {
        throw new ownCalls.RequestOutsideShapeError('UpdateTable', ['DeletionProtectionEnabled']);
      });
      try {
        // Act
        const { outcome } = await respond(ref('AWS::DynamoDB::Table', 'incidents', 'eu-west-1'));
        // Assess
        expect(outcome).toBe(
          'failed: RequestOutsideShapeError: refused to send UpdateTable: DeletionProtectionEnabled outside what the responder may change',
        );
        expect(refuse).toHaveBeenCalledWith(ownCalls.OwnCall.UpdateTable, {
          TableName: 'incidents',
          DeletionProtectionEnabled: true,
        });
        expect(dynamodb).toHaveReceivedCommandTimes(UpdateTableCommand, 0);
      } finally {
        refuse.mockRestore();
      }
    });

    it('reads the deleted incident table as drift and declines', async () => {
      // Prepare
      dynamodb.on(DescribeTableCommand).rejects(awsError('ResourceNotFoundException'));
      // Act
      const { outcome } = await respond(
        ref('AWS::DynamoDB::Table', `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/incidents`),
      );
      // Assess
      expect(outcome).toMatch(/^declined: the incident table incidents was deleted; restore it/);
    });
  });

  describe('the stack key (DisableKey, ScheduleKeyDeletion)', () => {
    it('finds the key through its alias and enables it again, by key id, with DisableKey as the undo', async () => {
      // Prepare
      kms
        .on(DescribeKeyCommand)
        .resolves({ KeyMetadata: { KeyId: KEY_ID, Arn: KEY_ARN, KeyState: 'Disabled' } });
      kms.on(EnableKeyCommand).resolves({});
      // Act
      const { steps, outcome } = await respond(ref('AWS::KMS::Key', KEY_ARN));
      // Assess
      expect(kms).toHaveReceivedCommandWith(DescribeKeyCommand, { KeyId: `alias/${STACK}` });
      expect(outcome).toBe('restored');
      expect(steps).toEqual([
        {
          action: 'EnableKey',
          undo: { service: 'kms', action: 'DisableKey', input: { KeyId: KEY_ID, Region: 'us-east-1' } },
        },
      ]);
    });

    it('cancels a scheduled deletion first, then enables the key (a cancelled key is left disabled)', async () => {
      // Prepare
      kms
        .on(DescribeKeyCommand)
        .resolves({ KeyMetadata: { KeyId: KEY_ID, Arn: KEY_ARN, KeyState: 'PendingDeletion' } });
      kms.on(CancelKeyDeletionCommand).resolves({ KeyId: KEY_ID });
      kms.on(EnableKeyCommand).resolves({});
      // Act
      const { verdict, steps, outcome } = await respond(ref('AWS::KMS::Key', KEY_ID));
      // Assess
      expect(verdict).toMatchObject({ reason: expect.stringContaining('is scheduled for deletion') });
      expect(outcome).toBe('restored');
      expect(kms).toHaveReceivedNthCommandWith(2, CancelKeyDeletionCommand, { KeyId: KEY_ID });
      expect(kms).toHaveReceivedNthCommandWith(3, EnableKeyCommand, { KeyId: KEY_ID });
      expect(steps.map((step) => step.undo)).toEqual([
        {
          service: 'kms',
          action: 'ScheduleKeyDeletion',
          input: { KeyId: KEY_ID, PendingWindowInDays: 30, Region: 'us-east-1' },
        },
        { service: 'kms', action: 'DisableKey', input: { KeyId: KEY_ID, Region: 'us-east-1' } },
      ]);
    });

    it('ignores a call on another key', async () => {
      // Prepare
      kms
        .on(DescribeKeyCommand)
        .resolves({ KeyMetadata: { KeyId: KEY_ID, Arn: KEY_ARN, KeyState: 'Disabled' } });
      // Act
      const loaded = await rule.load(
        ref('AWS::KMS::Key', 'ffffffff-0000-0000-0000-000000000000'),
        aws,
        testSettings(),
      );
      // Assess
      expect(loaded).toBeUndefined();
    });

    it('reads a missing alias as drift: the stack key cannot be checked', async () => {
      // Prepare
      kms.on(DescribeKeyCommand).rejects(awsError('NotFoundException'));
      // Act
      const { verdict, outcome } = await respond(ref('AWS::KMS::Key', KEY_ID));
      // Assess
      expect(verdict).toMatchObject({
        reason: `alias/${STACK} names no key: the key that encrypts incidents and alerts cannot be checked`,
      });
      expect(outcome).toMatch(/^declined: the stack key's alias is missing/);
    });
  });

  it.each([
    ['an EventBridge rule of another stack', 'AWS::Events::Rule', 'someone-elses-rule'],
    [
      'a function of another stack',
      'AWS::Lambda::Function',
      'compliance-responder-prod-ebs-encryption-by-default',
    ],
    ['another topic', 'AWS::SNS::Topic', `arn:aws:sns:us-east-1:${ACCOUNT}:other`],
    [
      'a subscription of another topic',
      'AWS::SNS::Subscription',
      `arn:aws:sns:us-east-1:${ACCOUNT}:alerts-2:0b1c`,
    ],
    ['another table', 'AWS::DynamoDB::Table', 'orders'],
    ['a role of another stack', 'AWS::IAM::Role', 'compliance-responder-prod-SelfProtectionRole-1A2B'],
    ['an alarm of another stack', 'AWS::CloudWatch::Alarm', 'orders-ErrorsAlarm-1A2B'],
    ['a log group of another function', 'AWS::Logs::LogGroup', '/aws/lambda/orders-api'],
    ['a type self-protection does not know', 'AWS::S3::Bucket', 'bucket'],
  ])('leaves %s alone, without reading anything', async (_what, resourceType, resourceId) => {
    // Act
    const loaded = await rule.load(ref(resourceType, resourceId), aws, testSettings());
    // Assess
    expect(loaded).toBeUndefined();
    for (const stub of stubs) expect(stub.calls()).toEqual([]);
  });

  describe('silencing by configuration (permissions, roles, key policy, rotation, filters, alarms, retention, selectors, recorder)', () => {
    const ROLE = `${STACK}-SelfProtectionRole-1A2B3C`;
    const ALARM = `${STACK}-SelfDashprotectionErrorsAlarm-1A2B3C`;
    const LOG_GROUP = `/aws/lambda/${STACK}-self-protection`;

    it.each(['RemovePermission20150331v2', 'AddPermission20150331v2', 'RemovePermission'])(
      '%s on a responder function pages CRITICAL and declines: re-adding needs lambda:AddPermission',
      async (eventName) => {
        // Prepare
        deployedFunction();
        lambda.on(GetFunctionConcurrencyCommand).resolves({ ReservedConcurrentExecutions: 5 });
        // Act
        const { verdict, outcome, steps } = await respond(
          ref('AWS::Lambda::Function', FUNCTION, 'us-east-1', eventName),
        );
        // Assess
        expect(verdict).toMatchObject({
          reason: `the responder's function ${FUNCTION} had its resource policy changed by ${eventName} outside a deployment: the triggers that lost their permission can no longer invoke it`,
          evidence: { changedBy: eventName },
        });
        expect(steps).toEqual([]);
        expect(outcome).toMatch(/^declined: .*lambda:AddPermission.*redeploy the stack/);
      },
    );

    it.each([
      'PutRolePolicy',
      'DeleteRolePolicy',
      'AttachRolePolicy',
      'DetachRolePolicy',
      'UpdateAssumeRolePolicy',
      'DeleteRolePermissionsBoundary',
      'PutRolePermissionsBoundary',
    ])(
      '%s on a responder role pages CRITICAL and declines: the responder holds no IAM write power',
      async (eventName) => {
        // Prepare
        iam.on(GetRoleCommand).resolves({
          Role: {
            RoleName: ROLE,
            Arn: `arn:aws:iam::${ACCOUNT}:role/${ROLE}`,
            Path: '/',
            RoleId: 'AROA1',
            CreateDate: new Date(),
          },
        });
        // Act
        const { loaded, verdict, outcome, steps } = await respond(
          ref('AWS::IAM::Role', ROLE, 'us-east-1', eventName),
        );
        // Assess
        expect(loaded.arn).toBe(`arn:aws:iam::${ACCOUNT}:role/${ROLE}`);
        expect(verdict).toMatchObject({
          reason: `the responder's role ${ROLE} was changed by ${eventName} outside a deployment: its powers are no longer the ones the template grants`,
        });
        expect(steps).toEqual([]);
        expect(outcome).toMatch(/^declined: role .* holds no IAM write power/);
      },
    );

    it('reads a responder role without a call to judge as intact (the sweep has no event)', async () => {
      // Prepare
      iam.on(GetRoleCommand).resolves({
        Role: { RoleName: ROLE, Arn: 'arn:r', Path: '/', RoleId: 'AROA1', CreateDate: new Date() },
      });
      // Act
      const loaded = await rule.load(ref('AWS::IAM::Role', ROLE), aws, testSettings());
      // Assess
      expect(loaded && rule.detect(loaded, testSettings())).toEqual({ compliant: true });
    });

    it('DisableKeyRotation on the stack key: rotation enabled again, with DisableKeyRotation as the undo', async () => {
      // Prepare
      kms
        .on(DescribeKeyCommand)
        .resolves({ KeyMetadata: { KeyId: KEY_ID, Arn: KEY_ARN, KeyState: 'Enabled' } });
      kms.on(GetKeyRotationStatusCommand).resolves({ KeyRotationEnabled: false });
      kms.on(EnableKeyRotationCommand).resolves({});
      // Act
      const { verdict, steps, outcome } = await respond(
        ref('AWS::KMS::Key', KEY_ID, 'us-east-1', 'DisableKeyRotation'),
      );
      // Assess
      expect(verdict).toMatchObject({ evidence: { rotation: false } });
      expect(outcome).toBe('restored');
      expect(kms).toHaveReceivedCommandWith(EnableKeyRotationCommand, { KeyId: KEY_ID });
      expect(steps).toEqual([
        {
          action: 'EnableKeyRotation',
          undo: {
            service: 'kms',
            action: 'DisableKeyRotation',
            input: { KeyId: KEY_ID, Region: 'us-east-1' },
          },
        },
      ]);
    });

    it('PutKeyPolicy on the stack key pages CRITICAL and declines: putting a policy back is the power to take the key', async () => {
      // Prepare
      kms
        .on(DescribeKeyCommand)
        .resolves({ KeyMetadata: { KeyId: KEY_ID, Arn: KEY_ARN, KeyState: 'Enabled' } });
      // Act
      const { verdict, outcome, steps } = await respond(
        ref('AWS::KMS::Key', KEY_ARN, 'us-east-1', 'PutKeyPolicy'),
      );
      // Assess
      expect(verdict).toMatchObject({
        reason: expect.stringContaining('policy was replaced by PutKeyPolicy'),
      });
      expect(steps).toEqual([]);
      expect(outcome).toMatch(/^declined: .*kms:PutKeyPolicy/);
    });

    it('a filter policy on an alert subscription pages CRITICAL without quoting it, and declines', async () => {
      // Prepare: the insider filters out every CRITICAL alert
      sns.on(GetSubscriptionAttributesCommand).resolves({
        Attributes: { FilterPolicy: '{"severity":["LOW"]}', Protocol: 'email' },
      });
      // Act
      const { verdict, outcome, steps } = await respond(ref('AWS::SNS::Subscription', `${TOPIC}:0b1c`));
      // Assess
      expect(verdict).toMatchObject({
        reason: `the alert subscription ${TOPIC}:0b1c has a filter policy: that subscriber receives only the alerts it matches`,
        evidence: { filterPolicy: true },
      });
      expect(JSON.stringify(verdict)).not.toContain('LOW');
      expect(steps).toEqual([]);
      expect(outcome).toMatch(/^declined: .*sns:SetSubscriptionAttributes is also the power to set one/);
    });

    // moto 5.2.1 raises NotImplementedError for DisableAlarmActions and EnableAlarmActions.
    it('DisableAlarmActions on a responder alarm: actions enabled again, with the undo (moto gap: mock only)', async () => {
      // Prepare
      cloudwatch
        .on(DescribeAlarmsCommand)
        .resolves({ MetricAlarms: [{ AlarmName: ALARM, AlarmArn: 'arn:alarm', ActionsEnabled: false }] });
      cloudwatch.on(EnableAlarmActionsCommand).resolves({});
      // Act
      const { verdict, outcome, steps } = await respond(
        ref('AWS::CloudWatch::Alarm', ALARM, 'eu-west-1', 'DisableAlarmActions'),
      );
      // Assess
      expect(verdict).toMatchObject({ evidence: { actionsEnabled: false } });
      expect(outcome).toBe('restored');
      expect(cloudwatch).toHaveReceivedCommandWith(EnableAlarmActionsCommand, { AlarmNames: [ALARM] });
      expect(await cloudwatch.commandCalls(EnableAlarmActionsCommand)[0]?.thisValue.config.region()).toBe(
        'eu-west-1',
      );
      expect(steps).toEqual([
        {
          action: 'EnableAlarmActions',
          undo: {
            service: 'cloudwatch',
            action: 'DisableAlarmActions',
            input: { AlarmNames: [ALARM], Region: 'eu-west-1' },
          },
        },
      ]);
    });

    it('DeleteAlarms of a responder alarm pages CRITICAL and declines: redeploying recreates it', async () => {
      // Prepare
      cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [], CompositeAlarms: [] });
      // Act
      const { outcome } = await respond(ref('AWS::CloudWatch::Alarm', ALARM, 'us-east-1', 'DeleteAlarms'));
      // Assess
      expect(outcome).toMatch(/^declined: alarm .* was deleted; redeploy the stack/);
    });

    it.each(['PutRetentionPolicy', 'DeleteRetentionPolicy'])(
      '%s on a responder log group pages CRITICAL and declines',
      async (eventName) => {
        // Prepare
        logs.on(DescribeLogGroupsCommand).resolves({
          logGroups: [{ logGroupName: `${LOG_GROUP}-x` }, { logGroupName: LOG_GROUP, retentionInDays: 1 }],
        });
        // Act
        const { verdict, outcome, steps } = await respond(
          ref('AWS::Logs::LogGroup', LOG_GROUP, 'us-east-1', eventName),
        );
        // Assess
        expect(verdict).toMatchObject({
          reason: `the retention of the responder's log group ${LOG_GROUP} was changed by ${eventName} outside a deployment`,
          evidence: { retentionInDays: 1, changedBy: eventName },
        });
        expect(steps).toEqual([]);
        expect(outcome).toMatch(/^declined: .*logRetentionDays/);
      },
    );

    it.each([
      [
        'no management events',
        { EventSelectors: [{ IncludeManagementEvents: false, ReadWriteType: 'All' as const }] },
      ],
      [
        'read-only management events',
        { EventSelectors: [{ ReadWriteType: 'ReadOnly' as const, IncludeManagementEvents: true }] },
      ],
      [
        'KMS events excluded',
        {
          EventSelectors: [
            { IncludeManagementEvents: true, ExcludeManagementEventSources: ['kms.amazonaws.com'] },
          ],
        },
      ],
      [
        'advanced selectors logging reads only',
        {
          AdvancedEventSelectors: [
            {
              FieldSelectors: [
                { Field: 'eventCategory', Equals: ['Management'] },
                { Field: 'readOnly', Equals: ['true'] },
              ],
            },
          ],
        },
      ],
    ])(
      'PutEventSelectors leaving a trail with %s pages CRITICAL: every event trigger goes blind',
      async (_what, selectors) => {
        // Prepare
        cloudtrail.on(GetEventSelectorsCommand).resolves(selectors);
        // Act
        const { verdict, outcome } = await respond(
          ref('AWS::CloudTrail::Trail', 'org-trail', 'eu-west-1', 'PutEventSelectors'),
        );
        // Assess
        expect(verdict).toMatchObject({
          reason:
            "the trail org-trail no longer logs every management write event: the responder's event triggers are blind to the calls it drops",
        });
        expect(outcome).toMatch(/^declined: /);
        expect(await cloudtrail.commandCalls(GetEventSelectorsCommand)[0]?.thisValue.config.region()).toBe(
          'eu-west-1',
        );
      },
    );

    it.each([
      [
        'basic selectors with every management event',
        { EventSelectors: [{ ReadWriteType: 'All' as const, IncludeManagementEvents: true }] },
      ],
      [
        'advanced selectors with management events and data events',
        {
          AdvancedEventSelectors: [
            { FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] },
            {
              FieldSelectors: [
                { Field: 'eventCategory', Equals: ['Data'] },
                { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
              ],
            },
          ],
        },
      ],
    ])('leaves a trail alone whose selectors keep %s', async (_what, selectors) => {
      // Prepare
      cloudtrail.on(GetEventSelectorsCommand).resolves(selectors);
      // Act
      const loaded = await rule.load(
        ref('AWS::CloudTrail::Trail', 'org-trail', 'us-east-1', 'PutEventSelectors'),
        aws,
        testSettings(),
      );
      // Assess
      expect(loaded && rule.detect(loaded, testSettings())).toEqual({ compliant: true });
    });

    it('PutConfigurationRecorder narrowing what is recorded pages CRITICAL and declines', async () => {
      // Prepare
      config.on(DescribeConfigurationRecordersCommand).resolves({
        ConfigurationRecorders: [
          { name: 'default', recordingGroup: { allSupported: false, resourceTypes: ['AWS::S3::Bucket'] } },
        ],
      });
      // Act
      const { verdict, outcome } = await respond(
        ref('AWS::Config::ConfigurationRecorder', 'default', 'us-east-1', 'PutConfigurationRecorder'),
      );
      // Assess
      expect(verdict).toMatchObject({
        reason:
          'the Config recorder default no longer records every supported resource type: Config rules and the evidence they keep miss what it leaves out',
        evidence: { recordsAll: false },
      });
      expect(outcome).toMatch(/^declined: /);
    });

    it('leaves a recorder alone that still records everything', async () => {
      // Prepare
      config.on(DescribeConfigurationRecordersCommand).resolves({
        ConfigurationRecorders: [{ name: 'default', recordingGroup: { allSupported: true } }],
      });
      // Act
      const loaded = await rule.load(
        ref('AWS::Config::ConfigurationRecorder', 'default', 'us-east-1', 'PutConfigurationRecorder'),
        aws,
        testSettings(),
      );
      // Assess
      expect(loaded && rule.detect(loaded, testSettings())).toEqual({ compliant: true });
    });
  });

  describe('a restore or a read the account refuses (AccessDenied, e.g. a region-deny SCP on a forwarder region)', () => {
    const forwarderRule = `${STACK}-forward-events-api-calls`;
    const disabledRule = { kind: 'resources' as const };
    function pipeline() {
      const store = new MemoryIncidentStore();
      const alerts = new CollectingAlerts();
      const responder = new ResponsePipeline(rule, {
        aws,
        settings: testSettings(),
        store,
        alerts,
        guard: { acquire: async () => ({ allowed: true }) } as unknown as BlastRadiusGuard,
        exemptions: new MemoryExemptionLedger(),
        logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
        metrics: { count: () => undefined },
        verify: { attempts: 1, delayMs: 1 },
      });
      return { responder, store, alerts };
    }
    const disableRuleCall: Observation = {
      source: 'cloudtrail',
      eventId: 'event-1',
      eventName: 'DisableRule',
      accountId: ACCOUNT,
      region: 'ap-southeast-2',
      resourceType: 'AWS::Events::Rule',
      resourceId: forwarderRule,
      observedAt: '2026-11-23T10:00:00Z',
      actor: { arn: `arn:aws:iam::${ACCOUNT}:user/dev-alice` },
      summary: {},
    };

    it('EnableRule refused: a CRITICAL incident and alert say the restore failed and why', async () => {
      // Prepare
      events.on(DescribeRuleCommand).resolves({ Name: forwarderRule, State: 'DISABLED' });
      events.on(ListTargetsByRuleCommand).resolves({ Targets: [{ Id: 'home-event-bus', Arn: 'arn:bus' }] });
      events.on(EnableRuleCommand).rejects(awsError('AccessDeniedException'));
      const { responder, store, alerts } = pipeline();
      // Act
      await responder.handle({ ...disabledRule, observations: [disableRuleCall] });
      // Assess
      const [incident, ...others] = [...store.incidents.values()];
      expect(others).toEqual([]);
      expect(incident).toMatchObject({
        severity: 'CRITICAL',
        region: 'ap-southeast-2',
        status: 'failed',
        statusReason: 'AccessDeniedException: AccessDeniedException raised',
        actor: { arn: `arn:aws:iam::${ACCOUNT}:user/dev-alice` },
        steps: [{ action: 'EnableRule', result: 'failed' }],
      });
      expect(alerts.sent.map((alert) => [alert.attributes.severity, alert.attributes.status])).toEqual([
        ['CRITICAL', 'failed'],
      ]);
    });

    it('DescribeRule refused: still a CRITICAL incident saying the rule could not be read, instead of crashing without one', async () => {
      // Prepare
      events.on(DescribeRuleCommand).rejects(awsError('AccessDeniedException'));
      const { responder, store, alerts } = pipeline();
      // Act
      await responder.handle({ ...disabledRule, observations: [disableRuleCall] });
      // Assess
      const [incident] = [...store.incidents.values()];
      expect(incident).toMatchObject({
        severity: 'CRITICAL',
        status: 'open',
        reason: `the responder's EventBridge rule ${forwarderRule} could not be read (AccessDeniedException: AccessDeniedException raised): DisableRule changed it and the responder can neither check nor restore it`,
        statusReason: expect.stringContaining('could not be read'),
      });
      expect(alerts.sent).toHaveLength(1);
    });
  });

  describe('the sweep', () => {
    async function sweep(region: string) {
      const swept: Loaded<unknown>[] = [];
      for await (const found of rule.list({ accountId: ACCOUNT, region }, aws, testSettings()))
        swept.push(found);
      return swept;
    }

    it('checks the stack’s rules, functions and alarms by prefix (every page), and the table, topic and key in the home region', async () => {
      // Prepare
      events
        .on(ListRulesCommand)
        .resolvesOnce({ Rules: [{ Name: RULE, State: 'DISABLED' }], NextToken: 'page-2' })
        .resolvesOnce({
          Rules: [{ Name: `${STACK}-EbsDashencryptionDashbyDashd-1A2B3C`, State: 'ENABLED' }],
        });
      events.on(ListTargetsByRuleCommand).resolves({ Targets: [{ Id: 't', Arn: 'arn:fn' }] });
      lambda
        .on(ListFunctionsCommand)
        .resolves({ Functions: [{ FunctionName: FUNCTION }, { FunctionName: 'unrelated-function' }] });
      deployedFunction();
      lambda.on(GetFunctionConcurrencyCommand).resolves({ ReservedConcurrentExecutions: 5 });
      dynamodb
        .on(DescribeTableCommand)
        .resolves({ Table: { TableName: 'incidents', DeletionProtectionEnabled: true } });
      sns.on(GetTopicAttributesCommand).resolves({ Attributes: {} });
      sns
        .on(ListSubscriptionsByTopicCommand)
        .resolves({ Subscriptions: [{ SubscriptionArn: `${TOPIC}:1` }] });
      kms
        .on(DescribeKeyCommand)
        .resolves({ KeyMetadata: { KeyId: KEY_ID, Arn: KEY_ARN, KeyState: 'Enabled' } });
      const alarm = `${STACK}-SelfDashprotectionErrorsAlarm-1A2B3C`;
      cloudwatch
        .on(DescribeAlarmsCommand)
        .resolvesOnce({ MetricAlarms: [{ AlarmName: alarm, ActionsEnabled: false }], NextToken: 'page-2' })
        .resolvesOnce({ MetricAlarms: [{ AlarmName: `${alarm}-2`, ActionsEnabled: true }] });
      // Act
      const swept = await sweep('us-east-1');
      // Assess
      expect(swept.map((found) => [found.resourceType, found.resourceId])).toEqual([
        ['AWS::Events::Rule', RULE],
        ['AWS::Events::Rule', `${STACK}-EbsDashencryptionDashbyDashd-1A2B3C`],
        ['AWS::Lambda::Function', FUNCTION],
        ['AWS::CloudWatch::Alarm', alarm],
        ['AWS::CloudWatch::Alarm', `${alarm}-2`],
        ['AWS::DynamoDB::Table', 'incidents'],
        ['AWS::SNS::Topic', TOPIC],
        ['AWS::KMS::Key', KEY_ID],
      ]);
      expect(swept.map((found) => rule.detect(found, testSettings()).compliant)).toEqual([
        false,
        true,
        true,
        false,
        true,
        true,
        true,
        true,
      ]);
      expect(cloudwatch).toHaveReceivedCommandWith(DescribeAlarmsCommand, { AlarmNamePrefix: `${STACK}-` });
      expect(events).toHaveReceivedCommandWith(ListRulesCommand, { NamePrefix: `${STACK}-` });
    });

    it('checks only rules, functions and alarms outside the home region', async () => {
      // Prepare
      events.on(ListRulesCommand).resolves({ Rules: [] });
      lambda.on(ListFunctionsCommand).resolves({ Functions: [] });
      cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
      // Act
      const swept = await sweep('eu-west-1');
      // Assess
      expect(swept).toEqual([]);
      expect(dynamodb.calls()).toEqual([]);
      expect(kms.calls()).toEqual([]);
    });

    it('lets a throttled read fail instead of reporting the stack intact', async () => {
      // Prepare
      events.on(ListRulesCommand).resolves({ Rules: [] });
      lambda.on(ListFunctionsCommand).rejects(awsError('TooManyRequestsException'));
      // Act / Assess
      await expect(sweep('us-east-1')).rejects.toThrow('TooManyRequestsException raised');
    });
  });

  describe("the default bus's organisation statement (deployment: organisation; PutPermission, RemovePermission)", () => {
    const ORG = 'o-abcdefghij';
    const SID = `${STACK}-organisation`;
    const BUS_ARN = `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/default`;
    const organisation = () => testSettings({ ORGANIZATION_ID: ORG });
    /** The statement as the stack deploys it; moto renders principal "*" as {"AWS":"arn:aws:iam::*:root"}. */
    const deployed = (overrides: Record<string, unknown> = {}) => ({
      Sid: SID,
      Effect: 'Allow',
      Principal: '*',
      Action: 'events:PutEvents',
      Resource: BUS_ARN,
      Condition: { StringEquals: { 'aws:PrincipalOrgID': ORG } },
      ...overrides,
    });
    const bus = (...statements: unknown[]) =>
      events.on(DescribeEventBusCommand).resolves({
        Name: 'default',
        Arn: BUS_ARN,
        ...(statements.length > 0 && {
          Policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
        }),
      });
    const busRef = (eventName = 'RemovePermission') =>
      ref('AWS::Events::EventBusPolicy', 'default', 'us-east-1', eventName);
    const RESTORED = {
      EventBusName: 'default',
      StatementId: SID,
      Action: 'events:PutEvents',
      Principal: '*',
      Condition: { Type: 'StringEquals', Key: 'aws:PrincipalOrgID', Value: ORG },
    };

    async function respondInOrganisation(resourceRef: ResourceRef) {
      const settings = organisation();
      const loaded = await rule.load(resourceRef, aws, settings);
      if (!loaded) throw new Error('expected the bus statement to be read');
      const verdict = rule.detect(loaded, settings);
      if (verdict.compliant) return { loaded, verdict, steps: [], outcome: 'compliant' };
      const { context, steps } = recordingContext(aws, settings);
      const outcome = await rule.remediate(loaded, verdict, context).then(
        () => 'restored',
        (error: unknown) =>
          error instanceof RemediationDeclined ? `declined: ${error.message}` : `failed: ${error}`,
      );
      return { loaded, verdict, steps, outcome };
    }

    it('puts a removed statement back exactly as deployed, with RemovePermission as the undo, leaving others', async () => {
      // Prepare: someone removed it; another account's statement stays
      bus({
        ...deployed({ Sid: 'partner', Principal: { AWS: 'arn:aws:iam::444455556666:root' } }),
        Condition: undefined,
      });
      events.on(PutPermissionCommand).resolves({});
      // Act
      const { loaded, verdict, steps, outcome } = await respondInOrganisation(busRef());
      // Assess
      expect(loaded.arn).toBe(BUS_ARN);
      expect(verdict).toMatchObject({
        reason: `the default event bus's statement ${SID} admitting organisation ${ORG} was removed: every member account's events are refused and only the hourly sweep reaches them`,
        evidence: { resourceType: 'AWS::Events::EventBusPolicy', statement: 'missing' },
      });
      expect(outcome).toBe('restored');
      expect(events).toHaveReceivedCommandTimes(PutPermissionCommand, 1);
      expect(events).toHaveReceivedCommandWith(PutPermissionCommand, RESTORED);
      expect(steps).toEqual([
        {
          action: 'PutPermission',
          undo: {
            service: 'events',
            action: 'RemovePermission',
            input: { EventBusName: 'default', StatementId: SID, Region: 'us-east-1' },
          },
        },
      ]);
    });

    it.each([
      ['widened to every principal (no condition)', { Condition: undefined }, 'Condition', true],
      [
        'narrowed to another organisation',
        { Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-zzzzzzzzzz' } } },
        'Condition',
        false,
      ],
      [
        'narrowed to one account',
        { Principal: { AWS: 'arn:aws:iam::444455556666:root' } },
        'Principal',
        false,
      ],
    ])(
      'puts back a statement %s under the same id (PutPermission replaces a statement of that id)',
      async (_name, change, difference, admits) => {
        // Prepare
        bus(deployed(change));
        events.on(PutPermissionCommand).resolves({});
        // Act
        const { verdict, outcome } = await respondInOrganisation(busRef('PutPermission'));
        // Assess
        expect(verdict).toMatchObject({
          evidence: { statement: 'changed', differences: difference, admitsOrganisation: admits },
        });
        expect(outcome).toBe('restored');
        expect(events).toHaveReceivedCommandWith(PutPermissionCommand, RESTORED);
      },
    );

    it.each([
      ['as written', '*'],
      ['as AWS renders it', { AWS: '*' }],
      ['as moto renders it', { AWS: 'arn:aws:iam::*:root' }],
    ])(
      'reads the deployed statement with principal "*" %s as intact, and changes nothing',
      async (_name, principal) => {
        // Prepare
        bus(deployed({ Principal: principal }), {
          ...deployed({ Sid: 'partner', Principal: { AWS: '444455556666' } }),
        });
        // Act
        const { verdict } = await respondInOrganisation(busRef('PutPermission'));
        // Assess
        expect(verdict).toEqual({ compliant: true });
        expect(events).not.toHaveReceivedCommand(PutPermissionCommand);
      },
    );

    it('declines when another statement also grants every principal: putting ours back could replace it', async () => {
      // Prepare: ours removed, someone's own "*" statement added
      bus(deployed({ Sid: 'someone-elses', Condition: undefined }));
      // Act
      const { verdict, steps, outcome } = await respondInOrganisation(busRef());
      // Assess
      expect(verdict).toMatchObject({ evidence: { statement: 'missing', othersGrantingEveryone: 1 } });
      expect(steps).toEqual([]);
      expect(events).not.toHaveReceivedCommand(PutPermissionCommand);
      expect(outcome).toMatch(/^declined: .*someone-elses also grants every principal.*nothing destroyed/);
    });

    describe('other statements that admit more than the organisation or refuse its events (alert only)', () => {
      const OPEN = {
        Sid: 'open',
        Effect: 'Allow',
        Principal: '*',
        Action: 'events:PutEvents',
        Resource: BUS_ARN,
      };
      const REFUSE = {
        Sid: 'refuse',
        Effect: 'Deny',
        Principal: '*',
        Action: 'events:PutEvents',
        Resource: BUS_ARN,
        Condition: { StringNotEquals: { 'aws:PrincipalAccount': ACCOUNT } },
      };

      it('pages on another statement letting every principal put events, ours intact: nothing changed', async () => {
        // Prepare
        bus(deployed(), OPEN);
        // Act
        const { verdict, steps, outcome } = await respondInOrganisation(busRef('PutPermission'));
        // Assess
        expect(verdict).toMatchObject({
          compliant: false,
          reason: `the default event bus's policy has statement open letting principals outside organisation ${ORG} put events (principal "*" without aws:PrincipalOrgID ${ORG}): any AWS account can send events to the bus, which match the responder's rules and use up its functions' concurrency`,
          evidence: {
            resourceType: 'AWS::Events::EventBusPolicy',
            statement: 'intact',
            othersBeyondOrganisation: 'open',
          },
        });
        expect(steps).toEqual([]);
        expect(events).not.toHaveReceivedCommand(PutPermissionCommand);
        expect(outcome).toMatch(
          /^declined: statement open lets principals outside organisation .*the responder never removes or rewrites a statement it did not make/,
        );
      });

      it('pages on a Deny of PutEvents, ours intact: nothing changed, the condition never repeated', async () => {
        // Prepare
        bus(deployed(), REFUSE);
        // Act
        const { verdict, steps, outcome } = await respondInOrganisation(busRef('PutPermission'));
        // Assess
        expect(verdict).toMatchObject({
          compliant: false,
          reason: `the default event bus's policy has statement refuse denying events:PutEvents on the bus: member accounts' events can be refused, and show only hours later as silent members`,
          evidence: { statement: 'intact', othersDenying: 'refuse' },
        });
        expect(JSON.stringify(verdict)).not.toContain('PrincipalAccount');
        expect(steps).toEqual([]);
        expect(events).not.toHaveReceivedCommand(PutPermissionCommand);
        expect(outcome).toMatch(/^declined: statement refuse denies events:PutEvents on the bus/);
      });

      it('puts our removed statement back and still pages on the Deny left in place', async () => {
        // Prepare
        bus(REFUSE);
        events.on(PutPermissionCommand).resolves({});
        // Act
        const { verdict, steps, outcome } = await respondInOrganisation(busRef());
        // Assess
        expect(verdict).toMatchObject({
          evidence: { statement: 'missing', othersDenying: 'refuse' },
          plan: expect.stringContaining('then nothing automatic for statement refuse'),
        });
        expect(events).toHaveReceivedCommandTimes(PutPermissionCommand, 1);
        expect(events).toHaveReceivedCommandWith(PutPermissionCommand, RESTORED);
        expect(steps.map((step) => step.action)).toEqual(['PutPermission']);
        expect(outcome).toMatch(/^declined: statement refuse denies/);
      });

      it('leaves a narrowly scoped Allow to one account alone (compliant)', async () => {
        // Prepare
        bus(deployed(), { ...OPEN, Sid: 'partner', Principal: { AWS: 'arn:aws:iam::444455556666:root' } });
        // Act
        const { verdict } = await respondInOrganisation(busRef('PutPermission'));
        // Assess
        expect(verdict).toEqual({ compliant: true });
      });

      it('handles an admin’s PutPermission adding a "*" statement end to end: one CRITICAL open incident naming the actor, one alert, no change', async () => {
        // Prepare
        bus(deployed(), OPEN);
        const store = new MemoryIncidentStore();
        const alerts = new CollectingAlerts();
        const responder = new ResponsePipeline(rule, {
          aws,
          settings: organisation(),
          store,
          alerts,
          guard: { acquire: async () => ({ allowed: true }) } as unknown as BlastRadiusGuard,
          exemptions: new MemoryExemptionLedger(),
          logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
          metrics: { count: () => undefined },
          verify: { attempts: 1, delayMs: 1 },
        });
        const caller = humanCaller(ACCOUNT);
        // Act
        await responder.handle(
          parseCloudTrailEvent(
            cloudTrailEvent({
              eventName: 'PutPermission',
              eventSource: 'events.amazonaws.com',
              region: 'us-east-1',
              caller,
              requestParameters: { statementId: 'open', action: 'events:PutEvents', principal: '*' },
            }),
          ),
        );
        // Assess
        const [incident, ...others] = [...store.incidents.values()];
        expect(others).toEqual([]);
        expect(incident).toMatchObject({
          severity: 'CRITICAL',
          status: 'open',
          resourceType: 'AWS::Events::EventBusPolicy',
          resourceId: 'default',
          actor: { arn: caller.arn },
          evidence: { statement: 'intact', othersBeyondOrganisation: 'open' },
          statusReason: expect.stringContaining('statement open lets principals outside organisation'),
        });
        expect(incident?.steps.map((step) => step.action)).toEqual([]);
        expect(alerts.sent).toHaveLength(1);
        expect(events).not.toHaveReceivedCommand(PutPermissionCommand);
      });
    });

    it('sends PutPermission only through its shape: a refused request is never sent', async () => {
      // Prepare
      bus();
      const refuse = jest.spyOn(ownCalls, 'refuseOutsideShape').mockImplementation(() => {
        throw new ownCalls.RequestOutsideShapeError('PutPermission', ['Policy']);
      });
      try {
        // Act
        const { outcome } = await respondInOrganisation(busRef());
        // Assess
        expect(outcome).toMatch(/^failed: RequestOutsideShapeError/);
        expect(refuse).toHaveBeenCalledWith(ownCalls.OwnCall.PutPermission, RESTORED);
        expect(events).not.toHaveReceivedCommand(PutPermissionCommand);
      } finally {
        refuse.mockRestore();
      }
    });

    it('reads nothing of the bus in a single-account deployment, nor in another region or for another bus', async () => {
      // Act
      const single = await rule.load(busRef(), aws, testSettings());
      const elsewhere = await rule.load(
        ref('AWS::Events::EventBusPolicy', 'default', 'eu-west-1'),
        aws,
        organisation(),
      );
      const otherBus = await rule.load(
        ref('AWS::Events::EventBusPolicy', 'partners', 'us-east-1'),
        aws,
        organisation(),
      );
      // Assess
      expect([single, elsewhere, otherBus]).toEqual([undefined, undefined, undefined]);
      expect(events).not.toHaveReceivedCommand(DescribeEventBusCommand);
    });

    it('maps EventBridge’s PutPermission and RemovePermission on the default bus (no name, its name or ARN), and Lambda’s RemovePermission still to the function', () => {
      // Act
      const observed = [
        {
          eventSource: 'events.amazonaws.com',
          eventName: 'RemovePermission',
          requestParameters: { statementId: SID },
        },
        {
          eventSource: 'events.amazonaws.com',
          eventName: 'PutPermission',
          requestParameters: { eventBusName: BUS_ARN, policy: '{"Statement":[]}' },
        },
        {
          eventSource: 'events.amazonaws.com',
          eventName: 'RemovePermission',
          requestParameters: { eventBusName: 'default', removeAllPermissions: true },
        },
        {
          eventSource: 'lambda.amazonaws.com',
          eventName: 'RemovePermission',
          requestParameters: { functionName: FUNCTION, statementId: 's' },
        },
      ].map(({ eventSource, eventName, requestParameters }) => {
        const parsed = parseCloudTrailEvent(
          cloudTrailEvent({
            eventName,
            eventSource,
            region: 'us-east-1',
            caller: humanCaller(ACCOUNT),
            requestParameters,
          }),
        );
        const [observation] = parsed.kind === 'resources' ? parsed.observations : [];
        return [observation?.resourceType, observation?.resourceId];
      });
      // Assess
      expect(observed).toEqual([
        ['AWS::Events::EventBusPolicy', 'default'],
        ['AWS::Events::EventBusPolicy', 'default'],
        ['AWS::Events::EventBusPolicy', 'default'],
        ['AWS::Lambda::Function', FUNCTION],
      ]);
    });

    it('handles a person’s PutPermission on the bus end to end in an organisation (restored, CRITICAL, one alert), and ignores it in a single account', async () => {
      // Prepare
      bus(deployed({ Condition: undefined }));
      events.on(PutPermissionCommand).resolves({});
      const run = (settings: ReturnType<typeof testSettings>) => {
        const store = new MemoryIncidentStore();
        const alerts = new CollectingAlerts();
        const responder = new ResponsePipeline(rule, {
          aws,
          settings,
          store,
          alerts,
          guard: { acquire: async () => ({ allowed: true }) } as unknown as BlastRadiusGuard,
          exemptions: new MemoryExemptionLedger(),
          logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
          metrics: { count: () => undefined },
          verify: { attempts: 1, delayMs: 1 },
        });
        const event = parseCloudTrailEvent(
          cloudTrailEvent({
            eventName: 'PutPermission',
            eventSource: 'events.amazonaws.com',
            region: 'us-east-1',
            caller: humanCaller(ACCOUNT),
            requestParameters: { statementId: SID, action: 'events:PutEvents', principal: '*' },
          }),
        );
        return { done: responder.handle(event), store, alerts };
      };
      // Act
      const single = run(testSettings());
      await single.done;
      const inOrganisation = run(organisation());
      await inOrganisation.done;
      // Assess
      expect([...single.store.incidents.values()]).toEqual([]);
      const [incident, ...others] = [...inOrganisation.store.incidents.values()];
      expect(others).toEqual([]);
      expect(incident).toMatchObject({
        severity: 'CRITICAL',
        resourceType: 'AWS::Events::EventBusPolicy',
        resourceId: 'default',
        evidence: { statement: 'changed', differences: 'Condition' },
      });
      expect(inOrganisation.alerts.sent).toHaveLength(1);
      expect(events).toHaveReceivedCommandTimes(PutPermissionCommand, 1);
    });

    it('the sweep checks the statement in the home region of an organisation deployment only', async () => {
      // Prepare
      bus(deployed());
      events.on(ListRulesCommand).resolves({ Rules: [] });
      lambda.on(ListFunctionsCommand).resolves({ Functions: [] });
      cloudwatch.on(DescribeAlarmsCommand).resolves({});
      dynamodb
        .on(DescribeTableCommand)
        .resolves({ Table: { TableName: 'incidents', DeletionProtectionEnabled: true } });
      sns.on(GetTopicAttributesCommand).resolves({});
      sns.on(ListSubscriptionsByTopicCommand).resolves({ Subscriptions: [] });
      kms
        .on(DescribeKeyCommand)
        .resolves({ KeyMetadata: { KeyId: KEY_ID, Arn: KEY_ARN, KeyState: 'Enabled' } });
      const types = async (settings: ReturnType<typeof testSettings>) => {
        const listed: string[] = [];
        for await (const each of rule.list({ accountId: ACCOUNT, region: 'us-east-1' }, aws, settings))
          listed.push(each.resourceType);
        return listed;
      };
      // Act
      const inOrganisation = await types(organisation());
      const single = await types(testSettings());
      // Assess
      expect(inOrganisation).toContain('AWS::Events::EventBusPolicy');
      expect(single).not.toContain('AWS::Events::EventBusPolicy');
      expect(events).toHaveReceivedCommandTimes(DescribeEventBusCommand, 1);
    });
  });

  it('listens to every self-protection call, each mapped to a resource type it can load', async () => {
    // Assess
    expect([...(rule.triggers.cloudTrail?.eventNames ?? [])].sort()).toEqual(
      SELF_PROTECTION_EVENTS.map((row) => row.eventName).sort(),
    );
    expect(new Set(SELF_PROTECTION_EVENTS.map((row) => row.resourceType))).toEqual(
      new Set([
        'AWS::Events::Rule',
        'AWS::Lambda::Function',
        'AWS::Config::ConfigRule',
        'AWS::SNS::Topic',
        'AWS::SNS::Subscription',
        'AWS::DynamoDB::Table',
        'AWS::KMS::Key',
        'AWS::IAM::Role',
        'AWS::CloudWatch::Alarm',
        'AWS::Logs::LogGroup',
        'AWS::CloudTrail::Trail',
        'AWS::Config::ConfigurationRecorder',
      ]),
    );
  });

  // Runs last: the contract between what the rule declares and what its tests saw it send.
  it('declares an IAM permission for every AWS call its tests saw it make', () => {
    // Assess
    expect(sent.all.length).toBeGreaterThan(10);
    const declared = [...actionsOf(rule), ...organisationActionsOf(rule)];
    expect(sent.all.filter((action) => !declared.includes(action))).toEqual([]);
  });
  describe("the responder's own calls IAM cannot limit (UpdateSSHPublicKey, UpdateTrail, UpdateTable, PutPermission)", () => {
    // testSettings(): RESPONDER_ROLE_ARNS holds this function role; the on-call role is a person's.
    const FUNCTION_ROLE = `arn:aws:iam::${ACCOUNT}:role/responder-ebs`;
    const ON_CALL_ROLE = `arn:aws:iam::${ACCOUNT}:role/${STACK}-on-call`;
    function pipeline() {
      const store = new MemoryIncidentStore();
      const alerts = new CollectingAlerts();
      const responder = new ResponsePipeline(rule, {
        aws,
        settings: testSettings(),
        store,
        alerts,
        guard: { acquire: async () => ({ allowed: true }) } as unknown as BlastRadiusGuard,
        exemptions: new MemoryExemptionLedger(),
        logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
        metrics: { count: () => undefined },
        verify: { attempts: 1, delayMs: 1 },
      });
      return { responder, store, alerts };
    }
    const called = (
      eventSource: string,
      eventName: string,
      requestParameters: Record<string, unknown>,
      role = FUNCTION_ROLE,
    ) =>
      parseCloudTrailEvent(
        cloudTrailEvent({
          eventName,
          eventSource,
          region: 'us-east-1',
          caller: roleCaller(role),
          requestParameters,
        }),
      );
    const sshKey = (status: string, role?: string) =>
      called(
        'iam.amazonaws.com',
        'UpdateSSHPublicKey',
        { userName: 'dev-alice', sSHPublicKeyId: 'APKAEXAMPLEKEY0001', status },
        role,
      );

    it('UpdateSSHPublicKey setting Active, by a function role: a CRITICAL incident naming fields, never values, and nothing undone', async () => {
      // Prepare
      const { responder, store, alerts } = pipeline();
      // Act
      await responder.handle(sshKey('Active'));
      // Assess
      const [incident, ...others] = [...store.incidents.values()];
      expect(others).toEqual([]);
      expect(incident).toMatchObject({
        ruleId: 'self-protection',
        severity: 'CRITICAL',
        status: 'open',
        mode: 'notify',
        resourceType: 'AWS::IAM::User',
        resourceId: 'dev-alice',
        actor: { sessionIssuerArn: FUNCTION_ROLE },
        evidence: { ownCall: 'UpdateSSHPublicKey', fieldsOutsideShape: 'status' },
        steps: [],
      });
      expect(incident?.reason).toContain('UpdateSSHPublicKey');
      expect(JSON.stringify(incident?.evidence)).not.toMatch(/APKAEXAMPLEKEY0001|Active/);
      expect(alerts.sent.map((alert) => alert.attributes.severity)).toEqual(['CRITICAL']);
      expect(iam.calls()).toEqual([]);
    });

    it('raises nothing for the same call in its allowed shape (Inactive), nor for a person’s undo as the on-call role', async () => {
      // Prepare
      const { responder, store, alerts } = pipeline();
      // Act
      await responder.handle(sshKey('Inactive'));
      await responder.handle(sshKey('Active', ON_CALL_ROLE));
      // Assess
      expect([...store.incidents.values()]).toEqual([]);
      expect(alerts.sent).toEqual([]);
    });

    it('UpdateTrail by a function role changing the bucket: CRITICAL; turning validation and multi-region on: nothing', async () => {
      // Prepare
      const { responder, store } = pipeline();
      // Act
      await responder.handle(
        called('cloudtrail.amazonaws.com', 'UpdateTrail', {
          name: 'audit',
          enableLogFileValidation: true,
          isMultiRegionTrail: true,
        }),
      );
      await responder.handle(
        called('cloudtrail.amazonaws.com', 'UpdateTrail', {
          name: 'audit',
          s3BucketName: 'elsewhere-bucket',
        }),
      );
      // Assess
      const [incident, ...others] = [...store.incidents.values()];
      expect(others).toEqual([]);
      expect(incident).toMatchObject({
        severity: 'CRITICAL',
        resourceId: 'audit',
        evidence: { ownCall: 'UpdateTrail', fieldsOutsideShape: 's3BucketName' },
      });
      expect(JSON.stringify(incident)).not.toContain('elsewhere-bucket');
    });

    it('UpdateTable by a function role turning protection off: CRITICAL, without holding the table’s own drift lock; protection on: nothing', async () => {
      // Prepare
      const { responder, store } = pipeline();
      const table = { tableName: 'incidents' };
      // Act
      await responder.handle(
        called('dynamodb.amazonaws.com', 'UpdateTable', { ...table, deletionProtectionEnabled: true }),
      );
      await responder.handle(
        called('dynamodb.amazonaws.com', 'UpdateTable', { ...table, deletionProtectionEnabled: false }),
      );
      // Assess
      const [incident, ...others] = [...store.incidents.values()];
      expect(others).toEqual([]);
      expect(incident).toMatchObject({
        severity: 'CRITICAL',
        resourceId: 'incidents',
        evidence: { ownCall: 'UpdateTable', fieldsOutsideShape: 'deletionProtectionEnabled' },
      });
      expect(incident?.resourceArn).not.toBe(`arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/incidents`);
      expect(dynamodb.calls()).toEqual([]);
    });

    it('PutPermission by a function role replacing the bus policy whole: CRITICAL naming the field, never the policy; the organisation statement put back by parameters: nothing', async () => {
      // Prepare
      const { responder, store, alerts } = pipeline();
      const statement = {
        statementId: `${STACK}-organisation`,
        action: 'events:PutEvents',
        principal: '*',
        condition: { type: 'StringEquals', key: 'aws:PrincipalOrgID', value: 'o-abcdefghij' },
      };
      // Act
      await responder.handle(called('events.amazonaws.com', 'PutPermission', statement));
      await responder.handle(
        called('events.amazonaws.com', 'PutPermission', { policy: '{"Statement":["secret-ish"]}' }),
      );
      // Assess
      const [incident, ...others] = [...store.incidents.values()];
      expect(others).toEqual([]);
      expect(incident).toMatchObject({
        severity: 'CRITICAL',
        mode: 'notify',
        resourceType: 'AWS::Events::EventBusPolicy',
        resourceId: 'default',
        evidence: { ownCall: 'PutPermission', fieldsOutsideShape: 'policy' },
        steps: [],
      });
      expect(JSON.stringify(incident)).not.toContain('secret-ish');
      expect(alerts.sent).toHaveLength(1);
      expect(events.calls()).toEqual([]);
    });

    it('declares the exception: only these calls, routed only when a responder role made them', () => {
      // Assess
      expect(rule.ownCalls?.eventNames).toEqual([
        'UpdateTrail',
        'UpdateSSHPublicKey',
        'UpdateTable',
        'PutPermission',
      ]);
    });
  });
});
