import type { DropEvent, LineResult, Packet, ParseCounters, ParseIssue } from './event.js';
import { findBodyStart, parseBody } from './body.js';
import {
  type EnvelopeContext,
  type EnvelopeInfo,
  decodeEnvelope,
  journalEnvelope,
  JOURNAL_KEYS,
  kernelStampAt,
} from './envelope.js';
import { CtimeClock, IsoFormatter, SyslogClock, ZonedClock, isoRepresentable } from './time.js';
import { SCAN_EVENT, SCAN_FALLBACK, SCAN_FILTERED, SCAN_SKIP, type ScanClocks, type Scanner, getScanner } from './wasm-scan.js';

export interface ParserOptions {
  /**
   * IANA zone for envelopes that carry local wall-clock time without an offset (RFC3164 syslog, dmesg -T).
   * @default the process's local zone
   */
  tz?: string;
  /** Reference clock (ms since the epoch) for inferring the year of RFC3164 stamps. @default Date.now */
  now?: () => number;
  /** Wall-clock boot time (ms) used to date /dev/kmsg and dmesg monotonic stamps. @default unknown (time null) */
  bootTimeMs?: number;
  /** Source name put on every event as `file`. @default none */
  file?: string;
  /**
   * Try the single-regex fast path before the general tokenizer. Both give identical events (tested); off is
   * for those tests and for debugging.
   * @default true
   */
  fastPath?: boolean;
  /**
   * Keep only LOG lines whose prefix starts with one of these (`HARVESTER_DROP_`, `[UFW BLOCK]`); the others —
   * another LOG rule's lines, which may log accepted packets — are skipped and counted in `otherPrefix`.
   * Conntrack INVALID lines (`nf_ct_proto_N:`, before Linux 4.14 `nf_ct_tcp:` …) carry no LOG prefix and are always kept.
   * @default every prefix
   */
  prefixes?: readonly string[];
}

export interface LineParser {
  /** Parses the next input line (numbered 1, 2, … per parser). */
  parseLine(text: string): LineResult;
  /**
   * Parses a run of complete lines given as bytes (each line ending in `\n`; a `\r` before it is dropped, as the
   * line splitter does), appending events and issues to `out`. Same results as parseLine() on each decoded line,
   * much faster (the WebAssembly scanner reads the common layouts). Returns the number of lines read.
   */
  parseBytes(bytes: Uint8Array, out: LineResult[]): number;
  /**
   * parseBytes() handing each event and issue to `each` as soon as it is built, so a consumer (the classifier)
   * reads it while it is still in cache and it can die young; `text()` gives its input line (decoded only when
   * asked; valid during the call). Returns the number of lines read.
   */
  parseBytesEach(bytes: Uint8Array, each: (r: LineResult, text: () => string) => void): number;
  /**
   * parseBytesEach() for consumers that print no event (a classifier counting, `analyze --summary`): lines the
   * scanner read come to `packet` as a Packet — one object refilled for every line, valid only during the call —
   * without the event's other fields being built; the rest (JavaScript's events, issues) to `each`, in input order.
   * `event()` builds the packet's whole event, for the few a consumer prints (valid during the call only).
   */
  parseBytesPackets(bytes: Uint8Array, packet: (p: Packet, event: () => DropEvent, text: () => string) => void, each: (r: LineResult, text: () => string) => void): number;
  /**
   * parseBytesPackets() for `analyze --json`: each packet comes with its event's JSON as the scanner prints it
   * (parseBytesNdjson's bytes), less the closing `}\n`, for the caller to finish with its own keys; a view valid only
   * during the call.
   */
  parseBytesJsonPackets(bytes: Uint8Array, packet: (p: Packet, json: Uint8Array) => void, each: (r: LineResult, text: () => string) => void): number;
  /**
   * parseBytes() for NDJSON output: the scanner prints the events it read as NDJSON bytes itself (the same bytes
   * NdjsonBuffer writes for the events parseBytes() would give); other lines' results come to `sink.result`, in
   * input order with the bytes. Returns the number of lines read.
   */
  parseBytesNdjson(bytes: Uint8Array, sink: NdjsonSink): number;
  /** Ends a pending multi-line record (journal export without a final blank line). */
  flush(): LineResult[];
  readonly counters: ParseCounters;
  /**
   * LOG prefixes seen so far and their lines (kept or left out by `prefixes`), at most MAX_PREFIXES distinct; more
   * are counted under OTHER_PREFIXES. Several prefixes mean several LOG rules, some of which may log accepted packets.
   */
  prefixesSeen(): Map<string, number>;
}

