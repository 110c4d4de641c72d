import {
  AttachVolumeCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateVolumeCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  CreateUserCommand,
  IAMClient,
  UpdateSSHPublicKeyCommand,
  UploadSSHPublicKeyCommand,
} from '@aws-sdk/client-iam';
import { scheduledEvent } from '../scripts/lib/events';
import { type RecordedCall, recordCalls } from '../scripts/lib/recorder';
import { mapWithConcurrency } from '../shared/concurrency';
import { PUBLIC_KEY } from './events';
import {
  ACCOUNT,
  type Bench,
  BenchSweepQueue,
  bundlePath,
  FunctionProcess,
  type Invocation,
  REGION,
} from './harness';

/** An account seeded with `perType` volumes, instances, security-group rules and SSH keys, `drift` of each drifting. */
export interface SeededAccount {
  perType: number;
  drift: number;
  groups: number;
  users: number;
  seedSeconds: number;
  /** Where the drifting volumes are: detached (the notify section), or attached to compliant instances. */
  driftVolumes?: DriftVolumes;
  /** `volumes`: instances and volumes only, no security groups or SSH keys (one family's account). */
  only?: 'volumes';
}

/**
 * `detached`: the drifting volumes stand alone (every volume the notify section seeds is detached).
 * `in-use`: each is attached to one of the compliant (non-PHI) instances, the only volumes Cloud
 * Custodian's encrypt-instance-volumes takes; every other count and the drift share are the same.
 */
export type DriftVolumes = 'detached' | 'in-use';
/** Where an in-use drifting volume is attached: a data device, so the root volume stays as it is. */
export const IN_USE_DEVICE = '/dev/sdf';

export interface SweepResult {
  fn: string;
  covers: string;
  scale: number;
  wallMs: number;
  /** The function process's user+system CPU over the sweep invocation (warm: load excluded), in ms. */
  cpuMs: number;
  calls: number;
  minimum: { calls: number; named: string };
  callsByAction: Record<string, number>;
  peakRssMb: number;
  driftFound: number;
  /** Resources the sweep judged (security groups, users: what a sweep unit counts), when known. */
  judged?: number;
  error?: string;
}

/** moto accepts many rules in one call, but no more than 60 per VPC group. */
export const RULES_PER_GROUP = 50;
export const KEYS_PER_USER = 5;
const INSTANCES_PER_CALL = 500;
const SEED_CONCURRENCY = 8;
/** A sweep in notify mode: the account stays as seeded, so Cloud Custodian sees the same drift afterwards. */
export const SWEEP_MODES = {
  MODE_EBS_VOLUME_ENCRYPTED: 'notify',
  MODE_PHI_DEDICATED_TENANCY: 'notify',
  MODE_SSH_OPEN_TO_WORLD: 'notify',
  MODE_SSH_GRANT_EXPIRED: 'notify',
};

export const driftFor = (perType: number): number => Math.max(2, Math.round(perType / 100));

const chunks = (total: number, size: number): number[] =>
  Array.from({ length: Math.ceil(total / size) }, (_, index) => Math.min(size, total - index * size));

/**
 * Seeds untagged where it can (moto scans every stored tag for each volume it describes) and batches
 * where the API allows: RunInstances by 500, one AuthorizeSecurityGroupIngress per group of 50 rules.
 * Instances come first: moto's RunInstances looks through every volume for each root volume it makes.
 */
export async function seedAccount(
  perType: number,
  driftVolumes: DriftVolumes = 'detached',
  only?: 'volumes',
): Promise<SeededAccount> {
  const started = Date.now();
  const drift = driftFor(perType);
  const ec2 = new EC2Client({ region: REGION });
  const iam = new IAMClient({ region: REGION });
  const encryptedRoot = [{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: 8, Encrypted: true } }];
  // Instances: the drifting ones hold PHI (tag phi=true) on shared tenancy.
  const compliant = await mapWithConcurrency(chunks(perType - drift, INSTANCES_PER_CALL), 2, (count) =>
    ec2.send(
      new RunInstancesCommand({
        ImageId: 'ami-12c6146b',
        InstanceType: 't3.micro',
        MinCount: count,
        MaxCount: count,
        BlockDeviceMappings: encryptedRoot,
      }),
    ),
  );
  const hosts = compliant.flatMap((reservation) =>
    (reservation.Instances ?? []).map((instance) => instance.InstanceId ?? ''),
  );
  await ec2.send(
    new RunInstancesCommand({
      ImageId: 'ami-12c6146b',
      InstanceType: 't3.micro',
      MinCount: drift,
      MaxCount: drift,
      BlockDeviceMappings: encryptedRoot,
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'phi', Value: 'true' }] }],
    }),
  );
  // Volumes: encrypted but for the drifting ones.
  await mapWithConcurrency(
    Array.from({ length: perType }, (_, index) => index),
    SEED_CONCURRENCY,
    async (index) => {
      const volume = await ec2.send(
        new CreateVolumeCommand({
          AvailabilityZone: `${REGION}a`,
          Size: 1,
          VolumeType: 'gp3',
          Encrypted: index >= drift,
        }),
      );
      if (driftVolumes === 'detached' || index >= drift) return;
      await ec2.send(
        new AttachVolumeCommand({
          VolumeId: volume.VolumeId,
          InstanceId: hosts[index],
          Device: IN_USE_DEVICE,
        }),
      );
    },
  );
  const groups = only === 'volumes' ? 0 : await seedRules(ec2, perType, drift);
  const users = only === 'volumes' ? 0 : await seedKeys(iam, perType, drift);
  return {
    perType,
    drift,
    groups,
    users,
    seedSeconds: (Date.now() - started) / 1000,
    driftVolumes,
    ...(only === 'volumes' ? { only } : {}),
  };
}

