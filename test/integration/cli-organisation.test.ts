import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupRulesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  CreateUserCommand,
  IAMClient,
  ListSSHPublicKeysCommand,
  UpdateSSHPublicKeyCommand,
  UploadSSHPublicKeyCommand,
} from '@aws-sdk/client-iam';
import {
  CreateAccountCommand,
  CreateOrganizationCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ScanReport } from '../../cli/scan-report';
import { cloudTrailEvent, humanCaller } from '../../scripts/lib/events';
import { createAwsClients } from '../../shared/aws/clients';
import type { Incident } from '../../shared/model';
import { memberApproverRoleName, memberOnCallRoleName } from '../../shared/organisation/member-roles';
import type { Grant } from '../../shared/ssh/grant-ledger';
import { type CliRun, runCli } from '../support/cli';
import { FaultProxy } from '../support/fault-proxy';
import { LocalResponder, resetAccount } from '../support/local-responder';
import { recordCalls, writesAmong } from '../support/recorder';
import {
  aGrant,
  authorizeCall,
  GRANT_TAG,
  keyStatuses,
  ledgerOf,
  PUBLIC_KEY,
  ssh,
  userWithKey,
} from '../support/ssh';

/**
 * On-call's command line in an organisation deployment against moto with three accounts: the
 * security account (moto's own, where the stack and the person's credentials are) and two members.
 * moto maps AssumeRole credentials to the role's account, so the member on-call role's session reads
 * and changes the member's own state; it enforces no IAM, so the role's trust and permissions are
 * proven on the packaged templates (test/contract/member.test.ts), not here.
 */
const REGION = 'us-east-1';
const OUTSIDER = '999999999999';

async function memberEc2(accountId: string): Promise<EC2Client> {
  const assumed = await new STSClient({ region: REGION }).send(
    new AssumeRoleCommand({
      RoleArn: `arn:aws:iam::${accountId}:role/OrganizationAccountAccessRole`,
      RoleSessionName: 'test-admin',
    }),
  );
  const credentials = assumed.Credentials;
  return new EC2Client({
    region: REGION,
    credentials: {
      accessKeyId: String(credentials?.AccessKeyId),
      secretAccessKey: String(credentials?.SecretAccessKey),
      sessionToken: credentials?.SessionToken,
    },
  });
}

/** IAM in a member account, as an administrator there would use it. */
async function memberIam(accountId: string): Promise<IAMClient> {
  const ec2 = await memberEc2(accountId);
  return new IAMClient({ region: REGION, credentials: ec2.config.credentials });
}

/** User `ops` with one SSH key in the given status, in a member account; returns the key id. */
async function memberUserWithKey(accountId: string, status: 'Active' | 'Inactive'): Promise<string> {
  const admin = await memberIam(accountId);
  await admin.send(new CreateUserCommand({ UserName: 'ops' }));
  const uploaded = await admin.send(
    new UploadSSHPublicKeyCommand({ UserName: 'ops', SSHPublicKeyBody: PUBLIC_KEY }),
  );
  const keyId = String(uploaded.SSHPublicKey?.SSHPublicKeyId);
  await admin.send(new UpdateSSHPublicKeyCommand({ UserName: 'ops', SSHPublicKeyId: keyId, Status: status }));
  return keyId;
}

async function memberKeyStatuses(accountId: string): Promise<string[]> {
  const keys = await (await memberIam(accountId)).send(new ListSSHPublicKeysCommand({ UserName: 'ops' }));
  return (keys.SSHPublicKeys ?? []).map((key) => String(key.Status));
}

/** Someone sets the user's keys Active in an account, outside any grant. */
async function activate(iam: IAMClient, keyId: string): Promise<void> {
  await iam.send(new UpdateSSHPublicKeyCommand({ UserName: 'ops', SSHPublicKeyId: keyId, Status: 'Active' }));
}

