import type { Envelope, Transport } from './event.js';
import { CtimeClock, SyslogClock, ZonedClock, daysInMonth, fracToMs, monthAt, parseIso, readUint } from './time.js';

/**
 * Envelope detection: what wraps the kernel's message on one line (syslog, journald, dmesg, /dev/kmsg, talosctl).
 * Detection is per line (one stream may mix them) and decided from the first characters, so a line costs one
 * dispatch, not a cascade of regular expressions.
 */

/** The decoded envelope of one line. One instance is reused for every line (no allocation per line). */
export interface EnvelopeInfo {
  /** the string holding the message (the line itself, or a journal MESSAGE) */
  s: string;
  /** index in `s` where the kernel message starts */
  msg: number;
  /** wall-clock epoch ms or NaN */
  ms: number;
  /** fraction-of-second digits as written in the source */
  frac: string;
  /** kernel monotonic seconds or NaN */
  mono: number;
  host: string | null;
  envelope: Envelope;
  transport: Transport | undefined;
}

export interface EnvelopeContext {
  syslog: SyslogClock;
  ctime: CtimeClock;
  zoned: ZonedClock;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Seconds like `  499.178765` in s[a..b) (leading spaces allowed) → number, NaN when malformed. */
export function readSeconds(s: string, a: number, b: number): number {
  while (a < b && s.charCodeAt(a) === 32) a++;
  const dot = s.indexOf('.', a);
  if (dot < 0 || dot >= b) {
    const v = readUint(s, a, b);
    return v < 0 ? NaN : v;
  }
  const ip = readUint(s, a, dot);
  const fp = readUint(s, dot + 1, b);
  if (ip < 0 || fp < 0) return NaN;
  return ip + fp / 10 ** (b - dot - 1);
}

function reset(env: EnvelopeInfo, s: string): void {
  env.s = s;
  env.msg = 0;
  env.ms = NaN;
  env.frac = '';
  env.mono = NaN;
  env.host = null;
  env.envelope = 'bare';
  env.transport = undefined;
}

/**
 * After a syslog-style timestamp ending at `p`: ` host kernel: `. Returns false when the tag is not the kernel's
 * (the line is some other program's, not a kernel line).
 */
function syslogTail(env: EnvelopeInfo, s: string, p: number): boolean {
  if (s.charCodeAt(p) !== 32) return false;
  p++;
  while (s.charCodeAt(p) === 32) p++;
  if (s.startsWith('kernel: ', p)) {
    // A syslog without a host field.
    env.msg = p + 8;
    env.transport = 'syslog';
    return true;
  }
  // Consecutive lines mostly come from the same host: reuse its string (no allocation, and its hash is cached
  // for every map keyed by host downstream).
  const last = lastHost;
  let sp: number;
  let host: string;
  if (last.length > 0 && s.charCodeAt(p + last.length) === 32 && s.startsWith(last, p)) {
    sp = p + last.length;
    host = last;
  } else {
    sp = s.indexOf(' ', p);
    if (sp < 0) return false;
    host = s.slice(p, sp);
  }
  if (!s.startsWith('kernel: ', sp + 1)) return false;
  lastHost = host;
  env.host = host;
  env.msg = sp + 9;
  env.transport = 'syslog';
  return true;
}

let lastHost = '';

/** `Apr  2 10:00:01[.123456] host kernel: ` at p. */
function rfc3164(env: EnvelopeInfo, s: string, p: number, ctx: EnvelopeContext): boolean {
  // Day is space- or zero-padded to two characters; tolerate an unpadded single digit too.
  let d0 = s.charCodeAt(p + 4);
  const d1 = s.charCodeAt(p + 5);
  let day: number;
  let t: number;
  if (d1 === 32) {
    day = d0 - 48;
    t = p + 6;
  } else {
    if (d0 === 32) d0 = 48;
    day = (d0 - 48) * 10 + (d1 - 48);
    if (s.charCodeAt(p + 6) !== 32) return false;
    t = p + 7;
  }
  if (s.charCodeAt(t + 2) !== 58 || s.charCodeAt(t + 5) !== 58) return false;
  const h = readUint(s, t, t + 2);
  const mi = readUint(s, t + 3, t + 5);
  const sec = readUint(s, t + 6, t + 8);
  if (h < 0 || mi < 0 || sec < 0 || day < 1 || day > 31) return false;
  let end = t + 8;
  let frac = '';
  if (s.charCodeAt(end) === 46) {
    const a = end + 1;
    end = a;
    while (isDigit(s.charCodeAt(end))) end++;
    frac = s.slice(a, end);
  }
  // The minute cache keys on 12 characters; only the canonical two-character day has that layout.
  const minute = t === p + 7 ? ctx.syslog.minute(s, p, day, h, mi) : ctx.syslog.minute(`${s.slice(p, p + 4)} ${s.slice(p + 4, t)}${s.slice(t, t + 5)}`, 0, day, h, mi);
  if (Number.isNaN(minute)) return false;
  env.ms = minute + sec * 1000 + (frac === '' ? 0 : fracToMs(s, end - frac.length, end));
  env.frac = frac;
  env.envelope = 'rfc3164';
  return syslogTail(env, s, end);
}

const WEEKDAYS = new Set(['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']);

/** Could s start a journalctl short-full stamp (`Mon 2024-`)? The scanner leaves every such line to JavaScript. */
function shortFullAt(s: string): boolean {
  return isDigit(s.charCodeAt(4)) && s.charCodeAt(8) === 45 && WEEKDAYS.has(s.slice(0, 3));
}

/** journalctl short-full / with-unit: `Mon 2024-04-22 10:00:01[.123456] CEST host kernel: `. */
function shortFull(env: EnvelopeInfo, s: string, ctx: EnvelopeContext): boolean {
  if (s.charCodeAt(11) !== 45 || s.charCodeAt(14) !== 32 || s.charCodeAt(17) !== 58 || s.charCodeAt(20) !== 58) return false;
  const y = readUint(s, 4, 8);
  const mo = readUint(s, 9, 11);
  const d = readUint(s, 12, 14);
  const h = readUint(s, 15, 17);
  const mi = readUint(s, 18, 20);
  const sec = readUint(s, 21, 23);
  if (y < 0 || mo < 1 || d < 0 || h < 0 || mi < 0 || sec < 0 || sec > 60) return false;
  let end = 23;
  let frac = '';
  if (s.charCodeAt(end) === 46) {
    const a = end + 1;
    end = a;
    while (isDigit(s.charCodeAt(end))) end++;
    if (end === a) return false;
    frac = s.slice(a, end);
  }
  if (s.charCodeAt(end) !== 32) return false;
  const zEnd = s.indexOf(' ', end + 1);
  if (zEnd <= end + 1 || zEnd - end > 40) return false;
  if (y < 1970) {
    if (mo > 12 || d < 1 || d > daysInMonth(y, mo - 1) || h > 23 || mi > 59) return false;
    // a stamp before 1970 (a clock never set): the line keeps its envelope and host, without a time, as lines with
    // other unusable stamps do
    env.ms = NaN;
    env.frac = '';
  } else {
    const minute = ctx.zoned.minute(s, 4, s.slice(end + 1, zEnd), y, mo - 1, d, h, mi);
    if (Number.isNaN(minute)) return false;
    env.ms = minute + sec * 1000 + (frac === '' ? 0 : fracToMs(s, end - frac.length, end));
    env.frac = frac;
  }
  env.envelope = 'journal-short-full';
  return syslogTail(env, s, zEnd);
}

/** `2024-04-22T10:00:01.123+00:00 host kernel: ` (rsyslog RFC3339 files, journalctl short-iso). */
function rfc3339(env: EnvelopeInfo, s: string, p: number): boolean {
  const r = parseIso(s, p);
  if (Number.isNaN(r.ms)) return false;
  env.ms = r.ms;
  env.frac = r.frac;
  env.envelope = 'rfc3339';
  return syslogTail(env, s, r.end);
}

/** `<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG` — p is after `1 `. */
function rfc5424(env: EnvelopeInfo, s: string, p: number): boolean {
  env.envelope = 'rfc5424';
  let q = p;
  if (s.charCodeAt(q) === 45 /* - */) {
    q += 1;
  } else {
    const r = parseIso(s, q);
    if (Number.isNaN(r.ms)) return false;
    env.ms = r.ms;
    env.frac = r.frac;
    q = r.end;
  }
  if (s.charCodeAt(q) !== 32) return false;
  const hostEnd = s.indexOf(' ', q + 1);
  if (hostEnd < 0) return false;
  const host = s.slice(q + 1, hostEnd);
  env.host = host === '-' ? null : host;
  const appEnd = s.indexOf(' ', hostEnd + 1);
  if (appEnd < 0 || s.slice(hostEnd + 1, appEnd) !== 'kernel') return false;
  const procEnd = s.indexOf(' ', appEnd + 1);
  if (procEnd < 0) return false;
  const msgidEnd = s.indexOf(' ', procEnd + 1);
  if (msgidEnd < 0) return false;
  let i = msgidEnd + 1;
  if (s.charCodeAt(i) === 45) {
    i += 1;
  } else {
    // Structured data: one or more [id k="v" …] elements; `]` inside values is escaped as `\]`.
    while (s.charCodeAt(i) === 91) {
      i++;
      while (i < s.length) {
        const c = s.charCodeAt(i);
        if (c === 92) i += 2;
        else if (c === 93) break;
        else i++;
      }
      i++;
    }
  }
  // MSG after one space; a message relayed from RFC3164 keeps the space after its `kernel:` (rsyslog's
  // RSYSLOG_SyslogProtocol23Format writes `- -  HARVESTER_DROP_…`)
  while (s.charCodeAt(i) === 32) i++;
  // An optional UTF-8 BOM before MSG.
  if (s.charCodeAt(i) === 0xfeff) i++;
  env.msg = i;
  env.transport = 'syslog';
  return true;
}

/** `[  499.178765] ` at p: dmesg, or journalctl short-monotonic when ` host kernel: ` follows. */
function bracketStamp(env: EnvelopeInfo, s: string, p: number, ctx: EnvelopeContext): boolean {
  const close = s.indexOf(']', p);
  if (close < 0) return false;
  const c1 = s.charCodeAt(p + 1);
  if ((c1 >= 65 && c1 <= 90) || (c1 >= 97 && c1 <= 122) || c1 >= 0x80) {
    // dmesg -T: `[Mon Apr 22 10:00:01 2024] `
    const ms = ctx.ctime.parse(s, p + 1, close);
    if (Number.isNaN(ms)) return timeless(env, s, p, close, RELTIME_MINUTE) || localizedStamp(env, s, p, close);
    env.ms = ms;
    env.envelope = 'dmesg-T';
    env.transport = 'kernel';
    env.msg = s.charCodeAt(close + 1) === 32 ? close + 2 : close + 1;
    return true;
  }
  // `dmesg -d` and journalctl short-delta add the time since the previous message: `[ 1835.131574 <    0.000123>]`
  // (dmesg), `[37773.458736 <    1.007002 >]` (journalctl); journalctl pads its first line's stamp instead:
  // `[37772.451734                ]`
  let end = close;
  while (end > p + 1 && s.charCodeAt(end - 1) === 32) end--;
  const padded = end < close;
  let delta = -1;
  if (s.charCodeAt(end - 1) === 62 /* > */) {
    delta = s.lastIndexOf(' <', end);
    end--;
    while (end > p + 1 && s.charCodeAt(end - 1) === 32) end--;
  }
  const mono = readSeconds(s, p + 1, delta > p ? delta : end);
  if (Number.isNaN(mono)) return timeless(env, s, p, close, RELTIME_DELTA) || localizedStamp(env, s, p, close);
  if (delta > p && Number.isNaN(readSeconds(s, delta + 2, end))) return false;
  env.mono = mono;
  const after = s.charCodeAt(close + 1) === 32 ? close + 2 : close + 1;
  const journal = delta > p || padded ? 'journal-short-delta' : 'journal-short-monotonic';
  // journalctl --no-hostname (or a record without _HOSTNAME): `[ 1835.131574] kernel: msg` — the tag is journalctl's,
  // not the start of a dmesg line's message
  if (s.startsWith('kernel: ', after)) {
    env.msg = after + 8;
    env.envelope = journal;
    env.transport = 'syslog';
    return true;
  }
  // short-monotonic: `[ 1835.131574] host kernel: msg`
  const sp = s.indexOf(' ', after);
  if (sp > after && s.startsWith('kernel: ', sp + 1) && s.indexOf('=', after) > sp) {
    env.host = s.slice(after, sp);
    env.msg = sp + 9;
    env.envelope = journal;
    env.transport = 'syslog';
    return true;
  }
  env.envelope = 'dmesg';
  env.transport = 'kernel';
  env.msg = after;
  return true;
}

/** `dmesg -e` / `--time-format reltime`: a minute `[Apr22 10:00]` (no seconds, no year), then offsets from it. */
const RELTIME_MINUTE = /^\[[A-Z][a-z]{2}[ 0-9]\d \d\d:\d\d\]$/;
/** `[  +0.000123]` (reltime's offsets) and `[<    0.000123>]` (`--time-format delta`): times between messages. */
const RELTIME_DELTA = /^\[ *(?:\+ *\d+\.\d+|< *\d+\.\d+>)\]$/;

/**
 * dmesg's stamps that say no time of their own (`-e`, `--time-format delta`): a dmesg line without a time rather
 * than a bare line with the stamp in its LOG prefix.
 */
function timeless(env: EnvelopeInfo, s: string, p: number, close: number, shape: RegExp): boolean {
  if (close - p > 24 || !shape.test(s.slice(p, close + 1))) return false;
  env.envelope = 'dmesg';
  env.transport = 'kernel';
  env.msg = s.charCodeAt(close + 1) === 32 ? close + 2 : close + 1;
  return true;
}

const LETTER = /\p{L}/u;
const CLOCK_SECONDS = /(?<!\d)\d\d:\d\d:\d\d(?!\d)/;
/** `-e`'s minute, a day and a month word before the time: `%b%e %H:%M` (`abr22 10:00`), de `%e. %b %H:%M` (`22. Apr 10:00`) */
const RELTIME_MINUTE_WORDS = /^(?:\p{L}[\p{L}.]{1,7}[ \d]\d| ?\d{1,2}\.? \p{L}[\p{L}.]{1,7}) \d\d:\d\d$/u;
const YEAR = /(?<![\d:])\d{4}(?![\d:])/;

/**
 * dmesg's `-T` and `-e` stamps in another language: util-linux translates their strftime formats and the names in
 * them (de `[Mo, 22. Apr 2024, 10:00:01]` and `[22. Apr 10:00]`, fr `[lun. 22 avril 10:00:01 2024]`, es `[lun abr 22
 * 10:00:01 2024]`). The month is a word of that language, so no time is read, but the line is dmesg's: `dmesg-T` for
 * a date with seconds and a year, `dmesg` for `-e`'s minute — not a bare line with the stamp in its LOG prefix.
 */
function localizedStamp(env: EnvelopeInfo, s: string, p: number, close: number): boolean {
  if (close - p > 48) return false;
  const inner = s.slice(p + 1, close);
  if (inner.indexOf('=') >= 0 || !LETTER.test(inner)) return false;
  if (CLOCK_SECONDS.test(inner) && YEAR.test(inner)) env.envelope = 'dmesg-T';
  else if (RELTIME_MINUTE_WORDS.test(inner)) env.envelope = 'dmesg';
  else return false;
  env.transport = 'kernel';
  env.msg = s.charCodeAt(close + 1) === 32 ? close + 2 : close + 1;
  return true;
}

/** `dmesg --time-format iso`: `2024-04-22T10:00:01,123456+00:00 msg` (a comma before the fraction, no host). */
function dmesgIso(env: EnvelopeInfo, s: string, p: number): boolean {
  const r = parseIso(s, p);
  if (Number.isNaN(r.ms) || s.charCodeAt(r.end) !== 32) return false;
  env.ms = r.ms;
  env.frac = r.frac;
  env.envelope = 'dmesg-iso';
  env.transport = 'kernel';
  env.msg = r.end + 1;
  return true;
}

/** `dmesg -x`: `kern  :warn  : ` before the stamp — the facility says who wrote the line. */
const DMESG_DECODED = /^([a-z][a-z0-9]{1,7}) *:([a-z]{3,6}) *: /;
/** The names util-linux dmesg prints (syslog(3) facilities and levels): any other word there is no dmesg -x line. */
const DMESG_FACILITIES = new Set(['kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp',
  'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7']);
const DMESG_LEVELS = new Set(['emerg', 'alert', 'crit', 'err', 'warn', 'notice', 'info', 'debug']);

function dmesgDecoded(env: EnvelopeInfo, s: string, ctx: EnvelopeContext): boolean {
  const m = DMESG_DECODED.exec(s.length > 40 ? s.slice(0, 40) : s);
  if (m === null || !DMESG_FACILITIES.has(m[1]!) || !DMESG_LEVELS.has(m[2]!)) return false;
  const p = m[0].length;
  const c = s.charCodeAt(p);
  if (c === 91 /* [ */) {
    if (!bracketStamp(env, s, p, ctx)) return false;
    // `-x` on a journalctl-style line cannot be: only dmesg's own forms
    if (env.envelope !== 'dmesg' && env.envelope !== 'dmesg-T') return false;
  } else if (isDigit(c) && s.charCodeAt(p + 4) === 45 && s.charCodeAt(p + 19) === 44) {
    if (!dmesgIso(env, s, p)) return false;
  } else {
    // `-x -t`: no stamp
    env.envelope = 'dmesg';
    env.msg = p;
  }
  env.transport = m[1] === 'kern' ? 'kernel' : 'syslog';
  return true;
}

/** `/dev/kmsg`: `prio,seq,usec,flag[,more];message`. */
function kmsg(env: EnvelopeInfo, s: string, firstComma: number): boolean {
  const prio = readUint(s, 0, firstComma);
  const c2 = s.indexOf(',', firstComma + 1);
  if (c2 < 0) return false;
  const c3 = s.indexOf(',', c2 + 1);
  const semi = s.indexOf(';', c2 + 1);
  if (c3 < 0 || semi < 0 || c3 > semi) return false;
  const usec = readUint(s, c2 + 1, c3);
  if (prio < 0 || usec < 0) return false;
  env.mono = usec / 1e6;
  env.envelope = 'kmsg';
  // Userspace writes to /dev/kmsg cannot use facility 0 (the kernel forces LOG_USER): facility 0 proves the kernel.
  env.transport = prio >> 3 === 0 ? 'kernel' : 'syslog';
  env.msg = semi + 1;
  // /dev/kmsg writes a byte below 0x20, from 0x7f, or `\` as `\xNN` (dmesg and journald undo it): a prefix
  // `HARVESTER_DROP_é ` is `HARVESTER_DROP_\xc3\xa9 ` there
  if (s.indexOf('\\x', semi + 1) >= 0) env.s = s.slice(0, semi + 1) + unescapeKmsg(s.slice(semi + 1));
  return true;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/**
 * A /dev/kmsg message with its `\xNN` escapes turned back into bytes, read as UTF-8 (as dmesg prints it). Bytes that
 * are not UTF-8 (`\xff`) keep their escapes — as dmesg shows them — rather than all becoming U+FFFD.
 */
export function unescapeKmsg(msg: string): string {
  const b = utf8.encode(msg);
  const out = new Uint8Array(b.length);
  let n = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i] as number;
    if (c === 92 && b[i + 1] === 120 && i + 3 < b.length) {
      const hi = hexDigit(b[i + 2] as number);
      const lo = hexDigit(b[i + 3] as number);
      if (hi >= 0 && lo >= 0) {
        out[n++] = (hi << 4) | lo;
        i += 3;
        continue;
      }
    }
    out[n++] = c;
  }
  try {
    return fromUtf8.decode(out.subarray(0, n));
  } catch {
    return msg;
  }
}

