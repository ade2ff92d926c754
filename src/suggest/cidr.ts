/**
 * Source aggregation for suggestions: observed client addresses → the fewest CIDRs that cover exactly those
 * addresses (sibling prefixes are merged only when both halves were seen), so a suggestion never admits an address
 * nobody observed unless the catalog scope (a cluster subnet, the control-plane list) says so.
 */
import { formatIp, formatPrefix, parseIp, parsePrefix, prefixContains } from '../ruleset/addr.js';

export { formatIp };

interface Net {
  family: 4 | 6;
  net: bigint;
  len: number;
}

function bits(family: 4 | 6): number {
  return family === 4 ? 32 : 128;
}

function formatNet(n: Net): string {
  return formatPrefix(n);
}

/**
 * The fewest CIDRs covering exactly `addresses` (host prefixes merged with their siblings when both are present).
 * Strings that are not addresses are ignored. IPv4 first, then IPv6, each in address order.
 */
export function collapseAddresses(addresses: Iterable<string>): string[] {
  const out: string[] = [];
  for (const family of [4, 6] as const) {
    const width = bits(family);
    // one set of network values per prefix length; merging climbs from the host length to /1 (never /0)
    let level = new Set<bigint>();
    for (const a of addresses) {
      const ip = parseIp(a);
      if (ip !== undefined && ip.family === family) level.add(ip.value);
    }
    const result: Net[] = [];
    for (let len = width; len >= 1 && level.size > 0; len--) {
      const step = 1n << BigInt(width - len);
      const up = new Set<bigint>();
      for (const v of level) {
        const sibling = v ^ step;
        const parent = v & ~step;
        if (level.has(sibling) && len > 1) up.add(parent);
        else result.push({ family, net: v, len });
      }
      level = up;
    }
    result.sort((a, b) => (a.net < b.net ? -1 : a.net > b.net ? 1 : a.len - b.len));
    out.push(...result.map(formatNet));
  }
  return out;
}

/** Whether `addr` lies in `cidr` (a bare address is a host prefix); false when either does not parse. */
export function cidrContains(cidr: string, addr: string): boolean {
  const p = parsePrefix(cidr);
  const ip = parseIp(addr);
  return p !== undefined && ip !== undefined && prefixContains(p, ip);
}

/** Prefix length of a CIDR (a bare address: the host length); undefined when it does not parse. */
export function prefixLength(cidr: string): number | undefined {
  return parsePrefix(cidr)?.len;
}

/** `198.18.0.1` → `198.18.0.1/32`, `2001:db8::1` → `2001:db8::1/128`; CIDRs are returned normalised. */
export function asCidr(text: string): string | undefined {
  const p = parsePrefix(text);
  return p === undefined ? undefined : formatNet(p);
}

/**
 * Addresses the internet does not route, which a cluster's node network uses: RFC 1918, shared address space
 * (100.64.0.0/10, RFC 6598), benchmarking (198.18.0.0/15, RFC 2544: the kernel labs' nodes), unique local IPv6
 * (fc00::/7) — and link-local and loopback, which never come from off the link.
 */
const PRIVATE_PREFIXES = [
  '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '198.18.0.0/15', '169.254.0.0/16', '127.0.0.0/8',
  'fc00::/7', 'fe80::/10', '::1/128',
].map((c) => parsePrefix(c)!);

/** Whether `addr` is a private address (see PRIVATE_PREFIXES); an IPv4-mapped one by its IPv4 address. */
export function isPrivateAddress(addr: string): boolean {
  let ip = parseIp(addr);
  if (ip?.family === 6 && ip.value >> 32n === 0xffffn) ip = { family: 4, value: ip.value & 0xffffffffn };
  return ip !== undefined && PRIVATE_PREFIXES.some((p) => prefixContains(p, ip));
}
