import { decideExemption } from '../shared/exemptions/decide';
import { DynamoDbExemptionLedger } from '../shared/exemptions/ledger';
import type { ExemptionRecord } from '../shared/model';
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
