import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ScanDetector } from '../../src/classify/scan.js';
import { MONO, WALL } from '../../src/classify/flows.js';

/**
 * A model of the rule the README states, kept as plainly as it reads: a source (on one clock, times in input order
 * never going back) is a scanner at the probe where, among the (port, known) pairs whose latest probe lies within the
 * window, there are at least `threshold` and at least half of them unknown. The items it hands back are those whose
 * latest probe lies within the window of that probe. Afterwards it counts nothing more.
 */
class Model {
  private readonly probes = new Map<number, { port: number; known: boolean; t: number; item: string | undefined }[]>();
  private readonly scanners = new Set<number>();

  constructor(private readonly threshold: number, private readonly windowMs: number) {}

  observe(src: number, port: number, known: boolean, t: number, item: string | undefined): string[] | null {
    if (this.scanners.has(src)) return null;
    const list = this.probes.get(src) ?? [];
    this.probes.set(src, list);
    list.push({ port, known, t, item });
    const cutoff = t - this.windowMs;
    const latest = new Map<string, number>();
    for (const p of list) latest.set(`${p.port}/${p.known}`, p.t);
    const inWindow = [...latest].filter(([, seen]) => seen >= cutoff);
    const unknown = inWindow.filter(([k]) => k.endsWith('/false')).length;
    if (inWindow.length < this.threshold || 2 * unknown < inWindow.length) return null;
    this.scanners.add(src);
    const items = new Map<string, number>();
    for (const p of list) if (p.item !== undefined) items.set(p.item, p.t);
    this.probes.delete(src);
    return [...items].filter(([, seen]) => seen >= cutoff).map(([item]) => item);
  }

  isScanner(src: number): boolean {
    return this.scanners.has(src);
  }
}

