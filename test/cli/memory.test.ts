/**
 * Memory stays flat: parse reads 300,000 lines (~75 MB) under a 40 MB old-space cap; analyze, whose state is its
 * flow table, under 64 MB with --max-flows 5000 (the input makes ~13,000 flows: the cap must evict, and count it).
 * Anything kept per line (events, strings sliced from input chunks, unbounded maps) would run the heap out.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLine, mulberry32 } from '../../bench/corpus.mjs';

const root = new URL('../../', import.meta.url).pathname;
const bin = join(root, 'bin/fwdiag.js');
const LINES = 300_000;
let dir = '';
let file = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fwdiag-mem-'));
  file = join(dir, 'big.log');
  const rnd = mulberry32(99);
  const out: string[] = [];
  for (let i = 0; i < LINES; i++) out.push(makeLine(rnd, i));
  writeFileSync(file, `${out.join('\n')}\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const capped = (args: string[]) =>
  spawnSync(process.execPath, ['--max-old-space-size=64', bin, ...args], { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, TZ: 'UTC' } });

describe('bounded memory on large inputs', () => {
  it('parse: 300k lines under a 40 MB heap cap', () => {
    const r = spawnSync('bash', ['-c', `node --max-old-space-size=40 "${bin}" parse --stats "${file}" > /dev/null`], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stderr).stats.lines).toBe(LINES);
  }, 120_000);

  it('analyze --summary --max-flows 5000: 300k lines under a 64 MB heap cap, evictions counted', () => {
    const r = capped(['analyze', '--summary', '--max-flows', '5000', file]);
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { summary: { input: { lines: number }; events: number; flowsEvicted: number; flowsExpired: number }; flows: unknown[] };
    expect(s.summary.input.lines).toBe(LINES);
    expect(s.summary.events).toBeGreaterThan(LINES * 0.8);
    expect(s.flows.length).toBeLessThanOrEqual(5000);
    expect(s.summary.flowsEvicted + s.summary.flowsExpired).toBeGreaterThan(0);
  }, 120_000);
});
