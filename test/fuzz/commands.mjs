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
const { mutator } = await import('./mutate.mjs');
const rnd = mulberry32(SEED);
const pick = (a) => a[Math.floor(rnd() * a.length)];
const fx = (p) => readFileSync(`${root}/${p}`, 'utf8').split('\n').filter(Boolean);
const base = [...fx('fixtures/kernel/kmsg.txt'), ...fx('fixtures/kernel/dmesg.txt'), ...fx('fixtures/kernel/syslog.txt'), ...fx('fixtures/sample/harvester-upgrade.log')];
for (let i = 0; i < 2000; i++) base.push(makeLine(rnd, i));
const body = 'HARVESTER_DROP_IN=eth0 OUT= MAC=52:54:00:3e:aa:01:52:54:00:3d:bb:02:08:00 SRC=198.18.0.1 DST=198.18.0.2 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=2380 DPT=46693 WINDOW=5 RES=0x00 ACK PSH URGP=0 ';
const extremes = [
  `[99999999999999999999.999999] ${body}`, `[18446744073709551615.999999] ${body}`, `4,1,99999999999999999999,-;${body}`, `4,1,18446744073709551615,-;${body}`,
  `9999-12-31T23:59:59.999999+14:00 h kernel: ${body}`, `9999-12-31T23:59:59.999999-14:00 h kernel: ${body}`, `0000-01-01T00:00:00+14:00 h kernel: ${body}`,
  `Feb 29 10:00:00 h kernel: ${body}`, `Dec 31 23:59:60 h kernel: ${body}`, `Jan 00 10:00:00 h kernel: ${body}`, `Jan 32 25:61:61 h kernel: ${body}`,
  JSON.stringify({ _TRANSPORT: 'kernel', __REALTIME_TIMESTAMP: '99999999999999999999999', _SOURCE_MONOTONIC_TIMESTAMP: '99999999999999999999999', MESSAGE: body }),
  JSON.stringify({ _TRANSPORT: 'kernel', __REALTIME_TIMESTAMP: '253402300800000000', MESSAGE: body }),
  JSON.stringify({ _TRANSPORT: 'kernel', __REALTIME_TIMESTAMP: '253402300799999999', MESSAGE: body }),
  `<4>1 9999-12-31T23:59:59Z h kernel - - - ${body}`, `Thu Jan  1 00:00:00 9999 h kernel: ${body}`, `[Fri Dec 31 23:59:59 9999] ${body}`,
  `1713780000.123456 h kernel: ${body}`, `99999999999999999999.123456 h kernel: ${body}`, `[ 1000.000000] ${body.replace('LEN=60', 'LEN=99999999999999999999')}`,
  `[ 1000.000000] ${body.replace('SPT=2380', 'SPT=99999999999')}`, `[ 1000.000000] ${body.replace('ID=1', 'ID=-5')}`,
];
const mutate = mutator(rnd);
const lines = [];
for (let i = 0; i < N; i++) { const r = rnd(); lines.push(r < 0.05 ? pick(extremes) : r < 0.85 ? mutate(pick(base)) : pick(base)); }
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
