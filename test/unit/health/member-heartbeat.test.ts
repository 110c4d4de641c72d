import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  DynamoDbMemberHeartbeats,
  MEMBER_HEARTBEAT_PK,
  type MemberBeat,
  memberBeatOf,
  memberProblems,
  receiveMemberHeartbeat,
  silentMembers,
} from '../../../shared/health/member-heartbeat';

const STACK = 'compliance-responder-prod';
const SECURITY = '111111111111';
const MANAGEMENT = '999999999999';
const MEMBER = '222222222222';
const OTHER = '333333333333';
const NOW = new Date('2026-12-04T12:00:00.000Z');
const HOUR = 3_600_000;
const ago = (hours: number) => new Date(NOW.getTime() - hours * HOUR).toISOString();

/** A member heartbeat as EventBridge delivers it to the security account's bus. */
const beatEvent = (overrides: Record<string, unknown> = {}) => ({
  version: '0',
  id: 'b2c3d4e5-0000-4000-8000-000000000001',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: MEMBER,
  time: '2026-12-04T11:58:00Z',
  region: 'eu-west-1',
  resources: [`arn:aws:events:eu-west-1:${MEMBER}:rule/${STACK}-forward-heartbeat`],
  detail: {},
  ...overrides,
});

const dynamo = mockClient(DynamoDBDocumentClient);

describe('memberBeatOf', () => {
  it("takes EventBridge's scheduled event of the member heartbeat rule, in the account and region the event names", () => {
    // Act
    const verdict = memberBeatOf(beatEvent(), STACK);
    // Assess
    expect(verdict).toEqual({
      beat: {
        accountId: MEMBER,
        region: 'eu-west-1',
        at: '2026-12-04T11:58:00Z',
        eventId: 'b2c3d4e5-0000-4000-8000-000000000001',
      },
    });
  });

  it.each([
    ['a custom source', { source: 'compliance.heartbeat' }, 'source compliance.heartbeat is not aws.events'],
    ['another detail-type', { 'detail-type': 'Heartbeat' }, 'detail-type Heartbeat is not Scheduled Event'],
    [
      'another rule',
      { resources: [`arn:aws:events:eu-west-1:${MEMBER}:rule/nightly-job`] },
      'do not name rule',
    ],
    [
      "another account's rule",
      { resources: [`arn:aws:events:eu-west-1:${OTHER}:rule/${STACK}-forward-heartbeat`] },
      'do not name rule',
    ],
    [
      "another region's rule",
      { resources: [`arn:aws:events:us-east-1:${MEMBER}:rule/${STACK}-forward-heartbeat`] },
      'do not name rule',
    ],
    [
      'another stage',
      { resources: [`arn:aws:events:eu-west-1:${MEMBER}:rule/compliance-responder-dev-forward-heartbeat`] },
      'do not name rule',
    ],
    [
      'a second resource',
      {
        resources: [
          `arn:aws:events:eu-west-1:${MEMBER}:rule/${STACK}-forward-heartbeat`,
          `arn:aws:events:eu-west-1:${OTHER}:rule/${STACK}-forward-heartbeat`,
        ],
      },
      'do not name rule',
    ],
    ['no resources', { resources: undefined }, 'do not name rule'],
    ['a malformed account', { account: 'ABC' }, 'not an EventBridge event: account'],
  ])('ignores %s', (_what, overrides, reason) => {
    // Act
    const verdict = memberBeatOf(beatEvent(overrides), STACK);
    // Assess
    expect(verdict).toEqual({ ignored: expect.stringContaining(reason) });
  });
});