/** talosctl dmesg: `172.20.1.2: kern:    warn: [2021-11-10T10:09:37.662764956Z]: msg`. */
function talos(env: EnvelopeInfo, s: string, hostEnd: number): boolean {
  let i = hostEnd + 1;
  while (s.charCodeAt(i) === 32) i++;
  const facEnd = s.indexOf(':', i);
  if (facEnd < 0 || facEnd - i > 8) return false;
  const facility = s.slice(i, facEnd);
  i = facEnd + 1;
  while (s.charCodeAt(i) === 32) i++;
  const lvlEnd = s.indexOf(':', i);
  if (lvlEnd < 0 || lvlEnd - i > 8) return false;
  i = lvlEnd + 1;
  while (s.charCodeAt(i) === 32) i++;
  if (s.charCodeAt(i) !== 91) return false;
  const r = parseIso(s, i + 1);
  if (Number.isNaN(r.ms) || s.charCodeAt(r.end) !== 93) return false;
  env.ms = r.ms;
  // Talos prints nanoseconds; ISO output keeps microseconds.
  env.frac = r.frac.length > 6 ? r.frac.slice(0, 6) : r.frac;
  env.host = s.slice(0, hostEnd);
  env.envelope = 'talos';
  env.transport = facility === 'kern' ? 'kernel' : 'syslog';
  let m = r.end + 1;
  if (s.charCodeAt(m) === 58) m++;
  if (s.charCodeAt(m) === 32) m++;
  env.msg = m;
  return true;
}

