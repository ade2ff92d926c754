/**
 * The live view's edge: reads the inputs, classifies, feeds the store, runs Ink on the terminal, and on `q` /
 * Ctrl-C prints analyze's human summary. Keys come from /dev/tty because stdin is usually the log pipe.
 *
 * The reading loop never awaits rendering: it pushes a batch into the store synchronously, then yields to the event
 * loop (setImmediate) so Ink can draw and keys arrive; the store limits redraws to 10 a second.
 */
import { openSync, closeSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { ReadStream, isatty } from 'node:tty';
import type { CliIO } from '../cli/io.js';
import { readResults } from '../cli/read-loop.js';
import { signalController } from '../cli/signals.js';
import { createClassifier, type Classifier, type ClassifyResult, type Observation } from '../classify/classifier.js';
import type { Flow } from '../classify/flows.js';
import { suggest, type SuggestContext, type SuggestFlow } from '../suggest/index.js';
import type { ClassifierOptionsInput } from '../classify/options.js';
import { catalogServiceLookup, type ServiceLookup } from '../classify/services.js';
import { overwrittenOf, type LineSource } from '../input/types.js';
import type { DropEvent, LineResult, Packet, ParseCounters } from '../parse/event.js';
import { createAnalyzeHumanWriter } from '../output/analyze-human.js';
import { escapeControl } from '../output/escape.js';
import { guardOutput, isOutputClosed } from '../output/safe-stdout.js';
import { formatTrace, limitedLogRulesByPrefix, logLimitRate, trace, type LogRateLimit, type Ruleset } from '../ruleset/index.js';
import { addonsSentence, fragmentFileName, fragmentYaml, suggestionsToFragment } from './fragment.js';
import { createViewStore, detachEvent, type ViewStore } from './store.js';

export interface LiveOptions {
  /** the opened inputs (read in order, like analyze) */
  sources: LineSource[];
  io: CliIO;
  /** zone for stamps without an offset @default local */
  tz?: string | undefined;
  /** only LOG lines of these prefixes @default all */
  prefixes?: string[] | undefined;
  /** validated by the classifier (zod) @default {} */
  classifier?: ClassifierOptionsInput;
  /** name ports from this catalog platform first */
  platform?: string | undefined;
  /** port names (analyze's, from the --catalog files too) @default the built-in catalog's, `platform` first */
  services?: ServiceLookup | undefined;
  /** colours (the CLI decides from --color, NO_COLOR, TERM) */
  color: boolean;
  /** a parsed `--ruleset`: the details pane traces the selected flow's latest packet through it */
  ruleset?: Ruleset | undefined;
  /**
   * Keeps `ruleset` current (src/cli/ruleset-watch.ts): calls `onChange` with each new ruleset, `onError` when a
   * reload fails; returns the function that stops watching. Traces, suggestions and the LOG rate note follow it.
   */
  watchRuleset?: ((onChange: (rs: Ruleset) => void, onError: (message: string) => void) => () => void) | undefined;
  /** where `w` writes its fragment @default process.cwd() */
  writeDir?: string;
  /** the terminal keys are read from @default '/dev/tty' */
  ttyPath?: string;
  /** ends the view like `q` (the caller's SIGINT/SIGTERM/SIGHUP handling) */
  signal?: AbortSignal;
  /** write the view's stats (redraws, backlog: see ViewStats) here as JSON when it ends (`FWDIAG_VIEW_STATS`) */
  statsPath?: string | undefined;
  /**
   * With a platform and role: the suggestion engine (src/suggest) replaces the interim list, recomputed at most
   * once a second from the genuine-block flows seen so far.
   * @default interim suggestions (per protocol/port, observed clients)
   */
  suggest?: Omit<SuggestContext, 'sampleLines'>;
}

/**
 * Opens the terminal for keys. Fails (no controlling terminal, e.g. under a service manager): no keys. `onGone`: a
 * read failed — the terminal hung up (EIO).
 */
function openTty(path: string, onGone: () => void): { stream: ReadStream } | { error: string } {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    if (!isatty(fd)) {
      closeSync(fd);
      return { error: `${path} is not a terminal` };
    }
    const stream = new ReadStream(fd);
    // a terminal that hangs up fails its next read (EIO): an 'error' without a listener would end the process
    stream.on('error', onGone);
    return { stream };
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    return { error: `cannot open ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
}

const ALT_SCREEN_ON = '\u001b[?1049h';
const ALT_SCREEN_OFF = '\u001b[?1049l';
const SHOW_CURSOR = '\u001b[?25h';

/**
 * Writes the suggestions as a policy fragment next to the operator, never over an existing file. A suggestion whose fix
 * is an addon to enable gets no rule: the status names the addons instead.
 */
export async function writeSuggestions(store: ViewStore, dir: string, now: () => number): Promise<void> {
  const { fragment, skipped, addons } = suggestionsToFragment(store.getSnapshot().suggestions, now());
  const toEnable = addonsSentence(addons);
  if (fragment.extra.length === 0) {
    const why = [
      addons.length > 0 && `${addons.length} suggestion${addons.length === 1 ? ' needs' : 's need'} an addon, not a rule: ${toEnable} (compile then opens its ports)`,
      skipped.length > 0 && `${skipped.length} suggestions refused by the fragment schema`,
    ].filter((x) => x !== false);
    store.setStatus(why.length > 0 ? `nothing written: ${why.join('; ')}` : 'nothing to write: no suggestions yet');
    return;
  }
  const asides = [
    skipped.length > 0 && `${skipped.length} skipped`,
    addons.length > 0 && `no rule for ${addons.length} suggestion${addons.length === 1 ? '' : 's'}: ${toEnable}`,
  ].filter((x) => x !== false);
  const base = fragmentFileName(now());
  // never overwrite: a second `w` in the same second gets a numbered name
  for (let i = 1; i <= 20; i++) {
    const path = resolve(join(dir, i === 1 ? base : base.replace(/\.yaml$/, `-${i}.yaml`)));
    try {
      await writeFile(path, fragmentYaml(fragment), { flag: 'wx', mode: 0o644 });
      const n = fragment.extra.length;
      store.setStatus(`wrote ${n} rule${n === 1 ? '' : 's'} to ${path}${asides.length > 0 ? ` (${asides.join('; ')})` : ''}`);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      store.setStatus(`could not write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      return;
    }
  }
  store.setStatus(`could not write ${resolve(join(dir, base))}: too many fragments this second`);
}

