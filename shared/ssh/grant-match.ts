import { type GrantLimits, grantBeyondLimits } from '../ledger-limits';
import { sameCidr } from './cidr';
import type { IngressRule } from './exposure';
import { GRANT_ID_PATTERN, type Grant, GrantKind, isLive } from './grant-ledger';

/**
 * Does the ledger hold a live grant for this path? Pure: the loader reads the ledger, this judges.
 * A grant tag counts only when the ledger holds that grant for exactly this rule (anyone with
 * ec2:CreateTags can copy a tag onto another rule), and a grant only within the stack's limits
 * (anyone who can write the table could have written it). A grant covers the paths of its own
 * account only: user names and group ids repeat across an organisation's accounts.
 */

/** The account a path is judged in, and whether it is the security account (the home stack's own). */
export interface GrantAccount {
  readonly accountId: string;
  readonly home: boolean;
}

/**
 * Is the grant for this account? One naming no account is the security account's (every grant was,
 * before grants named their account), so it never covers a member's same-named user or group.
 */
export const grantInAccount = (grant: Grant, where: GrantAccount): boolean =>
  grant.account === undefined ? where.home : grant.account === where.accountId;

export type RuleGrant =
  | { readonly status: 'live'; readonly grantId: string; readonly expiresAt: string }
  | { readonly status: 'untagged' }
  /** The tag names no grant the ledger holds. Its value is not kept: anyone can write it. */
  | { readonly status: 'unknown' }
  | { readonly status: 'expired'; readonly grantId: string; readonly endedAt: string }
  | { readonly status: 'revoked'; readonly grantId: string; readonly endedAt: string }
  /** The grant exists but covers another group, address or port. */
  | { readonly status: 'mismatch'; readonly grantId: string }
  /** The grant breaks a limit of the stack (shared/ledger-limits.ts): it grants nothing. */
  | { readonly status: 'ignored'; readonly grantId: string; readonly why: string };

const TCP = new Set(['tcp', '6']);

/** The one SSH path a security-group-rule grant opens: this group, this address, this single TCP port. */
export function grantCoversRule(
  grant: Grant,
  rule: IngressRule,
  region: string,
  where: GrantAccount,
): boolean {
  if (grant.kind !== GrantKind.SecurityGroupRule || !grantInAccount(grant, where)) return false;
  const { target } = grant;
  const source = rule.source;
  return (
    target.region === region &&
    target.groupId === rule.groupId &&
    (target.ruleId === undefined || target.ruleId === rule.ruleId) &&
    (source.kind === 'ipv4' || source.kind === 'ipv6') &&
    sameCidr(source.cidr, target.cidr) &&
    TCP.has(rule.protocol.toLowerCase()) &&
    rule.fromPort === target.port &&
    rule.toPort === target.port
  );
}

/** The grant tag's value, when it looks like one of our grant ids (anything else cannot be one). */
export function taggedGrantId(rule: IngressRule, grantTag: string): string | undefined {
  const value = rule.tags[grantTag]?.trim();
  return value && GRANT_ID_PATTERN.test(value) ? value : undefined;
}

export function judgeRuleGrant(
  rule: IngressRule,
  region: string,
  where: GrantAccount,
  grantTag: string,
  grantsById: ReadonlyMap<string, Grant>,
  limits: GrantLimits,
  now: Date,
): RuleGrant {
  if (rule.tags[grantTag] === undefined) return { status: 'untagged' };
  const grantId = taggedGrantId(rule, grantTag);
  const grant = grantId ? grantsById.get(grantId) : undefined;
  // Another account's grant is not this account's to hold: as unknown as a tag naming nothing.
  if (!grant || !grantInAccount(grant, where)) return { status: 'unknown' };
  const why = grantBeyondLimits(grant, limits, now);
  if (why) return { status: 'ignored', grantId: grant.grantId, why };
  if (!grantCoversRule(grant, rule, region, where)) return { status: 'mismatch', grantId: grant.grantId };
  if (grant.revokedAt) return { status: 'revoked', grantId: grant.grantId, endedAt: grant.revokedAt };
  if (!isLive(grant, now)) return { status: 'expired', grantId: grant.grantId, endedAt: grant.expiresAt };
  return { status: 'live', grantId: grant.grantId, expiresAt: grant.expiresAt };
}

/** The IAM key grants of this user in this account. */
const userGrantsOf = (userName: string, where: GrantAccount, grants: readonly Grant[]) =>
  grants.filter(
    (grant) =>
      grant.kind === GrantKind.IamSshKey &&
      grant.target.userName === userName &&
      grantInAccount(grant, where),
  );

const liveGrantsOf = (userName: string, where: GrantAccount, grants: readonly Grant[], now: Date) =>
  userGrantsOf(userName, where, grants)
    .filter((grant) => isLive(grant, now))
    .sort((a, b) => b.expiresAt.localeCompare(a.expiresAt));

/** The live IAM key grant for a user that runs longest within the stack's limits, if any. */
export function liveUserGrant(
  userName: string,
  where: GrantAccount,
  grants: readonly Grant[],
  limits: GrantLimits,
  now: Date,
): Grant | undefined {
  return liveGrantsOf(userName, where, grants, now).find((grant) => !grantBeyondLimits(grant, limits, now));
}

/** A live-looking IAM key grant for a user that breaks a limit, and why (for the incident). */
export function ignoredUserGrant(
  userName: string,
  where: GrantAccount,
  grants: readonly Grant[],
  limits: GrantLimits,
  now: Date,
): { grant: Grant; why: string } | undefined {
  for (const grant of liveGrantsOf(userName, where, grants, now)) {
    const why = grantBeyondLimits(grant, limits, now);
    if (why) return { grant, why };
  }
  return undefined;
}

/** The user's most recently ended grant among those given (for the incident: which grant ran out). */
export function lastEndedUserGrant(
  userName: string,
  where: GrantAccount,
  grants: readonly Grant[],
  now: Date,
): Grant | undefined {
  const endOf = (grant: Grant) => grant.revokedAt ?? grant.expiresAt;
  return userGrantsOf(userName, where, grants)
    .filter((grant) => !isLive(grant, now))
    .sort((a, b) => endOf(b).localeCompare(endOf(a)))[0];
}
