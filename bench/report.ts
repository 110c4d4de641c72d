import type { BundleResult } from './bundles';
import { type Cost, LAMBDA_PRICES } from './cost';
import type { CustodianRun } from './custodian';
import { CUSTODIAN_ACTIONS, type EnforceSection, type EnforceSweepResult, OUR_ACTIONS } from './enforce';
import type { EventResult } from './events';
import type { Figure, Headline } from './headline';
import type { MotoPatchResult } from './moto-patch';
import type { ScanResult } from './scan';
import { ratio, type Summary } from './stats';
import type { StormResult } from './storm';
import type { SeededAccount, SweepResult } from './sweep';

/** An error as one table cell: one line, bounded. */
const oneLine = (text: string): string => text.replace(/\s+/g, ' ').slice(0, 160);

/** Everything one `npm run bench` measured: report.json is this, report.md is render(this). */
export interface BenchResult {
  startedAt: string;
  scale: 'full' | 'quick';
  machine: { node: string; cpus: number; cpuModel: string; memoryGb: number; platform: string };
  durationSeconds: number;
  /** Seconds each part of the run took: how the full run's length is estimated. */
  phaseSeconds: Record<string, number>;
  bundles: BundleResult[];
  events: EventResult[];
  /** At each scale: our sweeps, our read-only scans and c7n's filter policies over the same seeded account. */
  sweeps: { account: SeededAccount; ours: SweepResult[]; scans: ScanResult[]; custodian: CustodianRun[] }[];
  /** At each scale: our sweeps in enforce mode and c7n's equivalent actions, each over its own seeded account. */
  sweepEnforce: EnforceSection[];
  storm: StormResult;
  /** The emulator's transaction cost with and without the project's item-level backup patch. */
  motoPatch: MotoPatchResult;
  custodian: { version?: string; unavailable?: string; importMs?: Summary };
  cost: { fn: string; event: string; peakRssMb: number; cost: Cost }[];
  /** Sentences for "Where we lose", derived from the figures above. */
  losses: string[];
  /** Issue 21's headline figures and targets, computed from the figures above (bench/headline.ts). */
  headline: Headline;
}

const num = (value: number, digits = 0): string =>
  Number.isFinite(value)
    ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : 'n/a';
export const spread = (s: Summary, digits = 1): string =>
  `${num(s.median, digits)} (p25–p75 ${num(s.p25, digits)}–${num(s.p75, digits)}, min–max ${num(s.min, digits)}–${num(s.max, digits)}, n=${s.n})`;
export const times = (value: number | undefined): string =>
  value === undefined ? 'n/a' : `${num(value, 2)}×`;
const kib = (bytes: number): string => `${num(bytes / 1024, 1)} KiB`;
const topActions = (counts: Record<string, number>, limit = 6): string =>
  Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([action, count]) => `${action}×${count}`)
    .join(', ');

const statusWords = (statuses: Record<string, number>): string =>
  Object.entries(statuses)
    .map(([status, count]) => `${status} ${num(count)}`)
    .join(', ') || 'none';

