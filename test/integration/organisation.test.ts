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
  UploadSSHPublicKeyCommand,
} from '@aws-sdk/client-iam';
import {
  CreateAccountCommand,
  CreateOrganizationCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { cloudTrailEvent, humanCaller, scheduledEvent } from '../../scripts/lib/events';
import { createAwsClients } from '../../shared/aws/clients';
import { memberRoleName } from '../../shared/organisation/member-roles';
import type { HandlerResult } from '../../shared/pipeline/rule-handler';
import { runCli } from '../support/cli';
import { FaultProxy } from '../support/fault-proxy';
import { LocalResponder, resetAccount } from '../support/local-responder';
import { recordCalls } from '../support/recorder';
import {
  ACCOUNT,
  aGrant,
  authorizeCall,
  keyStatuses,
  ledgerOf,
  PUBLIC_KEY,
  ssh,
  userWithKey,
} from '../support/ssh';
import { SweepQueue } from '../support/sweep-queue';

/**
 * An organisation deployment against moto with three accounts: the security account (moto's own,
 * where the stack is) and two members. moto maps AssumeRole credentials to the role's account, so
 * the function's member-role sessions act in the member's own state; it enforces no IAM and lets
 * AssumeRole succeed for a role that does not exist, so the refusal is injected with a proxy.
 */
const REGION = 'us-east-1';
const OUTSIDER = '999999999999';
const loadFunction = () => require('../../functions/ssh-open-to-world');

/** Clients acting in a member account, as an administrator there would. */
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

describe('an organisation deployment against moto with three accounts', () => {
  let responder: LocalResponder;
  let handle: (event: unknown) => Promise<HandlerResult>;
  let members: string[];
  let organizationId: string;

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
    organizationId = String(organization.Organization?.Id);
    handle = responder.handlerOf(loadFunction, { ORGANIZATION_ID: organizationId });
  });

  it('remediates drift in each member account in that account, as the rule member role, and records the account', async () => {
    // Prepare: SSH open to the world in both members, and a group of the same name in the security account
    const [first = '', second = ''] = members;
    const groups = new Map<string, string>();
    for (const account of members) groups.set(account, await openGroup(await memberEc2(account), 'bastion'));
    const own = await openGroup(new EC2Client({ region: REGION }), 'bastion');
    // Act
    const calls = await recordCalls(async () => {
      for (const account of members) {
        await handle(authorizeCall(REGION, groups.get(account) ?? '', humanCaller(account)));
      }
    });
    // Assess: each member's group closed, the security account's untouched
    for (const account of members) {
      expect([account, await ingressOf(await memberEc2(account), groups.get(account) ?? '')]).toEqual([
        account,
        [],
      ]);
    }
    expect(await ingressOf(new EC2Client({ region: REGION }), own)).toHaveLength(1);
    // Assess: one incident each, in the security account's table, naming its account
    const incidents = await responder.incidents();
    expect(
      incidents.map((incident) => [incident.account, incident.resourceId, incident.status]).sort(),
    ).toEqual(
      [
        [first, groups.get(first), 'remediated'],
        [second, groups.get(second), 'remediated'],
      ].sort(),
    );
    for (const incident of incidents) {
      expect(incident.resourceArn).toBe(
        `arn:aws:ec2:${REGION}:${incident.account}:security-group/${incident.resourceId}`,
      );
    }
    // Assess: the rule's member role in each account; reads as read-<rule>, the change as the incident
    const assumed = calls
      .filter((call) => call.action === 'AssumeRole')
      .map((call) => new URLSearchParams(call.body))
      .map((params) => [params.get('RoleArn'), params.get('RoleSessionName')]);
    const role = (account: string) =>
      `arn:aws:iam::${account}:role/${memberRoleName(responder.stack.env.STACK_NAME ?? '', 'ssh-open-to-world')}`;
    expect(assumed.sort()).toEqual(
      [
        ...incidents.map((incident) => [role(incident.account), incident.incidentId]),
        [role(first), 'read-ssh-open-to-world'],
        [role(second), 'read-ssh-open-to-world'],
      ].sort(),
    );
  });

  it('refuses an event naming an account outside the organisation: nothing read, changed or recorded', async () => {
    // Act
    const calls = await recordCalls(() =>
      handle(authorizeCall(REGION, 'sg-0123456789abcdef0', humanCaller(OUTSIDER))),
    );
    // Assess
    expect(calls.filter((call) => call.action === 'AssumeRole')).toEqual([]);
    expect(calls.filter((call) => /^(Describe|Revoke)/.test(call.action))).toEqual([]);
    expect(await responder.incidents()).toEqual([]);
    expect(await responder.alerts()).toEqual([]);
  });

  it('acts in its own account with its own role, as a single account does', async () => {
    // Prepare
    const own = await openGroup(new EC2Client({ region: REGION }), 'web');
    // Act
    const calls = await recordCalls(() => handle(authorizeCall(REGION, own, humanCaller(ACCOUNT))));
    // Assess
    expect(await ingressOf(new EC2Client({ region: REGION }), own)).toEqual([]);
    expect(calls.filter((call) => call.action === 'AssumeRole')).toEqual([]);
    expect((await responder.incidents()).map((incident) => incident.account)).toEqual([ACCOUNT]);
  });

  it('records and pages an incident, changing nothing, when the member role cannot be assumed', async () => {
    // Prepare: STS refuses the member role in the first member (moto would let it be assumed)
    const [first = ''] = members;
    const group = await openGroup(await memberEc2(first), 'bastion');
    const proxy = await FaultProxy.start(String(process.env.AWS_ENDPOINT_URL));
    proxy.arm([
      { action: 'sts:AssumeRole', nth: 1, kind: 'http500', times: 100, bodyIncludes: `${first}%3Arole` },
    ]);
    const endpoint = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = proxy.url;
    try {
      // Act
      await handle(authorizeCall(REGION, group, humanCaller(first)));
    } finally {
      process.env.AWS_ENDPOINT_URL = endpoint;
      await proxy.close();
    }
    // Assess: the group is still open, an incident about the role says why, on-call is paged once
    expect(await ingressOf(await memberEc2(first), group)).toHaveLength(1);
    const [incident, ...others] = await responder.incidents();
    expect(others).toEqual([]);
    expect(incident).toMatchObject({
      account: first,
      status: 'open',
      mode: 'notify',
      resourceType: 'AWS::IAM::Role',
      resourceArn: `arn:aws:iam::${first}:role/${memberRoleName(responder.stack.env.STACK_NAME ?? '', 'ssh-open-to-world')}`,
      evidence: { unjudgedResource: group, unjudgedType: 'AWS::EC2::SecurityGroup' },
    });
    expect(incident?.reason).toContain(`cannot act in account ${first}`);
    expect(await responder.alerts()).toHaveLength(1);
  });

  it('trips the blast-radius guard of one account only: the others still remediate', async () => {
    // Prepare: a guard of 1 remediation an hour; two drifts in the first member, one in the second
    const [first = '', second = ''] = members;
    const guarded = responder.handlerOf(loadFunction, {
      ORGANIZATION_ID: organizationId,
      GUARD_THRESHOLD: '1',
    });
    const firstEc2 = await memberEc2(first);
    const [a, b] = [await openGroup(firstEc2, 'one'), await openGroup(firstEc2, 'two')];
    const other = await openGroup(await memberEc2(second), 'three');
    // Act
    for (const group of [a, b]) await guarded(authorizeCall(REGION, group, humanCaller(first)));
    await guarded(authorizeCall(REGION, other, humanCaller(second)));
    // Assess: the first member's second drift was refused by its guard; the second member's fixed
    const status = Object.fromEntries(
      (await responder.incidents()).map((incident) => [incident.resourceId, incident.status]),
    );
    expect(status).toEqual({ [a]: 'remediated', [b]: 'open', [other]: 'remediated' });
    expect(await ingressOf(firstEc2, b)).toHaveLength(1);
    const guardAlerts = (await responder.alerts()).filter((alert) =>
      alert.subject.includes('Blast-radius guard'),
    );
    expect(guardAlerts.map((alert) => alert.attributes.account)).toEqual([first]);
  });

  it("honours an exemption for a member's resource in that account only, by the ARN naming it", async () => {
    // Prepare: a group in each member; one exemption by the first's ARN, and a look-alike naming the
    // second member's group id under the first member's account
    const [first = '', second = ''] = members;
    const kept = await openGroup(await memberEc2(first), 'vendor-sftp');
    const lookalike = await openGroup(await memberEc2(second), 'bastion');
    const arn = (account: string, groupId: string) =>
      `arn:aws:ec2:${REGION}:${account}:security-group/${groupId}`;
    for (const exempted of [arn(first, kept), arn(first, lookalike)]) {
      const added = await runCli(
        [
          'exemptions',
          'add',
          exempted,
          '--rule',
          'ssh-open-to-world',
          '--until',
          '7d',
          '--reason',
          'CHG-7 vendor',
        ],
        { INCIDENT_TABLE: responder.stack.tableName },
      );
      expect(added.stderr).toBe('');
    }
    // Act
    await handle(authorizeCall(REGION, kept, humanCaller(first)));
    await handle(authorizeCall(REGION, lookalike, humanCaller(second)));
    // Assess: the first member's group exempted and left open; the second's remediated
    const status = Object.fromEntries(
      (await responder.incidents()).map((incident) => [
        `${incident.account}/${incident.resourceId}`,
        incident.status,
      ]),
    );
    expect(status).toEqual({ [`${first}/${kept}`]: 'exempted', [`${second}/${lookalike}`]: 'remediated' });
    expect(await ingressOf(await memberEc2(first), kept)).toHaveLength(1);
    expect(await ingressOf(await memberEc2(second), lookalike)).toEqual([]);
  });

  it('sweeps every ACTIVE member as units on the rule queue, each remediated in its own account', async () => {
    // Prepare: drift in this account and both members; the rule's sweep queue
    const [first = '', second = ''] = members;
    const queue = await SweepQueue.create(
      String(responder.stack.env.STACK_NAME),
      'ssh-open-to-world',
      REGION,
    );
    const sweeping = responder.handlerOf(loadFunction, { ORGANIZATION_ID: organizationId, ...queue.env });
    const groups = new Map<string, string>([
      [ACCOUNT, await openGroup(new EC2Client({ region: REGION }), 'own')],
    ]);
    for (const account of members) groups.set(account, await openGroup(await memberEc2(account), 'member'));
    // Act: the schedule plans; then each unit, as the queue would deliver it
    await sweeping(scheduledEvent({ accountId: ACCOUNT, region: REGION }));
    const units = await queue.receive();
    for (const unit of units) await sweeping(queue.event([unit]));
    // Assess: one unit per account (the stack's own names none), every group closed in its account
    expect(units.map((unit) => JSON.parse(String(unit.Body)).account).sort()).toEqual(
      [first, second, undefined].sort(),
    );
    expect(await ingressOf(new EC2Client({ region: REGION }), groups.get(ACCOUNT) ?? '')).toEqual([]);
    for (const account of members) {
      expect(await ingressOf(await memberEc2(account), groups.get(account) ?? '')).toEqual([]);
    }
    const incidents = await responder.incidents();
    expect(
      incidents.map((incident) => [incident.account, incident.resourceId, incident.status]).sort(),
    ).toEqual([...groups].map(([account, group]) => [account, group, 'remediated']).sort());
  });

  it('records a unit it cannot sweep, because the member role cannot be assumed, as a paged incident', async () => {
    // Prepare: the first member's unit, and STS refusing its member role
    const [first = ''] = members;
    const queue = await SweepQueue.create(
      String(responder.stack.env.STACK_NAME),
      'ssh-open-to-world',
      REGION,
    );
    const planning = responder.handlerOf(loadFunction, { ORGANIZATION_ID: organizationId, ...queue.env });
    await planning(scheduledEvent({ accountId: ACCOUNT, region: REGION }));
    const unit = (await queue.receive()).find(
      (message) => JSON.parse(String(message.Body)).account === first,
    );
    if (!unit) throw new Error('no unit planned for the first member');
    // A fresh container: its clients, STS's included, are made while the proxy is the endpoint.
    const sweeping = responder.handlerOf(loadFunction, { ORGANIZATION_ID: organizationId, ...queue.env });
    const proxy = await FaultProxy.start(String(process.env.AWS_ENDPOINT_URL));
    proxy.arm([
      { action: 'sts:AssumeRole', nth: 1, kind: 'http500', times: 100, bodyIncludes: `${first}%3Arole` },
    ]);
    const endpoint = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = proxy.url;
    let result: HandlerResult;
    try {
      // Act
      result = await sweeping(queue.event([unit]));
    } finally {
      process.env.AWS_ENDPOINT_URL = endpoint;
      await proxy.close();
    }
    // Assess: the unit is done (not redelivered to fail again); an incident says what was not swept
    expect(result.batchItemFailures).toEqual([]);
    const [incident, ...others] = await responder.incidents();
    expect(others).toEqual([]);
    expect(incident).toMatchObject({
      account: first,
      status: 'open',
      resourceType: 'AWS::IAM::Role',
      evidence: { unjudgedResource: `every resource in ${REGION} (sweep)` },
    });
    expect(await responder.alerts()).toHaveLength(1);
  });

  it('refuses a unit naming an account outside the organisation, sweeping nothing', async () => {
    // Prepare: a unit as a forged message would carry it
    const queue = await SweepQueue.create(
      String(responder.stack.env.STACK_NAME),
      'ssh-open-to-world',
      REGION,
    );
    const sweeping = responder.handlerOf(loadFunction, { ORGANIZATION_ID: organizationId, ...queue.env });
    const forged = {
      MessageId: 'forged-1',
      ReceiptHandle: 'r',
      Body: JSON.stringify({
        ruleId: 'ssh-open-to-world',
        region: REGION,
        account: OUTSIDER,
        sweepId: 'forged',
        observedAt: new Date().toISOString(),
        attempt: 1,
      }),
    };
    // Act
    const calls = await recordCalls(() => sweeping(queue.event([forged])));
    const result = await sweeping(queue.event([forged]));
    // Assess
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'forged-1' }]);
    expect(calls.filter((call) => /^(AssumeRole|Describe)/.test(call.action))).toEqual([]);
    expect(await responder.incidents()).toEqual([]);
  });

  it('runs self-protection, whose role may not list the organisation, in its own account only', async () => {
    // Prepare: Organizations refuses ListAccounts (self-protection's role lacks it; moto enforces no
    // IAM), and an insider's call in a member on a name of the home stack
    const [first = ''] = members;
    const stackName = String(responder.stack.env.STACK_NAME);
    const queue = await SweepQueue.create(stackName, 'self-protection', REGION);
    const proxy = await FaultProxy.start(String(process.env.AWS_ENDPOINT_URL));
    proxy.arm([{ action: 'organizations:ListAccounts', nth: 1, kind: 'denied', times: 100 }]);
    const endpoint = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = proxy.url;
    let planned: HandlerResult;
    let member: HandlerResult;
    try {
      // A container made while the proxy is the endpoint: its clients go through it.
      const selfProtection = responder.handlerOf(() => require('../../functions/self-protection'), {
        ORGANIZATION_ID: organizationId,
        ...queue.env,
      });
      // Act
      planned = await selfProtection(scheduledEvent({ accountId: ACCOUNT, region: REGION }));
      member = await selfProtection(
        cloudTrailEvent({
          eventName: 'PutRule',
          eventSource: 'events.amazonaws.com',
          region: REGION,
          caller: humanCaller(first),
          requestParameters: { name: `${stackName}-x`, state: 'ENABLED' },
        }),
      );
    } finally {
      process.env.AWS_ENDPOINT_URL = endpoint;
      await proxy.close();
    }
    // Assess: the plan sent its own account's unit only, the member's call was ignored; neither
    // asked Organizations or STS for a member role, and nothing was recorded
    const units = await queue.receive();
    expect(units.map((unit) => JSON.parse(String(unit.Body)))).toEqual([
      expect.objectContaining({ ruleId: 'self-protection', region: REGION }),
    ]);
    expect(JSON.parse(String(units[0]?.Body)).account).toBeUndefined();
    expect(planned.outcomes).toEqual([]);
    expect(member.outcomes).toEqual([]);
    expect(
      proxy.calls.filter((call) => /^(organizations|sts):(ListAccounts|AssumeRole)$/.test(call.action)),
    ).toEqual([]);
    expect(await responder.incidents()).toEqual([]);
  });

  it("never lets the security account's SSH grant cover a member's user of the same name", async () => {
    // Prepare: user ops with an Active key in the security account (granted) and in a member (not)
    const [first = ''] = members;
    const ownKey = await userWithKey('ops', 'Active');
    const adminIam = await memberIam(first);
    await adminIam.send(new CreateUserCommand({ UserName: 'ops' }));
    const uploaded = await adminIam.send(
      new UploadSSHPublicKeyCommand({ UserName: 'ops', SSHPublicKeyBody: PUBLIC_KEY }),
    );
    const memberKey = String(uploaded.SSHPublicKey?.SSHPublicKeyId);
    await ledgerOf(responder.stack.tableName).record(aGrant({ userName: 'ops' }, 30 * 60_000));
    const grants = responder.handlerOf(() => require('../../functions/ssh-grant-expired'), {
      ORGANIZATION_ID: organizationId,
    });
    const upload = (accountId: string, keyId: string) =>
      cloudTrailEvent({
        eventName: 'UploadSSHPublicKey',
        eventSource: 'iam.amazonaws.com',
        region: REGION,
        caller: humanCaller(accountId),
        requestParameters: { userName: 'ops', sSHPublicKeyBody: 'ssh-ed25519 AAAA...' },
        responseElements: { sSHPublicKey: { userName: 'ops', sSHPublicKeyId: keyId, status: 'Active' } },
      });
    // Act
    const own = await grants(upload(ACCOUNT, ownKey));
    const member = await grants(upload(first, memberKey));
    // Assess: the security account's key kept; the member's set Inactive, with an incident there
    expect(own.outcomes).toEqual([expect.objectContaining({ compliance: 'COMPLIANT' })]);
    expect(await keyStatuses('ops')).toEqual(['Active']);
    const keys = await adminIam.send(new ListSSHPublicKeysCommand({ UserName: 'ops' }));
    expect((keys.SSHPublicKeys ?? []).map((key: { Status?: string }) => key.Status)).toEqual(['Inactive']);
    expect(member.outcomes).toEqual([expect.objectContaining({ status: 'remediated' })]);
    expect((await responder.incidents()).map((incident) => [incident.account, incident.resourceId])).toEqual([
      [first, 'ops'],
    ]);
  });

  it("ignores a member role's own change only while its session's incident of ours was acting on that resource", async () => {
    // Prepare: one remediation in the first member, then calls made as its member role
    const [first = ''] = members;
    const group = await openGroup(await memberEc2(first), 'bastion');
    await handle(authorizeCall(REGION, group, humanCaller(first)));
    const [incident] = await responder.incidents();
    const incidentId = String(incident?.incidentId);
    const roleName = memberRoleName(responder.stack.env.STACK_NAME ?? '', 'ssh-open-to-world');
    const asMemberRole = (session: string) => ({
      type: 'AssumedRole' as const,
      arn: `arn:aws:sts::${first}:assumed-role/${roleName}/${session}`,
      principalId: `AROAEXAMPLEROLEID0001:${session}`,
      accountId: first,
      sessionIssuerArn: `arn:aws:iam::${first}:role/${roleName}`,
    });
    const reopen = async () =>
      (await memberEc2(first)).send(
        new AuthorizeSecurityGroupIngressCommand({ GroupId: group, IpPermissions: [ssh('0.0.0.0/0')] }),
      );
    const call = (session: string) =>
      cloudTrailEvent({
        eventName: 'AuthorizeSecurityGroupIngress',
        eventSource: 'ec2.amazonaws.com',
        region: REGION,
        caller: asMemberRole(session),
        requestParameters: { groupId: group, ipPermissions: { items: [] } },
      });
    // Act: a call naming the incident that just ended (CloudTrail delivers minutes late), and a made-up one
    await reopen();
    const ours = await handle(call(incidentId));
    const forged = await handle(call('inc-20261205T000000-deadbeef'));
    // Act: the same incident id replayed a day after the incident ended (an insider's role of that name)
    const dayAgo = new Date(Date.now() - 86_400_000).toISOString();
    await createAwsClients(REGION)
      .dynamo()
      .send(
        new UpdateCommand({
          TableName: responder.stack.tableName,
          Key: { pk: `INCIDENT#${incidentId}`, sk: 'INCIDENT' },
          UpdateExpression: 'SET detectedAt = :at, updatedAt = :at',
          ExpressionAttributeValues: { ':at': dayAgo },
        }),
      );
    await reopen();
    const replayed = await handle(call(incidentId));
    // Assess: only the session of an incident acting lately is the loop guard's; the others are drift,
    // remediated, each naming the session that made it
    expect(ours.outcomes).toEqual([]);
    expect(forged.outcomes).toEqual([expect.objectContaining({ status: 'remediated' })]);
    expect(replayed.outcomes).toEqual([expect.objectContaining({ status: 'remediated' })]);
    const judged = (await responder.incidents()).filter((each) => each.incidentId !== incidentId);
    expect(judged.map((each) => each.actor?.arn).sort()).toEqual(
      [asMemberRole('inc-20261205T000000-deadbeef').arn, asMemberRole(incidentId).arn].sort(),
    );
    expect(await ingressOf(await memberEc2(first), group)).toEqual([]);
  });
});
