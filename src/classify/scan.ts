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
 * Ports a source probed, each with the last time seen (ms), within the window. Most sources probe one port (a
 * flood of new sources, a peer missing one rule), so the first port is kept inline and a Map is made only at the
 * second distinct one: a source costs a few small objects, not two Maps and a Set besides.
 */
class PortTimes {
  /** the only port while `map` is null (-1: none) */
  private port0 = -1;
  private t0 = 0;
  private map: Map<number, number> | null = null;

  get size(): number {
    return this.map !== null ? this.map.size : this.port0 >= 0 ? 1 : 0;
  }

  set(port: number, t: number): void {
    if (this.map !== null) this.map.set(port, t);
    else if (this.port0 < 0 || this.port0 === port) {
      this.port0 = port;
      this.t0 = t;
    } else {
      this.map = new Map([[this.port0, this.t0], [port, t]]);
      this.port0 = -1;
    }
  }

  clear(): void {
    this.port0 = -1;
    this.map = null;
  }

  /** Deletes entries older than `cutoff`; returns the oldest time left (Infinity when none). */
  prune(cutoff: number): number {
    if (this.map === null) {
      if (this.port0 < 0) return Infinity;
      if (this.t0 >= cutoff) return this.t0;
      this.port0 = -1;
      return Infinity;
    }
    let oldest = Infinity;
    for (const [port, seen] of this.map) {
      if (seen < cutoff) this.map.delete(port);
      else if (seen < oldest) oldest = seen;
    }
    return oldest;
  }
}

/** Items seen from a source, kept as {@link PortTimes} keeps ports: the first inline, a Set from the second. */
class Items<T> {
  private item0: T | undefined = undefined;
  private set: Set<T> | null = null;

  get size(): number {
    return this.set !== null ? this.set.size : this.item0 !== undefined ? 1 : 0;
  }

  has(item: T): boolean {
    return this.set !== null ? this.set.has(item) : this.item0 === item;
  }

  add(item: T): void {
    if (this.set !== null) this.set.add(item);
    else if (this.item0 === undefined) this.item0 = item;
    else if (this.item0 !== item) {
      this.set = new Set([this.item0, item]);
      this.item0 = undefined;
    }
  }

  delete(item: T): void {
    if (this.set !== null) this.set.delete(item);
    else if (this.item0 === item) this.item0 = undefined;
  }

  clear(): void {
    this.item0 = undefined;
    this.set = null;
  }

  /** Calls `fn` on each item; `fn` may delete the item it is given. */
  forEach(fn: (item: T) => void): void {
    if (this.set !== null) for (const item of this.set) fn(item);
    else if (this.item0 !== undefined) fn(this.item0);
  }
}

/**
 * What the detector knows of one source on one clock. `T` is whatever the caller wants re-labelled when it turns out
 * a scanner.
 */
class SourceState<T> {
  /** unknown-service ports within the window */
  readonly unknownPorts = new PortTimes();
  /** known-service ports within the window */
  readonly knownPorts = new PortTimes();
  /** items (flows) seen from this source before it was a scanner, in the window; cleared once it is one */
  readonly items = new Items<T>();
  scanner = false;
  /** when it became a scanner (ms) */
  since = 0;
  lastSeen: number;
  /** the time of its previous probe, in input order (lastSeen is the latest) */
  prev: number;
  /**
   * Lower bounds of the times in the port sets and of the items' last-seen times (items' times only grow), so a
   * prune that would remove nothing is skipped: a peer hitting more known ports than the threshold would otherwise
   * walk its maps on every probe.
   */
  portsOldest = Infinity;
  itemsOldest = Infinity;

  constructor(
    readonly src: number,
    /** the clock its times are on (a source seen on several clocks has a state on each: their times do not compare) */
    readonly clock: number,
    t: number,
  ) {
    this.lastSeen = t;
    this.prev = t;
  }

  /** Forgets the ports and items counted (the window starts afresh, or the source became a scanner). */
  reset(): void {
    this.unknownPorts.clear();
    this.knownPorts.clear();
    this.items.clear();
    this.portsOldest = this.itemsOldest = Infinity;
  }
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
      s = new SourceState<T>(src, clock, t);
      this.sources.set(key, s);
      this.hooks?.track(src);
    }
    if (t > s.lastSeen) s.lastSeen = t;
    // Time went back by more than the window (logs given newest first, a second boot's monotonic clock): what was
    // counted lies beyond the window of this probe and of the ones after it — start the window afresh.
    if (t < s.prev - this.opts.windowMs && !s.scanner) s.reset();
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
    if (s.portsOldest < cutoff) s.portsOldest = Math.min(s.unknownPorts.prune(cutoff), s.knownPorts.prune(cutoff));
    const all = s.knownPorts.size + s.unknownPorts.size;
    // at least half of the ports no known service uses (the README's rule; so at least half the threshold too)
    if (all >= this.opts.threshold && 2 * s.unknownPorts.size >= all) {
      // the items to re-label are those still in the window; a source that does not become a scanner keeps its
      // old items until the cap prunes them (a peer probing many known ports would otherwise walk them per probe)
      this.pruneItems(s, cutoff);
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
        o.items.forEach((item) => became.push(item));
        o.reset();
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
    const items = s.items;
    items.forEach((item) => {
      const seen = this.lastSeenOf(item);
      if (seen < cutoff) items.delete(item);
      else if (seen < oldest) oldest = seen;
    });
    s.itemsOldest = oldest;
  }

  /**
   * Drops about the tenth of the sources idle longest (each on its own clock): amortised, no per-probe LRU
   * bookkeeping, and no sort — a sample of 1024 sources estimates the idle time of the cut, then one pass drops
   * sources idle at least that long (a flood of new sources evicts every 1,000 of them).
   */
  private evictOldest(): void {
    const sources = this.sources;
    const nows = this.nows;
    const size = sources.size;
    const n = Math.max(1, Math.floor(size / 10));
    const step = Math.max(1, Math.floor(size / 1024));
    const sample: number[] = [];
    let i = 0;
    for (const s of sources.values()) if (i++ % step === 0) sample.push(nows[s.clock]! - s.lastSeen);
    sample.sort((a, b) => b - a);
    // the sampled idle time that ranks n-th; sources idler than that go first, then those exactly that idle (in the
    // order they came, as a stable sort gave): with every source sampled (up to 1,024), exactly the n idlest
    const cutoff = sample[Math.max(0, Math.min(sample.length, Math.ceil((n * sample.length) / size)) - 1)]!;
    let left = n;
    for (const ties of [false, true]) {
      for (const s of sources.values()) {
        if (left === 0) return;
        const idle = nows[s.clock]! - s.lastSeen;
        if (ties ? idle !== cutoff : idle <= cutoff) continue;
        sources.delete(s.src * CLOCKS + s.clock);
        if (s.scanner) {
          const k = (this.scannerSet.get(s.src) ?? 1) - 1;
          if (k > 0) this.scannerSet.set(s.src, k);
          else this.scannerSet.delete(s.src);
        }
        left--;
        this.evicted++;
        this.hooks?.untrack(s.src);
      }
    }
  }
}