/** Where we lose, from the numbers: every sentence names its figures. */
export function findLosses(result: Omit<BenchResult, 'losses' | 'headline'>): string[] {
  const losses: string[] = [];
  for (const event of result.events) {
    if (event.calls.median > event.minimum.calls) {
      losses.push(
        `${event.fn} on ${event.name}: ${num(event.calls.median)} AWS calls where ${event.minimum.calls} would do ` +
          `(${times(ratio(event.calls.median, event.minimum.calls))}); most of the extra are incident-store writes ` +
          `(each step recorded before and after it runs) and the pending/sent alert bookkeeping: ${topActions(event.callsByAction)}.`,
      );
    }
  }
  for (const { ours, custodian } of result.sweeps) {
    for (const sweep of ours) {
      if (sweep.calls > sweep.minimum.calls) {
        losses.push(
          `Sweep of ${num(sweep.scale)} ${sweep.covers} (${sweep.fn}): ${num(sweep.calls)} calls against a minimum of ` +
            `${num(sweep.minimum.calls)} (${times(ratio(sweep.calls, sweep.minimum.calls))}): ${topActions(sweep.callsByAction, 4)}.`,
        );
      }
      const theirs = custodian.find((run) => run.fn === sweep.fn && !run.error);
      if (theirs && theirs.runMs < sweep.wallMs) {
        losses.push(
          `Cloud Custodian's ${theirs.policy} ran faster than our ${sweep.fn} sweep over ${num(sweep.scale)} ${sweep.covers}: ` +
            `${num(theirs.runMs)} ms against ${num(sweep.wallMs)} ms (it only filters; our sweep also records and alerts each drift).`,
        );
      }
      if (theirs && theirs.calls < sweep.calls) {
        losses.push(
          `Cloud Custodian made fewer API calls than our ${sweep.fn} sweep over ${num(sweep.scale)} ${sweep.covers}: ` +
            `${num(theirs.calls)} against ${num(sweep.calls)}.`,
        );
      }
    }
  }
  for (const { account, ours, custodian, detached } of result.sweepEnforce) {
    if (detached && detached.ours.stillDrifting > 0)
      losses.push(
        `Our enforce sweep of ${num(detached.ours.scale)} ${detached.ours.covers} left ${num(detached.ours.stillDrifting)} of ` +
          `${num(detached.account.drift)} drifting: ${statusWords(detached.ours.statuses)}.`,
      );
    for (const sweep of ours) {
      const where = `${num(sweep.scale)} ${sweep.covers} (${sweep.fn})`;
      if (sweep.stillDrifting > 0)
        losses.push(
          `Our enforce sweep of ${where} left ${num(sweep.stillDrifting)} of ${num(account.drift)} drifting: ${statusWords(sweep.statuses)}.`,
        );
      const theirs = custodian.find((run) => run.fn === sweep.fn && !run.error && run.stillDrifting === 0);
      if (theirs && sweep.stillDrifting === 0 && theirs.runCpuMs < sweep.cpuMs) {
        losses.push(
          `Cloud Custodian's ${theirs.action} used less client CPU than our enforce sweep of ${where}: ` +
            `${num(theirs.runCpuMs)} ms against ${num(sweep.cpuMs)} ms (ours also records each step and alerts).`,
        );
      }
      if (theirs && theirs.calls < sweep.calls) {
        losses.push(
          `Cloud Custodian's ${theirs.action} made fewer API calls than our enforce sweep of ${where}: ` +
            `${num(theirs.calls)} against ${num(sweep.calls)}.`,
        );
      }
    }
  }
  for (const bundle of result.bundles) {
    if (bundle.bundled.loadMs.median > bundle.external.loadMs.median) {
      losses.push(
        `${bundle.name}: the bundled module loads slower than the SDK from node_modules ` +
          `(${num(bundle.bundled.loadMs.median, 1)} ms against ${num(bundle.external.loadMs.median, 1)} ms).`,
      );
    }
  }
  if (result.storm.duplicateIncidents > 0 || result.storm.duplicateAlerts > 0) {
    losses.push(
      `The storm produced duplicates: ${result.storm.duplicateIncidents} extra incidents, ${result.storm.duplicateAlerts} extra alerts.`,
    );
  }
  return losses;
}

/** A headline figure as one cell: the value, its bound and verdict, or n/a with the reason. */
export function figureCell(figure: Figure, digits = 2, unit = ''): string {
  if (figure.value === null) {
    const verdict = figure.met === undefined ? '' : figure.met ? ' (met)' : ' (**missed**)';
    return `n/a: ${oneLine(figure.reason)}${verdict}`;
  }
  const bound =
    figure.limit === undefined
      ? ''
      : ` (≤ ${num(figure.limit, digits)}${unit}: ${figure.met ? 'met' : '**missed**'})`;
  return `${num(figure.value, digits)}${unit}${bound}; ${figure.basis}`;
}

const verdictOf = (met: boolean | null): string =>
  met === true ? 'met' : met === false ? '**missed**' : 'not decided';

