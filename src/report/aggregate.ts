/**
 * One pass over classified drops, bounded: what the report needs that the classifier's summary does not keep.
 *
 * - A timeline: drops per host × time bucket × verdict. Buckets start at one minute; when the number of
 *   (host, bucket) cells passes the cap, the bucket width doubles and cells merge (counted in `coarsened`), so a
 *   week of logs costs the same memory as an hour, only coarser.
 * - Per flow (the classifier's Flow objects), its activity as a short list of time buckets with counts, so window
 *   statistics (drops during / after a window, when a flow stopped) can be computed once the windows are known at
 *   the end. Each flow holds at most {@link MAX_FLOW_BUCKETS} buckets; beyond it its own bucket width doubles.
 * - Distinct conntrack-loss flows per global bucket, for window detection ("a burst across ≥ 2 flows").
 *
 * Everything here is order-independent within a host's stream apart from the per-flow "last bucket" fast path
 * (an out-of-order event is inserted by search, not appended), so files may be fed one after another or merged.
 * Pure and synchronous: feed `ClassifyResult`s with `add`.
 */
import type { ClassifyResult, Observation } from '../classify/classifier.js';
import type { Flow } from '../classify/flows.js';
import type { Verdict } from '../classify/verdict.js';

/** Verdict order used by every count array in the report: index 0..4 (broadcast came last, so earlier indexes kept their meaning). */
export const REPORT_VERDICTS = ['conntrack-loss', 'genuine-block', 'scan', 'undetermined', 'broadcast'] as const satisfies readonly Verdict[];
const VI: Record<Verdict, number> = { 'conntrack-loss': 0, 'genuine-block': 1, scan: 2, undetermined: 3, broadcast: 4 };

/** Start of the `w`-wide bucket holding `t` (floor, so times before 1970 — a syslog year guessed wrong — bucket right too). */
export function floorTo(t: number, w: number): number {
  return Math.floor(t / w) * w;
}

/** Buckets kept per flow before its width doubles. */
export const MAX_FLOW_BUCKETS = 32;
/** New flows between sweeps of flows the classifier dropped (expired, evicted, folded into a scan). */
const SWEEP_EVERY = 4096;

export interface AggregateOptions {
  /**
   * Most (host, bucket) cells in the timeline; beyond it the bucket width doubles.
   * @default 200000
   */
  maxCells?: number;
  /**
   * Most hosts in the timeline; drops of further hosts are counted in `hostsDropped` only.
   * @default 1000
   */
  maxHosts?: number;
  /**
   * Start width of a timeline bucket, in ms.
   * @default 60000
   */
  bucketMs?: number;
  /**
   * A window known before the input is read (`--window`): each flow's buckets are split at its start and end, and
   * each host's drops are counted before, during and after it, so a window whose bounds are not on a bucket's edge
   * is still judged packet by packet. Detected windows start and end on bucket edges and need none of this.
   */
  window?: { start: number; end: number } | undefined;
}

/**
 * A flow's activity: bucket starts (ms) and packet counts, in time order; `w` is the bucket width (ms). With cuts
 * (a given window's bounds) a bucket holding a cut is two: the part before it starts on the bucket's edge, the part
 * from it on starts at the cut (see {@link bucketKey}).
 */
export interface FlowActivity {
  starts: number[];
  counts: number[];
  /**
   * each bucket's first and last packet (exact times), bucket k's at 2k and 2k + 1 (one array, not two: half the
   * arrays' headers and spare room): a window's lists date a group within their phase (its first drop after the
   * window, not the input's)
   */
  edges: number[];
  w: number;
  /** bucket start of the last conntrack-loss packet counted towards the global distinct-flow count */
  lastCt: number;
  /** packets judged genuine-block / undetermined when they came (moved to scan if the flow turns out a probe) */
  block: number;
  undet: number;
  /** its buckets were widened (once or more: a flow of hours is widened several times) */
  widened: boolean;
}

