import { EC2Client } from '@aws-sdk/client-ec2';
import {
  GetUserCommand,
  IAMClient,
  ListSSHPublicKeysCommand,
  UpdateSSHPublicKeyCommand,
} from '@aws-sdk/client-iam';
import { ListAccountsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { CliContext } from '../../../cli/context';
import { UsageError } from '../../../cli/errors';
import { grantSecurityGroupRule, grantUser } from '../../../cli/ssh-grant';
import { revokeGrant } from '../../../cli/ssh-revoke';
import type { Settings } from '../../../shared/config';
import { parseCidr } from '../../../shared/ssh/cidr';
import { actionsOf, GRANT_STATEMENTS, REVOKE_STATEMENTS } from '../../../shared/ssh/grant-actions';
import type { Grant } from '../../../shared/ssh/grant-ledger';
import { cliContext } from '../../support/cli-context';
import { testSettings } from '../../support/incident';

/**
 * `ssh grant --account` and `ssh revoke` of a member's grant (docs/organisation.md): only the caller's
 * own account, or an ACTIVE member of an organisation deployment, as the member role of the command's
 * home role under a session naming the grant's incident. moto enforces no IAM and maps every
 * AssumeRole to the role's account, so which role, which session, and what is refused before any
 * write are checked here with the mock (test/integration/cli-organisation.test.ts runs it on moto).
 */
const SECURITY = '111122223333';
const MEMBER = '444455556666';
const OUTSIDER = '999999999999';
const STACK = 'compliance-responder-prod';
const APPROVER = `arn:aws:sts::${SECURITY}:assumed-role/${STACK}-approver/alice`;

const organizations = mockClient(OrganizationsClient);
const sts = mockClient(STSClient);
const iam = mockClient(IAMClient);
const ec2 = mockClient(EC2Client);
const dynamo = mockClient(DynamoDBDocumentClient);

const context = (deployed: Settings): CliContext =>
  cliContext({
    tableName: `${STACK}-incidents`,
    deployedSettings: async () => deployed,
    caller: async () => ({ arn: APPROVER, accountId: SECURITY }),
  });

const single = testSettings({ STACK_NAME: STACK });
const organisation = testSettings({ ORGANIZATION_ID: 'o-abcd1234ef', STACK_NAME: STACK });

const userRequest = { userName: 'dev-alice', ttlMinutes: 30, reason: 'INC-12 debug the billing host' };

function givenUserWithInactiveKey(account: string) {
  iam.on(GetUserCommand).resolves({
    User: {
      UserName: 'dev-alice',
      UserId: 'AIDA1',
      Arn: `arn:aws:iam::${account}:user/dev-alice`,
      Path: '/',
      CreateDate: new Date(),
    },
  });
  iam.on(ListSSHPublicKeysCommand).resolves({
    SSHPublicKeys: [
      { UserName: 'dev-alice', SSHPublicKeyId: 'APKA1', Status: 'Inactive', UploadDate: new Date() },
    ],
  });
  iam.on(UpdateSSHPublicKeyCommand).resolves({});
}

describe('ssh grant --account', () => {
  let incident: Record<string, unknown>;
  beforeEach(() => {
    for (const mock of [organizations, sts, iam, ec2, dynamo]) mock.reset();
    sts.on(GetCallerIdentityCommand).resolves({ Account: SECURITY, Arn: APPROVER });
    sts.on(AssumeRoleCommand).resolves({
      Credentials: {
        AccessKeyId: 'ASIAMEMBER',
        SecretAccessKey: 'secret',
        SessionToken: 'token',
        Expiration: new Date(8.64e15),
      },
    });
    organizations.on(ListAccountsCommand).resolves({
      Accounts: [
        { Id: SECURITY, State: 'ACTIVE' },
        { Id: MEMBER, State: 'ACTIVE' },
        { Id: OUTSIDER, State: 'SUSPENDED' },
      ],
    });
    dynamo.on(TransactWriteCommand).resolves({});
    incident = {};
    dynamo.on(PutCommand).callsFake((input: { Item: Record<string, unknown> }) => {
      incident = { ...input.Item };
      return {};
    });
    dynamo.on(UpdateCommand).callsFake(() => ({ Attributes: { ...incident, status: 'resolved' } }));
  });
  afterAll(() => {
    for (const mock of [organizations, sts, iam, ec2, dynamo]) mock.restore();
  });

  it.each([
    [
      'a suspended account',
      organisation,
      OUTSIDER,
      `--account ${OUTSIDER}: not an ACTIVE account of organisation o-abcd1234ef; nothing was granted`,
    ],
    [
      'another account of a single-account deployment',
      single,
      MEMBER,
      `--account ${MEMBER}: this stack is not an organisation deployment, so ssh grant opens paths only in your own account ${SECURITY}; nothing was granted`,
    ],
  ])(
    'refuses %s as a usage mistake, before any read, assumed role or write',
    async (_case, deployed, account, message) => {
      // Act
      const granting = grantUser(context(deployed), { ...userRequest, account });
      // Assess
      await expect(granting).rejects.toThrow(UsageError);
      await expect(grantUser(context(deployed), { ...userRequest, account })).rejects.toThrow(message);
      expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 0);
      expect(iam.calls()).toEqual([]);
      expect(dynamo.calls()).toEqual([]);
    },
  );

  it('refuses a security group of a non-member the same way', async () => {
    // Act / Assess
    await expect(
      grantSecurityGroupRule(context(organisation), {
        groupId: 'sg-1',
        cidr: parseCidr('203.0.113.7/32') ?? (undefined as never),
        port: 22,
        ttlMinutes: 30,
        reason: 'INC-12 debug the billing host',
        account: OUTSIDER,
      }),
    ).rejects.toThrow(`--account ${OUTSIDER}: not an ACTIVE account`);
    expect(ec2.calls()).toEqual([]);
    expect(dynamo.calls()).toEqual([]);
  });

  it("grants in the caller's own account as today, naming it in the ledger, without Organizations or STS roles", async () => {
    // Prepare
    givenUserWithInactiveKey(SECURITY);
    // Act
    const result = await grantUser(context(single), { ...userRequest, account: SECURITY });
    // Assess
    expect(result.grant.account).toBe(SECURITY);
    expect(result.activated).toEqual(['APKA1']);
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 0);
    expect(organizations.calls()).toEqual([]);
    expect(incident).toMatchObject({
      account: SECURITY,
      resourceArn: `arn:aws:iam::${SECURITY}:user/dev-alice`,
    });
  });

  it("activates a member's keys as the member approver role, under a session named after the grant's incident, recorded in the member's name", async () => {
    // Prepare
    givenUserWithInactiveKey(MEMBER);
    // Act
    const result = await grantUser(context(organisation), { ...userRequest, account: MEMBER });
    // Assess: one role, the approver's member role in that account, its session the incident's id
    const assumed = sts.commandCalls(AssumeRoleCommand).map((call) => call.args[0].input);
    expect(assumed).toEqual([
      {
        RoleArn: `arn:aws:iam::${MEMBER}:role/${STACK}-member-approver`,
        RoleSessionName: result.incidentId,
        DurationSeconds: 900,
      },
    ]);
    expect(result.grant.account).toBe(MEMBER);
    const written = dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(written.map((item) => item.Put?.Item?.account)).toEqual([MEMBER, MEMBER]);
    expect(incident).toMatchObject({
      incidentId: result.incidentId,
      account: MEMBER,
      resourceArn: `arn:aws:iam::${MEMBER}:user/dev-alice`,
      grantChange: {
        action: 'grant',
        by: APPROVER,
        memberSession: `arn:aws:sts::${MEMBER}:assumed-role/${STACK}-member-approver/${result.incidentId}`,
      },
      steps: [],
    });
    expect(iam).toHaveReceivedCommandWith(UpdateSSHPublicKeyCommand, {
      UserName: 'dev-alice',
      SSHPublicKeyId: 'APKA1',
      Status: 'Active',
    });
  });

  it('sends in the member only what the member roles hold (shared/ssh/grant-actions.ts)', async () => {
    // Prepare
    givenUserWithInactiveKey(MEMBER);
    // Act
    await grantUser(context(organisation), { ...userRequest, account: MEMBER });
    // Assess
    const sent = iam.calls().map((call) => `iam:${call.args[0].constructor.name.replace(/Command$/, '')}`);
    for (const action of sent)
      expect([action, actionsOf(GRANT_STATEMENTS).includes(action)]).toEqual([action, true]);
    expect(actionsOf(REVOKE_STATEMENTS)).toEqual(
      expect.arrayContaining(['iam:UpdateSSHPublicKey', 'ec2:RevokeSecurityGroupIngress']),
    );
  });
});

