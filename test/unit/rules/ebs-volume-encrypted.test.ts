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
import type { Incident } from '../../../shared/model';
import { ebsVolumeEncrypted as rule } from '../../../shared/rules/ebs-volume-encrypted';
import { actionsOf, type Loaded } from '../../../shared/rules/rule';
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

  it('finds an unencrypted volume, even one tagged quarantined (a tag is no authority), and not an encrypted one', async () => {
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
    expect(quarantined && rule.detect(quarantined, testSettings())).toMatchObject({ compliant: false });
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

  it('continues from the snapshot its incident recorded, creating the encrypted copy with the key passed explicitly', async () => {
    // Prepare
    const settings = testSettings({ EBS_KMS_KEY_ID: 'alias/phi-ebs' });
    const { loaded, finding } = await drift(detached);
    ec2.on(DescribeSnapshotsCommand, { SnapshotIds: ['snap-1'] }).resolves({
      Snapshots: [{ SnapshotId: 'snap-1', State: 'completed', VolumeId: 'vol-0abc' }],
    });
    ec2.on(CreateVolumeCommand).resolves({ VolumeId: 'vol-0new', State: 'creating', Encrypted: true });
    const { context, state } = recordingContext(aws, settings);
    Object.assign(state, { sourceSnapshotId: 'snap-1' });
    // Act
    const progress = await rule.remediate(loaded, finding, context);
    // Assess
    expect(progress).toEqual({ waitingFor: 'encrypted volume vol-0new to become available' });
    expect(state.replacementVolumeId).toBe('vol-0new');
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
      Snapshots: [
        { SnapshotId: 'snap-1', VolumeId: 'vol-0abc', State: 'error', StateMessage: 'KMS key disabled' },
      ],
    });
    const { context, state } = recordingContext(aws, testSettings());
    Object.assign(state, { sourceSnapshotId: 'snap-1' });
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

  it('adopts a tagged snapshot only as the answer to its own recorded request: of the original, started after it', async () => {
    // Prepare: the process died after asking for a snapshot; two carry the incident's tags
    const { loaded, finding } = await drift(detached);
    const requestedAt = '2026-11-23T10:15:00.000Z';
    ec2.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [
        { SnapshotId: 'snap-old', VolumeId: 'vol-0abc', StartTime: new Date('2026-11-23T09:00:00Z') },
        { SnapshotId: 'snap-other', VolumeId: 'vol-0insider', StartTime: new Date('2026-11-23T10:15:01Z') },
        {
          SnapshotId: 'snap-ours',
          VolumeId: 'vol-0abc',
          State: 'pending',
          StartTime: new Date('2026-11-23T10:15:01Z'),
        },
      ],
    });
    const { context, state } = recordingContext(aws, testSettings());
    Object.assign(state, { sourceSnapshotRequestedAt: requestedAt });
    // Act
    const progress = await rule.remediate(loaded, finding, context);
    // Assess
    expect(progress).toEqual({ waitingFor: 'snapshot snap-ours of vol-0abc (0%)' });
    expect(state.sourceSnapshotId).toBe('snap-ours');
    expect(ec2).toHaveReceivedCommandWith(DescribeSnapshotsCommand, {
      Filters: expect.arrayContaining([{ Name: 'volume-id', Values: ['vol-0abc'] }]),
    });
    expect(ec2).toHaveReceivedCommandTimes(CreateSnapshotCommand, 0);
  });

  it('never adopts a tagged volume not made from its own snapshot: it asks AWS again with its ClientToken', async () => {
    // Prepare: the process died after asking for the copy; a volume with the incident's tags was
    // made from another snapshot
    const { loaded, finding } = await drift(detached);
    ec2.on(DescribeSnapshotsCommand, { SnapshotIds: ['snap-1'] }).resolves({
      Snapshots: [{ SnapshotId: 'snap-1', State: 'completed', VolumeId: 'vol-0abc' }],
    });
    const planted: Volume = {
      VolumeId: 'vol-0planted',
      SnapshotId: 'snap-insider',
      Encrypted: true,
      AvailabilityZone: 'eu-west-1a',
      CreateTime: new Date(),
    };
    ec2
      .on(DescribeVolumesCommand)
      .callsFake((input: { Filters?: unknown }) => ({ Volumes: [input.Filters ? planted : detached] }));
    ec2.on(CreateVolumeCommand).resolves({ VolumeId: 'vol-0new', State: 'creating', Encrypted: true });
    const { context, state } = recordingContext(aws, testSettings());
    Object.assign(state, { sourceSnapshotId: 'snap-1', replacementRequestedAt: new Date().toISOString() });
    // Act
    await rule.remediate(loaded, finding, context);
    // Assess
    expect(state.replacementVolumeId).toBe('vol-0new');
    expect(ec2).toHaveReceivedCommandWith(CreateVolumeCommand, {
      SnapshotId: 'snap-1',
      ClientToken: `${context.incidentId}-replacement`,
    });
  });

  describe('knows a replaced original it keeps as evidence from its incident and lineage, never from tags', () => {
    const incident = (state: Record<string, string>) =>
      ({
        incidentId: 'inc-1',
        ruleId: rule.id,
        workflow: { startedAt: '2026-11-23T10:15:00.000Z', state },
      }) as unknown as Incident;
    const recordedState = { sourceSnapshotId: 'snap-1', replacementVolumeId: 'vol-0new' };

    async function kept(
      original: Volume,
      replacement: Volume | undefined,
      snapshotOf: string,
      state: Record<string, string> = recordedState,
    ) {
      ec2.on(DescribeVolumesCommand, { VolumeIds: ['vol-0abc'] }).resolves({ Volumes: [original] });
      if (replacement)
        ec2.on(DescribeVolumesCommand, { VolumeIds: ['vol-0new'] }).resolves({ Volumes: [replacement] });
      else
        ec2
          .on(DescribeVolumesCommand, { VolumeIds: ['vol-0new'] })
          .rejects(Object.assign(new Error('gone'), { name: 'InvalidVolume.NotFound' }));
      ec2
        .on(DescribeSnapshotsCommand, { SnapshotIds: ['snap-1'] })
        .resolves({ Snapshots: [{ SnapshotId: 'snap-1', VolumeId: snapshotOf }] });
      const loaded = (await rule.load(ref, aws, testSettings())) as Loaded<unknown>;
      return rule.keptAsEvidence?.(loaded, incident(state), aws);
    }
    const ours: Volume = { VolumeId: 'vol-0new', Encrypted: true, SnapshotId: 'snap-1', State: 'available' };
    const inUse: Volume = {
      ...detached,
      State: 'in-use',
      Attachments: [{ InstanceId: 'i-0web', Device: '/dev/sdf' }],
    };

    it.each([
      [
        'proven: detached, replaced by an encrypted copy of its own snapshot',
        detached,
        ours,
        'vol-0abc',
        true,
      ],
      ['attached again', inUse, ours, 'vol-0abc', false],
      ['the replacement is gone', detached, undefined, 'vol-0abc', false],
      [
        'the replacement is not made from the snapshot',
        detached,
        { ...ours, SnapshotId: 'snap-9' },
        'vol-0abc',
        false,
      ],
      ['the replacement is not encrypted', detached, { ...ours, Encrypted: false }, 'vol-0abc', false],
      ['the snapshot is of another volume', detached, ours, 'vol-0other', false],
    ])('%s', async (_case, original, replacement, snapshotOf, expected) => {
      // Act / Assess
      expect(await kept(original, replacement, snapshotOf)).toBe(expected);
    });

    it('not without the incident’s record, whatever the tags say', async () => {
      // Prepare
      const tagged: Volume = {
        ...detached,
        Tags: [
          { Key: 'compliance-responder:quarantined', Value: 'inc-1' },
          { Key: 'compliance-responder:replaced-by', Value: 'vol-0new' },
        ],
      };
      // Act / Assess
      expect(await kept(tagged, ours, 'vol-0abc', {})).toBe(false);
    });
  });

  it.each([
    ['a snapshot', 'AWS::EC2::Snapshot', 'snap-1'],
    ['a volume', 'AWS::EC2::Volume', 'vol-0new'],
  ])(
    'names the incident of %s notification by its tag and what it was made from by lineage',
    async (_kind, resourceType, resourceId) => {
      // Prepare
      const tags = [{ Key: 'compliance-responder:incident', Value: 'inc-7' }];
      ec2.on(DescribeSnapshotsCommand).resolves({
        Snapshots: [{ SnapshotId: 'snap-1', VolumeId: 'vol-0abc', Tags: tags }],
      });
      ec2
        .on(DescribeVolumesCommand)
        .resolves({ Volumes: [{ VolumeId: 'vol-0new', SnapshotId: 'snap-1', Tags: tags }] });
      const observation = {
        source: 'ebs-notification' as const,
        eventId: 'e',
        eventName: 'EBS Snapshot Notification',
        accountId: '111122223333',
        region: 'eu-west-1',
        resourceType,
        resourceId,
        observedAt: 'yyyy-mm-ddThh:mm:ssZ',
        summary: {},
      };
      // Act / Assess
      expect(await rule.incidentFor?.(observation, aws)).toEqual({
        incidentId: 'inc-7',
        madeFrom: 'vol-0abc',
      });
    },
  );

  it('declares an IAM permission for every AWS call its tests saw it make', () => {
    // Assess
    expect(sent.all.length).toBeGreaterThan(3);
    expect(sent.all.filter((action) => !actionsOf(rule).includes(action))).toEqual([]);
  });
});