function renderHeadline(h: Headline, say: (line?: string) => void): void {
  say('## Headline');
  say();
  say(
    'Issue 21’s figures, each computed from this run’s measurements (bench/headline.ts); n/a says why a figure ' +
      'was not measured in this run. Client CPU is user+system time: our scan’s and c7n’s whole process (load or ' +
      'import included); our sweep’s invocation in a warm function process against c7n’s policy run after its import.',
  );
  say();
  say('| target | verdict | misses | not measured |');
  say('| --- | --- | --- | --- |');
  for (const t of h.targets) {
    say(
      `| ${t.target} | ${verdictOf(t.met)} | ${t.misses.join(', ') || 'none'} | ${t.unmeasured.join(', ') || 'none'} |`,
    );
  }
  say();
  say('| figure | of | value |');
  say('| --- | --- | --- |');
  for (const [name, byFamily] of [
    ['scanCpuRatioVsC7n', h.scanCpuRatioVsC7n],
    ['sweepCpuRatioVsC7n', h.sweepCpuRatioVsC7n],
    ['sweepEnforceCpuRatioVsC7n', h.sweepEnforceCpuRatioVsC7n],
  ] as const) {
    for (const [fn, byScale] of Object.entries(byFamily)) {
      for (const [scale, figure] of Object.entries(byScale)) {
        say(`| ${name} | ${fn} at ${num(Number(scale))} | ${figureCell(figure)} |`);
      }
    }
  }
  for (const [event, figure] of Object.entries(h.eventCallsPerMinimum)) {
    say(`| eventCallsPerMinimum | ${figure.fn}: ${event} | ${figureCell(figure)} |`);
  }
  for (const [event, figure] of Object.entries(h.dynamoWritesPerRemediation)) {
    say(
      `| dynamoWritesPerRemediation | ${figure.fn}: ${event}${figure.n === undefined ? '' : ` (n=${num(figure.n)})`} | ${figureCell(figure, 0)} |`,
    );
  }
  for (const [fn, figure] of Object.entries(h.coldLoadMsMedian)) {
    say(`| coldLoadMsMedian | ${fn} | ${figureCell(figure, 1, ' ms')} |`);
  }
  for (const [fn, figure] of Object.entries(h.coldLoadRatioVsC7nImport)) {
    say(`| coldLoadRatioVsC7nImport | ${fn} | ${figureCell(figure)} |`);
  }
  say(`| stormEventsPerSecond | the storm | ${figureCell(h.stormEventsPerSecond, 1)} |`);
  say(`| stormCallsPerEvent | the storm | ${figureCell(h.stormCallsPerEvent, 1)} |`);
  for (const [fn, figure] of Object.entries(h.projectedUnitSecondsAt10k)) {
    const at =
      figure.memoryMb === undefined
        ? ''
        : ` (${num(figure.memoryMb)} MB, timeout ${num(figure.timeoutSeconds ?? Number.NaN)} s)`;
    say(`| projectedUnitSecondsAt10k | ${fn}${at} | ${figureCell(figure, 1, ' s')} |`);
  }
  say();
  say(
    `Memory and timeout from ${h.lambda.source}; Lambda gives 1 vCPU at 1,769 MB and a linear share below.`,
  );
  say();
}

/** How many units our sweep took and the longest of them, after its outcome. */
const unitWords = (ours: EnforceSweepResult): string =>
  ours.units ? `; ${num(ours.units.units)} units, the longest ${num(ours.units.longestMs)} ms` : '';

