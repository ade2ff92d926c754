/**
 * Envelopes as real producers wrote them (fixtures/kernel/envelopes, see its README): journalctl's short-delta and
 * short-full, its stamps around daylight-saving changes in six zones, rsyslog's RFC5424 of a relayed message, and a
 * /dev/kmsg record whose prefix the kernel escaped. Times are checked against what journald stored
 * (`__REALTIME_TIMESTAMP`, dst/truth.json), through both the JavaScript parser and the WebAssembly scanner.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createParser } from '../../src/parse/parse-line.js';
import { eventOf } from './results.js';
import type { DropEvent, LineResult } from '../../src/parse/event.js';

const dir = new URL('../../fixtures/kernel/envelopes/', import.meta.url);
const linesOf = (name: string): string[] => readFileSync(new URL(name, dir), 'utf8').split('\n').filter((l) => l !== '');
const truth = JSON.parse(readFileSync(new URL('dst/truth.json', dir), 'utf8')) as Record<string, number>;

const event = eventOf;

/** One line through parseLine and through parseBytes (the scanner): both must give this event. */
function both(line: string, tz: string, now: number): DropEvent {
  const js = event(createParser({ tz, now: () => now }).parseLine(line));
  const out: LineResult[] = [];
  createParser({ tz, now: () => now }).parseBytes(Buffer.from(`${line}\n`), out);
  expect(event(out[0])).toEqual(js);
  return js;
}

const spt = (line: string): string => /SPT=(\d+)/.exec(line)![1]!;

describe('journalctl around daylight-saving changes (fixtures/kernel/envelopes/dst)', () => {
  const files = readdirSync(new URL('dst/', dir)).filter((f) => f.endsWith('.txt'));
  // a year-less stamp in the hour a clock is set back names two instants: fwdiag takes the first pass (README); the
  // second pass of these zones' clocks is these lines' truth
  const secondPass: Record<string, Record<string, number>> = {
    America_New_York: { '41001': 3600 },
    Europe_Berlin: { '42001': 3600 },
    Australia_Lord_Howe: { '43001': 1800 },
  };

  it('has every format in every zone', () => {
    expect(files.length).toBe(21);
    expect(Object.keys(truth).length).toBe(11);
  });

  for (const file of files) {
    const [zoneName, format] = file.replace(/\.txt$/, '').split('.') as [string, string];
    const zone = zoneName === 'UTC' ? 'UTC' : zoneName.replace(/^([A-Za-z]+)_/, '$1/');
    it(`${format} in ${zone}: each line's time is the one journald stored`, () => {
      const lines = linesOf(`dst/${file}`);
      expect(lines.length).toBe(11);
      for (const line of lines) {
        const port = spt(line);
        const us = truth[port]!;
        expect(us, port).toBeGreaterThan(0);
        // read a minute after it was written (RFC3164 stamps take their year from the reader's clock)
        const ev = both(line, zone, Math.floor(us / 1000) + 60_000);
        const precise = format.endsWith('precise');
        let want = precise ? Math.floor(us / 1000) : Math.floor(us / 1e6) * 1000;
        const noOffset = format === 'short' || format === 'short-precise';
        if (noOffset) want -= (secondPass[zoneName]?.[port] ?? 0) * 1000;
        expect(Date.parse(ev.time!), `${file} SPT=${port}: ${ev.time}`).toBe(want);
        expect(ev.host).toBe('vm');
      }
    });
  }

  it('short-full numeric offsets (+11, -03, +1030) are exact whatever --tz says', () => {
    for (const name of ['dst/Australia_Lord_Howe.short-full.txt', 'dst/America_Sao_Paulo.short-full.txt', 'journal-short-full-offsets.txt']) {
      for (const line of linesOf(name)) {
        const us = truth[spt(line)]!;
        for (const tz of ['UTC', 'Asia/Kolkata']) {
          const ev = both(line, tz, Math.floor(us / 1000) + 60_000);
          expect(Date.parse(ev.time!), `${name} ${tz} ${line.slice(0, 30)}`).toBe(Math.floor(us / 1e6) * 1000);
        }
      }
    }
  });

  it('short-full: the abbreviation picks the pass through the hour the clock is set back (CEST, CET; EDT, EST)', () => {
    const times = linesOf('journal-short-full-overlap.txt').map((l) => {
      const zone = l.includes(' CE') ? 'Europe/Berlin' : 'America/New_York';
      return { port: spt(l), time: both(l, zone, Date.parse('2026-11-24T00:00:00Z')).time };
    });
    expect(times).toEqual([
      { port: '42000', time: '2026-10-25T00:59:56Z' },
      { port: '42001', time: '2026-10-25T01:00:02Z' },
      { port: '41000', time: '2026-11-01T05:59:56Z' },
      { port: '41001', time: '2026-11-01T06:00:02Z' },
    ]);
    for (const t of times) expect(Date.parse(t.time!)).toBe(Math.floor(truth[t.port]! / 1e6) * 1000);
  });

  it('a year-less stamp in an overlap is the first pass, the same from --tz as from the local zone', () => {
    const lines = linesOf('rfc3164-overlap.txt');
    const now = Date.parse('2026-11-24T00:00:00Z');
    const got = lines.map((l) => both(l, l.startsWith('Oct') ? 'Europe/Berlin' : 'Australia/Lord_Howe', now).time);
    expect(got).toEqual(['2026-10-25T00:59:56Z', '2026-10-25T00:00:02Z', '2026-04-04T14:59:56Z', '2026-04-04T14:30:02Z']);
    // the local zone (tz undefined) reads as --tz does: checked where this process runs in UTC
    if (process.env.TZ === undefined || process.env.TZ === 'UTC') {
      const utc = lines.map((l) => event(createParser({ tz: 'UTC', now: () => now }).parseLine(l)).time);
      expect(utc).toEqual(['2026-10-25T02:59:56Z', '2026-10-25T02:00:02Z', '2026-04-05T01:59:56Z', '2026-04-05T01:30:02Z']);
    }
  });
});

