import { isAscii } from 'node:buffer';
import { readFileSync } from 'node:fs';
import type { DropEvent, Envelope, IcmpInfo, InnerPacket, Packet, Transport } from './event.js';
import { compressIpv6 } from './ipv6.js';
import { isGroupMac } from './mac.js';
import { jsonString } from '../output/ndjson.js';

/**
 * The bytes-to-records hot path: a WebAssembly scanner (src/parse/wasm/scan.ts, AssemblyScript) reads runs of
 * complete lines and writes one record of integers per line; this module turns records into events. The scanner
 * only says "event" for layouts it reads completely and exactly as the JavaScript parser would; every other line
 * comes back as "fallback" and goes through the JavaScript parser (envelope.ts, body.ts). Tests assert that both
 * give identical events on every fixture, the bench corpus and mutated lines (test/parse/wasm-scan.test.ts).
 *
 * Why WebAssembly: on the machines this runs on a JavaScript loop costs ~2 ns per character it looks at, and a
 * 250-byte line must be looked at whole; the scanner does it at well under 1 ns per byte and hands back numbers
 * and small string ids, so JavaScript only allocates the event itself.
 */

import {
  LAYOUT_VERSION,
  REC_SLOTS,
  R_STATUS,
  R_START,
  R_END,
  R_ENV,
  R_TRANSPORT,
  R_HOST,
  R_TKIND,
  R_Y,
  R_MO,
  R_D,
  R_H,
  R_MI,
  R_S,
  R_OFF,
  R_FRACV,
  R_FRACN,
  R_HASMONO,
  R_MONO,
  R_PREFIX,
  R_IN,
  R_OUT,
  R_MAC,
  R_UID,
  R_GID,
  R_HASUID,
  R_MARK,
  R_HASMARK,
  R_INNER,
  R_USEC,
  P_OUTER,
  P_INNER,
  P_FAMILY,
  P_SRC,
  P_DST,
  P_LEN,
  P_TOS,
  P_PREC,
  P_TTL,
  P_ID,
  P_IPFLAGS,
  P_TC,
  P_HOP,
  P_FLOWLBL,
  P_PROTO,
  P_SPT,
  P_DPT,
  P_WINDOW,
  P_RES,
  P_TCPFLAGS,
  P_URGP,
  P_UDPLEN,
  P_ITYPE,
  P_ICODE,
  P_IID,
  P_ISEQ,
  P_HASIDSEQ,
  P_SEQ,
  P_ACK,
  P_HASSEQ,
} from './scan-layout.js';
import { utcMs } from './time.js';

/** Record status: what the scanner made of a line. */
export const SCAN_FALLBACK = 0;
export const SCAN_EVENT = 1;
export const SCAN_SKIP = 2;
/** set by JavaScript on an event record it leaves out (a LOG prefix not asked for): emit() hands it back */
export const SCAN_FILTERED = 3;

const ENVELOPES: readonly (Envelope | undefined)[] = [
  undefined,
  'rfc3164',
  'rfc3339',
  'rfc5424',
  'journal-short-monotonic',
  'dmesg',
  'kmsg',
  'talos',
  'bare',
  'journal-json',
  'journal-short-unix',
];
const TRANSPORTS: readonly (Transport | undefined)[] = [undefined, 'kernel', 'syslog'];
const PROTOS: readonly (string | undefined)[] = [undefined, 'TCP', 'UDP', 'ICMP', 'ICMPv6'];
const TCP_FLAG_WORDS = ['AE', 'CWR', 'ECE', 'URG', 'ACK', 'PSH', 'RST', 'SYN', 'FIN'] as const;
const IP_FLAG_WORDS = ['CE', 'DF', 'MF'] as const;

/**
 * Flag-word arrays by bitmask, made once and frozen: every event with the same flags shares one array (events are
 * read-only; a consumer that tried to change one would throw rather than corrupt another event).
 */
