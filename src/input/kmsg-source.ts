/**
 * `--kmsg`: the kernel's log ring buffer read from /dev/kmsg — live, or as it is now (`ring`, what `dmesg` prints,
 * for reports) — the one source that proves the kernel wrote a line (syslog files can be written by anyone).
 *
 * /dev/kmsg facts this relies on (Documentation/ABI/testing/dev-kmsg, kernel/printk/printk.c):
 * - every read() returns exactly one record: `prio,seq,usec,flag[,…];message\n` followed by optional
 *   continuation lines ` KEY=value\n` (device metadata, dropped here); non-printable bytes in the message are
 *   escaped as `\xNN`, so records are ASCII;
 * - each open() has its own position, starting at the oldest record still in the ring buffer;
 * - read() fails with EPIPE when the records at our position were overwritten: the position then jumps to the
 *   oldest record left, and the gap in `seq` tells how many were lost;
 * - opened with O_NONBLOCK, read() fails with EAGAIN when there is nothing new.
 *
 * Node has no lseek(), so "from now" (SEEK_END) is done by reading everything present at open time and discarding
 * it. Reads use readSync on the non-blocking descriptor: each call returns at once (a record or EAGAIN), so no thread
 * sits in a blocking read() that could not be cancelled on abort. When empty we poll on a timer. The ring buffer is
 * small and nothing holds records for us: whatever is not read in time is overwritten, and counted in
 * `stats.overwritten`. So a live source reads on a worker thread (thread-reader.ts with `kmsg`), which drains the ring
 * buffer into a bounded queue whatever the main thread is doing — parsing, drawing a frame, collecting garbage — and
 * hands the records over in chunks; the main thread splits them into lines and counts sequence gaps. `ring` reads on
 * the main thread (see KMSG_READ_AHEAD_BYTES).
 */

import { closeSync, constants, openSync, readFileSync, readSync } from 'node:fs';
import { hostname } from 'node:os';
import { InputError } from '../cli/errors.js';
import { describeFsError, emptyStats } from './file-source.js';
import { KMSG_RECORD_BYTES, PollSchedule, threadReader, type ThreadReader } from './thread-reader.js';
import type { InputStats, LineSource } from './types.js';

export interface KmsgOptions {
  /**
   * `now`: only records written after the source is opened; `start`: everything still in the ring buffer first,
   * then live; `ring`: everything in the ring buffer, ending when it has no more (not live).
   * @default 'now'
   */
  from?: KmsgFrom;
  /**
   * The device (tests may point elsewhere).
   * @default '/dev/kmsg'
   */
  path?: string;
  /**
   * How long to wait before looking again when no record has come for a while, in ms. Right after records came the
   * ring buffer is looked at again within a millisecond, then every 10 ms (see FAST_POLLS).
   * @default 50
   */
  pollMs?: number;
  /**
   * Most records in one batch.
   * @default 1024
   */
  maxBatch?: number;
  /**
   * Read on a worker thread (thread-reader.ts), at most this many bytes of records ahead of the consumer; past that
   * the worker stops reading and the kernel overwrites, as when nothing reads (counted in `stats.overwritten`).
   * 0: on the main thread (see KMSG_READ_AHEAD_BYTES for when each is used).
   * @default KMSG_READ_AHEAD_BYTES (16 MiB); 0 with `from: 'ring'`
   */
  readAhead?: number;
  /**
   * Wall clock in ms since the epoch, for `bootTimeMs`.
   * @default Date.now
   */
  now?: () => number;
}

export type KmsgFrom = 'now' | 'start' | 'ring';

/**
 * How far the reading thread may read ahead of the consumer (KmsgOptions.readAhead): ~70,000 LOG records, over a
 * second of a flood; the live view's main thread fell at most 13 MB behind in a 100,000-packet flood.
 *
 * Every live `--kmsg` (`now`, `start`) reads on the thread, not only the live view's: a flood of 100,000 LOG lines in
 * 2 s (bench/kmsg-flood.sh, the builds in turns), read on the main thread → on the thread, median (range): the live
 * view 80 % (54-86) → 97.9 % (76.7-99.9), `parse --kmsg` 93 % (72-97) → 99.7 % (95.8-100), `analyze --kmsg
 * --summary` 96 % (87-99) → 97.6 % (95.4-99.7). `ring` reads on the main thread: the ring buffer as it is takes ~3 ms
 * there, and starting a worker ~40-50 ms more (medians of 30), for nothing to gain.
 */
export const KMSG_READ_AHEAD_BYTES = 16 * 1024 * 1024;

/**
 * Empty polls after records came: the first FAST_POLLS wait 1 ms, the next as many 10 ms, then `pollMs`. The ring
 * buffer is small (128 KiB, ~600 LOG records, on the development VM's kernel): a burst of 50,000 LOG lines a second
 * overwrites it every ~12 ms, and a reader that slept 50 ms whenever it found it empty read 25 % of a 100,000-packet
 * flood (the rest overwritten); polling 1 ms apart while records come, ~90 %. A quiet kernel log costs the same
 * wake-ups as before (20 a second) from ~0.6 s after its last record.
 */
