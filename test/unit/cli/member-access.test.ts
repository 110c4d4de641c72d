import { EC2Client } from '@aws-sdk/client-ec2';
import { ListAccountsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { CliContext } from '../../../cli/context';
import { organisationMembers, sessionName } from '../../../cli/member-access';
import { planUndo, undoIncident } from '../../../cli/undo';
import type { Settings } from '../../../shared/config';
import type { Incident } from '../../../shared/model';
import { cliContext } from '../../support/cli-context';
import { anIncident, testSettings } from '../../support/incident';

const SECURITY = '111122223333';
const MEMBER = '444455556666';
const ON_CALL = `arn:aws:sts::${SECURITY}:assumed-role/compliance-responder-prod-on-call/bob`;
const ORGANISATION = 'o-abcd1234ef';

const organizations = mockClient(OrganizationsClient);
const sts = mockClient(STSClient);
const ec2 = mockClient(EC2Client);
const dynamo = mockClient(DynamoDBDocumentClient);

const context = (deployed: Settings): CliContext =>
  cliContext({
    tableName: 'compliance-responder-prod-incidents',
    deployedSettings: async () => deployed,
    caller: async () => ({ arn: ON_CALL, accountId: SECURITY }),
  });

/** A member's remediated SSH incident, as the rule's function records it in the security account's table. */
function memberIncident(overrides: Partial<Incident> = {}): Incident {
  return anIncident({
    account: MEMBER,
    resourceArn: `arn:aws:ec2:us-east-1:${MEMBER}:security-group/sg-1`,
    ruleId: 'ssh-open-to-world',
    resourceType: 'AWS::EC2::SecurityGroup',
    resourceId: 'sg-1',
    status: 'remediated',
    steps: [
      {
        action: 'RevokeSecurityGroupIngress',
        at: '2026-12-06T11:00:00.000Z',
        result: 'succeeded',
        output: { revoked: 'tcp 22 from 0.0.0.0/0' },
        undo: {
          service: 'ec2',
          action: 'AuthorizeSecurityGroupIngress',
          input: {
            GroupId: 'sg-1',
            IpPermissions: [
              { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
            ],
          },
        },
      },
    ],
    ...overrides,
  });
}

const organisation = testSettings({ ORGANIZATION_ID: ORGANISATION, STACK_NAME: 'compliance-responder-prod' });

describe("on-call's way into member accounts", () => {
  beforeEach(() => {
    for (const mock of [organizations, sts, ec2, dynamo]) mock.reset();
    sts
      .on(GetCallerIdentityCommand)
      .resolves({ Account: SECURITY, Arn: `arn:aws:sts::${SECURITY}:assumed-role/x/y` });
    organizations.on(ListAccountsCommand).resolves({
      Accounts: [
        { Id: SECURITY, State: 'ACTIVE' },
        { Id: MEMBER, State: 'ACTIVE' },
      ],
    });
  });
  afterAll(() => {
    for (const mock of [organizations, sts, ec2, dynamo]) mock.restore();
  });

  it.each([
    ['an incident id as it is', 'undo-inc-20261206T120000-89b15e59', 'undo-inc-20261206T120000-89b15e59'],
    ['characters STS refuses, replaced', 'undo-inc/1:2 3', 'undo-inc-1-2-3'],
    ['cut at STS 64 characters', `undo-${'x'.repeat(80)}`, `undo-${'x'.repeat(59)}`],
    ['padded to STS 2 characters', 'a', 'a-'],
  ])('names a session STS accepts: %s', (_case, text, name) => {
    // Act + Assess
    expect(sessionName(text)).toBe(name);
    expect(sessionName(text)).toMatch(/^[\w+=,.@-]{2,64}$/);
  });

  it('is none in a single-account deployment: the deployed settings name no organisation', async () => {
    // Act
    const members = await organisationMembers(context(testSettings()));
    // Assess
    expect(members).toBeUndefined();
    expect(organizations).not.toHaveReceivedAnyCommand();
  });

  it("assumes the member on-call role in the member under the session, and names that session's ARN", async () => {
    // Prepare
    sts.on(AssumeRoleCommand).resolves({
      Credentials: {
        AccessKeyId: 'AKIA',
        SecretAccessKey: 'secret',
        SessionToken: 'token',
        Expiration: new Date('2026-12-06T13:00:00.000Z'),
      },
    });
    const members = await organisationMembers(context(organisation));
    // Act
    const place = await members?.enter(MEMBER, 'undo-inc-20261206T120000-89b15e59');
    // Assess
    expect(sts).toHaveReceivedCommandWith(AssumeRoleCommand, {
      RoleArn: `arn:aws:iam::${MEMBER}:role/compliance-responder-prod-member-on-call`,
      RoleSessionName: 'undo-inc-20261206T120000-89b15e59',
    });
    expect(place?.session).toBe(
      `arn:aws:sts::${MEMBER}:assumed-role/compliance-responder-prod-member-on-call/undo-inc-20261206T120000-89b15e59`,
    );
    expect(await members?.active()).toEqual([SECURITY, MEMBER]);
  });

  // moto lets AssumeRole succeed for a role that does not exist: the refusal is the mock's.
  it("refuses an undo, changing nothing, when the member's on-call role cannot be assumed", async () => {
    // Prepare: a member's remediated SSH incident; its member stack has no on-call role
    const incident = memberIncident();
    dynamo.on(GetCommand).callsFake((input: { Key: { pk: string } }) => ({
      Item: input.Key.pk === `INCIDENT#${incident.incidentId}` ? { ...incident, ...input.Key } : undefined,
    }));
    sts
      .on(AssumeRoleCommand)
      .rejects(
        Object.assign(new Error('not authorized to perform sts:AssumeRole'), { name: 'AccessDenied' }),
      );
    // Act
    const attempt = undoIncident(context(organisation), incident.incidentId, {
      reason: 'INC-9',
      confirm: async () => true,
      progress: () => {},
    });
    // Assess: one line naming the role and the account; nothing read there, nothing written here
    await expect(attempt).rejects.toThrow(
      new RegExp(
        `^cannot act in account ${MEMBER} as compliance-responder-prod-member-on-call \\(.*\\): is the member stack deployed there .*nothing was changed$`,
      ),
    );
    expect(ec2).not.toHaveReceivedAnyCommand();
    expect(dynamo).not.toHaveReceivedCommand(UpdateCommand);
  });

  it("plans a member's incident only when it is reached as an ACTIVE member, and still checks its ARN against its account", () => {
    // Prepare
    const incident = memberIncident();
    const moved = memberIncident({ resourceArn: `arn:aws:ec2:us-east-1:999999999999:security-group/sg-1` });
    // Act + Assess: reached, planned; not reached, refused with the reason given; no reach, as before
    expect(planUndo(incident, SECURITY, { member: true }).calls).toHaveLength(1);
    expect(() =>
      planUndo(incident, SECURITY, { member: false, why: 'it is of account X, not ACTIVE' }),
    ).toThrow(
      `refused: incident ${incident.incidentId}: it is of account X, not ACTIVE; nothing was changed`,
    );
    expect(() => planUndo(incident, SECURITY)).toThrow(
      `it is of account ${MEMBER}, and your credentials are account ${SECURITY}'s`,
    );
    expect(() => planUndo(moved, SECURITY, { member: true })).toThrow(
      `its resource ARN names account 999999999999, not ${MEMBER}`,
    );
  });
});
