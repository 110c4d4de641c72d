import type { Incident } from '../shared/model';
import { DynamoDbIncidentStore } from '../shared/pipeline/incident-store';
import type { CliContext } from './context';
import { CliError, UsageError } from './errors';
import { inTable, tableRegion } from './ledger-access';

/** The incidents table the command line reads and writes: the home stack's, whatever --region says. */
export const incidentStore = (ctx: CliContext): DynamoDbIncidentStore =>
  // A status the CLI changes (incidents undo) is recorded as the caller's, asked only then.
  new DynamoDbIncidentStore(
    ctx.aws().dynamo(),
    ctx.tableName,
    ctx.settings.incidentRetentionDays,
    ctx.now,
    async () => (await ctx.caller()).arn,
  );

/** What newIncidentId makes: inc-20261123T232713-89b15e59. */
const INCIDENT_ID = /^inc-\d{8}T\d{6}-[0-9a-f]{8}$/;

/** `<incident-id>` as newIncidentId makes them, or a usage mistake. */
export function checkIncidentId(incidentId: string): string {
  if (!INCIDENT_ID.test(incidentId)) {
    throw new UsageError(
      `'${incidentId}' is not an incident id (they look like inc-20261123T232713-89b15e59)`,
    );
  }
  return incidentId;
}

/** The incident, or one line saying where the CLI looked and what to do. */
export async function findIncident(ctx: CliContext, incidentId: string): Promise<Incident> {
  checkIncidentId(incidentId);
  const incident = await inTable(ctx, () => incidentStore(ctx).get(incidentId));
  if (!incident) {
    throw new CliError(
      `incident ${incidentId} not found in table '${ctx.tableName}' (home region ${tableRegion(ctx)}): list incidents with compliance-responder incidents list, and check --table (every region's incidents are in the home stack's table)`,
    );
  }
  return incident;
}
