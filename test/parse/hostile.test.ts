/**
 * Bad input is data: the parser never throws or hangs, malformed LOG lines become issue records, and the fast
 * path agrees with the general tokenizer on every line it accepts.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LineResult } from '../../src/parse/event.js';
import { createParser } from '../../src/parse/parse-line.js';
import { makeLine, mulberry32 } from '../../bench/corpus.mjs';

const kmsg = readFileSync(new URL('../../fixtures/kernel/kmsg.txt', import.meta.url), 'utf8').split('\n').filter(Boolean);
const syslog = readFileSync(new URL('../../fixtures/kernel/syslog.txt', import.meta.url), 'utf8').split('\n').filter(Boolean);
const REAL = [...kmsg, ...syslog];

describe('hostile and malformed input', () => {
  it('never throws on arbitrary strings, and every result is one of the four kinds', () => {
    const p = createParser({ tz: 'UTC', now: () => 0 });
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (s) => {
        const r = p.parseLine(s);
        expect(['event', 'issue', 'skip', 'pending']).toContain(r.kind);
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on real kernel lines with bytes inserted, deleted or replaced anywhere', () => {
    const p = createParser({ tz: 'UTC', now: () => 0 });
    fc.assert(
      fc.property(
        fc.constantFrom(...REAL),
        fc.nat(),
        fc.nat({ max: 40 }),
        fc.string({ unit: 'binary', maxLength: 20 }),
        (line, at, del, ins) => {
          const i = at % (line.length + 1);
          const mutated = line.slice(0, i) + ins + line.slice(i + del);
          const r = p.parseLine(mutated);
          if (r.kind === 'issue') {
            expect(r.issue.line).toBe(p.counters.lines);
            expect(r.issue.text.length).toBeLessThanOrEqual(1024);
          }
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('a real line cut anywhere after its addresses is an event or a truncated-line issue, never a wrong event', () => {
    const line = kmsg[0] as string; // a TCP SYN: complete only with URGP=
    const urgp = line.indexOf('URGP=');
    const p = createParser();
    for (let cut = line.indexOf('SRC='); cut < line.length; cut++) {
      const r = p.parseLine(line.slice(0, cut));
      if (cut <= urgp + 5) {
        expect(r.kind, `cut at ${cut}: ${line.slice(0, cut)}`).toBe('issue');
        if (r.kind === 'issue') expect(['truncated', 'missing-field']).toContain(r.issue.issue);
      } else {
        expect(r.kind).toBe('event');
      }
    }
    expect(p.counters.issues).toBeGreaterThan(100);
  });

  it('so are real UDP, ICMP echo and ICMP error lines: the kernel prints LEN= after DPT=, SEQ= after ID=, and `]` closing the quoted packet', () => {
    const udp = kmsg.find((l) => l.includes('PROTO=UDP SPT='))!;
    const echo = kmsg.find((l) => l.includes('PROTO=ICMP TYPE=8 '))!;
    const error = kmsg.find((l) => l.includes('PROTO=ICMP TYPE=3 ') && l.includes(' ]'))!;
    // the value of the field that must come last: a cut before it is an issue, a cut after it an event (a cut inside
    // a number is a shorter number, which no parser can tell)
    const cases: [string, number, number][] = [
      [udp, udp.lastIndexOf(' LEN=') + 5, udp.trimEnd().length],
      [echo, echo.lastIndexOf(' SEQ=') + 5, echo.trimEnd().length],
      [error, error.lastIndexOf(' ]') + 1, error.lastIndexOf(' ]') + 2],
    ];
    for (const [line, from, to] of cases) {
      const p = createParser();
      for (let cut = line.indexOf('PROTO='); cut <= line.length; cut++) {
        if (cut > from && cut < to) continue;
        const r = p.parseLine(line.slice(0, cut));
        expect(r.kind, `cut at ${cut}: ${line.slice(0, cut)}`).toBe(cut <= from ? 'issue' : 'event');
        if (r.kind === 'issue') expect(r.issue.issue, line.slice(0, cut)).toBe('truncated');
      }
    }
  });

  it('a LOG-like line without its IN= … OUT= says which is missing (the seed documents lines with fields elided)', () => {
    const p = createParser({ tz: 'UTC', now: () => 0 });
    const elided = p.parseLine('May 05 04:40:28 harvester1 kernel: HARVESTER_DROP_IN=mgmt-br ... SRC=192.168.122.62 DST=192.168.122.61 ... PROTO=TCP SPT=10250 DPT=56266 ... ACK RST URGP=0');
    expect(elided).toMatchObject({ kind: 'issue', issue: { issue: 'missing-field', message: 'LOG-like line with IN= but no OUT= after it (the kernel writes both)' } });
    const none = p.parseLine('May 05 04:40:28 harvester1 kernel: SRC=192.168.122.62 DST=192.168.122.61 LEN=40 PROTO=TCP SPT=10250 DPT=56266 ');
    expect(none).toMatchObject({ kind: 'issue', issue: { issue: 'missing-field', message: 'LOG-like line without IN= and OUT=' } });
  });

  it('a non-numeric field value is a malformed-field issue', () => {
    const bad = (kmsg[0] as string).replace('DPT=10250', 'DPT=10x50');
    const r = createParser().parseLine(bad);
    expect(r.kind).toBe('issue');
    if (r.kind === 'issue') expect(r.issue).toMatchObject({ issue: 'malformed-field', line: 1 });
  });

  it('control characters and NULs in the prefix and host are kept as data (escaping is the printers\' job)', () => {
    const body = (kmsg[0] as string).slice((kmsg[0] as string).indexOf('IN='));
    const r = createParser({ tz: 'UTC', now: () => 0 }).parseLine(`Jan  1 00:00:00 h\u001b[31m kernel: \u0000\u001b]0;pwn\u0007${body}`);
    expect(r.kind).toBe('event');
    if (r.kind === 'event') {
      expect(r.event.prefix).toBe('\u0000\u001b]0;pwn\u0007');
      expect(r.event.host).toBe('h\u001b[31m');
    }
  });

  it('a stamp that spells a time past year 9999 gives the line no time (it used to throw out of the whole run)', () => {
    const body = (kmsg[0] as string).slice((kmsg[0] as string).indexOf('IN='));
    const journal = (rt: string): string => JSON.stringify({ _TRANSPORT: 'kernel', __REALTIME_TIMESTAMP: rt, _SOURCE_MONOTONIC_TIMESTAMP: '5000000', MESSAGE: body });
    const cases: Array<[string, number | undefined, number | null]> = [
      [journal('9999999999917137865000'), undefined, null], // 22 digits: year ~316,000,000
      [journal('253402300800000000'), undefined, null], // 10000-01-01T00:00:00Z
      [journal('4102444800000001'), undefined, 4102444800000.001], // 2100-01-01T00:00:00.000001Z: a time
      [`4,1,9000000000000000000,-;${body}`, Date.parse('2024-05-01T00:00:00Z'), null], // dated from the boot time
      [`[9000000000000.000000] ${body}`, Date.parse('2024-05-01T00:00:00Z'), null],
    ];
    for (const [line, bootTimeMs, ts] of cases) {
      const opts = { tz: 'UTC', now: () => 0, ...(bootTimeMs === undefined ? {} : { bootTimeMs }) };
      const events = [createParser({ ...opts, fastPath: false }).parseLine(line)];
      const out: LineResult[] = [];
      createParser(opts).parseBytes(Buffer.from(`${line}\n`), out);
      events.push(...out);
      const packets: Array<number | null> = [];
      createParser(opts).parseBytesPackets(Buffer.from(`${line}\n`), (pk) => void packets.push(pk.ts), (r) => void packets.push(r.kind === 'event' ? r.event.ts : NaN));
      expect(packets, line).toEqual([ts]);
      for (const r of events) {
        expect(r.kind, line).toBe('event');
        if (r.kind !== 'event') continue;
        expect(r.event.ts, line).toBe(ts);
        expect(r.event.time === null, line).toBe(ts === null);
        expect(r.event.src).toBeDefined();
      }
    }
  });

  it('unknown tokens are kept, not dropped', () => {
    const line = (kmsg[0] as string).replace('URGP=0', 'URGP=0 FUTURE=1 NEWFLAG');
    const r = createParser().parseLine(line);
    expect(r.kind).toBe('event');
    if (r.kind === 'event') expect(r.event.unknown).toEqual(['FUTURE=1', 'NEWFLAG']);
  });
});

describe('fast path = general tokenizer', () => {
  it('on every kernel fixture line and 20,000 synthetic lines in every envelope', () => {
    const rnd = mulberry32(7);
    const lines = [...REAL];
    for (let i = 0; i < 20_000; i++) lines.push(makeLine(rnd, i) as string);
    const fast = createParser({ tz: 'UTC', now: () => Date.parse('2024-06-01T00:00:00Z') });
    const slow = createParser({ tz: 'UTC', now: () => Date.parse('2024-06-01T00:00:00Z'), fastPath: false });
    let events = 0;
    for (const l of lines) {
      const a = fast.parseLine(l);
      const b = slow.parseLine(l);
      expect(a).toEqual(b);
      if (a.kind === 'event') events++;
    }
    expect(events).toBeGreaterThan(18_000);
  });

  it('a run of IN= tokens before one space costs linear time, in JavaScript and in the scanner, and the body after it is found', () => {
    // each IN= used to scan on to the same next space: ~8 ms a 64 KB line, ~2 s for these 200 (~0.1 s now)
    const body = 'IN=eth0 OUT= MAC= SRC=198.18.0.1 DST=198.18.0.2 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40000 DPT=22 WINDOW=512 RES=0x00 SYN URGP=0 ';
    const line = `<4>[  100.000001] ${'IN='.repeat(20_000)} ${body}`;
    const lines = Array.from({ length: 200 }, () => line);
    const t0 = performance.now();
    const js = createParser({ tz: 'UTC', now: () => 0, fastPath: false });
    const viaJs = lines.map((l) => js.parseLine(l));
    const results: LineResult[] = [];
    createParser({ tz: 'UTC', now: () => 0 }).parseBytes(Buffer.from(lines.map((l) => `${l}\n`).join('')), results);
    const ms = performance.now() - t0;
    for (const r of [...viaJs, ...results]) {
      expect(r.kind).toBe('event');
      if (r.kind === 'event') expect([r.event.in, r.event.dpt, r.event.prefix.length]).toEqual(['eth0', 22, 60_001]);
    }
    expect(results).toHaveLength(200);
    expect(ms).toBeLessThan(1000);
  });
});
