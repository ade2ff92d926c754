import type { DropEvent, ParseIssue } from '../parse/event.js';

/**
 * NDJSON for events, written by hand, straight into bytes.
 *
 * The output is exactly `JSON.stringify` of the event (keys in contract order, `undefined` members left out, nested
 * objects in their own key order) with DEL, C1 controls and U+2028/U+2029 also escaped as `\uXXXX`: safe on a
 * terminal, valid JSON for any consumer. test/output/ndjson.test.ts holds the encoder to that reference.
 *
 * Why bytes: every string operation has a fixed price (each `a + b` allocates a rope node, each line is flattened
 * and copied again on its way to the fd, `Array#join` pays per element, a big joined batch lands in fresh pages),
 * and an event has ~60 pieces. Stores into a Uint8Array cost a few instructions, so:
 *  - keys and other constants are written as precomputed 32-bit words (`Lit`);
 *  - integers are written from a table of 4-digit words (`String(n)` allocates every time); `ts` and `mono` too;
 *  - string fields come in runs that repeat line after line (host…interfaces, the MAC header, the address pair):
 *    each run's bytes are cached, recognised by the fields' lengths and one exact compare of their concatenation
 *    (an exact compare of a string cut from a line is a runtime call: one per run, not one per field); a miss
 *    checks each string with one regular expression and copies it natively;
 *  - lines go into large Buffers, handed over whole (one `write()` per chunk), never written to again.
 * The hot path keeps the buffer and write position in locals; helpers take and return the position.
 */

const UNSAFE_AFTER_STRINGIFY = /[\u007f-\u009f\u2028\u2029]/g;
const escapeUnsafe = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** Needs no escaping inside a JSON string: printable ASCII other than `"` and `\`. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * Nothing JSON.stringify or we would escape: no `"`, `\`, C0, DEL, C1, U+2028/U+2029, nor any surrogate (a lone
 * one is escaped by JSON.stringify; pairs take the slow path too, rare in logs). Other non-ASCII text (`—`, `→`)
 * stands as it is.
 */
const NEEDS_ESCAPE = /[\x00-\x1f"\\\x7f-\x9f\u2028\u2029\ud800-\udfff]/;

/** A JSON string literal for `v`, escaping every control character (C0, DEL, C1) and the JS line separators. */
export function jsonString(v: string): string {
  if (!NEEDS_ESCAPE.test(v)) return `"${v}"`;
  return JSON.stringify(v).replace(UNSAFE_AFTER_STRINGIFY, escapeUnsafe);
}

/** Any JSON value with the same escaping as jsonString for every string inside it. */
export function jsonValue(v: unknown): string {
  return JSON.stringify(v).replace(UNSAFE_AFTER_STRINGIFY, escapeUnsafe);
}

/** The JSON object for a parse issue record. */
export function issueToJson(i: ParseIssue, file?: string): string {
  const f = file === undefined ? '' : `,"file":${jsonString(file)}`;
  return `{"issue":${jsonString(i.issue)},"message":${jsonString(i.message)},"line":${i.line}${f},"text":${jsonString(i.text)}}`;
}

// Buffer's native one-call copies (Buffer#write adds argument juggling on every call).
interface NativeBuffer {
  latin1Write(s: string, offset: number, length: number): number;
  utf8Write(s: string, offset: number, length: number): number;
  utf8Slice(start: number, end: number): string;
}
const native = (b: Buffer): NativeBuffer => b as unknown as NativeBuffer;

/**
 * A copy of `s` that shares no memory with it. Strings cut from input are often views into a whole read chunk;
 * a cache holding such a view would hold the chunk. (V8 flattens the concatenation before slicing it.)
 */
function detach(s: string): string {
  // Below 13 characters V8 makes neither views nor ropes: the string is its own copy (and may be a shared constant).
  return s.length < 13 ? s : `${s} `.slice(0, -1);
}

// ---------------------------------------------------------------------------------------------------------------
// Constants and tables

/**
 * Bytes to copy: the first 16 also as little-endian 32-bit words (short ones are written as words, and writers
 * may store up to 3 bytes past `n`; later writes cover them), longer ones copied natively.
 */
class Lit {
  readonly u8: Uint8Array;
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;
  constructor(
    bytes: Uint8Array,
    readonly n: number,
  ) {
    this.u8 = new Uint8Array(bytes.subarray(0, n)); // a copy: `bytes` is often a view into a whole chunk
    const w = new Int32Array(4);
    new Uint8Array(w.buffer).set(this.u8.subarray(0, Math.min(16, n)));
    this.w0 = w[0] as number;
    this.w1 = w[1] as number;
    this.w2 = w[2] as number;
    this.w3 = w[3] as number;
  }
  static of(ascii: string): Lit {
    return new Lit(Buffer.from(ascii, 'latin1'), ascii.length);
  }
}

/** "0000"…"9999" as little-endian words: the first digit in the low byte. */
const D4 = new Int32Array(10000);
for (let i = 0; i < 10000; i++) {
  const s = String(i).padStart(4, '0');
  D4[i] = s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24);
}

const QUOTE = 0x22;
const NEWLINE = 0x0a;

/**
 * Every write of a key, a number or a few bytes may assume this much room past the position: each variable-length
 * write (strings, cached runs, lists, objects) reserves its own length plus SLACK first, and every event starts with
 * EVENT_FIXED, which covers the longest stretch of keys and numbers between two reservations.
 */