/** What the header names as the input: the sources' names, stdin (`-`) as `stdin`. */
export function inputLabel(sources: ReadonlyArray<Pick<LineSource, 'name'>>): string {
  return sources.map((s) => (s.name === '-' ? 'stdin' : s.name)).join(', ') || 'stdin';
}

/** Flows held for the engine; beyond it new genuine-block flows are not considered (the interim cap too). */
const MAX_ENGINE_FLOWS = 2_000;

/**
 * The suggestion engine in the live view: genuine-block flows are collected from the classifier's flow changes and
 * `suggest()` runs at most once a second when they changed — never per line.
 */
export function liveEngine(initial: Omit<SuggestContext, 'sampleLines'>, classifier: Classifier, store: ViewStore, now: () => number) {
  let ctx = initial;
  const flows = new Set<Flow>();
  /** a packet of each flow (the one that made it a genuine block), for the trace through `ruleset` */
  const events = new WeakMap<Flow, DropEvent>();
  let changed = false;
  let last = 0;
  return {
    /** A classified packet (`event()`: its event, valid during the call). */
    observe(r: Pick<Observation, 'changes' | 'flow'>, event: () => DropEvent): void {
      if (r.changes === undefined) return;
      for (const c of r.changes) {
        if (c.flow.verdict === 'genuine-block' && !flows.has(c.flow) && flows.size < MAX_ENGINE_FLOWS) {
          flows.add(c.flow);
          if (c.flow === r.flow) events.set(c.flow, detachEvent(event()));
        }
        changed = true;
      }
    },
    /** A new ruleset (reloaded): suggestions are recomputed against it (a rule added since is no longer proposed). */
    setRuleset(rs: Ruleset): void {
      ctx = { ...ctx, ruleset: rs };
      changed = true;
    },
    /** Recomputes when flows changed and a second has passed (`force`: whenever they changed). */
    batch(force = false): void {
      const t = now();
      if (!changed || (!force && t - last < 1000)) return;
      changed = false;
      last = t;
      const list: SuggestFlow[] = [];
      for (const f of flows) {
        if (f.verdict !== 'genuine-block') continue;
        const event = events.get(f);
        list.push(event === undefined ? classifier.flowSummary(f) : { ...classifier.flowSummary(f), event });
      }
      const { suggestions } = suggest(list, { ...ctx, sampleLines: 0 });
      const accepted = suggestions.filter((s) => s.kind === 'already-accepted').length;
      const accepts = suggestions.filter((s) => s.action === 'accept').length;
      const note = accepts > 0 || list.length === 0 ? null
        : accepted > 0 ? `none: the ruleset accepts what was blocked (${accepted} group${accepted === 1 ? '' : 's'}: rules added since, or another ruleset logged them)`
        : 'none: no ACCEPT to propose (unknown ports, other roles, sources outside the catalog scope: fwdiag suggest says which)';
      store.setSuggestions(
        suggestions
          .filter((s) => s.action === 'accept')
          .map((s) => ({
            proto: s.proto,
            ports: s.ports,
            sources: s.sources,
            ...(s.sources.length === 0 && s.families.length === 1 ? { family: s.families[0] } : {}),
            // the rule's narrowing beyond ports and sources: `w` writes what suggest's fragment writes
            ...(s.icmpTypes === undefined ? {} : { icmpTypes: s.icmpTypes }),
            ...(s.sourcePort === undefined ? {} : { sourcePort: s.sourcePort }),
            ...(s.service !== null ? { service: s.service } : {}),
            ...(s.addon === undefined ? {} : { addon: s.addon }),
            reason: s.reason,
            rendered: `${s.addon === undefined ? 'allow' : `enable addon ${s.addon} (policy addons):`} ${s.proto}/${s.ports.length > 0 ? s.ports.join(',') : s.icmpTypes !== undefined ? `type ${s.icmpTypes.join(',')}` : '*'}${s.sourcePort !== undefined ? ` from port ${s.sourcePort}` : ''}${s.service !== null ? ` (${s.service})` : ''} from ${s.sources.length === 0 ? 'anywhere' : s.sources.join(', ')}  [${s.confidence}, role ${s.role}]`,
          })),
        note,
      );
    },
  };
}

