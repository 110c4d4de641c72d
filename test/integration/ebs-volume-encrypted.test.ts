import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type _InstanceType,
  AttachVolumeCommand,
  CreateVolumeCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  EC2Client,
  RunInstancesCommand,
  type Tag,
} from '@aws-sdk/client-ec2';
import { cloudTrailEvent, humanCaller, scheduledEvent } from '../../scripts/lib/events';
import type { HandlerResult } from '../../shared/pipeline/rule-handler';
import { LocalResponder, resetAccount } from '../support/local-responder';
import { recordCalls } from '../support/recorder';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const loadFunction = () => require('../../functions/ebs-volume-encrypted');
const ec2 = () => new EC2Client({ region: REGION });

async function unencryptedVolume(tags: Tag[] = [{ Key: 'team', Value: 'claims' }]): Promise<string> {
  const volume = await ec2().send(
    new CreateVolumeCommand({
      AvailabilityZone: 'us-east-1b',
      Size: 20,
      VolumeType: 'gp3',
      Iops: 4000,
      Throughput: 250,
      TagSpecifications: [{ ResourceType: 'volume', Tags: tags }],
    }),
  );
  return volume.VolumeId ?? '';
}

const createVolumeCall = (volumeId: string) =>
  cloudTrailEvent({
    eventName: 'CreateVolume',
    eventSource: 'ec2.amazonaws.com',
    region: REGION,
    caller: humanCaller(ACCOUNT),
    requestParameters: { availabilityZone: 'us-east-1b', size: 20, volumeType: 'gp3' },
    responseElements: {
      volumeId,
      encrypted: false,
      availabilityZone: 'us-east-1b',
      size: '20',
      status: 'creating',
    },
  });

/** An unencrypted volume attached at /dev/sdf to a new instance, and the CloudTrail event of the attach. */
async function attachedUnencryptedVolume(instanceType?: _InstanceType) {
  const instance = await ec2().send(
    new RunInstancesCommand({
      ImageId: 'ami-12c6146b',
      MinCount: 1,
      MaxCount: 1,
      InstanceType: instanceType,
      Placement: { AvailabilityZone: 'us-east-1b' },
    }),
  );
  const instanceId = instance.Instances?.[0]?.InstanceId ?? '';
  const volumeId = await unencryptedVolume();
  await ec2().send(
    new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: '/dev/sdf' }),
  );
  const attach = cloudTrailEvent({
    eventName: 'AttachVolume',
    eventSource: 'ec2.amazonaws.com',
    region: REGION,
    caller: humanCaller(ACCOUNT),
    requestParameters: { volumeId, instanceId, device: '/dev/sdf' },
    responseElements: { volumeId, instanceId, device: '/dev/sdf', status: 'attaching' },
  });
  return { instanceId, volumeId, attach };
}

const describe1 = async (volumeId: string) =>
  (await ec2().send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }))).Volumes?.[0];

const tagMap = (tags: Tag[] | undefined) =>
  Object.fromEntries((tags ?? []).map((tag) => [tag.Key, tag.Value]));

