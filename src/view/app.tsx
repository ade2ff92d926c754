/**
 * The live view. Components are pure functions of the store's snapshot and of this component's UI state
 * (panel, selection, filters); the store decides how often a new snapshot comes (≤ 10×/s).
 */
import { useCallback, useMemo, useRef, useState } from 'react';
import { Box, Text } from 'ink';
import type { Flow } from '../classify/flows.js';
import type { Verdict } from '../classify/verdict.js';
import type { DropEvent } from '../parse/event.js';
import { SORT_KEYS, type FlowRow, type ViewStore, type ViewSuggestion } from './store.js';
import { useStore } from './hooks/use-store.js';
import { useKeys, type KeyAction } from './hooks/use-keys.js';
import { useTerminalSize, type TerminalSize } from './hooks/use-terminal-size.js';
import { Header } from './components/Header.js';
import { Counters, counterRows } from './components/Counters.js';
import { FlowsTable } from './components/FlowsTable.js';
import { Suggestions } from './components/Suggestions.js';
import { Details, type DetailsItem } from './components/Details.js';
import { Help } from './components/Help.js';
import { clean, compact, fit } from './format.js';

export type VerdictFilter = Verdict | 'all';
export const VERDICT_FILTERS: readonly VerdictFilter[] = ['all', 'genuine-block', 'scan', 'undetermined', 'conntrack-loss', 'broadcast'];

export interface AppProps {
  store: ViewStore;
  /** colours on (the CLI decides from --color, NO_COLOR, TERM) */
  color: boolean;
  /** keys can be read (a terminal for input was opened) */
  keys: boolean;
  /** a flow's full reason (the classifier's flowSummary) */
  describe: (flow: Flow) => string;
  /** trace lines for an event through the `--ruleset`; absent without one */
  trace?: ((event: DropEvent) => string[]) | undefined;
  /** `q` (`quit`) or Ctrl-C (`interrupt`: the view ends as a SIGINT ends it, with status 130) */
  onQuit: (how: 'quit' | 'interrupt') => void;
  /** `w`: write the suggestions (the caller does the I/O and reports through store.setStatus) */
  onWrite: () => void;
  /** size when the output is not a terminal (tests) @default {columns: 100, rows: 40} */
  fallbackSize?: TerminalSize;
}

const DEFAULT_SIZE: TerminalSize = { columns: 100, rows: 40 };
const MAX_FILTER = 100;
const KEYS_LONG = '↑↓ select · Tab panel · / filter · v verdict · s sort · c noise · p pause · w write · ? help · q quit';
const KEYS_SHORT = '↑↓ Tab / v s c p w · ? help · q quit';

/** Does a row match the `/` filter text? Host, addresses, port, service, protocol and verdict, case-insensitive. */
export function rowMatches(r: FlowRow, text: string): boolean {
  if (text === '') return true;
  const hay = `${r.host ?? ''} ${r.proto} ${r.server}:${r.serverPort ?? ''} ${r.service ?? ''} ${r.client} ${r.verdict}`.toLowerCase();
  return text.toLowerCase().split(/\s+/).filter(Boolean).every((t) => hay.includes(t));
}

const clamp = (n: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, n));

interface SugSel {
  key: string | null;
  pos: number;
}

/** A suggestion's rule, as the selection follows it: protocol, ports and family (its sources may widen). */
function suggestionKey(s: ViewSuggestion): string {
  return `${s.proto} ${s.ports.join(',')} ${s.family ?? ''}`;
}

/** Where the selected suggestion is now: its rule's row, else its old position; -1 on an empty list. */
function suggestionIndex(list: readonly ViewSuggestion[], sel: SugSel): number {
  if (list.length === 0) return -1;
  if (sel.key !== null) {
    const i = list.findIndex((s) => suggestionKey(s) === sel.key);
    if (i >= 0) return i;
  }
  return clamp(sel.pos, 0, list.length - 1);
}

/** First row shown so that `sel` is visible in `height` rows. */
function scrollOffset(sel: number, height: number, total: number): number {
  if (sel < height) return 0;
  return clamp(sel - height + 1, 0, Math.max(0, total - height));
}

