/**
 * One real kernel LOG body (from fixtures/kernel/kmsg.txt, written by the kernel) in every envelope fwdiag reads.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createParser } from '../../src/parse/parse-line.js';
import { eventOf } from './results.js';
import type { LineResult } from '../../src/parse/event.js';

const kmsgLine = readFileSync(new URL('../../fixtures/kernel/kmsg.txt', import.meta.url), 'utf8').split('\n')[0] as string;
const BODY = kmsgLine.slice(kmsgLine.indexOf(';') + 1);
const NOW = Date.parse('2024-06-01T00:00:00Z');

const ev = eventOf;
const parse1 = (line: string, opts = {}): LineResult => createParser({ tz: 'UTC', now: () => NOW, ...opts }).parseLine(line);

const cases: Array<{ name: string; line: string; envelope: string; time: string | null; host: string | null; mono: number | null; transport?: string }> = [
  { name: 'RFC3164, day space-padded', line: `Apr  2 10:00:01 node-a kernel: ${BODY}`, envelope: 'rfc3164', time: '2024-04-02T10:00:01Z', host: 'node-a', mono: null, transport: 'syslog' },
  { name: 'RFC3164, day zero-padded, <PRI>', line: `<4>Apr 02 10:00:01 node-a kernel: ${BODY}`, envelope: 'rfc3164', time: '2024-04-02T10:00:01Z', host: 'node-a', mono: null, transport: 'syslog' },
  { name: 'RFC3164 with the kernel stamp', line: `Apr 22 10:00:01 node-a kernel: [1072190.394592] ${BODY}`, envelope: 'rfc3164', time: '2024-04-22T10:00:01Z', host: 'node-a', mono: 1072190.394592, transport: 'syslog' },
  { name: 'journalctl short-precise', line: `Apr 22 10:00:01.123456 node-a kernel: ${BODY}`, envelope: 'rfc3164', time: '2024-04-22T10:00:01.123456Z', host: 'node-a', mono: null, transport: 'syslog' },
  { name: 'rsyslog RFC3339', line: `2021-03-02T19:00:36.192Z node-a kernel: ${BODY}`, envelope: 'rfc3339', time: '2021-03-02T19:00:36.192Z', host: 'node-a', mono: null, transport: 'syslog' },
  { name: 'journalctl short-iso', line: `2024-04-22T10:00:01+02:00 node-a kernel: ${BODY}`, envelope: 'rfc3339', time: '2024-04-22T08:00:01Z', host: 'node-a', mono: null, transport: 'syslog' },
  { name: 'journalctl short-iso, older +0000', line: `2024-04-22T10:00:01+0000 node-a kernel: ${BODY}`, envelope: 'rfc3339', time: '2024-04-22T10:00:01Z', host: 'node-a', mono: null, transport: 'syslog' },
  { name: 'journalctl short-iso-precise', line: `2024-04-22T10:00:01.654321-05:00 node-a kernel: ${BODY}`, envelope: 'rfc3339', time: '2024-04-22T15:00:01.654321Z', host: 'node-a', mono: null, transport: 'syslog' },
  { name: 'RFC5424', line: `<4>1 2023-04-03T16:24:41.390796-06:00 node-a kernel - - - [849085.223282] ${BODY}`, envelope: 'rfc5424', time: '2023-04-03T22:24:41.390796Z', host: 'node-a', mono: 849085.223282, transport: 'syslog' },
  { name: 'RFC5424 with structured data', line: `<4>1 2023-04-03T16:24:41Z node-a kernel - - [meta x="a\\]b"] ${BODY}`, envelope: 'rfc5424', time: '2023-04-03T16:24:41Z', host: 'node-a', mono: null, transport: 'syslog' },
  { name: 'journalctl short-monotonic', line: `[ 1835.131574] node-a kernel: ${BODY}`, envelope: 'journal-short-monotonic', time: null, host: 'node-a', mono: 1835.131574, transport: 'syslog' },
  { name: 'journalctl short-delta', line: `[ 1835.131574 <    0.000123 >] node-a kernel: ${BODY}`, envelope: 'journal-short-delta', time: null, host: 'node-a', mono: 1835.131574, transport: 'syslog' },
  { name: 'journalctl short-full', line: `Mon 2024-04-22 10:00:01 UTC node-a kernel: ${BODY}`, envelope: 'journal-short-full', time: '2024-04-22T10:00:01Z', host: 'node-a', mono: null, transport: 'syslog' },
  { name: 'journalctl short-full, a numeric zone and microseconds', line: `Mon 2024-04-22 10:00:01.250000 +0200 node-a kernel: ${BODY}`, envelope: 'journal-short-full', time: '2024-04-22T08:00:01.250000Z', host: 'node-a', mono: null, transport: 'syslog' },
  { name: 'journalctl short-full, an IANA zone', line: `Mon 2024-01-22 10:00:01 America/New_York node-a kernel: ${BODY}`, envelope: 'journal-short-full', time: '2024-01-22T15:00:01Z', host: 'node-a', mono: null, transport: 'syslog' },
  { name: 'journalctl short-full before 1970: no time, the envelope and host kept', line: `Wed 1969-12-31 23:59:59 UTC node-a kernel: ${BODY}`, envelope: 'journal-short-full', time: null, host: 'node-a', mono: null, transport: 'syslog' },
  { name: 'journalctl short-unix', line: `1713780001.123456 node-a kernel: ${BODY}`, envelope: 'journal-short-unix', time: '2024-04-22T10:00:01.123456Z', host: 'node-a', mono: null, transport: 'syslog' },
  { name: 'journalctl cat', line: BODY, envelope: 'bare', time: null, host: null, mono: null },
  { name: 'dmesg', line: `[  499.178765] ${BODY}`, envelope: 'dmesg', time: null, host: null, mono: 499.178765, transport: 'kernel' },
  { name: 'dmesg -d', line: `[  499.178765 <    0.000000>] ${BODY}`, envelope: 'dmesg', time: null, host: null, mono: 499.178765, transport: 'kernel' },
  { name: 'dmesg -x', line: `kern  :warn  : [  499.178765] ${BODY}`, envelope: 'dmesg', time: null, host: null, mono: 499.178765, transport: 'kernel' },
  { name: 'dmesg -x, a line userspace wrote', line: `user  :notice: [  499.178765] ${BODY}`, envelope: 'dmesg', time: null, host: null, mono: 499.178765, transport: 'syslog' },
  { name: 'dmesg -x, a facility name of its own', line: `local7:debug : [  499.178765] ${BODY}`, envelope: 'dmesg', time: null, host: null, mono: 499.178765, transport: 'syslog' },
  { name: 'dmesg --time-format iso', line: `2024-04-22T10:00:01,123456+02:00 ${BODY}`, envelope: 'dmesg-iso', time: '2024-04-22T08:00:01.123456Z', host: null, mono: null, transport: 'kernel' },
  { name: 'dmesg -x --time-format iso', line: `kern  :warn  : 2024-04-22T10:00:01,123456+00:00 ${BODY}`, envelope: 'dmesg-iso', time: '2024-04-22T10:00:01.123456Z', host: null, mono: null, transport: 'kernel' },
  { name: 'dmesg -e, a minute', line: `[Apr22 10:00] ${BODY}`, envelope: 'dmesg', time: null, host: null, mono: null, transport: 'kernel' },
  { name: 'dmesg -e, an offset', line: `[  +0.000123] ${BODY}`, envelope: 'dmesg', time: null, host: null, mono: null, transport: 'kernel' },
  { name: 'dmesg --time-format delta', line: `[<    0.000123>] ${BODY}`, envelope: 'dmesg', time: null, host: null, mono: null, transport: 'kernel' },
  { name: 'dmesg -r', line: `<4>[  499.178765] ${BODY}`, envelope: 'dmesg', time: null, host: null, mono: 499.178765, transport: 'kernel' },
  { name: 'dmesg -T', line: `[Mon Apr 22 10:00:01 2024] ${BODY}`, envelope: 'dmesg-T', time: '2024-04-22T10:00:01Z', host: null, mono: null, transport: 'kernel' },
  { name: '/dev/kmsg', line: kmsgLine, envelope: 'kmsg', time: null, host: null, mono: 692.091208, transport: 'kernel' },
  { name: '/dev/kmsg written by userspace (facility 1)', line: `12,5,100,-;${BODY}`, envelope: 'kmsg', time: null, host: null, mono: 0.0001, transport: 'syslog' },
  { name: 'talosctl dmesg', line: `172.20.1.2: kern:    warn: [2021-11-10T10:09:37.662764956Z]: ${BODY}`, envelope: 'talos', time: '2021-11-10T10:09:37.662764Z', host: '172.20.1.2', mono: null, transport: 'kernel' },
  {
    name: 'journalctl json',
    line: JSON.stringify({ MESSAGE: BODY, _TRANSPORT: 'kernel', __REALTIME_TIMESTAMP: '1713780001123456', _SOURCE_MONOTONIC_TIMESTAMP: '1835131574', _HOSTNAME: 'node-a', PRIORITY: '4' }),
    envelope: 'journal-json', time: '2024-04-22T10:00:01.123456Z', host: 'node-a', mono: 1835.131574, transport: 'kernel',
  },
  {
    name: 'journalctl json-seq',
    line: `\u001e${JSON.stringify({ MESSAGE: BODY, _TRANSPORT: 'kernel', __REALTIME_TIMESTAMP: '1713780001123456', _HOSTNAME: 'node-a' })}`,
    envelope: 'journal-json', time: '2024-04-22T10:00:01.123456Z', host: 'node-a', mono: null, transport: 'kernel',
  },
  {
    name: 'journalctl json-sse',
    line: `data: ${JSON.stringify({ MESSAGE: BODY, _TRANSPORT: 'kernel', __REALTIME_TIMESTAMP: '1713780001123456', _HOSTNAME: 'node-a' })}`,
    envelope: 'journal-json', time: '2024-04-22T10:00:01.123456Z', host: 'node-a', mono: null, transport: 'kernel',
  },
  {
    name: 'journalctl json, MESSAGE as bytes',
    line: JSON.stringify({ MESSAGE: [...Buffer.from(BODY)], _TRANSPORT: 'kernel', __REALTIME_TIMESTAMP: '1713780001000000', _HOSTNAME: 'node-a' }),
    envelope: 'journal-json', time: '2024-04-22T10:00:01.000000Z', host: 'node-a', mono: null, transport: 'kernel',
  },
];

describe('envelopes', () => {
  for (const c of cases) {
    it(c.name, () => {
      const e = ev(parse1(c.line));
      expect(e.envelope).toBe(c.envelope);
      expect(e.time).toBe(c.time);
      expect(e.host).toBe(c.host);
      if (c.mono === null) expect(e.mono).toBeNull();
      else expect(e.mono).toBeCloseTo(c.mono, 6);
      expect(e.transport).toBe(c.transport);
      expect(e.ts === null ? null : new Date(e.ts).toISOString().slice(0, 19)).toBe(c.time === null ? null : c.time.slice(0, 19));
      // The body is the same whatever the envelope.
      expect([e.prefix, e.src, e.dst, e.proto, e.spt, e.dpt, e.flags]).toEqual(['FWFX_SYN_DROP_', '198.18.0.1', '198.18.0.2', 'TCP', 40001, 10250, ['SYN']]);
    });
  }

  it('one stream may mix envelopes; line numbers count every input line', () => {
    const p = createParser({ tz: 'UTC', now: () => NOW });
    const lines = [cases[0]!.line, 'Apr  2 10:00:02 node-a systemd[1]: Started foo.', cases[4]!.line, cases[13]!.line];
    const out = lines.map((l) => p.parseLine(l));
    expect(out.map((r) => r.kind)).toEqual(['event', 'skip', 'event', 'event']);
    expect(out.filter((r) => r.kind === 'event').map((r) => ev(r).line)).toEqual([1, 3, 4]);
    expect(p.counters).toMatchObject({ lines: 4, events: 3, skipped: 1, issues: 0 });
  });

  it('a syslog line from another program claiming a LOG body is not a kernel line', () => {
    expect(parse1(`Apr  2 10:00:01 node-a evil[12]: ${BODY}`).kind).toBe('skip');
    expect(parse1(`Mon 2024-04-22 10:00:01 UTC node-a evil[12]: ${BODY}`).kind).toBe('skip');
    expect(parse1(`2024-04-22T10:00:01Z node-a logger: ${BODY}`).kind).toBe('skip');
    expect(parse1(JSON.stringify({ MESSAGE: BODY, _TRANSPORT: 'stdout', SYSLOG_IDENTIFIER: 'evil' })).kind).toBe('skip');
  });

  it('journalctl export: multi-line records, binary MESSAGE, record line number', () => {
    const p = createParser({ tz: 'UTC', now: () => NOW });
    const rec = [
      '__CURSOR=s=abc;i=1',
      '__REALTIME_TIMESTAMP=1713780001123456',
      '_TRANSPORT=kernel',
      '_HOSTNAME=node-b',
      `MESSAGE=${BODY}`,
      '',
      '__CURSOR=s=abc;i=2',
      '__REALTIME_TIMESTAMP=1713780002000000',
      '_TRANSPORT=kernel',
      'MESSAGE',
      // 8-byte little-endian length, then the bytes (what journalctl -o export prints for non-UTF-8 data)
      `${String.fromCharCode(BODY.length & 0xff, BODY.length >> 8, 0, 0, 0, 0, 0, 0)}${BODY}`,
      '_HOSTNAME=node-c',
    ];
    const out = rec.map((l) => p.parseLine(l));
    const events = [...out, ...p.flush()].filter((r) => r.kind === 'event').map(ev);
    expect(events.map((e) => [e.line, e.host, e.time, e.envelope, e.transport, e.dpt])).toEqual([
      [1, 'node-b', '2024-04-22T10:00:01.123456Z', 'journal-export', 'kernel', 10250],
      [7, 'node-c', '2024-04-22T10:00:02.000000Z', 'journal-export', 'kernel', 10250],
    ]);
  });

  it('journalctl export: a binary MESSAGE whose length bytes hold a newline (266, 522, 2560, 2570 bytes), from a file', () => {
    // the bytes journalctl -o export writes, read as a file is (the length's 0x0a splits the "line")
    const rec = (msg: string, host: string): Buffer => {
      const m = Buffer.from(msg, 'latin1');
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(m.length));
      return Buffer.concat([Buffer.from(`__REALTIME_TIMESTAMP=1713780001123456\n_TRANSPORT=kernel\n_HOSTNAME=${host}\nMESSAGE\n`), len, m, Buffer.from('\n\n')]);
    };
    // a non-UTF-8 byte first (why journald chose the binary form), the prefix padded to the length wanted
    const msg = (n: number): string => `\xffD${'x'.repeat(n - 3 - BODY.length)} ${BODY}`;
    const sizes = [266, 522, 2560, 2570];
    const p = createParser({ tz: 'UTC', now: () => NOW });
    const out: LineResult[] = [];
    p.parseBytes(Buffer.concat(sizes.map((n, i) => rec(msg(n), `n${i}`))), out);
    out.push(...p.flush());
    const events = out.filter((r) => r.kind === 'event').map(ev);
    expect(events.map((e) => [e.host, e.envelope, e.transport, e.dpt])).toEqual(sizes.map((_, i) => [`n${i}`, 'journal-export', 'kernel', 10250]));
    expect(events.map((e) => e.prefix)).toEqual(sizes.map((n) => `\ufffdD${'x'.repeat(n - 3 - BODY.length)} ${BODY.slice(0, BODY.indexOf('IN='))}`));
    expect(out.filter((r) => r.kind === 'issue')).toEqual([]);
  });

  it('journalctl json-pretty: multi-line records, MESSAGE as a string or bytes; a lone `{` is no record', () => {
    const p = createParser({ tz: 'UTC', now: () => NOW });
    const rec = { __REALTIME_TIMESTAMP: '1713780001123456', _TRANSPORT: 'kernel', _HOSTNAME: 'node-b', MESSAGE: BODY };
    const pretty = (o: object) => JSON.stringify(o, null, '\t').replaceAll('": ', '" : ').split('\n');
    const lines = [...pretty(rec), ...pretty({ ...rec, _HOSTNAME: 'node-c', MESSAGE: [...Buffer.from(BODY)] }), '{', `Apr  2 10:00:01 node-d kernel: ${BODY}`];
    const out = [...lines.map((l) => p.parseLine(l)), ...p.flush()];
    const events = out.filter((r) => r.kind === 'event').map(ev);
    expect(events.map((e) => [e.line, e.host, e.time, e.envelope, e.transport, e.dpt])).toEqual([
      [1, 'node-b', '2024-04-22T10:00:01.123456Z', 'journal-json', 'kernel', 10250],
      [7, 'node-c', '2024-04-22T10:00:01.123456Z', 'journal-json', 'kernel', 10250],
      [lines.length, 'node-d', '2024-04-02T10:00:01Z', 'rfc3164', 'syslog', 10250],
    ]);
    expect(p.counters).toMatchObject({ lines: lines.length, events: 3, skipped: 1, issues: 0 });
    // a `{` and tab-indented lines that end in no `}`: all skipped, and the line after them read as itself
    const t = createParser({ tz: 'UTC', now: () => NOW });
    const odd = ['{', '\tnot a member', '\tnor this', `Apr  2 10:00:01 node-d kernel: ${BODY}`].map((l) => t.parseLine(l));
    expect(odd.map((r) => r.kind)).toEqual(['pending', 'pending', 'pending', 'event']);
    expect(t.counters).toMatchObject({ lines: 4, events: 1, skipped: 3, issues: 0 });
    // the input ends inside a record: an issue, not a silent loss
    const q = createParser({ tz: 'UTC', now: () => NOW });
    for (const l of pretty(rec).slice(0, -1)) q.parseLine(l);
    expect(q.flush().map((r) => r.kind === 'issue' && [r.issue.issue, r.issue.line])).toEqual([['bad-envelope', 1]]);
    // a record over 1 MiB is an issue, and the lines after it are read as themselves
    const big = createParser({ tz: 'UTC', now: () => NOW });
    const huge = ['{', ...Array.from({ length: 2000 }, (_, i) => `\t"F${i}" : "${'x'.repeat(600)}",`), ...pretty(rec).slice(1)];
    const got = [...huge, `Apr  2 10:00:01 node-d kernel: ${BODY}`].map((l) => big.parseLine(l)).filter((r) => r.kind !== 'pending');
    expect(got.map((r) => (r.kind === 'issue' ? r.issue.issue : r.kind))).toEqual(['line-too-long', 'event']);
  });

  it('a prefix glued to IN=, with spaces, brackets or quotes', () => {
    const body = BODY.slice(BODY.indexOf('IN='));
    for (const prefix of ['', 'HARVESTER_DROP_', '[UFW BLOCK] ', '"filter_IN_public_REJECT: "', 'calico-packet: ', 'IN=OUT= weird ']) {
      const e = ev(parse1(`${prefix}${body}`));
      expect(e.prefix).toBe(prefix);
      expect(e.in).toBe('eth0');
    }
  });
});

describe('impossible dates', () => {
  // [a stamp whose date the calendar lacks, that date, its twin no month has] — a stamp with the twin is refused
  // today (the line is not read as that envelope, or keeps it without a time): the first must be read the same way,
  // not rolled over into the next month (Date.UTC(2026, 3, 31) is May 1)
  const pairs: [string, string, string][] = [
    [`2026-04-31T10:00:00+00:00 h kernel: ${BODY}`, '2026-04-31', '2026-04-32'],
    [`2026-02-29T10:00:00.5Z h kernel: ${BODY}`, '2026-02-29', '2026-02-32'],
    [`2100-02-29T10:00:00Z h kernel: ${BODY}`, '2100-02-29', '2100-02-32'],
    [`<4>2026-06-31T10:00:00Z h kernel: ${BODY}`, '2026-06-31', '2026-06-32'],
    [`<4>1 2026-04-31T10:00:00Z h kernel - - - [849085.223282] ${BODY}`, '2026-04-31', '2026-04-32'],
    [`2026-09-31T10:00:01,123456+00:00 ${BODY}`, '2026-09-31', '2026-09-32'],
    [`10.0.0.1: kern:    warn: [2026-11-31T10:09:37.662764956Z]: ${BODY}`, '2026-11-31', '2026-11-32'],
    [`Thu 2026-04-31 10:00:01 UTC h kernel: ${BODY}`, '2026-04-31', '2026-04-32'],
    [`Thu 2026-02-30 10:00:01.250000 +0200 h kernel: ${BODY}`, '2026-02-30', '2026-02-32'],
    [`Sat 1969-02-29 10:00:01 UTC h kernel: ${BODY}`, '1969-02-29', '1969-02-32'],
    [`[Thu Apr 31 10:00:01 2026] ${BODY}`, 'Apr 31', 'Apr 00'],
    [`[Sun Feb 29 10:00:01 2026] ${BODY}`, 'Feb 29', 'Feb 00'],
    [`[Wed Apr 22 25:00:01 2026] ${BODY}`, '22 25:', '00 10:'],
    [`Apr 31 10:00:01 h kernel: ${BODY}`, 'Apr 31', 'Apr 32'],
    [`<4>Feb 30 10:00:01 h kernel: ${BODY}`, 'Feb 30', 'Feb 32'],
  ];
  const viaLines = (lines: string[]): LineResult[] => {
    const p = createParser({ tz: 'UTC', now: () => Date.parse('2026-12-01T00:00:00Z') });
    return lines.map((l) => p.parseLine(l));
  };
  const viaBytes = (lines: string[]): LineResult[] => {
    const p = createParser({ tz: 'UTC', now: () => Date.parse('2026-12-01T00:00:00Z') });
    const out: LineResult[] = [];
    p.parseBytes(Buffer.from(lines.map((l) => `${l}\n`).join('')), out);
    const lineOf = (r: LineResult): number | undefined => (r.kind === 'event' ? r.event.line : r.kind === 'issue' ? r.issue.line : undefined);
    return lines.map((_, i) => out.find((r) => lineOf(r) === i + 1) ?? { kind: 'skip' });
  };

  it('are refused as a malformed stamp is, never rolled over into the next month — by the scanner too', () => {
    for (const [line, bad, twin] of pairs) {
      const malformed = line.replace(bad, twin);
      for (const parse of [viaLines, viaBytes]) {
        const [a, b] = parse([line, malformed]) as [LineResult, LineResult];
        const json = (r: LineResult): string => JSON.stringify(r).replace(/"line":\d+/g, '"line":0');
        expect(json(a), `${parse.name}: ${line}`).toBe(json(b).replaceAll(twin, bad));
        if (a.kind === 'event') expect(a.event.time, line).toBeNull();
      }
    }
  });

  it('a leap day is a date in a leap year (2024, 2000), and the last day of each month is one', () => {
    const times = viaLines([
      `2024-02-29T10:00:00Z h kernel: ${BODY}`,
      `2000-02-29T10:00:00Z h kernel: ${BODY}`,
      `2026-04-30T10:00:00Z h kernel: ${BODY}`,
      `2026-12-31T10:00:00Z h kernel: ${BODY}`,
      `Thu 2024-02-29 10:00:01 UTC h kernel: ${BODY}`,
      `[Thu Feb 29 10:00:01 2024] ${BODY}`,
    ]).map((r) => ev(r).time);
    expect(times).toEqual([
      '2024-02-29T10:00:00Z', '2000-02-29T10:00:00Z', '2026-04-30T10:00:00Z', '2026-12-31T10:00:00Z', '2024-02-29T10:00:01Z', '2024-02-29T10:00:01Z',
    ]);
  });

  it('a year of 0-99 is that year, not 1900-1999 (Date.UTC\'s reading) — by the scanner too', () => {
    // [ISO stamp (the envelopes whose stamps have a year; the others refuse one before 1970), the time it names];
    // year 4 is a leap year, 100 is not (proleptic Gregorian)
    const years: [string, string][] = [
      [`0050-04-22T10:00:01Z h kernel: ${BODY}`, '0050-04-22T10:00:01Z'],
      [`0099-12-31T23:59:59.25+02:00 h kernel: ${BODY}`, '0099-12-31T21:59:59.25Z'],
      [`<4>0004-02-29T10:00:00Z h kernel: ${BODY}`, '0004-02-29T10:00:00Z'],
      [`<4>1 0050-04-22T10:00:01.5Z h kernel - - - ${BODY}`, '0050-04-22T10:00:01.5Z'],
      [`10.0.0.1: kern:    warn: [0050-04-22T10:09:37.662764956Z]: ${BODY}`, '0050-04-22T10:09:37.662764Z'],
      [`0100-02-29T10:00:00Z h kernel: ${BODY}`, 'none'],
    ];
    for (const parse of [viaLines, viaBytes]) {
      const got = parse(years.map(([l]) => l)).map((r) => (r.kind === 'event' ? r.event.time : null));
      years.forEach(([line, want], i) => {
        if (want === 'none') expect(got[i], `${parse.name}: ${line}`).toBeNull();
        else expect(got[i], `${parse.name}: ${line}`).toBe(want);
      });
    }
  });
});

describe('RFC3164 year inference', () => {
  const at = (now: string, stamp: string): string | null =>
    ev(createParser({ tz: 'UTC', now: () => Date.parse(now) }).parseLine(`${stamp} h kernel: ${BODY}`)).time;
  it('takes the newest year that is not in the future', () => {
    expect(at('2024-06-01T00:00:00Z', 'Apr 22 10:00:01')).toBe('2024-04-22T10:00:01Z');
    expect(at('2024-06-01T00:00:00Z', 'Dec 31 23:59:59')).toBe('2023-12-31T23:59:59Z');
  });
  it('rolls over Dec → Jan within one stream', () => {
    const p = createParser({ tz: 'UTC', now: () => Date.parse('2025-01-01T00:05:00Z') });
    const a = ev(p.parseLine(`Dec 31 23:59:59 h kernel: ${BODY}`));
    const b = ev(p.parseLine(`Jan  1 00:00:01 h kernel: ${BODY}`));
    expect([a.time, b.time]).toEqual(['2024-12-31T23:59:59Z', '2025-01-01T00:00:01Z']);
  });
  it('within a day ahead counts (clock skew), across New Year too; the year is --tz\'s; Feb 29 is the last leap year\'s', () => {
    // 35 s ahead of a clock at 23:59:30 on Dec 31: next year's, not a year back
    expect(at('2024-12-31T23:59:30Z', 'Jan  1 00:00:05')).toBe('2025-01-01T00:00:05Z');
    expect(at('2024-12-31T23:59:30Z', 'Dec 31 23:59:00')).toBe('2024-12-31T23:59:00Z');
    // more than a day ahead is last year's
    expect(at('2024-12-30T00:00:00Z', 'Jan  1 00:00:05')).toBe('2024-01-01T00:00:05Z');
    // 20:00 UTC on Dec 31 is already Jan 1 in Tokyo: a Tokyo stamp of Jan 1 04:59 is an hour ago, not a year ago
    const tokyo = createParser({ tz: 'Asia/Tokyo', now: () => Date.parse('2024-12-31T20:00:00Z') });
    expect(ev(tokyo.parseLine(`Jan  1 04:59:00 h kernel: ${BODY}`)).time).toBe('2024-12-31T19:59:00Z');
    expect(at('2025-06-01T00:00:00Z', 'Feb 29 10:00:00')).toBe('2024-02-29T10:00:00Z');
    expect(at('2031-06-01T00:00:00Z', 'Feb 29 10:00:00')).toBe('2028-02-29T10:00:00Z');
    // a day the month does not have is no date (no roll-over into the next month)
    expect(at('2025-06-01T00:00:00Z', 'Apr 31 10:00:00')).toBeNull();
  });
  it('applies --tz to stamps without an offset', () => {
    const p = createParser({ tz: 'Europe/Berlin', now: () => NOW });
    expect(ev(p.parseLine(`Apr 22 10:00:01 h kernel: ${BODY}`)).time).toBe('2024-04-22T08:00:01Z');
    expect(ev(p.parseLine(`[Mon Apr 22 10:00:01 2024] ${BODY}`)).time).toBe('2024-04-22T08:00:01Z');
    // journalctl short-full: a zone abbreviation is read in --tz; UTC and numeric offsets say exactly
    expect(ev(p.parseLine(`Mon 2024-04-22 10:00:01 CEST h kernel: ${BODY}`)).time).toBe('2024-04-22T08:00:01Z');
    expect(ev(p.parseLine(`Mon 2024-04-22 10:00:01 UTC h kernel: ${BODY}`)).time).toBe('2024-04-22T10:00:01Z');
    expect(ev(p.parseLine(`Mon 2024-04-22 10:00:01 -0130 h kernel: ${BODY}`)).time).toBe('2024-04-22T11:30:01Z');
  });
});
