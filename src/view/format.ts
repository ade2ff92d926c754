/**
 * Text helpers for the live view's components: all pure. Every log-derived string goes through `clean` (control
 * characters escaped) before it is measured, cut or shown.
 */
import stringWidth from 'string-width';
import { escapeControl } from '../output/escape.js';
import type { DropEvent } from '../parse/event.js';
import type { Verdict } from '../classify/verdict.js';

export const clean = escapeControl;

const SPARK = '▁▂▃▄▅▆▇█';

/** A sparkline: one block per value, scaled to the largest; zero is a blank-looking lowest block. */
export function sparkline(values: readonly number[]): string {
  let max = 0;
  for (const v of values) if (v > max) max = v;
  let out = '';
  for (const v of values) {
    if (v <= 0 || max === 0) out += ' ';
    else out += SPARK[Math.min(SPARK.length - 1, Math.floor((v / max) * (SPARK.length - 1) + 0.5))] ?? ' ';
  }
  return out;
}

/**
 * Text one column a UTF-16 unit: printable ASCII and the symbols the view draws with (each one column wide in
 * string-width, which test/view/format.test.ts checks). Its width is its length — string-width's regular expressions
 * took ~4 ms of each redraw on the header and the details pane, which hold `·`, `→` and `│`.
 */
export const NARROW_UNITS = '·—…→↓↑▶↔›▏▁▂▃▄▅▆▇█│≤×';
const ONE_COLUMN_UNITS = new RegExp(`^[\\x20-\\x7e${NARROW_UNITS}]*$`);
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Terminal columns `s` takes: a CJK character or an emoji takes two (log text can hold any, once cleaned). */
export function columns(s: string): number {
  return ONE_COLUMN_UNITS.test(s) ? s.length : stringWidth(s);
}

/** The longest start of `s` that fits in `width` columns, whole characters only, and its width. */
function head(s: string, width: number): [string, number] {
  if (ONE_COLUMN_UNITS.test(s)) return [s.slice(0, width), Math.min(width, s.length)];
  let out = '';
  let w = 0;
  for (const { segment } of graphemes.segment(s)) {
    const sw = stringWidth(segment);
    if (w + sw > width) break;
    out += segment;
    w += sw;
  }
  return [out, w];
}

/** The longest end of `s` that fits in `width` columns, whole characters only, and its width. */
function tail(s: string, width: number): [string, number] {
  if (ONE_COLUMN_UNITS.test(s)) return [s.slice(Math.max(0, s.length - width)), Math.min(width, s.length)];
  const segs = Array.from(graphemes.segment(s), (g) => g.segment);
  let start = segs.length;
  let w = 0;
  for (; start > 0; start--) {
    const sw = stringWidth(segs[start - 1]!);
    if (w + sw > width) break;
    w += sw;
  }
  return [segs.slice(start).join(''), w];
}

/**
 * Cuts to `width` columns with an ellipsis (at the end, or in front with `fromEnd`: the end of `s` kept); pads to
 * `width` when `pad`. Measured in terminal columns.
 */
export function fit(s: string, width: number, pad = true, fromEnd = false): string {
  if (width <= 0) return '';
  const sw = columns(s);
  if (sw <= width) return pad && sw < width ? s + ' '.repeat(width - sw) : s;
  if (width === 1) return '…';
  const [part, pw] = fromEnd ? tail(s, width - 1) : head(s, width - 1);
  const t = fromEnd ? `…${part}` : `${part}…`;
  // a wide character that did not fit leaves a column over
  return pad && pw + 1 < width ? t + ' '.repeat(width - pw - 1) : t;
}

/**
 * Cuts to `width` columns keeping the end, with an ellipsis in front; pads to `width`. For addresses: the end of
 * `192.168.122.63:8472` (the port, the last octets) is what tells one row from the next.
 */
export function fitTail(s: string, width: number): string {
  return fit(s, width, true, true);
}