describe('ebs-volume-encrypted end to end against moto', () => {
  let responder: LocalResponder;
  let handle: (event: unknown) => Promise<HandlerResult>;

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision();
    handle = responder.handlerOf(loadFunction);
  });

  it('replaces a detached unencrypted volume with an encrypted one, same attributes and tags, original kept', async () => {
    // Prepare
    const originalId = await unencryptedVolume();
    // Act
    const result = await handle(createVolumeCall(originalId));
    // Assess: the incident names the replacement
    expect(result.outcomes).toEqual([
      expect.objectContaining({ status: 'remediated', compliance: 'COMPLIANT' }),
    ]);
    const [incident, ...others] = await responder.incidents();
    expect(others).toEqual([]);
    const created = incident?.steps.find((step) => step.action === 'CreateEncryptedVolume');
    const replacementId = String(created?.output?.volumeId);
    expect(incident?.steps.map((step) => [step.action, step.result])).toEqual([
      ['CreateSnapshot', 'succeeded'],
      ['CreateEncryptedVolume', 'succeeded'],
      ['QuarantineOriginal', 'succeeded'],
      ['Verify', 'succeeded'],
    ]);
    // Assess: the replacement matches the original, encrypted
    const replacement = await describe1(replacementId);
    expect(replacement).toMatchObject({
      Encrypted: true,
      AvailabilityZone: 'us-east-1b',
      Size: 20,
      VolumeType: 'gp3',
      Iops: 4000,
      Throughput: 250,
      State: 'available',
    });
    expect(tagMap(replacement?.Tags)).toMatchObject({
      team: 'claims',
      'compliance-responder:replaces': originalId,
      'compliance-responder:incident': incident?.incidentId,
    });
    // Assess: the original is kept, tagged as quarantined, with how to go back
    const original = await describe1(originalId);
    expect(original?.Encrypted).toBe(false);
    expect(tagMap(original?.Tags)).toMatchObject({
      team: 'claims',
      'compliance-responder:quarantined': incident?.incidentId,
      'compliance-responder:replaced-by': replacementId,
    });
    expect(incident?.steps.find((step) => step.action === 'QuarantineOriginal')?.undo).toMatchObject({
      action: 'DeleteTags',
    });
    expect((await responder.alerts()).map((alert) => alert.attributes.status)).toEqual(['remediated']);
  });

  it("remediates a volume Config's item change reports, judged from a fresh read, not from the item", async () => {
    // Prepare: Config's item (our fixture) says attached and in use; the volume itself is detached now
    const originalId = await unencryptedVolume();
    const fixture = readFileSync(
      join(__dirname, '..', 'fixtures', 'events', 'config-item-change-volume.json'),
      'utf8',
    );
    const itemChange = JSON.parse(
      fixture.replaceAll('vol-0a1b2c3d4e5f60718', originalId).replaceAll('111122223333', ACCOUNT),
    );
    // Act
    const result = await handle(itemChange);
    // Assess: replaced as a detached volume (an in-use one would only be snapshotted and notified)
    expect(result.outcomes).toEqual([
      expect.objectContaining({ resourceId: originalId, status: 'remediated', compliance: 'COMPLIANT' }),
    ]);
    const [incident] = await responder.incidents();
    expect(incident?.trigger).toMatchObject({
      source: 'config-compliance',
      eventName: 'Config Configuration Item Change',
    });
    expect(incident?.steps.map((step) => step.action)).toEqual([
      'CreateSnapshot',
      'CreateEncryptedVolume',
      'QuarantineOriginal',
      'Verify',
    ]);
  });

  it('deletes nothing of the customer’s unless configured', async () => {
    // Prepare
    const originalId = await unencryptedVolume();
    // Act
    const calls = await recordCalls(() => handle(createVolumeCall(originalId)));
    // Assess
    expect(calls.filter((call) => ['DeleteVolume', 'DeleteSnapshot'].includes(call.action))).toEqual([]);
    expect(calls.filter((call) => call.action === 'CreateVolume')).toHaveLength(1);
    expect(await describe1(originalId)).toBeDefined();
  });

  it('leaves an already-encrypted volume alone', async () => {
    // Prepare
    const volume = await ec2().send(
      new CreateVolumeCommand({ AvailabilityZone: 'us-east-1b', Size: 8, Encrypted: true }),
    );
    // Act
    const result = await handle(createVolumeCall(volume.VolumeId ?? ''));
    // Assess
    expect(result.outcomes).toEqual([expect.objectContaining({ compliance: 'COMPLIANT' })]);
    expect(await responder.incidents()).toEqual([]);
  });

  it('takes an evidence snapshot of an in-use volume and notifies, changing nothing else', async () => {
    // Prepare
    const { instanceId, volumeId, attach } = await attachedUnencryptedVolume();
    // Act
    await handle(attach);
    // Assess
    const [incident] = await responder.incidents();
    expect(incident).toMatchObject({
      status: 'open',
      evidence: { attachedTo: instanceId, device: '/dev/sdf' },
    });
    expect(incident?.statusReason).toMatch(
      /in-use volume attached to .* evidence snapshot snap-\w+ taken; swapping is off/,
    );
    const snapshots = await ec2().send(
      new DescribeSnapshotsCommand({
        OwnerIds: ['self'],
        Filters: [{ Name: 'tag:compliance-responder:role', Values: ['evidence'] }],
      }),
    );
    expect(snapshots.Snapshots?.map((snapshot) => snapshot.VolumeId)).toEqual([volumeId]);
    expect((await describe1(volumeId))?.Attachments?.[0]?.InstanceId).toBe(instanceId);
    expect((await responder.alerts()).map((alert) => alert.attributes.status)).toEqual(['open']);
  });

  it('swaps an in-use volume when configured: the instance runs again with the encrypted volume at the same device', async () => {
    // Prepare
    const swapping = responder.handlerOf(loadFunction, { EBS_IN_USE_ACTION: 'swap' });
    const { instanceId, volumeId, attach } = await attachedUnencryptedVolume('t3.micro');
    // Act
    const result = await swapping(attach);
    // Assess: the instance has the encrypted copy at the same device, and runs again
    expect(result.outcomes).toEqual([expect.objectContaining({ status: 'remediated' })]);
    const described = await ec2().send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    const running = described.Reservations?.[0]?.Instances?.[0];
    const mapped = running?.BlockDeviceMappings?.find((mapping) => mapping.DeviceName === '/dev/sdf');
    expect(running?.State?.Name).toBe('running');
    expect(mapped?.Ebs?.VolumeId).not.toBe(volumeId);
    expect(await describe1(mapped?.Ebs?.VolumeId ?? '')).toMatchObject({
      Encrypted: true,
      Size: 20,
      VolumeType: 'gp3',
    });
    // Assess: the original is detached, kept and quarantined; every step recorded
    const original = await describe1(volumeId);
    expect(original?.State).toBe('available');
    expect(tagMap(original?.Tags)['compliance-responder:replaced-by']).toBe(mapped?.Ebs?.VolumeId);
    const [incident] = await responder.incidents();
    expect(incident?.steps.map((step) => step.action)).toEqual([
      'StopInstances',
      'WaitUntilInstanceStopped',
      'CreateSnapshot',
      'CreateEncryptedVolume',
      'DetachOriginal',
      'AttachEncrypted',
      'QuarantineOriginal',
      'StartInstances',
      'WaitUntilInstanceRunning',
      'Verify',
    ]);
    expect((await responder.alerts()).map((alert) => alert.attributes.status)).toEqual(['remediated']);
  });

  it('sweeps a region, and a second sweep finds the quarantined original compliant', async () => {
    // Prepare
    const originalId = await unencryptedVolume();
    // Act
    await handle(scheduledEvent({ accountId: ACCOUNT, region: REGION }));
    const second = await handle(scheduledEvent({ accountId: ACCOUNT, region: REGION }));
    // Assess
    expect(second.outcomes).toEqual([
      expect.objectContaining({ resourceId: originalId, compliance: 'COMPLIANT' }),
    ]);
    expect(await responder.incidents()).toHaveLength(1);
    expect(await responder.alerts()).toHaveLength(1);
  });

  it('deletes the original only when configured, after the replacement is verified', async () => {
    // Prepare
    const deleting = responder.handlerOf(loadFunction, { EBS_DELETE_ORIGINAL: 'true' });
    const originalId = await unencryptedVolume();
    // Act
    await deleting(createVolumeCall(originalId));
    // Assess
    expect(await describe1(originalId).catch((error: Error) => error.name)).toBe('InvalidVolume.NotFound');
    const [incident] = await responder.incidents();
    expect(incident?.status).toBe('remediated');
    expect(incident?.steps.find((step) => step.action === 'DeleteOriginalVolume')?.undo).toMatchObject({
      action: 'CreateVolume',
      input: { SnapshotId: expect.stringMatching(/^snap-/) },
    });
  });
});

