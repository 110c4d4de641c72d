import {
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  GetManagedPrefixListEntriesCommand,
  RevokeSecurityGroupIngressCommand,
  type SecurityGroupRule,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createAwsClients } from '../../../shared/aws/clients';
import { actionsOf, type Finding, type Loaded } from '../../../shared/rules/rule';
import { sshOpenToWorld as rule } from '../../../shared/rules/ssh-open-to-world';
import type { SecurityGroupView } from '../../../shared/ssh/security-groups';
import { testSettings } from '../../support/incident';
import { SentActions } from '../../support/permissions';
import { recordingContext } from '../../support/remediation';

const ACCOUNT = '111122223333';
const GROUP = 'sg-0123456789abcdef0';
const ref = {
  resourceType: 'AWS::EC2::SecurityGroup',
  resourceId: GROUP,
  region: 'eu-west-1',
  accountId: ACCOUNT,
};

const sgRule = (id: string, overrides: Partial<SecurityGroupRule>): SecurityGroupRule => ({
  SecurityGroupRuleId: id,
  GroupId: GROUP,
  IsEgress: false,
  IpProtocol: 'tcp',
  FromPort: 22,
  ToPort: 22,
  Tags: [],
  ...overrides,
});

const EGRESS = sgRule('sgr-egress', {
  IsEgress: true,
  IpProtocol: '-1',
  FromPort: -1,
  ToPort: -1,
  CidrIpv4: '0.0.0.0/0',
});
const WORLD_RULES = [
  sgRule('sgr-v4', {
    CidrIpv4: '0.0.0.0/0',
    Description: 'temporary',
    Tags: [{ Key: 'owner', Value: 'secret-team' }],
  }),
  sgRule('sgr-v6', { CidrIpv6: '::/0' }),
  sgRule('sgr-range', { FromPort: 0, ToPort: 1024, CidrIpv4: '0.0.0.0/0' }),
  sgRule('sgr-all', { IpProtocol: '-1', FromPort: -1, ToPort: -1, CidrIpv4: '0.0.0.0/0' }),
  sgRule('sgr-pl', { PrefixListId: 'pl-world' }),
];
const SAFE_RULES = [
  sgRule('sgr-office', { CidrIpv4: '203.0.113.7/32' }),
  sgRule('sgr-https', { FromPort: 443, ToPort: 443, CidrIpv4: '0.0.0.0/0' }),
  sgRule('sgr-self', {
    IpProtocol: '-1',
    FromPort: -1,
    ToPort: -1,
    ReferencedGroupInfo: { GroupId: GROUP, UserId: ACCOUNT },
  }),
  sgRule('sgr-pl-office', { PrefixListId: 'pl-office' }),
];