/** Distinct LOG prefixes tallied by LineParser.prefixesSeen(); the lines of further ones go under OTHER_PREFIXES. */
export const MAX_PREFIXES = 32;
export const OTHER_PREFIXES = '(other prefixes)';

/**
 * A tallied prefix as an output shows it: a real one marked up by `quote` (in quotes, as code) to show its exact
 * characters, trailing space and all; OTHER_PREFIXES as it is — no LOG rule wrote it, so it is not shown as one.
 */
export function prefixLabel(prefix: string, quote: (p: string) => string): string {
  return prefix === OTHER_PREFIXES ? prefix : quote(prefix);
}

/** Where parseBytesNdjson() puts its output. */
export interface NdjsonSink {
  /** NDJSON lines (complete events, each ending in '\n'); a view valid only during the call */
  bytes(b: Uint8Array): void;
  /** an event or issue the JavaScript parser made, next in input order */
  result(r: LineResult): void;
}

/** An issue record keeps at most this much of the offending line. */
const ISSUE_TEXT_MAX = 1024;

const SKIP: LineResult = { kind: 'skip' };
/** What journalctl prints without `--all` for a message that is not valid UTF-8 (systemd's format_bytes: 221B, 1.2K) */
const BLOB_DATA = /^\[\d+(?:\.\d)?[BKMGTPE] blob data\]$/;

/** `journalctl -o verbose`'s header: `Tue 2026-11-24 01:13:46.672397 UTC [s=…;i=…;b=…;m=…;t=…;x=…]` (t: realtime). */
const VERBOSE_HEAD = /^[A-Z][a-z]{2} \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,9})? \S+ \[s=[0-9a-f]+;i=[0-9a-f]+;b=[0-9a-f]+;m=[0-9a-f]+;t=([0-9a-f]{1,14});x=[0-9a-f]+\]$/;
/** A field of a verbose record: four spaces, the name, `=`, the value as journalctl shows it. */
const VERBOSE_FIELD = /^ {4}([A-Za-z0-9_]+)=(.*)$/;

/** A new event with every key present, in contract order (see DropEvent). */
function newEvent(
  line: number,
  file: string | undefined,
  time: string | null,
  ts: number | null,
  mono: number | null,
  host: string | null,
  envelope: DropEvent['envelope'],
  transport: DropEvent['transport'],
): DropEvent {
  return {
    line, file, time, ts, mono, host, envelope, transport, prefix: '', in: '', out: '',
    physin: undefined, physout: undefined, mac: undefined, macsrc: undefined, macdst: undefined, macproto: undefined,
    vproto: undefined, vid: undefined, family: undefined, src: undefined, dst: undefined, srcShort: undefined,
    dstShort: undefined, len: undefined, tos: undefined, prec: undefined, ttl: undefined, id: undefined, tc: undefined,
    hoplimit: undefined, flowlbl: undefined, ipFlags: undefined, frag: undefined, fragId: undefined, ipOpt: undefined,
    proto: undefined, spt: undefined, dpt: undefined, seq: undefined, ack: undefined, window: undefined, res: undefined,
    flags: undefined, urgp: undefined, tcpOpt: undefined, udpLen: undefined, icmp: undefined, spi: undefined,
    incomplete: undefined, truncated: undefined, uid: undefined, gid: undefined, mark: undefined, arp: undefined,
    ctInvalid: undefined, unknown: undefined,
  };
}
const PENDING: LineResult = { kind: 'pending' };

