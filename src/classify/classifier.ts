/**
 * The classifier: per-packet verdicts (verdict.ts) + flows (flows.ts) + scan detection (scan.ts), over a stream
 * of DropEvents. Synchronous and free of I/O: feed events with `classify` (or packets with `count`, when no result
 * is wanted), get the summary with `end` (or `finish`, to render its flows a few at a time).
 */
import { WORDED, issuesOf } from '../catalog/issues.js';
import type { DropEvent, Packet } from '../parse/event.js';
import { UsageError } from '../cli/errors.js';
import { ISO_END_MS, isoRepresentable } from '../parse/time.js';
import { classifierOptionsSchema, type ClassifierOptions, type ClassifierOptionsInput } from './options.js';
import { catalogServiceLookup, type ServiceLookup } from './services.js';
import { Flow, FlowTable, MONO, PortBitmaps, PortSet, SEQ, WALL, flowKey, own, verdictRank, type WindowMarks } from './flows.js';
import { ScanDetector } from './scan.js';
import {
  FLAG_ACK,
  FLAG_SYN,
  ICMP_INFO,
  emptyJudgement,
  explain,
  flagsText,
  type ExplainInput,
  judge,
  type Judgement,
  type RuleId,
  type ServerSide,
  type Verdict,
  type VerdictContext,
} from './verdict.js';

/** A flow appeared, changed verdict, or became persistent. */
export interface FlowChange {
  kind: 'new' | 'verdict' | 'persistent';
  flow: Flow;
  /** the previous verdict, for `verdict` changes */
  from?: Verdict;
  /**
   * A flow re-labelled scan: how many of its packets judged conntrack-loss were probes (a bare FIN) and moved to scan
   * in the totals with its refused and undetermined ones — a consumer keeping its own counts moves them too.
   */
  probeLossMoved?: number;
}

/** One event with its verdict. `reason` is computed on first read. */
export interface ClassifiedEvent {
  event: DropEvent;
  /** `ct-invalid`: a `nf_ct_proto_N:` line — corroborates a flow, not a drop of its own */
  kind: 'drop' | 'ct-invalid';
  verdict: Verdict;
  rule: RuleId;
  server: ServerSide;
  /** service of the server port when known */
  service: string | undefined;
  readonly reason: string;
  /** the flow this drop was counted in (undefined for ct-invalid lines without a flow yet) */
  flow: Flow | undefined;
  /**
   * A probe (a SYN, UDP to a port, crafted flags, a bare FIN): should its source turn out a scanner, the drop moves
   * to `scan` with its flow (FlowChange.probeLossMoved counts the bare FINs judged conntrack-loss).
   */
  readonly probe: boolean;
}

export type ClassifyResult = ClassifiedEvent & { changes?: FlowChange[] };

/** {@link Classifier.classifyPacket}: what classify() says of a packet, without the event. */
export interface PacketResult {
  verdict: Verdict;
  rule: RuleId;
  service: string | undefined;
  reason: string;
}

export type VerdictCounts = Record<Verdict, number>;

/** One flow in the final summary (JSON-ready). */
export interface FlowSummary {
  host: string | null;
  proto: string;
  server: string;
  serverPort: number | null;
  client: string;
  verdict: Verdict;
  rule: RuleId;
  service: string | null;
  count: number;
  /** ISO 8601 UTC, or null when the lines carried no wall-clock time */
  firstSeen: string | null;
  lastSeen: string | null;
  firstMono?: number;
  lastMono?: number;
  firstLine: number;
  lastLine: number;
  /** the source of `firstLine`, when more than one is read */
  file?: string;
  /** the source of `lastLine` when it is not `file`'s (a flow that went on into the next file) */
  lastFile?: string;
  persistent: boolean;
  reason: string;
  /** TCP: packets per flag combination, e.g. {"ACK FIN": 3} */
  flags?: Record<string, number>;
  /** SYN flows: SYNs repeated from the same client port, and whether their gaps grew like TCP backoff */
  retransmits?: number;
  backoff?: boolean;
  /** SYN flows: distinct client ports (connection attempts) */
  attempts?: number;
  /** scan flows: distinct destination ports */
  ports?: number;
  /** `ports` is a lower bound: the flow probed more ports than a set without a bitmap holds (PortBitmaps) */
  portsAtLeast?: true;
  window?: WindowMarks;
  /** conntrack INVALID lines corroborating this flow, and the kernel's last reason */
  ctInvalid?: number;
  ctReason?: string;
}

/** {@link Classifier.finish}: end()'s summary, its flows not rendered yet. */
export interface FinishedAnalysis {
  summary: AnalyzeSummary['summary'];
  /** in the order end() lists them */
  flows: readonly Flow[];
  /** a flow as end() lists it */
  summarize(f: Flow): FlowSummary;
}

export interface AnalyzeSummary {
  summary: {
    /** drop events (ct-invalid lines not included) */
    events: number;
    'conntrack-loss': number;
    'genuine-block': number;
    scan: number;
    /** LAN broadcast and multicast chatter to ports and protocols no catalog names */
    broadcast: number;
    undetermined: number;
    /** `nf_ct_proto_N:` lines (conntrack INVALID logging) */
    ctInvalid: number;
    flows: number;
    persistentFlows: number;
    scanners: number;
    flowsExpired: number;
    flowsEvicted: number;
    scanSourcesEvicted: number;
    firstSeen: string | null;
    lastSeen: string | null;
    /** drops per verdict before/during/after `--window`; a scanner's earlier probes move to scan, as in the totals */
    window?: { start: string; end: string; before: VerdictCounts; during: VerdictCounts; after: VerdictCounts };
    /** added by the CLI: what was read (lines, events, skipped, issues, cut, otherPrefix, bytes, sources) */
    input?: Record<string, number>;
    /** added by the CLI: the LOG prefixes seen and their lines (several: several LOG rules) */
    prefixes?: Record<string, number>;
  };
  flows: FlowSummary[];
}

/**
 * What the classifier found for one packet (Classifier.observe): the kind of line, the verdict it was counted
 * under, its flow and the flow changes it made. The same fields a ClassifyResult has, without the event.
 */
