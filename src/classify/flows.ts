/**
 * Flows: drops grouped by (host, protocol, server address, server port, client address, ICMP class) — the server
 * being the side that offers the service; the ICMP class keeps ICMP errors apart from echo and the other ICMP
 * messages (verdict.ts ICMP_ERROR: why) — and a bounded table holding them.
 */
import { ICMP_ERROR, ICMP_INFO, type RuleId, type Verdict } from './verdict.js';

/** How verdicts rank when one flow sees packets judged differently: a refused SYN outweighs lost-state noise. */
export const VERDICT_RANK: Record<Verdict, number> = {
  undetermined: 0,
  'conntrack-loss': 1,
  broadcast: 2,
  'genuine-block': 3,
  scan: 4,
};

/** {@link VERDICT_RANK} as a switch: per packet, where a keyed load on a string-keyed object goes megamorphic. */
export function verdictRank(v: Verdict): number {
  switch (v) {
    case 'undetermined': return 0;
    case 'conntrack-loss': return 1;
    case 'broadcast': return 2;
    case 'genuine-block': return 3;
    default: return 4;
  }
}

/**
 * A copy of `s` that does not keep its input line alive. Parser fields are slices of the batch text they came
 * from; a flow living for an hour would otherwise pin whole input chunks in memory. Flattening `' ' + s` builds
 * a new flat string; the slice points into that, not into the input.
 */
export function own(s: string): string {
  return (' ' + s).slice(1);
}

/** Ports listed one by one up to this many (at most 1 KB); beyond, a bitmap of all 65536 (8 KB). */
const PORT_LIST_MAX = 256;

/**
 * The bitmaps the port sets of one classifier may hold at once. Without a bound, flows that each probe a few hundred
 * ports (a distributed scan) held 8 KB each: 1.1 GB under the default flow cap. A set that finds none free stays a
 * list and stops counting at PORT_LIST_MAX ({@link PortSet.saturated}); a set gives its bitmap back when its flow
 * leaves the table.
 */
export class PortBitmaps {
  used = 0;
  constructor(readonly max: number) {}
}

/**
 * Distinct ports (0–65535) a scan flow probed. A short list while few (most scan flows), then an 8 KB bitmap: a
 * scanner sweeping thousands of ports adds each in one step, where a Set would hash into an ever larger table.
 */
export class PortSet {
  private list: Int32Array | null = new Int32Array(8);
  private bits: Int32Array | null = null;
  private n = 0;
  private full = false;

  /** Ports held (a lower bound when {@link saturated}). */
  get size(): number {
    return this.n;
  }

  /** More ports came than the list holds and no bitmap was free: {@link size} is a lower bound. */
  get saturated(): boolean {
    return this.full;
  }

  /** Adds a port; a bitmap, when the list is full, comes from `pool` (none: always granted). */
  add(port: number, pool?: PortBitmaps): void {
    const bits = this.bits;
    if (bits !== null) {
      const w = port >>> 5;
      const b = 1 << (port & 31);
      if ((bits[w]! & b) === 0) {
        bits[w]! |= b;
        this.n++;
      }
      return;
    }
    if (this.list === null) return; // released
    let list = this.list;
    const n = this.n;
    for (let i = 0; i < n; i++) if (list[i] === port) return;
    if (n === PORT_LIST_MAX) {
      if (pool !== undefined) {
        if (pool.used >= pool.max) {
          this.full = true;
          return;
        }
        pool.used++;
      }
      const all = new Int32Array(2048);
      for (let i = 0; i < n; i++) all[list[i]! >>> 5]! |= 1 << (list[i]! & 31);
      all[port >>> 5]! |= 1 << (port & 31);
      this.bits = all;
      this.list = null;
      this.n = n + 1;
      return;
    }
    if (n === list.length) {
      const longer = new Int32Array(n * 2);
      longer.set(list);
      this.list = list = longer;
    }
    list[n] = port;
    this.n = n + 1;
  }

