import { CloudTrailClient, DescribeTrailsCommand, GetTrailStatusCommand } from '@aws-sdk/client-cloudtrail';
import { EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeEventBusCommand,
  DescribeRuleCommand,
  EventBridgeClient,
  ListRuleNamesByTargetCommand,
} from '@aws-sdk/client-eventbridge';
import {
  GetFunctionConcurrencyCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  ListEventSourceMappingsCommand,
  ListVersionsByFunctionCommand,
} from '@aws-sdk/client-lambda';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createAwsClients } from '../../../shared/aws/clients';
import { modeVariable } from '../../../shared/config';
import { checkHealth, recordDeployment } from '../../../shared/health/heartbeat';
import { rules } from '../../../shared/rules';
import { testSettings } from '../../support/incident';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const STACK = 'compliance-responder-test';
const T1 = '2026-12-04T10:00:00.000Z';

const lambda = mockClient(LambdaClient);
const events = mockClient(EventBridgeClient);
const cloudtrail = mockClient(CloudTrailClient);
const dynamo = mockClient(DynamoDBDocumentClient);
const ec2 = mockClient(EC2Client);

/** Every function deployed with `deployed` and running `live` ($LATEST), by function name. */
function functionsAre(deployed: Record<string, string>, live: Record<string, Record<string, string>> = {}) {
  lambda.on(GetFunctionConfigurationCommand).callsFake(({ FunctionName }: { FunctionName: string }) => ({
    FunctionName,
    Role: 'arn:aws:iam::111122223333:role/fn',
    CodeSha256: 'sha',
    Environment: { Variables: live[FunctionName] ?? deployed },
  }));
  lambda.on(ListVersionsByFunctionCommand).callsFake(({ FunctionName }: { FunctionName: string }) => ({
    Versions: [
      { FunctionName, Version: '$LATEST', Environment: { Variables: {} } },
      {
        FunctionName,
        Version: '3',
        Role: 'arn:aws:iam::111122223333:role/fn',
        CodeSha256: 'sha',
        Environment: { Variables: deployed },
      },
    ],
  }));
}

