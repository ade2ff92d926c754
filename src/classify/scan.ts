/**
 * Scan detection: one source hitting many distinct closed ports in a short window. Only probes are fed here
 * (SYN, UDP to a port, crafted TCP flags) — return traffic of lost connections lands on ever-changing client
 * ports and must never look like a scan.
 *
 * A peer node whose firewall rules are missing for a whole role also hits many distinct ports — but known service
 * ports (2379, 2380, 6443, 9345, 10250, 8472…). That is a missing-rule story, not probing, so at least half of the
 * distinct ports must be ports no known service uses before a source is called a scanner.
 */

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

/** What the detector knows of one source. `T` is whatever the caller wants re-labelled when it turns out a scanner. */
export interface SourceState<T> {
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
  private readonly sources = new Map<number, SourceState<T>>();
  /** sources that are scanners: usually empty, so the per-packet check costs one size test */
  private readonly scannerSet = new Set<number>();
  private readonly minUnknown: number;
  /** sources dropped because of the cap */
  evicted = 0;
  /** sources that became scanners */
  scanners = 0;

  /** `lastSeenOf` tells when an item was last seen, so items older than the window can be pruned too. */
  constructor(
    private readonly opts: ScanOptions,
    private readonly lastSeenOf: (item: T) => number,
    private readonly hooks?: SourceHooks,
  ) {
    this.minUnknown = Math.ceil(opts.threshold / 2);
  }

  /** Is this source a scanner? */
  isScanner(src: number): boolean {
    return this.scannerSet.size !== 0 && this.scannerSet.has(src);
  }

  /**
   * Records one probe from `src` to `port` at `t`, remembering `item` for re-labelling. Returns the items to
   * re-label when this probe made the source a scanner, `null` otherwise.
   */
  observe(src: number, port: number, known: boolean, t: number, item: T | undefined): T[] | null {
    let s = this.sources.get(src);
    if (s === undefined) {
      if (this.sources.size >= this.opts.maxSources) this.evictOldest();
      s = {
        unknownPorts: new Map(), knownPorts: new Map(), items: new Set(), scanner: false, since: 0, lastSeen: t,
        portsOldest: Infinity, itemsOldest: Infinity,
      };
      this.sources.set(src, s);
      this.hooks?.track(src);
    }
    if (t > s.lastSeen) s.lastSeen = t;
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
    if (s.knownPorts.size + s.unknownPorts.size >= this.opts.threshold && s.unknownPorts.size >= this.minUnknown) {
      s.scanner = true;
      s.since = t;
      this.scanners++;
      this.scannerSet.add(src);
      const became = [...s.items];
      s.items.clear();
      s.unknownPorts.clear();
      s.knownPorts.clear();
      s.portsOldest = s.itemsOldest = Infinity;
      return became;
    }
    return null;
  }

  /** Drops the item from its source's re-label set (e.g. when the flow table evicts it). */
  forget(src: number, item: T): void {
    this.sources.get(src)?.items.delete(item);
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

  /** Drops the least recently seen tenth of the sources: amortised, no per-probe LRU bookkeeping. */
  private evictOldest(): void {
    const all = [...this.sources];
    all.sort((a, b) => a[1].lastSeen - b[1].lastSeen);
    const n = Math.max(1, Math.floor(all.length / 10));
    for (let i = 0; i < n; i++) {
      const [src] = all[i]!;
      this.sources.delete(src);
      this.scannerSet.delete(src);
      this.evicted++;
      this.hooks?.untrack(src);
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