  has(port: number): boolean {
    if (this.bits !== null) return (this.bits[port >>> 5]! & (1 << (port & 31))) !== 0;
    const list = this.list;
    if (list === null) return false; // released
    for (let i = 0; i < this.n; i++) if (list[i] === port) return true;
    return false;
  }

  /** Gives a bitmap taken from `pool` back (the flow left the table); the count stays, the set takes no more. */
  release(pool: PortBitmaps): void {
    if (this.bits === null) return;
    pool.used--;
    this.bits = null;
    this.list = null;
  }
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
  /** gaps in a row on TCP's retransmission schedule */
  streak: number;
  /** one of them doubled the one before */
  doubled: boolean;
  /** 1 s gaps in a row (Linux's linear timeouts) */
  linear: number;
  /** SYNs repeated from the same client port */
  retransmits: number;
  /** gaps followed TCP's retransmission timer (1 s steps, then doubling): a real client waiting on this port */
  backoff: boolean;
  /** distinct client ports seen on SYNs (connection attempts) */
  attempts: number;
}

/**
 * The clocks event times are on. Times on different clocks cannot be compared: a wall-clock time is ~1.7e12 ms, a
 * kernel monotonic one is the time since its host booted, a counter counts packets. Idle time, scan windows and
 * persistence are each measured on one clock.
 */
export const WALL = 0;
export const MONO = 1;
export const SEQ = 2;
export const CLOCKS = 3;

/**
 * One flow's live state. Fields are public for the classifier and writers; treat as read-only outside classify/.
 * Every field is set in the constructor (one hidden class for all flows); rare parts (SYN tracking, window marks,
 * scan ports) are sub-objects created when first needed, so the common flow stays small.
 */
export class Flow {
  // Field order is memory layout: the key (compared by every lookup), then what every packet updates, so a packet
  // touches the first few cache lines of its flow only; the rest is read when a flow is created, changes verdict or
  // is reported.
  readonly serverId: number;
  readonly clientId: number;
  readonly serverPort: number | null;
  readonly hostId: number;
  readonly protoId: number;
  /** ICMP_ERROR for a flow of ICMP error messages, ICMP_LINK for one of ICMPv6 neighbour discovery and MLD, else
   * ICMP_INFO (every flow of another protocol): see verdict.ts */
  readonly icmpClass: number;
  verdict: Verdict = 'undetermined';
  count = 0;
  /** event time (ms) on the flow's {@link clock}: `ts`, else `mono`×1000 (moved to the wall clock when the host's
   * boot time is known), else the classifier's counter of untimed packets */
  lastSeen = 0;
  /** the clock {@link lastSeen}, {@link firstSeen} and {@link persistAt} are on: WALL, MONO or SEQ */
  clock = WALL;
  /** {@link lastTs} and {@link lastMono} with NaN for none: a double field is updated in place, where a field that
   * may hold null would take a pointer to the packet's own number (a write barrier and a remembered-set entry per
   * packet) */
  lastTsNum = NaN;
  lastMonoNum = NaN;
  lastLine = 0;
  persistent = false;
  /** event time from which the flow counts as persistent */
  persistAt = Infinity;
  /**
   * Free for the one consumer that tallies this classifier's flows packet by packet (report's activity, suggest's
   * samples): its per-flow state reached in one load from the flow just classified, where a Map keyed by flow would
   * hash (and miss the cache) on every packet. The classifier never reads it.
   */
  ext: unknown = undefined;
  readonly proto: string;
  /** TCP: packets per flag combination, in first-seen order — the first inline (most flows see one), more in
   * `flagsMore` as [mask, count, …]. Not a Map: a linear scan over one to three entries beats hashing. */
  flag0 = -1;
  flag0n = 0;
  flagsMore: number[] | null = null;
  /** packets counted as genuine-block / undetermined when they came: re-labelling a scanner's flow moves them */
  nBlock = 0;
  nUndet = 0;
  /** probes judged conntrack-loss (a bare FIN): scan packets too once the source turns out a scanner */
  nProbeLoss = 0;
  /**
   * With `--window`: {@link nBlock}, {@link nUndet} and {@link nProbeLoss} before, during and after it (three runs
   * of three), so re-labelling moves the window's counts as it moves the totals. Allocated at the first such packet.
   */
  winProbe: number[] | null = null;
  /** a probe (SYN, UDP to a port, crafted flags) set its verdict: re-labelled when its source turns out a scanner */
  probe = false;
  syn: SynTrack | null = null;
  window: WindowMarks | null = null;
  /** scan flows only: distinct destination ports (memory follows what was probed: at most an 8 KB bitmap) */
  portSet: PortSet | null = null;
  readonly host: string | null;
  readonly server: string;
  readonly client: string;
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
  firstSeen = 0;
  firstTs: number | null = null;
  firstMono: number | null = null;
  firstLine = 0;
  /** the source of `firstLine` (when more than one is read) */
  file: string | undefined = undefined;
  /** the source of `lastLine`: line numbers count within their own source */
  lastFile: string | undefined = undefined;
  /** conntrack INVALID lines (`nf_ct_proto_N:`) for this flow */
  ctInvalid = 0;
  ctReason: string | undefined = undefined;
  /** set when the table dropped it (so late references do not report it) */
  gone = false;
  /** the key as text, built when first asked for (see {@link Flow.key}) */
  private keyText: string | undefined = undefined;

