/** Minimal IPv4/IPv6 address and prefix arithmetic (bigint), for `-s`/`-d`/`saddr` matching. */
import { compressIpv6 } from '../parse/ipv6.js';

export interface Prefix {
  family: 4 | 6;
  /** network address as a number */
  net: bigint;
  len: number;
}

/** Parses an IPv4 or IPv6 address (full kernel form or compressed); undefined when it is neither. */
export function parseIp(text: string): { family: 4 | 6; value: bigint } | undefined {
  if (text.includes(':')) {
    let s = text;
    let tail: bigint[] = [];
    // embedded IPv4 (::ffff:1.2.3.4)
    const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
    if (v4 !== null) {
      const p = parseIp(v4[2] ?? '');
      if (p === undefined || p.family !== 4) return undefined;
      s = `${v4[1] ?? ''}0:0`;
      tail = [p.value];
    }
    const halves = s.split('::');
    if (halves.length > 2) return undefined;
    const groups = (h: string | undefined) => (h === undefined || h === '' ? [] : h.split(':'));
    const head = groups(halves[0]);
    const rest = groups(halves[1]);
    const missing = 8 - head.length - rest.length;
    if (halves.length === 1 ? missing !== 0 : missing < 0) return undefined;
    const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
    let value = 0n;
    for (const g of all) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      value = (value << 16n) | BigInt(parseInt(g, 16));
    }
    if (tail.length === 1) value = (value & ~0xffffffffn) | (tail[0] ?? 0n);
    return { family: 6, value };
  }
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    value = (value << 8n) | BigInt(Number(p));
  }
  return { family: 4, value };
}

/** `10.0.0.0/8`, `10.0.0.0/255.0.0.0`, `fe80::/10`, or a bare address (a host prefix). */
export function parsePrefix(text: string): Prefix | undefined {
  const [addr, mask] = text.split('/');
  const ip = parseIp(addr ?? '');
  if (ip === undefined) return undefined;
  const bits = ip.family === 4 ? 32 : 128;
  let len = bits;
  if (mask !== undefined) {
    if (/^\d+$/.test(mask)) len = Number(mask);
    else {
      const m = parseIp(mask);
      if (m === undefined || m.family !== ip.family) return undefined;
      const s = m.value.toString(2).padStart(bits, '0');
      if (!/^1*0*$/.test(s)) return undefined;
      len = s.indexOf('0') === -1 ? bits : s.indexOf('0');
    }
  }
  if (len < 0 || len > bits) return undefined;
  const shift = BigInt(bits - len);
  return { family: ip.family, net: (ip.value >> shift) << shift, len };
}

/** Whether `ip` lies in `prefix` (false across families). */
export function prefixContains(prefix: Prefix, ip: { family: 4 | 6; value: bigint }): boolean {
  if (prefix.family !== ip.family) return false;
  const shift = BigInt((ip.family === 4 ? 32 : 128) - prefix.len);
  return (ip.value >> shift) << shift === prefix.net;
}

/** IPv4 dotted quad, or IPv6 as the parser writes an address (RFC 5952: compressIpv6). */
export function formatIp(family: 4 | 6, v: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join('.');
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((v >> BigInt(i * 16)) & 0xffffn).toString(16));
  return compressIpv6(groups.join(':'));
}

/** `198.18.0.0/16`, `2001:db8::/64`: a prefix as fwdiag writes it. */
export function formatPrefix(p: Prefix): string {
  return `${formatIp(p.family, p.net)}/${p.len}`;
}

/** cidrInputProblem's answer for text that is no address at all */
export const NOT_AN_ADDRESS = 'expected an IPv4/IPv6 address or CIDR';

/**
 * Why an address or CIDR an operator wrote must not reach a rule, or undefined. iptables and nft read a number with a
 * leading zero as octal: `198.18.40.010` is .8, `/030` is /24, an IPv6 `/064` is /52 — the kernel would hold another
 * rule than the one meant, and neither `iptables-restore --test` nor `nft -c` says a word.
 */
export function cidrInputProblem(text: string): string | undefined {
  const p = parsePrefix(text);
  if (p === undefined) return NOT_AN_ADDRESS;
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const v4 = /(?:^|:)(\d+\.\d+\.\d+\.\d+)$/.exec(addr)?.[1];
  if ((v4 !== undefined && v4.split('.').some((o) => /^0\d/.test(o))) || (slash >= 0 && /^0\d/.test(text.slice(slash + 1)))) {
    return 'a number with a leading zero (iptables and nft read it as octal: 010 is 8): write it without';
  }
  // ::ffff:a.b.c.d: an IPv6 rule, which IPv4 packets never meet (the kernel logs and filters them as IPv4)
  if (p.family === 6 && p.len >= 96 && p.net >> 32n === 0xffffn) {
    return 'an IPv4-mapped IPv6 address (::ffff:a.b.c.d) never matches IPv4 packets: write the IPv4 address';
  }
  // A node's address pasted with its subnet's mask (198.18.40.10/16): iptables and nft mask it silently, which hides
  // the mistake — a host was meant, or the network. The text names the network, which the operator can take or not.
  if (parseIp(addr)?.value !== p.net) return `${text} has host bits set; did you mean ${formatPrefix(p)}?`;
  return undefined;
}


/** An inclusive span of addresses of one family. */
export interface AddrSpan {
  family: 4 | 6;
  from: bigint;
  to: bigint;
}

/**
 * What an address match names, as a span: a prefix or bare address (as parsePrefix reads it), or an nft range
 * `198.18.0.10-198.18.0.20` / `2001:db8::10-2001:db8::20` (both ends one family, the first not above the second).
 */
export function parseAddrSpan(text: string): AddrSpan | undefined {
  const dash = text.indexOf('-');
  if (dash < 0) {
    const p = parsePrefix(text);
    if (p === undefined) return undefined;
    const host = BigInt((p.family === 4 ? 32 : 128) - p.len);
    return { family: p.family, from: p.net, to: p.net | ((1n << host) - 1n) };
  }
  const a = parseIp(text.slice(0, dash));
  const b = parseIp(text.slice(dash + 1));
  if (a === undefined || b === undefined || a.family !== b.family || a.value > b.value) return undefined;
  return { family: a.family, from: a.value, to: b.value };
}

/** Whether `ip` lies in `span` (false across families). */
export function spanContains(span: AddrSpan, ip: { family: 4 | 6; value: bigint }): boolean {
  return span.family === ip.family && ip.value >= span.from && ip.value <= span.to;
}
