import {
  AttachVolumeCommand,
  CreateSnapshotCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  DeleteVolumeCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  DetachVolumeCommand,
  type EC2Client,
  type Instance,
  ModifyInstanceAttributeCommand,
  paginateDescribeVolumes,
  type Snapshot,
  type Tag,
  type Volume,
  type VolumeType,
  waitUntilVolumeAvailable,
  waitUntilVolumeInUse,
} from '@aws-sdk/client-ec2';
import { isAwsError } from '../aws/aws-errors';
import { instanceManager, instanceStoreLookup, readStopFacts, stopBlocker } from '../aws/ec2-instances';
import { InstancePower } from '../aws/instance-power';
import { tagRecord } from '../aws/tags';
import { RemediationDeclined, RemediationError } from '../errors';
import { Mode, Severity } from '../model';
import { VOLUME, volumeOfItem } from '../resources/volume';
import { flag } from '../setting-schemas';
import * as z from '../zod';
import { ebsKmsKeyId } from './ebs-kms-key';
import {
  defineRule,
  type Loaded,
  REEVALUATE_PAIRED_CONFIG_RULES,
  type RemediationContext,
  Stack,
  type Waiting,
} from './rule';
import { ruleSetting, settingsReader } from './settings';

/** Tags the responder puts on what it creates and on the original it replaces. */
export const VolumeTags = {
  Incident: 'compliance-responder:incident',
  Role: 'compliance-responder:role',
  Quarantined: 'compliance-responder:quarantined',
  ReplacedBy: 'compliance-responder:replaced-by',
  Replaces: 'compliance-responder:replaces',
} as const;

interface VolumeState {
  state: string;
  encrypted: boolean;
  size: number;
  volumeType: string;
  iops?: number;
  throughput?: number;
  availabilityZone: string;
  attachments: { instanceId: string; device: string; deleteOnTermination: boolean }[];
}

function toLoaded(volume: Volume, scope: { accountId: string; region: string }): Loaded<VolumeState> {
  const id = volume.VolumeId ?? '';
  return {
    resourceType: VOLUME,
    resourceId: id,
    arn: `arn:aws:ec2:${scope.region}:${scope.accountId}:volume/${id}`,
    region: scope.region,
    accountId: scope.accountId,
    tags: tagRecord(volume.Tags),
    state: {
      state: volume.State ?? 'unknown',
      encrypted: volume.Encrypted === true,
      size: volume.Size ?? 0,
      volumeType: volume.VolumeType ?? 'gp2',
      iops: volume.Iops,
      throughput: volume.Throughput,
      availabilityZone: volume.AvailabilityZone ?? '',
      attachments: (volume.Attachments ?? []).map((attachment) => ({
        instanceId: attachment.InstanceId ?? '',
        device: attachment.Device ?? '',
        deleteOnTermination: attachment.DeleteOnTermination === true,
      })),
    },
  };
}

type SnapshotRole = 'source' | 'evidence';

/**
 * What the rule made for an incident, recorded in that incident's workflow state: the responder's
 * own record. Its tags on what it made are for people; anyone with ec2:CreateTags can copy them.
 */
const Made = {
  snapshot: (role: SnapshotRole) => `${role}SnapshotId`,
  snapshotRequestedAt: (role: SnapshotRole) => `${role}SnapshotRequestedAt`,
  replacement: 'replacementVolumeId',
  replacementRequestedAt: 'replacementRequestedAt',
} as const;

/** AWS stamps StartTime/CreateTime by its clock, to the second: how far before our request it may read. */
const CLOCK_SLACK_MS = 5_000;

const recorded = (ctx: RemediationContext, key: string): string | undefined => {
  const value = ctx.workflow.state[key];
  return typeof value === 'string' ? value : undefined;
};

/** Made at or after `requestedAt` (an ISO time we recorded before asking AWS), by AWS's own stamp. */
const madeSince = (stamp: Date | undefined, requestedAt: string) =>
  stamp !== undefined && stamp.getTime() >= new Date(requestedAt).getTime() - CLOCK_SLACK_MS;