const FAST_POLLS = 50;

/** The sleeps after empty reads, as `[reads, ms]` steps (ThreadReaderOptions.polls): see FAST_POLLS. */
function kmsgPolls(pollMs: number): Array<[number, number]> {
  return [[FAST_POLLS, Math.min(1, pollMs)], [FAST_POLLS, Math.min(10, pollMs)], [1, pollMs]];
}

/**
 * The record line of one read() result: everything up to the first `\n` (continuation lines dropped).
 * Undefined for a read that holds no record header (never seen from a real kernel).
 */
export function kmsgRecordLine(buf: Buffer, length: number): string | undefined {
  if (length <= 0) return undefined;
  const nl = buf.indexOf(0x0a);
  const end = nl === -1 || nl > length ? length : nl;
  const line = buf.toString('utf8', 0, end);
  return line.includes(';') ? line : undefined;
}

/** The sequence number of a record line (`prio,seq,…;`), or undefined when the header is not well formed. */
export function kmsgSeq(line: string): number | undefined {
  const a = line.indexOf(',');
  if (a === -1) return undefined;
  const b = line.indexOf(',', a + 1);
  const semi = line.indexOf(';');
  const end = b !== -1 && b < semi ? b : semi;
  const digits = line.slice(a + 1, end);
  if (!/^\d{1,15}$/.test(digits)) return undefined;
  return Number(digits);
}

/**
 * Counts records lost between consecutive sequence numbers (overwritten before we read them). The first record
 * seen sets the baseline: what the kernel dropped before we opened is not ours to count.
 */
export class SeqTracker {
  last: number | undefined;
  lost = 0;
  /** Feed the next record's seq; returns how many were skipped before it. */
  see(seq: number): number {
    const last = this.last;
    this.last = seq;
    if (last === undefined || seq <= last + 1) return 0;
    const gap = seq - last - 1;
    this.lost += gap;
    return gap;
  }
}

/** Wall-clock time of boot: now minus the uptime in /proc/uptime. */
function readBootTimeMs(now: () => number): number | undefined {
  try {
    const up = Number.parseFloat(readFileSync('/proc/uptime', 'utf8').split(' ')[0] ?? '');
    // printk stamps run on the local clock, which stops during suspend while /proc/uptime does not: on a host
    // that has been suspended, dates drift by the time spent suspended.
    return Number.isFinite(up) ? Math.round(now() - up * 1000) : undefined;
  } catch {
    return undefined;
  }
}

function errCode(e: unknown): unknown {
  return (e as { code?: unknown } | undefined)?.code;
}

class KmsgSource implements LineSource {
  readonly name: string;
  readonly bootTimeMs?: number;
  readonly host = hostname();
  readonly stats: InputStats = emptyStats();
  readonly backlog?: () => number;
  readonly #fd: number;
  readonly #buf = Buffer.allocUnsafe(KMSG_RECORD_BYTES);
  readonly #seq = new SeqTracker();
  readonly #polls: ReadonlyArray<readonly [number, number]>;
  readonly #maxBatch: number;
  /** end at the first read that finds nothing (`ring`) instead of waiting for more */
  readonly #once: boolean;
  /** the worker that reads the ring buffer, when it is read on a thread */
  readonly #reader: ThreadReader | undefined;
  #used = false;
  #closed = false;

  constructor(fd: number, name: string, bootTimeMs: number | undefined, pollMs: number, maxBatch: number, once: boolean, readAhead: number) {
    this.#fd = fd;
    this.#once = once;
    this.name = name;
    if (bootTimeMs !== undefined) this.bootTimeMs = bootTimeMs;
    this.#polls = kmsgPolls(pollMs);
    this.#maxBatch = maxBatch;
    if (readAhead > 0) {
      this.#reader = threadReader(fd, { kmsg: true, once, capBytes: readAhead, polls: this.#polls, startQuiet: true });
      this.backlog = this.#reader.backlog;
    }
  }

