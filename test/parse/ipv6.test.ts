import { SocketAddress } from 'node:net';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compressIpv6, endpoint } from '../../src/parse/ipv6.js';
import { createParser } from '../../src/parse/parse-line.js';
import type { LineResult } from '../../src/parse/event.js';
import { eventOf } from './results.js';

/** inet_ntop's form (libuv's, through net.SocketAddress): what `ip` and `ss` print. */
const ntop = (full: string): string => new SocketAddress({ address: full, family: 'ipv6' }).address;
const MAPPED = /^(?:0{1,4}:){5}ffff:/i;

/** The WHATWG URL serializer's IPv6 form (lower case, no leading zeros, the first longest run of 2+ zero groups as
 * `::`): the same rules as RFC 5952, from an implementation that is not ours — but for an IPv4-mapped address
 * (::ffff:0:0/96), which RFC 5952 §5 writes with its IPv4 address dotted, as inet_ntop does and URLs do not. */
function reference(full: string): string {
  return MAPPED.test(full) ? ntop(full) : new URL(`http://[${full}]/`).hostname.slice(1, -1);
}

const group = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) },
);

describe('compressIpv6', () => {
  it('gives the RFC 5952 form of any eight groups, however padded and cased (property)', () => {
    fc.assert(
      fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), fc.boolean(), (gs, pad, upper) => {
        // the kernel pads every group to four digits; other spellings must come out the same
        const full = gs.map((g, i) => (pad[i] ? g.toString(16).padStart(4, '0') : g.toString(16))).join(':');
        const text = upper ? full.toUpperCase() : full;
        expect(compressIpv6(text)).toBe(reference(full));
      }),
      { numRuns: 2000 },
    );
  });

  it('the kernel\'s full form', () => {
    expect(compressIpv6('2001:0db8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(compressIpv6('fe80:0000:0000:0000:0000:c6ff:fe12:1401')).toBe('fe80::c6ff:fe12:1401');
    expect(compressIpv6('0000:0000:0000:0000:0000:0000:0000:0000')).toBe('::');
    // a single zero group is not shortened; on a tie the first run is
    expect(compressIpv6('2001:0db8:0000:0001:0001:0001:0001:0001')).toBe('2001:db8:0:1:1:1:1:1');
    expect(compressIpv6('2001:0000:0000:0001:0000:0000:0001:0001')).toBe('2001::1:0:0:1:1');
  });

  it('an IPv4-mapped address (::ffff:0:0/96) ends in its IPv4 address, dotted (RFC 5952 §5), as inet_ntop prints it', () => {
    expect(compressIpv6('0000:0000:0000:0000:0000:ffff:c612:0001')).toBe('::ffff:198.18.0.1');
    expect(compressIpv6('0000:0000:0000:0000:0000:FFFF:0000:0000')).toBe('::ffff:0.0.0.0');
    expect(compressIpv6('0:0:0:0:0:ffff:ffff:ffff')).toBe('::ffff:255.255.255.255');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), (a, b) => {
        const full = `0000:0000:0000:0000:0000:ffff:${a.toString(16).padStart(4, '0')}:${b.toString(16).padStart(4, '0')}`;
        expect(compressIpv6(full)).toBe(ntop(full));
        expect(compressIpv6(full)).toBe(`::ffff:${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`);
      }),
      { numRuns: 500 },
    );
    // other prefixes stay hexadecimal: IPv4-compatible (::/96, deprecated by RFC 4291; inet_ntop dots it, RFC 5952
    // recommends it for mapped addresses only), IPv4-translated (::ffff:0:0:0/96), NAT64's 64:ff9b::/96
    expect(compressIpv6('0000:0000:0000:0000:0000:0000:c612:0001')).toBe('::c612:1');
    expect(compressIpv6('0000:0000:0000:0000:ffff:0000:c612:0001')).toBe('::ffff:0:c612:1');
    expect(compressIpv6('0000:0000:0000:0000:0001:ffff:c612:0001')).toBe('::1:ffff:c612:1');
    expect(compressIpv6('0064:ff9b:0000:0000:0000:0000:c612:0001')).toBe('64:ff9b::c612:1');
    expect(compressIpv6('0000:0000:0000:0000:0000:ffff:0000')).toBe('0000:0000:0000:0000:0000:ffff:0000');
  });

  it('an IPv4-mapped address on a LOG line: srcShort and dstShort dotted, by the JavaScript parser and the scanner', () => {
    const line = '[ 1.5] IN=eth0 OUT= SRC=0000:0000:0000:0000:0000:ffff:c612:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 '
      + 'LEN=80 TC=0 HOPLIMIT=64 FLOWLBL=7 PROTO=TCP SPT=40000 DPT=2380 WINDOW=64240 RES=0x00 SYN URGP=0 ';
    const want = { srcShort: '::ffff:198.18.0.1', dstShort: '2001:db8::2' };
    expect(eventOf(createParser({}).parseLine(line))).toMatchObject(want);
    const out: LineResult[] = [];
    createParser({}).parseBytes(Buffer.from(`${line}\n`), out);
    expect(eventOf(out[0])).toMatchObject(want);
    // the scanner's own NDJSON (fwdiag parse)
    const chunks: Uint8Array[] = [];
    createParser({}).parseBytesNdjson(Buffer.from(`${line}\n`), { bytes: (b) => chunks.push(b.slice()), result: () => expect.fail('left to JavaScript') });
    expect(JSON.parse(Buffer.concat(chunks).toString('utf8'))).toMatchObject(want);
  });

  it('returns anything that is not eight groups of one to four hex digits unchanged', () => {
    for (const s of ['', '198.18.0.1', '2001:db8::1', '2001:0db8:0000:0000:0000:0000:0000', '2001:0db8:0000:0000:0000:0000:0000:0001:0002',
      '2001:0db8:0000:0000:0000:0000:0000:00001', '2001:0db8:0000:0000:0000:0000:0000:000g', '2001:0db8::0000:0000:0000:0000:0001', ':::::::', '?']) {
      expect(compressIpv6(s)).toBe(s);
    }
  });

  it('endpoint brackets an IPv6 address before its port', () => {
    expect(endpoint('2001:db8::1', 443)).toBe('[2001:db8::1]:443');
    expect(endpoint('198.18.0.1', 22)).toBe('198.18.0.1:22');
    expect(endpoint('2001:db8::1', undefined)).toBe('2001:db8::1');
  });
});
