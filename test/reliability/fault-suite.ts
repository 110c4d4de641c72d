import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configRuleInvocation, scheduledEvent } from '../../scripts/lib/events';
import type { ReceivedAlert } from '../../scripts/lib/local-stack';
import { type Fault, type FaultKind, FaultProxy, type ProxiedCall } from '../support/fault-proxy';
import { LocalResponder, resetAccount } from '../support/local-responder';
import { alertViolations, incidentViolations, leaks, outputCapture } from './bounds';
import { FULL, SEED, sample, seededRandom, writeFigures } from './figures';
import { ACCOUNT, type Family, MAX_ATTEMPTS, outcomeProblems, REGION, type RuleScenario } from './scenario';
import { scenarios } from './scenarios';

/** Fault cases per rule in CI (a fixed-seed sample); RELIABILITY_FULL=1 runs every call × every kind. */
const CI_CASES_PER_RULE = 1;
/** How often each kind fails the call it hits: through every SDK retry, or once (a retry succeeds). */
const TIMES: Record<FaultKind, number> = {
  throttle: MAX_ATTEMPTS,
  http500: MAX_ATTEMPTS,
  http503: 1,
  reset: MAX_ATTEMPTS,
  // The work is done and the answer lost; a retry repeats the call.
  'reset-after': 1,
  // Each stall costs the SDK's 15 s socket timeout.
  stall: 1,
};
export const KINDS = Object.keys(TIMES) as FaultKind[];
/**
 * CI's kinds are stratified: the rules take the kinds in turn (in registry order), so every kind is
 * injected in every run (8 rules, 6 kinds); the call each case hits is sampled, alternately among the
 * rule's own AWS calls and the pipeline's.
 */
export const ciKinds = (ruleIndex: number): FaultKind[] =>
  Array.from(
    { length: CI_CASES_PER_RULE },
    (_, k) => KINDS[(ruleIndex * CI_CASES_PER_RULE + k) % KINDS.length] as FaultKind,
  );
/** An interrupted remediation or alert is taken up by the next delivery after this long (1 s here, 300 s deployed). */
const STALE = { REMEDIATION_STALE_SECONDS: '1' };
const RESULTS = join(__dirname, '..', '..', '.local', 'test-results');
const isPipelineCall = (action: string) => /^(dynamodb|sns):/.test(action);
const isRead = (action: string) => /:(Describe|Get|List|Query|Scan|BatchGet)/.test(action);
/** The rule's own AWS changes that moto received (the proxy did not refuse them before forwarding). */
export const ruleWrites = (calls: readonly ProxiedCall[]) =>
  calls.filter(
    (call) =>
      !isPipelineCall(call.action) && !isRead(call.action) && (!call.fault || call.fault === 'reset-after'),
  );
export const countBy = (calls: readonly ProxiedCall[]) => {
  const counts = new Map<string, number>();
  for (const call of calls) counts.set(call.action, (counts.get(call.action) ?? 0) + 1);
  return counts;
};

export interface CaseResult {
  fault: Fault;
  /** The proxy really failed the call (the faulty run reached it). */
  injected: boolean;
  outcome: 'remediated' | 'notified' | 'failed-and-paged';
  problems: string[];
  requests: number;
}

/** Every AWS action each rule's function sent through the proxy in this file (jest isolates modules per file). */
const sent = new Map<string, Set<string>>();

function remember(rule: string, calls: readonly ProxiedCall[]): void {
  const actions = sent.get(rule) ?? new Set<string>();
  for (const call of calls) actions.add(call.action);
  sent.set(rule, actions);
}

