import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { isOutputClosed, writeLines } from '../../src/output/safe-stdout.js';

const dir = mkdtempSync(join(tmpdir(), 'fwdiag-safe-stdout-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('writeLines', () => {
  it('waits for drain when write() returns false, so a slow reader bounds what is buffered', async () => {
    let delivered = 0;
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, cb) {
        delivered += chunk.length;
        setTimeout(cb, 1);
      },
    });
    const line = `${'x'.repeat(99)}\n`;
    let maxBuffered = 0;
    for (let i = 0; i < 200; i++) {
      await writeLines(slow, line);
      maxBuffered = Math.max(maxBuffered, slow.writableLength);
    }
    expect(maxBuffered).toBeLessThanOrEqual(1024 + line.length);
    await new Promise<void>((r) => slow.end(r));
    expect(delivered).toBe(200 * line.length);
  });

  it('treats EPIPE as the end: resolves, marks the stream closed', async () => {
    const w = new Writable({
      write(_c, _e, cb) {
        cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    await writeLines(w, 'a\n');
    await new Promise((r) => setImmediate(r));
    expect(isOutputClosed(w)).toBe(true);
    await expect(writeLines(w, 'b\n')).resolves.toBeUndefined();
  });

  it('treats EIO on a terminal as the end (it hung up), but not EIO on a file (a disk error)', async () => {
    const failing = (isTTY: boolean) => Object.assign(new Writable({
      highWaterMark: 1,
      write(_c, _e, cb) {
        setTimeout(() => cb(Object.assign(new Error('write EIO'), { code: 'EIO' })), 1);
      },
    }), { isTTY });
    const tty = failing(true);
    await writeLines(tty, 'a\n');
    await new Promise((r) => setTimeout(r, 10));
    expect(isOutputClosed(tty)).toBe(true);
    await expect(writeLines(tty, 'b\n')).resolves.toBeUndefined();
    await expect(writeLines(failing(false), 'a\n')).rejects.toThrow('write EIO');
  });

  it('rejects on other write errors', async () => {
    const w = new Writable({
      highWaterMark: 1,
      write(_c, _e, cb) {
        setTimeout(() => cb(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' })), 1);
      },
    });
    await expect(writeLines(w, 'abc\n')).rejects.toThrow('no space left');
  });
});

describe('… | head -n 1', () => {
  // The child runs plain node, so the helper is transpiled to JS for it (it imports only node: modules).
  const js = ts.transpileModule(readFileSync(new URL('../../src/output/safe-stdout.ts', import.meta.url), 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  mkdirSync(join(dir, 'lib'), { recursive: true });
  writeFileSync(join(dir, 'lib', 'safe-stdout.mjs'), js);
  const total = 2_000_000;
  // Exit 0 only if it noticed the closed pipe and stopped producing long before the end.
  writeFileSync(
    join(dir, 'producer.mjs'),
    `import { writeLines, isOutputClosed } from './lib/safe-stdout.mjs';
let i = 0;
for (; i < ${total} && !isOutputClosed(process.stdout); i += 100) {
  let chunk = '';
  for (let j = 0; j < 100; j++) chunk += 'line ' + (i + j) + '\\n';
  await writeLines(process.stdout, chunk);
}
process.exitCode = i < ${total} ? 0 : 3;
`,
  );
  writeFileSync(
    join(dir, 'naive.mjs'),
    `import { once } from 'node:events';
for (let i = 0; i < ${total}; i++) if (!process.stdout.write('line ' + i + '\\n')) await once(process.stdout, 'drain');
`,
  );
  const run = (script: string) =>
    spawnSync('bash', ['-c', `set -o pipefail; node ${JSON.stringify(join(dir, script))} | head -n 1`], {
      encoding: 'utf8',
      timeout: 20_000,
    });

  it('ends quietly: exit 0, no stderr, and the producer stops early', () => {
    const r = run('producer.mjs');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('line 0\n');
    expect(r.status).toBe(0);
  });

  it('(control) without the helper node dies of EPIPE with a stack trace', () => {
    const r = run('naive.mjs');
    expect(r.stdout).toBe('line 0\n');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('EPIPE');
  });
});