/** The upload of a key of `ops` in an account, as CloudTrail reports it. */
const uploadCall = (accountId: string, keyId: string) =>
  cloudTrailEvent({
    eventName: 'UploadSSHPublicKey',
    eventSource: 'iam.amazonaws.com',
    region: REGION,
    caller: humanCaller(accountId),
    requestParameters: { userName: 'ops', sSHPublicKeyBody: 'ssh-ed25519 AAAA...' },
    responseElements: { sSHPublicKey: { userName: 'ops', sSHPublicKeyId: keyId, status: 'Active' } },
  });

async function openGroup(ec2: EC2Client, name: string): Promise<string> {
  const group = await ec2.send(new CreateSecurityGroupCommand({ GroupName: name, Description: name }));
  await ec2.send(
    new AuthorizeSecurityGroupIngressCommand({ GroupId: group.GroupId, IpPermissions: [ssh('0.0.0.0/0')] }),
  );
  return String(group.GroupId);
}

async function ingressOf(ec2: EC2Client, groupId: string) {
  const rules = await ec2.send(
    new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [groupId] }] }),
  );
  return (rules.SecurityGroupRules ?? []).filter((rule) => !rule.IsEgress);
}

/** Reads of an account's resources (Organizations' own, which decide membership, are not). */
const resourceReads = (calls: { action: string }[]) =>
  calls.filter((call) => call.action.startsWith('Describe') && call.action !== 'DescribeOrganization');

const assumedRoles = (calls: { action: string; body: string }[]) =>
  calls
    .filter((call) => call.action === 'AssumeRole')
    .map((call) => new URLSearchParams(call.body))
    .map((params) => [params.get('RoleArn'), params.get('RoleSessionName')]);

