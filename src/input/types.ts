import type { Piece } from './split-lines.js';

/**
 * Input adapters turn bytes from somewhere (stdin, files, gzip, a followed file, /dev/kmsg) into batches of
 * text lines. They own all I/O; the parser never touches a stream.
 */

/** Counters an input keeps while it reads. All are cumulative. */
export interface InputStats {
  /** bytes read from the underlying source (compressed bytes for gzip) */
  bytes: number;
  /** lines delivered */
  lines: number;
  /** lines longer than the cap, delivered cut to the cap */
  cut: number;
  /** /dev/kmsg: records the kernel overwrote before we read them (from sequence gaps / EPIPE) */
  overwritten: number;
  /** times a followed file was seen rotated or truncated */
  rotations: number;
}

export interface LineSource {
  /** what to call it in messages and events: a path, `-` for stdin, `/dev/kmsg` */
  readonly name: string;
  /** wall-clock time of boot in ms since the epoch when known (live /dev/kmsg), to date monotonic stamps */
  readonly bootTimeMs?: number;
  /** the machine every line comes from, when the lines name none (/dev/kmsg: this one) */
  readonly host?: string;
  readonly stats: InputStats;
  /**
   * Batches of complete lines, without their line terminators, in input order.
   * Consumers pull: a source never reads ahead more than a bounded amount (backpressure).
   */
  batches(signal?: AbortSignal): AsyncIterable<string[]>;
  /**
   * The same input as batches() (use one or the other, once), with complete lines mid-chunk left as byte runs for
   * LineParser.parseBytes() (see Piece in split-lines.ts). Only sources that read byte streams offer it. Lines in
   * byte runs are not counted in `stats.lines` by the source: the consumer that splits them adds them.
   */
  pieces?(signal?: AbortSignal): AsyncIterable<Piece[]>;
  /**
   * Bytes read from the input ahead of the consumer and not yet handed to it (a reading thread's queue: see
   * thread-reader.ts). Absent: the source reads only when asked.
   */
  backlog?(): number;
}

/**
 * Records the kernel overwrote before they were read (/dev/kmsg, from sequence gaps), over all sources: lines no
 * count includes, so every command that reads --kmsg says how many.
 */
export function overwrittenOf(sources: readonly LineSource[]): number {
  let n = 0;
  for (const s of sources) n += s.stats.overwritten;
  return n;
}

/** `{ overwritten: n }` for a command's counts when some were (the key is absent otherwise). */
export function overwrittenKey(n: number): { overwritten?: number } {
  return n > 0 ? { overwritten: n } : {};
}

/** What `overwrittenOf` counts, said once for every command: "N kernel log records lost: …". */
export function overwrittenSentence(n: number, count = String(n)): string {
  return `${count} kernel log record${n === 1 ? '' : 's'} lost: the kernel overwrote them in its ring buffer before they were read`;
}

/**
 * The end of the "several LOG prefixes" sentence, said alike by every output: with lines of other prefixes left out,
 * --prefix was given, so what it did; else the advice to give it. `code` marks up a flag (Markdown, HTML, plain).
 */
export function prefixesAdvice(leftOut: boolean, code: (s: string) => string = (s) => s): string {
  return leftOut ? `: ${code('--prefix')} left the others' lines out`
    : `, and one may log packets it accepts: ${code('--prefix P')} keeps the drop rule's lines`;
}

/** Longest line delivered whole; longer lines are cut to this many bytes and counted in `stats.cut`. */
export const MAX_LINE_BYTES = 64 * 1024;
