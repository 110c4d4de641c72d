import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  EC2Client,
  type IpPermission,
} from '@aws-sdk/client-ec2';
import { IAMClient, ListSSHPublicKeysCommand, ListUsersCommand } from '@aws-sdk/client-iam';
import { mapWithConcurrency } from '../shared/concurrency';
import { CUSTODIAN_POLICIES, type CustodianRun, runCustodianPolicy } from './custodian';
import { type Bench, REGION } from './harness';
import { countBy, type SeededAccount, SWEPT, type SweepResult, sweepInUnits, type UnitsRun } from './sweep';

/**
 * The sweep in enforce mode against Cloud Custodian's equivalent action, each on its own freshly
 * seeded account (the same seeding, so the same drift), then a count of what is still drifting,
 * read by this module (not by either tool): a side that changed nothing is not a comparison.
 */

/** Every swept rule in enforce mode; tenancy with its default action (stop); in-use volumes swapped. */
export const ENFORCE_MODES = {
  MODE_EBS_VOLUME_ENCRYPTED: 'enforce',
  MODE_PHI_DEDICATED_TENANCY: 'enforce',
  MODE_SSH_OPEN_TO_WORLD: 'enforce',
  MODE_SSH_GRANT_EXPIRED: 'enforce',
  TENANCY_ACTION: 'stop',
  EBS_IN_USE_ACTION: 'swap',
};

/** The row of our detached-volume remediation (the notify section's seeding), which c7n has no action for. */
export const DETACHED = 'ebs-volume-encrypted (detached)';

/** What our enforce sweep does to each family's drift under ENFORCE_MODES, in the report's words. */
export const OUR_ACTIONS: Record<string, string> = {
  [DETACHED]: 'snapshot, encrypted copy, original quarantined and kept (the default)',
  'ebs-volume-encrypted': 'swap (EBS_IN_USE_ACTION=swap): stop, snapshot, encrypted copy, swap, start',
  'phi-dedicated-tenancy': 'stop (TENANCY_ACTION=stop, the default)',
  'ssh-open-to-world': 'revoke the rule',
  'ssh-grant-expired': 'deactivate the key (Inactive)',
};

/** The key both sides encrypt with: ours by default (no EBS_KMS_KEY_ID), c7n's by its alias. */
const EBS_KEY_ALIAS = 'alias/aws/ebs';

/** Cloud Custodian's action for a family, its policy, and what differs from ours; or why it has none. */
export type CustodianAction =
  | { action: string; policy: string; yaml: string; differs: string }
  | { action: null; none: string };

/** The notify section's filters (its policies' text from `    filters:` on), so both sections match the same resources. */
const filtersOf = (fn: string): string => {
  const yaml = CUSTODIAN_POLICIES[fn]?.yaml ?? '';
  return yaml.slice(yaml.indexOf('    filters:'));
};

/** Found in c7n's schema (`custodian schema aws.<resource>.actions.<action>`) and its source, 0.9.53. */
export const CUSTODIAN_ACTIONS: Record<string, CustodianAction> = {
  [DETACHED]: {
    action: null,
    none:
      'no c7n action encrypts a detached volume: of its aws.ebs actions, snapshot, delete, detach and modify (type, ' +
      'size, IOPS) change a volume without encrypting it, and encrypt-instance-volumes works through the instance a ' +
      'volume is attached to',
  },
  'ebs-volume-encrypted': {
    action: 'encrypt-instance-volumes',
    policy: 'ebs-encrypt-in-use',
    yaml:
      '  - name: ebs-encrypt-in-use\n    resource: aws.ebs\n    filters:\n      - Encrypted: false\n' +
      '      - type: value\n        key: "Attachments[0].InstanceId"\n        value: present\n' +
      `    actions:\n      - type: encrypt-instance-volumes\n        key: ${EBS_KEY_ALIAS}\n        delay: 0\n`,
    differs:
      'in-use volumes only (c7n has no action that encrypts a detached volume, so this section attaches the drifting ' +
      'volumes); c7n deletes the unencrypted original, ours keeps it detached and quarantined as evidence; `delay: 0` ' +
      "skips c7n's default 15 s sleep per volume between detach and attach (moto is consistent at once)",
  },
  'phi-dedicated-tenancy': {
    action: 'stop',
    policy: 'ec2-phi-shared-tenancy-stop',
    yaml: `  - name: ec2-phi-shared-tenancy-stop\n    resource: aws.ec2\n${filtersOf('phi-dedicated-tenancy')}    actions:\n      - stop\n`,
    differs:
      'stop against our default tenancyAction=stop (ours also tags the instance with its incident and reads what a ' +
      'stop costs first); c7n has no re-tenancy action, so our `retenancy` has no equivalent',
  },
  'ssh-open-to-world': {
    action: 'remove-permissions',
    policy: 'sg-ssh-open-to-world-revoke',
    yaml: `  - name: sg-ssh-open-to-world-revoke\n    resource: aws.security-group\n${filtersOf('ssh-open-to-world')}    actions:\n      - type: remove-permissions\n        ingress: matched\n`,
    differs: 'both revoke the matched ingress rules',
  },
  'ssh-grant-expired': {
    action: 'delete-ssh-keys',
    policy: 'iam-active-ssh-keys-disable',
    yaml: `  - name: iam-active-ssh-keys-disable\n    resource: aws.iam-user\n${filtersOf('ssh-grant-expired')}    actions:\n      - type: delete-ssh-keys\n        matched: true\n        disable: true\n`,
    differs:
      'delete-ssh-keys with `disable: true` sets the matched keys Inactive, as ours does; c7n has no grant ledger, so it ' +
      'closes every Active key (here the same keys: none was granted), and nothing of it covers expired SSH rules',
  },
};

