import {
  DescribeAddressesCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeInstanceTypesCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  DescribeVolumesCommand,
  EC2Client,
  type SecurityGroupRule,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { createAwsClients } from '../../../shared/aws/clients';
import { ValidationError } from '../../../shared/errors';
import { isNotInItem, loadFromConfigItem } from '../../../shared/resources/config-item';
import { ebsVolumeEncrypted } from '../../../shared/rules/ebs-volume-encrypted';
import { phiDedicatedTenancy } from '../../../shared/rules/phi-dedicated-tenancy';
import type { Loaded, Rule, Verdict } from '../../../shared/rules/rule';
import { sshOpenToWorld } from '../../../shared/rules/ssh-open-to-world';
import { testSettings } from '../../support/incident';

/**
 * A Config configuration item maps to the same Loaded a live read gives, so detect() says the same
 * of both. Each case states one resource's facts once, then builds Config's item (as a change
 * notification sends it, and as GetResourceConfigHistory returns it for an oversized one) and the
 * SDK's answers from them. The fixtures follow the shapes of real items (AWS docs, Powertools,
 * Cloud Custodian), written small here.
 */

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const ec2 = mockClient(EC2Client);
const aws = createAwsClients('us-east-1');

beforeEach(() => ec2.reset());

/** A change notification's configurationItem. */
const notified = (
  resourceType: string,
  resourceId: string,
  configuration: unknown,
  tags: Record<string, string>,
  status = 'OK',
) => ({
  relatedEvents: [],
  relationships: [],
  configuration,
  supplementaryConfiguration: {},
  tags,
  configurationItemVersion: '1.3',
  configurationItemCaptureTime: '2026-11-23T10:00:00.000Z',
  configurationStateId: 1763892000000,
  awsAccountId: ACCOUNT,
  configurationItemStatus: status,
  resourceType,
  resourceId,
  resourceName: null,
  ARN: `arn:aws:ec2:${REGION}:${ACCOUNT}:${resourceId}`,
  awsRegion: REGION,
  availabilityZone: `${REGION}a`,
  configurationStateMd5Hash: '',
});

/** The same item as GetResourceConfigHistory returns it: `arn`, `accountId`, configuration as JSON text. */
const fromHistory = (item: ReturnType<typeof notified>) => ({
  version: '1.3',
  accountId: item.awsAccountId,
  configurationItemCaptureTime: new Date(item.configurationItemCaptureTime),
  configurationItemStatus: item.configurationItemStatus,
  configurationStateId: String(item.configurationStateId),
  arn: item.ARN,
  resourceType: item.resourceType,
  resourceId: item.resourceId,
  awsRegion: item.awsRegion,
  availabilityZone: item.availabilityZone,
  tags: item.tags,
  relatedEvents: [],
  relationships: [],
  configuration: JSON.stringify(item.configuration),
  supplementaryConfiguration: {},
});

const SHAPES = [
  ['a change notification', (item: ReturnType<typeof notified>): unknown => item],
  ['GetResourceConfigHistory (oversized)', fromHistory],
] as const;

const judged = (rule: Rule, resource: Loaded<unknown> | undefined, settings = testSettings()) => {
  if (!resource) throw new Error('expected a resource');
  return rule.detect(resource, settings);
};

/** The resource a mapping gave, or a failure naming what it gave instead. */
const mapped = (rule: Rule, item: unknown): Loaded<unknown> => {
  const reading = loadFromConfigItem(rule, item);
  if (!reading || isNotInItem(reading))
    throw new Error(`expected a resource, got ${JSON.stringify(reading)}`);
  return reading;
};

describe('an EBS volume item (ebs-volume-encrypted)', () => {
  const rule = ebsVolumeEncrypted;
  const ref = {
    resourceType: 'AWS::EC2::Volume',
    resourceId: 'vol-0a1b2c3d',
    region: REGION,
    accountId: ACCOUNT,
  };

  const CASES = [
    ['unencrypted and attached (drift)', { encrypted: false, attachedTo: 'i-0a1b2c3d' }],
    ['unencrypted and detached (drift)', { encrypted: false, attachedTo: undefined }],
    ['encrypted (compliant)', { encrypted: true, attachedTo: 'i-0a1b2c3d' }],
  ] as const;

  const given = (facts: { encrypted: boolean; attachedTo: string | undefined }) => {
    const attachments = facts.attachedTo
      ? [{ instanceId: facts.attachedTo, device: '/dev/xvda', deleteOnTermination: true }]
      : [];
    ec2.on(DescribeVolumesCommand).resolves({
      Volumes: [
        {
          VolumeId: ref.resourceId,
          State: facts.attachedTo ? 'in-use' : 'available',
          Encrypted: facts.encrypted,
          Size: 8,
          VolumeType: 'gp3',
          Iops: 3000,
          Throughput: 125,
          AvailabilityZone: `${REGION}a`,
          Attachments: attachments.map((a) => ({
            InstanceId: a.instanceId,
            Device: a.device,
            DeleteOnTermination: a.deleteOnTermination,
            State: 'attached',
          })),
          Tags: [{ Key: 'team', Value: 'data' }],
        },
      ],
    });
    return notified(
      'AWS::EC2::Volume',
      ref.resourceId,
      {
        attachments: attachments.map((a) => ({
          ...a,
          attachTime: '2026-11-23T09:00:00.000Z',
          state: 'attached',
        })),
        availabilityZone: `${REGION}a`,
        createTime: '2026-11-23T09:00:00.000Z',
        encrypted: facts.encrypted,
        kmsKeyId: null,
        size: 8,
        snapshotId: '',
        state: facts.attachedTo ? 'in-use' : 'available',
        volumeId: ref.resourceId,
        iops: 3000,
        throughput: 125,
        tags: [{ key: 'team', value: 'data' }],
        volumeType: 'gp3',
      },
      { team: 'data' },
    );
  };

  describe.each(SHAPES)('from %s', (_shape, shaped) => {
    it.each(CASES)('%s: the same resource and verdict as a live read', async (_case, facts) => {
      // Prepare
      const item = shaped(given(facts));
      // Act
      const fromItem = mapped(rule, item);
      const live = await rule.load(ref, aws, testSettings());
      // Assess
      expect(fromItem).toEqual(live);
      expect(judged(rule, fromItem)).toEqual(judged(rule, live));
    });
  });

  it('refuses an item that does not say whether the volume is encrypted, rather than judge it', () => {
    // Prepare
    const item = given({ encrypted: false, attachedTo: undefined });
    const { encrypted: _missing, ...configuration } = item.configuration as Record<string, unknown>;
    // Act / Assess
    expect(() => loadFromConfigItem(rule, { ...item, configuration })).toThrow(ValidationError);
    expect(() => loadFromConfigItem(rule, { ...item, configuration })).toThrow(/encrypted/);
  });
});

describe('an EC2 instance item (phi-dedicated-tenancy)', () => {
  const rule = phiDedicatedTenancy;
  const settings = testSettings({ PHI_SCOPE: 'tag:phi=true', TENANCY_ACTION: 'stop' });
  const ref = {
    resourceType: 'AWS::EC2::Instance',
    resourceId: 'i-0a1b2c3d',
    region: REGION,
    accountId: ACCOUNT,
  };

  const CASES = [
    ['PHI, running on shared tenancy (drift)', { state: 'running', tenancy: 'default', phi: 'true' }],
    [
      'PHI, running on dedicated tenancy (compliant)',
      { state: 'running', tenancy: 'dedicated', phi: 'true' },
    ],
    ['not PHI, on shared tenancy (compliant)', { state: 'running', tenancy: 'default', phi: 'false' }],
    [
      'PHI, stopped on shared tenancy (compliant under lock-down)',
      { state: 'stopped', tenancy: 'default', phi: 'true' },
    ],
  ] as const;

  const given = (facts: { state: string; tenancy: string; phi: string }) => {
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            {
              InstanceId: ref.resourceId,
              InstanceType: 't3.medium',
              State: { Name: facts.state as 'running' },
              Placement: { AvailabilityZone: `${REGION}a`, Tenancy: facts.tenancy as 'default' },
              RootDeviceType: 'ebs',
              Tags: [{ Key: 'phi', Value: facts.phi }],
            },
          ],
        },
      ],
    });
    ec2.on(DescribeInstanceAttributeCommand).resolves({ DisableApiStop: { Value: false } });
    ec2.on(DescribeInstanceTypesCommand).resolves({ InstanceTypes: [{ InstanceStorageSupported: false }] });
    ec2.on(DescribeAddressesCommand).resolves({ Addresses: [] });
    return notified(
      'AWS::EC2::Instance',
      ref.resourceId,
      {
        amiLaunchIndex: 0,
        imageId: 'ami-0a1b2c3d',
        instanceId: ref.resourceId,
        instanceType: 't3.medium',
        placement: { availabilityZone: `${REGION}a`, groupName: '', tenancy: facts.tenancy, hostId: null },
        rootDeviceType: 'ebs',
        state: { code: facts.state === 'running' ? 16 : 80, name: facts.state },
        instanceLifecycle: null,
        tags: [{ key: 'phi', value: facts.phi }],
      },
      { phi: facts.phi },
    );
  };

  describe.each(SHAPES)('from %s', (_shape, shaped) => {
    it.each(CASES)(
      '%s: the same resource and verdict as a live read (but for the stop facts)',
      async (_case, facts) => {
        // Prepare
        const item = shaped(given(facts));
        // Act
        const fromItem = mapped(rule, item);
        const live = await rule.load(ref, aws, settings);
        // Assess: Config does not record stop facts (stop protection, instance store, Elastic IP)
        const { stop: _stop, ...liveState } = (live?.state ?? {}) as Record<string, unknown>;
        expect(fromItem).toEqual({ ...live, state: { ...liveState, stop: undefined } });
        const [itemVerdict, liveVerdict] = [judged(rule, fromItem, settings), judged(rule, live, settings)];
        expect(itemVerdict.compliant).toBe(liveVerdict.compliant);
        expect(reasonOf(itemVerdict)).toBe(reasonOf(liveVerdict));
      },
    );
  });

  it('maps a terminated instance to gone, as load() reads it', () => {
    // Prepare
    const item = given({ state: 'terminated', tenancy: 'default', phi: 'true' });
    // Act / Assess
    expect(loadFromConfigItem(rule, item)).toBeUndefined();
  });
});

