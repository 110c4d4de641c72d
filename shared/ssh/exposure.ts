import type { IpPermission } from '@aws-sdk/client-ec2';
import { isWorldCidr } from './cidr';

/**
 * What an SSH path through a security group is, in words both SSH rules and the command line use:
 * which ingress rules reach a configured port, and from where. Pure: no AWS calls here.
 */

/** Where an ingress rule lets traffic come from. Prefix lists carry their entries, read by the loader. */
export type RuleSource =
  | { readonly kind: 'ipv4'; readonly cidr: string }
  | { readonly kind: 'ipv6'; readonly cidr: string }
  | { readonly kind: 'prefix-list'; readonly prefixListId: string; readonly cidrs: readonly string[] }
  | { readonly kind: 'security-group'; readonly groupId: string; readonly userId?: string };

/** One ingress rule of a security group, as DescribeSecurityGroupRules reports it. */
export interface IngressRule {
  readonly ruleId: string;
  readonly groupId: string;
  /** 'tcp', 'udp', 'icmp', a protocol number, or '-1' for all traffic. */
  readonly protocol: string;
  /** -1 when the protocol has no ports (all traffic, ICMP). */
  readonly fromPort: number;
  readonly toPort: number;
  readonly source: RuleSource;
  readonly description?: string;
  /** The rule's own tags (security-group-rule tags), e.g. the SSH grant tag. */
  readonly tags: Readonly<Record<string, string>>;
}

const ALL_TRAFFIC = new Set(['-1', 'all']);
/** SSH and RDP run over TCP; a UDP rule on port 22 is not an SSH path. */
const TCP = new Set(['tcp', '6']);

/** The configured ports (22 by default) this rule lets in: all of them for all traffic. */
export function exposedPorts(rule: IngressRule, ports: readonly number[]): number[] {
  const protocol = rule.protocol.toLowerCase();
  if (ALL_TRAFFIC.has(protocol)) return [...ports];
  if (!TCP.has(protocol)) return [];
  // A TCP rule reported without ports (-1) covers every port.
  if (rule.fromPort < 0 || rule.toPort < 0) return [...ports];
  return ports.filter((port) => rule.fromPort <= port && port <= rule.toPort);
}

/** Does the source include every address on the internet (0.0.0.0/0, ::/0, or a prefix list holding one)? */
export function isWorldSource(source: RuleSource): boolean {
  switch (source.kind) {
    case 'ipv4':
    case 'ipv6':
      return isWorldCidr(source.cidr);
    case 'prefix-list':
      return source.cidrs.some(isWorldCidr);
    case 'security-group':
      return false;
  }
}

/**
 * A source an SSH grant can stand for: addresses (CIDRs and prefix lists). A referenced security
 * group is traffic between the account's own resources (the default group's self rule, cluster
 * groups), not a person's way in, so neither SSH rule revokes it.
 */
export const isNetworkSource = (source: RuleSource): boolean => source.kind !== 'security-group';

/** The rule reaches a configured port from the whole internet: what ssh-open-to-world closes. */
export const opensToWorld = (rule: IngressRule, ports: readonly number[]): boolean =>
  isWorldSource(rule.source) && exposedPorts(rule, ports).length > 0;

/** The rule reaches a configured port from some addresses, not all: needs a live grant (ssh-grant-expired). */
export const opensToNarrowSource = (rule: IngressRule, ports: readonly number[]): boolean =>
  isNetworkSource(rule.source) && !isWorldSource(rule.source) && exposedPorts(rule, ports).length > 0;

export function describeSource(source: RuleSource): string {
  switch (source.kind) {
    case 'ipv4':
    case 'ipv6':
      return source.cidr;
    case 'prefix-list': {
      const world = source.cidrs.filter(isWorldCidr);
      return world.length > 0
        ? `${source.prefixListId} (holds ${world.join(', ')})`
        : `${source.prefixListId} (${source.cidrs.length} entries)`;
    }
    case 'security-group':
      return source.groupId;
  }
}

export function describePorts(rule: IngressRule): string {
  if (ALL_TRAFFIC.has(rule.protocol.toLowerCase())) return 'all traffic';
  if (rule.fromPort < 0 || rule.toPort < 0) return `${rule.protocol} all ports`;
  return rule.fromPort === rule.toPort
    ? `${rule.protocol} ${rule.fromPort}`
    : `${rule.protocol} ${rule.fromPort}-${rule.toPort}`;
}