describe('ScanDetector', () => {
  it('calls a source a scanner exactly when the model does, and hands back the same items (property)', () => {
    // a few sources, a small pool of ports (so the same port comes back, known and unknown) and of items; times
    // that never go back, in steps that sometimes pass the window
    const probe = fc.record({
      src: fc.integer({ min: 1, max: 4 }),
      port: fc.integer({ min: 1, max: 14 }),
      known: fc.boolean(),
      dt: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3_000 }), fc.integer({ min: 20_000, max: 70_000 })),
      item: fc.option(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(probe, { maxLength: 300 }), fc.integer({ min: 2, max: 8 }), (probes, threshold) => {
        const windowMs = 60_000;
        // an item's last-seen time is its latest probe's, as a flow's is
        const lastSeen = new Map<string, number>();
        const det = new ScanDetector<string>({ threshold, windowMs, maxSources: 1000 }, (item) => lastSeen.get(item)!);
        const model = new Model(threshold, windowMs);
        let t = 1_000_000;
        let scanners = 0;
        for (const p of probes) {
          t += p.dt;
          // items are per source in the classifier (a flow has one client): keep them apart here too
          const item = p.item === undefined ? undefined : `${p.src}${p.item}`;
          if (item !== undefined) lastSeen.set(item, t);
          const got = det.observe(p.src, p.port, p.known, t, item);
          const want = model.observe(p.src, p.port, p.known, t, item);
          expect(got === null ? null : [...got].sort()).toEqual(want === null ? null : want.sort());
          if (want !== null) scanners++;
          for (let s = 1; s <= 4; s++) expect(det.isScanner(s)).toBe(model.isScanner(s));
        }
        expect(det.scanners).toBe(scanners);
        expect(det.evicted).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('needs at least half of the ports unknown: a peer hitting many known ports is no scanner', () => {
    const det = new ScanDetector<string>({ threshold: 4, windowMs: 60_000, maxSources: 100 }, () => 0);
    for (let i = 0; i < 20; i++) expect(det.observe(7, 1000 + i, true, i, undefined)).toBeNull();
    expect(det.observe(7, 1, false, 30, undefined)).toBeNull();
    expect(det.isScanner(7)).toBe(false);
  });

  it('does not walk a busy peer\'s items on every probe: only a source about to be a scanner needs them pruned', () => {
    // a peer missing its rules for known ports: ten ports, twelve flows (items), a probe every 100 ms for ten
    // minutes — well past the threshold the whole time, never a scanner. Each look at an item's time is a flow
    // touched (a cache miss per item in the classifier); they come only with new items, not with every probe.
    const lastSeen = new Map<string, number>();
    let looks = 0;
    const det = new ScanDetector<string>({ threshold: 4, windowMs: 60_000, maxSources: 100 }, (item) => {
      looks++;
      return lastSeen.get(item)!;
    });
    let probes = 0;
    for (let t = 0; t < 600_000; t += 100, probes++) {
      const item = `flow${probes % 12}`;
      lastSeen.set(item, t);
      expect(det.observe(7, 10_250 + (probes % 10), true, t, item)).toBeNull();
    }
    expect(det.isScanner(7)).toBe(false);
    // one look when each of the 12 items is first added; nothing later reaches the cap (16) or makes a scanner
    expect(looks).toBe(12);
    expect(probes).toBe(6000);
  });

  it('keeps one port inline and counts the same port known and unknown as two', () => {
    const det = new ScanDetector<string>({ threshold: 2, windowMs: 60_000, maxSources: 100 }, () => 0);
    // the same port again and again is one port
    for (let i = 0; i < 5; i++) expect(det.observe(1, 22, false, i, undefined)).toBeNull();
    // the same number as a known port is a second entry: two ports, one of them unknown (half): a scanner
    expect(det.observe(1, 22, true, 10, 'x')).toEqual(['x']);
    expect(det.isScanner(1)).toBe(true);
  });

  it('starts the window afresh when time goes back by more than the window', () => {
    // items seen just now: none is pruned
    const det = new ScanDetector<string>({ threshold: 3, windowMs: 60_000, maxSources: 100 }, () => 2_800_002);
    expect(det.observe(1, 1, false, 10_000_000, undefined)).toBeNull();
    expect(det.observe(1, 2, false, 10_000_001, undefined)).toBeNull();
    // two hours earlier (a log given newest first): the two ports above lie outside this probe's window
    expect(det.observe(1, 3, false, 2_800_000, undefined)).toBeNull();
    expect(det.observe(1, 4, false, 2_800_001, undefined)).toBeNull();
    expect(det.isScanner(1)).toBe(false);
    expect(det.observe(1, 5, false, 2_800_002, 'y')).toEqual(['y']);
  });

  it('keeps clocks apart, and hands back the items of every clock when a source turns out a scanner', () => {
    const det = new ScanDetector<string>({ threshold: 3, windowMs: 60_000, maxSources: 100 }, () => 0);
    // two ports on the wall clock and two on the monotonic clock: three on neither
    expect(det.observe(9, 1, false, 1.7e12, 'w1', WALL)).toBeNull();
    expect(det.observe(9, 2, false, 1.7e12 + 1, 'w2', WALL)).toBeNull();
    expect(det.observe(9, 1, false, 5_000, 'm1', MONO)).toBeNull();
    expect(det.observe(9, 2, false, 5_001, 'm1', MONO)).toBeNull();
    expect(det.isScanner(9)).toBe(false);
    expect(det.size).toBe(2);
    const items = det.observe(9, 3, false, 5_002, 'm2', MONO);
    expect(items?.sort()).toEqual(['m1', 'm2', 'w1', 'w2']);
    expect(det.isScanner(9)).toBe(true);
    expect(det.scanners).toBe(1);
  });

  it('forgets an item (a flow the table evicted): it is not handed back', () => {
    const det = new ScanDetector<string>({ threshold: 3, windowMs: 60_000, maxSources: 100 }, () => 0);
    det.observe(2, 1, false, 0, 'a');
    det.observe(2, 2, false, 1, 'b');
    det.forget(2, 'a');
    expect(det.observe(2, 3, false, 2, 'c')?.sort()).toEqual(['b', 'c']);
    // an item kept inline (the only one) is forgotten too
    det.observe(3, 1, false, 0, 'z');
    det.forget(3, 'z');
    det.observe(3, 2, false, 1, undefined);
    expect(det.observe(3, 3, false, 2, undefined)).toEqual([]);
  });

  it('at its cap drops about a tenth of the sources, those idle longest, and says so to its hooks', () => {
    const tracked = new Map<number, number>();
    const det = new ScanDetector<string>({ threshold: 3, windowMs: 60_000, maxSources: 1000 }, () => 0, {
      track: (src) => tracked.set(src, (tracked.get(src) ?? 0) + 1),
      untrack: (src) => {
        const n = tracked.get(src)! - 1;
        if (n === 0) tracked.delete(src);
        else tracked.set(src, n);
      },
    });
    // source 1 becomes a scanner first and keeps probing; sources 2… each probe once, a second apart
    for (let p = 1; p <= 3; p++) det.observe(1, p, false, p, undefined);
    expect(det.isScanner(1)).toBe(true);
    let t = 1_000;
    let evictions = 0;
    for (let src = 2; src <= 5_000; src++) {
      t += 1_000;
      const before = det.evicted;
      det.observe(src, 22, false, t, undefined);
      det.observe(1, 1, false, t, undefined);
      if (det.evicted !== before) {
        evictions++;
        // about a tenth of the cap each time (estimated from a sample), never more
        expect(det.evicted - before).toBeGreaterThanOrEqual(90);
        expect(det.evicted - before).toBeLessThanOrEqual(100);
      }
      expect(det.size).toBeLessThanOrEqual(1000);
    }
    expect(evictions).toBeGreaterThan(30);
    // the sources that stayed are the newest (they each probed once, in order), and the scanner seen all along
    expect(det.isScanner(1)).toBe(true);
    const held = [...tracked.keys()].sort((a, b) => a - b);
    expect(held.length).toBe(det.size);
    expect(held[0]).toBe(1);
    expect(held[1]).toBeGreaterThan(5_000 - 1000);
    expect(held.at(-1)).toBe(5_000);
  });

  it('evicting a scanner makes it no scanner until it scans again', () => {
    const det = new ScanDetector<string>({ threshold: 2, windowMs: 60_000, maxSources: 20 }, () => 0);
    det.observe(1, 1, false, 0, undefined);
    det.observe(1, 2, false, 1, undefined);
    expect(det.isScanner(1)).toBe(true);
    for (let src = 2; src <= 40; src++) det.observe(src, 22, false, 1_000 * src, undefined);
    expect(det.isScanner(1)).toBe(false);
    det.observe(1, 3, false, 50_000, undefined);
    det.observe(1, 4, false, 50_001, undefined);
    expect(det.isScanner(1)).toBe(true);
    expect(det.scanners).toBe(2);
  });

  it('evicts exactly the idlest sources when it can sample them all, whatever order they came in (ties in that order)', () => {
    // A probes at 0, B at 1 s, A again at 2 s, then 14 more sources: at the cap of 16, the next source evicts one
    // source — B, the idlest, not A (which came first)
    const det = new ScanDetector<string>({ threshold: 3, windowMs: 60_000, maxSources: 16 }, () => 0);
    det.observe(1, 1, false, 0, undefined);
    det.observe(2, 1, false, 1_000, undefined);
    det.observe(1, 2, false, 2_000, undefined);
    for (let src = 3; src <= 16; src++) det.observe(src, 1, false, src * 1_000, undefined);
    det.observe(17, 1, false, 17_000, undefined);
    expect(det.evicted).toBe(1);
    det.observe(1, 3, false, 18_000, undefined);
    expect(det.isScanner(1)).toBe(true);
    // with random times, the sources left are those a full sort by idle time (stable) keeps
    for (let seed = 1; seed <= 20; seed++) {
      let x = seed;
      const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
      const tracked = new Set<number>();
      const d = new ScanDetector<string>({ threshold: 1000, windowMs: 60_000, maxSources: 100 }, () => 0, {
        track: (src) => tracked.add(src),
        untrack: (src) => tracked.delete(src),
      });
      const last = new Map<number, number>();
      let t = 0;
      for (let i = 0; i < 400; i++) {
        t += Math.floor(rnd() * 3) * 1000; // equal times too: ties
        const src = 1 + Math.floor(rnd() * 150);
        const isNew = !tracked.has(src);
        if (isNew && tracked.size >= 100) {
          // what a stable sort by idle time, most idle first, would drop: the tenth
          const order = [...last].filter(([k]) => tracked.has(k)).sort((a, b) => a[1] - b[1]).slice(0, 10).map(([k]) => k);
          d.observe(src, 1, false, t, undefined);
          for (const k of order) {
            expect(tracked.has(k)).toBe(false);
            last.delete(k);
          }
        } else d.observe(src, 1, false, t, undefined);
        // a source keeps its place among the others (ties go in the order sources came) until it is dropped
        if (isNew) last.delete(src);
        last.set(src, t);
      }
    }
  });
});
