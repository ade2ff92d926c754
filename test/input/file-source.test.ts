import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/cli/errors.js';
import { openFileSource, streamSource } from '../../src/input/file-source.js';
import type { LineSource } from '../../src/input/types.js';

const dir = mkdtempSync(join(tmpdir(), 'fwdiag-file-source-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const kernelLine = (i: number) =>
  `Nov 23 06:53:02 node-7 kernel: [1072190.394592] KUBE-FW-DROP IN=eth0 OUT= SRC=198.18.0.17 DST=198.18.1.42 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=${i} DF PROTO=TCP SPT=${32768 + (i % 1000)} DPT=8443 WINDOW=64240 RES=0x00 SYN URGP=0`;

async function collect(src: LineSource, signal?: AbortSignal): Promise<{ lines: string[]; batches: number }> {
  const lines: string[] = [];
  let batches = 0;
  for await (const b of src.batches(signal)) {
    batches++;
    for (const l of b) lines.push(l);
  }
  return { lines, batches };
}

describe('openFileSource', () => {
  const expected = Array.from({ length: 20_000 }, (_, i) => kernelLine(i));
  const text = `${expected.join('\n')}\n`;

  it('reads a plain file in batches, counting bytes and lines', async () => {
    const p = join(dir, 'plain.log');
    writeFileSync(p, text);
    const src = await openFileSource(p);
    const { lines, batches } = await collect(src);
    expect(lines).toEqual(expected);
    // One batch per 1 MiB read, not one giant array.
    expect(batches).toBeGreaterThanOrEqual(Math.floor(Buffer.byteLength(text) / (1 << 20)));
    expect(batches).toBeGreaterThan(1);
    expect(src.stats).toMatchObject({ bytes: Buffer.byteLength(text), lines: expected.length, cut: 0 });
    expect(src.name).toBe(p);
  });

  it('detects gzip by magic bytes, not by name, and counts compressed bytes', async () => {
    const p = join(dir, 'rotated-but-no-gz-suffix.log');
    const gz = gzipSync(text);
    writeFileSync(p, gz);
    const src = await openFileSource(p);
    expect((await collect(src)).lines).toEqual(expected);
    expect(src.stats.bytes).toBe(gz.length);
    expect(src.stats.lines).toBe(expected.length);
  });

  it('reads concatenated gzip members (cat a.gz b.gz)', async () => {
    const p = join(dir, 'two-members.gz');
    writeFileSync(p, Buffer.concat([gzipSync('a\nb\n'), gzipSync('c\nd')]));
    expect((await collect(await openFileSource(p))).lines).toEqual(['a', 'b', 'c', 'd']);
  });

  it('a file named .gz that is not gzip is read as text', async () => {
    const p = join(dir, 'plain.gz');
    writeFileSync(p, 'x\r\ny\n');
    expect((await collect(await openFileSource(p))).lines).toEqual(['x', 'y']);
  });

  it('reads an empty file as no lines', async () => {
    const p = join(dir, 'empty.log');
    writeFileSync(p, '');
    expect((await collect(await openFileSource(p))).lines).toEqual([]);
  });

  it('delivers what a truncated gzip holds, then fails with a one-line InputError', async () => {
    const p = join(dir, 'truncated.gz');
    const gz = gzipSync(text);
    writeFileSync(p, gz.subarray(0, Math.floor(gz.length / 2)));
    const src = await openFileSource(p);
    const got: string[] = [];
    const err = await (async () => {
      try {
        for await (const b of src.batches()) got.push(...b);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/^cannot read .*truncated\.gz: corrupt or truncated gzip data/);
    expect((err as Error).message).not.toContain('\n');
    expect(got.length).toBeGreaterThan(100);
    expect(got).toEqual(expected.slice(0, got.length));
  });

  it('a missing file or a directory is an InputError with a one-line message, before any reading', async () => {
    const missing = join(dir, 'nope.log');
    await expect(openFileSource(missing)).rejects.toThrow(InputError);
    await expect(openFileSource(missing)).rejects.toThrow(`cannot read ${missing}: no such file`);
    await expect(openFileSource(dir)).rejects.toThrow(`cannot read ${dir}: is a directory`);
  });
});

describe('streamSource (stdin)', () => {
  it('detects gzip even when the pipe hands over one byte at a time at first', async () => {
    const gz = gzipSync('one\ntwo\nthree\n');
    const pipe = new PassThrough();
    const src = streamSource(pipe);
    const done = collect(src);
    pipe.write(gz.subarray(0, 1));
    await new Promise((r) => setTimeout(r, 10));
    pipe.write(gz.subarray(1, 2));
    await new Promise((r) => setTimeout(r, 10));
    pipe.end(gz.subarray(2));
    expect((await done).lines).toEqual(['one', 'two', 'three']);
    expect(src.name).toBe('-');
    expect(src.stats.bytes).toBe(gz.length);
  });

  it('reads a stream that yields strings (string mode) as UTF-8 text', async () => {
    const src = streamSource(Readable.from(['one\ntw', 'o\nthré', 'e\n']));
    expect((await collect(src)).lines).toEqual(['one', 'two', 'thrée']);
    expect(src.stats.bytes).toBe(Buffer.byteLength('one\ntwo\nthrée\n'));
  });

  it('does not read ahead of its consumer (backpressure)', async () => {
    let produced = 0;
    const line = Buffer.from(`${kernelLine(1)}\n`);
    const endless = new Readable({
      highWaterMark: 64 * 1024,
      read() {
        produced += line.length * 100;
        this.push(Buffer.concat(Array.from({ length: 100 }, () => line)));
      },
    });
    const src = streamSource(endless);
    const it = src.batches()[Symbol.asyncIterator]();
    await it.next();
    await new Promise((r) => setTimeout(r, 200));
    // The consumer took one batch and stopped: the producer must have stopped too, within a few buffers.
    expect(produced).toBeLessThan(1024 * 1024);
    const before = produced;
    for (let i = 0; i < 50; i++) await it.next();
    expect(produced).toBeGreaterThan(before);
    await it.return?.();
    expect(endless.destroyed).toBe(true);
  });

  it('stops quietly when aborted while waiting for input', async () => {
    const pipe = new PassThrough();
    const ac = new AbortController();
    const src = streamSource(pipe);
    const done = collect(src, ac.signal);
    pipe.write('a\nb\npartial');
    await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    const r = await done;
    expect(r.lines).toEqual(['a', 'b']);
  });
});

describe('stdin redirected from a regular file (`fwdiag parse < FILE`)', () => {
  // The real binary, so descriptor 0 really is the file (a test process's own stdin is not).
  const BIN = new URL('../../bin/fwdiag.js', import.meta.url).pathname;
  const lines = Array.from({ length: 12_000 }, (_, i) => kernelLine(i)); // ~3 MB: several 1 MiB reads
  const text = `${lines.join('\n')}\n`;

  const parse = (stdin: number | 'pipe' | 'ignore', args: string[], input?: Buffer | string) => {
    const r = spawnSync(process.execPath, [BIN, 'parse', '--tz', 'UTC', ...args], {
      stdio: [stdin, 'pipe', 'pipe'],
      ...(input === undefined ? {} : { input }),
      maxBuffer: 64 << 20,
      env: { ...process.env, NO_COLOR: '1' },
    });
    expect(r.status, r.stderr.toString()).toBe(0);
    return r.stdout.toString();
  };

  it('reads from where the descriptor stands, like a named file of the rest, and leaves nothing out', () => {
    const p = join(dir, 'stdin.log');
    writeFileSync(p, text);
    const skip = 100;
    const restPath = join(dir, 'rest.log');
    writeFileSync(restPath, `${lines.slice(skip).join('\n')}\n`);
    const fd = openSync(p, 'r');
    try {
      // a reader before fwdiag took the first 100 lines (`(head -n 100 >/dev/null; fwdiag parse) < FILE`)
      const head = Buffer.byteLength(`${lines.slice(0, skip).join('\n')}\n`);
      expect(readSync(fd, Buffer.alloc(head), 0, head, null)).toBe(head);
      const got = parse(fd, []);
      const want = parse('ignore', [restPath]);
      expect(got.split('\n').length - 1).toBe(lines.length - skip);
      expect(got).toBe(want);
      // the same bytes through a pipe (the stream path)
      expect(parse('pipe', [], readFileSync(restPath))).toBe(want);
    } finally {
      closeSync(fd);
    }
  });

  it('reads gzip data on stdin from a file', () => {
    const p = join(dir, 'stdin.log.gz');
    writeFileSync(p, gzipSync(text));
    const fd = openSync(p, 'r');
    try {
      const got = parse(fd, []);
      expect(got.split('\n').length - 1).toBe(lines.length);
      expect(got).toBe(parse('pipe', [], text));
    } finally {
      closeSync(fd);
    }
  });
});
