/**
 * The live view's store: a bounded snapshot of classifier state for React (plain TS, no React here).
 *
 * The pipeline pushes ClassifyResults synchronously (`push`, O(1) per event); subscribers — React's
 * useSyncExternalStore — are notified at most every `notifyMs` (10×/s), and only then is an immutable snapshot
 * built. So the reading loop never waits for rendering and the rendering never sees per-event churn. Everything is
 * capped: flow rows (top-N by the current sort), evidence per row, rate buckets (a fixed ring), suggestions.
 *
 * A snapshot costs O(rows) cheap steps, whatever the input rate: rows sit in a recency list (no sort to keep the
 * newest), a row unchanged since the last snapshot is handed over as the same object, a row's newest packet is
 * sampled as evidence at most every `evidenceMs`, and display strings (last-seen time, evidence lines) are made only
 * for the rows that are shown. At 100,000 lines/s with thousands of flows a snapshot took ~15-30 ms before (an
 * evidence line and a detached copy per row per snapshot, a sort, 2,000 new row objects), ~3 ms now.
 */
import type { ClassifyResult, Observation } from '../classify/classifier.js';
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
  /** from anywhere, but refused over this IP family only (the engine's Suggestion.families) */
  family?: 4 | 6;
  /** the engine's: icmp/icmpv6 types the rule accepts (a catalog row's, or neighbour discovery's); absent: every type */
  icmpTypes?: number[];
  /** the engine's: the peer's port the rule matches (a catalog row that fixes it: a DHCP reply from 67); absent: any */
  sourcePort?: number | string;
  service?: string;
  /**
   * The engine's: the addon this port belongs to, which the policy's addons (`--addon`) leave out — the fix is
   * enabling it in the policy, so `w` writes no rule for it
   */
  addon?: string;
  /** why (log-derived: escape before display); with `flow`, the details pane asks for its reason instead */
  reason: string;
  /**
   * The interim list's: the group's busiest flow, whose reason the details pane asks the classifier for (a flow's
   * reason is built when first asked for: `flow.reason` is '' until then)
   */
  flow?: Flow;
  /** one line for the list (log-derived: escape before display) */
  rendered: string;
}

export type SortKey = 'recency' | 'count';
export const SORT_KEYS: readonly SortKey[] = ['recency', 'count'];

/**
 * One flow as the table shows it: a copy taken when the snapshot was built. (The store's rows compute `lastTime`
 * and `evidence` when first read: only the rows on screen and the selected one ever are.)
 */
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
  /** `ports` is a lower bound (PortSet.saturated) */
  portsAtLeast: boolean;
  /** event time of the last packet (ISO), or null */
  readonly lastTime: string | null;
  lastLine: number;
  /** the first packet and a few of the latest, oldest first, as display lines (escaped) */
  readonly evidence: string[];
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
  /** LOG lines of other prefixes than --prefix asked for (left out) */
  otherPrefix: number;
  /** kernel log records overwritten in the ring buffer before they were read (`--kmsg`: the counts miss them) */
  lost: number;
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
  /** the rate limit of the LOG rule that writes the lines, when `--ruleset` shows one (`10/min`), else null */
  logLimit: string | null;
  /** bumped each time `--ruleset` is reloaded with other rules: traces computed before are stale */
  rulesetVersion: number;
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
  /** why there is no suggestion although genuine blocks were seen (the engine's), else null */
  suggestionsNote: string | null;
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
  /**
   * Least time between two evidence samples of one row, in ms: a row's newest packet becomes an evidence line (and
   * its `latest`) at the first snapshot this long after the row's previous sample. Bounds the snapshot's work by
   * the rows, not by the input rate: at 100,000 lines/s nearly every row has a new packet at every snapshot.
   * `flush()` samples every row. @default 1000
   */
  evidenceMs?: number;
  /** least time between two notifications of subscribers, in ms (100 = 10 redraws/s). @default 100 */
  notifyMs?: number;
  /** sparkline: number of buckets. @default 30 */
  sparkBuckets?: number;
  /** sparkline: width of a bucket in ms (30 × 10 s = the last 5 minutes). @default 10000 */
  sparkBucketMs?: number;
  /** seconds averaged for events/s. @default 5 */
  rateWindowS?: number;
  /**
   * The classifier's flow cap. Without setEvicted (the live view calls it after every batch) and until the input
   * ends, evicted flows are known to be 0 while fewer flows than this were seen, and unknown after. @default 100000
   */
  maxFlows?: number;
}