/** A `host: facility:` talosctl line? (host is an address or name followed by `: `) */
function talosHostEnd(s: string): number {
  const colon = s.indexOf(': ');
  if (colon <= 0 || colon > 64) return -1;
  for (let i = 0; i < colon; i++) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 61 /* = */) return -1;
  }
  // The facility word follows: kern, user, daemon, …
  let j = colon + 2;
  while (s.charCodeAt(j) === 32) j++;
  const c = s.charCodeAt(j);
  return c >= 97 && c <= 122 ? colon : -1;
}

/**
 * Decodes the envelope of a line that is not JSON or journal-export. Returns false when the line is a syslog or
 * journal line from a program other than the kernel (not a kernel line at all).
 */
export function decodeEnvelope(env: EnvelopeInfo, s: string, ctx: EnvelopeContext): boolean {
  reset(env, s);
  const c0 = s.charCodeAt(0);
  if (c0 === 60 /* < */) {
    const gt = s.indexOf('>', 1);
    if (gt < 2 || gt > 4) return true;
    const pri = readUint(s, 1, gt);
    if (pri < 0) return true;
    const p = gt + 1;
    const c = s.charCodeAt(p);
    if (c === 49 /* 1 */ && s.charCodeAt(p + 1) === 32) return rfc5424(env, s, p + 2);
    if (c === 91 /* [ */) {
      // dmesg -r: `<4>[  499.178765] `; the facility tells kernel from userspace writes.
      const ok = bracketStamp(env, s, p, ctx);
      if (ok && env.envelope === 'dmesg') env.transport = pri >> 3 === 0 ? 'kernel' : 'syslog';
      return ok;
    }
    if (monthAt(s, p) >= 0 && s.charCodeAt(p + 3) === 32) return rfc3164(env, s, p, ctx);
    if (isDigit(c) && s.charCodeAt(p + 4) === 45) return rfc3339(env, s, p);
    env.msg = p;
    return true;
  }
  if (c0 === 91 /* [ */) {
    if (bracketStamp(env, s, 0, ctx)) return true;
    reset(env, s);
    return true;
  }
  if (isDigit(c0)) {
    let k = 1;
    while (isDigit(s.charCodeAt(k))) k++;
    const ck = s.charCodeAt(k);
    if (ck === 44 /* , */) {
      if (kmsg(env, s, k)) return true;
      reset(env, s);
      return true;
    }
    if (ck === 45 /* - */ && k === 4) {
      if (s.charCodeAt(19) === 44 /* , */) return dmesgIso(env, s, 0) || (reset(env, s), true);
      if (rfc3339(env, s, 0)) return true;
      return env.envelope === 'rfc3339' ? false : (reset(env, s), true);
    }
    if (ck === 46 /* . */) {
      // journalctl short-unix: `1713780001.123456 host kernel: `
      let j = k + 1;
      while (isDigit(s.charCodeAt(j))) j++;
      if (s.charCodeAt(j) === 32 && j > k + 1) {
        const secs = readUint(s, 0, k);
        const frac = s.slice(k + 1, j);
        env.ms = secs * 1000 + fracToMs(s, k + 1, j);
        env.frac = frac;
        env.envelope = 'journal-short-unix';
        return syslogTail(env, s, j);
      }
    }
  }
  const c1 = s.charCodeAt(1);
  if (c0 >= 65 && c0 <= 90 && c1 >= 97 && c1 <= 122 && s.charCodeAt(3) === 32) {
    if (monthAt(s, 0) >= 0) {
      if (rfc3164(env, s, 0, ctx)) return true;
      if (env.envelope === 'rfc3164') return false;
      reset(env, s);
    } else if (shortFullAt(s)) {
      if (shortFull(env, s, ctx)) return true;
      if (env.envelope === 'journal-short-full') return false;
      reset(env, s);
    }
  }
  if (c0 >= 97 && c0 <= 122) {
    if (dmesgDecoded(env, s, ctx)) return true;
    reset(env, s);
  }
  const hostEnd = talosHostEnd(s);
  if (hostEnd > 0 && talos(env, s, hostEnd)) return true;
  reset(env, s);
  return true;
}

