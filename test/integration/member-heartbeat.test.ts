import {
  CreateAccountCommand,
  CreateOrganizationCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { scheduledEvent } from '../../scripts/lib/events';
import { createAwsClients } from '../../shared/aws/clients';
import { MEMBER_HEARTBEAT_PK, memberHeartbeatRuleName } from '../../shared/health/member-heartbeat';
import { LocalResponder, resetAccount } from '../support/local-responder';
import { ACCOUNT } from '../support/ssh';

/**
 * Member stacks' heartbeats against moto with three accounts: the security account (moto's own, here
 * also the management account) and two members. moto fires no schedule and delivers nothing across
 * accounts, so each beat is handed to the member-heartbeat bundle as EventBridge delivers it to the
 * security account's bus: source aws.events, the member's account and region, its rule's ARN.
 */
const REGION = 'us-east-1';
const OTHER_REGION = 'eu-west-1';
const OUTSIDER = '999999999999';
const HOUR = 3_600_000;

describe("member stacks' heartbeats, run as the bundles against moto with three accounts", () => {
  let responder: LocalResponder;
  let members: string[];
  let organisation: Record<string, string>;
  let stackName: string;

  /** A member's scheduled event as its heartbeat rule fires it, `hoursAgo` back. */
  const beatOf = (
    account: string,
    region: string,
    hoursAgo = 0,
    ruleName = memberHeartbeatRuleName(stackName),
  ) => ({
    ...scheduledEvent({ accountId: account, region, ruleName }),
    time: new Date(Date.now() - hoursAgo * HOUR).toISOString().replace(/\.\d+Z$/, 'Z'),
  });
  const deliver = (event: unknown) => responder.invokeBundle('member-heartbeat', event, organisation);
  const lastSeenItems = async () => {
    const { Items = [] } = await createAwsClients(REGION)
      .dynamo()
      .send(
        new QueryCommand({
          TableName: responder.stack.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': MEMBER_HEARTBEAT_PK },
        }),
      );
    return Items;
  };
  const memberProblems = async (env: Record<string, string>) => {
    const { ok, result } = await responder.invokeBundle(
      'heartbeat',
      scheduledEvent({ accountId: ACCOUNT, region: REGION }),
      { ...organisation, ...env },
    );
    expect(ok).toBe(true);
    return {
      problems: (result.problems as { check: string }[]).filter((problem) => problem.check === 'member'),
      checked: result.checked as Record<string, number>,
    };
  };

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision();
    stackName = String(responder.stack.env.STACK_NAME);
    const organizations = new OrganizationsClient({ region: REGION });
    const organization = await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
    organisation = { ORGANIZATION_ID: String(organization.Organization?.Id) };
    members = [];
    for (const name of ['ward-one', 'ward-two']) {
      const created = await organizations.send(
        new CreateAccountCommand({ AccountName: name, Email: `${name}@example.org` }),
      );
      members.push(String(created.CreateAccountStatus?.AccountId));
    }
  });

  it('is content with members that beat, and names the member region that stopped, with when it was last heard', async () => {
    // Prepare: both members beat in both swept regions; the second's eu-west-1 stopped four hours ago
    const [first = '', second = ''] = members;
    const stoppedAt = beatOf(second, OTHER_REGION, 4).time;
    for (const event of [
      beatOf(first, REGION),
      beatOf(first, OTHER_REGION),
      beatOf(second, REGION),
      beatOf(second, OTHER_REGION, 4),
    ]) {
      const { ok, result } = await deliver(event);
      expect([ok, result.outcome]).toEqual([true, 'recorded']);
    }
    // A late delivery of an older beat never moves a region's last beat back
    const late = await deliver(beatOf(first, REGION, 5));
    // Act
    const swept = { SWEEP_REGIONS: `${REGION},${OTHER_REGION}` };
    const { problems, checked } = await memberProblems(swept);
    // Assess: the management account (the security account here) is not a member to expect
    expect(late.result.outcome).toBe('stale');
    expect(checked.members).toBe(2);
    expect(problems).toEqual([
      {
        check: 'member',
        subject: `${second} ${OTHER_REGION}`,
        problem: `no heartbeat from its member stack for over 3 hours (last ${stoppedAt}): its forwarding has stopped`,
      },
    ]);
    const items = await lastSeenItems();
    expect(items).toHaveLength(4);
    for (const item of items) {
      expect(item.sk).toBe(`ACCOUNT#${item.account}#REGION#${item.region}`);
      expect(item.expiresAt).toBeGreaterThan(Date.now() / 1000 + 29 * 86_400);
    }
    // Assess: once it beats again, it is content
    await deliver(beatOf(second, OTHER_REGION));
    expect((await memberProblems(swept)).problems).toEqual([]);
  });

  it('gives members that just joined the grace of their JoinedTimestamp (moto cannot move the clock past it)', async () => {
    // Act: moto's accounts joined just now, and none has beaten
    const { problems } = await memberProblems({});
    // Assess
    expect(problems).toEqual([]);
  });

  it('refuses a heartbeat naming an account outside the organisation, or the security account itself, recording nothing', async () => {
    // Act
    const outsider = await deliver(beatOf(OUTSIDER, REGION));
    const own = await deliver(beatOf(ACCOUNT, REGION));
    // Assess
    expect(outsider.result).toMatchObject({ outcome: 'refused', accountId: OUTSIDER });
    expect(own.result).toMatchObject({ outcome: 'refused', accountId: ACCOUNT });
    expect(await lastSeenItems()).toEqual([]);
  });

  it('ignores an event whose source or resources are not a member heartbeat rule’s, recording nothing', async () => {
    // Prepare
    const [first = ''] = members;
    const events = [
      // What PutEvents could carry (any source but aws.*), naming the member's rule
      { ...beatOf(first, REGION), source: 'compliance.heartbeat' },
      // Another of the member's schedules
      beatOf(first, REGION, 0, 'nightly-backup'),
      // The member's rule name, but under another account than the event's own
      { ...beatOf(first, REGION), resources: [beatOf(members[1] ?? '', REGION).resources[0]] },
    ];
    // Act
    const outcomes = [];
    for (const event of events) outcomes.push((await deliver(event)).result.outcome);
    // Assess
    expect(outcomes).toEqual(['ignored', 'ignored', 'ignored']);
    expect(await lastSeenItems()).toEqual([]);
  });
});
