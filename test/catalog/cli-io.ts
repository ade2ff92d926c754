import { PassThrough, Readable } from 'node:stream';
import type { CliIO } from '../../src/cli/io.js';

/** An in-memory CliIO: stdin from a string, stdout/stderr collected; a fixed clock unless `now` is given. */
export function memoryIO(stdin = '', now: () => number = () => Date.UTC(2026, 3, 22, 10, 0, 0)): { io: CliIO; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let o = '';
  let e = '';
  stdout.on('data', (c: Buffer) => (o += c.toString()));
  stderr.on('data', (c: Buffer) => (e += c.toString()));
  const io: CliIO = { stdin: Readable.from([stdin]), stdout, stderr, env: { NO_COLOR: '1' }, now };
  return { io, out: () => o, err: () => e };
}