describe('on-call in the member accounts of an organisation deployment, against moto with three accounts', () => {
  let responder: LocalResponder;
  let members: string[];
  let security: string;
  let env: Record<string, string>;
  let stackName: string;
  const documents = () => createAwsClients(REGION).dynamo() as DynamoDBDocumentClient;

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision();
    const organizations = new OrganizationsClient({ region: REGION });
    const organization = await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
    members = [];
    for (const name of ['ward-one', 'ward-two']) {
      const created = await organizations.send(
        new CreateAccountCommand({ AccountName: name, Email: `${name}@example.org` }),
      );
      members.push(String(created.CreateAccountStatus?.AccountId));
    }
    // The stack as deployed for the organisation: the command line reads this, never its own environment.
    await responder.redeploy({ ORGANIZATION_ID: String(organization.Organization?.Id) });
    security = String(
      (await new STSClient({ region: REGION }).send(new GetCallerIdentityCommand({}))).Account,
    );
    stackName = String(responder.stack.env.STACK_NAME);
    env = { INCIDENT_TABLE: responder.stack.tableName };
  });

  /** SSH opened to the world in the member and remediated there by the rule's function: its incident. */
  async function remediatedInMember(accountId: string): Promise<{ incident: Incident; group: string }> {
    const group = await openGroup(await memberEc2(accountId), 'bastion');
    const handle = responder.handlerOf(() => require('../../functions/ssh-open-to-world'), {
      ORGANIZATION_ID: String(responder.stack.env.ORGANIZATION_ID),
    });
    await handle(authorizeCall(REGION, group, humanCaller(accountId)));
    const incident = (await responder.incidents()).find((each) => each.resourceId === group);
    if (incident?.status !== 'remediated') throw new Error(`not remediated: ${JSON.stringify(incident)}`);
    expect(await ingressOf(await memberEc2(accountId), group)).toEqual([]);
    return { incident, group };
  }

  async function stored(incidentId: string): Promise<Incident> {
    const read = await documents().send(
      new GetCommand({
        TableName: responder.stack.tableName,
        Key: { pk: `INCIDENT#${incidentId}`, sk: 'INCIDENT' },
      }),
    );
    return read.Item as Incident;
  }

  describe('incidents undo', () => {
    it("reverses a member's incident in that account, as its member on-call role under a session naming the incident, and records it", async () => {
      // Prepare
      const [first = ''] = members;
      const { incident, group } = await remediatedInMember(first);
      const { incidentId } = incident;
      // Act
      let run: CliRun = { code: -1, stdout: '', stderr: '' };
      const calls = await recordCalls(async () => {
        run = await runCli(
          ['incidents', 'undo', incidentId, '--yes', '--reason', 'INC-9 vendor window'],
          env,
        );
      });
      // Assess: done, the path reopened in the member
      expect([run.code, run.stderr]).toEqual([0, '']);
      expect(await ingressOf(await memberEc2(first), group)).toHaveLength(1);
      // Assess: the member on-call role, once, under a session naming the incident
      const session = `undo-${incidentId}`;
      expect(assumedRoles(calls)).toEqual([
        [`arn:aws:iam::${first}:role/${memberOnCallRoleName(stackName)}`, session],
      ]);
      // Assess: recorded as today, the person's own ARN, plus the member session
      const after = await stored(incidentId);
      const caller = await new STSClient({ region: REGION }).send(new GetCallerIdentityCommand({}));
      expect(after.status).toBe('undone');
      expect(after.undo).toMatchObject({
        by: caller.Arn,
        memberSession: `arn:aws:sts::${first}:assumed-role/${memberOnCallRoleName(stackName)}/${session}`,
        reason: 'INC-9 vendor window',
        result: 'succeeded',
        calls: [{ result: 'succeeded', call: { service: 'ec2', action: 'AuthorizeSecurityGroupIngress' } }],
      });
      expect(after.undo?.exemption?.exemptionId).toMatch(/^exm-/);
      const shown = await runCli(['incidents', 'show', incidentId], env);
      expect(shown.stdout).toContain(`as:    ${after.undo?.memberSession}`);
    });

    it('refuses an incident naming an account outside the organisation: nothing assumed, written or changed', async () => {
      // Prepare: a member's real incident, rewritten to name an account the organisation does not hold
      const [first = ''] = members;
      const { incident, group } = await remediatedInMember(first);
      const forged: Incident = {
        ...(await stored(incident.incidentId)),
        account: OUTSIDER,
        resourceArn: incident.resourceArn.replace(first, OUTSIDER),
      };
      await documents().send(new PutCommand({ TableName: responder.stack.tableName, Item: forged }));
      // Act
      let run: CliRun = { code: -1, stdout: '', stderr: '' };
      const calls = await recordCalls(async () => {
        run = await runCli(['incidents', 'undo', incident.incidentId, '--yes', '--reason', 'INC-9'], env);
      });
      // Assess: one line naming why; nothing assumed, written or reopened
      expect(run.code).toBe(1);
      expect(run.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(
          new RegExp(
            `^error: refused: incident ${incident.incidentId}: it is of account ${OUTSIDER}, which is not an ACTIVE account of organisation o-\\w+, and your credentials are account ${security}'s; nothing was changed`,
          ),
        ),
      ]);
      expect(assumedRoles(calls)).toEqual([]);
      expect(writesAmong(calls)).toEqual([]);
      expect(await stored(incident.incidentId)).toEqual(forged);
      expect(await ingressOf(await memberEc2(first), group)).toEqual([]);
    });
  });

  describe('scan --account', () => {
    it('reports drift in two members, each finding and the summary naming its account, through the member on-call role', async () => {
      // Prepare: SSH open to the world in both members, and nothing open in the security account
      const groups = new Map<string, string>();
      for (const account of members)
        groups.set(account, await openGroup(await memberEc2(account), 'bastion'));
      // Act
      let json: CliRun = { code: -1, stdout: '', stderr: '' };
      const calls = await recordCalls(async () => {
        json = await runCli(
          ['scan', '--rule', 'ssh-open-to-world', '--account', members.join(','), '--json'],
          env,
        );
      });
      const table = await runCli(
        ['scan', '--rule', 'ssh-open-to-world', '--account', members.join(',')],
        env,
      );
      // Assess: drift (3), read-only, each member read as its member on-call role
      expect(json.code).toBe(3);
      // AssumeRole opens a session and changes nothing in the account.
      expect(writesAmong(calls).filter((call) => call.action !== 'AssumeRole')).toEqual([]);
      expect(assumedRoles(calls).sort()).toEqual(
        members
          .map((account) => [`arn:aws:iam::${account}:role/${memberOnCallRoleName(stackName)}`, 'scan'])
          .sort(),
      );
      const report = JSON.parse(json.stdout) as ScanReport;
      expect(report.accounts).toEqual([...members].sort());
      expect(report.errors).toEqual([]);
      expect(
        report.findings.map((finding) => [finding.accountId, finding.resourceId, finding.state]).sort(),
      ).toEqual(members.map((account) => [account, groups.get(account), 'drift']).sort());
      expect(report.scanned.map((listing) => [listing.accountId, listing.scope]).sort()).toEqual(
        members.map((account) => [account, REGION]).sort(),
      );
      // Assess: the table's ACCOUNT column, and the summary's accounts
      for (const account of members) {
        expect(table.stdout).toMatch(
          new RegExp(`drift +${account} +ssh-open-to-world +${REGION} +${groups.get(account)}`),
        );
      }
      expect(json.stderr).toContain(`scan of accounts ${[...members].sort().join(', ')}, ${REGION}`);
      expect(json.stderr).toMatch(/1 rule\(s\): 2 finding\(s\) of drift, 0 exempted/);
      for (const account of members) expect(json.stderr).toContain(`${account}: 1 drift`);
    });

    it('scans every ACTIVE account with all, the security account with your own credentials', async () => {
      // Prepare: drift in the first member and in the security account
      const [first = ''] = members;
      const inMember = await openGroup(await memberEc2(first), 'bastion');
      const own = await openGroup(new EC2Client({ region: REGION }), 'bastion');
      // Act
      let run: CliRun = { code: -1, stdout: '', stderr: '' };
      const calls = await recordCalls(async () => {
        run = await runCli(['scan', '--rule', 'ssh-open-to-world', '--account', 'all', '--json'], env);
      });
      // Assess
      const report = JSON.parse(run.stdout) as ScanReport;
      expect(report.accounts).toEqual([security, ...members].sort());
      expect(report.findings.map((finding) => [finding.accountId, finding.resourceId]).sort()).toEqual(
        [
          [first, inMember],
          [security, own],
        ].sort(),
      );
      // The security account is read with the caller's credentials: no role assumed there.
      expect(
        assumedRoles(calls)
          .map(([role]) => role)
          .sort(),
      ).toEqual(
        members.map((account) => `arn:aws:iam::${account}:role/${memberOnCallRoleName(stackName)}`).sort(),
      );
    });

    it('reports every listing of a member whose on-call role cannot be assumed as not scanned, never clean, and scans the others', async () => {
      // Prepare: drift in both members; STS refuses the first member's role (moto would let it be assumed)
      const [first = '', second = ''] = members;
      for (const account of members) await openGroup(await memberEc2(account), 'bastion');
      const proxy = await FaultProxy.start(String(process.env.AWS_ENDPOINT_URL));
      proxy.arm([
        { action: 'sts:AssumeRole', nth: 1, kind: 'http500', times: 100, bodyIncludes: `${first}%3Arole` },
      ]);
      // Act
      let run: CliRun = { code: -1, stdout: '', stderr: '' };
      try {
        run = await runCli(['scan', '--rule', 'ssh-open-to-world', '--account', members.join(',')], {
          ...env,
          AWS_ENDPOINT_URL: proxy.url,
        });
      } finally {
        await proxy.close();
      }
      // Assess: exit 1 (drift unknown there), the first member named as not scanned, the second's drift found
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(
        new RegExp(
          `not scanned: ssh-open-to-world in account ${first} ${REGION}: cannot act in account ${first} as ${memberOnCallRoleName(stackName)}`,
        ),
      );
      expect(run.stdout).toMatch(new RegExp(`drift +${second} +ssh-open-to-world`));
      expect(run.stdout).not.toMatch(new RegExp(`drift +${first} `));
      expect(run.stdout).toContain(`${first}: 0 drift, 1 NOT scanned`);
    });

    it('is a usage error, before any read, for an account that is not an ACTIVE member', async () => {
      // Prepare
      const [first = ''] = members;
      await openGroup(await memberEc2(first), 'bastion');
      // Act
      let run: CliRun = { code: -1, stdout: '', stderr: '' };
      const calls = await recordCalls(async () => {
        run = await runCli(['scan', '--account', `${first},${OUTSIDER}`], env);
      });
      // Assess: exit 2, one line naming the account and the organisation; nothing scanned
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(
        new RegExp(`--account ${OUTSIDER}: not an ACTIVE account of organisation o-\\w+`),
      );
      expect(assumedRoles(calls)).toEqual([]);
      expect(resourceReads(calls)).toEqual([]);
    });
  });
  describe('ssh lockdown --account', () => {
    const REASON = 'INC-31 key leak in the wards';
    const lockdownIncidents = async () =>
      (await responder.incidents()).filter((incident) => incident.trigger.eventName === 'ssh lockdown');

    it("closes a member's open path there alone, as its member on-call role under a session naming the incident, each an incident of that account with who, why and undo, and alerts on-call for that account", async () => {
      // Prepare: SSH open to the world in both members and in the security account
      const [first = '', second = ''] = members;
      const inFirst = await openGroup(await memberEc2(first), 'bastion');
      const inSecond = await openGroup(await memberEc2(second), 'bastion');
      const own = await openGroup(new EC2Client({ region: REGION }), 'bastion');
      // Act
      let run: CliRun = { code: -1, stdout: '', stderr: '' };
      const calls = await recordCalls(async () => {
        run = await runCli(
          ['ssh', 'lockdown', '--account', first, '--yes', '--reason', REASON, '--json'],
          env,
        );
      });
      // Assess: closed in the first member only
      expect([run.code, run.stderr]).toEqual([0, expect.any(String)]);
      expect(await ingressOf(await memberEc2(first), inFirst)).toEqual([]);
      expect(await ingressOf(await memberEc2(second), inSecond)).toHaveLength(1);
      expect(await ingressOf(new EC2Client({ region: REGION }), own)).toHaveLength(1);
      // Assess: one incident, of the member's account, with who, why, the session that acted and the undo
      const [incident, ...others] = await lockdownIncidents();
      expect(others).toEqual([]);
      const role = memberOnCallRoleName(stackName);
      expect(incident).toMatchObject({
        account: first,
        resourceId: inFirst,
        resourceArn: `arn:aws:ec2:${REGION}:${first}:security-group/${inFirst}`,
        status: 'remediated',
        trigger: { source: 'command-line', eventName: 'ssh lockdown' },
        lockdown: {
          by: expect.stringMatching(new RegExp(`^arn:aws:[a-z]+::${security}:`)),
          reason: REASON,
          memberSession: `arn:aws:sts::${first}:assumed-role/${role}/${incident?.incidentId}`,
        },
        alert: { status: 'sent' },
      });
      expect(incident?.steps.map((step) => [step.action, step.result])).toEqual([
        ['RevokeSecurityGroupIngress', 'succeeded'],
        ['Verify', 'succeeded'],
      ]);
      expect(incident?.steps[0]?.undo).toMatchObject({
        service: 'ec2',
        action: 'AuthorizeSecurityGroupIngress',
      });
      // Assess: reads as the session `lockdown`, the change as a session named after its incident
      expect(assumedRoles(calls)).toEqual([
        [`arn:aws:iam::${first}:role/${role}`, 'lockdown'],
        [`arn:aws:iam::${first}:role/${role}`, String(incident?.incidentId)],
      ]);
      const report = JSON.parse(run.stdout) as {
        accounts: { accountId: string; entries: { outcome: string; incidentId: string }[] }[];
        unreached: unknown[];
      };
      expect(report.unreached).toEqual([]);
      expect(
        report.accounts.map((each) => [each.accountId, each.entries.map((entry) => entry.outcome)]),
      ).toEqual([[first, ['closed']]]);
      // Assess: on-call heard once, for that account
      const alerts = await responder.alerts();
      expect(alerts.map((alert) => [alert.attributes.ruleId, alert.attributes.account])).toEqual([
        ['ssh-lockdown', first],
      ]);
      // Assess: the incident is undone in the member as it was closed there
      const undo = await runCli(
        ['incidents', 'undo', String(incident?.incidentId), '--yes', '--reason', 'INC-31 false alarm'],
        env,
      );
      expect(undo.code).toBe(0);
      expect(await ingressOf(await memberEc2(first), inFirst)).toHaveLength(1);
    });

    it('reports a member whose on-call role cannot be assumed as not reached, changing nothing there, and locks down the others', async () => {
      // Prepare: SSH open in both members; STS refuses the first member's role (moto would let it be assumed)
      const [first = '', second = ''] = members;
      const inFirst = await openGroup(await memberEc2(first), 'bastion');
      const inSecond = await openGroup(await memberEc2(second), 'bastion');
      const proxy = await FaultProxy.start(String(process.env.AWS_ENDPOINT_URL));
      proxy.arm([
        { action: 'sts:AssumeRole', nth: 1, kind: 'http500', times: 100, bodyIncludes: `${first}%3Arole` },
      ]);
      // Act
      let run: CliRun = { code: -1, stdout: '', stderr: '' };
      try {
        run = await runCli(['ssh', 'lockdown', '--account', members.join(','), '--yes', '--reason', REASON], {
          ...env,
          AWS_ENDPOINT_URL: proxy.url,
        });
      } finally {
        await proxy.close();
      }
      // Assess: exit 1, the first member named as not reached and left as it was; the second closed
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(
        new RegExp(
          `NOT reached: account ${first}: cannot act in account ${first} as ${memberOnCallRoleName(stackName)}`,
        ),
      );
      expect(run.stderr).toContain(`account(s) ${first} not reached: nothing was read or changed there`);
      expect(await ingressOf(await memberEc2(first), inFirst)).toHaveLength(1);
      expect(await ingressOf(await memberEc2(second), inSecond)).toEqual([]);
      const incidents = await lockdownIncidents();
      expect(incidents.map((incident) => [incident.account, incident.status])).toEqual([
        [second, 'remediated'],
      ]);
    });

    it('is a usage error, before anything is assumed, read or written, for an account that is not an ACTIVE member', async () => {
      // Prepare
      const [first = ''] = members;
      const inFirst = await openGroup(await memberEc2(first), 'bastion');
      // Act
      let run: CliRun = { code: -1, stdout: '', stderr: '' };
      const calls = await recordCalls(async () => {
        run = await runCli(
          ['ssh', 'lockdown', '--account', `${first},${OUTSIDER}`, '--yes', '--reason', REASON],
          env,
        );
      });
      // Assess
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(
        new RegExp(
          `--account ${OUTSIDER}: not an ACTIVE account of organisation o-\\w+; nothing was read or changed`,
        ),
      );
      expect(assumedRoles(calls)).toEqual([]);
      expect(resourceReads(calls)).toEqual([]);
      expect(writesAmong(calls)).toEqual([]);
      expect(await ingressOf(await memberEc2(first), inFirst)).toHaveLength(1);
    });
  });

  describe('ssh grant --account', () => {
    const grantExpired = () =>
      responder.handlerOf(() => require('../../functions/ssh-grant-expired'), {
        ORGANIZATION_ID: String(responder.stack.env.ORGANIZATION_ID),
      });

    it("activates a member's user in that account alone, as its member approver role under a session naming the grant's incident, and the grant covers nothing elsewhere", async () => {
      // Prepare: user ops with an Inactive key in both members and in the security account
      const [first = '', second = ''] = members;
      const firstKey = await memberUserWithKey(first, 'Inactive');
      const secondKey = await memberUserWithKey(second, 'Inactive');
      const ownKey = await userWithKey('ops', 'Inactive');
      // Act
      let run: CliRun = { code: -1, stdout: '', stderr: '' };
      const calls = await recordCalls(async () => {
        run = await runCli(
          [
            'ssh',
            'grant',
            '--user',
            'ops',
            '--account',
            first,
            '--ttl',
            '30m',
            '--reason',
            'INC-21 debug billing',
            '--json',
          ],
          env,
        );
      });
      // Assess: granted in the first member only, as its member approver role, the session the incident's id
      expect([run.code, run.stderr]).toEqual([0, expect.any(String)]);
      const result = JSON.parse(run.stdout) as { grant: Grant; incidentId: string; activated: string[] };
      expect(result.grant.account).toBe(first);
      expect(result.activated).toEqual([firstKey]);
      expect(await memberKeyStatuses(first)).toEqual(['Active']);
      expect(await memberKeyStatuses(second)).toEqual(['Inactive']);
      expect(await keyStatuses('ops')).toEqual(['Inactive']);
      expect(assumedRoles(calls)).toEqual([
        [`arn:aws:iam::${first}:role/${memberApproverRoleName(stackName)}`, result.incidentId],
      ]);
      const incident = await stored(result.incidentId);
      expect(incident).toMatchObject({
        account: first,
        resourceArn: `arn:aws:iam::${first}:user/ops`,
        status: 'resolved',
        grantChange: {
          action: 'grant',
          memberSession: `arn:aws:sts::${first}:assumed-role/${memberApproverRoleName(stackName)}/${result.incidentId}`,
        },
      });
      expect(incident.steps.map((step) => [step.action, step.result])).toEqual([
        ['UpdateSSHPublicKey', 'succeeded'],
      ]);
      // Assess: the expiry rule leaves the granted key alone, and closes the same-named user's keys elsewhere
      await activate(await memberIam(second), secondKey);
      await activate(new IAMClient({ region: REGION }), ownKey);
      const handle = grantExpired();
      const inFirst = await handle(uploadCall(first, firstKey));
      const inSecond = await handle(uploadCall(second, secondKey));
      const atHome = await handle(uploadCall(security, ownKey));
      expect(inFirst.outcomes).toEqual([expect.objectContaining({ compliance: 'COMPLIANT' })]);
      expect([inSecond.outcomes, atHome.outcomes]).toEqual([
        [expect.objectContaining({ status: 'remediated' })],
        [expect.objectContaining({ status: 'remediated' })],
      ]);
      expect(await memberKeyStatuses(first)).toEqual(['Active']);
      expect(await memberKeyStatuses(second)).toEqual(['Inactive']);
      expect(await keyStatuses('ops')).toEqual(['Inactive']);
      // Assess: ssh grants names the account
      const listed = await runCli(['ssh', 'grants'], env);
      expect(listed.stdout).toMatch(new RegExp(`${result.grant.grantId} +${first} +iam-ssh-key`));
      expect((await runCli(['ssh', 'grants', '--account', second], env)).stdout.trim()).toBe(
        `no live SSH grants in account ${second}`,
      );
    });

    it("opens one address to a member's security group there, tagged, which the expiry rule keeps while the grant lives", async () => {
      // Prepare
      const [first = ''] = members;
      const ec2 = await memberEc2(first);
      const group = String(
        (await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'bastion', Description: 'bastion' })))
          .GroupId,
      );
      // Act
      const run = await runCli(
        [
          'ssh',
          'grant',
          '--security-group',
          group,
          '--cidr',
          '203.0.113.7/32',
          '--account',
          first,
          '--reason',
          'INC-22 vendor',
          '--json',
        ],
        env,
      );
      // Assess
      expect([run.code, run.stderr]).toEqual([0, expect.any(String)]);
      const result = JSON.parse(run.stdout) as { grant: Grant; ruleId: string };
      const rules = await ingressOf(ec2, group);
      expect(rules.map((rule) => [rule.SecurityGroupRuleId, rule.CidrIpv4, rule.Tags])).toEqual([
        [result.ruleId, '203.0.113.7/32', [{ Key: GRANT_TAG, Value: result.grant.grantId }]],
      ]);
      const judged = await grantExpired()(authorizeCall(REGION, group, humanCaller(first)));
      expect(judged.outcomes).toEqual([expect.objectContaining({ compliance: 'COMPLIANT' })]);
      expect(await ingressOf(ec2, group)).toHaveLength(1);
    });

    it("ends a member's grant at its expiry through ssh-grant-expired in that member, naming the grant", async () => {
      // Prepare: the member's grant as the command line records it, ended a minute ago; the key still Active
      const [first = ''] = members;
      const keyId = await memberUserWithKey(first, 'Active');
      const ended: Grant = { ...aGrant({ userName: 'ops' }, -60_000), account: first };
      await ledgerOf(responder.stack.tableName).record(ended);
      // Act
      const outcome = await grantExpired()(uploadCall(first, keyId));
      // Assess
      expect(outcome.outcomes).toEqual([expect.objectContaining({ status: 'remediated' })]);
      expect(await memberKeyStatuses(first)).toEqual(['Inactive']);
      const [incident] = await responder.incidents();
      expect([incident?.account, incident?.resourceId, incident?.reason]).toEqual([
        first,
        'ops',
        expect.stringContaining(`grant ${ended.grantId} expired at ${ended.expiresAt}`),
      ]);
    });

    it("ends a member's grant early with ssh revoke, as the member on-call role under a session naming the revoke's incident", async () => {
      // Prepare
      const [first = ''] = members;
      await memberUserWithKey(first, 'Inactive');
      const granted = await runCli(
        ['ssh', 'grant', '--user', 'ops', '--account', first, '--reason', 'INC-23 debug', '--json'],
        env,
      );
      const { grant } = JSON.parse(granted.stdout) as { grant: Grant };
      // Act
      let run: CliRun = { code: -1, stdout: '', stderr: '' };
      const calls = await recordCalls(async () => {
        run = await runCli(['ssh', 'revoke', grant.grantId, '--reason', 'INC-23 done', '--json'], env);
      });
      // Assess
      expect([run.code, run.stderr]).toEqual([0, expect.any(String)]);
      const result = JSON.parse(run.stdout) as { incidentId: string };
      expect(await memberKeyStatuses(first)).toEqual(['Inactive']);
      expect(assumedRoles(calls)).toEqual([
        [`arn:aws:iam::${first}:role/${memberOnCallRoleName(stackName)}`, result.incidentId],
      ]);
      expect(await stored(result.incidentId)).toMatchObject({ account: first, status: 'resolved' });
    });

    it('is a usage error, before anything is assumed or written, for an account that is not an ACTIVE member', async () => {
      // Act
      let run: CliRun = { code: -1, stdout: '', stderr: '' };
      const calls = await recordCalls(async () => {
        run = await runCli(
          ['ssh', 'grant', '--user', 'ops', '--account', OUTSIDER, '--reason', 'INC-24'],
          env,
        );
      });
      // Assess
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(
        new RegExp(
          `--account ${OUTSIDER}: not an ACTIVE account of organisation o-\\w+; nothing was granted`,
        ),
      );
      expect(assumedRoles(calls)).toEqual([]);
      expect(writesAmong(calls)).toEqual([]);
    });
  });
});