/** An empty activity of bucket width `w`. */
export function newActivity(w: number): FlowActivity {
  return { starts: [], counts: [], edges: [], w, lastCt: -Infinity, block: 0, undet: 0, widened: false };
}

/** What kind of clock the report's times are: wall clock (ms since the epoch) or kernel monotonic (ms since boot). */
export type ClockKind = 'wall' | 'boot';

export class ReportAggregate {
  readonly maxCells: number;
  readonly maxHosts: number;
  bucketMs: number;
  /** host → bucket start → counts by verdict (REPORT_VERDICTS order) */
  readonly cells = new Map<string, Map<number, number[]>>();
  private cellCount = 0;
  /** global bucket start → distinct conntrack-loss flows seen in it (sums of sub-buckets after coarsening) */
  readonly ctFlows = new Map<number, number>();
  readonly activity = new Map<Flow, FlowActivity>();
  private addsSinceSweep = 0;
  clock: ClockKind | null = null;
  first = Infinity;
  last = -Infinity;
  /**
   * host → its last timed drop (for hosts in the timeline): where that host's input ends. Hosts' captures end at
   * different times; a block is refused "up to the input's end" against its own host's, not another's.
   */
  readonly lastByHost = new Map<string, number>();
  /** drops without a usable time (no stamp, or a different clock than the first timed drop) */
  untimed = 0;
  /** drops of hosts beyond `maxHosts` (kept out of the timeline) */
  hostsDropped = 0;
  /** the given window's bounds, [start, end], or none: where flows' buckets split (see {@link bucketKey}) */
  readonly cuts: readonly number[];
  /**
   * With cuts: host → drops by verdict before, during and after the given window (three runs of REPORT_VERDICTS
   * order), exact whatever the bounds (the timeline's cells are whole buckets).
   */
  readonly phases = new Map<string, number[]>();
  /** times the timeline's bucket width doubled */
  coarsened = 0;
  /** flows whose own bucket width had to grow (their window split is approximate to that width) */
  flowsCoarsened = 0;
  readonly totals = [0, 0, 0, 0, 0];

  constructor(opts: AggregateOptions = {}) {
    this.maxCells = opts.maxCells ?? 200_000;
    this.maxHosts = opts.maxHosts ?? 1000;
    this.bucketMs = opts.bucketMs ?? 60_000;
    this.cuts = opts.window === undefined ? [] : [opts.window.start, opts.window.end];
    // a window given is wall-clock time: the report is on the wall clock, whatever the first drop's stamp (a line with
    // only a monotonic time first in a file of wall-clock stamps put the whole report on the kernel's clock)
    if (opts.window !== undefined) this.clock = 'wall';
  }

  /**
   * The time of a drop (its `ts`, else its `mono`) on the report's clock, or null. The first timed drop decides the
   * clock, but with a window (wall clock).
   */
  timeOf(ts: number | null, mono: number | null): number | null {
    if (ts !== null) {
      if (this.clock === null) this.clock = 'wall';
      return this.clock === 'wall' ? ts : null;
    }
    if (mono !== null) {
      if (this.clock === null) this.clock = 'boot';
      return this.clock === 'boot' ? Math.round(mono * 1000) : null;
    }
    return null;
  }

  /**
   * Adds one classified line. Conntrack INVALID corroboration lines are not drops and are ignored. `wallMs`: where
   * the classifier put it on the wall clock (Classifier.lastWallMs), for a line that has only the kernel's
   * monotonic time but a host whose boot time is known.
   */
  add(r: ClassifyResult, hostLabel: string, wallMs = NaN): void {
    this.observed(r, r.event.ts ?? wallOrNull(wallMs), r.event.mono, hostLabel);
  }

