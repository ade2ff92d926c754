import { describe, expect, it } from 'vitest';
import { detectWindows, type CtBucket } from '../../src/report/windows.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 3, 22, 10, 0);
/** minute offset → [drops, flows] */
function series(rows: Array<[number, number, number]>): CtBucket[] {
  return rows.map(([m, drops, flows]) => ({ start: T0 + m * MIN, drops, flows }));
}

describe('detectWindows', () => {
  it('finds a burst and ends it at the last burst minute', () => {
    const w = detectWindows(series([[0, 1, 1], [3, 12, 3], [4, 20, 4], [5, 6, 2], [6, 2, 2]]), MIN);
    expect(w).toEqual([{ start: T0 + 3 * MIN, end: T0 + 6 * MIN, burstBuckets: 3, drops: 38, peakPerMin: 20 }]);
  });

  it('needs the threshold and at least two flows', () => {
    // one flow losing state every minute (asymmetric routing) is not an upgrade
    expect(detectWindows(series([[0, 30, 1], [1, 30, 1], [2, 30, 1]]), MIN)).toEqual([]);
    expect(detectWindows(series([[0, 4, 3], [1, 4, 3]]), MIN)).toEqual([]);
    expect(detectWindows(series([[0, 4, 3]]), MIN, { minDropsPerMin: 4 })).toHaveLength(1);
    expect(detectWindows(series([[0, 30, 1]]), MIN, { minFlows: 1 })).toHaveLength(1);
  });

  it('merges bursts separated by short gaps and counts the quiet minutes inside', () => {
    const s = series([[0, 10, 2], [2, 3, 1], [5, 10, 2], [11, 10, 2]]);
    // 0 and 5: gap of 4 min (end 1 → start 5) ≤ 5 min; 11: gap of 5 min (end 6 → start 11) ≤ 5 min as well
    expect(detectWindows(s, MIN).map((w) => [w.start - T0, w.end - T0, w.drops])).toEqual([[0, 12 * MIN, 33]]);
    // with a 4 min gap allowed, the last burst stands alone
    expect(detectWindows(s, MIN, { mergeGapMs: 4 * MIN }).map((w) => [(w.start - T0) / MIN, (w.end - T0) / MIN, w.drops]))
      .toEqual([[0, 6, 23], [11, 12, 10]]);
  });

  it('scales the threshold with coarser buckets', () => {
    const two = 2 * MIN;
    const s: CtBucket[] = [{ start: T0, drops: 9, flows: 2 }, { start: T0 + two, drops: 10, flows: 2 }];
    // 5/min over 2-minute buckets: 10 needed
    expect(detectWindows(s, two).map((w) => [w.start, w.end, w.peakPerMin])).toEqual([[T0 + two, T0 + 2 * two, 5]]);
  });

  it('rejects bad options', () => {
    expect(() => detectWindows([], MIN, { minFlows: 0 })).toThrow();
  });
});