async function describeSnapshot(ec2: EC2Client, snapshotId: string): Promise<Snapshot | undefined> {
  try {
    const result = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }));
    return result.Snapshots?.[0];
  } catch (error) {
    if (isAwsError(error, 'InvalidSnapshot.NotFound')) return undefined;
    throw error;
  }
}

async function describeVolume(ec2: EC2Client, volumeId: string): Promise<Volume | undefined> {
  try {
    const result = await ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }));
    return result.Volumes?.[0];
  } catch (error) {
    if (isAwsError(error, 'InvalidVolume.NotFound')) return undefined;
    throw error;
  }
}

/** A notification's claim: the incident its tag names, and the volume its snapshot was taken of. */
const claimOf = (incidentId: string | undefined, snapshot: Snapshot | undefined) =>
  incidentId && snapshot?.VolumeId ? { incidentId, madeFrom: snapshot.VolumeId } : undefined;

/** Claims on this incident's behalf, by tag: candidates only, each checked against lineage. */
const taggedFor = (incidentId: string, role: string) => [
  { Name: `tag:${VolumeTags.Incident}`, Values: [incidentId] },
  { Name: `tag:${VolumeTags.Role}`, Values: [role] },
];

/**
 * The snapshot this incident asked for when the process died before hearing back: one of this
 * account's snapshots of the original itself, started after the request was recorded.
 */
async function unrecordedSnapshot(
  ec2: EC2Client,
  volumeId: string,
  ctx: RemediationContext,
  role: SnapshotRole,
  requestedAt: string,
): Promise<Snapshot | undefined> {
  const result = await ec2.send(
    new DescribeSnapshotsCommand({
      OwnerIds: ['self'],
      Filters: [{ Name: 'volume-id', Values: [volumeId] }, ...taggedFor(ctx.incidentId, role)],
    }),
  );
  return result.Snapshots?.find(
    (snapshot) => snapshot.VolumeId === volumeId && madeSince(snapshot.StartTime, requestedAt),
  );
}

/**
 * The encrypted volume this incident asked for when the process died before hearing back: made
 * from the incident's own snapshot, encrypted, in the original's zone, after the request was recorded.
 */
async function unrecordedReplacement(
  ec2: EC2Client,
  snapshotId: string,
  resource: Loaded<VolumeState>,
  ctx: RemediationContext,
  requestedAt: string,
): Promise<Volume | undefined> {
  const result = await ec2.send(
    new DescribeVolumesCommand({
      Filters: [{ Name: 'snapshot-id', Values: [snapshotId] }, ...taggedFor(ctx.incidentId, 'replacement')],
    }),
  );
  return result.Volumes?.find(
    (volume) =>
      volume.SnapshotId === snapshotId &&
      volume.Encrypted === true &&
      volume.AvailabilityZone === resource.state.availabilityZone &&
      madeSince(volume.CreateTime, requestedAt),
  );
}

/**
 * Snapshots the volume once per incident. What it made is known from the incident's record; a
 * snapshot found by tag counts only as the answer to our own recorded request (a crash between
 * AWS's answer and the record), never as something someone else made for us.
 */
async function ensureSnapshot(resource: Loaded<VolumeState>, ctx: RemediationContext, role: SnapshotRole) {
  const ec2 = ctx.aws.ec2(resource.region);
  const snapshotId = recorded(ctx, Made.snapshot(role));
  if (snapshotId) {
    const snapshot = await describeSnapshot(ec2, snapshotId);
    if (snapshot?.VolumeId !== resource.resourceId)
      throw new RemediationError(`snapshot ${snapshotId} of this incident is gone`, 'DescribeSnapshots');
    return snapshot;
  }
  const requestedAt = recorded(ctx, Made.snapshotRequestedAt(role));
  const unrecorded = requestedAt
    ? await unrecordedSnapshot(ec2, resource.resourceId, ctx, role, requestedAt)
    : undefined;
  if (unrecorded) {
    await ctx.workflow.save({ [Made.snapshot(role)]: unrecorded.SnapshotId ?? null });
    return unrecorded;
  }
  await ctx.workflow.save({ [Made.snapshotRequestedAt(role)]: new Date().toISOString() });
  const snapshot = await ctx.step(
    role === 'source' ? 'CreateSnapshot' : 'CreateEvidenceSnapshot',
    () =>
      ec2.send(
        new CreateSnapshotCommand({
          VolumeId: resource.resourceId,
          Description: `compliance-responder ${ctx.incidentId}: ${role} snapshot of unencrypted ${resource.resourceId}`,
          TagSpecifications: [
            {
              ResourceType: 'snapshot',
              Tags: [
                { Key: VolumeTags.Incident, Value: ctx.incidentId },
                { Key: VolumeTags.Role, Value: role },
                { Key: VolumeTags.Replaces, Value: resource.resourceId },
              ],
            },
          ],
        }),
      ),
    { output: (snapshot) => ({ snapshotId: snapshot.SnapshotId ?? null, state: snapshot.State ?? null }) },
  );
  await ctx.workflow.save({ [Made.snapshot(role)]: snapshot.SnapshotId ?? null });
  return snapshot;
}

