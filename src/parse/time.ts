import { TZDate } from '@date-fns/tz';
import { getDaysInMonth } from 'date-fns/getDaysInMonth';
import { getYear } from 'date-fns/getYear';

/**
 * Timestamps cost more than anything else on a log line if done naively (a Date and a zone lookup per line).
 * Every converter here caches per minute: consecutive lines almost always share it, so date-fns runs once a
 * minute of log and each line costs a string compare plus integer arithmetic.
 */

const MONTHS: Record<string, number> = {
  Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11,
};

/** Month index for a three-letter English month name at `s[p..p+3)`, or -1. */
export function monthAt(s: string, p: number): number {
  // Three char codes packed into one integer: no substring, no hash lookup.
  const k = (s.charCodeAt(p) << 16) | (s.charCodeAt(p + 1) << 8) | s.charCodeAt(p + 2);
  const m = MONTH_CODES.get(k);
  return m === undefined ? -1 : m;
}

const MONTH_CODES = new Map<number, number>(
  Object.entries(MONTHS).map(([name, i]) => [(name.charCodeAt(0) << 16) | (name.charCodeAt(1) << 8) | name.charCodeAt(2), i]),
);

/** Fraction-of-second digits in s[a..b) → milliseconds (first 9 digits; more add nothing an event needs). */
export function fracToMs(s: string, a: number, b: number): number {
  const end = Math.min(b, a + 9);
  const v = readUint(s, a, end);
  return v < 0 ? 0 : (v * 1000) / 10 ** (end - a);
}

