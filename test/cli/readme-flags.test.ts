/**
 * The README documents every command and flag: each flag a command's --help lists (and the main usage's) is named in
 * README.md. A flag added to a command without a word in the README fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { run, MAIN_USAGE } from '../../src/cli/main.js';
import { memoryIO } from '../catalog/cli-io.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const COMMANDS = ['parse', 'analyze', 'catalog', 'trace', 'suggest', 'report', 'compile'];

async function help(command: string): Promise<string> {
  const m = memoryIO();
  const code = await run([command, '--help'], m.io);
  expect(code, m.err()).toBe(0);
  return m.out();
}

/** the long flags a help text names, without duplicates */
const flagsOf = (text: string) => [...new Set(text.match(/--[a-z][a-z0-9-]*/g) ?? [])];
const inReadme = (flag: string) => new RegExp(`${flag}(?![a-z0-9-])`).test(README);

describe('README names every flag', () => {
  it.each(COMMANDS)('fwdiag %s --help', async (command) => {
    const flags = flagsOf(await help(command));
    expect(flags.length).toBeGreaterThan(1);
    expect(flags.filter((f) => !inReadme(f))).toEqual([]);
  });

  it('the main usage', () => {
    expect(flagsOf(MAIN_USAGE).filter((f) => !inReadme(f))).toEqual([]);
  });

  it('each command has its README section', () => {
    for (const c of COMMANDS) expect(README).toContain(`### \`fwdiag ${c}`);
  });
});
