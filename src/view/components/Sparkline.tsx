import { Text } from 'ink';
import { sparkline } from '../format.js';

/** A rate sparkline: one block per time bucket, oldest first. */
export function Sparkline(props: { values: readonly number[]; color?: string | undefined }): React.JSX.Element {
  return <Text wrap="truncate-end" {...(props.color !== undefined ? { color: props.color } : {})}>{sparkline(props.values)}</Text>;
}
