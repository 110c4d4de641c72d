import { CloudTrailClient, CreateTrailCommand, PutEventSelectorsCommand } from '@aws-sdk/client-cloudtrail';
import { CloudWatchClient, DeleteAlarmsCommand, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  PutRetentionPolicyCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { ConfigServiceClient, PutConfigurationRecorderCommand } from '@aws-sdk/client-config-service';
import {
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteRuleCommand,
  DescribeEventBusCommand,
  DescribeRuleCommand,
  DisableRuleCommand,
  EventBridgeClient,
  PutEventsCommand,
  PutPermissionCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemovePermissionCommand as RemoveBusPermissionCommand,
  RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateRoleCommand,
  IAMClient,
  ListSSHPublicKeysCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import {
  DescribeKeyCommand,
  DisableKeyCommand,
  DisableKeyRotationCommand,
  GetKeyRotationStatusCommand,
  KMSClient,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import {
  AddPermissionCommand,
  DeleteFunctionCommand,
  GetFunctionConcurrencyCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  PutFunctionConcurrencyCommand,
  RemovePermissionCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DeleteTopicCommand,
  SetSubscriptionAttributesCommand,
  SNSClient,
  SubscribeCommand,
  UnsubscribeCommand,
} from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { ruleResources } from '../../scripts/lib/deployment';
import {
  type Caller,
  cloudTrailEvent,
  humanCaller,
  roleCaller,
  scheduledEvent,
} from '../../scripts/lib/events';
import type { Incident } from '../../shared/model';
import { selfProtection } from '../../shared/rules/self-protection';
import { LocalResponder, resetAccount } from '../support/local-responder';
import { recordCalls, writesAmong } from '../support/recorder';
import { seedStackRouting } from '../support/self-protection';
import { userWithKey } from '../support/ssh';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const STACK = 'compliance-responder-local';
const ALICE = `arn:aws:iam::${ACCOUNT}:user/dev-alice`;
const DEPLOY_ROLE = `arn:aws:iam::${ACCOUNT}:role/compliance-responder-deploy`;
const loadFunction = () => require('../../functions/self-protection');

const events = new EventBridgeClient({ region: REGION });
const lambda = new LambdaClient({ region: REGION });
const dynamodb = new DynamoDBClient({ region: REGION });
const kms = new KMSClient({ region: REGION });
const sns = new SNSClient({ region: REGION });

const call = (
  eventSource: string,
  eventName: string,
  requestParameters: Record<string, unknown>,
  caller: Caller,
) => cloudTrailEvent({ eventName, eventSource, region: REGION, caller, requestParameters });

const ruleState = async (name: string) => (await events.send(new DescribeRuleCommand({ Name: name }))).State;
const keyState = async (keyArn: string) =>
  (await kms.send(new DescribeKeyCommand({ KeyId: keyArn }))).KeyMetadata?.KeyState;
const keyIdOf = (keyArn: string) => keyArn.split('/').pop() ?? keyArn;

describe('self-protection end to end against moto', () => {
  let responder: LocalResponder;
  let routing: { functionName: string; ruleName: string };
  const alice = humanCaller(ACCOUNT);

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision();
    routing = await seedStackRouting(STACK, REGION, responder.stack.env);
  });

  /** Delivers one CloudTrail call to the function, as EventBridge would; resolves to its outcomes. */
  const deliver = async (event: ReturnType<typeof call>, overrides: Record<string, string> = {}) =>
    (await responder.handlerOf(loadFunction, overrides)(event)).outcomes;

  /** The one CRITICAL incident and the one alert a call raised, both naming who made it. */
  async function expectOneCriticalIncidentNaming(actorArn: string, status: Incident['status']) {
    const [incident, ...others] = await responder.incidents();
    expect(others).toEqual([]);
    expect(incident).toMatchObject({
      ruleId: 'self-protection',
      severity: 'CRITICAL',
      status,
      actor: { arn: actorArn, sourceIp: '198.51.100.23' },
    });
    const alerts = await responder.alerts();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      attributes: { severity: 'CRITICAL', ruleId: 'self-protection', status },
      body: { incidentId: incident?.incidentId, actor: { arn: actorArn } },
    });
    return incident as Incident;
  }

  it('DisableRule on a responder rule: enabled again, CRITICAL incident and alert naming the actor', async () => {
    // Prepare
    await events.send(new DisableRuleCommand({ Name: routing.ruleName }));
    // Act
    await deliver(call('events.amazonaws.com', 'DisableRule', { name: routing.ruleName }, alice));
    // Assess
    expect(await ruleState(routing.ruleName)).toBe('ENABLED');
    const incident = await expectOneCriticalIncidentNaming(ALICE, 'remediated');
    expect(incident).toMatchObject({ resourceType: 'AWS::Events::Rule', resourceId: routing.ruleName });
    expect(incident.steps).toEqual([
      expect.objectContaining({
        action: 'EnableRule',
        result: 'succeeded',
        undo: { service: 'events', action: 'DisableRule', input: { Name: routing.ruleName, Region: REGION } },
      }),
      expect.objectContaining({ action: 'Verify', result: 'succeeded' }),
    ]);
  });

  describe("the default bus's organisation statement (deployment: organisation)", () => {
    const ORG = 'o-abcdefghij';
    const SID = `${STACK}-organisation`;
    const PARTNER = '444455556666';
    const organisation = { ORGANIZATION_ID: ORG };
    const statementOf = (organizationId: string | undefined) => ({
      EventBusName: 'default',
      StatementId: SID,
      Action: 'events:PutEvents',
      Principal: '*',
      ...(organizationId && {
        Condition: { Type: 'StringEquals', Key: 'aws:PrincipalOrgID', Value: organizationId },
      }),
    });
    const statements = async () =>
      (
        JSON.parse((await events.send(new DescribeEventBusCommand({ Name: 'default' }))).Policy ?? '{}') as {
          Statement?: { Sid: string; Principal: unknown; Condition?: unknown }[];
        }
      ).Statement ?? [];

    beforeEach(async () => {
      // As the home stack deploys it, plus a statement someone added for one partner account.
      await events.send(new PutPermissionCommand(statementOf(ORG)));
      await events.send(
        new PutPermissionCommand({
          EventBusName: 'default',
          StatementId: 'partner',
          Action: 'events:PutEvents',
          Principal: PARTNER,
        }),
      );
    });

    it('RemovePermission of the statement: put back exactly, the partner statement kept, CRITICAL incident and alert naming the actor', async () => {
      // Prepare
      await events.send(new RemoveBusPermissionCommand({ EventBusName: 'default', StatementId: SID }));
      // Act
      await deliver(
        call('events.amazonaws.com', 'RemovePermission', { statementId: SID }, alice),
        organisation,
      );
      // Assess
      const restored = await statements();
      expect(restored.map((statement) => statement.Sid).sort()).toEqual([SID, 'partner'].sort());
      expect(restored.find((statement) => statement.Sid === SID)).toMatchObject({
        Effect: 'Allow',
        // moto renders principal "*" so
        Principal: { AWS: 'arn:aws:iam::*:root' },
        Action: 'events:PutEvents',
        Resource: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default`,
        Condition: { StringEquals: { 'aws:PrincipalOrgID': ORG } },
      });
      const incident = await expectOneCriticalIncidentNaming(ALICE, 'remediated');
      expect(incident).toMatchObject({
        resourceType: 'AWS::Events::EventBusPolicy',
        resourceId: 'default',
        hipaa: ['164.312(b)', '164.308(a)(1)(ii)(D)'],
        runbook: expect.stringContaining('self-protection'),
        evidence: expect.objectContaining({ statement: 'missing' }),
      });
      expect(incident.reason).toContain(`statement ${SID} admitting organisation ${ORG} was removed`);
      expect(incident.steps).toEqual([
        expect.objectContaining({
          action: 'PutPermission',
          result: 'succeeded',
          undo: {
            service: 'events',
            action: 'RemovePermission',
            input: { EventBusName: 'default', StatementId: SID, Region: REGION },
          },
        }),
        expect.objectContaining({ action: 'Verify', result: 'succeeded' }),
      ]);
    });

    it('PutPermission widening the statement to every principal under the same id: put back with the organisation condition', async () => {
      // Prepare: moto replaces a statement of the same id (and of the same principal)
      await events.send(new PutPermissionCommand(statementOf(undefined)));
      expect((await statements()).find((statement) => statement.Sid === SID)?.Condition).toBeUndefined();
      // Act
      await deliver(
        call(
          'events.amazonaws.com',
          'PutPermission',
          { statementId: SID, action: 'events:PutEvents', principal: '*' },
          alice,
        ),
        organisation,
      );
      // Assess
      expect((await statements()).find((statement) => statement.Sid === SID)?.Condition).toEqual({
        StringEquals: { 'aws:PrincipalOrgID': ORG },
      });
      const incident = await expectOneCriticalIncidentNaming(ALICE, 'remediated');
      expect(incident.evidence).toMatchObject({ statement: 'changed', differences: 'Condition' });
    });

    it('PutPermission of a whole policy adding a "*" statement and a Deny beside ours: CRITICAL incident naming the actor, left open, no statement changed', async () => {
      // Prepare: moto merges a Policy into the statements there (AWS replaces the policy whole, so an
      // admin would send ours along); ours and the partner's stay, as moto keeps other principals.
      const BUS = `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default`;
      const added = [
        { Sid: 'open', Effect: 'Allow', Principal: { AWS: '*' }, Action: 'events:PutEvents', Resource: BUS },
        {
          Sid: 'refuse',
          Effect: 'Deny',
          Principal: '*',
          Action: 'events:PutEvents',
          Resource: BUS,
          Condition: { StringNotEquals: { 'aws:PrincipalAccount': ACCOUNT } },
        },
      ];
      const policy = JSON.stringify({ Version: '2012-10-17', Statement: added });
      await events.send(new PutPermissionCommand({ EventBusName: 'default', Policy: policy }));
      const before = await statements();
      expect(before.map((statement) => statement.Sid).sort()).toEqual(
        [SID, 'open', 'partner', 'refuse'].sort(),
      );
      // Act
      await deliver(
        call('events.amazonaws.com', 'PutPermission', { eventBusName: 'default', policy }, alice),
        organisation,
      );
      // Assess: nothing of anyone's statements changed
      expect(await statements()).toEqual(before);
      const incident = await expectOneCriticalIncidentNaming(ALICE, 'open');
      expect(incident).toMatchObject({
        resourceType: 'AWS::Events::EventBusPolicy',
        resourceId: 'default',
        evidence: expect.objectContaining({
          statement: 'intact',
          othersBeyondOrganisation: 'open',
          othersDenying: 'refuse',
        }),
        steps: [],
      });
      expect(incident.reason).toContain(
        `statement open letting principals outside organisation ${ORG} put events`,
      );
      expect(incident.reason).toContain('statement refuse denying events:PutEvents on the bus');
      expect(incident.statusReason).toContain('never removes or rewrites a statement it did not make');
      expect(JSON.stringify(incident)).not.toContain('PrincipalAccount');
    });

    it('routes, by the pattern the organisation stack deploys, both calls naming the default bus (no name, its name, its ARN) and no other bus or service', async () => {
      // Prepare: the generated rule's pattern, its stack values resolved as CloudFormation would
      const generated = ruleResources([selfProtection]).Resources as Record<
        string,
        { Properties: { EventPattern: unknown } }
      >;
      const pattern = JSON.stringify(generated.SelfProtectionOrganisation1EventRule?.Properties.EventPattern)
        .replace(/\{"Fn::Sub":"([^"]*)"\}/g, '"$1"')
        .replaceAll(`\${AWS::Partition}`, 'aws')
        .replaceAll(`\${AWS::Region}`, REGION)
        .replaceAll(`\${AWS::AccountId}`, ACCOUNT);
      const sqs = new SQSClient({ region: REGION });
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'bus-policy-routing' }));
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
      );
      await events.send(
        new PutRuleCommand({ Name: 'bus-policy-routing', EventPattern: pattern, State: 'ENABLED' }),
      );
      await events.send(
        new PutTargetsCommand({
          Rule: 'bus-policy-routing',
          Targets: [{ Id: 'q', Arn: String(Attributes?.QueueArn) }],
        }),
      );
      const calls = {
        'no bus named': ['events.amazonaws.com', 'RemovePermission', { statementId: SID }],
        'the default bus by name': [
          'events.amazonaws.com',
          'PutPermission',
          { eventBusName: 'default', policy: '{}' },
        ],
        'the default bus by ARN': [
          'events.amazonaws.com',
          'PutPermission',
          { eventBusName: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default`, statementId: SID },
        ],
        'another bus': [
          'events.amazonaws.com',
          'RemovePermission',
          { eventBusName: 'partners', statementId: SID },
        ],
        "Lambda's RemovePermission": [
          'lambda.amazonaws.com',
          'RemovePermission',
          { functionName: 'f', statementId: SID },
        ],
      } as const;
      // Act
      await events.send(
        new PutEventsCommand({
          Entries: Object.entries(calls).map(([name, [eventSource, eventName, requestParameters]]) => ({
            Source: 'aws.events',
            DetailType: 'AWS API Call via CloudTrail',
            Detail: JSON.stringify({ eventSource, eventName, requestParameters, userAgent: name }),
          })),
        }),
      );
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }),
      );
      // Assess (moto's pattern matcher; AWS documents the same OR within an array, `exists` among its operators)
      const routed = Messages.map(
        (message) => (JSON.parse(String(message.Body)) as { detail: { userAgent: string } }).detail.userAgent,
      );
      expect(routed.sort()).toEqual(['no bus named', 'the default bus by ARN', 'the default bus by name']);
    });

    it('changes and records nothing in a single-account deployment: the bus is not its to watch', async () => {
      // Prepare
      await events.send(new RemoveBusPermissionCommand({ EventBusName: 'default', StatementId: SID }));
      // Act
      await deliver(call('events.amazonaws.com', 'RemovePermission', { statementId: SID }, alice));
      // Assess
      expect((await statements()).map((statement) => statement.Sid)).toEqual(['partner']);
      expect(await responder.incidents()).toEqual([]);
    });
  });

  it('PutRule setting a responder rule DISABLED (DisableRule by another name): enabled again, CRITICAL', async () => {
    // Prepare
    await events.send(
      new PutRuleCommand({
        Name: routing.ruleName,
        EventPattern: JSON.stringify({ source: ['aws.ec2'] }),
        State: 'DISABLED',
      }),
    );
    // Act
    await deliver(
      call('events.amazonaws.com', 'PutRule', { name: routing.ruleName, state: 'DISABLED' }, alice),
    );
    // Assess
    expect(await ruleState(routing.ruleName)).toBe('ENABLED');
    const incident = await expectOneCriticalIncidentNaming(ALICE, 'remediated');
    expect(incident.steps.map((step) => step.action)).toEqual(['EnableRule', 'Verify']);
  });

  it('RemoveTargets on a responder rule: alert only (redeploy restores the targets)', async () => {
    // Prepare
    await events.send(new RemoveTargetsCommand({ Rule: routing.ruleName, Ids: ['target-1'] }));
    // Act
    await deliver(
      call('events.amazonaws.com', 'RemoveTargets', { rule: routing.ruleName, ids: ['target-1'] }, alice),
    );
    // Assess
    const incident = await expectOneCriticalIncidentNaming(ALICE, 'open');
    expect(incident.statusReason).toContain('has no targets');
  });

  it('DeleteRule on a responder rule: alert only, not NOT_APPLICABLE', async () => {
    // Prepare
    await events.send(new RemoveTargetsCommand({ Rule: routing.ruleName, Ids: ['target-1'] }));
    await events.send(new DeleteRuleCommand({ Name: routing.ruleName }));
    // Act
    const [outcome] = await deliver(
      call('events.amazonaws.com', 'DeleteRule', { name: routing.ruleName }, alice),
    );
    // Assess
    expect(outcome).toMatchObject({ compliance: 'NON_COMPLIANT', status: 'open' });
    const incident = await expectOneCriticalIncidentNaming(ALICE, 'open');
    expect(incident.statusReason).toContain('was deleted; redeploy the stack');
  });

  it.each(['PutFunctionConcurrency20171031', 'PutFunctionConcurrency'])(
    '%s to 0 on a responder function: the reservation is removed, with the undo',
    async (eventName) => {
      // Prepare
      await lambda.send(
        new PutFunctionConcurrencyCommand({
          FunctionName: routing.functionName,
          ReservedConcurrentExecutions: 0,
        }),
      );
      // Act
      await deliver(
        call(
          'lambda.amazonaws.com',
          eventName,
          { functionName: routing.functionName, reservedConcurrentExecutions: 0 },
          alice,
        ),
      );
      // Assess
      const concurrency = await lambda.send(
        new GetFunctionConcurrencyCommand({ FunctionName: routing.functionName }),
      );
      expect(concurrency.ReservedConcurrentExecutions).toBeUndefined();
      const incident = await expectOneCriticalIncidentNaming(ALICE, 'remediated');
      expect(incident.steps[0]).toMatchObject({
        action: 'DeleteFunctionConcurrency',
        undo: { action: 'PutFunctionConcurrency', input: { ReservedConcurrentExecutions: 0 } },
      });
    },
  );

  it.each(['DeleteFunction20150331', 'DeleteFunction'])(
    '%s on a responder function: alert only',
    async (eventName) => {
      // Prepare
      await lambda.send(new DeleteFunctionCommand({ FunctionName: routing.functionName }));
      // Act
      await deliver(call('lambda.amazonaws.com', eventName, { functionName: routing.functionName }, alice));
      // Assess
      const incident = await expectOneCriticalIncidentNaming(ALICE, 'open');
      expect(incident.statusReason).toContain(`function ${routing.functionName} was deleted`);
    },
  );

  /** The insider's own change of a responder function's environment, as lambda:UpdateFunctionConfiguration allows. */
  async function changeEnvironment(functionName: string, change: Record<string, string>) {
    const current = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
    const Variables = { ...current.Environment?.Variables, ...change };
    await lambda.send(
      new UpdateFunctionConfigurationCommand({ FunctionName: functionName, Environment: { Variables } }),
    );
  }

  it('UpdateFunctionConfiguration setting MODE_*=off outside a deployment: CRITICAL page naming the actor and the key', async () => {
    // Prepare: the insider switches the rule off in its own function
    await changeEnvironment(routing.functionName, { MODE_EBS_ENCRYPTION_BY_DEFAULT: 'off' });
    // Act: Lambda's CloudTrail name carries the API version
    await deliver(
      call(
        'lambda.amazonaws.com',
        'UpdateFunctionConfiguration20150331v2',
        { functionName: routing.functionName },
        alice,
      ),
    );
    // Assess: paged, not repaired (the responder has no power to rewrite functions)
    const incident = await expectOneCriticalIncidentNaming(ALICE, 'open');
    expect(incident).toMatchObject({
      resourceType: 'AWS::Lambda::Function',
      resourceId: routing.functionName,
    });
    expect(incident.reason).toContain('MODE_EBS_ENCRYPTION_BY_DEFAULT');
    expect(incident.evidence).toMatchObject({ environmentChanged: 'MODE_EBS_ENCRYPTION_BY_DEFAULT' });
    expect(JSON.stringify(incident.evidence)).not.toContain('off');
    expect(incident.steps).toEqual([]);
  });

  it('UpdateFunctionConfiguration adding the caller to the loop guard’s roles: CRITICAL page naming the role', async () => {
    // Prepare: the insider's role joins RESPONDER_ROLE_ARNS, so its next changes would look like the responder's
    const insiderRole = `arn:aws:iam::${ACCOUNT}:role/dev-ops`;
    const insider = roleCaller(insiderRole);
    const roles = String(responder.stack.env.RESPONDER_ROLE_ARNS);
    await changeEnvironment(routing.functionName, { RESPONDER_ROLE_ARNS: `${roles},${insiderRole}` });
    // Act
    await deliver(
      call(
        'lambda.amazonaws.com',
        'UpdateFunctionConfiguration',
        { functionName: routing.functionName },
        insider,
      ),
    );
    // Assess
    const [incident, ...others] = await responder.incidents();
    expect(others).toEqual([]);
    expect(incident).toMatchObject({
      severity: 'CRITICAL',
      status: 'open',
      actor: { sessionIssuerArn: insiderRole },
      evidence: { environmentChanged: 'RESPONDER_ROLE_ARNS' },
    });
    expect(JSON.stringify(incident?.evidence)).not.toContain('dev-ops');
    const alerts = await responder.alerts();
    expect(alerts).toMatchObject([{ attributes: { severity: 'CRITICAL', ruleId: 'self-protection' } }]);
  });

  it('UpdateFunctionCode outside a deployment: CRITICAL page (the code is not what was deployed)', async () => {
    // Prepare
    const otherCode = Buffer.from('UEsFBgAAAAAAAAAAAAAAAAAAAAAAAAAA', 'base64');
    await lambda.send(
      new UpdateFunctionCodeCommand({ FunctionName: routing.functionName, ZipFile: otherCode }),
    );
    // Act
    await deliver(
      call(
        'lambda.amazonaws.com',
        'UpdateFunctionCode20150331v2',
        { functionName: routing.functionName },
        alice,
      ),
    );
    // Assess
    const incident = await expectOneCriticalIncidentNaming(ALICE, 'open');
    expect(incident.evidence).toMatchObject({ codeChanged: true });
  });

  it('the sweep pages a configuration changed outside a deployment, with no event at all', async () => {
    // Prepare
    await changeEnvironment(routing.functionName, { AWS_ENDPOINT_URL: 'http://198.51.100.7:4566' });
    // Act
    await responder.handlerOf(loadFunction)(scheduledEvent({ accountId: ACCOUNT, region: REGION }));
    // Assess
    const [incident, ...others] = await responder.incidents();
    expect(others).toEqual([]);
    expect(incident).toMatchObject({
      severity: 'CRITICAL',
      status: 'open',
      resourceId: routing.functionName,
      evidence: { environmentChanged: 'AWS_ENDPOINT_URL' },
    });
  });

  it('DeleteConfigRule on a responder Config rule: alert only', async () => {
    // Act (no such rule in moto: it reads as deleted)
    await deliver(
      call(
        'config.amazonaws.com',
        'DeleteConfigRule',
        { configRuleName: `${STACK}-ebs-encryption-by-default` },
        alice,
      ),
    );
    // Assess
    const incident = await expectOneCriticalIncidentNaming(ALICE, 'open');
    expect(incident.resourceType).toBe('AWS::Config::ConfigRule');
  });

  it('Unsubscribe from the alert topic: alert only (the endpoint must confirm again)', async () => {
    // Prepare: a second subscriber (the on-call e-mail) is removed; the inbox still receives
    const { SubscriptionArn } = await sns.send(
      new SubscribeCommand({
        TopicArn: responder.stack.topicArn,
        Protocol: 'email',
        Endpoint: 'oncall@example.org',
      }),
    );
    await sns.send(new UnsubscribeCommand({ SubscriptionArn }));
    // Act
    await deliver(call('sns.amazonaws.com', 'Unsubscribe', { subscriptionArn: SubscriptionArn }, alice));
    // Assess
    const incident = await expectOneCriticalIncidentNaming(ALICE, 'open');
    expect(incident).toMatchObject({ resourceType: 'AWS::SNS::Subscription', resourceId: SubscriptionArn });
  });

  it('UpdateTable turning deletion protection off: back on, with the undo', async () => {
    // Prepare
    const table = responder.stack.tableName;
    await dynamodb.send(new UpdateTableCommand({ TableName: table, DeletionProtectionEnabled: false }));
    // Act
    await deliver(
      call(
        'dynamodb.amazonaws.com',
        'UpdateTable',
        { tableName: table, deletionProtectionEnabled: false },
        alice,
      ),
    );
    // Assess
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: table }));
    expect(Table?.DeletionProtectionEnabled).toBe(true);
    const incident = await expectOneCriticalIncidentNaming(ALICE, 'remediated');
    expect(incident.steps[0]).toMatchObject({
      action: 'UpdateTable',
      undo: { action: 'UpdateTable', input: { TableName: table, DeletionProtectionEnabled: false } },
    });
  });

  it('DisableKey on the stack key: enabled again, with the undo', async () => {
    // Prepare
    const keyId = keyIdOf(responder.stack.keyArn);
    await kms.send(new DisableKeyCommand({ KeyId: keyId }));
    // Act
    await deliver(call('kms.amazonaws.com', 'DisableKey', { keyId: responder.stack.keyArn }, alice));
    // Assess
    expect(await keyState(responder.stack.keyArn)).toBe('Enabled');
    const incident = await expectOneCriticalIncidentNaming(ALICE, 'remediated');
    expect(incident.steps.map((step) => step.action)).toEqual(['EnableKey', 'Verify']);
  });

  describe('silencing by configuration', () => {
    const cloudwatch = new CloudWatchClient({ region: REGION });
    const logs = new CloudWatchLogsClient({ region: REGION });
    const cloudtrail = new CloudTrailClient({ region: REGION });
    const config = new ConfigServiceClient({ region: REGION });
    const iam = new IAMClient({ region: REGION });

    it('DisableKeyRotation on the stack key: rotation enabled again, with the undo', async () => {
      // Prepare
      const keyId = keyIdOf(responder.stack.keyArn);
      await kms.send(new DisableKeyRotationCommand({ KeyId: keyId }));
      // Act
      await deliver(call('kms.amazonaws.com', 'DisableKeyRotation', { keyId }, alice));
      // Assess
      expect((await kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }))).KeyRotationEnabled).toBe(
        true,
      );
      const incident = await expectOneCriticalIncidentNaming(ALICE, 'remediated');
      expect(incident.steps).toEqual([
        expect.objectContaining({
          action: 'EnableKeyRotation',
          undo: { service: 'kms', action: 'DisableKeyRotation', input: { KeyId: keyId, Region: REGION } },
        }),
        expect.objectContaining({ action: 'Verify', result: 'succeeded' }),
      ]);
    });

    it('PutKeyPolicy on the stack key: CRITICAL page, the policy left for a person', async () => {
      // Act
      await deliver(
        call(
          'kms.amazonaws.com',
          'PutKeyPolicy',
          { keyId: responder.stack.keyArn, policyName: 'default' },
          alice,
        ),
      );
      // Assess
      const incident = await expectOneCriticalIncidentNaming(ALICE, 'open');
      expect(incident.statusReason).toMatch(/kms:PutKeyPolicy/);
    });

    it('a filter policy on an on-call subscription: CRITICAL page, the policy itself never copied', async () => {
      // Prepare: the insider lets only LOW alerts through to on-call
      const { SubscriptionArn } = await sns.send(
        new SubscribeCommand({
          TopicArn: responder.stack.topicArn,
          Protocol: 'sqs',
          Endpoint: `arn:aws:sqs:${REGION}:${ACCOUNT}:oncall`,
        }),
      );
      await sns.send(
        new SetSubscriptionAttributesCommand({
          SubscriptionArn,
          AttributeName: 'FilterPolicy',
          AttributeValue: JSON.stringify({ severity: ['LOW'] }),
        }),
      );
      // Act
      await deliver(
        call(
          'sns.amazonaws.com',
          'SetSubscriptionAttributes',
          { subscriptionArn: SubscriptionArn, attributeName: 'FilterPolicy' },
          alice,
        ),
      );
      // Assess
      const incident = await expectOneCriticalIncidentNaming(ALICE, 'open');
      expect(incident).toMatchObject({ resourceId: SubscriptionArn, evidence: { filterPolicy: true } });
      expect(JSON.stringify(incident)).not.toContain('LOW"');
    });

    it('PutRolePolicy on a responder role: CRITICAL page naming the call (IAM is never written back)', async () => {
      // Prepare
      const RoleName = `${STACK}-SelfProtectionRole-1A2B3C`;
      await iam.send(new CreateRoleCommand({ RoleName, AssumeRolePolicyDocument: '{}' }));
      await iam.send(
        new PutRolePolicyCommand({
          RoleName,
          PolicyName: 'deny-all',
          PolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Deny', Action: 'sns:Publish', Resource: '*' }],
          }),
        }),
      );
      // Act
      await deliver(
        call('iam.amazonaws.com', 'PutRolePolicy', { roleName: RoleName, policyName: 'deny-all' }, alice),
      );
      // Assess
      const incident = await expectOneCriticalIncidentNaming(ALICE, 'open');
      expect(incident).toMatchObject({
        resourceType: 'AWS::IAM::Role',
        resourceId: RoleName,
        evidence: { changedBy: 'PutRolePolicy' },
        steps: [],
      });
    });

    it('RemovePermission on a responder function: CRITICAL page (re-adding it is a power the responder lacks)', async () => {
      // Prepare
      await lambda.send(
        new AddPermissionCommand({
          FunctionName: routing.functionName,
          StatementId: 'events',
          Action: 'lambda:InvokeFunction',
          Principal: 'events.amazonaws.com',
        }),
      );
      await lambda.send(
        new RemovePermissionCommand({ FunctionName: routing.functionName, StatementId: 'events' }),
      );
      // Act
      await deliver(
        call(
          'lambda.amazonaws.com',
          'RemovePermission20150331v2',
          { functionName: routing.functionName, statementId: 'events' },
          alice,
        ),
      );
      // Assess
      const incident = await expectOneCriticalIncidentNaming(ALICE, 'open');
      expect(incident.evidence).toMatchObject({ changedBy: 'RemovePermission20150331v2' });
    });

    it('DeleteAlarms of a responder alarm: CRITICAL page (moto lacks DisableAlarmActions: see the unit test)', async () => {
      // Prepare
      const AlarmName = `${STACK}-SelfDashprotectionErrorsAlarm-1A2B3C`;
      await cloudwatch.send(
        new PutMetricAlarmCommand({
          AlarmName,
          Namespace: 'AWS/Lambda',
          MetricName: 'Errors',
          Statistic: 'Sum',
          Period: 60,
          EvaluationPeriods: 1,
          Threshold: 0,
          ComparisonOperator: 'GreaterThanThreshold',
          AlarmActions: [responder.stack.topicArn],
        }),
      );
      await cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: [AlarmName] }));
      // Act
      await deliver(
        call('monitoring.amazonaws.com', 'DeleteAlarms', { alarmNames: [AlarmName, 'not-ours'] }, alice),
      );
      // Assess
      const incident = await expectOneCriticalIncidentNaming(ALICE, 'open');
      expect(incident).toMatchObject({ resourceType: 'AWS::CloudWatch::Alarm', resourceId: AlarmName });
    });

    it('PutRetentionPolicy on a responder log group: CRITICAL page with the retention read back', async () => {
      // Prepare
      const logGroupName = `/aws/lambda/${routing.functionName}`;
      await logs.send(new CreateLogGroupCommand({ logGroupName }));
      await logs.send(new PutRetentionPolicyCommand({ logGroupName, retentionInDays: 1 }));
      // Act
      await deliver(
        call('logs.amazonaws.com', 'PutRetentionPolicy', { logGroupName, retentionInDays: 1 }, alice),
      );
      // Assess
      const incident = await expectOneCriticalIncidentNaming(ALICE, 'open');
      expect(incident.evidence).toMatchObject({ retentionInDays: 1, changedBy: 'PutRetentionPolicy' });
    });

    it('PutEventSelectors dropping management events from a trail: CRITICAL page', async () => {
      // Prepare
      const bucket = 'trail-bucket';
      await new S3Client({ region: REGION, forcePathStyle: true }).send(
        new CreateBucketCommand({ Bucket: bucket }),
      );
      await cloudtrail.send(new CreateTrailCommand({ Name: 'org-trail', S3BucketName: bucket }));
      await cloudtrail.send(
        new PutEventSelectorsCommand({
          TrailName: 'org-trail',
          EventSelectors: [{ ReadWriteType: 'All', IncludeManagementEvents: false }],
        }),
      );
      // Act
      await deliver(call('cloudtrail.amazonaws.com', 'PutEventSelectors', { trailName: 'org-trail' }, alice));
      // Assess
      const incident = await expectOneCriticalIncidentNaming(ALICE, 'open');
      expect(incident).toMatchObject({ resourceType: 'AWS::CloudTrail::Trail', resourceId: 'org-trail' });
    });

    it('PutConfigurationRecorder narrowing what is recorded: CRITICAL page', async () => {
      // Prepare
      await config.send(
        new PutConfigurationRecorderCommand({
          ConfigurationRecorder: {
            name: 'default',
            roleARN: `arn:aws:iam::${ACCOUNT}:role/config`,
            recordingGroup: {
              allSupported: false,
              includeGlobalResourceTypes: false,
              resourceTypes: ['AWS::S3::Bucket'],
            },
          },
        }),
      );
      // Act
      await deliver(
        call(
          'config.amazonaws.com',
          'PutConfigurationRecorder',
          { configurationRecorder: { name: 'default' } },
          alice,
        ),
      );
      // Assess
      const incident = await expectOneCriticalIncidentNaming(ALICE, 'open');
      expect(incident.evidence).toMatchObject({ recordsAll: false });
    });
  });

  it('ScheduleKeyDeletion on the stack key: deletion cancelled, key enabled again', async () => {
    // Prepare
    const keyId = keyIdOf(responder.stack.keyArn);
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    // Act
    await deliver(call('kms.amazonaws.com', 'ScheduleKeyDeletion', { keyId, pendingWindowInDays: 7 }, alice));
    // Assess
    expect(await keyState(responder.stack.keyArn)).toBe('Enabled');
    const incident = await expectOneCriticalIncidentNaming(ALICE, 'remediated');
    expect(incident.steps.map((step) => step.action)).toEqual(['CancelKeyDeletion', 'EnableKey', 'Verify']);
  });

  // The alert cannot travel through the topic that was deleted: the incident is recorded (with the
  // actor, alert pending) and the invocation fails, so Lambda retries it into the dead-letter queue.
  it('DeleteTopic of the alert topic: CRITICAL incident naming the actor; the invocation fails to the DLQ', async () => {
    // Prepare
    await sns.send(new DeleteTopicCommand({ TopicArn: responder.stack.topicArn }));
    // Act
    const delivery = deliver(
      call('sns.amazonaws.com', 'DeleteTopic', { topicArn: responder.stack.topicArn }, alice),
    );
    // Assess
    await expect(delivery).rejects.toMatchObject({ name: 'NotFoundException' });
    const [incident] = await responder.incidents();
    expect(incident).toMatchObject({
      severity: 'CRITICAL',
      resourceType: 'AWS::SNS::Topic',
      status: 'open',
      actor: { arn: ALICE },
      alert: { status: 'pending' },
    });
  });

  // The incident cannot be written to the table that was deleted: the invocation fails (to the DLQ).
  it('DeleteTable of the incident table: the invocation fails loudly rather than reporting nothing', async () => {
    // Prepare
    const table = responder.stack.tableName;
    await dynamodb.send(new UpdateTableCommand({ TableName: table, DeletionProtectionEnabled: false }));
    await dynamodb.send(new DeleteTableCommand({ TableName: table }));
    // Act
    const delivery = deliver(call('dynamodb.amazonaws.com', 'DeleteTable', { tableName: table }, alice));
    // Assess
    await expect(delivery).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('a function role reactivating an SSH key: CRITICAL in notify mode, names only, nothing undone; deactivating: nothing', async () => {
    // Prepare: an insider holding a function role's session sets a deactivated key Active again
    const iam = new IAMClient({ region: REGION });
    const keyId = await userWithKey('dev-bob', 'Active');
    const key = { userName: 'dev-bob', sSHPublicKeyId: keyId };
    const functionRole = roleCaller(responder.responderRoleArn);
    // Act
    const calls = await recordCalls(async () => {
      await deliver(
        call('iam.amazonaws.com', 'UpdateSSHPublicKey', { ...key, status: 'Inactive' }, functionRole),
      );
      await deliver(
        call('iam.amazonaws.com', 'UpdateSSHPublicKey', { ...key, status: 'Active' }, functionRole),
      );
    });
    // Assess: one page for the reactivation; the key is left as it is (a person decides)
    const [incident, ...others] = await responder.incidents();
    expect(others).toEqual([]);
    expect(incident).toMatchObject({
      ruleId: 'self-protection',
      severity: 'CRITICAL',
      status: 'open',
      mode: 'notify',
      resourceType: 'AWS::IAM::User',
      resourceId: 'dev-bob',
      actor: { sessionIssuerArn: responder.responderRoleArn },
      evidence: { ownCall: 'UpdateSSHPublicKey', fieldsOutsideShape: 'status' },
      steps: [],
    });
    expect(JSON.stringify(incident)).not.toContain(keyId);
    expect(await responder.alerts()).toMatchObject([
      { attributes: { severity: 'CRITICAL', ruleId: 'self-protection', status: 'open' } },
    ]);
    expect(writesAmong(calls).filter((recorded) => recorded.action?.includes('SSHPublicKey'))).toEqual([]);
    const keys = await iam.send(new ListSSHPublicKeysCommand({ UserName: 'dev-bob' }));
    expect(keys.SSHPublicKeys?.map((each) => each.Status)).toEqual(['Active']);
  });

  it('a function role changing the incident table beyond deletion protection: CRITICAL; turning it on: nothing', async () => {
    // Prepare
    const table = responder.stack.tableName;
    const functionRole = roleCaller(responder.responderRoleArn);
    // Act
    await deliver(
      call(
        'dynamodb.amazonaws.com',
        'UpdateTable',
        { tableName: table, deletionProtectionEnabled: true },
        functionRole,
      ),
    );
    await deliver(
      call(
        'dynamodb.amazonaws.com',
        'UpdateTable',
        { tableName: table, deletionProtectionEnabled: false, billingMode: 'PROVISIONED' },
        functionRole,
      ),
    );
    // Assess
    const [incident, ...others] = await responder.incidents();
    expect(others).toEqual([]);
    expect(incident).toMatchObject({
      severity: 'CRITICAL',
      mode: 'notify',
      resourceId: table,
      evidence: { ownCall: 'UpdateTable', fieldsOutsideShape: 'deletionProtectionEnabled,billingMode' },
    });
    expect(JSON.stringify(incident?.evidence)).not.toContain('PROVISIONED');
  });

  it('raises nothing for a change made by the deploy role, nor by its own roles', async () => {
    // Prepare: the deploy role is trusted by self-protection (DEPLOY_ROLE_ARNS), its own roles by the loop guard
    await events.send(new DisableRuleCommand({ Name: routing.ruleName }));
    const trusted = { DEPLOY_ROLE_ARNS: DEPLOY_ROLE };
    // Act
    const calls = await recordCalls(async () => {
      for (const caller of [roleCaller(DEPLOY_ROLE), roleCaller(responder.responderRoleArn)]) {
        const outcomes = await deliver(
          call('events.amazonaws.com', 'DisableRule', { name: routing.ruleName }, caller),
          trusted,
        );
        expect(outcomes).toEqual([]);
      }
    });
    // Assess
    expect(writesAmong(calls)).toEqual([]);
    expect(await ruleState(routing.ruleName)).toBe('DISABLED');
    expect(await responder.incidents()).toEqual([]);
    expect(await responder.alerts()).toEqual([]);
  });

  it('ignores the same call on a resource that is not the responder’s', async () => {
    // Act
    const outcomes = await deliver(
      call('events.amazonaws.com', 'DisableRule', { name: 'someone-elses-rule' }, alice),
    );
    // Assess
    expect(outcomes).toEqual([expect.objectContaining({ compliance: 'NOT_APPLICABLE' })]);
    expect(await responder.incidents()).toEqual([]);
  });

  it('the sweep restores a disabled rule, the table protection and the key, with no event at all', async () => {
    // Prepare
    await events.send(new DisableRuleCommand({ Name: routing.ruleName }));
    await dynamodb.send(
      new UpdateTableCommand({ TableName: responder.stack.tableName, DeletionProtectionEnabled: false }),
    );
    await kms.send(new DisableKeyCommand({ KeyId: keyIdOf(responder.stack.keyArn) }));
    const handle = responder.handlerOf(loadFunction);
    // Act
    const result = await handle(scheduledEvent({ accountId: ACCOUNT, region: REGION }));
    // Assess
    expect(await ruleState(routing.ruleName)).toBe('ENABLED');
    expect(
      (await dynamodb.send(new DescribeTableCommand({ TableName: responder.stack.tableName }))).Table
        ?.DeletionProtectionEnabled,
    ).toBe(true);
    expect(await keyState(responder.stack.keyArn)).toBe('Enabled');
    expect(result.outcomes.map((outcome) => [outcome.resourceType, outcome.compliance]).sort()).toEqual([
      ['AWS::DynamoDB::Table', 'COMPLIANT'],
      ['AWS::Events::Rule', 'COMPLIANT'],
      ['AWS::KMS::Key', 'COMPLIANT'],
      // The seeded function, and the grant reader local:provision creates (ssh grant reads its caps).
      ['AWS::Lambda::Function', 'COMPLIANT'],
      ['AWS::Lambda::Function', 'COMPLIANT'],
      ['AWS::SNS::Topic', 'COMPLIANT'],
    ]);
    const incidents = await responder.incidents();
    expect(incidents.map((incident) => incident.status)).toEqual(['remediated', 'remediated', 'remediated']);
    expect(incidents.every((incident) => incident.actor === undefined)).toBe(true);
  });

  it('the sweep of an untouched stack changes nothing', async () => {
    // Prepare
    const handle = responder.handlerOf(loadFunction);
    // Act
    const calls = await recordCalls(() => handle(scheduledEvent({ accountId: ACCOUNT, region: REGION })));
    // Assess: the recorder names no action for REST calls (Lambda's); a GET there is a read
    expect(writesAmong(calls).filter((recorded) => recorded.method !== 'GET')).toEqual([]);
    expect(await responder.incidents()).toEqual([]);
  });
});
