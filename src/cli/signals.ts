/**
 * How a run ends on a signal. The first SIGINT, SIGTERM or SIGHUP ends the input: the summary or report is still
 * written, and the process then ends with that signal's status; a second one ends it at once.
 */

/**
 * The signals that end a run — Ctrl-C, `kill`, the terminal hanging up — and the status each ends it with: 128 + the
 * signal's number, as shells report a process the signal killed.
 */
export const SIGNAL_EXIT_CODES: Readonly<Record<StopSignal, number>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };
export type StopSignal = 'SIGHUP' | 'SIGINT' | 'SIGTERM';
export const STOP_SIGNALS: readonly StopSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** The signal an exit status stands for (129, 130, 143), if any. */
export function signalOfExitCode(code: number): StopSignal | undefined {
  return STOP_SIGNALS.find((s) => SIGNAL_EXIT_CODES[s] === code);
}

/**
 * Ends the process by `sig` itself, as the cracauer.org "Proper handling of SIGINT" advice has it: the parent sees a
 * process the signal killed (a shell's `$?` reads 128 + the signal's number; `xargs`, `make` and other supervisors
 * that tell a death by signal from an exit status see the former), whereas exit(130) is a program that chose to
 * exit. It also keeps Node 20 from aborting on the way out when the terminal has hung up (a normal exit resets the
 * terminal's modes and asserts that this worked: nodejs/node#51519). Every listener is removed first (Ink's
 * signal-exit would otherwise catch it). `exit` is the fallback if the signal does not end the process.
 */
export function exitBySignal(sig: StopSignal): void {
  for (const s of STOP_SIGNALS) process.removeAllListeners(s);
  process.kill(process.pid, sig);
  setTimeout(() => process.exit(SIGNAL_EXIT_CODES[sig]), 200).unref();
}

/**
 * A signal handler: the first SIGINT/SIGTERM/SIGHUP calls `stop` (inputs end, the summary still prints); a second one
 * ends the process at once by that signal (exit status 130/143/129) — the summary may be blocked on a reader that
 * does not read, and a second Ctrl-C must still end the process. `beforeExit` runs first (the live view leaves the
 * alternate screen).
 */
export function twoStepSignal(stopped: () => boolean, stop: (sig: StopSignal) => void, beforeExit?: () => void): (sig: NodeJS.Signals) => void {
  return (sig) => {
    const s = STOP_SIGNALS.includes(sig as StopSignal) ? (sig as StopSignal) : 'SIGINT';
    if (stopped()) {
      beforeExit?.();
      exitBySignal(s);
      return;
    }
    stop(s);
  };
}

/**
 * Runs a command with {@link signalController}'s signal: a run a signal ended (its summary or report still written)
 * returns that signal's status (130 for Ctrl-C) instead of its own.
 */
export async function withSignals(run: (signal: AbortSignal) => Promise<number>): Promise<number> {
  const { controller, exitCode, dispose } = signalController();
  try {
    return exitCode(await run(controller.signal));
  } finally {
    dispose();
  }
}

/**
 * An AbortController that SIGINT/SIGTERM/SIGHUP trip (so inputs end and summaries still print); `received` tells
 * which came first, `exitCode` turns a command's status into the signal's when one came (a run cut short is not a
 * success, nor a `--fail-on` verdict on all the input); `dispose` unhooks it. `note` records a stop that stands for a
 * signal without one coming (the live view: Ctrl-C read as a key in raw mode, the terminal gone without a SIGHUP);
 * the first stop counts. `beforeExit` runs before a second signal ends the process (the live view leaves the
 * alternate screen).
 */
export function signalController(beforeExit?: () => void): {
  controller: AbortController;
  received: () => StopSignal | undefined;
  note: (sig: StopSignal) => void;
  exitCode: (code: number) => number;
  dispose: () => void;
} {
  const controller = new AbortController();
  let received: StopSignal | undefined;
  const onSignal = twoStepSignal(() => controller.signal.aborted, (sig) => {
    received ??= sig;
    controller.abort();
  }, beforeExit);
  // `on`, not `once`, until dispose: Ink's signal-exit re-raises a signal when it finds itself the last listener, and
  // a `once` listener is removed before signal-exit's runs — the process would die without its summary (SIGHUP did:
  // the live view's terminal was left on the alternate screen).
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  return {
    controller,
    received: () => received,
    note: (sig) => {
      received ??= sig;
    },
    exitCode: (code) => (received === undefined ? code : SIGNAL_EXIT_CODES[received]),
    dispose: () => {
      for (const s of STOP_SIGNALS) process.off(s, onSignal);
    },
  };
}
