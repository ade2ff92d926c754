/**
 * The live view's rate promise, measured on the real binary in a real terminal: 100,000 lines a second piped in
 * must not leave the view more than a second behind.
 *
 * A producer (python3: a blocking write to the pipe returns only once the pipe took the bytes, so what it reports
 * written is what fwdiag could have read) writes bench-corpus lines at 100,000 a second in 10 ms steps for 6 s and
 * logs how many it had written when. The test reads the view's header (`N lines`) from tmux every 200 ms. Passing
 * means: the producer was never held back (the view kept up with the input), and at every sample the view showed at
 * least what had been written a second earlier.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLine, mulberry32 } from '../../bench/corpus.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/fwdiag.js');
const SOCKET = `fwdiag-lag-${process.pid}`;
const RATE = 100_000;
const SECONDS = 6;

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
}

/** `123.4k lines` → 123400 (the header's compact count; 100-line resolution below 1M). */
function shownLines(screen: string): number | null {
  const m = /│ (\d+(?:\.\d)?)(k|M)? lines │/.exec(screen);
  if (m === null) return null;
  const v = Number(m[1]);
  return m[2] === 'k' ? v * 1000 : m[2] === 'M' ? v * 1_000_000 : v;
}

// Writes RATE lines/s in 10 ms steps, paced on the wall clock, logging "epoch_ms lines" after each step.
const PRODUCER = `
import sys, time
lines = open(sys.argv[1], 'rb').read().splitlines(keepends=True)
rate, secs, log = int(sys.argv[2]), float(sys.argv[3]), open(sys.argv[4], 'w')
step = rate // 100
out = sys.stdout.buffer
t0 = time.time()
written = 0
i = 0
while written < rate * secs:
    due = t0 + (written + step) / rate
    now = time.time()
    if due > now:
        time.sleep(due - now)
    chunk = b''.join(lines[(i + k) % len(lines)] for k in range(step))
    i += step
    out.write(chunk)
    out.flush()
    written += step
    log.write('%d %d\\n' % (int(time.time() * 1000), written))
    log.flush()
log.write('done %d %d\\n' % (int(time.time() * 1000), int((time.time() - t0) * 1000)))
log.close()
`;

let dir = '';

beforeAll(() => {
  execFileSync('tmux', ['-V']);
  execFileSync('python3', ['--version']);
  if (!existsSync(join(ROOT, 'dist/view/run-live.js'))) throw new Error('dist/view/run-live.js missing: run `npm run build` first');
  dir = mkdtempSync(join(tmpdir(), 'fwdiag-lag-'));
});

afterAll(() => {
  try {
    tmux('kill-server');
  } catch {
    // no server left
  }
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe('live view under load', () => {
  it('100,000 lines a second in: the producer is never held back and the view is never more than a second behind', async () => {
    const rnd = mulberry32(5);
    const corpus: string[] = [];
    for (let i = 0; i < 50_000; i++) corpus.push(makeLine(rnd, i) as string);
    writeFileSync(join(dir, 'lines.log'), `${corpus.join('\n')}\n`);
    writeFileSync(join(dir, 'produce.py'), PRODUCER);
    const log = join(dir, 'produced.log');
    // Start the view first, let it come up, then release the producer (it waits for the 'go' file).
    const cmd = `cd '${dir}' && (while [ ! -e go ]; do sleep 0.05; done; exec python3 produce.py lines.log ${RATE} ${SECONDS} '${log}') | env -u CI NO_COLOR=1 TZ=UTC node '${BIN}' --max-flows 20000; sleep 60`;
    tmux('new-session', '-d', '-s', 'lag', '-x', '160', '-y', '40', cmd);
    const until = Date.now() + 15_000;
    while (shownLines(tmux('capture-pane', '-p', '-t', 'lag')) === null) {
      if (Date.now() > until) throw new Error(`the view did not come up:\n${tmux('capture-pane', '-p', '-t', 'lag')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    writeFileSync(join(dir, 'go'), '');
    const samples: { t: number; shown: number }[] = [];
    const deadline = Date.now() + (SECONDS + 8) * 1000;
    let final = -1;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      const shown = shownLines(tmux('capture-pane', '-p', '-t', 'lag'));
      if (shown !== null) samples.push({ t: Date.now(), shown });
      if (final < 0 && existsSync(log) && readFileSync(log, 'utf8').includes('done')) final = Date.now();
      if (final > 0 && Date.now() > final + 1500) break;
    }
    tmux('send-keys', '-t', 'lag', 'q');
    const produced = readFileSync(log, 'utf8').trim().split('\n');
    const done = produced.pop() as string;
    expect(done).toMatch(/^done /);
    const writes = produced.map((l) => l.split(' ').map(Number) as [number, number]);
    const total = RATE * SECONDS;
    expect(writes.at(-1)?.[1]).toBe(total);
    // 1. Never held back: a blocking write to the pipe would have stalled the producer behind its schedule.
    const spent = Number(done.split(' ')[2]);
    expect(spent).toBeLessThan(SECONDS * 1000 + 500);
    // 2. Never more than a second behind: at each sample, at least what had been written a second before.
    const writtenBy = (t: number): number => {
      let n = 0;
      for (const [wt, w] of writes) {
        if (wt <= t) n = w;
        else break;
      }
      return n;
    };
    const checked = samples.filter((s) => s.t >= (writes[0]?.[0] ?? 0) + 1000);
    expect(checked.length).toBeGreaterThan(SECONDS * 3);
    const worst = Math.max(...checked.map((s) => writtenBy(s.t - 1000) - s.shown));
    // compact counts are rounded to 100 lines
    expect(worst, `samples: ${JSON.stringify(checked.map((s) => [s.t - (writes[0]?.[0] ?? 0), s.shown, writtenBy(s.t)]))}`).toBeLessThanOrEqual(100);
    // 3. Everything shown within a second of the last write.
    const last = samples.filter((s) => s.t <= (writes.at(-1)?.[0] ?? 0) + 1000).at(-1);
    expect(samples.some((s) => s.shown >= total - 100 && s.t <= (writes.at(-1)?.[0] ?? 0) + 1000)).toBe(true);
    expect(last).toBeDefined();
  }, 60_000);
});
