import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type _InstanceType,
  AttachVolumeCommand,
  CreateSnapshotCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  EC2Client,
  RunInstancesCommand,
  type Tag,
} from '@aws-sdk/client-ec2';
import { cloudTrailEvent, configRuleInvocation, humanCaller, scheduledEvent } from '../../scripts/lib/events';
import type { HandlerResult } from '../../shared/pipeline/rule-handler';
import { LocalResponder, resetAccount } from '../support/local-responder';
import { recordCalls, writesAmong } from '../support/recorder';

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
  return { instanceId, volumeId, attach: attachVolumeCall(volumeId, instanceId, '/dev/sdf') };
}

const attachVolumeCall = (volumeId: string, instanceId: string, device: string) =>
  cloudTrailEvent({
    eventName: 'AttachVolume',
    eventSource: 'ec2.amazonaws.com',
    region: REGION,
    caller: humanCaller(ACCOUNT),
    requestParameters: { volumeId, instanceId, device },
    responseElements: { volumeId, instanceId, device, status: 'attaching' },
  });

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
    // Assess: the incident names the replacement; the original it keeps is still drift (§9)
    const [incident, ...others] = await responder.incidents();
    expect(result.outcomes).toEqual([
      expect.objectContaining({
        status: 'remediated',
        compliance: 'NON_COMPLIANT',
        note: `kept as evidence by incident ${incident?.incidentId}`,
      }),
    ]);
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
    // Assess: the one alert pages a person to delete the kept original, once its evidence is not needed
    const alerts = await responder.alerts();
    expect(alerts.map((alert) => alert.attributes)).toEqual([
      expect.objectContaining({ status: 'remediated', actionNeeded: 'true' }),
    ]);
    expect(alerts[0]?.body).toMatchObject({
      actionNeeded: true,
      action: `delete the original ${originalId} once its evidence is no longer needed (Unencrypted EBS volume, kept as evidence by this incident; the fix is remediated and verified)`,
    });
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
      expect.objectContaining({ resourceId: originalId, status: 'remediated', compliance: 'NON_COMPLIANT' }),
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

/** What EventBridge delivers once a snapshot completes (with the odd ARNs AWS really sends). */
const snapshotNotification = (snapshotId: string, volumeId: string) => ({
  version: '0',
  id: randomUUID(),
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
    source: `arn:aws:ec2::${REGION}:volume/${volumeId}`,
    StartTime: new Date().toISOString(),
    EndTime: new Date().toISOString(),
  },
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
    const notification = snapshotNotification(snapshotId, originalId);
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

  it('ignores the notification of a snapshot an insider tagged with the incident: it was made from another volume', async () => {
    // Prepare: a remediation interrupted right after its snapshot; the insider snapshots a volume
    // of theirs and tags it with that incident's id
    await resetAccount();
    const responder = await LocalResponder.provision({ REMEDIATION_STALE_SECONDS: '1' });
    const originalId = await unencryptedVolume();
    await responder.invokeBundle('ebs-volume-encrypted', createVolumeCall(originalId), {
      NODE_OPTIONS: `--require ${require.resolve('../support/crash-after.cjs')}`,
      CRASH_AFTER_ACTION: 'CreateSnapshot',
    });
    const [interrupted] = await responder.incidents();
    const otherId = await unencryptedVolume([{ Key: 'team', Value: 'insider' }]);
    const planted = await ec2().send(
      new CreateSnapshotCommand({
        VolumeId: otherId,
        TagSpecifications: [
          {
            ResourceType: 'snapshot',
            Tags: [{ Key: 'compliance-responder:incident', Value: interrupted?.incidentId ?? '' }],
          },
        ],
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 1200));
    // Act
    const result = await responder.invokeBundle(
      'ebs-volume-encrypted',
      snapshotNotification(planted.SnapshotId ?? '', otherId),
    );
    // Assess: nothing resumed; the incident still says where it stopped
    expect(result.result.outcomes).toEqual([]);
    const incidents = await responder.incidents();
    expect(incidents.map((incident) => incident.status)).toEqual(['remediating']);
    expect(incidents[0]?.steps.map((step) => step.action)).toEqual(['CreateSnapshot']);
  });
});

