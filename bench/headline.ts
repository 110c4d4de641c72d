import type { CustodianRun } from './custodian';
import { CUSTODIAN_ACTIONS, DETACHED, type EnforceSection } from './enforce';
import { type LambdaLimits, vcpuShare } from './lambda';
import type { BenchResult } from './report';
import type { ScanResult } from './scan';
import { SWEPT, type SweepResult } from './sweep';

/**
 * Issue 21's headline: each figure computed from one run's measured results, with its target and
 * whether it is met, or `null` with the reason it was not measured in this run. Nothing here is a
 * constant standing in for a measurement: a figure with no measurement behind it is null.
 */

/** A measured figure: its value, what it was computed from, and its target when it has one. */
export interface Measured {
  value: number;
  /** The inputs in words, e.g. "scan 400 ms CPU / c7n 1,600 ms CPU". */
  basis: string;
  /** The target's bound (the figure must be at most this), when the figure has a target. */
  limit?: number;
  met?: boolean;
}

/** A figure this run did not measure (or cannot be computed from what it measured), and why. */
export interface Unmeasured {
  value: null;
  reason: string;
  /** Set only where the target is decided without a number (a minimum of 0 calls, and 0 made). */
  met?: boolean;
}

export type Figure = Measured | Unmeasured;

/** The scales the headline compares at: resources of each kind. */
export const HEADLINE_SCALES = [1_000, 10_000] as const;
export type ScaleKey = `${(typeof HEADLINE_SCALES)[number]}`;

export interface TargetResult {
  name: string;
  target: string;
  /** true: every figure meets it; false: at least one misses; null: none missed but some were not measured. */
  met: boolean | null;
  misses: string[];
  unmeasured: string[];
}

export interface Headline {
  lambda: LambdaLimits;
  scanCpuRatioVsC7n: Record<string, Record<ScaleKey, Figure>>;
  sweepCpuRatioVsC7n: Record<string, Record<ScaleKey, Figure>>;
  /** Our enforce-mode sweep against c7n's equivalent action; null where c7n has none or a side left drift. */
  sweepEnforceCpuRatioVsC7n: Record<string, Record<ScaleKey, Figure>>;
  eventCallsPerMinimum: Record<string, Figure & { fn: string }>;
  dynamoWritesPerRemediation: Record<string, (Figure & { n?: number }) & { fn: string }>;
  coldLoadMsMedian: Record<string, Figure>;
  coldLoadRatioVsC7nImport: Record<string, Figure>;
  stormEventsPerSecond: Figure;
  stormCallsPerEvent: Figure;
  projectedUnitSecondsAt10k: Record<string, Figure & { memoryMb?: number; timeoutSeconds?: number }>;
  targets: TargetResult[];
}

export type HeadlineInputs = Omit<BenchResult, 'losses' | 'headline'>;

export const TARGETS = {
  scanCpu: { ratio: 1 / 3, words: "scan client CPU ≤ ⅓ of c7n's, every family, at 1,000 and 10,000" },
  eventCalls: { ratio: 1.5, words: 'AWS calls per event ≤ 1.5× the named minimum, every event type' },
  coldLoad: { ms: 120, words: 'cold module load ≤ 120 ms median, every function' },
  projected: {
    share: 0.5,
    words: 'projected sweep unit ≤ ½ the timeout at the configured memory, every family',
  },
  dynamoWrites: {
    extra: 2,
    words: 'DynamoDB writes per event ≤ n + 2, n its AWS changes (issue 21 "What to build")',
  },
} as const;

const fmt = (value: number, digits = 0): string =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const finite = (value: number | undefined): value is number => value !== undefined && Number.isFinite(value);
const unmeasured = (reason: string): Unmeasured => ({ value: null, reason });
const bounded = (value: number, basis: string, limit: number): Measured => ({
  value,
  basis,
  limit,
  met: value <= limit,
});

