/**
 * Aggregate + classifier state → the report model. Pure: the clock and the suggestion engine are injected.
 *
 * Windows come from `--window` when given, else from {@link detectWindows} over the whole input, so flows can be
 * judged against windows found only at the end: each flow's bucketed activity tells how many of its packets fell
 * during a window and after it (up to the next window, or the end of the input), and when it stopped.
 */
import type { Classifier, FlowSummary } from '../classify/classifier.js';
import { isoOf } from '../classify/classifier.js';
import type { Flow } from '../classify/flows.js';
import type { Verdict } from '../classify/verdict.js';
import { REPORT_VERDICTS, floorTo, lastActiveBefore, type ClockKind, type FlowActivity, type ReportAggregate } from './aggregate.js';
import { detectWindows, windowOptionsSchema, type WindowOptionsInput } from './windows.js';
import type {
  BlockGroup,
  FlowStatus,
  HostWindowStats,
  Report,
  ReportFlow,
  ReportWindow,
  SuggestFn,
  LogRateLimit,
  TimelineBucket,
  TimelineHost,
  VerdictCounts,
} from './types.js';
import { groupKey, oneLineVerdict } from './verdict.js';
import { beforeEndText, minutes } from './format.js';

export interface BuildOptions {
  /** wall clock for `generatedAt`, ms */
  now: number;
  /**
   * How long after a window's end conntrack loss may go on before it counts as not settled, ms (the classifier's
   * `settleMs`).
   */
  settleMs: number;
  /** the window given with `--window`; when absent, windows are detected */
  window?: { start: number; end: number } | undefined;
  /** burst detection settings */
  windowOptions?: WindowOptionsInput;
  /**
   * Most flows listed; the rest are counted by status in `flowsOmitted`.
   * @default 100
   */
  maxRows?: number;
  /** the suggestion engine bound to its context; absent → no suggestions */
  suggest?: SuggestFn | undefined;
  /** input totals (what was read) */
  input: Report['input'];
  /** rate-limited LOG rules that wrote the input's lines (see Report.limits.logRateLimit) */
  logRateLimit?: LogRateLimit[];
}

/** Most clients named in one block group. */
const MAX_GROUP_CLIENTS = 20;

