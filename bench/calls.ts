import { type RecordedCall, writesAmong } from '../scripts/lib/recorder';

/** DynamoDB's write actions: what a remediation's incident bookkeeping costs in writes. */
export const DYNAMO_WRITES: ReadonlySet<string> = new Set([
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'TransactWriteItems',
  'BatchWriteItem',
]);

/**
 * Writes that are the responder's own bookkeeping, not a change to the account's resources: the
 * alert, metrics, findings, Config's re-evaluation, role assumption.
 */
export const BOOKKEEPING_WRITES: ReadonlySet<string> = new Set([
  'Publish',
  'SendMessage',
  'SendMessageBatch',
  'PutMetricData',
  'BatchImportFindings',
  'BatchUpdateFindings',
  'PutEvents',
  'PutEvaluations',
  'StartConfigRulesEvaluation',
  'AssumeRole',
]);

type Call = Pick<RecordedCall, 'action' | 'method'> & { body?: string };

/**
 * The blast-radius guard's window counter (an UpdateItem of a `GUARD` item): kept out of the
 * incident's write budget, as issue 21 keeps it a separate atomic update (one hot item in every
 * transaction would conflict under load), and counted on its own.
 */
export const isGuardCounter = (call: Call): boolean =>
  call.action === 'UpdateItem' && /"pk":\{"S":"GUARD"\}/.test(call.body ?? '');

/** The incident's DynamoDB writes among the calls (a TransactWriteItems counts once: it is one request). */
export const dynamoWritesOf = (calls: readonly Call[]): number =>
  calls.filter((call) => DYNAMO_WRITES.has(call.action) && !isGuardCounter(call)).length;

/** The blast-radius counter's updates among the calls. */
export const guardWritesOf = (calls: readonly Call[]): number => calls.filter(isGuardCounter).length;

/** The AWS changes among the calls: every write that is neither DynamoDB nor bookkeeping (the n of n+2). */
export const awsChangesOf = (calls: readonly Call[]): number =>
  writesAmong(calls).filter((call) => !DYNAMO_WRITES.has(call.action) && !BOOKKEEPING_WRITES.has(call.action))
    .length;