export interface Observation {
  kind: 'drop' | 'ct-invalid';
  verdict: Verdict;
  flow: Flow | undefined;
  changes?: FlowChange[] | undefined;
  /** a probe (see ClassifiedEvent.probe) */
  probe: boolean;
}

export interface Classifier {
  classify(event: DropEvent): ClassifyResult;
  /**
   * classify() without a result: the packet is counted into its flow and the summary only. For runs that print no
   * event (`analyze --summary`, or only flow changes); the parser can then hand over scanner records as packets
   * instead of events. The packet is not kept. True when the packet changed a flow (new, verdict, persistent).
   */
  count(packet: Packet): boolean;
  /**
   * After count(): the result classify() would have given for that packet, given its event — for the few packets
   * whose flow changed, which a writer prints (count() returns true for them).
   */
  lastResult(event: DropEvent): ClassifyResult;
  /**
   * count() and what classify() says of the packet: verdict, rule, service and reason, in one object reused by the
   * next call (`analyze --json` on packets). The packet is not kept.
   */
  classifyPacket(packet: Packet): PacketResult;
  /**
   * count() and what it found (kind, verdict, flow, changes), in one object reused by the next call: for consumers
   * that tally packets by flow (`report`) without their events. The packet is not kept.
   */
  observe(packet: Packet): Observation;
  /** The final summary. The classifier stays usable (a live view may call it more than once). */
  end(): AnalyzeSummary;
  /**
   * end() with the flows not yet rendered: the flows sorted as end() lists them, and `summarize` to render each —
   * so a writer can render and print them a few at a time (a summary of 100,000 flows is never all in memory).
   */
  finish(): FinishedAnalysis;
  /** A flow as the summary shows it, with its reason so far (for live output of changes). */
  flowSummary(flow: Flow): FlowSummary;
  /**
   * The wall-clock time (ms) the last packet classified was put at: its own stamp, or its kernel monotonic time moved
   * by its host's boot time (see README, Clocks); NaN when neither.
   */
  readonly lastWallMs: number;
  /** Flows evicted so far to keep under `maxFlows` (the summary's `flowsEvicted`, known before the input ends). */
  readonly flowsEvicted: number;
  readonly options: ClassifierOptions;
}

export interface ClassifierDeps {
  /** service names by port; the role catalog (with the built-in table as fallback) when absent */
  services?: ServiceLookup;
}

/** TCP's initial retransmission timeout (RFC 6298 §2.1; TCP_TIMEOUT_INIT in Linux). */
const INITIAL_RTO_MS = 1000;
/**
 * The most 1 s steps in a row Linux sends a SYN at before it doubles: tcp_syn_linear_timeouts (4 by default) plus
 * the first timeout — Linux 6.18 sent gaps of 1, 1, 1, 1, 1, 2, 4 s — and one for slack.
 */
const MAX_LINEAR_GAPS = 6;

/** Most rare `PROTO=` values kept interned at once (protocol names are a small set; this only guards garbage). */
const MAX_INTERNED = 1024;

/** `PROTO=` values as constants, so flows do not each keep a copy. */
function protoName(p: string): string | undefined {
  switch (p) {
    case 'TCP': return 'TCP';
    case 'UDP': return 'UDP';
    case 'ICMP': return 'ICMP';
    case 'ICMPv6': return 'ICMPv6';
    case 'UDPLITE': return 'UDPLITE';
    default: return undefined;
  }
}

/** ct-invalid lines seen before their flow, waiting to be attached. Bounded: they are corroboration only. */
const MAX_PENDING_CT = 4096;

/** Hosts whose boot time is kept (see ClassifierCore.boots). */
const MAX_BOOTS = 4096;

class Classified implements ClassifiedEvent {
  changes?: FlowChange[];
  private text: string | undefined;
  constructor(
    readonly event: DropEvent,
    readonly kind: 'drop' | 'ct-invalid',
    readonly verdict: Verdict,
    readonly rule: RuleId,
    readonly server: ServerSide,
    readonly service: string | undefined,
    readonly flow: Flow | undefined,
    private readonly proto: string,
    private readonly flags: number,
    readonly probe: boolean,
    private readonly c: ClassifierCore,
  ) {}

  get reason(): string {
    if (this.text === undefined) {
      const j: Judgement = {
        verdict: this.verdict, rule: this.rule, server: this.server, service: this.service,
        proto: this.proto, flags: this.flags, probe: this.probe, icmpClass: this.flow?.icmpClass ?? ICMP_INFO,
      };
      this.text = reasonText(this.c, this.event, this.kind, j);
    }
    return this.text;
  }
}

/** A packet's reason: `j` is its judgement with the verdict it was counted under. */
function reasonText(c: ClassifierCore, e: Packet, kind: 'drop' | 'ct-invalid', j: Judgement): string {
  const text = j.verdict === 'scan' ? c.scanReason(e, j) : explain(e, j, c.ctx);
  return kind === 'ct-invalid' ? `conntrack INVALID (${e.ctInvalid?.reason ?? '?'}): corroborates ${text}` : text;
}

/** Counts one packet of verdict `v` (a switch of constant-name stores: no keyed store on a string key). */
function bump(c: VerdictCounts, v: Verdict): void {
  switch (v) {
    case 'conntrack-loss': c['conntrack-loss']++; break;
    case 'genuine-block': c['genuine-block']++; break;
    case 'scan': c.scan++; break;
    case 'broadcast': c.broadcast++; break;
    default: c.undetermined++;
  }
}

function zeroCounts(): VerdictCounts {
  return { 'conntrack-loss': 0, 'genuine-block': 0, scan: 0, broadcast: 0, undetermined: 0 };
}

/** Milliseconds → ISO 8601 UTC, without `.000`. */
export function isoOf(ms: number): string {
  // whole milliseconds in years 1970–9999 (every log): integer arithmetic, the date part cached per day
  if (ms >= 0 && ms < ISO_END_MS && Number.isInteger(ms)) return isoFast(ms);
  const s = new Date(ms).toISOString();
  return s.endsWith('.000Z') ? `${s.slice(0, -5)}Z` : s;
}

const DAY_MS = 86_400_000;
let isoDay = -1;
let isoDate = '';

/** "00"…"59", for the date's and the clock's fields: no number-to-string conversion per field */
const TWO: readonly string[] = Array.from({ length: 60 }, (_, n) => (n < 10 ? `0${n}` : `${n}`));