  /**
   * Made by {@link FlowTable.create} only. Strings must not be slices of input text (see {@link own}): a flow
   * outlives the chunk it was read from; the table hands out shared copies. The ids are the table's key
   * (see {@link StringIds}; host 0 when there is none).
   */
  constructor(
    serverId: number, clientId: number, serverPort: number | null, hostId: number, protoId: number, icmpClass: number,
    host: string | null, proto: string, server: string, client: string,
  ) {
    this.serverId = serverId;
    this.clientId = clientId;
    this.serverPort = serverPort;
    this.hostId = hostId;
    this.protoId = protoId;
    this.icmpClass = icmpClass;
    this.host = host;
    this.proto = proto;
    this.server = server;
    this.client = client;
  }

  /**
   * wall-clock time (ms) of the latest packet that had one (its stamp, or its monotonic time dated by its host's boot
   * time); {@link firstTs} the earliest
   */
  get lastTs(): number | null {
    const v = this.lastTsNum;
    return v === v ? v : null;
  }

  set lastTs(v: number | null) {
    this.lastTsNum = v ?? NaN;
  }

  /** kernel monotonic seconds of the last packet that had them */
  get lastMono(): number | null {
    const v = this.lastMonoNum;
    return v === v ? v : null;
  }

  set lastMono(v: number | null) {
    this.lastMonoNum = v ?? NaN;
  }

  /** The flow's key as text ({@link flowKey}), unique among the flows held; for maps kept outside the table. */
  get key(): string {
    return (this.keyText ??= own(flowKey(this.host, this.proto, this.server, this.serverPort, this.client, this.icmpClass)));
  }

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
  addPort(port: number, pool?: PortBitmaps): void {
    (this.portSet ??= new PortSet()).add(port, pool);
  }
}

/**
 * Builds a flow key as text (for maps kept outside the table, e.g. samples per flow); one concatenation. A flow of
 * ICMP errors ends in `|error`, one of ICMPv6 neighbour discovery and MLD in `|link`; every other flow's key is the
 * five fields alone.
 */
export function flowKey(host: string | null, proto: string, server: string, serverPort: number | null, client: string, icmpClass = 0): string {
  return `${host ?? ''}|${proto}|${server}|${serverPort ?? ''}|${client}${icmpClass === ICMP_INFO ? '' : icmpClass === ICMP_ERROR ? '|error' : '|link'}`;
}