/** Reads decimal digits in `s[a..b)`; -1 when empty or not all digits. */
export function readUint(s: string, a: number, b: number): number {
  if (b <= a) return -1;
  let n = 0;
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

const DAY_MS = 86_400_000;

/** 400 Gregorian years, in ms: the calendar repeats exactly (146,097 days) */
const CYCLE_MS = 146_097 * DAY_MS;

/**
 * `Date.UTC` for the year as the stamp spells it: `Date.UTC` reads years 0-99 as 1900-1999 (`0050-…` would be 1950);
 * those are taken 400 years on, where the calendar is the same, and moved back. (ISO stamps only: the other
 * envelopes with a year refuse one before 1970.)
 */
export function utcMs(y: number, mo: number, d: number, h: number, mi: number, s = 0): number {
  return y >= 100 ? Date.UTC(y, mo, d, h, mi, s) : Date.UTC(y + 400, mo, d, h, mi, s) - CYCLE_MS;
}

/**
 * Days in month `mo` (0-11) of year `y`, the year as the stamp spells it (proleptic Gregorian). Date.UTC and TZDate
 * roll a day the month lacks over into the next month (April 31 is May 1): a stamp's date is checked against this
 * first, and one that names no date is malformed. (Asked on a cache miss only: once per minute of log at most.)
 */
export function daysInMonth(y: number, mo: number): number {
  // the 15th: no zone's midnight shift moves it out of the month; setFullYear keeps years 0-99 as written
  const d = new Date(2000, mo, 15);
  d.setFullYear(y);
  return getDaysInMonth(d);
}

/** The zone's offset from UTC at instant `ms`, in minutes east; `tz` undefined means the process's local zone. */
function offsetAt(tz: string | undefined, ms: number): number {
  return -(tz === undefined ? new Date(ms) : new TZDate(ms, tz)).getTimezoneOffset();
}

/**
 * The instants a wall-clock minute names in a zone, earlier first: one; two in the hour a clock is set back (a
 * daylight-saving overlap); none in the hour it skips (a gap). Also the offset in force before (a gap's minute is
 * read with it). One transition at most within a day of the minute, as in every zone.
 */
function wallInstants(tz: string | undefined, y: number, mo: number, d: number, h: number, mi: number): { at: number[]; before: number; wall: number } {
  const wall = Date.UTC(y, mo, d, h, mi);
  const before = offsetAt(tz, wall - DAY_MS);
  const after = offsetAt(tz, wall + DAY_MS);
  const at: number[] = [];
  for (const off of before === after ? [before] : [before, after]) {
    const t = wall - off * 60_000;
    if (offsetAt(tz, t) === off) at.push(t);
  }
  at.sort((a, b) => a - b);
  return { at, before, wall };
}

/**
 * The instant JavaScript's Date would give for a wall-clock minute, the same whichever way the zone is given
 * (`--tz Europe/Berlin` or `TZ=Europe/Berlin`): the first pass of a minute the clock passed twice, a skipped minute
 * read with the offset before the change.
 */
function firstInstant(w: { at: number[]; before: number; wall: number }): number {
  return w.at.length > 0 ? (w.at[0] as number) : w.wall - w.before * 60_000;
}

/**
 * The instant of a wall-clock minute, read after minute `prev` of the same stream (epoch ms; NaN: none). In an hour
 * the clock is set back, a log written in order goes 02:58, 02:59, then 02:00 again: the second pass, an hour on, not
 * an hour back. So the second pass when `prev` lies nearer to it than to the first and within the change's size of
 * it (a line of the first pass or of the second came just before); otherwise — a stream's first line, a line after
 * one of another day, the second pass past `limit` — the first pass, as {@link firstInstant}.
 */
function nearestInstant(w: { at: number[]; before: number; wall: number }, prev: number, limit = Infinity): number {
  const first = firstInstant(w);
  if (w.at.length < 2 || prev !== prev) return first;
  const second = w.at[1] as number;
  const toSecond = Math.abs(second - prev);
  return second <= limit && toSecond < Math.abs(first - prev) && toSecond <= second - first ? second : first;
}

/**
 * Locales whose short zone names are the abbreviations journalctl prints (EDT, CEST, BST, IST, AEDT, NZST, MESZ,
 * NDT). Where none of them names a zone's passes (Node's names for Asia/Jerusalem and America/Havana are `GMT+3`),
 * the abbreviation cannot pick and the minute is read as a year-less stamp is: the first pass.
 */
const ABBREVIATION_LOCALES = ['en-US', 'en-GB', 'en-IE', 'en-AU', 'en-NZ', 'en-CA', 'de-DE'];
const zoneNamers = new Map<string, Intl.DateTimeFormat[]>();

/** Does `abbr` name zone `tz` (the local one when undefined) at instant `ms`? */
function namesZoneAt(abbr: string, tz: string | undefined, ms: number): boolean {
  const key = tz ?? '';
  let namers = zoneNamers.get(key);
  if (namers === undefined) {
    namers = ABBREVIATION_LOCALES.map((l) => new Intl.DateTimeFormat(l, { timeZone: tz, timeZoneName: 'short' }));
    zoneNamers.set(key, namers);
  }
  return namers.some((f) => f.formatToParts(ms).some((p) => p.type === 'timeZoneName' && p.value === abbr));
}

/** Lines a little ahead of our clock (another host's skew, a wrong --tz) still count as this year. */
const FUTURE_TOLERANCE_MS = 24 * 3600 * 1000;

/**
 * RFC3164 stamps (`Apr  2 10:00:01`) carry no year: take the newest date that is not in the future relative to
 * `now` (so `Dec 31` read on Jan 1 is last year's). One instance per stream.
 */
export class SyslogClock {
  private key = '';
  private minuteMs = 0;
  /** the minute read last, whichever way (epoch ms; NaN: none yet): see {@link nearestInstant} */
  private last = NaN;
  constructor(
    private readonly tz: string | undefined,
    private readonly now: () => number,
  ) {}

  private nkey = -1;
  private nminuteMs = 0;

  /** Epoch ms of month `mo` (0-11), `day`, `hour`:`min` — as minute() for the same stamp, cached by number. */
  minuteOf(mo: number, day: number, hour: number, min: number): number {
    const k = ((mo * 32 + day) * 24 + hour) * 60 + min;
    if (k === this.nkey) return this.read(this.nminuteMs);
    if (mo < 0 || mo > 11) return NaN;
    const ms = this.newest(mo, day, hour, min);
    this.nkey = k;
    this.nminuteMs = ms;
    return this.read(ms);
  }

  /**
   * Epoch ms of the newest `mo` `day` `hour`:`min` not in the future (up to a day ahead: clock skew); NaN when out of
   * range. The year is the zone's own (`--tz`), next year's counts too (`Jan  1 00:00:05` read at 23:59:30 on Dec 31),
   * and a Feb 29 is the last leap year's. In an hour the clock is set back, the pass nearest the minute read last.
   */
  private newest(mo: number, day: number, hour: number, min: number): number {
    if (day < 1 || day > 31 || hour > 23 || min > 59) return NaN;
    const nowMs = this.now();
    const limit = nowMs + FUTURE_TOLERANCE_MS;
    const year = this.tz === undefined ? getYear(nowMs) : new TZDate(nowMs, this.tz).getFullYear();
    // a Feb 29 exists at most eight years back (1900 and 2100 are not leap years)
    for (let y = year + 1; y >= year - 8; y--) {
      if (day > daysInMonth(y, mo)) continue;
      const ms = nearestInstant(wallInstants(this.tz, y, mo, day, hour, min), this.last, limit);
      if (ms <= limit) return ms;
    }
    return NaN;
  }

  /**
   * Epoch ms of `Mmm dd HH:MM` at `s[p..p+12)` (day already normalised by the caller into `day`), or NaN.
   */
  minute(s: string, p: number, day: number, hour: number, min: number): number {
    // 12 chars cover "Apr  2 10:00"; compare without allocating.
    if (this.key.length === 12 && s.startsWith(this.key, p)) return this.read(this.minuteMs);
    const mo = monthAt(s, p);
    if (mo < 0) return NaN;
    const ms = this.newest(mo, day, hour, min);
    this.key = s.slice(p, p + 12);
    this.minuteMs = ms;
    return this.read(ms);
  }

  /** A minute handed out: the one read last, unless NaN (a stamp out of range leaves the context as it was). */
  private read(ms: number): number {
    if (ms === ms) this.last = ms;
    return ms;
  }
}

/** dmesg -T stamps (`Mon Apr 22 10:00:01 2024`) in the reader's zone. */
export class CtimeClock {
  private key = '';
  private minuteMs = 0;
  /** the minute read last (epoch ms; NaN: none yet): in an hour the clock is set back, the nearer pass */
  private last = NaN;
  constructor(private readonly tz: string | undefined) {}

  /** `s[p..]` holds `Www Mmm dd HH:MM:SS YYYY`; returns epoch ms of the whole stamp or NaN. */
  parse(s: string, p: number, end: number): number {
    // "Mon Apr 22 10:00:01 2024": day may be space-padded ("Apr  2").
    const stamp = s.slice(p, end);
    const parts = stamp.split(' ').filter((x) => x !== '');
    if (parts.length !== 5) return NaN;
    const [, mon, dayS, hms, yearS] = parts as [string, string, string, string, string];
    const mo = MONTHS[mon];
    const day = readUint(dayS, 0, dayS.length);
    const year = readUint(yearS, 0, yearS.length);
    if (mo === undefined || day < 1 || year < 1970 || day > daysInMonth(year, mo) || hms.length !== 8) return NaN;
    const h = readUint(hms, 0, 2);
    const mi = readUint(hms, 3, 5);
    const sec = readUint(hms, 6, 8);
    if (h < 0 || mi < 0 || sec < 0 || h > 23 || mi > 59 || sec > 60) return NaN;
    const key = `${yearS} ${mon} ${day} ${h}:${mi}`;
    if (key !== this.key) {
      this.key = key;
      this.minuteMs = nearestInstant(wallInstants(this.tz, year, mo, day, h, mi), this.last);
      this.last = this.minuteMs;
    }
    return this.minuteMs + sec * 1000;
  }
}

/**
 * journalctl `short-full` / `with-unit` stamps: `Mon 2024-04-22 10:00:01 CEST` — the date and time in the zone
 * journalctl ran in, named by its abbreviation. `UTC`/`GMT` and numeric offsets (`+0200`, and `+11`, `-03`, `+1030`
 * where a zone has no abbreviation) say exactly; an IANA name (`Europe/Berlin`, from some locales) is read as that
 * zone; any other abbreviation is ambiguous (CST is three zones) and read in the reader's zone (`--tz`, default
 * local), as RFC3164 stamps are — where it tells the two passes of a clock set back apart (`CEST`, `CET`), it picks.
 */
export class ZonedClock {
  private key = '';
  private zone = '';
  private minuteMs = 0;
  constructor(private readonly tz: string | undefined) {}

  /** Epoch ms of the minute `y`-`mo`(0-11)-`d` `h`:`mi` in `zone`, cached by the 16 characters at s[p..p+16). */
  minute(s: string, p: number, zone: string, y: number, mo: number, d: number, h: number, mi: number): number {
    if (zone === this.zone && this.key.length === 16 && s.startsWith(this.key, p)) return this.minuteMs;
    if (mo < 0 || mo > 11 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || y < 1970) return NaN;
    const ms = zoneMinute(zone, this.tz, y, mo, d, h, mi);
    if (Number.isNaN(ms)) return NaN;
    this.key = s.slice(p, p + 16);
    this.zone = zone;
    this.minuteMs = ms;
    return ms;
  }
}

const UTC_NAMES = new Set(['UTC', 'GMT', 'UCT', 'UT', 'Z', 'Etc/UTC', 'Etc/GMT']);

function zoneMinute(zone: string, tz: string | undefined, y: number, mo: number, d: number, h: number, mi: number): number {
  if (UTC_NAMES.has(zone)) return Date.UTC(y, mo, d, h, mi);
  // `+0200`, `+02:00`, and glibc's `%Z` for zones without an abbreviation: `+11`, `-03`, `+1030`
  const m = /^([+-])(\d\d)(?::?(\d\d))?$/.exec(zone);
  if (m !== null) {
    const off = (Number(m[2]) * 60 + Number(m[3] ?? 0)) * 60_000;
    if (off > 18 * 3600_000) return NaN;
    return Date.UTC(y, mo, d, h, mi) - (m[1] === '-' ? -off : off);
  }
  if (zone.includes('/')) {
    // an IANA name: exactly that zone, when the runtime knows it
    try {
      const t = new TZDate(y, mo, d, h, mi, 0, zone).getTime();
      if (!Number.isNaN(t)) return t;
    } catch {
      /* not a zone: read as an abbreviation below */
    }
  }
  // an abbreviation: read in the reader's zone; in the hour its clock is set back it tells the two apart (`02:30 CEST`
  // is the first pass, `02:30 CET` the second)
  const w = wallInstants(tz, y, mo, d, h, mi);
  if (w.at.length === 2 && !namesZoneAt(zone, tz, w.at[0] as number) && namesZoneAt(zone, tz, w.at[1] as number)) return w.at[1] as number;
  return firstInstant(w);
}

/**
 * ISO 8601 / RFC 3339 stamps with an explicit offset (`2024-04-22T10:00:01.123456+02:00`, `+0200`, `Z`).
 * Returns the epoch ms and where the stamp ended, or NaN.
 */
export interface IsoResult {
  ms: number;
  end: number;
  /** fraction digits as written, '' when none (kept so output keeps the source's precision) */
  frac: string;
}

const isoOut: IsoResult = { ms: NaN, end: 0, frac: '' };

/** `YYYY-MM-DDTHH:MM` of the last stamp and its UTC epoch ms (before the offset): most lines share the minute. */
let isoMinuteKey = '';
let isoMinuteMs = 0;

/** Parses at `s[p..]`; the returned object is reused between calls. */
export function parseIso(s: string, p: number): IsoResult {
  isoOut.ms = NaN;
  if (isoMinuteKey.length === 16 && s.startsWith(isoMinuteKey, p) && s.charCodeAt(p + 16) === 58) {
    const sec = readUint(s, p + 17, p + 19);
    if (sec >= 0 && sec <= 60) return isoTail(s, p + 19, isoMinuteMs + sec * 1000);
  }
  if (s.charCodeAt(p + 4) !== 45 /* - */ || s.charCodeAt(p + 7) !== 45 || s.charCodeAt(p + 13) !== 58) return isoOut;
  const sep = s.charCodeAt(p + 10);
  if (sep !== 84 /* T */ && sep !== 32 && sep !== 116 /* t */) return isoOut;
  const y = readUint(s, p, p + 4);
  const mo = readUint(s, p + 5, p + 7);
  const d = readUint(s, p + 8, p + 10);
  const h = readUint(s, p + 11, p + 13);
  const mi = readUint(s, p + 14, p + 16);
  const sec = readUint(s, p + 17, p + 19);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo - 1) || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60) {
    return isoOut;
  }
  isoMinuteKey = s.slice(p, p + 16);
  isoMinuteMs = utcMs(y, mo - 1, d, h, mi);
  return isoTail(s, p + 19, isoMinuteMs + sec * 1000);
}