function wordsOf(words: readonly string[], bits: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) if ((bits & (1 << i)) !== 0) out.push(words[i] as string);
  return Object.freeze(out) as string[];
}
const TCP_FLAGS: string[][] = Array.from({ length: 1 << TCP_FLAG_WORDS.length }, (_, b) => wordsOf(TCP_FLAG_WORDS, b));
const IP_FLAGS: (string[] | undefined)[] = Array.from({ length: 8 }, (_, b) => (b === 0 ? undefined : wordsOf(IP_FLAG_WORDS, b)));
/** More than the scanner's string ids (MAX_IDS in scan.ts): see Scanner.keyBase. */
const ID_SPAN = 1 << 16;
const POW10 = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];

/** The few WebAssembly JS-API parts used here (lib ES2023 does not declare them; Node provides them). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const WebAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface ScanExports {
  memory: WasmMemory;
  scan(from: number, end: number): number;
  reset(): void;
  stoppedAt(): number;
  isFull(): number;
  newStrings(): number;
  inputBase(): number;
  inputCap(): number;
  recordBase(): number;
  newBase(): number;
  layout(): number;
  emit(from: number, n: number, line: number): number;
  outBase(): number;
  outEnd(): number;
  emittedEvents(): number;
  skippedLines(): number;
  fileBase(): number;
  fileCap(): number;
  setFile(n: number): void;
  clockChanged(): void;
}

function loadModule(): object {
  // dist/parse/scan.wasm next to this file once built; from the sources (tests), the built copy under dist/.
  const candidates = [new URL('./scan.wasm', import.meta.url), new URL('../../dist/parse/scan.wasm', import.meta.url)];
  let lastErr: unknown;
  for (const url of candidates) {
    try {
      return new WebAssembly.Module(readFileSync(url));
    } catch (e) {
      lastErr = e;
    }
  }
  throw new Error(`fwdiag: cannot load the parser's WebAssembly scanner (run \`npm run build\`): ${String(lastErr)}`);
}

/** The time fields of a record, turned into epoch ms by the parser's clocks (year inference, zones). */
export interface ScanClocks {
  /** RFC3164 `Mmm dd HH:MM` → epoch ms of that minute (NaN when invalid) */
  syslogMinute(mo: number, day: number, h: number, mi: number): number;
}

/**
 * One scanner instance per process; parsers take turns (every call runs to completion synchronously). Interned
 * strings are kept by id until the scanner's table fills, then both sides start afresh.
 */
class Scanner {
  private readonly x: ScanExports;
  private readonly i32: Int32Array;
  private readonly u32: Uint32Array;
  private readonly f64: Float64Array;
  private readonly mem: Buffer;
  private readonly inBase: number;
  private readonly inCap: number;
  private readonly recBase: number;
  private readonly newBase: number;
  /** id → string, and what is derived from it once per id */
  private strs: string[] = [];
  private macParts: ([string, string, string] | null | undefined)[] = [];
  /** per MAC header id: its destination when that is a group (broadcast/multicast) address, else null */
  private groupDst: (string | null | undefined)[] = [];
  private shortV6: (string | undefined)[] = [];
  private isoKey = -1;
  /** added to a string id to make Packet.srcKey/dstKey: moves on by ID_SPAN at every reset, so keys never repeat */
  private keyBase = 0;
  private isoMs = 0;
  private fracCache: string[][] = [];

