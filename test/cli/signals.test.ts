/**
 * SIGINT/SIGTERM: the first ends the input and the summary still prints; a second exits at once with 130/143, even
 * while the summary is blocked on a reader that does not read (it was swallowed: only SIGKILL ended the process).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const bin = new URL('../../bin/fwdiag.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'fwdiag-signals-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// 20,000 SYNs, each a flow of its own: a summary of several MB, far more than a pipe holds
const log = join(dir, 'many-flows.log');
writeFileSync(log, Array.from({ length: 20_000 }, (_, i) =>
  `Apr 22 10:00:00 node1 kernel: HARVESTER_DROP_IN=eth0 OUT= MAC=52:54:00:3a:7c:63:52:54:00:3a:7c:62:08:00 SRC=198.18.${(i >> 8) & 255}.${i & 255} DST=198.19.0.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40000 DPT=${1024 + (i % 5000)} WINDOW=64240 RES=0x00 SYN URGP=0 `).join('\n') + '\n');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('signals', () => {
  // (report and suggest take the same handler, src/cli/read-loop.ts signalController; their outputs are too small to
  // block here)
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`analyze: a second ${sig} while the summary is blocked exits at once with ${code}`, async () => {
      const args = ['analyze', '--summary', log];
      // stdout a pipe nobody reads: the output blocks once the pipe is full
      const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TZ: 'UTC' } });
      child.stdout.pause();
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<[number | null, string | null]>((r) => child.on('exit', (c, s) => r([c, s])));
      try {
        // wait until the output is under way (the whole input read, the pipe full)
        await sleep(3000);
        expect(child.exitCode, stderr).toBeNull();
        child.kill(sig);
        await sleep(300);
        // the first signal ends the input only: the summary is still being written
        expect(child.exitCode, stderr).toBeNull();
        child.kill(sig);
        const t = performance.now();
        const [c, s] = await Promise.race([exited, sleep(5000).then(() => [-1, 'timeout'] as [number, string])]);
        expect([c, s], stderr).toEqual([code, null]);
        expect(performance.now() - t).toBeLessThan(3000);
      } finally {
        child.kill('SIGKILL');
      }
    }, 30_000);
  }
});
