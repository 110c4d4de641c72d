/**
 * How a rule's sweep queue and sweep function are named (scripts/lib/deployment.ts), with no import:
 * `npm run local:invoke` reads it before it loads any bundle.
 */

/** What a rule's queue name adds to the stack's: `<stack>-<rule id>-sweep` (one queue per rule). */
export const sweepQueueTail = (ruleId: string): string => `${ruleId}-sweep`;
export const sweepQueueName = (stackName: string, ruleId: string): string =>
  `${stackName}-${sweepQueueTail(ruleId)}`;

/**
 * The function that consumes a rule's queue, apart from the rule's own: `<stack>-<rule id>-sweep`,
 * named like its queue. It runs the rule's handler, so the rule's bundle.
 */
export const sweepFunctionName = (ruleId: string): string => `${ruleId}-sweep`;

/** The rule a sweep function's name belongs to; undefined for any other name. */
export const ruleOfSweepFunction = (name: string): string | undefined =>
  /^([a-z][a-z0-9-]*)-sweep$/.exec(name)?.[1];
