import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DescribeRegionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createAwsClients } from '../../../shared/aws/clients';
import {
  DEPLOYMENT_HISTORY_KEY,
  type DeploymentFacts,
  DynamoDbDeploymentHistory,
  MAX_DEPLOYMENT_TRANSITIONS,
  nextTransitions,
  parseDeploymentHistory,
} from '../../../shared/health/deployment-history';
import { type HeartbeatReport, recordDeployment } from '../../../shared/health/heartbeat';
import { rules } from '../../../shared/rules';
import { testSettings } from '../../support/incident';

const TABLE = 'compliance-responder-test-incidents';
const FACTS: DeploymentFacts = {
  account: '111122223333',
  homeRegion: 'us-east-1',
  regions: ['eu-west-1', 'us-east-1'],
  stage: 'prod',
  modes: { 'ebs-encryption-by-default': 'enforce', 'ssh-open-to-world': 'enforce' },
};
const T1 = '2026-11-01T00:00:00.000Z';
const T2 = '2026-11-10T00:00:00.000Z';

const storedItem = (transitions: unknown[], revision = transitions.length) => ({
  ...DEPLOYMENT_HISTORY_KEY,
  schemaVersion: 1,
  revision,
  transitions,
});

describe('the deployment history: what changed since the last record', () => {
  it('appends nothing when the facts are those of the last record, whatever the order of regions and modes', () => {
    // Prepare
    const reordered: DeploymentFacts = {
      ...FACTS,
      regions: ['us-east-1', 'eu-west-1'],
      modes: { 'ssh-open-to-world': 'enforce', 'ebs-encryption-by-default': 'enforce' },
    };
    // Act / Assess
    expect(nextTransitions([{ at: T1, ...FACTS }], reordered, T2)).toBeUndefined();
  });

  it('appends a transition with its time when a mode changes', () => {
    // Prepare
    const notify = { ...FACTS, modes: { ...FACTS.modes, 'ssh-open-to-world': 'notify' as const } };
    // Act
    const next = nextTransitions([{ at: T1, ...FACTS }], notify, T2);
    // Assess
    expect(next).toEqual([
      { at: T1, ...FACTS },
      { at: T2, ...notify },
    ]);
  });

  it('appends when the swept regions or the stage change, and starts a history from nothing', () => {
    // Act / Assess
    expect(nextTransitions([], FACTS, T1)).toEqual([{ at: T1, ...FACTS }]);
    expect(nextTransitions([{ at: T1, ...FACTS }], { ...FACTS, regions: ['us-east-1'] }, T2)).toHaveLength(2);
    expect(nextTransitions([{ at: T1, ...FACTS }], { ...FACTS, stage: 'dev' }, T2)).toHaveLength(2);
  });

  it('never dates a change before the last record, so the history stays in time order', () => {
    // Prepare: this heartbeat's clock is behind the one that wrote the last record
    const notify = { ...FACTS, modes: { ...FACTS.modes, 'ssh-open-to-world': 'notify' as const } };
    // Act
    const next = nextTransitions([{ at: T2, ...FACTS }], notify, T1) ?? [];
    // Assess
    expect(next.map((entry) => entry.at)).toEqual([T2, T2]);
    expect(parseDeploymentHistory(storedItem(next)).state).toBe('recorded');
  });

  it(`keeps the newest ${MAX_DEPLOYMENT_TRANSITIONS} transitions, dropping the oldest`, () => {
    // Prepare
    const full = Array.from({ length: MAX_DEPLOYMENT_TRANSITIONS }, (_, index) => ({
      at: new Date(Date.parse(T1) + index * 60_000).toISOString(),
      ...FACTS,
      stage: `stage-${index}`,
    }));
    // Act
    const next = nextTransitions(full, FACTS, T2) ?? [];
    // Assess
    expect(next).toHaveLength(MAX_DEPLOYMENT_TRANSITIONS);
    expect(next[0]?.stage).toBe('stage-1');
    expect(next.at(-1)).toEqual({ at: T2, ...FACTS });
  });
});

describe('reading the deployment history item', () => {
  it('accepts the shape the heartbeat writes', () => {
    // Act / Assess
    expect(parseDeploymentHistory(storedItem([{ at: T1, ...FACTS }]))).toEqual({
      state: 'recorded',
      revision: 1,
      transitions: [{ at: T1, ...FACTS }],
    });
    expect(parseDeploymentHistory(undefined)).toEqual({ state: 'none' });
  });

  it.each([
    ['an unknown mode', [{ at: T1, ...FACTS, modes: { 'ssh-open-to-world': 'disabled' } }]],
    ['a time that is not a time', [{ at: 'yesterday', ...FACTS }]],
    ['a missing account', [{ at: T1, ...FACTS, account: undefined }]],
    ['an account that is not one', [{ at: T1, ...FACTS, account: '<script>' }]],
    ['an empty history', []],
  ])('calls an item with %s unreadable rather than guess', (_case, transitions) => {
    // Act
    const read = parseDeploymentHistory(storedItem(transitions, 1));
    // Assess
    expect(read).toMatchObject({ state: 'unreadable' });
  });
});

