/**
 * `fwdiag trace --ruleset FILE|live LINE|-`: where in the ruleset a logged drop was decided, and which ACCEPT rules
 * for the same port exist but did not apply. Wiring only: flags → options, ruleset text → model, line → event,
 * trace → writer.
 */
import { WORDED, issuesOf } from '../catalog/issues.js';
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { z } from 'zod';
import { InputError, RulesetError, UsageError } from './errors.js';
import { commandArgs, flagOfKey } from './options.js';
import type { CliIO, Command } from './io.js';
import { streamSource } from '../input/file-source.js';
import { createParser } from '../parse/parse-line.js';
import type { DropEvent } from '../parse/event.js';
import { escapeControl, escapeJsonControl } from '../output/escape.js';
import { guardOutput, isOutputClosed, writeLines } from '../output/safe-stdout.js';
import { LIVE_COMMANDS, MAX_RULESET_BYTES, combineLive, formatTrace, legacyCommandsNeeded, parseRuleset, trace } from '../ruleset/index.js';
import type { CommandOutput, LiveCommand } from '../ruleset/index.js';
import type { Ruleset } from '../ruleset/index.js';

export const TRACE_USAGE = `Usage: fwdiag trace --ruleset FILE|live [options] LINE|-

Trace a logged drop through a ruleset: the rules it visited, the rule or policy that decided it, and the
ACCEPT rules for the same port that exist but did not apply (after the DROP, bound to another interface,
limited to other sources or to a conntrack state).

  --ruleset FILE|live   iptables-save / ip6tables-save text or \`nft -j list ruleset\` JSON (detected);
                        live: this machine's ruleset now (needs root): iptables-save, ip6tables-save,
                        nft -j list ruleset and, when present, iptables-legacy-save; each table once
  LINE                  one kernel LOG line (any envelope fwdiag reads), or - to read lines from stdin; a LINE
                        of several lines (a $(grep …) that found more) traces each; one with no LOG line (or
                        empty: a $(grep …) that found nothing) is a usage error (exit 2)
  --family 4|6          address family when the line has no SRC/DST (default: from the line, else 4)
  --verbose             list every rule visited, not only the ones that matched
  --json                one JSON object per traced line
  -h, --help            this help

A log line carries no conntrack state: ctstate matches are taken as not matching (said in the output).
`;

/** Lines read from stdin beyond this are not traced (a trace is an investigation tool, not a stream processor). */
export const MAX_TRACE_LINES = 1000;

const optionsSchema = z.object({
  ruleset: z.string().min(1),
  family: z.enum(['4', '6']).optional(),
  verbose: z.boolean().default(false),
  json: z.boolean().default(false),
  line: z.string(),
});
export type TraceCliOptions = z.output<typeof optionsSchema>;

