import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compressIpv6, endpoint } from '../../src/parse/ipv6.js';

/** The WHATWG URL serializer's IPv6 form (lower case, no leading zeros, the first longest run of 2+ zero groups as
 * `::`): the same rules as RFC 5952, from an implementation that is not ours. */
function reference(full: string): string {
  return new URL(`http://[${full}]/`).hostname.slice(1, -1);
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