  constructor() {
    const inst = new WebAssembly.Instance(loadModule(), {
      env: {
        // emit(): RFC3164 minutes come from the parser's clock (year inference, zone)
        syslogMinute: (mo: number, d: number, h: number, mi: number): number => this.clocks.syslogMinute(mo, d, h, mi),
        // emit(): a number only JavaScript prints exactly (a time with a fraction of a millisecond), as JSON does
        num: (x: number, at: number): number => this.mem.write(JSON.stringify(x), at, 'latin1'),
        abort: (): never => {
          throw new Error('fwdiag: the parser scanner aborted');
        },
      },
    });
    this.x = inst.exports as unknown as ScanExports;
    const layout = this.x.layout();
    if (Math.floor(layout / 100000) !== LAYOUT_VERSION || Math.floor(layout / 100) % 1000 !== REC_SLOTS) {
      throw new Error(`fwdiag: parser scanner layout ${layout} does not match (rebuild with \`npm run build\`)`);
    }
    const buf = this.x.memory.buffer;
    this.i32 = new Int32Array(buf);
    this.u32 = new Uint32Array(buf);
    this.f64 = new Float64Array(buf);
    this.mem = Buffer.from(buf);
    this.inBase = this.x.inputBase();
    this.inCap = this.x.inputCap();
    this.recBase = this.x.recordBase() >> 2;
    this.newBase = this.x.newBase() >> 2;
  }

  /** The clock emit() dates RFC3164 stamps with (set by the parser before each emit run). */
  private clocks: ScanClocks = { syslogMinute: () => NaN };
  private fileFragment: string | undefined = undefined;
  private fileOk = true;

  /**
   * Prints records from..n-1 of the last scan as NDJSON into the scanner's output area (record `from` is input line
   * `line`), up to the first record JavaScript must handle; returns its index (n when none). `file` is the events'
   * `file` key, as the parser sets it. The bytes are outBytes(); emitted() and skipped() count what was done.
   */
  emit(from: number, n: number, line: number, clocks: ScanClocks, file: string | undefined): number {
    if (clocks !== this.clocks) {
      this.clocks = clocks;
      this.x.clockChanged();
    }
    if (file !== this.fileFragment) {
      this.fileFragment = file;
      // escaped as every JSON string fwdiag prints (DEL, C1, U+2028/U+2029 too), not only as JSON.stringify does
      const frag = file === undefined ? '' : `,"file":${jsonString(file)}`;
      const len = Buffer.byteLength(frag);
      this.fileOk = len <= this.x.fileCap();
      if (this.fileOk) {
        this.mem.write(frag, this.x.fileBase(), 'utf8');
        this.x.setFile(len);
      }
    }
    // A name too long for the fragment area: every record goes the JavaScript way.
    if (!this.fileOk) return from;
    return this.x.emit(from, n, line);
  }

  /**
   * The NDJSON bytes of the last emit() (a view into the scanner's memory: copy before the next call), less the last
   * `trim` bytes (2: one event's line without its closing `}\n`).
   */
  outBytes(trim = 0): Buffer {
    return this.mem.subarray(this.x.outBase(), this.x.outEnd() - trim);
  }
  emitted(): number {
    return this.x.emittedEvents();
  }
  skipped(): number {
    return this.x.skippedLines();
  }

  /** Largest run of bytes one load() takes. */
  get capacity(): number {
    return this.inCap;
  }

  /** Copies bytes (complete lines, the last ending in '\n') into the scanner's input area. */
  load(bytes: Uint8Array, start: number, end: number): void {
    if (end - start > this.inCap || bytes[end - 1] !== 10) throw new RangeError('scanner input: at most capacity bytes, ending in \\n');
    this.mem.set(bytes.subarray(start, end), this.inBase);
  }

  /** The loaded bytes [a, b) as a string (for lines JavaScript reads itself): latin1 when ASCII, else UTF-8. */
  text(a: number, b: number): string {
    const m = this.mem;
    const from = this.inBase + a;
    const to = this.inBase + b;
    return isAsciiRange(m, from, to) ? m.toString('latin1', from, to) : m.toString('utf8', from, to);
  }

  /** Scans loaded bytes [from, end); returns the number of records. Call takeStrings() before reading them. */
  scan(from: number, end: number): number {
    const n = this.x.scan(from, end);
    this.takeStrings();
    return n;
  }

