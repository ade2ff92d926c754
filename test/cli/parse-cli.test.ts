/**
 * `fwdiag parse` end to end: the real bin (built by `npm test`'s tsc step) spawned on real kernel fixtures.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { corpusText } from '../../bench/corpus.mjs';

const root = new URL('../../', import.meta.url).pathname;
const bin = join(root, 'bin/fwdiag.js');
const kmsg = join(root, 'fixtures/kernel/kmsg.txt');
const syslog = join(root, 'fixtures/kernel/syslog.txt');
/** the temporary folders a test made (some hold a 25 MB log), removed after it, failed or not */
const made: string[] = [];
const tempDir = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const run = (args: string[], input?: string | Buffer) =>
  spawnSync(process.execPath, [bin, ...args], { input, encoding: 'utf8', env: { ...process.env, TZ: 'UTC', NO_COLOR: '1' } });

describe('fwdiag parse (bin)', () => {
  it('prints one JSON event per kernel line, with --stats on stderr', () => {
    const r = run(['parse', '--stats', kmsg]);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const n = readFileSync(kmsg, 'utf8').trim().split('\n').length;
    expect(lines).toHaveLength(n);
    const first = JSON.parse(lines[0] as string);
    expect(first).toMatchObject({ line: 1, envelope: 'kmsg', transport: 'kernel', prefix: 'FWFX_SYN_DROP_', proto: 'TCP', dpt: 10250, flags: ['SYN'] });
    expect(JSON.parse(r.stderr.trim())).toEqual({ stats: { lines: n, events: n, skipped: 0, issues: 0, cut: 0, otherPrefix: 0 } });
  });

  it('reads stdin, gzip by content, several files (events name their file)', () => {
    const dir = tempDir('fwdiag-parse-');
    const gz = join(dir, 'rotated.1'); // no .gz suffix on purpose
    writeFileSync(gz, gzipSync(readFileSync(syslog)));
    const viaStdin = run(['parse'], readFileSync(syslog));
    const viaGzip = run(['parse', gz]);
    expect(viaStdin.status).toBe(0);
    expect(viaGzip.stdout).toBe(viaStdin.stdout);
    const both = run(['parse', kmsg, gz]).stdout.trim().split('\n').map((l) => JSON.parse(l) as { file: string });
    expect(new Set(both.map((e) => e.file))).toEqual(new Set([kmsg, gz]));
  });

  it('--issues prints issue records for malformed lines; the stream goes on', () => {
    const good = readFileSync(kmsg, 'utf8').split('\n')[0] as string;
    const input = [good, good.slice(0, good.indexOf('URGP=')), 'not a log line', good.replace('DPT=10250', 'DPT=1x'), good].join('\n');
    const r = run(['parse', '--issues', '--stats'], input);
    const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(out.map((o) => o['issue'] ?? 'event')).toEqual(['event', 'truncated', 'malformed-field', 'event']);
    expect(out[1]).toMatchObject({ line: 2, message: 'TCP line ends before URGP=' });
    expect(JSON.parse(r.stderr)).toEqual({ stats: { lines: 5, events: 2, skipped: 1, issues: 2, cut: 0, otherPrefix: 0 } });
  });

  it('bad flags exit 2 with a one-line message and a usage hint; a missing file exits 1', () => {
    const bad = run(['parse', '--frobnicate']);
    expect(bad.status).toBe(2);
    expect(bad.stderr.split('\n')[0]).toMatch(/^fwdiag: .*frobnicate/);
    expect(bad.stderr).toContain("Run 'fwdiag parse --help'");
    const tz = run(['parse', '--tz', 'Mars/Olympus', kmsg]);
    expect(tz.status).toBe(2);
    expect(tz.stderr).toContain('--tz');
    const missing = run(['parse', '/nonexistent/kern.log']);
    expect(missing.status).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).not.toContain('    at ');
    const debug = run(['parse', '--debug', '/nonexistent/kern.log']);
    expect(debug.stderr).toContain('    at ');
  });

  it('--debug is global: every command takes it, before or after its options (up to `--`)', () => {
    for (const args of [['report', '--debug', '/nonexistent/kern.log'], ['suggest', '--platform', 'harvester', '--role', 'worker', '/nonexistent/kern.log', '--debug'],
      ['catalog', '--debug', 'no-such-platform'], ['--debug', 'analyze', '/nonexistent/kern.log']]) {
      const r = run(args);
      expect([1, 2], `${args.join(' ')}: ${r.stderr}`).toContain(r.status);
      expect(r.stderr.split('\n')[0]).not.toContain('Unknown option');
      expect(r.stderr, args.join(' ')).toContain('    at ');
    }
    // after `--` it is a file name like any other
    const file = run(['parse', '--', '--debug']);
    expect(file.status).toBe(1);
    expect(file.stderr).toContain('--debug');
    expect(file.stderr).not.toContain('    at ');
  });

  it('--help prints the usage and exits 0', () => {
    const r = run(['parse', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: fwdiag parse');
  });

  it('ends quietly when the reader goes away (| head)', () => {
    const big = Array.from({ length: 40 }, () => readFileSync(syslog, 'utf8')).join('');
    const dir = tempDir('fwdiag-head-');
    const f = join(dir, 'big.log');
    writeFileSync(f, big.repeat(50));
    const out = execFileSync('bash', ['-c', `set -o pipefail; node "${bin}" parse "${f}" 2>"${dir}/err" | head -n 2; echo "exit=\${PIPESTATUS[0]}"`], { encoding: 'utf8' });
    expect(out.trim().split('\n')).toHaveLength(3);
    expect(out).toContain('exit=0');
    expect(readFileSync(join(dir, 'err'), 'utf8')).toBe('');
  });

  it('ends quietly when stderr goes to the same closed pipe (2>&1 | head): --stats and warnings after the reader left', () => {
    const runs = ['parse --stats fixtures/sample/harvester-upgrade.log', 'compile --target talos --platform talos --role worker'];
    for (const args of runs) {
      // several tries: the exit code depended on whether head had gone before stderr was written
      for (let i = 0; i < 3; i++) {
        const out = execFileSync('bash', ['-c', `node "${bin}" ${args} 2>&1 | head -n 1 >/dev/null; echo "exit=\${PIPESTATUS[0]}"`], { encoding: 'utf8' });
        expect(`${args}: ${out.trim()}`).toBe(`${args}: exit=0`);
      }
    }
  });
});

describe('fwdiag parse into a file (synchronous writes from the scanner memory)', () => {
  it('writes the same bytes to a file as to a pipe: events of several files, issues and skips in input order', () => {
    const dir = tempDir('fwdiag-parse-file-');
    const mixed = join(dir, 'mixed.log');
    const good = readFileSync(syslog, 'utf8').trim().split('\n');
    // scanner lines, JavaScript-only lines (odd layouts, issues) and non-netfilter lines, interleaved, many times
    const odd = [
      'Apr 22 10:00:00 node-1 kernel: BROKEN SRC=198.18.0.1 DST=198.18.0.2 PROTO=TCP',
      'Apr 22 10:00:00 node-1 systemd[1]: Started something.',
      'Apr 22 10:00:00 node-1 kernel: DROP IN=eth0 OUT= SRC=198.18.0.1 DST=198.18.0.2 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=1 PROTO=TCP SPT=1 DPT=2 WINDOW=1 RES=0x00 SYN URGP=0 OPT (020405B4) ',
    ];
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) lines.push(good[i % good.length] as string, ...(i % 7 === 0 ? odd : []));
    writeFileSync(mixed, `${lines.join('\n')}\n`);
    const args = ['parse', '--issues', mixed, kmsg];
    const toPipe = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, TZ: 'UTC' } });
    expect(toPipe.status).toBe(0);
    const out = join(dir, 'out.ndjson');
    execFileSync('sh', ['-c', `"${process.execPath}" "${bin}" ${args.map((a) => `"${a}"`).join(' ')} > "${out}"`], { env: { ...process.env, TZ: 'UTC' } });
    const toFile = readFileSync(out, 'utf8');
    expect(toFile.length).toBeGreaterThan(1_000_000);
    expect(toFile).toBe(toPipe.stdout);
    const recs = toFile.trim().split('\n').map((l) => JSON.parse(l) as { line?: number; issue?: string; file?: string });
    expect(recs.filter((r) => r.issue !== undefined).length).toBe(Math.ceil(3000 / 7));
    // per file, records come in line order
    const mixedLines = recs.filter((r) => r.file === mixed || r.issue !== undefined).map((r) => r.line ?? 0);
    expect([...mixedLines].sort((a, b) => a - b)).toEqual(mixedLines);
  });
});