/** {@link isoOf} without Date: `YYYY-MM-DD` from the day number (H. Hinnant's civil_from_days), then the clock. */
function isoFast(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  if (day !== isoDay) {
    const z = day + 719468;
    const era = Math.floor(z / 146097);
    const doe = z - era * 146097;
    const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
    const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
    const mp = Math.floor((5 * doy + 2) / 153);
    const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
    const m = mp < 10 ? mp + 3 : mp - 9;
    const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
    isoDate = `${String(y).padStart(4, '0')}-${TWO[m]!}-${TWO[d]!}T`;
    isoDay = day;
  }
  let rest = ms - day * DAY_MS;
  const milli = rest % 1000;
  rest = (rest - milli) / 1000;
  const sec = rest % 60;
  rest = (rest - sec) / 60;
  const min = rest % 60;
  const hour = (rest - min) / 60;
  const clock = `${isoDate}${TWO[hour]!}:${TWO[min]!}:${TWO[sec]!}`;
  return milli === 0 ? `${clock}Z` : `${clock}.${String(milli).padStart(3, '0')}Z`;
}

class ClassifierCore implements Classifier {
  readonly ctx: VerdictContext;
  private readonly j = emptyJudgement();
  private readonly table: FlowTable;
  private readonly scan: ScanDetector<Flow>;
  /** the scan flows' port bitmaps, bounded (PortBitmaps): by default 4096 × 8 KB = 32 MB at most */
  private readonly portBitmaps: PortBitmaps;
  private readonly counts = zeroCounts();
  private readonly winCounts: { before: VerdictCounts; during: VerdictCounts; after: VerdictCounts } | null;
  private readonly pendingCt = new Map<string, { count: number; reason: string }>();
  private readonly strings = new Map<string, string>();
  private ctInvalid = 0;
  private events = 0;
  /** stands in for time when a line has none (clock SEQ): one ms per event keeps order */
  private seq = 0;
  /** the clock timeOf() put its last packet on */
  private clock = WALL;
  /**
   * Boot time (wall-clock ms) per host, from packets that carry both a wall-clock time and the kernel's monotonic
   * one (journald, a kernel stamp in a syslog line): a packet of that host with only the monotonic time is put on
   * the wall clock by it. Bounded: hosts are few; a stream of garbage host names starts it over.
   */
  private readonly boots = new Map<string, number>();
  /** The same for lines without a host (dmesg, a syslog without its host field), per input file: one file, one
   * machine — where lines of several files without a host could come from as many machines. */
  private readonly fileBoots = new Map<string | undefined, number>();
  /** wall-clock span of the input (ms), NaN for none (a double updated in place, see Flow.lastTsNum) */
  private firstTs = NaN;
  private lastTs = NaN;

  constructor(readonly options: ClassifierOptions, services: ServiceLookup) {
    this.ctx = { ephemeral: options.ephemeral, nodePorts: options.nodePorts, services };
    this.table = new FlowTable({ maxFlows: options.maxFlows, idleMs: options.flowIdleMs });
    this.portBitmaps = new PortBitmaps(options.maxPortBitmaps);
    // scan sources are the table's address ids: the detector holds each one it tracks
    const ids = this.table.ids;
    this.scan = new ScanDetector<Flow>(
      { threshold: options.scanPorts, windowMs: options.scanWindowMs, maxSources: options.maxScanSources },
      (f) => f.lastSeen,
      { track: (src) => ids.retain(src), untrack: (src) => ids.release(src) },
    );
    this.table.onRemove = (f) => {
      if (f.probe) this.scan.forget(f.clientId, f);
      f.portSet?.release(this.portBitmaps);
    };
    this.winCounts = options.window ? { before: zeroCounts(), during: zeroCounts(), after: zeroCounts() } : null;
  }

  classify(e: DropEvent): ClassifyResult {
    return this.run(e, e)!;
  }

  count(p: Packet): boolean {
    this.run(p, undefined);
    return this.lastChanges !== undefined;
  }

  private readonly packetResult: PacketResult = { verdict: 'undetermined', rule: 'no-protocol', service: undefined, reason: '' };

  classifyPacket(p: Packet): PacketResult {
    this.run(p, undefined);
    // run() leaves the packet's judgement in the scratch `j`; the flow may have changed its verdict (scan)
    const j = this.j;
    j.verdict = this.lastVerdict;
    const out = this.packetResult;
    out.verdict = j.verdict;
    out.rule = j.rule;
    out.service = j.service;
    out.reason = reasonText(this, p, p.ctInvalid !== undefined ? 'ct-invalid' : 'drop', j);
    return out;
  }

  private readonly observation: Observation = { kind: 'drop', verdict: 'undetermined', flow: undefined, changes: undefined, probe: false };

  observe(p: Packet): Observation {
    this.run(p, undefined);
    const o = this.observation;
    o.kind = this.lastKind;
    o.verdict = this.lastVerdict;
    o.flow = this.lastFlow;
    o.changes = this.lastChanges;
    o.probe = this.j.probe;
    return o;
  }

  /** the verdict run() gave its last packet */
  private lastVerdict: Verdict = 'undetermined';
  lastWallMs = NaN;

  get flowsEvicted(): number {
    return this.table.evicted;
  }

  /**
   * The packet's event time (ms), its clock in `this.clock`: the wall clock when the line has one or its host's boot
   * time is known, else the kernel's monotonic clock, else a counter of untimed packets.
   */
  private timeOf(e: Packet): number {
    const ts = e.ts;
    const mono = e.mono;
    if (ts !== null) {
      if (mono !== null) this.learnBoot(e, ts - mono * 1000);
      this.clock = WALL;
      return ts;
    }
    if (mono !== null) {
      const boot = this.bootOf(e);
      // on the wall clock only as a time a line could carry (a monotonic stamp of 10^20 s dates nothing)
      if (boot !== undefined && isoRepresentable(boot + mono * 1000)) {
        this.clock = WALL;
        return boot + mono * 1000;
      }
      this.clock = MONO;
      return mono * 1000;
    }
    this.clock = SEQ;
    return ++this.seq;
  }

