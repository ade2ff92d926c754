/**
 * The report as Markdown: fits a ticket or a chat. Every log-derived string goes through `md`/`mdCode`.
 */
import { formatCount, formatSpan, plural } from './verdict.js';
import { conntrackLossText, countsText, inputSourcesText, limitLines, seenText, md, mdBlock, mdCode, mdCodeCell, portText, shownGroups, shownVerdicts, suggestionPorts, sumCounts } from './format.js';
import type { BlockGroup, Report, ReportWindow } from './types.js';
import { overwrittenSentence, prefixesAdvice } from '../input/types.js';
import { prefixLabel } from '../parse/parse-line.js';

const LEVEL_MARK: Record<Report['verdict']['level'], string> = { action: '🔴', check: '🟡', ok: '🟢' };

const n = formatCount;

function windowSpan(w: ReportWindow): string {
  return formatSpan(w.endMs - w.startMs);
}

/** A window's block group; `phase`: the list's, after the window or during it only. */
function group(g: BlockGroup, phase: 'after' | 'during'): string {
  const what = phase === 'after' ? ' after the window' : '';
  const svc = g.service !== null ? ` (${md(g.service)})` : '';
  const clients = g.clients.map((c) => mdCode(c)).join(', ');
  const more = g.clientsTotal > g.clients.length ? ` and ${g.clientsTotal - g.clients.length} more` : '';
  return `- **${md(portText(g.proto, g.port))} on ${md(g.host)}**${svc}: ${n(g.packets)} drop${g.packets === 1 ? '' : 's'}${what} from ${clients}${more}` +
    `${seenText(g, `${phase} the window`, md)}`;
}

