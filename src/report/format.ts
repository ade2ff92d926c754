/**
 * Text helpers shared by the renderers: escaping of log-derived strings for Markdown and HTML, and short labels.
 * Log text is hostile (any local process can write `kernel: …` lines through syslog): every host name, address,
 * prefix, reason and rendered rule goes through `md` or `html` before it is printed.
 */
import { escapeControl } from '../output/escape.js';
import type { BlockGroup, Report, ReportSuggestion, ReportWindow, VerdictCounts } from './types.js';
import { formatCount, formatSpan, hoursAndMinutes, plural } from './verdict.js';
import { logLimitSentence } from '../ruleset/log-limit.js';
import { REPORT_VERDICTS } from './aggregate.js';

const MD_SPECIAL = /[\\`*_{}[\]|~>]/g;

/**
 * Markdown text (also safe in a table cell): control characters made visible, Markdown punctuation
 * backslash-escaped, `&` and `<` as entities so no log text becomes inline HTML or a link.
 */
export function md(s: string): string {
  const t = escapeControl(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(MD_SPECIAL, (c) => `\\${c}`);
  // a heading, list or rule marker only matters at the start of a line
  return /^(?:[#+\-=]|\d+[.)])/.test(t) ? `\\${t}` : t;
}

/** A Markdown code span for `s` (control characters made visible; the fence outgrows any backtick run). */
export function mdCode(s: string): string {
  return codeSpan(escapeControl(s).replace(/\n/g, ' '));
}

/**
 * {@link mdCode} for a table cell: `|` escaped as `\|` too — GFM splits cells at a pipe even inside a code span
 * (and drops the backslash when it does not).
 */
export function mdCodeCell(s: string): string {
  return codeSpan(escapeControl(s).replace(/\n/g, ' ').replace(/\|/g, '\\|'));
}

function codeSpan(t: string): string {
  let fence = '`';
  while (t.includes(fence)) fence += '`';
  const pad = t.startsWith('`') || t.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${t}${pad}${fence}`;
}

/** A fenced Markdown code block for `s`. */
export function mdBlock(s: string, lang = ''): string {
  const t = s.split('\n').map(escapeControl).join('\n');
  let fence = '```';
  while (t.includes(fence)) fence += '`';
  return `${fence}${lang}\n${t}\n${fence}`;
}

