import { useEffect, useState } from 'react';
import { useStdout } from 'ink';

export interface TerminalSize {
  columns: number;
  rows: number;
}

/**
 * The terminal's size, updated on resize so the layout reflows. `fallback` answers when the output is not a
 * terminal (tests): Ink's test stdout has columns but no rows.
 */
export function useTerminalSize(fallback: TerminalSize): TerminalSize {
  const { stdout } = useStdout();
  const read = (): TerminalSize => ({
    columns: stdout.columns > 0 ? stdout.columns : fallback.columns,
    rows: stdout.rows > 0 ? stdout.rows : fallback.rows,
  });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = (): void => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
    // `read` closes over stdout and fallback only
  }, [stdout, fallback.columns, fallback.rows]);
  return size;
}