/** One delivery with a fault armed, then a clean redelivery and a sweep; every invariant checked. */
export async function runCase(
  proxy: FaultProxy,
  scenario: RuleScenario,
  fault: Fault,
  clean: Map<string, number>,
): Promise<CaseResult> {
  // Prepare
  await resetAccount();
  const responder = await LocalResponder.provision({
    AWS_ENDPOINT_URL: proxy.url,
    ...STALE,
    ...scenario.env,
  });
  const drift = await scenario.seed();
  const { env, read: output } = outputCapture();
  const problems: string[] = [];
  // Act: the faulty delivery
  proxy.arm([fault]);
  await responder.invokeBundle(scenario.rule, drift.event, env);
  const faulted = [...proxy.calls];
  proxy.arm();
  remember(scenario.rule, faulted);
  const injected = faulted.some((call) => call.fault === fault.kind);
  if (!injected) problems.push('the fault was never injected: the faulty run did not reach its call');
  const alerts: ReceivedAlert[] = await responder.alerts();
  const afterFault = await responder.incidents();
  // Assess: retries bounded, nothing changed without an incident, no false "remediated"
  for (const [action, count] of countBy(faulted))
    if (count > MAX_ATTEMPTS * Math.max(1, clean.get(action) ?? 0))
      problems.push(`${action} sent ${count} times (clean run: ${clean.get(action) ?? 0})`);
  if (ruleWrites(faulted).length > 0 && afterFault.length === 0)
    problems.push(
      `changed ${ruleWrites(faulted)
        .map((c) => c.action)
        .join(', ')} with no incident`,
    );
  if (afterFault.some((incident) => incident.status === 'remediated') && !(await drift.compliant()))
    problems.push('an incident says remediated but the resource is not compliant');
  // Act: AWS redelivers (after the stale limit, as Lambda's retries come minutes later), and the sweep comes round
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  proxy.arm();
  await responder.invokeBundle(scenario.rule, drift.event, env);
  await responder.invokeBundle(scenario.rule, drift.sweep, env);
  remember(scenario.rule, proxy.calls);
  alerts.push(...(await responder.alerts()));
  const incidents = await responder.incidents();
  // Assess: one incident that tells the truth, one page for it, nothing lost or leaked
  const compliant = await drift.compliant();
  const [incident, ...more] = incidents;
  if (!incident || more.length > 0) problems.push(`${incidents.length} incidents for one drift`);
  // Resolved: a failed incident that a later check found compliant (the fix landed after all).
  const remediated = ['remediated', 'resolved'].includes(String(incident?.status)) && compliant;
  if (incident?.status === 'remediated' && !compliant) problems.push('remediated, yet not compliant');
  const notified = scenario.outcome === 'notifies';
  if (notified) {
    // Notify mode changes nothing, faults or not: the incident stays open, paged.
    problems.push(...(await outcomeProblems(scenario, drift, incident)));
    const writes = ruleWrites([...faulted, ...proxy.calls]);
    if (writes.length > 0) problems.push(`notify mode changed ${writes.map((c) => c.action).join(', ')}`);
  } else if (incident && !['remediated', 'failed', 'resolved'].includes(incident.status))
    problems.push(`left ${incident.status}: ${incident.statusReason ?? ''}`);
  const paged = new Set(alerts.map((alert) => alert.body.incidentId));
  if (paged.size !== 1 || (incident && !paged.has(incident.incidentId)))
    problems.push(`alerts for ${paged.size} incidents`);
  // At-least-once: only a Publish whose answer was lost, or whose "sent" could not be recorded (the
  // table write right after it failed through every retry), may be delivered twice (same incident id).
  const publishLost = fault.kind === 'reset-after' && fault.action === 'sns:Publish';
  const firstFault = faulted.findIndex((call) => call.fault);
  const sentUnrecorded =
    fault.action === 'dynamodb:UpdateItem' && faulted[firstFault - 1]?.action === 'sns:Publish';
  if (alerts.length > (publishLost || sentUnrecorded ? 2 : 1)) problems.push(`${alerts.length} alerts`);
  if (!(await drift.kept())) problems.push('customer data destroyed');
  problems.push(...incidents.flatMap(incidentViolations), ...alerts.flatMap(alertViolations));
  const leaked = leaks([output(), JSON.stringify(alerts), JSON.stringify(incidents)]);
  if (leaked.length > 0) problems.push(`sentinel tag value leaked: ${leaked.join(' | ')}`);
  return {
    fault,
    injected,
    outcome: remediated ? 'remediated' : notified ? 'notified' : 'failed-and-paged',
    problems,
    requests: faulted.length,
  };
}

/**
 * The fault cases of one family's rules (one test file each family, so jest runs them in parallel):
 * for each rule, sampled faults at the calls of its clean run, and a throttled listing.
 */
