import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { CliContext } from '../../../cli/context';
import { checkGrantCidr, grantSecurityGroupRule } from '../../../cli/ssh-grant';
import { revokeGrant } from '../../../cli/ssh-revoke';
import { createAwsClients } from '../../../shared/aws/clients';
import type { AlertMessage } from '../../../shared/pipeline/alerts';
import { DynamoDbGrantLedger } from '../../../shared/ssh/grant-ledger';
import { testSettings } from '../../support/incident';

/**
 * Issue 18: no command changes AWS without an incident saying who, why and how to undo it, and
 * on-call alerted. `ssh grant` and `ssh revoke` used to write only the grant ledger.
 */
describe('ssh grant and ssh revoke are incidents, and on-call hears of each', () => {
  const ec2 = mockClient(EC2Client);
  const sts = mockClient(STSClient);
  const dynamo = mockClient(DynamoDBDocumentClient);
  const CALLER = 'arn:aws:iam::111122223333:user/approver-ann';
  let published: AlertMessage[];
  /** Items as the mocked table holds them, by pk. */
  let items: Map<string, Record<string, unknown>>;

  afterAll(() => {
    ec2.restore();
    sts.restore();
    dynamo.restore();
  });

  function context(publish: (alert: AlertMessage) => Promise<string>): CliContext {
    const aws = createAwsClients('eu-west-1');
    const settings = testSettings();
    return {
      region: 'eu-west-1',
      tableName: 'incidents',
      settings,
      io: { out: () => {}, err: () => {} },
      aws: () => aws,
      ledger: () => new DynamoDbGrantLedger(aws.dynamo(), 'incidents', 2192),
      deployedSettings: async () => settings,
      onCall: async () => ({ publish }),
      caller: async () => ({ arn: CALLER, accountId: '111122223333' }),
      now: () => new Date('2026-11-23T12:00:00.000Z'),
      runId: 'cli-test',
    };
  }

  const record = (alert: AlertMessage) => {
    published.push(alert);
    return Promise.resolve(`m-${published.length}`);
  };

  /** A small table: puts and transactions store items, updates set the values they name, gets read them. */
  beforeEach(() => {
    ec2.reset();
    sts.reset();
    dynamo.reset();
    published = [];
    items = new Map();
    sts.on(GetCallerIdentityCommand).resolves({ Arn: CALLER, Account: '111122223333' });
    ec2
      .on(DescribeSecurityGroupsCommand)
      .resolves({ SecurityGroups: [{ GroupId: 'sg-1', GroupName: 'bastion', OwnerId: '111122223333' }] });
    ec2.on(DescribeSecurityGroupRulesCommand).resolves({ SecurityGroupRules: [] });
    dynamo.on(TransactWriteCommand).callsFake((input) => {
      for (const entry of input.TransactItems ?? []) {
        if (entry.Put) items.set(String(entry.Put.Item.pk), entry.Put.Item);
        if (entry.Update) {
          const item = items.get(String(entry.Update.Key.pk));
          const values = entry.Update.ExpressionAttributeValues ?? {};
          if (item && ':at' in values)
            Object.assign(item, { revokedAt: values[':at'], revokedBy: values[':by'] });
        }
      }
      return {};
    });
    dynamo.on(PutCommand).callsFake((input) => {
      items.set(String(input.Item.pk), { ...input.Item });
      return {};
    });
    dynamo.on(UpdateCommand).callsFake((input) => {
      const item = items.get(String(input.Key.pk)) ?? {};
      const values = input.ExpressionAttributeValues ?? {};
      if (':status' in values) item.status = values[':status'];
      if (':reason' in values) item.statusReason = values[':reason'];
      if (':steps' in values) item.steps = values[':steps'];
      if (':alert' in values) item.alert = values[':alert'];
      items.set(String(input.Key.pk), item);
      return { Attributes: item };
    });
    dynamo.on(GetCommand).callsFake((input) => ({ Item: items.get(String(input.Key.pk)) }));
    dynamo.on(QueryCommand).resolves({ Items: [] });
  });

  const keysWritten = (): string[] => [
    ...dynamo.commandCalls(PutCommand).map((call) => String(call.args[0].input.Item?.pk)),
    ...dynamo.commandCalls(UpdateCommand).map((call) => String(call.args[0].input.Key?.pk)),
    ...dynamo
      .commandCalls(TransactWriteCommand)
      .flatMap((call) =>
        (call.args[0].input.TransactItems ?? []).map((entry) =>
          String(entry.Put?.Item?.pk ?? entry.Update?.Key?.pk ?? entry.Delete?.Key?.pk),
        ),
      ),
  ];

  const incidentItem = () => [...items.entries()].find(([pk]) => pk.startsWith('INCIDENT#'))?.[1];
  const emailOf = (alert: AlertMessage | undefined) =>
    String((JSON.parse(alert?.message ?? '{}') as { email?: string }).email);

  const grant = (ctx: CliContext) =>
    grantSecurityGroupRule(ctx, {
      groupId: 'sg-1',
      cidr: checkGrantCidr('203.0.113.7/32'),
      port: 22,
      ttlMinutes: 60,
      reason: 'INC-42 restart the billing worker',
      grantedTo: 'dev-alice',
    });

  it('records a grant as an incident (who, why, when, the call with its undo, HIPAA, runbook) and tells on-call once, needing no action', async () => {
    // Prepare
    ec2
      .on(AuthorizeSecurityGroupIngressCommand)
      .resolves({ Return: true, SecurityGroupRules: [{ SecurityGroupRuleId: 'sgr-9' }] });
    // Act
    const result = await grant(context(record));
    // Assess: the incident, in the INCIDENT# item shape of shared/model.ts
    const incident = incidentItem();
    expect(incident).toMatchObject({
      sk: 'INCIDENT',
      schemaVersion: 1,
      ruleId: 'ssh-grant-expired',
      hipaa: expect.arrayContaining(['164.312(a)(1)']),
      account: '111122223333',
      region: 'eu-west-1',
      resourceId: 'sg-1',
      resourceArn: 'arn:aws:ec2:eu-west-1:111122223333:security-group/sg-1',
      detectedAt: '2026-11-23T12:00:00.000Z',
      trigger: { source: 'command-line', eventName: 'ssh grant' },
      actor: { arn: CALLER },
      status: 'resolved',
      runbook: 'docs/runbooks/ssh-grant-expired.md',
      grantChange: {
        action: 'grant',
        grantId: result.grant.grantId,
        by: CALLER,
        reason: 'INC-42 restart the billing worker',
      },
      steps: [
        {
          action: 'AuthorizeSecurityGroupIngress',
          result: 'succeeded',
          at: '2026-11-23T12:00:00.000Z',
          undo: { service: 'ec2', action: 'RevokeSecurityGroupIngress' },
        },
      ],
      alert: { status: 'sent', messageId: 'm-1' },
    });
    expect(String(incident?.statusReason)).toContain(result.grant.grantId);
    // Assess: one alert, which says on its first line that an expected grant needs nothing
    expect(published).toHaveLength(1);
    expect(published[0]?.attributes).toMatchObject({
      ruleId: 'ssh-grant-expired',
      status: 'resolved',
      actionNeeded: 'false',
    });
    const email = emailOf(published[0]);
    expect(email.split('\n')[0]).toMatch(/^Action needed: none if you expected this grant/);
    expect(email).toContain(CALLER);
    expect(email).toContain('INC-42 restart the billing worker');
    expect(email).toContain(`ssh revoke ${result.grant.grantId}`);
    // Assess: no secrets or payloads, and never a rule's drift lock or delivery marker
    expect(keysWritten().filter((pk) => /^(DRIFT|DELIVERY)#/.test(pk))).toEqual([]);
  });

  it('records a grant whose call failed as failed (the failed step), and the alert says so', async () => {
    // Prepare
    ec2
      .on(AuthorizeSecurityGroupIngressCommand)
      .rejects(Object.assign(new Error('too many rules'), { name: 'RulesPerSecurityGroupLimitExceeded' }));
    // Act
    const attempt = grant(context(record));
    // Assess: the command still fails as it did
    await expect(attempt).rejects.toThrow('too many rules');
    expect(incidentItem()).toMatchObject({
      status: 'failed',
      steps: [
        {
          action: 'AuthorizeSecurityGroupIngress',
          result: 'failed',
          error: expect.stringContaining('too many rules'),
        },
      ],
      alert: { status: 'sent' },
    });
    expect(published).toHaveLength(1);
    expect(published[0]?.subject).toContain('failed');
    expect(published[0]?.attributes.status).toBe('failed');
    expect(emailOf(published[0])).toContain('too many rules');
    expect(keysWritten().filter((pk) => /^(DRIFT|DELIVERY)#/.test(pk))).toEqual([]);
  });

  it('changes and records nothing for bad input: the checks run first', async () => {
    // Act
    const attempt = grantSecurityGroupRule(context(record), {
      groupId: 'sg-1',
      cidr: checkGrantCidr('203.0.113.7/32'),
      port: 2222,
      ttlMinutes: 60,
      reason: 'INC-42',
    });
    // Assess
    await expect(attempt).rejects.toThrow('not an SSH port the responder watches');
    expect(keysWritten()).toEqual([]);
    expect(ec2).not.toHaveReceivedCommand(AuthorizeSecurityGroupIngressCommand);
    expect(published).toEqual([]);
  });

  it('changes nothing when on-call cannot be reached (no deployed topic): a change on-call would not hear of does not start', async () => {
    // Prepare
    const ctx = context(record);
    const unreachable: CliContext = {
      ...ctx,
      onCall: () => Promise.reject(new Error('no deployed topic')),
    };
    // Act / Assess
    await expect(grant(unreachable)).rejects.toThrow('no deployed topic');
    expect(keysWritten()).toEqual([]);
    expect(ec2).not.toHaveReceivedCommand(AuthorizeSecurityGroupIngressCommand);
  });

  const grantItem = {
    pk: 'GRANT#sshg-20261123T110000-0a1b2c3d',
    sk: 'GRANT',
    grantId: 'sshg-20261123T110000-0a1b2c3d',
    kind: 'security-group-rule',
    target: { region: 'eu-west-1', groupId: 'sg-1', cidr: '203.0.113.7/32', port: 22, ruleId: 'sgr-9' },
    grantedTo: 'dev-alice',
    grantedBy: CALLER,
    reason: 'INC-42',
    createdAt: '2026-11-23T11:00:00.000Z',
    grantExpiresAt: '2026-11-23T13:00:00.000Z',
  };

  const groupWithGrantedRule = () =>
    ec2.on(DescribeSecurityGroupRulesCommand).resolves({
      SecurityGroupRules: [
        {
          SecurityGroupRuleId: 'sgr-9',
          GroupId: 'sg-1',
          IsEgress: false,
          IpProtocol: 'tcp',
          FromPort: 22,
          ToPort: 22,
          CidrIpv4: '203.0.113.7/32',
          Tags: [{ Key: 'compliance-responder:ssh-grant', Value: grantItem.grantId }],
        },
      ],
    });

  it('records a revoke as an incident (the revoke call, whose undo re-opens the path) and tells on-call once', async () => {
    // Prepare
    items.set(grantItem.pk, { ...grantItem });
    groupWithGrantedRule();
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    // Act
    await revokeGrant(context(record), grantItem.grantId, 'INC-42 done early');
    // Assess
    expect(incidentItem()).toMatchObject({
      ruleId: 'ssh-grant-expired',
      trigger: { source: 'command-line', eventName: 'ssh revoke' },
      actor: { arn: CALLER },
      status: 'resolved',
      grantChange: { action: 'revoke', grantId: grantItem.grantId, by: CALLER, reason: 'INC-42 done early' },
      steps: [
        {
          action: 'RevokeSecurityGroupIngress',
          result: 'succeeded',
          undo: { service: 'ec2', action: 'AuthorizeSecurityGroupIngress' },
        },
      ],
    });
    expect(published).toHaveLength(1);
    expect(published[0]?.attributes.actionNeeded).toBe('false');
    expect(emailOf(published[0]).split('\n')[0]).toMatch(/^Action needed: none/);
    expect(keysWritten().filter((pk) => /^(DRIFT|DELIVERY)#/.test(pk))).toEqual([]);
  });

  it('revokes the path the ledger names, never a rule someone else tagged with the grant id', async () => {
    // Prepare: the grant's rule id was never recorded; another rule carries the grant's tag
    const { ruleId: _unrecorded, ...target } = grantItem.target;
    items.set(grantItem.pk, { ...grantItem, target });
    const rule = (id: string, cidr: string, tagged: boolean) => ({
      SecurityGroupRuleId: id,
      GroupId: 'sg-1',
      IsEgress: false,
      IpProtocol: 'tcp',
      FromPort: 22,
      ToPort: 22,
      CidrIpv4: cidr,
      Tags: tagged ? [{ Key: 'compliance-responder:ssh-grant', Value: grantItem.grantId }] : [],
    });
    ec2.on(DescribeSecurityGroupRulesCommand).resolves({
      SecurityGroupRules: [
        rule('sgr-decoy', '198.51.100.9/32', true),
        rule('sgr-granted', '203.0.113.7/32', false),
      ],
    });
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    // Act
    await revokeGrant(context(record), grantItem.grantId, 'INC-42 done early');
    // Assess
    const revoked = ec2.commandCalls(RevokeSecurityGroupIngressCommand).map((call) => call.args[0].input);
    expect(revoked).toEqual([expect.objectContaining({ SecurityGroupRuleIds: ['sgr-granted'] })]);
  });

  it('pages as action needed when a revoke could not close the path', async () => {
    // Prepare
    items.set(grantItem.pk, { ...grantItem });
    groupWithGrantedRule();
    ec2.on(RevokeSecurityGroupIngressCommand).rejects(new Error('throttled'));
    // Act
    const attempt = revokeGrant(context(record), grantItem.grantId, 'INC-42 key leaked');
    // Assess
    await expect(attempt).rejects.toThrow('throttled');
    expect(incidentItem()).toMatchObject({
      status: 'failed',
      steps: [{ action: 'RevokeSecurityGroupIngress', result: 'failed' }],
    });
    expect(published).toHaveLength(1);
    expect(published[0]?.attributes).toMatchObject({ status: 'failed', actionNeeded: 'true' });
    expect(emailOf(published[0]).split('\n')[0]).toContain('still open');
  });
});
