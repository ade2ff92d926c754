/**
 * Scan detection: one source hitting many distinct closed ports in a short window. Only probes are fed here
 * (SYN, UDP to a port, crafted TCP flags) — return traffic of lost connections lands on ever-changing client
 * ports and must never look like a scan.
 *
 * A peer node whose firewall rules are missing for a whole role also hits many distinct ports — but known service
 * ports (2379, 2380, 6443, 9345, 10250, 8472…). That is a missing-rule story, not probing, so at least half of the
 * distinct ports must be ports no known service uses before a source is called a scanner.
 */

import { CLOCKS } from './flows.js';

export interface ScanOptions {
  /** distinct ports within the window that make a scanner */
  threshold: number;
  windowMs: number;
  /** most sources tracked; the least recently seen are dropped first (counted) */
  maxSources: number;
}

/**
 * Sources are numbers the caller hands out (the flow table's address ids): hashing a number costs nothing, where a
 * packet's address string would be hashed and compared anew on every probe. The detector tells when it starts and
 * stops tracking a source, so the caller can keep the number's meaning alive meanwhile.
 */
export interface SourceHooks {
  track(src: number): void;
  untrack(src: number): void;
}

/**
 * What the detector knows of one source on one clock. `T` is whatever the caller wants re-labelled when it turns out
 * a scanner.
 */
export interface SourceState<T> {
  src: number;
  /** the clock its times are on (a source seen on several clocks has a state on each: their times do not compare) */
  clock: number;
  /** unknown-service port → last time seen (ms), within the window */
  unknownPorts: Map<number, number>;
  /** known-service port → last time seen (ms), within the window */
  knownPorts: Map<number, number>;
  /** items (flows) seen from this source before it was a scanner, in the window; cleared once it is one */
  items: Set<T>;
  scanner: boolean;
  /** when it became a scanner (ms) */
  since: number;
  lastSeen: number;
  /** the time of its previous probe, in input order (lastSeen is the latest) */
  prev: number;
  /**
   * Lower bounds of the times in the port maps and of the items' last-seen times (items' times only grow), so a
   * prune that would remove nothing is skipped: a peer hitting more known ports than the threshold would otherwise
   * walk its maps on every probe.
   */
  portsOldest: number;
  itemsOldest: number;
}

/** Items kept per source for re-labelling: enough for a threshold's worth of ports on a few hosts. */
const ITEMS_PER_THRESHOLD = 4;

export class ScanDetector<T> {
  /** by src × CLOCKS + clock */
  private readonly sources = new Map<number, SourceState<T>>();
  /** sources that are scanners, with how many of their states are: usually empty, so the per-packet check costs
   * one size test */
  private readonly scannerSet = new Map<number, number>();
  /** the latest time seen on each clock: a source's age is measured on its own clock */
  private readonly nows = new Float64Array(CLOCKS).fill(-Infinity);
  /** sources dropped because of the cap */
  evicted = 0;
  /** sources that became scanners (on any clock; again when evicted and seen anew) */
  scanners = 0;

  /** `lastSeenOf` tells when an item was last seen, so items older than the window can be pruned too. */
  constructor(
    private readonly opts: ScanOptions,
    private readonly lastSeenOf: (item: T) => number,
    private readonly hooks?: SourceHooks,
  ) {}

  /** Is this source a scanner? */
  isScanner(src: number): boolean {
    return this.scannerSet.size !== 0 && this.scannerSet.has(src);
  }

