/**
 * Many hosts' logs, merged by time: a k-way merge over per-source streams of parse results. Each log file is
 * itself in time order, so holding one batch per source (≈ 1000 lines) and always taking the earliest head gives
 * one time-ordered stream with memory flat in the input size (k batches, a heap of k cursors).
 *
 * A result without a time (a parse issue with no event, a line without any stamp) keeps its place in its own
 * source: it takes the time of the source's previous result.
 */
import type { LineResult } from '../parse/event.js';

interface Cursor {
  it: AsyncIterator<LineResult[]>;
  batch: LineResult[];
  pos: number;
  /** time of the head result (carried forward when it has none) */
  key: number;
  /** source index: ties go to the earlier source, so the merge is deterministic */
  idx: number;
}

/**
 * Kernel monotonic times are keyed after every wall-clock time (a wall-clock ms is below 2.6e14 for any year up to
 * 9999; doubles from 2^52 on still hold whole ms): the two clocks do not compare, and lines with a wall-clock time
 * come first, so a report's timeline takes the wall clock whenever some input has one.
 */
const MONO_KEY_BASE = 2 ** 52;

/** A result's merge key: its wall-clock time, else MONO_KEY_BASE + its kernel monotonic time (ms), else null. */
export function resultTime(r: LineResult): number | null {
  const e = r.kind === 'event' ? r.event : r.kind === 'issue' ? r.event : undefined;
  if (e === undefined) return null;
  if (e.ts !== null) return e.ts;
  return e.mono !== null ? MONO_KEY_BASE + e.mono * 1000 : null;
}

function before(a: Cursor, b: Cursor): boolean {
  return a.key < b.key || (a.key === b.key && a.idx < b.idx);
}

/** Advances `c` to a non-empty batch; false at the end of its stream. */
async function fill(c: Cursor): Promise<boolean> {
  while (c.pos >= c.batch.length) {
    const n = await c.it.next();
    if (n.done === true) return false;
    c.batch = n.value;
    c.pos = 0;
  }
  c.key = resultTime(c.batch[c.pos]!) ?? c.key;
  return true;
}

/**
 * Merges time-ordered streams of result batches into one time-ordered stream of batches of about `batchSize`.
 * One stream passes straight through.
 */
export async function* mergeByTime(streams: ReadonlyArray<AsyncIterable<LineResult[]>>, batchSize = 1024): AsyncGenerator<LineResult[]> {
  if (streams.length === 1) {
    yield* streams[0]!;
    return;
  }
  const heap: Cursor[] = [];
  const its: AsyncIterator<LineResult[]>[] = streams.map((s) => s[Symbol.asyncIterator]());
  try {
    for (let i = 0; i < its.length; i++) {
      const c: Cursor = { it: its[i]!, batch: [], pos: 0, key: -Infinity, idx: i };
      if (await fill(c)) push(heap, c);
    }
    let out: LineResult[] = [];
    while (heap.length > 0) {
      const c = heap[0]!;
      out.push(c.batch[c.pos++]!);
      if (c.pos < c.batch.length) {
        c.key = resultTime(c.batch[c.pos]!) ?? c.key;
        down(heap, 0);
      } else {
        // hand over what we have before waiting on this source's next read
        if (out.length > 0) {
          yield out;
          out = [];
        }
        if (await fill(c)) down(heap, 0);
        else {
          const last = heap.pop()!;
          if (heap.length > 0 && last !== c) {
            heap[0] = last;
            down(heap, 0);
          }
        }
      }
      if (out.length >= batchSize) {
        yield out;
        out = [];
      }
    }
    if (out.length > 0) yield out;
  } finally {
    // stop every source (closes files) when the consumer stops early
    await Promise.all(its.map((it) => it.return?.()));
  }
}

function push(h: Cursor[], c: Cursor): void {
  h.push(c);
  let i = h.length - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!before(h[i]!, h[p]!)) break;
    [h[i], h[p]] = [h[p]!, h[i]!];
    i = p;
  }
}

function down(h: Cursor[], i: number): void {
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < h.length && before(h[l]!, h[m]!)) m = l;
    if (r < h.length && before(h[r]!, h[m]!)) m = r;
    if (m === i) return;
    [h[i], h[m]] = [h[m]!, h[i]!];
    i = m;
  }
}