/** Fraction and offset after `…:SS` at `i`; `base` is the stamp's ms as if it were UTC. */
function isoTail(s: string, i: number, base: number): IsoResult {
  let frac = '';
  let fracMs = 0;
  if (s.charCodeAt(i) === 46 /* . */ || s.charCodeAt(i) === 44 /* , */) {
    const a = i + 1;
    i = a;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      i++;
    }
    if (i === a) return isoOut;
    frac = s.slice(a, i);
    fracMs = fracToMs(s, a, i);
  }
  let offsetMin = 0;
  const z = s.charCodeAt(i);
  if (z === 90 /* Z */ || z === 122) {
    i++;
  } else if (z === 43 /* + */ || z === 45 /* - */) {
    const oh = readUint(s, i + 1, i + 3);
    let om: number;
    if (s.charCodeAt(i + 3) === 58) {
      om = readUint(s, i + 4, i + 6);
      i += 6;
    } else {
      om = readUint(s, i + 3, i + 5);
      i += 5;
    }
    if (oh < 0 || om < 0) return isoOut;
    offsetMin = (oh * 60 + om) * (z === 43 ? 1 : -1);
  } else {
    return isoOut;
  }
  isoOut.ms = base - offsetMin * 60000 + fracMs;
  isoOut.end = i;
  isoOut.frac = frac;
  return isoOut;
}

