import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { corpusText } from '../../bench/corpus.mjs';

/**
 * A temporary folder for the calling test file, with `lines` bench-corpus lines (seeded) in `file`: written before
 * the file's tests (its beforeAll hooks registered later run after this one, and may add to `dir`), removed after.
 */
export function tempCorpus(prefix: string, lines: number, seed: number): { dir: string; file: string } {
  const t = { dir: '', file: '' };
  beforeAll(() => {
    t.dir = mkdtempSync(join(tmpdir(), prefix));
    t.file = join(t.dir, 'corpus.log');
    writeFileSync(t.file, corpusText(lines, seed));
  });
  afterAll(() => rmSync(t.dir, { recursive: true, force: true }));
  return t;
}

/**
 * Writes `file`: the first 40 drops of the bundled sample, each under a LOG prefix of its own (`DROP_R00_` …), so that
 * the first 32 prefixes are tallied by name and the other 8 as `(other prefixes)`.
 */
export function writeManyPrefixesLog(file: string): void {
  const sample = new URL('../../fixtures/sample/harvester-upgrade.log', import.meta.url);
  const drops = readFileSync(sample, 'utf8').trim().split('\n').filter((l) => l.includes('HARVESTER_DROP_')).slice(0, 40);
  writeFileSync(file, `${drops.map((l, i) => l.replace('HARVESTER_DROP_', `DROP_R${String(i).padStart(2, '0')}_`)).join('\n')}\n`);
}