/** The replacement keeps the original's tags, except AWS's own and the responder's. */
const copyableTags = (tags: Readonly<Record<string, string>>): Tag[] =>
  Object.entries(tags)
    .filter(([key]) => !key.startsWith('aws:') && !key.startsWith('compliance-responder:'))
    .map(([Key, Value]) => ({ Key, Value }));

/** IOPS can be set only on these types; throughput only on gp3. */
const IOPS_TYPES = new Set(['io1', 'io2', 'gp3']);

/**
 * The encrypted copy, made once per incident from the incident's own snapshot; known from the
 * incident's record like the snapshot. A volume carrying the incident's tags is never adopted.
 */
async function ensureReplacement(resource: Loaded<VolumeState>, snapshotId: string, ctx: RemediationContext) {
  const ec2 = ctx.aws.ec2(resource.region);
  const volumeId = recorded(ctx, Made.replacement);
  if (volumeId) {
    const volume = await describeVolume(ec2, volumeId);
    if (volume?.SnapshotId !== snapshotId)
      throw new RemediationError(`encrypted volume ${volumeId} of this incident is gone`, 'DescribeVolumes');
    return volume;
  }
  const requestedAt = recorded(ctx, Made.replacementRequestedAt);
  const unrecorded = requestedAt
    ? await unrecordedReplacement(ec2, snapshotId, resource, ctx, requestedAt)
    : undefined;
  if (unrecorded) {
    await ctx.workflow.save({ [Made.replacement]: unrecorded.VolumeId ?? null });
    return unrecorded;
  }
  await ctx.workflow.save({ [Made.replacementRequestedAt]: new Date().toISOString() });
  const { state } = resource;
  const kmsKeyId = mine(ctx.settings).kmsKeyId ?? 'alias/aws/ebs';
  const replacement = await ctx.step(
    'CreateEncryptedVolume',
    () =>
      ec2.send(
        new CreateVolumeCommand({
          SnapshotId: snapshotId,
          AvailabilityZone: state.availabilityZone,
          VolumeType: state.volumeType as VolumeType,
          Size: state.size,
          Iops: IOPS_TYPES.has(state.volumeType) ? state.iops : undefined,
          Throughput: state.volumeType === 'gp3' ? state.throughput : undefined,
          // From an unencrypted snapshot, Encrypted + KmsKeyId give an encrypted volume directly.
          Encrypted: true,
          KmsKeyId: kmsKeyId,
          // The same token on a retry returns the same volume instead of a second one.
          ClientToken: `${ctx.incidentId}-replacement`,
          TagSpecifications: [
            {
              ResourceType: 'volume',
              Tags: [
                ...copyableTags(resource.tags),
                { Key: VolumeTags.Incident, Value: ctx.incidentId },
                { Key: VolumeTags.Role, Value: 'replacement' },
                { Key: VolumeTags.Replaces, Value: resource.resourceId },
              ],
            },
          ],
        }),
      ),
    {
      output: (volume) => ({ volumeId: volume.VolumeId ?? null, kmsKeyId }),
    },
  );
  await ctx.workflow.save({ [Made.replacement]: replacement.VolumeId ?? null });
  return replacement;
}