/** First and last+1 ms whose ISO 8601 form has a four-digit year (0000-01-01 … 9999-12-31): what `toISOString` prints. */
const ISO_MIN_MS = -62167219200000;
export const ISO_END_MS = 253402300800000;

/**
 * A wall-clock time an event can carry: a number within years 0000-9999. An envelope can spell others (a journal
 * `__REALTIME_TIMESTAMP` of 22 digits, a kmsg stamp dated from the boot time) — those lines get no time, as lines
 * without a stamp do, instead of a time nothing can print.
 */
export function isoRepresentable(ms: number): boolean {
  return ms >= ISO_MIN_MS && ms < ISO_END_MS;
}

/**
 * Formats epoch ms as ISO 8601 UTC, keeping `frac` digits (microseconds, nanoseconds…) when the source had them.
 * Caches the formatted second: one toISOString per second of log.
 */
export class IsoFormatter {
  // Two slots: a merged stream (hosts with different clocks, RFC3164 lines dated by inference next to ISO ones)
  // alternates between seconds; one slot would thrash.
  private secA = NaN;
  private headA = '';
  private secB = NaN;
  private headB = '';

  private head(sec: number): string {
    if (sec === this.secA) return this.headA;
    if (sec === this.secB) {
      // promote to slot A
      const h = this.headB;
      this.secB = this.secA;
      this.headB = this.headA;
      this.secA = sec;
      this.headA = h;
      return h;
    }
    this.secB = this.secA;
    this.headB = this.headA;
    this.secA = sec;
    this.headA = new Date(sec * 1000).toISOString().slice(0, 19);
    return this.headA;
  }

  format(ms: number, frac: string): string {
    const sec = Math.floor(ms / 1000);
    const head = this.head(sec);
    if (frac === '') {
      const rem = ms - sec * 1000;
      if (rem === 0) return `${head}Z`;
      return `${head}.${String(Math.min(999_999, Math.round(rem * 1000))).padStart(6, '0')}Z`;
    }
    return `${head}.${frac}Z`;
  }
}