/** The sweeps section at a headline scale, or why there is none. */
function atScale(input: HeadlineInputs, scale: number): HeadlineInputs['sweeps'][number] | string {
  const found = input.sweeps.find((sweep) => sweep.account.perType === scale);
  if (found) return found;
  const swept = input.sweeps.map((sweep) => fmt(sweep.account.perType)).join(' and ') || 'nothing';
  return `not measured in this run: it swept ${swept} of each kind (${input.scale} scale), not ${fmt(scale)}`;
}

/** c7n's run of a family's policy, or why there is none to compare with. */
function custodianRun(
  input: HeadlineInputs,
  runs: readonly CustodianRun[],
  fn: string,
): CustodianRun | string {
  if (input.custodian.unavailable) return `Cloud Custodian was not measured: ${input.custodian.unavailable}`;
  const run = runs.find((candidate) => candidate.fn === fn);
  if (!run) return `no Cloud Custodian policy ran for ${fn}`;
  if (run.error) return `Cloud Custodian's ${run.policy} failed: ${run.error}`;
  return run;
}

function cpuRatio(
  ours: ScanResult | SweepResult | undefined,
  what: string,
  theirs: CustodianRun | string,
  theirCpu: (run: CustodianRun) => number,
  limit?: number,
): Figure {
  if (typeof theirs === 'string') return unmeasured(theirs);
  if (!ours) return unmeasured(`our ${what} of this family did not run`);
  if (ours.error) return unmeasured(`our ${what} failed: ${ours.error}`);
  const c7n = theirCpu(theirs);
  if (!finite(ours.cpuMs)) return unmeasured(`our ${what}'s CPU was not measured`);
  if (!finite(c7n) || c7n <= 0) return unmeasured(`Cloud Custodian's CPU was not measured`);
  const value = ours.cpuMs / c7n;
  const basis = `${what} ${fmt(ours.cpuMs)} ms CPU / c7n ${fmt(c7n)} ms CPU`;
  return limit === undefined ? { value, basis } : bounded(value, basis, limit);
}

function perFamilyAndScale(
  input: HeadlineInputs,
  figure: (section: HeadlineInputs['sweeps'][number], fn: string) => Figure,
): Record<string, Record<ScaleKey, Figure>> {
  return Object.fromEntries(
    SWEPT.map(({ fn }) => [
      fn,
      Object.fromEntries(
        HEADLINE_SCALES.map((scale) => {
          const section = atScale(input, scale);
          return [`${scale}`, typeof section === 'string' ? unmeasured(section) : figure(section, fn)];
        }),
      ) as Record<ScaleKey, Figure>,
    ]),
  );
}

/**
 * Our enforce-mode sweep's CPU over c7n's action policy's run CPU, only where the comparison is
 * like for like: c7n has the action, both ran without error, and both left nothing drifting.
 */
export function enforceCpuRatio(input: HeadlineInputs, section: EnforceSection, fn: string): Figure {
  const equivalent = CUSTODIAN_ACTIONS[fn];
  if (!equivalent || equivalent.action === null)
    return unmeasured(`c7n has no equivalent action: ${equivalent?.none ?? `none is named for ${fn}`}`);
  if (input.custodian.unavailable)
    return unmeasured(`Cloud Custodian was not measured: ${input.custodian.unavailable}`);
  const ours = section.ours.find((sweep) => sweep.fn === fn);
  const theirs = section.custodian.find((run) => run.fn === fn);
  if (!ours) return unmeasured('our enforce sweep of this family did not run');
  if (!theirs) return unmeasured(`no Cloud Custodian ${equivalent.action} policy ran for ${fn}`);
  if (ours.error) return unmeasured(`our enforce sweep failed: ${ours.error}`);
  if (theirs.error) return unmeasured(`Cloud Custodian's ${theirs.policy} failed: ${theirs.error}`);
  const drift = section.account.drift;
  if (ours.stillDrifting > 0 || theirs.stillDrifting > 0) {
    const why = theirs.motoGap ?? theirs.loggedErrors?.[0];
    return unmeasured(
      `not like for like: our sweep left ${fmt(ours.stillDrifting)} of ${fmt(drift)} drifting, c7n's ${equivalent.action} ` +
        `left ${fmt(theirs.stillDrifting)} of ${fmt(drift)}${why ? ` (c7n logged: ${why})` : ''}`,
    );
  }
  if (!finite(ours.cpuMs)) return unmeasured("our enforce sweep's CPU was not measured");
  if (!finite(theirs.runCpuMs) || theirs.runCpuMs <= 0)
    return unmeasured("Cloud Custodian's CPU was not measured");
  return {
    value: ours.cpuMs / theirs.runCpuMs,
    basis:
      `enforce sweep ${fmt(ours.cpuMs)} ms CPU / c7n ${equivalent.action} ${fmt(theirs.runCpuMs)} ms CPU ` +
      `(each left 0 of ${fmt(drift)} drifting)`,
  };
}

