/**
 * `fwdiag analyze [FILE…]`: parse, classify, print verdicts. Wiring only: flags → zod-validated options, inputs →
 * parser → classifier → writer. SIGINT/SIGTERM (and EOF) end the stream and print the summary.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { Command, CliIO } from './io.js';
import { InputError, UsageError } from './errors.js';
import { createParser } from '../parse/parse-line.js';
import type { LineResult, ParseCounters } from '../parse/event.js';
import type { LineSource } from '../input/types.js';
import { openFileSource, streamSource } from '../input/file-source.js';
import { openFollowSource } from '../input/follow-source.js';
import { createClassifier, type Classifier } from '../classify/classifier.js';
import {
  classifierOptionsSchema,
  parseDuration,
  parsePortRange,
  parseTimeWindow,
  type ClassifierOptionsInput,
  type ParseResult,
} from '../classify/options.js';
import { catalogServiceLookup } from '../classify/services.js';
import { listPlatforms } from '../catalog/index.js';
import { createAnalyzeHumanWriter, type AnalyzeWriter } from '../output/analyze-human.js';
import { createAnalyzeJsonWriter } from '../output/analyze-json.js';
import { escapeControl } from '../output/escape.js';
import { guardOutput, isOutputClosed, writeLines } from '../output/safe-stdout.js';

export const ANALYZE_USAGE = `Usage: fwdiag analyze [options] [FILE…]

Classify every firewall drop: conntrack-loss, genuine-block, scan or undetermined.
Reads FILEs (plain or .gz; - for stdin), or stdin when none is given.

Output:
  --json                 NDJSON: one object per event, then a final {"summary", "flows"} object
  --summary              only the final {"summary", "flows"} object (JSON)
  --color auto|always|never   colour the human output (default auto; NO_COLOR respected)
Classification:
  --settle DURATION      a flow still going after this is persistent (default 5m)
  --window START..END    mark drops before/during/after a window (an upgrade); ISO 8601 times
  --ephemeral A-B        local ephemeral port range (default 32768-60999); only breaks ties
  --scan-ports N         distinct closed ports that make a scanner (default 10)
  --scan-window DURATION window for scan detection (default 60s)
  --max-flows N          flows held at once; least recently seen are evicted (default 100000)
  --platform NAME        name ports from this catalog platform first (harvester, rke2, talos, …)
Input:
  --tz ZONE              zone of syslog stamps without offset, and of --window times (default: local)
  --follow               keep reading FILEs as they grow (until Ctrl-C)
  --kmsg[=now|start]     read the kernel ring buffer (/dev/kmsg)
  -h, --help             this help
`;

const colorSchema = z.enum(['auto', 'always', 'never']);

/** Everything `analyze` needs, validated. */
export interface AnalyzeOptions {
  files: string[];
  json: boolean;
  summaryOnly: boolean;
  color: z.infer<typeof colorSchema>;
  follow: boolean;
  kmsg: 'now' | 'start' | undefined;
  tz: string | undefined;
  platform: string | undefined;
  classifier: ClassifierOptionsInput;
}

function must<T>(r: ParseResult<T>, flag: string): T {
  if (!r.ok) throw new UsageError(`${flag}: ${r.message}`);
  return r.value;
}

function positiveInt(text: string, flag: string): number {
  const r = z.coerce.number().int().positive().safeParse(text);
  if (!r.success || !/^\d+$/.test(text.trim())) throw new UsageError(`${flag}: not a positive integer: "${text}"`);
  return r.data;
}