/** The kernel's own `[sec.usec] ` stamp at the start of a relayed message (printk time in syslog). */
export function kernelStampAt(env: EnvelopeInfo): void {
  const s = env.s;
  const p = env.msg;
  if (s.charCodeAt(p) !== 91) return;
  const close = s.indexOf(']', p);
  if (close < 0 || close - p > 20) return;
  const mono = readSeconds(s, p + 1, close);
  if (Number.isNaN(mono)) return;
  if (Number.isNaN(env.mono)) env.mono = mono;
  env.msg = s.charCodeAt(close + 1) === 32 ? close + 2 : close + 1;
}

/**
 * The journal fields journalEnvelope reads, and no others: a multi-line record (export, verbose) keeps just these,
 * so a record of endless other fields holds no more memory than one of these.
 */
export const JOURNAL_KEYS: ReadonlySet<string> = new Set(['MESSAGE', '_TRANSPORT', 'SYSLOG_IDENTIFIER', 'SYSLOG_FACILITY', '__REALTIME_TIMESTAMP', '_SOURCE_MONOTONIC_TIMESTAMP', '_HOSTNAME']);

/** Journal fields (from `-o json` or `-o export`) → envelope. Returns false when it is not a kernel message. */
export function journalEnvelope(env: EnvelopeInfo, f: Record<string, unknown>, envelope: Envelope): boolean {
  let msg = f['MESSAGE'];
  if (Array.isArray(msg)) {
    // journald gives non-UTF-8 messages as an array of bytes.
    msg = Buffer.from(msg.filter((b): b is number => typeof b === 'number')).toString('utf8');
  }
  if (typeof msg !== 'string') return false;
  reset(env, msg);
  env.envelope = envelope;
  const transport = f['_TRANSPORT'];
  const ident = f['SYSLOG_IDENTIFIER'];
  // journald's kernel transport is /dev/kmsg, which userspace (root) may write to as well: journald stores those
  // records with `_TRANSPORT=kernel` too, but with the writer's facility (never 0: the kernel makes a write's 0 into
  // LOG_USER) and tag — as a kmsg record of facility 1 is, such a record is a syslog claim, not the kernel's
  const fac = f['SYSLOG_FACILITY'];
  if (transport === 'kernel' && (fac === undefined || fac === '0')) env.transport = 'kernel';
  else if (ident === 'kernel') env.transport = 'syslog';
  else return false;
  const rt = f['__REALTIME_TIMESTAMP'];
  if (typeof rt === 'string' && /^\d+$/.test(rt)) {
    const us = Number(rt);
    env.ms = us / 1000;
    env.frac = String(us % 1_000_000).padStart(6, '0');
  }
  const mono = f['_SOURCE_MONOTONIC_TIMESTAMP'];
  if (typeof mono === 'string' && /^\d+$/.test(mono)) env.mono = Number(mono) / 1e6;
  const host = f['_HOSTNAME'];
  if (typeof host === 'string') env.host = host;
  return true;
}
