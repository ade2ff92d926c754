import type { Readable, Writable } from 'node:stream';

/**
 * Everything a command touches of the outside world, injected so tests can pass buffers and a fixed clock.
 */
export interface CliIO {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable & { isTTY?: boolean; columns?: number; rows?: number };
  stderr: Writable & { isTTY?: boolean };
  env: Record<string, string | undefined>;
  /** wall clock in ms since the epoch */
  now: () => number;
}

/** A subcommand: takes its own argv (after the subcommand name), returns the exit code. */
export type Command = (argv: string[], io: CliIO) => Promise<number>;
