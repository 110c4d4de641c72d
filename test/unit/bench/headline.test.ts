import { awsChangesOf, dynamoWritesOf, guardWritesOf } from '../../../bench/calls';
import { computeHeadline, type Figure, type HeadlineInputs } from '../../../bench/headline';
import { vcpuShare } from '../../../bench/lambda';
import { renderReport } from '../../../bench/report';
import { summarize } from '../../../bench/stats';
import { aResult, LIMITS } from './result-fixture';

type Section = HeadlineInputs['sweeps'][number];

/** The fixture's 1,000 section, re-scaled, with our sweep's and scan's CPU and c7n's as given. */
function section(
  perType: number,
  cpu: { sweep: number; scan: number; c7nRun: number; c7nProcess: number },
): Section {
  const [base] = aResult().sweeps as [Section];
  return {
    account: { ...base.account, perType },
    ours: base.ours.map((sweep) => ({ ...sweep, scale: perType, cpuMs: cpu.sweep })),
    scans: base.scans.map((scan) => ({ ...scan, scale: perType, cpuMs: cpu.scan })),
    custodian: base.custodian.map((run) => ({
      ...run,
      scale: perType,
      runCpuMs: cpu.c7nRun,
      processCpuMs: cpu.c7nProcess,
    })),
  };
}

const targetOf = (inputs: HeadlineInputs, name: string) =>
  computeHeadline(inputs, LIMITS).targets.find((target) => target.name === name);

/** Every `value` anywhere in the headline that is a number. */
function numbersIn(value: unknown, path = ''): string[] {
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, item]) =>
    key === 'value' && typeof item === 'number' ? [path] : numbersIn(item, `${path}.${key}`),
  );
}

