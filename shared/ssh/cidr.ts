import { isIPv4, isIPv6 } from 'node:net';

/** An address block, canonical: the network address with its prefix length, as EC2 reports it. */
export interface Cidr {
  readonly family: 4 | 6;
  /** Canonical text: network address / prefix (IPv6 in full lower-case hextets compressed as EC2 does). */
  readonly text: string;
  readonly prefixLength: number;
  /** The input had bits set below the prefix (203.0.113.5/24): EC2 would widen it silently. */
  readonly hostBitsSet: boolean;
}

const IPV4_BITS = 32;
const IPV6_BITS = 128;

function ipv4ToBigInt(address: string): bigint {
  return address.split('.').reduce((value, octet) => (value << 8n) | BigInt(Number(octet)), 0n);
}

function bigIntToIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
}

function ipv6ToBigInt(address: string): bigint {
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two hextets.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(address)?.[1];
  let text = address;
  if (dotted) {
    const v4 = ipv4ToBigInt(dotted);
    text = `${address.slice(0, -dotted.length)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups =
    tail === undefined ? headGroups : [...headGroups, ...Array(missing).fill('0'), ...tailGroups];
  return groups.reduce((value, group) => (value << 16n) | BigInt(Number.parseInt(group, 16)), 0n);
}

/** RFC 5952 text: lower case, leading zeros dropped, the longest run of zero groups as `::`. */
function bigIntToIpv6(value: bigint): string {
  const groups = Array.from({ length: 8 }, (_, index) =>
    ((value >> BigInt((7 - index) * 16)) & 0xffffn).toString(16),
  );
  let bestStart = -1;
  let bestLength = 0;
  for (let start = 0; start < 8; start++) {
    let length = 0;
    while (start + length < 8 && groups[start + length] === '0') length++;
    if (length > bestLength && length > 1) {
      bestStart = start;
      bestLength = length;
    }
  }
  if (bestStart < 0) return groups.join(':');
  const before = groups.slice(0, bestStart).join(':');
  const after = groups.slice(bestStart + bestLength).join(':');
  return `${before}::${after}`;
}

/**
 * Parses `a.b.c.d/n`, `x:y::z/n`, or a bare address (taken as one host: /32 or /128). Returns
 * undefined for anything else, so callers decide whether that is a usage error or bad data.
 */
export function parseCidr(input: string): Cidr | undefined {
  const [address = '', prefixText, ...rest] = input.trim().split('/');
  if (rest.length > 0) return undefined;
  const family = isIPv4(address) ? 4 : isIPv6(address) ? 6 : undefined;
  if (!family) return undefined;
  const bits = family === 4 ? IPV4_BITS : IPV6_BITS;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefixLength = prefixText === undefined ? bits : Number(prefixText);
  if (prefixLength > bits) return undefined;
  const value = family === 4 ? ipv4ToBigInt(address) : ipv6ToBigInt(address);
  const hostMask = (1n << BigInt(bits - prefixLength)) - 1n;
  const network = value & ~hostMask & ((1n << BigInt(bits)) - 1n);
  const text = `${family === 4 ? bigIntToIpv4(network) : bigIntToIpv6(network)}/${prefixLength}`;
  return { family, text, prefixLength, hostBitsSet: network !== value };
}

/** Every address: 0.0.0.0/0 or ::/0 (or any /0, which is the same block). */
export const isWorldCidr = (cidr: string): boolean => parseCidr(cidr)?.prefixLength === 0;

/** Two CIDR texts name the same block (IPv6 spellings differ: 2001:DB8::/32 = 2001:db8::/32). */
export const sameCidr = (left: string, right: string): boolean => {
  const a = parseCidr(left);
  const b = parseCidr(right);
  return a !== undefined && b !== undefined && a.text === b.text;
};