describe('silentMembers', () => {
  const regions = ['eu-west-1', 'us-east-1'];

  it('is content with every region heard within three periods, and names each region silent longer', () => {
    // Prepare
    const lastSeen = new Map([
      [`${MEMBER}/eu-west-1`, ago(2.9)],
      [`${MEMBER}/us-east-1`, ago(3.1)],
    ]);
    // Act
    const problems = silentMembers({ members: [{ accountId: MEMBER }], regions, lastSeen, now: NOW });
    // Assess
    expect(problems).toEqual([
      {
        check: 'member',
        subject: `${MEMBER} us-east-1`,
        problem: `no heartbeat from its member stack for over 3 hours (last ${ago(3.1)}): its forwarding has stopped`,
      },
    ]);
  });

  it('names a region never heard from, and an account silent everywhere once', () => {
    // Prepare: the member heard in one region only; the other member never
    const lastSeen = new Map([[`${MEMBER}/eu-west-1`, ago(1)]]);
    // Act
    const problems = silentMembers({
      members: [{ accountId: MEMBER }, { accountId: OTHER }],
      regions,
      lastSeen,
      now: NOW,
    });
    // Assess
    expect(problems).toEqual([
      {
        check: 'member',
        subject: `${MEMBER} us-east-1`,
        problem: expect.stringContaining('(never heard): the stack is missing there'),
      },
      {
        check: 'member',
        subject: OTHER,
        problem: expect.stringContaining('no heartbeat from its member stack in any of the 2 regions'),
      },
    ]);
  });

  it('gives an account that joined within three periods the grace of its joining', () => {
    // Prepare
    const members = [
      { accountId: MEMBER, joinedAt: new Date(ago(2)) },
      { accountId: OTHER, joinedAt: new Date(ago(4)) },
    ];
    // Act
    const problems = silentMembers({ members, regions, lastSeen: new Map(), now: NOW });
    // Assess
    expect(problems.map((problem) => problem.subject)).toEqual([OTHER]);
  });
});

describe('memberProblems', () => {
  const heard = new Map([
    [`${MEMBER}/us-east-1`, ago(1)],
    [`${MANAGEMENT}/us-east-1`, ago(10)],
  ]);

  it('expects no heartbeat from the management account, where service-managed StackSets never deploy', async () => {
    // Prepare: the listing excludes the security account itself (activeMemberAccounts)
    const accounts = {
      activeMemberAccounts: async () => [{ accountId: MANAGEMENT }, { accountId: MEMBER }],
      managementAccount: async () => MANAGEMENT,
    };
    // Act
    const found = await memberProblems({
      accounts,
      heartbeats: { lastSeen: async () => heard },
      regions: async () => ['us-east-1'],
      now: NOW,
    });
    // Assess
    expect(found).toEqual({ problems: [], members: 1 });
  });

  it('reports a listing it cannot make as a problem, never by throwing (the heartbeat must still beat)', async () => {
    // Prepare
    const accounts = {
      activeMemberAccounts: async () => {
        throw new Error('AWSOrganizationsNotInUseException: not in an organisation');
      },
      managementAccount: async () => MANAGEMENT,
    };
    // Act
    const found = await memberProblems({
      accounts,
      heartbeats: { lastSeen: async () => heard },
      regions: async () => ['us-east-1'],
      now: NOW,
    });
    // Assess
    expect(found.problems).toEqual([
      {
        check: 'member',
        subject: 'organisation',
        problem: expect.stringContaining('AWSOrganizationsNotInUseException'),
      },
    ]);
  });
});

