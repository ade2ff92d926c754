/**
 * The live view's store: a bounded snapshot of classifier state for React (plain TS, no React here).
 *
 * The pipeline pushes ClassifyResults synchronously (`push`, O(1) per event); subscribers — React's
 * useSyncExternalStore — are notified at most every `notifyMs` (10×/s), and only then is an immutable snapshot
 * built. So the reading loop never waits for rendering and the rendering never sees per-event churn. Everything is
 * capped: flow rows (top-N by the current sort), evidence per row, rate buckets (a fixed ring), suggestions.
 */
import type { ClassifyResult } from '../classify/classifier.js';
import { own, type Flow } from '../classify/flows.js';
import { VERDICTS, type Verdict } from '../classify/verdict.js';
import type { DropEvent } from '../parse/event.js';
import { InterimSuggestions } from './interim-suggestions.js';
import { evidenceLine } from './format.js';

/** One proposed rule, as the live view shows and writes it. The suggestion engine will produce these. */
export interface ViewSuggestion {
  proto: string;
  /** numbers or "A-B" ranges, as the compiler's fragment takes them */
  ports: Array<number | string>;
  /** client addresses / CIDRs the rule would admit; empty: from anywhere */
  sources: string[];
  service?: string;
  /** why (log-derived: escape before display) */
  reason: string;
  /** one line for the list (log-derived: escape before display) */
  rendered: string;
}

export type SortKey = 'recency' | 'count';
export const SORT_KEYS: readonly SortKey[] = ['recency', 'count'];

/** One flow as the table shows it: a copy taken when the snapshot was built. */
export interface FlowRow {
  key: string;
  host: string | null;
  proto: string;
  server: string;
  serverPort: number | null;
  service: string | undefined;
  client: string;
  count: number;
  verdict: Verdict;
  persistent: boolean;
  /** conntrack-loss that has not persisted: harmless noise, dimmed and collapsible */
  noise: boolean;
  /** scan flows: distinct ports probed */
  ports: number | null;
  /** event time of the last packet (ISO), or null */
  lastTime: string | null;
  lastLine: number;
  /** the first packet and a few of the latest, oldest first, as display lines (escaped) */
  evidence: string[];
  /** the latest packet sampled (a copy that pins no input text), for the `--ruleset` trace */
  latest: DropEvent | null;
  /** the classifier's flow, for details computed on demand (reason, trace) */
  flow: Flow;
}

export interface ViewSnapshot {
  /** increases with every snapshot */
  version: number;
  source: string;
  startedAt: number;
  now: number;
  lines: number;
  /** drop events */
  events: number;
  ctInvalid: number;
  issues: number;
  /** flows the classifier expired or evicted (null: not known until the input ends) */
  evicted: number | null;
  /** drop events per second over the last few seconds */
  eps: number;
  ended: boolean;
  paused: boolean;
  /** keys unavailable: why (shown in the header) */
  noKeys: string | null;
  /** a one-line message (e.g. where `w` wrote), or null */
  status: string | null;
  counts: Record<Verdict, number>;
  /** per verdict, events per sparkline bucket, oldest first */
  spark: Record<Verdict, number[]>;
  sparkBucketMs: number;
  rows: FlowRow[];
  /** rows that fell out of the table's cap (the classifier may still have them) */
  rowsDropped: number;
  /** distinct flows announced by the classifier so far */
  flowsSeen: number;
  sort: SortKey;
  suggestions: ViewSuggestion[];
}

export interface ViewStoreOptions {
  /** wall clock (ms), for elapsed time and rates. @default Date.now */
  now?: () => number;
  /** what is being read, for the header. @default 'stdin' */
  source?: string;
  /** flow rows kept (top-N by the current sort). @default 2000 */
  maxRows?: number;
  /** evidence lines kept per row besides the first (sampled at snapshot time). @default 3 */
  evidencePerRow?: number;
  /** least time between two notifications of subscribers, in ms (100 = 10 redraws/s). @default 100 */
  notifyMs?: number;
  /** sparkline: number of buckets. @default 30 */
  sparkBuckets?: number;
  /** sparkline: width of a bucket in ms (30 × 10 s = the last 5 minutes). @default 10000 */
  sparkBucketMs?: number;
  /** seconds averaged for events/s. @default 5 */
  rateWindowS?: number;
  /**
   * The classifier's flow cap. Until the input ends (when the summary gives the exact number), evicted flows are
   * known to be 0 while fewer flows than this were seen, and unknown after. @default 100000
   */
  maxFlows?: number;
}