/** Each swept family, and our detached-volume path beside the in-use one (c7n has an action only for the latter). */
function enforceFigures(input: HeadlineInputs): Record<string, Record<ScaleKey, Figure>> {
  return Object.fromEntries(
    [...SWEPT.map(({ fn }) => fn), DETACHED].map((fn) => [
      fn,
      Object.fromEntries(
        HEADLINE_SCALES.map((scale) => {
          const section = input.sweepEnforce.find((candidate) => candidate.account.perType === scale);
          if (section) return [`${scale}`, enforceCpuRatio(input, section, fn)];
          const swept = input.sweepEnforce.map((candidate) => fmt(candidate.account.perType)).join(' and ');
          return [
            `${scale}`,
            unmeasured(
              `not measured in this run: it swept ${swept || 'nothing'} of each kind in enforce mode (${input.scale} scale), not ${fmt(scale)}`,
            ),
          ];
        }),
      ) as Record<ScaleKey, Figure>,
    ]),
  );
}

/**
 * The named minimum counts one incident write. The issue's own write protocol needs n + 2 writes
 * (write-ahead), one batched read (exemption and guard) and the blast-radius counter as a separate
 * update: the calls measured against that floor show what the rule itself adds.
 */
function protocolFloorText(event: HeadlineInputs['events'][number], made: number): string {
  const n = event.awsChanges.median;
  const counter = event.guardWrites.median > 0 ? 1 : 0;
  const floor = event.minimum.calls - 1 + (n + 2) + 1 + counter;
  return `against the write protocol’s floor of ${fmt(floor)} calls: ${(made / floor).toFixed(2)}× (the minimum with n + 2 writes, one batched read${counter ? ' and the counter update' : ''} instead of one write)`;
}

function eventFigures(
  input: HeadlineInputs,
): Pick<Headline, 'eventCallsPerMinimum' | 'dynamoWritesPerRemediation'> {
  const calls: Headline['eventCallsPerMinimum'] = {};
  const writes: Headline['dynamoWritesPerRemediation'] = {};
  for (const event of input.events) {
    if (event.errors.length > 0) {
      const reason = `the handler failed: ${event.errors.join('; ')}`;
      calls[event.name] = { fn: event.fn, ...unmeasured(reason) };
      writes[event.name] = { fn: event.fn, ...unmeasured(reason) };
      continue;
    }
    const made = event.calls.median;
    const minimum = event.minimum.calls;
    calls[event.name] =
      minimum === 0
        ? {
            fn: event.fn,
            ...unmeasured(
              `the named minimum is 0 calls (${event.minimum.named}), so there is no ratio; it made ${fmt(made)}`,
            ),
            met: made === 0,
          }
        : {
            fn: event.fn,
            ...bounded(
              made / minimum,
              `${fmt(made)} calls (median, n=${event.calls.n}) / ${minimum}; ${protocolFloorText(event, made)}`,
              TARGETS.eventCalls.ratio,
            ),
          };
    const n = event.awsChanges.median;
    const value = event.dynamoWrites.median;
    writes[event.name] = {
      fn: event.fn,
      n,
      ...bounded(
        value,
        `${fmt(value)} writes for ${fmt(n)} AWS change(s) (medians of ${event.dynamoWrites.n} deliveries)${
          event.guardWrites.median > 0
            ? `, besides ${fmt(event.guardWrites.median)} update(s) of the blast-radius counter (a separate atomic update)`
            : ''
        }`,
        n + TARGETS.dynamoWrites.extra,
      ),
    };
  }
  return { eventCallsPerMinimum: calls, dynamoWritesPerRemediation: writes };
}

