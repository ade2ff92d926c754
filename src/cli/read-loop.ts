import type { LineSource } from '../input/types.js';
import type { DropEvent, LineResult, Packet, ParseCounters } from '../parse/event.js';
import { type NdjsonSink, createParser } from '../parse/parse-line.js';
import { escapeControl } from '../output/escape.js';
import { InputError } from './errors.js';
import { heapTick } from './heap.js';

/** What every way of reading takes. */
export interface ReadCommon {
  /** IANA zone for stamps without an offset. @default local */
  tz?: string | undefined;
  /** reference clock for RFC3164 year inference */
  now: () => number;
  /** stops reading between batches */
  signal: AbortSignal;
  /** only LOG lines of these prefixes (ParserOptions.prefixes) */
  prefixes?: readonly string[] | undefined;
  /** the LOG prefixes seen and their lines, added to as each source ends (LineParser.prefixesSeen) */
  prefixesSeen?: Map<string, number> | undefined;
  /**
   * A source that fails while it is read (a truncated gzip, an I/O error) is handed here, and reading goes on with
   * the next one: what it gave before counts. Without it, the error ends the read.
   */
  onSourceError?: ((error: InputError, source: LineSource) => void) | undefined;
}

/**
 * The onSourceError of the commands: the error on stderr as a line of its own, now (the summary still follows);
 * `failed()` tells whether one came, for the exit code.
 */
export function reportSourceErrors(stderr: { write(s: string): unknown }): { onSourceError: (e: InputError) => void; failed: () => boolean } {
  let failed = false;
  return {
    onSourceError: (e) => {
      failed = true;
      stderr.write(`fwdiag: ${escapeControl(e.message)}\n`);
    },
    failed: () => failed,
  };
}

/** Every result goes to `each` as soon as it is parsed, with its input line on demand (valid during the call). */
export type EachFn = (r: LineResult, text: () => string) => void;

/**
 * How results are handed over — one of:
 * - batches (none of the fields below): the yielded batches hold the events and issues;
 * - `ndjson`: every result goes to the source's sink instead (byte runs through parseBytesNdjson, which prints what
 *   the scanner read itself), and the batches yielded are empty: the consumer only writes out;
 * - `each`: every result goes to `each` as soon as it is parsed (events are consumed while still in cache and die
 *   young); the batches yielded are empty and only mark where the consumer may flush and await. With it, either
 *   - `packets`: lines the scanner reads come here as packets instead (LineParser.parseBytesPackets: one object
 *     refilled per line, for consumers that print few events: `event()` builds the packet's, `text()` its line), or
 *   - `jsonPackets`: each packet with its event's JSON as the scanner prints it, less the closing `}\n`
 *     (LineParser.parseBytesJsonPackets; a view valid only during the call).
 */
export type ReadLoopOptions = ReadCommon & (
  | { ndjson?: never; each?: never; packets?: never; jsonPackets?: never }
  | { ndjson: (source: LineSource) => NdjsonSink; each?: never; packets?: never; jsonPackets?: never }
  | { ndjson?: never; each: EachFn; packets?: (p: Packet, event: () => DropEvent, text: () => string) => void; jsonPackets?: never }
  | { ndjson?: never; each: EachFn; packets?: never; jsonPackets: (p: Packet, json: Uint8Array) => void }
);

/** Byte runs are parsed this much at a time, and a batch is handed over once it holds BATCH_EVENTS events. */
const SLICE_BYTES = 64 * 1024;
const BATCH_EVENTS = 256;

/**
 * How long reading goes on without a turn of the event loop. Input queued ahead (a pipe's reading thread hands
 * chunk after chunk over in one go) is otherwise consumed in promise callbacks alone, and signals, timers and the
 * live view's frames wait: `cat` of the bench corpus into `analyze` held them for up to 1.1 s. The reader resumes
 * in the turn's check phase (setImmediate), before that turn's timers, so a timer waits up to twice this, plus one
 * batch.
 */
const TURN_MS = 25;

/**
 * Returns a function to call between batches: a promise to await when the event loop has not turned for TURN_MS
 * (it resolves on the loop's next turn), else undefined. It knows the loop turned when an immediate it set ran.
 */
export function loopTurns(turnMs = TURN_MS): () => Promise<void> | undefined {
  let since = -1; // when the immediate pending was set; -1: none pending
  let wait: Promise<void> | undefined;
  let done: (() => void) | undefined;
  const turned = (): void => {
    since = -1;
    wait = undefined;
    const d = done;
    done = undefined;
    d?.();
  };
  return () => {
    const now = performance.now();
    if (since < 0) {
      since = now;
      setImmediate(turned);
      return undefined;
    }
    if (now - since < turnMs) return undefined;
    return (wait ??= new Promise<void>((resolve) => {
      done = resolve;
    }));
  };
}

/** One batch of parse results, with the source it came from. */
export interface ResultBatch {
  source: LineSource;
  results: LineResult[];
}

/**
 * Reads every source in order through its own parser (line numbers, year inference and pending journal-export
 * records are per source) and yields the results batch by batch. The consumer's awaiting between batches is what
 * gives backpressure: a source reads its next chunk only when asked. Events carry `file` when there is more than
 * one source.
 */