/** Security-group rules: HTTPS from single addresses, 50 to a group; the drifting groups open SSH to the world. */
async function seedRules(ec2: EC2Client, perType: number, drift: number): Promise<number> {
  const ruleGroups = chunks(perType - drift, RULES_PER_GROUP);
  await mapWithConcurrency(
    ruleGroups.map((count, index) => ({ count, index })),
    SEED_CONCURRENCY,
    async ({ count, index }) => {
      const group = await ec2.send(
        new CreateSecurityGroupCommand({ GroupName: `bench-${index}`, Description: 'bench https' }),
      );
      await ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: group.GroupId,
          IpPermissions: [
            {
              IpProtocol: 'tcp',
              FromPort: 443,
              ToPort: 443,
              IpRanges: Array.from({ length: count }, (_, host) => ({
                CidrIp: `10.${Math.floor(index / 250)}.${index % 250}.${host + 1}/32`,
              })),
            },
          ],
        }),
      );
    },
  );
  await mapWithConcurrency(
    Array.from({ length: drift }, (_, index) => index),
    SEED_CONCURRENCY,
    async (index) => {
      const group = await ec2.send(
        new CreateSecurityGroupCommand({ GroupName: `bench-open-${index}`, Description: 'bench ssh' }),
      );
      await ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: group.GroupId,
          IpPermissions: [
            { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
          ],
        }),
      );
    },
  );
  return ruleGroups.length + drift;
}

/** SSH keys: five to a user, Inactive (closed, as the responder leaves them) but one Active key of each drifting user. */
async function seedKeys(iam: IAMClient, perType: number, drift: number): Promise<number> {
  const keyUsers = chunks(perType, KEYS_PER_USER);
  await mapWithConcurrency(
    keyUsers.map((count, index) => ({ count, index })),
    SEED_CONCURRENCY,
    async ({ count, index }) => {
      const UserName = `bench-user-${index}`;
      await iam.send(new CreateUserCommand({ UserName }));
      for (let key = 0; key < count; key++) {
        const uploaded = await iam.send(
          new UploadSSHPublicKeyCommand({ UserName, SSHPublicKeyBody: PUBLIC_KEY }),
        );
        if (index < drift && key === 0) continue;
        await iam.send(
          new UpdateSSHPublicKeyCommand({
            UserName,
            SSHPublicKeyId: uploaded.SSHPublicKey?.SSHPublicKeyId,
            Status: 'Inactive',
          }),
        );
      }
    },
  );
  return keyUsers.length;
}

/** Pages at the API's largest page size, plus one incident write and one alert per drift (notify mode). */
export function sweepMinimum(fn: string, account: SeededAccount): { calls: number; named: string } {
  const pages = (items: number, size: number) => Math.max(1, Math.ceil(items / size));
  const perDrift = 2 * account.drift;
  const driftWords = `+ ${account.drift} drifts × (1 incident write + 1 Publish)`;
  switch (fn) {
    case 'ebs-volume-encrypted':
      return {
        calls: pages(account.drift, 500) + perDrift,
        named: `DescribeVolumes filtered to unencrypted, 500 a page ${driftWords}`,
      };
    case 'phi-dedicated-tenancy':
      return {
        calls: pages(account.drift, 1000) + perDrift,
        named: `DescribeInstances filtered to tag phi=true, 1,000 a page ${driftWords}`,
      };
    case 'ssh-open-to-world':
      return {
        calls: pages(account.groups, 1000) + perDrift,
        named: `DescribeSecurityGroups (rules included), 1,000 a page ${driftWords}`,
      };
    default:
      return {
        calls: pages(account.users, 1000) + account.users + 1 + pages(account.groups, 1000) + perDrift,
        named: `ListUsers (1,000 a page) + ListSSHPublicKeys per user (IAM has no account-wide listing) + 1 grant-ledger Query + DescribeSecurityGroups ${driftWords}`,
      };
  }
}