/** argv → options; every problem is a UsageError before any input is opened. */
export function parseAnalyzeArgs(argv: string[]): AnalyzeOptions | 'help' {
  // parseArgs wants a value for string options: a bare --kmsg means --kmsg=now
  const args = argv.map((a) => (a === '--kmsg' ? '--kmsg=now' : a));
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean' },
        summary: { type: 'boolean' },
        color: { type: 'string' },
        settle: { type: 'string' },
        window: { type: 'string' },
        ephemeral: { type: 'string' },
        'scan-ports': { type: 'string' },
        'scan-window': { type: 'string' },
        'max-flows': { type: 'string' },
        platform: { type: 'string' },
        tz: { type: 'string' },
        follow: { type: 'boolean' },
        kmsg: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError(`${(e as Error).message} (see fwdiag analyze --help)`, { cause: e });
  }
  const v = parsed.values;
  if (v.help) return 'help';

  const color = colorSchema.safeParse(v.color ?? 'auto');
  if (!color.success) throw new UsageError(`--color: use auto, always or never (got "${v.color}")`);
  const kmsg = v.kmsg === undefined ? undefined : z.enum(['now', 'start']).safeParse(v.kmsg);
  if (kmsg !== undefined && !kmsg.success) throw new UsageError(`--kmsg: use --kmsg, --kmsg=now or --kmsg=start`);
  if (v.tz !== undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: v.tz });
    } catch {
      throw new UsageError(`--tz: unknown time zone "${v.tz}"`);
    }
  }
  if (v.platform !== undefined) {
    let known: string[] = [];
    try {
      known = listPlatforms();
    } catch {
      // no catalog: the name cannot be checked, the built-in table will answer
    }
    if (known.length > 0 && !known.includes(v.platform)) {
      throw new UsageError(`--platform: unknown platform "${v.platform}" (known: ${known.join(', ')})`);
    }
  }

  const classifier: ClassifierOptionsInput = {};
  if (v.settle !== undefined) classifier.settleMs = must(parseDuration(v.settle), '--settle');
  if (v['scan-window'] !== undefined) classifier.scanWindowMs = must(parseDuration(v['scan-window']), '--scan-window');
  if (v.window !== undefined) classifier.window = must(parseTimeWindow(v.window, v.tz), '--window');
  if (v.ephemeral !== undefined) classifier.ephemeral = must(parsePortRange(v.ephemeral), '--ephemeral');
  if (v['scan-ports'] !== undefined) classifier.scanPorts = positiveInt(v['scan-ports'], '--scan-ports');
  if (v['max-flows'] !== undefined) classifier.maxFlows = positiveInt(v['max-flows'], '--max-flows');
  const summaryOnly = v.summary === true;
  const check = classifierOptionsSchema.safeParse(classifier);
  if (!check.success) {
    const i = check.error.issues[0];
    const flag: Record<string, string> = {
      scanPorts: '--scan-ports', scanWindowMs: '--scan-window', settleMs: '--settle', maxFlows: '--max-flows',
      ephemeral: '--ephemeral', window: '--window',
    };
    throw new UsageError(`${flag[String(i?.path[0])] ?? 'option'}: ${i?.message ?? 'invalid'}`);
  }

  const files = parsed.positionals;
  const follow = v.follow === true;
  if (kmsg !== undefined && files.length > 0) throw new UsageError('--kmsg reads the kernel ring buffer: give no FILE with it');
  if (kmsg !== undefined && follow) throw new UsageError('--kmsg already follows the ring buffer: drop --follow');
  if (follow && (files.length === 0 || files.includes('-'))) throw new UsageError('--follow needs FILEs (stdin is followed anyway)');
  if (files.filter((f) => f === '-').length > 1) throw new UsageError('stdin (-) can be read only once');

  return {
    files,
    json: v.json === true || summaryOnly,
    summaryOnly,
    color: color.data,
    follow,
    kmsg: kmsg?.data,
    tz: v.tz,
    platform: v.platform,
    classifier,
  };
}

/** Colour on? `always`/`never` win; `auto` means a terminal, without NO_COLOR, and not TERM=dumb. */
export function useColor(mode: AnalyzeOptions['color'], io: CliIO): boolean {
  if (mode === 'always') return true;
  if (mode === 'never') return false;
  const noColor = io.env['NO_COLOR'];
  if (noColor !== undefined && noColor !== '') return false;
  if (io.env['TERM'] === 'dumb') return false;
  return io.stdout.isTTY === true;
}

