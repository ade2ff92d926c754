import { chmodSync, closeSync, copyFileSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError, UsageError } from '../../src/cli/errors.js';
import { openInputs } from '../../src/input/open-inputs.js';
import type { LineSource } from '../../src/input/types.js';

const dir = mkdtempSync(join(tmpdir(), 'fwdiag-open-inputs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const a = join(dir, 'a.log');
const b = join(dir, 'b.log.1');
writeFileSync(a, 'a1\na2\n');
writeFileSync(b, gzipSync('b1\nb2\n'));

const tty = Object.assign(new PassThrough(), { isTTY: true });
const base = { files: [] as string[], follow: false, kmsg: false as const };

async function readAll(sources: LineSource[]): Promise<string[]> {
  const out: string[] = [];
  for (const s of sources) for await (const batch of s.batches()) out.push(...batch.map((l) => `${s.name}:${l}`));
  return out;
}

describe('openInputs', () => {
  it('reads files one after another, stdin where `-` stands, gzip or not', async () => {
    const stdin = new PassThrough();
    stdin.end('s1\n');
    const sources = await openInputs({ ...base, files: [a, '-', b], stdin });
    expect(sources.map((s) => s.name)).toEqual([a, '-', b]);
    expect(await readAll(sources)).toEqual([`${a}:a1`, `${a}:a2`, '-:s1', `${b}:b1`, `${b}:b2`]);
  });

  it('reads stdin when there is no FILE and stdin is not a terminal', async () => {
    const stdin = new PassThrough();
    stdin.end('x\n');
    expect(await readAll(await openInputs({ ...base, stdin }))).toEqual(['-:x']);
  });

  it('refuses a terminal stdin with nothing else to read', async () => {
    await expect(openInputs({ ...base, stdin: tty })).rejects.toThrow(UsageError);
  });

  it('fails on the first unreadable file before reading any', async () => {
    await expect(openInputs({ ...base, files: [a, join(dir, 'missing')], stdin: tty })).rejects.toThrow(InputError);
  });

  it('refuses contradictory options', async () => {
    const cases = [
      { ...base, files: [a, b], follow: true },
      { ...base, files: ['-'], follow: true },
      { ...base, files: [a], kmsg: 'now' as const },
      { ...base, follow: true, kmsg: 'now' as const },
      { ...base, files: ['-', '-'] },
      { ...base, files: [a], followFrom: 'start' as const },
      { ...base, files: [''] },
    ];
    for (const c of cases) await expect(openInputs({ ...c, stdin: tty }), JSON.stringify(c)).rejects.toThrow(UsageError);
  });

  it('--follow gives one follow source; --kmsg one /dev/kmsg source with a boot time', async () => {
    const [f] = await openInputs({ ...base, files: [a], follow: true, stdin: tty });
    expect(f?.name).toBe(a);
    const [k] = await openInputs({ ...base, kmsg: 'now', stdin: tty });
    expect(k?.name).toBe('/dev/kmsg');
    expect(typeof k?.bootTimeMs).toBe('number');
    const ac = new AbortController();
    ac.abort();
    for await (const _ of k!.batches(ac.signal)) {
      // aborted before start: closes the device without reading
    }
  });
});

describe('inputs that cannot be read fail before anything is read (the CLI, as a user without the rights)', () => {
  it('a file the user may not read: one line, exit 1, and no output from the files before it', () => {
    const d = mkdtempSync(join(tmpdir(), 'fwdiag-perm-'));
    try {
      chmodSync(d, 0o755);
      const ok = join(d, 'ok.log');
      const secret = join(d, 'secret.log');
      copyFileSync('fixtures/sample/harvester-upgrade.log', ok);
      chmodSync(ok, 0o644);
      writeFileSync(secret, 'x\n', { mode: 0o600 });
      // root reads whatever the mode: the CLI runs as nobody, after loading itself as root (nobody may not be able
      // to read the checkout) and reading one file (the parser loads the rest on first use)
      const child = [
        `const { run } = await import(${JSON.stringify(new URL('../../dist/bin/main.js', import.meta.url).href)});`,
        'const { Writable } = await import("node:stream");',
        'const sink = (o, k) => new Writable({ write(c, _e, cb) { o[k] += c; cb(); } });',
        'const io = (o) => ({ stdin: process.stdin, stdout: sink(o, "out"), stderr: sink(o, "err"), env: {}, now: Date.now });',
        `const warm = { out: "", err: "" }; await run(["parse", ${JSON.stringify(ok)}], io(warm));`,
        'process.setgid(65534); process.setuid(65534);',
        `const got = { out: "", err: "" }; const code = await run(["parse", ${JSON.stringify(ok)}, ${JSON.stringify(secret)}], io(got));`,
        'process.stdout.write(got.out); process.stderr.write(got.err); process.exitCode = code;',
      ].join('\n');
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', child], { encoding: 'utf8' });
      expect(r.stderr).toBe(`fwdiag: cannot read ${secret}: permission denied\n`);
      expect(r.stdout).toBe('');
      expect(r.status).toBe(1);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
  it('stdin redirected from a directory is an error, not an empty input', () => {
    const fd = openSync(tmpdir(), 'r');
    try {
      const r = spawnSync(process.execPath, ['bin/fwdiag.js', 'parse', '--stats'], { stdio: [fd, 'pipe', 'pipe'], encoding: 'utf8' });
      expect(r.stderr).toBe('fwdiag: cannot read stdin: is a directory\n');
      expect(r.status).toBe(1);
    } finally {
      closeSync(fd);
    }
  });
});
