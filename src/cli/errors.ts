/**
 * The few error classes fwdiag throws at its boundaries. Code branches on the class (or `exitCode`), never on
 * `message`. The CLI prints `message` as one line; the stack only with `--debug`.
 */

/** Bad flags or arguments: exit 2, with a one-line usage hint. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly exitCode = 2;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** An input could not be read (missing file, permission, /dev/kmsg unavailable): exit 1. */
export class InputError extends Error {
  override readonly name = 'InputError';
  readonly exitCode = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A ruleset (iptables-save, nft JSON) or policy could not be read or compiled: exit 1. */
export class RulesetError extends Error {
  override readonly name = 'RulesetError';
  readonly exitCode = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function isFwdiagError(e: unknown): e is UsageError | InputError | RulesetError {
  return e instanceof UsageError || e instanceof InputError || e instanceof RulesetError;
}