export interface ViewStore {
  /** one classified packet (synchronous, O(1) amortised) */
  push(r: ClassifyResult): void;
  /**
   * push() for a packet the parser handed over without its event (LineParser.parseBytesPackets) and the classifier's
   * observation of it: `event()` builds the packet's event, valid during the call only — called for a row's first
   * packet, and for its newest as evidence within a budget per snapshot (see CAPTURE_BUDGET), not per packet.
   */
  pushPacket(o: Observation, event: () => DropEvent): void;
  addIssue(n?: number): void;
  /** LOG lines of other prefixes left out so far (--prefix) */
  setOtherPrefix(n: number): void;
  /** records the input lost before they were read (LineSource stats.overwritten) */
  setLost(n: number): void;
  /** the LOG rule that writes the lines is rate-limited (see ViewSnapshot.logLimit) */
  setLogLimit(rate: string | null): void;
  setLines(lines: number): void;
  /** the input is exhausted; exact totals from the classifier's summary when given */
  setEnded(exact?: { counts: Record<Verdict, number>; evicted: number }): void;
  setEvicted(n: number): void;
  setPaused(paused: boolean): void;
  setSort(sort: SortKey): void;
  setStatus(text: string | null): void;
  /** `--ruleset` was reloaded with other rules: traces are recomputed (ViewSnapshot.rulesetVersion); `status` says so */
  rulesetChanged(status: string): void;
  setNoKeys(why: string | null): void;
  /** Suggestions from the suggestion engine; once called, the interim list is no longer computed. */
  setSuggestions(list: ViewSuggestion[], note?: string | null): void;
  /**
   * Least time between two notifications from now on, in ms (never below `notifyMs`): the live view spaces redraws
   * out while input is queued, so that parsing catches up first.
   */
  setSpacing(ms: number): void;
  /**
   * The view is behind its input, or its main thread busy (the live view's pacing says when): while on, the timed
   * snapshots rebuild the table (rows, suggestions) at most every ROWS_CATCHING_UP_MS; the header (counts, rates,
   * sparklines, lines) is new in each. flush() (a sort, a pause, the end of the input) rebuilds at once.
   */
  setCatchingUp(on: boolean): void;
  getSnapshot(): ViewSnapshot;
  subscribe(listener: () => void): () => void;
  /** builds a snapshot and notifies now (tests; the final frame) */
  flush(): void;
  /** stops timers */
  dispose(): void;
}

const MAX_SUGGESTIONS = 500;
/**
 * Packets pushed without their event (pushPacket) whose event is built between two snapshots, at most, besides a
 * row's first packet and one for each row due a sample (`evidenceMs`): a row's newest packet is then kept as it is
 * with push() while the input is slower than this per snapshot (~20,000 lines/s at 10 snapshots a second), and a
 * flood builds no event per line (each a 60-key object with its time string, held by its row until a snapshot).
 */
export const CAPTURE_BUDGET = 2048;
/**
 * How often the table is rebuilt while the view catches up (setCatchingUp). At 100,000 lines/s nearly every row
 * changes between two snapshots: rebuilding the rows costs the snapshot ~5-15 ms and the redraw ~30-50 ms more (Ink
 * lays out and styles every changed line; an unchanged one is cached), a third of the main thread at the 4 redraws a
 * second of a view behind — and a first flood's first redraws run code not yet optimised. At the start of a flood into
 * a fresh view (tmux, 100,000 lines/s, 16 runs in turns with the build before) the worst lag went from a median of
 * 1.27 to 1.09 s, the first 100,000 lines read by 1.94 → 1.71 s.
 */
export const ROWS_CATCHING_UP_MS = 1000;
/** rows may grow this much over the cap before a prune, so pruning (a sort) is rare */
const PRUNE_SLACK = 1.5;
/** the view refreshes at least this often without input (elapsed time, rates decaying) */
const IDLE_TICK_MS = 1000;

/**
 * Parsed events may hold slices of the input batch's text: keeping one pins its whole chunk. So a row holds the raw
 * event only until a snapshot samples it (within `evidenceMs` + `notifyMs`), which keeps a detached copy.
 */
