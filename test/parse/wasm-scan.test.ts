/**
 * The WebAssembly scanner (parseBytes) must give exactly what the JavaScript parser gives, line for line: same
 * results, same key order (so the same NDJSON), same counters — on real kernel lines, the sample, the bench corpus,
 * lines mutated at random, CRLF and non-ASCII input, and across the scanner's intern-table resets. It must also
 * actually read the common layouts itself (a scanner that sent every line back to JavaScript would pass the rest).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readResults } from '../../src/cli/read-loop.js';
import { openFileSource } from '../../src/input/file-source.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LineResult } from '../../src/parse/event.js';
import type { LineSource } from '../../src/input/types.js';
import { createParser } from '../../src/parse/parse-line.js';
import { SCAN_EVENT, SCAN_FALLBACK, SCAN_SKIP, getScanner } from '../../src/parse/wasm-scan.js';
import { NdjsonBuffer, eventToJson, issueToJson } from '../../src/output/ndjson.js';
import { makeLine, mulberry32 } from '../../bench/corpus.mjs';

const read = (p: string): string => readFileSync(new URL(p, import.meta.url), 'utf8');
const kmsg = read('../../fixtures/kernel/kmsg.txt').split('\n').filter(Boolean);
const dmesg = read('../../fixtures/kernel/dmesg.txt').split('\n').filter(Boolean);
const syslog = read('../../fixtures/kernel/syslog.txt').split('\n').filter(Boolean);
const sample = read('../../fixtures/sample/harvester-upgrade.log').split('\n').filter(Boolean);
/** an audit's captures of rarer protocols, families and log options (fixtures/kernel/rare; `#` lines are its notes) */
const rare = read('../../fixtures/kernel/rare/captures.txt').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
const REAL = [...kmsg, ...dmesg, ...syslog, ...rare];
/** The real lines' bodies in envelopes the fixtures and the corpus lack: journalctl short-unix, a priority before a
 * syslog header (relays, `logger`), dmesg -r. */
const MORE_ENVELOPES = syslog.slice(0, 12).flatMap((l, i) => {
  const msg = l.slice(l.indexOf(' kernel: ') + 9);
  return [`${1713780000 + i}.${String(i * 7919).padStart(6, '0')} node-${i} kernel: ${msg}`, `<${4 + i}>${l}`, `<4>[  ${i}.000100] ${msg}`];
});
const OPTS = { tz: 'UTC', now: () => Date.parse('2024-06-01T00:00:00Z') } as const;

function synthetic(n: number, seed: number): string[] {
  const rnd = mulberry32(seed);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(makeLine(rnd, i) as string);
  return out;
}

/** Reference: the JavaScript parser only, one decoded line at a time (a final `\r` dropped, as the splitter does). */
function viaJs(lines: string[], opts: Parameters<typeof createParser>[0] = OPTS): { results: LineResult[]; counters: object } {
  const p = createParser({ ...opts, fastPath: false });
  const results: LineResult[] = [];
  for (const l of lines) {
    const r = p.parseLine(l.endsWith('\r') ? l.slice(0, -1) : l);
    if (r.kind === 'event' || r.kind === 'issue') results.push(r);
  }
  for (const r of p.flush()) results.push(r);
  return { results, counters: { ...p.counters } };
}

/** The scanner: the lines as one byte run (terminator `eol`). */
function viaBytes(lines: string[], opts: Parameters<typeof createParser>[0] = OPTS, eol = '\n'): { results: LineResult[]; counters: object } {
  const p = createParser(opts);
  const results: LineResult[] = [];
  const n = p.parseBytes(Buffer.from(lines.map((l) => l + eol).join('')), results);
  expect(n).toBe(lines.length);
  for (const r of p.flush()) results.push(r);
  return { results, counters: { ...p.counters } };
}

/** NDJSON as `fwdiag parse --issues` writes the results (the reference: NdjsonBuffer over event objects). */
function ndjsonOf(results: LineResult[]): string {
  const out = new NdjsonBuffer();
  for (const r of results) {
    if (r.kind === 'event') out.event(r.event);
    else if (r.kind === 'issue') out.text(issueToJson(r.issue));
  }
  return Buffer.concat(out.take()).toString('utf8');
}

/** The scanner printing NDJSON itself (parseBytesNdjson), with the results it leaves to JavaScript in between. */
function viaEmit(lines: string[], opts: Parameters<typeof createParser>[0] = OPTS, eol = '\n'): { ndjson: string; counters: object } {
  const p = createParser(opts);
  const out = new NdjsonBuffer();
  const sink = {
    bytes: (b: Uint8Array) => out.bytes(b),
    result: (r: LineResult) => {
      if (r.kind === 'event') out.event(r.event);
      else if (r.kind === 'issue') out.text(issueToJson(r.issue));
    },
  };
  const n = p.parseBytesNdjson(Buffer.from(lines.map((l) => l + eol).join('')), sink);
  expect(n).toBe(lines.length);
  for (const r of p.flush()) sink.result(r);
  return { ndjson: Buffer.concat(out.take()).toString('utf8'), counters: { ...p.counters } };
}

/** The printed NDJSON equals the reference's, line for line. */
function expectSameNdjson(want: string, got: string): void {
  if (got === want) return;
  const a = want.split('\n');
  const b = got.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) expect(b[i]).toBe(a[i]);
}