/** Mixes an int32 into a well-spread int32 (MurmurHash3's finaliser). */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * int32 → positive int32, in typed arrays: open addressing with linear probing and backward-shift deletion (no
 * tombstones), so lookups neither allocate nor box. Grows at half full.
 */
export class IntMap {
  private keys = new Int32Array(64);
  /** 0: empty slot */
  private vals = new Int32Array(64);
  private mask = 63;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The value of `key`, or 0 when absent. */
  get(key: number): number {
    const keys = this.keys;
    const vals = this.vals;
    const mask = this.mask;
    let i = fmix(key) & mask;
    for (;;) {
      const v = vals[i]!;
      if (v === 0 || keys[i] === key) return v;
      i = (i + 1) & mask;
    }
  }

  /** Sets `key` to `value` (> 0). */
  set(key: number, value: number): void {
    if ((this.count + 1) * 2 > this.vals.length) this.resize(this.vals.length * 2);
    const keys = this.keys;
    const vals = this.vals;
    const mask = this.mask;
    let i = fmix(key) & mask;
    while (vals[i] !== 0 && keys[i] !== key) i = (i + 1) & mask;
    if (vals[i] === 0) this.count++;
    keys[i] = key;
    vals[i] = value;
  }

  /** Removes `key`; the entries after it in its probe run shift back. */
  delete(key: number): boolean {
    const keys = this.keys;
    const vals = this.vals;
    const mask = this.mask;
    let i = fmix(key) & mask;
    for (;;) {
      if (vals[i] === 0) return false;
      if (keys[i] === key) break;
      i = (i + 1) & mask;
    }
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (vals[j] === 0) break;
      const home = fmix(keys[j]!) & mask;
      // the entry at j may fill the hole at i unless its home lies cyclically within (i, j]
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        keys[i] = keys[j]!;
        vals[i] = vals[j]!;
        i = j;
      }
    }
    vals[i] = 0;
    this.count--;
    return true;
  }

  private resize(n: number): void {
    const keys = this.keys;
    const vals = this.vals;
    this.keys = new Int32Array(n);
    this.vals = new Int32Array(n);
    this.mask = n - 1;
    this.count = 0;
    for (let i = 0; i < vals.length; i++) if (vals[i] !== 0) this.set(keys[i]!, vals[i]!);
  }
}

/**
 * A dotted-quad IPv4 address in its one canonical spelling (no leading zeros, parts ≤ 255) → its 32 bits as an
 * unsigned number; anything else → -1. Canonical only, so two different strings never give the same number.
 */
export function ipv4Bits(s: string): number {
  const n = s.length;
  if (n < 7 || n > 15) return -1;
  let v = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || dots === 3) return -1;
      v = v * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else {
      const d = c - 48;
      if (d < 0 || d > 9 || (digits === 1 && part === 0)) return -1;
      part = part * 10 + d;
      if (part > 255) return -1;
      digits++;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return v * 256 + part;
}

/** Keys remembered by {@link StringIds.idOfKey} (a power of two). */
const KEY_SLOTS = 4096;

/** Host strings remembered by {@link StringIds.hostIdOf} (a power of two). */
const HOST_CACHE = 8;

/**
 * Host names, addresses and protocol names ↔ small integer ids, so a flow's key is five integers instead of a
 * string built (and hashed) per packet. A Map keyed by a packet's fresh substring is slow in V8 (the hash is
 * computed anew, and the key comparison goes to a runtime call), so IPv4 addresses — nearly every packet — are
 * read as 32-bit numbers and looked up in an {@link IntMap}; other strings go through a Map, the host name behind
 * a one-entry cache (the parser hands out the same string object for consecutive lines of one host).
 *
 * The strings kept are flat copies ({@link own}) shared by every flow naming them; an id counts its holders and
 * is freed with the last one, so this holds no more than the flows do. Ids start at 1 (0 stands for "no host").
 */