  stoppedAt(): number {
    return this.x.stoppedAt();
  }

  /** After the records of a full scan are read: empty the intern table on both sides. */
  resetIfFull(): void {
    if (this.x.isFull() === 0) return;
    this.x.reset();
    this.keyBase += ID_SPAN;
    this.strs = [];
    this.macParts = [];
    this.groupDst = [];
    this.shortV6 = [];
  }

  private takeStrings(): void {
    const n = this.x.newStrings();
    const i32 = this.i32;
    const m = this.mem;
    let p = this.newBase;
    for (let k = 0; k < n; k++, p += 3) {
      const id = i32[p] as number;
      const off = i32[p + 1] as number;
      const len = i32[p + 2] as number;
      this.strs[id] = m.toString('latin1', off, off + len);
      this.macParts[id] = undefined;
      this.groupDst[id] = undefined;
      this.shortV6[id] = undefined;
    }
  }

  status(r: number): number {
    return this.i32[this.recBase + r * REC_SLOTS + R_STATUS] as number;
  }
  /** Marks record r (see SCAN_FILTERED). */
  setStatus(r: number, st: number): void {
    this.i32[this.recBase + r * REC_SLOTS + R_STATUS] = st;
  }
  /** The LOG prefix of event record r. */
  prefix(r: number): string {
    return this.str(this.i32[this.recBase + r * REC_SLOTS + R_PREFIX] as number);
  }
  lineStart(r: number): number {
    return this.i32[this.recBase + r * REC_SLOTS + R_START] as number;
  }
  lineEnd(r: number): number {
    return this.i32[this.recBase + r * REC_SLOTS + R_END] as number;
  }

  private str(id: number): string {
    return this.strs[id] as string;
  }

  private v6short(id: number): string {
    let s = this.shortV6[id];
    if (s === undefined) {
      s = compressIpv6(this.str(id));
      this.shortV6[id] = s;
    }
    return s;
  }

  /** Frac digits as written: `n` digits of value v (leading zeros restored), cached per (n, v) for n ≤ 3. */
  private fracStr(v: number, n: number): string {
    if (n <= 3) {
      let t = this.fracCache[n];
      if (t === undefined) {
        t = [];
        this.fracCache[n] = t;
      }
      let s = t[v];
      if (s === undefined) {
        s = String(v).padStart(n, '0');
        t[v] = s;
      }
      return s;
    }
    if (n === 6) return this.fracStr(Math.floor(v / 1000), 3) + this.fracStr(v % 1000, 3);
    return String(v).padStart(n, '0');
  }

