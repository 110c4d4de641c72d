import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateManagedPrefixListCommand,
  DescribeSecurityGroupRulesCommand,
  EC2Client,
  type IpPermission,
} from '@aws-sdk/client-ec2';
import { awsChangesOf, dynamoWritesOf, guardWritesOf } from '../../bench/calls';
import { configRuleInvocation, roleCaller, scheduledEvent } from '../../scripts/lib/events';
import type { HandlerResult } from '../../shared/pipeline/rule-handler';
import { FaultProxy } from '../support/fault-proxy';
import { LocalResponder, resetAccount } from '../support/local-responder';
import { recordCalls, writesAmong } from '../support/recorder';
import { ACCOUNT, authorize, authorizeCall, createGroup, ingressRules, ruleShape, ssh } from '../support/ssh';

const FUNCTION = 'ssh-open-to-world';
const loadFunction = () => require('../../functions/ssh-open-to-world');

const WORLD: IpPermission[] = [
  ssh('0.0.0.0/0', 'left open by a deploy'),
  ssh('::/0'),
  { IpProtocol: 'tcp', FromPort: 0, ToPort: 1024, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
  { IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
];
const KEPT: IpPermission[] = [
  ssh('203.0.113.7/32'),
  { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
];

describe('ssh-open-to-world end to end against moto', () => {
  let responder: LocalResponder;
  let handle: (event: unknown) => Promise<HandlerResult>;

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision();
    handle = responder.handlerOf(loadFunction);
  });

  it('revokes SSH open to the world over IPv4, IPv6, a port range and all traffic; keeps the rest; documents it', async () => {
    // Prepare
    const group = await createGroup('us-east-1', 'web');
    for (const permission of [...WORLD, ...KEPT]) await authorize('us-east-1', group, [permission]);
    // Act
    const result = await handle(authorizeCall('us-east-1', group));
    // Assess: only the world-open SSH rules are gone
    expect(result.outcomes).toEqual([
      expect.objectContaining({ compliance: 'COMPLIANT', status: 'remediated' }),
    ]);
    const left = await ingressRules('us-east-1', group);
    expect(left.map(ruleShape)).toEqual([
      expect.objectContaining({ CidrIpv4: '203.0.113.7/32', FromPort: 22 }),
      expect.objectContaining({ CidrIpv4: '0.0.0.0/0', FromPort: 443 }),
    ]);
    // Assess: one incident with who did it, a step per rule with its exact undo, verified
    const [incident, ...others] = await responder.incidents();
    expect(others).toEqual([]);
    expect(incident).toMatchObject({
      ruleId: FUNCTION,
      severity: 'HIGH',
      hipaa: ['164.312(a)(1)', '164.308(a)(4)(ii)(C)'],
      resourceType: 'AWS::EC2::SecurityGroup',
      resourceId: group,
      resourceArn: `arn:aws:ec2:us-east-1:${ACCOUNT}:security-group/${group}`,
      status: 'remediated',
      actor: { arn: `arn:aws:iam::${ACCOUNT}:user/dev-alice` },
      evidence: { openRules: 4, ports: '22', sources: '0.0.0.0/0,::/0' },
      runbook: 'docs/runbooks/ssh-open-to-world.md',
    });
    expect(incident?.steps.map((step) => [step.action, step.result])).toEqual([
      ['RevokeSecurityGroupIngress', 'succeeded'],
      ['RevokeSecurityGroupIngress', 'succeeded'],
      ['RevokeSecurityGroupIngress', 'succeeded'],
      ['RevokeSecurityGroupIngress', 'succeeded'],
      ['Verify', 'succeeded'],
    ]);
    const alerts = await responder.alerts();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      subject: `[HIGH] SSH open to the internet ${group}: remediated — ${ACCOUNT}/us-east-1`,
      attributes: { ruleId: FUNCTION, status: 'remediated' },
    });
  });

  it("keeps each revoked rule exactly in its step's undo: replaying the undo restores the group", async () => {
    // Prepare
    const group = await createGroup('us-east-1', 'restorable');
    for (const permission of WORLD) await authorize('us-east-1', group, [permission]);
    const before = (await ingressRules('us-east-1', group)).map(ruleShape);
    await handle(authorizeCall('us-east-1', group));
    const [incident] = await responder.incidents();
    // Act
    const ec2 = new EC2Client({ region: 'us-east-1' });
    for (const step of incident?.steps ?? []) {
      if (!step.undo) continue;
      const { Region: _region, ...input } = step.undo.input as {
        Region: string;
        GroupId: string;
        IpPermissions: IpPermission[];
      };
      await ec2.send(new AuthorizeSecurityGroupIngressCommand(input));
    }
    // Assess
    expect((await ingressRules('us-east-1', group)).map(ruleShape)).toEqual(before);
  });

  it("delivers the alert of a group at AWS's default rule quota, every description at 255 characters, under SNS's 256 KiB", async () => {
    // Prepare: AWS counts the quota (60) per direction and per IP family, so a full group holds 60
    // IPv4 and 60 IPv6 inbound rules (here all world-open SSH: 60 port ranges covering 22) and 60
    // outbound ones (the default and 59 more). moto counts both families together; the project's
    // moto counts them apart as AWS does (scripts/moto/sitecustomize.py).
    const group = await createGroup('us-east-1', 'at-quota');
    const described = (index: number) => `rule ${index} `.padEnd(255, 'abcdefghij');
    const ec2 = new EC2Client({ region: 'us-east-1' });
    for (let index = 0; index < 60; index++) {
      const ports = { IpProtocol: 'tcp', FromPort: 22 - (index % 23), ToPort: 22 + index };
      await authorize('us-east-1', group, [
        { ...ports, IpRanges: [{ CidrIp: '0.0.0.0/0', Description: described(index) }] },
        { ...ports, Ipv6Ranges: [{ CidrIpv6: '::/0', Description: described(index + 60) }] },
      ]);
    }
    for (let index = 0; index < 59; index++) {
      await ec2.send(
        new AuthorizeSecurityGroupEgressCommand({
          GroupId: group,
          IpPermissions: [
            {
              IpProtocol: 'tcp',
              FromPort: 1000 + index,
              ToPort: 1000 + index,
              IpRanges: [{ CidrIp: '10.0.0.0/8', Description: described(index) }],
            },
          ],
        }),
      );
    }
    const rules = await ec2.send(
      new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [group] }] }),
    );
    const egress = rules.SecurityGroupRules?.filter((rule) => rule.IsEgress === true) ?? [];
    expect([(await ingressRules('us-east-1', group)).length, egress.length]).toEqual([120, 60]);
    // Act
    const result = await handle(authorizeCall('us-east-1', group));
    // Assess: every rule revoked and recorded in full in the incident, with its undo
    expect(result.outcomes).toEqual([expect.objectContaining({ status: 'remediated' })]);
    expect(await ingressRules('us-east-1', group)).toEqual([]);
    const [incident] = await responder.incidents();
    const revokes = incident?.steps.filter((step) => step.action === 'RevokeSecurityGroupIngress') ?? [];
    expect(revokes).toHaveLength(120);
    expect(JSON.stringify(revokes.map((step) => step.undo))).toContain(described(119));
    // Assess: the alert arrived, summarising the steps beyond its bound and pointing at the full record
    const [alert, ...more] = await responder.alerts();
    expect(more).toEqual([]);
    expect(alert).toMatchObject({
      attributes: { status: 'remediated' },
      body: { incidentId: incident?.incidentId, stepCount: 121 },
    });
    const shown = alert?.body.steps as unknown[];
    expect(alert?.body.stepsOmitted).toBe(121 - shown.length);
    expect(shown.length).toBeLessThan(121);
  }, 180_000);

  it('revokes a rule whose managed prefix list holds 0.0.0.0/0', async () => {
    // Prepare
    const group = await createGroup('eu-west-1', 'via-prefix-list');
    const ec2 = new EC2Client({ region: 'eu-west-1' });
    const list = await ec2.send(
      new CreateManagedPrefixListCommand({
        PrefixListName: 'anyone',
        MaxEntries: 5,
        AddressFamily: 'IPv4',
        Entries: [{ Cidr: '198.51.100.0/24' }, { Cidr: '0.0.0.0/0' }],
      }),
    );
    const prefixListId = String(list.PrefixList?.PrefixListId);
    await authorize('eu-west-1', group, [
      { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, PrefixListIds: [{ PrefixListId: prefixListId }] },
    ]);
    // Act
    await handle(authorizeCall('eu-west-1', group));
    // Assess
    expect(await ingressRules('eu-west-1', group)).toEqual([]);
    expect((await responder.incidents())[0]).toMatchObject({
      region: 'eu-west-1',
      status: 'remediated',
      evidence: { sources: `${prefixListId} (holds 0.0.0.0/0)` },
    });
  });

  it('only records and alerts in notify mode: no write to EC2', async () => {
    // Prepare
    const group = await createGroup('us-east-1', 'watched');
    await authorize('us-east-1', group, [ssh('0.0.0.0/0')]);
    const notify = responder.handlerOf(loadFunction, { MODE_SSH_OPEN_TO_WORLD: 'notify' });
    // Act
    const calls = await recordCalls(() => notify(authorizeCall('us-east-1', group)));
    // Assess
    expect(writesAmong(calls).map((call) => call.action)).not.toContain('RevokeSecurityGroupIngress');
    expect(calls.map((call) => call.action)).toContain('DescribeSecurityGroupRules');
    expect(await ingressRules('us-east-1', group)).toHaveLength(1);
    expect((await responder.incidents())[0]).toMatchObject({ status: 'open', mode: 'notify', steps: [] });
    expect((await responder.alerts()).map((alert) => alert.attributes.status)).toEqual(['open']);
  });

  it("writes its record within issue 21's budget: n + 2 incident writes for n changes, write-ahead kept", async () => {
    // Prepare: one world-open SSH rule (one change), and a notify-mode rule (none)
    const group = await createGroup('us-east-1', 'budget');
    await authorize('us-east-1', group, [ssh('0.0.0.0/0')]);
    const watched = await createGroup('us-east-1', 'budget-watched');
    await authorize('us-east-1', watched, [ssh('0.0.0.0/0')]);
    const notify = responder.handlerOf(loadFunction, { MODE_SSH_OPEN_TO_WORLD: 'notify' });
    // Act
    const enforced = await recordCalls(() => handle(authorizeCall('us-east-1', group)));
    const notified = await recordCalls(() => notify(authorizeCall('us-east-1', watched)));
    // Assess: the opening transaction carries the revoke's intent, ahead of the revoke; then the
    // final status with the alert pending; then the message id with the lock's release
    const actions = (calls: typeof enforced) => calls.map((call) => call.action);
    expect(dynamoWritesOf(enforced)).toBe(3);
    expect(guardWritesOf(enforced)).toBe(1);
    expect(awsChangesOf(enforced)).toBe(1);
    const order = actions(enforced).filter((action) =>
      ['TransactWriteItems', 'UpdateItem', 'RevokeSecurityGroupIngress', 'Publish'].includes(action),
    );
    expect(order).toEqual([
      'UpdateItem',
      'TransactWriteItems',
      'RevokeSecurityGroupIngress',
      'UpdateItem',
      'Publish',
      'TransactWriteItems',
    ]);
    const [opening] = enforced.filter((call) => call.action === 'TransactWriteItems');
    expect(opening?.body).toContain('"RevokeSecurityGroupIngress"');
    expect(opening?.body).toContain('"remediating"');
    // What it decided on (marker, lock, exemption, the guard's state and window) is one batched read
    const table = (calls: typeof enforced) =>
      actions(calls).filter((action) =>
        /^(BatchGet|Get|Put|Update|Delete|TransactWrite)Item|^Query$/.test(action),
      );
    const decided = table(enforced).indexOf('UpdateItem');
    expect(table(enforced).slice(0, decided)).toEqual(['BatchGetItem']);
    expect(table(enforced)).not.toContain('GetItem');
    expect(table(notified)).toEqual(['BatchGetItem', 'TransactWriteItems', 'UpdateItem']);
    expect(dynamoWritesOf(notified)).toBe(2);
    expect(guardWritesOf(notified)).toBe(0);
    expect((await responder.incidents()).map((incident) => incident.alert?.status)).toEqual(['sent', 'sent']);
  });

  it('ignores the call when its own role made it (loop guard)', async () => {
    // Prepare
    const group = await createGroup('us-east-1', 'own');
    await authorize('us-east-1', group, [ssh('0.0.0.0/0')]);
    // Act
    const result = await handle(authorizeCall('us-east-1', group, roleCaller(responder.responderRoleArn)));
    // Assess
    expect(result.outcomes).toEqual([]);
    expect(await ingressRules('us-east-1', group)).toHaveLength(1);
  });

  it('sweeps every group of the region hourly and leaves ledger-exempted ones recorded but open', async () => {
    // Prepare
    const first = await createGroup('us-west-2', 'first');
    const second = await createGroup('us-west-2', 'second');
    const exempt = await createGroup('us-west-2', 'exempt');
    for (const group of [first, second, exempt]) await authorize('us-west-2', group, [ssh('0.0.0.0/0')]);
    await responder.exempt(
      'ssh-open-to-world',
      `arn:aws:ec2:us-west-2:${ACCOUNT}:security-group/${exempt}`,
      'CHG-9 vendor SFTP until cut-over',
    );
    // Act
    await handle(scheduledEvent({ accountId: ACCOUNT, region: 'us-west-2' }));
    // Assess
    expect(await ingressRules('us-west-2', first)).toEqual([]);
    expect(await ingressRules('us-west-2', second)).toEqual([]);
    expect(await ingressRules('us-west-2', exempt)).toHaveLength(1);
    const byGroup = Object.fromEntries(
      (await responder.incidents()).map((incident) => [incident.resourceId, incident.status]),
    );
    expect(byGroup).toEqual({ [first]: 'remediated', [second]: 'remediated', [exempt]: 'exempted' });
  });

  it('settles every group of a sweep when one alert fails: the others finish, and the invocation fails only then, naming it', async () => {
    // Prepare: three drifted groups; every attempt to publish one group's alert fails, and another
    // group's revoke stalls, so its work is still in flight when that alert fails
    const [slow, failing, other] = [
      await createGroup('us-west-2', 'slow'),
      await createGroup('us-west-2', 'alert-fails'),
      await createGroup('us-west-2', 'other'),
    ];
    for (const group of [slow, failing, other]) await authorize('us-west-2', group, [ssh('0.0.0.0/0')]);
    const proxy = await FaultProxy.start(String(process.env.AWS_ENDPOINT_URL), 5_000);
    proxy.arm([
      { action: 'sns:Publish', nth: 1, kind: 'http500', times: 100, bodyIncludes: failing },
      { action: 'ec2:RevokeSecurityGroupIngress', nth: 1, kind: 'stall', times: 1, bodyIncludes: slow },
    ]);
    // Act: as Lambda runs it, in its own process, which ends once the handler settles
    const sweep = await responder
      .invokeBundle(FUNCTION, scheduledEvent({ accountId: ACCOUNT, region: 'us-west-2' }), {
        AWS_ENDPOINT_URL: proxy.url,
      })
      .finally(() => proxy.close());
    // Assess: the invocation failed (the error alarm pages), naming the group whose alert failed
    expect(sweep.ok).toBe(false);
    expect(sweep.result.errorMessage).toContain(failing);
    // Assess: every group was remediated and recorded; the failed alert waits, pending, for a retry
    for (const group of [slow, failing, other]) expect(await ingressRules('us-west-2', group)).toEqual([]);
    const byGroup = Object.fromEntries(
      (await responder.incidents()).map((incident) => [
        incident.resourceId,
        [incident.status, incident.alert?.status],
      ]),
    );
    expect(byGroup).toEqual({
      [slow]: ['remediated', 'sent'],
      [failing]: ['remediated', 'pending'],
      [other]: ['remediated', 'sent'],
    });
    expect((await responder.alerts()).map((alert) => alert.body.resourceArn).sort()).toEqual(
      [slow, other].map((group) => `arn:aws:ec2:us-west-2:${ACCOUNT}:security-group/${group}`).sort(),
    );
  }, 60_000);

  it('remediates on a compliance change of the managed rule restricted-ssh', async () => {
    // Prepare
    const group = await createGroup('us-east-1', 'config');
    await authorize('us-east-1', group, [ssh('0.0.0.0/0')]);
    const now = new Date().toISOString();
    const change = {
      version: '0',
      id: 'c1c2c3c4-0000-4000-8000-000000000001',
      'detail-type': 'Config Rules Compliance Change',
      source: 'aws.config',
      account: ACCOUNT,
      time: now,
      region: 'us-east-1',
      resources: [],
      detail: {
        resourceId: group,
        awsRegion: 'us-east-1',
        awsAccountId: ACCOUNT,
        configRuleName: 'restricted-ssh',
        messageType: 'ComplianceChangeNotification',
        newEvaluationResult: { complianceType: 'NON_COMPLIANT' },
        resourceType: 'AWS::EC2::SecurityGroup',
      },
    };
    // Act
    await handle(change);
    // Assess
    expect(await ingressRules('us-east-1', group)).toEqual([]);
    expect((await responder.incidents())[0]).toMatchObject({
      trigger: { source: 'config-compliance' },
      status: 'remediated',
    });
  });

  it('gives 8 concurrent deliveries of one event, each in its own process running the bundle, one incident, one revoke and one alert', async () => {
    // Prepare
    const group = await createGroup('us-east-1', 'raced');
    await authorize('us-east-1', group, [ssh('0.0.0.0/0')]);
    const event = authorizeCall('us-east-1', group);
    // Act
    const calls = await recordCalls(() =>
      Promise.all(Array.from({ length: 8 }, () => responder.invokeBundle(FUNCTION, event))),
    );
    // Assess
    expect(calls.filter((call) => call.action === 'RevokeSecurityGroupIngress')).toHaveLength(1);
    expect(calls.filter((call) => call.action === 'Publish')).toHaveLength(1);
    expect(await ingressRules('us-east-1', group)).toEqual([]);
    expect((await responder.incidents()).map((incident) => incident.status)).toEqual(['remediated']);
    expect(await responder.alerts()).toHaveLength(1);
  });

  it("puts Config's timeline in order: the item showing SSH open is NON_COMPLIANT naming its incident, the fix's item COMPLIANT", async () => {
    // Prepare: a group open to the world, and the items Config records before and after the fix
    const group = await createGroup('us-east-1', 'config-item');
    await authorize('us-east-1', group, [ssh('::/0')]);
    const itemOf = (captured: string, ipPermissions: unknown[]) => ({
      resourceType: 'AWS::EC2::SecurityGroup',
      resourceId: group,
      awsRegion: 'us-east-1',
      awsAccountId: ACCOUNT,
      configurationItemCaptureTime: captured,
      configurationItemStatus: 'OK',
      ARN: `arn:aws:ec2:us-east-1:${ACCOUNT}:security-group/${group}`,
      tags: {},
      configuration: { groupName: 'config-item', ownerId: ACCOUNT, vpcId: null, ipPermissions },
    });
    const invocationFor = (configurationItem: unknown, captured: string) =>
      configRuleInvocation({
        accountId: ACCOUNT,
        region: 'us-east-1',
        ruleName: 'compliance-responder-local-ssh-open-to-world',
        invokingEvent: {
          messageType: 'ConfigurationItemChangeNotification',
          notificationCreationTime: captured,
          configurationItem,
          configurationItemDiff: { changeType: 'UPDATE' },
        },
      });
    const drifted = new Date(Date.now() - 1000).toISOString();
    const open = [{ ipProtocol: 'tcp', fromPort: 22, toPort: 22, ipv6Ranges: [{ cidrIpv6: '::/0' }] }];
    // Act: Config sends the drifted item, then (once the fix is recorded) the fixed one
    let results: HandlerResult[] = [];
    const calls = await recordCalls(async () => {
      const first = await handle(invocationFor(itemOf(drifted, open), drifted));
      const fixed = new Date().toISOString();
      results = [first, await handle(invocationFor(itemOf(fixed, []), fixed))];
    });
    // Assess: the group is fixed, by one incident
    expect(await ingressRules('us-east-1', group)).toEqual([]);
    const [incident, ...others] = await responder.incidents();
    expect(others).toEqual([]);
    expect(incident?.status).toBe('remediated');
    // Assess: the two evaluations Config received, in order (moto stores nothing in TestMode)
    const evaluations = calls
      .filter((call) => call.action === 'PutEvaluations')
      .map((call) => JSON.parse(call.body) as { Evaluations: Record<string, unknown>[]; TestMode: boolean });
    expect(evaluations.map((request) => request.Evaluations)).toEqual([
      [
        expect.objectContaining({
          ComplianceResourceId: group,
          ComplianceType: 'NON_COMPLIANT',
          Annotation: expect.stringMatching(new RegExp(`^remediated by ${incident?.incidentId}: `)),
          OrderingTimestamp: Date.parse(drifted) / 1000,
        }),
      ],
      [expect.objectContaining({ ComplianceResourceId: group, ComplianceType: 'COMPLIANT' })],
    ]);
    expect(evaluations.every((request) => request.TestMode)).toBe(true);
    expect(results.map((result) => result.evaluationsSent)).toEqual([1, 1]);
    // Assess: after the first answer (never before it), the invoking rule was asked to evaluate
    // again; moto 5.2.1 has no StartConfigRulesEvaluation (the SDK retries its error, and the step
    // records the failure: best effort), so the request is asserted, not its effect
    const configCalls = calls
      .map((call) => call.action)
      .filter((action, index, all) => /Evaluation/.test(action) && action !== all[index - 1]);
    expect(configCalls).toEqual(['PutEvaluations', 'StartConfigRulesEvaluation', 'PutEvaluations']);
    expect(incident?.steps.at(-1)).toMatchObject({ action: 'StartConfigRulesEvaluation' });
  });
});
