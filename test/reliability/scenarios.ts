import { AddTagsCommand, GetTrailCommand } from '@aws-sdk/client-cloudtrail';
import {
  ConfigServiceClient,
  DescribeConfigurationRecorderStatusCommand,
  PutConfigurationRecorderCommand,
  PutDeliveryChannelCommand,
  StartConfigurationRecorderCommand,
  StopConfigurationRecorderCommand,
} from '@aws-sdk/client-config-service';
import {
  CreateTagsCommand,
  CreateVolumeCommand,
  DescribeVolumesCommand,
  DisableEbsEncryptionByDefaultCommand,
  EC2Client,
  GetEbsEncryptionByDefaultCommand,
} from '@aws-sdk/client-ec2';
import {
  DescribeRuleCommand,
  DisableRuleCommand,
  EventBridgeClient,
  TagResourceCommand,
} from '@aws-sdk/client-eventbridge';
import { IAMClient, TagUserCommand } from '@aws-sdk/client-iam';
import { cloudTrailEvent, humanCaller, scheduledEvent } from '../../scripts/lib/events';
import { cloudtrail, createAuditTrail, isLogging, stopLogging, trailCall } from '../support/cloudtrail';
import { described, instanceCall, launch } from '../support/phi-dedicated-tenancy';
import { seedStackRouting } from '../support/self-protection';
import {
  authorize,
  authorizeCall,
  createGroup,
  ingressRules,
  keyStatuses,
  ssh,
  uploadKeyCall,
  userWithKey,
} from '../support/ssh';
import { SENTINEL, sentinelTags } from './bounds';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
const ec2 = () => new EC2Client({ region: REGION });
const config = () => new ConfigServiceClient({ region: REGION });
const events = () => new EventBridgeClient({ region: REGION });
/** The name local provisioning gives the stack (test/integration/self-protection.test.ts). */
const STACK = 'compliance-responder-local';

/** A drift seeded in moto: its event, the sweep that would also find it, and how to read the outcome. */
export interface Drift {
  event: unknown;
  sweep: unknown;
  /** The resource reads as compliant now. */
  compliant(): Promise<boolean>;
  /** Nothing the customer owns was destroyed (originals kept). */
  kept(): Promise<boolean>;
}

export interface Scenario {
  rule: string;
  /** Settings the function runs with (a mode that changes something). */
  env?: Record<string, string>;
  seed(): Promise<Drift>;
}

const sweep = () => scheduledEvent({ accountId: ACCOUNT, region: REGION });

/**
 * The same seeded drifts the integration tests use (test/support/*), one per rule, with sentinel
 * tag values (and descriptions) wherever AWS allows them.
 */
