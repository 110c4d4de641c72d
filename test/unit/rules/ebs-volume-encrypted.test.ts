import {
  CreateSnapshotCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeInstanceTypesCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  DetachVolumeCommand,
  EC2Client,
  StopInstancesCommand,
  type Volume,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createAwsClients } from '../../../shared/aws/clients';
import { RemediationDeclined, RemediationError } from '../../../shared/errors';
import { ebsVolumeEncrypted as rule } from '../../../shared/rules/ebs-volume-encrypted';
import type { Loaded } from '../../../shared/rules/rule';
import { testSettings } from '../../support/incident';
import { SentActions } from '../../support/permissions';
import { recordingContext } from '../../support/remediation';

const ref = {
  resourceType: 'AWS::EC2::Volume',
  resourceId: 'vol-0abc',
  region: 'eu-west-1',
  accountId: '111122223333',
};
const detached: Volume = {
  VolumeId: 'vol-0abc',
  State: 'available',
  Encrypted: false,
  Size: 500,
  VolumeType: 'io2',
  Iops: 8000,
  AvailabilityZone: 'eu-west-1a',
  Tags: [{ Key: 'team', Value: 'claims' }],
};

describe('rule ebs-volume-encrypted', () => {
  const ec2 = mockClient(EC2Client);
  const aws = createAwsClients('us-east-1');
  const sent = new SentActions();
  beforeEach(() => ec2.reset());
  afterEach(() => sent.collect('EC2Client', ec2));
  afterAll(() => ec2.restore());

  async function drift(volume: Volume) {
    ec2.on(DescribeVolumesCommand, { VolumeIds: ['vol-0abc'] }).resolves({ Volumes: [volume] });
    const loaded = (await rule.load(ref, aws, testSettings())) as Loaded<unknown>;
    const finding = rule.detect(loaded, testSettings());
    if (finding.compliant) throw new Error('expected drift');
    return { loaded, finding };
  }

  it('reads a missing volume as gone, not as compliant', async () => {
    // Prepare
    ec2
      .on(DescribeVolumesCommand)
      .rejects(Object.assign(new Error('gone'), { name: 'InvalidVolume.NotFound' }));
    // Act / Assess
    expect(await rule.load(ref, aws, testSettings())).toBeUndefined();
  });

  it('finds an unencrypted volume, and not an encrypted or quarantined one', async () => {
    // Prepare
    const { finding } = await drift(detached);
    // Assess
    expect(finding).toMatchObject({
      reason: 'EBS volume vol-0abc (io2, 500 GiB, available) is not encrypted',
      evidence: { state: 'available', attachedTo: null },
    });
    expect(JSON.stringify(finding.evidence)).not.toContain('claims');
    ec2.on(DescribeVolumesCommand).resolves({ Volumes: [{ ...detached, Encrypted: true }] });
    const encrypted = await rule.load(ref, aws, testSettings());
    expect(encrypted && rule.detect(encrypted, testSettings())).toEqual({ compliant: true });
    ec2.on(DescribeVolumesCommand).resolves({
      Volumes: [
        {
          ...detached,
          Tags: [
            { Key: 'compliance-responder:quarantined', Value: 'inc-1' },
            { Key: 'compliance-responder:replaced-by', Value: 'vol-0new' },
          ],
        },
      ],
    });
    const quarantined = await rule.load(ref, aws, testSettings());
    expect(quarantined && rule.detect(quarantined, testSettings())).toEqual({ compliant: true });
  });

  it('waits, without blocking, while the snapshot of a large volume is pending', async () => {
    // Prepare
    const { loaded, finding } = await drift(detached);
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
    ec2.on(CreateSnapshotCommand).resolves({ SnapshotId: 'snap-1', State: 'pending', Progress: '3%' });
    const { context, steps } = recordingContext(aws, testSettings());
    // Act
    const progress = await rule.remediate(loaded, finding, context);
    // Assess
    expect(progress).toEqual({ waitingFor: 'snapshot snap-1 of vol-0abc (3%)' });
    expect(steps.map((step) => step.action)).toEqual(['CreateSnapshot']);
    expect(ec2).toHaveReceivedCommandWith(CreateSnapshotCommand, {
      VolumeId: 'vol-0abc',
      TagSpecifications: [
        expect.objectContaining({
          Tags: expect.arrayContaining([{ Key: 'compliance-responder:incident', Value: context.incidentId }]),
        }),
      ],
    });
    expect(ec2).toHaveReceivedCommandTimes(CreateVolumeCommand, 0);
  });

  it('continues from the snapshot it finds, creating the encrypted copy with the key passed explicitly', async () => {
    // Prepare
    const settings = testSettings({ EBS_KMS_KEY_ID: 'alias/phi-ebs' });
    const { loaded, finding } = await drift(detached);
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [{ SnapshotId: 'snap-1', State: 'completed' }] });
    // The lookup by incident tag finds no replacement yet.
    ec2
      .on(DescribeVolumesCommand)
      .callsFake((input: { Filters?: unknown }) => ({ Volumes: input.Filters ? [] : [detached] }));
    ec2.on(CreateVolumeCommand).resolves({ VolumeId: 'vol-0new', State: 'creating', Encrypted: true });
    const { context } = recordingContext(aws, settings);
    // Act
    const progress = await rule.remediate(loaded, finding, context);
    // Assess
    expect(progress).toEqual({ waitingFor: 'encrypted volume vol-0new to become available' });
    expect(ec2).toHaveReceivedCommandTimes(CreateSnapshotCommand, 0);
    expect(ec2).toHaveReceivedCommandWith(CreateVolumeCommand, {
      SnapshotId: 'snap-1',
      AvailabilityZone: 'eu-west-1a',
      VolumeType: 'io2',
      Size: 500,
      Iops: 8000,
      Throughput: undefined,
      Encrypted: true,
      KmsKeyId: 'alias/phi-ebs',
      ClientToken: `${context.incidentId}-replacement`,
    });
  });

  it('fails, naming the snapshot, when the snapshot failed', async () => {
    // Prepare
    const { loaded, finding } = await drift(detached);
    ec2.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [{ SnapshotId: 'snap-1', State: 'error', StateMessage: 'KMS key disabled' }],
    });
    const { context } = recordingContext(aws, testSettings());
    // Act / Assess
    await expect(rule.remediate(loaded, finding, context)).rejects.toThrow(
      new RemediationError('snapshot snap-1 failed: KMS key disabled', 'CreateSnapshot'),
    );
  });

  it('never touches an in-use volume of an Auto Scaling instance: evidence snapshot, then notify with the reason', async () => {
    // Prepare
    const { loaded, finding } = await drift({
      ...detached,
      State: 'in-use',
      Attachments: [{ InstanceId: 'i-0asg', Device: '/dev/xvda', DeleteOnTermination: true }],
    });
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        { Instances: [{ InstanceId: 'i-0asg', Tags: [{ Key: 'aws:autoscaling:groupName', Value: 'web' }] }] },
      ],
    });
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
    ec2.on(CreateSnapshotCommand).resolves({ SnapshotId: 'snap-ev', State: 'pending' });
    const { context } = recordingContext(aws, testSettings());
    // Act
    const outcome = rule.remediate(loaded, finding, context);
    // Assess
    await expect(outcome).rejects.toBeInstanceOf(RemediationDeclined);
    await expect(outcome).rejects.toThrow(
      /managed by Auto Scaling group 'web'.*: evidence snapshot snap-ev taken/,
    );
    expect(ec2).toHaveReceivedCommandTimes(CreateVolumeCommand, 0);
    expect(ec2).toHaveReceivedCommandTimes(CreateTagsCommand, 0);
  });

  it('refuses to swap when the instance cannot be stopped safely, and says why', async () => {
    // Prepare
    const settings = testSettings({ EBS_IN_USE_ACTION: 'swap' });
    const { loaded, finding } = await drift({
      ...detached,
      State: 'in-use',
      Attachments: [{ InstanceId: 'i-0db', Device: '/dev/sdf', DeleteOnTermination: false }],
    });
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            {
              InstanceId: 'i-0db',
              InstanceType: 'm5.large',
              RootDeviceType: 'ebs',
              State: { Name: 'running' },
            },
          ],
        },
      ],
    });
    ec2
      .on(DescribeInstanceTypesCommand)
      .resolves({ InstanceTypes: [{ InstanceType: 'm5.large', InstanceStorageSupported: false }] });
    ec2.on(DescribeInstanceAttributeCommand).resolves({ DisableApiStop: { Value: true } });
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
    ec2.on(CreateSnapshotCommand).resolves({ SnapshotId: 'snap-ev', State: 'pending' });
    const { context } = recordingContext(aws, settings);
    // Act
    const outcome = rule.remediate(loaded, finding, context);
    // Assess
    await expect(outcome).rejects.toThrow(
      /cannot be stopped safely: stop protection \(DisableApiStop\) is on/,
    );
    expect(ec2).toHaveReceivedCommandTimes(StopInstancesCommand, 0);
    expect(ec2).toHaveReceivedCommandTimes(DetachVolumeCommand, 0);
  });

  it('finds the incident of a snapshot or volume notification by its tag', async () => {
    // Prepare
    ec2.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [{ SnapshotId: 'snap-1', Tags: [{ Key: 'compliance-responder:incident', Value: 'inc-7' }] }],
    });
    const observation = {
      source: 'ebs-notification' as const,
      eventId: 'e',
      eventName: 'EBS Snapshot Notification',
      accountId: '111122223333',
      region: 'eu-west-1',
      resourceType: 'AWS::EC2::Snapshot',
      resourceId: 'snap-1',
      observedAt: 'yyyy-mm-ddThh:mm:ssZ',
      summary: {},
    };
    // Act / Assess
    expect(await rule.incidentFor?.(observation, aws)).toBe('inc-7');
  });

  it('declares an IAM permission for every AWS call its tests saw it make', () => {
    // Assess
    expect(sent.all.length).toBeGreaterThan(3);
    expect(sent.all.filter((action) => !rule.permissions.includes(action))).toEqual([]);
  });
});