/** An attached volume: evidence snapshot and notify, unless swapping is on and safe. */
async function remediateInUse(resource: Loaded<VolumeState>, ctx: RemediationContext) {
  const attachment = resource.state.attachments[0];
  const where = attachment ? `${attachment.instanceId} at ${attachment.device}` : 'an instance';
  const ec2 = ctx.aws.ec2(resource.region);
  const instance = attachment ? await describeInstance(ec2, attachment.instanceId) : undefined;
  const manager = instance ? instanceManager(tagRecord(instance.Tags))?.description : undefined;
  const swap = mine(ctx.settings).inUseAction === 'swap';
  // What a stop would cost is read only when a swap is wanted.
  const blocker =
    swap && instance && !manager
      ? stopBlocker(
          await readStopFacts(ec2, instance, instanceStoreLookup(ec2)),
          instance.InstanceType ?? 'unknown',
        )
      : undefined;
  if (swap && attachment && instance && !manager && !blocker) {
    await ctx.workflow.save({
      instanceId: attachment.instanceId,
      device: attachment.device,
      deleteOnTermination: attachment.deleteOnTermination,
      wasRunning: instance.State?.Name === 'running' || instance.State?.Name === 'pending',
    });
    return swapInUse(resource, ctx);
  }
  const snapshot = await ensureSnapshot(resource, ctx, 'evidence');
  const evidence = `evidence snapshot ${snapshot.SnapshotId} taken`;
  if (manager) {
    throw new RemediationDeclined(
      `in-use volume attached to ${where}, an instance managed by ${manager}: ${evidence}; fix the launch template so new volumes are encrypted and replace the instances`,
    );
  }
  const why = blocker
    ? `the instance cannot be stopped safely: ${blocker}`
    : 'swapping is off (EBS_IN_USE_ACTION=snapshot-only)';
  throw new RemediationDeclined(
    `in-use volume attached to ${where}: ${evidence}; ${why}. Follow the runbook to swap it`,
  );
}

async function describeInstance(ec2: EC2Client, instanceId: string): Promise<Instance | undefined> {
  const result = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  return result.Reservations?.[0]?.Instances?.[0];
}

/**
 * Swaps an in-use volume for an encrypted copy, in the order that loses no write: stop → final
 * snapshot → encrypted volume → detach the original → attach the copy at the same device → same
 * DeleteOnTermination → start again only if it was running. Re-entrant like replaceDetached: the
 * facts of the first run (instance, device, was it running) live in the workflow state.
 */
