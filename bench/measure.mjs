// One measurement in a fresh process (so peak RSS is this measurement's alone). Prints one JSON line to fd 3.
// Usage: node bench/measure.mjs MODE CORPUS
import { createReadStream, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { CORPUS_NOW } from './corpus.mjs';

const [mode, corpus] = process.argv.slice(2);
const report = (lines) => {
  const seconds = (performance.now() - t0) / 1000;
  writeSync(3, `${JSON.stringify({ mode, lines, seconds, linesPerSec: lines / seconds, maxRssMB: process.resourceUsage().maxRSS / 1024 })}\n`);
};
let t0 = performance.now();

if (mode === 'naive') {
  // The baseline the issue names: readline plus one regular expression pulling SRC/DST/PROTO/SPT/DPT.
  const re = /SRC=(\S+) DST=(\S+).*?PROTO=(\S+)(?: SPT=(\d+) DPT=(\d+))?/;
  let n = 0;
  let hits = 0;
  const rl = createInterface({ input: createReadStream(corpus), crlfDelay: Infinity });
  for await (const line of rl) {
    n++;
    const m = re.exec(line);
    if (m !== null) hits += m[4] === undefined ? 1 : 2;
  }
  if (hits === 0) throw new Error('baseline matched nothing');
  report(n);
} else if (mode === 'parse-core' || mode === 'packets-core') {
  // parse-core: bytes to event objects — file reads → line splitter → parser, nothing written.
  // packets-core: what `analyze --summary` does before its classifier — the same reads, the scanner's lines as one
  // packet object refilled per line (LineParser.parseBytesPackets), handed to a consumer that only checks it.
  const { openFileSource } = await import('../dist/input/file-source.js');
  const { readResults } = await import('../dist/cli/read-loop.js');
  const totals = { lines: 0, events: 0, skipped: 0, issues: 0, cut: 0, otherPrefix: 0 };
  t0 = performance.now();
  const src = await openFileSource(corpus);
  const read = { now: () => CORPUS_NOW, signal: new AbortController().signal };
  let events = 0;
  let ports = 0;
  if (mode === 'parse-core') {
    for await (const { results } of readResults([src], read, totals)) {
      for (const r of results) if (r.kind === 'event' && r.event.proto !== undefined) events++;
    }
  } else {
    const each = (r) => { if (r.kind === 'event' && r.event.proto !== undefined) events++; };
    const packets = (p) => { if (p.proto !== undefined) events++; ports += p.dpt ?? 0; };
    for await (const _ of readResults([src], { ...read, each, packets }, totals)) { /* batches only pace reading */ }
    if (ports === 0) throw new Error('no packet had a port');
  }
  if (events !== totals.events) throw new Error('event count mismatch');
  report(totals.lines);
} else if (mode === 'parse-cli' || mode === 'analyze-cli' || mode === 'report-cli' || mode === 'suggest-cli' || mode === 'analyze-pipe') {
  // The CLI exactly as `fwdiag parse FILE > /dev/null` / `fwdiag analyze --summary FILE > /dev/null` (…) runs it
  // (bin/fwdiag.js calls the bundle's main(): tuneHeap() and run()); stdout is /dev/null, opened by the parent. analyze-pipe: `cat CORPUS | fwdiag
  // analyze --summary`, stdin a pipe the parent's shell fills with cat.
  // the bundle bin/fwdiag.js runs (dist/bin, src/build/bundle.ts), and what its main() does before run(): fwdiag's
  // heap sizing (src/cli/heap.ts; FWDIAG_HEAP=v8 turns it off), the bundle's own instance of it
  const { run, tuneHeap } = await import('../dist/bin/main.js');
  tuneHeap(process.env, process.execArgv);
  const argv = {
    'parse-cli': ['parse', '--stats', corpus],
    'analyze-cli': ['analyze', '--summary', corpus],
    'report-cli': ['report', '--format', 'json', '--platform', 'harvester', '--role', 'control-plane', corpus],
    'suggest-cli': ['suggest', '--json', '--platform', 'harvester', '--role', 'control-plane', corpus],
    'analyze-pipe': ['analyze', '--summary'],
  }[mode];
  let stats = '';
  const stderr = { write: (s) => { stats += s; return true; }, isTTY: false };
  const code = await run(argv, { stdin: process.stdin, stdout: process.stdout, stderr, env: {}, now: () => CORPUS_NOW });
  if (code !== 0) throw new Error(`exit ${code}: ${stats}`);
  const m = /"lines":(\d+)/.exec(stats);
  report(m === null ? Number(process.env.BENCH_LINES) : Number(m[1]));
} else {
  throw new Error(`unknown mode ${mode}`);
}