  /**
   * The epoch ms of record r (NaN when none), its fraction digits as written in `lastFrac` for the caller's time
   * formatter — or '' without `withFrac` (packets carry no time string).
   */
  lastFrac = '';
  timeOf(r: number, clocks: ScanClocks, withFrac = true): number {
    const i32 = this.i32;
    const b = this.recBase + r * REC_SLOTS;
    const kind = i32[b + R_TKIND] as number;
    const fn = i32[b + R_FRACN] as number;
    let fracV = 0;
    let fracMs = 0;
    let frac = '';
    if (fn > 0) {
      fracV = i32[b + R_FRACV] as number;
      fracMs = (fracV * 1000) / (POW10[fn] as number);
    }
    if (kind === 1) {
      this.lastFrac = fn > 0 && withFrac ? this.fracStr(fracV, fn) : '';
      return clocks.syslogMinute(i32[b + R_MO] as number, i32[b + R_D] as number, i32[b + R_H] as number, i32[b + R_MI] as number) +
        (i32[b + R_S] as number) * 1000 + fracMs;
    }
    if (kind === 2) {
      const y = i32[b + R_Y] as number;
      const mo = i32[b + R_MO] as number;
      const d = i32[b + R_D] as number;
      const h = i32[b + R_H] as number;
      const mi = i32[b + R_MI] as number;
      const key = ((((y * 12 + mo) * 32 + d) * 24 + h) * 60) + mi;
      if (key !== this.isoKey) {
        this.isoKey = key;
        this.isoMs = utcMs(y, mo, d, h, mi);
      }
      if (fn > 0 && withFrac) {
        // talosctl prints nanoseconds; ISO output keeps microseconds (as the JavaScript envelope does).
        frac = fn > 6 && (i32[b + R_ENV] as number) === 7 ? this.fracStr(Math.floor(fracV / (POW10[fn - 6] as number)), 6) : this.fracStr(fracV, fn);
      }
      this.lastFrac = frac;
      return this.isoMs + (i32[b + R_S] as number) * 1000 - (i32[b + R_OFF] as number) * 60000 + fracMs;
    }
    if (kind === 4) {
      // journalctl short-unix: epoch seconds and the fraction as written, as decodeEnvelope() makes them
      this.lastFrac = withFrac ? this.fracStr(fracV, fn) : '';
      return (this.f64[(b + R_USEC) >> 1] as number) * 1000 + fracMs;
    }
    if (kind === 3) {
      // journal __REALTIME_TIMESTAMP, µs (exact: below 2^53), as journalEnvelope() turns it into ms and frac.
      const us = this.f64[(b + R_USEC) >> 1] as number;
      this.lastFrac = withFrac ? this.fracStr(us % 1_000_000, 6) : '';
      return us / 1000;
    }
    this.lastFrac = '';
    return NaN;
  }

  mono(r: number): number {
    const b = this.recBase + r * REC_SLOTS;
    return (this.i32[b + R_HASMONO] as number) === 0 ? NaN : (this.f64[(b + R_MONO) >> 1] as number);
  }
  envelope(r: number): Envelope {
    return ENVELOPES[this.i32[this.recBase + r * REC_SLOTS + R_ENV] as number] as Envelope;
  }
  transport(r: number): Transport | undefined {
    return TRANSPORTS[this.i32[this.recBase + r * REC_SLOTS + R_TRANSPORT] as number];
  }
  host(r: number): string | null {
    const id = this.i32[this.recBase + r * REC_SLOTS + R_HOST] as number;
    return id < 0 ? null : this.str(id);
  }

  /** The decoded parts (dst, src, type) of MAC header id `macId`, made once per id; null when not Ethernet. */
  private macPartsOf(macId: number): [string, string, string] | null {
    let parts = this.macParts[macId];
    if (parts === undefined) {
      const mac = this.str(macId);
      // An Ethernet hard header: dst(6) src(6) type(2) = 14 bytes = 41 chars.
      parts = mac.length === 41 ? [mac.slice(0, 17), mac.slice(18, 35), mac.slice(36, 38) + mac.slice(39, 41)] : null;
      this.macParts[macId] = parts;
    }
    return parts;
  }

  /**
   * The destination MAC of header id `macId` when it is a group address (its first octet's low bit), else undefined:
   * all a packet needs of the MAC (castOf), without cutting every header into parts as events do.
   */
  private groupDstOf(macId: number): string | undefined {
    let d = this.groupDst[macId];
    if (d === undefined) {
      const mac = this.str(macId);
      d = mac.length === 41 && isGroupMac(mac) ? mac.slice(0, 17) : null;
      this.groupDst[macId] = d;
    }
    return d ?? undefined;
  }

