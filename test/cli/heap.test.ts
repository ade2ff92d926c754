/**
 * The bin's heap sizing (src/cli/heap.ts): what it decides from the environment, and — in a real Node process
 * running `fwdiag analyze` on 300k corpus lines — that the young generation stops at its cap (V8's default lets it
 * grow to 32 MiB here), also when stdin is a pipe read by a worker thread, that FWDIAG_HEAP=v8 leaves V8 alone, and
 * that the output is the same either way.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempCorpus } from './temp-corpus.js';
import { heapPlan, YOUNG_CAP } from '../../src/cli/heap.js';

describe('heapPlan', () => {
  it('tunes both by default', () => {
    expect(heapPlan({}, [], '11.3.244.8-node.38')).toEqual({ oldGrowth: true, youngCap: true });
    expect(heapPlan({}, [], '12.4.254.21-node.57')).toEqual({ oldGrowth: true, youngCap: true });
  });
  it('V8 13 (Node 24): the old generation only (its young generation grows with the growth factor at 1)', () => {
    expect(heapPlan({}, [], '13.6.233.17-node.53')).toEqual({ oldGrowth: true, youngCap: false });
  });
  it('FWDIAG_HEAP=v8 keeps V8 defaults', () => {
    expect(heapPlan({ FWDIAG_HEAP: 'v8' }, [])).toEqual({ oldGrowth: false, youngCap: false });
  });
  it("a knob the user gave Node is theirs, spelt with - or _, in execArgv or NODE_OPTIONS", () => {
    expect(heapPlan({}, ['--max-semi-space-size=16'], '11.3')).toEqual({ oldGrowth: true, youngCap: false });
    expect(heapPlan({ NODE_OPTIONS: '--enable-source-maps  --max_semi_space_size=4' }, [], '11.3')).toEqual({ oldGrowth: true, youngCap: false });
    expect(heapPlan({}, ['--heap_growing_percent=50'], '11.3')).toEqual({ oldGrowth: false, youngCap: true });
    expect(heapPlan({}, ['--semi-space-growth-factor', '2'], '11.3')).toEqual({ oldGrowth: true, youngCap: false });
    // other flags, and names that only start the same, change nothing
    expect(heapPlan({ NODE_OPTIONS: '--max-old-space-size=128' }, ['--max-semi-space-sizes=1'], '11.3')).toEqual({ oldGrowth: true, youngCap: true });
  });
});

const root = new URL('../../', import.meta.url).pathname;
const LINES = 300_000;
const corpus = tempCorpus('fwdiag-heap-', LINES, 7);
let probe = '';

beforeAll(() => {
  // what bin/fwdiag.js does (main()), then the young generation's size on fd 3
  probe = join(corpus.dir, 'probe.mjs');
  writeFileSync(probe, [
    `import { writeSync } from 'node:fs';`,
    `import { main } from ${JSON.stringify(join(root, 'dist/cli/main.js'))};`,
    `import { youngSize } from ${JSON.stringify(join(root, 'dist/cli/heap.js'))};`,
    `await main(process.argv.slice(2));`,
    `writeSync(3, JSON.stringify({ young: youngSize() }));`,
  ].join('\n'));
});

/** analyze --summary of the corpus, named as FILE or (`pipe`) on stdin through a pipe: read by a worker thread */
function analyze(env: Record<string, string>, pipe = false) {
  const r = spawnSync(process.execPath, pipe ? [probe, 'analyze', '--summary'] : [probe, 'analyze', '--summary', corpus.file], {
    encoding: 'utf8', maxBuffer: 64 << 20, stdio: [pipe ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe'],
    input: pipe ? readFileSync(corpus.file) : undefined,
    env: { ...process.env, TZ: 'UTC', ...env },
  });
  expect(r.status, r.stderr).toBe(0);
  return { stdout: r.stdout, young: (JSON.parse(String(r.output[3])) as { young: number }).young };
}

describe('the bin sizes its heap', () => {
  it('the young generation stops at its cap; FWDIAG_HEAP=v8 lets it grow; the output is the same', () => {
    const tuned = analyze({ FWDIAG_HEAP: '' });
    const v8 = analyze({ FWDIAG_HEAP: 'v8' });
    // (the machine's Node 20 caps; on V8 13 heapPlan leaves the young generation alone)
    if (heapPlan({}, []).youngCap) expect(tuned.young).toBeLessThanOrEqual(YOUNG_CAP * 1.1);
    expect(v8.young).toBeGreaterThan(YOUNG_CAP * 1.1);
    expect(tuned.stdout).toBe(v8.stdout);
    expect((JSON.parse(tuned.stdout) as { summary: { input: { lines: number } } }).summary.input.lines).toBe(LINES);
  }, 120_000);

  it('also with stdin on a pipe, read by a worker thread (whose start puts V8\'s growth factor back)', () => {
    const tuned = analyze({ FWDIAG_HEAP: '' }, true);
    const v8 = analyze({ FWDIAG_HEAP: 'v8' }, true);
    if (heapPlan({}, []).youngCap) expect(tuned.young).toBeLessThanOrEqual(YOUNG_CAP * 1.1);
    expect(v8.young).toBeGreaterThan(YOUNG_CAP * 1.1);
    expect(tuned.stdout).toBe(v8.stdout);
  }, 120_000);
});
