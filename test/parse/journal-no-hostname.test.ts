/**
 * `journalctl --no-hostname` (or a record without _HOSTNAME) leaves the host out of every short format:
 * `[ 1835.131574] kernel: IN=…` (short-monotonic), `[ 1835.131574 <    0.001002 >] kernel: …` (short-delta), as
 * `Apr 22 10:00:01 kernel: …` (short) and `1713780001.123456 kernel: …` (short-unix), which are read so. The line is
 * journalctl's: a `kernel:` tag makes it no dmesg line (transport `syslog`, not `kernel` — only the tag claims the
 * kernel), and the tag is no part of the LOG prefix. Both parsers: JavaScript and the scanner.
 */
import { describe, expect, it } from 'vitest';
import type { DropEvent, LineResult } from '../../src/parse/event.js';
import { createParser } from '../../src/parse/parse-line.js';
import { eventsOf } from './results.js';

const BODY = 'DROP_ IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=198.18.0.17 DST=198.18.1.42 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=5 DF PROTO=TCP SPT=40000 DPT=8443 WINDOW=64240 RES=0x00 SYN URGP=0 ';
const OPTS = { tz: 'UTC', now: () => Date.parse('2024-06-01T00:00:00Z') } as const;

const lines: Array<{ line: string; envelope: string; host: string | null; transport: string; mono: number | null; prefix: string }> = [
  { line: `[ 1835.131574] kernel: ${BODY}`, envelope: 'journal-short-monotonic', host: null, transport: 'syslog', mono: 1835.131574, prefix: 'DROP_ ' },
  { line: `[ 1835.131574 <    0.001002 >] kernel: ${BODY}`, envelope: 'journal-short-delta', host: null, transport: 'syslog', mono: 1835.131574, prefix: 'DROP_ ' },
  { line: `[ 1835.130572                ] kernel: ${BODY}`, envelope: 'journal-short-delta', host: null, transport: 'syslog', mono: 1835.130572, prefix: 'DROP_ ' },
  // with the host, and dmesg's own line, as before
  { line: `[ 1835.131574] node-a kernel: ${BODY}`, envelope: 'journal-short-monotonic', host: 'node-a', transport: 'syslog', mono: 1835.131574, prefix: 'DROP_ ' },
  { line: `[ 1835.131574] ${BODY}`, envelope: 'dmesg', host: null, transport: 'kernel', mono: 1835.131574, prefix: 'DROP_ ' },
  { line: `[ 1835.131574] kernel:${BODY}`, envelope: 'dmesg', host: null, transport: 'kernel', mono: 1835.131574, prefix: 'kernel:DROP_ ' },
];

const pick = (e: DropEvent) => ({ envelope: e.envelope, host: e.host, transport: e.transport, mono: e.mono, prefix: e.prefix });
const want = lines.map(({ line: _, ...w }) => w);


describe('journalctl short-monotonic / short-delta without the host (--no-hostname)', () => {
  it('JavaScript', () => {
    const p = createParser({ ...OPTS, fastPath: false });
    expect(eventsOf(lines.map((l) => p.parseLine(l.line))).map(pick)).toEqual(want);
  });

  it('the scanner (events and NDJSON)', () => {
    const bytes = Buffer.from(lines.map((l) => `${l.line}\n`).join(''));
    const out: LineResult[] = [];
    createParser(OPTS).parseBytes(bytes, out);
    expect(eventsOf(out).map(pick)).toEqual(want);
    const chunks: Buffer[] = [];
    const others: DropEvent[] = [];
    createParser(OPTS).parseBytesNdjson(bytes, { bytes: (b) => chunks.push(Buffer.from(b)), result: (r) => others.push(...eventsOf([r])) });
    const ndjson = Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as DropEvent & { line: number });
    const all = [...ndjson, ...others].sort((a, b) => a.line - b.line);
    expect(all.map((e) => ({ ...pick(e), host: e.host ?? null, transport: e.transport }))).toEqual(want);
  });
});
