import { Box, Text } from 'ink';
import type { ViewSnapshot } from '../store.js';
import { clean, columns, compact, elapsed, fit, fitName } from '../format.js';

export interface HeaderProps {
  snap: ViewSnapshot;
  width: number;
  color: boolean;
}

/** Two lines: what is read and how fast; then the state (paused, input ended, no keys, last message). */
export function Header({ snap, width, color }: HeaderProps): React.JSX.Element {
  const parts = [
    `fwdiag live · ${clean(snap.source)}`,
    elapsed(snap.now - snap.startedAt),
    `${compact(snap.lines)} lines`,
    `${snap.eps < 10 ? snap.eps.toFixed(1) : compact(snap.eps)} ev/s`,
    `${compact(snap.issues)} parse issue${snap.issues === 1 ? '' : 's'}`,
    ...(snap.otherPrefix > 0 ? [`${compact(snap.otherPrefix)} other-prefix left out`] : []),
    // the kernel overwrote records before they were read: every count below misses them
    ...(snap.lost > 0 ? [`${compact(snap.lost)} lost (ring buffer overwritten)`] : []),
    `${snap.evicted === null ? '?' : compact(snap.evicted)} evicted`,
  ];
  const state: string[] = [];
  state.push(snap.paused ? 'PAUSED (p resumes)' : 'live');
  if (snap.ended) state.push('input ended');
  if (snap.noKeys !== null) state.push(`no keys: ${snap.noKeys} — Ctrl-C quits`);
  // a rate-limited LOG rule (the Harvester seed's 10/min): the counts below are a sample
  if (snap.logLimit !== null) state.push(`LOG limited to ${clean(snap.logLimit)}: counts are a sample`);
  const stateText = state.join(' · ');
  let status = snap.status !== null ? ` · ${clean(snap.status)}` : '';
  // a status too long for the line (`w`'s `wrote N rules to /a/long/dir/NAME.yaml`) keeps its file name: cut at the
  // end, the name was the part lost
  if (status !== '' && columns(stateText) + columns(status) > width) status = fitName(status, Math.max(0, width - columns(stateText)));
  const line2 = `${stateText}${status}`;
  const warn = snap.paused || snap.ended || snap.noKeys !== null;
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end" {...(color ? { bold: true } : {})}>{fit(parts.join(' │ '), width)}</Text>
      <Text wrap="truncate-end" {...(color && warn ? { color: snap.paused ? 'yellow' : 'cyan' } : {})}>{fit(line2, width)}</Text>
    </Box>
  );
}
