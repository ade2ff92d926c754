import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