  /** Counts one record line's sequence number; false when the line holds no record header (it is left out). */
  #record(line: string): boolean {
    if (!line.includes(';')) return false;
    const seq = kmsgSeq(line);
    if (seq !== undefined) this.#seq.see(seq);
    return true;
  }

  /**
   * Up to `max` records available right now (fewer, possibly none, when the ring buffer has no more), read on this
   * thread. `keep` false reads and discards, to skip to the end.
   */
  readAvailable(max: number, keep = true): string[] {
    const out: string[] = [];
    const buf = this.#buf;
    for (let records = 0; records < max; records++) {
      let n: number;
      try {
        n = readSync(this.#fd, buf, 0, buf.length, null);
      } catch (e) {
        const code = errCode(e);
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') break;
        // Overwritten under us: the next read returns the oldest record left; its seq gap counts the loss.
        if (code === 'EPIPE' || code === 'EINTR') continue;
        throw this.#readError(e);
      }
      if (n === 0) break;
      this.stats.bytes += n;
      const line = kmsgRecordLine(buf, n);
      if (line !== undefined && this.#record(line) && keep) out.push(line);
    }
    this.stats.overwritten = this.#seq.lost;
    return out;
  }

  #readError(e: unknown): InputError {
    return new InputError(`cannot read ${this.name}: ${describeFsError(e)}`, { cause: e });
  }

  async *batches(signal?: AbortSignal): AsyncGenerator<string[]> {
    if (this.#used) throw new Error(`${this.name}: batches() can be iterated only once`);
    this.#used = true;
    try {
      if (this.#reader === undefined) yield* this.#polled(signal);
      else yield* this.#fromThread(this.#reader, signal);
    } finally {
      // the worker reads the descriptor until it has exited: closed before, its number could be another file's
      await this.#reader?.stopped();
      this.close();
    }
  }

  /** Reads on this thread, polling when the ring buffer is empty. */
  async *#polled(signal: AbortSignal | undefined): AsyncGenerator<string[]> {
    const aborted = (): boolean => signal?.aborted === true;
    // the sleeps after empty reads (see kmsgPolls); they start slow
    const sleeps = new PollSchedule(this.#polls, true);
    while (!aborted()) {
      const batch = this.readAvailable(this.#maxBatch);
      if (batch.length > 0) {
        sleeps.reset();
        yield this.#counted(batch);
        continue;
      }
      if (this.#once) return;
      await sleep(sleeps.next(), signal);
    }
  }

  /** Records as the worker hands them over: record lines, each ending in `\n` (see ThreadReaderOptions.kmsg). */
  async *#fromThread(reader: ThreadReader, signal: AbortSignal | undefined): AsyncGenerator<string[]> {
    try {
      for await (const chunk of reader.chunks(signal)) {
        // one string per chunk (the chunk's buffer is read into again once the next is asked for)
        const text = chunk.toString('utf8');
        this.stats.bytes = reader.bytesRead();
        let batch: string[] = [];
        for (let at = 0; at < text.length; ) {
          const nl = text.indexOf('\n', at);
          const end = nl === -1 ? text.length : nl;
          const line = text.slice(at, end);
          at = end + 1;
          if (!this.#record(line)) continue;
          batch.push(line);
          if (batch.length === this.#maxBatch) {
            yield this.#counted(batch);
            batch = [];
          }
        }
        if (batch.length > 0) yield this.#counted(batch);
        else this.stats.overwritten = this.#seq.lost;
      }
    } catch (e) {
      // the worker's read(2) failed (an error with its code)
      throw errCode(e) === undefined ? e : this.#readError(e);
    }
  }

  #counted(batch: string[]): string[] {
    this.stats.lines += batch.length;
    this.stats.overwritten = this.#seq.lost;
    return batch;
  }

  /** After skipping to the end: what was skipped is not input. The seq baseline stays. */
  resetCounters(): void {
    this.#seq.lost = 0;
    Object.assign(this.stats, emptyStats());
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      closeSync(this.#fd);
    } catch {
      // already closed: nothing to release
    }
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Open /dev/kmsg now. With `from: 'now'` (default) the records already there are skipped at this moment, so
 * everything the kernel logs after this call is delivered. Errors (no such device, no permission: reading needs
 * root or CAP_SYSLOG when kernel.dmesg_restrict=1) are an InputError with a one-line message.
 */
export async function openKmsgSource(options: KmsgOptions = {}): Promise<LineSource> {
  const path = options.path ?? '/dev/kmsg';
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = errCode(e);
    const hint = code === 'EACCES' || code === 'EPERM' ? ' (needs root or CAP_SYSLOG)' : '';
    throw new InputError(`cannot read ${path}: ${describeFsError(e)}${hint}`, { cause: e });
  }
  const src = new KmsgSource(
    fd,
    path,
    readBootTimeMs(options.now ?? Date.now),
    options.pollMs ?? 50,
    options.maxBatch ?? 1024,
    options.from === 'ring',
    options.readAhead ?? (options.from === 'ring' ? 0 : KMSG_READ_AHEAD_BYTES),
  );
  try {
    if ((options.from ?? 'now') === 'now') {
      // No lseek in Node: skip to the end by reading the ring buffer through once (bounded: a kernel logging
      // faster than we read must not keep us here; the ring buffer holds far fewer records than this).
      src.readAvailable(1_000_000, false);
      src.resetCounters();
    }
  } catch (e) {
    src.close();
    throw e;
  }
  return src;
}
