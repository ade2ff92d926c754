/**
 * `--follow FILE`: a live file as a LineSource, through tail-file (fs.watch on the directory, no polling), which
 * notices rotation (the path now names another inode: it finishes the old file, then reads the new one from its
 * start) and truncation (the file got shorter than the read position: it starts again at 0).
 *
 * tail-file is used for its file juggling only. Its own line handling is bypassed by replacing two methods
 * (its constructor copies options onto the instance, the documented way to "hack" it):
 * - `decode(chunk)` gets the raw bytes: our splitter does UTF-8, `\r`, the line cap and bounded memory (tail-file
 *   would grow a string without limit on a file with no newline and emits one line per event-loop turn).
 * - `readStuff()` is held back while our queue is full: that is the backpressure tail-file does not have.
 *
 * What tail-file cannot see, and what is done about it:
 * - copytruncate (logrotate copies FILE to FILE.1, then truncates FILE): lines written after our last read and
 *   before the truncation exist only in the copy. On a truncation we read them from FILE.1, from the byte where
 *   we stopped, after checking that the copy holds the bytes we last read at the same offsets.
 * - tail-file sees a truncation only when the file is found shorter than the read position. If the writer refills
 *   it past that position first (we were paused by a slow consumer, or it wrote that much between two reads),
 *   tail-file reads on from the old position in the new content: lines lost, a fragment delivered. So every chunk
 *   is taken only after a check, made after its read, that the 256 bytes before it are still the bytes we took
 *   there (a start at the end of a file first reads the bytes before it); if not, it is handled as a truncation.
 *   Not caught: a rewrite that puts identical bytes there.
 * - tail-file stats a file by name, then opens it by name: a rotation between the two had it read the next file under
 *   the inode of the one before, and read it again at its end. The inode is taken from the open descriptor instead.
 * - A rotation by rename leaves FILE missing until the writer creates it again, and tail-file can find it gone when it
 *   opens it to switch over (ENOENT, which it emits as an error). While it is starting, tail-file itself then tries
 *   FILE.1, where the file it was about to read went; when that fails too, we wait for FILE to appear, as `tail -F`
 *   does, and read it from its start.
 * - A file rotated away (out of FILE's name) before tail-file opened it is not read, unless it is at FILE.1 when
 *   tail-file finds FILE missing (above): at a rotation every few milliseconds, some are not.
 * - Lines written to the old file (through a descriptor the writer kept) after we switched to the new file are
 *   not read: the writer is expected to reopen on rotation, as syslog daemons do on logrotate's HUP.
 */

import { createReadStream, fstatSync, type FSWatcher, read, watch } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import Tail from 'tail-file';
import { InputError } from '../cli/errors.js';
import { describeFsError, emptyStats } from './file-source.js';
import { createLineSplitter } from './split-lines.js';
import type { InputStats, LineSource } from './types.js';

export interface FollowOptions {
  /**
   * Where to begin: `end` reads only lines written from now on (like `tail -f -n 0`), `start` reads the file
   * first. After a rotation the new file is always read from its start.
   * @default 'end'
   */
  from?: 'end' | 'start';
  /**
   * Lines read but not yet taken by the consumer; reading pauses at this many.
   * @default 16384
   */
  maxQueuedLines?: number;
  /**
   * Display name.
   * @default the path
   */
  name?: string;
  /**
   * Called once the start position is fixed and the file is open: lines written after this are delivered.
   * For tests and status lines.
   */
  onReady?: () => void;
}

/** Bytes compared between the file and its copy before trusting the copy (copytruncate recovery). */
const VERIFY_BYTES = 256;
/** tail-file read size (its default is 4 KiB); 256 KiB as for files (see file-source.ts). */
const READ_BYTES = 256 * 1024;

type Item = { lines: string[] } | { copyFrom: number; verifyFrom: number; verify: Buffer };

/** The instance as our replacement methods see it (`this` inside them). */
interface TailInternals {
  pos: number | 'init';
  fd?: number | 'init';
  started: string | null;
  reading: boolean;
  onEndOfFile(): void;
  _stop(): void;
  setBytePos(pos: number): void;
  createReader(): void;
  ino: number | null;
  emit(event: 'restart', reason: string): boolean;
  start(): void;
}

