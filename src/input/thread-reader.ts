/**
 * stdin (and /dev/kmsg: `kmsg`) read on a thread of its own. A pipe holds only 64 KiB. Read from the main thread,
 * every 64 KiB costs a read(2), a fresh Buffer and, once the pipe is drained, a wait for the writer to be scheduled
 * again — while the main thread, which parses and classifies, waits too. And the live view's main thread also draws:
 * a frame or a garbage collection holds it for several milliseconds, 2.8 ms of input fill the pipe at 100,000 lines a
 * second, and the writer (`journalctl -f`, a tail) is held back. Here a worker drains the pipe into a queue whatever
 * the main thread is doing, and hands it over in chunks of up to 256 KiB (~1,000 lines), so the main thread also
 * pays its per-chunk costs less often. The queue is bounded: past `capBytes` not yet taken, the worker stops reading
 * and the pipe fills, as without it (backpressure, memory bounded).
 *
 * Chunk buffers go back to the worker once the consumer asks for the next chunk, and are read into again: no buffer
 * per chunk to collect. So a chunk stays valid only until the consumer asks for the next one (as with the file
 * reader's two buffers in file-source.ts) — unless the input is gzip, which zlib may hold on to: then every chunk is
 * a buffer of its own. On the bench corpus through `cat |`, this took `analyze --summary` from 2.4 s and 167 MB peak
 * RSS (reading on the main thread) to 2.0 s and 145 MB.
 *
 * Only for a pipe or socket on stdin that Node opened as a socket (libuv put it in non-blocking mode), or /dev/kmsg
 * opened O_NONBLOCK (`kmsg`: kmsg-source.ts, whose ring buffer is overwritten, not held back, when nobody reads): the
 * worker never blocks in read(2), so it always sees the stop flag and the process can always exit.
 */
import { fstatSync } from 'node:fs';
import { Socket } from 'node:net';
import { MessageChannel, Worker } from 'node:worker_threads';

export interface ThreadReaderOptions {
  /** bytes per chunk handed over @default 256 KiB */
  chunkBytes?: number;
  /** bytes read ahead and not yet taken, beyond which the worker stops reading @default 32 MiB */
  capBytes?: number;
  /** a partial chunk is handed over once its first byte is this old and the pipe is empty @default 20 */
  maxAgeMs?: number;
  /**
   * How long to sleep after a read that found nothing: `[reads, ms]` steps, taken in turn as the input stays quiet,
   * the last one for good; back to the first once something is read.
   * @default PIPE_POLLS
   */
  polls?: ReadonlyArray<readonly [number, number]>;
  /** Begin at the last (slowest) step of `polls`, as after a long quiet. @default false */
  startQuiet?: boolean;
  /**
   * `fd` is /dev/kmsg (kmsg-source.ts): every read(2) returns one record and fails with EINVAL when the buffer cannot
   * hold it all, so each read is given room for the largest; only record lines are kept (continuation lines, which
   * start with a space, are dropped), each ending in `\n`; EPIPE (records overwritten at our position: the next read
   * returns the oldest left, the consumer counts the loss from the sequence gap) is read past; a read of 0 bytes
   * (a plain file standing in for the device) is waited on like an empty pipe.
   * @default false
   */
  kmsg?: boolean;
  /** End at the first read that finds nothing, instead of waiting for more (the ring buffer as it is). @default false */
  once?: boolean;
}

export interface ThreadReader {
  /**
   * The input's chunks, in order; the worker starts when this is first iterated. Iterate once. A chunk is valid until
   * the next one is asked for (its buffer is read into again), unless the input is gzip.
   */
  chunks(signal?: AbortSignal): AsyncGenerator<Buffer>;
  /** Bytes read from the pipe and not yet taken by the consumer. */
  backlog(): number;
  /** Bytes read(2) returned for the chunks taken so far (more than their length with `kmsg`: lines were dropped). */
  bytesRead(): number;
  /** read(2)s that found the input empty so far (each followed by a sleep of the poll schedule): its cost while idle */
  emptyReads(): number;
  /** Settles once the worker has exited (at once when it never started): `fd` may be closed then, not before. */
  stopped(): Promise<void>;
}