  /** The LOG body of record r into ev (all keys already present). */
  body(r: number, ev: DropEvent): void {
    const i32 = this.i32;
    const b = this.recBase + r * REC_SLOTS;
    ev.prefix = this.str(i32[b + R_PREFIX] as number);
    ev.in = this.str(i32[b + R_IN] as number);
    ev.out = this.str(i32[b + R_OUT] as number);
    const macId = i32[b + R_MAC] as number;
    if (macId >= 0) {
      ev.mac = this.str(macId);
      const parts = this.macPartsOf(macId);
      if (parts !== null) {
        ev.macdst = parts[0];
        ev.macsrc = parts[1];
        ev.macproto = parts[2];
      }
    }
    const o = b + P_OUTER;
    const fam = i32[o + P_FAMILY] as number;
    const srcId = i32[o + P_SRC] as number;
    const dstId = i32[o + P_DST] as number;
    ev.src = this.str(srcId);
    ev.dst = this.str(dstId);
    ev.len = i32[o + P_LEN] as number;
    if (fam === 4) {
      ev.tos = i32[o + P_TOS] as number;
      ev.prec = i32[o + P_PREC] as number;
      ev.ttl = i32[o + P_TTL] as number;
      ev.id = i32[o + P_ID] as number;
      ev.ipFlags = IP_FLAGS[i32[o + P_IPFLAGS] as number];
      ev.family = 4;
    } else {
      ev.tc = i32[o + P_TC] as number;
      ev.hoplimit = i32[o + P_HOP] as number;
      ev.flowlbl = i32[o + P_FLOWLBL] as number;
      ev.family = 6;
      ev.srcShort = this.v6short(srcId);
      ev.dstShort = this.v6short(dstId);
    }
    const proto = i32[o + P_PROTO] as number;
    ev.proto = PROTOS[proto];
    if (proto === 1) {
      ev.spt = i32[o + P_SPT] as number;
      ev.dpt = i32[o + P_DPT] as number;
      if ((i32[o + P_HASSEQ] as number) !== 0) {
        ev.seq = this.u32[o + P_SEQ] as number;
        ev.ack = this.u32[o + P_ACK] as number;
      }
      ev.window = i32[o + P_WINDOW] as number;
      ev.res = i32[o + P_RES] as number;
      ev.flags = TCP_FLAGS[i32[o + P_TCPFLAGS] as number];
      ev.urgp = i32[o + P_URGP] as number;
    } else if (proto === 2) {
      ev.spt = i32[o + P_SPT] as number;
      ev.dpt = i32[o + P_DPT] as number;
      ev.udpLen = i32[o + P_UDPLEN] as number;
    } else {
      ev.icmp = this.icmp(o, (i32[b + R_INNER] as number) !== 0 ? b + P_INNER : -1);
    }
    if ((i32[b + R_HASUID] as number) !== 0) {
      ev.uid = this.u32[b + R_UID] as number;
      ev.gid = this.u32[b + R_GID] as number;
    }
    if ((i32[b + R_HASMARK] as number) !== 0) ev.mark = this.u32[b + R_MARK] as number;
  }

  /**
   * What classification reads of record r (see Packet), into `pk`, which is reused record after record: every field
   * body() could set is set or cleared. Time fields are the caller's (as for body()).
   */
  packet(r: number, pk: Packet): void {
    const i32 = this.i32;
    const b = this.recBase + r * REC_SLOTS;
    const o = b + P_OUTER;
    const srcId = i32[o + P_SRC] as number;
    const dstId = i32[o + P_DST] as number;
    pk.in = this.str(i32[b + R_IN] as number);
    pk.out = this.str(i32[b + R_OUT] as number);
    pk.src = this.str(srcId);
    pk.dst = this.str(dstId);
    pk.srcKey = this.keyBase + srcId;
    pk.dstKey = this.keyBase + dstId;
    const macId = i32[b + R_MAC] as number;
    pk.macdst = macId < 0 ? undefined : this.groupDstOf(macId);
    if ((i32[o + P_FAMILY] as number) === 4) {
      pk.srcShort = undefined;
      pk.dstShort = undefined;
    } else {
      pk.srcShort = this.v6short(srcId);
      pk.dstShort = this.v6short(dstId);
    }
    const proto = i32[o + P_PROTO] as number;
    pk.proto = PROTOS[proto];
    if (proto === 1 || proto === 2) {
      pk.spt = i32[o + P_SPT] as number;
      pk.dpt = i32[o + P_DPT] as number;
      pk.flags = proto === 1 ? TCP_FLAGS[i32[o + P_TCPFLAGS] as number] : undefined;
      pk.icmp = undefined;
    } else {
      pk.spt = undefined;
      pk.dpt = undefined;
      pk.flags = undefined;
      pk.icmp = this.icmp(o, (i32[b + R_INNER] as number) !== 0 ? b + P_INNER : -1);
    }
  }