function coldLoad(input: HeadlineInputs): Pick<Headline, 'coldLoadMsMedian' | 'coldLoadRatioVsC7nImport'> {
  const ms: Record<string, Figure> = {};
  const ratio: Record<string, Figure> = {};
  const c7n = input.custodian.importMs?.median;
  for (const bundle of input.bundles) {
    const median = bundle.bundled.loadMs.median;
    const cpu = bundle.bundled.loadCpuMs;
    ms[bundle.name] = bounded(
      median,
      `median of ${bundle.bundled.loadMs.n} fresh processes on this machine's full cores (min ${fmt(bundle.bundled.loadMs.min, 1)} ms)${
        cpu ? `; CPU ${fmt(cpu.median, 1)} ms median (user+sys, which a busy machine inflates less)` : ''
      }; Lambda runs a module's load in its Init phase, on a full vCPU for on-demand functions`,
      TARGETS.coldLoad.ms,
    );
    ratio[bundle.name] = input.custodian.unavailable
      ? unmeasured(`Cloud Custodian was not measured: ${input.custodian.unavailable}`)
      : finite(c7n) && c7n > 0
        ? { value: median / c7n, basis: `${fmt(median, 1)} ms / c7n import ${fmt(c7n, 1)} ms (medians)` }
        : unmeasured("Cloud Custodian's import was not measured");
  }
  return { coldLoadMsMedian: ms, coldLoadRatioVsC7nImport: ratio };
}

function storm(input: HeadlineInputs): Pick<Headline, 'stormEventsPerSecond' | 'stormCallsPerEvent'> {
  const s = input.storm;
  if (s.errors.length > 0) {
    const reason = `the storm had errors: ${s.errors.join('; ')}`;
    return { stormEventsPerSecond: unmeasured(reason), stormCallsPerEvent: unmeasured(reason) };
  }
  const rate = finite(s.eventsPerSecond)
    ? {
        value: s.eventsPerSecond,
        basis: `${fmt(s.events)} events in ${fmt(s.wallMs / 1000, 1)} s by ${s.concurrency} processes`,
      }
    : unmeasured('the storm was not timed');
  const calls = finite(s.callsPerEvent)
    ? { value: s.callsPerEvent, basis: `${fmt(s.calls)} calls / ${fmt(s.events)} events` }
    : unmeasured("the storm's calls were not recorded in this run");
  return { stormEventsPerSecond: rate, stormCallsPerEvent: calls };
}

function projected(input: HeadlineInputs, lambda: LambdaLimits): Headline['projectedUnitSecondsAt10k'] {
  const section = atScale(input, 10_000);
  return Object.fromEntries(
    SWEPT.map(({ fn }) => {
      const limits = lambda.byFunction[fn];
      if (!limits) return [fn, unmeasured(`the deployment configures no function ${fn}`)];
      const { memoryMb, timeoutSeconds } = limits;
      if (typeof section === 'string') return [fn, { ...unmeasured(section), memoryMb, timeoutSeconds }];
      const sweep = section.ours.find((candidate) => candidate.fn === fn);
      if (!sweep) return [fn, { ...unmeasured(`no sweep of ${fn} ran`), memoryMb, timeoutSeconds }];
      if (sweep.error)
        return [fn, { ...unmeasured(`the sweep failed: ${sweep.error}`), memoryMb, timeoutSeconds }];
      if (!finite(sweep.cpuMs))
        return [fn, { ...unmeasured("the sweep's CPU was not measured"), memoryMb, timeoutSeconds }];
      const share = vcpuShare(memoryMb);
      // A sweep runs as units of `unitResources` resources (shared/pipeline/sweep-units.ts): the
      // largest unit takes that share of the sweep's CPU per resource; without units, the whole sweep.
      const judged = sweep.judged && sweep.judged > 0 ? sweep.judged : sweep.scale;
      const perUnit = Math.min(lambda.unitResources ?? judged, judged);
      const value = ((sweep.cpuMs / judged) * perUnit) / 1000 / share;
      const basis =
        perUnit < judged
          ? `${fmt(sweep.cpuMs)} ms client CPU of the 10,000 sweep / ${fmt(judged)} resources judged × ${fmt(perUnit)} a unit / ` +
            `${fmt(share, 3)} vCPU at ${fmt(memoryMb)} MB, against ${fmt(timeoutSeconds)} s ÷ 2 (CPU only; a later unit also lists the resources before its place, IAM users by ARN alone)`
          : `${fmt(sweep.cpuMs)} ms client CPU of the whole 10,000 sweep (one invocation) / ` +
            `${fmt(share, 3)} vCPU at ${fmt(memoryMb)} MB, against ${fmt(timeoutSeconds)} s ÷ 2`;
      return [
        fn,
        { ...bounded(value, basis, timeoutSeconds * TARGETS.projected.share), memoryMb, timeoutSeconds },
      ];
    }),
  );
}