async function swapInUse(
  resource: Loaded<VolumeState>,
  ctx: RemediationContext,
  power = new InstancePower(String(ctx.workflow.state.instanceId), resource.region, ctx),
): Promise<Waiting | undefined> {
  const ec2 = ctx.aws.ec2(resource.region);
  const { state } = ctx.workflow;
  const instanceId = String(state.instanceId);
  const device = String(state.device);
  const instance = await describeInstance(ec2, instanceId);
  if (!instance)
    throw new RemediationError(`instance ${instanceId} disappeared during the swap`, 'DescribeInstances');
  const mapping = (instance.BlockDeviceMappings ?? []).find((candidate) => candidate.DeviceName === device);
  // Ours is attached only if the device holds the replacement this incident recorded making.
  const replacementId = recorded(ctx, Made.replacement);
  if (replacementId === undefined || mapping?.Ebs?.VolumeId !== replacementId) {
    const running = instance.State?.Name;
    if (running === 'running' || running === 'pending') {
      await power.stop();
      if (!(await power.waitFor('stopped'))) return { waitingFor: `instance ${instanceId} to stop` };
      return swapInUse(resource, ctx, power);
    }
    if (running !== 'stopped') return { waitingFor: `instance ${instanceId} to stop (${running})` };
    // Stopped: the snapshot now holds every write.
    const snapshot = await ensureSnapshot(resource, ctx, 'source');
    if (snapshot.State === 'error')
      throw new RemediationError(`snapshot ${snapshot.SnapshotId} failed`, 'CreateSnapshot');
    if (snapshot.State !== 'completed')
      return {
        waitingFor: `snapshot ${snapshot.SnapshotId} of ${resource.resourceId} (${snapshot.Progress ?? '0%'})`,
      };
    const replacement = await ensureReplacement(resource, snapshot.SnapshotId ?? '', ctx);
    if (replacement.State === 'creating')
      return { waitingFor: `encrypted volume ${replacement.VolumeId} to become available` };
    if (mapping?.Ebs?.VolumeId === resource.resourceId) {
      await ctx.step(
        'DetachOriginal',
        () =>
          ec2.send(
            new DetachVolumeCommand({
              VolumeId: resource.resourceId,
              InstanceId: instanceId,
              Device: device,
            }),
          ),
        {
          undo: {
            service: 'ec2',
            action: 'AttachVolume',
            input: {
              VolumeId: resource.resourceId,
              InstanceId: instanceId,
              Device: device,
              Region: resource.region,
            },
          },
        },
      );
    }
    if (
      !(await power.settles((waiter) =>
        waitUntilVolumeAvailable(waiter, { VolumeIds: [resource.resourceId] }),
      ))
    ) {
      return { waitingFor: `volume ${resource.resourceId} to detach` };
    }
    if (replacement.State !== 'available' || replacement.Encrypted !== true) {
      throw new RemediationError(
        `replacement ${replacement.VolumeId} is ${replacement.State}`,
        'CreateEncryptedVolume',
      );
    }
    const encryptedId = replacement.VolumeId ?? '';
    await ctx.step(
      'AttachEncrypted',
      () =>
        ec2.send(new AttachVolumeCommand({ VolumeId: encryptedId, InstanceId: instanceId, Device: device })),
      {
        undo: {
          service: 'ec2',
          action: 'DetachVolume',
          input: { VolumeId: encryptedId, InstanceId: instanceId, Region: resource.region },
        },
        output: () => ({ replacementVolumeId: encryptedId, device }),
      },
    );
    if (state.deleteOnTermination === true) {
      await ctx.step('KeepDeleteOnTermination', () =>
        ec2.send(
          new ModifyInstanceAttributeCommand({
            InstanceId: instanceId,
            BlockDeviceMappings: [
              { DeviceName: device, Ebs: { VolumeId: encryptedId, DeleteOnTermination: true } },
            ],
          }),
        ),
      );
    }
    if (!(await power.settles((waiter) => waitUntilVolumeInUse(waiter, { VolumeIds: [encryptedId] })))) {
      return { waitingFor: `encrypted volume ${encryptedId} to attach to ${instanceId} at ${device}` };
    }
    return swapInUse(resource, ctx, power);
  }
  await quarantine(resource, replacementId, ctx);
  if (state.wasRunning === true && instance.State?.Name !== 'running') {
    if (instance.State?.Name === 'stopped') await power.start();
    // Done only once it runs again: a start can fail after StartInstances answered (a key's grant).
    await power.confirmStarted();
  }
  return undefined;
}

/** Tags the replaced original: kept, and named by its replacement, so nothing reports it again. */
async function quarantine(resource: Loaded<VolumeState>, replacementId: string, ctx: RemediationContext) {
  if (resource.tags[VolumeTags.ReplacedBy] === replacementId) return;
  const tags = [
    { Key: VolumeTags.Quarantined, Value: ctx.incidentId },
    { Key: VolumeTags.ReplacedBy, Value: replacementId },
  ];
  const ec2 = ctx.aws.ec2(resource.region);
  await ctx.step(
    'QuarantineOriginal',
    () => ec2.send(new CreateTagsCommand({ Resources: [resource.resourceId], Tags: tags })),
    {
      undo: {
        service: 'ec2',
        action: 'DeleteTags',
        input: {
          Resources: [resource.resourceId],
          Tags: tags.map(({ Key }) => ({ Key })),
          Region: resource.region,
        },
      },
      output: () => ({
        replacementVolumeId: replacementId,
        originalKept: !mine(ctx.settings).deleteOriginal,
      }),
    },
  );
}

/**
 * A detached volume: snapshot → encrypted volume from it (same AZ, type, size, IOPS, throughput,
 * tags) → original tagged quarantined and kept. Re-entrant: each run finds what earlier runs
 * created by its incident tag and continues; snapshots of large volumes take hours, so it waits.
 */