  /**
   * add() for a packet classified without its event (Classifier.observe): its time fields given apart. Results
   * are the same as add()'s for the packet's event.
   */
  observed(r: Observation, ts: number | null, mono: number | null, hostLabel: string): void {
    if (r.kind !== 'drop') return;
    const v = VI[r.verdict];
    this.totals[v]!++;
    const t = this.timeOf(ts, mono);
    if (t === null) {
      this.untimed++;
      return;
    }
    if (t < this.first) this.first = t;
    if (t > this.last) this.last = t;
    this.addCell(hostLabel, t, v);
    if (this.cuts.length > 0) {
      const ph = this.phases.get(hostLabel);
      if (ph !== undefined) ph[phaseOf(this.cuts, t) * 5 + v]!++;
    }
    const flow = r.flow;
    if (flow === undefined) return;
    if (r.changes !== undefined) this.onChanges(r, flow);
    // the flow's activity hangs on the flow too (Flow.ext, kept equal to the map's entry): no hashing per packet
    let a = flow.ext as FlowActivity | undefined;
    if (a === undefined) {
      a = newActivity(this.bucketMs);
      this.activity.set(flow, a);
      flow.ext = a;
      if (++this.addsSinceSweep >= SWEEP_EVERY) this.sweep();
    }
    if (v === VI['genuine-block']) a.block++;
    else if (v === VI.undetermined) a.undet++;
    const b = record(a, t, 1, this.cuts);
    if (b !== 0) this.flowsCoarsened += b;
    if (v === 0) {
      const g = floorTo(t, this.bucketMs);
      if (a.lastCt !== g) {
        a.lastCt = g;
        this.ctFlows.set(g, (this.ctFlows.get(g) ?? 0) + 1);
      }
    }
  }

  /**
   * A source just turned out a scanner: the classifier folded its probe flows into one scan flow. Their activity
   * moves to that flow when it is the one this packet joined (same host, target and source); otherwise it is
   * dropped with them at the next sweep.
   */
  private onChanges(r: Observation, flow: Flow): void {
    for (const c of r.changes ?? []) {
      const g = c.flow;
      if (c.kind === 'verdict' && g.verdict === 'scan' && c.from !== 'scan') this.relabel(g, c.probeLossMoved ?? 0);
      if (c.kind !== 'verdict' || g === flow || !g.gone || g.verdict !== 'scan') continue;
      if (g.host !== flow.host || g.server !== flow.server || g.client !== flow.client) continue;
      const from = this.activity.get(g);
      if (from === undefined) continue;
      let to = this.activity.get(flow);
      if (to === undefined) {
        to = newActivity(from.w);
        to.widened = from.widened; // counted already, if it was
        this.activity.set(flow, to);
        flow.ext = to;
      }
      for (let i = 0; i < from.starts.length; i++) record(to, from.starts[i]!, from.counts[i]!, this.cuts, from.edges[2 * i]!, from.edges[2 * i + 1]!);
      this.activity.delete(g);
      g.ext = undefined;
    }
  }

  /**
   * The classifier re-labelled a probe flow as part of a scan: its refused (and undetermined) packets were scan
   * packets all along, and so were its probes judged lost state (`probeLoss`: a bare FIN, as the classifier counts
   * them); other lost-state ones stay. Move as many on the timeline, in the flow's own buckets (latest first), so
   * the chart and the window counts show a scan, not a burst of genuine blocks. Exact for pure probe flows (the
   * usual case); a flow that also lost state may move a neighbour's packet of the same minute.
   */
  private relabel(g: Flow, probeLoss: number): void {
    const act = this.activity.get(g);
    const cells = this.cells.get(g.host ?? '-');
    if (act === undefined || cells === undefined) return;
    const ph = this.phases.get(g.host ?? '-');
    for (const [k, n] of [[VI['genuine-block'], act.block], [VI.undetermined, act.undet], [VI['conntrack-loss'], probeLoss]] as const) {
      let left = n;
      for (let i = act.starts.length - 1; i >= 0 && left > 0; i--) {
        const c = cells.get(floorTo(act.starts[i]!, this.bucketMs));
        if (c === undefined) continue;
        // a bucket lies in one phase of the given window (its buckets split at the bounds)
        const p = ph === undefined ? -1 : phaseOf(this.cuts, act.starts[i]!) * 5;
        const x = Math.min(act.counts[i]!, left, c[k]!, p < 0 ? Infinity : ph![p + k]!);
        c[k]! -= x;
        c[VI.scan]! += x;
        if (p >= 0) {
          ph![p + k]! -= x;
          ph![p + VI.scan]! += x;
        }
        this.totals[k]! -= x;
        this.totals[VI.scan]! += x;
        left -= x;
      }
    }
    act.block = 0;
    act.undet = 0;
  }

