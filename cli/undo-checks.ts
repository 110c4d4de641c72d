import {
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  type EC2Client,
  type Instance,
  type Snapshot,
  type Volume,
} from '@aws-sdk/client-ec2';
import { isAwsError } from '../shared/aws/aws-errors';
import type { AwsClients } from '../shared/aws/clients';
import type { Settings } from '../shared/config';
import type { Incident, Step } from '../shared/model';

/**
 * The reads `incidents undo` makes before it asks: each recorded undo call is checked against AWS
 * as it is now. Read-only; a refusal is an UndoRefused with the reason in a few words.
 */

/** A recorded undo call that must not run: why, in a few words. */
export class UndoRefused extends Error {
  override readonly name = 'UndoRefused';
}

/** What a check reads AWS with, and the record it checks the call against. */
export interface CheckContext {
  readonly aws: AwsClients;
  readonly settings: Settings;
  /** Where the call runs: the incident's region (IAM's: us-east-1). */
  readonly region: string;
  readonly incident: Incident;
  /** The step the call undoes, and its number as `incidents show` prints it. */
  readonly step: Step;
  readonly stepNumber: number;
}

/** Runs one read; an AWS "not found" of it is undefined, anything else (denied, throttled) propagates. */
async function found<T>(read: () => Promise<T | undefined>, ...notFound: string[]): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (isAwsError(error, ...notFound)) return undefined;
    throw error;
  }
}

export const readVolume = (ec2: EC2Client, volumeId: string): Promise<Volume | undefined> =>
  found(
    async () => (await ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }))).Volumes?.[0],
    'InvalidVolume.NotFound',
    'InvalidVolumeID.Malformed',
  );

export const readInstance = (ec2: EC2Client, instanceId: string): Promise<Instance | undefined> =>
  found(
    async () =>
      (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))).Reservations?.[0]
        ?.Instances?.[0],
    'InvalidInstanceID.NotFound',
    'InvalidInstanceID.Malformed',
  );

export const readSnapshot = (ec2: EC2Client, snapshotId: string): Promise<Snapshot | undefined> =>
  found(
    async () => (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }))).Snapshots?.[0],
    'InvalidSnapshot.NotFound',
    'InvalidSnapshotID.Malformed',
  );

/** Refuses unless the read found something: `what` does not exist in the region (the account's). */
export function existing<T>(value: T | undefined, what: string, at: CheckContext): T {
  if (value === undefined) {
    throw new UndoRefused(`${what} does not exist in ${at.region} (account ${at.incident.account})`);
  }
  return value;
}

/**
 * Lineage the responder cannot be lied to about: an encrypted volume made from a snapshot, in this
 * account, of the original volume (EC2's own SnapshotId and VolumeId fields, not tags). The snapshot.
 */
export async function copyOf(
  ec2: EC2Client,
  volume: Volume,
  originalId: string,
  account: string,
): Promise<string | undefined> {
  if (volume.Encrypted !== true || !volume.SnapshotId) return undefined;
  const snapshot = await readSnapshot(ec2, volume.SnapshotId);
  return snapshot?.VolumeId === originalId && snapshot.OwnerId === account ? snapshot.SnapshotId : undefined;
}

/**
 * How an instance holds the incident's volume now, in words: the original itself, or an encrypted
 * copy of it (a swap) at some device; undefined when it holds neither.
 */
export async function howInstanceHolds(
  ec2: EC2Client,
  instance: Instance,
  originalId: string,
  account: string,
): Promise<string | undefined> {
  for (const mapping of instance.BlockDeviceMappings ?? []) {
    const volumeId = mapping.Ebs?.VolumeId;
    if (!volumeId) continue;
    if (volumeId === originalId) return `holds ${originalId} at ${mapping.DeviceName}`;
    const volume = await readVolume(ec2, volumeId);
    const snapshot = volume && (await copyOf(ec2, volume, originalId, account));
    if (snapshot) {
      return `holds ${volumeId} at ${mapping.DeviceName}, an encrypted copy of ${originalId} (from ${snapshot})`;
    }
  }
  return undefined;
}
