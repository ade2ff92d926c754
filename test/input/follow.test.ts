import fs, {
  closeSync,
  copyFileSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InputError } from '../../src/cli/errors.js';
import { openFollowSource } from '../../src/input/follow-source.js';
import type { LineSource } from '../../src/input/types.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const line = (n: number) => `fwdiag-follow ${n} ${'x'.repeat(n % 37)}\n`;

let dir: string;
let log: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fwdiag-follow-'));
  log = join(dir, 'kern.log');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Pull lines from `src` into `got` until `done(got)` or the deadline; then abort. */
async function consume(src: LineSource, got: string[], ac: AbortController, until: (got: string[]) => boolean, ms: number) {
  const deadline = setTimeout(() => ac.abort(), ms);
  try {
    for await (const batch of src.batches(ac.signal)) {
      got.push(...batch);
      if (until(got)) break;
    }
  } finally {
    clearTimeout(deadline);
  }
}

/**
 * Runs `rotate` once, inside the stat() by name that tail-file makes before it opens a file by name (its tryTail()),
 * between the two: the window a rotation can land in at any time. Returns the function that removes the hook.
 */
function rotateBetweenStatAndOpen(rotate: () => void): () => void {
  const real = fs.stat;
  let armed = true;
  const hooked = (p: fs.PathLike, ...rest: unknown[]): void => {
    const cb = rest[rest.length - 1] as (...a: unknown[]) => void;
    if (armed && p === log && new Error().stack?.includes('tryTail') === true) {
      armed = false;
      real(p, (...a: unknown[]) => {
        rotate();
        cb(...a);
      });
      return;
    }
    (real as (...a: unknown[]) => void)(p, ...rest);
  };
  fs.stat = hooked as typeof fs.stat;
  return () => {
    fs.stat = real;
  };
}

const numbers = (got: string[]) => got.map((l) => Number(l.split(' ')[1]));
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

/**
 * `rounds` rounds of: 100 lines in small bursts, 30 more at once, a copytruncate (copy to `log.1`, truncate), 20 lines
 * in small bursts, a pause. Lines are numbered 1, 2, … through `lineOf`; returns how many were written.
 */
async function copytruncateRounds(rounds: number, lineOf: (n: number) => string): Promise<number> {
  let n = 0;
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < 100; i++) {
      writeFileSync(log, lineOf(++n), { flag: 'a' });
      if (i % 10 === 0) await sleep(2);
    }
    const fd = openSync(log, 'a');
    for (let i = 0; i < 30; i++) writeSync(fd, lineOf(++n));
    copyFileSync(log, `${log}.1`);
    ftruncateSync(fd, 0);
    closeSync(fd);
    for (let i = 0; i < 20; i++) {
      writeFileSync(log, lineOf(++n), { flag: 'a' });
      if (i % 5 === 0) await sleep(2);
    }
    await sleep(300);
  }
  return n;
}

/** Follows `log` from its end (holding `first`), pulling until line `last` arrives or `ms` pass; resolves once ready. */
async function followFromEnd(first: string, last: number, ms: number): Promise<{ src: LineSource; got: string[]; reading: Promise<void> }> {
  writeFileSync(log, first);
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const src = await openFollowSource(log, { onReady: () => ready() });
  const got: string[] = [];
  const reading = consume(src, got, new AbortController(), (g) => g.some((l) => l.startsWith(`fwdiag-follow ${last} `)), ms);
  await isReady;
  return { src, got, reading };
}

