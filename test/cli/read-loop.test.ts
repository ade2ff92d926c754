/**
 * The read loop lets the event loop turn while it works through input queued ahead (src/cli/read-loop.ts,
 * loopTurns). A pipe's reading thread hands chunk after chunk over in one go; consumed in promise callbacks alone,
 * they held signals, timers and the live view's frames for up to 1.1 s (`cat` of the bench corpus into `analyze`).
 * Here a source hands over its chunks without any I/O between them, the worst case, and a timer must keep firing.
 */
import { describe, expect, it } from 'vitest';
import { corpusText } from '../../bench/corpus.mjs';
import { loopTurns, readResults } from '../../src/cli/read-loop.js';
import type { LineSource } from '../../src/input/types.js';
import { emptyStats } from '../../src/input/file-source.js';
import type { ParseCounters } from '../../src/parse/event.js';

const RUN = Buffer.from(corpusText(2_000, 7));
const LINES = RUN.toString('latin1').split('\n').slice(0, -1);
/** chunks per source: ~1 s of parsing here either way (byte runs go to the scanner, strings to the JavaScript parser) */
const CHUNKS = { bytes: 500, strings: 250 };

/** A source whose chunks are all there already: each next() resolves at once (as from a full queue). */
function queuedSource(bytes: boolean, chunks = bytes ? CHUNKS.bytes : CHUNKS.strings): LineSource {
  return {
    name: 'queued',
    stats: emptyStats(),
    async *batches() {
      for (let i = 0; i < chunks; i++) yield LINES;
    },
    ...(bytes
      ? {
          async *pieces() {
            for (let i = 0; i < chunks; i++) yield [RUN];
          },
        }
      : {}),
  };
}

/** Reads the source to its end while a 5 ms interval runs; the longest gap between its ticks while reading. */
async function longestStall(source: LineSource): Promise<{ ms: number; stall: number; ticks: number; lines: number }> {
  const totals: ParseCounters = { lines: 0, events: 0, skipped: 0, issues: 0, cut: 0, otherPrefix: 0 };
  let t0 = performance.now();
  let last = t0;
  let stall = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    stall = Math.max(stall, now - last);
    last = now;
    ticks++;
  }, 5);
  t0 = performance.now();
  last = t0;
  let events = 0;
  try {
    const read = { now: () => Date.UTC(2026, 3, 22, 12, 30), signal: new AbortController().signal, each: () => void events++ };
    for await (const _ of readResults([source], read, totals)) {
      /* batches only pace reading */
    }
  } finally {
    clearInterval(timer);
  }
  const end = performance.now();
  stall = Math.max(stall, end - last);
  expect(events).toBe(totals.events);
  return { ms: end - t0, stall, ticks, lines: totals.lines };
}

describe('read loop: the event loop turns while queued input is read', () => {
  for (const bytes of [true, false]) {
    it(`${bytes ? 'byte runs (pieces)' : 'string batches'}: a timer waits 250 ms at most`, async () => {
      // the parser's set-up (compiling the scanner) holds the loop once, before any input: not what is measured here
      await longestStall(queuedSource(bytes, 1));
      const r = await longestStall(queuedSource(bytes));
      expect(r.lines).toBe((bytes ? CHUNKS.bytes : CHUNKS.strings) * LINES.length);
      // Without loopTurns the whole read is one stall (0.77 and 1.42 s here); with it the longest was 36-82 ms on an
      // idle machine. The bound leaves room for a loaded one, and reading must take twice as long as the bound.
      expect(r.ms).toBeGreaterThan(500);
      expect(r.stall).toBeLessThan(250);
      expect(r.ticks).toBeGreaterThan(r.ms / 100);
    });
  }

  it('loopTurns: nothing to wait for until the loop has not turned for the given time, then one shared wait', async () => {
    const turn = loopTurns(20);
    expect(turn()).toBeUndefined(); // sets an immediate
    const until = performance.now() + 25;
    while (performance.now() < until) {
      /* busy: the loop cannot turn */
    }
    const w = turn();
    expect(w).toBeInstanceOf(Promise);
    expect(turn()).toBe(w);
    let ran = false;
    setImmediate(() => {
      ran = true;
    });
    await w;
    // resolved by the first immediate, set before this test's own
    expect(ran).toBe(false);
    expect(turn()).toBeUndefined();
  });
});
