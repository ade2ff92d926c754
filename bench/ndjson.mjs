// Micro-benchmark for the NDJSON output stage, shaped like `fwdiag parse`: the corpus head is parsed batch by
// batch (~1000 lines, as the file source yields them) and each batch's events are encoded right away, while they
// are still in cache; only the encoding (and, for `write`, the writing) is timed. Best of ROUNDS, in ns/event.
//
//   node bench/ndjson.mjs [LINES=300000] [ROUNDS=5] [MODULE=dist/output/ndjson.js]
//
// MODULE may be an older build of ndjson.js (for before/after numbers); the `write` figure then uses the
// old writer shape (a string per batch handed to write()).
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join, resolve } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const LINES = Number(process.argv[2] ?? 300_000);
const ROUNDS = Number(process.argv[3] ?? 5);
const modPath = process.argv[4] === undefined ? join(here, '../dist/output/ndjson.js') : resolve(process.argv[4]);
const corpus = join(here, '.corpus', 'corpus-1200000.log');
const BATCH = 1000;

const { createParser } = await import('../dist/parse/parse-line.js');
const mod = await import(pathToFileURL(modPath).href);
const { eventToJson } = mod;
const NdjsonBuffer = mod.NdjsonBuffer;

const head = Buffer.allocUnsafe(LINES * 320);
const fd = openSync(corpus, 'r');
const got = readSync(fd, head, 0, head.length, 0);
closeSync(fd);
const text = head.toString('utf8', 0, got);
const devnull = openSync('/dev/null', 'w');

/** One pass over the corpus head; `encode(events)` is timed per batch. Returns ns/event. */
function pass(encode) {
  const parser = createParser({ now: () => Date.UTC(2024, 5, 1) });
  let ns = 0;
  let events = 0;
  let at = 0;
  let lines = 0;
  const batch = [];
  while (lines < LINES && at < text.length) {
    batch.length = 0;
    for (let i = 0; i < BATCH && lines < LINES && at < text.length; i++, lines++) {
      let nl = text.indexOf('\n', at);
      if (nl < 0) nl = text.length;
      const r = parser.parseLine(text.slice(at, nl));
      at = nl + 1;
      if (r.kind === 'event') batch.push(r.event);
    }
    const t = performance.now();
    encode(batch);
    ns += (performance.now() - t) * 1e6;
    events += batch.length;
  }
  return { ns: ns / events, events };
}

let sink = 0;
const out = NdjsonBuffer === undefined ? null : new NdjsonBuffer();
const modes = {
  // eventToJson alone, the strings discarded.
  json: (evs) => {
    for (let i = 0; i < evs.length; i++) sink += eventToJson(evs[i]).length;
  },
  // The whole output stage as the CLI runs it, into /dev/null.
  write:
    NdjsonBuffer === undefined
      ? (evs) => {
          let out = '';
          for (let i = 0; i < evs.length; i++) out += `${eventToJson(evs[i])}\n`;
          writeSync(devnull, out);
        }
      : (evs) => {
          for (let i = 0; i < evs.length; i++) out.event(evs[i]);
          for (const chunk of out.take()) writeSync(devnull, chunk);
        },
};

console.log(`${modPath}: ${LINES} lines, batches of ${BATCH}, best of ${ROUNDS}`);
for (const [name, fn] of Object.entries(modes)) {
  const all = [];
  let events = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const p = pass(fn);
    all.push(p.ns);
    events = p.events;
  }
  console.log(`${name.padEnd(6)} ${Math.min(...all).toFixed(0).padStart(6)} ns/event  (${all.map((x) => x.toFixed(0)).join(' ')}; ${events} events)`);
}
if (sink === 0) console.log('');
