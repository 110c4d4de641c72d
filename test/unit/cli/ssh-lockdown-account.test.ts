import {
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import { IAMClient, ListUsersCommand } from '@aws-sdk/client-iam';
import { ListAccountsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import {
  DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { CliContext } from '../../../cli/context';
import { UsageError } from '../../../cli/errors';
import { lockdown } from '../../../cli/ssh-lockdown';
import { memberLockdownStatements } from '../../../scripts/lib/member';
import type { Incident } from '../../../shared/model';
import { cliContext } from '../../support/cli-context';
import { testSettings } from '../../support/incident';

const SECURITY = '111122223333';
const MEMBER = '444455556666';
const OUTSIDER = '999999999999';
const STACK = 'compliance-responder-prod';
const ON_CALL = `arn:aws:sts::${SECURITY}:assumed-role/${STACK}-on-call/bob`;

const organizations = mockClient(OrganizationsClient);
const sts = mockClient(STSClient);
const ec2 = mockClient(EC2Client);
const iam = mockClient(IAMClient);
const dynamo = mockClient(DynamoDBDocumentClient);
const mocks = [organizations, sts, ec2, iam, dynamo];

const context = (): CliContext =>
  cliContext({
    tableName: `${STACK}-incidents`,
    deployedSettings: async () => testSettings({ ORGANIZATION_ID: 'o-abcd1234ef', STACK_NAME: STACK }),
    caller: async () => ({ arn: ON_CALL, accountId: SECURITY }),
  });

const options = (accounts: readonly string[] | 'all') => ({
  dryRun: false,
  ignoreExemptions: false,
  emergency: false,
  reason: 'INC-31 key leak',
  accounts,
  confirm: async () => true,
  progress: () => {},
});

/** The member's one group, open to the world on port 22 until it is revoked. */
function openGroupInMember(): void {
  let open = true;
  ec2.on(DescribeSecurityGroupsCommand).callsFake(() => ({
    SecurityGroups: [
      {
        GroupId: 'sg-1',
        GroupName: 'bastion',
        OwnerId: MEMBER,
        IpPermissions: open
          ? [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }]
          : [],
      },
    ],
  }));
  ec2.on(DescribeSecurityGroupRulesCommand).callsFake(() => ({
    SecurityGroupRules: open
      ? [
          {
            SecurityGroupRuleId: 'sgr-1',
            GroupId: 'sg-1',
            IsEgress: false,
            IpProtocol: 'tcp',
            FromPort: 22,
            ToPort: 22,
            CidrIpv4: '0.0.0.0/0',
          },
        ]
      : [],
  }));
  ec2.on(RevokeSecurityGroupIngressCommand).callsFake(() => {
    open = false;
    return { Return: true };
  });
}

/** Incidents written to the home table, by key: the guard's window is empty, every conditional write goes through. */
const incidents = new Map<string, Record<string, unknown>>();

function homeTable(): void {
  incidents.clear();
  dynamo.onAnyCommand().resolves({});
  dynamo
    .on(TransactWriteCommand)
    .callsFake((input: { TransactItems: { Put?: { Item: Record<string, unknown> } }[] }) => {
      for (const { Put } of input.TransactItems) {
        if (String(Put?.Item.pk).startsWith('INCIDENT#'))
          incidents.set(String(Put?.Item.pk), { ...Put?.Item });
      }
      return {};
    });
  dynamo
    .on(GetCommand)
    .callsFake((input: { Key: { pk: string } }) => ({ Item: incidents.get(input.Key.pk) }));
  dynamo
    .on(UpdateCommand)
    .callsFake((input: { Key: { pk: string }; ExpressionAttributeValues: Record<string, unknown> }) => {
      const item = incidents.get(input.Key.pk);
      if (!item) return {};
      const values = input.ExpressionAttributeValues;
      const fields = {
        ':status': 'status',
        ':steps': 'steps',
        ':workflow': 'workflow',
        ':alert': 'alert',
        ':reason': 'statusReason',
      };
      for (const [value, field] of Object.entries(fields)) if (value in values) item[field] = values[value];
      return { Attributes: { ...item } };
    });
}

/** IAM's action for an SDK command sent to a mock: `ec2:DescribeSecurityGroups`. */
const actionsSent = (mock: { calls(): { args: unknown[] }[] }, service: string) =>
  mock.calls().map((call) => {
    const command = call.args[0] as { constructor: { name: string } };
    return `${service}:${command.constructor.name.replace(/Command$/, '')}`;
  });

describe('ssh lockdown --account, in a member account of an organisation deployment', () => {
  beforeEach(() => {
    for (const mock of mocks) mock.reset();
    sts
      .on(GetCallerIdentityCommand)
      .resolves({ Account: SECURITY, Arn: `arn:aws:sts::${SECURITY}:assumed-role/x/y` });
    sts.on(AssumeRoleCommand).resolves({
      Credentials: {
        AccessKeyId: 'AKIA',
        SecretAccessKey: 'secret',
        SessionToken: 'token',
        Expiration: new Date('2026-12-06T13:00:00.000Z'),
      },
    });
    organizations.on(ListAccountsCommand).resolves({
      Accounts: [
        { Id: SECURITY, State: 'ACTIVE' },
        { Id: MEMBER, State: 'ACTIVE' },
        { Id: OUTSIDER, State: 'SUSPENDED' },
      ],
    });
    iam.on(ListUsersCommand).resolves({ Users: [] });
    homeTable();
  });
  afterAll(() => {
    for (const mock of mocks) mock.restore();
  });

  it('refuses an account that is not ACTIVE as a usage error, before any role is assumed or anything read or written', async () => {
    // Act
    const attempt = lockdown(context(), options([MEMBER, OUTSIDER]));
    // Assess
    await expect(attempt).rejects.toThrow(UsageError);
    await expect(lockdown(context(), options([OUTSIDER]))).rejects.toThrow(
      `--account ${OUTSIDER}: not an ACTIVE account of organisation o-abcd1234ef; nothing was read or changed`,
    );
    expect(sts).not.toHaveReceivedCommand(AssumeRoleCommand);
    expect(ec2).not.toHaveReceivedAnyCommand();
    expect(iam).not.toHaveReceivedAnyCommand();
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it('reports a member whose on-call role cannot be assumed, reading and changing nothing there', async () => {
    // Prepare
    openGroupInMember();
    sts
      .on(AssumeRoleCommand)
      .rejects(
        Object.assign(new Error('not authorized to perform sts:AssumeRole'), { name: 'AccessDenied' }),
      );
    // Act
    const run = await lockdown(context(), options([MEMBER]));
    // Assess
    expect(run.accounts).toEqual([]);
    expect(run.unreached).toEqual([
      {
        accountId: MEMBER,
        reason: expect.stringMatching(
          new RegExp(
            `^cannot act in account ${MEMBER} as ${STACK}-member-on-call \\(.*\\): is the member stack deployed there`,
          ),
        ),
      },
    ]);
    expect(ec2).not.toHaveReceivedAnyCommand();
    expect(iam).not.toHaveReceivedAnyCommand();
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it("closes the member's path as its member on-call role, under a session named after the incident it records in that account, calling only what that role holds", async () => {
    // Prepare
    openGroupInMember();
    // Act
    const run = await lockdown(context(), options([MEMBER]));
    // Assess: closed and recorded as an incident of the member's account, with the session that acted
    const [report] = run.accounts;
    const [entry] = report?.entries ?? [];
    expect([report?.accountId, entry?.outcome, entry?.resourceId, entry?.detail]).toEqual([
      MEMBER,
      'closed',
      'sg-1',
      undefined,
    ]);
    const recorded = incidents.get(`INCIDENT#${entry?.incidentId}`) as Partial<Incident> | undefined;
    expect(recorded).toMatchObject({
      account: MEMBER,
      resourceArn: `arn:aws:ec2:us-east-1:${MEMBER}:security-group/sg-1`,
      status: 'remediated',
      lockdown: {
        by: ON_CALL,
        reason: 'INC-31 key leak',
        memberSession: `arn:aws:sts::${MEMBER}:assumed-role/${STACK}-member-on-call/${entry?.incidentId}`,
      },
    });
    expect(sts.commandCalls(AssumeRoleCommand).map((call) => call.args[0].input)).toEqual([
      expect.objectContaining({
        RoleArn: `arn:aws:iam::${MEMBER}:role/${STACK}-member-on-call`,
        RoleSessionName: 'lockdown',
      }),
      expect.objectContaining({
        RoleArn: `arn:aws:iam::${MEMBER}:role/${STACK}-member-on-call`,
        RoleSessionName: entry?.incidentId,
      }),
    ]);
    // Assess: every call made in the member is one the member on-call role's lockdown policy allows
    const held = new Set(memberLockdownStatements().flatMap((statement) => statement.actions));
    const sent = [...new Set([...actionsSent(ec2, 'ec2'), ...actionsSent(iam, 'iam')])].sort();
    expect(sent).toEqual(expect.arrayContaining(['ec2:RevokeSecurityGroupIngress', 'iam:ListUsers']));
    expect(sent.filter((action) => !held.has(action))).toEqual([]);
  });
});
