import { Box, Text } from 'ink';
import type { FlowRow } from '../store.js';
import { clean, clock, compact, endpoint, fit, fitRight, fitTail, VERDICT_COLOR } from '../format.js';

export interface FlowsTableProps {
  rows: readonly FlowRow[];
  /** index into `rows` of the selected row, or -1 */
  selected: number;
  /** first row shown */
  offset: number;
  /** data rows shown */
  height: number;
  width: number;
  color: boolean;
  focused: boolean;
  /** the title line (sort, filters, counts) */
  title: string;
  /** what the empty table says (no flow seen yet, or none the filters let through) @default 'no flows yet' */
  empty?: string;
}

interface Widths {
  verdict: number;
  host: number;
  proto: number;
  server: number;
  service: number;
  client: number;
  count: number;
  last: number;
}

/**
 * Column widths for a terminal `width` wide. Addresses matter most (an IPv4 `server:port` is up to 21 columns, a
 * client 15): they get their room first, the service name takes what is left. On a narrow terminal (80 columns and
 * less) the last-seen column goes first (0: hidden; the details pane has it), then the host and the client give way
 * to the server, and a cut address keeps its end (see `fitTail`): the port was the first thing cut — every row read
 * `192.16… 192.…` at 60 columns, and `192.168.122.63:84…` at 80.
 */
export function columnWidths(width: number): Widths {
  const fixed = { verdict: 14, proto: 5, count: 7, last: 8 };
  const gaps = 7 + 2; // between 8 columns, and the selection marker
  const base = { server: 21, client: 15, host: 10 };
  const need = base.server + base.client + base.host;
  const wide = width - gaps - fixed.verdict - fixed.proto - fixed.count - fixed.last;
  if (wide < need) {
    // the count takes one column less too: compact() is never wider than 6 (`999.9k`)
    const flex = Math.max(12, wide + fixed.last + 1 + 1);
    const server = Math.min(base.server, Math.max(4, flex - 11));
    const client = Math.min(base.client, Math.max(4, flex - server - 4));
    return { ...fixed, count: 6, last: 0, host: Math.max(4, flex - server - client), server, client, service: 0 };
  }
  const flex = wide;
  const extra = flex - need;
  // a service column narrower than 5 says nothing: hide it (the details pane names the service)
  const service = extra < 5 ? 0 : Math.min(extra, 12 + Math.floor(Math.max(0, extra - 12) * 0.4));
  const rest = extra - service;
  const server = base.server + Math.floor(rest * 0.35);
  const client = base.client + Math.floor(rest * 0.35);
  const host = base.host + (rest - Math.floor(rest * 0.35) * 2);
  return { ...fixed, host, server, service, client };
}

function cells(w: Widths, r: FlowRow): string {
  const service = r.ports !== null ? `${r.ports}${r.portsAtLeast ? '+' : ''} ports` : r.service ?? '';
  return [
    fit(clean(r.host ?? '-'), w.host),
    fit(clean(r.proto), w.proto),
    fitTail(clean(endpoint(r.server, r.serverPort)), w.server),
    ...(w.service > 0 ? [fit(clean(service), w.service)] : []),
    fitTail(clean(r.client), w.client),
    fitRight(compact(r.count), w.count),
    ...(w.last > 0 ? [fitRight(clean(clock(r.lastTime, r.lastLine)), w.last)] : []),
  ].join(' ');
}

/** The flows: one line per flow, coloured by verdict, noise dimmed; scrolls to keep the selection in view. */
export function FlowsTable(p: FlowsTableProps): React.JSX.Element {
  const w = columnWidths(p.width);
  const head = `  ${fit('verdict', w.verdict)} ${[
    fit('host', w.host),
    fit('proto', w.proto),
    fit('server:port', w.server),
    ...(w.service > 0 ? [fit('service', w.service)] : []),
    fit('client', w.client),
    fitRight('count', w.count),
    ...(w.last > 0 ? [fitRight('last', w.last)] : []),
  ].join(' ')}`;
  const shown = p.rows.slice(p.offset, p.offset + p.height);
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end" {...(p.color ? { bold: p.focused, underline: p.focused } : {})}>{fit(`${p.focused ? '▶ ' : '  '}${p.title}`, p.width)}</Text>
      <Text wrap="truncate-end" {...(p.color ? { dimColor: true } : {})}>{fit(head, p.width)}</Text>
      {shown.map((r, i) => {
        const sel = p.offset + i === p.selected;
        const style = p.color ? (r.noise ? { dimColor: true } : VERDICT_COLOR[r.verdict]) : {};
        const mark = sel ? (p.focused ? '› ' : '· ') : '  ';
        const label = r.persistent && r.verdict !== 'conntrack-loss' ? `${r.verdict}*` : r.verdict;
        return (
          <Text wrap="truncate-end" key={i} {...(sel && p.focused && p.color ? { inverse: true } : {})}>
            {mark}
            <Text {...style}>{fit(label, w.verdict)}</Text>
            <Text {...(p.color && r.noise ? { dimColor: true } : {})}>{` ${cells(w, r)}`}</Text>
          </Text>
        );
      })}
      {Array.from({ length: Math.max(0, p.height - shown.length) }, (_, i) => (
        <Text wrap="truncate-end" key={`pad${i}`}>{i === 0 && p.rows.length === 0 ? fit(`  (${p.empty ?? 'no flows yet'})`, p.width) : ' '}</Text>
      ))}
    </Box>
  );
}