export class StringIds {
  private readonly ids = new Map<string, number>();
  private readonly v4 = new IntMap();
  private readonly texts: string[] = [''];
  private refs = new Int32Array(256);
  /** per id: bumped when the id is freed, so a remembered key → id pair of an earlier holder is known stale */
  private epochs = new Int32Array(256);
  /** key → id, remembered (see idOfKey): direct-mapped by the key's low bits; a slot holds key + 1 (0: empty) */
  private readonly keySlots = new Float64Array(KEY_SLOTS);
  private readonly keyIds = new Int32Array(KEY_SLOTS);
  private readonly keyEpochs = new Int32Array(KEY_SLOTS);
  private readonly free: number[] = [];
  /** host strings looked up lately (the caller's objects: identity compares first) and their ids */
  private readonly recentHosts: string[] = new Array<string>(HOST_CACHE).fill('');
  private readonly recentHostIds = new Int32Array(HOST_CACHE).fill(-1);
  private nextRecent = 0;

  /** `pinned` strings (constants, e.g. protocol names) are kept as given, never copied nor freed. */
  constructor(pinned: readonly string[] = []) {
    for (const s of pinned) {
      if (this.idOf(s) >= 0) continue;
      const id = this.texts.length;
      this.texts.push(s);
      this.refs[id] = 1;
      this.index(s, id);
    }
  }

  /** The id of `s`, or -1 when nothing holds it. */
  idOf(s: string): number {
    const bits = ipv4Bits(s);
    if (bits >= 0) {
      const id = this.v4.get(bits | 0);
      return id === 0 ? -1 : id;
    }
    const id = this.ids.get(s);
    return id === undefined ? -1 : id;
  }

  /**
   * {@link idOf} of `s`, which `key` stands for (Packet.srcKey/dstKey: one key, one text): an id found once is
   * remembered by the key, and answers while that id is held.
   */
  idOfKey(key: number, s: string): number {
    const i = key & (KEY_SLOTS - 1);
    if (this.keySlots[i] === key + 1) {
      const id = this.keyIds[i]!;
      if (this.epochs[id] === this.keyEpochs[i]) return id;
    }
    const id = this.idOf(s);
    if (id >= 0) {
      this.keySlots[i] = key + 1;
      this.keyIds[i] = id;
      this.keyEpochs[i] = this.epochs[id]!;
    }
    return id;
  }

  /** {@link idOf} for host names: the same string object as last time answers without a lookup. */
  hostIdOf(s: string): number {
    const hosts = this.recentHosts;
    for (let i = 0; i < HOST_CACHE; i++) if (hosts[i] === s) return this.recentHostIds[i]!;
    const id = this.idOf(s);
    if (id >= 0) {
      const i = this.nextRecent;
      hosts[i] = s;
      this.recentHostIds[i] = id;
      this.nextRecent = (i + 1) & (HOST_CACHE - 1);
    }
    return id;
  }

  /** The id of `s`, created when missing; counts one more holder. */
  acquire(s: string): number {
    let id = this.idOf(s);
    if (id < 0) {
      const copy = own(s);
      id = this.free.length > 0 ? this.free.pop()! : this.texts.length;
      if (id === this.texts.length) this.texts.push(copy);
      else this.texts[id] = copy;
      if (id >= this.refs.length) {
        const r = new Int32Array(this.refs.length * 2);
        r.set(this.refs);
        this.refs = r;
        const ep = new Int32Array(r.length);
        ep.set(this.epochs);
        this.epochs = ep;
      }
      this.refs[id] = 0;
      this.index(copy, id);
    }
    this.refs[id]!++;
    return id;
  }

  /** One more holder of an id held already. */
  retain(id: number): void {
    this.refs[id]!++;
  }

  /** One holder fewer; the last one frees the id (and the string). */
  release(id: number): void {
    if (--this.refs[id]! !== 0) return;
    const s = this.texts[id]!;
    const bits = ipv4Bits(s);
    if (bits >= 0) this.v4.delete(bits | 0);
    else this.ids.delete(s);
    for (let i = 0; i < HOST_CACHE; i++) {
      if (this.recentHostIds[i] === id) {
        this.recentHosts[i] = '';
        this.recentHostIds[i] = -1;
      }
    }
    this.texts[id] = '';
    this.epochs[id]!++;
    this.free.push(id);
  }