async function replaceDetached(resource: Loaded<VolumeState>, ctx: RemediationContext) {
  const ec2 = ctx.aws.ec2(resource.region);
  const snapshot = await ensureSnapshot(resource, ctx, 'source');
  if (snapshot.State === 'error') {
    throw new RemediationError(
      `snapshot ${snapshot.SnapshotId} failed: ${snapshot.StateMessage ?? 'no reason given'}`,
      'CreateSnapshot',
    );
  }
  if (snapshot.State !== 'completed') {
    return {
      waitingFor: `snapshot ${snapshot.SnapshotId} of ${resource.resourceId} (${snapshot.Progress ?? '0%'})`,
    };
  }
  const replacement = await ensureReplacement(resource, snapshot.SnapshotId ?? '', ctx);
  if (replacement.State === 'creating')
    return { waitingFor: `encrypted volume ${replacement.VolumeId} to become available` };
  if (replacement.State !== 'available' || replacement.Encrypted !== true) {
    throw new RemediationError(
      `replacement ${replacement.VolumeId} is ${replacement.State}${replacement.Encrypted ? '' : ' and not encrypted'}`,
      'CreateEncryptedVolume',
    );
  }
  await quarantine(resource, replacement.VolumeId ?? '', ctx);
  if (mine(ctx.settings).deleteOriginal) {
    // Only after the replacement is verified above, and the source snapshot keeps the data.
    await ctx.step(
      'DeleteOriginalVolume',
      () => ec2.send(new DeleteVolumeCommand({ VolumeId: resource.resourceId })),
      {
        undo: {
          service: 'ec2',
          action: 'CreateVolume',
          input: {
            SnapshotId: snapshot.SnapshotId,
            AvailabilityZone: resource.state.availabilityZone,
            Region: resource.region,
          },
        },
      },
    );
  }
  return undefined;
}

const declared = {
  kmsKeyId: ebsKmsKeyId,
  inUseAction: ruleSetting({
    parameter: 'ebsInUseAction',
    variable: 'EBS_IN_USE_ACTION',
    fallback: 'snapshot-only',
    doc: 'in-use volumes: `snapshot-only` (evidence snapshot, notify) or `swap` (stop → snapshot → encrypted copy → swap at the same device → start if it ran; never for managed instances or ones a stop would harm)',
    schema: z.enum(['snapshot-only', 'swap']),
  }),
  deleteOriginal: ruleSetting({
    parameter: 'ebsDeleteOriginal',
    variable: 'EBS_DELETE_ORIGINAL',
    fallback: 'false',
    doc: 'delete an unencrypted original once its encrypted replacement is verified; otherwise it is kept (tagged `compliance-responder:quarantined` for people; the tag proves nothing) and stays `NON_COMPLIANT`, kept as evidence by its incident',
    schema: flag,
  }),
};
const mine = settingsReader(declared);

