import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