describe('the bench headline', () => {
  it('computes the scan and sweep CPU ratios from the run and meets ⅓ when the scan uses less', () => {
    // Prepare: 450 ms of scan CPU against c7n's 1,500 ms process; sweep 900 against c7n's 600 ms run
    const inputs = aResult({
      sweeps: [section(1_000, { sweep: 900, scan: 450, c7nRun: 600, c7nProcess: 1_500 })],
    });
    // Act
    const headline = computeHeadline(inputs, LIMITS);
    // Assess
    expect(headline.scanCpuRatioVsC7n['ssh-open-to-world']?.['1000']).toMatchObject({
      value: 0.3,
      limit: 1 / 3,
      met: true,
      basis: 'scan 450 ms CPU / c7n 1,500 ms CPU',
    });
    expect(headline.sweepCpuRatioVsC7n['ssh-open-to-world']?.['1000']).toEqual({
      value: 1.5,
      basis: 'sweep 900 ms CPU / c7n 600 ms CPU',
    });
  });

  it('misses the scan target when one family uses more than ⅓ of c7n’s CPU, naming it', () => {
    // Prepare: 600 / 1,500 = 0.4 at 10,000
    const inputs = aResult({
      sweeps: [
        section(1_000, { sweep: 900, scan: 450, c7nRun: 600, c7nProcess: 1_500 }),
        section(10_000, { sweep: 9_000, scan: 600, c7nRun: 6_000, c7nProcess: 1_500 }),
      ],
    });
    // Act
    const target = targetOf(inputs, 'scanCpuRatioVsC7n');
    // Assess
    expect(target?.met).toBe(false);
    expect(target?.misses).toEqual(['ssh-open-to-world at 10,000']);
  });

  it('leaves a scale the run did not sweep null with the reason, and decides no target on it', () => {
    // Prepare: a quick run sweeps 100 and 300 only
    const inputs = aResult({
      scale: 'quick',
      sweeps: [
        section(100, { sweep: 1, scan: 1, c7nRun: 100, c7nProcess: 100 }),
        section(300, { sweep: 1, scan: 1, c7nRun: 100, c7nProcess: 100 }),
      ],
    });
    // Act
    const headline = computeHeadline(inputs, LIMITS);
    // Assess
    const reason = 'not measured in this run: it swept 100 and 300 of each kind (quick scale), not 10,000';
    expect(headline.scanCpuRatioVsC7n['ssh-open-to-world']?.['10000']).toEqual({ value: null, reason });
    expect(headline.projectedUnitSecondsAt10k['ssh-open-to-world']).toMatchObject({ value: null, reason });
    expect(headline.targets.find((target) => target.name === 'scanCpuRatioVsC7n')?.met).toBeNull();
    expect(headline.targets.find((target) => target.name === 'projectedUnitSecondsAt10k')?.met).toBeNull();
  });

  it('says why a family has no c7n comparison: Custodian unavailable, its policy failed, or our scan failed', () => {
    // Prepare
    const base = section(1_000, { sweep: 900, scan: 450, c7nRun: 600, c7nProcess: 1_500 });
    const failedPolicy = { ...base, custodian: base.custodian.map((run) => ({ ...run, error: 'exit 1' })) };
    const failedScan = { ...base, scans: base.scans.map((scan) => ({ ...scan, error: 'exit 1: denied' })) };
    // Act
    const unavailable = computeHeadline(
      aResult({ sweeps: [base], custodian: { unavailable: 'pip failed' } }),
      LIMITS,
    );
    const policy = computeHeadline(aResult({ sweeps: [failedPolicy] }), LIMITS);
    const scan = computeHeadline(aResult({ sweeps: [failedScan] }), LIMITS);
    // Assess
    expect(unavailable.scanCpuRatioVsC7n['ssh-open-to-world']?.['1000']).toEqual({
      value: null,
      reason: 'Cloud Custodian was not measured: pip failed',
    });
    expect(unavailable.coldLoadRatioVsC7nImport['ssh-open-to-world']).toEqual({
      value: null,
      reason: 'Cloud Custodian was not measured: pip failed',
    });
    expect(policy.scanCpuRatioVsC7n['ssh-open-to-world']?.['1000']).toEqual({
      value: null,
      reason: "Cloud Custodian's sg-ssh-open-to-world failed: exit 1",
    });
    expect(scan.scanCpuRatioVsC7n['ssh-open-to-world']?.['1000']).toEqual({
      value: null,
      reason: 'our scan failed: exit 1: denied',
    });
    expect(policy.scanCpuRatioVsC7n['ebs-volume-encrypted']?.['1000']).toEqual({
      value: null,
      reason: 'no Cloud Custodian policy ran for ebs-volume-encrypted',
    });
  });

  it('judges calls per event against 1.5× the named minimum, and a 0-call minimum without a ratio', () => {
    // Prepare
    const [event] = aResult().events as [HeadlineInputs['events'][number]];
    const inputs = aResult({
      events: [
        { ...event, name: 'wasteful', calls: summarize([20]) },
        { ...event, name: 'lean', calls: summarize([7]) },
        { ...event, name: 'loop guard', calls: summarize([0]), minimum: { calls: 0, named: 'none' } },
        { ...event, name: 'broken', errors: ['TypeError: boom'] },
      ],
    });
    // Act
    const headline = computeHeadline(inputs, LIMITS);
    // Assess
    expect(headline.eventCallsPerMinimum.wasteful).toMatchObject({ value: 4, limit: 1.5, met: false });
    expect(headline.eventCallsPerMinimum.lean).toMatchObject({ value: 1.4, met: true });
    expect(headline.eventCallsPerMinimum['loop guard']).toMatchObject({ value: null, met: true });
    expect(headline.eventCallsPerMinimum.broken).toEqual({
      fn: 'ssh-open-to-world',
      value: null,
      reason: 'the handler failed: TypeError: boom',
    });
    const target = headline.targets.find((candidate) => candidate.name === 'eventCallsPerMinimum');
    expect(target).toMatchObject({ met: false, misses: ['wasteful'], unmeasured: ['broken'] });
  });

  it("says, beside the ratio, what the calls come to against the floor the issue's write protocol sets", () => {
    // Prepare: the named minimum has one incident write; the protocol needs n + 2 writes, one batched
    // read and, when the guard counted, its counter: 5 - 1 + 3 + 1 + 1 = 9 for one change
    const [event] = aResult().events as [HeadlineInputs['events'][number]];
    const inputs = aResult({
      events: [
        { ...event, name: 'remediated', calls: summarize([10]) },
        {
          ...event,
          name: 'reported',
          calls: summarize([6]),
          minimum: { calls: 4, named: 'read + tags + record + alert' },
          awsChanges: summarize([0]),
          guardWrites: summarize([0]),
        },
      ],
    });
    // Act
    const { eventCallsPerMinimum: calls } = computeHeadline(inputs, LIMITS);
    // Assess: 10 / 9 and 6 / (4 - 1 + 2 + 1)
    expect(calls.remediated).toMatchObject({
      basis: expect.stringContaining('against the write protocol’s floor of 9 calls: 1.11×'),
    });
    expect(calls.reported).toMatchObject({
      basis: expect.stringContaining('against the write protocol’s floor of 6 calls: 1.00×'),
    });
  });

  it('counts DynamoDB writes per remediation with its n, against n + 2', () => {
    // Prepare: 14 writes for 1 change; 3 writes for 1 change
    const [event] = aResult().events as [HeadlineInputs['events'][number]];
    const inputs = aResult({
      events: [
        { ...event, name: 'heavy' },
        { ...event, name: 'light', dynamoWrites: summarize([3, 3, 4]) },
      ],
    });
    // Act
    const { dynamoWritesPerRemediation: writes } = computeHeadline(inputs, LIMITS);
    // Assess
    expect(writes.heavy).toMatchObject({ value: 14, n: 1, limit: 3, met: false });
    expect(writes.light).toMatchObject({ value: 3, n: 1, limit: 3, met: true });
  });

  it('meets the cold-load target at 120 ms median and misses it above, per function', () => {
    // Prepare
    const [bundle] = aResult().bundles as [HeadlineInputs['bundles'][number]];
    const inputs = aResult({
      bundles: [
        {
          ...bundle,
          name: 'quick',
          bundled: {
            ...bundle.bundled,
            loadMs: summarize([100, 120, 140]),
            loadCpuMs: summarize([80, 90, 95]),
          },
        },
        { ...bundle, name: 'slow', bundled: { ...bundle.bundled, loadMs: summarize([121, 125]) } },
      ],
    });
    // Act
    const headline = computeHeadline(inputs, LIMITS);
    // Assess
    expect(headline.coldLoadMsMedian.quick).toMatchObject({ value: 120, met: true });
    expect(headline.coldLoadMsMedian.slow).toMatchObject({ value: 123, met: false });
    // The load's CPU time (user+sys), steadier than wall time on a busy machine, is beside it
    expect(headline.coldLoadMsMedian.quick).toMatchObject({
      basis: expect.stringContaining('CPU 90.0 ms median'),
    });
    expect(headline.coldLoadRatioVsC7nImport.quick).toMatchObject({ value: 120 / 330 });
    expect(headline.targets.find((target) => target.name === 'coldLoadMsMedian')?.misses).toEqual(['slow']);
  });

  it('projects the 10,000 sweep from its CPU and the configured memory, against half the timeout', () => {
    // Prepare: 4.2 s of CPU at 256 MB (0.145 vCPU) is 29.0 s; 4.4 s is 30.4 s
    const at = (cpu: number) =>
      aResult({ sweeps: [section(10_000, { sweep: cpu, scan: 1, c7nRun: 1, c7nProcess: 1 })] });
    const bigger = {
      ...LIMITS,
      byFunction: { ...LIMITS.byFunction, 'ssh-open-to-world': { memoryMb: 1_769, timeoutSeconds: 60 } },
    };
    // Act
    const within = computeHeadline(at(4_200), LIMITS).projectedUnitSecondsAt10k['ssh-open-to-world'];
    const over = computeHeadline(at(4_400), LIMITS).projectedUnitSecondsAt10k['ssh-open-to-world'];
    const fullCpu = computeHeadline(at(4_400), bigger).projectedUnitSecondsAt10k['ssh-open-to-world'];
    // Assess
    expect(within?.value).toBeCloseTo((4.2 * 1769) / 256, 6);
    expect(within).toMatchObject({ limit: 30, met: true, memoryMb: 256, timeoutSeconds: 60 });
    expect(over).toMatchObject({ met: false });
    expect(fullCpu).toMatchObject({ value: 4.4, met: true, memoryMb: 1_769 });
  });

  it('projects the largest sweep unit, not the whole sweep, when the deployment sweeps in units', () => {
    // Prepare: 4.4 s of CPU over 10,000 judged resources, 500 a unit, at 256 MB
    const [base] = aResult().sweeps as [Section];
    const at10k = section(10_000, { sweep: 4_400, scan: 1, c7nRun: 1, c7nProcess: 1 });
    const judged = { ...at10k, ours: at10k.ours.map((sweep) => ({ ...sweep, judged: 10_000 })) };
    // Act
    const units = computeHeadline(aResult({ sweeps: [judged] }), { ...LIMITS, unitResources: 500 });
    const small = computeHeadline(
      aResult({
        sweeps: [
          {
            ...judged,
            ours: base.ours.map((sweep) => ({ ...sweep, scale: 10_000, cpuMs: 4_400, judged: 200 })),
          },
        ],
      }),
      { ...LIMITS, unitResources: 500 },
    );
    // Assess: 0.44 ms a resource × 500 / (256 / 1769 vCPU) ≈ 1.5 s; 200 groups fit one unit: the whole sweep
    const figure = units.projectedUnitSecondsAt10k['ssh-open-to-world'];
    expect(figure?.value).toBeCloseTo((0.44 * 500) / 1000 / vcpuShare(256), 6);
    expect(figure).toMatchObject({ met: true, basis: expect.stringContaining('500 a unit') });
    expect(small.projectedUnitSecondsAt10k['ssh-open-to-world']?.value).toBeCloseTo(4.4 / vcpuShare(256), 6);
  });

  it('takes the storm figures from the run, and none from a storm with errors', () => {
    // Act
    const calm = computeHeadline(aResult(), LIMITS);
    const failed = computeHeadline(aResult({ storm: { ...aResult().storm, errors: ['Timeout'] } }), LIMITS);
    // Assess
    expect(calm.stormEventsPerSecond).toMatchObject({ value: 20 });
    expect(calm.stormCallsPerEvent).toMatchObject({ value: 15, basis: '15,000 calls / 1,000 events' });
    expect(failed.stormEventsPerSecond).toEqual({ value: null, reason: 'the storm had errors: Timeout' });
    expect(failed.stormCallsPerEvent).toEqual({ value: null, reason: 'the storm had errors: Timeout' });
  });

  it('invents no figure: a run that measured nothing has no number anywhere, each null with a reason', () => {
    // Prepare
    const nothing = aResult({
      bundles: [],
      events: [],
      sweeps: [],
      custodian: { unavailable: 'no python' },
      storm: { ...aResult().storm, errors: ['moto died'] },
    });
    // Act
    const headline = computeHeadline(nothing, LIMITS);
    // Assess
    expect(numbersIn(headline)).toEqual([]);
    const figures: Figure[] = [
      ...Object.values(headline.scanCpuRatioVsC7n).flatMap((byScale) => Object.values(byScale)),
      ...Object.values(headline.projectedUnitSecondsAt10k),
      headline.stormEventsPerSecond,
    ];
    expect(figures.length).toBeGreaterThan(0);
    for (const figure of figures)
      expect(figure).toEqual(expect.objectContaining({ reason: expect.any(String) }));
    expect(headline.targets.every((target) => target.met === null)).toBe(true);
  });

  it('puts a Headline table at the top of report.md with each verdict', () => {
    // Prepare
    const measured = aResult({
      sweeps: [section(1_000, { sweep: 900, scan: 600, c7nRun: 600, c7nProcess: 1_500 })],
    });
    // Act
    const markdown = renderReport({ ...measured, losses: [], headline: computeHeadline(measured, LIMITS) });
    // Assess
    expect(markdown.indexOf('## Headline')).toBeLessThan(markdown.indexOf('## Bundles'));
    expect(markdown).toContain(
      "| scan client CPU ≤ ⅓ of c7n's, every family, at 1,000 and 10,000 | **missed** | ssh-open-to-world at 1,000 |",
    );
    expect(markdown).toContain(
      '| scanCpuRatioVsC7n | ssh-open-to-world at 1,000 | 0.40 (≤ 0.33: **missed**); scan 600 ms CPU / c7n 1,500 ms CPU |',
    );
  });
});

