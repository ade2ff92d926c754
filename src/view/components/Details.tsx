import { Box, Text } from 'ink';
import type { DropEvent } from '../../parse/event.js';
import type { Flow } from '../../classify/flows.js';
import type { FlowRow, ViewSuggestion } from '../store.js';
import { clean, endpoint, fit, wrap } from '../format.js';

export type DetailsItem = { kind: 'flow'; row: FlowRow } | { kind: 'suggestion'; suggestion: ViewSuggestion } | null;

export interface DetailsProps {
  item: DetailsItem;
  height: number;
  width: number;
  color: boolean;
  /** the flow's reason as the summary would give it (computed only for the selected flow) */
  describe: (flow: Flow) => string;
  /** the trace of one event through the `--ruleset`, as lines; absent when no ruleset was given */
  trace?: ((event: DropEvent) => string[]) | undefined;
}

/**
 * A trace's lines with what answers "why was it dropped" first: the verdict, the LOG rule, the near misses (ACCEPT
 * rules for the port that did not apply), then the packet and the path — the pane is short.
 */
export function traceFirst(lines: string[]): string[] {
  const head: string[] = [];
  const rest: string[] = [];
  let inNear = false;
  for (const l of lines) {
    if (/^(verdict|logged)\b/.test(l)) head.push(l);
    else if (/^near misses/.test(l)) {
      inNear = true;
      head.push(l);
    } else if (inNear && l.startsWith(' ')) head.push(l);
    else {
      inNear = false;
      rest.push(l);
    }
  }
  return [...head, ...rest];
}

/** The lines of the details pane for a flow: what, why, evidence, and the path through the ruleset. */
export function flowDetails(row: FlowRow, width: number, height: number, describe: DetailsProps['describe'], trace: DetailsProps['trace']): string[] {
  const svc = row.service !== undefined ? ` (${row.service})` : '';
  const head = `${row.verdict}${row.persistent ? ' (persistent)' : ''}: ${row.proto} ${row.client} → ${endpoint(row.server, row.serverPort)}${svc} on ${row.host ?? '-'} — ${row.count} packet${row.count === 1 ? '' : 's'}`;
  const out = [clean(head)];
  // the reason gives way on a short pane (up to 3 lines, at least 1): the evidence keeps its heading and a line, the
  // trace its line (without --ruleset) or its heading and a line — a pane that ended on a heading showed neither
  const belowWhy = (row.evidence.length > 0 ? 2 : 1) + (trace === undefined ? 1 : 2);
  out.push(...wrap(`why: ${clean(describe(row.flow))}`, width, Math.min(3, Math.max(1, height - 1 - belowWhy))));
  const traceRoom = trace === undefined ? 1 : Math.max(2, Math.floor((height - out.length) / 2));
  const evRoom = Math.max(1, Math.min(row.evidence.length, height - out.length - traceRoom - 1));
  const all = row.evidence.length <= evRoom;
  // a row made again for a flow pruned from the table, while a flood spent the view's event budget, has none yet
  if (row.evidence.length === 0) out.push(`evidence: none sampled yet of ${row.count} packet${row.count === 1 ? '' : 's'} (the next packet is)`);
  else out.push(`evidence (${all ? 'first and latest' : 'latest'} of ${row.count} packet${row.count === 1 ? '' : 's'}):`);
  for (const line of row.evidence.slice(-evRoom)) out.push(`  ${line}`);
  if (trace === undefined) out.push('trace: no --ruleset given');
  else {
    const last = row.latest;
    if (last === null) out.push('trace: no packet sampled yet');
    else {
      const lines = traceFirst(trace(last));
      // one line left: the trace's first (its verdict) beside the word, not a heading with nothing under it
      if (height - out.length <= 1) out.push(`trace: ${clean(lines[0] ?? '')}`);
      else {
        out.push('trace of the latest packet through --ruleset:');
        for (const l of lines) out.push(`  ${clean(l)}`);
      }
    }
  }
  return out;
}

export function suggestionDetails(s: ViewSuggestion, width: number, describe?: DetailsProps['describe']): string[] {
  const out = [clean(s.rendered)];
  const scope = s.sources.length === 0 ? 'anywhere' : s.sources.join(', ');
  out.push(...wrap(`scope (sources): ${clean(scope)}`, width, 2));
  // an interim suggestion's reason is its busiest flow's, built when asked for (`s.reason` is '' until then)
  const reason = s.flow !== undefined && describe !== undefined ? describe(s.flow) : s.reason;
  out.push(...wrap(`why: ${clean(reason)}`, width, 3));
  // an addon left out of the policy: enabling it is the fix, and `w` writes no rule for it (view/fragment.ts)
  if (s.addon !== undefined) out.push(...wrap(`fix: enable ${clean(s.addon)} in the policy's addons (compile then opens its ports); w writes no rule for it`, width, 2));
  else {
    const narrowing = `${s.icmpTypes !== undefined ? `, icmpTypes: [${s.icmpTypes.join(', ')}]` : ''}${s.sourcePort !== undefined ? `, sourcePort: ${s.sourcePort}` : ''}`;
    out.push(...wrap(`rule: {proto: ${clean(s.proto)}, ports: [${s.ports.join(', ')}]${narrowing}${s.sources.length > 0 ? `, sources: [${s.sources.length}]` : ''}} — w writes all suggestions as a fragment`, width, 2));
  }
  return out;
}

/** The details pane: exactly `height` lines (+ its title), cut to the width. */
export function Details(p: DetailsProps): React.JSX.Element {
  const lines =
    p.item === null ? ['select a flow or a suggestion (arrows; Tab switches panel)']
      : p.item.kind === 'flow' ? flowDetails(p.item.row, p.width, p.height, p.describe, p.trace)
        : suggestionDetails(p.item.suggestion, p.width, p.describe);
  const shown = lines.slice(0, p.height);
  while (shown.length < p.height) shown.push(' ');
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end" {...(p.color ? { bold: true } : {})}>{fit('  Details', p.width)}</Text>
      {shown.map((l, i) => (
        <Text wrap="truncate-end" key={i}>{fit(l, p.width)}</Text>
      ))}
    </Box>
  );
}
