/**
 * Bytes → lines, fast. Pure and synchronous: the input adapters feed it chunks and get back complete lines.
 *
 * Speed comes from doing the work once per chunk, not once per line or byte: the span of a chunk that holds only
 * complete lines (from just after the first `\n` to its last `\n`) is decoded with one `toString` and cut with one
 * `split('\n')` (see spanText for non-ASCII). `\n` (0x0A) never occurs inside a multi-byte UTF-8 sequence, so a span
 * that starts and ends at newlines cannot split a character. Only the line straddling a chunk boundary is copied.
 * Measured (bench/split-lines.mjs, 2 busy vCPUs): 11-19 M lines/s for 259-byte ASCII lines in 64 KiB chunks.
 */

import { isAscii } from 'node:buffer';
import { MAX_LINE_BYTES } from './types.js';

const NL = 0x0a;
const CR = 0x0d;
/** Chunks are worked in slices of this size: V8 splits and collects short strings much faster than huge ones. */
const SLICE = 64 * 1024;

export interface LineSplitterOptions {
  /**
   * Longest line delivered whole, in bytes (a trailing `\r` not counted). Longer lines are cut at a UTF-8
   * boundary at or before this many bytes, delivered, and the rest of the line up to its `\n` is discarded.
   * @default MAX_LINE_BYTES (64 KiB)
   */
  maxLineBytes?: number;
}

/**
 * What pushPieces() returns, in input order: a string is one line; a Uint8Array is a run of complete lines, each
 * ending in `\n` (a `\r` before it still to be dropped), for LineParser.parseBytes(). A run is a view of the chunk
 * passed in, valid until the caller reuses that chunk's memory.
 */
export type Piece = string | Uint8Array;

export interface LineSplitter {
  /**
   * Like push(), but complete lines in the middle of the chunk come back as bytes (runs), not decoded: the parser's
   * scanner reads them directly. Lines straddling chunk boundaries or cut at the cap still come back as strings.
   */
  pushPieces(chunk: Uint8Array): Piece[];
  /**
   * Feed a chunk; returns the lines it completed, without terminators. The chunk may be reused by the caller
   * afterwards: nothing keeps a reference to it.
   */
  push(chunk: Uint8Array): string[];
  /** End of input: returns the last line when the input did not end with `\n`. The splitter is reset. */
  end(): string[];
  /** Forget a pending partial line (e.g. the file it came from was truncated). Returns how many bytes were dropped. */
  reset(): number;
  /** Lines delivered cut to the cap so far. */
  readonly cut: number;
  /** Bytes of the partial line held since the last `\n` (capped near the line cap). */
  readonly pendingBytes: number;
}

/** Start of the last whole UTF-8 character at or before `max` bytes into `buf[start…]`. */
function cutPoint(buf: Uint8Array, start: number, max: number): number {
  let end = start + max;
  // `end` is the first byte NOT delivered; step back while it is a continuation byte (10xxxxxx) so the cut
  // falls before a character's lead byte. Three steps at most: past that the bytes are not UTF-8 anyway.
  for (let i = 0; i < 3 && end > start && ((buf[end] ?? 0) & 0xc0) === 0x80; i++) end--;
  return end;
}

function decode(buf: Buffer, start: number, end: number): string {
  return buf.toString('utf8', start, end);
}

/**
 * The lines of `buf[start, end)`, complete lines without the final `\n`. V8's UTF-8 decoder is ~10x slower once it
 * meets a non-ASCII byte, and turns every line of the chunk into a two-byte string (slower to parse too). So the span
 * is decoded as latin1 (one char per byte, so char offsets are byte offsets) and only the lines holding a byte
 * >= 0x80 are decoded again as UTF-8. For pure-ASCII spans (the kernel's lines) latin1 and UTF-8 agree.
 */
