/**
 * bin/fwdiag.js runs the bundle the build writes (src/build/bundle.ts): `fwdiag analyze` loads its own chunks from
 * dist/bin and nothing from dist/'s module tree or zod's ~95 files (counted with a module loader hook), and prints
 * what the unbundled CLI prints. Of zod's message locales the bundle carries English only, and zod's messages read
 * the same.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempCorpus } from './temp-corpus.js';

const root = new URL('../../', import.meta.url).pathname;
const corpus = tempCorpus('fwdiag-bundle-', 2000, 3);
let hooks = '';

beforeAll(() => {
  const dir = corpus.dir;
  // a loader hook that names every module it loads on stderr
  writeFileSync(join(dir, 'hooks.mjs'), `export async function load(url, context, next) { process.stderr.write('LOADED ' + url + '\\n'); return next(url, context); }\n`);
  hooks = join(dir, 'register.mjs');
  writeFileSync(hooks, `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${join(dir, 'hooks.mjs')}`)});\n`);
});

function analyze(entry: string) {
  const r = spawnSync(process.execPath, ['--import', hooks, entry, 'analyze', '--summary', corpus.file], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
  expect(r.status, r.stderr).toBe(0);
  const loaded = r.stderr.split('\n').filter((l) => l.startsWith(`LOADED file://${root}`)).map((l) => l.slice(`LOADED file://${root}`.length));
  return { stdout: r.stdout, loaded };
}

describe('the bin runs the bundled CLI', () => {
  it('loads its chunks from dist/bin only, and prints what dist/cli prints', () => {
    const bundled = analyze(join(root, 'bin/fwdiag.js'));
    expect(bundled.loaded.filter((p) => p !== 'bin/fwdiag.js' && !p.startsWith('dist/bin/'))).toEqual([]);
    expect(bundled.loaded.length).toBeLessThan(30);

    const entry = join(corpus.dir, 'unbundled.mjs');
    writeFileSync(entry, `import { main } from ${JSON.stringify(join(root, 'dist/cli/main.js'))};\nawait main(process.argv.slice(2));\n`);
    const unbundled = analyze(entry);
    // the module tree the bundle spares: dist/'s files and zod's
    expect(unbundled.loaded.filter((p) => p.startsWith('node_modules/zod/')).length).toBeGreaterThan(50);
    expect(bundled.stdout).toBe(unbundled.stdout);
    expect((JSON.parse(bundled.stdout) as { summary: { input: { lines: number } } }).summary.input.lines).toBe(2000);
  }, 60_000);

  it("carries zod's English locale only, and prints zod's messages as the unbundled CLI does", () => {
    const chunks = readdirSync(join(root, 'dist/bin')).filter((f) => f.endsWith('.js'));
    const locales = new Set<string>();
    for (const f of chunks) {
      for (const m of readFileSync(join(root, 'dist/bin', f), 'utf8').matchAll(/node_modules\/zod\/v4\/locales\/([\w-]+)\.js/g)) locales.add(m[1]!);
    }
    expect([...locales]).toEqual(['en']);
    // an invalid catalog: its errors are zod's issues, in fwdiag's words (catalog/issues.ts)
    const bad = join(corpus.dir, 'bad-catalog.yaml');
    writeFileSync(bad, 'platform: x\nentries:\n  - {proto: tcp, port: "abc", service: 1}\n');
    const entry = join(corpus.dir, 'unbundled-catalog.mjs');
    writeFileSync(entry, `import { main } from ${JSON.stringify(join(root, 'dist/cli/main.js'))};\nawait main(process.argv.slice(2));\n`);
    const run = (script: string) => spawnSync(process.execPath, [script, 'catalog', '--catalog', bad], { encoding: 'utf8' });
    const bundled = run(join(root, 'bin/fwdiag.js'));
    const unbundled = run(entry);
    expect(bundled.status).toBe(1);
    expect(bundled.stderr).toContain('entries.0.service: expected a string, not a number (1)');
    expect(bundled.stderr).toBe(unbundled.stderr);
  }, 60_000);
});