describe("ssh revoke of a member's grant", () => {
  const memberGrant: Grant = {
    grantId: 'sshg-20261206T113000-0a1b2c3d',
    account: MEMBER,
    kind: 'iam-ssh-key',
    target: { userName: 'dev-alice' },
    grantedTo: 'dev-alice',
    grantedBy: APPROVER,
    reason: 'INC-12',
    createdAt: '2026-12-06T11:30:00.000Z',
    expiresAt: '2026-12-06T12:30:00.000Z',
  };
  const stored = (grant: Grant) => {
    const { expiresAt, ...fields } = grant;
    return { pk: `GRANT#${grant.grantId}`, sk: 'GRANT', ...fields, grantExpiresAt: expiresAt };
  };
  beforeEach(() => {
    for (const mock of [organizations, sts, iam, ec2, dynamo]) mock.reset();
    sts.on(GetCallerIdentityCommand).resolves({ Account: SECURITY, Arn: APPROVER });
  });

  it('refuses, before anything changes, a grant naming an account that is no ACTIVE member', async () => {
    // Prepare
    organizations.on(ListAccountsCommand).resolves({ Accounts: [{ Id: SECURITY, State: 'ACTIVE' }] });
    dynamo.on(GetCommand).resolves({ Item: stored(memberGrant) });
    // Act / Assess
    await expect(
      revokeGrant(context(organisation), memberGrant.grantId, 'INC-13 done early'),
    ).rejects.toThrow(
      `grant ${memberGrant.grantId} is for account ${MEMBER}, not an ACTIVE account of organisation o-abcd1234ef: nothing was changed`,
    );
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 0);
    expect(dynamo).toHaveReceivedCommandTimes(TransactWriteCommand, 0);
    expect(dynamo).toHaveReceivedCommandTimes(PutCommand, 0);
  });
});