export const SWEPT: readonly { fn: string; covers: string }[] = [
  { fn: 'ebs-volume-encrypted', covers: 'volumes' },
  { fn: 'phi-dedicated-tenancy', covers: 'instances' },
  { fn: 'ssh-open-to-world', covers: 'security-group rules' },
  { fn: 'ssh-grant-expired', covers: 'IAM SSH keys (and narrow SSH rules)' },
];

export const countBy = (actions: readonly string[]): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const action of actions) counts[action] = (counts[action] ?? 0) + 1;
  return counts;
};

/** One scheduled sweep of one rule, in its own fresh process: what it returned, its calls and its peak memory. */
export interface SweepRun {
  invocation?: Invocation;
  calls: RecordedCall[];
  peakRssMb: number;
}

/** A rule's scheduled sweep, once, in a fresh function process (so its peak memory is its own). */
export async function sweepOnce(bench: Bench, fn: string, modes: Record<string, string>): Promise<SweepRun> {
  const worker = await FunctionProcess.start(bundlePath(fn), bench.env(modes));
  try {
    let invocation: Invocation | undefined;
    const calls = await recordCalls(async () => {
      invocation = await worker.invoke(scheduledEvent({ accountId: ACCOUNT, region: REGION }));
    });
    return { invocation, calls, peakRssMb: await worker.peakRssMb() };
  } finally {
    worker.stop();
  }
}

/** How a sweep run as units went: how many invocations, the longest, and units left to deliver again. */
export interface UnitsRun {
  units: number;
  longestMs: number;
  failedUnits: number;
}

/**
 * A rule's scheduled sweep as deployed: the scheduled invocation of the rule's function plans its
 * units onto the rule's queue, then every unit and every continuation runs, one invocation each, in
 * one warm process of its sweep function (`<rule id>-sweep`: the same bundle, an environment of its
 * own). The invocation returned adds them up: wall and CPU summed, every unit's outcomes, the first
 * error; the peak memory is the larger of the two processes'.
 */
export async function sweepInUnits(
  bench: Bench,
  fn: string,
  modes: Record<string, string>,
): Promise<SweepRun & { units: UnitsRun }> {
  const queue = await BenchSweepQueue.create(String(bench.stack.env.STACK_NAME), fn);
  const env = bench.env({ ...modes, ...queue.env });
  const worker = await FunctionProcess.start(bundlePath(fn), env);
  const sweeper = await FunctionProcess.start(bundlePath(fn), env).catch((error: unknown) => {
    worker.stop();
    throw error;
  });
  try {
    let invocations: Invocation[] = [];
    let failedUnits = 0;
    const calls = await recordCalls(async () => {
      const plan = await worker.invoke(scheduledEvent({ accountId: ACCOUNT, region: REGION }));
      const drained = await queue.drain(sweeper);
      invocations = [plan, ...drained.invocations];
      failedUnits = drained.failedUnits;
    });
    const units = invocations.slice(1);
    const error =
      invocations.find((invocation) => invocation.error)?.error ??
      (failedUnits > 0 ? `${failedUnits} sweep unit(s) failed (batchItemFailures)` : undefined);
    const invocation: Invocation = {
      ms: invocations.reduce((sum, each) => sum + each.ms, 0),
      cpuMs: invocations.reduce((sum, each) => sum + each.cpuMs, 0),
      result: { outcomes: invocations.flatMap((each) => each.result?.outcomes ?? []) },
      ...(error && { error }),
    };
    return {
      invocation,
      // The bench's own receives and deletes (playing Lambda's event source mapping) are not the function's.
      calls: calls.filter((call) => call.action !== 'ReceiveMessage' && call.action !== 'DeleteMessage'),
      peakRssMb: Math.max(await worker.peakRssMb(), await sweeper.peakRssMb()),
      units: {
        units: units.length,
        longestMs: Math.max(0, ...units.map((unit) => unit.ms)),
        failedUnits,
      },
    };
  } finally {
    worker.stop();
    sweeper.stop();
  }
}

/** Each rule's scheduled sweep, once, in its own fresh process (so its peak memory is its own). */
export async function measureSweeps(bench: Bench, account: SeededAccount): Promise<SweepResult[]> {
  const results: SweepResult[] = [];
  for (const { fn, covers } of SWEPT) {
    const { invocation, calls, peakRssMb } = await sweepOnce(bench, fn, SWEEP_MODES);
    const outcomes = invocation?.result?.outcomes ?? [];
    results.push({
      fn,
      covers,
      scale: account.perType,
      wallMs: invocation?.ms ?? Number.NaN,
      cpuMs: invocation?.cpuMs ?? Number.NaN,
      calls: calls.length,
      minimum: sweepMinimum(fn, account),
      callsByAction: countBy(calls.map((call) => call.action)),
      peakRssMb,
      driftFound: outcomes.filter((outcome) => outcome.incidentId).length,
      judged: outcomes.length,
      error: invocation?.error,
    });
  }
  return results;
}