  /** The boot time known for the packet's host (for a line without a host: of its file), if any. */
  private bootOf(e: Packet): number | undefined {
    if (e.host !== null) return this.boots.size === 0 ? undefined : this.boots.get(e.host);
    return this.fileBoots.size === 0 ? undefined : this.fileBoots.get(e.file);
  }

  private learnBoot(e: Packet, boot: number): void {
    // a boot before year 0 or after 9999 comes of a garbled stamp (a line's time is always within them)
    if (!isoRepresentable(boot)) return;
    const known = this.bootOf(e);
    // a syslog stamp has whole seconds: its boot time wobbles by up to 1 s; a reboot or a clock step moves it more
    if (known !== undefined && Math.abs(boot - known) <= 2000) return;
    const host = e.host;
    const m: Map<string | undefined, number> = host !== null ? this.boots : this.fileBoots;
    if (known === undefined && m.size >= MAX_BOOTS) m.clear();
    const key = host ?? e.file;
    m.set(key === undefined ? undefined : own(key), boot);
  }

  /** Judges and counts packet `e`; returns its result when `event` (e itself, as an event) is given. */
  private run(e: Packet, event: DropEvent | undefined): ClassifyResult | undefined {
    const j = judge(e, this.ctx, this.j);
    const t = this.timeOf(e);
    const clock = this.clock;
    this.table.see(t, clock);
    // the packet's wall-clock time: its stamp, or its monotonic time dated by its host's boot time (timeOf)
    const wall = clock === WALL ? t : NaN;
    this.lastWallMs = wall;
    if (wall === wall) {
      // the earliest and the latest wall-clock time, whatever the input order (`!(a >= NaN)` holds: the first one)
      if (!(wall >= this.firstTs)) this.firstTs = wall;
      if (!(wall <= this.lastTs)) this.lastTs = wall;
    }
    // an ARP line names its addresses in the ARP fields; a frame that is neither IP nor ARP has none ('?')
    const src = e.srcShort ?? e.src ?? e.arp?.ipsrc ?? '?';
    const dst = e.dstShort ?? e.dst ?? e.arp?.ipdst ?? '?';
    const srcIsServer = j.server === 'src';
    const server = srcIsServer ? src : dst;
    const client = srcIsServer ? dst : src;
    const port = srcIsServer ? e.spt : e.dpt;
    const serverPort = port === undefined ? null : port;

    if (e.ctInvalid !== undefined) {
      this.last(j.verdict, 'ct-invalid', this.corroborate(e, j, server, serverPort, client), undefined);
      return event === undefined ? undefined : this.lastResult(event);
    }

    this.events++;
    let verdict = j.verdict;
    let changes: FlowChange[] | undefined;
    let flow: Flow;

    const ids = this.table.ids;
    // a scanner's packet names its addresses by key too (Packet.srcKey): their ids without reading the strings
    const clientKey = srcIsServer ? e.dstKey : e.srcKey;
    const clientId = clientKey === undefined ? ids.idOf(client) : ids.idOfKey(clientKey, client);
    if (j.probe && clientId > 0 && this.scan.isScanner(clientId)) {
      // a known scanner: its probes go to one flow per (host, proto, target, source) instead of one per port
      verdict = 'scan';
      this.scan.observe(clientId, serverPort ?? 0, false, t, undefined, clock);
      const f = this.scanAggregate(e.host, j.proto, server, client, t, clock, this.wallOrNull(), e.mono, e.line, e.file, j.rule, (changes ??= []), clientId);
      if (serverPort !== null) f.addPort(serverPort, this.portBitmaps);
      flow = f;
    } else {
      let f: Flow | undefined;
      if (clientId >= 0) {
        const serverKey = srcIsServer ? e.srcKey : e.dstKey;
        const serverId = serverKey === undefined ? ids.idOf(server) : ids.idOfKey(serverKey, server);
        if (serverId >= 0) f = this.table.findIds(e.host, j.proto, serverId, serverPort, clientId, j.icmpClass);
      }
      if (f === undefined) {
        f = this.newFlow(e, j, server, serverPort, client, verdict, t, clock);
        changes = [{ kind: 'new', flow: f }];
      } else if (verdictRank(verdict) > verdictRank(f.verdict)) {
        const from = f.verdict;
        this.setVerdict(f, e, j, verdict);
        (changes ??= []).push({ kind: 'verdict', flow: f, from });
      }
      flow = f;
      if (j.probe) {
        // a NodePort is a service port (a load balancer's health checks hit many of them): it counts as known
        const known = j.service !== undefined;
        const became = this.scan.observe(f.clientId, serverPort ?? 0, known, t, f, clock);
        if (became !== null) {
          verdict = 'scan';
          flow = this.foldScanner(became, f, e, j, server, client, t, clock, (changes ??= []));
          if (serverPort !== null) flow.addPort(serverPort, this.portBitmaps);
        }
      }
    }

    if (flow.clock !== clock) {
      // from the host's monotonic clock to the wall clock: its boot time (just learned) moves the flow's times over
      const boot = flow.clock === MONO && clock === WALL ? this.bootOf(e) : undefined;
      reclock(flow, t, clock, boot);
    }
    // "still going": a quiet gap longer than --settle ends an episode; persistence is counted from the new one
    if (!flow.persistent && t - flow.lastSeen > this.options.settleMs) flow.persistAt = this.persistAtFrom(t, clock);
    // A packet earlier than all of the flow's (inputs given newest first): when the episode under way began with
    // the flow's first packet, and no gap longer than --settle lies between, the episode began earlier.
    else if (!flow.persistent && t < flow.firstSeen && flow.firstSeen - t <= this.options.settleMs &&
      flow.persistAt === this.persistAtFrom(flow.firstSeen, clock)) {
      flow.persistAt = this.persistAtFrom(t, clock);
    }
    bump(this.counts, verdict);
    if (verdict === 'genuine-block') flow.nBlock++;
    else if (verdict === 'undetermined') flow.nUndet++;
    else if (verdict === 'conntrack-loss' && j.probe) flow.nProbeLoss++;
    this.update(flow, e, j, t);
    // persistent: going on for MORE than --settle (lastSeen: the latest time, whatever the order); LAN chatter never is
    if (!flow.persistent && flow.lastSeen > flow.persistAt && flow.verdict !== 'broadcast') {
      flow.persistent = true;
      (changes ??= []).push({ kind: 'persistent', flow });
    }
    if (this.winCounts !== null) {
      const w = this.options.window!;
      const ct = clock === WALL ? t : -Infinity; // a time on another clock cannot be placed: counted before
      const phase = ct < w.start ? 0 : ct < w.end ? 1 : 2;
      bump(phase === 0 ? this.winCounts.before : phase === 1 ? this.winCounts.during : this.winCounts.after, verdict);
      // what re-labelling may move later, by phase (as nBlock, nUndet, nProbeLoss above)
      const k = verdict === 'genuine-block' ? 0 : verdict === 'undetermined' ? 1 : verdict === 'conntrack-loss' && j.probe ? 2 : -1;
      if (k >= 0) (flow.winProbe ??= [0, 0, 0, 0, 0, 0, 0, 0, 0])[phase * 3 + k]!++;
    }
    this.last(verdict, 'drop', flow, changes !== undefined && changes.length > 0 ? changes : undefined);
    return event === undefined ? undefined : this.lastResult(event);
  }