/** A time on the report's clock as text. */
export function formatTime(ms: number, clock: ClockKind): string {
  if (clock === 'wall') return isoOf(ms);
  const s = Math.floor(ms / 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `boot+${p(Math.floor(s / 3600))}:${p(Math.floor(s / 60) % 60)}:${p(s % 60)}`;
}

export function zeroCounts(): VerdictCounts {
  return { 'conntrack-loss': 0, 'genuine-block': 0, scan: 0, undetermined: 0, broadcast: 0 };
}

function addCounts(to: VerdictCounts, c: readonly number[]): void {
  for (let i = 0; i < REPORT_VERDICTS.length; i++) to[REPORT_VERDICTS[i]!] += c[i]!;
}

/** `a` itself when empty, else a copy of its length (slice allocates no spare room). */
function fit<T>(a: T[]): T[] {
  return a.length === 0 ? a : a.slice();
}

/** {@link Row.dates}: window e's first and last packets during it at 4e + DURING_FIRST/LAST, after it at AFTER_… */
const DURING_FIRST = 0;
const DURING_LAST = 1;
const AFTER_FIRST = 2;
const AFTER_LAST = 3;

interface Row {
  flow: Flow;
  act: FlowActivity;
  sum: FlowSummary;
  host: string;
  /** exact first and last packets on the report clock, or null */
  firstMs: number | null;
  lastMs: number | null;
  /**
   * The windows the flow has packets in (during one, or after it up to the next), ascending, and per such window
   * its packets during and after it and when it stopped relative to the window's end (ms, ≥ 0; -1 when not active
   * by then). Sparse: a flow holds at most 32 buckets, so it touches a few of the windows, and a month of logs may
   * have a thousand of them and a hundred thousand flows.
   */
  wins: number[];
  during: number[];
  after: number[];
  /**
   * per such window, the first and last packets during it and after it (exact times; NaN: none), four numbers a
   * window (see {@link DURING_FIRST}; one array, not four: a report holds a row per flow)
   */
  dates: number[];
  stopAfterEnd: number[];
  status: FlowStatus;
}

const STATUS_RANK: Record<FlowStatus, number> = { action: 0, check: 1, scan: 2, ok: 3 };

function lastOf(f: Flow, clock: ClockKind): number | null {
  if (clock === 'wall') return f.lastTs;
  return f.lastMono === null ? null : Math.round(f.lastMono * 1000);
}

function firstOf(f: Flow, clock: ClockKind): number | null {
  if (clock === 'wall') return f.firstTs;
  return f.firstMono === null ? null : Math.round(f.firstMono * 1000);
}



function portLabel(proto: string, port: number | null): string {
  return port === null ? proto : `${proto}/${port}`;
}

export function buildReport(agg: ReportAggregate, classifier: Classifier, opts: BuildOptions): Report {
  const clock: ClockKind = agg.clock ?? 'wall';
  const wo = windowOptionsSchema.parse(opts.windowOptions ?? {});
  const settle = opts.settleMs;
  const maxRows = opts.maxRows ?? 100;
  const end = classifier.end();
  agg.sweep();
  // a given window splits the flows' buckets and the hosts' counts at its bounds as the input is read
  if (opts.window !== undefined && (agg.cuts[0] !== opts.window.start || agg.cuts[1] !== opts.window.end)) {
    throw new Error('buildReport: the aggregate was not given the window (new ReportAggregate({ window }))');
  }

  // windows: given, or detected from the conntrack-loss series
  const bounds: Array<{ start: number; end: number; peak: number | null; source: 'detected' | 'given' }> =
    opts.window !== undefined
      ? [{ start: opts.window.start, end: opts.window.end, peak: null, source: 'given' }]
      : detectWindows(agg.ctSeries(), agg.bucketMs, wo).map((w) => ({ start: w.start, end: w.end, peak: w.peakPerMin, source: 'detected' as const }));
  // the "after" span of the last window runs to the end of the input's last bucket
  const dataEnd = Number.isFinite(agg.last) ? floorTo(agg.last, agg.bucketMs) + agg.bucketMs : 0;
  const horizons = bounds.map((b, i) => Math.max(b.end, bounds[i + 1]?.start ?? dataEnd));
  /**
   * The window whose span [start, horizon) holds time `t` (a bucket is attributed by its start), or -1. Exact for a
   * flow's buckets: detected windows start and end on bucket edges, and a given one's bounds split the buckets.
   */
  const spanOf = (t: number): number => {
    let lo = 0;
    let hi = bounds.length - 1;
    let at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (bounds[mid]!.start <= t) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return at >= 0 && t < horizons[at]! ? at : -1;
  };

  // one row per flow the classifier still holds
  const rows: Row[] = [];
  for (const [flow, act] of agg.activity) {
    if (flow.gone) continue;
    const sum = classifier.flowSummary(flow);
    const lastMs = lastOf(flow, clock);
    const firstMs = firstOf(flow, clock);
    const wins: number[] = [];
    const during: number[] = [];
    const after: number[] = [];
    const dates: number[] = [];
    const stopAfterEnd: number[] = [];
    for (let k = 0; k < act.starts.length; k++) {
      const t = act.starts[k]!;
      const i = spanOf(t);
      if (i < 0) continue;
      let e = wins.length - 1;
      if (e < 0 || wins[e] !== i) {
        wins.push(i);
        during.push(0);
        after.push(0);
        dates.push(NaN, NaN, NaN, NaN);
        e++;
      }
      // buckets come in time order: a phase's first packet is its first bucket's, its last the last bucket's
      const inside = t < bounds[i]!.end;
      if (inside) during[e]! += act.counts[k]!;
      else after[e]! += act.counts[k]!;
      const d = 4 * e + (inside ? DURING_FIRST : AFTER_FIRST);
      if (dates[d] !== dates[d]) dates[d] = act.edges[2 * k]!;
      dates[d + 1] = act.edges[2 * k + 1]!;
    }
    // A long-lived flow's bucket is wider than a minute and may straddle a detected window's end: its packets were
    // counted during the window though some came after it. The exact first and last packets say which side they
    // are on: a flow first seen after the end has all its packets of that span after it; one last seen after it
    // has at least that packet after it (a block refused up to the input's end is not "during the window only").
    for (let e = 0; e < wins.length; e++) {
      const end = bounds[wins[e]!]!.end;
      const h = horizons[wins[e]!]!;
      if (firstMs !== null && firstMs >= end && firstMs < h) {
        after[e]! += during[e]!;
        during[e] = 0;
        const d = 4 * e;
        if (dates[d + DURING_FIRST] === dates[d + DURING_FIRST]) {
          dates[d + AFTER_FIRST] = dates[d + DURING_FIRST]!;
          if (dates[d + AFTER_LAST] !== dates[d + AFTER_LAST]) dates[d + AFTER_LAST] = dates[d + DURING_LAST]!;
          dates[d + DURING_FIRST] = NaN;
          dates[d + DURING_LAST] = NaN;
        }
      } else if (lastMs !== null && lastMs >= end && lastMs < h && after[e] === 0 && during[e]! > 0) {
        during[e]!--;
        after[e] = 1;
        // its last packet is the one after the end (the straddling bucket's first may still be before it)
        dates[4 * e + AFTER_FIRST] = lastMs;
        dates[4 * e + AFTER_LAST] = lastMs;
      }
    }
    for (let e = 0; e < wins.length; e++) {
      const i = wins[e]!;
      const h = horizons[i]!;
      let stop = lastActiveBefore(act, h);
      // the exact last packet beats the bucket's end when it falls in the same span
      if (stop !== null && lastMs !== null && lastMs < h && lastMs < stop) stop = lastMs;
      stopAfterEnd.push(stop === null ? -1 : Math.max(0, stop - bounds[i]!.end));
    }
    // a row per flow held: its per-window arrays cut to their length (an array grown by push keeps room for 17)
    rows.push({
      flow, act, sum, host: sum.host ?? '-', firstMs, lastMs, wins: fit(wins), during: fit(during), after: fit(after),
      dates: fit(dates), stopAfterEnd: fit(stopAfterEnd), status: 'ok',
    });
  }
  // where each host's input ends: its own last drop (a host beyond the timeline's cap: the input's last)
  const inputEnd = Number.isFinite(agg.last) ? agg.last : null;
  const endOf: EndOf = (host) => agg.lastByHost.get(host) ?? inputEnd;
  // the status now; the note only for the rows listed (a hundred thousand flows' notes would be held till the end)
  for (const r of rows) judgeRow(r, bounds, settle, endOf);

  rows.sort((a, b) =>
    STATUS_RANK[a.status] - STATUS_RANK[b.status] || b.sum.count - a.sum.count || cmp(a.host, b.host) ||
    cmp(a.sum.proto, b.sum.proto) || (a.sum.serverPort ?? -1) - (b.sum.serverPort ?? -1) ||
    cmp(a.sum.server, b.sum.server) || cmp(a.sum.client, b.sum.client));

  // Per window, from one pass over the hosts' cells and one over the rows' windows (not windows × hosts × rows).
  const sortedHosts = [...agg.cells].sort((x, y) => cmp(x[0], y[0]));
  const hostStats: HostWindowStats[][] = bounds.map(() => sortedHosts.map(([host]) => ({ host, during: zeroCounts(), after: zeroCounts(), flows: 0 })));
  const hostIndex = new Map(sortedHosts.map(([host], j) => [host, j]));
  if (opts.window !== undefined) {
    // a given window's bounds need not be on a bucket's edge: each host's drops were counted by their own times
    sortedHosts.forEach(([host], j) => {
      const ph = agg.phases.get(host);
      if (ph === undefined) return;
      addCounts(hostStats[0]![j]!.during, ph.slice(5, 10));
      addCounts(hostStats[0]![j]!.after, ph.slice(10, 15));
    });
  } else {
    sortedHosts.forEach(([, cells], j) => {
      for (const [g, c] of cells) {
        const i = spanOf(g);
        if (i >= 0) addCounts(g < bounds[i]!.end ? hostStats[i]![j]!.during : hostStats[i]![j]!.after, c);
      }
    });
  }
  const ctStats = bounds.map(() => ({ flows: 0, drops: 0, stopped: 0, unsettled: 0 }));
  /**
   * per window, in row order: blocks with packets after it (and how many) seen before its end too, blocks first seen
   * after it, genuine blocks during it only
   */
  const persistedRows: GroupRow[][] = bounds.map(() => []);
  const newAfterRows: GroupRow[][] = bounds.map(() => []);
  const duringOnlyRows: GroupRow[][] = bounds.map(() => []);
  /**
   * the lost-state flows of all windows together, each once (a flow that lost state in two windows is in both
   * windows' counts), and those of them still losing state past `settle` after a window: the one-line verdict's
   */
  const ctAll = { flows: 0, unsettled: 0 };
  for (const r of rows) {
    const j = hostIndex.get(r.host);
    let inWindow = false;
    let late = false;
    for (let e = 0; e < r.wins.length; e++) {
      const i = r.wins[e]!;
      const d = r.during[e]!;
      const a = r.after[e]!;
      if (d > 0 && j !== undefined) hostStats[i]![j]!.flows++;
      if (r.sum.verdict === 'conntrack-loss' && d > 0) {
        const ct = ctStats[i]!;
        ct.flows++;
        ct.drops += d;
        const st = r.stopAfterEnd[e]!;
        if (st > ct.stopped) ct.stopped = st;
        if (st > settle) ct.unsettled++;
        inWindow = true;
        if (st > settle) late = true;
      }
      if (a > 0 && isBlock(r)) (newAfter(r, bounds[i]!.end) ? newAfterRows : persistedRows)[i]!.push([r, a, r.dates[4 * e + AFTER_FIRST]!, r.dates[4 * e + AFTER_LAST]!]);
      if (r.sum.verdict === 'genuine-block' && d > 0 && a === 0) duringOnlyRows[i]!.push([r, d, r.dates[4 * e + DURING_FIRST]!, r.dates[4 * e + DURING_LAST]!]);
    }
    if (inWindow) ctAll.flows++;
    if (late) ctAll.unsettled++;
  }

  const windows: ReportWindow[] = bounds.map((b, i) => {
    const h = horizons[i]!;
    const during = zeroCounts();
    const after = zeroCounts();
    const hosts = hostStats[i]!;
    for (const hs of hosts) {
      addCounts(during, REPORT_VERDICTS.map((v) => hs.during[v]));
      addCounts(after, REPORT_VERDICTS.map((v) => hs.after[v]));
    }
    const { flows: ctFlows, drops: ctFlowDrops, stopped, unsettled } = ctStats[i]!;
    const persisted = groupBlocks(persistedRows[i]!, clock, endOf);
    const fresh = groupBlocks(newAfterRows[i]!, clock, endOf);
    const duringOnly = groupBlocks(duringOnlyRows[i]!, clock, endOf);
    return {
      id: i + 1,
      source: b.source,
      start: formatTime(b.start, clock),
      end: formatTime(b.end, clock),
      startMs: b.start,
      endMs: b.end,
      horizon: formatTime(h, clock),
      horizonMs: h,
      peakPerMin: b.peak,
      during,
      after,
      hosts,
      conntrackLoss: { drops: during['conntrack-loss'], flows: ctFlows, flowDrops: ctFlowDrops, stoppedWithinMs: stopped, unsettled },
      persisted,
      newAfter: fresh,
      duringOnly,
    };
  });

  const timeline: TimelineHost[] = [...agg.cells].sort((x, y) => cmp(x[0], y[0])).map(([host, cells]) => {
    const totals = zeroCounts();
    const buckets = [...cells].sort((x, y) => x[0] - y[0]).map(([g, c]): TimelineBucket => {
      addCounts(totals, c);
      return [g, c[0]!, c[1]!, c[2]!, c[3]!, c[4]!];
    });
    return { host, buckets, totals };
  });

  const flows: ReportFlow[] = [];
  const flowsOmitted: Record<FlowStatus, number> = { action: 0, check: 0, scan: 0, ok: 0 };
  for (const r of rows) {
    if (flows.length >= maxRows) {
      flowsOmitted[r.status]++;
      continue;
    }
    const s = r.sum;
    const rf: ReportFlow = {
      host: r.host, proto: s.proto, server: s.server, port: s.serverPort, service: s.service, client: s.client,
      verdict: s.verdict, status: r.status, count: s.count,
      firstSeen: s.firstSeen ?? (s.firstMono !== undefined ? formatTime(s.firstMono * 1000, 'boot') : null),
      lastSeen: s.lastSeen ?? (s.lastMono !== undefined ? formatTime(s.lastMono * 1000, 'boot') : null),
      windows: denseWindows(r, bounds.length),
      note: judgeRow(r, bounds, settle, endOf), reason: s.reason,
    };
    if (s.file !== undefined) rf.file = s.file;
    flows.push(rf);
  }

  // the engine reads `persistent` as "went on after things should have settled": with windows, conntrack loss that
  // stopped by its window's end is not persistent (as the classifier itself judges it when given --window)
  const forEngine = rows.map((r) => (r.sum.verdict === 'conntrack-loss' && bounds.length > 0 && opts.window === undefined
    ? { ...r.sum, persistent: r.status === 'check' }
    : r.sum));
  const suggestions = opts.suggest !== undefined ? opts.suggest(forEngine, rows.map((r) => r.flow.key)) : [];
  const sm = end.summary;
  const hasTime = Number.isFinite(agg.first);
  const report: Report = {
    report: 'fwdiag',
    version: 1,
    generatedAt: isoOf(opts.now),
    verdict: { level: 'ok', text: '' },
    clock,
    input: opts.input,
    first: hasTime ? formatTime(agg.first, clock) : null,
    last: hasTime ? formatTime(agg.last, clock) : null,
    firstMs: hasTime ? agg.first : null,
    lastMs: hasTime ? agg.last : null,
    totals: {
      'conntrack-loss': sm['conntrack-loss'], 'genuine-block': sm['genuine-block'], scan: sm.scan, undetermined: sm.undetermined,
      broadcast: sm.broadcast, drops: sm.events, flows: sm.flows, ctInvalid: sm.ctInvalid,
    },
    settings: {
      bucketMs: agg.bucketMs, settleMs: settle, windowsFrom: opts.window !== undefined ? 'given' : 'detected',
      minDropsPerMin: wo.minDropsPerMin, minFlows: wo.minFlows, mergeGapMs: wo.mergeGapMs,
    },
    windows,
    hosts: timeline.map((t) => t.host),
    timeline: { bucketMs: agg.bucketMs, hosts: timeline },
    flows,
    flowsOmitted,
    suggestions,
    suggestionsFrom: opts.suggest !== undefined ? 'engine' : 'none',
    limits: {
      untimed: agg.untimed, hostsDropped: agg.hostsDropped, timelineCoarsened: agg.coarsened,
      flowsCoarsened: agg.flowsCoarsened, flowsExpired: sm.flowsExpired, flowsEvicted: sm.flowsEvicted,
      ...(opts.logRateLimit !== undefined && opts.logRateLimit.length > 0 ? { logRateLimit: opts.logRateLimit } : {}),
    },
  };
  // blocks refused only outside the windows (before the first, between them): no window's numbers name them
  const outside = bounds.length === 0 ? [] : groupBlocks(
    rows.filter((r) => isBlock(r) && r.wins.length === 0).map(wholeInput), clock, endOf);
  // the verdict reads every flow: the listed ones are --max-rows of them
  let check = 0;
  const unexplained = new Set<string>();
  for (const r of rows) {
    if (r.status === 'check') check++;
    if (isBlock(r) && r.sum.verdict === 'undetermined') unexplained.add(groupKey({ host: r.host, proto: r.sum.proto, port: r.sum.serverPort }));
  }
  report.verdict = oneLineVerdict(report, groupBlocks(rows.filter((r) => r.status === 'action').map(wholeInput), clock, endOf), outside, ctAll, { check, unexplained });
  return report;
}

/** A listed flow's packets during and after every window (the report's schema), from its sparse ones. */
function denseWindows(r: Row, n: number): ReportFlow['windows'] {
  const out: ReportFlow['windows'] = [];
  for (let i = 0, e = 0; i < n; i++) {
    if (e < r.wins.length && r.wins[e] === i) {
      out.push({ window: i + 1, during: r.during[e]!, after: r.after[e]! });
      e++;
    } else out.push({ window: i + 1, during: 0, after: 0 });
  }
  return out;
}

/** A drop that needs a rule when it goes on after a window: a refused new connection, or traffic to a port nothing explains. */
function isBlock(r: Row): boolean {
  return r.sum.verdict === 'genuine-block' || (r.sum.verdict === 'undetermined' && r.sum.serverPort !== null);
}

/** A flow first seen after a window's end: it did not persist from the window (it still needs a rule if refused). */
function newAfter(r: Row, end: number): boolean {
  return r.firstMs !== null && r.firstMs >= end;
}

/** Where a host's input ends on the report's clock (its last drop), or null when untimed. */
type EndOf = (host: string) => number | null;

/** `, last 3.3 min before the input ends` for a flow last seen well before its host's input ends, else ''. */
function quietText(r: Row, endOf: EndOf, what = 'last'): string {
  const end = endOf(r.host);
  const t = beforeEndText(r.lastMs === null || end === null ? null : end - r.lastMs);
  return t === '' ? '' : `, ${what} ${t}`;
}

/** Sets the row's status and returns its note (the same every call: cheap enough to ask again for a listed row). */
function judgeRow(r: Row, bounds: ReadonlyArray<{ end: number }>, settle: number, endOf: EndOf): string {
  let note = '';
  const noWindows = bounds.length === 0;
  const v: Verdict = r.sum.verdict;
  if (v === 'scan') {
    r.status = 'scan';
    note = 'scan: evidence of probing, never a reason to open a port';
    return note;
  }
  if (v === 'broadcast') {
    r.status = 'ok';
    note = 'LAN broadcast/multicast chatter: harmless to drop';
    return note;
  }
  // the first window with packets after it / during it (windows are numbered from 1 in the notes)
  const afterAt = r.after.findIndex((n) => n > 0);
  const afterIn = afterAt < 0 ? -1 : r.wins[afterAt]!;
  const duringAt = r.during.findIndex((n) => n > 0);
  const duringIn = duringAt < 0 ? -1 : r.wins[duringAt]!;
  if (noWindows) {
    if (isBlock(r)) {
      // as after a window: a drop to a port nothing explains needs a rule as much as a refused connection
      r.status = 'action';
      note = v === 'genuine-block' ? 'refused (no window to compare with)' : 'no verdict: port unexplained';
    } else if (v === 'undetermined') {
      r.status = 'check';
      note = 'no verdict';
    } else if (r.sum.persistent) {
      r.status = 'check';
      note = `lost state for more than ${minutes(settle)}`;
    } else note = 'lost state, stopped';
    return note;
  }
  if (isBlock(r)) {
    if (afterIn >= 0) {
      // what the data shows: seen from the window on, or only after it; refused up to the input's end, or not
      r.status = 'action';
      const genuine = v === 'genuine-block';
      const quiet = quietText(r, endOf, genuine ? 'last refused' : 'last');
      if (newAfter(r, bounds[afterIn]!.end)) {
        note = `new after window ${afterIn + 1}${genuine ? '' : ': unexplained drops to a port'}` +
          (quiet !== '' ? quiet : `${genuine ? ', refused' : ''} up to the input's end`);
      } else if (quiet === '') {
        note = `${genuine ? 'still refused' : 'unexplained drops to a port'} after window ${afterIn + 1}`;
      } else note = `${genuine ? 'refused' : 'unexplained drops to a port'} after window ${afterIn + 1}${quietText(r, endOf)}`;
    } else {
      r.status = 'check';
      note = duringIn >= 0 ? `refused during window ${duringIn + 1} only` : 'refused outside the windows';
    }
    return note;
  }
  if (v === 'undetermined') {
    r.status = 'check';
    note = afterIn >= 0 ? `no verdict; seen after window ${afterIn + 1}` : 'no verdict';
    return note;
  }
  // conntrack-loss
  const late = r.stopAfterEnd.findIndex((s, e) => r.during[e]! > 0 && s > settle);
  if (late >= 0) {
    r.status = 'check';
    note = `still losing state ${minutes(r.stopAfterEnd[late]!)} after window ${r.wins[late]! + 1} ended`;
  } else if (duringIn < 0 && r.sum.persistent) {
    r.status = 'check';
    note = `lost state for more than ${minutes(settle)} outside any window (asymmetric routing?)`;
  } else {
    const ids = r.during.flatMap((n, e) => (n > 0 ? [r.wins[e]! + 1] : []));
    note = ids.length === 0 ? 'lost state, stopped' : `lost state in window${ids.length === 1 ? '' : 's'} ${ids.join(', ')}, stopped`;
  }
  return note;
}

/** A row of a block list: the flow, its packets in the list's phase, and its first and last there (NaN: not known). */
type GroupRow = readonly [Row, number, number, number];

/** A row as a list of the whole input's blocks: all its packets, its first and last. */
function wholeInput(r: Row): GroupRow {
  return [r, r.sum.count, r.firstMs ?? NaN, r.lastMs ?? NaN];
}

/** Blocks grouped by host, protocol and port, each row with its packets counted and dated in the list's phase. */
function groupBlocks(rows: readonly GroupRow[], clock: ClockKind, endOf: EndOf): BlockGroup[] {
  const m = new Map<string, {
    g: BlockGroup; clients: Set<string>; names: Map<string | null, number>; first: number | null; last: number | null; pFirst: number; pLast: number;
  }>();
  for (const [r, n, pf, pl] of rows) {
    const key = `${r.host}|${r.sum.proto}|${r.sum.serverPort ?? ''}`;
    let e = m.get(key);
    if (e === undefined) {
      e = {
        g: {
          host: r.host, proto: r.sum.proto, port: r.sum.serverPort, service: null, services: [], flows: 0, clients: [], clientsTotal: 0, packets: 0,
          firstSeen: null, lastSeen: null, quietAtEndMs: null, phaseFirstSeen: null, phaseLastSeen: null,
        },
        clients: new Set(),
        names: new Map(),
        first: null,
        last: null,
        pFirst: NaN,
        pLast: NaN,
      };
      m.set(key, e);
    }
    e.g.flows++;
    e.g.packets += n;
    e.names.set(r.sum.service, (e.names.get(r.sum.service) ?? 0) + n);
    e.clients.add(r.sum.client);
    if (r.firstMs !== null && (e.first === null || r.firstMs < e.first)) e.first = r.firstMs;
    if (r.lastMs !== null && (e.last === null || r.lastMs > e.last)) e.last = r.lastMs;
    if (pf === pf && !(pf >= e.pFirst)) e.pFirst = pf;
    if (pl === pl && !(pl <= e.pLast)) e.pLast = pl;
  }
  const out = [...m.values()].map(({ g, clients, names, first, last, pFirst, pLast }) => {
    g.services = [...names].sort((a, b) => b[1] - a[1] || cmpName(a[0], b[0])).map(([x]) => x);
    g.service = serviceText(g.services);
    g.clients = [...clients].sort(cmp).slice(0, MAX_GROUP_CLIENTS);
    g.clientsTotal = clients.size;
    g.firstSeen = first === null ? null : formatTime(first, clock);
    g.lastSeen = last === null ? null : formatTime(last, clock);
    g.phaseFirstSeen = pFirst === pFirst ? formatTime(pFirst, clock) : null;
    g.phaseLastSeen = pLast === pLast ? formatTime(pLast, clock) : null;
    // a group is one host's: its quiet time runs to that host's end
    const end = endOf(g.host);
    g.quietAtEndMs = last === null || end === null ? null : Math.max(0, Math.round(end - last));
    return g;
  });
  out.sort((a, b) => b.packets - a.packets || cmp(a.host, b.host) || cmp(a.proto, b.proto) || (a.port ?? -1) - (b.port ?? -1));
  return out;
}

/** Service names: the unnamed (null) after the named ones. */
function cmpName(a: string | null, b: string | null): number {
  return a === null ? (b === null ? 0 : 1) : b === null ? -1 : cmp(a, b);
}

/** Distinct service names a group shows before `+N other`. */
const MAX_GROUP_SERVICES = 3;

/**
 * A group's service as shown: its flows' names, most drops first, joined by ` / ` (names hold commas: `VXLAN (Linux
 * kernel default: flannel, Canal, Cilium)`), `unnamed` for flows without one among named ones; null when none has one.
 */
export function serviceText(names: ReadonlyArray<string | null>): string | null {
  if (names.length === 1) return names[0]!;
  const shown = names.slice(0, MAX_GROUP_SERVICES).map((x) => x ?? 'unnamed');
  const more = names.length - shown.length;
  return `${shown.join(' / ')}${more > 0 ? ` +${more} other` : ''}`;
}

export function blockLabel(g: BlockGroup): string {
  return `${portLabel(g.proto, g.port)} on ${g.host}`;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
