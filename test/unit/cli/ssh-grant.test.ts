import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
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
import { CliError, ExitCode, UsageError } from '../../../cli/errors';
import { checkGrantCidr, checkReason, checkTtl, grantSecurityGroupRule } from '../../../cli/ssh-grant';
import { createAwsClients } from '../../../shared/aws/clients';
import { DynamoDbGrantLedger } from '../../../shared/ssh/grant-ledger';
import { testSettings } from '../../support/incident';

describe('what a grant may open', () => {
  it.each([
    ['203.0.113.7/32', '203.0.113.7/32'],
    ['203.0.113.7', '203.0.113.7/32'],
    ['198.51.100.0/24', '198.51.100.0/24'],
    ['2001:db8::7', '2001:db8::7/128'],
    ['2001:db8:1:2::/64', '2001:db8:1:2::/64'],
  ])('accepts %s as %s', (input, text) => {
    // Act / Assess
    expect(checkGrantCidr(input).text).toBe(text);
  });

  it.each([
    ['0.0.0.0/0', 'the whole internet'],
    ['::/0', 'the whole internet'],
    ['10.0.0.0/8', 'broader than /24 for IPv4'],
    ['198.51.100.0/23', 'broader than /24 for IPv4'],
    ['2001:db8::/48', 'broader than /64 for IPv6'],
  ])('refuses %s: %s (exit 1)', (input, words) => {
    // Act
    let error: unknown;
    try {
      checkGrantCidr(input);
    } catch (caught) {
      error = caught;
    }
    // Assess
    expect(error).toBeInstanceOf(CliError);
    expect(error).not.toBeInstanceOf(UsageError);
    expect((error as CliError).message).toContain(words);
    expect((error as CliError).exitCode).toBe(ExitCode.Error);
  });

  it.each([
    ['nonsense', 'write an address block'],
    ['203.0.113.7/24', 'did you mean 203.0.113.0/24?'],
  ])('calls %s a usage mistake (exit 2)', (input, words) => {
    // Act / Assess
    expect(() => checkGrantCidr(input)).toThrow(words);
    expect(() => checkGrantCidr(input)).toThrow(UsageError);
  });

  it('caps the TTL at the deployed SSH_GRANT_MAX_TTL_MINUTES and says how to ask', () => {
    // Prepare
    const settings = testSettings({ SSH_GRANT_MAX_TTL_MINUTES: '120' });
    // Act / Assess
    expect(() => checkTtl(120, settings)).not.toThrow();
    expect(() => checkTtl(121, settings)).toThrow(
      'TTL 2h1m is over the cap of 2h the stack was deployed with (SSH_GRANT_MAX_TTL_MINUTES=120): ask for 2h or less',
    );
  });

  it('wants a reason', () => {
    // Act / Assess
    expect(checkReason('  INC-42 restart the billing worker ')).toBe('INC-42 restart the billing worker');
    expect(() => checkReason(' ok ')).toThrow(UsageError);
    expect(() => checkReason('x'.repeat(257))).toThrow(UsageError);
  });
});

describe('granting one address to a security group', () => {
  const ec2 = mockClient(EC2Client);
  const sts = mockClient(STSClient);
  const dynamo = mockClient(DynamoDBDocumentClient);
  afterAll(() => {
    ec2.restore();
    sts.restore();
    dynamo.restore();
  });

  function context(): CliContext {
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
      onCall: async () => ({ publish: async () => 'm-1' }),
      caller: async () => ({ arn: 'arn:aws:iam::111122223333:user/oncall-bob', accountId: '111122223333' }),
      now: () => new Date('2026-11-23T12:00:00.000Z'),
      runId: 'cli-test',
    };
  }

  // moto 5.2.1 accepts every authorization we send, so the failure path is covered with the mock.
  it('ends the grant in the ledger when the rule could not be created, so it never lists as live', async () => {
    // Prepare
    sts
      .on(GetCallerIdentityCommand)
      .resolves({ Arn: 'arn:aws:iam::111122223333:user/oncall-bob', Account: '111122223333' });
    ec2
      .on(DescribeSecurityGroupsCommand)
      .resolves({ SecurityGroups: [{ GroupId: 'sg-1', GroupName: 'bastion', OwnerId: '111122223333' }] });
    ec2.on(DescribeSecurityGroupRulesCommand).resolves({ SecurityGroupRules: [] });
    ec2
      .on(AuthorizeSecurityGroupIngressCommand)
      .rejects(Object.assign(new Error('too many rules'), { name: 'RulesPerSecurityGroupLimitExceeded' }));
    dynamo.on(TransactWriteCommand).resolves({});
    // The grant's incident (test/unit/cli/ssh-grant-incident.test.ts says what it holds).
    let incident: Record<string, unknown> = {};
    dynamo.on(PutCommand).callsFake((input: { Item: Record<string, unknown> }) => {
      incident = { ...input.Item };
      return {};
    });
    dynamo.on(UpdateCommand).callsFake((input: { ExpressionAttributeValues?: Record<string, unknown> }) => {
      const values = input.ExpressionAttributeValues ?? {};
      if (':status' in values) incident = { ...incident, status: values[':status'], steps: values[':steps'] };
      return { Attributes: incident };
    });
    dynamo.on(GetCommand).callsFake((input: { Key: { pk: string } }) => {
      const write = dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems?.[0]?.Put?.Item;
      return { Item: write && write.pk === input.Key.pk ? write : undefined };
    });
    // Act
    const attempt = grantSecurityGroupRule(context(), {
      groupId: 'sg-1',
      cidr: checkGrantCidr('203.0.113.7/32'),
      port: 22,
      ttlMinutes: 60,
      reason: 'INC-42',
    });
    // Assess
    await expect(attempt).rejects.toThrow('too many rules');
    const [record, revoke] = dynamo
      .commandCalls(TransactWriteCommand)
      .map((call) => call.args[0].input.TransactItems);
    expect(record?.[0]?.Put?.Item).toMatchObject({
      kind: 'security-group-rule',
      target: { region: 'eu-west-1', groupId: 'sg-1', cidr: '203.0.113.7/32', port: 22 },
      grantedTo: 'oncall-bob',
      grantedBy: 'arn:aws:iam::111122223333:user/oncall-bob',
      grantExpiresAt: '2026-11-23T13:00:00.000Z',
    });
    expect(revoke?.[0]?.Update).toMatchObject({
      UpdateExpression: 'SET revokedAt = :at, revokedBy = :by, revokeReason = :reason',
      ExpressionAttributeValues: {
        ':reason': 'the rule could not be created: RulesPerSecurityGroupLimitExceeded: too many rules',
      },
    });
    expect(ec2).toHaveReceivedCommandWith(AuthorizeSecurityGroupIngressCommand, {
      GroupId: 'sg-1',
      TagSpecifications: [
        {
          ResourceType: 'security-group-rule',
          Tags: [
            { Key: 'compliance-responder:ssh-grant', Value: expect.stringMatching(/^sshg-20261123T120000-/) },
          ],
        },
      ],
    });
  });
});