/** Opens the inputs named by the options. Until src/input/open-inputs.ts lands this covers files, stdin, --follow. */
async function openInputs(opts: AnalyzeOptions, io: CliIO): Promise<LineSource[]> {
  if (opts.kmsg !== undefined) {
    // TODO(lead): wire the /dev/kmsg source when src/input has it (bootTimeMs comes with it)
    throw new InputError('--kmsg: reading /dev/kmsg is not available in this build yet');
  }
  if (opts.files.length === 0) {
    if (io.stdin.isTTY === true) throw new UsageError('no input: give FILEs, or pipe log lines to stdin (see fwdiag analyze --help)');
    return [streamSource(io.stdin)];
  }
  const out: LineSource[] = [];
  for (const f of opts.files) {
    if (f === '-') out.push(streamSource(io.stdin));
    else out.push(opts.follow ? await openFollowSource(f) : await openFileSource(f));
  }
  return out;
}

/** Totals over every input, for the summary. */
type InputTotals = ParseCounters & {
  sources: number;
  bytes: number;
};

/** How many parse issues are shown on stderr before only counting them. */
const MAX_SHOWN_ISSUES = 5;

/**
 * Runs analyze with validated options. `signal` ends reading early (SIGINT/SIGTERM); the summary is still printed.
 */
export async function runAnalyze(opts: AnalyzeOptions, io: CliIO, signal?: AbortSignal): Promise<number> {
  guardOutput(io.stdout);
  const classifier: Classifier = createClassifier(opts.classifier, { services: catalogServiceLookup(opts.platform) });
  const writer: AnalyzeWriter = opts.json
    ? createAnalyzeJsonWriter({ stdout: io.stdout, summaryOnly: opts.summaryOnly })
    : createAnalyzeHumanWriter({
        stdout: io.stdout,
        color: useColor(opts.color, io),
        describe: (f) => classifier.flowSummary(f),
      });
  const sources = await openInputs(opts, io);
  const totals: InputTotals = { sources: sources.length, lines: 0, events: 0, skipped: 0, issues: 0, cut: 0, bytes: 0 };
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) stop.abort();
  let shownIssues = 0;

  const handle = (r: LineResult) => {
    if (r.kind === 'event') writer.event(classifier.classify(r.event));
    else if (r.kind === 'issue') {
      if (shownIssues < MAX_SHOWN_ISSUES && !opts.json) {
        shownIssues++;
        io.stderr.write(`fwdiag: line ${r.issue.line}: ${escapeControl(r.issue.message)}\n`);
      }
      if (r.event !== undefined) writer.event(classifier.classify(r.event));
    }
  };

  const readOne = async (src: LineSource) => {
    const parser = createParser({
      ...(opts.tz !== undefined ? { tz: opts.tz } : {}),
      now: io.now,
      ...(src.bootTimeMs !== undefined ? { bootTimeMs: src.bootTimeMs } : {}),
      ...(sources.length > 1 ? { file: src.name } : {}),
    });
    try {
      for await (const batch of src.batches(stop.signal)) {
        for (let i = 0; i < batch.length; i++) handle(parser.parseLine(batch[i]!));
        await writer.flush();
        if (isOutputClosed(io.stdout)) {
          stop.abort();
          break;
        }
      }
      for (const r of parser.flush()) handle(r);
    } finally {
      const c = parser.counters;
      totals.lines += c.lines;
      totals.events += c.events;
      totals.skipped += c.skipped;
      totals.issues += c.issues;
      totals.cut += src.stats.cut;
      totals.bytes += src.stats.bytes;
    }
  };

  try {
    // followed files interleave; plain files are read one after another, in order
    if (opts.follow) await Promise.all(sources.map(readOne));
    else for (const s of sources) {
      if (stop.signal.aborted) break;
      await readOne(s);
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (isOutputClosed(io.stdout)) return 0;
  const result = classifier.end();
  await writer.end({ summary: { ...result.summary, input: { ...totals } }, flows: result.flows });
  if (shownIssues < totals.issues && !opts.json) {
    io.stderr.write(`fwdiag: ${totals.issues} lines could not be fully parsed (${totals.issues - shownIssues} not shown)\n`);
  }
  return 0;
}

export const analyzeCommand: Command = async (argv, io) => {
  const opts = parseAnalyzeArgs(argv);
  if (opts === 'help') {
    await writeLines(io.stdout, ANALYZE_USAGE);
    return 0;
  }
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await runAnalyze(opts, io, ac.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
};
