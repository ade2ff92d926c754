import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { escapeControl, escapeJsonControl } from '../../src/output/escape.js';

describe('escapeControl', () => {
  it('returns the very same string when there is nothing to escape', () => {
    const s = 'HARVESTER_DROP_IN=mgmt-br SRC=192.168.122.61 — ünïcødé';
    expect(escapeControl(s)).toBe(s);
  });

  it('makes ESC, C0, DEL and C1 visible', () => {
    expect(escapeControl('a\u001b[31mred\u0007\u0000b')).toBe('a\\x1b[31mred\\x07\\x00b');
    expect(escapeControl('x\u007fy\u009bz\u0085')).toBe('x\\x7fy\\x9bz\\x85');
    expect(escapeControl('tab\there\nnl')).toBe('tab\\x09here\\x0anl');
  });

  it('makes the line separators and the bidi overrides and isolates visible (they reorder text on screen)', () => {
    expect(escapeControl('host\u202e1.86.1.91\u202c')).toBe('host\\u202e1.86.1.91\\u202c');
    expect(escapeControl('a\u2028b\u2029c\u2066d\u2069')).toBe('a\\u2028b\\u2029c\\u2066d\\u2069');
    // other non-ASCII text stands as it is
    expect(escapeControl('ü — \u200e')).toBe('ü — \u200e');
  });

  it('never leaves a control character in its output (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.oneof(fc.constantFrom('\u2028', '\u202e', '\u2067', '\u009b'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })) }), (s) => {
        expect(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(escapeControl(s))).toBe(false);
      }),
    );
  });
});

describe('escapeJsonControl', () => {
  it('escapes DEL and C1 that JSON.stringify lets through, keeping valid JSON', () => {
    const v = { host: 'h\u009b2J\u007f' };
    const out = escapeJsonControl(JSON.stringify(v));
    expect(/[\u007f-\u009f]/.test(out)).toBe(false);
    expect(JSON.parse(out)).toEqual(v);
  });
});