describe('the heartbeat records each rule function’s live mode, not its own', () => {
  const settings = testSettings({ STACK_NAME: STACK, STAGE: 'prod' });
  const deployedEnv: Record<string, string> = Object.fromEntries(
    rules.map((rule) => [modeVariable(rule.id), settings.modes[rule.id] ?? rule.defaultMode]),
  );
  const ssh = `${STACK}-ssh-open-to-world`;

  beforeEach(() => {
    for (const client of [lambda, events, cloudtrail, dynamo, ec2]) client.reset();
    events.on(ListRuleNamesByTargetCommand).resolves({ RuleNames: ['schedule'] });
    events.on(DescribeRuleCommand).resolves({ State: 'ENABLED' });
    cloudtrail.on(DescribeTrailsCommand).resolves({
      trailList: [
        { TrailARN: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/audit', IsMultiRegionTrail: true },
      ],
    });
    cloudtrail.on(GetTrailStatusCommand).resolves({ IsLogging: true });
    dynamo.on(GetCommand).resolves({});
    lambda
      .on(ListEventSourceMappingsCommand)
      .resolves({ EventSourceMappings: [{ UUID: 'u-1', State: 'Enabled' }] });
    lambda.on(GetFunctionConcurrencyCommand).resolves({ ReservedConcurrentExecutions: 2 });
  });
  afterAll(() => {
    for (const client of [lambda, events, cloudtrail, dynamo, ec2]) client.restore();
  });

  async function beat() {
    const aws = createAwsClients(REGION);
    const health = await checkHealth(rules, { accountId: ACCOUNT, settings }, aws);
    const report = await recordDeployment(
      health,
      { accountId: ACCOUNT, region: REGION, settings, now: new Date(T1) },
      aws,
    );
    const item = dynamo.commandCalls(PutCommand)[0]?.args[0].input.Item as
      | { transitions: Record<string, unknown>[] }
      | undefined;
    return { report, transition: item?.transitions[0] };
  }

  it('a MODE_<ID> changed on a rule function outside a deployment is recorded live, marked as changed outside it', async () => {
    // Prepare: the insider sets ssh-open-to-world to notify on its function; the heartbeat's own
    // environment (the deployment's parameters) still says enforce
    expect(settings.modes['ssh-open-to-world']).toBe('enforce');
    functionsAre(deployedEnv, { [ssh]: { ...deployedEnv, MODE_SSH_OPEN_TO_WORLD: 'notify' } });
    // Act
    const { report, transition } = await beat();
    // Assess
    expect(report.problems).toEqual([expect.objectContaining({ check: 'configuration', subject: ssh })]);
    expect(transition).toMatchObject({
      modes: expect.objectContaining({ 'ssh-open-to-world': 'notify', 'ebs-volume-encrypted': 'enforce' }),
      modesChangedOutsideDeployment: ['ssh-open-to-world'],
    });
  });

  it('a rule function that is gone records its rule off, changed outside the deployment', async () => {
    // Prepare
    functionsAre(deployedEnv);
    lambda
      .on(GetFunctionConfigurationCommand, { FunctionName: ssh })
      .rejects(Object.assign(new Error('gone'), { name: 'ResourceNotFoundException' }));
    // Act
    const { report, transition } = await beat();
    // Assess
    expect(report.problems).toEqual([
      { check: 'configuration', subject: ssh, problem: 'function is missing' },
    ]);
    expect(transition).toMatchObject({
      modes: expect.objectContaining({ 'ssh-open-to-world': 'off' }),
      modesChangedOutsideDeployment: ['ssh-open-to-world'],
    });
  });

  it('a deployment that changed a mode (its published version says so) is recorded as deployed, unmarked', async () => {
    // Prepare: the function was deployed with notify (its published version); the heartbeat's own
    // environment is what it reads least: the function runs what its deployment published
    const notify = { ...deployedEnv, MODE_SSH_OPEN_TO_WORLD: 'notify' };
    functionsAre(deployedEnv);
    lambda.on(ListVersionsByFunctionCommand, { FunctionName: ssh }).resolves({
      Versions: [
        {
          FunctionName: ssh,
          Version: '4',
          Role: 'arn:aws:iam::111122223333:role/fn',
          CodeSha256: 'sha',
          Environment: { Variables: notify },
        },
      ],
    });
    lambda.on(GetFunctionConfigurationCommand, { FunctionName: ssh }).resolves({
      FunctionName: ssh,
      Role: 'arn:aws:iam::111122223333:role/fn',
      CodeSha256: 'sha',
      Environment: { Variables: notify },
    });
    // Act
    const { report, transition } = await beat();
    // Assess
    expect(report.problems).toEqual([]);
    expect(transition?.modes).toMatchObject({ 'ssh-open-to-world': 'notify' });
    expect(transition).not.toHaveProperty('modesChangedOutsideDeployment');
  });
});

describe('the heartbeat checks the stack’s stream consumers: a disabled mapping silently stops the incident exports', () => {
  const settings = testSettings({ STACK_NAME: STACK, STAGE: 'prod' });
  const exports = `${STACK}-incident-events`;
  const findings = `${STACK}-security-hub-findings`;

  beforeEach(() => {
    for (const client of [lambda, events, cloudtrail, dynamo, ec2]) client.reset();
    events.on(ListRuleNamesByTargetCommand).resolves({ RuleNames: ['schedule'] });
    events.on(DescribeRuleCommand).resolves({ State: 'ENABLED' });
    cloudtrail.on(DescribeTrailsCommand).resolves({
      trailList: [
        { TrailARN: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/audit', IsMultiRegionTrail: true },
      ],
    });
    cloudtrail.on(GetTrailStatusCommand).resolves({ IsLogging: true });
    functionsAre({});
    lambda
      .on(ListEventSourceMappingsCommand)
      .resolves({ EventSourceMappings: [{ UUID: 'u-1', State: 'Enabled' }] });
    lambda.on(GetFunctionConcurrencyCommand).resolves({ ReservedConcurrentExecutions: 2 });
  });

  const health = () => checkHealth(rules, { accountId: ACCOUNT, settings }, createAwsClients(REGION));

  it('names a disabled incident-events mapping and a deleted security-hub-findings one', async () => {
    // Prepare: an insider disables one mapping (Enabled=false) and deletes the other
    lambda
      .on(ListEventSourceMappingsCommand, { FunctionName: exports })
      .resolves({ EventSourceMappings: [{ UUID: 'u-1', State: 'Disabled' }] });
    lambda
      .on(ListEventSourceMappingsCommand, { FunctionName: findings })
      .resolves({ EventSourceMappings: [] });
    // Act
    const report = await health();
    // Assess
    expect(lambda).toHaveReceivedCommandWith(ListEventSourceMappingsCommand, { FunctionName: exports });
    expect(report.healthy).toBe(false);
    expect(report.problems).toEqual([
      {
        check: 'stream',
        subject: `${exports} (u-1)`,
        problem: 'stream mapping is Disabled: incidents are not exported',
      },
      {
        check: 'stream',
        subject: findings,
        problem: 'no stream mapping invokes it: incidents are not exported',
      },
    ]);
    expect(report.checked.streams).toBe(2);
  });

  it('reads every page of mappings, and skips security-hub-findings where the stage does not deploy it', async () => {
    // Prepare
    lambda
      .on(ListEventSourceMappingsCommand, { FunctionName: exports })
      .resolvesOnce({ EventSourceMappings: [{ UUID: 'u-1', State: 'Enabled' }], NextMarker: 'm' })
      .resolvesOnce({ EventSourceMappings: [{ UUID: 'u-2', State: 'Disabling' }] });
    lambda
      .on(GetFunctionConfigurationCommand, { FunctionName: findings })
      .rejects(Object.assign(new Error('gone'), { name: 'ResourceNotFoundException' }));
    // Act
    const report = await health();
    // Assess
    expect(report.problems).toEqual([
      {
        check: 'stream',
        subject: `${exports} (u-2)`,
        problem: 'stream mapping is Disabling: incidents are not exported',
      },
    ]);
    expect(lambda).not.toHaveReceivedCommandWith(ListEventSourceMappingsCommand, { FunctionName: findings });
    expect(report.checked.streams).toBe(1);
  });
});

describe('the heartbeat checks each rule’s sweep function: its queue mapping, its reservation, its configuration', () => {
  const settings = testSettings({ STACK_NAME: STACK, STAGE: 'prod' });
  const volumes = `${STACK}-ebs-volume-encrypted-sweep`;
  const ssh = `${STACK}-ssh-open-to-world-sweep`;
  const guard = `${STACK}-self-protection-sweep`;
  const deployedEnv: Record<string, string> = Object.fromEntries(
    rules.map((rule) => [modeVariable(rule.id), settings.modes[rule.id] ?? rule.defaultMode]),
  );
  const sweepMapping = { UUID: 'u-s', State: 'Enabled', ScalingConfig: { MaximumConcurrency: 2 } };

  beforeEach(() => {
    for (const client of [lambda, events, cloudtrail, dynamo, ec2]) client.reset();
    events.on(ListRuleNamesByTargetCommand).resolves({ RuleNames: ['schedule'] });
    events.on(DescribeRuleCommand).resolves({ State: 'ENABLED' });
    cloudtrail.on(DescribeTrailsCommand).resolves({
      trailList: [
        { TrailARN: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/audit', IsMultiRegionTrail: true },
      ],
    });
    cloudtrail.on(GetTrailStatusCommand).resolves({ IsLogging: true });
    functionsAre(deployedEnv);
    lambda.on(ListEventSourceMappingsCommand).resolves({ EventSourceMappings: [sweepMapping] });
    lambda.on(GetFunctionConcurrencyCommand).resolves({ ReservedConcurrentExecutions: 2 });
  });

  const health = () => checkHealth(rules, { accountId: ACCOUNT, settings }, createAwsClients(REGION));

  it('is content when every sweep function reserves what its enabled mapping runs at once', async () => {
    // Act
    const report = await health();
    // Assess
    expect(report.problems).toEqual([]);
    expect(lambda).toHaveReceivedCommandWith(ListEventSourceMappingsCommand, { FunctionName: volumes });
    expect(report.checked.sweeps).toBe(rules.filter((rule) => settings.modes[rule.id] !== 'off').length);
    expect(report.checked.configurations).toBe(2 * rules.length + 1);
  });

  it('names a disabled sweep mapping, a deleted one, and a reservation below the mapping’s concurrency', async () => {
    // Prepare: an insider disables one queue's mapping, deletes another, and lowers a reservation to 1
    lambda
      .on(ListEventSourceMappingsCommand, { FunctionName: volumes })
      .resolves({ EventSourceMappings: [{ ...sweepMapping, State: 'Disabled' }] });
    lambda.on(ListEventSourceMappingsCommand, { FunctionName: ssh }).resolves({ EventSourceMappings: [] });
    lambda
      .on(GetFunctionConcurrencyCommand, { FunctionName: guard })
      .resolves({ ReservedConcurrentExecutions: 1 });
    // Act
    const report = await health();
    // Assess
    expect(report.healthy).toBe(false);
    expect(report.problems).toEqual([
      {
        check: 'sweep',
        subject: `${volumes} (u-s)`,
        problem: 'sweep queue mapping is Disabled: sweep units wait on the queue, then dead-letter',
      },
      {
        check: 'sweep',
        subject: ssh,
        problem: 'no sweep queue mapping invokes it: sweep units wait on the queue, then dead-letter',
      },
      {
        check: 'sweep',
        subject: guard,
        problem:
          'reserves 1 concurrent executions for the 2 sweep units its queue mapping runs at once: units are throttled, then dead-letter',
      },
    ]);
  });

  it('holds the sweep function to its published version too: a mode changed there pages', async () => {
    // Prepare: MODE_SSH_OPEN_TO_WORLD=off on the sweep function only: sweeps would stop acting
    functionsAre(deployedEnv, { [ssh]: { ...deployedEnv, MODE_SSH_OPEN_TO_WORLD: 'off' } });
    // Act
    const report = await health();
    // Assess
    expect(report.problems).toEqual([
      {
        check: 'configuration',
        subject: ssh,
        problem: expect.stringContaining('environment (MODE_SSH_OPEN_TO_WORLD)'),
      },
    ]);
  });
});

describe("the heartbeat checks an organisation's default bus: every statement on it, not only the stack's own", () => {
  const ORG = 'o-abcdefghij';
  const settings = testSettings({ STACK_NAME: STACK, STAGE: 'prod', ORGANIZATION_ID: ORG });
  const BUS = `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default`;
  const SID = `${STACK}-organisation`;
  const deployed = {
    Sid: SID,
    Effect: 'Allow',
    Principal: '*',
    Action: 'events:PutEvents',
    Resource: BUS,
    Condition: { StringEquals: { 'aws:PrincipalOrgID': ORG } },
  };
  const bus = (...statements: unknown[]) =>
    events.on(DescribeEventBusCommand).resolves({
      Name: 'default',
      Arn: BUS,
      Policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
    });

  beforeEach(() => {
    for (const client of [lambda, events, cloudtrail, dynamo, ec2]) client.reset();
    events.on(ListRuleNamesByTargetCommand).resolves({ RuleNames: ['schedule'] });
    events.on(DescribeRuleCommand).resolves({ State: 'ENABLED' });
    cloudtrail.on(DescribeTrailsCommand).resolves({
      trailList: [
        { TrailARN: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/audit', IsMultiRegionTrail: true },
      ],
    });
    cloudtrail.on(GetTrailStatusCommand).resolves({ IsLogging: true });
    functionsAre({});
    lambda
      .on(ListEventSourceMappingsCommand)
      .resolves({ EventSourceMappings: [{ UUID: 'u-1', State: 'Enabled' }] });
    lambda.on(GetFunctionConcurrencyCommand).resolves({ ReservedConcurrentExecutions: 2 });
  });

  const organisationProblems = async () =>
    (await checkHealth(rules, { accountId: ACCOUNT, settings }, createAwsClients(REGION))).problems.filter(
      (problem) => problem.check === 'organisation',
    );

  it('is content with the deployed statement and a partner account’s own statement', async () => {
    // Prepare
    bus(deployed, {
      Sid: 'partner',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::444455556666:root' },
      Action: 'events:PutEvents',
      Resource: BUS,
    });
    // Act / Assess
    expect(await organisationProblems()).toEqual([]);
  });

  it('pages on an added "*" statement without the organisation condition and on a Deny of PutEvents, naming them by id only', async () => {
    // Prepare: the stack's statement intact; an admin added both
    bus(
      deployed,
      { Sid: 'open', Effect: 'Allow', Principal: { AWS: '*' }, Action: 'events:PutEvents', Resource: BUS },
      {
        Sid: 'refuse',
        Effect: 'Deny',
        Principal: '*',
        Action: 'events:PutEvents',
        Resource: BUS,
        Condition: { StringNotEquals: { 'aws:PrincipalAccount': ACCOUNT } },
      },
    );
    // Act
    const problems = await organisationProblems();
    // Assess
    expect(problems).toEqual([
      {
        check: 'organisation',
        subject: 'default event bus',
        problem: `statement open lets principals outside organisation ${ORG} put events (principal "*" without aws:PrincipalOrgID ${ORG}): any AWS account can send events to the bus; statement refuse denies events:PutEvents on the bus: member accounts' events can be refused`,
      },
    ]);
    expect(JSON.stringify(problems)).not.toContain('PrincipalAccount');
  });
});