export interface ViewStore {
  /** one classified packet (synchronous, O(1) amortised) */
  push(r: ClassifyResult): void;
  addIssue(n?: number): void;
  setLines(lines: number): void;
  /** the input is exhausted; exact totals from the classifier's summary when given */
  setEnded(exact?: { counts: Record<Verdict, number>; evicted: number }): void;
  setEvicted(n: number): void;
  setPaused(paused: boolean): void;
  setSort(sort: SortKey): void;
  setStatus(text: string | null): void;
  setNoKeys(why: string | null): void;
  /** Suggestions from the suggestion engine; once called, the interim list is no longer computed. */
  setSuggestions(list: ViewSuggestion[]): void;
  getSnapshot(): ViewSnapshot;
  subscribe(listener: () => void): () => void;
  /** builds a snapshot and notifies now (tests; the final frame) */
  flush(): void;
  /** stops timers */
  dispose(): void;
}

const MAX_SUGGESTIONS = 500;
/** rows may grow this much over the cap before a prune, so pruning (a sort) is rare */
const PRUNE_SLACK = 1.5;
/** the view refreshes at least this often without input (elapsed time, rates decaying) */
const IDLE_TICK_MS = 1000;

/**
 * Parsed events hold slices of the input batch's text: keeping one pins its whole chunk. So a row holds the raw
 * event only until the next snapshot (≤ 100 ms), which turns it into an evidence line and a detached copy.
 */
interface RowState {
  flow: Flow;
  seq: number;
  /** the first packet, until rendered into `firstText` */
  firstPending: DropEvent | null;
  firstText: string;
  /** the newest packet since the last snapshot */
  pending: DropEvent | null;
  /** the latest evidence lines, a ring once full (oldest at `next`) */
  recent: string[];
  next: number;
  latest: DropEvent | null;
}

/** The fields of an event the trace and the evidence need, as fresh strings (nothing pinned). */
function detach(e: DropEvent): DropEvent {
  const d: DropEvent = {
    line: e.line, time: e.time === null ? null : own(e.time), ts: e.ts, mono: e.mono, host: e.host === null ? null : own(e.host),
    envelope: e.envelope, prefix: own(e.prefix), in: own(e.in), out: own(e.out),
  };
  if (e.family !== undefined) d.family = e.family;
  if (e.src !== undefined) d.src = own(e.src);
  if (e.dst !== undefined) d.dst = own(e.dst);
  if (e.srcShort !== undefined) d.srcShort = own(e.srcShort);
  if (e.dstShort !== undefined) d.dstShort = own(e.dstShort);
  if (e.proto !== undefined) d.proto = own(e.proto);
  if (e.spt !== undefined) d.spt = e.spt;
  if (e.dpt !== undefined) d.dpt = e.dpt;
  if (e.flags !== undefined) d.flags = e.flags.map(own);
  if (e.icmp !== undefined) d.icmp = { type: e.icmp.type, code: e.icmp.code };
  return d;
}

function zero(): Record<Verdict, number> {
  return { 'conntrack-loss': 0, 'genuine-block': 0, scan: 0, undetermined: 0 };
}

class Store implements ViewStore {
  private readonly now: () => number;
  private readonly maxRows: number;
  private readonly perRow: number;
  private readonly notifyMs: number;
  private readonly sparkBuckets: number;
  private readonly sparkBucketMs: number;
  private readonly rateWindowS: number;
  private readonly startedAt: number;
  private readonly source: string;
  private readonly maxFlows: number;

  private readonly counts = zero();
  private events = 0;
  private ctInvalid = 0;
  private issues = 0;
  private lines = 0;
  private evicted: number | null = null;
  private ended = false;
  private paused = false;
  private noKeys: string | null = null;
  private status: string | null = null;
  private sort: SortKey = 'recency';
  private flowsSeen = 0;
  private rowsDropped = 0;

