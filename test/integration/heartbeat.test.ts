import {
  CloudTrailClient,
  CreateTrailCommand,
  StartLoggingCommand,
  StopLoggingCommand,
} from '@aws-sdk/client-cloudtrail';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteRuleCommand,
  DisableRuleCommand,
  EventBridgeClient,
  PutPermissionCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemovePermissionCommand,
  RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateEventSourceMappingCommand,
  DeleteEventSourceMappingCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  PutFunctionConcurrencyCommand,
  UpdateEventSourceMappingCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { scheduledEvent } from '../../scripts/lib/events';
import { createAwsClients } from '../../shared/aws/clients';
import { DynamoDbDeploymentHistory } from '../../shared/health/deployment-history';
import { sweepFunctionName, sweepQueueName } from '../../shared/pipeline/sweep-names';
import { rules } from '../../shared/rules';
import { createBucket } from '../support/cloudtrail';
import { LocalResponder, resetAccount } from '../support/local-responder';
import { deployFunction } from '../support/self-protection';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const events = new EventBridgeClient({ region: REGION });
const cloudtrail = new CloudTrailClient({ region: REGION });
const lambda = new LambdaClient({ region: REGION });

/** serverless.yml's default sweepConcurrency: each sweep function's reservation and its mapping's maximum. */
const SWEEP_CONCURRENCY = 2;

/**
 * What a deployment leaves: every function (with the stack's environment and a published version),
 * one schedule rule per rule function (named as CloudFormation names them), and each rule's sweep
 * function consuming its queue, reserving what the mapping runs at once.
 */
