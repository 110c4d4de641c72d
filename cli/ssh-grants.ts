import { grantBeyondLimits, grantLimitsOf } from '../shared/ledger-limits';
import { type Grant, GrantKind, isLive } from '../shared/ssh/grant-ledger';
import type { CliContext } from './context';
import { formatMinutes } from './duration';
import { inLedger } from './ledger-access';
import { formatTable, type TableLayout } from './table';

/**
 * Live grants of every region and IAM, soonest end first, from the one ledger in the home table; a
 * grant beyond the deployed stack's limits is not live (the function ignores it), so it is not listed.
 */
export async function listLiveGrants(ctx: CliContext): Promise<Grant[]> {
  const now = ctx.now();
  const grants = await inLedger(ctx, (ledger) => ledger.endingAfter(now));
  const limits = grantLimitsOf(await ctx.deployedSettings());
  return grants
    .filter((grant) => isLive(grant, now) && !grantBeyondLimits(grant, limits, now))
    .sort((a, b) => a.expiresAt.localeCompare(b.expiresAt));
}

export function describeTarget(grant: Grant): string {
  if (grant.kind === GrantKind.IamSshKey) return `iam-user ${grant.target.userName}`;
  const { region, groupId, cidr, port, ruleId } = grant.target;
  return `${region} ${groupId} ${cidr}:${port}${ruleId ? ` (${ruleId})` : ''}`;
}

export function grantsTable(grants: readonly Grant[], now: Date, layout?: TableLayout): string[] {
  const left = (grant: Grant) =>
    formatMinutes(Math.max(0, Math.ceil((Date.parse(grant.expiresAt) - now.getTime()) / 60_000)));
  return formatTable(
    [
      ['GRANT', 'ACCOUNT', 'KIND', 'TARGET', 'FOR', 'BY', 'EXPIRES', 'REASON'],
      ...grants.map((grant) => [
        grant.grantId,
        grant.account ?? '-',
        grant.kind,
        describeTarget(grant),
        grant.grantedTo,
        grant.grantedBy.split(':').pop() ?? grant.grantedBy,
        `${grant.expiresAt} (in ${left(grant)})`,
        grant.reason,
      ]),
    ],
    layout,
  );
}
