/**
 * A file or stdin as a LineSource. Gzip is recognised by its magic bytes (1f 8b), not by the name, so
 * `zcat`-less pipes (`cat syslog.2.gz | fwdiag parse -`) and misnamed files work alike.
 */

import { createReadStream, fstatSync, read } from 'node:fs';
import { constants } from 'node:fs';
import { access, open, stat } from 'node:fs/promises';
import { Readable, addAbortSignal } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { InputError } from '../cli/errors.js';
import { type Piece, createLineSplitter } from './split-lines.js';
import { canReadOnThread, threadReader, type ThreadReader } from './thread-reader.js';
import type { InputStats, LineSource } from './types.js';

/**
 * Read size: one batch of lines per chunk (~1000 lines). Measured on 500k 260-byte lines from the page cache:
 * 64 KiB reads alone ran at 2-5 M lines/s (one threadpool round trip each), 256 KiB at 10-11 M lines/s.
 */
const CHUNK_BYTES = 256 * 1024;
/** Positional reads of regular files (see fileChunks). */
const FILE_CHUNK_BYTES = 1024 * 1024;

export function emptyStats(): InputStats {
  return { bytes: 0, lines: 0, cut: 0, overwritten: 0, rotations: 0 };
}

/** A one-line reason for an fs error, without Node's `ENOENT: …, open '…'` noise. */
export function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOTDIR':
      return 'a path component is not a directory';
    case 'ELOOP':
      return 'too many symbolic links';
    case 'EMFILE':
    case 'ENFILE':
      return 'too many open files';
    default:
      return e instanceof Error ? e.message : String(e);
  }
}

function isAbort(e: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true || (e as { name?: unknown } | undefined)?.name === 'AbortError';
}

/**
 * Chunks of `raw`, gunzipped when the first two bytes are the gzip magic. Counts raw (compressed) bytes.
 * Backpressure: everything is pulled by `for await`; zlib's stream buffers at most its highWaterMark.
 * When the consumer stops early (`| head`, an error), `raw` is closed too: a chunk reader's `finally` releases what
 * it holds (a file handle, the reading thread, which would otherwise keep the process alive).
 */
async function* decompressed(raw: AsyncIterable<Buffer>, stats: InputStats): AsyncGenerator<Buffer> {
  // A Readable in string mode (Readable.from(['text']), setEncoding) yields strings: read their UTF-8 bytes.
  const src0 = raw[Symbol.asyncIterator]();
  try {
    yield* decompressedFrom(src0, stats);
  } finally {
    // Not awaited: with gzip, zlib's side may be waiting on src0.next() (a quiet pipe); the return then runs once
    // that read ends (a chunk reader also ends on its abort signal). Otherwise src0 is idle and closes at once.
    src0.return?.()?.catch(() => undefined);
  }
}

async function* decompressedFrom(src0: AsyncIterator<unknown>, stats: InputStats): AsyncGenerator<Buffer> {
  const it = {
    next: async (): Promise<IteratorResult<Buffer>> => {
      const r = await src0.next();
      if (r.done === true || Buffer.isBuffer(r.value)) return r as IteratorResult<Buffer>;
      return { done: false, value: typeof r.value === 'string' ? Buffer.from(r.value) : Buffer.from(r.value as Uint8Array) };
    },
  };
  const head: Buffer[] = [];
  let headLen = 0;
  let done = false;
  // A pipe may hand over a single byte first: collect at least two to look at the magic.
  while (headLen < 2) {
    const r = await it.next();
    if (r.done === true) {
      done = true;
      break;
    }
    stats.bytes += r.value.length;
    headLen += r.value.length;
    // a chunk held while the next one is read is copied: readers may reuse a chunk's memory once asked for the next
    head.push(headLen < 2 ? Buffer.from(r.value) : r.value);
  }
  const first = head.length === 1 ? (head[0] as Buffer) : Buffer.concat(head);
  const rest = async function* (): AsyncGenerator<Buffer> {
    if (first.length > 0) yield first;
    if (done) return;
    for (let r = await it.next(); r.done !== true; r = await it.next()) {
      stats.bytes += r.value.length;
      yield r.value;
    }
  };
  if (!(first[0] === 0x1f && first[1] === 0x8b)) {
    yield* rest();
    return;
  }
  const gunzip = createGunzip({ chunkSize: 128 * 1024 });
  const src = Readable.from(rest(), { objectMode: false });
  src.on('error', (e) => gunzip.destroy(e));
  src.pipe(gunzip);
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } finally {
    src.destroy();
    gunzip.destroy();
  }
}

