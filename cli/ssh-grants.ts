import { type Grant, GrantKind, isLive } from '../shared/ssh/grant-ledger';
import { IAM_REGION } from '../shared/ssh/iam-keys';
import type { CliContext } from './context';
import { CliError } from './errors';
import { inLedger, ledgerRegions } from './ledger-access';
import { formatTable } from './table';
import { formatMinutes } from './ttl';

export interface GrantsListing {
  /** Live grants, soonest end first. */
  grants: Grant[];
  notes: string[];
}

/**
 * Live grants in the ledgers this run can see: --region's (security-group grants) and us-east-1's
 * (IAM key grants). A missing IAM ledger outside --region is a note, not a failure.
 */
export async function listLiveGrants(ctx: CliContext): Promise<GrantsListing> {
  const now = ctx.now();
  const byId = new Map<string, Grant>();
  const notes: string[] = [];
  for (const region of ledgerRegions(ctx)) {
    try {
      const grants = await inLedger(ctx, region, (ledger) => ledger.endingAfter(now));
      for (const grant of grants) if (isLive(grant, now)) byId.set(grant.grantId, grant);
    } catch (error) {
      if (!(error instanceof CliError) || region === ctx.region) throw error;
      notes.push(`IAM grants not listed: no table '${ctx.tableName}' in ${IAM_REGION}`);
    }
  }
  const grants = [...byId.values()].sort((a, b) => a.expiresAt.localeCompare(b.expiresAt));
  return { grants, notes };
}

export function describeTarget(grant: Grant): string {
  if (grant.kind === GrantKind.IamSshKey) return `iam-user ${grant.target.userName}`;
  const { region, groupId, cidr, port, ruleId } = grant.target;
  return `${region} ${groupId} ${cidr}:${port}${ruleId ? ` (${ruleId})` : ''}`;
}

export function grantsTable(grants: readonly Grant[], now: Date): string[] {
  const left = (grant: Grant) =>
    formatMinutes(Math.max(0, Math.ceil((Date.parse(grant.expiresAt) - now.getTime()) / 60_000)));
  return formatTable([
    ['GRANT', 'KIND', 'TARGET', 'FOR', 'BY', 'EXPIRES', 'REASON'],
    ...grants.map((grant) => [
      grant.grantId,
      grant.kind,
      describeTarget(grant),
      grant.grantedTo,
      grant.grantedBy.split(':').pop() ?? grant.grantedBy,
      `${grant.expiresAt} (in ${left(grant)})`,
      grant.reason,
    ]),
  ]);
}