function spanText(buf: Buffer, start: number, end: number): string[] {
  const text = buf.toString('latin1', start, end);
  const lines = text.split('\n');
  if (isAscii(buf.subarray(start, end))) return lines;
  // Find the non-ASCII lines by bisection with the native (SIMD) isAscii: a few calls per non-ASCII line instead of a
  // JS or regex scan of every char. offs[i] is where line i starts, in bytes from `start`.
  const offs = new Array<number>(lines.length + 1);
  offs[0] = 0;
  for (let i = 0; i < lines.length; i++) offs[i + 1] = (offs[i] as number) + (lines[i] as string).length + 1;
  // When many lines are non-ASCII, bisecting costs more than it saves: decode the span as UTF-8 in one go instead.
  let budget = (lines.length >>> 3) + 2;
  const fix = (lo: number, hi: number): void => {
    if (budget < 0) return;
    const from = start + (offs[lo] as number);
    const to = start + (offs[hi] as number) - 1;
    if (isAscii(buf.subarray(from, to))) return;
    if (hi - lo === 1) {
      budget--;
      lines[lo] = decode(buf, from, to);
      return;
    }
    const mid = (lo + hi) >>> 1;
    fix(lo, mid);
    fix(mid, hi);
  };
  const mid = lines.length >>> 1;
  if (lines.length === 1) lines[0] = decode(buf, start, end);
  else {
    fix(0, mid);
    fix(mid, lines.length);
  }
  if (budget < 0) return decode(buf, start, end).split('\n');
  return lines;
}

