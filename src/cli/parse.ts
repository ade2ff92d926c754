/**
 * `fwdiag parse [FILE…]`: every netfilter LOG line → one NDJSON event. Wiring only: flags → options (zod), inputs →
 * parser → NDJSON writer with backpressure.
 */
import type { Command, CliIO } from './io.js';
import { UsageError } from './errors.js';
import { LIVE_INPUT_FLAGS, prefixHelp, flag, kmsgSchema, normaliseKmsgFlag, prefixesOf, tzOf, commandArgs } from './options.js';
import { readResults, reportSourceErrors } from './read-loop.js';
import { signalController } from './signals.js';
import { openInputs } from '../input/open-inputs.js';
import type { ParseCounters } from '../parse/event.js';
import type { NdjsonSink } from '../parse/parse-line.js';
import { overwrittenKey, overwrittenOf, overwrittenSentence, type LineSource } from '../input/types.js';
import { NdjsonBuffer, issueToJson } from '../output/ndjson.js';
import { guardOutput, isOutputClosed, syncFileFd, writeAllSync, writeLines } from '../output/safe-stdout.js';

export const PARSE_USAGE = `Usage: fwdiag parse [options] [FILE…]

Turn every netfilter LOG line (any envelope: syslog, journald short/iso/json/export/cat, dmesg, /dev/kmsg,
talosctl) into one JSON object per line (NDJSON). Reads FILEs (plain or gzip; - for stdin), or stdin.

  --issues               also print issue records for malformed or truncated LOG lines
  --stats                print counters (lines, events, skipped, issues, cut, otherPrefix; --kmsg: overwritten)
                         to stderr at the end
  ${prefixHelp(25)}
  --tz ZONE              zone of stamps without an offset (RFC3164, dmesg -T) (default: local)
  --follow               follow the FILE as it grows, across rotation and truncation (Ctrl-C ends)
  --from-start           with --follow: read what the file holds first
  --kmsg[=now|start|ring]  read /dev/kmsg directly: new records (now), the whole ring buffer first (start),
                         or the ring buffer as it is, then stop (ring: what dmesg prints, dated)
  --debug                stack traces on errors
  -h, --help             this help
`;

export interface ParseOptions {
  files: string[];
  issues: boolean;
  stats: boolean;
  tz: string | undefined;
  /** only LOG lines of these prefixes */
  prefixes: string[] | undefined;
  follow: boolean;
  fromStart: boolean;
  kmsg: false | 'now' | 'start' | 'ring';
}

export function parseParseArgs(argv: string[]): ParseOptions | 'help' {
  const parsed = commandArgs(normaliseKmsgFlag(argv), {
    issues: { type: 'boolean' },
    stats: { type: 'boolean' },
    ...LIVE_INPUT_FLAGS,
  });
  const v = parsed.values;
  if (v.help === true) return 'help';
  if (v['from-start'] === true && v.follow !== true) throw new UsageError('--from-start goes with --follow');
  return {
    files: parsed.positionals,
    issues: v.issues === true,
    stats: v.stats === true,
    tz: tzOf(v.tz),
    prefixes: prefixesOf(v.prefix),
    follow: v.follow === true,
    fromStart: v['from-start'] === true,
    kmsg: v.kmsg === undefined ? false : flag(kmsgSchema, v.kmsg, '--kmsg'),
  };
}

/**
 * Each input batch's lines are encoded into byte chunks (NdjsonBuffer) and written chunk by chunk, each write
 * awaiting 'drain' when the stream asks for it.
 */
export async function runParse(opts: ParseOptions, io: CliIO): Promise<number> {
  if (opts.files.length === 0 && opts.kmsg === false && io.stdin.isTTY === true) {
    throw new UsageError('no input: give a FILE, pipe a log into stdin, or use --kmsg');
  }
  const sources = await openInputs({
    files: opts.files,
    follow: opts.follow,
    ...(opts.follow ? { followFrom: opts.fromStart ? ('start' as const) : ('end' as const) } : {}),
    kmsg: opts.kmsg,
    stdin: io.stdin,
  });
  guardOutput(io.stdout);
  const { controller, exitCode, dispose } = signalController();
  const totals: ParseCounters = { lines: 0, events: 0, skipped: 0, issues: 0, cut: 0, otherPrefix: 0 };
  const out = new NdjsonBuffer();
  const multi = sources.length > 1;
  // stdout a file or /dev/null: everything is written synchronously, the scanner's bytes straight from its memory
  // (no copy); otherwise through the stream, with backpressure.
  const fd = syncFileFd(io.stdout);
  const flushSync = (): void => {
    if (fd !== undefined) for (const chunk of out.take()) writeAllSync(fd, chunk);
  };
  // Results go straight into `out`, in input order; the scanner prints the events it reads as NDJSON itself.
  const ndjson = (source: LineSource): NdjsonSink => ({
    bytes:
      fd === undefined
        ? (b) => out.bytes(b)
        : (b) => {
            flushSync();
            writeAllSync(fd, b);
          },
    result: (r) => {
      if (r.kind === 'event') out.event(r.event);
      else if (r.kind === 'issue' && opts.issues) out.text(issueToJson(r.issue, multi ? source.name : undefined));
    },
  });
  // a file that fails mid-read (a truncated gzip) is reported, and the next one is read
  const sourceErrors = reportSourceErrors(io.stderr);
  try {
    for await (const _ of readResults(sources, { tz: opts.tz, now: io.now, signal: controller.signal, ndjson, prefixes: opts.prefixes, onSourceError: sourceErrors.onSourceError }, totals)) {
      if (out.pending === 0) continue;
      if (fd !== undefined) {
        flushSync();
        continue;
      }
      for (const chunk of out.take()) await writeLines(io.stdout, chunk, () => out.release(chunk));
      if (isOutputClosed(io.stdout)) {
        // The reader went away (`| head`): stop reading, end quietly.
        controller.abort();
        break;
      }
    }
  } finally {
    dispose();
  }
  // --kmsg: records the kernel overwrote before they were read are in no count (the key only when some were)
  const overwritten = overwrittenOf(sources);
  if (opts.stats) io.stderr.write(`${JSON.stringify({ stats: { ...totals, ...overwrittenKey(overwritten) } })}\n`);
  if (overwritten > 0) io.stderr.write(`fwdiag parse: ${overwrittenSentence(overwritten)}\n`);
  // ended by a signal: its status (130 for Ctrl-C)
  return exitCode(sourceErrors.failed() ? 1 : 0);
}

export const parseCommand: Command = async (argv, io) => {
  const opts = parseParseArgs(argv);
  if (opts === 'help') {
    io.stdout.write(PARSE_USAGE);
    return 0;
  }
  return runParse(opts, io);
};
