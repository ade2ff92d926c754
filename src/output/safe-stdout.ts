/**
 * Writing to stdout with backpressure, and ending quietly when the reader goes away (`fwdiag parse … | head`).
 *
 * Node reports a closed pipe as an asynchronous 'error' (EPIPE) on the stream; with no listener that is an
 * uncaught exception and a stack trace on stderr. Here EPIPE marks the stream closed: pending and later writes
 * resolve at once, and producers check `isOutputClosed()` to stop reading input. A terminal that hung up (EIO) is
 * the same: the live view's summary has nowhere to go, and that is no error.
 */

import { fstatSync, writeSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { isatty } from 'node:tty';

interface State {
  closed: boolean;
  /** a write error other than EPIPE, rejected to the next writer */
  error?: Error;
  /** writers waiting for 'drain' (or for the end) */
  waiters: Set<() => void>;
}

const states = new WeakMap<Writable, State>();

/** The reader went away: EPIPE on a pipe, EIO on a terminal that hung up (the SSH session dropped, the window closed). */
function isReaderGone(e: unknown, stream: Writable): boolean {
  const code = (e as { code?: unknown } | undefined)?.code;
  // ERR_STREAM_DESTROYED: a write raced with the EPIPE teardown; same meaning here. EIO only on a terminal: on a file
  // it is a disk's error, which must not pass for a quiet end.
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' || (code === 'EIO' && (stream as { isTTY?: boolean }).isTTY === true);
}

function stateOf(stream: Writable): State {
  let st = states.get(stream);
  if (st !== undefined) return st;
  const s: State = { closed: false, waiters: new Set() };
  st = s;
  states.set(stream, s);
  const wake = () => {
    for (const w of s.waiters) w();
    s.waiters.clear();
  };
  // One listener per stream for its lifetime: without it an EPIPE would crash the process.
  stream.on('error', (e: unknown) => {
    s.closed = true;
    if (!isReaderGone(e, stream)) s.error = e instanceof Error ? e : new Error(String(e));
    wake();
  });
  stream.on('close', () => {
    s.closed = true;
    wake();
  });
  stream.on('drain', wake);
  return s;
}

/**
 * Write `chunk` (normally several lines, each ending in `\n`) to `stream`. Resolves when the stream can take more:
 * at once when `write()` returned true, after 'drain' when it returned false. Resolves (does not reject) once the
 * reader has gone away (EPIPE); rejects on any other write error. `written` is called once the stream is done with
 * the chunk's memory (the write's own callback), so the caller may use it again.
 */
export async function writeLines(stream: Writable, chunk: string | Uint8Array, written?: () => void): Promise<void> {
  const st = stateOf(stream);
  if (st.error !== undefined) throw st.error;
  if (st.closed || stream.destroyed || stream.writableEnded) {
    st.closed = true;
    return;
  }
  let ok: boolean;
  try {
    ok = written === undefined ? stream.write(chunk) : stream.write(chunk, (err) => {
      if (err === null || err === undefined) written();
    });
  } catch (e) {
    // Some Writables throw synchronously instead of emitting.
    st.closed = true;
    if (isReaderGone(e, stream)) return;
    throw e;
  }
  if (ok || st.closed) return;
  await new Promise<void>((resolve) => {
    st.waiters.add(resolve);
  });
  if (st.error !== undefined) throw st.error;
}

/** True once the reader has gone away (EPIPE) or the stream was closed: stop producing output. */
export function isOutputClosed(stream: Writable): boolean {
  const st = states.get(stream);
  return st?.closed === true || stream.destroyed || stream.writableEnded;
}

/** Install the EPIPE guard on a stream before anything else writes to it (e.g. a renderer writing directly). */
export function guardOutput(stream: Writable): void {
  stateOf(stream);
}

/**
 * The file descriptor behind `stream` when writes to it may simply be synchronous: a regular file or a character
 * device that is not a terminal (`> out.ndjson`, `> /dev/null`). Writing there blocks only as long as the disk takes,
 * which is the backpressure, and Node itself writes such stdout synchronously. Undefined for pipes, sockets,
 * terminals and streams without a descriptor.
 */
export function syncFileFd(stream: Writable): number | undefined {
  const fd = (stream as { fd?: unknown }).fd;
  if (typeof fd !== 'number') return undefined;
  try {
    const st = fstatSync(fd);
    if (st.isFile() || (st.isCharacterDevice() && !isatty(fd))) return fd;
  } catch {
    // not a descriptor we can look at: the stream way
  }
  return undefined;
}

/** All of `chunk` to `fd`, synchronously. */
export function writeAllSync(fd: number, chunk: Uint8Array): void {
  let off = 0;
  while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
}
