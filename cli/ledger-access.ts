import { decideExemption } from '../shared/exemptions/decide';
import { DynamoDbExemptionLedger } from '../shared/exemptions/ledger';
import type { ExemptionRecord } from '../shared/model';
import type { Loaded } from '../shared/rules/rule';
import type { GrantLedger } from '../shared/ssh/grant-ledger';
import { IAM_REGION } from '../shared/ssh/iam-keys';
import type { CliContext } from './context';
import { CliError } from './errors';

/**
 * Runs `work` against the ledger of a region and turns a missing table into one line saying where
 * the CLI looked and what to do. IAM grants always live in us-east-1's ledger (where the responder
 * judges IAM keys), whatever --region says.
 */
export async function inLedger<T>(
  ctx: CliContext,
  region: string,
  work: (ledger: GrantLedger) => Promise<T>,
): Promise<T> {
  try {
    return await work(ctx.ledger(region));
  } catch (error) {
    throw missingTable(ctx, region, error) ?? error;
  }
}

/** The one-line error for a ledger read that found no table, or undefined for any other error. */
export function missingTable(ctx: CliContext, region: string, error: unknown): CliError | undefined {
  if (!(error instanceof Error) || error.name !== 'ResourceNotFoundException') return undefined;
  const why =
    region === IAM_REGION && region !== ctx.region
      ? ` (IAM SSH grants are kept in ${IAM_REGION}, where the responder judges IAM keys: deploy the stack there)`
      : '';
  return new CliError(
    `table '${ctx.tableName}' not found in ${region}${why}: pass --table <name> or set INCIDENT_TABLE to the stack's incidents table`,
    { cause: error },
  );
}

/** The regions whose ledgers hold grants relevant to this CLI run: --region's, and IAM's. */
export const ledgerRegions = (ctx: CliContext): string[] => [...new Set([ctx.region, IAM_REGION])];

/**
 * Exemptions live in the home stack's table (HOME_REGION, else --region), whatever region the
 * resource is in; IAM is global and its exemptions live in us-east-1's ledger, like IAM grants.
 */
export const exemptionRegionFor = (ctx: CliContext, arnRegion: string): string =>
  arnRegion === '' ? IAM_REGION : ctx.settings.homeRegion;

export const exemptionLedgerIn = (ctx: CliContext, region: string): DynamoDbExemptionLedger =>
  new DynamoDbExemptionLedger(ctx.aws(region).dynamo(), ctx.tableName, ctx.settings.incidentRetentionDays);

/**
 * The exemption in force for a finding, decided as the pipeline decides it: the ledger's entry, never
 * a tag alone (a tag is only a request). Read from the ledger this resource's exemptions live in.
 */
export async function exemptionInForce(
  ctx: CliContext,
  ruleId: string,
  resource: Loaded<unknown>,
): Promise<ExemptionRecord | undefined> {
  const region = exemptionRegionFor(ctx, resource.arn.split(':')[3] ?? '');
  const decision = await inLedger(ctx, region, () =>
    decideExemption(
      exemptionLedgerIn(ctx, region),
      ruleId,
      resource,
      { reason: ctx.settings.exemptTag, until: ctx.settings.exemptUntilTag },
      ctx.now(),
    ),
  );
  return decision.exemption;
}
