import { decideExemption, exemptionDecision } from '../shared/exemptions/decide';
import { DynamoDbExemptionLedger, type Exemption } from '../shared/exemptions/ledger';
import type { ExemptionRecord } from '../shared/model';
import { readTogether } from '../shared/pipeline/delivery-reads';
import type { Loaded, Rule } from '../shared/rules/rule';
import type { GrantLedger } from '../shared/ssh/grant-ledger';
import type { CliContext } from './context';
import { CliError } from './errors';

/**
 * The region of the stack's one table (incidents, guard, grants, exemptions): the home stack's,
 * as the functions read it (HOME_REGION, else .local/env.json's, else --region). Resources are
 * still acted on in their own region; only table reads and writes go here.
 */
export const tableRegion = (ctx: CliContext): string => ctx.settings.homeRegion;

/** Runs `work` against the stack's table and turns a missing table into one line saying what to do. */
export async function inTable<T>(ctx: CliContext, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw missingTable(ctx, error) ?? error;
  }
}

/** inTable, with the grant ledger. */
export const inLedger = <T>(ctx: CliContext, work: (ledger: GrantLedger) => Promise<T>): Promise<T> =>
  inTable(ctx, () => work(ctx.ledger()));

/** The one-line error for a table access that found no table, or undefined for any other error. */
export function missingTable(ctx: CliContext, error: unknown): CliError | undefined {
  if (!(error instanceof Error) || error.name !== 'ResourceNotFoundException') return undefined;
  return new CliError(
    `table '${ctx.tableName}' not found in the home region ${tableRegion(ctx)}: set HOME_REGION (or pass --region) to the home stack's region, or --table`,
    { cause: error },
  );
}

export const exemptionLedger = (ctx: CliContext): DynamoDbExemptionLedger =>
  new DynamoDbExemptionLedger(ctx.aws().dynamo(), ctx.tableName, ctx.settings.incidentRetentionDays);

/** Keys of one BatchGetItem, as DynamoDB allows. */
const KEYS_PER_BATCH = 100;

/**
 * The exemptions in force for many findings of one rule, in their order: the ledger's current items
 * read together (one BatchGetItem per 100, unprocessed keys retried a bounded number of times, as a
 * delivery reads them), each decided as the pipeline decides it, limits re-checked.
 */
export async function exemptionsInForce(
  ctx: CliContext,
  rule: Pick<Rule, 'id' | 'neverExempt'>,
  resources: readonly Loaded<unknown>[],
): Promise<(ExemptionRecord | undefined)[]> {
  if (rule.neverExempt) return resources.map(() => undefined);
  const ledger = exemptionLedger(ctx);
  const tagNames = { reason: ctx.settings.exemptTag, until: ctx.settings.exemptUntilTag };
  const decided: (ExemptionRecord | undefined)[] = [];
  for (let start = 0; start < resources.length; start += KEYS_PER_BATCH) {
    const batch = resources.slice(start, start + KEYS_PER_BATCH);
    const reads = Object.fromEntries(
      batch.map((resource, index) => [String(index), ledger.currentRead(rule.id, resource.arn)]),
    );
    const current = await inTable(ctx, () => readTogether(ctx.aws().dynamo(), reads));
    batch.forEach((resource, index) => {
      const read = current[String(index)] as Exemption | undefined;
      decided.push(exemptionDecision(read, rule, resource, tagNames, ctx.now()).exemption);
    });
  }
  return decided;
}

/**
 * The exemption in force for a finding, decided as the pipeline decides it: the ledger's entry, never
 * a tag alone (a tag is only a request).
 */
export async function exemptionInForce(
  ctx: CliContext,
  rule: Pick<Rule, 'id' | 'neverExempt'>,
  resource: Loaded<unknown>,
): Promise<ExemptionRecord | undefined> {
  const decision = await inTable(ctx, () =>
    decideExemption(
      exemptionLedger(ctx),
      rule,
      resource,
      { reason: ctx.settings.exemptTag, until: ctx.settings.exemptUntilTag },
      ctx.now(),
    ),
  );
  return decision.exemption;
}
