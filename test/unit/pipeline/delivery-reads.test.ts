import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { cloudTrailEvent, humanCaller } from '../../../scripts/lib/events';
import { BlastRadiusGuard } from '../../../shared/pipeline/guards';
import { ruleHandler } from '../../../shared/pipeline/rule-handler';
import { defineRule, type Loaded } from '../../../shared/rules/rule';

/**
 * Issue 21: what a delivery reads before it decides (its delivery marker, the drift lock, the
 * exemption, the guard's state and its previous window) is one BatchGetItem, consistent, whatever
 * the function's role can read.
 */

const ACCOUNT = '111122223333';
const TABLE = 'incidents';

const lamp = (world: { on: boolean }) =>
  defineRule<{ on: boolean }>({
    id: 'ebs-encryption-by-default',
    title: 'Lamp is off',
    severity: 'HIGH',
    hipaa: ['164.312(b)'],
    runbook: 'docs/runbooks/ebs-encryption-by-default.md',
    readme: { enforce: 'turns the lamp on' },
    defaultMode: 'enforce',
    resourceType: 'AWS::::Account',
    triggers: { cloudTrail: { eventNames: ['DisableEbsEncryptionByDefault'] }, schedule: 'rate(1 hour)' },
    permissions: [],
    load: async (): Promise<Loaded<{ on: boolean }>> => ({
      resourceType: 'AWS::::Account',
      resourceId: ACCOUNT,
      arn: 'arn:lamp',
      region: 'us-east-1',
      accountId: ACCOUNT,
      tags: {},
      state: { ...world },
    }),
    async *list() {},
    detect: (resource) =>
      resource.state.on
        ? { compliant: true }
        : { compliant: false, reason: 'lamp off', evidence: {}, plan: 'turn it on' },
    remediate: async (_resource, _finding, ctx) => {
      await ctx.step('TurnOn', async () => {
        world.on = true;
      });
    },
  });

const turnedOff = () =>
  cloudTrailEvent({
    eventName: 'DisableEbsEncryptionByDefault',
    eventSource: 'ec2.amazonaws.com',
    region: 'us-east-1',
    caller: humanCaller(ACCOUNT),
    requestParameters: {},
  });