describe('a security group item (ssh-open-to-world)', () => {
  const rule = sshOpenToWorld;
  const GROUP = 'sg-0a1b2c3d';
  const ref = {
    resourceType: 'AWS::EC2::SecurityGroup',
    resourceId: GROUP,
    region: REGION,
    accountId: ACCOUNT,
  };

  interface Opening {
    protocol: string;
    from?: number;
    to?: number;
    ipv4?: string;
    ipv6?: string;
    group?: string;
  }
  const CASES: readonly [string, readonly Opening[]][] = [
    ['SSH from 0.0.0.0/0 (drift)', [{ protocol: 'tcp', from: 22, to: 22, ipv4: '0.0.0.0/0' }]],
    ['all traffic from ::/0 (drift)', [{ protocol: '-1', ipv6: '::/0' }]],
    [
      'SSH from an office, HTTPS from the world, all from itself (compliant)',
      [
        { protocol: 'tcp', from: 22, to: 22, ipv4: '203.0.113.7/32' },
        { protocol: 'tcp', from: 443, to: 443, ipv4: '0.0.0.0/0' },
        { protocol: '-1', group: GROUP },
      ],
    ],
  ];

  const given = (openings: readonly Opening[]) => {
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
    ec2.on(DescribeSecurityGroupRulesCommand).resolves({
      SecurityGroupRules: openings.map(
        (opening, index): SecurityGroupRule => ({
          SecurityGroupRuleId: `sgr-${index}`,
          GroupId: GROUP,
          IsEgress: false,
          IpProtocol: opening.protocol,
          FromPort: opening.from ?? -1,
          ToPort: opening.to ?? -1,
          ...(opening.ipv4 ? { CidrIpv4: opening.ipv4 } : {}),
          ...(opening.ipv6 ? { CidrIpv6: opening.ipv6 } : {}),
          ...(opening.group ? { ReferencedGroupInfo: { GroupId: opening.group, UserId: ACCOUNT } } : {}),
          Tags: [],
        }),
      ),
    });
    return notified(
      'AWS::EC2::SecurityGroup',
      GROUP,
      {
        description: 'web',
        groupName: 'web',
        ownerId: ACCOUNT,
        groupId: GROUP,
        vpcId: 'vpc-1',
        ipPermissions: openings.map((opening) => ({
          ...(opening.from === undefined ? {} : { fromPort: opening.from, toPort: opening.to }),
          ipProtocol: opening.protocol,
          ipv4Ranges: opening.ipv4 ? [{ cidrIp: opening.ipv4 }] : [],
          ipRanges: opening.ipv4 ? [opening.ipv4] : [],
          ipv6Ranges: opening.ipv6 ? [{ cidrIpv6: opening.ipv6 }] : [],
          prefixListIds: [],
          userIdGroupPairs: opening.group ? [{ groupId: opening.group, userId: ACCOUNT }] : [],
        })),
        ipPermissionsEgress: [
          { ipProtocol: '-1', ipv4Ranges: [{ cidrIp: '0.0.0.0/0' }], ipRanges: ['0.0.0.0/0'] },
        ],
        tags: [{ key: 'team', value: 'web' }],
      },
      { team: 'web' },
    );
  };

  /** What a verdict says that both reads know: the item carries no rule ids. */
  const withoutRuleIds = (verdict: Verdict) =>
    verdict.compliant
      ? verdict
      : {
          compliant: false,
          ports: verdict.evidence.ports,
          sources: verdict.evidence.sources,
          openRules: verdict.evidence.openRules,
        };

  describe.each(SHAPES)('from %s', (_shape, shaped) => {
    it.each(CASES)(
      '%s: the same group and verdict as a live read (but for rule ids)',
      async (_case, openings) => {
        // Prepare
        const item = shaped(given(openings));
        // Act
        const fromItem = mapped(rule, item);
        const live = await rule.load(ref, aws, testSettings());
        // Assess
        const noIds = (resource: Loaded<unknown> | undefined) =>
          JSON.parse(JSON.stringify(resource, (key, value) => (key === 'ruleId' ? undefined : value)));
        expect(noIds(fromItem)).toEqual(noIds(live));
        expect(withoutRuleIds(judged(rule, fromItem))).toEqual(withoutRuleIds(judged(rule, live)));
      },
    );
  });

  it('never judges a group whose ingress names a prefix list: the item does not carry its entries', () => {
    // Prepare: a prefix list may hold 0.0.0.0/0; only a live read can tell
    const item = given([{ protocol: 'tcp', from: 22, to: 22 }]);
    const configuration = item.configuration as { ipPermissions: Record<string, unknown>[] };
    const [permission] = configuration.ipPermissions;
    Object.assign(permission ?? {}, { prefixListIds: [{ prefixListId: 'pl-0a1b2c3d' }] });
    // Act
    const reading = loadFromConfigItem(rule, item);
    // Assess
    expect(reading).toEqual({ notInItem: 'the entries of prefix list pl-0a1b2c3d' });
  });
});

describe('any configuration item', () => {
  it.each(['ResourceDeleted', 'ResourceDeletedNotRecorded', 'ResourceNotRecorded'])(
    'maps to gone when its status is %s (configuration null)',
    (status) => {
      // Prepare
      const item = notified('AWS::EC2::Volume', 'vol-0a1b2c3d', null, {}, status);
      // Act / Assess
      expect(loadFromConfigItem(ebsVolumeEncrypted, item)).toBeUndefined();
      expect(loadFromConfigItem(ebsVolumeEncrypted, fromHistory(item))).toBeUndefined();
    },
  );

  it('is refused when the rule does not evaluate its type', () => {
    // Prepare
    const item = notified('AWS::EC2::Instance', 'i-0a1b2c3d', {}, {});
    // Act / Assess
    expect(() => loadFromConfigItem(ebsVolumeEncrypted, item)).toThrow(ValidationError);
  });
});

function reasonOf(verdict: Verdict): string | undefined {
  return verdict.compliant ? undefined : verdict.reason;
}