export function App(props: AppProps): React.JSX.Element {
  const { store, color } = props;
  const snap = useStore(store);
  const size = useTerminalSize(props.fallbackSize ?? DEFAULT_SIZE);
  // never wider than the terminal: a line one column too wide wraps, and the frame scrolls off the top
  const width = Math.max(10, size.columns - 1);
  const rows = Math.max(1, size.rows);

  const [panel, setPanel] = useState<'flows' | 'suggestions'>('flows');
  const [selKey, setSelKey] = useState<string | null>(null);
  // the selected suggestion by its rule (the list re-sorts as counts grow), with its position as the fallback for when
  // that rule leaves the list
  const [sugSel, setSugSel] = useState<SugSel>({ key: null, pos: 0 });
  const [filter, setFilter] = useState('');
  const [draft, setDraft] = useState('');
  const [editing, setEditing] = useState(false);
  const [verdictFilter, setVerdictFilter] = useState<VerdictFilter>('all');
  const [showNoise, setShowNoise] = useState(false);
  const [help, setHelp] = useState(false);

  const { visible, hiddenNoise } = useMemo(() => {
    let hidden = 0;
    const out: FlowRow[] = [];
    for (const r of snap.rows) {
      if (verdictFilter !== 'all' && r.verdict !== verdictFilter) continue;
      if (!rowMatches(r, filter)) continue;
      // the noise filter does not apply when a verdict was asked for: conntrack-loss, or broadcast (all noise: it
      // showed no row at all without `c`)
      if (r.noise && !showNoise && verdictFilter === 'all') {
        hidden++;
        continue;
      }
      out.push(r);
    }
    return { visible: out, hiddenNoise: hidden };
  }, [snap.rows, filter, verdictFilter, showNoise]);

  // layout: every part has a fixed height so the frame never outgrows the terminal
  // One line is left free (a frame as tall as the terminal makes Ink clear the screen on every redraw). On a short
  // terminal (a split pane) the details go first, then the suggestions, then table rows: the header and the counters
  // stay on screen (with a floor of 16 rows the frame outgrew a 14-row pane and they were the part scrolled off).
  const fixedRows = 2 + counterRows(snap) + 2 + 1; // header, counters, the table's title and head, footer
  let left = rows - 1 - fixedRows - 3; // after the table's first three rows
  const sugShown = left >= 1 + 2;
  const sugRows = sugShown ? clamp(snap.suggestions.length, 2, Math.min(4, left - 1)) : 0;
  if (sugShown) left -= 1 + sugRows;
  const detailsShown = left >= 1 + 3;
  const detailRows = detailsShown ? clamp(Math.floor(rows * 0.3), 3, Math.min(14, left - 1)) : 0;
  if (detailsShown) left -= 1 + detailRows;
  const tableRows = Math.max(1, 3 + left);
  const shownPanel = sugShown ? panel : 'flows';

  const selIndex = visible.length === 0 ? -1 : Math.max(0, selKey === null ? 0 : visible.findIndex((r) => r.key === selKey));
  const sugIndex = suggestionIndex(snap.suggestions, sugSel);

  // The state keys act on, as the keys before them in the same input left it: several keys can arrive before React
  // renders again (`jjj`, a held-down arrow), and each must see what the one before did.
  const live = useRef({ panel, selKey, sugSel, editing, help, draft });
  live.current = { panel, selKey, sugSel, editing, help, draft };

  const move = useCallback(
    (delta: number | 'home' | 'end') => {
      const l = live.current;
      if (l.panel === 'flows') {
        if (visible.length === 0) return;
        const at = Math.max(0, l.selKey === null ? 0 : visible.findIndex((r) => r.key === l.selKey));
        const to = delta === 'home' ? 0 : delta === 'end' ? visible.length - 1 : clamp(at + delta, 0, visible.length - 1);
        l.selKey = visible[to]!.key;
        setSelKey(l.selKey);
      } else {
        const list = snap.suggestions;
        const n = list.length;
        if (n === 0) return;
        const at = suggestionIndex(list, l.sugSel);
        const to = delta === 'home' ? 0 : delta === 'end' ? n - 1 : clamp(at + delta, 0, n - 1);
        l.sugSel = { key: suggestionKey(list[to]!), pos: to };
        setSugSel(l.sugSel);
      }
    },
    [visible, snap.suggestions],
  );

  const onAction = (a: KeyAction): void => {
    const l = live.current;
    // q on the help screen closes it, as any key does (the help says so); Ctrl-C quits from anywhere
    if (a.type === 'interrupt' || (a.type === 'quit' && !l.help)) {
      props.onQuit(a.type);
      return;
    }
    // the suggestions panel had focus when a resize left no room for it: keys go to the flows
    if (!sugShown && l.panel === 'suggestions') {
      l.panel = 'flows';
      setPanel('flows');
    }
    if (l.help) {
      l.help = false;
      setHelp(false);
      return;
    }
    if (l.editing) {
      if (a.type === 'enter') {
        setFilter(l.draft.trim());
        l.editing = false;
        setEditing(false);
        l.selKey = null;
        setSelKey(null);
      } else if (a.type === 'escape') {
        l.draft = '';
        setDraft('');
        setFilter('');
        l.editing = false;
        setEditing(false);
      } else if (a.type === 'backspace') {
        l.draft = l.draft.slice(0, -1);
        setDraft(l.draft);
      } else if (a.type === 'char') {
        l.draft = (l.draft + a.text).slice(0, MAX_FILTER);
        setDraft(l.draft);
      }
      return;
    }
    const page = l.panel === 'flows' ? tableRows : sugRows;
    switch (a.type) {
      case 'up': return move(-1);
      case 'down': return move(1);
      case 'pageUp': return move(-page);
      case 'pageDown': return move(page);
      case 'home': return move('home');
      case 'end': return move('end');
      case 'panel':
        // no switching to a panel the terminal has no room for
        if (!sugShown && l.panel === 'flows') return;
        l.panel = l.panel === 'flows' ? 'suggestions' : 'flows';
        setPanel(l.panel);
        return;
      case 'filter':
        l.draft = filter;
        setDraft(filter);
        l.editing = true;
        setEditing(true);
        return;
      case 'escape':
        setFilter('');
        setVerdictFilter('all');
        return;
      case 'verdict':
        setVerdictFilter((v) => VERDICT_FILTERS[(VERDICT_FILTERS.indexOf(v) + 1) % VERDICT_FILTERS.length]!);
        l.selKey = null;
        setSelKey(null);
        return;
      case 'sort':
        store.setSort(SORT_KEYS[(SORT_KEYS.indexOf(snap.sort) + 1) % SORT_KEYS.length]!);
        return;
      case 'noise':
        setShowNoise((s) => !s);
        return;
      case 'pause':
        store.setPaused(!snap.paused);
        return;
      case 'write':
        props.onWrite();
        return;
      case 'help':
        l.help = true;
        setHelp(true);
        return;
      default:
        return;
    }
  };
  useKeys(props.keys, () => live.current.editing, onAction);

  // the trace of one event is computed once, not on every redraw — again when the ruleset was reloaded
  const traceCache = useRef<{ event: DropEvent; version: number; lines: string[] } | null>(null);
  const trace = props.trace;
  const version = snap.rulesetVersion;
  const cachedTrace = useMemo(
    () =>
      trace === undefined
        ? undefined
        : (e: DropEvent): string[] => {
            const c = traceCache.current;
            if (c === null || c.event !== e || c.version !== version) traceCache.current = { event: e, version, lines: trace(e) };
            return traceCache.current!.lines;
          },
    [trace, version],
  );

  const item: DetailsItem =
    shownPanel === 'flows'
      ? selIndex >= 0 ? { kind: 'flow', row: visible[selIndex]! } : null
      : sugIndex >= 0 ? { kind: 'suggestion', suggestion: snap.suggestions[sugIndex]! } : null;

  const title = [
    `Flows: ${visible.length} shown of ${snap.rows.length}${snap.rowsDropped > 0 ? ` (${compact(snap.rowsDropped)} older not kept)` : ''}`,
    `sort: ${snap.sort === 'recency' ? 'most recent' : 'most packets'} (s)`,
    `verdict: ${verdictFilter} (v)`,
    filter !== '' ? `filter: "${clean(filter)}"` : '',
    hiddenNoise > 0 ? `${hiddenNoise} noise hidden (c)` : showNoise ? 'noise shown (c)' : '',
  ].filter(Boolean).join(' · ');

  // an empty table with flows behind it says why: "no flows yet" under a counter of hundreds read as nothing seen
  const empty = snap.rows.length === 0 ? 'no flows yet'
    : hiddenNoise > 0 ? `none shown: ${hiddenNoise} noise hidden — c shows ${hiddenNoise === 1 ? 'it' : 'them'}`
      : 'no flow matches the filters — Esc clears them';

  const footer = !props.keys
    ? 'no keys: /dev/tty could not be opened — Ctrl-C quits and prints the summary'
    : editing ? `/${clean(draft)}▏  Enter applies · Esc clears`
      : width >= KEYS_LONG.length ? KEYS_LONG : KEYS_SHORT;

  return (
    <Box flexDirection="column" width={width + 1}>
      <Header snap={snap} width={width} color={color} />
      {help ? (
        <Help width={width} height={Math.max(1, rows - 1 - 2 - 1)} />
      ) : (
        <>
          <Counters snap={snap} width={width} color={color} />
          <FlowsTable
            rows={visible}
            selected={selIndex}
            offset={scrollOffset(selIndex, tableRows, visible.length)}
            height={tableRows}
            width={width}
            color={color}
            focused={shownPanel === 'flows'}
            title={title}
            empty={empty}
          />
          {sugShown ? <Suggestions
            list={snap.suggestions}
            note={snap.suggestionsNote}
            selected={sugIndex}
            offset={scrollOffset(sugIndex, sugRows, snap.suggestions.length)}
            height={sugRows}
            width={width}
            color={color}
            focused={shownPanel === 'suggestions'}
          /> : null}
          {detailsShown ? <Details item={item} height={detailRows} width={width} color={color} describe={props.describe} trace={cachedTrace} /> : null}
        </>
      )}
      <Text wrap="truncate-end" {...(color ? { dimColor: !editing } : {})}>{fit(footer, width)}</Text>
    </Box>
  );
}
