// `npm run bench`: a deterministic corpus, then each measurement in its own process, best of RUNS, next to the
// naive baseline measured in the same run. Targets are the issues' (one core).
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

function measure(mode) {
  let best = null;
  let maxRss = 0;
  for (let i = 0; i < RUNS; i++) {
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
    const m = JSON.parse(r.output[3].toString());
    maxRss = Math.max(maxRss, m.maxRssMB);
    if (best === null || m.linesPerSec > best.linesPerSec) best = m;
  }
  return { ...best, maxRssMB: maxRss };
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
const naive = measure('naive');
const rows = [
  ['naive baseline (readline + regex)', naive, null, null],
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
console.log('');
console.log(`${'measurement'.padEnd(36)} ${'lines/s'.padStart(12)} ${'x naive'.padStart(8)} ${'peak RSS'.padStart(10)}  target`);
for (const [name, m, target, ratio] of rows) {
  const x = m.linesPerSec / naive.linesPerSec;
  const rssOk = m.maxRssMB < 150;
  let verdict = '';
  if (target !== null) {
    const ok = m.linesPerSec >= target && (ratio === null || x >= ratio) && rssOk;
    verdict = `${ok ? 'met' : 'MISSED'} (≥${fmt(target)}/s${ratio === null ? '' : `, ≥${ratio}x`}, <150 MB)`;
  }
  console.log(`${name.padEnd(36)} ${fmt(m.linesPerSec).padStart(12)} ${x.toFixed(2).padStart(8)} ${`${m.maxRssMB.toFixed(1)} MB`.padStart(10)}  ${verdict}`);
}
