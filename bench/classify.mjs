// Micro-benchmark of the classifier stage as `analyze --summary` drives it: the first LINES lines of the bench
// corpus are cut into batches the way the file reader does (~256 KB each); every round parses each batch with a
// fresh parser (untimed) and then classifies it with a fresh classifier (timed), so events are as warm in cache as
// in the CLI, where each batch is classified right after it is parsed. Reports ns per event for the classifier,
// and ns per line for the parse it is compared with.
// Usage: npx tsc -p tsconfig.json && node bench/classify.mjs [LINES=300000] [ROUNDS=7]
import { openSync, readSync, closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const LINES = Number(process.argv[2] ?? 300_000);
const ROUNDS = Number(process.argv[3] ?? 7);
const BATCH_BYTES = 256 * 1024;
const corpus = process.env.CORPUS ?? join(here, '.corpus', 'corpus-1200000.log');

const { createParser } = await import('../dist/parse/parse-line.js');
const { createClassifier } = await import('../dist/classify/classifier.js');
const { createAnalyzeJsonWriter } = await import('../dist/output/analyze-json.js');

const fd = openSync(corpus, 'r');
const buf = Buffer.alloc(LINES * 400);
const n = readSync(fd, buf, 0, buf.length, 0);
closeSync(fd);
const batches = [];
{
  let at = 0;
  let lines = 0;
  while (lines < LINES && at < n) {
    let end = Math.min(n, at + BATCH_BYTES);
    const nl = buf.lastIndexOf(10, end - 1);
    if (nl >= at && end < n) end = nl + 1;
    let batch = buf.toString('utf8', at, end).split('\n');
    if (batch[batch.length - 1] === '') batch.pop();
    if (lines + batch.length > LINES) batch = batch.slice(0, LINES - lines);
    lines += batch.length;
    batches.push(batch);
    at = end;
  }
  console.log(`${lines} lines in ${batches.length} batches of ≤${BATCH_BYTES / 1024} KB`);
}

// Each round runs twice over the same batches, interleaved: parse only, then parse + classify. CPU time (not wall
// time: the VM is shared) of the second minus the first is the classifier's cost; the per-batch wall clock around
// the classify loop is reported too.
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
let check = '';
const classifyNs = [];
const classifyCpuNs = [];
const parseNs = [];
let events = 0;
function round(classify) {
  const parser = createParser({ tz: 'UTC', now: () => Date.UTC(2024, 5, 1) });
  const c = createClassifier({});
  const w = createAnalyzeJsonWriter({ stdout: { write: () => true }, summaryOnly: true });
  let tc = 0;
  let tp = 0;
  let nl = 0;
  let sink = 0;
  events = 0;
  const c0 = cpu();
  for (const batch of batches) {
    const t0 = performance.now();
    const results = [];
    for (let i = 0; i < batch.length; i++) {
      const r = parser.parseLine(batch[i]);
      if (r.kind === 'event' || r.kind === 'issue') results.push(r);
    }
    const t1 = performance.now();
    if (classify) {
      for (let i = 0; i < results.length; i++) {
        const r = results[i];
        if (r.kind === 'event') w.event(c.classify(r.event));
        else if (r.event !== undefined) w.event(c.classify(r.event));
      }
    } else {
      for (let i = 0; i < results.length; i++) if (results[i].kind === 'event') sink += results[i].event.line;
    }
    const t2 = performance.now();
    tp += t1 - t0;
    tc += t2 - t1;
    nl += batch.length;
    events += results.length;
  }
  const cpuMs = cpu() - c0;
  if (classify) {
    const s = c.end();
    const sig = JSON.stringify(s.summary) + ' flows listed: ' + s.flows.length;
    if (check !== '' && sig !== check) throw new Error('rounds disagree');
    check = sig;
    classifyNs.push((tc * 1e6) / events);
  }
  parseNs.push((tp * 1e6) / nl);
  return { cpuMs, sink };
}
for (let r = 0; r < ROUNDS; r++) {
  const a = round(false).cpuMs;
  const b = round(true).cpuMs;
  classifyCpuNs.push(((b - a) * 1e6) / events);
}
const stat = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return `best ${s[0].toFixed(0)}, median ${s[s.length >> 1].toFixed(0)}  (rounds: ${xs.map((x) => x.toFixed(0)).join(' ')})`;
};
console.log(`${events} events`);
console.log(`classify ns/event (wall, per batch):    ${stat(classifyNs)}`);
console.log(`classify ns/event (CPU, round B - A):   ${stat(classifyCpuNs)}`);
console.log(`parse ns/line (wall):                   ${stat(parseNs)}`);
console.log(`summary: ${check}`);
