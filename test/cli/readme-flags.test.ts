/**
 * The README documents every command and flag: each flag a command's --help lists (and the main usage's) is named in
 * README.md. A flag added to a command without a word in the README fails here. Examples that are whole files work.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, MAIN_USAGE } from '../../src/cli/main.js';
import { memoryIO } from '../catalog/cli-io.js';
import { parseCatalogText } from '../../src/catalog/index.js';

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

  // the README-wide check above passes for a flag some other command's section names (suggest's --cluster-subnet): the
  // live view's engine flags were missing from analyze's list
  it('analyze\'s flag list names every flag of fwdiag analyze --help (bar --help and --debug, which every command has)', async () => {
    const at = README.indexOf('### `fwdiag analyze');
    const list = /```\n([\s\S]*?)```/.exec(README.slice(at))?.[1] ?? '';
    expect(list).toMatch(/^Live view only:/m);
    const listed = (flag: string) => new RegExp(`${flag}(?![a-z0-9-])`).test(list);
    expect(flagsOf(await help('analyze')).filter((f) => f !== '--help' && f !== '--debug' && !listed(f))).toEqual([]);
  });

  it('each command has its README section', () => {
    for (const c of COMMANDS) expect(README).toContain(`### \`fwdiag ${c}`);
  });
});

describe('README examples that are whole files', () => {
  it('the --catalog example is a valid catalog, and `fwdiag catalog site` prints its row', async () => {
    const at = README.indexOf('`--catalog FILE` (YAML or JSON) extends a platform or adds one:');
    expect(at).toBeGreaterThan(0);
    const block = /```yaml\n([\s\S]*?)```/.exec(README.slice(at));
    expect(block).not.toBeNull();
    const text = block![1]!;
    const r = parseCatalogText(text, 'README');
    expect(r.ok ? [] : r.issues).toEqual([]);
    const dir = mkdtempSync(join(tmpdir(), 'fwdiag-readme-'));
    try {
      const file = join(dir, 'site.yaml');
      writeFileSync(file, text);
      const m = memoryIO();
      expect(await run(['catalog', 'site', '--catalog', file], m.io), m.err()).toBe(0);
      expect(m.out()).toContain('RKE2 supervisor API');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the policy schema\'s policy and fragment compile together (its fragment mixed keys of three protocols: family 6 with IPv4 sources, icmpTypes on tcp)', async () => {
    const at = README.indexOf('**Policy schema**');
    expect(at).toBeGreaterThan(0);
    const block = /```yaml\n([\s\S]*?)```/.exec(README.slice(at));
    expect(block).not.toBeNull();
    const [policy, fragment] = block![1]!.split('\n---\n');
    expect(fragment).toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'fwdiag-readme-'));
    try {
      // the policy's `extra: [ … ]` stands for the fragment's list
      const policyFile = join(dir, 'policy.yaml');
      writeFileSync(policyFile, policy!.replace(/^extra: \[ … \]$/m, 'extra: []'));
      const fragmentFile = join(dir, 'extra.yaml');
      writeFileSync(fragmentFile, fragment!);
      for (const target of ['nft', 'iptables']) {
        const m = memoryIO();
        expect(await run(['compile', '--target', target, '--policy', policyFile, '--extra', fragmentFile], m.io), m.err()).toBe(0);
        expect(m.out()).toContain('RKE2 supervisor API');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("compile --help's pointer to the policy schema names a README heading", async () => {
    const ref = /see README "([^"]+)"/.exec(await help('compile'));
    expect(ref).not.toBeNull();
    expect(README).toContain(`**${ref![1]}**`);
  });
});
