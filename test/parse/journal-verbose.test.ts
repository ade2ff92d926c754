/**
 * `journalctl -o verbose`: records journald stored from the kernel's own LOG lines, printed by journalctl as verbose
 * and as JSON (fixtures/kernel/capture-journal.sh). Both must give the same events; the verbose records are read
 * through the scanner's byte path and line by line alike.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createParser } from '../../src/parse/parse-line.js';
import type { DropEvent, LineResult } from '../../src/parse/event.js';

const dir = new URL('../../fixtures/kernel/', import.meta.url);
const text = (name: string): string => readFileSync(new URL(name, dir), 'utf8');
const OPTS = { tz: 'UTC', now: () => Date.UTC(2026, 10, 25) } as const;

function byLine(s: string): LineResult[] {
  const p = createParser(OPTS);
  // every line, blank ones too (they are lines of the input); not the empty rest after the final newline
  const lines = s.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const out = lines.map((l) => p.parseLine(l));
  return [...out, ...p.flush()];
}

function byBytes(s: string): { results: LineResult[]; counters: object } {
  const p = createParser(OPTS);
  const out: LineResult[] = [];
  p.parseBytes(Buffer.from(s), out);
  return { results: [...out, ...p.flush()], counters: { ...p.counters } };
}

const events = (rs: LineResult[]): DropEvent[] => rs.flatMap((r) => (r.kind === 'event' ? [r.event] : []));
/** An event without what differs by envelope: its name and where in the input it was. */
const body = (e: DropEvent): Omit<DropEvent, 'envelope' | 'line'> => {
  const { envelope: _e, line: _l, ...rest } = e;
  return rest;
};

describe('journalctl -o verbose (records journald stored from the kernel)', () => {
  const verbose = text('journal-verbose.txt');
  const json = text('journal-json.txt');

  it('gives every record as an event, the same as journalctl -o json of the same records', () => {
    const v = events(byLine(verbose));
    const j = events(byLine(json));
    expect(v.length).toBe(json.split('\n').filter((l) => l !== '').length);
    expect(v.length).toBeGreaterThanOrEqual(5);
    expect(v.map(body)).toEqual(j.map(body));
    for (const e of v) {
      expect(e).toMatchObject({ envelope: 'journal-verbose', transport: 'kernel', host: 'vm' });
      expect(e.prefix).toMatch(/^FWJR[0-9a-f]{6}_$/);
      expect(e.time).toMatch(/^2026-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      expect(e.mono).toBeGreaterThan(0);
    }
    // the event is given at its MESSAGE line (the record's last): `journalctl -f -o verbose` is read as it comes
    const lines = verbose.split('\n');
    for (const e of v) expect(lines[e.line - 1]).toMatch(/^ {4}MESSAGE=/);
    expect(v.map((e) => e.proto)).toEqual(['TCP', 'UDP', 'UDP', 'ICMP', 'TCP']);
    expect(v[4]).toMatchObject({ family: 6, dpt: 9345, flags: ['SYN'] });
  });

  it('reads the same through the scanner (bytes) as line by line', () => {
    const a = byLine(verbose);
    const b = byBytes(verbose);
    expect(b.results.filter((r) => r.kind !== 'pending')).toEqual(a.filter((r) => r.kind !== 'pending' && r.kind !== 'skip'));
    expect(b.counters).toMatchObject({ lines: verbose.split('\n').filter((l) => l !== '').length, events: 5, skipped: 0, issues: 0 });
  });

  it('takes the time from the cursor (t=), whatever zone the header prints', () => {
    const [head, ...rest] = verbose.split('\n');
    const shifted = [head!.replace(/ UTC \[/, ' CET ['), ...rest.slice(0, 10)].join('\n');
    expect(events(byLine(shifted))[0]!.time).toBe(events(byLine(verbose))[0]!.time);
  });

  it('skips records of other programs, a record without MESSAGE, continuation lines and fields after MESSAGE', () => {
    const head = 'Tue 2026-11-24 01:16:28.991242 UTC [s=d07e;i=309;b=957d;m=f78aaaa41;t=660fb75c2530a;x=8768]';
    const msg = 'HARVESTER_DROP_IN=eth0 OUT= SRC=198.18.0.1 DST=198.18.0.2 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=1 DPT=2 WINDOW=5 RES=0x00 SYN URGP=0 ';
    const rs = byLine([
      head, '    _TRANSPORT=syslog', '    SYSLOG_IDENTIFIER=sshd', `    MESSAGE=${msg}`,
      head, '    _TRANSPORT=kernel', '    _HOSTNAME=n1',
      'Apr 22 10:00:00 n2 kernel: ' + msg,
      head, '    _TRANSPORT=kernel', '    _HOSTNAME=n3', '    SOME_NOTE=first line', '                second line', `    MESSAGE=${msg}`, '    _KERNEL_DEVICE=+net:eth0',
    ].join('\n'));
    const ev = events(rs);
    expect(ev.map((e) => [e.line, e.envelope, e.host])).toEqual([[8, 'rfc3164', 'n2'], [14, 'journal-verbose', 'n3']]);
    expect(ev[1]!.time).toBe('2026-11-24T01:16:28.991242Z');
  });

  it('reads the same line by line and through the scanner whatever is cut, repeated or put between records (property)', () => {
    // the fixture's lines and a few strangers: a syslog drop line, export and json-pretty record lines, a blank line,
    // a continuation, a header of another zone; sequences of them, so records open and close in every order
    const lines = verbose.split('\n').filter((l) => l !== '');
    const msg = 'HARVESTER_DROP_IN=eth0 OUT= SRC=198.18.0.1 DST=198.18.0.2 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=1 DPT=2 WINDOW=5 RES=0x00 SYN URGP=0 ';
    const strangers = [
      `Apr 22 10:00:00 n2 kernel: ${msg}`, `__CURSOR=s=1;i=2`, '', '                a continuation', `    MESSAGE=${msg}`,
      lines[0]!.replace(' UTC [', ' CEST ['), '    _HOSTNAME=other', `{"_TRANSPORT":"kernel","MESSAGE":"${msg}"}`,
      // the other multi-line records: export's fields, json-pretty's lines
      '_TRANSPORT=kernel', `MESSAGE=${msg}`, '{', '\t"_TRANSPORT" : "kernel",', `\t"MESSAGE" : "${msg}"`, '}',
    ];
    const pool = [...lines, ...strangers];
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: pool.length - 1 }), { maxLength: 60 }), (picks) => {
        const text = `${picks.map((i) => pool[i]).join('\n')}\n`;
        const a = byLine(text).filter((r) => r.kind === 'event' || r.kind === 'issue');
        const b = byBytes(text).results;
        expect(b).toEqual(a);
      }),
      { numRuns: 400, seed: 10 },
    );
  });

  it('reads a MESSAGE field whose record header was cut off as a bare message, through the scanner too', () => {
    const line = '    MESSAGE=HARVESTER_DROP_IN=eth0 OUT= SRC=198.18.0.1 DST=198.18.0.2 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=UDP SPT=1 DPT=2 LEN=40 ';
    for (const [e] of [events(byLine(line)), events(byBytes(`${line}\n`).results)]) {
      expect(e).toMatchObject({ envelope: 'bare', prefix: 'HARVESTER_DROP_', proto: 'UDP', host: null, time: null });
    }
  });
});
