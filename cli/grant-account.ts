import { newIncidentId } from '../shared/pipeline/run-pipeline';
import type { Grant } from '../shared/ssh/grant-ledger';
import type { GrantAccount } from '../shared/ssh/grant-match';
import type { CliContext } from './context';
import { CliError, UsageError } from './errors';
import { type Members, organisationMembers } from './member-access';

/**
 * The account a grant opens a path in (docs/organisation.md): the security account with the caller's
 * own credentials, or, in an organisation deployment, an account Organizations lists as ACTIVE now,
 * as the member role of the command's home role (the approver's for `ssh grant`, on-call's for
 * `ssh revoke`), under a session named after the grant's incident, so the member's CloudTrail names
 * it. The ledger, the incident and the alert stay the home stack's.
 */
export interface GrantPlace {
  /** The account the grant names. */
  readonly accountId: string;
  /** Where paths are judged (grant-match.ts): `home` is the security account. */
  readonly where: GrantAccount;
  /**
   * Acts in the account: a context for its reads and changes, and, in a member, the incident id the
   * session is named after (the grant's incident is recorded under it) and that session's ARN.
   */
  enter(now: Date): Promise<{ ctx: CliContext; member?: { incidentId: string; session: string } }>;
}

const home = (ctx: CliContext, accountId: string): GrantPlace => ({
  accountId,
  where: { accountId, home: true },
  enter: async () => ({ ctx }),
});

/** A member account, entered as the command's member role under a session named after a new incident. */
const member = (members: Members, accountId: string): GrantPlace => ({
  accountId,
  where: { accountId, home: false },
  async enter(now) {
    const incidentId = newIncidentId(now);
    const place = await members.enter(accountId, incidentId);
    return { ctx: place.ctx, member: { incidentId, session: place.session } };
  },
});

/**
 * `ssh grant --account`: the account to grant in, refused before any read or write unless it is the
 * caller's own, or an ACTIVE member of an organisation deployment's organisation.
 */
export async function grantPlace(
  ctx: CliContext,
  account: string | undefined,
  memberRole: (stackName: string) => string,
): Promise<GrantPlace> {
  const { accountId: own } = await ctx.caller();
  if (account === undefined || account === own) return home(ctx, own);
  const members = await organisationMembers(ctx, memberRole);
  if (!members) {
    throw new UsageError(
      `--account ${account}: this stack is not an organisation deployment, so ssh grant opens paths only in your own account ${own}; nothing was granted`,
    );
  }
  if (!(await members.isActive(account))) {
    throw new UsageError(
      `--account ${account}: not an ACTIVE account of organisation ${members.organizationId}; nothing was granted`,
    );
  }
  return member(members, account);
}

/**
 * `ssh revoke`: the account the grant names (none: the security account). A member's must still be
 * an ACTIVE member: the ledger alone never sends the command line into an account.
 */
export async function revokePlace(
  ctx: CliContext,
  grant: Grant,
  memberRole: (stackName: string) => string,
): Promise<GrantPlace> {
  const { accountId: own } = await ctx.caller();
  if (grant.account === undefined || grant.account === own) return home(ctx, own);
  const members = await organisationMembers(ctx, memberRole);
  const refuse = (why: string) =>
    new CliError(
      `grant ${grant.grantId} is for account ${grant.account}, ${why}: nothing was changed (it ends at ${grant.expiresAt})`,
    );
  if (!members) throw refuse('and this stack is not an organisation deployment');
  if (!(await members.isActive(grant.account)))
    throw refuse(`not an ACTIVE account of organisation ${members.organizationId}`);
  return member(members, grant.account);
}