  private readonly rows = new Map<Flow, RowState>();
  /**
   * Packets counted as genuine-block / undetermined per flow, so that when the classifier re-labels a scanner's
   * earlier flows the counters can move them to `scan` too. Weak: an entry lives as long as the classifier keeps
   * the flow, so it is bounded by the classifier's own cap.
   */
  private readonly probeCounts = new WeakMap<Flow, { gb: number; un: number }>();
  private seq = 0;

  /** per-second ring of counts per verdict: slot = second % secs, verdict-major */
  private readonly secs: number;
  private readonly ring: Float64Array;
  private lastSec: number;

  private readonly interim = new InterimSuggestions();
  private engineSuggestions: ViewSuggestion[] | null = null;
  private suggestions: ViewSuggestion[] = [];

  private readonly listeners = new Set<() => void>();
  private snapshot: ViewSnapshot;
  private frozenRows: FlowRow[] = [];
  private frozenSuggestions: ViewSuggestion[] = [];
  private dirty = false;
  private lastNotify = -Infinity;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private idle: ReturnType<typeof setInterval> | undefined;

  constructor(o: ViewStoreOptions) {
    this.now = o.now ?? Date.now;
    this.maxRows = o.maxRows ?? 2000;
    this.perRow = o.evidencePerRow ?? 3;
    this.notifyMs = o.notifyMs ?? 100;
    this.sparkBuckets = o.sparkBuckets ?? 30;
    this.sparkBucketMs = o.sparkBucketMs ?? 10_000;
    this.rateWindowS = o.rateWindowS ?? 5;
    this.source = o.source ?? 'stdin';
    this.maxFlows = o.maxFlows ?? 100_000;
    this.startedAt = this.now();
    this.secs = Math.max(Math.ceil((this.sparkBuckets * this.sparkBucketMs) / 1000), this.rateWindowS) + 2;
    this.ring = new Float64Array(this.secs * VERDICTS.length);
    this.lastSec = Math.floor(this.startedAt / 1000);
    this.snapshot = this.build();
  }

  /** Moves the ring to second `sec`, zeroing the seconds skipped. */
  private advance(sec: number): void {
    if (sec <= this.lastSec) return;
    const n = Math.min(sec - this.lastSec, this.secs);
    for (let k = 1; k <= n; k++) {
      const slot = (this.lastSec + k) % this.secs;
      for (let v = 0; v < VERDICTS.length; v++) this.ring[v * this.secs + slot] = 0;
    }
    this.lastSec = sec;
  }

  push(r: ClassifyResult): void {
    if (r.kind === 'ct-invalid') {
      this.ctInvalid++;
      this.changed();
      return;
    }
    this.events++;
    this.counts[r.verdict]++;
    // the clock is read every 64 events: a batch arrives within milliseconds, and Date.now() per event shows up
    // at 100,000 lines/s
    if ((this.events & 63) === 1) {
      const sec = Math.floor(this.now() / 1000);
      if (sec > this.lastSec) this.advance(sec);
    }
    this.ring[VERDICT_SLOT[r.verdict] * this.secs + (this.lastSec % this.secs)]! += 1;

    if (r.changes !== undefined) {
      for (const c of r.changes) {
        if (c.kind === 'new') this.flowsSeen++;
        else if (c.kind === 'verdict' && c.flow.verdict === 'scan') {
          // a source just turned out to be a scanner: the classifier moved this flow's refused probes to `scan`
          const moved = this.probeCounts.get(c.flow);
          if (moved !== undefined) {
            this.counts['genuine-block'] -= moved.gb;
            this.counts.undetermined -= moved.un;
            this.counts.scan += moved.gb + moved.un;
            this.probeCounts.delete(c.flow);
          }
        }
      }
      if (this.engineSuggestions === null) this.interim.observe(r);
    }

    const f = r.flow;
    if (f !== undefined) {
      if ((r.verdict === 'genuine-block' || r.verdict === 'undetermined') && f.verdict !== 'scan') {
        let pc = this.probeCounts.get(f);
        if (pc === undefined) this.probeCounts.set(f, (pc = { gb: 0, un: 0 }));
        if (r.verdict === 'genuine-block') pc.gb++;
        else pc.un++;
      }
      let row = this.rows.get(f);
      if (row === undefined) {
        row = { flow: f, seq: 0, firstPending: r.event, firstText: '', pending: null, recent: [], next: 0, latest: null };
        this.rows.set(f, row);
        if (this.rows.size > this.maxRows * PRUNE_SLACK) this.prune();
      } else {
        row.pending = r.event;
      }
      row.seq = ++this.seq;
    }
    this.changed();
  }