describe('ebs-volume-encrypted interrupted mid-way', () => {
  const FUNCTION = 'ebs-volume-encrypted';
  const crashAfter = (action: string) => ({
    NODE_OPTIONS: `--require ${require.resolve('../support/crash-after.cjs')}`,
    CRASH_AFTER_ACTION: action,
  });
  let responder: LocalResponder;

  beforeEach(async () => {
    await resetAccount();
    // An untouched remediation counts as interrupted after 1 s here (300 s deployed).
    responder = await LocalResponder.provision({ REMEDIATION_STALE_SECONDS: '1' });
  });

  async function ownedResources(incidentId: string) {
    const filter = [{ Name: 'tag:compliance-responder:incident', Values: [incidentId] }];
    const [snapshots, volumes] = await Promise.all([
      ec2().send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: filter })),
      ec2().send(new DescribeVolumesCommand({ Filters: filter })),
    ]);
    return { snapshots: snapshots.Snapshots?.length, volumes: volumes.Volumes?.length };
  }

  it.each([
    ['CreateSnapshot', 'the same event delivered twice', 'event'],
    ['CreateVolume', 'the same event delivered twice', 'event'],
    ['CreateTags', 'the sweep, when the event never comes back', 'sweep'],
  ])(
    'dies right after %s, then resumes on %s to the same end: one incident, one alert',
    async (action, _how, resumeBy) => {
      // Prepare
      const originalId = await unencryptedVolume();
      const event = createVolumeCall(originalId);
      // Act: the process dies as soon as AWS answered `action`
      const crashed = await responder.invokeBundle(FUNCTION, event, crashAfter(action));
      const [interrupted] = await responder.incidents();
      await new Promise((resolve) => setTimeout(resolve, 1200));
      const again = resumeBy === 'event' ? event : scheduledEvent({ accountId: ACCOUNT, region: REGION });
      await Promise.all([responder.invokeBundle(FUNCTION, again), responder.invokeBundle(FUNCTION, again)]);
      // Assess: the crash left an incident that says where it stopped
      expect(crashed.ok).toBe(false);
      expect(interrupted?.status).toBe('remediating');
      const stoppedAt = interrupted?.steps.at(-1);
      expect(stoppedAt?.result).toBe('running');
      // Assess: resumed to one replacement, one incident, one alert
      const incidents = await responder.incidents();
      expect(incidents).toHaveLength(1);
      expect(incidents[0]?.status).toBe('remediated');
      expect(await ownedResources(incidents[0]?.incidentId ?? '')).toEqual({ snapshots: 1, volumes: 1 });
      expect(tagMap((await describe1(originalId))?.Tags)['compliance-responder:quarantined']).toBe(
        incidents[0]?.incidentId,
      );
      expect(await responder.alerts()).toHaveLength(1);
    },
  );

  it.each(['StopInstances', 'DetachVolume', 'AttachVolume', 'StartInstances'])(
    'dies right after %s of a swap, then resumes to the instance running with the encrypted volume: one incident, one alert',
    async (action) => {
      // Prepare
      const swap = { EBS_IN_USE_ACTION: 'swap' };
      const { instanceId, volumeId, attach } = await attachedUnencryptedVolume('t3.micro');
      // Act: the process dies as soon as AWS answered `action`; AWS delivers the event again, twice
      const crashed = await responder.invokeBundle(FUNCTION, attach, { ...crashAfter(action), ...swap });
      await new Promise((resolve) => setTimeout(resolve, 1200));
      await Promise.all([
        responder.invokeBundle(FUNCTION, attach, swap),
        responder.invokeBundle(FUNCTION, attach, swap),
      ]);
      // Assess: the instance runs again, the encrypted copy at the original's device
      expect(crashed.ok).toBe(false);
      const described = await ec2().send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
      const instance = described.Reservations?.[0]?.Instances?.[0];
      const mapped = instance?.BlockDeviceMappings?.find((mapping) => mapping.DeviceName === '/dev/sdf');
      expect(instance?.State?.Name).toBe('running');
      expect(mapped?.Ebs?.VolumeId).not.toBe(volumeId);
      expect((await describe1(mapped?.Ebs?.VolumeId ?? ''))?.Encrypted).toBe(true);
      // Assess: one incident, remediated, the original kept and quarantined, one alert
      const incidents = await responder.incidents();
      expect(incidents.map((incident) => incident.status)).toEqual(['remediated']);
      const original = await describe1(volumeId);
      expect(original?.State).toBe('available');
      expect(tagMap(original?.Tags)['compliance-responder:quarantined']).toBe(incidents[0]?.incidentId);
      expect(await ownedResources(incidents[0]?.incidentId ?? '')).toEqual({ snapshots: 1, volumes: 1 });
      expect(await responder.alerts()).toHaveLength(1);
    },
  );
});

