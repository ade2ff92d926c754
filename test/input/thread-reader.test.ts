/**
 * The reading thread (src/input/thread-reader.ts) on a real FIFO opened non-blocking, as libuv leaves stdin on a pipe:
 * every byte arrives once and in order, the queue stays under its cap while the consumer is slow (the writer is held
 * back instead), end of input and abort both end the chunks, and the worker never outlives them.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PollSchedule, threadReader } from '../../src/input/thread-reader.js';

let dir = '';
let n = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fwdiag-thread-'));
});

afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

/** A FIFO with its read end non-blocking (like stdin once Node opened it) and its write end non-blocking too. */
function fifo(): { r: number; w: number; close: () => void } {
  const path = join(dir, `f${++n}`);
  execFileSync('mkfifo', [path]);
  const r = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const w = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  let open = [r, w];
  return {
    r,
    w,
    close: () => {
      for (const fd of open) closeSync(fd);
      open = [];
    },
  };
}

/** Writes all of `data` to a non-blocking fd, waiting while the pipe is full; resolves when written. */
async function writeAll(fd: number, data: Buffer, onFull?: () => void): Promise<void> {
  let off = 0;
  while (off < data.length) {
    try {
      off += writeSync(fd, data, off, Math.min(64 * 1024, data.length - off));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      onFull?.();
      await new Promise((r) => setTimeout(r, 2));
    }
  }
}

