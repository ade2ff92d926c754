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
 * it. Reads use readSync on the non-blocking descriptor: each call returns at once (a record or EAGAIN), so the
 * event loop never blocks and no threadpool thread sits in a blocking read() that could not be cancelled on abort.
 * When empty we poll on a timer; the ring buffer is the buffer, so a slow consumer makes the kernel overwrite
 * records, which are counted in `stats.overwritten`.
 */

import { closeSync, constants, openSync, readFileSync, readSync } from 'node:fs';
import { hostname } from 'node:os';
import { InputError } from '../cli/errors.js';
import { describeFsError, emptyStats } from './file-source.js';
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
   * Wall clock in ms since the epoch, for `bootTimeMs`.
   * @default Date.now
   */
  now?: () => number;
}

export type KmsgFrom = 'now' | 'start' | 'ring';

/**
 * Empty polls after records came: the first FAST_POLLS wait 1 ms, the next as many 10 ms, then `pollMs`. The ring
 * buffer is small (128 KiB, ~600 LOG records, on the development VM's kernel): a burst of 50,000 LOG lines a second
 * overwrites it every ~12 ms, and a reader that slept 50 ms whenever it found it empty read 25 % of a 100,000-packet
 * flood (the rest overwritten); polling 1 ms apart while records come, ~90 %. A quiet kernel log costs the same
 * wake-ups as before (20 a second) from ~0.6 s after its last record.
 */
const FAST_POLLS = 50;

/** Larger than any record: the kernel fails a read with EINVAL when the buffer cannot hold the whole record. */
const RECORD_BUFFER = 16 * 1024;

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
  readonly #fd: number;
  readonly #buf = Buffer.allocUnsafe(RECORD_BUFFER);
  readonly #seq = new SeqTracker();
  readonly #pollMs: number;
  readonly #maxBatch: number;
  /** end at the first read that finds nothing (`ring`) instead of waiting for more */
  readonly #once: boolean;
  #used = false;
  #closed = false;

  constructor(fd: number, name: string, bootTimeMs: number | undefined, pollMs: number, maxBatch: number, once: boolean) {
    this.#fd = fd;
    this.#once = once;
    this.name = name;
    if (bootTimeMs !== undefined) this.bootTimeMs = bootTimeMs;
    this.#pollMs = pollMs;
    this.#maxBatch = maxBatch;
  }

  /**
   * Up to `max` records available right now (fewer, possibly none, when the ring buffer has no more).
   * `keep` false reads and discards, to skip to the end.
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
        throw new InputError(`cannot read ${this.name}: ${describeFsError(e)}`, { cause: e });
      }
      if (n === 0) break;
      this.stats.bytes += n;
      const line = kmsgRecordLine(buf, n);
      if (line === undefined) continue;
      const seq = kmsgSeq(line);
      if (seq !== undefined) this.#seq.see(seq);
      if (keep) out.push(line);
    }
    this.stats.overwritten = this.#seq.lost;
    return out;
  }

  async *batches(signal?: AbortSignal): AsyncGenerator<string[]> {
    if (this.#used) throw new Error(`${this.name}: batches() can be iterated only once`);
    this.#used = true;
    const aborted = (): boolean => signal?.aborted === true;
    // empty polls since the last record (see FAST_POLLS); starts slow
    let quiet = 2 * FAST_POLLS;
    try {
      while (!aborted()) {
        const batch = this.readAvailable(this.#maxBatch);
        if (batch.length > 0) {
          this.stats.lines += batch.length;
          quiet = 0;
          yield batch;
          continue;
        }
        if (this.#once) return;
        if (quiet < 2 * FAST_POLLS) quiet++;
        await sleep(quiet <= FAST_POLLS ? Math.min(1, this.#pollMs) : quiet < 2 * FAST_POLLS ? Math.min(10, this.#pollMs) : this.#pollMs, signal);
      }
    } finally {
      this.close();
    }
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