describe('ebs-volume-encrypted continued by an EBS Snapshot Notification', () => {
  it('maps the notification to the incident that created the snapshot and finishes its workflow', async () => {
    // Prepare: a remediation interrupted right after its snapshot was taken
    await resetAccount();
    const responder = await LocalResponder.provision({ REMEDIATION_STALE_SECONDS: '1' });
    const originalId = await unencryptedVolume();
    await responder.invokeBundle('ebs-volume-encrypted', createVolumeCall(originalId), {
      NODE_OPTIONS: `--require ${require.resolve('../support/crash-after.cjs')}`,
      CRASH_AFTER_ACTION: 'CreateSnapshot',
    });
    const snapshots = await ec2().send(
      new DescribeSnapshotsCommand({
        OwnerIds: ['self'],
        Filters: [{ Name: 'volume-id', Values: [originalId] }],
      }),
    );
    const snapshotId = snapshots.Snapshots?.[0]?.SnapshotId ?? '';
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const notification = {
      version: '0',
      id: 'c1c2c3c4-0000-4000-8000-000000000002',
      'detail-type': 'EBS Snapshot Notification',
      source: 'aws.ec2',
      account: ACCOUNT,
      time: new Date().toISOString(),
      region: REGION,
      resources: [`arn:aws:ec2::${REGION}:snapshot/${snapshotId}`],
      detail: {
        event: 'createSnapshot',
        result: 'succeeded',
        cause: '',
        'request-id': '',
        snapshot_id: `arn:aws:ec2::${REGION}:snapshot/${snapshotId}`,
        source: `arn:aws:ec2::${REGION}:volume/${originalId}`,
        StartTime: new Date().toISOString(),
        EndTime: new Date().toISOString(),
      },
    };
    // Act
    const result = await responder.invokeBundle('ebs-volume-encrypted', notification);
    // Assess
    expect(result.result.outcomes).toEqual([
      expect.objectContaining({ resourceId: originalId, status: 'remediated' }),
    ]);
    const incidents = await responder.incidents();
    expect(incidents.map((incident) => incident.status)).toEqual(['remediated']);
    expect(await responder.alerts()).toHaveLength(1);
  });
});
