import { modeVariable } from '../../shared/config';
import { rules } from '../../shared/rules';
import type { Rule } from '../../shared/rules/rule';
import { SDK_CLIENTS, servicesOf } from '../support/aws-services';
import { PROTOCOLS } from '../support/fault-proxy';
import { outcomeOf } from './scenario';
import { scenarioFor } from './scenarios';

/**
 * The reliability plumbing takes its rules from the registry: each rule brings its scenario file, and
 * each service its rules call has its SDK client (to mock) and its protocol (to throttle). A rule
 * added without them fails here, saying what to write.
 */

/** Why each rule's scenario cannot be loaded (empty: every rule has one). */
const missing = (list: readonly Rule[]): string[] =>
  list.flatMap((rule) => {
    try {
      scenarioFor(rule);
      return [];
    } catch (error) {
      return [(error as Error).message];
    }
  });

/** Services of these rules the plumbing does not know (empty: all known). */
const unknownServices = (list: readonly Rule[]) =>
  servicesOf(list).filter((service) => !SDK_CLIENTS[service] || !PROTOCOLS[service]);

/** A rule added to the registry with nothing else written for it yet. */
const newcomer = (overrides: Partial<Rule>): Rule => ({
  ...(rules[0] as Rule),
  id: 'newcomer-without-files',
  ...overrides,
});

it('has a reliability scenario for every registry rule', () => {
  // Assess
  expect(missing(rules)).toEqual([]);
});

it('fails a registry rule without a scenario file, naming the file to write', () => {
  // Assess
  expect(missing([...rules, newcomer({})])).toEqual([
    expect.stringContaining(
      'write test/reliability/scenarios/newcomer-without-files.ts exporting `scenario`',
    ),
  ]);
});

it('knows the SDK client and the protocol of every service the registry calls', () => {
  // Assess
  expect(unknownServices(rules)).toEqual([]);
});

it('fails a rule on a service the plumbing does not know, naming the service', () => {
  // Prepare
  const onWorkGroups = newcomer({
    permissions: [{ sid: 'ReadWorkGroups', actions: ['athena:ListWorkGroups'] }],
  });
  // Assess
  expect(unknownServices([...rules, onWorkGroups])).toEqual(['athena']);
});

it('expects a notify-only rule, or a rule run in notify mode, to notify; an enforced rule to remediate', () => {
  // Prepare
  const notifyOnly = newcomer({ defaultMode: 'notify' });
  const enforced = newcomer({ defaultMode: 'enforce' });
  const variable = modeVariable('newcomer-without-files');
  // Assess
  expect(outcomeOf(notifyOnly)).toBe('notifies');
  expect(outcomeOf(enforced)).toBe('remediates');
  expect(outcomeOf(enforced, { [variable]: 'notify' })).toBe('notifies');
  expect(outcomeOf(notifyOnly, { [variable]: 'enforce' })).toBe('remediates');
  expect(() => outcomeOf(enforced, { [variable]: 'off' })).toThrow(/off in its scenario/);
});