export async function* readResults(
  sources: LineSource[],
  opts: ReadLoopOptions,
  totals: ParseCounters,
): AsyncGenerator<ResultBatch> {
  const multi = sources.length > 1;
  const turn = loopTurns();
  for (const source of sources) {
    if (opts.signal.aborted) break;
    const parser = createParser({
      ...(opts.tz !== undefined ? { tz: opts.tz } : {}),
      now: opts.now,
      ...(source.bootTimeMs !== undefined ? { bootTimeMs: source.bootTimeMs } : {}),
      ...(multi ? { file: source.name } : {}),
      ...(opts.prefixes !== undefined ? { prefixes: opts.prefixes } : {}),
    });
    const c = parser.counters;
    const ndjson = opts.ndjson?.(source);
    const each = opts.each;
    // the text of a line that came as a string (a piece, a batch's line, a record's end)
    let lineText = '';
    const textOf = (): string => lineText;
    const sink: Pick<NdjsonSink, 'result'> | undefined = ndjson ?? (each === undefined ? undefined : { result: (r) => each(r, textOf) });
    const none: LineResult[] = [];
    // totals follow each batch (a live view shows them as they grow)
    const before = { lines: c.lines, events: c.events, skipped: c.skipped, issues: c.issues, otherPrefix: c.otherPrefix, cut: 0 };
    const sync = (): void => {
      totals.lines += c.lines - before.lines;
      totals.events += c.events - before.events;
      totals.skipped += c.skipped - before.skipped;
      totals.issues += c.issues - before.issues;
      totals.otherPrefix += c.otherPrefix - before.otherPrefix;
      totals.cut += source.stats.cut - before.cut;
      before.lines = c.lines;
      before.events = c.events;
      before.skipped = c.skipped;
      before.issues = c.issues;
      before.otherPrefix = c.otherPrefix;
      before.cut = source.stats.cut;
    };
    const batch = (results: LineResult[]): ResultBatch => {
      sync();
      return { source, results };
    };
    try {
      if (source.pieces !== undefined) {
        // Byte streams: runs of complete lines go to the scanner undecoded (parseBytes), single lines as text.
        for await (const pieces of source.pieces(opts.signal)) {
          let results: LineResult[] = sink === undefined ? [] : none;
          for (let i = 0; i < pieces.length; i++) {
            const p = pieces[i] as string | Uint8Array;
            if (typeof p === 'string') {
              lineText = p;
              const r = parser.parseLine(p);
              if (r.kind === 'event' || r.kind === 'issue') {
                if (sink === undefined) results.push(r);
                else sink.result(r);
              }
            } else if (ndjson !== undefined) {
              source.stats.lines += parser.parseBytesNdjson(p, ndjson);
            } else if (each !== undefined) {
              source.stats.lines +=
                opts.jsonPackets !== undefined ? parser.parseBytesJsonPackets(p, opts.jsonPackets, each)
                : opts.packets !== undefined ? parser.parseBytesPackets(p, opts.packets, each)
                : parser.parseBytesEach(p, each);
            } else {
              // A batch's events live until the consumer is done with it, and the young generation's scavenges
              // copy whatever is alive: runs are parsed a slice at a time and handed over every BATCH_EVENTS
              // events, so a scavenge finds few of them.
              for (let at = 0; at < p.length;) {
                let end = p.length;
                if (end - at > SLICE_BYTES) {
                  end = p.lastIndexOf(10, at + SLICE_BYTES - 1) + 1;
                  // a line longer than a slice (up to the 64 KiB cap and its newline) is a slice of its own
                  if (end <= at) end = p.indexOf(10, at) + 1 || p.length;
                }
                source.stats.lines += parser.parseBytes(at === 0 && end === p.length ? p : p.subarray(at, end), results);
                at = end;
                if (results.length >= BATCH_EVENTS) {
                  yield batch(results);
                  results = [];
                }
              }
            }
          }
          heapTick();
          yield batch(results);
          const w = turn();
          if (w !== undefined) await w;
          if (opts.signal.aborted) break;
        }
      } else for await (const lines of source.batches(opts.signal)) {
        const results: LineResult[] = new Array<LineResult>(lines.length);
        let k = 0;
        for (let i = 0; i < lines.length; i++) {
          const r = parser.parseLine(lines[i] as string);
          if (r.kind !== 'event' && r.kind !== 'issue') continue;
          if (sink === undefined) results[k++] = r;
          else {
            lineText = lines[i] as string;
            sink.result(r);
          }
        }
        results.length = k;
        heapTick();
        yield batch(results);
        const w = turn();
        if (w !== undefined) await w;
        if (opts.signal.aborted) break;
      }
      const tail = parser.flush();
      if (tail.length > 0) {
        if (sink === undefined) yield batch(tail);
        else {
          // a journal-export record's end: its lines are gone
          lineText = '';
          for (const r of tail) sink.result(r);
          yield batch(none);
        }
      }
    } catch (e) {
      if (!(e instanceof InputError) || opts.onSourceError === undefined) throw e;
      opts.onSourceError(e, source);
    } finally {
      if (opts.prefixesSeen !== undefined) {
        for (const [p, n] of parser.prefixesSeen()) opts.prefixesSeen.set(p, (opts.prefixesSeen.get(p) ?? 0) + n);
      }
      sync();
    }
  }
}
