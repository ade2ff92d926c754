import { Box, Text } from 'ink';
import type { ViewSuggestion } from '../store.js';
import { clean, fit } from '../format.js';

export interface SuggestionsProps {
  list: readonly ViewSuggestion[];
  /** why the list is empty although genuine blocks were seen, or null */
  note?: string | null;
  selected: number;
  offset: number;
  height: number;
  width: number;
  color: boolean;
  focused: boolean;
}

/** Proposed rules so far, each with its scope (the sources it admits). */
export function Suggestions(p: SuggestionsProps): React.JSX.Element {
  const shown = p.list.slice(p.offset, p.offset + p.height);
  const title = `${p.focused ? '▶ ' : '  '}Suggestions (${p.list.length}) — from genuine blocks; w writes them as a policy fragment`;
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end" {...(p.color ? { bold: p.focused, underline: p.focused } : {})}>{fit(title, p.width)}</Text>
      {shown.map((s, i) => {
        const sel = p.offset + i === p.selected;
        const mark = sel ? (p.focused ? '› ' : '· ') : '  ';
        const scope = s.sources.length === 0 ? 'scope: anywhere' : `scope: ${s.sources.length} source${s.sources.length === 1 ? '' : 's'}`;
        return (
          <Text wrap="truncate-end" key={`${s.proto}/${s.ports.join(',')}/${i}`} {...(sel && p.focused && p.color ? { inverse: true } : {})}>
            {fit(`${mark}${clean(s.rendered)}  [${scope}]`, p.width)}
          </Text>
        );
      })}
      {Array.from({ length: Math.max(0, p.height - shown.length) }, (_, i) => (
        <Text wrap="truncate-end" key={`pad${i}`}>{i === 0 && p.list.length === 0 ? fit(`  (${clean(p.note ?? 'none yet: no genuine blocks')})`, p.width, false) : ' '}</Text>
      ))}
    </Box>
  );
}