class FollowSource implements LineSource {
  readonly stats: InputStats = emptyStats();
  #used = false;
  /** lines cut while reading copies (the main splitter counts the rest) */
  #copyCuts = 0;

  constructor(
    readonly name: string,
    private readonly path: string,
    private readonly from: 'end' | 'start',
    private readonly maxQueued: number,
    /** when starting at the end of a file whose last line is not finished: skip to the next newline */
    private readonly startsMidLine: boolean,
    private readonly onReady: (() => void) | undefined,
  ) {}

  async *batches(signal?: AbortSignal): AsyncGenerator<string[]> {
    if (this.#used) throw new Error(`${this.name}: batches() can be iterated only once`);
    this.#used = true;
    const stats = this.stats;
    const path = this.path;
    const maxQueued = this.maxQueued;
    const splitter = createLineSplitter();

    const queue: Item[] = [];
    let queuedLines = 0;
    let failure: unknown;
    let wake: (() => void) | undefined;
    const notify = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };

    // Backpressure: while paused, tail-file's reads are deferred and replayed on resume.
    let paused = false;
    let readDeferred = false;
    // A chunk is taken only once the bytes before it are found unchanged (see decode); meanwhile reads wait.
    let verifying = false;
    // Position (bytes) up to which the current file's bytes are taken, and the last bytes taken there: to check each
    // chunk against, and for copytruncate recovery.
    let lastPos = 0;
    let recent = Buffer.alloc(0);
    // Starting at the end of a file: the bytes before the start are read once, so the first chunk can be checked too.
    let seeded = false;
    let skipToNewline = this.startsMidLine;

    const enqueue = (lines: string[]) => {
      stats.cut = splitter.cut + this.#copyCuts;
      if (lines.length === 0) return;
      queue.push({ lines });
      queuedLines += lines.length;
      notify();
    };

    /** Takes a chunk that ends at byte `end` of the file. */
    const take = (chunk: Buffer, end: number): void => {
      lastPos = end;
      stats.bytes += chunk.length;
      const keep = Math.min(VERIFY_BYTES, chunk.length);
      recent = Buffer.concat([recent, chunk.subarray(chunk.length - keep)]);
      if (recent.length > VERIFY_BYTES) recent = recent.subarray(recent.length - VERIFY_BYTES);
      let data = chunk;
      if (skipToNewline) {
        const nl = chunk.indexOf(0x0a);
        if (nl === -1) data = chunk.subarray(chunk.length);
        else {
          skipToNewline = false;
          data = chunk.subarray(nl + 1);
        }
      }
      enqueue(splitter.push(data));
      if (queuedLines >= maxQueued) paused = true;
    };

    /** The file was truncated (and maybe written past our position again): restart, recovering from the copy. */
    const truncated = (t: TailInternals): void => {
      t._stop();
      t.setBytePos(0);
      t.emit('restart', 'TRUNCATE');
      t.start();
    };

    const tail = new Tail(path, {
      startPos: this.from,
      _bufsize: READ_BYTES,
      decode(this: TailInternals & Tail, chunk: Buffer | null): void {
        if (chunk === null) {
          this.onEndOfFile();
          return;
        }
        const end = this.pos as number;
        const start = end - chunk.length;
        if (recent.length === 0 || start !== lastPos) {
          take(chunk, end);
          this.readStuff();
          return;
        }
        // Check, after the read, that the bytes before it are still the ones we took there. tail-file sees a
        // truncation only when the file is found shorter than the read position; a copytruncate followed by a refill
        // past that position (a burst of writes, or a slow consumer) would otherwise read on in the new content from
        // the old position: lines lost, a fragment delivered. Checking after the read, not before it, leaves no gap
        // between check and read. Not caught: a rewrite that puts identical bytes there.
        const data = Buffer.from(chunk); // tail-file reuses its read buffer
        const expected = recent;
        const fd = this.fd;
        const got = Buffer.alloc(expected.length);
        verifying = true;
        read(fd as number, got, 0, got.length, start - got.length, (err, n) => {
          verifying = false;
          if (this.fd !== fd) return; // stopped meanwhile
          if (err === null && n === expected.length && got.equals(expected)) {
            take(data, end);
            readDeferred = false;
            this.readStuff();
            return;
          }
          truncated(this);
        });
      },
      onCreateReader(this: TailInternals & Tail, fd: number): void {
        // tail-file takes the inode from a stat() by name before it opens the file by name; a rotation between the
        // two left it reading one file under the other's inode, and at its end it saw "a new file" in the very file
        // it had read, and read it again from its start. The inode of what was opened is the one to compare.
        try {
          this.ino = fstatSync(fd).ino;
        } catch {
          // keep tail-file's: the read that follows reports the descriptor's error
        }
        Tail.prototype.onCreateReader.call(this, fd);
      },
      readStuff(this: TailInternals & Tail): void {
        if (paused || verifying) {
          readDeferred = true;
          // Only the read waits: a start in progress must still open its reader, whose 'ready' ends the start.
          // Without it, a second restart's stop() waited for that 'ready' forever, with no watcher left: the
          // process ran out of work and exited (code 13) in the middle of following.
          if (this.started !== null && this.fd === undefined) this.createReader();
          return;
        }
        const fd = this.fd;
        const pos = this.pos;
        if (!seeded && typeof fd === 'number' && typeof pos === 'number' && !this.reading) {
          seeded = true;
          if (pos > 0 && recent.length === 0) {
            // the bytes before a start at the end of the file, to check the first chunk against
            const before = Buffer.alloc(Math.min(VERIFY_BYTES, pos));
            verifying = true;
            read(fd, before, 0, before.length, pos - before.length, (err, n) => {
              verifying = false;
              if (this.fd !== fd) return;
              if (err === null && n === before.length && this.pos === pos) {
                recent = before;
                lastPos = pos;
              }
              readDeferred = false;
              this.readStuff();
            });
            return;
          }
        }
        Tail.prototype.readStuff.call(this);
      },
    });

    const onReady = this.onReady;
    if (onReady !== undefined) tail.once('ready', () => onReady());
    // A file missing while it rotates is waited for, as `tail -F` does: rotation by rename leaves FILE absent until
    // the writer creates it again, and tail-file, opening FILE by name after it decided to switch, can find it gone.
    let waiting: FSWatcher | undefined;
    let stopped = false;
    const waitForFile = (): void => {
      if (waiting !== undefined || stopped) return;
      const look = (): void => {
        stat(path).then(
          () => {
            if (waiting === undefined) return;
            waiting.close();
            waiting = undefined;
            if (stopped) return;
            // a file that appears after a gap is a new one: read from its start
            tail.startPos = 'start';
            tail.start();
          },
          (e: unknown) => {
            if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // wait on
            waiting?.close();
            waiting = undefined;
            failure = e;
            notify();
          },
        );
      };
      try {
        waiting = watch(dirname(path), (_type, name) => {
          if (name === null || name === basename(path)) look();
        });
      } catch (e) {
        failure = e;
        notify();
        return;
      }
      waiting.on('error', (e) => {
        failure = e;
        notify();
      });
      look(); // it may have appeared before the watch began
    };
    tail.on('error', (e: unknown) => {
      if ((e as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
        // While tail-file is starting, its own handler tries FILE.1 next (the file just rotated there: the one it was
        // about to read). Once it has given up (starting is null), wait for FILE to come back.
        if (typeof tail.starting !== 'string') waitForFile();
        return;
      }
      failure = e;
      notify();
    });
    tail.on('restart', (reason: string) => {
      stats.rotations++;
      if (reason === 'TRUNCATE') {
        // Lines between our position and the truncation may survive in the copy: read them from FILE.1 first,
        // holding tail-file back until the generator has done so.
        const partial = splitter.reset();
        const completeAt = lastPos - partial;
        const verifyFrom = Math.max(0, lastPos - recent.length);
        const verify = Buffer.from(recent.subarray(recent.length - (lastPos - verifyFrom)));
        queue.push({ copyFrom: completeAt, verifyFrom, verify });
        paused = true;
        notify();
      } else {
        // NEWPRIME/PRIMEFOUND: the old file was read to its end; its unterminated last line is now complete.
        enqueue(splitter.end());
      }
      skipToNewline = false;
      lastPos = 0;
      recent = Buffer.alloc(0);
    });

    const resume = () => {
      if (!paused || queuedLines > maxQueued / 2) return;
      if (queue.some((it) => 'copyFrom' in it)) return;
      paused = false;
      if (readDeferred) {
        readDeferred = false;
        tail.readStuff();
      }
    };

    const onAbort = () => notify();
    signal?.addEventListener('abort', onAbort);
    tail.start();
    // A function, not a property read: TypeScript would narrow `aborted` to false after the first check.
    const aborted = (): boolean => signal?.aborted === true;
    try {
      for (;;) {
        if (aborted()) return;
        if (failure !== undefined) {
          throw new InputError(`cannot follow ${this.name}: ${describeFsError(failure)}`, { cause: failure });
        }
        const item = queue.shift();
        if (item === undefined) {
          resume();
          await new Promise<void>((r) => {
            wake = r;
          });
          continue;
        }
        if ('lines' in item) {
          queuedLines -= item.lines.length;
          stats.lines += item.lines.length;
          resume();
          yield item.lines;
        } else {
          for await (const lines of this.#fromCopy(item.copyFrom, item.verifyFrom, item.verify, signal)) {
            stats.lines += lines.length;
            yield lines;
          }
          resume();
        }
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      stopped = true;
      waiting?.close();
      // tail-file's stop() waits for a start in progress; never let that hold up the caller for long.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        tail.stop().catch(() => undefined),
        new Promise((r) => {
          timer = setTimeout(r, 1000);
        }),
      ]);
      clearTimeout(timer);
    }
  }