/** Our enforce-mode sweep of one family over its seeded account, and what it left drifting. */
export interface EnforceSweepResult extends Omit<SweepResult, 'minimum' | 'judged'> {
  /** The sweep's outcomes by incident status (remediated, failed, open…). */
  statuses: Record<string, number>;
  /** Resources of this family still drifting after the sweep, by this bench's own reads. */
  stillDrifting: number;
  /** The sweep ran as units through the rule's queue (wall and CPU above are their sums). */
  units?: UnitsRun;
}

/** Cloud Custodian's action policy over its own identically seeded account, and what it left drifting. */
export interface CustodianEnforceRun extends CustodianRun {
  action: string;
  stillDrifting: number;
  /** What of moto the action's logged failure comes from, when it is a known emulator gap. */
  motoGap?: string;
}

/** Failures c7n logs (and exits 0 after) that come from moto, not from c7n or the account. */
const MOTO_GAPS: readonly { logged: RegExp; gap: string }[] = [
  {
    logged: /'DeleteOnTermination'/,
    gap:
      "moto 5.2.1's DescribeVolumes returns attachments without DeleteOnTermination (AWS always sends it); " +
      'encrypt-instance-volumes reads it after attaching the encrypted copy and fails (KeyError), so the instance ' +
      'is not started again and the unencrypted original is not deleted',
  },
];

export const motoGapOf = (loggedErrors: readonly string[] = []): string | undefined =>
  MOTO_GAPS.find(({ logged }) => loggedErrors.some((line) => logged.test(line)))?.gap;

/** One scale of the enforce section: each side's account, our sweeps, c7n's action policies. */
export interface EnforceSection {
  account: SeededAccount;
  custodianAccount?: SeededAccount;
  ours: EnforceSweepResult[];
  custodian: CustodianEnforceRun[];
  /** Our sweep of detached unencrypted volumes, seeded as the notify section (volumes and instances only): ours alone. */
  detached?: { account: SeededAccount; ours: EnforceSweepResult };
}

const WORLD = ['0.0.0.0/0', '::/0'];
const coversSsh = (permission: IpPermission): boolean =>
  permission.IpProtocol === '-1' || ((permission.FromPort ?? 0) <= 22 && 22 <= (permission.ToPort ?? -1));

/**
 * Counts what is still drifting, family by family, with reads of its own:
 * volumes: unencrypted and attached, or unencrypted with no encrypted volume made from a snapshot of
 * it (the lineage the trust model accepts, not a tag); instances: tagged phi=true, on shared
 * tenancy and running; security groups: ingress rules open to the world on port 22; IAM: Active SSH keys.
 */