  /** ICMP info in the key order the JavaScript parser makes it: type, code, id, seq | inner. */
  private icmp(o: number, inner: number): IcmpInfo {
    const i32 = this.i32;
    const type = i32[o + P_ITYPE] as number;
    const code = i32[o + P_ICODE] as number;
    if ((i32[o + P_HASIDSEQ] as number) !== 0) return { type, code, id: i32[o + P_IID] as number, seq: i32[o + P_ISEQ] as number };
    if (inner >= 0) return { type, code, inner: this.inner(inner) };
    return { type, code };
  }

  /** A quoted packet, keys in the order its tokens come (then srcShort/dstShort, as finish() adds them). */
  private inner(o: number): InnerPacket {
    const i32 = this.i32;
    const p: InnerPacket = {};
    const fam = i32[o + P_FAMILY] as number;
    const srcId = i32[o + P_SRC] as number;
    const dstId = i32[o + P_DST] as number;
    p.src = this.str(srcId);
    p.dst = this.str(dstId);
    p.len = i32[o + P_LEN] as number;
    if (fam === 4) {
      p.tos = i32[o + P_TOS] as number;
      p.prec = i32[o + P_PREC] as number;
      p.ttl = i32[o + P_TTL] as number;
      p.id = i32[o + P_ID] as number;
      const fl = i32[o + P_IPFLAGS] as number;
      if (fl !== 0) p.ipFlags = [...(IP_FLAGS[fl] as string[])];
    } else {
      p.tc = i32[o + P_TC] as number;
      p.hoplimit = i32[o + P_HOP] as number;
      p.flowlbl = i32[o + P_FLOWLBL] as number;
    }
    const proto = i32[o + P_PROTO] as number;
    p.proto = PROTOS[proto] as string;
    if (proto === 1) {
      p.spt = i32[o + P_SPT] as number;
      p.dpt = i32[o + P_DPT] as number;
      if ((i32[o + P_HASSEQ] as number) !== 0) {
        p.seq = this.u32[o + P_SEQ] as number;
        p.ack = this.u32[o + P_ACK] as number;
      }
      p.window = i32[o + P_WINDOW] as number;
      p.res = i32[o + P_RES] as number;
      p.urgp = i32[o + P_URGP] as number;
      p.flags = [...(TCP_FLAGS[i32[o + P_TCPFLAGS] as number] as string[])];
    } else if (proto === 2) {
      p.spt = i32[o + P_SPT] as number;
      p.dpt = i32[o + P_DPT] as number;
      p.udpLen = i32[o + P_UDPLEN] as number;
    } else {
      const type = i32[o + P_ITYPE] as number;
      const code = i32[o + P_ICODE] as number;
      p.icmp = (i32[o + P_HASIDSEQ] as number) !== 0 ? { type, code, id: i32[o + P_IID] as number, seq: i32[o + P_ISEQ] as number } : { type, code };
    }
    if (fam === 6) {
      p.srcShort = this.v6short(srcId);
      p.dstShort = this.v6short(dstId);
    }
    return p;
  }
}

function isAsciiRange(m: Buffer, a: number, b: number): boolean {
  return isAscii(m.subarray(a, b));
}

let scanner: Scanner | undefined;

/** The process's scanner (created on first use). */
export function getScanner(): Scanner {
  scanner ??= new Scanner();
  return scanner;
}

export type { Scanner };