/**
 * Cuts to `width` columns keeping the end from the last `/` on (a file name, and what follows it) whole when it fits:
 * the cut, an ellipsis, is before it. For a message naming a file (`wrote 2 rules to /a/long/dir/NAME.yaml`): the
 * directory gives way, not the name. Without a `/`, or when the name alone is too wide: `fit`. Not padded.
 */
export function fitName(s: string, width: number): string {
  if (columns(s) <= width) return s;
  const at = s.lastIndexOf('/');
  const name = at < 0 ? '' : s.slice(at);
  const nw = columns(name);
  if (at < 0 || nw + 2 > width) return fit(s, width, false);
  return `${fit(s.slice(0, at), width - nw, false)}${name}`;
}

/** Right-aligned fit (numbers). */
export function fitRight(s: string, width: number): string {
  const sw = columns(s);
  return sw > width ? fit(s, width, false) : ' '.repeat(width - sw) + s;
}

/** Word-wraps to `width`, at most `maxLines` lines (the last one ellipsised when text is left over). */
export function wrap(s: string, width: number, maxLines: number): string[] {
  if (width <= 0 || maxLines <= 0) return [];
  const out: string[] = [];
  let rest = s;
  while (rest.length > 0 && out.length < maxLines) {
    if (columns(rest) <= width) {
      out.push(rest);
      rest = '';
      break;
    }
    // the part that fits, cut at its last space when that is not too early
    const [fits] = head(rest, width);
    let cut = rest.lastIndexOf(' ', fits.length);
    if (cut <= fits.length / 3) cut = Math.max(1, fits.length);
    out.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest.length > 0 && out.length > 0) out[out.length - 1] = fit(`${out[out.length - 1]!} ${rest}`, width, false);
  return out;
}

/** `1:05`, `1:02:03` */
export function elapsed(ms: number): string {
  const t = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const s = t % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** `12`, `12.3k`, `4.5M` */
export function compact(n: number): string {
  if (n < 10_000) return String(Math.round(n));
  if (n < 1_000_000) return `${(n / 1000).toFixed(1)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

export { endpoint } from '../parse/ipv6.js';

/** `10:47:19` from an ISO time; else `line N`. */
export function clock(iso: string | null, line: number): string {
  if (iso === null) return `l.${line}`;
  const m = /T(\d\d:\d\d:\d\d)/.exec(iso);
  return m?.[1] ?? iso;
}

/** One logged packet as a compact evidence line (rebuilt from the event: works for every envelope). */
export function evidenceLine(e: DropEvent): string {
  const when = e.time ?? (e.mono !== null ? `[${e.mono.toFixed(6)}]` : `line ${e.line}`);
  const parts = [when, e.host ?? '-', `${e.prefix}IN=${e.in} OUT=${e.out}`];
  if (e.src !== undefined) parts.push(`SRC=${e.srcShort ?? e.src}`);
  if (e.dst !== undefined) parts.push(`DST=${e.dstShort ?? e.dst}`);
  if (e.proto !== undefined) parts.push(`PROTO=${e.proto}`);
  if (e.spt !== undefined) parts.push(`SPT=${e.spt}`);
  if (e.dpt !== undefined) parts.push(`DPT=${e.dpt}`);
  if (e.flags !== undefined && e.flags.length > 0) parts.push(e.flags.join(' '));
  if (e.icmp !== undefined) parts.push(`TYPE=${e.icmp.type} CODE=${e.icmp.code}`);
  return clean(parts.join(' '));
}

/** Ink colour props per verdict (only when colour is on). */
export const VERDICT_COLOR: Record<Verdict, { color?: string; bold?: boolean; dimColor?: boolean }> = {
  'genuine-block': { color: 'red', bold: true },
  scan: { color: 'magenta' },
  undetermined: { color: 'yellow' },
  'conntrack-loss': { dimColor: true },
  broadcast: { dimColor: true },
};

/** Short labels for narrow columns. */
export const VERDICT_SHORT: Record<Verdict, string> = {
  'genuine-block': 'genuine-block',
  scan: 'scan',
  undetermined: 'undetermined',
  'conntrack-loss': 'conntrack-loss',
  broadcast: 'broadcast',
};