  /** What run() found for its last packet (its judgement stays in the scratch `j` until the next judge()). */
  private last(verdict: Verdict, kind: 'drop' | 'ct-invalid', flow: Flow | undefined, changes: FlowChange[] | undefined): void {
    this.lastVerdict = verdict;
    this.lastKind = kind;
    this.lastFlow = flow;
    this.lastChanges = changes;
  }

  private lastKind: 'drop' | 'ct-invalid' = 'drop';
  private lastFlow: Flow | undefined = undefined;
  private lastChanges: FlowChange[] | undefined = undefined;

  lastResult(event: DropEvent): ClassifyResult {
    const j = this.j;
    const out: ClassifyResult = new Classified(
      event, this.lastKind, this.lastVerdict, j.rule, j.server, j.service, this.lastFlow, j.proto, j.flags, j.probe, this,
    );
    if (this.lastChanges !== undefined) out.changes = this.lastChanges;
    return out;
  }

  /**
   * A source just became a scanner: its earlier probe flows are re-labelled (reported as verdict changes) and
   * folded into one scan flow per (host, proto, target, source), which this packet joins. Returns that flow.
   */
  private foldScanner(
    became: Flow[], current: Flow, e: Packet, j: Judgement, server: string, client: string, t: number,
    clock: number, changes: FlowChange[],
  ): Flow {
    // the tipping packet's flow, if it was created by this very packet, is announced as the scan, never as a block
    const i = changes.findIndex((c) => c.kind === 'new' && c.flow === current);
    if (i >= 0) changes.splice(i, 1);
    const fold: Flow[] = [];
    for (const g of became) {
      if (g.gone || !g.probe || g.verdict === 'scan') continue;
      const from = g.verdict;
      const first = this.reasonOf(g);
      g.verdict = 'scan';
      // its refused probes were scan packets all along: move their counts (lost-state packets stay what they were)
      // (a bare FIN, judged as the teardown of a lost connection, is a probe too)
      const gb = g.nBlock;
      const un = g.nUndet;
      const pl = g.nProbeLoss;
      g.nBlock = 0;
      g.nUndet = 0;
      g.nProbeLoss = 0;
      this.counts['genuine-block'] -= gb;
      this.counts.undetermined -= un;
      this.counts['conntrack-loss'] -= pl;
      this.counts.scan += gb + un + pl;
      // the window's counts too, each packet where it came
      const wp = g.winProbe;
      if (wp !== null && this.winCounts !== null) {
        const { before, during, after } = this.winCounts;
        [before, during, after].forEach((c, p) => {
          c['genuine-block'] -= wp[p * 3]!;
          c.undetermined -= wp[p * 3 + 1]!;
          c['conntrack-loss'] -= wp[p * 3 + 2]!;
          c.scan += wp[p * 3]! + wp[p * 3 + 1]! + wp[p * 3 + 2]!;
        });
        g.winProbe = null;
      }
      g.reason = this.relabelReason(g, first);
      if (g !== current || i < 0) changes.push({ kind: 'verdict', flow: g, from, ...(pl > 0 ? { probeLossMoved: pl } : {}) });
      fold.push(g);
    }
    for (const g of fold) {
      const agg = this.scanAggregate(g.host, g.proto, g.server, g.client, g.firstSeen, g.clock, g.firstTs, g.firstMono, g.firstLine, g.file, g.rule, changes);
      mergeInto(agg, g, this.portBitmaps);
      this.table.detach(g);
    }
    return this.scanAggregate(e.host, j.proto, server, client, t, clock, this.wallOrNull(), e.mono, e.line, e.file, j.rule, changes);
  }

  /** The scan flow of (host, proto, target, source), created (and announced) when missing. */
  private scanAggregate(
    host: string | null, proto: string, server: string, client: string, t: number, clock: number, ts: number | null,
    mono: number | null, line: number, file: string | undefined, rule: RuleId, changes: FlowChange[],
    clientId = -1,
  ): Flow {
    let f = clientId > 0
      ? this.table.findFor(host, proto, server, null, clientId)
      : this.table.find(host, proto, server, null, client);
    if (f === undefined) {
      f = this.table.create(host, proto, server, null, client, t, clock);
      this.initFlow(f, 'scan', rule, undefined, t, ts, mono, line, file, true);
      f.portSet = new PortSet();
      changes.push({ kind: 'new', flow: f });
    }
    return f;
  }

  /**
   * A copy of a rare `PROTO=` value that does not pin input text, shared by every flow that names it.
   * Bounded: when full it starts over (copies already handed out stay valid).
   */
  private intern(s: string): string {
    let v = this.strings.get(s);
    if (v === undefined) {
      if (this.strings.size >= MAX_INTERNED) this.strings.clear();
      v = own(s);
      this.strings.set(v, v);
    }
    return v;
  }

