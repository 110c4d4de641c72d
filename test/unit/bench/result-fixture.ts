import { costPerMillion } from '../../../bench/cost';
import type { LambdaLimits } from '../../../bench/lambda';
import type { BenchResult } from '../../../bench/report';
import { summarize } from '../../../bench/stats';

/** serverless.yml's settings as the bench reads them: 256 MB and 60 s. */
export const LIMITS: LambdaLimits = {
  source: 'serverless.yml',
  byFunction: Object.fromEntries(
    ['ebs-volume-encrypted', 'phi-dedicated-tenancy', 'ssh-open-to-world', 'ssh-grant-expired'].map((fn) => [
      fn,
      { memoryMb: 256, timeoutSeconds: 60 },
    ]),
  ),
};

/** A fixed result, as one run would produce it: the report must follow from these numbers alone. */
export function aResult(
  overrides: Partial<Omit<BenchResult, 'losses' | 'headline'>> = {},
): Omit<BenchResult, 'losses' | 'headline'> {
  return {
    startedAt: '2026-11-24T00:00:00.000Z',
    scale: 'full',
    machine: { node: 'v20.0.0', cpus: 2, cpuModel: 'Test CPU', memoryGb: 8, platform: 'linux' },
    durationSeconds: 600,
    phaseSeconds: { bundles: 100, events: 50 },
    bundles: [
      {
        name: 'ssh-open-to-world',
        bundled: { rawBytes: 2048, gzipBytes: 1024, loadMs: summarize([100, 110, 120]) },
        external: { rawBytes: 512, gzipBytes: 256, loadMs: summarize([200, 220, 240]) },
      },
    ],
    events: [
      {
        name: 'AuthorizeSecurityGroupIngress',
        fn: 'ssh-open-to-world',
        handlerMs: summarize([40, 50, 60]),
        calls: summarize([20, 20, 20]),
        minimum: { calls: 5, named: 'read + revoke + verify + record + alert' },
        callsByAction: { UpdateItem: 11, GetItem: 4, RevokeSecurityGroupIngress: 1 },
        statuses: ['remediated'],
        errors: [],
        peakRssMb: 140,
        dynamoWrites: summarize([14, 14, 14]),
        guardWrites: summarize([1, 1, 1]),
        awsChanges: summarize([1, 1, 1]),
      },
    ],
    sweeps: [
      {
        account: { perType: 1000, drift: 10, groups: 30, users: 200, seedSeconds: 12 },
        ours: [
          {
            fn: 'ssh-open-to-world',
            covers: 'security-group rules',
            scale: 1000,
            wallMs: 2000,
            cpuMs: 900,
            calls: 60,
            minimum: { calls: 21, named: 'DescribeSecurityGroups + drifts' },
            callsByAction: { GetItem: 30, UpdateItem: 20 },
            peakRssMb: 150,
            driftFound: 10,
          },
        ],
        scans: [
          {
            fn: 'ssh-open-to-world',
            scale: 1000,
            wallMs: 800,
            cpuMs: 450,
            calls: 3,
            peakRssMb: 120,
            found: 10,
          },
        ],
        custodian: [
          {
            fn: 'ssh-open-to-world',
            policy: 'sg-ssh-open-to-world',
            scale: 1000,
            runMs: 1000,
            runCpuMs: 600,
            processCpuMs: 1500,
            calls: 2,
            callsByAction: { DescribeSecurityGroups: 2 },
            peakRssMb: 96,
            matched: 10,
          },
        ],
      },
    ],
    sweepEnforce: [
      {
        account: {
          perType: 1000,
          drift: 10,
          groups: 30,
          users: 200,
          seedSeconds: 12,
          driftVolumes: 'in-use',
        },
        custodianAccount: {
          perType: 1000,
          drift: 10,
          groups: 30,
          users: 200,
          seedSeconds: 13,
          driftVolumes: 'in-use',
        },
        ours: [
          {
            fn: 'ssh-open-to-world',
            covers: 'security-group rules',
            scale: 1000,
            wallMs: 3000,
            cpuMs: 1200,
            calls: 120,
            callsByAction: { RevokeSecurityGroupIngress: 10, UpdateItem: 40 },
            peakRssMb: 160,
            driftFound: 10,
            statuses: { remediated: 10 },
            stillDrifting: 0,
            units: { units: 2, longestMs: 2400, failedUnits: 0 },
          },
        ],
        custodian: [
          {
            fn: 'ssh-open-to-world',
            policy: 'sg-ssh-open-to-world-revoke',
            action: 'remove-permissions',
            scale: 1000,
            runMs: 1100,
            runCpuMs: 800,
            processCpuMs: 1700,
            calls: 12,
            callsByAction: { DescribeSecurityGroups: 2, RevokeSecurityGroupIngress: 10 },
            peakRssMb: 98,
            matched: 10,
            stillDrifting: 0,
          },
        ],
      },
    ],
    storm: {
      fn: 'ssh-open-to-world',
      events: 1000,
      drifts: 200,
      concurrency: 5,
      wallMs: 50_000,
      eventsPerSecond: 20,
      calls: 15_000,
      callsPerEvent: 15,
      incidents: 200,
      duplicateIncidents: 0,
      alerts: 200,
      duplicateAlerts: 0,
      remediated: 200,
      errors: [],
    },
    motoPatch: {
      items: 10_000,
      transactions: 3,
      itemBackupMs: summarize([4, 5, 6]),
      wholeTableBackupMs: summarize([400, 500, 600]),
      ratio: 0.01,
    },
    custodian: { version: '0.9.53', importMs: summarize([300, 330, 360]) },
    cost: [
      {
        fn: 'ssh-open-to-world',
        event: 'AuthorizeSecurityGroupIngress',
        peakRssMb: 140,
        cost: costPerMillion({ durationMs: 50, memoryMb: 140 }),
      },
    ],
    ...overrides,
  };
}