/** Lines as one stream, through parseLine and through parseBytes (the scanner): both must give these events. */
function stream(lines: string[], tz: string, now: number): DropEvent[] {
  const js = createParser({ tz, now: () => now });
  const evs = lines.map((l) => event(js.parseLine(l)));
  const out: LineResult[] = [];
  createParser({ tz, now: () => now }).parseBytes(Buffer.from(`${lines.join('\n')}\n`), out);
  expect(out.map(event)).toEqual(evs);
  return evs;
}

describe('a stream through the hour a clock is set back', () => {
  // year-less stamps read line by line took the first pass for every line of the hour: a log going 02:59:56, then
  // 02:00:02 (the second pass, journald's truth) went back an hour
  it('reads the second pass after the first: every line of the journal\'s dst captures at the time journald stored', () => {
    for (const file of readdirSync(new URL('dst/', dir)).filter((f) => /\.short(-precise)?\.txt$/.test(f))) {
      const zone = file.startsWith('UTC') ? 'UTC' : file.split('.')[0]!.replace(/^([A-Za-z]+)_/, '$1/');
      // the captures are pairs of lines a few seconds apart around one zone's change each (and a Feb 29 alone), years
      // apart: each pair a stream, read a minute after its last line was written (the year is the newest not in the
      // future)
      const lines = linesOf(`dst/${file}`);
      for (let i = 0; i < lines.length; i += 2) {
        const pair = lines.slice(i, i + 2);
        const evs = stream(pair, zone, Math.floor(truth[spt(pair.at(-1)!)]! / 1000) + 60_000);
        evs.forEach((ev, k) => {
          const us = truth[spt(pair[k]!)]!;
          const want = file.includes('precise') ? Math.floor(us / 1000) : Math.floor(us / 1e6) * 1000;
          expect(Date.parse(ev.time!), `${file} line ${i + k + 1}: ${ev.time}`).toBe(want);
        });
      }
    }
  });

  it('RFC3164 lines: the second pass after the first, in Berlin (an hour) and on Lord Howe (half an hour)', () => {
    const lines = linesOf('rfc3164-overlap.txt');
    const now = Date.parse('2026-11-24T00:00:00Z');
    expect(stream(lines.filter((l) => l.startsWith('Oct')), 'Europe/Berlin', now).map((e) => e.time)).toEqual(['2026-10-25T00:59:56Z', '2026-10-25T01:00:02Z']);
    expect(stream(lines.filter((l) => l.startsWith('Apr')), 'Australia/Lord_Howe', now).map((e) => e.time)).toEqual(['2026-04-04T14:59:56Z', '2026-04-04T15:00:02Z']);
    // the first pass still when the line before was of another time: a minute before the hour, or a day later
    const [a, b] = lines as [string, string];
    const before = a.replace('02:59:56', '01:59:30');
    expect(stream([before, b], 'Europe/Berlin', now).map((e) => e.time)).toEqual(['2026-10-24T23:59:30Z', '2026-10-25T00:00:02Z']);
    const later = a.replace('Oct 25 02:59:56', 'Oct 26 02:59:56');
    expect(stream([later, b], 'Europe/Berlin', now).map((e) => e.time)).toEqual(['2026-10-26T01:59:56Z', '2026-10-25T00:00:02Z']);
  });

  it('dmesg -T lines: the second pass after the first', () => {
    const [a, b] = linesOf('rfc3164-overlap.txt') as [string, string];
    const ctime = (l: string, stamp: string): string => `[${stamp}] ${l.slice(l.indexOf('HENV_DROP_'))}`;
    const evs = stream([ctime(a, 'Sun Oct 25 02:59:56 2026'), ctime(b, 'Sun Oct 25 02:00:02 2026')], 'Europe/Berlin', Date.parse('2026-11-24T00:00:00Z'));
    expect(evs.map((e) => [e.envelope, e.time])).toEqual([['dmesg-T', '2026-10-25T00:59:56Z'], ['dmesg-T', '2026-10-25T01:00:02Z']]);
  });
});