export function describeFaults(family: Family): void {
  // The index in the registry decides the rule's CI kinds and sample.
  const ofFamily = scenarios().flatMap((scenario, index) =>
    scenario.family === family ? [[scenario.rule, scenario, index] as const] : [],
  );
  const planned = new Set(ofFamily.flatMap(([, , index]) => ciKinds(index)));
  let proxy: FaultProxy;
  const figures = {
    cases: [] as { rule: string; fault: Fault; injected: boolean; outcome: string; requests: number }[],
    throttledSweeps: 0,
  };

  beforeAll(async () => {
    proxy = await FaultProxy.start(String(process.env.AWS_ENDPOINT_URL));
  });

  afterAll(async () => {
    await proxy.close();
    // Per-rule record of every AWS action its function sent here, for the least-privilege contract.
    mkdirSync(join(RESULTS, 'sent-actions'), { recursive: true });
    for (const [rule, actions] of sent)
      writeFileSync(
        join(RESULTS, 'sent-actions', `${rule}.json`),
        `${JSON.stringify([...actions].sort(), null, 2)}\n`,
      );
    const byKind = Object.fromEntries(
      KINDS.map((kind) => {
        const cases = figures.cases.filter((c) => c.fault.kind === kind && c.injected);
        return [
          kind,
          {
            injected: cases.length,
            remediated: cases.filter((c) => c.outcome === 'remediated').length,
            notified: cases.filter((c) => c.outcome === 'notified').length,
            failedAndPaged: cases.filter((c) => c.outcome === 'failed-and-paged').length,
          },
        ];
      }),
    );
    writeFigures(`faults-${family}`, { full: FULL, seed: SEED, byKind, ...figures });
  });

  describe.each(ofFamily)('faults injected into %s against moto', (rule, scenario, index) => {
    it('survives a fault at every call of its remediation (sampled in CI)', async () => {
      // Prepare: the clean run's calls are the map of where faults can go
      await resetAccount();
      const responder = await LocalResponder.provision({ AWS_ENDPOINT_URL: proxy.url, ...scenario.env });
      const drift = await scenario.seed();
      proxy.arm();
      const clean = await responder.invokeBundle(rule, drift.event);
      const cleanCalls = [...proxy.calls];
      remember(rule, cleanCalls);
      expect(clean.ok).toBe(true);
      const [handled] = await responder.incidents();
      expect(await outcomeProblems(scenario, drift, handled)).toEqual([]);
      if (scenario.outcome === 'notifies') expect(ruleWrites(cleanCalls)).toEqual([]);
      const seen = new Map<string, number>();
      const points = cleanCalls.map((call) => {
        seen.set(call.action, (seen.get(call.action) ?? 0) + 1);
        return { action: call.action, nth: seen.get(call.action) ?? 1 };
      });
      const all = points.flatMap((point) => KINDS.map((kind) => ({ ...point, kind, times: TIMES[kind] })));
      const random = seededRandom(SEED + index);
      // Every other rule's case hits its own AWS calls, the rest the pipeline's (table and topic).
      const own = (fault: Fault) => isPipelineCall(fault.action) === (index % 2 === 1);
      const sampled = ciKinds(index).flatMap((kind) => {
        const ofKind = all.filter((fault) => fault.kind === kind);
        return sample(ofKind.some(own) ? ofKind.filter(own) : ofKind, 1, random);
      });
      const chosen = [...(FULL ? all : sampled), ...(scenario.regressions ?? [])];
      const counts = countBy(cleanCalls);
      // Act
      const results: CaseResult[] = [];
      for (const fault of chosen) results.push(await runCase(proxy, scenario, fault, counts));
      figures.cases.push(
        ...results.map(({ fault, injected, outcome, requests }) => ({
          rule,
          fault,
          injected,
          outcome,
          requests,
        })),
      );
      // Assess
      expect(
        results
          .filter((result) => result.problems.length > 0)
          .map(({ fault, problems }) => ({ fault, problems })),
      ).toEqual([]);
      expect(results.length).toBe(chosen.length);
    }, 900_000);

    it('never reports "no resources, all compliant" when its listing is throttled', async () => {
      // Prepare: the reads a sweep makes are its listings (probed before the drift is seeded)
      await resetAccount();
      const responder = await LocalResponder.provision({ AWS_ENDPOINT_URL: proxy.url, ...scenario.env });
      proxy.arm();
      await responder.invokeBundle(rule, scheduledEvent({ accountId: ACCOUNT, region: REGION }));
      // The first read of each of the rule's listings (a region's; IAM's, listed apart, for SSH keys).
      const listingReads = [
        ...new Set(
          proxy.calls
            .filter((call) => !isPipelineCall(call.action) && isRead(call.action))
            .map((call) => call.action),
        ),
      ];
      const [firstRead] = listingReads;
      if (!firstRead) throw new Error(`${rule}: its sweep read nothing`);
      const seeded = await scenario.seed();
      // An account-level rule's probe on a new account finds (and fixes) a drift of its own: kept as is.
      const before = await responder.incidents();
      const periodic = configRuleInvocation({
        accountId: ACCOUNT,
        region: REGION,
        ruleName: rule,
        invokingEvent: {
          messageType: 'ScheduledNotification',
          notificationCreationTime: new Date().toISOString(),
        },
      });
      // Act: both at once (each waits out its SDK's throttling back-off)
      proxy.arm(listingReads.map((action) => ({ action, nth: 1, kind: 'throttle' as const, times: 1_000 })));
      const [swept, evaluated] = await Promise.all([
        responder.invokeBundle(rule, seeded.sweep),
        responder.invokeBundle(rule, periodic),
      ]);
      const calls = [...proxy.calls];
      proxy.arm();
      remember(rule, calls);
      // Assess: the error surfaces, nothing is concluded, retries stop
      for (const result of [swept, evaluated]) {
        expect(result.ok).toBe(false);
        expect(String(result.result.errorMessage ?? result.result.errorType)).toMatch(
          /throttl|rate exceeded|request limit/i,
        );
      }
      expect(calls.filter((call) => call.action === 'config:PutEvaluations')).toEqual([]);
      expect(calls.filter((call) => call.action === firstRead).length).toBeLessThanOrEqual(2 * MAX_ATTEMPTS);
      expect(calls.some((call) => call.action === firstRead && call.fault === 'throttle')).toBe(true);
      expect(await responder.incidents()).toEqual(before);
      expect(await seeded.compliant()).toBe(false);
      figures.throttledSweeps += 2;
    }, 120_000);
  });

  it('injected and survived every fault kind planned for these rules', () => {
    // Assess: the runs above really failed calls with each kind (each rule's test asserts they survived)
    const kinds = FULL ? KINDS : [...planned];
    expect(kinds.filter((kind) => !figures.cases.some((c) => c.fault.kind === kind && c.injected))).toEqual(
      [],
    );
  });
}
