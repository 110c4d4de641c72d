import type { Settings } from './config';
import { formatMinutes } from './duration';
import { type Cidr, parseCidr } from './ssh/cidr';
import { type Grant, GrantKind } from './ssh/grant-ledger';

/**
 * The limits every ledger item keeps, in one place: checked by the command line before it writes an
 * item and again by whoever reads one. Anyone who can write the table can hand-write an item, so a
 * limit checked only at the write would be a suggestion: an item beyond a limit counts for nothing,
 * and the reader says why (each function returns that reason, or undefined for an item within limits).
 * An exemption's limits are in shared/exemptions/limits.ts (they read the rule registry, which no
 * rule module may import: this module is one that rules do).
 */

/** The clocks of an on-call laptop and of Lambda differ a little; a timestamp further ahead is forged. */
export const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * The broadest source a security-group grant may open SSH to. A grant is one person's way in:
 * their address (/32, /128) or at most their office or VPN block (/24 for IPv4, /64 for IPv6,
 * the usual size of one site's IPv6 subnet). Anything broader is refused, the internet above all.
 */
export const BROADEST_GRANT_PREFIX = { 4: 24, 6: 64 } as const;

/** Who wrote an item: an IAM or STS principal, as STS GetCallerIdentity names the command line's caller. */
export const PRINCIPAL_ARN = /^arn:aws[a-z-]*:(?:iam|sts)::\d{12}:[\w+=,.@/-]+$/;

/** The stack's grant limits, from the deployed settings (the function's own, or the command line's read of them). */
export interface GrantLimits {
  readonly maxTtlMinutes: number;
}

export const grantLimitsOf = (settings: Settings): GrantLimits => ({
  maxTtlMinutes: settings.ssh.grantMaxTtlMinutes,
});

export const inTheFuture = (timestamp: string, now: Date) =>
  Date.parse(timestamp) > now.getTime() + CLOCK_SKEW_MS;

/** Why a grant may not open SSH to this block (wider than one person's way in), or undefined. */
export function cidrTooBroad(cidr: Cidr): string | undefined {
  if (cidr.prefixLength === 0) return 'that is the whole internet';
  const broadest = BROADEST_GRANT_PREFIX[cidr.family];
  return cidr.prefixLength < broadest ? `broader than /${broadest} for IPv${cidr.family}` : undefined;
}

/** Why a grant in the ledger grants nothing, or undefined when it keeps every limit. */
export function grantBeyondLimits(grant: Grant, limits: GrantLimits, now: Date): string | undefined {
  if (!PRINCIPAL_ARN.test(grant.grantedBy)) return 'it was not granted by an IAM principal';
  if (inTheFuture(grant.createdAt, now)) return `it was created in the future (${grant.createdAt})`;
  const minutes = Math.ceil((Date.parse(grant.expiresAt) - Date.parse(grant.createdAt)) / 60_000);
  if (minutes <= 0) return 'it ends before it starts';
  if (minutes > limits.maxTtlMinutes) {
    return `it lasts ${formatMinutes(minutes)}, over the cap of ${formatMinutes(limits.maxTtlMinutes)} (SSH_GRANT_MAX_TTL_MINUTES=${limits.maxTtlMinutes})`;
  }
  if (grant.kind !== GrantKind.SecurityGroupRule) return undefined;
  const cidr = parseCidr(grant.target.cidr);
  if (!cidr || cidr.hostBitsSet) return 'its address block is not one the command line writes';
  const tooBroad = cidrTooBroad(cidr);
  return tooBroad && `it opens ${cidr.text}, ${tooBroad}`;
}
