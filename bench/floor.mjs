// What the bytes → events target leaves room for, measured in one run: the naive baseline (bench/measure.mjs naive,
// best of RUNS, each in its own process), then the least each part of bytes → events can cost on this machine, and
// the sum of those floors against the budget (a third of the baseline's time: "at least 3x").
//   read:     the corpus read in 1 MiB chunks, nothing done with the bytes
//   scan:     the WebAssembly scanner alone on the whole corpus, its bytes copied into its memory untimed (records
//             written, none read; what `node bench/scan.mjs` measures, for every line)
//   objects:  one object per event of the corpus, with only the fields a TCP event has (24 keys, the present ones),
//             filled from an Int32Array of records, strings interned, no time string: the least an event can be
// Reading runs on libuv's threads while the scanner works, so the floor of bytes → events on one core is
// scan + objects (read shown apart). Usage: npm run build && node bench/floor.mjs [RUNS=3]
import { spawnSync } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { ensureCorpus } from './corpus.mjs';
import { loadScanner } from './scanner.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const LINES = 1_200_000;
const RUNS = Number(process.argv[2] ?? 3);
const corpus = await ensureCorpus(join(here, '.corpus', `corpus-${LINES}.log`), LINES);

function naiveSeconds() {
  let best = Infinity;
  for (let i = 0; i < RUNS; i++) {
    const devnull = openSync('/dev/null', 'w');
    const r = spawnSync(process.execPath, [join(here, 'measure.mjs'), 'naive', corpus], { stdio: ['ignore', devnull, 'inherit', 'pipe'] });
    closeSync(devnull);
    if (r.status !== 0) throw new Error(`naive failed with status ${r.status}`);
    best = Math.min(best, JSON.parse(r.output[3].toString()).seconds);
  }
  return best;
}

async function readSeconds() {
  const t0 = performance.now();
  const fh = await open(corpus);
  const buf = Buffer.allocUnsafe(1 << 20);
  let bytes = 0;
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, buf.length, null);
    if (bytesRead === 0) break;
    bytes += bytesRead;
  }
  await fh.close();
  if (bytes === 0) throw new Error('read nothing');
  return (performance.now() - t0) / 1000;
}

const data = readFileSync(corpus);
const { x, mem, runs } = loadScanner(data);
const inBase = x.inputBase();

function scanSeconds() {
  let t = 0;
  let lines = 0;
  x.reset();
  for (const run of runs) {
    mem.set(run, inBase);
    let from = 0;
    while (from < run.length) {
      const t0 = performance.now();
      const n = x.scan(from, run.length);
      t += performance.now() - t0;
      lines += n;
      from = x.stoppedAt();
      if (x.isFull()) x.reset();
    }
  }
  if (lines !== LINES) throw new Error(`scanned ${lines} lines, not ${LINES}`);
  return t / 1000;
}

// the corpus's events (bench/measure.mjs parse-core counts them: lines less the non-netfilter ones)
const EVENTS = 1_104_162;
function objectsSeconds() {
  const REC = 32;
  const BATCH = 4096;
  const i32 = new Int32Array(REC * BATCH);
  for (let i = 0; i < i32.length; i++) i32[i] = Math.imul(i, 0x9e3779b1) & 0xffff;
  const strs = Array.from({ length: 65536 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);
  const FLAGS = [['SYN'], ['ACK'], ['ACK', 'PSH'], ['ACK', 'FIN'], ['RST']];
  const PROTOS = ['TCP', 'UDP', 'ICMP'];
  let kept = 0;
  const t0 = performance.now();
  for (let line = 0; line < EVENTS; ) {
    const out = [];
    for (let r = 0; r < BATCH && line < EVENTS; r++, line++) {
      const b = r * REC;
      out.push({
        line: line + 1, time: 'x', ts: i32[b], mono: null, host: 'node1', envelope: 'rfc3164', transport: 'kernel',
        prefix: 'HARVESTER_DROP_', in: 'eth0', out: '', src: strs[i32[b + 1]], dst: strs[i32[b + 2]], len: i32[b + 3],
        tos: i32[b + 4], prec: i32[b + 5], ttl: i32[b + 6], id: i32[b + 7], ipFlags: FLAGS[0], family: 4,
        proto: PROTOS[i32[b + 8] % 3], spt: i32[b + 9], dpt: i32[b + 10], window: i32[b + 11], flags: FLAGS[i32[b + 13] % 5],
      });
    }
    for (const ev of out) if (ev.proto !== undefined) kept++;
  }
  if (kept !== EVENTS) throw new Error('lost objects');
  return (performance.now() - t0) / 1000;
}

const best = async (f) => {
  let b = Infinity;
  for (let i = 0; i < RUNS; i++) b = Math.min(b, await f());
  return b;
};
const naive = naiveSeconds();
const read = await best(readSeconds);
const scan = await best(scanSeconds);
const objects = await best(objectsSeconds);
const ms = (s) => `${(s * 1000).toFixed(0).padStart(5)} ms`;
const rate = (s) => `${Math.round(LINES / s).toLocaleString('en-US').padStart(10)} lines/s`;
console.log(`fwdiag bench floor: ${LINES.toLocaleString('en-US')} lines, ${(data.length / 1e6).toFixed(0)} MB, best of ${RUNS}, node ${process.version}`);
console.log(`naive baseline                  ${ms(naive)}  ${rate(naive)}`);
console.log(`budget at 3x the baseline       ${ms(naive / 3)}  ${rate(naive / 3)}`);
console.log(`read alone (libuv threads)      ${ms(read)}`);
console.log(`scanner alone                   ${ms(scan)}  ${rate(scan)}`);
console.log(`event objects alone             ${ms(objects)}`);
const floor = scan + objects;
console.log(`floor: scanner + objects        ${ms(floor)}  ${rate(floor)}  ${(floor / (naive / 3) * 100).toFixed(0)} % of the budget`);