export async function countDrifting(fn: string): Promise<number> {
  const ec2 = new EC2Client({ region: REGION });
  switch (fn) {
    case 'ebs-volume-encrypted': {
      const [volumes, snapshots] = await Promise.all([
        ec2.send(new DescribeVolumesCommand({})),
        ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] })),
      ]);
      const sourceOf = new Map((snapshots.Snapshots ?? []).map((s) => [s.SnapshotId, s.VolumeId]));
      const replaced = new Set(
        (volumes.Volumes ?? [])
          .filter((volume) => volume.Encrypted && volume.SnapshotId)
          .map((volume) => sourceOf.get(volume.SnapshotId)),
      );
      return (volumes.Volumes ?? []).filter(
        (volume) =>
          !volume.Encrypted && ((volume.Attachments ?? []).length > 0 || !replaced.has(volume.VolumeId)),
      ).length;
    }
    case 'phi-dedicated-tenancy': {
      let count = 0;
      let NextToken: string | undefined;
      do {
        const page = await ec2.send(
          new DescribeInstancesCommand({
            Filters: [
              { Name: 'tag:phi', Values: ['true'] },
              { Name: 'instance-state-name', Values: ['pending', 'running'] },
            ],
            NextToken,
          }),
        );
        for (const reservation of page.Reservations ?? [])
          count += (reservation.Instances ?? []).filter(
            (instance) => (instance.Placement?.Tenancy ?? 'default') === 'default',
          ).length;
        NextToken = page.NextToken;
      } while (NextToken);
      return count;
    }
    case 'ssh-open-to-world': {
      let count = 0;
      let NextToken: string | undefined;
      do {
        const page = await ec2.send(new DescribeSecurityGroupsCommand({ NextToken }));
        for (const group of page.SecurityGroups ?? [])
          for (const permission of (group.IpPermissions ?? []).filter(coversSsh))
            count +=
              (permission.IpRanges ?? []).filter((range) => WORLD.includes(range.CidrIp ?? '')).length +
              (permission.Ipv6Ranges ?? []).filter((range) => WORLD.includes(range.CidrIpv6 ?? '')).length;
        NextToken = page.NextToken;
      } while (NextToken);
      return count;
    }
    default: {
      const iam = new IAMClient({ region: REGION });
      const users: string[] = [];
      let Marker: string | undefined;
      do {
        const page = await iam.send(new ListUsersCommand({ Marker }));
        users.push(...(page.Users ?? []).map((user) => user.UserName ?? ''));
        Marker = page.IsTruncated ? page.Marker : undefined;
      } while (Marker);
      const active = await mapWithConcurrency(users, 8, async (UserName) => {
        const keys = await iam.send(new ListSSHPublicKeysCommand({ UserName }));
        return (keys.SSHPublicKeys ?? []).filter((key) => key.Status === 'Active').length;
      });
      return active.reduce((sum, count) => sum + count, 0);
    }
  }
}

/**
 * Each family's scheduled sweep in enforce mode, one fresh process each, run as deployed: planned
 * into units on the rule's queue, every unit and continuation drained (each unit keeps to its share
 * of a 60 s invocation, so a unit full of remediations hands the rest on); then what it left drifting.
 */
export async function measureEnforceSweeps(
  bench: Bench,
  account: SeededAccount,
  families: readonly { fn: string; covers: string }[] = SWEPT,
): Promise<EnforceSweepResult[]> {
  const results: EnforceSweepResult[] = [];
  for (const { fn, covers } of families) {
    const { invocation, calls, peakRssMb, units } = await sweepInUnits(bench, fn, ENFORCE_MODES);
    const outcomes = invocation?.result?.outcomes ?? [];
    const found = outcomes.filter((outcome) => outcome.incidentId);
    results.push({
      fn,
      covers,
      scale: account.perType,
      wallMs: invocation?.ms ?? Number.NaN,
      cpuMs: invocation?.cpuMs ?? Number.NaN,
      calls: calls.length,
      callsByAction: countBy(calls.map((call) => call.action)),
      peakRssMb,
      driftFound: found.length,
      statuses: countBy(found.map((outcome) => outcome.status ?? 'unknown')),
      stillDrifting: await countDrifting(fn),
      error: invocation?.error,
      units,
    });
  }
  return results;
}

/** Our sweep of the detached unencrypted volumes of an account seeded as the notify section's (volumes only). */
export async function measureDetachedEnforce(
  bench: Bench,
  account: SeededAccount,
): Promise<EnforceSweepResult> {
  const [ours] = await measureEnforceSweeps(bench, account, [
    { fn: 'ebs-volume-encrypted', covers: 'volumes' },
  ]);
  if (!ours) throw new Error('the detached-volume sweep returned no result');
  return { ...ours, fn: DETACHED, covers: 'detached volumes' };
}

/** Each family's c7n action policy (where c7n has one), one process each, then what it left drifting. */
export async function measureCustodianEnforce(python: string, scale: number): Promise<CustodianEnforceRun[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-c7n-enforce-'));
  const results: CustodianEnforceRun[] = [];
  for (const { fn } of SWEPT) {
    const equivalent = CUSTODIAN_ACTIONS[fn];
    if (!equivalent || equivalent.action === null) continue;
    const run = await runCustodianPolicy(python, { fn, ...equivalent }, scale, dir);
    const motoGap = motoGapOf(run.loggedErrors);
    results.push({
      ...run,
      action: equivalent.action,
      stillDrifting: await countDrifting(fn),
      ...(motoGap ? { motoGap } : {}),
    });
  }
  return results;
}