function data(bytes: number): Buffer {
  const b = Buffer.allocUnsafe(bytes);
  let x = 12345;
  for (let i = 0; i < bytes; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

describe('thread reader', () => {
  it('hands over every byte once, in order, in chunks of at most chunkBytes, and ends at end of input', async () => {
    const f = fifo();
    const reader = threadReader(f.r, { chunkBytes: 64 * 1024 });
    const want = data(5 * 1024 * 1024 + 12345);
    const writing = writeAll(f.w, want).then(() => {
      closeSync(f.w);
    });
    const got: Buffer[] = [];
    for await (const c of reader.chunks()) {
      expect(c.length).toBeLessThanOrEqual(64 * 1024);
      got.push(Buffer.from(c));
    }
    await writing;
    closeSync(f.r);
    expect(Buffer.concat(got).equals(want)).toBe(true);
    expect(reader.backlog()).toBe(0);
  }, 30_000);

  it('reads no further ahead than capBytes while the consumer is slow: the writer waits instead', async () => {
    const f = fifo();
    const cap = 512 * 1024;
    const reader = threadReader(f.r, { chunkBytes: 64 * 1024, capBytes: cap });
    const want = data(4 * 1024 * 1024);
    let full = 0;
    const writing = writeAll(f.w, want, () => full++).then(() => {
      closeSync(f.w);
    });
    let total = 0;
    let most = 0;
    for await (const c of reader.chunks()) {
      total += c.length;
      most = Math.max(most, reader.backlog());
      await new Promise((r) => setTimeout(r, 5));
    }
    await writing;
    closeSync(f.r);
    expect(total).toBe(want.length);
    // a chunk may be on its way when the count reaches the cap
    expect(most).toBeLessThanOrEqual(cap + 64 * 1024);
    expect(full).toBeGreaterThan(0);
  }, 30_000);

  it('ends at once when aborted, with the pipe open and quiet', async () => {
    const f = fifo();
    const reader = threadReader(f.r);
    const stop = new AbortController();
    writeSync(f.w, Buffer.from('one line\n'));
    const got: string[] = [];
    const t = setTimeout(() => stop.abort(), 300);
    const t0 = Date.now();
    for await (const c of reader.chunks(stop.signal)) got.push(c.toString());
    clearTimeout(t);
    expect(got.join('')).toBe('one line\n');
    expect(Date.now() - t0).toBeLessThan(3000);
    f.close();
  }, 30_000);

  it('reads into the buffers of chunks the consumer is done with: a chunk is valid until the next is asked for', async () => {
    const f = fifo();
    const reader = threadReader(f.r, { chunkBytes: 64 * 1024 });
    const want = data(2 * 1024 * 1024);
    const writing = writeAll(f.w, want).then(() => {
      closeSync(f.w);
    });
    const got: Buffer[] = [];
    const held: Buffer[] = [];
    for await (const c of reader.chunks()) {
      got.push(Buffer.from(c));
      held.push(c);
    }
    await writing;
    closeSync(f.r);
    expect(Buffer.concat(got).equals(want)).toBe(true);
    // each chunk went back to the reading thread once the next was asked for (its memory moved there: empty here,
    // the last one too, when the loop asked for more and met the end), to be read into again
    expect(held.length).toBeGreaterThan(8);
    expect(held.every((c) => c.byteLength === 0)).toBe(true);
  }, 30_000);

  it('keeps every chunk of gzip data (zlib may hold one while the next is read), also when 1f comes alone', async () => {
    for (const firstAlone of [false, true]) {
      const f = fifo();
      const reader = threadReader(f.r, { chunkBytes: 64 * 1024, maxAgeMs: 1 });
      const want = Buffer.concat([Buffer.from([0x1f, 0x8b]), data(1024 * 1024)]);
      const it = reader.chunks()[Symbol.asyncIterator]();
      const held: Buffer[] = [];
      if (firstAlone) {
        // nothing more is written until the reader has handed over what waited maxAgeMs: a chunk of the one byte 1f
        writeSync(f.w, want.subarray(0, 1));
        const first = await it.next();
        held.push(first.value as Buffer);
        expect(held[0]!.length).toBe(1);
      }
      const writing = writeAll(f.w, want.subarray(firstAlone ? 1 : 0)).then(() => {
        closeSync(f.w);
      });
      for (let r = await it.next(); r.done !== true; r = await it.next()) held.push(r.value);
      await writing;
      closeSync(f.r);
      expect(Buffer.concat(held).equals(want)).toBe(true);
    }
  }, 30_000);

  it('sleeps longer while the pipe is quiet, yet hands over a line written after seconds of quiet at once', async () => {
    const f = fifo();
    const reader = threadReader(f.r);
    const it = reader.chunks()[Symbol.asyncIterator]();
    writeSync(f.w, Buffer.from('first\n'));
    expect((await it.next()).value?.toString()).toBe('first\n');
    // 3 s quiet: past the 1 ms and 10 ms steps, in the 50 ms one
    await new Promise((r) => setTimeout(r, 3000));
    const t0 = performance.now();
    writeSync(f.w, Buffer.from('after quiet\n'));
    expect((await it.next()).value?.toString()).toBe('after quiet\n');
    // its sleep is 50 ms by now (200 ms after ~12 s); a second's slack for a busy machine (the suite runs in parallel)
    expect(performance.now() - t0).toBeLessThan(1000);
    await it.return?.(undefined);
    f.close();
  }, 30_000);

  it('kmsg: keeps record lines only, each ending in \\n, counts the bytes read, and with once ends at the first empty read', async () => {
    const f = fifo();
    const reader = threadReader(f.r, { kmsg: true, once: true });
    // the device gives a record and its continuation lines a read; a pipe may give several records at once
    const written = '6,1,10,-;first\n SUBSYSTEM=acpi\n DEVICE=+acpi:X\n4,2,20,-;second\n\n4,3,30,-;no newline';
    writeSync(f.w, Buffer.from(written));
    const got: string[] = [];
    // the pipe stays open: without once the reader would wait for more
    for await (const c of reader.chunks()) got.push(c.toString());
    expect(got.join('')).toBe('6,1,10,-;first\n4,2,20,-;second\n4,3,30,-;no newline\n');
    expect(reader.bytesRead()).toBe(Buffer.byteLength(written));
    await reader.stopped();
    f.close();
  }, 30_000);

  it('reports a read error as an error with its code', async () => {
    // a write-only descriptor cannot be read: EBADF from the worker's read(2)
    const f = fifo();
    const reader = threadReader(f.w);
    await expect(async () => {
      for await (const c of reader.chunks()) void c;
    }).rejects.toMatchObject({ code: 'EBADF' });
    f.close();
  }, 30_000);
});

// A line every 2 ms (a drop storm through `journalctl -k -f`) found the pipe empty eleven or twelve times a line: ten
// 0.05 ms polls, kept for floods, then 1 ms sleeps — `analyze --summary` used ~40 % of a core at 1,000 lines/s. After
// a small read the sleeps start at 5 ms now: at most one empty read per millisecond of quiet (counted: ~0.2).
it('a trickle of lines costs at most one empty read per millisecond of quiet, not ten fast polls a line', async () => {
  const f = fifo();
  const reader = threadReader(f.r);
  const LINES = 100;
  const t0 = performance.now();
  const writing = (async () => {
    for (let i = 0; i < LINES; i++) {
      writeSync(f.w, Buffer.from(`line ${i}\n`));
      await new Promise((r) => setTimeout(r, 2));
    }
    closeSync(f.w);
  })();
  let got = '';
  for await (const c of reader.chunks()) got += c.toString();
  await writing;
  const ms = performance.now() - t0;
  await reader.stopped();
  closeSync(f.r);
  expect(got.split('\n').filter((l) => l !== '')).toHaveLength(LINES);
  // each empty read of a trickle sleeps at least 5 ms now; with the fast polls after every line it was >= 10 a line
  expect(reader.emptyReads(), `${ms.toFixed(0)} ms`).toBeLessThan(ms / 2 + LINES);
  expect(reader.emptyReads()).toBeLessThan(10 * LINES);
}, 30_000);

describe('PollSchedule', () => {
  it('sleeps each step for its count of empty reads, stays at the last, and starts over once something is read', () => {
    const s = new PollSchedule([[2, 1], [3, 10], [1, 100]], false);
    expect(Array.from({ length: 8 }, () => s.next())).toEqual([1, 1, 10, 10, 10, 100, 100, 100]);
    s.reset();
    expect([s.next(), s.next(), s.next()]).toEqual([1, 1, 10]);
  });
  it('starts over at the second step after a small read (a trickle), at the first after a flood\'s', () => {
    const s = new PollSchedule([[2, 0.05], [3, 1], [1, 10]], false);
    for (let i = 0; i < 6; i++) s.next();
    s.reset(false);
    expect([s.next(), s.next(), s.next(), s.next()]).toEqual([1, 1, 1, 10]);
    s.reset(true);
    expect([s.next(), s.next(), s.next()]).toEqual([0.05, 0.05, 1]);
    // one step only: that one
    const one = new PollSchedule([[1, 5]], false);
    one.reset(false);
    expect(one.next()).toBe(5);
  });
  it('begins at the last step after a long quiet', () => {
    const s = new PollSchedule([[2, 1], [1, 100]], true);
    expect([s.next(), s.next()]).toEqual([100, 100]);
  });
  it('is self-contained: its source alone makes the same class (the worker script embeds it)', () => {
    const Copy = new Function(`return ${PollSchedule.toString()};`)() as typeof PollSchedule;
    const a = new Copy([[1, 0.05], [2, 5], [1, 50]], false);
    const b = new PollSchedule([[1, 0.05], [2, 5], [1, 50]], false);
    expect(Array.from({ length: 6 }, () => a.next())).toEqual(Array.from({ length: 6 }, () => b.next()));
  });
});