  private initFlow(
    f: Flow, verdict: Verdict, rule: RuleId, service: string | undefined, t: number, ts: number | null,
    mono: number | null, line: number, file: string | undefined, probe: boolean,
  ): void {
    const w = this.options.window;
    f.verdict = verdict;
    f.rule = rule;
    f.service = service;
    f.firstSeen = f.lastSeen = t;
    f.firstTs = f.lastTs = ts;
    f.firstMono = f.lastMono = mono;
    f.firstLine = f.lastLine = line;
    f.file = f.lastFile = file;
    f.persistAt = this.persistAtFrom(t, f.clock);
    if (w !== undefined) f.window = { before: 0, during: 0, after: 0 };
    f.probe = probe;
  }

  /**
   * When a flow whose current episode began at `t` (on `clock`) becomes persistent: after --settle of unbroken
   * activity, and for an episode that began before the end of --window (wall-clock times only), only once it has
   * gone on --settle past the window.
   */
  private persistAtFrom(t: number, clock: number): number {
    const w = this.options.window;
    const settle = this.options.settleMs;
    return w !== undefined && clock === WALL && t < w.end ? Math.max(t, w.end) + settle : t + settle;
  }

  /** The wall-clock time of the packet run() is judging, or null (see timeOf). */
  private wallOrNull(): number | null {
    const w = this.lastWallMs;
    return w === w ? w : null;
  }

  /** Keeps what the packet's reason needs, to build it when someone asks (most flows are never printed). */
  private exemplar(f: Flow, e: Packet, j: Judgement): void {
    f.exSpt = e.spt ?? -1;
    f.exDpt = e.dpt ?? -1;
    f.exFrag = e.frag ?? -1;
    f.exFlags = j.flags;
    f.exSrcIsServer = j.server === 'src';
    f.exProto = e.proto === undefined ? '' : protoName(e.proto) ?? this.intern(e.proto);
    // ICMP reasons quote the inner packet: too much to keep as numbers, and ICMP drops are rare
    f.reason = j.proto === 'icmp' || j.proto === 'icmpv6' ? own(explain(e, j, this.ctx)) : '';
  }

  /**
   * The reason of the packet that set the flow's verdict, built from its exemplar each time it is asked for (the
   * summary asks once per flow; a live view a few times a second). Not kept on the flow: a reason is a rope of a
   * dozen pieces, and keeping one per flow as the final summary was rendered left ~10 MB more heap in use at its
   * end and added 3-5 MB to `analyze`'s peak RSS (26,666 flows on the bench corpus).
   */
  reasonOf(f: Flow): string {
    if (f.reason === '' && f.verdict !== 'scan') {
      const src = f.exSrcIsServer ? f.server : f.client;
      const dst = f.exSrcIsServer ? f.client : f.server;
      // '?' stands for an address the packet did not have (a frame that is neither IP nor ARP): explain() says so
      const ex: ExplainInput = {};
      if (src !== '?') ex.src = src;
      if (dst !== '?') ex.dst = dst;
      if (f.exSpt >= 0) ex.spt = f.exSpt;
      if (f.exDpt >= 0) ex.dpt = f.exDpt;
      if (f.exFrag >= 0) ex.frag = f.exFrag;
      if (f.exProto !== '') ex.proto = f.exProto;
      const j: Judgement = {
        verdict: f.verdict, rule: f.rule, server: f.exSrcIsServer ? 'src' : 'dst', service: f.service,
        proto: f.proto, flags: f.exFlags, probe: f.probe, icmpClass: f.icmpClass,
      };
      return explain(ex, j, this.ctx);
    }
    return f.reason;
  }

  /** Attaches a conntrack INVALID line to its flow (or keeps it for the flow to come); returns the flow if held. */
  private corroborate(e: Packet, j: Judgement, server: string, serverPort: number | null, client: string): Flow | undefined {
    this.ctInvalid++;
    const f = this.table.find(e.host, j.proto, server, serverPort, client, j.icmpClass);
    const reason = own(e.ctInvalid?.reason ?? '');
    if (f !== undefined) {
      f.ctInvalid++;
      if (f.ctReason !== reason) f.ctReason = reason;
    } else {
      const key = flowKey(e.host, j.proto, server, serverPort, client, j.icmpClass);
      const p = this.pendingCt.get(key);
      if (p !== undefined) {
        p.count++;
        p.reason = reason;
      } else if (this.pendingCt.size < MAX_PENDING_CT) {
        this.pendingCt.set(own(key), { count: 1, reason });
      }
    }
    return f;
  }

  private newFlow(
    e: Packet, j: Judgement, server: string, serverPort: number | null, client: string, verdict: Verdict, t: number,
    clock: number,
  ): Flow {
    const f = this.table.create(e.host, j.proto, server, serverPort, client, t, clock, j.icmpClass);
    this.initFlow(f, verdict, j.rule, j.service, t, this.wallOrNull(), e.mono, e.line, e.file, j.probe);
    this.exemplar(f, e, j);
    if (this.pendingCt.size > 0) {
      const key = flowKey(f.host, f.proto, f.server, f.serverPort, f.client, f.icmpClass);
      const p = this.pendingCt.get(key);
      if (p !== undefined) {
        f.ctInvalid = p.count;
        f.ctReason = p.reason;
        this.pendingCt.delete(key);
      }
    }
    return f;
  }

  private setVerdict(f: Flow, e: Packet, j: Judgement, verdict: Verdict): void {
    f.verdict = verdict;
    f.rule = j.rule;
    if (j.service !== undefined) f.service = j.service;
    this.exemplar(f, e, j);
    if (j.probe) f.probe = true;
  }

  private update(f: Flow, e: Packet, j: Judgement, t: number): void {
    f.count++;
    if (t > f.lastSeen) f.lastSeen = t;
    else if (t < f.firstSeen) f.firstSeen = t;
    // first and last seen are the earliest and the latest times, whatever the input order (files given newest
    // first, hosts' clocks interleaved): in order, only the latest moves. Wall-clock times: stamps, or monotonic
    // times dated by the host's boot time.
    const ts = this.lastWallMs;
    if (ts === ts) {
      if (!(ts <= f.lastTsNum)) {
        f.lastTsNum = ts;
        if (f.firstTs === null) f.firstTs = ts; // the flow's first packets had no wall-clock time
      } else if (f.firstTs === null || ts < f.firstTs) f.firstTs = ts;
    }
    const mono = e.mono;
    if (mono !== null) {
      if (!(mono <= f.lastMonoNum)) {
        f.lastMonoNum = mono;
        if (f.firstMono === null) f.firstMono = mono;
      } else if (f.firstMono === null || mono < f.firstMono) f.firstMono = mono;
    }
    f.lastLine = e.line;
    f.lastFile = e.file;
    if (f.proto === 'tcp') f.addFlags(j.flags, 1);
    if (f.window !== null) {
      const w = this.options.window!;
      if (f.clock !== WALL || t < w.start) f.window.before++;
      else if (t < w.end) f.window.during++;
      else f.window.after++;
    }
    // retransmissions are SYNs to one port: a scan flow's (all its target's ports) are probes, each to another port
    if ((j.flags & (FLAG_SYN | FLAG_ACK)) === FLAG_SYN && e.spt !== undefined && f.serverPort !== null) this.trackSyn(f, e.spt, t);
  }