describe('counting writes and changes from recorded calls', () => {
  it('counts DynamoDB writes, and as AWS changes only the writes that are neither DynamoDB nor bookkeeping', () => {
    // Prepare: a CloudTrail remediation as moto records it
    const calls = [
      'DescribeSecurityGroupRules',
      'GetItem',
      'TransactWriteItems',
      'UpdateItem',
      'RevokeSecurityGroupIngress',
      'UpdateItem',
      'Publish',
      'DeleteItem',
    ].map((action) => ({ action, method: 'POST' }));
    // Act, Assess
    expect(dynamoWritesOf(calls)).toBe(4);
    expect(awsChangesOf(calls)).toBe(1);
  });

  it("keeps the blast-radius guard's counter out of the incident's writes, and counts it on its own", () => {
    // Prepare: the guard's ADD and an incident update, as the SDK sends them
    const guard = {
      action: 'UpdateItem',
      method: 'POST',
      body: JSON.stringify({ Key: { pk: { S: 'GUARD' }, sk: { S: 'WINDOW#1' } } }),
    };
    const incident = {
      action: 'UpdateItem',
      method: 'POST',
      body: JSON.stringify({ Key: { pk: { S: 'INCIDENT#inc-1' }, sk: { S: 'INCIDENT' } } }),
    };
    // Act, Assess
    expect(dynamoWritesOf([guard, incident])).toBe(1);
    expect(guardWritesOf([guard, incident])).toBe(1);
  });

  it('gives a full vCPU at 1,769 MB, a linear share below and no more above', () => {
    expect(vcpuShare(1_769)).toBe(1);
    expect(vcpuShare(256)).toBeCloseTo(0.1447, 4);
    expect(vcpuShare(3_538)).toBe(1);
  });
});