describe('openFollowSource', () => {
  it('survives rename-rotation and copytruncate without losing or repeating a line', async () => {
    const { src, got, reading } = await followFromEnd('old line, written before following started\nand an unfinished one', 400, 12_000);

    let fd = openSync(log, 'a');
    writeSync(fd, ' - finished after start\n'); // ends the unfinished line: not a line of ours
    let n = 0;
    const burst = async (count: number, pause: number) => {
      for (let i = 0; i < count; i++) {
        writeSync(fd, line(++n));
        if (pause > 0 && i % 10 === 9) await sleep(pause);
      }
    };
    await burst(100, 5);

    // Rotation, syslog style: rename, the writer keeps writing to its old descriptor for a while, then reopens.
    renameSync(log, `${log}.1`);
    await burst(20, 5);
    await sleep(100);
    closeSync(fd);
    fd = openSync(log, 'a');
    await burst(80, 5);

    // copytruncate, logrotate style: shift .1 to .2, copy, truncate. Lines 301-320 are written in the same tick
    // as the copy and the truncation, so the follower cannot have read them from the original file.
    await burst(100, 5);
    await sleep(200);
    await burst(20, 0);
    renameSync(`${log}.1`, `${log}.2`);
    copyFileSync(log, `${log}.1`);
    ftruncateSync(fd, 0);
    // Give the follower time to see the file shorter than its position (see the module comment).
    await sleep(300);
    await burst(80, 5);
    closeSync(fd);

    await reading;
    expect(numbers(got)).toEqual(range(1, 400));
    expect(got.every((l) => l.startsWith('fwdiag-follow '))).toBe(true);
    expect(src.stats.rotations).toBe(2);
    expect(src.stats.lines).toBe(400);
  }, 15_000);

  it('recovers lines still unread at a copytruncate while paused by a slow consumer', async () => {
    writeFileSync(log, range(1, 60000).map(line).join('')); // ~2.3 MB: many reads
    const src = await openFollowSource(log, { from: 'start', maxQueuedLines: 50 });
    const ac = new AbortController();
    const it = src.batches(ac.signal)[Symbol.asyncIterator]();
    const got: string[] = [];
    const first = await it.next();
    got.push(...(first.value as string[]));
    await sleep(200); // the follower fills its queue and pauses, far from the end of the file
    expect(src.stats.bytes).toBeLessThan(3 * 256 * 1024); // at most a read or two ahead of the consumer
    copyFileSync(log, `${log}.1`);
    writeFileSync(log, ''); // truncate
    await sleep(100);
    const fd = openSync(log, 'a');
    for (let n = 60001; n <= 60010; n++) writeSync(fd, line(n));
    closeSync(fd);
    const deadline = Date.now() + 8000;
    while (!got.some((l) => l.startsWith('fwdiag-follow 60010 ')) && Date.now() < deadline) {
      const r = await Promise.race([it.next(), sleep(2000).then(() => undefined)]);
      if (r === undefined || r.done === true) break;
      got.push(...r.value);
    }
    ac.abort();
    await it.return?.();
    expect(numbers(got)).toEqual(range(1, 60010));
    expect(src.stats.rotations).toBe(1);
  }, 15_000);

  it('sees a copytruncate even when the file is refilled past the old position before it looks', async () => {
    writeFileSync(log, range(1, 1000).map(line).join(''));
    const src = await openFollowSource(log, { from: 'start' });
    const ac = new AbortController();
    const got: string[] = [];
    const reading = consume(src, got, ac, (g) => g.some((l) => l.startsWith('fwdiag-follow 3000 ')), 8000);
    while (got.length < 1000) await sleep(20);
    // All in one tick: the follower cannot look between the truncation and the refill.
    const fd = openSync(log, 'a');
    for (let n = 1001; n <= 1010; n++) writeSync(fd, line(n)); // unread when the copy is made
    copyFileSync(log, `${log}.1`);
    ftruncateSync(fd, 0);
    for (let n = 1011; n <= 3000; n++) writeSync(fd, line(n)); // ~2.5x the old size
    closeSync(fd);
    await reading;
    expect(numbers(got)).toEqual(range(1, 3000));
    expect(src.stats.rotations).toBe(1);
  }, 15_000);

  it('sees a copytruncate and refill that land before its first read of a file it started at the end of', async () => {
    const { got, reading } = await followFromEnd(line(0), 200, 8000);
    await sleep(100);
    // in one tick: a burst, the copy, the truncation and a refill past the old position
    const fd = openSync(log, 'a');
    for (let n = 1; n <= 100; n++) writeSync(fd, line(n));
    copyFileSync(log, `${log}.1`);
    ftruncateSync(fd, 0);
    for (let n = 101; n <= 200; n++) writeSync(fd, line(n));
    closeSync(fd);
    await reading;
    expect(numbers(got)).toEqual(range(1, 200));
  }, 15_000);

  it('copytruncates in the middle of bursts, round after round: every line once, and it keeps following', async () => {
    // the pattern that made `fwdiag parse --follow` exit with code 13 (see the CLI test below, which shows it); in
    // this process the hang does not show, so this asserts the lines: every one once, round after round
    const { got, reading } = await followFromEnd(line(0), 750, 20_000);
    await copytruncateRounds(5, line);
    await reading;
    expect(numbers(got)).toEqual(range(1, 750));
  }, 30_000);

  it('a rotation between its look at a new file and its open: the file is read where it went (FILE.1)', async () => {
    const { got, reading } = await followFromEnd('', 3, 8000);
    writeFileSync(log, line(1), { flag: 'a' });
    while (got.length < 1) await sleep(10);
    // the file with line 2 is renamed to FILE.1 after tail-file found it at FILE and before it opened FILE: the open
    // fails with ENOENT (which ended the follow: "cannot follow …: no such file")
    const unhook = rotateBetweenStatAndOpen(() => renameSync(log, `${log}.1`));
    try {
      renameSync(log, `${log}.1`);
      writeFileSync(log, line(2));
      await sleep(300);
      writeFileSync(log, line(3), { flag: 'a' });
      await reading;
    } finally {
      unhook();
    }
    expect(numbers(got)).toEqual([1, 2, 3]);
  }, 15_000);

  it('a file missing during a rotation is waited for, as tail -F does', async () => {
    const { src, got, reading } = await followFromEnd('', 2, 8000);
    writeFileSync(log, line(1), { flag: 'a' });
    while (got.length < 1) await sleep(10);
    // truncated; as tail-file opens it again, it is moved away (no FILE.1 either); the writer creates FILE later
    const unhook = rotateBetweenStatAndOpen(() => renameSync(log, join(dir, 'moved.log')));
    try {
      writeFileSync(log, '');
      await sleep(300);
      writeFileSync(log, line(2));
      await reading;
    } finally {
      unhook();
    }
    expect(numbers(got)).toEqual([1, 2]);
    expect(src.stats.rotations).toBe(1);
  }, 15_000);

  it('a rotation between its look at a new file and its open: no line read twice', async () => {
    const { got, reading } = await followFromEnd('', 4, 8000);
    writeFileSync(log, line(1), { flag: 'a' });
    while (got.length < 1) await sleep(10);
    // tail-file takes the inode of the file with line 2, then opens the next one (line 3): at its end, it took that
    // file for a new one and read it again
    const unhook = rotateBetweenStatAndOpen(() => {
      renameSync(log, `${log}.1`);
      writeFileSync(log, line(3));
    });
    try {
      renameSync(log, `${log}.1`);
      writeFileSync(log, line(2));
      await sleep(300);
      writeFileSync(log, line(4), { flag: 'a' });
      await reading;
    } finally {
      unhook();
    }
    // line 2 was rotated away before it was opened: see the limits in README (Inputs, --follow)
    expect(numbers(got)).toEqual([1, 3, 4]);
  }, 15_000);

  it('a rename rotation after every line, every ~5 ms: it keeps following, in order, no line twice', async () => {
    const { got, reading } = await followFromEnd('', 201, 20_000);
    for (let n = 1; n <= 200; n++) {
      writeFileSync(log, line(n), { flag: 'a' }); // the writer creates FILE again when it is missing
      await sleep(2);
      renameSync(log, `${log}.1`);
      await sleep(3);
    }
    await sleep(200);
    writeFileSync(log, line(201), { flag: 'a' });
    await reading;
    const ns = numbers(got);
    expect(ns.at(-1)).toBe(201);
    expect(ns.every((v, i) => i === 0 || v > ns[i - 1]!)).toBe(true);
  }, 30_000);

  it('from start reads what is there, then follows', async () => {
    writeFileSync(log, `${line(1)}${line(2)}`);
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    const src = await openFollowSource(log, { from: 'start', onReady: () => ready() });
    const ac = new AbortController();
    const got: string[] = [];
    const reading = consume(src, got, ac, (g) => g.length >= 3, 5000);
    await isReady;
    writeFileSync(log, line(3), { flag: 'a' });
    await reading;
    expect(numbers(got)).toEqual([1, 2, 3]);
  });

  it('stops when aborted while waiting for lines', async () => {
    writeFileSync(log, '');
    const src = await openFollowSource(log);
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 100);
    const got: string[] = [];
    for await (const b of src.batches(ac.signal)) got.push(...b);
    expect(got).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('a missing file is an InputError', async () => {
    await expect(openFollowSource(join(dir, 'missing.log'))).rejects.toThrow(InputError);
    await expect(openFollowSource(join(dir, 'missing.log'))).rejects.toThrow(/^cannot follow .*missing\.log: no such file$/);
  });
});

describe('fwdiag parse --follow (the CLI, as a process)', () => {
  it('copytruncates in the middle of bursts: every line once, it keeps following, and SIGINT ends it with its stats', async () => {
    // the pattern under which the CLI exited with code 13 mid-follow (a truncation found while tail-file was still
    // starting left it waiting forever with no watcher): without the fix, this test failed 2 runs in 4
    const kernel = readFileSync('fixtures/sample/harvester-upgrade.log', 'utf8').split('\n')[1]!;
    const numbered = (n: number) => `${kernel.replace(/ ID=\d+ /, ` ID=${n} `)}\n`;
    writeFileSync(log, numbered(60000));
    const child = spawn(process.execPath, ['bin/fwdiag.js', 'parse', '--stats', '--follow', log], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<[number | null, string | null]>((r) => child.on('exit', (code, sig) => r([code, sig])));
    try {
      await sleep(1500);
      const n = await copytruncateRounds(4, numbered);
      await sleep(1500);
      expect(child.exitCode, `exited early: ${err}`).toBeNull();
      child.kill('SIGINT');
      // the stats still written, then the process ends by the signal (status 130)
      expect(await exited).toEqual([null, 'SIGINT']);
      const ids = out.trim().split('\n').map((l) => (JSON.parse(l) as { id: number }).id);
      expect(ids).toEqual(range(1, n));
      expect(err).toContain(`"lines":${n}`);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 30_000);
});