  /** Keeps the top `maxRows` rows by the current sort. Flows the classifier dropped go first. */
  private prune(): void {
    const all = [...this.rows.values()];
    all.sort((a, b) => Number(a.flow.gone) - Number(b.flow.gone) || this.compare(a, b));
    for (let i = this.maxRows; i < all.length; i++) {
      this.rows.delete(all[i]!.flow);
      this.rowsDropped++;
    }
  }

  private compare(a: RowState, b: RowState): number {
    if (this.sort === 'count') return b.flow.count - a.flow.count || b.seq - a.seq;
    return b.seq - a.seq;
  }

  addIssue(n = 1): void {
    this.issues += n;
    this.changed();
  }

  setLines(lines: number): void {
    if (lines !== this.lines) {
      this.lines = lines;
      this.changed();
    }
  }

  setEnded(exact?: { counts: Record<Verdict, number>; evicted: number }): void {
    this.ended = true;
    if (exact !== undefined) {
      for (const v of VERDICTS) this.counts[v] = exact.counts[v];
      this.evicted = exact.evicted;
    }
    this.flush();
  }

  setEvicted(n: number): void {
    this.evicted = n;
    this.changed();
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    this.flush();
  }

  setSort(sort: SortKey): void {
    this.sort = sort;
    this.flush();
  }

  setStatus(text: string | null): void {
    this.status = text;
    this.flush();
  }

  setNoKeys(why: string | null): void {
    this.noKeys = why;
    this.flush();
  }

  setSuggestions(list: ViewSuggestion[]): void {
    this.engineSuggestions = list.slice(0, MAX_SUGGESTIONS);
    this.changed();
  }

