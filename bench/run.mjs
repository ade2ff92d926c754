// `npm run bench`: a deterministic corpus, then each measurement in its own process, best of RUNS, each run next to
// a run of the naive baseline (the ratio is to those). Targets are the issues' (one core).
import { spawnSync } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { cpus } from 'node:os';
import { ensureCorpus } from './corpus.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const LINES = Number(process.env.BENCH_LINES ?? 1_200_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const corpus = await ensureCorpus(join(here, '.corpus', `corpus-${LINES}.log`), LINES);

/** One run of `mode` in a fresh process: its JSON line (lines, seconds, linesPerSec, maxRssMB). */
function runOnce(mode) {
  const devnull = openSync('/dev/null', 'w');
  const args = [join(here, 'measure.mjs'), mode, corpus];
  // -pipe modes read the corpus from stdin, a pipe `cat` fills (fd 3, the result, passes through the shell)
  const pipe = mode.endsWith('-pipe');
  const q = (a) => `'${a.replaceAll("'", "'\\''")}'`;
  const r = spawnSync(pipe ? 'bash' : process.execPath, pipe ? ['-c', `cat ${q(corpus)} | ${[process.execPath, ...args].map(q).join(' ')}`] : args, {
    stdio: ['ignore', devnull, 'inherit', 'pipe'],
    env: { ...process.env, BENCH_LINES: String(LINES), NO_COLOR: '1', TZ: 'UTC' }, // the corpus's stamps are UTC
    maxBuffer: 1 << 20,
  });
  closeSync(devnull);
  if (r.status !== 0) throw new Error(`${mode} failed with status ${r.status}`);
  return JSON.parse(r.output[3].toString());
}

/** Every naive run of this bench (the baseline row is the best of them all). */
const naiveRuns = [];

/**
 * `mode`, best of RUNS, each run right after a run of the naive baseline: the VM's speed drifts with its neighbours
 * over a bench of a minute or more, so each row's ratio is to the baseline runs next to its own (best of its
 * RUNS), not to one measured at the start. Peak RSS: the largest of the mode's runs.
 */
function measure(mode) {
  let best = null;
  let naive = null;
  let maxRss = 0;
  for (let i = 0; i < RUNS; i++) {
    const n = runOnce('naive');
    naiveRuns.push(n);
    if (naive === null || n.linesPerSec > naive.linesPerSec) naive = n;
    const m = runOnce(mode);
    maxRss = Math.max(maxRss, m.maxRssMB);
    if (best === null || m.linesPerSec > best.linesPerSec) best = m;
  }
  return { ...best, maxRssMB: maxRss, naiveLinesPerSec: naive.linesPerSec };
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
console.log(`fwdiag bench: ${fmt(LINES)} lines (${corpus}), best of ${RUNS}, node ${process.version}, ${cpus()[0]?.model ?? 'cpu'}`);
// A calibration in the same run, so figures can be compared across machines: 1e8 integer additions in a loop.
{
  let x = 0;
  const t = performance.now();
  for (let i = 0; i < 1e8; i++) x += i;
  const ms = performance.now() - t;
  console.log(`calibration: 1e8 JS integer additions took ${ms.toFixed(0)} ms${x === 0 ? '' : ''} (a current desktop core: ~70-100 ms)`);
}
const rows = [
  ['parse: bytes → events', measure('parse-core'), 2_000_000, 3],
  ['parse FILE > /dev/null (NDJSON)', measure('parse-cli'), 1_000_000, null],
  ['analyze --summary FILE', measure('analyze-cli'), 1_500_000, 2],
  // no target: the same through a pipe (`cat FILE | fwdiag analyze --summary`, stdin read on a thread), as
  // `journalctl -k | fwdiag` reads
  ['  cat FILE | analyze --summary', measure('analyze-pipe'), null, null],
  // no target: analyze without its classifier (bytes → packets, counted only), so a run shows where analyze's time goes
  ['  of which bytes → packets', measure('packets-core'), null, null],
  // no targets: the rest of the pipeline, for before/after comparisons
  ['report --format json FILE', measure('report-cli'), null, null],
  ['suggest --json FILE', measure('suggest-cli'), null, null],
];
// the baseline row: the best of every naive run above (paired with the rows), its peak RSS the largest
const naive = naiveRuns.reduce((a, b) => (b.linesPerSec > a.linesPerSec ? b : a));
naive.maxRssMB = Math.max(...naiveRuns.map((n) => n.maxRssMB));
console.log('');
console.log(`${'measurement'.padEnd(36)} ${'lines/s'.padStart(12)} ${'x naive'.padStart(8)} ${'(naive)'.padStart(12)} ${'peak RSS'.padStart(10)}  target`);
console.log(`${'naive baseline (readline + regex)'.padEnd(36)} ${fmt(naive.linesPerSec).padStart(12)} ${'1.00'.padStart(8)} ${`${naiveRuns.length} runs`.padStart(12)} ${`${naive.maxRssMB.toFixed(1)} MB`.padStart(10)}`);
for (const [name, m, target, ratio] of rows) {
  const x = m.linesPerSec / m.naiveLinesPerSec;
  const rssOk = m.maxRssMB < 150;
  let verdict = '';
  if (target !== null) {
    const ok = m.linesPerSec >= target && (ratio === null || x >= ratio) && rssOk;
    verdict = `${ok ? 'met' : 'MISSED'} (≥${fmt(target)}/s${ratio === null ? '' : `, ≥${ratio}x`}, <150 MB)`;
  }
  console.log(`${name.padEnd(36)} ${fmt(m.linesPerSec).padStart(12)} ${x.toFixed(2).padStart(8)} ${fmt(m.naiveLinesPerSec).padStart(12)} ${`${m.maxRssMB.toFixed(1)} MB`.padStart(10)}  ${verdict}`);
}
console.log('(x naive: to the best of the naive runs made just before each of the row\'s own; (naive): that baseline)');
