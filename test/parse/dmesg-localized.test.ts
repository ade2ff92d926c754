/**
 * util-linux translates the strftime formats of `dmesg -T` and `dmesg -e` (po/*.po: de `%a, %e. %b %Y, %H:%M:%S` and
 * `%e. %b %H:%M`, fr, pl and hr `%a %e %b %H:%M:%S %Y`, cs `%a %e. %b %Y %H:%M:%S`), and in any locale the day and month
 * names are that language's. Such a stamp names a month fwdiag cannot read, but the line is still dmesg's — the
 * kernel's, with its LOG prefix after the stamp — not a bare line whose prefix holds the date. Both parsers (the
 * scanner hands these layouts to JavaScript).
 */
import { describe, expect, it } from 'vitest';
import type { DropEvent, LineResult } from '../../src/parse/event.js';
import { createParser } from '../../src/parse/parse-line.js';
import { eventsOf } from './results.js';

const BODY = 'DROP_ IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=198.18.0.17 DST=198.18.1.42 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=5 DF PROTO=TCP SPT=40000 DPT=8443 WINDOW=64240 RES=0x00 SYN URGP=0 ';
const OPTS = { tz: 'UTC', now: () => Date.parse('2024-06-01T00:00:00Z') } as const;

const cases: Array<{ stamp: string; envelope: string; time: string | null }> = [
  { stamp: '[Mo, 22. Apr 2024, 10:00:01]', envelope: 'dmesg-T', time: null }, // de_DE
  { stamp: '[Di,  7. Mai 2024, 09:05:11]', envelope: 'dmesg-T', time: null }, // de_DE, a day of one digit
  { stamp: '[lun. 22 avril 10:00:01 2024]', envelope: 'dmesg-T', time: null }, // fr_FR
  { stamp: '[po 22. dub 2024 10:00:01]', envelope: 'dmesg-T', time: null }, // cs_CZ
  { stamp: '[lun abr 22 10:00:01 2024]', envelope: 'dmesg-T', time: null }, // es_ES (format untranslated)
  { stamp: '[Пн апр 22 10:00:01 2024]', envelope: 'dmesg-T', time: null }, // ru_RU
  { stamp: '[月  4月 22 10:00:01 2024]', envelope: 'dmesg-T', time: null }, // ja_JP
  { stamp: '[22. Apr 10:00]', envelope: 'dmesg', time: null }, // de_DE, dmesg -e
  { stamp: '[ 7. Mai 10:00]', envelope: 'dmesg', time: null },
  // English, as before
  { stamp: '[Mon Apr 22 10:00:01 2024]', envelope: 'dmesg-T', time: '2024-04-22T10:00:01Z' },
  { stamp: '[Apr22 10:00]', envelope: 'dmesg', time: null },
];
const lines = cases.map((c) => `${c.stamp} ${BODY}`);
const want = cases.map((c) => ({ envelope: c.envelope, time: c.time, host: null, transport: 'kernel', prefix: 'DROP_ ' }));
const pick = (e: DropEvent) => ({ envelope: e.envelope, time: e.time, host: e.host, transport: e.transport, prefix: e.prefix });


describe('dmesg -T / -e in another language', () => {
  it('JavaScript', () => {
    const p = createParser({ ...OPTS, fastPath: false });
    expect(eventsOf(lines.map((l) => p.parseLine(l))).map(pick)).toEqual(want);
  });

  it('the scanner', () => {
    const out: LineResult[] = [];
    createParser(OPTS).parseBytes(Buffer.from(lines.map((l) => `${l}\n`).join('')), out);
    expect(eventsOf(out).map(pick)).toEqual(want);
  });

  it('a bracketed word in a bare line is no stamp', () => {
    const p = createParser({ ...OPTS, fastPath: false });
    for (const prefix of ['[UFW BLOCK] ', '[fw 10:00] ', '[drop 2024] ', '[a=1 10:00:01 2024] ']) {
      const e = eventsOf([p.parseLine(`${prefix}${BODY}`)])[0]!;
      expect([e.envelope, e.prefix]).toEqual(['bare', `${prefix}DROP_ `]);
    }
  });
});
