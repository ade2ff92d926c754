/**
 * `fwdiag analyze [FILE…]`: parse, classify, print verdicts. Wiring only: flags → zod-validated options, inputs →
 * parser → classifier → writer. SIGINT/SIGTERM/SIGHUP (and EOF) end the stream and print the summary.
 */
import { z } from 'zod';
import type { Command, CliIO } from './io.js';
import { UsageError } from './errors.js';
import { LIVE_INPUT_FLAGS, SCOPE_FLAGS, scopeFlagsGiven, scopeOptionsGiven, scopeOptionsOf, type ScopeOptions, addonFlagsOf, checkAddons, checkCni, checkPlatformRoles, classifierFlagsOf, prefixHelp, kmsgSchema, normaliseKmsgFlag, prefixesOf, tzOf, flag, commandArgs, hostRolesOf, nameSchema } from './options.js';
import { readResults, reportSourceErrors } from './read-loop.js';
import { withSignals } from './signals.js';
import type { DropEvent, LineResult, Packet, ParseCounters } from '../parse/event.js';
import { openInputs } from '../input/open-inputs.js';
import { overwrittenKey, overwrittenOf } from '../input/types.js';
import { createClassifier, type Classifier } from '../classify/classifier.js';
import type { ClassifierOptionsInput } from '../classify/options.js';
import { catalogServiceLookup } from '../classify/services.js';
import { createAnalyzeHumanWriter, type AnalyzeWriter } from '../output/analyze-human.js';
import { createAnalyzeJsonWriter } from '../output/analyze-json.js';
import { escapeControl } from '../output/escape.js';
import { guardOutput, isOutputClosed, writeLines } from '../output/safe-stdout.js';
import { listPlatforms, loadCatalog } from '../catalog/index.js';
import type { SuggestContext } from '../suggest/index.js';
import type { Ruleset } from '../ruleset/index.js';
import type { LiveOptions } from '../view/run-live.js';