/** Most characters of one json-pretty record kept (a LOG message is well under 1 KiB; a record, a few KiB). */
const MAX_PRETTY_CHARS = 1 << 20;

/** Quick test before the JSON parse: could this line hold a LOG body at all? */
function mayHoldLog(s: string): boolean {
  // A MESSAGE given as an array of bytes can only be told after decoding.
  return s.indexOf('IN=') >= 0 || s.indexOf('SRC=') >= 0 || s.indexOf('"MESSAGE":[') >= 0 || s.indexOf('"MESSAGE" : [') >= 0;
}

/**
 * Creates a stateful line parser for one input stream. Pure apart from its own state (year inference, the
 * pending journal-export record): no I/O.
 */
export function createParser(opts: ParserOptions = {}): LineParser {
  const now = opts.now ?? Date.now;
  const ctx: EnvelopeContext = { syslog: new SyslogClock(opts.tz, now), ctime: new CtimeClock(opts.tz), zoned: new ZonedClock(opts.tz) };
  const iso = new IsoFormatter();
  const bootTimeMs = opts.bootTimeMs;
  const file = opts.file;
  const fastPath = opts.fastPath ?? true;
  const counters: ParseCounters = { lines: 0, events: 0, skipped: 0, issues: 0, cut: 0, otherPrefix: 0 };
  const prefixes = opts.prefixes !== undefined && opts.prefixes.length > 0 ? [...opts.prefixes] : undefined;
  /** prefix → kept, for the prefixes seen (a handful per log; bounded all the same) */
  const kept = new Map<string, boolean>();
  function keepPrefix(prefix: string): boolean {
    let k = kept.get(prefix);
    if (k === undefined) {
      k = prefixes === undefined || prefixes.some((p) => prefix.startsWith(p));
      if (kept.size >= 4096) kept.clear();
      kept.set(prefix, k);
    }
    return k;
  }
  // LOG prefixes seen: a run of lines of one prefix (the usual log) costs one compare a line
  const seen = new Map<string, number>();
  let runPrefix: string | undefined;
  let runLines = 0;
  function tally(prefix: string): void {
    if (prefix === runPrefix) {
      runLines++;
      return;
    }
    endRun();
    runPrefix = prefix;
    runLines = 1;
  }
  function endRun(): void {
    if (runPrefix === undefined) return;
    const key = seen.has(runPrefix) || seen.size < MAX_PREFIXES ? runPrefix : OTHER_PREFIXES;
    seen.set(key, (seen.get(key) ?? 0) + runLines);
    runPrefix = undefined;
    runLines = 0;
  }
  function prefixesSeen(): Map<string, number> {
    endRun();
    return new Map(seen);
  }

  /** The JavaScript parser's event (or issue's event) `ev` is of a prefix not asked for: count it so. */
  function leftOut(ev: DropEvent): boolean {
    if (ev.ctInvalid === undefined) tally(ev.prefix);
    if (prefixes === undefined || ev.ctInvalid !== undefined || keepPrefix(ev.prefix)) return false;
    counters.otherPrefix++;
    return true;
  }
  const env: EnvelopeInfo = {
    s: '',
    msg: 0,
    ms: NaN,
    frac: '',
    mono: NaN,
    host: null,
    envelope: 'bare',
    transport: undefined,
  };

  // journalctl -o export: `KEY=value` lines until a blank line.
  let exportFields: Record<string, unknown> | null = null;
  let exportLine = 0;
  let exportBinaryKey: string | null = null;
  /** a binary field's length bytes so far, when one of them was a newline (`\n` put back) */
  let exportBinaryHead = '';
  // journalctl -o json-pretty: `{`, tab-indented `"KEY" : value` lines, `}`.
  let pretty: string[] | null = null;
  let prettyLine = 0;
  let prettyChars = 0;
  /** lines of the open record, `{` included */
  let prettyCount = 0;
  // journalctl -o verbose: a header line (time, then the cursor in brackets), then `    KEY=value` lines
  let verbose: Record<string, string> | null = null;
  /** a multi-line record (export, json-pretty, verbose) is open: every line goes to the JavaScript parser until it ends */
  let inRecord = false;

  function issue(code: ParseIssue['issue'], message: string, line: number, text: string): LineResult {
    counters.issues++;
    return {
      kind: 'issue',
      issue: { issue: code, message, line, text: text.length > ISSUE_TEXT_MAX ? text.slice(0, ISSUE_TEXT_MAX) : text },
    };
  }

  function fromEnvelope(line: number, raw: string): LineResult {
    kernelStampAt(env);
    const s = env.s;
    const start = env.msg;
    const body = findBodyStart(s, start);
    if (body < 0) {
      // Not a LOG line — unless it plainly tries to be one (addresses and a protocol without IN=/OUT=).
      if (s.indexOf('SRC=', start) >= 0 && s.indexOf(' DST=', start) >= 0 && s.indexOf(' PROTO=', start) >= 0) {
        const why = s.indexOf('IN=', start) >= 0 ? 'with IN= but no OUT= after it (the kernel writes both)' : 'without IN= and OUT=';
        return issue('missing-field', `LOG-like line ${why}`, line, raw);
      }
      // journalctl prints `[221B blob data]` for a message that is not valid UTF-8 (a LOG prefix with such bytes)
      if (BLOB_DATA.test(s.slice(start))) {
        return issue('other-format', 'journalctl hid a kernel message that is not valid UTF-8: run journalctl with --all (-a)', line, raw);
      }
      counters.skipped++;
      return SKIP;
    }
    const ev = datedEvent(line, env.ms, env.frac, env.mono, env.host, env.envelope, env.transport);
    const err = parseBody(s, start, body, ev, fastPath);
    if (leftOut(ev)) return SKIP;
    if (err !== null) {
      counters.issues++;
      const text = raw.length > ISSUE_TEXT_MAX ? raw.slice(0, ISSUE_TEXT_MAX) : raw;
      // a cut line's packet is not judged: what is missing may be what decides (TCP flags come last, before URGP=);
      // nor is a line of another format (ebtables' own): its fields were not read as a LOG line's
      if (err.code === 'truncated' || err.code === 'other-format') return { kind: 'issue', issue: { issue: err.code, message: err.message, line, text } };
      return { kind: 'issue', issue: { issue: err.code, message: err.message, line, text }, event: ev };
    }
    counters.events++;
    return { kind: 'event', event: ev };
  }

  function endExport(): LineResult {
    const f = exportFields;
    const line = exportLine;
    exportFields = null;
    exportBinaryKey = null;
    exportBinaryHead = '';
    inRecord = false;
    if (f === null) return SKIP;
    if (!journalEnvelope(env, f, 'journal-export')) {
      counters.skipped++;
      return SKIP;
    }
    return fromEnvelope(line, env.s);
  }

  function exportLineIn(text: string, line: number): LineResult {
    if (exportFields === null) {
      exportFields = {};
      exportLine = line;
      inRecord = true;
    }
    if (exportBinaryKey !== null) {
      // Binary field: 8-byte little-endian length, then the data. LOG lines hold no newline, so the data is the
      // rest of this line (the length bytes decode to 8 characters, valid or U+FFFD) — but a length byte can be
      // 0x0a (a length of 266, 522, …, 2560 …): the length then spans lines, put back together here.
      const t = exportBinaryHead + text;
      if (t.length < 8) {
        exportBinaryHead = `${t}\n`;
        return PENDING;
      }
      exportBinaryHead = '';
      if (JOURNAL_KEYS.has(exportBinaryKey)) exportFields[exportBinaryKey] = t.slice(8);
      exportBinaryKey = null;
      return PENDING;
    }
    if (text.length === 0) return endExport();
    const eq = text.indexOf('=');
    if (eq < 0) {
      exportBinaryKey = text;
      return PENDING;
    }
    const key = text.slice(0, eq);
    if (JOURNAL_KEYS.has(key)) exportFields[key] = text.slice(eq + 1);
    return PENDING;
  }

  function parseLine(text: string): LineResult {
    return parseLineAt(text, ++counters.lines);
  }

  /** Wall-clock ms of a kmsg/dmesg line's monotonic stamp, from the boot time when one is known; NaN otherwise. */
  function bootDated(mono: number): number {
    return bootTimeMs === undefined || Number.isNaN(mono) ? NaN : bootTimeMs + mono * 1000;
  }

  /** A new event with its time fields: kmsg/dmesg lines are dated from the boot time when one is known. */
  function datedEvent(
    line: number,
    ms: number,
    frac: string,
    mono: number,
    host: string | null,
    envelope: DropEvent['envelope'],
    transport: DropEvent['transport'],
  ): DropEvent {
    if (Number.isNaN(ms) && (envelope === 'kmsg' || envelope === 'dmesg')) {
      ms = bootDated(mono);
      frac = '';
    }
    const hasTime = isoRepresentable(ms);
    return newEvent(line, file, hasTime ? iso.format(ms, frac) : null, hasTime ? ms : null, Number.isNaN(mono) ? null : mono, host, envelope, transport);
  }

  const clocks: ScanClocks = { syslogMinute: (mo, day, h, mi) => ctx.syslog.minuteOf(mo, day, h, mi) };

  /** Record r of the scanner's last scan, the next input line, read the JavaScript way (events from the record). */
  function recordResult(sc: Scanner, r: number): LineResult {
    const line = ++counters.lines;
    const st = sc.status(r);
    if (st === SCAN_FALLBACK || inRecord) return parseLineAt(sc.text(sc.lineStart(r), sc.lineEnd(r)), line);
    if (st === SCAN_FILTERED) {
      tally(sc.prefix(r));
      counters.otherPrefix++;
      return SKIP;
    }
    if (st === SCAN_SKIP) {
      counters.skipped++;
      return SKIP;
    }
    const ev = recordEvent(sc, r, line);
    tally(ev.prefix);
    counters.events++;
    return { kind: 'event', event: ev };
  }

  /** The event of record r (an event the scanner read), input line `line`; counts nothing. */
  function recordEvent(sc: Scanner, r: number, line: number): DropEvent {
    const ms = sc.timeOf(r, clocks);
    const ev = datedEvent(line, ms, sc.lastFrac, sc.mono(r), sc.host(r), sc.envelope(r), sc.transport(r));
    sc.body(r, ev);
    return ev;
  }

  /** Runs of complete lines into the scanner, at most its capacity at a time; `each(sc, n)` reads n records. */
  function scanRuns(bytes: Uint8Array, each: (sc: Scanner, n: number) => void): number {
    const sc = getScanner();
    const total = bytes.length;
    let start = 0;
    let lines = 0;
    while (start < total) {
      let end = total;
      if (end - start > sc.capacity) {
        end = bytes.lastIndexOf(10, start + sc.capacity - 1) + 1;
        if (end <= start) throw new RangeError('parseBytes: a line longer than the scanner input area');
      }
      sc.load(bytes, start, end);
      const len = end - start;
      let from = 0;
      while (from < len) {
        const n = sc.scan(from, len);
        if (prefixes !== undefined) {
          // events of other LOG prefixes are handed back to recordResult(), which counts them
          for (let r = 0; r < n; r++) if (sc.status(r) === SCAN_EVENT && !keepPrefix(sc.prefix(r))) sc.setStatus(r, SCAN_FILTERED);
        }
        each(sc, n);
        lines += n;
        from = sc.stoppedAt();
        sc.resetIfFull();
      }
      start = end;
    }
    return lines;
  }

  function parseBytes(bytes: Uint8Array, out: LineResult[]): number {
    if (!fastPath) return parseBytesSlow(bytes, out);
    return scanRuns(bytes, (sc, n) => {
      for (let r = 0; r < n; r++) {
        const res = recordResult(sc, r);
        if (res.kind === 'event' || res.kind === 'issue') out.push(res);
      }
    });
  }

  function parseBytesEach(bytes: Uint8Array, each: (r: LineResult, text: () => string) => void): number {
    if (!fastPath) {
      const out: LineResult[] = [];
      const texts: string[] = [];
      const n = parseBytesSlow(bytes, out, texts);
      for (let i = 0; i < out.length; i++) {
        const t = texts[i]!;
        each(out[i]!, () => t);
      }
      return n;
    }
    const at = recordCursor();
    return scanRuns(bytes, (s, n) => {
      at.sc = s;
      for (let r = 0; r < n; r++) {
        at.r = r;
        const res = recordResult(s, r);
        if (res.kind === 'event' || res.kind === 'issue') each(res, at.text);
      }
    });
  }

  /** The record a callback is handed, and `text()`: its input line, decoded when asked (valid during the call). */
  function recordCursor(): { sc: Scanner | undefined; r: number; text: () => string } {
    const at = {
      sc: undefined as Scanner | undefined,
      r: 0,
      text: (): string => at.sc!.text(at.sc!.lineStart(at.r), at.sc!.lineEnd(at.r)),
    };
    return at;
  }

  const pk: Packet = {
    line: 0, file, ts: null, mono: null, host: null, prefix: '', in: '', out: '', src: undefined, dst: undefined, srcShort: undefined,
    dstShort: undefined, proto: undefined, spt: undefined, dpt: undefined, flags: undefined, frag: undefined,
    icmp: undefined, arp: undefined, ctInvalid: undefined, macdst: undefined, srcKey: undefined, dstKey: undefined,
  };

  /** Record r (an event the scanner read) as the packet `pk`: recordResult() and datedEvent() without the event. */
  function packetOf(sc: Scanner, r: number): Packet {
    pk.line = ++counters.lines;
    let ms = sc.timeOf(r, clocks, false); // a packet has no time string: no fraction digits
    const mono = sc.mono(r);
    if (Number.isNaN(ms)) {
      const env = sc.envelope(r);
      if (env === 'kmsg' || env === 'dmesg') ms = bootDated(mono);
    }
    pk.ts = isoRepresentable(ms) ? ms : null;
    pk.mono = Number.isNaN(mono) ? null : mono;
    pk.host = sc.host(r);
    sc.packet(r, pk);
    const prefix = sc.prefix(r);
    pk.prefix = prefix;
    tally(prefix);
    counters.events++;
    return pk;
  }

  function parseBytesPackets(bytes: Uint8Array, packet: (p: Packet, event: () => DropEvent, text: () => string) => void, each: (r: LineResult, text: () => string) => void): number {
    if (!fastPath) return parseBytesEach(bytes, each);
    const at = recordCursor();
    // the packet's whole event, for a consumer that needs it now and then (valid during the call only)
    const event = (): DropEvent => recordEvent(at.sc!, at.r, pk.line);
    return scanRuns(bytes, (s, n) => {
      at.sc = s;
      for (let r = 0; r < n; r++) {
        at.r = r;
        if (s.status(r) === SCAN_EVENT && !inRecord) {
          packet(packetOf(s, r), event, at.text);
          continue;
        }
        const res = recordResult(s, r);
        if (res.kind === 'event' || res.kind === 'issue') each(res, at.text);
      }
    });
  }

  function parseBytesJsonPackets(bytes: Uint8Array, packet: (p: Packet, json: Uint8Array) => void, each: (r: LineResult, text: () => string) => void): number {
    // boot-time dating (kmsg) is not the scanner's to print: events, as in parseBytesNdjson
    if (!fastPath || bootTimeMs !== undefined) return parseBytesEach(bytes, each);
    const at = recordCursor();
    return scanRuns(bytes, (sc, n) => {
      at.sc = sc;
      for (let r = 0; r < n; r++) {
        at.r = r;
        if (sc.status(r) === SCAN_EVENT && !inRecord && sc.emit(r, r + 1, counters.lines + 1, clocks, file) === r + 1) {
          // the event's JSON line as the scanner printed it, less its closing `}\n`
          packet(packetOf(sc, r), sc.outBytes(2));
          continue;
        }
        const res = recordResult(sc, r);
        if (res.kind === 'event' || res.kind === 'issue') each(res, at.text);
      }
    });
  }

  function parseBytesNdjson(bytes: Uint8Array, sink: NdjsonSink): number {
    if (!fastPath || bootTimeMs !== undefined) {
      // Boot-time dating (kmsg) and the JavaScript-only mode: events first, then their JSON.
      const out: LineResult[] = [];
      const n = parseBytes(bytes, out);
      for (const r of out) sink.result(r);
      return n;
    }
    return scanRuns(bytes, (sc, n) => {
      let r = 0;
      while (r < n) {
        if (!inRecord) {
          const k = sc.emit(r, n, counters.lines + 1, clocks, file);
          if (k > r) {
            const b = sc.outBytes();
            if (b.length > 0) sink.bytes(b);
            for (let i = r; i < k; i++) if (sc.status(i) === SCAN_EVENT) tally(sc.prefix(i));
            counters.lines += k - r;
            counters.events += sc.emitted();
            counters.skipped += sc.skipped();
            r = k;
            if (r >= n) break;
          }
        }
        const res = recordResult(sc, r);
        if (res.kind === 'event' || res.kind === 'issue') sink.result(res);
        r++;
      }
    });
  }

  /** parseBytes() through the JavaScript parser only (fastPath: false); `texts` gets each result's line. */
  function parseBytesSlow(bytes: Uint8Array, out: LineResult[], texts?: string[]): number {
    const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let p = 0;
    let lines = 0;
    while (p < buf.length) {
      let nl = buf.indexOf(10, p);
      if (nl < 0) nl = buf.length;
      let e = nl;
      if (e > p && buf[e - 1] === 13) e--;
      const line = buf.toString('utf8', p, e);
      const res = parseLine(line);
      if (res.kind === 'event' || res.kind === 'issue') {
        out.push(res);
        texts?.push(line);
      }
      lines++;
      p = nl + 1;
    }
    return lines;
  }

  /** One journal record as JSON (`-o json`, `json-seq`, `json-sse`, `json-pretty` joined); `raw` for issues. */
  function journalJson(json: string, line: number, raw: string): LineResult {
    if (!mayHoldLog(json)) {
      counters.skipped++;
      return SKIP;
    }
    let obj: unknown;
    try {
      obj = JSON.parse(json);
    } catch {
      return issue('bad-envelope', 'line starts like journal JSON but is not valid JSON', line, raw);
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      counters.skipped++;
      return SKIP;
    }
    if (!journalEnvelope(env, obj as Record<string, unknown>, 'journal-json')) {
      counters.skipped++;
      return SKIP;
    }
    return fromEnvelope(line, raw);
  }

  /** A line of an open json-pretty record: a tab-indented member, or the `}` that ends it. */
  function prettyLineIn(text: string): LineResult | undefined {
    const lines = pretty!;
    if (text === '}') {
      const over = prettyChars > MAX_PRETTY_CHARS;
      const json = over ? '' : `{${lines.join('\n')}}`;
      pretty = null;
      inRecord = false;
      if (over) return issue('line-too-long', `journal JSON record over ${MAX_PRETTY_CHARS} characters`, prettyLine, '{');
      return journalJson(json, prettyLine, json);
    }
    if (text.charCodeAt(0) !== 9 /* \t */) {
      // not json-pretty after all: a lone `{` (and tab-indented lines) in some other log, no LOG lines; this line
      // is read anew
      pretty = null;
      inRecord = false;
      counters.skipped += prettyCount;
      return undefined;
    }
    prettyCount++;
    prettyChars += text.length + 1;
    if (prettyChars <= MAX_PRETTY_CHARS) lines.push(text);
    return PENDING;
  }

  /**
   * A line of `journalctl -o verbose`, or undefined when it is none (a line that is not a field ends a record). The
   * record yields its event at its MESSAGE: nothing marks a record's end but the next header, and waiting for it
   * would show `journalctl -f -o verbose` one record late. journalctl lists fields in the order journald stored
   * them, and in kernel records MESSAGE comes last (fixtures/kernel/journal-verbose.txt); a field after it is not read.
   */
  function verboseLineIn(text: string, line: number): LineResult | undefined {
    if (text.charCodeAt(0) === 32) {
      if (verbose === null) {
        // a field of a record whose header was cut off: its MESSAGE is still a message, without an envelope
        return text.startsWith('    MESSAGE=') ? parseLineAt(text.slice(12), line) : undefined;
      }
      const m = VERBOSE_FIELD.exec(text);
      // another line starting with spaces: a multi-line field's continuation
      if (m === null) return PENDING;
      if (m[1] !== 'MESSAGE') {
        if (JOURNAL_KEYS.has(m[1]!)) verbose[m[1]!] = m[2]!;
        return PENDING;
      }
      const f = verbose;
      f['MESSAGE'] = m[2]!;
      verbose = null;
      inRecord = false;
      if (!journalEnvelope(env, f, 'journal-verbose')) {
        counters.skipped++;
        return SKIP;
      }
      return fromEnvelope(line, env.s);
    }
    const h = VERBOSE_HEAD.exec(text);
    if (h === null) {
      if (verbose !== null) {
        // the record ended without a MESSAGE this parser could read
        verbose = null;
        inRecord = false;
      }
      return undefined;
    }
    // the cursor's t= is the entry's realtime in hex µs: exact, whatever zone the header's time is printed in
    const us = Number.parseInt(h[1]!, 16);
    verbose = Number.isSafeInteger(us) ? { __REALTIME_TIMESTAMP: String(us) } : {};
    inRecord = true;
    return PENDING;
  }

  function parseLineAt(text: string, line: number): LineResult {
    // Inside a journal-export record every line is a field; the blank line that ends it yields the record.
    if (exportFields !== null) return exportLineIn(text, line);
    const c0v = text.charCodeAt(0);
    if (verbose !== null || c0v === 32 || (c0v >= 65 && c0v <= 90 && text.charCodeAt(text.length - 1) === 93)) {
      const r = verboseLineIn(text, line);
      if (r !== undefined) return r;
    }
    if (pretty !== null) {
      const r = prettyLineIn(text);
      if (r !== undefined) return r;
    }
    const c0 = text.charCodeAt(0);
    if (c0 === 95 /* _ */ && (text.startsWith('__CURSOR=') || text.startsWith('__REALTIME_TIMESTAMP='))) {
      return exportLineIn(text, line);
    }
    if (c0 === 123 /* { */) {
      if (text.length === 1) {
        // json-pretty: the record's lines follow
        pretty = [];
        prettyLine = line;
        prettyChars = 0;
        prettyCount = 1;
        inRecord = true;
        return PENDING;
      }
      return journalJson(text, line, text);
    }
    // json-seq (RFC 7464: a record separator before each record) and json-sse (`data: ` before each)
    if (c0 === 0x1e && text.charCodeAt(1) === 123) return journalJson(text.slice(1), line, text);
    if (c0 === 100 /* d */ && text.startsWith('data: {')) return journalJson(text.slice(6), line, text);
    if (!decodeEnvelope(env, text, ctx)) {
      counters.skipped++;
      return SKIP;
    }
    return fromEnvelope(line, text);
  }

  function flush(): LineResult[] {
    if (pretty !== null) {
      // the input ended inside a json-pretty record
      pretty = null;
      inRecord = false;
      return [issue('bad-envelope', 'journal JSON record (json-pretty) not closed at the end of the input', prettyLine, '{')];
    }
    if (exportFields === null) return [];
    const r = endExport();
    return r.kind === 'skip' ? [] : [r];
  }

  return { parseLine, parseBytes, parseBytesEach, parseBytesPackets, parseBytesJsonPackets, parseBytesNdjson, flush, counters, prefixesSeen };
}