/**
 * Redraw pacing. The store notifies at most every 100 ms (10 redraws a second); the live view spaces redraws further
 * when they would crowd out parsing:
 * - while the view keeps up, a redraw (Ink's layout and output for the whole screen: ~20 ms for 120x40 on a small VM,
 *   more with React's part) is followed by at least RENDER_SHARE times its duration without one;
 * - while the view catches up — the main thread was busy more than BUSY of the time since the last redraw, or more
 *   than BEHIND_BYTES of input wait in the reading thread's queue (~50 ms of input at 100,000 lines/s) — the table
 *   is rebuilt only once a second (ROWS_CATCHING_UP_MS), and redraws, mostly of the header then, come every
 *   BEHIND_SPACING_MS: parsing catches up first, and the header still moves. Spacing them further was tried: 500 ms
 *   let parsing catch up a little sooner, but the header then showed counts half a second old — as RENDER_SHARE did
 *   at the start of a flood, when the first redraws (code not yet optimised) take 50-90 ms.
 */
const RENDER_SHARE = 6;
const BUSY = 0.9;
const BEHIND_BYTES = 1024 * 1024;
const BEHIND_SPACING_MS = 250;

/** What `FWDIAG_VIEW_STATS=FILE` records (written when the view ends): how often it drew and how far input queued. */
export interface ViewStats {
  /** Ink renders (each a redraw at most) */
  frames: number;
  /** the most renders in any one-second window */
  maxFramesPerSecond: number;
  /** store notifications (snapshots built on the timer, and flushes) */
  snapshots: number;
  /** Ink's render time per frame (layout and output, not React's reconcile), ms */
  renderMsMax: number;
  renderMsMean: number;
  /** lines read */
  lines: number;
  /** the most bytes a reading thread held ahead of the parser */
  maxBacklogBytes: number;
  /** the process's peak resident memory, MB */
  maxRssMB: number;
  /** from the start of the view to its end, ms */
  durationMs: number;
}

