/**
 * Memory stays flat: parse reads 300,000 lines (~75 MB) under a 40 MB old-space cap; analyze, whose state is its
 * flow table, under 64 MB with --max-flows 5000 (the input makes ~13,000 flows: the cap must evict, and count it).
 * Anything kept per line (events, strings sliced from input chunks, unbounded maps) would run the heap out.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempCorpus } from './temp-corpus.js';

const root = new URL('../../', import.meta.url).pathname;
const bin = join(root, 'bin/fwdiag.js');
const LINES = 300_000;
const corpus = tempCorpus('fwdiag-mem-', LINES, 99);

const capped = (args: string[]) =>
  spawnSync(process.execPath, ['--max-old-space-size=64', bin, ...args], { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, TZ: 'UTC' } });

describe('bounded memory on large inputs', () => {
  it('parse: 300k lines under a 40 MB heap cap', () => {
    const r = spawnSync('bash', ['-c', `node --max-old-space-size=40 "${bin}" parse --stats "${corpus.file}" > /dev/null`], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stderr).stats.lines).toBe(LINES);
  }, 120_000);

  it('multi-line journal records of endless fields (export, verbose) keep only the fields read: under a 40 MB heap cap', () => {
    const msg = 'HARVESTER_DROP_IN=eth0 OUT= SRC=198.18.0.1 DST=198.18.0.2 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=1 DPT=2 WINDOW=5 RES=0x00 SYN URGP=0 ';
    // 400k distinct fields of 200 bytes each (~80 MB held if they were kept), then the record's MESSAGE
    const pad = 'x'.repeat(200);
    const fields = (indent: string) => Array.from({ length: 400_000 }, (_, i) => `${indent}F${i}=${pad}`).join('\n');
    const f = join(corpus.dir, 'fields.log');
    writeFileSync(f, [
      '__CURSOR=s=1', '_TRANSPORT=kernel', fields(''), `MESSAGE=${msg}`, '',
      'Tue 2026-11-24 01:16:28.991242 UTC [s=d07e;i=309;b=957d;m=f78aaaa41;t=660fb75c2530a;x=8768]', '    _TRANSPORT=kernel', fields('    '), `    MESSAGE=${msg}`,
    ].join('\n') + '\n');
    const r = spawnSync('bash', ['-c', `node --max-old-space-size=40 "${bin}" parse --stats "${f}"`], { encoding: 'utf8', maxBuffer: 16 << 20 });
    expect(r.status, r.stderr.slice(0, 2000)).toBe(0);
    expect(JSON.parse(r.stderr).stats).toMatchObject({ events: 2 });
    expect(r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { envelope: string }).envelope)).toEqual(['journal-export', 'journal-verbose']);
  }, 120_000);

  it('analyze --summary --max-flows 5000: 300k lines under a 64 MB heap cap, evictions counted', () => {
    const r = capped(['analyze', '--summary', '--max-flows', '5000', corpus.file]);
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { summary: { input: { lines: number }; events: number; flowsEvicted: number; flowsExpired: number }; flows: unknown[] };
    expect(s.summary.input.lines).toBe(LINES);
    expect(s.summary.events).toBeGreaterThan(LINES * 0.8);
    expect(s.flows.length).toBeLessThanOrEqual(5000);
    expect(s.summary.flowsEvicted + s.summary.flowsExpired).toBeGreaterThan(0);
  }, 120_000);
});