describe('other producers', () => {
  it('journalctl -o short-delta as it prints it: a padded first stamp, then `[mono <    delta >]`', () => {
    const evs = linesOf('journal-short-delta.txt').map((l) => both(l, 'UTC', Date.parse('2026-11-24T00:00:00Z')));
    expect(evs.map((e) => [e.envelope, e.host, e.mono, e.prefix])).toEqual([
      ['journal-short-delta', 'vm', 37772.451734, 'HENV_DROP_ '],
      ['journal-short-delta', 'vm', 37773.458736, 'HENV_DROP_ '],
      ['journal-short-delta', 'vm', 37774.466396, 'HENV_DROP_ '],
      ['journal-short-delta', 'vm', 37775.47329, 'HENV_DROP_é\\ '],
      ['journal-short-delta', 'vm', 37776.600323, 'HENV_DROP_ '],
    ]);
    expect(evs.every((e) => e.src === '198.18.10.1' || e.src === '2001:0db8:0010:0000:0000:0000:0000:0001')).toBe(true);
  });

  it('/dev/kmsg: the kernel\'s \\xNN escapes are read back as bytes (the prefix journald stored)', () => {
    const [line] = linesOf('kmsg-escaped.txt');
    expect(line).toContain('HENV_DROP_\\xc3\\xa9\\x5c IN=');
    const ev = both(line!, 'UTC', Date.parse('2026-11-24T00:00:00Z'));
    const stored = JSON.parse(readFileSync(new URL('kmsg-escaped.journal.json', dir), 'utf8')) as Record<string, string>;
    expect(ev.prefix).toBe(stored.MESSAGE!.slice(0, stored.MESSAGE!.indexOf('IN=')));
    expect(ev.prefix).toBe('HENV_DROP_é\\ ');
    expect(ev.mono).toBe(Number(stored._SOURCE_MONOTONIC_TIMESTAMP) / 1e6);
    expect(ev).toMatchObject({ envelope: 'kmsg', transport: 'kernel', in: 'henv-b', src: '198.18.10.1', dst: '198.18.10.2', proto: 'TCP' });
  });

  it('rsyslog RFC5424 of a message relayed as RFC3164 (`- -  PREFIX`): the prefix has no leading space', () => {
    const [line] = linesOf('rsyslog-rfc5424-relayed.log');
    expect(line).toContain(' kernel - - -  HENV_DROP_ ');
    const ev = both(line!, 'UTC', Date.parse('2026-11-25T00:00:00Z'));
    expect(ev).toMatchObject({ envelope: 'rfc5424', host: 'vm', prefix: 'HENV_DROP_ ', time: '2026-11-24T18:47:16.852046Z' });
  });

  it('journalctl without --all hides a message that is not UTF-8 as `[221B blob data]`: an issue that says so', () => {
    for (const name of ['journal-short-precise-blob.txt', 'journal-verbose-blob.txt']) {
      const text = readFileSync(new URL(name, dir), 'utf8');
      const js = createParser({ tz: 'UTC', now: () => Date.parse('2026-11-25T00:00:00Z') });
      const viaLines = text.split('\n').filter((l) => l !== '').map((l) => js.parseLine(l)).filter((r) => r.kind === 'issue');
      const viaBytes: LineResult[] = [];
      const sc = createParser({ tz: 'UTC', now: () => Date.parse('2026-11-25T00:00:00Z') });
      sc.parseBytes(Buffer.from(text), viaBytes);
      for (const got of [viaLines, viaBytes.filter((r) => r.kind === 'issue')]) {
        expect(got, name).toHaveLength(1);
        const r = got[0]!;
        if (r.kind !== 'issue') throw new Error('not an issue');
        expect(r.issue.issue).toBe('other-format');
        expect(r.issue.message).toContain('--all');
      }
    }
    // a message that only mentions it is no such line
    const p = createParser({ tz: 'UTC', now: () => Date.parse('2026-11-25T00:00:00Z') });
    expect(p.parseLine('Nov 24 18:46:34 vm kernel: usb 1-1: [221B blob data]').kind).toBe('skip');
  });

  it('/dev/kmsg: an escaped byte that is not UTF-8 keeps its escape (distinct prefixes stay distinct), valid ones decode', () => {
    const p = createParser({ tz: 'UTC', now: () => Date.parse('2026-11-25T00:00:00Z') });
    const body = 'IN=eth0 OUT= SRC=198.18.0.2 DST=198.18.0.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40000 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0 ';
    const prefixOf = (pre: string) => event(p.parseLine(`4,1,1000,-;${pre}${body}`)).prefix;
    expect([prefixOf('DROP_\\xff '), prefixOf('DROP_\\xfe '), prefixOf('DROP_\\xc3\\xa9 ')]).toEqual(['DROP_\\xff ', 'DROP_\\xfe ', 'DROP_é ']);
  });

  it('short-full: St. John\'s NDT/NST pick their pass (en-CA names them)', () => {
    const line = (stamp: string) => `${stamp} vm kernel: HENV_DROP_ IN=eth0 OUT= SRC=198.18.0.2 DST=198.18.0.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40000 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0 `;
    const now = Date.parse('2024-11-10T00:00:00Z');
    expect([both(line('Sun 2024-11-03 01:30:00 NDT'), 'America/St_Johns', now).time, both(line('Sun 2024-11-03 01:30:00 NST'), 'America/St_Johns', now).time])
      .toEqual(['2024-11-03T04:00:00Z', '2024-11-03T05:00:00Z']);
  });
});