/** May `stream` be read on a thread: it is process.stdin, a socket Node opened on a pipe or a socket. */
export function canReadOnThread(stream: unknown): boolean {
  if (stream !== process.stdin || !(stream instanceof Socket)) return false;
  try {
    const st = fstatSync(0);
    return st.isFIFO() || st.isSocket();
  } catch {
    return false;
  }
}

const STOP = 0;
const QUEUED = 1;
const EMPTY_READS = 2;

/**
 * A pipe's sleeps after empty reads: 0.05 ms ten times, 5 ms for ~20 ms, 10 ms for ~1 s, 50 ms for ~10 s, then
 * 200 ms. A pipe quiet for long (`journalctl -f` at night) costs 5 wake-ups a second; its next line waits at most
 * 0.2 s. The first waits are short because an empty pipe in a flood means only that the writer has not run yet: it
 * fills the 64 KiB pipe in tens of microseconds, then blocks until read — a 1 ms sleep there held the reader to
 * ~64 MB/s. Only after a flood's read, though ({@link FLOOD_READ_BYTES}): a trickle's lines start at the 5 ms step —
 * at a line a millisecond, ten 0.05 ms polls after each cost ~20 % of a core for nothing, and at 100 lines a second
 * 1 ms polls cost ~9 empty reads a line (each poll ~40 µs of CPU on the development VM: the wake-up ~30, the read
 * that fails with EAGAIN ~8 without its stack trace, ~13 with it).
 */
export const PIPE_POLLS: ReadonlyArray<readonly [number, number]> = [[10, 0.05], [4, 5], [100, 10], [200, 50], [1, 200]];

/**
 * A read at least this big (a quarter of a 64 KiB pipe) is a flood's: the sleeps start over at their first, shortest
 * step. After a smaller one they start at the second (5 ms). A writer that fills the pipe within that sleep makes the
 * next read a flood's before it can fill it: 64 KiB in 5 ms is 16 KiB in 1.25 ms, so the read after a sleep is past
 * this size well before the pipe is full, and the fast polls take over.
 */
export const FLOOD_READ_BYTES = 16 * 1024;

/**
 * The sleeps after empty reads, by `polls` ([reads, ms] steps): `next()` is the sleep after one more empty read,
 * `reset()` goes back to the first step once something was read. Self-contained (no imports, no outer names): the
 * worker script below embeds this class's own source, so the worker and a reader on the main thread step alike.
 */
export class PollSchedule {
  private step: number;
  private left: number;

  /** `quiet`: begin at the last (slowest) step, as after a long quiet */
  constructor(private readonly polls: ReadonlyArray<readonly [number, number]>, quiet: boolean) {
    this.step = quiet ? polls.length - 1 : 0;
    this.left = polls[this.step]![0];
  }

  /** Starts over once something was read: at the first step, or (`fast` false) at the second, where there is one. */
  reset(fast = true): void {
    this.step = fast || this.polls.length === 1 ? 0 : 1;
    this.left = this.polls[this.step]![0];
  }

  next(): number {
    const polls = this.polls;
    const ms = polls[this.step]![1];
    if (--this.left <= 0 && this.step < polls.length - 1) this.left = polls[++this.step]![0];
    return ms;
  }
}

/** Room given to each read of /dev/kmsg: more than any record (the kernel's are at most 8 KiB with their metadata). */
export const KMSG_RECORD_BYTES = 16 * 1024;

