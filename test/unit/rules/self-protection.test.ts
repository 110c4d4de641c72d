import { ConfigServiceClient, DescribeConfigRulesCommand } from '@aws-sdk/client-config-service';
import { DescribeTableCommand, DynamoDBClient, UpdateTableCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeRuleCommand,
  EnableRuleCommand,
  EventBridgeClient,
  ListRulesCommand,
  ListTargetsByRuleCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CancelKeyDeletionCommand,
  DescribeKeyCommand,
  EnableKeyCommand,
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
import { createAwsClients } from '../../../shared/aws/clients';
import { RemediationDeclined } from '../../../shared/errors';
import type { Loaded, ResourceRef } from '../../../shared/rules/rule';
import { selfProtection as rule, SELF_PROTECTION_EVENTS } from '../../../shared/rules/self-protection';
import { testSettings } from '../../support/incident';
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

const ref = (resourceType: string, resourceId: string, region = 'us-east-1'): ResourceRef => ({
  resourceType,
  resourceId,
  region,
  accountId: ACCOUNT,
});
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
  const aws = createAwsClients('us-east-1');
  const sent = new SentActions();
  beforeEach(() => {
    for (const stub of [events, lambda, dynamodb, sns, kms, config]) stub.reset();
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
  });
  afterAll(() => {
    for (const stub of [events, lambda, dynamodb, sns, kms, config]) stub.restore();
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
    ['a type self-protection does not know', 'AWS::S3::Bucket', 'bucket'],
  ])('leaves %s alone, without reading anything', async (_what, resourceType, resourceId) => {
    // Act
    const loaded = await rule.load(ref(resourceType, resourceId), aws, testSettings());
    // Assess
    expect(loaded).toBeUndefined();
    for (const stub of [events, lambda, dynamodb, sns, kms, config]) expect(stub.calls()).toEqual([]);
  });

  describe('the sweep', () => {
    async function sweep(region: string) {
      const swept: Loaded<unknown>[] = [];
      for await (const found of rule.list({ accountId: ACCOUNT, region }, aws, testSettings()))
        swept.push(found);
      return swept;
    }

    it('checks the stack’s rules (every page) and functions by prefix, and the table, topic and key in the home region', async () => {
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
      // Act
      const swept = await sweep('us-east-1');
      // Assess
      expect(swept.map((found) => [found.resourceType, found.resourceId])).toEqual([
        ['AWS::Events::Rule', RULE],
        ['AWS::Events::Rule', `${STACK}-EbsDashencryptionDashbyDashd-1A2B3C`],
        ['AWS::Lambda::Function', FUNCTION],
        ['AWS::DynamoDB::Table', 'incidents'],
        ['AWS::SNS::Topic', TOPIC],
        ['AWS::KMS::Key', KEY_ID],
      ]);
      expect(swept.map((found) => rule.detect(found, testSettings()).compliant)).toEqual([
        false,
        true,
        true,
        true,
        true,
        true,
      ]);
      expect(events).toHaveReceivedCommandWith(ListRulesCommand, { NamePrefix: `${STACK}-` });
    });

    it('checks only rules and functions outside the home region', async () => {
      // Prepare
      events.on(ListRulesCommand).resolves({ Rules: [] });
      lambda.on(ListFunctionsCommand).resolves({ Functions: [] });
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
      ]),
    );
  });

  // Runs last: the contract between what the rule declares and what its tests saw it send.
  it('declares an IAM permission for every AWS call its tests saw it make', () => {
    // Assess
    expect(sent.all.length).toBeGreaterThan(10);
    expect(sent.all.filter((action) => !rule.permissions.includes(action))).toEqual([]);
  });
});