/** Same results, same key order (JSON), same NDJSON (also as the scanner prints it), same counters. */
function expectSame(lines: string[], opts: Parameters<typeof createParser>[0] = OPTS): number {
  const a = viaJs(lines, opts);
  const b = viaBytes(lines, opts);
  const e = viaEmit(lines, opts);
  expect(e.counters).toEqual(a.counters);
  expectSameNdjson(ndjsonOf(a.results), e.ndjson);
  expect(b.counters).toEqual(a.counters);
  expect(b.results.length).toBe(a.results.length);
  for (let i = 0; i < a.results.length; i++) {
    const x = a.results[i] as LineResult;
    const y = b.results[i] as LineResult;
    if (JSON.stringify(x) !== JSON.stringify(y)) expect(y).toEqual(x);
    expect(JSON.stringify(y)).toBe(JSON.stringify(x));
    if (x.kind === 'event' && y.kind === 'event') expect(eventToJson(y.event)).toBe(eventToJson(x.event));
  }
  return a.results.length;
}

/** How the scanner itself classed each line. */
function statuses(lines: string[]): { event: number; skip: number; fallback: number } {
  const sc = getScanner();
  const bytes = Buffer.from(lines.map((l) => `${l}\n`).join(''));
  const out = { event: 0, skip: 0, fallback: 0 };
  for (let start = 0; start < bytes.length; ) {
    const end = Math.min(bytes.length, bytes.lastIndexOf(10, start + sc.capacity - 1) + 1);
    sc.load(bytes, start, end);
    let from = 0;
    while (from < end - start) {
      const n = sc.scan(from, end - start);
      for (let r = 0; r < n; r++) {
        const st = sc.status(r);
        if (st === SCAN_EVENT) out.event++;
        else if (st === SCAN_SKIP) out.skip++;
        else if (st === SCAN_FALLBACK) out.fallback++;
      }
      from = sc.stoppedAt();
      sc.resetIfFull();
    }
    start = end;
  }
  return out;
}

describe('the scanner source', () => {
  it('packs every ASCII literal it compares as its text says (little-endian, first byte lowest)', () => {
    const src = read('../../src/parse/wasm/scan.ts');
    const decls = src.split('\n').filter((l) => /^const L_[A-Z0-9_]+\b/.test(l));
    expect(decls.length).toBeGreaterThan(30);
    for (const l of decls) {
      const m = /^const (L_[A-Z0-9_]+): (u64|u32) = 0x([0-9a-f]+); \/\/ '([^']*)'$/.exec(l);
      expect(m, l).not.toBeNull();
      const [, , type, hex, text] = m!;
      expect(text!.length).toBeLessThanOrEqual(type === 'u32' ? 4 : 8);
      let v = 0n;
      for (let i = text!.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(text!.charCodeAt(i));
      expect(BigInt(`0x${hex}`), l).toBe(v);
    }
  });
});

