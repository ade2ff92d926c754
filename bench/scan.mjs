// Micro-benchmark of the WebAssembly scanner alone (dist/parse/scan.wasm, built by `npm run build`): the first MB
// MiB of the bench corpus, cut into runs of whole lines that fit its input area and copied in untimed, then scan()
// (bytes → records) and emit() (records → NDJSON) timed separately. No JavaScript event objects, no I/O. Best of
// PASSES, in ns per line. The figures README.md gives for the scanner and its parts come from here.
// Usage: npm run build && node bench/scan.mjs [MB=60] [PASSES=7]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { ensureCorpus } from './corpus.mjs';
import { loadScanner } from './scanner.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const MB = Number(process.argv[2] ?? 60);
const PASSES = Number(process.argv[3] ?? 7);
const corpus = await ensureCorpus(join(here, '.corpus', 'corpus-1200000.log'), 1_200_000);
const { x, mem, runs } = loadScanner(readFileSync(corpus).subarray(0, MB << 20));
const inBase = x.inputBase();

let bestScan = Infinity;
let bestEmit = Infinity;
let lines = 0;
for (let pass = 0; pass < PASSES; pass++) {
  let tScan = 0;
  let tEmit = 0;
  lines = 0;
  x.reset();
  for (const run of runs) {
    mem.set(run, inBase);
    let from = 0;
    while (from < run.length) {
      let t = performance.now();
      const n = x.scan(from, run.length);
      tScan += performance.now() - t;
      t = performance.now();
      // emit() stops at a record JavaScript must print; go on after it
      for (let k = 0; k < n; ) {
        const j = x.emit(k, n, lines + k + 1);
        k = j < n ? j + 1 : j;
      }
      tEmit += performance.now() - t;
      lines += n;
      from = x.stoppedAt();
      if (x.isFull()) x.reset();
    }
  }
  bestScan = Math.min(bestScan, tScan);
  bestEmit = Math.min(bestEmit, tEmit);
}
console.log(`${lines.toLocaleString('en-US')} lines: scan ${(bestScan * 1e6 / lines).toFixed(0)} ns/line, emit ${(bestEmit * 1e6 / lines).toFixed(0)} ns/line (best of ${PASSES})`);
