/**
 * Flows: drops grouped by (host, protocol, server address, server port, client address) — the server being the
 * side that offers the service — and a bounded table holding them.
 */
import type { RuleId, Verdict } from './verdict.js';

/** How verdicts rank when one flow sees packets judged differently: a refused SYN outweighs lost-state noise. */
export const VERDICT_RANK: Record<Verdict, number> = {
  undetermined: 0,
  'conntrack-loss': 1,
  'genuine-block': 2,
  scan: 3,
};

/** Index of each verdict in {@link Flow.tally}. */
export const VERDICT_INDEX: Record<Verdict, number> = {
  'conntrack-loss': 0,
  'genuine-block': 1,
  scan: 2,
  undetermined: 3,
};

/** Where a flow's packets fell relative to the `--window`. */
export interface WindowMarks {
  before: number;
  during: number;
  after: number;
}

/** One flow's live state. Fields are public for the classifier and writers; treat as read-only outside classify/. */
export class Flow {
  verdict: Verdict;
  rule: RuleId;
  service: string | undefined;
  /** the reason of the packet that set the current verdict */
  reason = '';
  count = 0;
  /** packets per verdict as judged when they came (index: VERDICT_INDEX) — re-labelling moves them */
  readonly tally: number[] = [0, 0, 0, 0];
  /** event time (ms: `ts`, else `mono`×1000, else the classifier's line counter) */
  firstSeen: number;
  lastSeen: number;
  firstTs: number | null;
  lastTs: number | null;
  firstMono: number | null;
  lastMono: number | null;
  firstLine: number;
  lastLine: number;
  file: string | undefined;
  /** TCP: distinct flag combinations (bits) and their packet counts, in first-seen order; null for other protocols.
   * Parallel arrays, not a Map: a flow sees one to three combinations, and a linear scan beats hashing. */
  flagMasks: number[] | null;
  flagCounts: number[] = [];
  persistent = false;
  /** event time from which the flow counts as persistent */
  persistAt: number;
  /** SYN retransmission tracking (same client port, growing gaps) */
  synPort = -1;
  synLast = 0;
  synGap = 0;
  synStreak = 0;
  /** SYNs repeated from the same client port */
  retransmits = 0;
  /** gaps grew like TCP's exponential backoff: a real client waiting on this port */
  backoff = false;
  /** distinct client ports seen on SYNs (connection attempts) */
  attempts = 0;
  window: WindowMarks | null;
  /** conntrack INVALID lines (`nf_ct_proto_N:`) for this flow */
  ctInvalid = 0;
  ctReason: string | undefined;
  /** first packet was a probe (SYN, UDP to a port, crafted flags): re-labelled when its source turns out a scanner */
  probe: boolean;
  /** scan flows only: distinct destination ports (a Set: memory follows what was probed, at most 65536) */
  portSet: Set<number> | null = null;
  /** set when the table dropped it (so late references do not report it) */
  gone = false;

  constructor(
    readonly key: string,
    readonly host: string | null,
    readonly proto: string,
    readonly server: string,
    readonly serverPort: number | null,
    readonly client: string,
    verdict: Verdict,
    rule: RuleId,
    service: string | undefined,
    t: number,
    ts: number | null,
    mono: number | null,
    line: number,
    file: string | undefined,
    persistAt: number,
    withWindow: boolean,
    probe: boolean,
  ) {
    this.verdict = verdict;
    this.rule = rule;
    this.service = service;
    this.firstSeen = this.lastSeen = t;
    this.firstTs = this.lastTs = ts;
    this.firstMono = this.lastMono = mono;
    this.firstLine = this.lastLine = line;
    this.file = file;
    this.flagMasks = proto === 'tcp' ? [] : null;
    this.persistAt = persistAt;
    this.window = withWindow ? { before: 0, during: 0, after: 0 } : null;
    this.probe = probe;
  }

  /** Counts `n` packets with flag bits `mask`. */
  addFlags(mask: number, n: number): void {
    const masks = this.flagMasks;
    if (masks === null) return;
    for (let i = 0; i < masks.length; i++) {
      if (masks[i] === mask) {
        this.flagCounts[i]! += n;
        return;
      }
    }
    masks.push(mask);
    this.flagCounts.push(n);
  }

  /** Records a destination port on a scan flow. */
  addPort(port: number): void {
    (this.portSet ??= new Set()).add(port);
  }
}

/** Builds a flow key; one concatenation, no arrays. */
export function flowKey(host: string | null, proto: string, server: string, serverPort: number | null, client: string): string {
  return `${host ?? ''}|${proto}|${server}|${serverPort ?? ''}|${client}`;
}

export interface FlowTableOptions {
  maxFlows: number;
  idleMs: number;
}

/** Idle flows are looked for after this many adds, or a quarter of the table's size if larger (amortised O(1)). */
const SWEEP_EVERY = 4096;

/**
 * A bounded Map of flows. Conntrack-loss and undetermined flows idle for `idleMs` expire (they are noise; their
 * packets stay counted in the summary); when the table is full, the least recently seen flows are evicted —
 * noise first, then anything. Both are counted.
 */
export class FlowTable {
  private readonly map = new Map<string, Flow>();
  private addsSinceSweep = 0;
  expired = 0;
  evicted = 0;
  /** called for each flow that leaves the table */
  onRemove: ((f: Flow) => void) | undefined;

  constructor(private readonly opts: FlowTableOptions) {}

  get(key: string): Flow | undefined {
    return this.map.get(key);
  }

  get size(): number {
    return this.map.size;
  }

  /** Adds a new flow; `now` (event time) drives idle expiry. */
  add(flow: Flow, now: number): void {
    if (++this.addsSinceSweep >= SWEEP_EVERY && this.addsSinceSweep >= this.map.size >>> 2) {
      this.addsSinceSweep = 0;
      this.expire(now);
    }
    if (this.map.size >= this.opts.maxFlows) this.evict();
    this.map.set(flow.key, flow);
  }

  /** Takes a flow out without counting it as expired or evicted (it was merged into another). */
  detach(f: Flow): void {
    if (this.map.get(f.key) === f) this.remove(f);
  }

  values(): IterableIterator<Flow> {
    return this.map.values();
  }

  /** Expires noise flows idle since before `now - idleMs`. */
  expire(now: number): void {
    const cutoff = now - this.opts.idleMs;
    for (const f of this.map.values()) {
      if (f.lastSeen < cutoff && isNoise(f)) {
        this.remove(f);
        this.expired++;
      }
    }
  }

  /** Makes room for a tenth of the cap (amortised): oldest noise first, then oldest of any kind. */
  private evict(): void {
    let excess = this.map.size - Math.floor(this.opts.maxFlows * 0.9);
    const noise: Flow[] = [];
    const rest: Flow[] = [];
    for (const f of this.map.values()) (isNoise(f) ? noise : rest).push(f);
    for (const group of [noise, rest]) {
      if (excess <= 0) break;
      group.sort((a, b) => a.lastSeen - b.lastSeen);
      for (let i = 0; i < group.length && excess > 0; i++, excess--) {
        this.remove(group[i]!);
        this.evicted++;
      }
    }
  }

  private remove(f: Flow): void {
    this.map.delete(f.key);
    f.gone = true;
    this.onRemove?.(f);
  }
}

function isNoise(f: Flow): boolean {
  return (f.verdict === 'conntrack-loss' || f.verdict === 'undetermined') && !f.persistent;
}
