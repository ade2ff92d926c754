import { Box, Text } from 'ink';
import { fit } from '../format.js';

export const HELP_LINES: readonly string[] = [
  'Keys',
  '  ↑ ↓ (j k)      select a flow or suggestion          PgUp PgDn  a page      Home End  first, last',
  '  Tab            switch panel (flows ↔ suggestions)',
  '  /              filter flows by text (host, address, port, service, verdict); Enter applies, Esc clears',
  '  v              cycle the verdict filter: all → genuine-block → scan → undetermined → conntrack-loss → broadcast',
  '  s              cycle the sort: most recent first ↔ most packets first',
  '  c              show or hide noise (conntrack loss that has not persisted, broadcast chatter)',
  '  p              pause the tables (input is still read and counted)',
  '  w              write the suggestions as a policy fragment (fwdiag compile --extra FILE)',
  '  Esc            clear the text and verdict filters',
  '  ?              this help (any key closes it)',
  '  q, Ctrl-C      quit and print the summary (Ctrl-C: as interrupted, status 130)',
  '',
  'Verdicts',
  '  genuine-block  a new connection the ruleset refused: a rule is missing (or the traffic is unwanted)',
  '  scan           one source probing many closed ports: never a reason to open a port',
  '  undetermined   cannot tell from the packet alone: look yourself',
  '  conntrack-loss return traffic of a connection whose state was lost: noise unless it persists',
  '  broadcast      LAN broadcast or multicast chatter (mDNS, SSDP, NetBIOS…) to a port no catalog names: noise',
  '  *              persistent: still going after --settle',
];

export function Help(props: { width: number; height: number }): React.JSX.Element {
  const lines = HELP_LINES.slice(0, props.height);
  while (lines.length < props.height) lines.push(' ');
  return (
    <Box flexDirection="column">
      {lines.map((l, i) => (
        <Text wrap="truncate-end" key={i}>{fit(l, props.width)}</Text>
      ))}
    </Box>
  );
}
