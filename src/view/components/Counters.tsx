import { Box, Text } from 'ink';
import type { Verdict } from '../../classify/verdict.js';
import type { ViewSnapshot } from '../store.js';
import { compact, fit, VERDICT_COLOR } from '../format.js';
import { Sparkline } from './Sparkline.js';

export interface CountersProps {
  snap: ViewSnapshot;
  width: number;
  color: boolean;
}

/** The order operators read them in: what needs action first. */
const ORDER: readonly Verdict[] = ['genuine-block', 'scan', 'undetermined', 'conntrack-loss'];

/** Lines the counters take: a third for LAN chatter once there is some (most inputs have none). */
export function counterRows(snap: ViewSnapshot): number {
  return snap.counts.broadcast > 0 ? 3 : 2;
}

/** Verdict counters, two per line, each with a sparkline of its rate (buckets of `sparkBucketMs`, newest right). */
export function Counters({ snap, width, color }: CountersProps): React.JSX.Element {
  const half = Math.floor(width / 2);
  const cell = (v: Verdict): React.JSX.Element => {
    // the number is never cut (a cut count reads as another count): on a narrow terminal the label gives way first
    const n = compact(snap.counts[v]);
    const num = Math.max(n.length + 1, Math.min(8, half - 15));
    const label = Math.max(0, Math.min(15, half - num));
    const bucketsFit = Math.max(0, half - label - num - 3);
    const values = snap.spark[v];
    const shown = values.slice(Math.max(0, values.length - bucketsFit));
    const c = color ? VERDICT_COLOR[v] : {};
    return (
      <Box width={half} key={v}>
        <Text wrap="truncate-end" {...c}>{fit(v, label)}</Text>
        <Text wrap="truncate-end" {...(color && v === 'genuine-block' && snap.counts[v] > 0 ? { bold: true } : {})}>{n.padStart(num - 1)} </Text>
        <Sparkline values={shown} color={color ? VERDICT_COLOR[v].color : undefined} />
      </Box>
    );
  };
  return (
    <Box flexDirection="column">
      <Box>
        {cell(ORDER[0]!)}
        {cell(ORDER[1]!)}
      </Box>
      <Box>
        {cell(ORDER[2]!)}
        {cell(ORDER[3]!)}
      </Box>
      {counterRows(snap) > 2 ? <Box>{cell('broadcast')}</Box> : null}
    </Box>
  );
}