describe('rule ssh-open-to-world', () => {
  const ec2 = mockClient(EC2Client);
  const aws = createAwsClients('us-east-1');
  const sent = new SentActions();
  const settings = testSettings();

  function givenGroup(rules: SecurityGroupRule[]) {
    ec2.on(DescribeSecurityGroupsCommand).resolves({
      SecurityGroups: [
        {
          GroupId: GROUP,
          GroupName: 'web',
          OwnerId: ACCOUNT,
          VpcId: 'vpc-1',
          Tags: [{ Key: 'team', Value: 'web' }],
        },
      ],
    });
    ec2.on(DescribeSecurityGroupRulesCommand).resolves({ SecurityGroupRules: [EGRESS, ...rules] });
    ec2
      .on(GetManagedPrefixListEntriesCommand, { PrefixListId: 'pl-world' })
      .resolves({ Entries: [{ Cidr: '10.0.0.0/8' }, { Cidr: '0.0.0.0/0' }] });
    ec2
      .on(GetManagedPrefixListEntriesCommand, { PrefixListId: 'pl-office' })
      .resolves({ Entries: [{ Cidr: '198.51.100.0/24' }] });
  }

  async function loadedDrift() {
    const loaded = await rule.load(ref, aws, settings);
    const verdict = loaded && rule.detect(loaded, settings);
    if (!loaded || !verdict || verdict.compliant) throw new Error('expected drift');
    return { loaded, finding: verdict as Finding };
  }

  beforeEach(() => ec2.reset());
  afterEach(() => sent.collect('EC2Client', ec2));
  afterAll(() => ec2.restore());

  it('reads the group, its tags and its rules by id in the region the event names', async () => {
    // Prepare
    givenGroup([]);
    // Act
    const loaded = await rule.load(ref, aws, settings);
    // Assess
    expect(loaded).toMatchObject({
      resourceId: GROUP,
      arn: `arn:aws:ec2:eu-west-1:${ACCOUNT}:security-group/${GROUP}`,
      tags: { team: 'web' },
      state: { groupName: 'web', ingress: [] },
    });
    expect(ec2).toHaveReceivedCommandWith(DescribeSecurityGroupRulesCommand, {
      Filters: [{ Name: 'group-id', Values: [GROUP] }],
    });
    expect(await ec2.call(0).thisValue.config.region()).toBe('eu-west-1');
  });

  it("verifies a revoke by reading only the group's rules again, keeping its name and tags", async () => {
    // Prepare: the revoke took the world-open rule away
    givenGroup([WORLD_RULES[0] as SecurityGroupRule]);
    const { loaded } = await loadedDrift();
    ec2.reset();
    ec2.on(DescribeSecurityGroupRulesCommand).resolves({ SecurityGroupRules: [EGRESS] });
    // Act
    const after = await rule.reload?.(loaded, aws, settings);
    // Assess
    expect(after).toMatchObject({ resourceId: GROUP, tags: { team: 'web' }, state: { ingress: [] } });
    expect(after && rule.detect(after, settings).compliant).toBe(true);
    expect(ec2.calls()).toHaveLength(1);
    expect(ec2).toHaveReceivedCommandWith(DescribeSecurityGroupRulesCommand, {
      Filters: [{ Name: 'group-id', Values: [GROUP] }],
    });
  });

  it('reports a deleted group as gone, and lets any other failure through', async () => {
    // Prepare
    ec2
      .on(DescribeSecurityGroupsCommand)
      .rejectsOnce(Object.assign(new Error('no such group'), { name: 'InvalidGroup.NotFound' }))
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'RequestLimitExceeded' }));
    // Act / Assess
    expect(await rule.load(ref, aws, settings)).toBeUndefined();
    await expect(rule.load(ref, aws, settings)).rejects.toThrow('Rate exceeded');
  });

  it('finds SSH open to the internet over IPv4, IPv6, a port range, all traffic and a prefix list', async () => {
    // Prepare
    givenGroup([...WORLD_RULES, ...SAFE_RULES]);
    // Act
    const { finding } = await loadedDrift();
    // Assess
    expect(finding.evidence).toEqual({
      groupName: 'web',
      openRules: 5,
      ruleIds: 'sgr-v4,sgr-v6,sgr-range,sgr-all,sgr-pl',
      ports: '22',
      sources: '0.0.0.0/0,::/0,pl-world (holds 0.0.0.0/0)',
    });
    expect(finding.reason).toContain(`Security group ${GROUP} (web) lets the whole internet reach port 22`);
    expect(JSON.stringify(finding)).not.toContain('secret-team');
  });

  it('is compliant with narrow sources, other ports and referenced groups', async () => {
    // Prepare
    givenGroup(SAFE_RULES);
    const loaded = await rule.load(ref, aws, settings);
    // Act / Assess
    expect(loaded && rule.detect(loaded, settings)).toEqual({ compliant: true });
  });

  it('watches the configured ports: RDP too when SSH_PORTS says so', async () => {
    // Prepare
    const rdp = testSettings({ SSH_PORTS: '22,3389' });
    givenGroup([sgRule('sgr-rdp', { FromPort: 3389, ToPort: 3389, CidrIpv4: '0.0.0.0/0' })]);
    const loaded = await rule.load(ref, aws, rdp);
    // Act / Assess
    expect(loaded && rule.detect(loaded, settings)).toEqual({ compliant: true });
    expect(loaded && rule.detect(loaded, rdp)).toMatchObject({
      compliant: false,
      evidence: { ports: '3389' },
    });
  });

  it('revokes each world-open rule by id, keeping the exact rule in the undo', async () => {
    // Prepare
    givenGroup([...WORLD_RULES, ...SAFE_RULES]);
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    const { loaded, finding } = await loadedDrift();
    const { context, steps } = recordingContext(aws, settings);
    // Act
    await rule.remediate(loaded, finding, context);
    // Assess
    const revoked = ec2.commandCalls(RevokeSecurityGroupIngressCommand).map((call) => call.args[0].input);
    expect(revoked).toEqual(
      ['sgr-v4', 'sgr-v6', 'sgr-range', 'sgr-all', 'sgr-pl'].map((id) => ({
        GroupId: GROUP,
        SecurityGroupRuleIds: [id],
      })),
    );
    const undo = (input: object) => ({
      action: 'RevokeSecurityGroupIngress',
      undo: {
        service: 'ec2',
        action: 'AuthorizeSecurityGroupIngress',
        input: { Region: 'eu-west-1', GroupId: GROUP, ...input },
      },
    });
    expect(steps).toEqual([
      undo({
        IpPermissions: [
          {
            IpProtocol: 'tcp',
            FromPort: 22,
            ToPort: 22,
            IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'temporary' }],
          },
        ],
      }),
      undo({
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, Ipv6Ranges: [{ CidrIpv6: '::/0' }] }],
      }),
      undo({
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 0, ToPort: 1024, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
        ],
      }),
      undo({ IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }),
      undo({
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, PrefixListIds: [{ PrefixListId: 'pl-world' }] },
        ],
      }),
    ]);
  });

  it('counts a rule that is already gone as revoked (a retry after a crash), and fails on anything else', async () => {
    // Prepare
    givenGroup([WORLD_RULES[0] as SecurityGroupRule]);
    const { loaded, finding } = await loadedDrift();
    const { context } = recordingContext(aws, settings);
    ec2
      .on(RevokeSecurityGroupIngressCommand)
      .rejectsOnce(Object.assign(new Error('gone'), { name: 'InvalidSecurityGroupRuleId.NotFound' }))
      .rejects(Object.assign(new Error('denied'), { name: 'UnauthorizedOperation' }));
    // Act / Assess
    await expect(rule.remediate(loaded, finding, context)).resolves.toBeUndefined();
    await expect(rule.remediate(loaded, finding, context)).rejects.toThrow('denied');
  });

  // moto 5.2.1 ignores MaxResults on DescribeSecurityGroupRules (one page whatever the size), so
  // pagination over the region is covered here with the mock.
  it('sweeps every page of the region, grouped by group, reading each prefix list once', async () => {
    // Prepare
    const other = 'sg-0fedcba9876543210';
    const sshFromList = [
      { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, PrefixListIds: [{ PrefixListId: 'pl-world' }] },
    ];
    ec2
      .on(DescribeSecurityGroupRulesCommand)
      .resolvesOnce({ SecurityGroupRules: [WORLD_RULES[4] as SecurityGroupRule], NextToken: 'page-2' })
      .resolvesOnce({
        SecurityGroupRules: [
          { ...(WORLD_RULES[4] as SecurityGroupRule), SecurityGroupRuleId: 'sgr-pl-2', GroupId: GROUP },
        ],
      })
      .resolvesOnce({
        SecurityGroupRules: [
          { ...(WORLD_RULES[4] as SecurityGroupRule), SecurityGroupRuleId: 'sgr-pl-3', GroupId: other },
        ],
      });
    ec2
      .on(DescribeSecurityGroupsCommand)
      .resolvesOnce({
        SecurityGroups: [{ GroupId: GROUP, GroupName: 'a', OwnerId: ACCOUNT, IpPermissions: sshFromList }],
        NextToken: 'groups-2',
      })
      .resolvesOnce({
        SecurityGroups: [{ GroupId: other, GroupName: 'b', OwnerId: ACCOUNT, IpPermissions: sshFromList }],
      });
    ec2.on(GetManagedPrefixListEntriesCommand).resolves({ Entries: [{ Cidr: '0.0.0.0/0' }] });
    // Act
    const swept: Loaded<unknown>[] = [];
    for await (const resource of rule.list({ accountId: ACCOUNT, region: 'eu-west-1' }, aws, settings))
      swept.push(resource);
    // Assess
    expect(
      swept.map((resource) => [
        resource.resourceId,
        rule.detect(resource, settings).compliant,
        (resource.state as SecurityGroupView).ingress.map((ingress) => ingress.ruleId),
      ]),
    ).toEqual([
      [GROUP, false, ['sgr-pl', 'sgr-pl-2']],
      [other, false, ['sgr-pl-3']],
    ]);
    expect(ec2).toHaveReceivedCommandWith(DescribeSecurityGroupRulesCommand, {
      Filters: [{ Name: 'group-id', Values: [GROUP] }],
      NextToken: 'page-2',
    });
    expect(ec2).toHaveReceivedCommandTimes(GetManagedPrefixListEntriesCommand, 1);
  });

  it("reads rules only for groups whose permissions let addresses reach an SSH port, never the region's every rule", async () => {
    // Prepare: thousands of HTTPS rules, a group's own self-reference on all ports, and one SSH group
    const https = { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '10.0.0.1/32' }] };
    const self = { IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: 'sg-self' }] };
    const ssh = { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, Ipv6Ranges: [{ CidrIpv6: '::/0' }] };
    ec2.on(DescribeSecurityGroupsCommand).resolves({
      SecurityGroups: [
        { GroupId: 'sg-https', GroupName: 'web', OwnerId: ACCOUNT, IpPermissions: [https, self] },
        { GroupId: GROUP, GroupName: 'bastion', OwnerId: ACCOUNT, IpPermissions: [https, ssh] },
      ],
    });
    ec2
      .on(DescribeSecurityGroupRulesCommand)
      .resolves({ SecurityGroupRules: [WORLD_RULES[1] as SecurityGroupRule] });
    // Act
    const swept: Loaded<unknown>[] = [];
    for await (const resource of rule.list({ accountId: ACCOUNT, region: 'eu-west-1' }, aws, settings))
      swept.push(resource);
    // Assess: one filtered read of the SSH group's rules; the other group is compliant without one
    expect(swept.map((resource) => [resource.resourceId, rule.detect(resource, settings).compliant])).toEqual(
      [
        ['sg-https', true],
        [GROUP, false],
      ],
    );
    expect(ec2).toHaveReceivedCommandTimes(DescribeSecurityGroupRulesCommand, 1);
    expect(ec2).toHaveReceivedCommandWith(DescribeSecurityGroupRulesCommand, {
      Filters: [{ Name: 'group-id', Values: [GROUP] }],
    });
  });

  it('lets a throttled page fail the sweep instead of reporting nothing', async () => {
    // Prepare
    ec2
      .on(DescribeSecurityGroupsCommand)
      .resolvesOnce({ SecurityGroups: [], NextToken: 'page-2' })
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'RequestLimitExceeded' }));
    // Act
    const sweep = async () => {
      for await (const _ of rule.list({ accountId: ACCOUNT, region: 'eu-west-1' }, aws, settings)) {
        // drain
      }
    };
    // Assess
    await expect(sweep()).rejects.toThrow('Rate exceeded');
  });

  // Runs last: the contract between what the rule declares and what its tests saw it send.
  it('declares an IAM permission for every AWS call its tests saw it make', () => {
    // Assess
    expect(sent.all).toEqual([
      'ec2:DescribeSecurityGroupRules',
      'ec2:DescribeSecurityGroups',
      'ec2:GetManagedPrefixListEntries',
      'ec2:RevokeSecurityGroupIngress',
    ]);
    expect(sent.all.filter((action) => !actionsOf(rule).includes(action))).toEqual([]);
  });
});