  /**
   * After a copytruncate: the lines from `offset` to the end of FILE.1, if FILE.1 holds at `verifyFrom` the bytes
   * we last read from FILE (then it is the copy of our file, not an older rotation).
   */
  async *#fromCopy(offset: number, verifyFrom: number, verify: Buffer, signal?: AbortSignal): AsyncGenerator<string[]> {
    const copy = `${this.path}.1`;
    let size: number;
    try {
      const fh = await open(copy, 'r');
      try {
        size = (await fh.stat()).size;
        if (size <= offset) return;
        if (verify.length > 0) {
          const got = Buffer.alloc(verify.length);
          const { bytesRead } = await fh.read(got, 0, verify.length, verifyFrom);
          if (bytesRead !== verify.length || !got.equals(verify)) return;
        }
      } finally {
        await fh.close();
      }
    } catch {
      return; // no copy: the lines are gone (counted nowhere: we cannot know how many)
    }
    const splitter = createLineSplitter();
    const stream = createReadStream(copy, { start: offset, end: size - 1, highWaterMark: READ_BYTES });
    try {
      for await (const chunk of stream) {
        if (signal?.aborted === true) return;
        this.stats.bytes += (chunk as Buffer).length;
        const lines = splitter.push(chunk as Buffer);
        if (lines.length > 0) yield lines;
      }
      const last = splitter.end();
      if (last.length > 0) yield last;
    } finally {
      this.#copyCuts += splitter.cut;
      this.stats.cut += splitter.cut;
      stream.destroy();
    }
  }
}

/**
 * Follow `path` like `tail -F`. The file must exist now (InputError otherwise, one line); later it may be rotated
 * or truncated at will. Stops when the AbortSignal passed to `batches()` fires, or when the consumer stops pulling.
 */
export async function openFollowSource(path: string, options: FollowOptions = {}): Promise<LineSource> {
  const name = options.name ?? path;
  const from = options.from ?? 'end';
  let startsMidLine = false;
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    if (from === 'end' && st.size > 0) {
      // Starting at the end of an unfinished line would deliver its tail as a line of its own.
      const fh = await open(path, 'r');
      try {
        const b = Buffer.alloc(1);
        await fh.read(b, 0, 1, st.size - 1);
        startsMidLine = b[0] !== 0x0a;
      } finally {
        await fh.close();
      }
    }
  } catch (e) {
    throw new InputError(`cannot follow ${name}: ${describeFsError(e)}`, { cause: e });
  }
  return new FollowSource(name, path, from, options.maxQueuedLines ?? 16384, startsMidLine, options.onReady);
}
