/**
 * `fwdiag report [FILE…]`: after an upgrade (or any window), was anything really blocked, or was it all conntrack
 * noise? Wiring only: flags → zod-validated options; every input through its own parser, merged by time (k-way,
 * one batch per file in memory); classifier + report aggregate in one pass; windows, verdict and suggestions at
 * the end; one renderer (Markdown, HTML, JSON) to stdout or `-o FILE`.
 *
 * Many files are merged by time rather than read one after another: the classifier's flow state is per host,
 * but scan detection and flow expiry follow event time, which must not jump back by hours at each file boundary.
 */
import { WORDED, issuesOf } from '../catalog/issues.js';
import { stat, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import type { Command, CliIO } from './io.js';
import { InputError, UsageError } from './errors.js';
import { readResults, reportSourceErrors, type ReadCommon } from './read-loop.js';
import { withSignals } from './signals.js';
import { loadRuleset } from './trace.js';
import type { DropEvent, LineResult, Packet, ParseCounters } from '../parse/event.js';
import { overwrittenKey, overwrittenOf, type LineSource } from '../input/types.js';
import { openInputs } from '../input/open-inputs.js';
import { hostLabelsOf } from '../input/host-labels.js';
import { createClassifier, type Observation } from '../classify/classifier.js';
import { verdictRank, type Flow } from '../classify/flows.js';
import type { Verdict } from '../classify/verdict.js';
import { classifierOptionsSchema, parseDuration } from '../classify/options.js';
import { SCOPE_FLAGS, addonFlagsOf, checkAddons, checkCni, checkPlatformRoles, classifierFlagsOf, normaliseKmsgFlag, prefixHelp, prefixesSchema, ringOnly, commandArgs, flagOfKey, intFlag, must, hostRolesOf, nameSchema, scopeFlagsGiven, scopeFlagsOf, scopeOptionsSchema, tzOf } from './options.js';
import { catalogServiceLookup } from '../classify/services.js';
import { loadCatalog } from '../catalog/index.js';
import { escapeControl } from '../output/escape.js';
import { guardOutput, isOutputClosed, writeLines } from '../output/safe-stdout.js';
import { MAX_SAMPLED_FLOWS, suggest, type SuggestContext, type SuggestFlow } from '../suggest/index.js';
import { ReportAggregate, wallOrNull } from '../report/aggregate.js';
import { buildReport } from '../report/build.js';
import { mergeByTime } from '../report/merge.js';
import { createProgress } from '../report/progress.js';
import { renderHtml } from '../report/html.js';
import { renderJson } from '../report/json.js';
import { renderMarkdown } from '../report/markdown.js';
import type { Report, SuggestFn } from '../report/types.js';
import { rateLimitedLogRules, type Ruleset } from '../ruleset/index.js';
import { windowOptionsSchema } from '../report/windows.js';

export const REPORT_USAGE = `Usage: fwdiag report [options] [FILE…]

After an upgrade (or any window): was anything really blocked, or was it all conntrack noise? Finds the upgrade
windows (dense bursts of conntrack-loss drops across flows) unless --window is given, and reports per window and
host the drops by verdict, the flows still dropped after the window (a refused SYN or a port nothing explains:
action needed), how soon the conntrack loss stopped, and the rules the suggestion engine proposes. Opens with a
one-line verdict. Reads FILEs (plain or .gz; - for stdin; many hosts' logs are merged by time), or stdin.

Output:
  --format md|html|json   Markdown (default), one self-contained HTML file with a timeline chart, or JSON
  -o, --output FILE       write the report to FILE instead of stdout (HTML on a terminal needs it)
  --max-rows N            flows listed (default 100; the rest are counted)
  --fail-on action|check  exit 3 when the verdict is that bad or worse: a gate for upgrade pipelines and monitoring
                          (action: a genuine block or a port without a verdict refused after a window (persisting
                          from it or first seen after it), or anywhere when no window is found; check: also
                          conntrack loss that did not settle, blocks seen only during or outside the windows)
Windows:
  --window START..END     the window to judge (ISO 8601 times); no detection
  --burst N               conntrack-loss drops per minute that make a burst (default 5)
  --burst-flows N         distinct conntrack-loss flows a burst needs (default 2)
  --merge-gap DURATION    quiet time that still joins two bursts into one window (default 5m)
  --settle DURATION       conntrack loss going on longer after a window has not settled (default 5m)
Suggestions (the suggestion engine needs the platform and the nodes' roles):
  --platform P            catalog platform (harvester, rke2, k3s, kubeadm, talos, konvoy, generic)
  --role R                the role of the hosts in the logs
  --host-role HOST=ROLE   the role of one log host (repeatable); hosts without a role get no suggestion
  --ruleset FILE|live     the ruleset that logged the drops (iptables-save or nft -j JSON)
  --cluster-subnet CIDR   all cluster machines: cluster-scoped ports are opened to it (else: observed clients)
  --control-plane ADDR    control-plane address or CIDR (repeatable, or comma-separated): control-plane ports
                          (etcd …) are opened to them (else: observed clients)
  --cni NAME              the cluster's CNI: other CNIs' catalog rows are not this cluster's (default: the
                          platform's)
  --addon NAME            an addon the cluster runs, as a policy's addons (repeatable; --addon none: none)
                          (default: the platform's, as compile)
  --allow-unknown         also suggest ports no catalog names (low confidence)
  --catalog FILE          extra catalog file(s): a site's platform or services; repeatable (also names the flows'
                          ports without --platform)
Input:
  --tz ZONE               zone of syslog stamps without an offset, and of --window times (default: local)
  --kmsg                  read this machine's kernel log from /dev/kmsg, as the ring buffer holds it now (no FILE)
  ${prefixHelp(26)}
  --no-progress           no progress bar (shown on a terminal for large files)
  -h, --help              this help

Lines without a host name (dmesg, /dev/kmsg captures) are reported under their file's name (--kmsg: this host's);
files whose names collide, one capture per node (node1/dmesg.txt, node2/dmesg.txt), under as much of their path as
tells them apart (node1/dmesg, node2/dmesg).
`;


const optionsSchema = z.object({
  files: z.array(z.string().min(1, 'an empty FILE argument')),
  format: z.enum(['md', 'html', 'json']),
  output: z.string().min(1).optional(),
  maxRows: z.number().int().min(0).max(100_000),
  failOn: z.enum(['action', 'check'], { error: 'use action or check' }).optional(),
  window: z.object({ start: z.number(), end: z.number() }).optional(),
  windowOptions: windowOptionsSchema,
  platform: nameSchema.optional(),
  role: nameSchema.optional(),
  hostRoles: z.array(z.tuple([z.string().min(1).max(255), nameSchema])),
  ruleset: z.string().min(1).optional(),
  ...scopeOptionsSchema.shape,
  addons: z.array(nameSchema).optional(),
  catalogs: z.array(z.string().min(1)),
  tz: z.string().optional(),
  kmsg: z.union([z.literal(false), z.literal('ring')]),
  prefixes: prefixesSchema.optional(),
  progress: z.boolean(),
  classifier: classifierOptionsSchema.partial(),
});
export type ReportCliOptions = z.output<typeof optionsSchema>;




/** argv → options; every problem is a UsageError before any input is opened. */
export function parseReportArgs(argv: string[]): ReportCliOptions | 'help' {
  const parsed = commandArgs(normaliseKmsgFlag(argv, 'ring'), {
    format: { type: 'string' },
    output: { type: 'string', short: 'o' },
    'max-rows': { type: 'string' },
    'fail-on': { type: 'string' },
    window: { type: 'string' },
    burst: { type: 'string' },
    'burst-flows': { type: 'string' },
    'merge-gap': { type: 'string' },
    settle: { type: 'string' },
    platform: { type: 'string' },
    role: { type: 'string' },
    'host-role': { type: 'string', multiple: true },
    ruleset: { type: 'string' },
    ...SCOPE_FLAGS,
    addon: { type: 'string', multiple: true },
    catalog: { type: 'string', multiple: true },
    tz: { type: 'string' },
    kmsg: { type: 'string' },
    prefix: { type: 'string', multiple: true },
    'no-progress': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  const v = parsed.values;
  if (v.help) return 'help';
  const tz = tzOf(v.tz);
  const hostRoles = hostRolesOf(v['host-role']);
  const scope = scopeFlagsOf(v);
  if (v.platform === undefined && (v.role !== undefined || hostRoles.length > 0 || v.ruleset !== undefined || v.addon !== undefined || scopeFlagsGiven(v).length > 0)) {
    throw new UsageError('--role, --host-role, --ruleset, --cluster-subnet, --control-plane, --cni, --addon and --allow-unknown are for suggestions: give --platform P too');
  }
  if (v.platform !== undefined && v.role === undefined && hostRoles.length === 0) {
    throw new UsageError('--platform needs --role R or --host-role HOST=ROLE (which ports should each node serve?)');
  }
  if (v.window !== undefined && (v.burst !== undefined || v['burst-flows'] !== undefined || v['merge-gap'] !== undefined)) {
    throw new UsageError('--window replaces window detection: drop --burst, --burst-flows and --merge-gap');
  }
  const classifier = classifierFlagsOf(v, tz);
  const window = classifier.window;
  const windowOptions: Record<string, number> = {};
  if (v.burst !== undefined) {
    // a decimal number (drops per minute may be 0.5): not 0x10, 1e-300 or an empty value, which Number() reads as well
    const t = v.burst.trim();
    const b = Number(t);
    if (!/^\d+(\.\d+)?$/.test(t) || b <= 0) throw new UsageError(`--burst: not a positive number: "${v.burst}"`);
    windowOptions['minDropsPerMin'] = b;
  }
  if (v['burst-flows'] !== undefined) windowOptions['minFlows'] = intFlag(v['burst-flows'], '--burst-flows');
  if (v['merge-gap'] !== undefined) windowOptions['mergeGapMs'] = must(parseDuration(v['merge-gap']), '--merge-gap');

  const r = optionsSchema.safeParse({
    files: parsed.positionals,
    format: v.format ?? 'md',
    output: v.output,
    maxRows: v['max-rows'] === undefined ? 100 : intFlag(v['max-rows'], '--max-rows'),
    failOn: v['fail-on'],
    window,
    windowOptions,
    platform: v.platform,
    role: v.role,
    hostRoles,
    ruleset: v.ruleset,
    ...scope,
    addons: addonFlagsOf(v.addon),
    catalogs: v.catalog ?? [],
    tz,
    kmsg: ringOnly(v.kmsg),
    prefixes: v.prefix,
    progress: v['no-progress'] !== true,
    classifier,
  }, WORDED);
  if (!r.success) {
    const i = issuesOf(r.error)[0];
    const key = String(i?.path[0] ?? '');
    if (key === 'format') throw new UsageError('--format: use md, html or json');
    if (key === 'windowOptions') {
      const sub: Record<string, string> = { minDropsPerMin: '--burst', minFlows: '--burst-flows', mergeGapMs: '--merge-gap' };
      throw new UsageError(`${sub[String(i?.path[1])] ?? 'window option'}: ${i?.message ?? 'invalid'}`);
    }
    throw new UsageError(`${flagOfKey(key)}: ${i?.message ?? 'invalid'}`);
  }
  return r.data;
}

/** Inputs this large (bytes, all files together) get a progress bar on a terminal. */
export const PROGRESS_MIN_BYTES = 16 * 1024 * 1024;

/** Total size of the named files, or null when any input is not a regular file (stdin, a pipe). */
async function totalSize(files: string[]): Promise<number | null> {
  if (files.length === 0) return null;
  let n = 0;
  for (const f of files) {
    if (f === '-') return null;
    try {
      const s = await stat(f);
      if (!s.isFile()) return null;
      n += s.size;
    } catch {
      return null;
    }
  }
  return n;
}

/** One source's results, with its host label put on events that carry none. */
async function* labelled(src: LineSource, label: string, opts: ReadCommon, totals: ParseCounters): AsyncGenerator<LineResult[]> {
  for await (const b of readResults([src], opts, totals)) {
    for (const r of b.results) {
      const e = r.kind === 'event' || r.kind === 'issue' ? r.event : undefined;
      if (e !== undefined && e.host === null) e.host = label;
    }
    yield b.results;
  }
}

/** The report, built from validated options (exported for tests: no rendering, no output). */
export async function buildReportFromInputs(
  opts: ReportCliOptions, io: CliIO, signal?: AbortSignal,
  /**
   * `events`: one log is read as events too, not packets (tests hold the two ways equal); `sourceErrors`: where a
   * file that fails mid-read is reported (the report covers the rest)
   */
  internal: { events?: boolean; sourceErrors?: ReturnType<typeof reportSourceErrors> } = {},
): Promise<Report> {
  // the catalog files, roles and the ruleset are checked before the logs are read: a typo fails at once, not after a
  // long read. --catalog files name the flows' ports with or without --platform, as in analyze
  const catalog = opts.platform !== undefined || opts.catalogs.length > 0 ? loadCatalog(opts.catalogs) : undefined;
  let suggestFn: SuggestFn | undefined;
  let ruleset: Ruleset | undefined;
  // one event per flow for the engine (egress detection, the ruleset trace); copied, so it pins no input chunk
  let firstEvents: Map<string, DropEvent> | undefined;
  if (opts.platform !== undefined && catalog !== undefined) {
    if (opts.cni !== undefined) checkCni(catalog, opts.platform, opts.cni);
    if (opts.addons !== undefined) checkAddons(catalog, opts.platform, opts.addons);
    checkPlatformRoles(catalog, opts.platform, [...(opts.role !== undefined ? [opts.role] : []), ...opts.hostRoles.map(([, r]) => r)]);
    ruleset = opts.ruleset === undefined ? undefined : await loadRuleset(opts.ruleset);
    if (ruleset !== undefined) for (const w of ruleset.warnings) io.stderr.write(`fwdiag report: ruleset: ${escapeControl(w)}\n`);
    const hostRoles = new Map(opts.hostRoles);
    const platform = opts.platform;
    const kept = new Map<string, DropEvent>();
    firstEvents = kept;
    suggestFn = (flows, keys) => {
      const withEvents: SuggestFlow[] = [];
      for (let i = 0; i < flows.length; i++) {
        const f = flows[i]!;
        // hosts without a role get no suggestion (the engine needs one for every flow)
        if (opts.role === undefined && (f.host === null || !hostRoles.has(f.host))) continue;
        const e = kept.get(keys[i]!);
        withEvents.push(e === undefined ? f : { ...f, event: e });
      }
      const ctx: SuggestContext = {
        catalog, platform, role: opts.role ?? opts.hostRoles[0]![1], hostRoles, allowUnknown: opts.allowUnknown, sampleLines: 0,
        controlPlane: opts.controlPlane,
        ...(opts.clusterSubnet === undefined ? {} : { clusterSubnet: opts.clusterSubnet }),
        ...(opts.cni === undefined ? {} : { cni: opts.cni }),
        ...(opts.addons === undefined ? {} : { addons: opts.addons }),
        ...(ruleset === undefined ? {} : { ruleset }),
      };
      return suggest(withEvents, ctx).suggestions;
    };
  }

  const classifier = createClassifier(opts.classifier, { services: catalogServiceLookup(opts.platform, catalog) });
  const agg = new ReportAggregate({ window: opts.window });
  const sources = await openInputs({ files: opts.files, follow: false, kmsg: opts.kmsg, stdin: io.stdin });
  const size = opts.progress && io.stderr.isTTY === true ? await totalSize(opts.files) : null;
  const progress = size !== null && size >= PROGRESS_MIN_BYTES ? createProgress({ stderr: io.stderr, total: size, now: io.now }) : null;
  const totals: ParseCounters = { lines: 0, events: 0, skipped: 0, issues: 0, cut: 0, otherPrefix: 0 };
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted === true) stop.abort();
  const prefixesSeen = new Map<string, number>();
  // a file that fails mid-read (a truncated gzip) is reported, the others still read; the exit code says so
  const sourceErrors = internal.sourceErrors ?? reportSourceErrors(io.stderr);
  const ropts = { tz: opts.tz, now: io.now, signal: stop.signal, prefixes: opts.prefixes, prefixesSeen, onSourceError: sourceErrors.onSourceError };
  /** the verdict rank of each kept event */
  const keptRank = new Map<string, number>();
  /**
   * The flow of `c` when its event is the first the suggestion engine may trace, or the first of a higher verdict
   * than the one kept (an undetermined packet, then the flow's block): then kept with keepFirst. As suggest keeps it.
   */
  const firstOf = (c: Observation): Flow | undefined => {
    // lost-state and broadcast packets are never traced: they do not use up the budget (a flow that turns into a
    // block keeps the event of its first packet judged so)
    if (firstEvents === undefined || c.kind !== 'drop' || c.verdict === 'scan' || c.flow === undefined ||
      c.verdict === 'conntrack-loss' || c.verdict === 'broadcast') return undefined;
    const kept = keptRank.get(c.flow.key);
    if (kept === undefined) return firstEvents.size < MAX_SAMPLED_FLOWS ? c.flow : undefined;
    return verdictRank(c.verdict) > kept ? c.flow : undefined;
  };
  // parser strings are slices of the input batch: a JSON round trip makes flat copies
  const keepFirst = (f: Flow, e: DropEvent, verdict: Verdict): void => {
    firstEvents!.set(f.key, JSON.parse(JSON.stringify(e)) as DropEvent);
    keptRank.set(f.key, verdictRank(verdict));
  };
  const take = (r: LineResult): void => {
    const e = r.kind === 'event' || r.kind === 'issue' ? r.event : undefined;
    if (e === undefined) return;
    const c = classifier.classify(e);
    agg.add(c, e.host ?? '-', classifier.lastWallMs);
    const f = firstOf(c);
    if (f !== undefined) keepFirst(f, e, c.verdict);
  };
  const progressed = (): void => {
    if (progress === null) return;
    let bytes = 0;
    for (const s of sources) bytes += s.stats.bytes;
    progress.update(bytes);
  };
  try {
    if (sources.length === 1) {
      // one log: nothing to merge, so each event is classified as soon as it is parsed (still in cache, dying young)
      // Lines the scanner reads come as packets (no event object; the flow's first event is built when kept).
      const label = hostLabelsOf(sources)[0]!;
      const each = (r: LineResult): void => {
        const e = r.kind === 'event' || r.kind === 'issue' ? r.event : undefined;
        if (e !== undefined && e.host === null) e.host = label;
        take(r);
      };
      const packets = (p: Packet, event: () => DropEvent): void => {
        if (p.host === null) p.host = label;
        const c = classifier.observe(p);
        agg.observed(c, p.ts ?? wallOrNull(classifier.lastWallMs), p.mono, p.host);
        // the event is built only for a flow's first packet
        const f = firstOf(c);
        if (f !== undefined) keepFirst(f, { ...event(), host: p.host }, c.verdict);
      };
      const how = internal.events === true ? { ...ropts, each } : { ...ropts, each, packets };
      for await (const _ of readResults(sources, how, totals)) progressed();
    } else {
      const labels = hostLabelsOf(sources);
      for await (const batch of mergeByTime(sources.map((s, i) => labelled(s, labels[i]!, ropts, totals)))) {
        for (let i = 0; i < batch.length; i++) take(batch[i]!);
        progressed();
      }
    }
  } finally {
    progress?.done();
    signal?.removeEventListener('abort', onAbort);
  }
  // --window is wall-clock time (the report's clock with one): drops timed only by the kernel's monotonic clock (dmesg of a
  // host whose boot time is unknown) cannot be placed against it — every one would fall before it, every block "outside
  // the window"
  if (opts.window !== undefined && agg.first === Infinity && agg.untimed > 0) {
    throw new InputError('--window: the input has only kernel monotonic times (boot+…), no wall clock to place the window on; ' +
      'leave --window out (windows are detected) or give logs with wall-clock stamps (dmesg --time-format iso, journalctl, syslog)');
  }
  let bytes = 0;
  for (const s of sources) bytes += s.stats.bytes;
  return buildReport(agg, classifier, {
    now: io.now(),
    settleMs: classifierOptionsSchema.parse(opts.classifier).settleMs,
    window: opts.window,
    windowOptions: opts.windowOptions,
    maxRows: opts.maxRows,
    suggest: suggestFn,
    input: { sources: sources.map((s) => s.name), lines: totals.lines, events: totals.events, skipped: totals.skipped, issues: totals.issues, cut: totals.cut, otherPrefix: totals.otherPrefix, prefixes: Object.fromEntries(prefixesSeen), bytes, ...overwrittenKey(overwrittenOf(sources)) },
    ...(ruleset === undefined ? {} : { logRateLimit: rateLimitedLogRules(ruleset, new Set(prefixesSeen.keys())) }),
  });
}

export function renderReport(r: Report, format: ReportCliOptions['format']): string {
  return format === 'html' ? renderHtml(r) : format === 'json' ? renderJson(r) : renderMarkdown(r);
}

export async function runReport(opts: ReportCliOptions, io: CliIO, signal?: AbortSignal): Promise<number> {
  if (opts.format === 'html' && opts.output === undefined && io.stdout.isTTY === true) {
    throw new UsageError('--format html writes a file: give -o FILE (or redirect stdout)');
  }
  guardOutput(io.stdout);
  const sourceErrors = reportSourceErrors(io.stderr);
  const report = await buildReportFromInputs(opts, io, signal, { sourceErrors });
  const text = renderReport(report, opts.format);
  if (opts.output !== undefined) {
    try {
      await writeFile(opts.output, text);
    } catch (e) {
      throw new InputError(`cannot write ${opts.output}: ${(e as Error).message}`, { cause: e });
    }
    io.stderr.write(`fwdiag report: ${escapeControl(report.verdict.text)}\nfwdiag report: wrote ${escapeControl(opts.output)}\n`);
  } else if (!isOutputClosed(io.stdout)) {
    await writeLines(io.stdout, text);
  }
  if (report.input.issues > 0) io.stderr.write(`fwdiag report: ${report.input.issues} line(s) could not be fully parsed\n`);
  if (sourceErrors.failed()) return 1;
  return failed(report.verdict.level, opts.failOn) ? EXIT_FAIL_ON : 0;
}

/** The exit code of `report --fail-on` when the verdict reaches the level asked for (1 and 2 are errors). */
export const EXIT_FAIL_ON = 3;

const LEVEL_RANK = { ok: 0, check: 1, action: 2 } as const;

/** Whether verdict `level` is `failOn` or worse: `check` fails on check and action, `action` on action only. */
export function failed(level: Report['verdict']['level'], failOn: ReportCliOptions['failOn']): boolean {
  return failOn !== undefined && LEVEL_RANK[level] >= LEVEL_RANK[failOn];
}

export const reportCommand: Command = async (argv, io) => {
  const opts = parseReportArgs(argv);
  if (opts === 'help') {
    guardOutput(io.stdout);
    await writeLines(io.stdout, REPORT_USAGE);
    return 0;
  }
  return withSignals((signal) => runReport(opts, io, signal));
};
