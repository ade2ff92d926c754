// Micro-bench for the line splitter. Run after `npx tsc`:  node bench/split-lines.mjs
// Feeds ~250-byte netfilter-like lines in 64 KiB chunks (what fs streams deliver) and reports lines/s.
import { createLineSplitter } from '../dist/input/split-lines.js';

const sample =
  'Nov 23 06:53:02 node-7 kernel: [1072190.394592] KUBE-FW-DROP IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 ' +
  'SRC=198.18.0.17 DST=198.18.1.42 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=54321 DF PROTO=TCP SPT=%SPT% DPT=8443 WINDOW=64240 RES=0x00 SYN URGP=0';
const lines = [];
for (let i = 0; i < 4096; i++) lines.push(sample.replace('%SPT%', String(32768 + (i % 28000))));
const corpus = Buffer.from(lines.join('\n') + '\n');
const avgLen = corpus.length / lines.length;

function chunksOf(buf, size) {
  const out = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

function run(chunkSize, seconds) {
  const chunks = chunksOf(corpus, chunkSize);
  const s = createLineSplitter();
  let n = 0;
  let bytes = 0;
  const t0 = process.hrtime.bigint();
  const deadline = t0 + BigInt(Math.round(seconds * 1e9));
  let now = t0;
  while (now < deadline) {
    for (const c of chunks) {
      n += s.push(c).length;
      bytes += c.length;
    }
    now = process.hrtime.bigint();
  }
  n += s.end().length;
  const sec = Number(now - t0) / 1e9;
  return { lps: n / sec, mbps: bytes / sec / 1e6 };
}

run(65536, 0.5); // warm-up
for (const size of [4096, 16384, 65536, 1 << 20]) {
  const r = run(size, 2);
  console.log(
    `chunk ${String(size).padStart(7)} B, ~${avgLen.toFixed(0)} B/line: ${(r.lps / 1e6).toFixed(2)} M lines/s, ${r.mbps.toFixed(0)} MB/s`,
  );
}
// Non-ASCII: V8 decodes UTF-8 ~10x slower once a line is not ASCII, so measure all-non-ASCII and 1-in-100 mixes.
function variant(label, every) {
  const v = lines.map((l, i) => (i % every === 0 ? l.replace('KUBE-FW-DROP', 'KUBE-FW-DRÖP') : l));
  const buf = Buffer.from(v.join('\n') + '\n');
  const s = createLineSplitter();
  const chunks = chunksOf(buf, 65536);
  let n = 0;
  const t0 = performance.now();
  for (let k = 0; k < 200; k++) for (const c of chunks) n += s.push(c).length;
  const ms = performance.now() - t0;
  console.log(`chunk   65536 B, ${label}: ${(n / ms / 1e3).toFixed(2)} M lines/s`);
}
variant('every line non-ASCII', 1);
variant('1 line in 100 non-ASCII', 100);