// The worker, as a script (eval: no file to find next to dist/ or src/). ctrl[STOP] is set by the consumer to end it;
// ctrl[QUEUED] counts bytes handed over and not yet taken (the worker adds, the consumer subtracts); ctrl[EMPTY_READS]
// counts the reads that found nothing (the worker adds).
const WORKER = `
const { parentPort, workerData, receiveMessageOnPort } = require('node:worker_threads');
const { readSync } = require('node:fs');
const { fd, sab, chunkBytes, capBytes, maxAgeMs, spare, polls, startQuiet, kmsg, once } = workerData;
// an empty non-blocking read throws EAGAIN: an Error per poll, without a stack trace ~8 µs instead of ~13
Error.stackTraceLimit = 0;
const ctrl = new Int32Array(sab);
let buf = Buffer.allocUnsafeSlow(chunkBytes);
let len = 0;
let read = 0;
let firstAt = 0;
const PollSchedule = ${PollSchedule.toString()};
const sleeps = new PollSchedule(polls, startQuiet);
function post() {
  Atomics.add(ctrl, ${QUEUED}, len);
  parentPort.postMessage({ chunk: new Uint8Array(buf.buffer, 0, len), read }, [buf.buffer]);
  // a buffer the consumer is done with, else a new one
  const back = receiveMessageOnPort(spare);
  buf = back === undefined ? Buffer.allocUnsafeSlow(chunkBytes) : Buffer.from(back.message);
  len = 0;
}
// kmsg: buf[from, to) keeping only its lines that do not start with a space, each ending in \\n; returns the new end
function records(from, to) {
  let w = from;
  for (let r = from; r < to; ) {
    let nl = buf.indexOf(10, r);
    if (nl === -1 || nl > to) nl = to;
    if (nl > r && buf[r] !== 32) {
      if (w !== r) buf.copy(buf, w, r, nl);
      w += nl - r;
      buf[w++] = 10;
    }
    r = nl + 1;
  }
  return w;
}
for (;;) {
  if (Atomics.load(ctrl, ${STOP}) !== 0) break;
  const queued = Atomics.load(ctrl, ${QUEUED});
  if (queued >= capBytes) {
    Atomics.wait(ctrl, ${QUEUED}, queued, 50);
    continue;
  }
  // kmsg: room for the largest record and the \\n that may be added after it
  if (kmsg && chunkBytes - len <= ${KMSG_RECORD_BYTES}) {
    post();
    continue;
  }
  let n;
  try {
    n = readSync(fd, buf, len, chunkBytes - len - (kmsg ? 1 : 0), null);
  } catch (e) {
    if (e.code === 'EAGAIN' || e.code === 'EWOULDBLOCK') n = -1;
    // kmsg's EPIPE: the records at our position were overwritten; the next read returns the oldest one left
    else if (e.code === 'EINTR' || (kmsg && e.code === 'EPIPE')) continue;
    else {
      if (len > 0) post();
      parentPort.postMessage({ error: String(e.message), code: e.code });
      break;
    }
  }
  // kmsg: nothing more yet (a plain file standing in for the device, at its end)
  if (n === 0 && kmsg) n = -1;
  if (n === 0) {
    if (len > 0) post();
    parentPort.postMessage({ end: true });
    break;
  }
  if (n > 0) {
    if (len === 0) firstAt = performance.now();
    read += n;
    len = kmsg ? records(len, len + n) : len + n;
    // kmsg: one record a read, whatever the rate; the ring buffer is overwritten, not held back, when we sleep
    sleeps.reset(kmsg || n >= ${FLOOD_READ_BYTES});
    if (len === chunkBytes) post();
    continue;
  }
  // nothing to read now: hand over what has waited long enough, then sleep a little, longer the longer it is quiet
  if (once) {
    if (len > 0) post();
    parentPort.postMessage({ end: true });
    break;
  }
  if (len > 0 && performance.now() - firstAt >= maxAgeMs) post();
  Atomics.add(ctrl, ${EMPTY_READS}, 1);
  Atomics.wait(ctrl, ${STOP}, 0, sleeps.next());
}
`;

