import type { CliContext } from './context';
import { UsageError } from './errors';
import { type MemberPlace, organisationMembers } from './member-access';

/**
 * The accounts a command with `--account` acts in (docs/organisation.md): `scan` reads them,
 * `ssh lockdown` closes paths there. The caller's own with the caller's credentials; any other only
 * in an organisation deployment, only when Organizations lists it as ACTIVE now, and only as its
 * member on-call role. A named account that is not is a usage mistake before any resource is read.
 */

/** One account to act in: its id, and how to reach it (undefined: the caller's own credentials). */
export interface ScanAccount {
  accountId: string;
  /** Assumes the member on-call role there under `session`; throws a CliError naming why it cannot. */
  enter?: (session: string) => Promise<MemberPlace>;
}

/** Session of the member on-call role for a scan: read-only, it names no incident. */
export const SCAN_SESSION = 'scan';

/** How the usage mistakes name the command: what it does, and what was not done. */
export interface AccountsUse {
  /** `scan reads only your own account` / `ssh lockdown closes paths only in your own account`. */
  only: string;
  /** `nothing was scanned` / `nothing was changed`. */
  nothing: string;
  /** The command that acts in every ACTIVE account. */
  all: string;
}

const SCAN: AccountsUse = {
  only: 'scan reads only your own account',
  nothing: 'nothing was scanned',
  all: 'compliance-responder scan --account all scans every ACTIVE account',
};

/** `--account`: ids, or `all`; absent (undefined): the caller's account alone, as without the option. Sorted, each once. */
export function scanAccounts(
  ctx: CliContext,
  option: readonly string[] | 'all' | undefined,
): Promise<ScanAccount[]> {
  return accountsToActIn(ctx, option, SCAN);
}

/** The accounts `--account` names for a command, each checked before anything is read (see above). */
export async function accountsToActIn(
  ctx: CliContext,
  option: readonly string[] | 'all' | undefined,
  use: AccountsUse,
): Promise<ScanAccount[]> {
  const { accountId: own } = await ctx.caller();
  if (option === undefined) return [{ accountId: own }];
  const named = option === 'all' ? undefined : option;
  const members = await organisationMembers(ctx);
  if (!members) {
    const others = (named ?? []).filter((account) => account !== own);
    if (others.length > 0) {
      throw new UsageError(
        `--account ${others.join(',')}: this stack is not an organisation deployment, so ${use.only} ${own}`,
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
      `--account ${outside.join(',')}: not an ACTIVE account of organisation ${members.organizationId}; ${use.nothing} (${use.all})`,
    );
  }
  return wanted.map((accountId) =>
    accountId === own
      ? { accountId }
      : { accountId, enter: (session: string) => members.enter(accountId, session) },
  );
}
