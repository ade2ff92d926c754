// The WebAssembly scanner (dist/parse/scan.wasm, built by `npm run build`) on its own, for the micro-benchmarks
// (bench/scan.mjs, bench/floor.mjs): an instance with the imports the CLI would give it for the bench corpus, and
// bytes cut into runs of whole lines that fit its input area.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { CORPUS_NOW } from './corpus.mjs';

const here = dirname(fileURLToPath(import.meta.url));

/** { x: the instance's exports, mem: a Buffer over its memory, runs: `data` in runs for x.scan() } */
export function loadScanner(data) {
  const mod = new WebAssembly.Module(readFileSync(join(here, '..', 'dist', 'parse', 'scan.wasm')));
  let mem;
  const x = new WebAssembly.Instance(mod, {
    env: {
      abort() {
        throw new Error('scanner aborted');
      },
      // RFC3164 minutes as the CLI's clock would give them for this corpus (UTC, its own year)
      syslogMinute: (mo, d, h, mi) => Date.UTC(new Date(CORPUS_NOW).getUTCFullYear(), mo, d, h, mi),
      num: (v, at) => mem.write(JSON.stringify(v), at, 'latin1'),
    },
  }).exports;
  mem = Buffer.from(x.memory.buffer);
  const cap = x.inputCap();
  const runs = [];
  for (let s = 0; s < data.length; ) {
    const e = data.lastIndexOf(10, Math.min(data.length, s + cap) - 1) + 1;
    if (e <= s) break; // the rest: a line cut off by the end of `data` (or one longer than the input area)
    runs.push(data.subarray(s, e));
    s = e;
  }
  return { x, mem, runs };
}