export interface FileSourceOptions {
  /**
   * Display name (events, messages).
   * @default the path, or `-` for stdin
   */
  name?: string;
  /**
   * streamSource: when the stream is process.stdin on a pipe or socket, it is read on a worker thread
   * (thread-reader.ts), at most this many bytes ahead of the consumer; 0 reads it on the main thread.
   * @default 4 MiB
   */
  readAhead?: number;
}

/** What {@link regularChunks} reads from: a file handle, or a descriptor such as stdin. */
interface ChunkReader {
  /** reads up to `length` bytes at the current offset into `buffer` */
  read(buffer: Buffer, length: number): Promise<{ bytesRead: number; buffer: Buffer }>;
  close(): Promise<void>;
}

/**
 * Chunks of a regular file read from its current offset into two buffers used in turn — no stream, no new buffer
 * per read: 305 MB in 1 MiB reads took 48 ms this way against 214 ms through a 256 KiB ReadStream (bench corpus,
 * page cache). The next read runs while a chunk is worked, into the other buffer, so a chunk stays valid only until
 * the consumer asks for the next one; every consumer here has finished with a chunk by then (the splitter copies
 * partial lines). Gzip data (magic 1f 8b) gets fresh buffers instead: zlib may still hold a chunk when the next one
 * is read.
 */