export function renderMarkdown(r: Report): string {
  const out: string[] = [];
  const p = (s = '') => out.push(s);
  p('# Firewall drop report');
  p();
  p(`${LEVEL_MARK[r.verdict.level]} **${md(r.verdict.text)}**`);
  p();
  const span = r.first !== null && r.last !== null ? `, ${md(r.first)} → ${md(r.last)}` : '';
  p(`Input: ${inputSourcesText(r.input.sources, mdCode)} — ${plural(r.input.lines, 'line')}, ${plural(r.totals.drops, 'drop')} ` +
    `on ${plural(r.totals.flows, 'flow')} from ${plural(r.hosts.length, 'host')}${span}` +
    `${r.input.otherPrefix > 0 ? ` (${n(r.input.otherPrefix)} LOG lines of other prefixes left out)` : ''}` +
    `${r.clock === 'boot' ? ' (kernel monotonic clock: no wall-clock stamps in the input)' : ' (UTC)'}. Generated ${md(r.generatedAt)}.`);
  p();
  if (r.input.overwritten !== undefined) {
    p(`**${overwrittenSentence(r.input.overwritten, n(r.input.overwritten))}**: every count below misses them.`);
    p();
  }
  const prefixes = Object.entries(r.input.prefixes).sort((a, b) => b[1] - a[1]);
  if (prefixes.length > 1) {
    const what = prefixesAdvice(r.input.otherPrefix > 0, (f) => `\`${f}\``);
    p(`LOG prefixes seen: ${prefixes.map(([x, k]) => `${prefixLabel(x, mdCode)} ${n(k)}`).join(', ')} — several LOG rules${what}.`);
    p();
  }

  p('## Drops by verdict');
  p();
  const vs = shownVerdicts(r.totals);
  p(`| host | ${vs.join(' | ')} | total |`);
  p(`|---|${vs.map(() => '--:').join('|')}|--:|`);
  for (const h of r.timeline.hosts) p(`| ${md(h.host)} | ${vs.map((v) => n(h.totals[v])).join(' | ')} | ${n(sumCounts(h.totals))} |`);
  p(`| **all** | ${vs.map((v) => `**${n(r.totals[v])}**`).join(' | ')} | **${n(r.totals.drops)}** |`);
  p();

  p('## Windows');
  p();
  if (r.windows.length === 0) {
    p(r.settings.windowsFrom === 'given'
      ? 'The given window held no drops.'
      : `No upgrade window found: no minute had ${r.settings.minDropsPerMin}+ conntrack-loss drops on ${r.settings.minFlows}+ flows.`);
    p();
  }
  for (const w of r.windows) {
    const how = w.source === 'given' ? 'given' : `detected, peak ${Math.round(w.peakPerMin ?? 0)} conntrack-loss drops/min`;
    p(`### Window ${w.id}: ${md(w.start)} → ${md(w.end)} (${windowSpan(w)}, ${how})`);
    p();
    p(`During: ${countsText(w.during)}. After (until ${md(w.horizon)}): ${countsText(w.after)}.`);
    p();
    const ct = w.conntrackLoss;
    if (ct.flows > 0) {
      p(conntrackLossText(ct, r.settings.settleMs, (s) => `**${s}**`));
      p();
    }
    const wv = shownVerdicts(r.totals);
    p(`| host | during: ${wv.join(' / ')} | flows | after: ${wv.join(' / ')} |`);
    p('|---|--:|--:|--:|');
    for (const h of w.hosts) {
      p(`| ${md(h.host)} | ${wv.map((v) => n(h.during[v])).join(' / ')} | ${n(h.flows)} | ${wv.map((v) => n(h.after[v])).join(' / ')} |`);
    }
    p();
    const list = (title: string, gs: readonly BlockGroup[], phase: 'after' | 'during') => {
      if (gs.length === 0) return;
      p(title);
      p();
      const { shown, more } = shownGroups(gs);
      for (const g of shown) p(group(g, phase));
      if (more !== '') p(`- ${more}`);
      p();
    };
    list('**Persisted after the window (action needed):**', w.persisted, 'after');
    list('**First seen after the window (action needed):**', w.newAfter, 'after');
    list('Refused during the window only (check that the clients recovered):', w.duringOnly, 'during');
  }

  p('## Flows');
  p();
  const om = r.flowsOmitted;
  const omitted = om.action + om.check + om.scan + om.ok;
  if (r.flows.length === 0) p(omitted > 0 ? `${n(omitted)} flows, none listed (--max-rows 0); use --format json --max-rows N to list them.` : 'No flows.');
  else {
    const wcols = r.windows.map((w) => `W${w.id} during/after`);
    p(`| status | host | port | service | server | client | verdict | drops | ${wcols.length > 0 ? `${wcols.join(' | ')} | ` : ''}first seen | last seen | note |`);
    p(`|---|---|---|---|---|---|---|--:|${wcols.map(() => '--:|').join('')}---|---|---|`);
    for (const f of r.flows) {
      const ws = f.windows.map((x) => `${n(x.during)} / ${n(x.after)}`);
      p(`| ${f.status} | ${md(f.host)} | ${md(portText(f.proto, f.port))} | ${f.service === null ? '' : md(f.service)} | ` +
        `${mdCodeCell(f.server)} | ${mdCodeCell(f.client)} | ${f.verdict} | ${n(f.count)} | ${ws.length > 0 ? `${ws.join(' | ')} | ` : ''}` +
        `${f.firstSeen === null ? '' : md(f.firstSeen)} | ${f.lastSeen === null ? '' : md(f.lastSeen)} | ${md(f.note)} |`);
    }
    if (omitted > 0) {
      p();
      p(`${n(omitted)} more flows not listed (${(['action', 'check', 'scan', 'ok'] as const).filter((s) => om[s] > 0).map((s) => `${n(om[s])} ${s}`).join(', ')}); use --format json --max-rows N for more.`);
    }
  }
  p();

  p('## Suggestions');
  p();
  if (r.suggestionsFrom === 'none') {
    p('_No suggestions: give `--platform P --role R` (or `--host-role HOST=ROLE`) so the suggestion engine knows which ports each node should serve._');
  } else if (r.suggestions.length === 0) {
    p('No rule to add: nothing the suggestion engine would open.');
  } else {
    for (const s of r.suggestions) {
      const svc = s.service !== null ? ` (${md(s.service)})` : '';
      const src = s.sources.length > 0 ? ` from ${s.sources.map(mdCode).join(', ')}` : ' from anywhere';
      p(`### ${s.action === 'accept' ? 'Accept' : 'Note'} ${md(suggestionPorts(s))}${svc}${s.action === 'accept' ? src : ''} — ${md(s.role)}, ${s.confidence} confidence`);
      p();
      p(md(s.reason));
      for (const note of s.notes) p(`- ${md(note)}`);
      p();
      const e = s.evidence;
      p(`Evidence: ${plural(e.count, 'drop')} on ${plural(e.flows, 'flow')}${e.hosts.length > 0 ? ` on ${e.hosts.map(md).join(', ')}` : ''}` +
        `${e.firstSeen !== null ? `, ${md(e.firstSeen)} → ${md(e.lastSeen ?? e.firstSeen)}` : ''}.`);
      if (s.rendered !== '') {
        p();
        p(mdBlock(s.rendered, 'sh'));
      }
      p();
    }
  }

  const lim = limitLines(r, mdCode);
  if (lim.length > 0) {
    p('## Limits');
    p();
    for (const x of lim) p(`- ${x}`);
    p();
  }
  return `${out.join('\n').trimEnd()}\n`;
}
