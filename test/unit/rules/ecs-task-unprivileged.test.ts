import {
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  type SecurityGroupRule,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createAwsClients } from '../../../shared/aws/clients';
import { RemediationDeclined } from '../../../shared/errors';
import { ecsTaskUnprivileged as rule } from '../../../shared/rules/ecs-task-unprivileged';
import { actionsOf, type Finding } from '../../../shared/rules/rule';
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

describe('rule ecs-task-unprivileged', () => {
  const ec2 = mockClient(EC2Client);
  const aws = createAwsClients('us-east-1');
  const sent = new SentActions();
  const settings = testSettings();

  function givenGroup(rules: SecurityGroupRule[] = []) {
    ec2.on(DescribeSecurityGroupsCommand).resolves({
      SecurityGroups: [
        { GroupId: GROUP, GroupName: 'web', OwnerId: ACCOUNT, Tags: [{ Key: 'team', Value: 'web' }] },
      ],
    });
    ec2.on(DescribeSecurityGroupRulesCommand).resolves({ SecurityGroupRules: rules });
  }

  beforeEach(() => ec2.reset());
  afterEach(() => sent.collect('EC2Client', ec2));
  afterAll(() => ec2.restore());

  it('reads the group and its tags in the region the event names', async () => {
    // Prepare
    givenGroup();
    // Act
    const loaded = await rule.load(ref, aws, settings);
    // Assess
    expect(loaded).toMatchObject({
      resourceId: GROUP,
      arn: `arn:aws:ec2:eu-west-1:${ACCOUNT}:security-group/${GROUP}`,
      tags: { team: 'web' },
    });
    expect(await ec2.call(0).thisValue.config.region()).toBe('eu-west-1');
  });

  it('reads nothing when the group is gone', async () => {
    // Prepare
    ec2
      .on(DescribeSecurityGroupsCommand)
      .rejects(Object.assign(new Error('no such group'), { name: 'InvalidGroup.NotFound' }));
    // Act / Assess
    expect(await rule.load(ref, aws, settings)).toBeUndefined();
  });

  it('lists every group of the region', async () => {
    // Prepare
    givenGroup();
    // Act
    const listed = [];
    for await (const group of rule.list({ accountId: ACCOUNT, region: 'eu-west-1' }, aws, settings)) {
      listed.push(group.resourceId);
    }
    // Assess
    expect(listed).toEqual([GROUP]);
  });

  // TODO(ecs-task-unprivileged): replace this placeholder with the drift the rule finds (a group that breaks the
  // safeguard: compliant false, its reason, evidence and plan) and a group that keeps it.
  it('PLACEHOLDER: finds no drift until detect() is written', async () => {
    // Prepare
    givenGroup();
    const loaded = await rule.load(ref, aws, settings);
    // Act
    const verdict = loaded && rule.detect(loaded, settings);
    // Assess
    expect(verdict).toEqual({ compliant: true });
  });

  it('only notifies: in enforce mode it declines and changes nothing', async () => {
    // Prepare
    givenGroup();
    const loaded = await rule.load(ref, aws, settings);
    if (!loaded) throw new Error('expected the group');
    const finding: Finding = { compliant: false, reason: 'drift', evidence: {}, plan: 'none' };
    const { context, steps } = recordingContext(aws, settings);
    // Act / Assess
    await expect(rule.remediate(loaded, finding, context)).rejects.toBeInstanceOf(RemediationDeclined);
    expect(steps).toEqual([]);
  });

  // Runs last: the contract between what the rule declares and what its tests saw it send.
  it('declares an IAM permission for every AWS call its tests saw it make', () => {
    // Assess
    expect(sent.all.length).toBeGreaterThan(0);
    expect(sent.all.filter((action) => !actionsOf(rule).includes(action))).toEqual([]);
  });
});