  /**
   * Records one probe from `src` to `port` at `t` (on clock `clock`), remembering `item` for re-labelling. Returns
   * the items to re-label when this probe made the source a scanner, `null` otherwise.
   */
  observe(src: number, port: number, known: boolean, t: number, item: T | undefined, clock = 0): T[] | null {
    if (t > this.nows[clock]!) this.nows[clock] = t;
    const key = src * CLOCKS + clock;
    let s = this.sources.get(key);
    if (s === undefined) {
      if (this.sources.size >= this.opts.maxSources) this.evictOldest();
      s = {
        src, clock, unknownPorts: new Map(), knownPorts: new Map(), items: new Set(), scanner: false, since: 0,
        lastSeen: t, prev: t, portsOldest: Infinity, itemsOldest: Infinity,
      };
      this.sources.set(key, s);
      this.hooks?.track(src);
    }
    if (t > s.lastSeen) s.lastSeen = t;
    // Time went back by more than the window (logs given newest first, a second boot's monotonic clock): what was
    // counted lies beyond the window of this probe and of the ones after it — start the window afresh.
    if (t < s.prev - this.opts.windowMs && !s.scanner) {
      s.unknownPorts.clear();
      s.knownPorts.clear();
      s.items.clear();
      s.portsOldest = s.itemsOldest = Infinity;
    }
    s.prev = t;
    if (s.scanner) return null;

    (known ? s.knownPorts : s.unknownPorts).set(port, t);
    if (t < s.portsOldest) s.portsOldest = t;
    if (item !== undefined && !s.items.has(item)) {
      const cap = this.opts.threshold * ITEMS_PER_THRESHOLD;
      if (s.items.size >= cap) this.pruneItems(s, t - this.opts.windowMs);
      if (s.items.size < cap) {
        s.items.add(item);
        const seen = this.lastSeenOf(item);
        if (seen < s.itemsOldest) s.itemsOldest = seen;
      }
    }

    if (s.knownPorts.size + s.unknownPorts.size < this.opts.threshold) return null;
    // Prune only when the count could make a scanner, and only when something is old enough to go
    const cutoff = t - this.opts.windowMs;
    if (s.portsOldest < cutoff) s.portsOldest = Math.min(prune(s.unknownPorts, cutoff), prune(s.knownPorts, cutoff));
    this.pruneItems(s, cutoff);
    const all = s.knownPorts.size + s.unknownPorts.size;
    // at least half of the ports no known service uses (the README's rule; so at least half the threshold too)
    if (all >= this.opts.threshold && 2 * s.unknownPorts.size >= all) {
      s.scanner = true;
      s.since = t;
      const states = this.scannerSet.get(src) ?? 0;
      if (states === 0) this.scanners++; // a source, once: on another clock it may be a scanner again
      this.scannerSet.set(src, states + 1);
      // its items on every clock: a scanner is one whatever the clock of the lines that showed it
      const became: T[] = [];
      for (let c = 0; c < CLOCKS; c++) {
        const o = c === clock ? s : this.sources.get(src * CLOCKS + c);
        if (o === undefined) continue;
        for (const item of o.items) became.push(item);
        o.items.clear();
        o.unknownPorts.clear();
        o.knownPorts.clear();
        o.portsOldest = o.itemsOldest = Infinity;
      }
      return became;
    }
    return null;
  }

  /** Drops the item from its source's re-label sets (e.g. when the flow table evicts it). */
  forget(src: number, item: T): void {
    for (let c = 0; c < CLOCKS; c++) this.sources.get(src * CLOCKS + c)?.items.delete(item);
  }

  get size(): number {
    return this.sources.size;
  }

  private pruneItems(s: SourceState<T>, cutoff: number): void {
    if (s.itemsOldest >= cutoff) return;
    let oldest = Infinity;
    for (const item of s.items) {
      const seen = this.lastSeenOf(item);
      if (seen < cutoff) s.items.delete(item);
      else if (seen < oldest) oldest = seen;
    }
    s.itemsOldest = oldest;
  }

  /**
   * Drops the tenth of the sources idle longest (each on its own clock): amortised, no per-probe LRU bookkeeping.
   */
  private evictOldest(): void {
    const all = [...this.sources];
    const nows = this.nows;
    const idle = (s: SourceState<T>) => nows[s.clock]! - s.lastSeen;
    all.sort((a, b) => idle(b[1]) - idle(a[1]));
    const n = Math.max(1, Math.floor(all.length / 10));
    for (let i = 0; i < n; i++) {
      const [key, s] = all[i]!;
      this.sources.delete(key);
      if (s.scanner) {
        const k = (this.scannerSet.get(s.src) ?? 1) - 1;
        if (k > 0) this.scannerSet.set(s.src, k);
        else this.scannerSet.delete(s.src);
      }
      this.evicted++;
      this.hooks?.untrack(s.src);
    }
  }
}

/** Deletes entries older than `cutoff`; returns the oldest time left (Infinity when none). */
function prune(m: Map<number, number>, cutoff: number): number {
  let oldest = Infinity;
  for (const [port, seen] of m) {
    if (seen < cutoff) m.delete(port);
    else if (seen < oldest) oldest = seen;
  }
  return oldest;
}
