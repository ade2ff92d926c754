/**
 * Every command on hostile input, in process: lines mutated at random (test/fuzz/mutate.mjs: control characters, C1,
 * bidi overrides, long digit runs) plus stamps at the edges of what a time can be. Bad input is data: every command ends with 0,
 * says nothing on stderr but its counts and the lines it could not read, and prints no raw control character.
 * (A 22-digit journal stamp used to end every command with "Invalid time value".)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { makeLine, mulberry32 } from '../../bench/corpus.mjs';
import { memoryIO } from '../catalog/cli-io.js';
import { EDGE_LINES, mutator } from '../fuzz/mutate.mjs';

const root = new URL('../../', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'fwdiag-hostile-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function hostileLog(n: number, seed: number): string {
  const rnd = mulberry32(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)] as T;
  const fixture = (p: string): string[] => readFileSync(join(root, p), 'utf8').split('\n').filter(Boolean);
  const base = [...fixture('fixtures/kernel/kmsg.txt'), ...fixture('fixtures/kernel/syslog.txt'), ...fixture('fixtures/sample/harvester-upgrade.log')];
  for (let i = 0; i < 300; i++) base.push(makeLine(rnd, i) as string);
  const mutate = mutator(rnd);
  const lines: string[] = [...EDGE_LINES];
  for (let i = 0; i < n; i++) lines.push(rnd() < 0.8 ? mutate(pick(base)) : pick(base));
  return `${lines.join('\n')}\n`;
}

/** What a command may say on stderr about bad input: counts and the lines it could not read, nothing else. */
const EXPECTED_STDERR = /^fwdiag( \w+)?: (line \d+:|\d+ lines? could not|\d+ line\(s\) could not|\d+ flow\(s\)|.*\(\d+ not shown\))/;
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe('every command on hostile input', () => {
  const log = join(tmp, 'hostile.log');
  writeFileSync(log, hostileLog(3000, 7));
  const commands: string[][] = [
    ['parse', '--issues', log],
    ['analyze', '--json', log],
    ['analyze', log],
    ['report', '--format', 'json', log],
    ['report', '--format', 'md', log],
    ['suggest', '--json', '--platform', 'harvester', '--role', 'control-plane', log],
    ['suggest', '--platform', 'harvester', '--role', 'worker', log],
  ];
  it.each(commands.map((c) => [c.slice(0, -1).join(' '), c] as const))('%s', async (_, argv) => {
    const m = memoryIO('', () => Date.UTC(2024, 3, 23));
    expect(await run([...argv], m.io)).toBe(0);
    const odd = m.err().split('\n').filter((l) => l !== '' && !EXPECTED_STDERR.test(l));
    expect(odd).toEqual([]);
    const out = m.out();
    expect(out.length).toBeGreaterThan(0);
    if (argv.includes('--json') || argv[0] === 'parse' || argv.includes('json')) {
      for (const l of out.split('\n')) if (l !== '') expect(() => JSON.parse(l)).not.toThrow();
      // JSON escapes every control character, DEL, C1 and the line separators
      expect(out.replaceAll('\n', '')).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
    } else {
      expect(RAW_CONTROL.exec(out)?.[0]).toBeUndefined();
    }
    // the extreme stamps were read as events, with no time where none can be printed
    if (argv[0] === 'parse') {
      const first = JSON.parse(out.split('\n')[0] as string) as { time: string | null; envelope: string; src: string };
      expect(first).toMatchObject({ time: null, envelope: 'journal-json', src: '198.18.0.1' });
    }
  });
});

describe('error messages quote hostile text safely', () => {
  it('a file name or a flag value with a newline or an escape sequence: one line, escaped, the reason kept', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['parse', join(tmp, 'no\nsuch')], 1, /^fwdiag: cannot read .*no\\x0asuch: no such file\n$/],
      [['parse', join(tmp, '\u001b[31mred\u001b]0;title\u0007')], 1, /^fwdiag: cannot read .*\\x1b\[31mred\\x1b\]0;title\\x07: no such file\n$/],
      [['analyze', '--platform', 'x\u001b[2J\u009b1m'], 2, /^fwdiag: --platform: unknown platform "x\\x1b\[2J\\x9b1m" \(known: /],
      [['analyze', '--settle', '5\u202eq'], 2, /not a duration: "5\\u202eq"/],
    ];
    for (const [argv, code, msg] of cases) {
      const m = memoryIO();
      expect(await run(argv, m.io)).toBe(code);
      expect(m.err()).toMatch(msg);
      expect(m.err()).not.toMatch(RAW_CONTROL);
      expect(m.err().split('\n')[0]!.length).toBeLessThan(2100);
    }
  });
});
