/**
 * The report as one self-contained HTML file: inline CSS, inline SVG charts built as strings, no script, no
 * external asset (a Content-Security-Policy forbids loading any). The timeline shows drops per bucket stacked by
 * verdict with the windows shaded — one chart for all hosts, then small multiples per host on the same scales.
 * Every log-derived string goes through `html()`.
 */
import { REPORT_VERDICTS, floorTo } from './aggregate.js';
import { formatCount, formatSpan, plural } from './verdict.js';
import { clockLabel, conntrackLossText, countsText, html, inputSourcesText, htmlBlock, limitLines, portText, seenText, shownGroups, shownVerdicts, suggestionPorts, sumCounts } from './format.js';
import type { BlockGroup, Report, ReportWindow, TimelineBucket } from './types.js';
import { overwrittenSentence, prefixesAdvice } from '../input/types.js';
import { prefixLabel } from '../parse/parse-line.js';

const COLORS: Record<(typeof REPORT_VERDICTS)[number], string> = {
  'conntrack-loss': '#8da2bf',
  'genuine-block': '#d1495b',
  scan: '#edae49',
  undetermined: '#8e7dbe',
  broadcast: '#c9c9c9',
};

/** Most bars in one chart: buckets are merged into wider bins beyond it. */
const MAX_BARS = 180;
/** Fewest bins on the x axis (short inputs are padded with empty time on both sides). */
const MIN_BARS = 15;
const NICE_MIN = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080];

type Bins = Map<number, number[]>;

/** Bin width (ms): the report's bucket, or the smallest nice multiple that keeps the chart under MAX_BARS bars. */
export function binWidth(spanMs: number, bucketMs: number): number {
  for (const m of NICE_MIN) {
    const w = m * 60_000;
    if (w >= bucketMs && spanMs / w <= MAX_BARS) return w;
  }
  return Math.max(bucketMs, Math.ceil(spanMs / MAX_BARS / 60_000) * 60_000);
}

function rebin(buckets: readonly TimelineBucket[], w: number, into: Bins = new Map()): Bins {
  for (const [g, ...counts] of buckets) {
    const k = floorTo(g, w);
    const x = into.get(k);
    if (x === undefined) into.set(k, counts);
    else for (let i = 0; i < counts.length; i++) x[i]! += counts[i]!;
  }
  return into;
}

const sum = (v: readonly number[]): number => v.reduce((a, b) => a + b, 0);

const fmtNum = formatCount;