/** Counts redraws: at most how many fell in any one second. */
function frameCounter(): { frame: (renderMs: number) => void; stats: () => Pick<ViewStats, 'frames' | 'maxFramesPerSecond' | 'renderMsMax' | 'renderMsMean'> } {
  const recent: number[] = [];
  let frames = 0;
  let max = 0;
  let total = 0;
  let worst = 0;
  return {
    frame(renderMs) {
      const t = performance.now();
      frames++;
      total += renderMs;
      if (renderMs > worst) worst = renderMs;
      recent.push(t);
      while (recent.length > 0 && (recent[0] as number) <= t - 1000) recent.shift();
      if (recent.length > max) max = recent.length;
    },
    stats: () => ({ frames, maxFramesPerSecond: max, renderMsMax: Math.round(worst * 10) / 10, renderMsMean: frames === 0 ? 0 : Math.round((total / frames) * 10) / 10 }),
  };
}

/** Runs the live view until `q`, Ctrl-C or a signal; then prints the summary. Resolves to the exit code. */
export async function runLive(opts: LiveOptions): Promise<number> {
  const { io, sources } = opts;
  const startedAt = performance.now();
  // React's development build records a performance-track entry with a props diff for every commit: with it the view
  // read a 1M-line file at 8.5k lines/s, without it at ~38k/s on the same (loaded) machine, and its memory grew
  // without bound (1.8 GB after 26 s at 100,000 lines/s in). So always production, whatever NODE_ENV a shell exports
  // (`development` in a developer's, `test` under vitest) — set before React loads, hence the dynamic imports (which
  // also keep Ink out of `fwdiag`'s start-up when no live view runs). They take about a second on a small node: the
  // input is read meanwhile.
  process.env['NODE_ENV'] = 'production';
  const loading = Promise.all([import('react'), import('ink'), import('./app.js')]);
  // an unhandled rejection before it is awaited would end the process: it is awaited below, or the finally ends
  loading.catch(() => undefined);
  const classifier = createClassifier(opts.classifier ?? {}, { services: opts.services ?? catalogServiceLookup(opts.platform) });
  const store = createViewStore({
    now: io.now,
    source: inputLabel(sources),
    maxFlows: classifier.options.maxFlows,
  });
  const engine = opts.suggest === undefined ? undefined : liveEngine(opts.suggest, classifier, store, io.now);
  const push = engine === undefined ? (r: ClassifyResult) => store.push(r) : (r: ClassifyResult) => {
    store.push(r);
    engine.observe(r, () => r.event);
  };
  const totals: ParseCounters = { lines: 0, events: 0, skipped: 0, issues: 0, cut: 0, otherPrefix: 0 };
  // the alternate screen is on (left in the finally below, or before a second signal ends the process)
  let alt = false;
  const leaveScreen = (): void => {
    if (!alt) return;
    alt = false;
    io.stdout.write(`${SHOW_CURSOR}${ALT_SCREEN_OFF}`);
  };
  // How the view was ended: the exit status is a signal's (SIGINT 130, SIGTERM 143, SIGHUP 129: the terminal went
  // away) or Ctrl-C's (130, as the SIGINT it stands for in raw mode); `q` and the input ending are 0. A second
  // signal ends the process at once, off the alternate screen.
  const signals = signalController(leaveScreen);
  const stop = signals.controller;

  let quit!: () => void;
  const quitting = new Promise<void>((r) => {
    quit = r;
  });
  // The terminal went away (its SSH session dropped, its window closed) and no SIGHUP came to say so — the shell
  // that would send it ignores it, or fwdiag runs in a session of its own: writes fail with EIO and keys with it.
  // A view nobody sees must not read on for ever: it ends as a SIGHUP ends it. (Node 20 would also abort on a normal
  // exit, failing to reset the dead terminal's modes: a death by SIGHUP skips that.)
  const terminalGone = (): void => {
    signals.note('SIGHUP');
    quit();
  };
  guardOutput(io.stdout);
  const onOutputGone = (): void => {
    if (isOutputClosed(io.stdout)) terminalGone();
  };
  io.stdout.on('error', onOutputGone);
  io.stdout.on('close', onOutputGone);
  stop.signal.addEventListener('abort', () => quit(), { once: true });
  const onOuter = (): void => quit();
  opts.signal?.addEventListener('abort', onOuter, { once: true });
  if (opts.signal?.aborted === true) quit();

  const frames = frameCounter();
  let maxBacklog = 0;
  // redraw spacing asked by the render cost, the main thread's load and the backlog (see RENDER_SHARE)
  let renderMs = 0;
  let busy = false;
  let behind = false;
  let elu = performance.eventLoopUtilization();
  const pace = (): void => {
    const catchingUp = behind || busy;
    store.setSpacing(catchingUp ? BEHIND_SPACING_MS : RENDER_SHARE * renderMs);
    store.setCatchingUp(catchingUp);
  };
  const onFrame = (ms: number): void => {
    frames.frame(ms);
    // a moving average: one slow frame (a GC, the first frames before the JIT) spaces the next few only
    renderMs = renderMs === 0 ? ms : 0.7 * renderMs + 0.3 * ms;
    const now = performance.eventLoopUtilization();
    busy = performance.eventLoopUtilization(now, elu).utilization > BUSY;
    elu = now;
    pace();
  };

  // the view stays until quit, like less: once the input has ended and without a terminal for keys nothing else
  // keeps the event loop alive
  const keepAlive = setInterval(() => undefined, 1 << 30);
  // a quiet live input delivers no batch: recompute suggestions on a timer too
  const engineTick = engine === undefined ? undefined : setInterval(() => engine.batch(), 1000);
  engineTick?.unref();
  let inputError: unknown;
  const queued = sources.filter((s) => s.backlog !== undefined);
  // the ruleset's rate-limited LOG rules by prefix: once a line of one of them comes, the header says its limit
  let limited = opts.ruleset === undefined ? new Map<string, LogRateLimit>() : limitedLogRulesByPrefix(opts.ruleset);
  let limitShown = limited.size === 0;
  // the ruleset the details pane traces through, replaced when --ruleset is reloaded
  let model = opts.ruleset;
  const stopWatch = model === undefined || opts.watchRuleset === undefined ? undefined : opts.watchRuleset(
    (rs) => {
      model = rs;
      engine?.setRuleset(rs);
      // a LOG rule's rate limit may have come or gone: the next line of its prefix says so again
      limited = limitedLogRulesByPrefix(rs);
      limitShown = limited.size === 0;
      if (limitShown) store.setLogLimit(null);
      let rules = 0;
      for (const t of rs.tables) for (const c of t.chains) rules += c.rules.length;
      store.rulesetChanged(`ruleset reloaded: ${rs.tables.length} table${rs.tables.length === 1 ? '' : 's'}, ${rules} rule${rules === 1 ? '' : 's'}`);
    },
    (message) => store.setStatus(`ruleset not reloaded: ${message}`),
  );
  const reading = (async () => {
    try {
      const limit = (prefix: string): void => {
        const x = limited.get(prefix);
        if (x === undefined) return;
        store.setLogLimit(logLimitRate(x));
        limitShown = true;
      };
      // lines the scanner reads come as packets (one object refilled per line): their events are built only where
      // the store keeps one (a row's first packet, evidence within its budget) or the engine a genuine block's
      const packets = (p: Packet, event: () => DropEvent): void => {
        if (!limitShown) limit(p.prefix);
        const o = classifier.observe(p);
        store.pushPacket(o, event);
        engine?.observe(o, event);
      };
      const each = (r: LineResult): void => {
        if (r.kind === 'event') {
          if (!limitShown) limit(r.event.prefix);
          push(classifier.classify(r.event));
        } else if (r.kind === 'issue') {
          store.addIssue();
          if (r.event !== undefined) push(classifier.classify(r.event));
        }
      };
      for await (const _ of readResults(sources, { tz: opts.tz, now: io.now, signal: stop.signal, prefixes: opts.prefixes, each, packets }, totals)) {
        if (engine !== undefined) engine.batch();
        let lines = 0;
        for (const s of sources) lines += s.stats.lines;
        store.setLines(lines);
        store.setOtherPrefix(totals.otherPrefix);
        store.setLost(overwrittenOf(sources));
        // the header's `evicted` while the input goes on: a live input may never end to give the summary's (the
        // header said `? evicted` for good once --max-flows flows were seen)
        store.setEvicted(classifier.flowsEvicted);
        if (queued.length > 0) {
          let backlog = 0;
          for (const s of queued) backlog += s.backlog!();
          if (backlog > maxBacklog) maxBacklog = backlog;
          if (behind !== backlog > BEHIND_BYTES) {
            behind = !behind;
            pace();
          }
        }
        // let Ink draw and keys arrive before the next batch
        await new Promise<void>((r) => setImmediate(r));
      }
      if (!stop.signal.aborted) {
        behind = false;
        busy = false;
        pace();
        engine?.batch(true);
        const s = classifier.end().summary;
        store.setEnded({
          counts: { 'conntrack-loss': s['conntrack-loss'], 'genuine-block': s['genuine-block'], scan: s.scan, broadcast: s.broadcast, undetermined: s.undetermined },
          evicted: s.flowsEvicted,
        });
      }
    } catch (e) {
      inputError = e;
      store.setStatus(`input error: ${escapeControl((e as Error).message)}`);
      store.setEnded();
    }
  })();

  let ink: { unmount: () => void; waitUntilExit: () => Promise<unknown> } | undefined;
  let tty: ReturnType<typeof openTty> | undefined;
  try {
    const [{ createElement }, { render }, { App }] = await loading;
    tty = openTty(opts.ttyPath ?? '/dev/tty', terminalGone);
    if ('error' in tty) store.setNoKeys(tty.error);
    // Ink must never touch process.stdin (the log): without a terminal for keys it gets an inert stream
    const keysIn = 'stream' in tty ? tty.stream : (Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.ReadStream);

    const traceLines = model === undefined ? undefined : (e: Parameters<typeof trace>[1]) => formatTrace(trace(model!, e));

    const stdout = io.stdout as unknown as NodeJS.WriteStream;
    if (io.stdout.isTTY === true) {
      io.stdout.write(ALT_SCREEN_ON);
      alt = true;
    }
    ink = render(
      createElement(App, {
        store,
        color: opts.color,
        keys: 'stream' in tty,
        describe: (f) => classifier.flowSummary(f).reason,
        trace: traceLines,
        onQuit: (how) => {
          if (how === 'interrupt') signals.note('SIGINT');
          quit();
        },
        onWrite: () => void writeSuggestions(store, opts.writeDir ?? process.cwd(), io.now),
      }),
      {
        stdout, stdin: keysIn, stderr: io.stderr as unknown as NodeJS.WriteStream, maxFps: 10, exitOnCtrlC: false,
        onRender: ({ renderTime }) => onFrame(renderTime),
      },
    );
    await quitting;
  } finally {
    stop.abort();
    opts.signal?.removeEventListener('abort', onOuter);
    // a source blocked on a pipe ends at its next chunk; the summary does not wait for it
    await Promise.race([reading, new Promise((r) => setTimeout(r, 500).unref())]);
    store.flush();
    if (ink !== undefined) {
      ink.unmount();
      await ink.waitUntilExit().catch(() => undefined);
    }
    store.dispose();
    clearInterval(keepAlive);
    if (engineTick !== undefined) clearInterval(engineTick);
    stopWatch?.();
    if (tty !== undefined && 'stream' in tty) tty.stream.destroy();
    leaveScreen();
    signals.dispose();
    io.stdout.off('error', onOutputGone);
    io.stdout.off('close', onOutputGone);
  }

  if (opts.statsPath !== undefined) {
    let lines = 0;
    for (const s of sources) lines += s.stats.lines;
    const stats: ViewStats = {
      ...frames.stats(),
      snapshots: store.getSnapshot().version,
      lines,
      maxBacklogBytes: maxBacklog,
      maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      durationMs: Math.round(performance.now() - startedAt),
    };
    await writeFile(opts.statsPath, `${JSON.stringify(stats)}\n`).catch(() => undefined);
  }

  const result = classifier.finish();
  let bytes = 0;
  for (const s of sources) bytes += s.stats.bytes;
  const overwritten = overwrittenOf(sources);
  const writer = createAnalyzeHumanWriter({ stdout: io.stdout, color: opts.color, describe: (f) => classifier.flowSummary(f) });
  const input = { ...totals, sources: sources.length, bytes, ...(overwritten > 0 ? { overwritten } : {}) };
  await writer.end({ ...result, summary: { ...result.summary, input } });
  if (inputError !== undefined) throw inputError;
  return signals.exitCode(0);
}