  getSnapshot = (): ViewSnapshot => this.snapshot;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    if (this.idle === undefined) {
      this.idle = setInterval(() => this.changed(), IDLE_TICK_MS);
      this.idle.unref?.();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.idle !== undefined) {
        clearInterval(this.idle);
        this.idle = undefined;
      }
    };
  };

  /** Something changed: notify now if the last notification is old enough, else once the interval has passed. */
  private changed(): void {
    this.dirty = true;
    if (this.timer !== undefined) return;
    const wait = this.lastNotify + this.notifyMs - this.now();
    if (wait <= 0 && this.notifyMs === 0) {
      this.flush();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.dirty) this.flush();
    }, Math.max(0, wait));
    this.timer.unref?.();
  }

  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.dirty = false;
    this.lastNotify = this.now();
    this.snapshot = this.build();
    for (const l of [...this.listeners]) l();
  }

  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.idle !== undefined) clearInterval(this.idle);
    this.timer = undefined;
    this.idle = undefined;
    this.listeners.clear();
  }

  /** Turns the raw events rows hold into evidence lines and detached copies (see RowState). */
  private settleEvidence(): void {
    for (const row of this.rows.values()) {
      if (row.firstPending !== null) {
        row.firstText = evidenceLine(row.firstPending);
        row.latest = detach(row.firstPending);
        row.firstPending = null;
      }
      const e = row.pending;
      if (e === null) continue;
      row.pending = null;
      row.latest = detach(e);
      if (this.perRow === 0) continue;
      const text = evidenceLine(e);
      if (row.recent.length < this.perRow) row.recent.push(text);
      else {
        row.recent[row.next] = text;
        row.next = (row.next + 1) % this.perRow;
      }
    }
  }

  private build(): ViewSnapshot {
    const now = this.now();
    const sec = Math.floor(now / 1000);
    this.advance(sec);
    this.settleEvidence();

    // while paused the table and the list hold still (so a selection stays put); the header stays live
    if (!this.paused) {
      this.frozenRows = this.buildRows();
      if (this.engineSuggestions !== null) this.suggestions = this.engineSuggestions;
      else if (this.interim.dirty) this.suggestions = this.interim.list().slice(0, MAX_SUGGESTIONS);
      this.frozenSuggestions = this.suggestions;
    }

    const spark = {} as Record<Verdict, number[]>;
    const perBucket = Math.max(1, Math.round(this.sparkBucketMs / 1000));
    for (const v of VERDICTS) {
      const base = VERDICT_SLOT[v] * this.secs;
      const out = new Array<number>(this.sparkBuckets).fill(0);
      // bucket i covers the seconds ending `(buckets - 1 - i) * perBucket` seconds ago; the newest includes now
      for (let i = 0; i < this.sparkBuckets; i++) {
        const end = sec - (this.sparkBuckets - 1 - i) * perBucket;
        let n = 0;
        for (let s = end - perBucket + 1; s <= end; s++) {
          if (sec - s >= this.secs - 1 || s * 1000 < this.startedAt - 999) continue;
          n += this.ring[base + (s % this.secs)]!;
        }
        out[i] = n;
      }
      spark[v] = out;
    }

    // events/s over the last complete seconds (the current one is partial), or since start when younger
    const span = Math.min(this.rateWindowS, Math.max(1, sec - Math.floor(this.startedAt / 1000)));
    let recent = 0;
    for (let s = sec - span; s < sec; s++) {
      if (s < 0) continue;
      for (let v = 0; v < VERDICTS.length; v++) recent += this.ring[v * this.secs + (s % this.secs)]!;
    }
    if (sec === Math.floor(this.startedAt / 1000)) {
      for (let v = 0; v < VERDICTS.length; v++) recent += this.ring[v * this.secs + (sec % this.secs)]!;
    }

    return {
      version: (this.snapshot?.version ?? 0) + 1,
      source: this.source,
      startedAt: this.startedAt,
      now,
      lines: this.lines,
      events: this.events,
      ctInvalid: this.ctInvalid,
      issues: this.issues,
      // the classifier evicts only when its table is full, and it holds no more flows than were announced
      evicted: this.evicted ?? (this.flowsSeen < this.maxFlows - 1 ? 0 : null),
      eps: recent / span,
      ended: this.ended,
      paused: this.paused,
      noKeys: this.noKeys,
      status: this.status,
      counts: { ...this.counts },
      spark,
      sparkBucketMs: this.sparkBucketMs,
      rows: this.frozenRows,
      rowsDropped: this.rowsDropped,
      flowsSeen: this.flowsSeen,
      sort: this.sort,
      suggestions: this.frozenSuggestions,
    };
  }

  private buildRows(): FlowRow[] {
    const states: RowState[] = [];
    for (const s of this.rows.values()) {
      // the classifier let go of it (merged into a scan flow, expired or evicted): the table follows the classifier
      if (s.flow.gone) {
        this.rows.delete(s.flow);
        continue;
      }
      states.push(s);
    }
    states.sort((a, b) => this.compare(a, b));
    const out: FlowRow[] = new Array<FlowRow>(Math.min(states.length, this.maxRows));
    for (let i = 0; i < out.length; i++) {
      const s = states[i]!;
      const f = s.flow;
      const recent = s.next === 0 ? s.recent : [...s.recent.slice(s.next), ...s.recent.slice(0, s.next)];
      const evidence = [s.firstText, ...recent];
      out[i] = {
        key: f.key,
        host: f.host,
        proto: f.proto,
        server: f.server,
        serverPort: f.serverPort,
        service: f.service,
        client: f.client,
        count: f.count,
        verdict: f.verdict,
        persistent: f.persistent,
        noise: f.verdict === 'conntrack-loss' && !f.persistent,
        ports: f.portSet !== null ? f.portSet.size : null,
        lastTime: f.lastTs === null ? null : new Date(f.lastTs).toISOString(),
        lastLine: f.lastLine,
        evidence,
        latest: s.latest,
        flow: f,
      };
    }
    return out;
  }
}

/** ring rows per verdict: the same order as VERDICTS */
const VERDICT_SLOT: Record<Verdict, number> = { 'conntrack-loss': 0, 'genuine-block': 1, scan: 2, undetermined: 3 };

export function createViewStore(opts: ViewStoreOptions = {}): ViewStore {
  return new Store(opts);
}