export const SCENARIOS: readonly Scenario[] = [
  {
    rule: 'ebs-encryption-by-default',
    async seed() {
      await ec2().send(new DisableEbsEncryptionByDefaultCommand({}));
      return {
        event: cloudTrailEvent({
          eventName: 'DisableEbsEncryptionByDefault',
          eventSource: 'ec2.amazonaws.com',
          region: REGION,
          caller: humanCaller(ACCOUNT),
          responseElements: { DisableEbsEncryptionByDefaultResponse: { ebsEncryptionByDefault: false } },
        }),
        sweep: sweep(),
        compliant: async () =>
          (await ec2().send(new GetEbsEncryptionByDefaultCommand({}))).EbsEncryptionByDefault === true,
        kept: async () => true,
      };
    },
  },
  {
    rule: 'ssh-open-to-world',
    async seed() {
      const groupId = await createGroup(REGION, 'bastion', `${SENTINEL} jump host for ward 7`);
      await ec2().send(new CreateTagsCommand({ Resources: [groupId], Tags: sentinelTags }));
      await authorize(REGION, groupId, [ssh('0.0.0.0/0'), ssh('203.0.113.7/32', 'office')]);
      return {
        event: authorizeCall(REGION, groupId),
        sweep: sweep(),
        compliant: async () =>
          !(await ingressRules(REGION, groupId)).some((rule) => rule.CidrIpv4 === '0.0.0.0/0'),
        // The office rule is not the drift: it must survive the remediation.
        kept: async () =>
          (await ingressRules(REGION, groupId)).some((rule) => rule.CidrIpv4 === '203.0.113.7/32'),
      };
    },
  },
  {
    rule: 'ebs-volume-encrypted',
    async seed() {
      const created = await ec2().send(
        new CreateVolumeCommand({
          AvailabilityZone: 'us-east-1b',
          Size: 20,
          VolumeType: 'gp3',
          TagSpecifications: [{ ResourceType: 'volume', Tags: sentinelTags }],
        }),
      );
      const volumeId = String(created.VolumeId);
      const volumes = async () => (await ec2().send(new DescribeVolumesCommand({}))).Volumes ?? [];
      return {
        event: cloudTrailEvent({
          eventName: 'CreateVolume',
          eventSource: 'ec2.amazonaws.com',
          region: REGION,
          caller: humanCaller(ACCOUNT),
          requestParameters: { availabilityZone: 'us-east-1b', size: 20, volumeType: 'gp3' },
          responseElements: { volumeId, encrypted: false, availabilityZone: 'us-east-1b', size: '20' },
        }),
        sweep: sweep(),
        // Compliant: the unencrypted original is quarantined and an encrypted copy exists.
        compliant: async () => {
          const all = await volumes();
          const original = all.find((volume) => volume.VolumeId === volumeId);
          const quarantined = original?.Tags?.some((tag) => tag.Key === 'compliance-responder:quarantined');
          return quarantined === true && all.some((volume) => volume.Encrypted);
        },
        // No data lost: the original is kept until a human deletes it.
        kept: async () => (await volumes()).some((volume) => volume.VolumeId === volumeId),
      };
    },
  },
  {
    rule: 'config-recorder-on',
    async seed() {
      await config().send(
        new PutConfigurationRecorderCommand({
          ConfigurationRecorder: {
            name: 'default',
            roleARN: `arn:aws:iam::${ACCOUNT}:role/aws-config-role`,
            recordingGroup: { allSupported: true, includeGlobalResourceTypes: false },
          },
        }),
      );
      await config().send(
        new PutDeliveryChannelCommand({
          DeliveryChannel: { name: 'default', s3BucketName: 'config-history' },
        }),
      );
      await config().send(new StartConfigurationRecorderCommand({ ConfigurationRecorderName: 'default' }));
      await config().send(new StopConfigurationRecorderCommand({ ConfigurationRecorderName: 'default' }));
      return {
        event: cloudTrailEvent({
          eventName: 'StopConfigurationRecorder',
          eventSource: 'config.amazonaws.com',
          region: REGION,
          caller: humanCaller(ACCOUNT),
          requestParameters: { configurationRecorderName: 'default' },
        }),
        sweep: sweep(),
        compliant: async () =>
          (
            await config().send(
              new DescribeConfigurationRecorderStatusCommand({ ConfigurationRecorderNames: ['default'] }),
            )
          ).ConfigurationRecordersStatus?.[0]?.recording === true,
        kept: async () => true,
      };
    },
  },
  {
    rule: 'cloudtrail-logging-on',
    async seed() {
      const arn = await createAuditTrail();
      await cloudtrail(REGION).send(new AddTagsCommand({ ResourceId: arn, TagsList: sentinelTags }));
      await stopLogging();
      return {
        event: trailCall('StopLogging', 'audit'),
        sweep: sweep(),
        compliant: async () => (await isLogging()) === true,
        kept: async () =>
          (await cloudtrail(REGION).send(new GetTrailCommand({ Name: 'audit' }))).Trail?.TrailARN === arn,
      };
    },
  },
  {
    rule: 'phi-dedicated-tenancy',
    // notify is the default; stop is the enforce action that changes something in moto (it cannot move tenancy).
    env: { MODE_PHI_DEDICATED_TENANCY: 'enforce', TENANCY_ACTION: 'stop' },
    async seed() {
      const instanceId = await launch({
        phi: 'true',
        Name: `${SENTINEL} records of jane doe`,
        ...Object.fromEntries(sentinelTags.map((tag) => [tag.Key, tag.Value])),
      });
      const state = async () => (await described(instanceId)).State?.Name;
      return {
        event: instanceCall('RunInstances', instanceId),
        sweep: sweep(),
        compliant: async () => ['stopping', 'stopped'].includes(String(await state())),
        // Stopped, never terminated: its disks and data are kept.
        kept: async () => !['shutting-down', 'terminated'].includes(String(await state())),
      };
    },
  },
  {
    rule: 'self-protection',
    async seed() {
      // One of the responder's own EventBridge rules disabled by a person (not the deploy role).
      const { ruleName } = await seedStackRouting(STACK, REGION);
      const routed = await events().send(new DescribeRuleCommand({ Name: ruleName }));
      await events().send(new TagResourceCommand({ ResourceARN: String(routed.Arn), Tags: sentinelTags }));
      await events().send(new DisableRuleCommand({ Name: ruleName }));
      return {
        event: cloudTrailEvent({
          eventName: 'DisableRule',
          eventSource: 'events.amazonaws.com',
          region: REGION,
          caller: humanCaller(ACCOUNT),
          requestParameters: { name: ruleName },
        }),
        sweep: sweep(),
        compliant: async () =>
          (await events().send(new DescribeRuleCommand({ Name: ruleName }))).State === 'ENABLED',
        kept: async () =>
          (await events().send(new DescribeRuleCommand({ Name: ruleName }))).Arn !== undefined,
      };
    },
  },
  {
    rule: 'ssh-grant-expired',
    async seed() {
      // An Active SSH key uploaded without any grant in the ledger.
      const keyId = await userWithKey('dev-carol', 'Active');
      await new IAMClient({ region: REGION }).send(
        new TagUserCommand({ UserName: 'dev-carol', Tags: sentinelTags }),
      );
      return {
        event: uploadKeyCall('dev-carol', keyId),
        sweep: sweep(),
        compliant: async () => (await keyStatuses('dev-carol')).every((status) => status === 'Inactive'),
        // Deactivated, never deleted.
        kept: async () => (await keyStatuses('dev-carol')).length === 1,
      };
    },
  },
];

/** The fault suite's two halves (test/reliability/faults-*.test.ts), about equal in running time. */
export const STORAGE_TENANCY = ['ebs-encryption-by-default', 'ebs-volume-encrypted', 'phi-dedicated-tenancy'];
export const ACCESS_AUDIT = [
  'ssh-open-to-world',
  'ssh-grant-expired',
  'config-recorder-on',
  'cloudtrail-logging-on',
  'self-protection',
];