export const ANALYZE_USAGE = `Usage: fwdiag analyze [options] [FILE…]

Classify every firewall drop: conntrack-loss, genuine-block, scan, broadcast (LAN chatter) or undetermined.
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
  --catalog FILE         extend the role catalog (repeatable): its ports are named too
Live view only (a terminal, not CI, --json or --summary; elsewhere checked, and a note says they do nothing):
  --role R               with --platform: the suggestion engine's proposals for this node role (of a file,
                         without a terminal: fwdiag suggest)
  --host-role HOST=ROLE  per-host role (repeatable)
  --addon NAME           with --role: an addon the cluster runs, as a policy's addons (repeatable; --addon none:
                         none); a port only a left-out addon needs is no rule to write but the addon to enable
                         (default: the platform's, as compile and suggest)
  --cluster-subnet CIDR  with --role: all cluster machines; cluster-scoped ports are proposed from it (default:
                         the observed clients), as by fwdiag suggest
  --control-plane ADDR   with --role: control-plane address or CIDR (repeatable, or comma-separated): control-plane
                         ports (etcd …) are proposed from them (default: the observed clients)
  --cni NAME             with --role: the cluster's CNI; other CNIs' catalog rows are not this cluster's (default:
                         the platform's, e.g. canal for rke2)
  --allow-unknown        with --role: also propose ports no catalog names (low confidence)
  --ruleset FILE|live    trace the selected flow through this ruleset in the details pane, and let the
                         suggestions skip what it accepts; read again as it changes (live: every 10 s)
                         (one line, without a terminal: fwdiag trace)
Input:
  --tz ZONE              zone of syslog stamps without offset, and of --window times (default: local)
  --follow               keep reading FILE as it grows, across rotation (until Ctrl-C)
  --from-start           with --follow: read what the file holds first
  --kmsg[=now|start|ring]  read the kernel log from /dev/kmsg: live (start: the ring buffer first), or the
                         ring buffer as it is, then stop (ring)
  ${prefixHelp(25)}
  --debug                stack traces on errors
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
  fromStart: boolean;
  kmsg: 'now' | 'start' | 'ring' | undefined;
  tz: string | undefined;
  /** only LOG lines of these prefixes */
  prefixes: string[] | undefined;
  platform: string | undefined;
  /** live view: with --platform, the suggestion engine's role (and per-host roles) */
  role: string | undefined;
  hostRoles: Array<[string, string]>;
  /**
   * live view: with --role, the addons the cluster runs (`--addon`, as suggest's); [] for `--addon none`
   * @default undefined: the platform's policy default, as compile and suggest
   */
  addons: string[] | undefined;
  /**
   * live view: with --role, the suggestion engine's scope, as suggest's (`--cluster-subnet`, `--control-plane`,
   * `--cni`, `--allow-unknown`)
   * @default no cluster subnet or control plane (observed clients), the platform's CNI, no unknown port
   */
  scope: ScopeOptions;
  /** live view: ruleset traced in the details pane (FILE or `live`) */
  ruleset: string | undefined;
  catalogs: string[];
  classifier: ClassifierOptionsInput;
}

/** argv → options; every problem is a UsageError before any input is opened. */
export function parseAnalyzeArgs(argv: string[]): AnalyzeOptions | 'help' {
  const parsed = commandArgs(normaliseKmsgFlag(argv), {
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
    role: { type: 'string' },
    'host-role': { type: 'string', multiple: true },
    addon: { type: 'string', multiple: true },
    ...SCOPE_FLAGS,
    ruleset: { type: 'string' },
    catalog: { type: 'string', multiple: true },
    ...LIVE_INPUT_FLAGS,
  });
  const v = parsed.values;
  if (v.help) return 'help';

  const color = flag(colorSchema, v.color ?? 'auto', '--color');
  const kmsg = v.kmsg === undefined ? undefined : flag(kmsgSchema, v.kmsg, '--kmsg');
  const tz = tzOf(v.tz);
  // an empty --catalog or --ruleset (a variable that expanded to nothing) is refused as suggest and report refuse it
  const catalogs = flag(z.array(z.string().min(1)), v.catalog ?? [], '--catalog');
  const ruleset = v.ruleset === undefined ? undefined : flag(z.string().min(1), v.ruleset, '--ruleset');
  if (v.platform !== undefined) {
    let known: string[] = [];
    try {
      known = listPlatforms();
    } catch {
      // no catalog: the name cannot be checked, the built-in table will answer
    }
    // a --catalog file may add the platform (a file that cannot be read fails here, before any input is read)
    if (known.length > 0 && !known.includes(v.platform) && catalogs.length > 0) known = listPlatforms(loadCatalog(catalogs));
    if (known.length > 0 && !known.includes(v.platform)) {
      throw new UsageError(`--platform: unknown platform "${v.platform}" (known: ${known.join(', ')})`);
    }
  }

  const classifier = classifierFlagsOf(v, tz);
  const summaryOnly = v.summary === true;

  const files = parsed.positionals;
  const follow = v.follow === true;
  const fromStart = v['from-start'] === true;
  // the other contradictions (--kmsg with FILEs, --follow with stdin…) are refused by openInputs
  if (fromStart && !follow) throw new UsageError('--from-start goes with --follow');

  if (v.role !== undefined && v.platform === undefined) throw new UsageError('--role needs --platform');
  const hostRoles = hostRolesOf(v['host-role']);
  if (hostRoles.length > 0 && v.role === undefined) throw new UsageError('--host-role goes with --platform and --role');
  // checked against the platform's addons where the engine is built (liveSuggestContext), as the roles are
  const addonFlags = addonFlagsOf(v.addon);
  const addons = addonFlags === undefined ? undefined : flag(z.array(nameSchema), addonFlags, '--addon');
  if (addons !== undefined && v.role === undefined) throw new UsageError('--addon goes with --platform and --role');
  // the engine's scope, parsed and checked as suggest's (the CNI against the catalog in liveSuggestContext)
  const scopeGiven = scopeFlagsGiven(v);
  if (scopeGiven.length > 0 && v.role === undefined) throw new UsageError(`${scopeGiven.join(', ')} ${scopeGiven.length === 1 ? 'goes' : 'go'} with --platform and --role`);
  const scope = scopeOptionsOf(v);

  return {
    files,
    role: v.role,
    hostRoles,
    addons,
    scope,
    ruleset,
    catalogs,
    json: v.json === true || summaryOnly,
    summaryOnly,
    color,
    follow,
    fromStart,
    kmsg,
    tz,
    prefixes: prefixesOf(v.prefix),
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

/**
 * The live view's suggestion engine context from the flags: with --platform and --role, the catalog (with --catalog
 * files), the roles, `--cni` and `--addon` checked against it (an unknown one is a UsageError, as in suggest), and
 * suggest's scope (`--cluster-subnet`, `--control-plane`, `--allow-unknown`): the live view proposes what `fwdiag
 * suggest` proposes for the same lines and flags. Undefined without a role (the interim list: no catalog scope).
 */
export function liveSuggestContext(opts: AnalyzeOptions, ruleset: Ruleset | undefined): Omit<SuggestContext, 'sampleLines'> | undefined {
  if (opts.platform === undefined || opts.role === undefined) return undefined;
  const catalog = loadCatalog(opts.catalogs);
  checkPlatformRoles(catalog, opts.platform, [opts.role, ...opts.hostRoles.map(([, r]) => r)]);
  if (opts.scope.cni !== undefined) checkCni(catalog, opts.platform, opts.scope.cni);
  if (opts.addons !== undefined) checkAddons(catalog, opts.platform, opts.addons);
  const { clusterSubnet, controlPlane, cni, allowUnknown } = opts.scope;
  return {
    catalog, platform: opts.platform, role: opts.role, hostRoles: new Map(opts.hostRoles), allowUnknown, controlPlane,
    ...(clusterSubnet === undefined ? {} : { clusterSubnet }),
    ...(cni === undefined ? {} : { cni }),
    ...(opts.addons === undefined ? {} : { addons: opts.addons }),
    ...(ruleset === undefined ? {} : { ruleset }),
  };
}

/** How many parse issues are shown on stderr before only counting them. */
const MAX_SHOWN_ISSUES = 5;
/** stdin read ahead of the live view (the thread reader's cap; a frame holds the main thread for milliseconds) */
const LIVE_READ_AHEAD_BYTES = 32 * 1024 * 1024;

/**
 * Runs analyze with validated options. `signal` ends reading early (SIGINT/SIGTERM/SIGHUP); the summary is still printed.
 */
export async function runAnalyze(opts: AnalyzeOptions, io: CliIO, signal?: AbortSignal): Promise<number> {
  guardOutput(io.stdout);
  // ports are named from the --catalog files too (a site's own services)
  const services = catalogServiceLookup(opts.platform, opts.catalogs.length > 0 ? loadCatalog(opts.catalogs) : undefined);
  const classifier: Classifier = createClassifier(opts.classifier, { services });
  const jsonWriter = opts.json ? createAnalyzeJsonWriter({ stdout: io.stdout, summaryOnly: opts.summaryOnly }) : undefined;
  const writer: AnalyzeWriter = jsonWriter ?? createAnalyzeHumanWriter({
        stdout: io.stdout,
        color: useColor(opts.color, io),
        describe: (f) => classifier.flowSummary(f),
      });
  // An operator at a terminal gets the live view; pipes, CI, --json and --summary keep the line stream.
  const ci = io.env['CI'] !== undefined && io.env['CI'] !== '' && io.env['CI'] !== 'false';
  const live = io.stdout.isTTY === true && !ci && !opts.json && !opts.summaryOnly;
  // a flow's trace and the suggestions are the live view's panes, with no place in a line stream: said, not dropped
  // silently, with the commands that do the same for a file (--catalog still names the ports here)
  const liveOnly = [
    opts.role !== undefined && '--role', opts.hostRoles.length > 0 && '--host-role', opts.addons !== undefined && '--addon',
    ...scopeOptionsGiven(opts.scope), opts.ruleset !== undefined && '--ruleset',
  ].filter((f) => f !== false);
  if (!live && liveOnly.length > 0) {
    // checked against the catalog all the same: `--role contol-plane` in a CI job is the same typo at a terminal, a
    // usage error (exit 2) with suggest's message, not a note that hides it until someone runs the view
    liveSuggestContext(opts, undefined);
    io.stderr.write(`fwdiag analyze: only the live view uses ${liveOnly.join(', ')} (a terminal, not CI, --json or --summary): ` +
      'fwdiag suggest takes them for the proposed rules, fwdiag trace --ruleset for one line\n');
  }
  const sources = await openInputs({
    files: opts.files,
    follow: opts.follow,
    ...(opts.follow ? { followFrom: opts.fromStart ? 'start' : 'end' } : {}),
    kmsg: opts.kmsg ?? false,
    stdin: io.stdin,
    // the live view draws on the main thread, a frame at a time: a pipe on stdin is read further ahead meanwhile
    ...(live ? { stdinReadAhead: LIVE_READ_AHEAD_BYTES } : {}),
  });
  if (live) {
    // the ruleset parsers are loaded only for the live view's --ruleset
    let ruleset: Ruleset | undefined;
    let watchRuleset: LiveOptions['watchRuleset'];
    const spec = opts.ruleset;
    if (spec !== undefined) {
      const [{ loadRuleset }, { watchRuleset: watch }] = await Promise.all([import('./trace.js'), import('./ruleset-watch.js')]);
      const initial = await loadRuleset(spec);
      ruleset = initial;
      // kept current while the view runs: `live` read again every 10 s, a FILE when it changes
      watchRuleset = (onChange, onError) => watch(spec, { load: loadRuleset, initial, onChange, onError });
    }
    const suggestCtx = liveSuggestContext(opts, ruleset);
    const { runLive } = await import('../view/run-live.js');
    return runLive({
      ...(ruleset === undefined ? {} : { ruleset }),
      ...(watchRuleset === undefined ? {} : { watchRuleset }),
      ...(suggestCtx === undefined ? {} : { suggest: suggestCtx }),
      sources,
      io,
      tz: opts.tz,
      prefixes: opts.prefixes,
      classifier: opts.classifier,
      platform: opts.platform,
      services,
      color: useColor(opts.color, io),
      ...(signal !== undefined ? { signal } : {}),
      statsPath: io.env['FWDIAG_VIEW_STATS'] || undefined,
    });
  }
  const totals: ParseCounters = { lines: 0, events: 0, skipped: 0, issues: 0, cut: 0, otherPrefix: 0 };
  let shownIssues = 0;

  // --summary prints no event: the classifier only counts (and lines the scanner read never become events)
  const take = opts.summaryOnly ? (e: DropEvent) => classifier.count(e) : (e: DropEvent) => writer.event(classifier.classify(e));
  const handle = (r: LineResult) => {
    if (r.kind === 'event') take(r.event);
    else if (r.kind === 'issue') {
      if (shownIssues < MAX_SHOWN_ISSUES && !opts.json) {
        shownIssues++;
        io.stderr.write(`fwdiag: line ${r.issue.line}: ${escapeControl(r.issue.message)}\n`);
      }
      if (r.event !== undefined) take(r.event);
    }
  };

  const prefixesSeen = new Map<string, number>();
  // a file that fails mid-read (a truncated gzip) is reported and the others still read: the summary covers what was
  const sourceErrors = reportSourceErrors(io.stderr);
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  if (signal?.aborted) stop.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    // each result is classified as soon as it is parsed; the batches only pace flushing. Lines the scanner read are
    // classified as packets: --summary only counts them, --json prints the scanner's JSON plus the verdict, and the
    // human output builds the event only of a packet that changed a flow (the lines it prints)
    const read = { tz: opts.tz, now: io.now, signal: stop.signal, each: handle, prefixes: opts.prefixes, prefixesSeen, onSourceError: sourceErrors.onSourceError };
    const how =
      opts.summaryOnly ? { ...read, packets: (p: Packet) => void classifier.count(p) }
      : jsonWriter !== undefined ? { ...read, jsonPackets: (p: Packet, json: Uint8Array) => jsonWriter.packet(classifier.classifyPacket(p), json) }
      : { ...read, packets: (p: Packet, event: () => DropEvent) => { if (classifier.count(p)) writer.event(classifier.lastResult(event())); } };
    for await (const _ of readResults(sources, how, totals)) {
      await writer.flush();
      // the reader went away (`| head`): stop quietly
      if (isOutputClosed(io.stdout)) stop.abort();
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (isOutputClosed(io.stdout)) return 0;
  const result = classifier.finish();
  let bytes = 0;
  for (const src of sources) bytes += src.stats.bytes;
  // --kmsg: records the kernel overwrote before they were read (only when some were: the key is absent otherwise)
  const overwritten = overwrittenOf(sources);
  const input = { sources: sources.length, ...totals, bytes, ...overwrittenKey(overwritten) };
  await writer.end({ ...result, summary: { ...result.summary, input, prefixes: Object.fromEntries(prefixesSeen) } });
  if (shownIssues < totals.issues && !opts.json) {
    io.stderr.write(`fwdiag: ${totals.issues} lines could not be fully parsed (${totals.issues - shownIssues} not shown)\n`);
  }
  return sourceErrors.failed() ? 1 : 0;
}

export const analyzeCommand: Command = async (argv, io) => {
  const opts = parseAnalyzeArgs(argv);
  if (opts === 'help') {
    await writeLines(io.stdout, ANALYZE_USAGE);
    return 0;
  }
  return withSignals((signal) => runAnalyze(opts, io, signal));
};