const SLACK = 96;
const EVENT_FIXED = 2048;
/** Bytes per output chunk: a few hundred lines. */
const CHUNK_BYTES = 262144;
/** Pooled chunks for long runs of bytes (the scanner prints up to ~2 MiB at a time), and how many to keep. */
const POOL_CHUNK_BYTES = 4 << 20;
const POOL_KEEP = 4;

// ---------------------------------------------------------------------------------------------------------------
// Caches: direct-mapped by a hash of lengths and a few sampled characters (a collision only costs a miss), each
// hit verified by an exact compare.

function mix(h: number): number {
  // murmur3's finaliser: every input bit reaches the low bits a mask keeps
  h = Math.imul((h | 0) ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function slotOf(v: string): number {
  const n = v.length;
  if (n < 3) return n === 0 ? 0 : mix(n * 0x1000193 + v.charCodeAt(0) * 0x3b9 + v.charCodeAt(n - 1));
  // the tail (addresses differ there) and the middle
  return mix(n * 0x1000193 + v.charCodeAt(n - 1) * 0x3b9 + v.charCodeAt(n - 2) * 0x65 + v.charCodeAt(n - 3) * 0x1f + v.charCodeAt(n >> 1));
}

/** `,"key":"value"` bytes for recent values of one string field. */
class StrField {
  readonly keys: (string | undefined)[];
  readonly lits: (Lit | undefined)[];
  readonly mask: number;
  readonly key: Lit;
  constructor(key: string, slots: number) {
    this.key = Lit.of(key);
    this.keys = new Array<string | undefined>(slots).fill(undefined);
    this.lits = new Array<Lit | undefined>(slots).fill(undefined);
    this.mask = slots - 1;
  }
}

/** `,"key":[…]` bytes for recent lists of one list-of-words field (TCP flags, IP flags, unknown tokens). */
class WordsField {
  readonly lists: (readonly string[] | undefined)[] = new Array<readonly string[] | undefined>(64).fill(undefined);
  readonly lits: (Lit | undefined)[] = new Array<Lit | undefined>(64).fill(undefined);
  readonly key: Lit;
  constructor(key: string) {
    this.key = Lit.of(key);
  }
}

const F_FILE = new StrField(',"file":', 64);
const F_FRAG_ID = new StrField(',"fragId":', 64);
const F_IP_OPT = new StrField(',"ipOpt":', 64);
const F_PROTO = new StrField(',"proto":', 32);
const F_TCP_OPT = new StrField(',"tcpOpt":', 64);
/** strings inside nested objects (icmp, arp, ctInvalid), with no key */
const F_ANY = new StrField('', 1024);
const F_IP_FLAGS = new WordsField(',"ipFlags":');
const F_FLAGS = new WordsField(',"flags":');
const F_UNKNOWN = new WordsField(',"unknown":');

/**
 * Runs of string fields that go together, written as one cached piece: `,"host":…` through `,"physout":…` (host,
 * envelope, prefix, interfaces: the same few combinations line after line), `,"mac":…` through `,"vproto":…` (the
 * link header) and `,"family":…` through `,"dstShort":…` (the address pair). A hit costs one compare per field and
 * one native copy for the run. (Comparing one concatenation instead would build a rope and flatten it each time.)
 */
interface HeadRun {
  host: string | null;
  envelope: string;
  transport: string | undefined;
  prefix: string;
  in: string;
  out: string;
  physin: string | undefined;
  physout: string | undefined;
  lit: Lit;
}
interface LinkRun {
  mac: string | undefined;
  macsrc: string | undefined;
  macdst: string | undefined;
  macproto: string | undefined;
  vproto: string | undefined;
  lit: Lit;
}
interface AddrRun {
  family: number | undefined;
  src: string | undefined;
  dst: string | undefined;
  srcShort: string | undefined;
  dstShort: string | undefined;
  lit: Lit;
}
const RUN_SLOTS = 1024;
const heads: (HeadRun | undefined)[] = new Array<HeadRun | undefined>(RUN_SLOTS).fill(undefined);
const links: (LinkRun | undefined)[] = new Array<LinkRun | undefined>(RUN_SLOTS).fill(undefined);
/** Address pairs vary most (scanners from anywhere): four times the slots. */
const ADDR_SLOTS = 4096;
const addrs: (AddrRun | undefined)[] = new Array<AddrRun | undefined>(ADDR_SLOTS).fill(undefined);
/** detach for optional fields */
const keep = <T extends string | null | undefined>(s: T): T => (typeof s === 'string' ? (detach(s) as T) : s);
const lenOf = (s: string | null | undefined): number => (s === null || s === undefined ? -1 : s.length);

/** `"key":` bytes for keys of nested objects. */
const objectKeys = new Map<string, Lit>();

const K_LINE = Lit.of('{"line":');
const K_TIME = Lit.of(',"time":');
const K_TIME_NULL = Lit.of(',"time":null');
const K_TS = Lit.of(',"ts":');
const K_TS_NULL = Lit.of(',"ts":null');
const K_MONO = Lit.of(',"mono":');
const K_MONO_NULL = Lit.of(',"mono":null');
const K_HOST = Lit.of(',"host":');
const K_HOST_NULL = Lit.of(',"host":null');
const K_ENVELOPE = Lit.of(',"envelope":');
const K_TRANSPORT = Lit.of(',"transport":');
const K_PREFIX = Lit.of(',"prefix":');
const K_IN = Lit.of(',"in":');
const K_OUT = Lit.of(',"out":');
const K_PHYSIN = Lit.of(',"physin":');
const K_PHYSOUT = Lit.of(',"physout":');
const K_MAC = Lit.of(',"mac":');
const K_MACSRC = Lit.of(',"macsrc":');
const K_MACDST = Lit.of(',"macdst":');
const K_MACPROTO = Lit.of(',"macproto":');
const K_VPROTO = Lit.of(',"vproto":');
const K_VID = Lit.of(',"vid":');
const K_FAMILY = Lit.of(',"family":');
const K_SRC = Lit.of(',"src":');
const K_DST = Lit.of(',"dst":');
const K_SRC_SHORT = Lit.of(',"srcShort":');
const K_DST_SHORT = Lit.of(',"dstShort":');
const K_LEN = Lit.of(',"len":');
const K_TOS = Lit.of(',"tos":');
const K_PREC = Lit.of(',"prec":');
const K_TTL = Lit.of(',"ttl":');
const K_ID = Lit.of(',"id":');
const K_TC = Lit.of(',"tc":');
const K_HOPLIMIT = Lit.of(',"hoplimit":');
const K_FLOWLBL = Lit.of(',"flowlbl":');
const K_FRAG = Lit.of(',"frag":');
const K_SPT = Lit.of(',"spt":');
const K_DPT = Lit.of(',"dpt":');
const K_SEQ = Lit.of(',"seq":');
const K_ACK = Lit.of(',"ack":');
const K_WINDOW = Lit.of(',"window":');
const K_RES = Lit.of(',"res":');
const K_URGP = Lit.of(',"urgp":');
const K_UDP_LEN = Lit.of(',"udpLen":');
const K_ICMP = Lit.of(',"icmp":');
const K_SPI = Lit.of(',"spi":');
const K_INCOMPLETE = Lit.of(',"incomplete":');
const K_TRUNCATED = Lit.of(',"truncated":true');
const K_UID = Lit.of(',"uid":');
const K_GID = Lit.of(',"gid":');
const K_MARK = Lit.of(',"mark":');
const K_ARP = Lit.of(',"arp":');
const K_CT_INVALID = Lit.of(',"ctInvalid":');
const K_NULL = Lit.of('null');
const K_TRUE = Lit.of('true');
const K_FALSE = Lit.of('false');

/** A `,"time":…,"ts":…` run already written (lines of one second share it), by reference into earlier output. */
interface TimeMemo {
  time: string | null;
  ts: number | null;
  buf: Buffer;
  view: DataView;
  start: number;
  end: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Writers of fixed-size things: they take the position and return the new one; the caller has made room.

/** Short constants (keys): up to four word stores, no loop. */
function putLit(v: DataView, p: number, k: Lit): number {
  const n = k.n;
  if (n > 16) return putLong(v, p, k);
  v.setInt32(p, k.w0, true);
  if (n > 4) {
    v.setInt32(p + 4, k.w1, true);
    if (n > 8) {
      v.setInt32(p + 8, k.w2, true);
      if (n > 12) v.setInt32(p + 12, k.w3, true);
    }
  }
  return p + n;
}

/** Longer constants through a view (rare: putBytes copies cached runs straight from the Buffer). */
function putLong(v: DataView, p: number, k: Lit): number {
  new Uint8Array(v.buffer, v.byteOffset + p, k.n).set(k.u8);
  return p + k.n;
}

/** A whole number 0 ≤ n < 10000, without leading zeros. */
function putSmall(b: Buffer, v: DataView, p: number, n: number): number {
  if (n < 10) {
    b[p] = 48 + n;
    return p + 1;
  }
  if (n < 100) {
    v.setUint16(p, (D4[n] as number) >>> 16, true);
    return p + 2;
  }
  if (n < 1000) {
    v.setInt32(p, (D4[n] as number) >>> 8, true);
    return p + 3;
  }
  v.setInt32(p, D4[n] as number, true);
  return p + 4;
}

/** A whole number 0 ≤ n ≤ 2^53 − 1. */
function putUint(b: Buffer, v: DataView, p: number, n: number): number {
  if (n < 10000) return putSmall(b, v, p, n);
  if (n < 1e8) {
    const hi = Math.floor(n / 1e4);
    p = putSmall(b, v, p, hi);
    v.setInt32(p, D4[n - hi * 1e4] as number, true);
    return p + 4;
  }
  let hi = Math.floor(n / 1e8);
  let lo = n - hi * 1e8;
  // n / 1e8 may round up to the next integer
  if (lo < 0) {
    hi -= 1;
    lo += 1e8;
  }
  if (hi < 1e4) p = putSmall(b, v, p, hi);
  else {
    const hh = Math.floor(hi / 1e4);
    p = putSmall(b, v, p, hh);
    v.setInt32(p, D4[hi - hh * 1e4] as number, true);
    p += 4;
  }
  const m = Math.floor(lo / 1e4);
  v.setInt32(p, D4[m] as number, true);
  v.setInt32(p + 4, D4[lo - m * 1e4] as number, true);
  return p + 8;
}

/** `JSON.stringify(n)` for a number (at most 24 bytes). */
function putNum(b: Buffer, v: DataView, p: number, n: number): number {
  if (n >= 0 && n <= Number.MAX_SAFE_INTEGER && Math.floor(n) === n) return putUint(b, v, p, n);
  if (n < 0 && n >= -Number.MAX_SAFE_INTEGER && Math.floor(n) === n) {
    b[p] = 0x2d;
    return putUint(b, v, p + 1, -n);
  }
  if (!Number.isFinite(n)) return putLit(v, p, K_NULL);
  const s = String(n);
  return p + native(b).latin1Write(s, p, s.length);
}

/**
 * `JSON.stringify(m)` for kernel seconds with at most 6 decimals (how the kernel prints them), below 1e9. When `m`
 * is the double nearest to u/10⁶ with u below 10¹⁵, that decimal (≤ 15 significant digits) is the only one of its
 * length that maps to `m`, so it is exactly what the shortest round-trip conversion prints. Anything else takes
 * the general conversion.
 */
function putMono(b: Buffer, v: DataView, p: number, m: number): number {
  const u = Math.round(m * 1e6);
  if (u >= 0 && u < 1e15 && u / 1e6 === m) {
    const hi = Math.floor(u / 1e6);
    const frac = u - hi * 1e6;
    if (frac >= 0 && frac < 1e6) {
      p = putUint(b, v, p, hi);
      if (frac === 0) return p;
      const f1 = Math.floor(frac / 1000);
      b[p] = 0x2e;
      v.setInt32(p + 1, (D4[f1] as number) >>> 8, true);
      v.setInt32(p + 4, (D4[frac - f1 * 1000] as number) >>> 8, true);
      p += 7;
      while (b[p - 1] === 48) p--;
      return p;
    }
  }
  return putNum(b, v, p, m);
}

// ---------------------------------------------------------------------------------------------------------------

/**
 * NDJSON lines, encoded into byte chunks. `event()`/`text()` append a line; `take()` hands over the finished bytes,
 * which are never written to again (so a stream may hold on to them as long as it likes).
 */
export class NdjsonBuffer {
  // Internal state, read and written by the module's encoding functions.
  /** @internal current chunk */
  b: Buffer;
  /** @internal view of `b` */
  v: DataView;
  /** @internal write position */
  p = 0;
  /** @internal start of the bytes not taken yet */
  s = 0;
  /** @internal start of the line being written */
  ls = 0;
  /** @internal full chunks not taken yet */
  ready: Buffer[] = [];
  /** @internal the last two time runs */
  t0: TimeMemo | null = null;
  /** @internal */
  t1: TimeMemo | null = null;

  /**
   * @param chunkBytes size of each output chunk
   * @param keep false for a scratch encoder whose bytes are read back at once (eventString): nothing is queued
   */
  constructor(
    private readonly chunkBytes = CHUNK_BYTES,
    private readonly keep = true,
  ) {
    this.b = Buffer.allocUnsafe(chunkBytes);
    this.v = new DataView(this.b.buffer, this.b.byteOffset, this.b.length);
  }

  /** Appends one event as a JSON line. `extra` (already JSON: `"verdict":"…",…`) goes inside the object, last. */
  event(ev: DropEvent, extra = ''): void {
    this.begin();
    const p = encodeEvent(this, this.p, ev, extra);
    this.b[p] = NEWLINE;
    this.p = p + 1;
  }

  /**
   * Appends one event given as JSON bytes without the object's closing brace (the scanner's line less its `}\n`),
   * then `extra` as event() adds it: the same line event() writes for that event.
   */
  eventBytes(open: Uint8Array, extra: string): void {
    this.begin();
    let p = room(this, this.p, open.length + 1);
    this.b.set(open, p);
    p += open.length;
    if (extra !== '') {
      this.b[p++] = 0x2c;
      p = putText(this, p, extra);
    }
    p = room(this, p, 2);
    this.b[p] = 0x7d;
    this.b[p + 1] = NEWLINE;
    this.p = p + 2;
  }

  /** Appends one line of text (already safe JSON), adding the newline. */
  text(line: string): void {
    this.begin();
    const max = line.length * 3;
    const p = room(this, this.p, max + 1);
    const e = p + native(this.b).utf8Write(line, p, max);
    this.b[e] = NEWLINE;
    this.p = e + 1;
  }

  /** Buffers for long runs, back from release() (fresh memory costs a page fault per 4 KiB on first write). */
  private readonly pool: Buffer[] = [];
  private readonly pooled = new WeakSet<ArrayBufferLike>();

  /**
   * Appends complete NDJSON lines given as bytes (each ending in '\n'); they are copied. A long run gets a chunk of
   * its own, from a pool the writer refills by calling release() once a chunk is written.
   */
  bytes(src: Uint8Array): void {
    if (src.length >= this.chunkBytes >> 1 && this.keep) {
      if (this.p > this.s) {
        this.ready.push(this.b.subarray(this.s, this.p));
        this.s = this.p;
        this.ls = this.p;
      }
      let c = this.pool.pop();
      if (c === undefined || c.length < src.length) {
        c = Buffer.allocUnsafeSlow(Math.max(src.length, POOL_CHUNK_BYTES));
        this.pooled.add(c.buffer);
      }
      c.set(src);
      this.ready.push(c.subarray(0, src.length));
      return;
    }
    this.begin();
    const p = room(this, this.p, src.length);
    this.b.set(src, p);
    this.p = p + src.length;
  }

  /** A chunk from take() is written: its memory may be used again (only pooled chunks are). */
  release(chunk: Uint8Array): void {
    const ab = chunk.buffer;
    if (!this.pooled.has(ab) || this.pool.length >= POOL_KEEP) return;
    this.pool.push(Buffer.from(ab, 0, ab.byteLength));
  }

  /** Bytes appended and not taken yet. */
  get pending(): number {
    let n = this.p - this.s;
    for (const c of this.ready) n += c.length;
    return n;
  }

  /** The finished bytes since the last take, in order (zero or more chunks). */
  take(): Buffer[] {
    const out = this.ready;
    this.ready = [];
    if (this.p > this.s) out.push(this.b.subarray(this.s, this.p));
    this.s = this.p;
    this.ls = this.p;
    // Start the next take in a fresh chunk when this one is nearly used up.
    if (this.b.length - this.p < EVENT_FIXED * 4) this.fresh(0);
    return out;
  }

  /** One event's JSON object as a string (for callers that build their own lines). */
  eventString(ev: DropEvent, extra = ''): string {
    this.begin();
    const p = encodeEvent(this, this.p, ev, extra);
    const s = native(this.b).utf8Slice(this.ls, p);
    // Reuse the space; the time memos point into it.
    this.p = this.ls;
    this.t0 = null;
    this.t1 = null;
    return s;
  }

  /** A line starts here; makes sure the fixed-size parts of an event fit. */
  private begin(): void {
    this.ls = this.p;
    if (this.p + EVENT_FIXED > this.b.length) this.fresh(EVENT_FIXED);
  }

  /**
   * @internal Moves on to a new chunk of at least `need` free bytes: finished lines stay where they are (queued
   * for take), the line being written moves along.
   */
  fresh(need: number): void {
    if (this.keep && this.ls > this.s) this.ready.push(this.b.subarray(this.s, this.ls));
    const partial = this.p - this.ls;
    // Exactly what is needed when chunks are tiny (tests use that to move lines between chunks all the time).
    const nb = Buffer.allocUnsafe(Math.max(this.chunkBytes, partial + need));
    this.b.copy(nb, 0, this.ls, this.p);
    this.b = nb;
    this.v = new DataView(nb.buffer, nb.byteOffset, nb.length);
    this.s = 0;
    this.ls = 0;
    this.p = partial;
  }
}

/**
 * Room for `n` bytes plus SLACK at `p`; returns the position, which moves (with `o.b`) when the line goes to a new
 * chunk. Callers reload `o.b`/`o.v` after anything that may call this.
 */
function room(o: NdjsonBuffer, p: number, n: number): number {
  if (p + n + SLACK <= o.b.length) return p;
  o.p = p;
  o.fresh(n + SLACK);
  return o.p;
}

function putBytes(o: NdjsonBuffer, p: number, k: Lit): number {
  p = room(o, p, k.n);
  if (k.n <= 16) return putLit(o.v, p, k);
  o.b.set(k.u8, p);
  return p + k.n;
}

/** A JSON string literal for any string. */
function putStr(o: NdjsonBuffer, p: number, s: string): number {
  const n = s.length;
  p = room(o, p, n + 2);
  const b = o.b;
  if (n < 16) {
    // Short: check and copy in one pass.
    b[p] = QUOTE;
    let q = p + 1;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return putEscaped(o, p, s);
      b[q++] = c;
    }
    b[q] = QUOTE;
    return q + 1;
  }
  if (!PLAIN.test(s)) return putEscaped(o, p, s);
  b[p] = QUOTE;
  native(b).latin1Write(s, p + 1, n);
  b[p + 1 + n] = QUOTE;
  return p + n + 2;
}

/** The slow path: JSON.stringify's escaping plus DEL/C1/U+2028/U+2029, as UTF-8. */
function putEscaped(o: NdjsonBuffer, p: number, s: string): number {
  return putText(o, p, JSON.stringify(s).replace(UNSAFE_AFTER_STRINGIFY, escapeUnsafe));
}

/** Text that is already JSON, as UTF-8. */
function putText(o: NdjsonBuffer, p: number, j: string): number {
  p = room(o, p, j.length * 3);
  return p + native(o.b).utf8Write(j, p, j.length * 3);
}

/** `,"key":"value"` (no cache). */
function putKeyStr(o: NdjsonBuffer, p: number, k: Lit, s: string): number {
  p = putBytes(o, p, k);
  return putStr(o, p, s);
}

/** The bytes from line offset `rel` to `p` as a cache entry. */
function litFrom(o: NdjsonBuffer, rel: number, p: number): Lit {
  const start = o.ls + rel;
  return new Lit(o.b.subarray(start, p), p - start);
}

/** `,"key":"value"` through the field's cache. */
function putField(o: NdjsonBuffer, p: number, f: StrField, s: string): number {
  const i = slotOf(s) & f.mask;
  if (f.keys[i] === s) return putBytes(o, p, f.lits[i] as Lit);
  const rel = p - o.ls;
  p = putKeyStr(o, p, f.key, s);
  f.lits[i] = litFrom(o, rel, p);
  f.keys[i] = detach(s);
  return p;
}

/** `,"key":[…]` through the field's cache. */
function putWords(o: NdjsonBuffer, p: number, f: WordsField, a: readonly string[]): number {
  const n = a.length;
  let h = n;
  for (let j = 0; j < n; j++) {
    const w = a[j] as string;
    h = (h * 31 + w.length * 7 + (w.length === 0 ? 0 : w.charCodeAt(0))) | 0;
  }
  const i = mix(h) & 63;
  const c = f.lists[i];
  if (c !== undefined && c.length === n) {
    let j = 0;
    while (j < n && c[j] === a[j]) j++;
    if (j === n) return putBytes(o, p, f.lits[i] as Lit);
  }
  const rel = p - o.ls;
  p = putBytes(o, p, f.key);
  o.b[p++] = 0x5b;
  for (let j = 0; j < n; j++) {
    if (j > 0) o.b[p++] = 0x2c;
    p = putStr(o, p, a[j] as string);
  }
  o.b[p++] = 0x5d;
  f.lits[i] = litFrom(o, rel, p);
  f.lists[i] = a.map(detach);
  return p;
}

/** `,"time":…,"ts":…`, copied from one of the last two when the pair repeats. */
function putTime(o: NdjsonBuffer, p: number, time: string | null, ts: number | null): number {
  const t0 = o.t0;
  const t1 = o.t1;
  const m = t0 !== null && t0.ts === ts && t0.time === time ? t0 : t1 !== null && t1.ts === ts && t1.time === time ? t1 : null;
  if (m !== null) {
    const n = m.end - m.start;
    p = room(o, p, n);
    if (m.start + n + 3 <= m.buf.length) {
      // word copy (the last word may carry up to 3 bytes past the run; later writes cover them)
      const src = m.view;
      const v = o.v;
      for (let i = 0; i < n; i += 4) v.setInt32(p + i, src.getInt32(m.start + i, true), true);
    } else o.b.set(m.buf.subarray(m.start, m.end), p);
    return p + n;
  }
  const rel = p - o.ls;
  if (time === null) p = putBytes(o, p, K_TIME_NULL);
  else p = putKeyStr(o, p, K_TIME, time);
  if (ts === null) p = putLit(o.v, p, K_TS_NULL);
  else p = putNum(o.b, o.v, putLit(o.v, p, K_TS), ts);
  o.t1 = t0;
  o.t0 = { time, ts, buf: o.b, view: o.v, start: o.ls + rel, end: p };
  return p;
}

/** `,"host":…` through `,"physout":…` (see Run). */
function putHead(o: NdjsonBuffer, p: number, ev: DropEvent): number {
  const { host, envelope, transport, prefix, physin, physout } = ev;
  const lHost = lenOf(host);
  const lPrefix = prefix.length;
  const lEnv = envelope.length;
  let h = lHost * 0x3b9 + lPrefix * 0x65 + lEnv * 0x1f + ev.in.length * 7 + ev.out.length;
  // rfc3164/rfc3339/rfc5424, journal-short-*: the middle and the end tell them apart
  if (lEnv > 1) h = h * 0x3b9 + envelope.charCodeAt(lEnv >> 1) * 0x1f + envelope.charCodeAt(lEnv - 1) * 3 + lenOf(transport);
  if (host !== null && lHost > 1) h = h * 0x3b9 + host.charCodeAt(lHost - 1) * 0x1f + host.charCodeAt(lHost - 2);
  if (lPrefix > 1) h = h * 0x3b9 + prefix.charCodeAt(lPrefix - 1) * 0x1f + prefix.charCodeAt(lPrefix >> 1);
  const i = mix(h) & (RUN_SLOTS - 1);
  const e = heads[i];
  if (
    e !== undefined &&
    e.envelope === envelope &&
    e.transport === transport &&
    e.host === host &&
    e.in === ev.in &&
    e.out === ev.out &&
    e.physin === physin &&
    e.physout === physout &&
    e.prefix === prefix
  ) {
    return putBytes(o, p, e.lit);
  }
  const rel = p - o.ls;
  p = host === null ? putBytes(o, p, K_HOST_NULL) : putKeyStr(o, p, K_HOST, host);
  p = putKeyStr(o, p, K_ENVELOPE, envelope);
  if (transport !== undefined) p = putKeyStr(o, p, K_TRANSPORT, transport);
  p = putKeyStr(o, p, K_PREFIX, prefix);
  p = putKeyStr(o, p, K_IN, ev.in);
  p = putKeyStr(o, p, K_OUT, ev.out);
  if (physin !== undefined) p = putKeyStr(o, p, K_PHYSIN, physin);
  if (physout !== undefined) p = putKeyStr(o, p, K_PHYSOUT, physout);
  heads[i] = {
    host: keep(host),
    envelope: detach(envelope),
    transport: keep(transport),
    prefix: detach(prefix),
    in: detach(ev.in),
    out: detach(ev.out),
    physin: keep(physin),
    physout: keep(physout),
    lit: litFrom(o, rel, p),
  };
  return p;
}

/** `,"mac":…` through `,"vproto":…` (see Run). */
function putLink(o: NdjsonBuffer, p: number, ev: DropEvent): number {
  const { mac, macsrc, macdst, macproto, vproto } = ev;
  const lMac = lenOf(mac);
  let h = lMac * 0x65 + lenOf(macsrc) * 0x1f + lenOf(vproto);
  if (mac !== undefined) {
    if (lMac === 41) {
      // dd:dd:dd:dd:dd:dd:ss:ss:ss:ss:ss:ss:tt:tt — low bytes of both addresses
      h = h * 0x3b9 + mac.charCodeAt(9) * 0x65 + mac.charCodeAt(10) * 0x1f + mac.charCodeAt(15) * 7 + mac.charCodeAt(16);
      h = h * 0x3b9 + mac.charCodeAt(27) * 0x65 + mac.charCodeAt(28) * 0x1f + mac.charCodeAt(33) * 7 + mac.charCodeAt(34);
    } else if (lMac > 1) h = h * 0x3b9 + mac.charCodeAt(lMac - 1) * 0x1f + mac.charCodeAt(lMac >> 1);
  } else if (macsrc !== undefined && macsrc.length > 1) h = h * 0x3b9 + macsrc.charCodeAt(macsrc.length - 1);
  const i = mix(h) & (RUN_SLOTS - 1);
  const e = links[i];
  if (
    e !== undefined &&
    e.macproto === macproto &&
    e.vproto === vproto &&
    e.mac === mac &&
    e.macsrc === macsrc &&
    e.macdst === macdst
  ) {
    return putBytes(o, p, e.lit);
  }
  const rel = p - o.ls;
  if (mac !== undefined) p = putKeyStr(o, p, K_MAC, mac);
  if (macsrc !== undefined) p = putKeyStr(o, p, K_MACSRC, macsrc);
  if (macdst !== undefined) p = putKeyStr(o, p, K_MACDST, macdst);
  if (macproto !== undefined) p = putKeyStr(o, p, K_MACPROTO, macproto);
  if (vproto !== undefined) p = putKeyStr(o, p, K_VPROTO, vproto);
  links[i] = { mac: keep(mac), macsrc: keep(macsrc), macdst: keep(macdst), macproto: keep(macproto), vproto: keep(vproto), lit: litFrom(o, rel, p) };
  return p;
}

/** `,"family":…` through `,"dstShort":…` (see Run). */
function putAddresses(o: NdjsonBuffer, p: number, ev: DropEvent): number {
  const { family, src, dst, srcShort, dstShort } = ev;
  const lSrc = lenOf(src);
  const lDst = lenOf(dst);
  let h = (family ?? 0) * 0x3b9 + lSrc * 0x65 + lDst;
  if (src !== undefined && lSrc > 1) {
    h = h * 0x3b9 + src.charCodeAt(lSrc - 1) * 0x65 + src.charCodeAt(lSrc - 2) * 0x1f + src.charCodeAt(lSrc >> 1);
  }
  if (dst !== undefined && lDst > 1) h = h * 0x3b9 + dst.charCodeAt(lDst - 1) * 0x65 + dst.charCodeAt(lDst - 2);
  const i = mix(h) & (ADDR_SLOTS - 1);
  const e = addrs[i];
  if (
    e !== undefined &&
    e.family === family &&
    e.dst === dst &&
    e.src === src &&
    e.srcShort === srcShort &&
    e.dstShort === dstShort
  ) {
    return putBytes(o, p, e.lit);
  }
  const rel = p - o.ls;
  if (family !== undefined) {
    p = putBytes(o, p, K_FAMILY); // may move the line: read o.b/o.v after it
    p = putNum(o.b, o.v, p, family);
  }
  if (src !== undefined) p = putKeyStr(o, p, K_SRC, src);
  if (dst !== undefined) p = putKeyStr(o, p, K_DST, dst);
  if (srcShort !== undefined) p = putKeyStr(o, p, K_SRC_SHORT, srcShort);
  if (dstShort !== undefined) p = putKeyStr(o, p, K_DST_SHORT, dstShort);
  addrs[i] = { family, src: keep(src), dst: keep(dst), srcShort: keep(srcShort), dstShort: keep(dstShort), lit: litFrom(o, rel, p) };
  return p;
}

/** A value inside a nested object, as JSON.stringify writes it; -1 when JSON.stringify leaves the member out. */
function putValue(o: NdjsonBuffer, p: number, x: unknown): number {
  switch (typeof x) {
    case 'string':
      return putField(o, p, F_ANY, x);
    case 'number':
      p = room(o, p, 24);
      return putNum(o.b, o.v, p, x);
    case 'boolean':
      return putBytes(o, p, x ? K_TRUE : K_FALSE);
    case 'object':
      if (x === null) return putBytes(o, p, K_NULL);
      if (Array.isArray(x)) {
        p = room(o, p, 1);
        o.b[p++] = 0x5b;
        for (let i = 0; i < x.length; i++) {
          p = room(o, p, 1);
          if (i > 0) o.b[p++] = 0x2c;
          const q = putValue(o, p, x[i]);
          p = q < 0 ? putBytes(o, p, K_NULL) : q;
        }
        p = room(o, p, 1);
        o.b[p] = 0x5d;
        return p + 1;
      }
      return putObject(o, p, x);
    case 'bigint':
      jsonValue(x); // throws, as JSON.stringify does
      return -1;
    default:
      return -1;
  }
}

function putObject(o: NdjsonBuffer, p: number, x: object): number {
  const proto: unknown = Object.getPrototypeOf(x);
  // Class instances, boxed primitives, toJSON: JSON.stringify's own semantics.
  if ((proto !== Object.prototype && proto !== null) || 'toJSON' in x) return putText(o, p, jsonValue(x));
  p = room(o, p, 1);
  o.b[p++] = 0x7b;
  let first = true;
  for (const k of Object.keys(x)) {
    const val = (x as Record<string, unknown>)[k];
    if (val === undefined || typeof val === 'function' || typeof val === 'symbol') continue;
    let kl = objectKeys.get(k);
    if (kl === undefined) {
      const bytes = Buffer.from(`${jsonString(k)}:`, 'utf8');
      kl = new Lit(bytes, bytes.length);
      if (objectKeys.size > 1000) objectKeys.clear();
      objectKeys.set(k, kl);
    }
    p = room(o, p, kl.n + 1);
    if (!first) o.b[p++] = 0x2c;
    first = false;
    p = putValue(o, putLit(o.v, p, kl), val);
  }
  p = room(o, p, 1);
  o.b[p] = 0x7d;
  return p + 1;
}

/**
 * Writes one event's JSON object at `p` (the line start, with EVENT_FIXED of room) and returns the end. Keys and
 * numbers go through the local `b`/`v`; the put* helpers taking `o` reserve room for what they write (and may move
 * the line to a new chunk), so `b`/`v` are reloaded after them, and each stretch of keys and numbers between two
 * of them stays well within SLACK + EVENT_FIXED.
 */
function encodeEvent(o: NdjsonBuffer, p: number, ev: DropEvent, extra: string): number {
  let b = o.b;
  let v = o.v;
  p = putNum(b, v, putLit(v, p, K_LINE), ev.line);
  if (ev.file !== undefined) p = putField(o, p, F_FILE, ev.file);
  p = putTime(o, p, ev.time, ev.ts);
  b = o.b;
  v = o.v;
  p = ev.mono === null ? putLit(v, p, K_MONO_NULL) : putMono(b, v, putLit(v, p, K_MONO), ev.mono);
  p = putHead(o, p, ev);
  if (ev.mac !== undefined || ev.macsrc !== undefined || ev.macdst !== undefined || ev.macproto !== undefined || ev.vproto !== undefined) {
    p = putLink(o, p, ev);
  }
  p = room(o, p, EVENT_FIXED / 2);
  b = o.b;
  v = o.v;
  if (ev.vid !== undefined) p = putNum(b, v, putLit(v, p, K_VID), ev.vid);
  if (ev.family !== undefined || ev.src !== undefined || ev.dst !== undefined || ev.srcShort !== undefined || ev.dstShort !== undefined) {
    p = putAddresses(o, p, ev);
    p = room(o, p, EVENT_FIXED / 2);
    b = o.b;
    v = o.v;
  }
  if (ev.len !== undefined) p = putNum(b, v, putLit(v, p, K_LEN), ev.len);
  if (ev.tos !== undefined) p = putNum(b, v, putLit(v, p, K_TOS), ev.tos);
  if (ev.prec !== undefined) p = putNum(b, v, putLit(v, p, K_PREC), ev.prec);
  if (ev.ttl !== undefined) p = putNum(b, v, putLit(v, p, K_TTL), ev.ttl);
  if (ev.id !== undefined) p = putNum(b, v, putLit(v, p, K_ID), ev.id);
  if (ev.tc !== undefined) p = putNum(b, v, putLit(v, p, K_TC), ev.tc);
  if (ev.hoplimit !== undefined) p = putNum(b, v, putLit(v, p, K_HOPLIMIT), ev.hoplimit);
  if (ev.flowlbl !== undefined) p = putNum(b, v, putLit(v, p, K_FLOWLBL), ev.flowlbl);
  if (ev.ipFlags !== undefined) p = putWords(o, p, F_IP_FLAGS, ev.ipFlags);
  if (ev.frag !== undefined) p = putNum(o.b, o.v, putLit(o.v, p, K_FRAG), ev.frag);
  if (ev.fragId !== undefined) p = putField(o, p, F_FRAG_ID, ev.fragId);
  if (ev.ipOpt !== undefined) p = putField(o, p, F_IP_OPT, ev.ipOpt);
  if (ev.proto !== undefined) p = putField(o, p, F_PROTO, ev.proto);
  p = room(o, p, EVENT_FIXED / 2);
  b = o.b;
  v = o.v;
  if (ev.spt !== undefined) p = putNum(b, v, putLit(v, p, K_SPT), ev.spt);
  if (ev.dpt !== undefined) p = putNum(b, v, putLit(v, p, K_DPT), ev.dpt);
  if (ev.seq !== undefined) p = putNum(b, v, putLit(v, p, K_SEQ), ev.seq);
  if (ev.ack !== undefined) p = putNum(b, v, putLit(v, p, K_ACK), ev.ack);
  if (ev.window !== undefined) p = putNum(b, v, putLit(v, p, K_WINDOW), ev.window);
  if (ev.res !== undefined) p = putNum(b, v, putLit(v, p, K_RES), ev.res);
  if (ev.flags !== undefined) {
    p = putWords(o, p, F_FLAGS, ev.flags);
    b = o.b;
    v = o.v;
  }
  if (ev.urgp !== undefined) p = putNum(b, v, putLit(v, p, K_URGP), ev.urgp);
  if (ev.tcpOpt !== undefined) p = putField(o, p, F_TCP_OPT, ev.tcpOpt);
  if (ev.udpLen !== undefined) {
    p = putBytes(o, p, K_UDP_LEN);
    p = putNum(o.b, o.v, p, ev.udpLen);
  }
  if (ev.icmp !== undefined) p = putObject(o, putBytes(o, p, K_ICMP), ev.icmp);
  p = room(o, p, EVENT_FIXED / 2);
  b = o.b;
  v = o.v;
  if (ev.spi !== undefined) p = putNum(b, v, putLit(v, p, K_SPI), ev.spi);
  if (ev.incomplete !== undefined) p = putNum(b, v, putLit(v, p, K_INCOMPLETE), ev.incomplete);
  if (ev.truncated !== undefined) p = putLit(v, p, K_TRUNCATED);
  if (ev.uid !== undefined) p = putNum(b, v, putLit(v, p, K_UID), ev.uid);
  if (ev.gid !== undefined) p = putNum(b, v, putLit(v, p, K_GID), ev.gid);
  if (ev.mark !== undefined) p = putNum(b, v, putLit(v, p, K_MARK), ev.mark);
  if (ev.arp !== undefined) p = putObject(o, putLit(v, p, K_ARP), ev.arp);
  if (ev.ctInvalid !== undefined) p = putObject(o, putBytes(o, p, K_CT_INVALID), ev.ctInvalid);
  if (ev.unknown !== undefined) p = putWords(o, p, F_UNKNOWN, ev.unknown);
  if (extra !== '') {
    p = room(o, p, 1);
    o.b[p++] = 0x2c;
    p = putText(o, p, extra);
  }
  p = room(o, p, 1);
  o.b[p] = 0x7d;
  return p + 1;
}

const scratch = new NdjsonBuffer(64 * 1024, false);

/**
 * The JSON object for one event, without a newline. `extra` (already JSON: `"verdict":"…",…`) is appended
 * inside the object, so later stages add their keys without re-serialising the event.
 */
export function eventToJson(ev: DropEvent, extra = ''): string {
  return scratch.eventString(ev, extra);
}