describe('parseBytes (WebAssembly scanner) = the JavaScript parser', () => {
  it('on every kernel-written fixture line (kmsg, dmesg, syslog) and the bundled sample', () => {
    expect(expectSame(REAL)).toBe(REAL.length);
    expect(expectSame(MORE_ENVELOPES)).toBe(MORE_ENVELOPES.length);
    expect(expectSame(sample)).toBeGreaterThan(500);
    // With a boot time, kmsg/dmesg lines get wall-clock time from their monotonic stamp.
    expectSame([...kmsg, ...dmesg], { ...OPTS, bootTimeMs: Date.parse('2024-05-01T00:00:00Z'), file: 'k.log' });
  });

  it('on 60,000 bench-corpus lines in every envelope, in other zones too', () => {
    const lines = synthetic(60_000, 11);
    expect(expectSame(lines)).toBeGreaterThan(50_000);
    expectSame(lines.slice(0, 5000), { tz: 'America/New_York', now: () => Date.parse('2025-01-02T00:00:00Z') });
  });

  it('reads the common layouts itself, journal JSON included; other programs\' and body-less kernel lines are skips', () => {
    const lines = synthetic(20_000, 12);
    const st = statuses(lines);
    const logs = lines.filter((l) => l.includes('IN=')).length;
    expect(st.event + st.skip + st.fallback).toBe(lines.length);
    expect(st.fallback).toBe(0);
    expect(st.event).toBe(logs);
    // The real kernel lines of the common scenarios are read by the scanner too, in every envelope it knows.
    const real = statuses(kmsg);
    expect(real.event).toBeGreaterThan(kmsg.length / 2);
    const inSyslog = statuses(syslog.slice(0, 12)).event;
    expect(inSyslog).toBeGreaterThan(6);
    expect(statuses(MORE_ENVELOPES.filter((_, i) => i % 3 === 0)).event).toBe(inSyslog); // short-unix
    expect(statuses(MORE_ENVELOPES.filter((_, i) => i % 3 === 1)).event).toBe(inSyslog); // <PRI>Mmm dd …
    expect(statuses(MORE_ENVELOPES.filter((_, i) => i % 3 === 2)).fallback).toBe(12); // dmesg -r: JavaScript
  });

  it('on real lines with bytes inserted, deleted or replaced anywhere', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...REAL, ...MORE_ENVELOPES, ...synthetic(200, 13)),
        fc.nat(),
        fc.nat({ max: 12 }),
        fc.string({ unit: fc.constantFrom(...' 0123456789=.:[]xXaAfF-,;<>\r\t\u007fSRCDTPINOUT'.split('')), maxLength: 6 }),
        (line, at, del, ins) => {
          const i = at % (line.length + 1);
          const mutated = (line.slice(0, i) + ins + line.slice(i + del)).replaceAll('\n', ' ');
          expectSame([mutated, line]);
        },
      ),
      { numRuns: 4000 },
    );
  });

  it('journal JSON: the layouts journald writes, and every variation JavaScript must decide', () => {
    const body = 'DROP IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=198.18.0.17 DST=198.18.1.42 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=5 DF PROTO=TCP SPT=40000 DPT=8443 WINDOW=64240 RES=0x00 SYN URGP=0 ';
    const j = (o: Record<string, unknown>): string => JSON.stringify(o);
    const base = { _TRANSPORT: 'kernel', PRIORITY: '4', _HOSTNAME: 'node-1', __REALTIME_TIMESTAMP: '1713780000042123', _SOURCE_MONOTONIC_TIMESTAMP: '1000042000', MESSAGE: body };
    const lines = [
      j(base),
      j({ ...base, MESSAGE: `[ 1835.131574] ${body}` }),
      j({ ...base, _TRANSPORT: 'syslog', SYSLOG_IDENTIFIER: 'kernel' }),
      j({ ...base, _TRANSPORT: 'stdout' }),
      // userspace writes to /dev/kmsg, as journald stores them: _TRANSPORT=kernel with the writer's facility and tag
      j({ ...base, SYSLOG_FACILITY: '0', SYSLOG_IDENTIFIER: 'kernel' }),
      j({ ...base, SYSLOG_FACILITY: '1', SYSLOG_IDENTIFIER: 'kernel' }),
      j({ ...base, SYSLOG_FACILITY: '10', SYSLOG_IDENTIFIER: 'sshd' }),
      j({ ...base, SYSLOG_FACILITY: '' }),
      j({ ...base, __REALTIME_TIMESTAMP: '' }),
      j({ ...base, __REALTIME_TIMESTAMP: 'x1' }),
      j({ ...base, __REALTIME_TIMESTAMP: '99999999999999999' }),
      j({ ...base, __REALTIME_TIMESTAMP: '9007199254740993' }),
      j({ ...base, _SOURCE_MONOTONIC_TIMESTAMP: '12a' }),
      j({ ...base, _HOSTNAME: 'hôst' }),
      j({ ...base, _HOSTNAME: '' }),
      j({ ...base, MESSAGE: `${body}\u0007` }),
      j({ ...base, MESSAGE: body.replace('DROP', 'DR"OP') }),
      j({ ...base, MESSAGE: [68, 82, 79, 80] }),
      j({ ...base, MESSAGE: 'EXT4-fs (vda1): re-mounted' }),
      j({ ...base, MESSAGE: 'SRC=1.2.3.4 DST=1.2.3.5 PROTO=TCP' }),
      j({ ...base, PRIORITY: 4 }),
      // the same keys in another order (_HOSTNAME first)
      j(Object.assign({ _HOSTNAME: 'a' }, base, { _TRANSPORT: 'kernel' })),
      `${j(base).slice(0, -1)},"MESSAGE":"${body.replace('SYN', 'ACK')}"}`,
      `${j(base).slice(0, -1)} }`,
      `{ ${j(base).slice(1)}`,
      j(base).slice(0, -1),
      `${j(base)}x`,
      '{}',
      '{"MESSAGE":"IN=',
      j({ MESSAGE: body, SYSLOG_IDENTIFIER: 'kernel' }),
    ];
    expectSame(lines);
    expectSame(lines, { ...OPTS, bootTimeMs: Date.parse('2024-05-01T00:00:00Z') });
  });

  it('CRLF line ends, non-ASCII lines, empty lines', () => {
    const lines = [...synthetic(300, 14), '', 'Apr 22 10:00:00 hôst kernel: DRÖP IN=eth0 OUT= SRC=198.18.0.1 DST=198.18.0.2 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=1 PROTO=TCP SPT=1 DPT=2 WINDOW=1 RES=0x00 SYN URGP=0 '];
    const a = viaJs(lines);
    const b = viaBytes(lines, OPTS, '\r\n');
    expect(b.counters).toEqual(a.counters);
    expect(JSON.stringify(b.results)).toBe(JSON.stringify(a.results));
    const e = viaEmit(lines, OPTS, '\r\n');
    expect(e.counters).toEqual(a.counters);
    expectSameNdjson(ndjsonOf(a.results), e.ndjson);
  });

  it('across intern-table resets (tens of thousands of distinct addresses and hosts)', () => {
    const lines: string[] = [];
    for (let i = 0; i < 45_000; i++) {
      const a = `198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
      lines.push(`Apr 22 10:00:0${i % 10} node-${i % 40_000} kernel: DROP IN=eth0 OUT= SRC=${a} DST=198.19.0.1 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=${i % 65536} PROTO=UDP SPT=${1024 + (i % 60000)} DPT=53 LEN=20 `);
    }
    expect(expectSame(lines)).toBe(lines.length);
  });

  it('tokens of one length that differ in one byte, in turn (the recent-token and address caches compare them whole)', () => {
    // ~1,000 hosts `worker-xxxY` in families of 26 that differ in their last letter only, as many MAC headers
    // differing in one byte, and addresses, in random order: about as many tokens as cache slots, so a token often
    // finds its slot held by a near twin
    const rnd = mulberry32(7);
    const letter = (): string => String.fromCharCode(97 + Math.floor(rnd() * 26));
    const hex = (): string => Math.floor(rnd() * 256).toString(16).padStart(2, '0');
    const hosts: string[] = [];
    for (let f = 0; f < 40; f++) {
      const stem = `worker-${letter()}${letter()}${letter()}`;
      for (let k = 0; k < 26; k++) hosts.push(`${stem}${String.fromCharCode(97 + k)}`);
    }
    const macs: string[] = [];
    for (let f = 0; f < 4; f++) {
      const stem = `52:54:00:12:34:${hex()}:52:54:00:ab:cd:`;
      for (let k = 0; k < 256; k++) macs.push(`${stem}${k.toString(16).padStart(2, '0')}:08:00`);
    }
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const host = hosts[Math.floor(rnd() * hosts.length)]!;
      const mac = macs[Math.floor(rnd() * macs.length)]!;
      const v6 = i % 5 === 0;
      const src = v6 ? `fd00:0000:0000:0000:0000:0000:00${hex()}:00${hex()}` : `198.18.${Math.floor(rnd() * 3)}.${Math.floor(rnd() * 256)}`;
      const dst = v6 ? 'fd00:0000:0000:0000:0000:0000:0000:0001' : '198.18.0.1';
      const ip = v6 ? 'LEN=80 TC=0 HOPLIMIT=64 FLOWLBL=0 ' : `LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=${i % 65536} `;
      lines.push(`Apr 22 10:00:00 ${host} kernel: DROP IN=eth0 OUT= MAC=${mac} SRC=${src} DST=${dst} ${ip}PROTO=TCP SPT=${1024 + i} DPT=22 WINDOW=512 RES=0x00 SYN URGP=0 `);
    }
    expect(expectSame(lines)).toBe(lines.length);
  });

  it('empty tokens: `MAC= ` of an L3 device (wireguard, tun) and an empty host are "", not a string seen before', () => {
    const body = 'IN=wg0 OUT= MAC= SRC=10.0.0.1 DST=10.0.0.6 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40000 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0 ';
    const lines = [
      `Apr 22 10:00:01 n1 kernel: [UFW BLOCK] ${body}`,
      `[  12.500000] DROP ${body}`,
      `<4>1 2023-04-03T16:24:41Z  kernel - - - D ${body}`,
      JSON.stringify({ _TRANSPORT: 'kernel', _HOSTNAME: '', __REALTIME_TIMESTAMP: '1713780000042000', MESSAGE: `D ${body}` }),
    ];
    expect(statuses(lines).event).toBe(lines.length);
    expect(expectSame(lines)).toBe(lines.length);
    const events = viaBytes(lines).results.map((r) => (r.kind === 'event' ? r.event : undefined));
    expect(events.map((e) => e?.mac)).toEqual(['', '', '', '']);
    expect(events.map((e) => e?.host)).toEqual(['n1', null, '', '']);
  });

  it('ICMP lines the truncation rules judge: the three paths (JavaScript, its fast path, the scanner) agree', () => {
    const v4 = 'Apr 22 10:00:00 h kernel: DROP IN=eth0 OUT= SRC=198.18.0.1 DST=198.18.0.2 LEN=84 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=ICMP ';
    const v6 = '[  1.000000] D IN=eth0 OUT= SRC=2001:0db8:0000:0000:0000:0000:0000:0002 DST=2001:0db8:0000:0000:0000:0000:0000:0001 LEN=104 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=ICMPv6 ';
    const cases: [string, 'event' | 'issue'][] = [
      // the quoted packet's header could not be read: the kernel prints TRUNCATED and closes with `] `
      [`${v4}TYPE=3 CODE=3 [TRUNCATED] `, 'event'],
      [`${v6}TYPE=1 CODE=4 [TRUNCATED] `, 'event'],
      // an error with ID= SEQ= and no quoted packet; an echo type with a leading zero and no ID= SEQ=
      [`${v4}TYPE=3 CODE=3 ID=1 SEQ=2 `, 'issue'],
      [`${v6}TYPE=02 CODE=0 ID=1 SEQ=2 `, 'issue'],
      [`${v4}TYPE=08 CODE=0 `, 'issue'],
      [`${v6}TYPE=0128 CODE=0 `, 'issue'],
      [`${v4}TYPE=08 CODE=0 ID=1 SEQ=2 `, 'event'],
      [`${v4}TYPE=13 CODE=0 ID=1 SEQ=2 `, 'event'],
      [`${v4}TYPE=12 CODE=0 PARAMETER=20 `, 'event'],
    ];
    const lines = cases.map(([l]) => l);
    expect(expectSame(lines)).toBe(lines.length);
    const fast = createParser(OPTS);
    expect(lines.map((l) => fast.parseLine(l).kind)).toEqual(cases.map(([, k]) => k));
    expect(viaJs(lines).results.map((r) => r.kind)).toEqual(cases.map(([, k]) => k));
  });

  it('IPv6 fragment headers inside `OPT ( … )` (--log-ip-options) read as bare ones: frag, fragId, MF', () => {
    const v6 = '[  1.000000] D IN=eth0 OUT= SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=1280 TC=0 HOPLIMIT=64 FLOWLBL=0 ';
    const lines = [
      `${v6}OPT ( FRAG:1232 INCOMPLETE ID:0000abcd ) PROTO=UDP `,
      `${v6}OPT ( FRAG:0 INCOMPLETE ID:0000abcd ) PROTO=UDP SPT=1 DPT=2 LEN=1232 `,
      `${v6}FRAG:0 INCOMPLETE ID:0000abcd PROTO=UDP SPT=1 DPT=2 LEN=1232 `,
    ];
    expect(expectSame(lines)).toBe(3);
    const events = viaBytes(lines).results.map((r) => (r.kind === 'event' ? r.event : undefined));
    expect(events.map((e) => [e?.frag, e?.fragId, e?.ipFlags, e?.dpt])).toEqual([
      [1232, '0000abcd', ['MF'], undefined], [0, '0000abcd', ['MF'], 2], [0, '0000abcd', ['MF'], 2],
    ]);
  });

  it('a byte run whose line is longer than a parse slice is parsed whole (no endless slicing)', async () => {
    const drop = synthetic(1, 5)[0]!;
    const long = `${drop.slice(0, drop.indexOf('IN='))}${'z'.repeat(70_000)}`;
    const bytes = Buffer.from([drop, long, ...synthetic(300, 6), long, drop].join('\n') + '\n');
    const source: LineSource = {
      name: 'run', stats: { bytes: 0, lines: 0, cut: 0, overwritten: 0, rotations: 0 },
      batches: () => { throw new Error('pieces only'); },
      pieces: async function* () { yield [bytes]; },
    };
    const totals = { lines: 0, events: 0, skipped: 0, issues: 0, cut: 0, otherPrefix: 0 };
    const got: LineResult[] = [];
    for await (const { results } of readResults([source], { ...OPTS, signal: new AbortController().signal }, totals)) got.push(...results);
    expect(totals.lines).toBe(304);
    expect(JSON.stringify(got)).toBe(JSON.stringify(viaJs([drop, long, ...synthetic(300, 6), long, drop]).results));
  }, 10_000);

  it('end to end from a multi-MiB file: byte runs in reused read buffers, lines across read boundaries', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fwdiag-scan-'));
    try {
      const lines = synthetic(14_000, 16); // ~3.5 MB: several 1 MiB reads, 64 KiB slices
      // lines of the 64 KiB cap: longer than a slice with their line end
      lines.splice(7000, 0, 'x'.repeat(64 * 1024), `${'y'.repeat(64 * 1024 - 1)} `);
      const path = join(dir, 'big.log');
      writeFileSync(path, `${lines.join('\r\n')}\r\n`);
      const totals = { lines: 0, events: 0, skipped: 0, issues: 0, cut: 0, otherPrefix: 0 };
      const got: LineResult[] = [];
      const src = await openFileSource(path);
      let largest = 0;
      let batches = 0;
      for await (const { results } of readResults([src], { ...OPTS, signal: new AbortController().signal }, totals)) {
        for (const r of results) got.push(r);
        largest = Math.max(largest, results.length);
        batches++;
      }
      // handed over a few hundred events at a time (256, plus what the slice that passed it held), not a read's
      expect(largest).toBeLessThanOrEqual(256 + 400);
      expect(batches).toBeGreaterThan(14_000 / 656);
      const want = viaJs(lines);
      expect(totals).toEqual({ ...want.counters, cut: 0 });
      expect(src.stats.lines).toBe(lines.length);
      expect(got.length).toBe(want.results.length);
      expect(JSON.stringify(got)).toBe(JSON.stringify(want.results));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('hands each result to `each` as it is parsed (analyze): the same results, order and counters as the batches', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fwdiag-scan-'));
    try {
      // scanner lines, lines JavaScript reads (a journal export record, a LOG-like line without IN=), and a last
      // line without its newline (the splitter's end())
      const exportRecord = ['__CURSOR=s=1', '__REALTIME_TIMESTAMP=1713780000123456', '_TRANSPORT=kernel', `MESSAGE=DROP ${sample.find((l) => l.includes(' IN='))!.slice(sample[0]!.indexOf('IN='))}`, ''];
      const lines = [...synthetic(6000, 21), ...exportRecord, 'Apr 22 10:00:00 h kernel: SRC=1.2.3.4 DST=5.6.7.8 PROTO=TCP', ...synthetic(6000, 22)];
      const path = join(dir, 'mixed.log');
      writeFileSync(path, lines.join('\n'));
      const viaBatches = async () => {
        const totals = { lines: 0, events: 0, skipped: 0, issues: 0, cut: 0, otherPrefix: 0 };
        const got: LineResult[] = [];
        for await (const { results } of readResults([await openFileSource(path)], { ...OPTS, signal: new AbortController().signal }, totals)) {
          for (const r of results) got.push(r);
        }
        return { totals, got };
      };
      const viaEach = async () => {
        const totals = { lines: 0, events: 0, skipped: 0, issues: 0, cut: 0, otherPrefix: 0 };
        const got: LineResult[] = [];
        let yielded = 0;
        const each = (r: LineResult) => got.push(r);
        for await (const { results } of readResults([await openFileSource(path)], { ...OPTS, signal: new AbortController().signal, each }, totals)) {
          yielded += results.length;
        }
        return { totals, got, yielded };
      };
      const a = await viaBatches();
      const b = await viaEach();
      const want = viaJs(lines);
      expect(b.yielded).toBe(0);
      expect(b.totals).toEqual(a.totals);
      expect(b.totals).toEqual({ ...want.counters, cut: 0 });
      expect(b.got.some((r) => r.kind === 'issue')).toBe(true);
      expect(b.got.some((r) => r.kind === 'event' && r.event.envelope === 'journal-export')).toBe(true);
      expect(JSON.stringify(b.got)).toBe(JSON.stringify(a.got));
      expect(JSON.stringify(b.got)).toBe(JSON.stringify(want.results));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('numbers lines across parseLine and parseBytes calls on one parser', () => {
    const lines = synthetic(50, 15);
    const p = createParser(OPTS);
    const out: LineResult[] = [];
    for (const l of lines.slice(0, 10)) {
      const r = p.parseLine(l);
      if (r.kind === 'event' || r.kind === 'issue') out.push(r);
    }
    p.parseBytes(Buffer.from(lines.slice(10).map((l) => `${l}\n`).join('')), out);
    expect(JSON.stringify(out)).toBe(JSON.stringify(viaJs(lines).results));
  });
});

describe('parseBytesNdjson: the scanner prints NDJSON itself, byte for byte what NdjsonBuffer prints', () => {
  const tcp = 'IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=198.18.0.17 DST=198.18.1.42 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=5 DF PROTO=TCP SPT=40000 DPT=8443 WINDOW=64240 RES=0x00 SYN URGP=0 ';
  const v6 = (s: string, d: string): string =>
    `IN=eth0 OUT= SRC=${s} DST=${d} LEN=80 TC=0 HOPLIMIT=64 FLOWLBL=7 PROTO=TCP SPT=1 DPT=2 SEQ=4294967295 ACK=0 WINDOW=1 RES=0x00 ACK PSH URGP=0 UID=0 GID=4294967295 MARK=0xffffffff `;
  const icmpErr6 =
    'IN=eth0 OUT= SRC=fd00:0000:0000:0000:0000:0000:0000:0001 DST=fd00:0000:0000:0000:0000:0000:0000:0002 LEN=120 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=ICMPv6 TYPE=1 CODE=4 [SRC=fd00:0000:0000:0000:0000:0000:0000:0002 DST=fd00:0000:0000:0000:0000:0000:0000:0001 LEN=72 TC=0 HOPLIMIT=63 FLOWLBL=9 PROTO=TCP SPT=443 DPT=50000 WINDOW=0 RES=0x00 RST URGP=0 ] ';
  const icmpErr4 =
    'IN=eth0 OUT= SRC=198.18.0.1 DST=198.18.0.2 LEN=88 TOS=0x00 PREC=0xC0 TTL=64 ID=9 PROTO=ICMP TYPE=3 CODE=3 [SRC=198.18.0.2 DST=198.18.0.1 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=7 DF MF PROTO=ICMP TYPE=8 CODE=0 ID=3 SEQ=4 ] ';
  const edge = [
    // time: fractions of a millisecond (JavaScript prints ts), offsets, years JavaScript reads its own way
    `2026-04-22T10:00:00.049123+02:00 node-1 kernel: DROP ${tcp}`,
    `2026-04-22T10:00:00.1-00:30 node-1 kernel: DROP ${tcp}`,
    `1969-12-31T23:59:59.5Z node-1 kernel: DROP ${tcp}`,
    `0050-01-01T00:00:00Z node-1 kernel: DROP ${tcp}`,
    `9999-12-31T23:59:59.999999999Z node-1 kernel: DROP ${tcp}`,
    `Dec 31 23:59:59.123456 node-1 kernel: DROP ${tcp}`,
    `Jan  1 00:00:00 node-1 kernel: [    0.000001] DROP ${tcp}`,
    // journalctl short-unix: fraction digits as written (1 to 9; more: JavaScript), the epoch and year 9999's ends
    `1713780001.123456 node-1 kernel: DROP ${tcp}`,
    `1713780001.5 node-1 kernel: DROP ${tcp}`,
    `1713780001.000000001 kernel: DROP ${tcp}`,
    `1713780001.1234567890 node-1 kernel: DROP ${tcp}`,
    `0.000001 node-1 kernel: DROP ${tcp}`,
    `253402300799.999999 node-1 kernel: DROP ${tcp}`,
    `253402300800.000000 node-1 kernel: DROP ${tcp}`,
    `99999999999999.5 node-1 kernel: DROP ${tcp}`,
    `1713780001.123456 node-1 sshd[7]: DROP ${tcp}`,
    `1713780001. node-1 kernel: DROP ${tcp}`,
    // journalctl short-full and short-delta, dmesg -d (JavaScript's), and a bare prefix that only looks like a stamp
    `Mon 2024-04-22 10:00:01 UTC node-1 kernel: DROP ${tcp}`,
    `Tue 2024-04-23 10:00:01.5 CEST node-1 kernel: DROP ${tcp}`,
    `Mon 2024-04-22 10:00:01 UTC node-1 sshd[7]: DROP ${tcp}`,
    `Wed 1969-12-31 23:59:59 UTC node-1 kernel: DROP ${tcp}`,
    `Wed 1969-13-31 23:59:59 UTC node-1 kernel: DROP ${tcp}`,
    `Xyz 2024-04-22 DROP ${tcp}`,
    `[ 1835.131574 <    0.000123>] node-1 kernel: DROP ${tcp}`,
    `[ 1.5 < 0.5>] DROP ${tcp}`,
    // util-linux dmesg's other forms, journalctl json-seq and json-sse (JavaScript's)
    `kern  :warn  : [ 1234.567890] DROP ${tcp}`,
    `user  :notice: [ 1234.567890] DROP ${tcp}`,
    `authpriv:info  : DROP ${tcp}`,
    `kern  :warn  : 2024-04-22T10:00:01,123456+00:00 DROP ${tcp}`,
    `2024-04-22T10:00:01,123456+02:00 DROP ${tcp}`,
    `<4>2024-04-22T10:00:01,123456+02:00 node-1 kernel: DROP ${tcp}`,
    `[Apr22 10:00] DROP ${tcp}`,
    `[  +0.000123] DROP ${tcp}`,
    `[<    0.000123>] DROP ${tcp}`,
    `\u001e${JSON.stringify({ _TRANSPORT: 'kernel', __REALTIME_TIMESTAMP: '1713780001123456', _HOSTNAME: 'n1', MESSAGE: `DROP ${tcp}` })}`,
    `data: ${JSON.stringify({ _TRANSPORT: 'kernel', _SOURCE_MONOTONIC_TIMESTAMP: '5000000', MESSAGE: `DROP ${tcp}` })}`,
    `data: DROP ${tcp}`,
    // a priority before a syslog or ISO header; dmesg -r and a bare message after one (JavaScript's)
    `<4>Apr 22 10:00:00 node-1 kernel: DROP ${tcp}`,
    `<13>Apr  2 10:00:00.123 node-1 kernel: DROP ${tcp}`,
    `<4>2026-04-22T10:00:00.049123+02:00 node-1 kernel: DROP ${tcp}`,
    `<4>Apr 22 10:00:00 node-1 sshd[1]: DROP ${tcp}`,
    `<4>[  499.178765] DROP ${tcp}`,
    `<12>[  499.178765] DROP ${tcp}`,
    `<4>DROP ${tcp}`,
    // found by the differential fuzzer: a priority of four digits is none; a relayed kernel stamp of more digits
    // than the scanner reads (JavaScript still does); a bracketed LOG prefix is no stamp
    `<4999>1 2024-04-22T10:00:10.661000+00:00 node-1 kernel - - - [1010.661000] DROP ${tcp}`,
    `<4>1 2024-04-22T10:00:10.283000+00:00 node-1 kernel - - - [1010999999983000] DROP ${tcp}`,
    `Apr 22 10:00:00 node-1 kernel: [1010999999983000.5] DROP ${tcp}`,
    `Apr 22 10:00:00 node-1 kernel: [DROP] ${tcp}`,
    // … and (session 10) a `dmesg -x` head whose words are no facility and level util-linux prints: a bare line
    `use0x00r  :notice: [ 1016.000100] [  702.743337] DROP ${tcp}`,
    `kernx :warn  : [ 1016.000100] DROP ${tcp}`,
    `kern  :warning: [ 1016.000100] DROP ${tcp}`,
    // monotonic stamps: exact digits, more digits than a double keeps, huge uptimes, integers
    `[    0.000001] DROP ${tcp}`,
    `[   12.1234567] DROP ${tcp}`,
    `[1234567890.123456] DROP ${tcp}`,
    `[  100.000000] DROP ${tcp}`,
    `[    0.100000] DROP ${tcp}`,
    `6,1,999999999999,-;DROP ${tcp}`,
    `6,2,5,-;DROP ${tcp}`,
    // strings JSON must escape, and non-ASCII (JavaScript's)
    `Apr 22 10:00:00 node\\1 kernel: DROP ${tcp}`,
    `Apr 22 10:00:00 node-1 kernel: "DROP" ${tcp}`,
    `Apr 22 10:00:00 node-1 kernel: DR\u0001OP ${tcp}`,
    `Apr 22 10:00:00 node-1 kernel: ${tcp.replace('eth0', 'eth"0')}`,
    // DEL, which fwdiag's JSON escapes (JSON.stringify does not), in every field the scanner interns
    `Apr 22 10:00:00 node\u007f1 kernel: DR\u007fOP ${tcp.replace('eth0', 'eth\u007f0').replace('08:00 ', '08:00\u007f ')}`,
    `[ 1.5] DROP ${tcp.replace('OUT= ', 'OUT=\u007f ')}`,
    // IPv6 compression: no zero run, runs at either end, two runs (the longer; the first on a tie), all zero
    `[ 1.5] ${v6('2001:0db8:0001:0002:0003:0004:0005:0006', '0000:0000:0000:0000:0000:0000:0000:0001')}`,
    `[ 1.5] ${v6('fe80:0000:0000:0001:0000:0000:0000:0000', '0000:0000:0000:0000:0000:0000:0000:0000')}`,
    `[ 1.5] ${v6('2001:0000:0000:0001:0000:0000:0001:0001', '2001:0db8:0000:0001:0001:0001:0001:0001')}`,
    // IPv4-mapped (::ffff:0:0/96) with its IPv4 address dotted, and addresses one group away from it
    `[ 1.5] ${v6('0000:0000:0000:0000:0000:ffff:c612:0a01', '0000:0000:0000:0000:0000:ffff:0000:0000')}`,
    `[ 1.5] ${v6('0000:0000:0000:0000:0001:ffff:c612:0001', '0000:0000:0000:0000:0000:fffe:ffff:ffff')}`,
    `[ 1.5] ${v6('0001:0000:0000:0000:0000:ffff:c612:0001', '0000:0000:0000:0000:0000:0000:c612:0001')}`,
    `[ 1.5] ${icmpErr6}`,
    `[ 1.5] ${icmpErr4}`,
    `[ 1.5] ${tcp.replace(/MAC=\S+/, 'MAC=52:54:00:12:34:56')}`,
    `[ 1.5] ${tcp.replace(/MAC=\S+ /, '')}`,
    `[ 1.5] ${tcp.replace('SYN', 'CWR ECE URG ACK PSH RST SYN FIN')}`,
    `[ 1.5] ${tcp.replace('SYN ', '')}`,
    `Apr 22 10:00:00 node-1 kernel: ${tcp.replace('SPT=40000', 'SPT=')}`,
  ];

  it('on times, stamps, escapes, IPv6 forms, ICMP errors and flag sets, in several zones and years', () => {
    for (const opts of [
      OPTS,
      { tz: 'Asia/Kolkata', now: () => Date.parse('2026-01-01T00:30:00Z') },
      { tz: 'America/St_Johns', now: () => Date.parse('2026-12-31T23:00:00Z') },
    ]) {
      expectSame(edge, opts);
      expectSame([...edge].reverse(), opts);
    }
  });

  it('reads multi-line journal records (json-pretty, export) amid lines it prints itself', () => {
    const rec = { _TRANSPORT: 'kernel', __REALTIME_TIMESTAMP: '1713780001123456', _HOSTNAME: 'n1', MESSAGE: `DROP ${tcp}` };
    const pretty = (o: object) => JSON.stringify(o, null, '\t').replaceAll('": ', '" : ').split('\n');
    const plain = `Apr 22 10:00:00 node-1 kernel: DROP ${tcp}`;
    const lines = [
      plain, ...pretty(rec), plain, ...pretty({ ...rec, MESSAGE: [...Buffer.from(rec.MESSAGE)] }), `[ 1.5] DROP ${tcp}`,
      // a lone `{` that is no record: that line is skipped, the next one read as itself
      '{', plain, '__CURSOR=s=1', '_TRANSPORT=kernel', `MESSAGE=DROP ${tcp}`, '', plain,
      // a record's member lines hold LOG text the scanner would read as lines of their own
      '{', `\t"MESSAGE" : "${tcp}",`, '\t"_TRANSPORT" : "kernel"', '}', plain,
    ];
    expect(expectSame(lines)).toBe(10);
    for (const opts of [{ ...OPTS, file: 'j.log' }, { ...OPTS, bootTimeMs: Date.parse('2024-05-01T00:00:00Z') }]) expectSame(lines, opts);
    // cut at the end of the input inside a record: an issue
    expectSame([plain, ...pretty(rec).slice(0, 3)]);
  });

  it('prints `file` like the events carry it, and dates kmsg by the boot time through the events', () => {
    for (const file of ['a.log', 'dir/"odd"\\name\u00e9.log', 'x'.repeat(5000), 'del\u007f c1\u0085 ls\u2028 ps\u2029.log']) {
      expectSame(edge, { ...OPTS, file });
    }
    expectSame([...kmsg, ...dmesg, ...edge], { ...OPTS, bootTimeMs: Date.parse('2024-05-01T00:00:00Z') });
  });

  it('prints the time of lines whose seconds interleave (two, then three at a time: the cached heads turn over)', () => {
    const at = (iso: string, host: string) => `${iso} ${host} kernel: DROP ${tcp}`;
    const lines: string[] = [];
    for (let i = 0; i < 30; i++) {
      const s = String(i % 60).padStart(2, '0');
      const t = String((i + 1) % 60).padStart(2, '0');
      lines.push(at(`2026-04-22T10:00:${s}.5+00:00`, 'a'), at(`2026-04-22T10:00:${t}.25+00:00`, 'b'));
      if (i % 3 === 0) lines.push(at(`2024-01-01T23:59:59Z`, 'c'), at(`2025-06-30T12:00:${s}Z`, 'd'));
    }
    expectSame(lines);
  });

  it('prints the common layouts itself (not through events): nearly all of the corpus as bytes', () => {
    const lines = synthetic(20_000, 21);
    const p = createParser(OPTS);
    let printed = 0;
    let viaEvents = 0;
    p.parseBytesNdjson(Buffer.from(lines.map((l) => `${l}\n`).join('')), {
      bytes: (b) => {
        for (const c of b) if (c === 10) printed++;
      },
      result: () => viaEvents++,
    });
    expect(printed + viaEvents).toBe(p.counters.events);
    expect(printed).toBeGreaterThan(0.99 * p.counters.events);
  });
});
