/**
 * The report model: one plain, JSON-ready object that every renderer (Markdown, HTML, JSON) reads. Times are
 * ISO 8601 UTC strings on a wall clock, or `boot+HH:MM:SS` on a kernel-monotonic clock (dmesg/kmsg without a
 * boot time); `*Ms` fields are the same instants as numbers (ms since the epoch, or since boot).
 */
import type { FlowSummary } from '../classify/classifier.js';
import type { Verdict } from '../classify/verdict.js';
import type { Suggestion } from '../suggest/index.js';
import type { ClockKind } from './aggregate.js';
import type { LogRateLimit } from '../ruleset/log-limit.js';

/** Counts in REPORT_VERDICTS order, as an object for readers. */
export type VerdictCounts = Record<Verdict, number>;

/** A suggestion exactly as the suggestion engine (src/suggest) makes it. */
export type ReportSuggestion = Suggestion;

/**
 * The injected suggestion engine, bound to its context (catalog, platform, roles, ruleset) by the caller:
 * every flow the classifier still holds → suggestions. `keys[i]` is flow i's Flow.key (a summary lacks part of it:
 * the ICMP class), for what the caller kept per flow.
 */
export type SuggestFn = (flows: FlowSummary[], keys: readonly string[]) => Suggestion[];

/** What a flow means for the operator, relative to the windows. */
export type FlowStatus =
  /** a genuine block (or a drop to a service port with no verdict) seen after a window (persisting from it or new), or with no window */
  | 'action'
  /** worth a look: conntrack loss that did not settle, a block seen only during a window, an odd portless drop */
  | 'check'
  /** a scan: evidence of probing, never a reason to open a port */
  | 'scan'
  /** noise: conntrack loss that stopped, LAN broadcast and multicast chatter */
  | 'ok';

export interface ReportFlowWindow {
  /** window id */
  window: number;
  during: number;
  /** packets from the window's end until the next window (or the end of the input) */
  after: number;
}

export interface ReportFlow {
  host: string;
  proto: string;
  server: string;
  port: number | null;
  service: string | null;
  client: string;
  verdict: Verdict;
  status: FlowStatus;
  count: number;
  firstSeen: string | null;
  lastSeen: string | null;
  windows: ReportFlowWindow[];
  /** why the status (short, for tables) */
  note: string;
  /** the classifier's reason */
  reason: string;
  file?: string;
}

export interface HostWindowStats {
  host: string;
  during: VerdictCounts;
  after: VerdictCounts;
  /** flows with drops during the window */
  flows: number;
}

/** A genuine block grouped by host and port, as the verdict names it. */
export interface BlockGroup {
  host: string;
  proto: string;
  port: number | null;
  /**
   * the service its flows are named (a flow to this node's port takes the platform's name, one to a remote server the
   * well-known one): the one name when they share it, else `services` joined by ` / ` (the first 3, then `+N other`;
   * `unnamed` for flows without a name); null when no flow has a name
   */
  service: string | null;
  /** the distinct names of its flows, most drops (in the list's phase) first; null: flows without a name, after the named */
  services: Array<string | null>;
  flows: number;
  /** the first clients, up to 20 */
  clients: string[];
  /** distinct clients in all (a client may have several flows in a group: one per server address of the host) */
  clientsTotal: number;
  packets: number;
  /** the group's first and last drops (of the whole input, not only after the window) */
  firstSeen: string | null;
  lastSeen: string | null;
  /** how long before its host's last drop (where that host's input ends) the group's last one was, ms (0: refused up to the end) */
  quietAtEndMs: number | null;
  /**
   * the group's first and last drops in its list's phase, the drops `packets` counts: after the window (from its end
   * to its horizon) in `persisted` and `newAfter`, during it in `duringOnly`
   */
  phaseFirstSeen: string | null;
  phaseLastSeen: string | null;
}

export interface ReportWindow {
  id: number;
  source: 'detected' | 'given';
  start: string;
  end: string;
  startMs: number;
  endMs: number;
  /** end of the "after" span: the next window's start or the end of the input */
  horizon: string;
  horizonMs: number;
  peakPerMin: number | null;
  during: VerdictCounts;
  after: VerdictCounts;
  hosts: HostWindowStats[];
  conntrackLoss: {
    /** drops judged conntrack-loss during the window, on any flow */
    drops: number;
    /** flows whose verdict is conntrack-loss with drops during the window */
    flows: number;
    /**
     * those flows' drops during the window: fewer than `drops` when a connection that lost state shares its flow
     * (client, server, port) with a later genuine block — that flow is listed under its block
     */
    flowDrops: number;
    /** latest stop of a conntrack-loss flow active in the window, ms after the window's end (0: none outlasted it) */
    stoppedWithinMs: number;
    /** flows still going more than `settle` after the end */
    unsettled: number;
  };
  /**
   * genuine blocks (and drops to service ports without a verdict) seen after the window and before its end too:
   * they persisted from the window (or across it)
   */
  persisted: BlockGroup[];
  /** the same, first seen after the window's end: they did not persist from it, but still need a rule */
  newAfter: BlockGroup[];
  /** genuine blocks seen during the window only */
  duringOnly: BlockGroup[];
}

/** A timeline bucket: its start (ms) and its drops by verdict, in REPORT_VERDICTS order. */
export type TimelineBucket = [number, number, number, number, number, number];

export interface TimelineHost {
  host: string;
  /** [bucket start ms, conntrack-loss, genuine-block, scan, undetermined, broadcast] for non-empty buckets */
  buckets: TimelineBucket[];
  totals: VerdictCounts;
}

export interface ReportVerdict {
  level: 'ok' | 'check' | 'action';
  text: string;
}

export interface Report {
  report: 'fwdiag';
  version: 1;
  generatedAt: string;
  verdict: ReportVerdict;
  clock: ClockKind;
  input: {
    sources: string[];
    lines: number;
    events: number;
    skipped: number;
    issues: number;
    cut: number;
    /** LOG lines of other prefixes than --prefix asked for */
    otherPrefix: number;
    /** the LOG prefixes seen and their lines (several: several LOG rules) */
    prefixes: Record<string, number>;
    bytes: number;
    /** `--kmsg`: records the kernel overwrote before they were read, in no count (absent when none were) */
    overwritten?: number;
  };
  first: string | null;
  last: string | null;
  firstMs: number | null;
  lastMs: number | null;
  totals: VerdictCounts & { drops: number; flows: number; ctInvalid: number };
  settings: {
    bucketMs: number;
    settleMs: number;
    windowsFrom: 'detected' | 'given';
    minDropsPerMin: number;
    minFlows: number;
    mergeGapMs: number;
  };
  windows: ReportWindow[];
  hosts: string[];
  timeline: { bucketMs: number; hosts: TimelineHost[] };
  flows: ReportFlow[];
  /** flows not listed (beyond the row cap), by status */
  flowsOmitted: Record<FlowStatus, number>;
  suggestions: ReportSuggestion[];
  /** 'engine': made by src/suggest; 'none': no engine context given (no --platform) */
  suggestionsFrom: 'engine' | 'none';
  /** what the bounds cost: anything non-zero means some detail was dropped or coarsened */
  limits: {
    untimed: number;
    hostsDropped: number;
    timelineCoarsened: number;
    flowsCoarsened: number;
    flowsExpired: number;
    flowsEvicted: number;
    /**
     * The LOG rules of `--ruleset` that wrote the input's lines (same prefix) and log at a limited rate: the drops seen
     * are a sample. Present only when there is one.
     */
    logRateLimit?: LogRateLimit[];
  };
}

export type { LogRateLimit };