  /** The kept string of an id. */
  text(id: number): string {
    return this.texts[id]!;
  }

  /** Strings held. */
  get size(): number {
    return this.ids.size + this.v4.size;
  }

  private index(s: string, id: number): void {
    const bits = ipv4Bits(s);
    if (bits >= 0) this.v4.set(bits | 0, id);
    else this.ids.set(s, id);
  }
}

export interface FlowTableOptions {
  maxFlows: number;
  idleMs: number;
}

/** Idle flows are looked for after this many adds, or a quarter of the table's size if larger (amortised O(1)). */
const SWEEP_EVERY = 4096;

const MIN_SLOTS = 1024;

/** Protocol names kept as the constants they are (judge() hands out these very strings); ids 1-6 in this order. */
const PINNED = ['', 'tcp', 'udp', 'udplite', 'icmp', 'icmpv6'];

/** The id of a protocol name: the pinned ones by a switch on the constant (no Map lookup per packet). */
function protoIdOf(ids: StringIds, proto: string): number {
  switch (proto) {
    case 'tcp': return 2;
    case 'udp': return 3;
    case 'icmp': return 5;
    case 'icmpv6': return 6;
    case 'udplite': return 4;
    case '': return 1;
    default: return ids.idOf(proto);
  }
}

/** One step of MurmurHash3's 32-bit block mixing. */
function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** The ICMP class rides in the protocol id's top bits: no extra mixing step, and a class-0 key hashes as before. */
function hashKey(server: number, client: number, serverPort: number | null, host: number, proto: number, icmpClass: number): number {
  return fmix(mix(mix(mix(mix(mix(0, server), client), serverPort === null ? -1 : serverPort), host), proto ^ (icmpClass << 30)));
}

/**
 * The flows held, bounded. Conntrack-loss and undetermined flows idle for `idleMs` expire (they are noise; their
 * packets stay counted in the summary); when the table is full, the least recently seen flows are evicted —
 * noise first, then anything. Both are counted.
 *
 * Keys are integers ({@link StringIds}); flows sit in an open-addressing hash table (linear probing, backward-shift
 * deletion) compared by their own id fields: a lookup builds and allocates nothing, and touches the slot and the
 * flow it updates anyway. Flows are also kept in the order they were added —
 * the order expiry, eviction and reports walk, as with the Map this replaces — removed ones marked `gone` and
 * compacted away in bulk.
 */
export class FlowTable {
  /** the strings the flows' keys name */
  readonly ids = new StringIds(PINNED);
  private mask = MIN_SLOTS - 1;
  private slots: Array<Flow | undefined> = new Array<Flow | undefined>(MIN_SLOTS).fill(undefined);
  private live = 0;
  /** flows in insertion order; removed ones (gone) stay until compacted */
  private order: Flow[] = [];
  private dead = 0;
  private addsSinceSweep = 0;
  expired = 0;
  evicted = 0;
  /** called for each flow that leaves the table */
  onRemove: ((f: Flow) => void) | undefined;

  constructor(private readonly opts: FlowTableOptions) {}

  get size(): number {
    return this.live;
  }

  /** The flow of this key, if held. A string no flow names is a miss at once. */
  find(host: string | null, proto: string, server: string, serverPort: number | null, client: string, icmpClass = 0): Flow | undefined {
    const ids = this.ids;
    const c = ids.idOf(client);
    return c < 0 ? undefined : this.findFor(host, proto, server, serverPort, c, icmpClass);
  }

  /** {@link find} with the client's id (from {@link ids}) known already. */
  findFor(host: string | null, proto: string, server: string, serverPort: number | null, c: number, icmpClass = 0): Flow | undefined {
    const s = this.ids.idOf(server);
    return s < 0 ? undefined : this.findIds(host, proto, s, serverPort, c, icmpClass);
  }