async function deployStack(
  stackName: string,
  environment: Record<string, string>,
  tableName: string,
): Promise<{ triggers: string[]; mapping: string; sweepMappings: Record<string, string> }> {
  const names: string[] = [];
  for (const name of [...rules.map((rule) => rule.id), 'heartbeat'])
    await deployFunction(`${stackName}-${name}`, environment, REGION);
  const sweepMappings: Record<string, string> = {};
  const sqs = new SQSClient({ region: REGION });
  for (const rule of rules) {
    const sweep = `${stackName}-${sweepFunctionName(rule.id)}`;
    await deployFunction(sweep, environment, REGION);
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: sweepQueueName(stackName, rule.id) }),
    );
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    const created = await lambda.send(
      new CreateEventSourceMappingCommand({
        FunctionName: sweep,
        EventSourceArn: Attributes?.QueueArn,
        BatchSize: 1,
        ScalingConfig: { MaximumConcurrency: SWEEP_CONCURRENCY },
      }),
    );
    await lambda.send(
      new PutFunctionConcurrencyCommand({
        FunctionName: sweep,
        ReservedConcurrentExecutions: SWEEP_CONCURRENCY,
      }),
    );
    sweepMappings[rule.id] = String(created.UUID);
  }
  // The incident exports read the table's stream (security-hub-findings is not deployed by default).
  await deployFunction(`${stackName}-incident-events`, {}, REGION);
  const { Table } = await new DynamoDBClient({ region: REGION }).send(
    new DescribeTableCommand({ TableName: tableName }),
  );
  const mapping = await lambda.send(
    new CreateEventSourceMappingCommand({
      FunctionName: `${stackName}-incident-events`,
      EventSourceArn: Table?.LatestStreamArn,
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 50,
    }),
  );
  for (const rule of rules) {
    const Name = `${stackName}-${rule.id}-schedule`;
    await events.send(new PutRuleCommand({ Name, ScheduleExpression: 'rate(1 hour)', State: 'ENABLED' }));
    await events.send(
      new PutTargetsCommand({
        Rule: Name,
        Targets: [{ Id: 'fn', Arn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${stackName}-${rule.id}` }],
      }),
    );
    names.push(Name);
  }
  return { triggers: names, mapping: String(mapping.UUID), sweepMappings };
}

describe('the heartbeat, run as its bundle against moto', () => {
  let responder: LocalResponder;
  let triggers: string[];
  let mapping: string;
  let sweepMappings: Record<string, string>;
  const beat = (env: Record<string, string> = {}) =>
    responder.invokeBundle('heartbeat', scheduledEvent({ accountId: ACCOUNT, region: REGION }), env);

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision();
    ({ triggers, mapping, sweepMappings } = await deployStack(
      String(responder.stack.env.STACK_NAME),
      responder.stack.env,
      responder.stack.tableName,
    ));
    await createBucket('audit-logs');
    await cloudtrail.send(
      new CreateTrailCommand({ Name: 'audit', S3BucketName: 'audit-logs', IsMultiRegionTrail: true }),
    );
    await cloudtrail.send(new StartLoggingCommand({ Name: 'audit' }));
  });

  it('reports healthy when every rule has enabled triggers and a multi-region trail logs', async () => {
    // Act
    const { ok, result } = await beat();
    // Assess
    expect(ok).toBe(true);
    expect(result).toEqual({
      healthy: true,
      checked: {
        functions: rules.length,
        configRules: 0,
        trails: 1,
        configurations: 2 * rules.length + 1,
        streams: 1,
        sweeps: rules.length,
      },
      problems: [],
      modes: {
        modes: Object.fromEntries(
          rules.map((rule) => [rule.id, expect.stringMatching(/^(off|notify|enforce)$/)]),
        ),
        changedOutsideDeployment: [],
      },
      deployment: 'recorded',
    });
  });

  it('records the deployment once, then only a change: a mode set to notify, with its time', async () => {
    // Prepare
    const history = new DynamoDbDeploymentHistory(
      createAwsClients(REGION).dynamo(),
      responder.stack.tableName,
    );
    // Act: two beats with the same settings, one whose own environment alone says notify (the rule's
    // function still runs enforce: nothing changed), then one after ssh-open-to-world was redeployed in notify
    const first = await beat();
    const second = await beat();
    const ownOnly = await beat({ MODE_SSH_OPEN_TO_WORLD: 'notify' });
    await deployFunction(
      `${responder.stack.env.STACK_NAME}-ssh-open-to-world`,
      { ...responder.stack.env, MODE_SSH_OPEN_TO_WORLD: 'notify' },
      REGION,
    );
    const third = await beat();
    // Assess
    expect([
      first.result.deployment,
      second.result.deployment,
      ownOnly.result.deployment,
      third.result.deployment,
    ]).toEqual(['recorded', 'unchanged', 'unchanged', 'recorded']);
    expect(third.result.problems).toEqual([]);
    const read = await history.read();
    if (read.state !== 'recorded') throw new Error(`no history recorded: ${JSON.stringify(read)}`);
    expect(read.transitions).toHaveLength(2);
    const [before, after] = read.transitions;
    expect(before).toMatchObject({
      account: ACCOUNT,
      homeRegion: REGION,
      // local:provision sweeps its own region only (SWEEP_REGIONS=own-region)
      regions: [REGION],
      stage: responder.stack.env.STAGE,
    });
    expect(before?.modes['ssh-open-to-world']).toBe('enforce');
    expect(after?.modes['ssh-open-to-world']).toBe('notify');
    expect(after).not.toHaveProperty('modesChangedOutsideDeployment');
    expect(Object.keys(after?.modes ?? {}).sort()).toEqual(rules.map((rule) => rule.id).sort());
    expect(Date.parse(after?.at ?? '')).toBeGreaterThanOrEqual(Date.parse(before?.at ?? ''));
  });

  it("names an organisation deployment's bus policy missing, narrowed or widened, and is content once it admits the organisation as deployed", async () => {
    // Prepare
    const organisation = { ORGANIZATION_ID: 'o-abcdefghij' };
    const StatementId = `${responder.stack.env.STACK_NAME}-organisation`;
    // Act: no policy, then one admitting another organisation, then the stack's own
    const missing = await beat(organisation);
    await events.send(
      new PutPermissionCommand({
        EventBusName: 'default',
        StatementId,
        Action: 'events:PutEvents',
        Principal: '*',
        Condition: { Type: 'StringEquals', Key: 'aws:PrincipalOrgID', Value: 'o-zzzzzzzzzz' },
      }),
    );
    const widened = await beat(organisation);
    await events.send(new RemovePermissionCommand({ EventBusName: 'default', StatementId }));
    await events.send(
      new PutPermissionCommand({
        EventBusName: 'default',
        StatementId,
        Action: 'events:PutEvents',
        Principal: '*',
        Condition: { Type: 'StringEquals', Key: 'aws:PrincipalOrgID', Value: organisation.ORGANIZATION_ID },
      }),
    );
    const admitted = await beat(organisation);
    // ...and widened under the same id to every principal, the condition dropped
    await events.send(
      new PutPermissionCommand({
        EventBusName: 'default',
        StatementId,
        Action: 'events:PutEvents',
        Principal: '*',
      }),
    );
    const opened = await beat(organisation);
    // Assess
    const organisationProblems = (run: typeof missing) =>
      (run.result.problems as { check: string; problem: string }[]).filter(
        (problem) => problem.check === 'organisation',
      );
    expect(organisationProblems(missing)).toEqual([
      expect.objectContaining({ problem: expect.stringContaining('is missing') }),
    ]);
    expect(organisationProblems(widened)).toEqual([
      expect.objectContaining({
        problem: expect.stringContaining('no longer admits organisation o-abcdefghij'),
      }),
    ]);
    expect(organisationProblems(admitted)).toEqual([]);
    expect(organisationProblems(opened)).toEqual([
      expect.objectContaining({
        problem: expect.stringContaining(
          'differs from the deployed one (Condition): it admits more than organisation',
        ),
      }),
    ]);
  });

  it("names an organisation deployment's other bus statements admitting every principal or denying PutEvents, the stack's own intact", async () => {
    // Prepare: the stack's statement as deployed, a partner account's, then an admin's whole policy
    // adding a "*" statement and a Deny (moto merges it into the statements there)
    const organisation = { ORGANIZATION_ID: 'o-abcdefghij' };
    const StatementId = `${responder.stack.env.STACK_NAME}-organisation`;
    const BUS = `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default`;
    await events.send(
      new PutPermissionCommand({
        EventBusName: 'default',
        StatementId,
        Action: 'events:PutEvents',
        Principal: '*',
        Condition: { Type: 'StringEquals', Key: 'aws:PrincipalOrgID', Value: organisation.ORGANIZATION_ID },
      }),
    );
    await events.send(
      new PutPermissionCommand({
        EventBusName: 'default',
        StatementId: 'partner',
        Action: 'events:PutEvents',
        Principal: '444455556666',
      }),
    );
    const admitted = await beat(organisation);
    await events.send(
      new PutPermissionCommand({
        EventBusName: 'default',
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Sid: 'open', Effect: 'Allow', Principal: '*', Action: 'events:PutEvents', Resource: BUS },
            {
              Sid: 'refuse',
              Effect: 'Deny',
              Principal: '*',
              Action: 'events:PutEvents',
              Resource: BUS,
              Condition: { StringNotEquals: { 'aws:PrincipalAccount': ACCOUNT } },
            },
          ],
        }),
      }),
    );
    // Act
    const attacked = await beat(organisation);
    // Assess
    const organisationProblems = (run: typeof admitted) =>
      (run.result.problems as { check: string; problem: string }[]).filter(
        (problem) => problem.check === 'organisation',
      );
    expect(organisationProblems(admitted)).toEqual([]);
    expect(organisationProblems(attacked)).toEqual([
      expect.objectContaining({
        subject: 'default event bus',
        problem:
          'statement open lets principals outside organisation o-abcdefghij put events (principal "*" without aws:PrincipalOrgID o-abcdefghij): any AWS account can send events to the bus; statement refuse denies events:PutEvents on the bus: member accounts\' events can be refused',
      }),
    ]);
  });

  it('names a disabled trigger, a function nothing invokes and a stopped trail', async () => {
    // Prepare
    const [first = '', second = ''] = triggers;
    await events.send(new DisableRuleCommand({ Name: first }));
    await events.send(new RemoveTargetsCommand({ Rule: second, Ids: ['fn'] }));
    await events.send(new DeleteRuleCommand({ Name: second }));
    await cloudtrail.send(new StopLoggingCommand({ Name: 'audit' }));
    // Act
    const { ok, result } = await beat();
    // Assess
    expect(ok).toBe(true);
    expect(result.healthy).toBe(false);
    expect(result.problems).toEqual([
      { check: 'triggers', subject: first, problem: 'rule is DISABLED' },
      {
        check: 'triggers',
        subject: `${responder.stack.env.STACK_NAME}-${rules[1]?.id}`,
        problem: 'no EventBridge rule invokes it',
      },
      {
        check: 'trail',
        subject: ACCOUNT,
        problem: 'no multi-region trail is logging: no API call reaches the responder',
      },
    ]);
  });

  it('names self-protection switched off in its own configuration: the watcher is watched', async () => {
    // Prepare: the insider silences self-protection itself, which then cannot page on its own change
    const FunctionName = `${responder.stack.env.STACK_NAME}-self-protection`;
    const current = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName }));
    const Variables = { ...current.Environment?.Variables, MODE_SELF_PROTECTION: 'off' };
    await lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName, Environment: { Variables } }));
    // Act
    const { ok, result } = await beat();
    // Assess
    expect(ok).toBe(true);
    expect(result.problems).toEqual([
      {
        check: 'configuration',
        subject: FunctionName,
        problem:
          'was changed outside a deployment: environment (MODE_SELF_PROTECTION) (compared with the version the deployment published)',
      },
    ]);
    // The history (the auditor's report) says what the function runs, marked, not what was deployed
    const read = await new DynamoDbDeploymentHistory(
      createAwsClients(REGION).dynamo(),
      responder.stack.tableName,
    ).read();
    if (read.state !== 'recorded') throw new Error(`no history recorded: ${JSON.stringify(read)}`);
    expect(read.transitions.at(-1)).toMatchObject({
      modes: expect.objectContaining({ 'self-protection': 'off' }),
      modesChangedOutsideDeployment: ['self-protection'],
    });
  });

  it('names a sweep queue mapping disabled, and a sweep function reserving less than its mapping runs at once', async () => {
    // Prepare: an insider disables one rule's sweep mapping and lowers another's reservation to 1:
    // its units would be throttled, each receive a step toward the dead-letter queue
    const stack = String(responder.stack.env.STACK_NAME);
    const volumes = `${stack}-${sweepFunctionName('ebs-volume-encrypted')}`;
    const guard = `${stack}-${sweepFunctionName('self-protection')}`;
    await lambda.send(
      new UpdateEventSourceMappingCommand({ UUID: sweepMappings['ebs-volume-encrypted'], Enabled: false }),
    );
    await lambda.send(
      new PutFunctionConcurrencyCommand({ FunctionName: guard, ReservedConcurrentExecutions: 1 }),
    );
    // Act
    const { result } = await beat();
    // Assess
    expect(result.problems).toEqual([
      {
        check: 'sweep',
        subject: `${volumes} (${sweepMappings['ebs-volume-encrypted']})`,
        problem: 'sweep queue mapping is Disabled: sweep units wait on the queue, then dead-letter',
      },
      {
        check: 'sweep',
        subject: guard,
        problem:
          'reserves 1 concurrent executions for the 2 sweep units its queue mapping runs at once: units are throttled, then dead-letter',
      },
    ]);
  });

  it('names the incident exports’ stream mapping disabled (Enabled=false), then deleted', async () => {
    // Prepare: the insider disables the mapping that feeds the incident exports
    const exports = `${responder.stack.env.STACK_NAME}-incident-events`;
    await lambda.send(new UpdateEventSourceMappingCommand({ UUID: mapping, Enabled: false }));
    // Act
    const disabled = await beat();
    await lambda.send(new DeleteEventSourceMappingCommand({ UUID: mapping }));
    const deleted = await beat();
    // Assess
    expect(disabled.result.problems).toEqual([
      {
        check: 'stream',
        subject: `${exports} (${mapping})`,
        problem: 'stream mapping is Disabled: incidents are not exported',
      },
    ]);
    expect(deleted.result.problems).toEqual([
      {
        check: 'stream',
        subject: exports,
        problem: 'no stream mapping invokes it: incidents are not exported',
      },
    ]);
  });
});
