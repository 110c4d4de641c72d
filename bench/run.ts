import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, freemem, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { buildCli, buildFunctions } from '../scripts/build';
import { measureBundles } from './bundles';
import { costPerMillion, memoryFor } from './cost';
import { custodianPython, measureCustodian, measureCustodianImport } from './custodian';
import {
  type CustodianEnforceRun,
  measureCustodianEnforce,
  measureDetachedEnforce,
  measureEnforceSweeps,
} from './enforce';
import { measureEvents } from './events';
import { Bench, ROOT } from './harness';
import { computeHeadline } from './headline';
import { deployedLimits } from './lambda';
import { measureMotoPatch } from './moto-patch';
import { type BenchResult, findLosses, renderReport } from './report';
import { measureScans } from './scan';
import { measureStorm } from './storm';
import { measureSweeps, type SeededAccount, seedAccount } from './sweep';

/**
 * npm run bench — one run on this machine, written to bench/report.md and bench/report.json.
 * BENCH_SCALE=quick (or --quick) is a small run for development, written to bench/out/ instead so it
 * never replaces the published report.
 */
const SCALES = {
  full: {
    coldRuns: 20,
    eventRuns: 10,
    sweep: [1_000, 10_000],
    storm: 1_000,
    c7nImportRuns: 10,
    motoPatch: { items: 10_000, transactions: 30 },
  },
  quick: {
    coldRuns: 5,
    eventRuns: 3,
    sweep: [100, 300],
    storm: 100,
    c7nImportRuns: 3,
    motoPatch: { items: 1_000, transactions: 10 },
  },
} as const;
/** serverless.yml's reservedConcurrency: at most this many environments handle the storm at once. */
const STORM_CONCURRENCY = 5;

const log = (text: string) => process.stderr.write(`[bench] ${text}\n`);

/** Times each part of the run, for the report's "time by part" line. */
async function phase<T>(phases: Record<string, number>, name: string, work: () => Promise<T>): Promise<T> {
  log(name);
  const started = performance.now();
  try {
    return await work();
  } finally {
    phases[name] = (performance.now() - started) / 1000;
  }
}

async function main(): Promise<void> {
  const scale = process.argv.includes('--quick') || process.env.BENCH_SCALE === 'quick' ? 'quick' : 'full';
  const plan = SCALES[scale];
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  log(`scale ${scale}; building bundles`);
  await Promise.all([buildFunctions(), buildCli()]);
  // Read before measuring: a serverless.yml the bench cannot read fails the run at once.
  const lambda = deployedLimits();
  const bench = await Bench.start();
  try {
    const phases: Record<string, number> = {};
    const bundles = await phase(phases, 'bundles', () => measureBundles(bench.env(), plan.coldRuns));
    const events = await phase(phases, 'events', () => measureEvents(bench, plan.eventRuns));
    const c7n = custodianPython();
    const custodian: BenchResult['custodian'] = c7n.python
      ? {
          version: c7n.version,
          importMs: await phase(phases, 'c7n import', async () =>
            measureCustodianImport(c7n.python as string, plan.c7nImportRuns),
          ),
        }
      : { unavailable: c7n.unavailable };
    const sweeps: BenchResult['sweeps'] = [];
    const sweepEnforce: BenchResult['sweepEnforce'] = [];
    for (const perType of plan.sweep) {
      await bench.reset();
      const account = await phase(phases, `seed ${perType}`, () => seedAccount(perType));
      const ours = await phase(phases, `sweep ${perType}`, () => measureSweeps(bench, account));
      // Read-only against read-only: our scan over the same account as c7n's filter policies.
      const scans = await phase(phases, `scan ${perType}`, () => measureScans(bench, perType));
      const theirs = c7n.python
        ? await phase(phases, `c7n ${perType}`, () => measureCustodian(c7n.python as string, perType))
        : [];
      sweeps.push({ account, ours, scans, custodian: theirs });
      // Enforce mode changes the account: each side gets its own, seeded alike, the drifting volumes
      // attached (c7n's only encrypting action takes attached volumes).
      await bench.reset();
      const enforced = await phase(phases, `seed ${perType} enforce`, () => seedAccount(perType, 'in-use'));
      const oursEnforced = await phase(phases, `sweep ${perType} enforce`, () =>
        measureEnforceSweeps(bench, enforced),
      );
      let custodianAccount: SeededAccount | undefined;
      let theirsEnforced: CustodianEnforceRun[] = [];
      if (c7n.python) {
        await bench.reset();
        custodianAccount = await phase(phases, `seed ${perType} c7n enforce`, () =>
          seedAccount(perType, 'in-use'),
        );
        theirsEnforced = await phase(phases, `c7n ${perType} enforce`, () =>
          measureCustodianEnforce(c7n.python as string, perType),
        );
      }
      // Our default path for a detached volume, which no c7n action matches: ours alone, on the notify seeding.
      await bench.reset();
      const detachedAccount = await phase(phases, `seed ${perType} detached`, () =>
        seedAccount(perType, 'detached', 'volumes'),
      );
      const detached = await phase(phases, `sweep ${perType} detached enforce`, () =>
        measureDetachedEnforce(bench, detachedAccount),
      );
      sweepEnforce.push({
        account: enforced,
        ...(custodianAccount ? { custodianAccount } : {}),
        ours: oursEnforced,
        custodian: theirsEnforced,
        detached: { account: detachedAccount, ours: detached },
      });
    }
    await bench.reset();
    const storm = await phase(phases, `storm ${plan.storm}`, () =>
      measureStorm(bench, plan.storm, STORM_CONCURRENCY),
    );
    const motoPatch = await phase(phases, 'moto patch', () =>
      measureMotoPatch(plan.motoPatch.items, plan.motoPatch.transactions),
    );
    const cost = events
      .filter((event) => event.errors.length === 0)
      .map((event) => ({
        fn: event.fn,
        event: event.name,
        peakRssMb: event.peakRssMb,
        cost: costPerMillion({ durationMs: event.handlerMs.median, memoryMb: memoryFor(event.peakRssMb) }),
      }));
    const measured: Omit<BenchResult, 'losses' | 'headline'> = {
      startedAt,
      scale,
      machine: {
        node: process.version,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown CPU',
        memoryGb: totalmem() / 1024 ** 3,
        platform: `${platform()} ${release()} (${(freemem() / 1024 ** 3).toFixed(1)} GB free at the end)`,
      },
      durationSeconds: (Date.now() - started) / 1000,
      phaseSeconds: phases,
      bundles,
      events,
      sweeps,
      sweepEnforce,
      storm,
      motoPatch,
      custodian,
      cost,
    };
    const result: BenchResult = {
      ...measured,
      losses: findLosses(measured),
      headline: computeHeadline(measured, lambda),
    };
    const dir = scale === 'full' ? join(ROOT, 'bench') : join(ROOT, 'bench', 'out');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'report.json'), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(dir, 'report.md'), renderReport(result));
    log(`done in ${result.durationSeconds.toFixed(0)} s: ${join(dir, 'report.md')}`);
  } finally {
    await bench.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
