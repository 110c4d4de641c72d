import type { CliContext } from './context';
import { UsageError } from './errors';
import { type MemberPlace, organisationMembers } from './member-access';

/**
 * The accounts `scan --account` reads (docs/organisation.md): the caller's own with the caller's
 * credentials; any other only in an organisation deployment, only when Organizations lists it as
 * ACTIVE now, and only as its member on-call role (session `scan`). A named account that is not is
 * a usage mistake before any resource is read.
 */

/** One account to scan: its id, and how to reach it (undefined: the caller's own credentials). */
export interface ScanAccount {
  accountId: string;
  /** Assumes the member on-call role there; throws a CliError naming why it cannot. */
  enter?: () => Promise<MemberPlace>;
}

/** Session of the member on-call role for a scan: read-only, it names no incident. */
export const SCAN_SESSION = 'scan';

/** `--account`: ids, or `all`; absent (undefined): the caller's account alone, as without the option. Sorted, each once. */
export async function scanAccounts(
  ctx: CliContext,
  option: readonly string[] | 'all' | undefined,
): Promise<ScanAccount[]> {
  const { accountId: own } = await ctx.caller();
  if (option === undefined) return [{ accountId: own }];
  const named = option === 'all' ? undefined : option;
  const members = await organisationMembers(ctx);
  if (!members) {
    const others = (named ?? []).filter((account) => account !== own);
    if (others.length > 0) {
      throw new UsageError(
        `--account ${others.join(',')}: this stack is not an organisation deployment, so scan reads only your own account ${own}`,
      );
    }
    return [{ accountId: own }];
  }
  const wanted = named ? [...new Set(named)].sort() : await members.active();
  const outside: string[] = [];
  for (const account of wanted) {
    if (account !== own && !(await members.isActive(account))) outside.push(account);
  }
  if (outside.length > 0) {
    throw new UsageError(
      `--account ${outside.join(',')}: not an ACTIVE account of organisation ${members.organizationId}; nothing was scanned (compliance-responder scan --account all scans every ACTIVE account)`,
    );
  }
  return wanted.map((accountId) =>
    accountId === own ? { accountId } : { accountId, enter: () => members.enter(accountId, SCAN_SESSION) },
  );
}
