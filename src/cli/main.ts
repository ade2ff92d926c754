/**
 * The CLI entry: picks the subcommand, runs it, maps errors to exit codes. The only place that sets
 * process.exitCode. Errors print as one line; the stack only with --debug.
 */
import { readFileSync } from 'node:fs';
import type { Command, CliIO } from './io.js';
import { isFwdiagError } from './errors.js';
import { tuneHeap } from './heap.js';
import { escapeControl } from '../output/escape.js';
import { guardOutput } from '../output/safe-stdout.js';
import { exitBySignal, signalOfExitCode } from './signals.js';

/** Longest error message printed (a message quotes input, which may be long). */
const MAX_MESSAGE = 2000;

/** (re-exported for the bench, which runs the bundled CLI as the bin does: the bundle's own heap sizing) */
export { tuneHeap };

/**
 * Each command is imported when it runs: `fwdiag parse` should not pay for loading the live view (Ink, React), the
 * report's charts or the rule compiler.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  parse: async () => (await import('./parse.js')).parseCommand,
  analyze: async () => (await import('./analyze.js')).analyzeCommand,
  catalog: async () => (await import('./catalog.js')).catalogCommand,
  trace: async () => (await import('./trace.js')).traceCommand,
  compile: async () => (await import('./compile.js')).compileCommand,
  report: async () => (await import('./report.js')).reportCommand,
  suggest: async () => (await import('./suggest.js')).suggestCommand,
};

export const MAIN_USAGE = `Usage: fwdiag [COMMAND] [options] [FILE…]

Diagnose host-firewall drops on Kubernetes nodes from the kernel's netfilter LOG lines.

  journalctl -k -f | fwdiag          classify drops as they happen (same as: fwdiag analyze)
  fwdiag analyze [FILE…]             verdict per drop: conntrack-loss, genuine-block, scan, broadcast, undetermined
  fwdiag parse [FILE…]               every LOG line as one JSON object (NDJSON)
  fwdiag catalog [PLATFORM[/ROLE]]   the ports each platform and node role needs
  fwdiag trace --ruleset FILE LINE   which rule of a ruleset decided a logged packet
  fwdiag suggest [FILE…] --platform P --role R   the narrowest ACCEPT for genuinely blocked flows
  fwdiag report [FILE…]              after an upgrade: genuine blocks or conntrack noise? (md, html with chart, json)
  fwdiag compile --target T …        a role's policy: iptables, ip(6)tables-restore, nft, talos, harvester-cloudinit

Run 'fwdiag COMMAND --help' for a command's options. Global: --debug (stack traces), --version, -h/--help.
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}

export function defaultIO(): CliIO {
  // a closed stderr (`2>&1 | head`: the reader left before --stats or a warning) ends quietly, as stdout does
  guardOutput(process.stderr);
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, now: Date.now };
}

/** Runs fwdiag with `argv` (without node and script); resolves to the exit code. */
export async function run(argv: string[], io: CliIO): Promise<number> {
  // --debug is global: taken out before a command reads its options (up to `--`, after which words are files)
  const end = argv.includes('--') ? argv.indexOf('--') : argv.length;
  const debug = argv.slice(0, end).includes('--debug');
  if (debug) argv = [...argv.slice(0, end).filter((a) => a !== '--debug'), ...argv.slice(end)];
  try {
    const first = argv[0];
    if (first === '--version' || first === '-V') {
      io.stdout.write(`${version()}\n`);
      return 0;
    }
    if (first === '--help' || first === '-h' || first === 'help') {
      io.stdout.write(MAIN_USAGE);
      return 0;
    }
    const load = first === undefined ? undefined : COMMANDS[first];
    if (load !== undefined) return await (await load())(argv.slice(1), io);
    // No subcommand: `fwdiag [FILE…]` and `… | fwdiag` analyse.
    return await (await (COMMANDS.analyze as () => Promise<Command>)())(argv, io);
  } catch (e) {
    const code = isFwdiagError(e) ? e.exitCode : 1;
    const msg = e instanceof Error ? e.message : String(e);
    // one line, whatever it quotes (a file name, a flag's value, a catalog's text may hold a newline or an escape
    // sequence): control characters shown as \xNN, and at most MAX_MESSAGE characters
    const line = escapeControl(msg.trimEnd());
    io.stderr.write(`fwdiag: ${line.length > MAX_MESSAGE ? `${line.slice(0, MAX_MESSAGE)}…` : line}\n`);
    if (code === 2) io.stderr.write(`Run 'fwdiag ${argv[0] !== undefined && COMMANDS[argv[0]] !== undefined ? `${argv[0]} ` : ''}--help' for usage.\n`);
    if (debug && e instanceof Error && e.stack !== undefined) io.stderr.write(`${e.stack}\n`);
    return code;
  }
}

/** The bin's entry point. */
export async function main(argv: string[]): Promise<void> {
  tuneHeap(process.env, process.execArgv);
  const code = await run(argv, defaultIO());
  process.exitCode = code;
  // a run a signal ended (its summary written) ends by that signal: its parent sees a death by it, `$?` 130 for Ctrl-C
  const sig = signalOfExitCode(code);
  if (sig !== undefined) exitBySignal(sig);
}