/** Our enforce sweeps and c7n's equivalent actions at one scale, a row each, beside the notify rows. */
function renderEnforce(section: EnforceSection, say: (line?: string) => void): void {
  const { account, custodianAccount } = section;
  say(
    `Enforce mode: each rule's sweep in enforce mode, then Cloud Custodian's equivalent action policy, each on a fresh ` +
      `account seeded as above except that the ${num(account.drift)} drifting volumes are attached (in use, at ` +
      `/dev/sdf) to compliant instances, because c7n's only encrypting action takes attached volumes (ours seeded in ` +
      `${num(account.seedSeconds, 1)} s${custodianAccount ? `, c7n's in ${num(custodianAccount.seedSeconds, 1)} s` : ''}). ` +
      'Ours runs as deployed: the scheduled invocation plans units onto the rule’s queue and the bench hands every ' +
      'unit and continuation to the function, each an invocation whose clock counts down from 60 s (a unit starts no ' +
      'resource once half of it is gone and hands the rest on); its wall and CPU are the sums over them. ' +
      'Still drifting is counted afterwards by the bench’s own reads (bench/enforce.ts countDrifting), of ' +
      `${num(account.drift)} seeded; a side that leaves drift is not compared in the headline. Client CPU: our ` +
      'invocation in a warm process, c7n’s policy run after its import; c7n’s errors are as its log says (an action ' +
      'that fails logs and still exits 0).' +
      (section.detached
        ? ` The detached row is our default path for a detached volume, ours alone, on a fresh account seeded as ` +
          `above with volumes and instances only (the drifting volumes detached, in ${num(section.detached.account.seedSeconds, 1)} s).`
        : ''),
  );
  say();
  say(
    '| function | side | action | wall ms | client CPU ms | AWS calls | peak MB | found | still drifting | outcome | CPU ratio ours/c7n | calls by action |',
  );
  say('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |');
  const oursRow = (ours: EnforceSweepResult, drift: number) =>
    say(
      `| ${ours.fn} | ours | ${OUR_ACTIONS[ours.fn] ?? 'enforce'} | ${num(ours.wallMs)} | ${num(ours.cpuMs)} | ${num(ours.calls)} | ` +
        `${num(ours.peakRssMb)} | ${num(ours.driftFound)} | ${num(ours.stillDrifting)} of ${num(drift)} | ` +
        `${ours.error ? `error: ${oneLine(ours.error)}` : statusWords(ours.statuses)}${unitWords(ours)} | | ${topActions(ours.callsByAction, 8)} |`,
    );
  const rows = section.detached ? [...section.ours, section.detached.ours] : section.ours;
  for (const ours of rows) {
    oursRow(ours, ours === section.detached?.ours ? section.detached.account.drift : account.drift);
    const equivalent = CUSTODIAN_ACTIONS[ours.fn];
    const theirs = section.custodian.find((run) => run.fn === ours.fn);
    if (!equivalent || equivalent.action === null) {
      say(
        `| ${ours.fn} | c7n | none | | | | | | | c7n has no equivalent action (why: below the table) | | |`,
      );
      continue;
    }
    if (!theirs) {
      say(`| ${ours.fn} | c7n | ${equivalent.action} | | | | | | | not run | | |`);
      continue;
    }
    const outcome = theirs.error
      ? `error: ${oneLine(theirs.error)}`
      : theirs.motoGap
        ? `failed against moto: ${theirs.motoGap}`
        : theirs.loggedErrors
          ? `logged errors: ${oneLine(theirs.loggedErrors.join('; '))}`
          : 'ran';
    // A ratio only where both sides ran and left nothing drifting, as in the headline.
    const alike = !ours.error && !theirs.error && ours.stillDrifting === 0 && theirs.stillDrifting === 0;
    say(
      `| ${ours.fn} | c7n ${theirs.policy} | ${theirs.action} | ${num(theirs.runMs)} | ${num(theirs.runCpuMs)} | ${num(theirs.calls)} | ` +
        `${num(theirs.peakRssMb)} | ${num(theirs.matched)} | ${num(theirs.stillDrifting)} of ${num(account.drift)} | ${outcome} | ` +
        `${alike ? times(ratio(ours.cpuMs, theirs.runCpuMs)) : 'n/a: not like for like'} | ${topActions(theirs.callsByAction, 8)} |`,
    );
  }
  say();
  for (const [fn, equivalent] of Object.entries(CUSTODIAN_ACTIONS)) {
    say(
      equivalent.action === null
        ? `- ${fn}: c7n has no equivalent action: ${equivalent.none}`
        : `- ${fn}: c7n \`${equivalent.action}\`: ${equivalent.differs}.`,
    );
  }
  say();
}