function niceMax(v: number): number {
  if (v <= 5) return Math.max(1, Math.ceil(v));
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

interface ChartSpec {
  bins: Bins;
  x0: number;
  x1: number;
  w: number;
  yMax: number;
  windows: readonly ReportWindow[];
  width: number;
  height: number;
  title: string;
  clock: Report['clock'];
  withDay: boolean;
  /**
   * the year is not plain from the labels (the chart spans years, or is not of the report's year): the first label
   * and each where the year changes carry it, and so do the bars' tooltips
   */
  withYear: boolean;
  /**
   * a chart of under a day that crosses midnight (its labels carry no day): the first label and the one where the day
   * changes carry it
   */
  dayMarks: boolean;
}

function timeText(ms: number, clock: Report['clock'], withDay: boolean, withYear = false): string {
  if (clock === 'boot') {
    const s = Math.floor(ms / 1000);
    const p = (n: number) => String(n).padStart(2, '0');
    return `+${p(Math.floor(s / 3600))}:${p(Math.floor(s / 60) % 60)}:${p(s % 60)}`;
  }
  return clockLabel(new Date(ms).toISOString(), withDay, withYear);
}

/** Width (px, of the drawing) a dated x label (`2025-12-31 23:50`) takes, with room to its neighbours. */
const DATED_LABEL_ROOM = 140;
/** The same for a label with the day (`04-21 23:50`). */
const DAY_LABEL_ROOM = 100;

/** One stacked bar chart as an SVG string. */
function chart(c: ChartSpec): string {
  const ml = 44;
  const mr = 8;
  const mt = 18;
  const mb = 22;
  const pw = c.width - ml - mr;
  const ph = c.height - mt - mb;
  const n = Math.max(1, Math.round((c.x1 - c.x0) / c.w));
  const bw = pw / n;
  const xOf = (t: number) => ml + ((t - c.x0) / (c.x1 - c.x0)) * pw;
  const yOf = (v: number) => mt + ph - (v / c.yMax) * ph;
  const o: string[] = [];
  o.push(`<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${c.width} ${c.height}" width="${c.width}" height="${c.height}" role="img" aria-label="${html(c.title)}">`);
  o.push(`<text class="title" x="${ml}" y="12">${html(c.title)}</text>`);
  for (const w of c.windows) {
    const a = Math.max(c.x0, w.startMs);
    const b = Math.min(c.x1, w.endMs);
    if (b <= a) continue;
    o.push(`<rect class="win" x="${xOf(a).toFixed(1)}" y="${mt}" width="${Math.max(1, xOf(b) - xOf(a)).toFixed(1)}" height="${ph}"><title>window ${w.id}: ${html(w.start)} → ${html(w.end)}</title></rect>`);
  }
  // gridlines at whole drop counts only: half of 1, 3, 5 or 25 drops would label the axis with half a drop
  for (const f of Number.isInteger(c.yMax / 2) ? [0.5, 1] : [1]) {
    const y = yOf(c.yMax * f).toFixed(1);
    o.push(`<line class="grid" x1="${ml}" x2="${ml + pw}" y1="${y}" y2="${y}"/><text class="ylab" x="${ml - 4}" y="${y}" dy="3">${fmtNum(c.yMax * f)}</text>`);
  }
  o.push(`<line class="axis" x1="${ml}" x2="${ml + pw}" y1="${mt + ph}" y2="${mt + ph}"/><text class="ylab" x="${ml - 4}" y="${mt + ph}" dy="3">0</text>`);
  // x labels: about six, on bin boundaries (fewer when some carry the year or the day: they are wider)
  const room = c.withYear ? DATED_LABEL_ROOM : c.dayMarks ? DAY_LABEL_ROOM : 0;
  const step = Math.max(1, Math.ceil(n / 6), Math.ceil(room / bw));
  let year = NaN;
  let day = NaN;
  for (let i = 0; i <= n; i += step) {
    const t = c.x0 + i * c.w;
    const x = xOf(t).toFixed(1);
    const y = c.withYear ? new Date(t).getUTCFullYear() : NaN;
    const dated = c.withYear && y !== year;
    year = y;
    const d = c.dayMarks ? Math.floor(t / 86_400_000) : NaN;
    const dayed = c.dayMarks && d !== day;
    day = d;
    // the label on the right edge ends there: centred, half of it fell outside the chart ('18:5'); a dated first
    // label starts at its tick, or half of it fell off the left edge
    const anchor = (dated || dayed) && i === 0 && i !== n ? ' style="text-anchor:start"' : '';
    o.push(`<line class="tick" x1="${x}" x2="${x}" y1="${mt + ph}" y2="${mt + ph + 3}"/><text class="xlab${i === n ? ' end' : ''}"${anchor} x="${x}" y="${mt + ph + 14}">${html(timeText(t, c.clock, c.withDay || dayed, dated))}</text>`);
  }
  const keys = [...c.bins.keys()].sort((a, b) => a - b);
  for (const k of keys) {
    const v = c.bins.get(k)!;
    const total = sum(v);
    if (total === 0) continue;
    const x = xOf(k);
    const tip = `${timeText(k, c.clock, true, c.withYear)} (${formatSpan(c.w)}): ${REPORT_VERDICTS.map((name, i) => `${name} ${v[i]}`).filter((_, i) => v[i]! > 0).join(', ')}`;
    o.push(`<g class="bin"><title>${html(tip)}</title>`);
    let acc = 0;
    REPORT_VERDICTS.forEach((name, i) => {
      const val = v[i]!;
      if (val === 0) return;
      const y1 = yOf(acc + val);
      const y0 = yOf(acc);
      acc += val;
      o.push(`<rect class="bar v-${name}" x="${(x + 0.5).toFixed(1)}" y="${y1.toFixed(1)}" width="${Math.max(1, bw - 1).toFixed(1)}" height="${Math.max(0.5, y0 - y1).toFixed(1)}" fill="${COLORS[name]}"/>`);
    });
    o.push('</g>');
  }
  o.push('</svg>');
  return o.join('');
}

function badge(level: string, text: string): string {
  return `<span class="badge ${html(level)}">${html(text)}</span>`;
}

/** A window's block group; `phase`: the list's, after the window or during it only. */
function groupItem(g: BlockGroup, phase: 'after' | 'during'): string {
  const what = phase === 'after' ? ' after the window' : '';
  const svc = g.service !== null ? ` (${html(g.service)})` : '';
  const more = g.clientsTotal > g.clients.length ? ` and ${g.clientsTotal - g.clients.length} more` : '';
  return `<li><strong>${html(portText(g.proto, g.port))} on ${html(g.host)}</strong>${svc}: ${fmtNum(g.packets)} drop${g.packets === 1 ? '' : 's'}${what} from ` +
    `${g.clients.map((c) => `<code>${html(c)}</code>`).join(', ')}${more}${seenText(g, `${phase} the window`, html)}</li>`;
}

// Tables and the overview chart wider than the page scroll sideways in their own box (.scroll), never the page: the
// flows table has a dozen columns, a phone is 390px wide. The overview keeps 2/3 of its size, its 10px labels legible.
const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1100px;padding:16px 24px;color:#1d2330;background:#fff;overflow-wrap:break-word}
h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #dde2ea;padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}
.verdict{font-size:16px;font-weight:600;padding:10px 14px;border-radius:6px;border-left:6px solid}
.verdict.action{background:#fdecee;border-color:#d1495b}.verdict.check{background:#fff6e0;border-color:#edae49}.verdict.ok{background:#e9f6ec;border-color:#3c9d5d}
.meta{color:#5b6475}
table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border-bottom:1px solid #e6e9ef;padding:3px 8px;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}td code,td.t{white-space:nowrap}td.note{min-width:16em}
.scroll{overflow-x:auto}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}pre{background:#f5f7fa;padding:8px;overflow:auto;border-radius:4px}
.legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:-1px}
.legend i.win{background:#fff1bf;border:1px solid #e8d27a}
.multiples{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(520px,100%),1fr));gap:6px 16px}
svg.chart{display:block;max-width:100%;height:auto}#overview svg.chart{min-width:690px}
svg .title{font-size:12px;font-weight:600;fill:#1d2330}svg .xlab{font-size:10px;fill:#5b6475;text-anchor:middle}svg .xlab.end{text-anchor:end}svg .ylab{font-size:10px;fill:#5b6475;text-anchor:end}
svg .grid{stroke:#eef0f4}svg .axis,svg .tick{stroke:#9aa3b2}svg .win{fill:#fff1bf;stroke:#e8d27a;stroke-width:.5}
.badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:12px;background:#eef0f4}
.badge.action{background:#d1495b;color:#fff}.badge.check{background:#edae49}.badge.scan{background:#f6dca8}.badge.ok{background:#dfeee3}
.sugg{border:1px solid #e6e9ef;border-radius:6px;padding:4px 12px;margin:8px 0}
`;

export function renderHtml(r: Report): string {
  const o: string[] = [];
  const p = (s: string) => o.push(s);
  p('<!doctype html><html lang="en"><head><meta charset="utf-8">');
  p(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`);
  p('<meta name="viewport" content="width=device-width, initial-scale=1">');
  p(`<meta name="generator" content="fwdiag report">`);
  p(`<title>fwdiag report — ${html(r.verdict.text)}</title><style>${CSS}</style></head><body>`);
  p('<h1>Firewall drop report</h1>');
  p(`<p class="verdict ${r.verdict.level}" id="verdict">${html(r.verdict.text)}</p>`);
  const span = r.first !== null && r.last !== null ? `, ${html(r.first)} → ${html(r.last)}` : '';
  p(`<p class="meta">Input: ${inputSourcesText(r.input.sources, (s) => `<code>${html(s)}</code>`)} — ${plural(r.input.lines, 'line')}, ` +
    `${plural(r.totals.drops, 'drop')} on ${plural(r.totals.flows, 'flow')} from ${plural(r.hosts.length, 'host')}${span}` +
    `${r.input.otherPrefix > 0 ? ` (${fmtNum(r.input.otherPrefix)} LOG lines of other prefixes left out)` : ''}` +
    `${r.clock === 'boot' ? ' (kernel monotonic clock)' : ' (UTC)'}. Generated ${html(r.generatedAt)}.</p>`);
  if (r.input.overwritten !== undefined) {
    p(`<p class="meta"><strong>${html(overwrittenSentence(r.input.overwritten, fmtNum(r.input.overwritten)))}</strong>: every count below misses them.</p>`);
  }
  const prefixes = Object.entries(r.input.prefixes).sort((a, b) => b[1] - a[1]);
  if (prefixes.length > 1) {
    const what = prefixesAdvice(r.input.otherPrefix > 0, (f) => `<code>${f}</code>`);
    p(`<p class="meta">LOG prefixes seen: ${prefixes.map(([x, k]) => `${prefixLabel(x, (c) => `<code>${html(c)}</code>`)} ${fmtNum(k)}`).join(', ')} — several LOG rules${what}.</p>`);
  }

  // timeline
  p('<h2>Timeline</h2>');
  const x0raw = r.firstMs;
  const x1raw = r.lastMs;
  if (x0raw === null || x1raw === null) {
    p('<p>No timed drops to chart.</p>');
  } else {
    const span0 = Math.max(x1raw - x0raw + 1, r.timeline.bucketMs);
    const w = binWidth(span0, r.timeline.bucketMs);
    let x0 = floorTo(x0raw, w);
    let x1 = Math.max(x0 + w, floorTo(x1raw, w) + w);
    // a capture of a few minutes would draw a few page-wide bars: show at least MIN_BARS bins around it
    const bins = Math.round((x1 - x0) / w);
    if (bins < MIN_BARS) {
      x0 -= Math.floor((MIN_BARS - bins) / 2) * w;
      // no time before boot
      if (r.clock === 'boot' && x0 < 0) x0 = 0;
      x1 = x0 + MIN_BARS * w;
    }
    const withDay = x1 - x0 > 86_400_000;
    // a chart across New Year, or of another year than the report's, says which year (its labels had none)
    const yearOf = (ms: number) => new Date(ms).getUTCFullYear();
    const withYear = r.clock === 'wall' && (yearOf(x0) !== yearOf(x1) || yearOf(x0) !== Number(r.generatedAt.slice(0, 4)));
    // under a day across midnight: which day (its labels had none; the last one is the chart's end, x1)
    const dayMarks = r.clock === 'wall' && !withDay && Math.floor(x0 / 86_400_000) !== Math.floor((x1 - 1) / 86_400_000);
    const all: Bins = new Map();
    const per = r.timeline.hosts.map((h) => ({ host: h.host, bins: rebin(h.buckets, w) }));
    for (const h of r.timeline.hosts) rebin(h.buckets, w, all);
    const maxOf = (b: Bins) => Math.max(0, ...[...b.values()].map(sum));
    const unit = `drops per ${formatSpan(w)}`;
    p(`<p class="legend">${shownVerdicts(r.totals).map((v) => `<span><i style="background:${COLORS[v]}"></i>${v}</span>`).join('')}<span><i class="win"></i>window</span> — ${unit}, ${r.clock === 'boot' ? 'kernel clock (time since boot)' : 'UTC'}</p>`);
    p(`<div id="overview" class="scroll">${chart({ bins: all, x0, x1, w, yMax: niceMax(maxOf(all)), windows: r.windows, width: 1040, height: 220, title: `all hosts — ${unit}`, clock: r.clock, withDay, withYear, dayMarks })}</div>`);
    if (per.length > 1) {
      const yMax = niceMax(Math.max(...per.map((h) => maxOf(h.bins))));
      p('<h3>Per host</h3><div class="multiples" id="hosts">');
      for (const h of per) p(chart({ bins: h.bins, x0, x1, w, yMax, windows: r.windows, width: 520, height: 130, title: h.host, clock: r.clock, withDay, withYear, dayMarks }));
      p('</div>');
    }
  }

  // windows
  p('<h2>Windows</h2>');
  if (r.windows.length === 0) {
    p(`<p>${r.settings.windowsFrom === 'given' ? 'The given window held no drops.' : `No upgrade window found: no minute had ${r.settings.minDropsPerMin}+ conntrack-loss drops on ${r.settings.minFlows}+ flows.`}</p>`);
  }
  for (const w of r.windows) {
    const how = w.source === 'given' ? 'given' : `detected, peak ${Math.round(w.peakPerMin ?? 0)} conntrack-loss drops/min`;
    p(`<h3 id="window-${w.id}">Window ${w.id}: ${html(w.start)} → ${html(w.end)} (${formatSpan(w.endMs - w.startMs)}, ${how})</h3>`);
    p(`<p>During: ${countsText(w.during)}. After (until ${html(w.horizon)}): ${countsText(w.after)}.</p>`);
    const ct = w.conntrackLoss;
    if (ct.flows > 0) {
      p(`<p>${conntrackLossText(ct, r.settings.settleMs, (s) => `<strong>${s}</strong>`)}</p>`);
    }
    const wv = shownVerdicts(r.totals);
    p(`<div class="scroll"><table><thead><tr><th>host</th>${wv.map((v) => `<th class="n">during ${v}</th>`).join('')}<th class="n">flows</th>${wv.map((v) => `<th class="n">after ${v}</th>`).join('')}</tr></thead><tbody>`);
    for (const h of w.hosts) {
      p(`<tr><td>${html(h.host)}</td>${wv.map((v) => `<td class="n">${fmtNum(h.during[v])}</td>`).join('')}<td class="n">${fmtNum(h.flows)}</td>${wv.map((v) => `<td class="n">${fmtNum(h.after[v])}</td>`).join('')}</tr>`);
    }
    p('</tbody></table></div>');
    const list = (title: string, gs: readonly BlockGroup[], phase: 'after' | 'during') => {
      if (gs.length === 0) return;
      const { shown, more } = shownGroups(gs);
      p(`<p>${title}</p><ul>${shown.map((g) => groupItem(g, phase)).join('')}${more === '' ? '' : `<li>${more}</li>`}</ul>`);
    };
    list('<strong>Persisted after the window (action needed):</strong>', w.persisted, 'after');
    list('<strong>First seen after the window (action needed):</strong>', w.newAfter, 'after');
    list('Refused during the window only (check that the clients recovered):', w.duringOnly, 'during');
  }

  // flows
  p('<h2>Flows</h2>');
  const om = r.flowsOmitted;
  const omitted = om.action + om.check + om.scan + om.ok;
  if (r.flows.length === 0) p(omitted > 0 ? `<p>${fmtNum(omitted)} flows, none listed (--max-rows 0).</p>` : '<p>No flows.</p>');
  else {
    p(`<div class="scroll"><table id="flows"><thead><tr><th>status</th><th>host</th><th>port</th><th>service</th><th>server</th><th>client</th><th>verdict</th><th class="n">drops</th>` +
      `${r.windows.map((w) => `<th class="n">W${w.id} during / after</th>`).join('')}<th>first seen</th><th>last seen</th><th>note</th></tr></thead><tbody>`);
    for (const f of r.flows) {
      p(`<tr><td>${badge(f.status, f.status)}</td><td>${html(f.host)}</td><td>${html(portText(f.proto, f.port))}</td><td>${f.service === null ? '' : html(f.service)}</td>` +
        `<td><code>${html(f.server)}</code></td><td><code>${html(f.client)}</code></td><td>${f.verdict}</td><td class="n">${fmtNum(f.count)}</td>` +
        `${f.windows.map((x) => `<td class="n">${fmtNum(x.during)} / ${fmtNum(x.after)}</td>`).join('')}` +
        `<td class="t">${f.firstSeen === null ? '' : html(f.firstSeen)}</td><td class="t">${f.lastSeen === null ? '' : html(f.lastSeen)}</td><td class="note" title="${html(f.reason)}">${html(f.note)}</td></tr>`);
    }
    p('</tbody></table></div>');
    if (omitted > 0) p(`<p>${fmtNum(omitted)} more flows not listed (${(['action', 'check', 'scan', 'ok'] as const).filter((s) => om[s] > 0).map((s) => `${fmtNum(om[s])} ${s}`).join(', ')}).</p>`);
  }

  // suggestions
  p('<h2>Suggestions</h2>');
  if (r.suggestionsFrom === 'none') {
    p('<p><em>No suggestions: give <code>--platform P --role R</code> (or <code>--host-role HOST=ROLE</code>) so the suggestion engine knows which ports each node should serve.</em></p>');
  } else if (r.suggestions.length === 0) {
    p('<p>No rule to add: nothing the suggestion engine would open.</p>');
  } else {
    for (const s of r.suggestions) {
      const svc = s.service !== null ? ` (${html(s.service)})` : '';
      const src = s.action === 'accept' ? (s.sources.length > 0 ? ` from ${s.sources.map((x) => `<code>${html(x)}</code>`).join(', ')}` : ' from anywhere') : '';
      p(`<div class="sugg"><h3>${badge(s.action === 'accept' ? 'action' : 'check', s.action)} ${html(suggestionPorts(s))}${svc}${src} — ${html(s.role)}, ${html(String(s.confidence))} confidence</h3>`);
      p(`<p>${html(s.reason)}</p>${s.notes.length > 0 ? `<ul>${s.notes.map((x) => `<li>${html(x)}</li>`).join('')}</ul>` : ''}`);
      const e = s.evidence;
      p(`<p class="meta">Evidence: ${plural(e.count, 'drop')} on ${plural(e.flows, 'flow')}${e.hosts.length > 0 ? ` on ${e.hosts.map(html).join(', ')}` : ''}${e.firstSeen !== null ? `, ${html(e.firstSeen)} → ${html(e.lastSeen ?? e.firstSeen)}` : ''}.</p>`);
      if (s.rendered !== '') p(`<pre>${htmlBlock(s.rendered)}</pre>`);
      p('</div>');
    }
  }
  const lim = limitLines(r, (s) => `<code>${html(s)}</code>`);
  if (lim.length > 0) {
    p('<h2>Limits</h2>');
    p(`<ul>${lim.map((x) => `<li>${x}</li>`).join('')}</ul>`);
  }
  const totalByHost = r.timeline.hosts.map((h) => `${html(h.host)}: ${fmtNum(sumCounts(h.totals))}`).join(', ');
  p(`<p class="meta">Drops by host: ${totalByHost || 'none'}. Settle ${formatSpan(r.settings.settleMs)}; windows ${r.settings.windowsFrom}` +
    `${r.settings.windowsFrom === 'detected' ? ` (${r.settings.minDropsPerMin}+ conntrack-loss drops/min on ${r.settings.minFlows}+ flows, gaps ≤ ${formatSpan(r.settings.mergeGapMs)} merged)` : ''}.</p>`);
  p('</body></html>');
  return `${o.join('\n')}\n`;
}