const context = {
  functionName: 'compliance-responder-dev-ebs-encryption-by-default',
  awsRequestId: 'request-1',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

/** The table's commands in the order they were sent, by name. */
const sentCommands = (dynamo: ReturnType<typeof mockClient>) =>
  dynamo.calls().map((call) => (call.args[0] as object).constructor.name);

describe('what a delivery reads before it decides', () => {
  const saved = { ...process.env };
  const dynamo = mockClient(DynamoDBDocumentClient);
  const sns = mockClient(SNSClient);

  beforeEach(() => {
    dynamo.reset();
    sns.reset();
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      INCIDENT_TABLE: TABLE,
      ALERT_TOPIC_ARN: `arn:aws:sns:us-east-1:${ACCOUNT}:alerts`,
      RESPONDER_ROLE_ARNS: `arn:aws:iam::${ACCOUNT}:role/responder`,
      POWERTOOLS_DEV: 'true',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
    });
    dynamo.onAnyCommand().resolves({});
    dynamo.on(BatchGetCommand).resolves({ Responses: { [TABLE]: [] } });
    sns.onAnyCommand().resolves({ MessageId: 'message-1' });
  });
  afterEach(() => {
    process.env = { ...saved };
  });

  it('is one consistent BatchGetItem, and no GetItem, before the guard counts the remediation', async () => {
    // Prepare
    const handler = ruleHandler(lamp({ on: false }));
    // The incident's final write returns it as written (ReturnValues ALL_NEW): as the opening put it
    let opened: Record<string, unknown> = {};
    dynamo.on(TransactWriteCommand).callsFake((input: TransactWriteCommandInput) => {
      const incident = input.TransactItems?.find((item) =>
        String(item.Put?.Item?.pk).startsWith('INCIDENT#'),
      );
      opened = incident?.Put?.Item ?? opened;
      return {};
    });
    dynamo.on(UpdateCommand).callsFake(() => ({ Attributes: { ...opened, status: 'remediated' } }));
    // Act
    await handler(turnedOff(), context);
    // Assess: nothing read on its own before the guard's counter (its first write)
    const sent = sentCommands(dynamo);
    const decided = sent.indexOf(UpdateCommand.name);
    expect(decided).toBeGreaterThan(0);
    expect(sent.slice(0, decided)).toEqual([BatchGetCommand.name]);
    expect(dynamo).toHaveReceivedCommandTimes(BatchGetCommand, 1);
    const [batch] = dynamo.commandCalls(BatchGetCommand);
    const wanted = batch?.args[0].input.RequestItems?.[TABLE];
    expect(wanted?.ConsistentRead).toBe(true);
    expect(wanted?.Keys?.map((key) => key.pk)).toEqual([
      expect.stringMatching(/^DELIVERY#/),
      expect.stringMatching(/^DRIFT#/),
      'EXEMPT#ebs-encryption-by-default',
      'GUARD',
      'GUARD',
    ]);
    expect(dynamo).toHaveReceivedCommandTimes(TransactWriteCommand, 2);
  });

  it('asks again, bounded, for the keys DynamoDB left unprocessed, and decides on all of them', async () => {
    // Prepare: the first answer leaves the drift lock unread; it is held by another incident
    const handler = ruleHandler(lamp({ on: false }));
    dynamo
      .on(BatchGetCommand)
      .resolvesOnce({
        Responses: { [TABLE]: [] },
        UnprocessedKeys: {
          [TABLE]: {
            Keys: [{ pk: 'DRIFT#ebs-encryption-by-default', sk: 'arn:lamp' }],
            ConsistentRead: true,
          },
        },
      })
      .resolves({
        Responses: {
          [TABLE]: [{ pk: 'DRIFT#ebs-encryption-by-default', sk: 'arn:lamp', incidentId: 'inc-held' }],
        },
      });
    // Act
    const result = await handler(turnedOff(), context);
    // Assess: the second request asked only for what was left; the delivery collapsed on the holder
    const [, again] = dynamo.commandCalls(BatchGetCommand);
    expect(again?.args[0].input.RequestItems).toEqual({
      [TABLE]: { Keys: [{ pk: 'DRIFT#ebs-encryption-by-default', sk: 'arn:lamp' }], ConsistentRead: true },
    });
    expect(result.outcomes).toEqual([expect.objectContaining({ incidentId: 'inc-held' })]);
    expect(dynamo).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('fails the delivery, changing nothing, when keys stay unprocessed after its attempts', async () => {
    // Prepare
    const handler = ruleHandler(lamp({ on: false }));
    dynamo.on(BatchGetCommand).resolves({
      Responses: {},
      UnprocessedKeys: {
        [TABLE]: { Keys: [{ pk: 'GUARD', sk: 'STATE' }], ConsistentRead: true },
      },
    });
    // Act
    const handled = handler(turnedOff(), context);
    // Assess
    await expect(handled).rejects.toThrow(/unprocessed/i);
    expect(dynamo.commandCalls(BatchGetCommand).length).toBeLessThanOrEqual(4);
    expect(dynamo).not.toHaveReceivedCommand(UpdateCommand);
    expect(dynamo).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('leaves the guard out in notify mode (it takes no slot there)', async () => {
    // Prepare
    process.env.MODE_EBS_ENCRYPTION_BY_DEFAULT = 'notify';
    const handler = ruleHandler(lamp({ on: false }));
    // Act
    await handler(turnedOff(), context);
    // Assess
    expect(dynamo).not.toHaveReceivedCommand(GetCommand);
    const [batch] = dynamo.commandCalls(BatchGetCommand);
    expect(batch?.args[0].input.RequestItems?.[TABLE]?.Keys?.map((key) => key.pk)).toEqual([
      expect.stringMatching(/^DELIVERY#/),
      expect.stringMatching(/^DRIFT#/),
      'EXEMPT#ebs-encryption-by-default',
    ]);
  });
});

describe("the guard's decision over what the delivery read", () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
  const drift = {
    ruleId: 'ssh-open-to-world',
    resourceArn: 'arn:aws:ec2:us-east-1:111122223333:security-group/sg-1',
  };
  const guardAt = (time: string) => new BlastRadiusGuard(client, TABLE, 2, 60, () => new Date(time));

  beforeEach(() => {
    dynamo.reset();
    dynamo.onAnyCommand().resolves({});
  });

  it('refuses on a trip it read, sending nothing', async () => {
    // Prepare
    const guard = guardAt('2026-11-24T09:30:00Z');
    const read = guard
      .stateRead()
      .decide([{ pk: 'GUARD', sk: 'STATE', tripped: true, reason: 'too many' }, undefined]);
    // Act
    const decision = await guard.acquire(drift, read);
    // Assess
    expect(decision).toEqual({ allowed: false, justTripped: false, reason: 'too many' });
    expect(dynamo.calls()).toEqual([]);
  });

  it('counts with the previous window it read: one conditional update, no read', async () => {
    // Prepare: the previous window held 2, half of it still overlaps: room for 1
    const guard = guardAt('2026-11-24T09:30:00Z');
    const read = guard.stateRead().decide([undefined, { remediations: 2 }]);
    // Act
    const decision = await guard.acquire(drift, read);
    // Assess
    expect(decision).toEqual({ allowed: true });
    expect(sentCommands(dynamo)).toEqual([UpdateCommand.name]);
    expect(dynamo).toHaveReceivedCommandWith(UpdateCommand, {
      Key: { pk: 'GUARD', sk: 'WINDOW#2026-11-24T09:00:00.000Z' },
      ExpressionAttributeValues: expect.objectContaining({ ':allowed': 1 }),
    });
  });

  it('reads its items again when a new window began since the delivery read them', async () => {
    // Prepare: read at 09:59:59, deciding at 10:00:01
    const read = guardAt('2026-11-24T09:59:59Z').stateRead().decide([undefined, undefined]);
    dynamo.on(GetCommand).resolves({});
    // Act
    await guardAt('2026-11-24T10:00:01Z').acquire(drift, read);
    // Assess: the state, then the window that is now the previous one (09:00), then the count
    expect(dynamo.commandCalls(GetCommand).map((call) => call.args[0].input.Key)).toEqual([
      { pk: 'GUARD', sk: 'STATE' },
      { pk: 'GUARD', sk: 'WINDOW#2026-11-24T09:00:00.000Z' },
    ]);
    expect(dynamo).toHaveReceivedCommandTimes(UpdateCommand, 1);
  });
});