  /**
   * TCP retries an unanswered SYN from the same port on its retransmission timer: after the initial 1 s timeout,
   * doubled at each retry (1, 2, 4, 8… s) — and on current Linux (tcp_syn_linear_timeouts, 4 by default: seen on
   * 6.18, where a SYN to a closed port went out at gaps of 1, 1, 1, 1, 1, 2 s) first a few times at the same 1 s.
   * That is a real client waiting.
   */
  private trackSyn(f: Flow, spt: number, t: number): void {
    const s = (f.syn ??= { port: -1, last: 0, gap: 0, streak: 0, doubled: false, linear: 0, retransmits: 0, backoff: false, attempts: 0 });
    if (spt !== s.port) {
      s.port = spt;
      s.gap = 0;
      s.streak = 0;
      s.doubled = false;
      s.linear = 0;
      s.attempts++;
      s.last = t;
      return;
    }
    const gap = t - s.last;
    s.last = t;
    if (gap <= 0) return;
    s.retransmits++;
    if (s.gap > 0) {
      // syslog stamps have 1 s resolution: allow a second of slack
      const tol = t % 1000 === 0 ? 1000 : 150;
      // Gaps below half the initial timeout are no timer's (a scanner's fixed source port, a burst); with 1 s
      // stamps a 1 s step reads as exactly 1 s (a 2 s step is no linear one)
      const timed = s.gap >= INITIAL_RTO_MS / 2;
      const doubled = timed && gap > s.gap && gap >= 1.5 * s.gap - tol && gap <= 2.5 * s.gap + tol;
      const step = tol === 1000 ? 0 : tol;
      const linear = timed && Math.abs(gap - INITIAL_RTO_MS) <= step && Math.abs(s.gap - INITIAL_RTO_MS) <= step;
      if (linear) s.linear++;
      if (doubled || (linear && s.linear <= MAX_LINEAR_GAPS)) {
        if (doubled) s.doubled = true;
        // two doublings in a row, or three gaps on the timer's schedule with at least the linear 1 s steps
        if (++s.streak >= (s.doubled ? 2 : 3)) s.backoff = true;
      } else {
        s.streak = 0;
        s.doubled = false;
        // more 1 s steps in a row than Linux takes before doubling: a retry loop on a fixed port, not TCP's timer
        if (linear) s.backoff = false;
      }
      if (!linear) s.linear = 0;
    }
    s.gap = gap;
  }

  scanReason(e: Packet, j: Judgement): string {
    const src = e.srcShort ?? e.src ?? '?';
    const what = j.proto === 'tcp' ? `TCP ${flagsText(j.flags)}` : j.proto.toUpperCase();
    return `${what} from ${src} to port ${e.dpt ?? '?'}: ${src} is scanning (${this.options.scanPorts}+ distinct closed ports within ${seconds(this.options.scanWindowMs)}) — evidence of probing, never a reason to open a port`;
  }

  private relabelReason(f: Flow, first: string): string {
    return `part of a scan by ${f.client} (${this.options.scanPorts}+ distinct closed ports within ${seconds(this.options.scanWindowMs)}); first judged: ${first}`;
  }

  private flowReason(f: Flow): string {
    let r = this.reasonOf(f);
    if (f.verdict === 'scan' && f.serverPort === null) {
      const n = f.portSet?.size ?? 0;
      r = `${f.client} probed ${n}${f.portSet?.saturated === true ? '+' : ''} distinct closed ${f.proto.toUpperCase()} port${n === 1 ? '' : 's'} on ${f.server}: port scan — evidence of probing, never a reason to open a port`;
    }
    const syn = f.syn;
    if (syn?.backoff) r += `; SYN retransmitted on TCP's retransmission timer (1 s steps, then doubling gaps): a real client kept waiting on this port`;
    else if (syn !== null && syn.retransmits > 0 && f.verdict === 'genuine-block') r += `; SYN retransmitted ${syn.retransmits}×`;
    if (f.ctInvalid > 0) r += `; corroborated by ${f.ctInvalid} conntrack INVALID line${f.ctInvalid === 1 ? '' : 's'} (${f.ctReason ?? ''})`;
    if (f.persistent) {
      const w = this.options.window;
      const span = w !== undefined && f.firstSeen < w.end
        ? `still going more than ${seconds(this.options.settleMs)} after the window ended`
        : `went on for more than ${seconds(this.options.settleMs)} without a pause that long`;
      r += f.verdict === 'conntrack-loss'
        ? `; persistent: ${span} — worth a look (asymmetric routing, or a rule applied mid-connection that never heals)`
        : f.verdict === 'genuine-block' ? `; persistent: ${span} — the rule is really missing` : `; persistent: ${span}`;
    }
    return r;
  }

  end(): AnalyzeSummary {
    const { summary, flows, summarize } = this.finish();
    return { summary, flows: flows.map(summarize) };
  }