interface RowState {
  flow: Flow;
  /**
   * In the table (the recency list). A row pruned from it stays on its flow (Flow.ext) without its samples, and comes
   * back when the flow has a packet again: no new row per packet of a flow the table had no room for
   */
  listed: boolean;
  seq: number;
  /** the recency list (most recent first), so that keeping the newest rows needs no sort */
  newer: RowState | null;
  older: RowState | null;
  /** the row's first packet sampled, until detached into `first` */
  firstPending: DropEvent | null;
  /** null until the row has a sample (a row made again for a pruned flow may start without one) */
  first: DropEvent | null;
  /** the newest packet not sampled yet */
  pending: DropEvent | null;
  /** when `pending` was last sampled (ms) */
  sampledAt: number;
  /** the latest samples (detached), a ring once full (oldest at `next`) */
  recent: DropEvent[];
  next: number;
  latest: DropEvent | null;
  /** bumped whenever the samples change; `evidence` is [first, ...recent] in order as of `evidenceVer` */
  evVer: number;
  evidence: DropEvent[];
  evidenceVer: number;
  /** the row as the last snapshot showed it, reused while nothing it shows changed */
  view: Row | null;
  viewSeq: number;
  /** the flow's probes as counted here (null: none), kept while the row is out of the table too */
  probes: ProbeTally | null;
}

/**
 * A row's samples before it has any (every flow has a row, held while the classifier holds the flow: two empty arrays
 * each were ~10 MB a 100,000-flow table). Frozen: a sample goes into an array of the row's own (settleEvidence).
 */
const NO_SAMPLES = Object.freeze([]) as unknown as DropEvent[];

function newRowState(flow: Flow): RowState {
  return {
    flow, listed: false, seq: 0, newer: null, older: null, firstPending: null, first: null, pending: null,
    sampledAt: -Infinity, recent: NO_SAMPLES, next: 0, latest: null, evVer: 0, evidence: NO_SAMPLES, evidenceVer: 0,
    view: null, viewSeq: -1, probes: null,
  };
}

/** A FlowRow whose display strings are made when first read. */
class Row implements FlowRow {
  readonly key: string;
  readonly host: string | null;
  readonly proto: string;
  readonly server: string;
  readonly serverPort: number | null;
  readonly service: string | undefined;
  readonly client: string;
  readonly count: number;
  readonly verdict: Verdict;
  readonly persistent: boolean;
  readonly noise: boolean;
  readonly ports: number | null;
  readonly portsAtLeast: boolean;
  readonly lastLine: number;
  readonly latest: DropEvent | null;
  readonly flow: Flow;
  /** the row's place in the recency order when this copy was made (higher: more recent) */
  readonly seq: number;
  /** NaN: none */
  readonly lastTsNum: number;
  readonly samples: readonly DropEvent[];
  private iso: string | null | undefined = undefined;
  private lines: string[] | undefined = undefined;

  constructor(f: Flow, seq: number, ports: number | null, samples: readonly DropEvent[], latest: DropEvent | null, prev: Row | null) {
    this.key = f.key;
    this.seq = seq;
    this.host = f.host;
    this.proto = f.proto;
    this.server = f.server;
    this.serverPort = f.serverPort;
    this.service = f.service;
    this.client = f.client;
    this.count = f.count;
    this.verdict = f.verdict;
    this.persistent = f.persistent;
    // lost state that stopped, and LAN chatter (which never stops, and never matters)
    this.noise = (f.verdict === 'conntrack-loss' && !f.persistent) || f.verdict === 'broadcast';
    this.ports = ports;
    this.portsAtLeast = f.portSet?.saturated === true;
    this.lastLine = f.lastLine;
    this.latest = latest;
    this.flow = f;
    this.lastTsNum = f.lastTsNum;
    this.samples = samples;
    // what the previous copy already made, when it still holds
    if (prev !== null) {
      if (Object.is(prev.lastTsNum, this.lastTsNum)) this.iso = prev.iso;
      if (prev.samples === samples) this.lines = prev.lines;
    }
  }

  get lastTime(): string | null {
    const t = this.lastTsNum;
    return t !== t ? null : (this.iso ??= new Date(t).toISOString());
  }