/** HTML text or attribute value: control characters made visible, then `& < > " '` as entities. */
export function html(s: string): string {
  return escapeControl(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/**
 * {@link html} for the text of a `<pre>` (rendered rules, one command a line): newlines stay newlines so the block
 * can be copied and pasted as it is; every other control character is made visible, markup characters are entities.
 */
export function htmlBlock(s: string): string {
  return s.split('\n').map(html).join('\n');
}

/** `45 s`, `3.3 min`: a span to one decimal of a minute. */
export function minutes(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  const m = ms / 60_000;
  return `${Number.isInteger(m) ? m : m.toFixed(1)} min`;
}

/**
 * How long before its host's last drop (where that host's input ends) a block may have last been refused and still be
 * called refused up to the input's end: a client still retrying sends at least once a minute (TCP's SYN retries are
 * at most 32 s apart, a connect loop starts over sooner), and the timeline's resolution is a minute.
 */
export const END_SLACK_MS = 60_000;

/** `3.3 min before the input ends` for a last drop that long before its host's last one, or '' within {@link END_SLACK_MS}. */
export function beforeEndText(quietMs: number | null): string {
  if (quietMs === null || quietMs <= END_SLACK_MS) return '';
  const m = Math.floor(quietMs / 60_000);
  // past two hours, hours and whole minutes (rounded down: the gap is at least that)
  return `${m < 120 ? minutes(quietMs) : hoursAndMinutes(m)} before the input ends`;
}

/** `first seen A, last seen B (3.3 min before the input ends)`, what of it is known, or ''. */
function firstLastText(first: string | null, last: string | null, quiet: string, esc: (s: string) => string): string {
  const parts: string[] = [];
  if (first !== null) parts.push(`first seen ${esc(first)}`);
  if (last !== null) parts.push(`last seen ${esc(last)}${quiet === '' ? '' : ` (${quiet})`}`);
  return parts.join(', ');
}

/**
 * A window's block group dated in its list's phase (`phase`: `after the window`, `during the window`), then what the
 * whole input adds: `; after the window: first seen A, last seen B; whole input: first seen C` (a block that persisted
 * was refused before the window's end too). The input's-end note goes with the group's last drop of the input. The
 * times escaped by `esc`.
 */
export function seenText(g: BlockGroup, phase: string, esc: (s: string) => string): string {
  const quiet = beforeEndText(g.quietAtEndMs);
  const lastIsPhase = g.lastSeen === g.phaseLastSeen;
  const inPhase = firstLastText(g.phaseFirstSeen, g.phaseLastSeen, lastIsPhase ? quiet : '', esc);
  const whole = firstLastText(g.firstSeen === g.phaseFirstSeen ? null : g.firstSeen, lastIsPhase ? null : g.lastSeen, quiet, esc);
  return `${inPhase === '' ? '' : `; ${phase}: ${inPhase}`}${whole === '' ? '' : `; whole input: ${whole}`}`;
}

/**
 * Block groups a window's list names in Markdown and HTML; JSON has them all. A noisy input has hundreds (a port
 * each), and a page of them buried the flows table and the suggestions under thousands of lines.
 */
export const MAX_GROUPS_SHOWN = 20;

/** The groups of a list to name, and the sentence for the rest ('' when all are named). */
export function shownGroups(gs: readonly BlockGroup[]): { shown: readonly BlockGroup[]; more: string } {
  if (gs.length <= MAX_GROUPS_SHOWN) return { shown: gs, more: '' };
  const rest = gs.slice(MAX_GROUPS_SHOWN);
  const drops = rest.reduce((n, g) => n + g.packets, 0);
  return {
    shown: gs.slice(0, MAX_GROUPS_SHOWN),
    more: `and ${plural(rest.length, 'more port')} (${plural(drops, 'drop')}); --format json lists them all`,
  };
}

export function portText(proto: string, port: number | null): string {
  return port === null ? proto : `${proto}/${port}`;
}

/** The Input line's list of sources, each quoted by `code`; `-`, which every command reads as stdin, is named so. */
export function inputSourcesText(sources: readonly string[], code: (s: string) => string): string {
  return sources.map((s) => (s === '-' ? 'stdin' : code(s))).join(', ') || 'stdin';
}

export function countsText(c: VerdictCounts): string {
  const parts = REPORT_VERDICTS.filter((v) => c[v] > 0).map((v) => `${c[v].toLocaleString('en-US')} ${v}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

/**
 * What the report's bounds and the input's sampling cost, one sentence each (the Limits section); `code` quotes the
 * log-derived LOG prefix for the output format. Every other word is fixed text and numbers.
 */
export function limitLines(r: Report, code: (s: string) => string): string[] {
  const l = r.limits;
  const n = (x: number) => x.toLocaleString('en-US');
  const lim: string[] = [];
  if (l.untimed > 0) lim.push(`${n(l.untimed)} drops without a usable time are counted but not on the timeline`);
  if (l.hostsDropped > 0) lim.push(`${n(l.hostsDropped)} drops of hosts beyond the host cap are not on the timeline`);
  if (l.timelineCoarsened > 0) lim.push(`the timeline was coarsened to ${formatSpan(r.timeline.bucketMs)} buckets to stay within its memory cap`);
  if (l.flowsCoarsened > 0) lim.push(`${n(l.flowsCoarsened)} long-lived flows keep their activity in coarser buckets: their during/after split is approximate`);
  for (const x of l.logRateLimit ?? []) lim.push(logLimitSentence(x, code));
  if (l.flowsExpired + l.flowsEvicted > 0) lim.push(`${n(l.flowsExpired)} idle noise flows expired and ${n(l.flowsEvicted)} flows were evicted (their drops are counted, the flows not listed)`);
  return lim;
}

export function sumCounts(c: VerdictCounts): number {
  let n = 0;
  for (const v of REPORT_VERDICTS) n += c[v];
  return n;
}

/** The verdict columns a report's tables show: broadcast only when the input had some (most have none). */
export function shownVerdicts(totals: VerdictCounts): ReadonlyArray<(typeof REPORT_VERDICTS)[number]> {
  return totals.broadcast > 0 ? REPORT_VERDICTS : REPORT_VERDICTS.filter((v) => v !== 'broadcast');
}

export function suggestionPorts(s: ReportSuggestion): string {
  return s.ports.length === 0 ? s.proto : `${s.proto}/${s.ports.join(',')}`;
}

/** `HH:MM` (or `MM-DD HH:MM` when `withDay`, `YYYY-MM-DD HH:MM` when `withYear`) of an ISO time; boot times stay as they are. */
export function clockLabel(iso: string, withDay = false, withYear = false): string {
  if (iso.startsWith('boot+')) return iso;
  const d = iso.slice(withYear ? 0 : 5, 10);
  const t = iso.slice(11, 16);
  return withDay || withYear ? `${d} ${t}` : t;
}

/**
 * A window's conntrack-loss sentence; `strong` marks what needs attention. Drops that lost state on a flow listed
 * under another verdict (an old connection's last packets to a port that is then refused) are said apart, so the
 * drops named on the conntrack-loss flows add up to what those flows hold.
 */
export function conntrackLossText(ct: ReportWindow['conntrackLoss'], settleMs: number, strong: (s: string) => string): string {
  const other = ct.drops - ct.flowDrops;
  const head = other > 0
    ? `Conntrack loss: ${plural(ct.drops, 'drop')}, ${formatCount(ct.flowDrops)} of them on ${plural(ct.flows, 'flow')} that lost state`
    : `Conntrack loss: ${plural(ct.drops, 'drop')} on ${plural(ct.flows, 'flow')}`;
  const how = ct.unsettled > 0
    ? strong(`${plural(ct.unsettled, 'flow')} still losing state more than ${formatSpan(settleMs)} after the end`) +
      ` (latest ${formatSpan(ct.stoppedWithinMs)})`
    : ct.stoppedWithinMs === 0 ? "all stopped by the window's end" : `all stopped within ${formatSpan(ct.stoppedWithinMs)} of the window's end`;
  const rest = other > 0
    ? ` ${other === 1 ? 'The other one' : `The other ${formatCount(other)}`} lost state on flows listed under another verdict (typically a connection from before the window to a port refused since).`
    : '';
  return `${head}; ${how}.${rest}`;
}
