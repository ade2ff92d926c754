// Every command on hostile input, as a user runs it (the bin, spawned): mutated lines plus stamps at the edges of
// what a time can be. A finding: an exit other than 0, stderr other than counts and unreadable lines, invalid JSON,
// or a raw control character in JSON or human output. Usage: node test/fuzz/commands.mjs [LINES=20000] [SEED=1]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
const root = new URL('../../', import.meta.url).pathname.replace(/\/$/, '');
const N = Number(process.argv[2] ?? 20000);
const SEED = Number(process.argv[3] ?? 1);
const { mulberry32, makeLine } = await import(`${root}/bench/corpus.mjs`);
const { mutator, EDGE_LINES } = await import('./mutate.mjs');
const rnd = mulberry32(SEED);
const pick = (a) => a[Math.floor(rnd() * a.length)];
const fx = (p) => readFileSync(`${root}/${p}`, 'utf8').split('\n').filter(Boolean);
const base = [...fx('fixtures/kernel/kmsg.txt'), ...fx('fixtures/kernel/dmesg.txt'), ...fx('fixtures/kernel/syslog.txt'), ...fx('fixtures/sample/harvester-upgrade.log')];
for (let i = 0; i < 2000; i++) base.push(makeLine(rnd, i));
const mutate = mutator(rnd);
const lines = [];
for (let i = 0; i < N; i++) { const r = rnd(); lines.push(r < 0.05 ? pick(EDGE_LINES) : r < 0.85 ? mutate(pick(base)) : pick(base)); }
const dir = mkdtempSync(join(tmpdir(), 'fwdiag-fuzz-'));
const file = join(dir, `commands-${SEED}.log`);
writeFileSync(file, lines.join('\n') + '\n');
const cmds = [
  ['parse', file], ['parse', '--issues', file], ['analyze', '--json', file], ['analyze', '--summary', file], ['analyze', file],
  ['report', '--format', 'json', file], ['report', '--format', 'md', file], ['report', '--format', 'html', '-o', join(dir, 'report.html'), file],
  ['suggest', '--json', '--platform', 'harvester', '--role', 'control-plane', file], ['suggest', '--format', 'policy', '--platform', 'harvester', '--role', 'worker', file],
  ['report', '--format', 'json', '--platform', 'harvester', '--role', 'control-plane', '--window', '2024-04-22T10:00:00Z..2024-04-22T10:05:00Z', file, fx('fixtures/kernel/kmsg.txt').length ? 'fixtures/kernel/kmsg.txt' : file],
];
let bad = 0;
for (const c of cmds) {
  const r = spawnSync(process.execPath, [`${root}/bin/fwdiag.js`, ...c], { cwd: root, env: { ...process.env, TZ: 'UTC', NO_COLOR: '1' }, maxBuffer: 1 << 30 });
  const err = r.stderr.toString();
  const odd = err.split('\n').filter((l) => l.startsWith('fwdiag: ') && !/^fwdiag: line \d+:|lines? could not|line\(s\) could not|flow\(s\)|kept no sample|\(\d+ not shown\)/.test(l));
  const fatal = r.status !== 0 || odd.length > 0;
  if (fatal) { bad++; console.log(`FAIL ${c.join(' ')} → exit ${r.status}: ${err.slice(0, 400)}`); }
  if (!c.includes('--json') && c[0] !== 'parse' && !c.includes('json')) {
    const o = r.stdout.toString();
    const m = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.exec(o);
    if (m) { bad++; console.log(`RAW CONTROL (human) in ${c.join(' ')}: ${JSON.stringify(o.slice(Math.max(0, m.index - 80), m.index + 40))}`); }
  }
  // stdout must be valid JSON lines for --json outputs
  if (c.includes('--json') || c[0] === 'parse') {
    for (const l of r.stdout.toString().split('\n')) { if (l === '') continue; try { JSON.parse(l); } catch { bad++; console.log(`BAD JSON from ${c.join(' ')}: ${l.slice(0, 200)}`); break; } if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(l)) { bad++; console.log(`RAW CONTROL in ${c.join(' ')}: ${JSON.stringify(l.slice(0, 300))}`); break; } }
  }
}
if (bad === 0) rmSync(dir, { recursive: true, force: true });
else console.log(`input kept: ${file}`);
console.log(`commands: ${N} lines (seed ${SEED}), ${cmds.length} commands, ${bad} findings`);
process.exitCode = bad === 0 ? 0 : 1;
