import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isoOf } from '../../src/classify/classifier.js';

/** What isoOf always meant: Date's ISO form without a `.000` millisecond part. */
function viaDate(ms: number): string {
  const s = new Date(ms).toISOString();
  return s.endsWith('.000Z') ? `${s.slice(0, -5)}Z` : s;
}

describe('isoOf', () => {
  it('formats like Date for any time in years 1970-9999, whole or fractional ms (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 253402300799999 }), (ms) => {
        expect(isoOf(ms)).toBe(viaDate(ms));
      }),
      { numRuns: 20_000 },
    );
    fc.assert(
      fc.property(fc.double({ min: -1e15, max: 1e15, noNaN: true }), (ms) => {
        expect(isoOf(ms)).toBe(viaDate(ms));
      }),
      { numRuns: 5_000 },
    );
  });

  it('gets the edges right: epoch, leap days, century rules, the last millisecond of 9999', () => {
    for (const s of [
      '1970-01-01T00:00:00Z', '1970-01-01T00:00:00.001Z', '2000-02-29T23:59:59.999Z', '2100-03-01T00:00:00Z',
      '2024-02-29T12:00:00Z', '2024-12-31T23:59:59Z', '2026-04-22T10:00:00.5Z', '9999-12-31T23:59:59.999Z',
      '1969-12-31T23:59:59.999Z', '0001-01-01T00:00:00Z',
    ]) {
      const ms = Date.parse(s);
      expect(isoOf(ms)).toBe(viaDate(ms));
    }
    // consecutive days through the per-day cache, in both directions
    for (let d = 0; d < 800; d++) expect(isoOf(Date.UTC(2023, 0, 1) + d * 86_400_000 + 1234)).toBe(viaDate(Date.UTC(2023, 0, 1) + d * 86_400_000 + 1234));
    for (let d = 800; d >= 0; d -= 7) expect(isoOf(Date.UTC(1999, 0, 1) + d * 86_400_000)).toBe(viaDate(Date.UTC(1999, 0, 1) + d * 86_400_000));
  });
});