describe('fwdiag parse from a pipe (stdin read on a thread, its buffers reused)', () => {
  it('prints the same bytes as from the file: plain, gzip, and a first chunk of one byte', () => {
    const dir = tempDir('fwdiag-pipe-');
    // ~9 MB: more than the 4 MiB read-ahead, so the reader waits for the parser and its buffers come round again
    const f = join(dir, 'big.log');
    writeFileSync(f, corpusText(36_000, 5));
    const gz = join(dir, 'big.log.gz');
    writeFileSync(gz, gzipSync(readFileSync(f)));
    const sh = (cmd: string) => execFileSync('bash', ['-c', `set -o pipefail; ${cmd}`], { encoding: 'utf8', maxBuffer: 256 << 20, env: { ...process.env, TZ: 'UTC' } });
    const node = `timeout 60 "${process.execPath}" "${bin}" parse --issues`;
    const fromFile = sh(`${node} "${f}"`);
    expect(fromFile.split('\n').length).toBeGreaterThan(30_000);
    expect(sh(`cat "${f}" | ${node}`)).toBe(fromFile);
    expect(sh(`cat "${gz}" | ${node}`)).toBe(fromFile);
    // the first byte alone (handed over after waiting), then the rest: the byte is kept while the next chunk is
    // read (to tell gzip), though that chunk's buffer goes back to the reading thread
    expect(sh(`(head -c 1 "${f}"; sleep 0.3; tail -c +2 "${f}") | ${node}`)).toBe(fromFile);
    expect(sh(`(head -c 1 "${gz}"; sleep 0.3; tail -c +2 "${gz}") | ${node}`)).toBe(fromFile);
    // the reader goes away: the reading thread ends with the input (it would keep the process alive); `timeout`
    // turns a hang into a failure (exit 124)
    for (const [cat, cmd] of [['cat', 'parse'], ['cat', 'analyze'], ['gzip -c', 'parse']] as const) {
      const out = sh(`${cat} "${f}" | timeout 30 "${process.execPath}" "${bin}" ${cmd} 2>"${dir}/err" | head -n 2; echo "exit=\${PIPESTATUS[1]}"`);
      expect(out.trim().split('\n'), `${cat} | ${cmd}`).toHaveLength(3);
      expect(out, `${cat} | ${cmd}`).toContain('exit=0');
      expect(readFileSync(join(dir, 'err'), 'utf8')).toBe('');
    }
  }, 120_000);
});