export function createLineSplitter(options: LineSplitterOptions = {}): LineSplitter {
  const max = options.maxLineBytes ?? MAX_LINE_BYTES;
  if (!Number.isInteger(max) || max < 4) throw new RangeError(`maxLineBytes must be an integer >= 4, got ${max}`);
  // The partial line between chunks. Two bytes beyond the cap: a line of exactly `max` content bytes followed by
  // `\r` is still whole, so we only know a line is over the cap once we hold `max + 2` bytes without a `\n`.
  const pendingCap = max + 2;
  const maxUnits = Math.floor(max / 3);
  let pending: Buffer | undefined;
  let pendingLen = 0;
  // True after a long line was delivered cut: bytes are dropped up to the next `\n`.
  let discarding = false;
  let cut = 0;

  /** Decode one complete raw line `buf[start, end)` (no `\n`), applying the `\r` strip and the cap. */
  function lineOf(buf: Buffer, start: number, end: number): string {
    if (end > start && buf[end - 1] === CR) end--;
    if (end - start > max) {
      cut++;
      return decode(buf, start, cutPoint(buf, start, max));
    }
    return decode(buf, start, end);
  }

  /**
   * Lines of `buf[start, end)` (complete lines, final `\n` excluded) when the span is longer than the cap and may
   * hold an over-long line, whose cut must be measured in raw bytes. Rare, so it walks line by line on the buffer
   * (native indexOf, still no per-byte JS loop).
   */
  function longSpanLines(buf: Buffer, start: number, end: number, out: string[]): void {
    let from = start;
    for (;;) {
      const nl = buf.indexOf(NL, from);
      const stop = nl === -1 || nl >= end ? end : nl;
      out.push(lineOf(buf, from, stop));
      if (stop === end) return;
      from = stop + 1;
    }
  }

  function appendPending(src: Uint8Array, start: number, end: number): void {
    pending ??= Buffer.allocUnsafe(pendingCap);
    const room = pendingCap - pendingLen;
    const n = Math.min(room, end - start);
    pending.set(src.subarray(start, start + n), pendingLen);
    pendingLen += n;
  }

  /** One slice of at most SLICE bytes; `runs`: complete lines in the middle as one byte run (see Piece). */
  function pushSlice(buf: Buffer, runs: boolean, noLongLine = false): Piece[] {
    const len = buf.length;
    if (len === 0) return [];
    const first = buf.indexOf(NL);
    if (first === -1) {
      if (discarding) return [];
      appendPending(buf, 0, len);
      if (pendingLen >= pendingCap) {
        // Over the cap with no `\n` in sight: deliver the cut line now and drop the rest when it comes.
        const p = pending as Buffer;
        cut++;
        const line = decode(p, 0, cutPoint(p, 0, max));
        pendingLen = 0;
        discarding = true;
        return [line];
      }
      return [];
    }
    const last = buf.lastIndexOf(NL);
    let spanStart: number;
    let head: string | undefined;
    if (discarding) {
      discarding = false;
      spanStart = first + 1;
    } else if (pendingLen > 0) {
      // The line straddling the boundary: pending bytes + chunk up to the first `\n`, copied once.
      appendPending(buf, 0, first);
      const p = pending as Buffer;
      // appendPending stops at pendingCap, which is enough to decide the cap and to cut.
      head = lineOf(p, 0, pendingLen);
      pendingLen = 0;
      spanStart = first + 1;
    } else {
      spanStart = 0;
    }
    let out: Piece[];
    if (spanStart <= last && runs && (noLongLine || last - spanStart <= max)) {
      // No line in the run can be over the cap; the scanner drops `\r` itself.
      out = head === undefined ? [] : [head];
      out.push(buf.subarray(spanStart, last + 1));
    } else if (spanStart <= last) {
      // A span no longer than the cap cannot hold an over-long line. A longer one (big chunks) can, but only a line
      // of more than max/3 UTF-16 units may exceed max bytes (3 bytes per unit at most): check lines, not bytes.
      let lines = spanText(buf, spanStart, last);
      if (last - spanStart > max && lines.some((l) => l.length > maxUnits)) {
        lines = [];
        longSpanLines(buf, spanStart, last, lines);
      } else {
        // `\r` strip only when there is one: one native search instead of a look at every line.
        const cr = buf.indexOf(CR, spanStart);
        if (cr !== -1 && cr < last) {
          for (let i = 0; i < lines.length; i++) {
            const l = lines[i] as string;
            if (l.charCodeAt(l.length - 1) === 0x0d) lines[i] = l.slice(0, -1);
          }
        }
      }
      out = lines;
      if (head !== undefined) out.unshift(head);
    } else {
      out = head === undefined ? [] : [head];
    }
    // The new partial line after the last `\n` is copied: the caller may reuse its buffer.
    if (last + 1 < len) {
      appendPending(buf, last + 1, len);
      if (pendingLen >= pendingCap) {
        const p = pending as Buffer;
        cut++;
        out.push(decode(p, 0, cutPoint(p, 0, max)));
        pendingLen = 0;
        discarding = true;
      }
    }
    return out;
  }

  /**
   * True when every aligned window of max/2 bytes that ends within buf holds a `\n`: then no line between two of
   * its `\n` is longer than max (such a line would cover a whole window). A few native searches per chunk.
   */
  function newlineInEveryWindow(buf: Buffer): boolean {
    const w = max >> 1;
    for (let i = 0; i + w <= buf.length; i += w) {
      const nl = buf.indexOf(NL, i);
      if (nl === -1 || nl >= i + w) return false;
    }
    return true;
  }

  function pushAll(chunk: Uint8Array, runs: boolean): Piece[] {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (buf.length <= SLICE) return pushSlice(buf, runs);
    // Byte runs for the scanner need no slicing (slices are for decoding strings): one run for the whole chunk, so
    // only the line across the chunk boundary is decoded — unless a line may be over the cap.
    if (runs && newlineInEveryWindow(buf)) return pushSlice(buf, true, true);
    const out: Piece[] = [];
    for (let i = 0; i < buf.length; i += SLICE) {
      for (const l of pushSlice(buf.subarray(i, i + SLICE), runs)) out.push(l);
    }
    return out;
  }

  return {
    push(chunk: Uint8Array): string[] {
      return pushAll(chunk, false) as string[];
    },

    pushPieces(chunk: Uint8Array): Piece[] {
      return pushAll(chunk, true);
    },

    end(): string[] {
      const wasDiscarding = discarding;
      discarding = false;
      if (wasDiscarding || pendingLen === 0) {
        pendingLen = 0;
        return [];
      }
      const line = lineOf(pending as Buffer, 0, pendingLen);
      pendingLen = 0;
      return [line];
    },

    reset(): number {
      const n = pendingLen;
      pendingLen = 0;
      discarding = false;
      return n;
    },

    get cut() {
      return cut;
    },
    get pendingBytes() {
      return pendingLen;
    },
  };
}

/** Split a whole buffer at once (tests, small inputs). Same rules as the streaming splitter. */
export function splitAll(buf: Uint8Array, options: LineSplitterOptions = {}): { lines: string[]; cut: number } {
  const s = createLineSplitter(options);
  const lines = s.push(buf);
  for (const l of s.end()) lines.push(l);
  return { lines, cut: s.cut };
}