/** One target over a set of figures: the misses and the unmeasured, named. */
function judge(name: string, target: string, figures: Record<string, Figure>): TargetResult {
  const misses: string[] = [];
  const notMeasured: string[] = [];
  for (const [label, figure] of Object.entries(figures)) {
    if (figure.met === false) misses.push(label);
    else if (figure.met === undefined) notMeasured.push(label);
  }
  if (Object.keys(figures).length === 0) notMeasured.push('nothing was measured');
  const met = misses.length > 0 ? false : notMeasured.length > 0 ? null : true;
  return { name, target, met, misses, unmeasured: notMeasured };
}

const flatten = (byFamily: Record<string, Record<ScaleKey, Figure>>): Record<string, Figure> =>
  Object.fromEntries(
    Object.entries(byFamily).flatMap(([fn, byScale]) =>
      Object.entries(byScale).map(([scale, figure]) => [`${fn} at ${fmt(Number(scale))}`, figure]),
    ),
  );

/** The headline of one run: a pure function of its measured results and the deployment's limits. */
export function computeHeadline(input: HeadlineInputs, lambda: LambdaLimits): Headline {
  const scanCpuRatioVsC7n = perFamilyAndScale(input, (section, fn) =>
    cpuRatio(
      section.scans.find((scan) => scan.fn === fn),
      'scan',
      custodianRun(input, section.custodian, fn),
      (run) => run.processCpuMs,
      TARGETS.scanCpu.ratio,
    ),
  );
  const sweepCpuRatioVsC7n = perFamilyAndScale(input, (section, fn) =>
    cpuRatio(
      section.ours.find((sweep) => sweep.fn === fn),
      'sweep',
      custodianRun(input, section.custodian, fn),
      (run) => run.runCpuMs,
    ),
  );
  const sweepEnforceCpuRatioVsC7n = enforceFigures(input);
  const events = eventFigures(input);
  const cold = coldLoad(input);
  const projectedUnitSecondsAt10k = projected(input, lambda);
  return {
    lambda,
    scanCpuRatioVsC7n,
    sweepCpuRatioVsC7n,
    sweepEnforceCpuRatioVsC7n,
    ...events,
    ...cold,
    ...storm(input),
    projectedUnitSecondsAt10k,
    targets: [
      judge('scanCpuRatioVsC7n', TARGETS.scanCpu.words, flatten(scanCpuRatioVsC7n)),
      judge('eventCallsPerMinimum', TARGETS.eventCalls.words, events.eventCallsPerMinimum),
      judge('coldLoadMsMedian', TARGETS.coldLoad.words, cold.coldLoadMsMedian),
      judge('projectedUnitSecondsAt10k', TARGETS.projected.words, projectedUnitSecondsAt10k),
      judge('dynamoWritesPerRemediation', TARGETS.dynamoWrites.words, events.dynamoWritesPerRemediation),
    ],
  };
}
