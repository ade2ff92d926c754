import { PassThrough, Readable } from 'node:stream';
import type { CliIO } from '../../src/cli/io.js';

/** An in-memory CliIO: stdin from a string, stdout/stderr collected. */
export function memoryIO(stdin = ''): { io: CliIO; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let o = '';
  let e = '';
  stdout.on('data', (c: Buffer) => (o += c.toString()));
  stderr.on('data', (c: Buffer) => (e += c.toString()));
  const io: CliIO = { stdin: Readable.from([stdin]), stdout, stderr, env: { NO_COLOR: '1' }, now: () => Date.UTC(2026, 3, 22, 10, 0, 0) };
  return { io, out: () => o, err: () => e };
}