  /** Forgets flows the classifier no longer holds (they are not in its summary either). */
  sweep(): void {
    this.addsSinceSweep = 0;
    for (const f of this.activity.keys()) {
      if (f.gone) {
        this.activity.delete(f);
        f.ext = undefined;
      }
    }
  }

  private addCell(host: string, t: number, v: number): void {
    let h = this.cells.get(host);
    if (h === undefined) {
      if (this.cells.size >= this.maxHosts) {
        this.hostsDropped++;
        return;
      }
      h = new Map();
      this.cells.set(host, h);
      if (this.cuts.length > 0) this.phases.set(host, new Array<number>((this.cuts.length + 1) * 5).fill(0));
    }
    const last = this.lastByHost.get(host);
    if (last === undefined || t > last) this.lastByHost.set(host, t);
    const g = floorTo(t, this.bucketMs);
    let c = h.get(g);
    if (c === undefined) {
      c = [0, 0, 0, 0, 0];
      h.set(g, c);
      if (++this.cellCount > this.maxCells) this.coarsen();
      // the cell may have merged into a wider one
      const g2 = floorTo(t, this.bucketMs);
      c = this.cells.get(host)!.get(g2)!;
    }
    c[v]!++;
  }

  /** Doubles the bucket width until the cells fit in the cap again. */
  private coarsen(): void {
    while (this.cellCount > this.maxCells) {
      this.bucketMs *= 2;
      this.coarsened++;
      let n = 0;
      for (const [host, h] of this.cells) {
        const m = new Map<number, number[]>();
        for (const [g, c] of h) {
          const g2 = floorTo(g, this.bucketMs);
          const d = m.get(g2);
          if (d === undefined) m.set(g2, c);
          else for (let i = 0; i < d.length; i++) d[i]! += c[i]!;
        }
        this.cells.set(host, m);
        n += m.size;
      }
      this.cellCount = n;
      const ct = new Map<number, number>();
      for (const [g, k] of this.ctFlows) {
        const g2 = floorTo(g, this.bucketMs);
        ct.set(g2, (ct.get(g2) ?? 0) + k);
      }
      this.ctFlows.clear();
      for (const [g, k] of ct) this.ctFlows.set(g, k);
    }
  }

  /** Conntrack-loss drops and distinct conntrack-loss flows per global bucket, in time order. */
  ctSeries(): { start: number; drops: number; flows: number }[] {
    const drops = new Map<number, number>();
    for (const h of this.cells.values()) for (const [g, c] of h) if (c[0]! > 0) drops.set(g, (drops.get(g) ?? 0) + c[0]!);
    return [...drops].sort((a, b) => a[0] - b[0]).map(([start, d]) => ({ start, drops: d, flows: this.ctFlows.get(start) ?? 0 }));
  }
}

/** Which stretch between ascending `cuts` holds `t`: 0 before the first, i after the i-th (a cut belongs to what follows it). */
export function phaseOf(cuts: readonly number[], t: number): number {
  let i = 0;
  while (i < cuts.length && cuts[i]! <= t) i++;
  return i;
}

/**
 * The key of the `w`-wide bucket holding `t`: its start, or the latest of `cuts` inside it at or before `t` — so a
 * bucket never holds packets on both sides of a cut, and its key says which side. Idempotent: a key is its own key
 * at any wider width too (bucket widths double), so buckets merge without crossing a cut.
 */
