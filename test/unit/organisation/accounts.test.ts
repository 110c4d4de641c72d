import {
  DescribeOrganizationCommand,
  ListAccountsCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  LISTING_FAILURE_TTL_MS,
  MAX_MEMBER_SESSIONS,
  MEMBERSHIP_TTL_MS,
  OrganisationAccounts,
  RELIST_AFTER_MS,
} from '../../../shared/organisation/accounts';

const organizations = mockClient(OrganizationsClient);
const sts = mockClient(STSClient);

function accountsAt(clock: { now: number }, options: { managementAccountMember?: boolean } = {}) {
  return new OrganisationAccounts({
    ...options,
    homeRegion: 'us-east-1',
    stackName: 'compliance-responder-prod',
    ruleId: 'ssh-open-to-world',
    sts: new STSClient({ region: 'us-east-1' }),
    organizations: new OrganizationsClient({ region: 'us-east-1' }),
    now: () => clock.now,
  });
}

describe('OrganisationAccounts', () => {
  beforeEach(() => {
    organizations.reset();
    sts.reset();
    organizations.on(ListAccountsCommand).resolves({
      Accounts: [
        { Id: '111111111111', State: 'ACTIVE' },
        { Id: '222222222222', State: 'SUSPENDED', Status: 'ACTIVE' },
        { Id: '333333333333', Status: 'ACTIVE' },
        { Id: '444444444444', State: 'PENDING_CLOSURE' },
      ],
    });
    sts
      .on(GetCallerIdentityCommand)
      .resolves({ Account: '123456789012', Arn: 'arn:aws-us-gov:sts::123456789012:x' });
  });

  it('lists the ACTIVE members but itself with when each joined, and names the management account once', async () => {
    // Prepare
    const joined = new Date('2026-01-02T03:04:05Z');
    organizations.on(ListAccountsCommand).resolves({
      Accounts: [
        { Id: '123456789012', State: 'ACTIVE' },
        { Id: '333333333333', State: 'ACTIVE' },
        { Id: '111111111111', State: 'ACTIVE', JoinedTimestamp: joined },
        { Id: '222222222222', State: 'SUSPENDED' },
      ],
    });
    organizations
      .on(DescribeOrganizationCommand)
      .resolves({ Organization: { MasterAccountId: '999999999999' } });
    const accounts = accountsAt({ now: 0 });
    // Act
    const members = await accounts.activeMemberAccounts();
    const management = [await accounts.managementAccount(), await accounts.managementAccount()];
    // Assess
    expect(members).toEqual([{ accountId: '111111111111', joinedAt: joined }, { accountId: '333333333333' }]);
    expect(management).toEqual(['999999999999', '999999999999']);
    expect(organizations).toHaveReceivedCommandTimes(DescribeOrganizationCommand, 1);
  });

  describe("the organisation's management account, where a service-managed StackSet never deploys", () => {
    beforeEach(() => {
      organizations.on(ListAccountsCommand).resolves({
        Accounts: [
          { Id: '111111111111', State: 'ACTIVE' },
          { Id: '999999999999', State: 'ACTIVE' },
        ],
      });
      organizations
        .on(DescribeOrganizationCommand)
        .resolves({ Organization: { MasterAccountId: '999999999999' } });
    });

    it('is left out of the sweeps and refused as a member, asking Organizations once', async () => {
      // Prepare
      const accounts = accountsAt({ now: 0 });
      // Act
      const members = await accounts.activeMembers();
      const verdicts = [
        await accounts.isActiveMember('999999999999'),
        await accounts.isActiveMember('111111111111'),
      ];
      // Assess
      expect(members).toEqual(['111111111111']);
      expect(verdicts).toEqual([false, true]);
      expect(organizations).toHaveReceivedCommandTimes(DescribeOrganizationCommand, 1);
    });

    it('is a member like any other when managementAccountMember says a member stack was deployed there by hand, and DescribeOrganization is never called', async () => {
      // Prepare
      const accounts = accountsAt({ now: 0 }, { managementAccountMember: true });
      // Act
      const members = await accounts.activeMembers();
      const verdict = await accounts.isActiveMember('999999999999');
      // Assess
      expect(members).toEqual(['111111111111', '999999999999']);
      expect(verdict).toBe(true);
      expect(organizations).not.toHaveReceivedCommand(DescribeOrganizationCommand);
    });

    it('fails the check (never acts in it) while DescribeOrganization fails, and asks again next time', async () => {
      // Prepare
      organizations
        .on(DescribeOrganizationCommand)
        .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' }))
        .resolves({ Organization: { MasterAccountId: '999999999999' } });
      const accounts = accountsAt({ now: 0 });
      // Act + Assess
      await expect(accounts.activeMembers()).rejects.toThrow('Rate exceeded');
      expect(await accounts.activeMembers()).toEqual(['111111111111']);
    });
  });

  it('acts only in ACTIVE accounts, reading State before the retired Status', async () => {
    // Prepare
    const accounts = accountsAt({ now: 0 });
    // Act
    const verdicts = await Promise.all(
      ['111111111111', '222222222222', '333333333333', '444444444444', '999999999999'].map((id) =>
        accounts.isActiveMember(id),
      ),
    );
    // Assess
    expect(verdicts).toEqual([true, false, true, false, false]);
  });

  it('lists the organisation once per TTL, and again for an unknown account at most once a minute', async () => {
    // Prepare
    const clock = { now: 0 };
    const accounts = accountsAt(clock);
    // Act: a known account, then an unknown one at once and after a minute, then past the TTL
    await accounts.isActiveMember('111111111111');
    await accounts.isActiveMember('999999999999');
    clock.now = RELIST_AFTER_MS + 1;
    await accounts.isActiveMember('999999999999');
    await accounts.isActiveMember('999999999999');
    await accounts.isActiveMember('111111111111');
    clock.now = RELIST_AFTER_MS + MEMBERSHIP_TTL_MS + 2;
    await accounts.isActiveMember('111111111111');
    // Assess
    expect(organizations).toHaveReceivedCommandTimes(ListAccountsCommand, 3);
  });

  it("names the member account on the clients of a member role (what the home stack's ledgers grant holds only at home)", async () => {
    // Prepare
    sts.on(AssumeRoleCommand).resolves({
      Credentials: {
        AccessKeyId: 'ASIA1',
        SecretAccessKey: 'secret',
        SessionToken: 't',
        Expiration: new Date(8.64e15),
      },
    });
    const accounts = accountsAt({ now: 0 });
    // Act
    const clients = await accounts.clientsIn('111111111111', 'read-ssh-open-to-world');
    // Assess
    expect(clients.memberAccount).toBe('111111111111');
  });

  it('believes a failed listing briefly: a throttled or refused ListAccounts is not called again by every delivery', async () => {
    // Prepare
    const clock = { now: 0 };
    organizations
      .on(ListAccountsCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' }));
    const accounts = accountsAt(clock);
    // Act: three deliveries within the failure's time, then one after it
    const verdicts = [];
    for (const at of [0, 1_000, LISTING_FAILURE_TTL_MS - 1]) {
      clock.now = at;
      verdicts.push(await accounts.isActiveMember('111111111111').catch((error: Error) => error.message));
    }
    const calledDuring = organizations.commandCalls(ListAccountsCommand).length;
    clock.now = LISTING_FAILURE_TTL_MS + 1;
    const sweep = await accounts.activeMembers().catch((error: Error) => error.message);
    // Assess: each delivery fails (never a silent 'not a member'), Organizations asked once, then again
    expect(verdicts).toEqual(['Rate exceeded', 'Rate exceeded', 'Rate exceeded']);
    expect(calledDuring).toBe(1);
    expect(sweep).toBe('Rate exceeded');
    expect(organizations).toHaveReceivedCommandTimes(ListAccountsCommand, 2);
  });

  it('keeps a bounded number of member sessions: the least recently used is assumed again when asked for', async () => {
    // Prepare
    sts.on(AssumeRoleCommand).resolves({
      Credentials: {
        AccessKeyId: 'ASIA1',
        SecretAccessKey: 'secret',
        SessionToken: 't',
        Expiration: new Date(8.64e15),
      },
    });
    const accounts = accountsAt({ now: 0 });
    // Act: one more session than the cap, the first used again before the last is added
    await accounts.clientsIn('111111111111', 'session-0');
    for (let n = 1; n < MAX_MEMBER_SESSIONS; n++) await accounts.clientsIn('111111111111', `session-${n}`);
    await accounts.clientsIn('111111111111', 'session-0');
    await accounts.clientsIn('111111111111', `session-${MAX_MEMBER_SESSIONS}`);
    const assumed = sts.commandCalls(AssumeRoleCommand).length;
    await accounts.clientsIn('111111111111', 'session-0');
    await accounts.clientsIn('111111111111', 'session-1');
    // Assess: session-0 (recently used) is kept; session-1 (the least recently used) was dropped
    expect(assumed).toBe(MAX_MEMBER_SESSIONS + 1);
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, MAX_MEMBER_SESSIONS + 2);
  });

  it('knows its own account and partition from one STS call', async () => {
    // Prepare
    const accounts = accountsAt({ now: 0 });
    // Act
    const [first, second] = await Promise.all([accounts.own(), accounts.own()]);
    // Assess
    expect(first).toEqual({ accountId: '123456789012', partition: 'aws-us-gov' });
    expect(second).toBe(first);
    expect(sts).toHaveReceivedCommandTimes(GetCallerIdentityCommand, 1);
  });
});
