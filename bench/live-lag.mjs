// The live view under load, measured on the real binary in a real terminal (tmux): a producer writes bench-corpus
// lines into fwdiag's stdin at a fixed rate while the view runs in a 120x40 pane; the pane's header (`N lines`) is
// read every 250 ms and compared with what the producer had written by then.
//
//   node bench/live-lag.mjs [--rate 100000] [--seconds 6] [--lines 200000] [--wait 1500] [--node-opt=--cpu-prof]
//                           [--consumer 'CMD'] [--keep]
//
// The producer writes in 1 ms steps once the view is up and `--wait` ms have passed; `--consumer` replaces the fwdiag
// command (e.g. another build, or `cat > /dev/null` to check the producer alone). Prints one JSON object: the
// producer's schedule (how far behind it ever fell: its writes block on a full pipe, so that is the view holding the
// writer back; time blocked in write(2) counts even a pipe that is merely kept full), the worst lag in lines, how far
// behind what was written the view was (worstBehindMs) and behind the producer's schedule (viewBehindScheduleMs: a
// writer held back counts too), the samples (`ms:written/shown`), and the view's own stats (FWDIAG_VIEW_STATS).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { makeLine, mulberry32 } from './corpus.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = join(ROOT, 'bin/fwdiag.js');

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '6' },
    'node-opt': { type: 'string', multiple: true, default: [] },
    keep: { type: 'boolean', default: false },
    lines: { type: 'string', default: '200000' },
    wait: { type: 'string', default: '1500' },
    consumer: { type: 'string' },
  },
});
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const SOCKET = `fwdiag-livelag-${process.pid}`;
const TOTAL_LINES = Math.floor(RATE * SECONDS);

/** The producer, shared with test/view/tmux-lag.test.ts. */
const PRODUCER = join(dirname(fileURLToPath(import.meta.url)), 'lag-producer.py');

/** `123.4k lines` → 123400 (the header's compact count; 100-line resolution from 10k to 1M). */
export function shownLines(screen) {
  const m = /│ (\d+(?:\.\d)?)(k|M)? lines │/.exec(screen);
  if (m === null) return null;
  const v = Number(m[1]);
  return Math.round(m[2] === 'k' ? v * 1000 : m[2] === 'M' ? v * 1_000_000 : v);
}

function tmux(...a) {
  return execFileSync('tmux', ['-L', SOCKET, ...a], { encoding: 'utf8' });
}

const dir = mkdtempSync(join(tmpdir(), 'fwdiag-livelag-'));
try {
  const rnd = mulberry32(5);
  const corpus = [];
  for (let i = 0; i < Number(args.lines); i++) corpus.push(makeLine(rnd, i));
  writeFileSync(join(dir, 'lines.log'), `${corpus.join('\n')}\n`);
  const log = join(dir, 'produced.log');
  const stats = join(dir, 'view-stats.json');
  const nodeOpts = args['node-opt'].join(' ');
  const consumer = args.consumer ?? `env -u CI NO_COLOR=1 TZ=UTC FWDIAG_VIEW_STATS='${stats}' node ${nodeOpts} '${BIN}' --max-flows 20000`;
  const cmd = `cd '${dir}' && python3 '${PRODUCER}' lines.log ${RATE} ${TOTAL_LINES} '${log}' go | ${consumer}; echo EXIT=$?; sleep 60`;
  const t0 = Date.now();
  tmux('new-session', '-d', '-s', 'lag', '-x', '120', '-y', '40', cmd);
  let up = -1;
  while (args.consumer === undefined && Date.now() < t0 + 15_000) {
    if (shownLines(tmux('capture-pane', '-p', '-t', 'lag')) !== null) {
      up = Date.now() - t0;
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  if (up < 0 && args.consumer === undefined) throw new Error(`view did not come up:\n${tmux('capture-pane', '-p', '-t', 'lag')}`);
  await new Promise((r) => setTimeout(r, Number(args.wait)));
  writeFileSync(join(dir, 'go'), '');
  const samples = [];
  const deadline = Date.now() + (SECONDS + 10) * 1000;
  let doneAt = -1;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    const t = Date.now();
    const shown = shownLines(tmux('capture-pane', '-p', '-t', 'lag'));
    if (shown !== null) samples.push({ t, shown });
    if (doneAt < 0 && existsSync(log) && readFileSync(log, 'utf8').includes('done')) doneAt = t;
    if (doneAt > 0 && t > doneAt + 1500) break;
  }
  tmux('send-keys', '-t', 'lag', 'q');
  const exitBy = Date.now() + 10_000;
  while (Date.now() < exitBy && !tmux('capture-pane', '-p', '-t', 'lag', '-S', '-200').includes('EXIT=')) await new Promise((r) => setTimeout(r, 100));
  const produced = readFileSync(log, 'utf8').trim().split('\n');
  const start = Number(produced.shift().split(' ')[1]);
  const done = produced.pop().split(' ').map(Number);
  const writes = produced.map((l) => l.split(' ').map(Number));
  const writtenBy = (t) => {
    let lo = 0;
    let hi = writes.length - 1;
    let n = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (writes[mid][0] <= t) {
        n = writes[mid][1];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return n;
  };
  const rows = samples
    .filter((s) => s.t >= start)
    .map((s) => {
      const w = writtenBy(s.t);
      // seconds behind: how long ago the producer had written what the view shows now (0 when it shows all)
      const behindMs = s.shown >= w ? 0 : s.t - (writes.findLast((x) => x[1] <= s.shown)?.[0] ?? start);
      // behind the producer's schedule: what the view shows against what should have been written by now (a writer
      // held back by the view counts too)
      const vsScheduleMs = Math.max(0, Math.min(s.t - start, (TOTAL_LINES / RATE) * 1000) - (s.shown / RATE) * 1000);
      return { at: s.t - start, written: w, shown: s.shown, lagLines: w - s.shown, behindMs, vsScheduleMs };
    });
  const out = {
    rate: RATE,
    seconds: SECONDS,
    viewUpMs: up,
    producer: { total: done[1] === undefined ? null : writes.at(-1)?.[1], spentMs: done[2], worstBehindScheduleMs: done[3], blockedInWriteMs: done[4], longestWriteMs: done[5] },
    worstLagLines: Math.max(...rows.map((r) => r.lagLines)),
    worstBehindMs: Math.max(...rows.map((r) => r.behindMs)),
    viewBehindScheduleMs: Math.round(Math.max(...rows.map((r) => r.vsScheduleMs))),
    // from the last write to the first sample showing everything (sampling every ~250 ms)
    allShownAfterMs: (rows.find((r) => r.at >= done[2] && r.shown >= (writes.at(-1)?.[1] ?? 0) - 100)?.at ?? NaN) - done[2],
    sustainedLinesPerSec: Math.round(((writes.at(-1)?.[1] ?? 0) / done[2]) * 1000),
    viewStats: existsSync(stats) ? JSON.parse(readFileSync(stats, 'utf8')) : null,
    samples: rows.map((r) => `${r.at}:${r.written}/${r.shown}`).join(' '),
  };
  console.log(JSON.stringify(out, null, 1));
  if (args.keep) console.error(`kept ${dir}`);
} finally {
  try {
    tmux('kill-server');
  } catch {
    // gone
  }
  // tmux leaves its socket file behind
  rmSync(join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`, SOCKET), { force: true });
  if (!args.keep) rmSync(dir, { recursive: true, force: true });
}