/** One line a person reads: `sgr-0abc (tcp 22 from 0.0.0.0/0)`; without the id when it is not known (a Config item). */
export const describeRule = (rule: IngressRule): string =>
  `${rule.ruleId ? `${rule.ruleId} ` : ''}(${describePorts(rule)} from ${describeSource(rule.source)})`;

/** Where a rule lets traffic come from, by the id that names it (a prefix list by its id, not its entries). */
function sourceId(source: RuleSource): string {
  switch (source.kind) {
    case 'ipv4':
    case 'ipv6':
      return source.cidr;
    case 'prefix-list':
      return source.prefixListId;
    case 'security-group':
      return source.userId ? `${source.userId}/${source.groupId}` : source.groupId;
  }
}

/**
 * The path a rule opens, in words that identify it exactly: `tcp 22 from 0.0.0.0/0`. A revoke
 * records it, and `incidents undo` restores only the path so recorded.
 */
export const pathOf = (rule: IngressRule): string => `${describePorts(rule)} from ${sourceId(rule.source)}`;

/**
 * The AuthorizeSecurityGroupIngress `IpPermissions` entry that recreates exactly this rule: the
 * undo of revoking it. Tags are left out on purpose (their values never go into incidents).
 */
export function toIpPermission(rule: IngressRule): IpPermission {
  const allTraffic = ALL_TRAFFIC.has(rule.protocol.toLowerCase());
  const ports = allTraffic || rule.fromPort < 0 ? {} : { FromPort: rule.fromPort, ToPort: rule.toPort };
  const description = rule.description ? { Description: rule.description } : {};
  const base = { IpProtocol: allTraffic ? '-1' : rule.protocol, ...ports };
  switch (rule.source.kind) {
    case 'ipv4':
      return { ...base, IpRanges: [{ CidrIp: rule.source.cidr, ...description }] };
    case 'ipv6':
      return { ...base, Ipv6Ranges: [{ CidrIpv6: rule.source.cidr, ...description }] };
    case 'prefix-list':
      return { ...base, PrefixListIds: [{ PrefixListId: rule.source.prefixListId, ...description }] };
    case 'security-group':
      return {
        ...base,
        UserIdGroupPairs: [
          {
            GroupId: rule.source.groupId,
            ...(rule.source.userId ? { UserId: rule.source.userId } : {}),
            ...description,
          },
        ],
      };
  }
}

/**
 * The one ingress rule an `IpPermissions` entry of toIpPermission's shape opens (the reverse of
 * toIpPermission), with a prefix list's entries as read; undefined for any other shape.
 */
export function fromIpPermission(
  permission: IpPermission,
  groupId: string,
  prefixListCidrs: readonly string[] = [],
): IngressRule | undefined {
  const sources: RuleSource[] = [
    ...(permission.IpRanges ?? []).map((range) => ({ kind: 'ipv4' as const, cidr: String(range.CidrIp) })),
    ...(permission.Ipv6Ranges ?? []).map((range) => ({
      kind: 'ipv6' as const,
      cidr: String(range.CidrIpv6),
    })),
    ...(permission.PrefixListIds ?? []).map((list) => ({
      kind: 'prefix-list' as const,
      prefixListId: String(list.PrefixListId),
      cidrs: prefixListCidrs,
    })),
    ...(permission.UserIdGroupPairs ?? []).map((pair) => ({
      kind: 'security-group' as const,
      groupId: String(pair.GroupId),
      ...(pair.UserId ? { userId: pair.UserId } : {}),
    })),
  ];
  const [source, ...more] = sources;
  if (!source || more.length > 0 || !permission.IpProtocol) return undefined;
  return {
    ruleId: '',
    groupId,
    protocol: permission.IpProtocol,
    fromPort: permission.FromPort ?? -1,
    toPort: permission.ToPort ?? -1,
    source,
    tags: {},
  };
}

/** Evidence strings stay short; a reason may say a little more. */
export const EVIDENCE_TEXT_LIMIT = 256;
export const REASON_TEXT_LIMIT = 512;

/** Text cut to a bound for incidents, marked when cut. */
export const clip = (text: string, limit = EVIDENCE_TEXT_LIMIT): string =>
  text.length > limit ? `${text.slice(0, limit - 1)}…` : text;

/** Bounded text for incidents: the first rules, then how many more. */
export function summarizeRules(rules: readonly IngressRule[], limit = 5): string {
  const shown = rules.slice(0, limit).map(describeRule).join(', ');
  return rules.length > limit ? `${shown} and ${rules.length - limit} more` : shown;
}