  /** {@link find} with the server's and the client's ids known already. */
  findIds(host: string | null, proto: string, s: number, serverPort: number | null, c: number, icmpClass = 0): Flow | undefined {
    const ids = this.ids;
    const h = host === null ? 0 : ids.hostIdOf(host);
    if (h < 0) return undefined;
    const p = protoIdOf(ids, proto);
    if (p < 0) return undefined;
    const slots = this.slots;
    const mask = this.mask;
    let i = hashKey(s, c, serverPort, h, p, icmpClass) & mask;
    for (;;) {
      const f = slots[i];
      if (f === undefined) return undefined;
      if (f.serverId === s && f.clientId === c && f.serverPort === serverPort && f.hostId === h && f.protoId === p && f.icmpClass === icmpClass) return f;
      i = (i + 1) & mask;
    }
  }

  /**
   * Adds a new flow of this key (not held: {@link find} said so) and returns it, on clock `clock`. `now` (event
   * time on that clock) drives idle expiry; when the table is full, the least recently seen flows make room first.
   */
  create(
    host: string | null, proto: string, server: string, serverPort: number | null, client: string, now: number,
    clock = WALL, icmpClass = 0,
  ): Flow {
    this.see(now, clock);
    if (++this.addsSinceSweep >= SWEEP_EVERY && this.addsSinceSweep >= this.live >>> 2) {
      this.addsSinceSweep = 0;
      this.expire();
    }
    if (this.live >= this.opts.maxFlows) this.evict();
    if (this.dead > 1024 && this.dead > this.live) {
      this.order = this.order.filter((f) => !f.gone);
      this.dead = 0;
    }
    const ids = this.ids;
    const h = host === null ? 0 : ids.acquire(host);
    const p = ids.acquire(proto);
    const s = ids.acquire(server);
    const c = ids.acquire(client);
    const f = new Flow(s, c, serverPort, h, p, icmpClass, host === null ? null : ids.text(h), ids.text(p), ids.text(s), ids.text(c));
    f.clock = clock;
    if ((this.live + 1) * 2 > this.slots.length) this.grow();
    this.insert(f);
    this.live++;
    this.order.push(f);
    return f;
  }

  /** Takes a flow out without counting it as expired or evicted (it was merged into another). */
  detach(f: Flow): void {
    if (!f.gone) this.remove(f);
  }

  /** The flows held, in the order they were added. */
  flows(): Flow[] {
    const out: Flow[] = [];
    for (const f of this.order) if (!f.gone) out.push(f);
    return out;
  }

  /** The latest event time seen on each clock (idle time is measured on a flow's own clock). */
  readonly nows = new Float64Array(CLOCKS).fill(-Infinity);

  /** Event time `now` was seen on `clock`. */
  see(now: number, clock: number): void {
    if (now > this.nows[clock]!) this.nows[clock] = now;
  }

  /** Expires noise flows idle for more than `idleMs` on their clock (after seeing `now` on `clock`, if given). */
  expire(now?: number, clock = WALL): void {
    if (now !== undefined) this.see(now, clock);
    const idle = this.opts.idleMs;
    const nows = this.nows;
    const order = this.order;
    for (let i = 0; i < order.length; i++) {
      const f = order[i]!;
      if (!f.gone && nows[f.clock]! - f.lastSeen > idle && isNoise(f)) {
        this.remove(f);
        this.expired++;
      }
    }
  }

  /** each flow's idle time at an eviction (by its index in `order`; NaN: gone), reused */
  private idleOf = new Float64Array(0);
  /** each flow's noise flag at an eviction (by its index in `order`), reused */
  private noiseOf = new Uint8Array(0);