export function bucketKey(t: number, w: number, cuts: readonly number[]): number {
  let g = floorTo(t, w);
  for (const c of cuts) if (c > g && c <= t) g = c;
  return g;
}

const NO_CUTS: readonly number[] = [];

/**
 * Counts `n` packets at `t` in a flow's activity, its buckets split at `cuts` (see {@link bucketKey}); `first` and
 * `last`: the packets' first and last times when they are a bucket moved from another activity (`t` its start).
 * Returns 1 when the flow's bucket width had to grow for the first time, else 0 (also when it grows again: a flow is
 * counted once).
 */
export function record(a: FlowActivity, t: number, n = 1, cuts: readonly number[] = NO_CUTS, first = t, last = t): number {
  const g = cuts.length === 0 ? floorTo(t, a.w) : bucketKey(t, a.w, cuts);
  const k = a.starts.length;
  const e = a.edges;
  if (k > 0 && a.starts[k - 1] === g) {
    a.counts[k - 1]! += n;
    if (first < e[2 * k - 2]!) e[2 * k - 2] = first;
    if (last > e[2 * k - 1]!) e[2 * k - 1] = last;
    return 0;
  }
  if (k === 0 || a.starts[k - 1]! < g) {
    a.starts.push(g);
    a.counts.push(n);
    e.push(first, last);
  } else {
    // out of order (two files of one host fed one after the other): insert in place
    let i = k - 1;
    while (i > 0 && a.starts[i - 1]! >= g) i--;
    if (a.starts[i] === g) {
      a.counts[i]! += n;
      if (first < e[2 * i]!) e[2 * i] = first;
      if (last > e[2 * i + 1]!) e[2 * i + 1] = last;
    } else {
      a.starts.splice(i, 0, g);
      a.counts.splice(i, 0, n);
      e.splice(2 * i, 0, first, last);
    }
  }
  if (a.starts.length <= MAX_FLOW_BUCKETS) return 0;
  const was = a.w;
  while (a.starts.length > MAX_FLOW_BUCKETS) {
    a.w *= 2;
    const s: number[] = [];
    const c: number[] = [];
    const ed: number[] = [];
    for (let i = 0; i < a.starts.length; i++) {
      const g2 = cuts.length === 0 ? floorTo(a.starts[i]!, a.w) : bucketKey(a.starts[i]!, a.w, cuts);
      if (s.length > 0 && s[s.length - 1] === g2) {
        // buckets in time order: the first packet stays the earlier bucket's
        c[c.length - 1]! += a.counts[i]!;
        ed[ed.length - 1] = Math.max(ed[ed.length - 1]!, a.edges[2 * i + 1]!);
      } else {
        s.push(g2);
        c.push(a.counts[i]!);
        ed.push(a.edges[2 * i]!, a.edges[2 * i + 1]!);
      }
    }
    a.starts = s;
    a.counts = c;
    a.edges = ed;
  }
  if (was === a.w || a.widened) return 0;
  a.widened = true;
  return 1;
}

/** Packets of a flow in [from, to): buckets are attributed by their start. */
export function packetsIn(a: FlowActivity, from: number, to: number): number {
  let n = 0;
  for (let i = 0; i < a.starts.length; i++) {
    const s = a.starts[i]!;
    if (s >= from && s < to) n += a.counts[i]!;
  }
  return n;
}

/** End (exclusive, ms) of the flow's last bucket starting before `to`, or null when none does. */
export function lastActiveBefore(a: FlowActivity, to: number): number | null {
  for (let i = a.starts.length - 1; i >= 0; i--) if (a.starts[i]! < to) return a.starts[i]! + a.w;
  return null;
}

/** A wall-clock time given as NaN for none (Classifier.lastWallMs) as a time or null. */
export function wallOrNull(ms: number): number | null {
  return ms === ms ? ms : null;
}
