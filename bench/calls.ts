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

type Call = Pick<RecordedCall, 'action' | 'method'>;

/** DynamoDB writes among the calls (a TransactWriteItems counts once: it is one request). */
export const dynamoWritesOf = (calls: readonly Call[]): number =>
  calls.filter((call) => DYNAMO_WRITES.has(call.action)).length;

/** The AWS changes among the calls: every write that is neither DynamoDB nor bookkeeping (the n of n+2). */
export const awsChangesOf = (calls: readonly Call[]): number =>
  writesAmong(calls).filter((call) => !DYNAMO_WRITES.has(call.action) && !BOOKKEEPING_WRITES.has(call.action))
    .length;