describe('ebs-volume-encrypted cannot be talked out of its job by tags', () => {
  const FUNCTION = 'ebs-volume-encrypted';
  const crashAfter = (action: string) => ({
    NODE_OPTIONS: `--require ${require.resolve('../support/crash-after.cjs')}`,
    CRASH_AFTER_ACTION: action,
  });
  const forgedQuarantine: Tag[] = [
    { Key: 'team', Value: 'claims' },
    { Key: 'compliance-responder:quarantined', Value: 'inc-20250101T000000-deadbeef' },
    { Key: 'compliance-responder:replaced-by', Value: 'vol-0123456789abcdef0' },
  ];
  let responder: LocalResponder;
  let handle: (event: unknown) => Promise<HandlerResult>;

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision({ REMEDIATION_STALE_SECONDS: '1' });
    handle = responder.handlerOf(loadFunction);
  });

  /** Config's custom rule asking about one volume, as it does after each configuration change. */
  const configItemChange = (volumeId: string) => {
    const captured = new Date().toISOString();
    return configRuleInvocation({
      accountId: ACCOUNT,
      region: REGION,
      ruleName: 'compliance-responder-local-ebs-volume-encrypted',
      invokingEvent: {
        messageType: 'ConfigurationItemChangeNotification',
        notificationCreationTime: captured,
        configurationItem: {
          resourceType: 'AWS::EC2::Volume',
          resourceId: volumeId,
          awsRegion: REGION,
          awsAccountId: ACCOUNT,
          configurationItemCaptureTime: captured,
          configurationItemStatus: 'OK',
          ARN: `arn:aws:ec2:${REGION}:${ACCOUNT}:volume/${volumeId}`,
        },
        configurationItemDiff: { changeType: 'UPDATE' },
      },
    });
  };

  /** The volume a snapshot was taken of: a replacement's lineage. */
  async function madeFrom(volumeId: string): Promise<string | undefined> {
    const snapshotId = (await describe1(volumeId))?.SnapshotId ?? '';
    const snapshots = await ec2().send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }));
    return snapshots.Snapshots?.[0]?.VolumeId;
  }

  /** What an insider with ec2:CreateVolume plants for an incident whose id they read off its snapshot. */
  async function plantReplacement(incidentId: string, originalId: string): Promise<string> {
    const planted = await ec2().send(
      new CreateVolumeCommand({
        AvailabilityZone: 'us-east-1b',
        Size: 20,
        VolumeType: 'gp3',
        Encrypted: true,
        TagSpecifications: [
          {
            ResourceType: 'volume',
            Tags: [
              { Key: 'compliance-responder:incident', Value: incidentId },
              { Key: 'compliance-responder:role', Value: 'replacement' },
              { Key: 'compliance-responder:replaces', Value: originalId },
            ],
          },
        ],
      }),
    );
    return planted.VolumeId ?? '';
  }

  it.each([
    ['detached', 'remediated'],
    ['in-use', 'open'],
  ])(
    'an insider’s forged quarantine tags on a %s unencrypted volume: still drift, an incident, evaluated NON_COMPLIANT',
    async (attached, status) => {
      // Prepare: the insider tags the volume as if the responder had replaced it
      const volumeId =
        attached === 'in-use'
          ? (await attachedUnencryptedVolume()).volumeId
          : await unencryptedVolume(forgedQuarantine);
      if (attached === 'in-use')
        await ec2().send(new CreateTagsCommand({ Resources: [volumeId], Tags: forgedQuarantine }));
      // Act
      const result = await handle(configItemChange(volumeId));
      // Assess: an incident, an alert, and Config hears NON_COMPLIANT
      const [incident, ...others] = await responder.incidents();
      expect(others).toEqual([]);
      expect(incident).toMatchObject({ resourceId: volumeId, status });
      expect(result.evaluationsSent).toBe(1);
      expect(result.outcomes).toEqual([
        expect.objectContaining({
          resourceId: volumeId,
          compliance: 'NON_COMPLIANT',
          incidentId: incident?.incidentId,
        }),
      ]);
      expect((await responder.alerts()).map((alert) => alert.attributes.status)).toEqual([status]);
    },
  );

  it('keeps a replaced original as evidence: every later check says NON_COMPLIANT by that incident, and nothing is done twice', async () => {
    // Prepare
    const originalId = await unencryptedVolume();
    const first = await handle(scheduledEvent({ accountId: ACCOUNT, region: REGION }));
    const [incident] = await responder.incidents();
    // Act
    let second: HandlerResult | undefined;
    const calls = await recordCalls(async () => {
      second = await handle(scheduledEvent({ accountId: ACCOUNT, region: REGION }));
    });
    const config = await handle(configItemChange(originalId));
    // Assess: drift that incident answers for, from the first check on
    const kept = expect.objectContaining({
      resourceId: originalId,
      compliance: 'NON_COMPLIANT',
      note: `kept as evidence by incident ${incident?.incidentId}`,
      incidentId: incident?.incidentId,
    });
    expect(incident?.status).toBe('remediated');
    expect(first.outcomes).toEqual([kept]);
    expect(second?.outcomes).toEqual([kept]);
    // This item carries no configuration: judged on the live read, and the annotation says so.
    expect(config.outcomes).toEqual([
      expect.objectContaining({
        compliance: 'NON_COMPLIANT',
        note: `kept as evidence by incident ${incident?.incidentId} (judged on a live read: the item lacks its configuration)`,
      }),
    ]);
    expect(writesAmong(calls).filter((call) => call.action !== 'PutMetricData')).toEqual([]);
    expect(await responder.incidents()).toHaveLength(1);
    expect(await responder.alerts()).toHaveLength(1);
  });

  it('treats a kept original attached again as fresh drift: its own incident', async () => {
    // Prepare: replaced and kept, then someone attaches the unencrypted original to an instance
    const originalId = await unencryptedVolume();
    await handle(createVolumeCall(originalId));
    const instance = await ec2().send(
      new RunInstancesCommand({
        ImageId: 'ami-12c6146b',
        MinCount: 1,
        MaxCount: 1,
        Placement: { AvailabilityZone: 'us-east-1b' },
      }),
    );
    const instanceId = instance.Instances?.[0]?.InstanceId ?? '';
    await ec2().send(
      new AttachVolumeCommand({ VolumeId: originalId, InstanceId: instanceId, Device: '/dev/sdg' }),
    );
    // Act
    const result = await handle(attachVolumeCall(originalId, instanceId, '/dev/sdg'));
    // Assess
    const incidents = await responder.incidents();
    expect(incidents.map((incident) => incident.status).sort()).toEqual(['open', 'remediated']);
    const fresh = incidents.find((incident) => incident.status === 'open');
    expect(fresh?.evidence).toMatchObject({ attachedTo: instanceId });
    expect(result.outcomes).toEqual([
      expect.objectContaining({
        resourceId: originalId,
        compliance: 'NON_COMPLIANT',
        incidentId: fresh?.incidentId,
      }),
    ]);
  });

  it.each(['detached', 'swap'])(
    'ignores a replacement an insider planted with the incident’s tags (%s): the responder makes its own',
    async (how) => {
      // Prepare: the remediation dies right after its snapshot; the insider reads the incident id off
      // the snapshot's tags and plants an encrypted volume of their own tagged as the replacement
      const swap: Record<string, string> = how === 'swap' ? { EBS_IN_USE_ACTION: 'swap' } : {};
      const attached = how === 'swap' ? await attachedUnencryptedVolume('t3.micro') : undefined;
      const originalId = attached?.volumeId ?? (await unencryptedVolume());
      const event = attached?.attach ?? createVolumeCall(originalId);
      await responder.invokeBundle(FUNCTION, event, { ...crashAfter('CreateSnapshot'), ...swap });
      const snapshots = await ec2().send(
        new DescribeSnapshotsCommand({
          OwnerIds: ['self'],
          Filters: [{ Name: 'volume-id', Values: [originalId] }],
        }),
      );
      const incidentId = tagMap(snapshots.Snapshots?.[0]?.Tags)['compliance-responder:incident'] ?? '';
      const plantedId = await plantReplacement(incidentId, originalId);
      await new Promise((resolve) => setTimeout(resolve, 1200));
      // Act: the event comes again and the remediation resumes
      await responder.invokeBundle(FUNCTION, event, swap);
      // Assess: the replacement is the responder's own, made from its snapshot of the original
      const [incident] = await responder.incidents();
      expect(incident?.status).toBe('remediated');
      const replacementId = String(
        incident?.steps.find((step) => step.action === 'QuarantineOriginal')?.output?.replacementVolumeId,
      );
      expect(replacementId).not.toBe(plantedId);
      expect(await madeFrom(replacementId)).toBe(originalId);
      if (attached) {
        const described = await ec2().send(
          new DescribeInstancesCommand({ InstanceIds: [attached.instanceId] }),
        );
        const mapped = described.Reservations?.[0]?.Instances?.[0]?.BlockDeviceMappings?.find(
          (mapping) => mapping.DeviceName === '/dev/sdf',
        );
        expect(mapped?.Ebs?.VolumeId).toBe(replacementId);
      }
      // Assess: the planted volume is left as it was
      expect((await describe1(plantedId))?.State).toBe('available');
    },
  );

  it('ignores a snapshot an insider planted with the incident’s tags: the swap uses its own snapshot of the original', async () => {
    // Prepare: a swap dies right after stopping the instance; the insider plants a snapshot of
    // another volume of theirs, tagged as the incident's source snapshot
    const swap = { EBS_IN_USE_ACTION: 'swap' };
    const { instanceId, volumeId, attach } = await attachedUnencryptedVolume('t3.micro');
    await responder.invokeBundle(FUNCTION, attach, { ...crashAfter('StopInstances'), ...swap });
    const [interrupted] = await responder.incidents();
    const otherId = await unencryptedVolume([{ Key: 'team', Value: 'insider' }]);
    await ec2().send(
      new CreateSnapshotCommand({
        VolumeId: otherId,
        TagSpecifications: [
          {
            ResourceType: 'snapshot',
            Tags: [
              { Key: 'compliance-responder:incident', Value: interrupted?.incidentId ?? '' },
              { Key: 'compliance-responder:role', Value: 'source' },
            ],
          },
        ],
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 1200));
    // Act
    await responder.invokeBundle(FUNCTION, attach, swap);
    // Assess: the volume at the instance's device holds the original's data, not the insider's
    const described = await ec2().send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    const mapped = described.Reservations?.[0]?.Instances?.[0]?.BlockDeviceMappings?.find(
      (mapping) => mapping.DeviceName === '/dev/sdf',
    );
    expect(mapped?.Ebs?.VolumeId).not.toBe(volumeId);
    expect(await madeFrom(mapped?.Ebs?.VolumeId ?? '')).toBe(volumeId);
    expect((await responder.incidents()).map((incident) => incident.status)).toEqual(['remediated']);
  });
});