describe('recording the deployment in the table', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  const history = new DynamoDbDeploymentHistory(createAwsClients('us-east-1').dynamo(), TABLE);
  beforeEach(() => dynamo.reset());
  afterAll(() => dynamo.restore());

  it('writes nothing when nothing changed since the last record', async () => {
    // Prepare
    dynamo.on(GetCommand).resolves({ Item: storedItem([{ at: T1, ...FACTS }]) });
    // Act
    const outcome = await history.record(FACTS, new Date(T2));
    // Assess
    expect(outcome).toBe('unchanged');
    expect(dynamo).toHaveReceivedCommandWith(GetCommand, {
      TableName: TABLE,
      Key: DEPLOYMENT_HISTORY_KEY,
      ConsistentRead: true,
    });
    expect(dynamo).not.toHaveReceivedCommand(PutCommand);
  });

  it('creates the item only if no other heartbeat did', async () => {
    // Prepare
    dynamo.on(GetCommand).resolves({});
    // Act
    const outcome = await history.record(FACTS, new Date(T1));
    // Assess
    expect(outcome).toBe('recorded');
    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      TableName: TABLE,
      Item: storedItem([{ at: T1, ...FACTS }], 1),
      ConditionExpression: 'attribute_not_exists(pk)',
    });
  });

  it('appends a mode change on the revision it read, and re-reads when another heartbeat wrote first', async () => {
    // Prepare: a concurrent heartbeat records the same change between this one's read and write
    const notify = { ...FACTS, modes: { ...FACTS.modes, 'ssh-open-to-world': 'notify' as const } };
    dynamo
      .on(GetCommand)
      .resolvesOnce({ Item: storedItem([{ at: T1, ...FACTS }]) })
      .resolves({
        Item: storedItem([
          { at: T1, ...FACTS },
          { at: T2, ...notify },
        ]),
      });
    dynamo
      .on(PutCommand)
      .rejects(new ConditionalCheckFailedException({ message: 'conditional', $metadata: {} }));
    // Act
    const outcome = await history.record(notify, new Date(T2));
    // Assess: the first write was conditional on revision 1; the re-read found it recorded
    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      Item: storedItem(
        [
          { at: T1, ...FACTS },
          { at: T2, ...notify },
        ],
        2,
      ),
      ConditionExpression: '#revision = :revision',
      ExpressionAttributeNames: { '#revision': 'revision' },
      ExpressionAttributeValues: { ':revision': 1 },
    });
    expect(dynamo).toHaveReceivedCommandTimes(PutCommand, 1);
    expect(outcome).toBe('unchanged');
  });

  it('never overwrites an item it cannot read: that is evidence, and someone else wrote it', async () => {
    // Prepare
    dynamo.on(GetCommand).resolves({ Item: { ...DEPLOYMENT_HISTORY_KEY, transitions: 'all enforce' } });
    // Act / Assess
    await expect(history.record(FACTS, new Date(T2))).rejects.toThrow(/unreadable/);
    expect(dynamo).not.toHaveReceivedCommand(PutCommand);
  });
});

describe('the heartbeat records its deployment', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  const ec2 = mockClient(EC2Client);
  const healthy: HeartbeatReport = {
    healthy: true,
    checked: { functions: 1, configRules: 0, trails: 1, configurations: 3, streams: 1, sweeps: 1 },
    problems: [],
  };
  beforeEach(() => {
    dynamo.reset();
    ec2.reset();
  });
  afterAll(() => {
    dynamo.restore();
    ec2.restore();
  });

  it('with the regions the sweep would cover (all-enabled: DescribeRegions), its stage and every rule’s mode', async () => {
    // Prepare
    const settings = testSettings({
      SWEEP_REGIONS: 'all-enabled',
      STAGE: 'prod',
      MODE_SSH_OPEN_TO_WORLD: 'notify',
    });
    dynamo.on(GetCommand).resolves({});
    ec2
      .on(DescribeRegionsCommand)
      .resolves({ Regions: [{ RegionName: 'us-east-1' }, { RegionName: 'eu-west-1' }] });
    // Act
    const report = await recordDeployment(
      healthy,
      { accountId: '111122223333', region: 'us-east-1', settings, now: new Date(T1) },
      createAwsClients('us-east-1'),
    );
    // Assess
    expect(report).toEqual({ ...healthy, deployment: 'recorded' });
    const item = dynamo.commandCalls(PutCommand)[0]?.args[0].input.Item as { transitions: unknown[] };
    expect(item.transitions).toEqual([
      {
        at: T1,
        account: '111122223333',
        homeRegion: 'us-east-1',
        regions: ['eu-west-1', 'us-east-1'],
        stage: 'prod',
        modes: expect.objectContaining({ 'ssh-open-to-world': 'notify' }),
      },
    ]);
    expect(Object.keys((item.transitions[0] as DeploymentFacts).modes).sort()).toEqual(
      rules.map((rule) => rule.id).sort(),
    );
  });

  it('reports a history it cannot write as a problem (HeartbeatProblems pages), not as a missing heartbeat', async () => {
    // Prepare
    dynamo.on(GetCommand).rejects(new Error('AccessDeniedException'));
    // Act
    const report = await recordDeployment(
      healthy,
      { accountId: '111122223333', region: 'us-east-1', settings: testSettings(), now: new Date(T1) },
      createAwsClients('us-east-1'),
    );
    // Assess
    expect(report).toMatchObject({
      healthy: false,
      deployment: 'failed',
      problems: [{ check: 'deployment-history', subject: 'DEPLOYMENT#history' }],
    });
  });
});