  /**
   * Makes room for a fifth of the cap (amortised: one round per maxFlows/5 adds): the least recently seen noise
   * flows first, then the least recently seen of any kind. No sort: a sample of 1024 flows estimates the idle time
   * (on each flow's clock) of the cut, then the flows idle at least that long go, in the order they were added.
   * One pass reads every flow's idle time and kind into arrays: the sampling and the cut read those, and touch only
   * the flows they remove (a walk over the flows per step was most of a flood's eviction: a cache miss per flow).
   */
  private evict(): void {
    let excess = this.live - Math.floor(this.opts.maxFlows * 0.8);
    const order = this.order;
    const nows = this.nows;
    const n = order.length;
    if (this.idleOf.length < n) {
      this.idleOf = new Float64Array(Math.max(n, this.idleOf.length * 2));
      this.noiseOf = new Uint8Array(this.idleOf.length);
    }
    const idle = this.idleOf;
    const noise = this.noiseOf;
    let noisy = 0;
    for (let k = 0; k < n; k++) {
      const f = order[k]!;
      if (f.gone) {
        idle[k] = NaN;
        continue;
      }
      idle[k] = nows[f.clock]! - f.lastSeen;
      const x = isNoise(f) ? 1 : 0;
      noise[k] = x;
      noisy += x;
    }
    for (const noiseOnly of [true, false]) {
      if (excess <= 0) break;
      // every flow held is a candidate of the second round
      const candidates = noiseOnly ? noisy : this.live;
      if (candidates === 0) continue;
      const want = Math.min(excess, candidates);
      const step = Math.max(1, Math.floor(candidates / 1024));
      const sample: number[] = [];
      let i = 0;
      for (let k = 0; k < n; k++) {
        if (Number.isNaN(idle[k]!) || (noiseOnly && noise[k] === 0)) continue;
        if (i++ % step === 0) sample.push(idle[k]!);
      }
      sample.sort((a, b) => b - a);
      const cutoff = sample[Math.min(sample.length - 1, Math.ceil((want / candidates) * sample.length))]!;
      for (let k = 0; k < n && excess > 0; k++) {
        const t = idle[k]!;
        if (!(t >= cutoff) || (noiseOnly && noise[k] === 0)) continue;
        this.remove(order[k]!);
        idle[k] = NaN;
        this.evicted++;
        excess--;
      }
    }
  }

  private remove(f: Flow): void {
    this.unlink(f);
    f.gone = true;
    this.live--;
    this.dead++;
    // while the flow's ids are still valid (a listener may look them up)
    this.onRemove?.(f);
    const ids = this.ids;
    if (f.hostId !== 0) ids.release(f.hostId);
    ids.release(f.protoId);
    ids.release(f.serverId);
    ids.release(f.clientId);
  }

  private home(f: Flow): number {
    return hashKey(f.serverId, f.clientId, f.serverPort, f.hostId, f.protoId, f.icmpClass) & this.mask;
  }

  private insert(f: Flow): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = this.home(f);
    while (slots[i] !== undefined) i = (i + 1) & mask;
    slots[i] = f;
  }

  /** Takes `f` out of the hash table; the entries after it in its probe run shift back (no tombstones). */
  private unlink(f: Flow): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = this.home(f);
    while (slots[i] !== f) {
      if (slots[i] === undefined) throw new Error('flow table: flow not found');
      i = (i + 1) & mask;
    }
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const g = slots[j];
      if (g === undefined) break;
      const home = this.home(g);
      // g may fill the hole at i unless its home lies cyclically within (i, j]
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        slots[i] = g;
        i = j;
      }
    }
    slots[i] = undefined;
  }

  private grow(): void {
    const old = this.slots;
    const n = old.length * 2;
    this.slots = new Array<Flow | undefined>(n).fill(undefined);
    this.mask = n - 1;
    for (const f of old) if (f !== undefined) this.insert(f);
  }
}

function isNoise(f: Flow): boolean {
  // LAN chatter goes on for ever and is noise all the same
  return f.verdict === 'broadcast' || ((f.verdict === 'conntrack-loss' || f.verdict === 'undetermined') && !f.persistent);
}