  get evidence(): string[] {
    return (this.lines ??= this.samples.map(evidenceLine));
  }
}

/** The fields of an event the trace and the evidence need, as fresh strings (nothing pinned). */
export function detachEvent(e: DropEvent): DropEvent {
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
  return { 'conntrack-loss': 0, 'genuine-block': 0, scan: 0, broadcast: 0, undetermined: 0 };
}

class Store implements ViewStore {
  private readonly now: () => number;
  private readonly maxRows: number;
  private readonly perRow: number;
  private readonly evidenceMs: number;
  private readonly notifyMs: number;
  private spacing: number;
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
  private otherPrefix = 0;
  private lost = 0;
  private logLimit: string | null = null;
  private rulesetVersion = 0;
  private lines = 0;
  private evicted: number | null = null;
  private ended = false;
  private paused = false;
  private noKeys: string | null = null;
  private status: string | null = null;
  private sort: SortKey = 'recency';
  private flowsSeen = 0;
  private rowsDropped = 0;

  /** rows in the table (the recency list); each flow's row hangs on the flow (Flow.ext) */
  private listed = 0;
  /** the rows' recency list: most recent first */
  private head: RowState | null = null;
  private seq = 0;

  /** per-second ring of counts per verdict: slot = second % secs, verdict-major */
  private readonly secs: number;
  private readonly ring: Float64Array;
  private lastSec: number;