export function renderReport(result: BenchResult): string {
  const lines: string[] = [];
  const say = (line = '') => lines.push(line);
  const { machine } = result;
  say('# Benchmark');
  say();
  say(
    `One run of \`npm run bench\`${result.scale === 'quick' ? ' (**quick scale: a development run, not the published figures**)' : ''}, ` +
      `started ${result.startedAt}, ${num(result.durationSeconds)} s in all, on ${machine.cpus} × ${machine.cpuModel}, ` +
      `${num(machine.memoryGb, 1)} GB, ${machine.platform}, Node ${machine.node}. AWS is moto_server on loopback: ` +
      'times are this machine’s CPU, not AWS latency; API calls are counted by moto’s request recorder for both tools. ' +
      'Figures are medians with p25–p75 and min–max spread and the sample size n; every ratio comes from this same run.',
  );
  say();
  say(
    `Time by part (s): ${Object.entries(result.phaseSeconds)
      .map(([phase, seconds]) => `${phase} ${num(seconds, 1)}`)
      .join(', ')}.`,
  );
  say();
  renderHeadline(result.headline, say);
  say('## Bundles and cold module load');
  say();
  say(
    'Per function: the deployed bundle (`dist/functions/<name>.js`, SDK bundled) against the same handler built with ' +
      '`packages: external` (SDK and other packages loaded from node_modules). Load time is `require()` of the module ' +
      'measured inside a fresh Node process, in ms; its CPU (user+sys) is the same load’s, which a busy machine ' +
      'inflates less than wall time. The external variant’s bytes exclude the node_modules it loads.',
  );
  say();
  say(
    '| function | bundled raw | bundled gzip | bundled load ms | bundled load CPU ms | external raw | external load ms | load ratio bundled/external |',
  );
  say('| --- | ---: | ---: | --- | --- | ---: | --- | ---: |');
  for (const b of result.bundles) {
    say(
      `| ${b.name} | ${kib(b.bundled.rawBytes)} | ${kib(b.bundled.gzipBytes)} | ${spread(b.bundled.loadMs)} | ` +
        `${b.bundled.loadCpuMs ? spread(b.bundled.loadCpuMs) : 'not measured'} | ` +
        `${kib(b.external.rawBytes)} | ${spread(b.external.loadMs)} | ${times(ratio(b.bundled.loadMs.median, b.external.loadMs.median))} |`,
    );
  }
  say();
  say('## Per event type');
  say();
  say(
    'Each event reports freshly seeded drift and is delivered to a warm function process (one unmeasured warm-up ' +
      'first). Handler time in ms; AWS calls as moto recorded them; the minimum is what the rule cannot do without, named. ' +
      'DynamoDB writes (PutItem, UpdateItem, DeleteItem, TransactWriteItems, BatchWriteItem; medians) against n, the ' +
      'AWS changes of the delivery (its writes that are neither DynamoDB nor bookkeeping: bench/calls.ts).',
  );
  say();
  say(
    '| function | event | handler ms | AWS calls | minimum | calls / minimum | DynamoDB writes | AWS changes (n) | outcome | calls of the last delivery |',
  );
  say('| --- | --- | --- | --- | ---: | ---: | ---: | ---: | --- | --- |');
  for (const e of result.events) {
    say(
      `| ${e.fn} | ${e.name} | ${spread(e.handlerMs)} | ${spread(e.calls, 0)} | ${e.minimum.calls} | ` +
        `${times(ratio(e.calls.median, e.minimum.calls))} | ${num(e.dynamoWrites.median)} | ${num(e.awsChanges.median)} | ${[...e.statuses, ...e.errors].join('; ')} | ${topActions(e.callsByAction, 12)} |`,
    );
  }
  say();
  say('Minimums:');
  for (const e of result.events) say(`- ${e.fn}, ${e.name}: ${e.minimum.calls} = ${e.minimum.named}`);
  say();
  say('## Sweep');
  say();
  for (const { account, ours, scans, custodian } of result.sweeps) {
    say(
      `### ${num(account.perType)} of each: volumes, instances, security-group rules, SSH keys (${account.drift} of each drifting)`,
    );
    say();
    say(
      `Seeded in ${num(account.seedSeconds, 1)} s: ${num(account.perType)} volumes (plus one encrypted root volume per instance), ` +
        `${num(account.perType)} instances, ${num(account.perType)} rules in ${num(account.groups)} groups, ` +
        `${num(account.perType)} SSH keys of ${num(account.users)} users. Each rule's scheduled sweep ran once (n=1) in notify ` +
        'mode in a fresh function process; peak memory is that process’s maximum RSS. Minimums use AWS’s largest page sizes ' +
        '(moto returns DescribeVolumes in one page whatever the size).',
    );
    say();
    say(
      '| function | covers | wall ms | client CPU ms | AWS calls | minimum | calls / minimum | peak MB | drift found | calls by action |',
    );
    say('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
    for (const s of ours) {
      say(
        `| ${s.fn} | ${s.covers} | ${num(s.wallMs)} | ${num(s.cpuMs)} | ${num(s.calls)} | ${num(s.minimum.calls)} | ${times(ratio(s.calls, s.minimum.calls))} | ` +
          `${num(s.peakRssMb)} | ${s.error ? `error: ${oneLine(s.error)}` : num(s.driftFound)} | ${topActions(s.callsByAction)} |`,
      );
    }
    say();
    for (const s of ours) say(`- minimum of ${s.fn}: ${num(s.minimum.calls)} = ${s.minimum.named}`);
    say();
    if (scans.length > 0) {
      say(
        'Our read-only `scan --rule <id> --json` (the bundled command line, dist/cli, one process each; client CPU ' +
          'is the whole process, load included):',
      );
      say();
      say('| scan of | wall ms | client CPU ms | AWS calls | peak MB | findings |');
      say('| --- | ---: | ---: | ---: | ---: | --- |');
      for (const scan of scans) {
        say(
          `| ${scan.fn} | ${num(scan.wallMs)} | ${num(scan.cpuMs)} | ${num(scan.calls)} | ${num(scan.peakRssMb)} | ` +
            `${scan.error ? `error: ${oneLine(scan.error)}` : num(scan.found)} |`,
        );
      }
      say();
    }
    if (custodian.length > 0) {
      say('Cloud Custodian over the same account, one policy per process (filters only, no actions):');
      say();
      say(
        '| policy | equivalent of | run ms | run CPU ms | process CPU ms | AWS calls | peak MB | matched | time ratio c7n/ours | calls ratio c7n/ours |',
      );
      say('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
      for (const c of custodian) {
        const mine = ours.find((s) => s.fn === c.fn);
        say(
          `| ${c.policy} | ${c.fn} | ${num(c.runMs)} | ${num(c.runCpuMs)} | ${num(c.processCpuMs)} | ${num(c.calls)} | ${num(c.peakRssMb)} | ${c.error ? `error: ${oneLine(c.error)}` : num(c.matched)} | ` +
            `${times(ratio(c.runMs, mine?.wallMs))} | ${times(ratio(c.calls, mine?.calls))} |`,
        );
      }
      say();
    }
    const enforced = result.sweepEnforce.find((section) => section.account.perType === account.perType);
    if (enforced) renderEnforce(enforced, say);
  }
  for (const section of result.sweepEnforce) {
    if (result.sweeps.some((sweep) => sweep.account.perType === section.account.perType)) continue;
    say(
      `### ${num(section.account.perType)} of each, enforce mode (${section.account.drift} of each drifting)`,
    );
    say();
    renderEnforce(section, say);
  }
  const s = result.storm;
  say("## The emulator's transactions");
  say();
  const patch = result.motoPatch;
  say(
    'moto backs a TransactWriteItems up by deep-copying every table it names, so in moto a transaction costs time in ' +
      "proportion to the whole table; DynamoDB's does not. `scripts/moto/sitecustomize.py` (loaded by every moto this " +
      'project starts: tests, demo and this bench) backs up only the items the transaction touches and puts them back ' +
      'if it fails. Every figure above and below is measured with it. The same workload, against two moto servers in ' +
      `this run: a table of ${num(patch.items)} incident-shaped items, then ${num(patch.transactions)} transactions shaped ` +
      "like an incident's opening (delivery marker, drift lock, incident), wall ms per transaction.",
  );
  say();
  say('| moto | ms per transaction |');
  say('| --- | --- |');
  say(`| item-level backup (the patch; every figure in this report) | ${spread(patch.itemBackupMs)} |`);
  say(
    `| whole-table backup (moto alone, \`MOTO_WHOLE_TABLE_BACKUP=1\`) | ${spread(patch.wholeTableBackupMs)} |`,
  );
  say(`| ratio, patched / moto alone | ${times(patch.ratio)} |`);
  say();
  say('## Storm');
  say();
  say(
    `${num(s.events)} CloudTrail events for ${num(s.drifts)} world-open SSH rules (${s.fn}, enforce mode), each drift ` +
      'delivered three times as the same event (redelivery) and twice as distinct calls, shuffled, handled by ' +
      `${s.concurrency} function processes at once (serverless.yml's reserved concurrency).`,
  );
  say();
  say(
    '| events | drifts | wall s | events/s | AWS calls / event | incidents | duplicate incidents | alerts | duplicate alerts | remediated | errors |',
  );
  say('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  say(
    `| ${num(s.events)} | ${num(s.drifts)} | ${num(s.wallMs / 1000, 1)} | ${num(s.eventsPerSecond, 1)} | ${num(s.callsPerEvent, 1)} | ${num(s.incidents)} | ` +
      `${num(s.duplicateIncidents)} | ${num(s.alerts)} | ${num(s.duplicateAlerts)} | ${num(s.remediated)} | ${s.errors.join('; ') || 'none'} |`,
  );
  say();
  say('## Cloud Custodian');
  say();
  const c7n = result.custodian;
  if (c7n.unavailable) {
    say(`Not measured: ${c7n.unavailable}.`);
  } else {
    const ourLoads = result.bundles.map((b) => b.bundled.loadMs.median).sort((a, b) => a - b);
    const ourLoad = ourLoads[Math.floor(ourLoads.length / 2)];
    say(
      `c7n ${c7n.version} (PyPI, requirements/c7n.txt, in .venv-c7n), pointed at the same moto through AWS_ENDPOINT_URL. ` +
        `Import of c7n and the four resource types: ${c7n.importMs ? spread(c7n.importMs) : 'n/a'} ms, against our median bundle ` +
        `load of ${num(ourLoad ?? Number.NaN, 1)} ms: ${times(ratio(c7n.importMs?.median, ourLoad))}. Run times and calls are in the ` +
        'sweep tables above. c7n here only filters; its notify action needs c7n-mailer and a queue, so our sweep does more work per drift (an incident and an alert).',
    );
  }
  say();
  say('## Cost per million events');
  say();
  say(
    'Lambda arm64, on-demand, free tier left out: cost = 1,000,000 × (billed ms / 1000 × memory MB / 1024 × price per ' +
      'GB-s + price per request). Inputs: the median handler time above, billed up to the next ms; memory: the ' +
      'smallest setting holding the measured peak RSS of the function process (Lambda’s minimum is 128 MB; serverless.yml ' +
      'configures 256 MB). Prices: ' +
      `$${LAMBDA_PRICES.perGbSecond} per GB-second and $${LAMBDA_PRICES.perRequest.toFixed(7)} per request ` +
      `(${LAMBDA_PRICES.architecture}, ${LAMBDA_PRICES.region}, first tier), from ${LAMBDA_PRICES.source} as of ${LAMBDA_PRICES.asOf}.`,
  );
  say();
  say('| function | event | peak RSS MB | formula |');
  say('| --- | --- | ---: | --- |');
  for (const c of result.cost) say(`| ${c.fn} | ${c.event} | ${num(c.peakRssMb)} | ${c.cost.formula} |`);
  say();
  say(
    'Against real AWS each call waits on the network (tens of ms), so real durations are longer than these: multiply ' +
      'the AWS calls per event by your API latency and add it to the billed ms.',
  );
  say();
  say('## Where we lose');
  say();
  if (result.losses.length === 0) say('Nowhere in this run’s figures.');
  for (const loss of result.losses) say(`- ${loss}`);
  say();
  return `${lines.join('\n')}\n`;
}