export function parseTraceArgs(argv: string[]): TraceCliOptions | 'help' {
  const parsed = commandArgs(argv, {
    ruleset: { type: 'string' },
    family: { type: 'string' },
    verbose: { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  const v = parsed.values;
  if (v.help) return 'help';
  if (v.ruleset === undefined) throw new UsageError('--ruleset FILE|live is required (see fwdiag trace --help)');
  if (parsed.positionals.length !== 1) throw new UsageError('give exactly one LOG line (quoted) or - for stdin');
  const r = optionsSchema.safeParse({ ruleset: v.ruleset, family: v.family, verbose: v.verbose, json: v.json, line: parsed.positionals[0] }, WORDED);
  if (!r.success) {
    const i = issuesOf(r.error)[0];
    throw new UsageError(`${flagOfKey(String(i?.path[0] ?? ''))}: ${i?.message ?? 'invalid'}`);
  }
  return r.data;
}

/** Runs one command of `--ruleset live`; never rejects: a failure is data (see combineLive). */
function runCaptured(cmd: string, args: readonly string[]): Promise<CommandOutput> {
  return new Promise((resolve) => {
    execFile(cmd, [...args], { timeout: 30_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err === null) resolve({ ok: true, stdout, stderr });
      else {
        const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
        resolve({ ok: false, missing, error: (stderr.trim().split('\n')[0] || err.message.split('\n')[0]) ?? '' });
      }
    });
  });
}

/**
 * Reads and parses the ruleset (I/O edge). `live`: this machine's ruleset now, from iptables-save, ip6tables-save,
 * `nft -j list ruleset` and (when iptables-save says legacy tables exist) iptables-legacy-save; each table from the
 * tool that shows it whole (src/ruleset/live.ts).
 */
export async function loadRuleset(spec: string): Promise<Ruleset> {
  if (spec === 'live') {
    const first: LiveCommand[] = ['iptables-save', 'ip6tables-save', 'nft'];
    const out: Partial<Record<LiveCommand, CommandOutput>> = {};
    // one after the other: each dumps the kernel's tables over netlink, and they take a few milliseconds each
    for (const c of first) out[c] = await runCaptured(c, LIVE_COMMANDS[c]);
    for (const c of legacyCommandsNeeded(out['iptables-save']!, out['ip6tables-save']!)) out[c] = await runCaptured(c, LIVE_COMMANDS[c]);
    const r = combineLive(out);
    if (!r.ok) throw new RulesetError(`--ruleset live: ${r.error}`);
    return r.value;
  }
  let text: string;
  try {
    // read whole: refuse what would not fit comfortably before reading it
    if ((await stat(spec)).size > MAX_RULESET_BYTES) throw new InputError(`${spec}: ruleset larger than ${MAX_RULESET_BYTES} bytes`);
    text = await readFile(spec, 'utf8');
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`cannot read ruleset ${spec}: ${(e as Error).message}`, { cause: e });
  }
  const r = parseRuleset(text);
  if (!r.ok) throw new RulesetError(`${spec}: ${r.issues.join('; ')}`);
  return r.value;
}

/** stdin's lines, read as every command reads its input (gzip, CRLF, a line over 64 KiB cut), up to one past the cap. */
async function readStdin(io: CliIO): Promise<string[]> {
  const lines: string[] = [];
  const stop = new AbortController();
  for await (const batch of streamSource(io.stdin, { name: '-' }).batches(stop.signal)) {
    for (const l of batch) lines.push(l);
    if (lines.length > MAX_TRACE_LINES) {
      stop.abort();
      break;
    }
  }
  return lines;
}

/** The drops among `lines` (a line with an issue still counts when it has a packet). */
function eventsOf(lines: readonly string[], io: CliIO): DropEvent[] {
  const parser = createParser({ now: io.now });
  const events: DropEvent[] = [];
  for (const l of lines) {
    const r = parser.parseLine(l);
    if (r.kind === 'event') events.push(r.event);
    else if (r.kind === 'issue' && r.event !== undefined) events.push(r.event);
  }
  for (const r of parser.flush()) if (r.kind === 'event') events.push(r.event);
  return events;
}

export const traceCommand: Command = async (argv, io) => {
  const opts = parseTraceArgs(argv);
  guardOutput(io.stdout);
  if (opts === 'help') {
    await writeLines(io.stdout, TRACE_USAGE);
    return 0;
  }
  // a LINE argument is judged before the ruleset is read (live runs the tools): one that is no LOG line — or empty, as
  // from a $(grep …) that found nothing — is a bad argument (exit 2, with the usage hint) as in every command; lines
  // read from stdin are input, and stdin without a LOG line is an input error (exit 1)
  // a LINE of several lines (a $(grep …) that found more than one) is traced line by line, as stdin is
  const argLines = opts.line === '-' ? undefined : opts.line.split(/\r?\n/);
  const given = argLines === undefined ? undefined : eventsOf(argLines.slice(0, MAX_TRACE_LINES), io);
  if (given !== undefined && given.length === 0) {
    throw new UsageError(opts.line.trim() === ''
      ? 'LINE is empty (a $(grep …) that found nothing?): give one kernel LOG line, or - for stdin'
      : `LINE is not a netfilter LOG line: ${JSON.stringify(opts.line.length > 80 ? `${opts.line.slice(0, 80)}…` : opts.line)}`);
  }
  const ruleset = await loadRuleset(opts.ruleset);
  const lines = argLines ?? await readStdin(io);
  const events = given ?? eventsOf(lines.slice(0, MAX_TRACE_LINES), io);
  if (events.length === 0) throw new InputError('no netfilter LOG line in the input');
  for (const w of ruleset.warnings) io.stderr.write(`fwdiag trace: warning: ${escapeControl(w)}\n`);
  if (lines.length > MAX_TRACE_LINES) io.stderr.write(`fwdiag trace: only the first ${MAX_TRACE_LINES} lines were traced\n`);
  const family = opts.family === undefined ? {} : { family: Number(opts.family) as 4 | 6 };
  let first = true;
  for (const ev of events) {
    if (isOutputClosed(io.stdout)) break;
    const t = trace(ruleset, ev, family);
    if (opts.json) {
      await writeLines(io.stdout, `${escapeJsonControl(JSON.stringify({ line: ev.line, prefix: ev.prefix, ...t }))}\n`);
    } else {
      const head = events.length > 1 ? [`${first ? '' : '\n'}== line ${ev.line}`] : [];
      await writeLines(io.stdout, `${[...head, ...formatTrace(t, { verbose: opts.verbose })].join('\n')}\n`);
    }
    first = false;
  }
  return 0;
};
