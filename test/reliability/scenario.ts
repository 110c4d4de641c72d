import { scheduledEvent } from '../../scripts/lib/events';
import { modeVariable } from '../../shared/config';
import type { Incident } from '../../shared/model';
import type { Rule } from '../../shared/rules/rule';
import type { Fault } from '../support/fault-proxy';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
/** shared/aws/clients.ts: every call is tried at most this often (a fault this many times in a row outlasts the retries). */
export const MAX_ATTEMPTS = 5;

/**
 * The fault suite's two halves, one jest file each (test/reliability/faults-<family>.test.ts), so
 * jest runs them in parallel; a scenario says which half it belongs to, keeping them about equal.
 */
export const FAMILIES = ['storage-tenancy', 'access-audit'] as const;
export type Family = (typeof FAMILIES)[number];

/** A drift seeded in moto: its event, the sweep that would also find it, and how to read the outcome. */
export interface Drift {
  event: unknown;
  sweep: unknown;
  /** The resource reads as compliant now. */
  compliant(): Promise<boolean>;
  /** Nothing the customer owns was destroyed (originals kept). */
  kept(): Promise<boolean>;
}

/**
 * What test/reliability/scenarios/<rule-id>.ts exports as `scenario`: the rule's drift, seeded the way
 * its integration tests seed it, with sentinel tag values (and descriptions) wherever AWS allows them.
 */
export interface Scenario {
  family: Family;
  /** Settings the function runs with (e.g. a mode that changes something). */
  env?: Record<string, string>;
  seed(): Promise<Drift>;
  /**
   * Faults injected on every CI run besides the sampled ones: cases that once broke a claim (say which,
   * and where it was fixed).
   */
  regressions?: readonly Fault[];
}

/** A registry rule with its scenario. */
export interface RuleScenario extends Scenario {
  rule: string;
  /**
   * What the function does about the drift in the mode it runs (the scenario's env, or the rule's
   * default): remediates it (enforce), or opens an incident, pages and changes nothing (notify).
   */
  outcome: 'remediates' | 'notifies';
}

export const sweep = () => scheduledEvent({ accountId: ACCOUNT, region: REGION });

/**
 * A rule that only notifies: its drift, and the sweep that would also find it. Nothing is changed,
 * so nothing can be lost (`kept`); `compliant` must keep reading false, which proves it. Its whole
 * scenario file:
 *
 *   export const scenario: Scenario = {
 *     family: 'access-audit',
 *     async seed() {
 *       const id = await createTheDriftInMoto();
 *       return notifyOnly(cloudTrailEvent({ eventName, eventSource, region: REGION, ... }), () => readsCompliant(id));
 *     },
 *   };
 */
export const notifyOnly = (event: unknown, compliant: () => Promise<boolean>): Drift => ({
  event,
  sweep: sweep(),
  compliant,
  kept: async () => true,
});

export function outcomeOf(rule: Rule, env: Readonly<Record<string, string>> = {}): RuleScenario['outcome'] {
  const mode = env[modeVariable(rule.id)] ?? rule.defaultMode;
  if (mode === 'off') throw new Error(`${rule.id} is off in its scenario: it would not respond at all`);
  // A rule without a remediation notifies whatever its mode (Rule requires one today).
  return mode === 'enforce' && typeof rule.remediate === 'function' ? 'remediates' : 'notifies';
}

/** The scenario run in notify mode (any rule may be): it pages and changes nothing. */
export const inNotifyMode = (scenario: RuleScenario): RuleScenario => ({
  ...scenario,
  env: { ...scenario.env, [modeVariable(scenario.rule)]: 'notify' },
  outcome: 'notifies',
});

/**
 * Why the drift's one incident does not show the scenario's outcome (empty: it does): remediated and
 * compliant, or left open by notify mode with the resource unchanged.
 */
export async function outcomeProblems(
  scenario: Pick<RuleScenario, 'outcome'>,
  drift: Drift,
  incident: Incident | undefined,
): Promise<string[]> {
  const compliant = await drift.compliant();
  if (scenario.outcome === 'remediates') return compliant ? [] : ['the drift was not remediated'];
  const problems: string[] = [];
  if (compliant) problems.push('notify mode changed the resource');
  if (
    incident?.status !== 'open' ||
    incident.mode !== 'notify' ||
    !incident.statusReason?.startsWith('notify')
  )
    problems.push(
      `not a notified incident: ${incident?.status} (${incident?.mode}): ${incident?.statusReason}`,
    );
  return problems;
}