  private readonly interim = new InterimSuggestions();
  private engineSuggestions: ViewSuggestion[] | null = null;
  private suggestionsNote: string | null = null;
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
    this.evidenceMs = o.evidenceMs ?? 1000;
    this.notifyMs = o.notifyMs ?? 100;
    this.spacing = this.notifyMs;
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
    this.take(r, r.event, undefined);
  }

  pushPacket(o: Observation, event: () => DropEvent): void {
    this.take(o, undefined, event);
  }

  /** events built for pushPacket() since the last snapshot (CAPTURE_BUDGET) */
  private captures = 0;
  /** the clock as last read (every 64 events) */
  private clockMs = -Infinity;

  /** A classified packet: its event given (push) or built on demand (pushPacket: `make`). */
  private take(r: Observation, event: DropEvent | undefined, make: (() => DropEvent) | undefined): void {
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
      this.clockMs = this.now();
      const sec = Math.floor(this.clockMs / 1000);
      if (sec > this.lastSec) this.advance(sec);
    }
    this.ring[VERDICT_SLOT[r.verdict] * this.secs + (this.lastSec % this.secs)]! += 1;

    if (r.changes !== undefined) {
      for (const c of r.changes) {
        if (c.kind === 'new') this.flowsSeen++;
        else if (c.kind === 'verdict' && c.flow.verdict === 'scan') {
          // a source just turned out to be a scanner: the classifier moved this flow's refused probes to `scan`,
          // and its bare FINs, first judged a lost connection's teardown (it says how many)
          const state = c.flow.ext as RowState | undefined;
          const moved = state?.probes;
          if (moved !== undefined && moved !== null) {
            this.counts['genuine-block'] -= moved.gb;
            this.counts.undetermined -= moved.un;
            this.counts.scan += moved.gb + moved.un;
            this.moveToScan(moved.runs);
            state!.probes = null;
          }
          const lost = c.probeLossMoved ?? 0;
          this.counts['conntrack-loss'] -= lost;
          this.counts.scan += lost;
        }
      }
      if (this.engineSuggestions === null) this.interim.observe(r);
    }

    const f = r.flow;
    if (f !== undefined) {
      // the flow's row, made at its first packet (the store is the one consumer of Flow.ext in the live view)
      let row = f.ext as RowState | undefined;
      if (row === undefined) f.ext = row = newRowState(f);
      const blocked = r.verdict === 'genuine-block' || r.verdict === 'undetermined';
      if ((blocked || (r.probe && r.verdict === 'conntrack-loss')) && f.verdict !== 'scan') {
        let pc = row.probes;
        if (pc === null) row.probes = pc = { gb: 0, un: 0, runs: [] };
        if (r.verdict === 'genuine-block') pc.gb++;
        else if (r.verdict === 'undetermined') pc.un++;
        this.tallySecond(pc.runs, VERDICT_SLOT[r.verdict]);
      }
      if (!row.listed) {
        // A flow's first packet is its row's first sample. A row back in the table after a prune (the table holds
        // the 2,000-3,000 most recent of the classifier's flows: on a busy node most packets may come to a flow
        // the table had no room for) takes its packet within the budget only, else its next one (it is due).
        let first: DropEvent | null = event ?? null;
        if (make !== undefined && (f.count === 1 || this.captures < CAPTURE_BUDGET)) {
          first = make();
          if (f.count !== 1) this.captures++;
        }
        row.firstPending = first;
        row.listed = true;
        this.listed++;
        this.toFront(row);
        if (this.listed > this.maxRows * PRUNE_SLACK) this.prune();
      } else {
        if (event !== undefined) row.pending = event;
        else if (this.captures < CAPTURE_BUDGET || (row.pending === null && row.sampledAt <= this.clockMs - this.evidenceMs)) {
          const e = make!();
          this.captures++;
          // a row made without a sample takes this one as its first
          if (row.first === null && row.firstPending === null) row.firstPending = e;
          else row.pending = e;
        }
        if (row !== this.head) {
          this.unlink(row);
          this.toFront(row);
        }
      }
      row.seq = ++this.seq;
    }
    this.changed();
  }

  /** Counts one packet of verdict slot `slot` in this second of a flow's probe runs (see ProbeTally). */
  private tallySecond(runs: number[], slot: number): void {
    const sec = this.lastSec;
    const n = runs.length;
    if (n > 0 && runs[n - 3] === sec && runs[n - 2] === slot) {
      runs[n - 1]!++;
      return;
    }
    // runs the ring no longer holds, and past the cap the oldest, go: only the sparklines' last seconds need them
    let drop = 0;
    while (drop < n && (sec - runs[drop]! >= this.secs || n - drop >= MAX_PROBE_RUNS * 3)) drop += 3;
    if (drop > 0) runs.splice(0, drop);
    runs.push(sec, slot, 1);
  }

  /** A flow re-labelled scan: its probes' seconds in the ring move to `scan` (where the ring still holds them). */
  private moveToScan(runs: number[]): void {
    const scan = VERDICT_SLOT.scan * this.secs;
    for (let i = 0; i < runs.length; i += 3) {
      const sec = runs[i]!;
      if (this.lastSec - sec >= this.secs) continue;
      const at = sec % this.secs;
      const n = runs[i + 2]!;
      this.ring[runs[i + 1]! * this.secs + at]! -= n;
      this.ring[scan + at]! += n;
    }
  }

  private toFront(row: RowState): void {
    row.newer = null;
    row.older = this.head;
    if (this.head !== null) this.head.newer = row;
    this.head = row;
  }

  private unlink(row: RowState): void {
    if (row.newer !== null) row.newer.older = row.older;
    else this.head = row.older;
    if (row.older !== null) row.older.newer = row.newer;
    row.newer = row.older = null;
  }

  /** Takes a row out of the table; it stays on its flow without its samples (they are the table's memory). */
  private remove(row: RowState): void {
    this.unlink(row);
    row.listed = false;
    this.listed--;
    row.firstPending = row.first = row.pending = row.latest = null;
    row.recent = NO_SAMPLES;
    row.next = 0;
    row.evidence = NO_SAMPLES;
    row.evVer = row.evidenceVer = 0;
    row.view = null;
    row.viewSeq = -1;
    row.sampledAt = -Infinity;
  }

  /** The rows in the table, most recent first. */
  private listedRows(): RowState[] {
    const out: RowState[] = [];
    for (let s = this.head; s !== null; s = s.older) out.push(s);
    return out;
  }

  /**
   * Keeps the top `maxRows` rows by the current sort; flows the classifier dropped go first. By recency that is a
   * walk down the list (most recent first): the first `maxRows` live rows stay, and gone ones only while fewer live
   * rows than that exist — the order a sort by (gone, recency) would give.
   */
  private prune(): void {
    if (this.sort === 'recency') {
      let live = 0;
      for (let s = this.head; s !== null; s = s.older) if (!s.flow.gone) live++;
      let keepGone = Math.max(0, this.maxRows - live);
      let keepLive = this.maxRows;
      for (let s = this.head; s !== null;) {
        const older: RowState | null = s.older;
        if (s.flow.gone ? keepGone-- <= 0 : keepLive-- <= 0) {
          this.remove(s);
          this.rowsDropped++;
        }
        s = older;
      }
      return;
    }
    const all = this.listedRows();
    all.sort((a, b) => Number(a.flow.gone) - Number(b.flow.gone) || this.compare(a, b));
    for (let i = this.maxRows; i < all.length; i++) {
      this.remove(all[i]!);
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

  setOtherPrefix(n: number): void {
    if (n !== this.otherPrefix) {
      this.otherPrefix = n;
      this.changed();
    }
  }

  setLost(n: number): void {
    if (n !== this.lost) {
      this.lost = n;
      this.changed();
    }
  }

  setLogLimit(rate: string | null): void {
    if (rate !== this.logLimit) {
      this.logLimit = rate;
      this.changed();
    }
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
    if (n === this.evicted) return;
    this.evicted = n;
    this.changed();
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    this.flush();
  }

  setSort(sort: SortKey): void {
    this.sort = sort;
    // paused, the table holds still, but in the order asked for: the title says which (it named the new sort over
    // rows left in the old order)
    if (this.paused) {
      const rows = [...this.frozenRows] as Row[];
      rows.sort((a, b) => (sort === 'count' ? b.count - a.count : 0) || b.seq - a.seq);
      this.frozenRows = rows;
    }
    this.flush();
  }

  setStatus(text: string | null): void {
    this.status = text;
    this.flush();
  }

  rulesetChanged(status: string): void {
    this.rulesetVersion++;
    this.setStatus(status);
  }

  setNoKeys(why: string | null): void {
    this.noKeys = why;
    this.flush();
  }

  setSuggestions(list: ViewSuggestion[], note: string | null = null): void {
    this.engineSuggestions = list.slice(0, MAX_SUGGESTIONS);
    this.suggestionsNote = note;
    this.changed();
  }

  setSpacing(ms: number): void {
    this.spacing = Math.max(this.notifyMs, ms);
  }

  private catchingUp = false;
  /** when the table was last rebuilt */
  private rowsBuiltAt = -Infinity;

  setCatchingUp(on: boolean): void {
    this.catchingUp = on;
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
    const wait = this.lastNotify + this.spacing - this.now();
    if (wait <= 0 && this.spacing === 0) {
      this.flush();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.dirty) return;
      // the spacing grew since this was set
      if (this.lastNotify + this.spacing - this.now() > 1) this.changed();
      else this.publish(false);
    }, Math.max(0, wait));
    this.timer.unref?.();
  }

  flush(): void {
    this.publish(true);
  }

  /** Builds a snapshot and notifies. `all`: every row's newest packet is sampled, whenever it was last sampled. */
  private publish(all: boolean): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.dirty = false;
    this.lastNotify = this.now();
    this.snapshot = this.build(all);
    for (const l of [...this.listeners]) l();
  }

  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.idle !== undefined) clearInterval(this.idle);
    this.timer = undefined;
    this.idle = undefined;
    this.listeners.clear();
  }

  /**
   * Detaches the raw events rows hold (see RowState): the first packet at once, the newest at most every
   * `evidenceMs` per row (`all`: now).
   */
  private settleEvidence(now: number, all: boolean): void {
    const due = all ? Infinity : now - this.evidenceMs;
    this.captures = 0;
    for (let row = this.head; row !== null; row = row.older) {
      if (row.firstPending !== null) {
        row.first = row.latest = detachEvent(row.firstPending);
        row.firstPending = null;
        row.evVer++;
      }
      const e = row.pending;
      if (e === null || row.sampledAt > due) continue;
      row.pending = null;
      row.sampledAt = now;
      const d = (row.latest = detachEvent(e));
      row.evVer++;
      if (this.perRow === 0) continue;
      if (row.recent === NO_SAMPLES) row.recent = [d];
      else if (row.recent.length < this.perRow) row.recent.push(d);
      else {
        row.recent[row.next] = d;
        row.next = (row.next + 1) % this.perRow;
      }
    }
  }

  private build(all = true): ViewSnapshot {
    const now = this.now();
    const sec = Math.floor(now / 1000);
    this.advance(sec);
    this.settleEvidence(now, all);

    // while paused the table and the list hold still (so a selection stays put); the header stays live. While the
    // view catches up they are rebuilt once a second on the timer, at once on a flush (`all`)
    if (!this.paused && (all || !this.catchingUp || now - this.rowsBuiltAt >= ROWS_CATCHING_UP_MS)) {
      this.rowsBuiltAt = now;
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
      otherPrefix: this.otherPrefix,
      lost: this.lost,
      // the classifier evicts only when its table is full, and it holds no more flows than were announced
      evicted: this.evicted ?? (this.flowsSeen < this.maxFlows - 1 ? 0 : null),
      eps: recent / span,
      ended: this.ended,
      paused: this.paused,
      noKeys: this.noKeys,
      status: this.status,
      logLimit: this.logLimit,
      rulesetVersion: this.rulesetVersion,
      counts: { ...this.counts },
      spark,
      sparkBucketMs: this.sparkBucketMs,
      rows: this.frozenRows,
      rowsDropped: this.rowsDropped,
      flowsSeen: this.flowsSeen,
      sort: this.sort,
      suggestions: this.frozenSuggestions,
      suggestionsNote: this.suggestionsNote,
    };
  }

  private buildRows(): FlowRow[] {
    // the classifier let go of it (merged into a scan flow, expired or evicted): the table follows the classifier
    for (let s = this.head; s !== null;) {
      const older: RowState | null = s.older;
      if (s.flow.gone) this.remove(s);
      s = older;
    }
    const out: FlowRow[] = new Array<FlowRow>(Math.min(this.listed, this.maxRows));
    if (this.sort === 'recency') {
      // the list is the order: no sort
      let s = this.head;
      for (let i = 0; i < out.length; i++, s = s!.older) out[i] = this.rowOf(s!);
      return out;
    }
    const states = this.listedRows();
    states.sort((a, b) => this.compare(a, b));
    for (let i = 0; i < out.length; i++) out[i] = this.rowOf(states[i]!);
    return out;
  }

  /** The row as a snapshot shows it: the previous copy while nothing it shows has changed. */
  private rowOf(s: RowState): FlowRow {
    const f = s.flow;
    const v = s.view;
    const ports = f.portSet !== null ? f.portSet.size : null;
    if (s.evidenceVer !== s.evVer) {
      const r = s.recent;
      const ordered = s.next === 0 ? r : [...r.slice(s.next), ...r.slice(0, s.next)];
      s.evidence = s.first === null ? ordered.slice() : [s.first, ...ordered];
      s.evidenceVer = s.evVer;
    }
    if (
      v !== null && s.viewSeq === s.seq && v.samples === s.evidence && v.count === f.count && v.verdict === f.verdict &&
      v.persistent === f.persistent && v.ports === ports && v.lastLine === f.lastLine && v.service === f.service &&
      Object.is(v.lastTsNum, f.lastTsNum)
    ) return v;
    const row = new Row(f, s.seq, ports, s.evidence, s.latest, v);
    s.view = row;
    s.viewSeq = s.seq;
    return row;
  }
}

/** ring rows per verdict: the same order as VERDICTS */
const VERDICT_SLOT = Object.fromEntries(VERDICTS.map((v, i) => [v, i])) as Record<Verdict, number>;

/**
 * A flow's probes, as the store counted them: genuine-block and undetermined packets (conntrack-loss probes, bare
 * FINs, are counted by the classifier: FlowChange.probeLossMoved), and when they came — `runs`, flat
 * [second, verdict slot, packets] triples, oldest first — so that a re-label moves them out of the sparklines'
 * seconds too. A scan probe's flow holds one to a few packets; runs past MAX_PROBE_RUNS (a flow refused for minutes
 * before its source scanned) drop the oldest, whose packets then stay where they were drawn.
 */
/**
 * Probes counted per flow, so that when the classifier re-labels a scanner's earlier flows the counters and the
 * sparklines can move them to `scan` too. Kept in the flow's row, on the flow (Flow.ext), so it lives as long as
 * the classifier keeps the flow — a WeakMap of them made every scavenge walk its entries.
 */
interface ProbeTally {
  gb: number;
  un: number;
  runs: number[];
}

const MAX_PROBE_RUNS = 16;

export function createViewStore(opts: ViewStoreOptions = {}): ViewStore {
  return new Store(opts);
}