export const ebsVolumeEncrypted = defineRule<VolumeState>({
  id: 'ebs-volume-encrypted',
  settings: declared,
  title: 'Unencrypted EBS volume',
  severity: Severity.High,
  hipaa: ['164.312(a)(2)(iv)', '164.312(e)(2)(ii)'],
  runbook: 'docs/runbooks/ebs-volume-encrypted.md',
  readme: {
    enforce:
      'detached volume: snapshot → encrypted copy (same AZ, type, size, IOPS, throughput, tags) → original quarantined and kept; in-use volume: evidence snapshot and notify, or (`ebsInUseAction: swap`) stop, swap in the encrypted copy at the same device, start again if it ran',
  },
  undoActions: [
    'ec2:StartInstances',
    'ec2:StopInstances',
    'ec2:AttachVolume',
    'ec2:DetachVolume',
    'ec2:DeleteTags',
    'ec2:CreateVolume',
  ],
  defaultMode: Mode.Enforce,
  resourceType: VOLUME,
  triggers: {
    cloudTrail: { eventNames: ['CreateVolume', 'AttachVolume'] },
    // Snapshots of large volumes take hours: these continue the remediation when AWS is done.
    serviceEvents: [
      { source: 'aws.ec2', detailTypes: ['EBS Snapshot Notification', 'EBS Volume Notification'] },
    ],
    configResourceTypes: [VOLUME],
    managedConfigRules: [{ sourceIdentifier: 'ENCRYPTED_VOLUMES', ruleName: 'encrypted-volumes' }],
    schedule: 'rate(1 hour)',
  },
  permissions: [
    {
      sid: 'ReadVolumesSnapshotsInstances',
      actions: [
        'ec2:DescribeVolumes',
        'ec2:DescribeSnapshots',
        'ec2:DescribeInstances',
        'ec2:DescribeInstanceAttribute',
        'ec2:DescribeInstanceTypes',
        'ec2:DescribeAddresses',
        'ec2:DescribeSpotInstanceRequests',
      ],
    },
    {
      sid: 'SwapInUseVolumes',
      actions: [
        'ec2:StopInstances',
        'ec2:StartInstances',
        'ec2:DetachVolume',
        'ec2:AttachVolume',
        'ec2:ModifyInstanceAttribute',
      ],
      resources: [
        `arn:${Stack.partition}:ec2:*:${Stack.accountId}:instance/*`,
        `arn:${Stack.partition}:ec2:*:${Stack.accountId}:volume/*`,
      ],
      why:
        'Only with ebsInUseAction: swap, and never on managed instances (the rule checks). No condition ' +
        'narrows these: a resource tag is writable by anyone with ec2:CreateTags, so it cannot be a limit. ' +
        'Any region (the sweep and forwarded events act where the volume is), this account only.',
    },
    {
      sid: 'SnapshotAndCreateEncryptedCopy',
      actions: ['ec2:CreateSnapshot', 'ec2:CreateVolume'],
      resources: [
        `arn:${Stack.partition}:ec2:*:${Stack.accountId}:volume/*`,
        `arn:${Stack.partition}:ec2:*::snapshot/*`,
      ],
    },
    {
      sid: 'TagWhatItCreatesAsItCreatesIt',
      actions: ['ec2:CreateTags'],
      resources: [
        `arn:${Stack.partition}:ec2:*:${Stack.accountId}:volume/*`,
        `arn:${Stack.partition}:ec2:*::snapshot/*`,
      ],
      conditions: {
        StringEquals: { 'ec2:CreateAction': ['CreateVolume', 'CreateSnapshot'] },
        'ForAllValues:StringNotLike': { 'aws:TagKeys': [VolumeTags.Quarantined, VolumeTags.ReplacedBy] },
      },
      why:
        "The copy keeps the original's tags (any key), set by CreateVolume's TagSpecifications; never " +
        'born quarantined (the tag DeleteVolume requires).',
    },
    {
      sid: 'QuarantineOriginalsWithTheirIncident',
      actions: ['ec2:CreateTags'],
      resources: [`arn:${Stack.partition}:ec2:*:${Stack.accountId}:volume/*`],
      conditions: {
        'ForAllValues:StringEquals': { 'aws:TagKeys': [VolumeTags.Quarantined, VolumeTags.ReplacedBy] },
      },
      why: 'The one tag on an existing volume: the original, marked replaced once its copy is verified.',
    },
    {
      sid: 'DeleteOnlyQuarantinedOriginals',
      actions: ['ec2:DeleteVolume'],
      resources: [`arn:${Stack.partition}:ec2:*:${Stack.accountId}:volume/*`],
      conditions: { StringLike: { [`aws:ResourceTag/${VolumeTags.Quarantined}`]: 'inc-*' } },
    },
    {
      sid: 'EncryptThroughEbsOnly',
      actions: [
        'kms:DescribeKey',
        'kms:GenerateDataKeyWithoutPlaintext',
        'kms:ReEncryptFrom',
        'kms:ReEncryptTo',
        'kms:Decrypt',
      ],
      conditions: { StringLike: { 'kms:ViaService': 'ec2.*.amazonaws.com' } },
    },
    {
      sid: 'LetEbsGrantItselfTheKey',
      actions: ['kms:CreateGrant'],
      conditions: {
        Bool: { 'kms:GrantIsForAWSResource': 'true' },
        StringLike: { 'kms:ViaService': 'ec2.*.amazonaws.com' },
      },
      why: "CreateVolume and StartInstances create EBS's grant on the key as their caller.",
    },
    REEVALUATE_PAIRED_CONFIG_RULES,
  ],

  // Config records every field detect reads.
  fromConfigItem: { [VOLUME]: (item) => toLoaded(volumeOfItem(item), item) },

  async load(ref, aws) {
    const volume = await describeVolume(aws.ec2(ref.region), ref.resourceId);
    return volume ? toLoaded(volume, ref) : undefined;
  },

  async *list(scope, aws) {
    // Only unencrypted volumes can drift; the filter keeps a 10,000-volume sweep to the few that matter.
    const pages = paginateDescribeVolumes(
      { client: aws.ec2(scope.region), pageSize: 500 },
      { Filters: [{ Name: 'encrypted', Values: ['false'] }] },
    );
    for await (const page of pages) {
      for (const volume of page.Volumes ?? []) yield toLoaded(volume, scope);
    }
  },

  detect(resource, settings) {
    const { state } = resource;
    // Tags never make a volume compliant: a replaced original kept as evidence is still drift,
    // which its incident answers for (keptAsEvidence below, from the incident's record).
    if (state.encrypted || ['deleting', 'deleted'].includes(state.state)) return { compliant: true };
    const attachment = state.attachments[0];
    const key = mine(settings).kmsKeyId ?? 'the AWS-managed key aws/ebs';
    return {
      compliant: false,
      reason: `EBS volume ${resource.resourceId} (${state.volumeType}, ${state.size} GiB, ${state.state}) is not encrypted`,
      evidence: {
        state: state.state,
        volumeType: state.volumeType,
        sizeGiB: state.size,
        availabilityZone: state.availabilityZone,
        attachedTo: attachment?.instanceId ?? null,
        device: attachment?.device ?? null,
      },
      plan: attachment
        ? `Take an evidence snapshot of ${resource.resourceId} (attached to ${attachment.instanceId}) and notify`
        : `Snapshot ${resource.resourceId}, create an encrypted copy with ${key} in ${state.availabilityZone} with the same type, size, IOPS, throughput and tags, and quarantine the original (kept)`,
    };
  },

  async remediate(resource, _finding, ctx) {
    if (resource.state.state === 'creating')
      return { waitingFor: `volume ${resource.resourceId} to finish creating` };
    // A swap once begun continues as one, from the facts of its first run: the original may be
    // detached by now and the instance stopped, which must not read as a detached volume.
    if (ctx.workflow.state.instanceId !== undefined) return swapInUse(resource, ctx);
    if (resource.state.attachments.length > 0 || resource.state.state === 'in-use')
      return remediateInUse(resource, ctx);
    return replaceDetached(resource, ctx);
  },

  async keptAsEvidence(resource, incident, aws) {
    const { state } = resource;
    // Attached again, the original is in use as before: fresh drift, not evidence.
    if (state.encrypted || state.state !== 'available' || state.attachments.length > 0) return false;
    const made = incident.workflow?.state ?? {};
    const replacementId = made[Made.replacement];
    const snapshotId = made[Made.snapshot('source')];
    if (typeof replacementId !== 'string' || typeof snapshotId !== 'string') return false;
    // Lineage, from AWS's own fields: the replacement is encrypted and made from the incident's
    // snapshot, and that snapshot is of this volume.
    const ec2 = aws.ec2(resource.region);
    const replacement = await describeVolume(ec2, replacementId);
    if (
      replacement?.Encrypted !== true ||
      replacement.SnapshotId !== snapshotId ||
      !['available', 'in-use'].includes(replacement.State ?? '')
    )
      return false;
    return (await describeSnapshot(ec2, snapshotId))?.VolumeId === resource.resourceId;
  },

  async incidentFor(observation, aws) {
    // The tag only names a candidate incident; what the notified snapshot or volume was made from
    // is read from its own fields, and the pipeline follows it only to that volume's own incident.
    const ec2 = aws.ec2(observation.region);
    if (observation.resourceType === 'AWS::EC2::Snapshot') {
      const snapshot = await describeSnapshot(ec2, observation.resourceId);
      return claimOf(tagRecord(snapshot?.Tags)[VolumeTags.Incident], snapshot);
    }
    if (observation.resourceType === VOLUME) {
      const volume = await describeVolume(ec2, observation.resourceId);
      const source = volume?.SnapshotId ? await describeSnapshot(ec2, volume.SnapshotId) : undefined;
      return claimOf(tagRecord(volume?.Tags)[VolumeTags.Incident], source);
    }
    return undefined;
  },
});
