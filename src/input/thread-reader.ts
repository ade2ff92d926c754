/**
 * stdin read on a thread of its own. A pipe holds only 64 KiB. Read from the main thread, every 64 KiB costs a
 * read(2), a fresh Buffer and, once the pipe is drained, a wait for the writer to be scheduled again — while the main
 * thread, which parses and classifies, waits too. And the live view's main thread also draws: a frame or a garbage
 * collection holds it for several milliseconds, 2.8 ms of input fill the pipe at 100,000 lines a second, and the
 * writer (`journalctl -f`, a tail) is held back. Here a worker drains the pipe into a queue whatever the main thread
 * is doing, and hands it over in chunks of up to 256 KiB (~1,000 lines), so the main thread also pays its per-chunk
 * costs less often. The queue is bounded: past `capBytes` not yet taken, the worker stops reading and the pipe
 * fills, as without it (backpressure, memory bounded).
 *
 * Chunk buffers go back to the worker once the consumer asks for the next chunk, and are read into again: no buffer
 * per chunk to collect. So a chunk stays valid only until the consumer asks for the next one (as with the file
 * reader's two buffers in file-source.ts) — unless the input is gzip, which zlib may hold on to: then every chunk is
 * a buffer of its own. On the bench corpus through `cat |`, this took `analyze --summary` from 2.4 s and 167 MB peak
 * RSS (reading on the main thread) to 2.0 s and 145 MB.
 *
 * Only for a pipe or socket on stdin that Node opened as a socket (libuv put it in non-blocking mode): the worker
 * never blocks in read(2), so it always sees the stop flag and the process can always exit.
 */
import { fstatSync } from 'node:fs';
import { Socket } from 'node:net';
import { MessageChannel, Worker } from 'node:worker_threads';

export interface ThreadReaderOptions {
  /** bytes per chunk handed over @default 256 KiB */
  chunkBytes?: number;
  /** bytes read ahead and not yet taken, beyond which the worker stops reading @default 32 MiB */
  capBytes?: number;
  /** a partial chunk is handed over once its first byte is this old and the pipe is empty @default 5 */
  maxAgeMs?: number;
}

export interface ThreadReader {
  /**
   * The input's chunks, in order; the worker starts when this is first iterated. Iterate once. A chunk is valid until
   * the next one is asked for (its buffer is read into again), unless the input is gzip.
   */
  chunks(signal?: AbortSignal): AsyncGenerator<Buffer>;
  /** Bytes read from the pipe and not yet taken by the consumer. */
  backlog(): number;
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

// The worker, as a script (eval: no file to find next to dist/ or src/). ctrl[STOP] is set by the consumer to end it;
// ctrl[QUEUED] counts bytes handed over and not yet taken (the worker adds, the consumer subtracts).
const WORKER = `
const { parentPort, workerData, receiveMessageOnPort } = require('node:worker_threads');
const { readSync } = require('node:fs');
const { fd, sab, chunkBytes, capBytes, maxAgeMs, spare } = workerData;
const ctrl = new Int32Array(sab);
let buf = Buffer.allocUnsafeSlow(chunkBytes);
let len = 0;
let firstAt = 0;
let quiet = 0;
function post() {
  Atomics.add(ctrl, ${QUEUED}, len);
  parentPort.postMessage(new Uint8Array(buf.buffer, 0, len), [buf.buffer]);
  // a buffer the consumer is done with, else a new one
  const back = receiveMessageOnPort(spare);
  buf = back === undefined ? Buffer.allocUnsafeSlow(chunkBytes) : Buffer.from(back.message);
  len = 0;
}
for (;;) {
  if (Atomics.load(ctrl, ${STOP}) !== 0) break;
  const queued = Atomics.load(ctrl, ${QUEUED});
  if (queued >= capBytes) {
    Atomics.wait(ctrl, ${QUEUED}, queued, 50);
    continue;
  }
  let n;
  try {
    n = readSync(fd, buf, len, chunkBytes - len, null);
  } catch (e) {
    if (e.code === 'EAGAIN' || e.code === 'EWOULDBLOCK') n = -1;
    else if (e.code === 'EINTR') continue;
    else {
      if (len > 0) post();
      parentPort.postMessage({ error: String(e.message), code: e.code });
      break;
    }
  }
  if (n === 0) {
    if (len > 0) post();
    parentPort.postMessage({ end: true });
    break;
  }
  if (n > 0) {
    if (len === 0) firstAt = performance.now();
    len += n;
    quiet = 0;
    if (len === chunkBytes) post();
    continue;
  }
  // nothing to read now: hand over what has waited long enough, then sleep a little, longer the longer it is quiet:
  // 0.05 ms ten times, 1 ms for ~0.2 s, 10 ms for ~2 s, 50 ms for ~10 s, then 200 ms. A pipe quiet for long
  // (\`journalctl -f\` at night) costs 5 wake-ups a second; its next line waits at most 0.2 s. The first waits are
  // short because an empty pipe in a flood means only that the writer has not run yet: it fills the 64 KiB pipe in
  // tens of microseconds, then blocks until read — a 1 ms sleep there held the reader to ~64 MB/s.
  if (len > 0 && performance.now() - firstAt >= maxAgeMs) post();
  if (quiet < 610) quiet++;
  Atomics.wait(ctrl, ${STOP}, 0, quiet <= 10 ? 0.05 : quiet < 210 ? 1 : quiet < 410 ? 10 : quiet < 610 ? 50 : 200);
}
`;

/** Reads file descriptor `fd` (a non-blocking pipe or socket: see canReadOnThread) on a worker thread. */
export function threadReader(fd: number, options: ThreadReaderOptions = {}): ThreadReader {
  const ctrl = new Int32Array(new SharedArrayBuffer(8));
  const chunkBytes = options.chunkBytes ?? 256 * 1024;
  const capBytes = options.capBytes ?? 32 * 1024 * 1024;
  const maxAgeMs = options.maxAgeMs ?? 5;
  let used = false;

  async function* chunks(signal?: AbortSignal): AsyncGenerator<Buffer> {
    if (used) throw new Error('threadReader: chunks() can be iterated only once');
    used = true;
    if (signal?.aborted === true) return;
    // buffers handed back for reuse (see the module comment)
    const spare = new MessageChannel();
    const worker = new Worker(WORKER, {
      eval: true,
      workerData: { fd, sab: ctrl.buffer, chunkBytes, capBytes, maxAgeMs, spare: spare.port2 },
      transferList: [spare.port2],
      stdout: false,
      stderr: false,
    });
    const queue: Array<Buffer | undefined> = [];
    let head = 0;
    let done = false;
    let error: Error | undefined;
    let wake: (() => void) | undefined;
    const poke = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    worker.on('message', (m: unknown) => {
      if (m instanceof Uint8Array) queue.push(Buffer.from(m.buffer, m.byteOffset, m.byteLength));
      else if ((m as { error?: string }).error !== undefined) {
        const { error: message, code } = m as { error: string; code?: string };
        error = Object.assign(new Error(message), { code });
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
          const b = queue[head] as Buffer;
          queue[head++] = undefined;
          if (head >= 1024) {
            queue.splice(0, head);
            head = 0;
          }
          Atomics.sub(ctrl, QUEUED, b.length);
          Atomics.notify(ctrl, QUEUED);
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

  return { chunks, backlog: () => Atomics.load(ctrl, QUEUED) };
}
