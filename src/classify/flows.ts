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

/**
 * A copy of `s` that does not keep its input line alive. Parser fields are slices of the batch text they came
 * from; a flow living for an hour would otherwise pin whole input chunks in memory. Flattening `' ' + s` builds
 * a new flat string; the slice points into that, not into the input.
 */
export function own(s: string): string {
  return (' ' + s).slice(1);
}

/** Where a flow's packets fell relative to the `--window`. */
export interface WindowMarks {
  before: number;
  during: number;
  after: number;
}

/** SYN retransmission tracking of a flow (created on its first SYN). */
export interface SynTrack {
  /** client port of the attempt being followed */
  port: number;
  last: number;
  gap: number;
  streak: number;
  /** SYNs repeated from the same client port */
  retransmits: number;
  /** gaps grew like TCP's exponential backoff: a real client waiting on this port */
  backoff: boolean;
  /** distinct client ports seen on SYNs (connection attempts) */
  attempts: number;
}

/**
 * One flow's live state. Fields are public for the classifier and writers; treat as read-only outside classify/.
 * Every field is set in the constructor (one hidden class for all flows); rare parts (SYN tracking, window marks,
 * scan ports) are sub-objects created when first needed, so the common flow stays small.
 */
export class Flow {
  verdict: Verdict = 'undetermined';
  rule: RuleId = 'no-protocol';
  service: string | undefined = undefined;
  /** the reason of the packet that set the current verdict; '' until someone asks (built from the exemplar) */
  reason = '';
  /** that packet, as much as its reason needs: numbers only, strings would pin the input text in memory */
  exSpt = -1;
  exDpt = -1;
  exFrag = -1;
  exFlags = 0;
  exSrcIsServer = false;
  /** `PROTO=` as printed (interned) */
  exProto = '';
  count = 0;
  /** packets counted as genuine-block / undetermined when they came: re-labelling a scanner's flow moves them */
  nBlock = 0;
  nUndet = 0;
  /** event time (ms: `ts`, else `mono`×1000, else the classifier's line counter) */
  firstSeen = 0;
  lastSeen = 0;
  firstTs: number | null = null;
  lastTs: number | null = null;
  firstMono: number | null = null;
  lastMono: number | null = null;
  firstLine = 0;
  lastLine = 0;
  file: string | undefined = undefined;
  /** TCP: packets per flag combination, in first-seen order — the first inline (most flows see one), more in
   * `flagsMore` as [mask, count, …]. Not a Map: a linear scan over one to three entries beats hashing. */
  flag0 = -1;
  flag0n = 0;
  flagsMore: number[] | null = null;
  persistent = false;
  /** event time from which the flow counts as persistent */
  persistAt = Infinity;
  syn: SynTrack | null = null;
  window: WindowMarks | null = null;
  /** conntrack INVALID lines (`nf_ct_proto_N:`) for this flow */
  ctInvalid = 0;
  ctReason: string | undefined = undefined;
  /** a probe (SYN, UDP to a port, crafted flags) set its verdict: re-labelled when its source turns out a scanner */
  probe = false;
  /** scan flows only: distinct destination ports (a Set: memory follows what was probed, at most 65536) */
  portSet: Set<number> | null = null;
  /** set when the table dropped it (so late references do not report it) */
  gone = false;

  /** Strings must not be slices of input text (see {@link own}): a flow outlives the chunk it was read from. */
  constructor(
    readonly key: string,
    readonly host: string | null,
    readonly proto: string,
    readonly server: string,
    readonly serverPort: number | null,
    readonly client: string,
  ) {}

  /** Counts `n` packets with flag bits `mask`. */
  addFlags(mask: number, n: number): void {
    if (this.flag0 === mask) {
      this.flag0n += n;
      return;
    }
    if (this.flag0 === -1) {
      this.flag0 = mask;
      this.flag0n = n;
      return;
    }
    const f = (this.flagsMore ??= []);
    for (let i = 0; i < f.length; i += 2) {
      if (f[i] === mask) {
        f[i + 1]! += n;
        return;
      }
    }
    f.push(mask, n);
  }

  /** [mask, count, …] for every flag combination seen. */
  flagCounts(): number[] {
    if (this.flag0 === -1) return [];
    return this.flagsMore === null ? [this.flag0, this.flag0n] : [this.flag0, this.flag0n, ...this.flagsMore];
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

  /**
   * Makes room for a fifth of the cap (amortised: one round per maxFlows/5 adds): the least recently seen noise
   * flows first, then the least recently seen of any kind. No sort: a sample of 1024 flows estimates the lastSeen
   * cutoff, then one pass removes flows at or below it.
   */
  private evict(): void {
    let excess = this.map.size - Math.floor(this.opts.maxFlows * 0.8);
    for (const noiseOnly of [true, false]) {
      if (excess <= 0) break;
      let candidates = 0;
      for (const f of this.map.values()) if (!noiseOnly || isNoise(f)) candidates++;
      if (candidates === 0) continue;
      const want = Math.min(excess, candidates);
      const step = Math.max(1, Math.floor(candidates / 1024));
      const sample: number[] = [];
      let i = 0;
      for (const f of this.map.values()) {
        if (noiseOnly && !isNoise(f)) continue;
        if (i++ % step === 0) sample.push(f.lastSeen);
      }
      sample.sort((a, b) => a - b);
      const cutoff = sample[Math.min(sample.length - 1, Math.ceil((want / candidates) * sample.length))]!;
      for (const f of this.map.values()) {
        if (excess <= 0) break;
        if (f.lastSeen <= cutoff && (!noiseOnly || isNoise(f))) {
          this.remove(f);
          this.evicted++;
          excess--;
        }
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