/** Reads file descriptor `fd` (a non-blocking pipe or socket: see canReadOnThread; or /dev/kmsg) on a worker thread. */
export function threadReader(fd: number, options: ThreadReaderOptions = {}): ThreadReader {
  const ctrl = new Int32Array(new SharedArrayBuffer(12));
  const kmsg = options.kmsg ?? false;
  const chunkBytes = options.chunkBytes ?? 256 * 1024;
  const capBytes = options.capBytes ?? 32 * 1024 * 1024;
  const maxAgeMs = options.maxAgeMs ?? 20;
  const polls = options.polls ?? PIPE_POLLS;
  if (polls.length === 0) throw new RangeError('threadReader: polls needs a step');
  if (kmsg && chunkBytes <= 2 * KMSG_RECORD_BYTES) throw new RangeError(`threadReader: kmsg chunks need more than ${2 * KMSG_RECORD_BYTES} bytes`);
  let used = false;
  let read = 0;
  let stopped = Promise.resolve();

  async function* chunks(signal?: AbortSignal): AsyncGenerator<Buffer> {
    if (used) throw new Error('threadReader: chunks() can be iterated only once');
    used = true;
    if (signal?.aborted === true) return;
    // buffers handed back for reuse (see the module comment)
    const spare = new MessageChannel();
    const worker = new Worker(WORKER, {
      eval: true,
      workerData: {
        fd, sab: ctrl.buffer, chunkBytes, capBytes, maxAgeMs, spare: spare.port2,
        polls, startQuiet: options.startQuiet ?? false, kmsg, once: options.once ?? false,
      },
      transferList: [spare.port2],
      stdout: false,
      stderr: false,
    });
    stopped = new Promise((resolve) => worker.once('exit', () => resolve()));
    // each chunk with the bytes read up to its end
    const queue: Array<{ chunk: Buffer; read: number } | undefined> = [];
    let head = 0;
    let done = false;
    let error: Error | undefined;
    let wake: (() => void) | undefined;
    const poke = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    worker.on('message', (m: { chunk?: Uint8Array; read?: number; error?: string; code?: string }) => {
      if (m.chunk !== undefined) queue.push({ chunk: Buffer.from(m.chunk.buffer, m.chunk.byteOffset, m.chunk.byteLength), read: m.read ?? 0 });
      else if (m.error !== undefined) {
        error = Object.assign(new Error(m.error), { code: m.code });
        done = true;
      } else done = true;
      poke();
    });
    worker.on('error', (e: Error) => {
      error ??= e;
      done = true;
      poke();
    });
    worker.on('exit', () => {
      done = true;
      poke();
    });
    const aborted = (): boolean => signal?.aborted === true;
    signal?.addEventListener('abort', poke);
    // undefined until the first chunk tells whether the input is gzip (1f 8b; a lone 1f counts as maybe)
    let reuse: boolean | undefined;
    try {
      for (;;) {
        if (head < queue.length) {
          const { chunk: b, read: upTo } = queue[head] as { chunk: Buffer; read: number };
          queue[head++] = undefined;
          if (head >= 1024) {
            queue.splice(0, head);
            head = 0;
          }
          Atomics.sub(ctrl, QUEUED, b.length);
          Atomics.notify(ctrl, QUEUED);
          read = upTo;
          reuse ??= !(b[0] === 0x1f && (b.length < 2 || b[1] === 0x8b));
          yield b;
          // the consumer asked for the next chunk: it is done with this one
          if (reuse) spare.port1.postMessage(b.buffer, [b.buffer as ArrayBuffer]);
          continue;
        }
        if (error !== undefined) throw error;
        if (done || aborted()) return;
        await new Promise<void>((r) => {
          wake = r;
        });
      }
    } finally {
      signal?.removeEventListener('abort', poke);
      Atomics.store(ctrl, STOP, 1);
      Atomics.notify(ctrl, STOP);
      Atomics.notify(ctrl, QUEUED);
      void worker.terminate();
      spare.port1.close();
    }
  }

  return { chunks, backlog: () => Atomics.load(ctrl, QUEUED), bytesRead: () => read, emptyReads: () => Atomics.load(ctrl, EMPTY_READS), stopped: () => stopped };
}