  finish(): FinishedAnalysis {
    const flows: Flow[] = this.table.flows();
    flows.sort((a, b) => VERDICT_RANK_REPORT[a.verdict] - VERDICT_RANK_REPORT[b.verdict] ||
      Number(b.persistent) - Number(a.persistent) || b.count - a.count || a.firstSeen - b.firstSeen);
    let persistent = 0;
    for (const f of flows) if (f.persistent) persistent++;
    const s: AnalyzeSummary['summary'] = {
      events: this.events,
      ...this.counts,
      ctInvalid: this.ctInvalid,
      flows: flows.length,
      persistentFlows: persistent,
      scanners: this.scan.scanners,
      flowsExpired: this.table.expired,
      flowsEvicted: this.table.evicted,
      scanSourcesEvicted: this.scan.evicted,
      firstSeen: this.firstTs !== this.firstTs ? null : isoOf(this.firstTs),
      lastSeen: this.lastTs !== this.lastTs ? null : isoOf(this.lastTs),
    };
    const w = this.options.window;
    if (w !== undefined && this.winCounts !== null) {
      s.window = {
        start: isoOf(w.start), end: isoOf(w.end),
        before: { ...this.winCounts.before }, during: { ...this.winCounts.during }, after: { ...this.winCounts.after },
      };
    }
    return { summary: s, flows, summarize: (f) => this.flowSummary(f) };
  }

  flowSummary(f: Flow): FlowSummary {
    const firstSeen = f.firstTs === null ? null : isoOf(f.firstTs);
    const o: FlowSummary = {
      host: f.host, proto: f.proto, server: f.server, serverPort: f.serverPort, client: f.client,
      verdict: f.verdict, rule: f.rule, service: f.service ?? null, count: f.count,
      firstSeen,
      // a flow of one packet (or of one stamp) has one time: formatted once
      lastSeen: f.lastTs === null ? null : f.lastTs === f.firstTs ? firstSeen : isoOf(f.lastTs),
      firstLine: f.firstLine, lastLine: f.lastLine,
      persistent: f.persistent,
      reason: this.flowReason(f),
    };
    if (f.firstMono !== null) o.firstMono = f.firstMono;
    if (f.lastMono !== null) o.lastMono = f.lastMono;
    if (f.file !== undefined) o.file = f.file;
    if (f.lastFile !== f.file && f.lastFile !== undefined) o.lastFile = f.lastFile;
    const fl = f.flagCounts();
    if (fl.length > 0) {
      const flags: Record<string, number> = {};
      for (let i = 0; i < fl.length; i += 2) flags[flagsText(fl[i]!)] = fl[i + 1]!;
      o.flags = flags;
    }
    if (f.syn !== null) {
      o.attempts = f.syn.attempts;
      o.retransmits = f.syn.retransmits;
      o.backoff = f.syn.backoff;
    }
    if (f.portSet !== null) {
      o.ports = f.portSet.size;
      if (f.portSet.saturated) o.portsAtLeast = true;
    }
    if (f.window !== null) o.window = { ...f.window };
    if (f.ctInvalid > 0) {
      o.ctInvalid = f.ctInvalid;
      if (f.ctReason !== undefined) o.ctReason = f.ctReason;
    }
    return o;
  }
}

/**
 * A flow's packet came on another clock than its earlier ones. From the kernel's monotonic clock to the wall clock
 * with the host's boot time known, the flow's times move over by it. Otherwise (one input mixing logs with and
 * without wall-clock times) the gap since the last packet is unknown and taken as none: the episode goes on, as far
 * from persisting as it was.
 */
function reclock(f: Flow, t: number, clock: number, boot: number | undefined): void {
  const shift = boot !== undefined ? boot : t - f.lastSeen;
  f.persistAt += shift;
  f.firstSeen += shift;
  f.lastSeen += shift;
  f.clock = clock;
  const s = f.syn;
  if (s !== null) s.last += shift;
}

/** Adds flow `g`'s packets, span, ports, flags and marks to scan flow `agg`. */
function mergeInto(agg: Flow, g: Flow, pool: PortBitmaps): void {
  agg.count += g.count;
  if (g.ctInvalid > 0) {
    // the kernel's last reason: that of the flow seen last (compared before agg's span takes g's in)
    if (agg.ctReason === undefined || (g.clock === agg.clock && g.lastSeen >= agg.lastSeen)) agg.ctReason = g.ctReason;
    agg.ctInvalid += g.ctInvalid;
  }
  if (g.clock === agg.clock) {
    if (g.firstSeen < agg.firstSeen) {
      agg.firstSeen = g.firstSeen;
      agg.firstLine = g.firstLine;
      agg.file = g.file;
    }
    if (g.lastSeen > agg.lastSeen) {
      agg.lastSeen = g.lastSeen;
      agg.lastLine = g.lastLine;
      agg.lastFile = g.lastFile;
    }
  }
  // the times shown are merged as times, whatever the clock the flows were on
  if (g.firstTs !== null && (agg.firstTs === null || g.firstTs < agg.firstTs)) agg.firstTs = g.firstTs;
  if (g.lastTs !== null && (agg.lastTs === null || g.lastTs > agg.lastTs)) agg.lastTs = g.lastTs;
  if (g.firstMono !== null && (agg.firstMono === null || g.firstMono < agg.firstMono)) agg.firstMono = g.firstMono;
  if (g.lastMono !== null && (agg.lastMono === null || g.lastMono > agg.lastMono)) agg.lastMono = g.lastMono;
  if (g.serverPort !== null) agg.addPort(g.serverPort, pool);
  if (g.proto === 'tcp') {
    const fl = g.flagCounts();
    for (let i = 0; i < fl.length; i += 2) agg.addFlags(fl[i]!, fl[i + 1]!);
  }
  if (g.window !== null && agg.window !== null) {
    agg.window.before += g.window.before;
    agg.window.during += g.window.during;
    agg.window.after += g.window.after;
  }
}


/** Report order: what needs action first. */
const VERDICT_RANK_REPORT: Record<Verdict, number> = {
  'genuine-block': 0,
  scan: 1,
  undetermined: 2,
  'conntrack-loss': 3,
  broadcast: 4,
};

function seconds(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${ms / 1000} s`;
}

/** Creates a classifier. Options are validated (zod); a bad option is a UsageError. */
export function createClassifier(opts: ClassifierOptionsInput = {}, deps: ClassifierDeps = {}): Classifier {
  const r = classifierOptionsSchema.safeParse(opts, WORDED);
  if (!r.success) {
    const i = issuesOf(r.error)[0];
    throw new UsageError(`bad classifier option ${i?.path.join('.') ?? ''}: ${i?.message ?? 'invalid'}`);
  }
  return new ClassifierCore(r.data, deps.services ?? catalogServiceLookup());
}
