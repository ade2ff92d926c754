/**
 * A file that fails mid-read (a truncated gzip: a rotated log cut short) is reported on stderr and the exit code is
 * 1, but what it gave and the other files still count: the summary, report or suggestions cover them. It used to
 * end the command with nothing but the error.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempCorpus } from './temp-corpus.js';

const bin = new URL('../../bin/fwdiag.js', import.meta.url).pathname;
const corpus = tempCorpus('fwdiag-srcerr-', 20_000, 15);
const SAMPLE = 'fixtures/sample/harvester-upgrade.log';
let cut = '';
beforeAll(() => {
  const gz = gzipSync(readFileSync(corpus.file));
  cut = join(corpus.dir, 'kern.log.2.gz');
  writeFileSync(cut, gz.subarray(0, gz.length >> 1));
});

const run = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', maxBuffer: 256 << 20, env: { ...process.env, TZ: 'UTC' } });
const sampleLines = readFileSync(SAMPLE, 'utf8').trim().split('\n').length;

describe('a file that fails mid-read', () => {
  it('analyze: the error, exit 1, and a summary of what was read of it and of the next file', () => {
    const r = run(['analyze', '--summary', cut, SAMPLE]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`fwdiag: cannot read ${cut}: corrupt or truncated gzip data (unexpected end of file)\n`);
    const s = JSON.parse(r.stdout) as { summary: { input: { sources: number; lines: number } } };
    expect(s.summary.input.sources).toBe(2);
    // part of the cut file, and all of the sample
    expect(s.summary.input.lines).toBeGreaterThan(sampleLines + 1000);
    expect(s.summary.input.lines).toBeLessThan(sampleLines + 20_000);
  });

  it('parse, report and suggest go on the same way', () => {
    const p = run(['parse', '--stats', cut, SAMPLE]);
    expect(p.status).toBe(1);
    expect(p.stderr).toContain('corrupt or truncated gzip data');
    expect(p.stdout.trim().split('\n').some((l) => (JSON.parse(l) as { file?: string }).file === SAMPLE)).toBe(true);
    const rep = run(['report', '--format', 'json', cut, SAMPLE]);
    expect(rep.status).toBe(1);
    expect((JSON.parse(rep.stdout) as { input: { sources: string[] } }).input.sources).toEqual([cut, SAMPLE]);
    const sug = run(['suggest', '--json', '--platform', 'harvester', '--role', 'control-plane', cut, SAMPLE]);
    expect(sug.status).toBe(1);
    expect(sug.stderr).toContain('corrupt or truncated gzip data');
    expect((JSON.parse(sug.stdout) as { suggestions: unknown[] }).suggestions.length).toBeGreaterThan(0);
  });

  it('a file that is whole still exits 0', () => {
    expect(run(['analyze', '--summary', SAMPLE]).status).toBe(0);
  });
});