async function* regularChunks(open: () => Promise<ChunkReader>, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
  const fh = await open();
  let inFlight: Promise<unknown> | undefined;
  try {
    const bufs = [Buffer.allocUnsafe(FILE_CHUNK_BYTES), Buffer.allocUnsafe(FILE_CHUNK_BYTES)];
    let reuse = true;
    let k = 0;
    let next = fh.read(bufs[0] as Buffer, FILE_CHUNK_BYTES);
    inFlight = next;
    for (let first = true; ; first = false) {
      if (signal?.aborted === true) return;
      const { bytesRead, buffer } = await next;
      if (bytesRead === 0) return;
      if (first && buffer[0] === 0x1f && buffer[1] === 0x8b) reuse = false;
      // Read ahead into the other buffer while this chunk is worked: the consumer is done with that one (it asked
      // for this chunk), and the line splitter copies a partial line out before asking again.
      k ^= 1;
      next = fh.read(reuse ? (bufs[k] as Buffer) : Buffer.allocUnsafe(FILE_CHUNK_BYTES), FILE_CHUNK_BYTES);
      inFlight = next;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    // A read may still be running: let it end before the handle closes.
    await inFlight?.then(
      () => undefined,
      () => undefined,
    );
    await fh.close();
  }
}

function fileChunks(path: string, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
  return regularChunks(async () => {
    const fh = await open(path, 'r');
    return { read: (b, n) => fh.read(b, 0, n, null), close: () => fh.close() };
  }, signal);
}

/**
 * stdin redirected from a regular file (`fwdiag analyze < kern.log`): read like a named file, from the offset the
 * shell left it at (reads at the current position, so `(head -n 5 >/dev/null; fwdiag) < f` starts where head
 * stopped). Descriptor 0 stays open.
 */
function stdinFileChunks(signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
  return regularChunks(
    () =>
      Promise.resolve({
        read: (buffer: Buffer, length: number) =>
          new Promise<{ bytesRead: number; buffer: Buffer }>((resolve, reject) => {
            read(0, buffer, 0, length, null, (e, bytesRead) => (e === null ? resolve({ bytesRead, buffer }) : reject(e)));
          }),
        close: () => Promise.resolve(),
      }),
    signal,
  );
}

/** Is descriptor 0 a directory (`< /tmp`)? Reading it fails with EISDIR, which a stream reports as an empty input. */
function stdinIsDirectory(): boolean {
  try {
    return fstatSync(0).isDirectory();
  } catch {
    return false;
  }
}

/** Is descriptor 0 a regular file (stdin redirected from one)? */
function stdinIsFile(): boolean {
  try {
    return fstatSync(0).isFile();
  } catch {
    return false;
  }
}

class StreamLineSource implements LineSource {
  readonly stats: InputStats = emptyStats();
  #used = false;

  /**
   * `chunks`, when given (regular files, a reading thread), is read instead of the stream `open` returns; `backlog`
   * tells how far such a reader is ahead.
   */
  constructor(
    readonly name: string,
    private readonly open: () => Readable,
    private readonly chunks?: (signal: AbortSignal | undefined) => AsyncIterable<Buffer>,
    backlog?: () => number,
  ) {
    if (backlog !== undefined) this.backlog = backlog;
  }

  backlog?(): number;

  batches(signal?: AbortSignal): AsyncGenerator<string[]> {
    return this.#read(signal, false) as AsyncGenerator<string[]>;
  }

  pieces(signal?: AbortSignal): AsyncGenerator<Piece[]> {
    return this.#read(signal, true);
  }

  async *#read(signal: AbortSignal | undefined, runs: boolean): AsyncGenerator<Piece[]> {
    if (this.#used) throw new Error(`${this.name}: batches() can be iterated only once`);
    this.#used = true;
    if (signal?.aborted === true) return;
    const chunks = this.chunks;
    const stream = chunks === undefined ? this.open() : undefined;
    if (signal !== undefined && stream !== undefined) addAbortSignal(signal, stream);
    const splitter = createLineSplitter();
    const stats = this.stats;
    try {
      for await (const chunk of decompressed(stream ?? (chunks as (s: AbortSignal | undefined) => AsyncIterable<Buffer>)(signal), stats)) {
        const lines = runs ? splitter.pushPieces(chunk) : splitter.push(chunk);
        stats.cut = splitter.cut;
        if (lines.length > 0) {
          for (let i = 0; i < lines.length; i++) if (typeof lines[i] === 'string') stats.lines++;
          yield lines;
        }
      }
      const last = splitter.end();
      stats.cut = splitter.cut;
      if (last.length > 0) {
        stats.lines += last.length;
        yield last;
      }
    } catch (e) {
      if (isAbort(e, signal)) return;
      const code = (e as { code?: unknown }).code;
      const what =
        code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR'
          ? `corrupt or truncated gzip data (${(e as Error).message})`
          : describeFsError(e);
      throw new InputError(`cannot read ${this.name}: ${what}`, { cause: e });
    } finally {
      stream?.destroy();
    }
  }
}

/**
 * A LineSource for a file path. The path is checked now (missing file, directory, no permission → InputError
 * before any work is done) but opened only when read, so many files do not hold many descriptors.
 */
export async function openFileSource(path: string, options: FileSourceOptions = {}): Promise<LineSource> {
  const name = options.name ?? path;
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    // permissions too: a file we may not read must fail before the first file is read, not after it
    await access(path, constants.R_OK);
  } catch (e) {
    throw new InputError(`cannot read ${name}: ${describeFsError(e)}`, { cause: e });
  }
  return new StreamLineSource(
    name,
    () => createReadStream(path, { highWaterMark: CHUNK_BYTES }),
    st.isFile() ? (signal) => fileChunks(path, signal) : undefined,
  );
}

/**
 * How far a reading thread may read stdin ahead of the consumer: enough to keep a pipe drained while the main thread
 * works on a chunk or collects garbage. The live view asks for more (a frame holds its main thread longer).
 */
export const READ_AHEAD_BYTES = 4 * 1024 * 1024;

/** A LineSource for an already open stream, normally stdin (`-`). */
export function streamSource(stream: Readable, options: FileSourceOptions = {}): LineSource {
  const name = options.name ?? '-';
  if (stream === process.stdin && stdinIsDirectory()) {
    throw new InputError(`cannot read ${name === '-' ? 'stdin' : name}: is a directory`);
  }
  const readAhead = options.readAhead ?? READ_AHEAD_BYTES;
  if (readAhead > 0 && canReadOnThread(stream)) {
    const reader: ThreadReader = threadReader(0, { capBytes: readAhead });
    return new StreamLineSource(name, () => stream, (signal) => reader.chunks(signal), reader.backlog);
  }
  if (stream === process.stdin && stdinIsFile()) return new StreamLineSource(name, () => stream, stdinFileChunks);
  return new StreamLineSource(name, () => stream);
}