describe('receiveMemberHeartbeat', () => {
  const record = jest.fn(async (_beat: MemberBeat, _now: Date) => 'recorded' as const);
  const accounts = {
    own: async () => ({ accountId: SECURITY, partition: 'aws' }),
    isActiveMember: async (id: string) => id === MEMBER,
  };
  beforeEach(() => record.mockClear());

  it('records a beat from an ACTIVE member', async () => {
    // Act
    const received = await receiveMemberHeartbeat(beatEvent(), {
      stackName: STACK,
      accounts,
      heartbeats: { record },
      now: NOW,
    });
    // Assess
    expect(received).toEqual({
      outcome: 'recorded',
      accountId: MEMBER,
      region: 'eu-west-1',
      at: '2026-12-04T11:58:00Z',
    });
    expect(record).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['an account outside the organisation', OTHER, 'not an ACTIVE member'],
    ['the security account itself', SECURITY, 'the security account runs the home stack'],
  ])('refuses a beat from %s, recording nothing', async (_what, account, reason) => {
    // Act
    const received = await receiveMemberHeartbeat(
      beatEvent({
        account,
        resources: [`arn:aws:events:eu-west-1:${account}:rule/${STACK}-forward-heartbeat`],
      }),
      { stackName: STACK, accounts, heartbeats: { record }, now: NOW },
    );
    // Assess
    expect(received).toEqual({
      outcome: 'refused',
      accountId: account,
      reason: expect.stringContaining(reason),
    });
    expect(record).not.toHaveBeenCalled();
  });
});

describe('DynamoDbMemberHeartbeats', () => {
  const store = () =>
    new DynamoDbMemberHeartbeats(DynamoDBDocumentClient.from(new DynamoDBClient({})), 'table');
  const beat: MemberBeat = { accountId: MEMBER, region: 'eu-west-1', at: ago(0.5), eventId: 'e-1' };
  beforeEach(() => dynamo.reset());

  it('writes the last-seen item under its own key, never moving it back, with a TTL', async () => {
    // Prepare
    dynamo.on(PutCommand).resolves({});
    // Act
    const outcome = await store().record(beat, NOW);
    // Assess
    expect(outcome).toBe('recorded');
    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      TableName: 'table',
      Item: expect.objectContaining({
        pk: MEMBER_HEARTBEAT_PK,
        sk: `ACCOUNT#${MEMBER}#REGION#eu-west-1`,
        lastSeenAt: ago(0.5),
        expiresAt: Math.floor(Date.parse(ago(0.5)) / 1000) + 30 * 86_400,
      }),
      ConditionExpression: 'attribute_not_exists(pk) OR lastSeenAt < :at',
      ExpressionAttributeValues: { ':at': ago(0.5) },
    });
  });

  it('keeps a later beat over a late delivery, and caps a time ahead of its clock at now', async () => {
    // Prepare
    dynamo
      .on(PutCommand)
      .rejectsOnce(new ConditionalCheckFailedException({ message: 'later', $metadata: {} }))
      .resolves({});
    // Act
    const late = await store().record(beat, NOW);
    await store().record({ ...beat, at: '2026-12-04T13:00:00.000Z' }, NOW);
    // Assess
    expect(late).toBe('stale');
    expect(dynamo).toHaveReceivedNthCommandWith(2, PutCommand, {
      Item: expect.objectContaining({ lastSeenAt: NOW.toISOString() }),
    });
  });

  it('reads every region in one paginated Query of its partition, skipping items of another shape', async () => {
    // Prepare
    dynamo
      .on(QueryCommand)
      .resolvesOnce({
        Items: [{ pk: MEMBER_HEARTBEAT_PK, account: MEMBER, region: 'eu-west-1', lastSeenAt: ago(1) }],
        LastEvaluatedKey: { pk: MEMBER_HEARTBEAT_PK, sk: 'x' },
      })
      .resolvesOnce({
        Items: [
          { pk: MEMBER_HEARTBEAT_PK, account: OTHER, region: 'us-east-1', lastSeenAt: ago(2) },
          { pk: MEMBER_HEARTBEAT_PK, account: 'forged', region: 'us-east-1', lastSeenAt: 'soon' },
        ],
      });
    // Act
    const seen = await store().lastSeen();
    // Assess
    expect([...seen]).toEqual([
      [`${MEMBER}/eu-west-1`, ago(1)],
      [`${OTHER}/us-east-1`, ago(2)],
    ]);
    expect(dynamo).toHaveReceivedCommandTimes(QueryCommand, 2);
    expect(dynamo).toHaveReceivedCommandWith(QueryCommand, {
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': MEMBER_HEARTBEAT_PK },
    });
  });
});
