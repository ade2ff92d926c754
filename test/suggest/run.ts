/** What the real-kernel suggest tests share: `fwdiag suggest` run in-process, and verdict counts of kernel lines. */
import { suggestCommand } from '../../src/cli/suggest.js';
import { memoryIO } from '../catalog/cli-io.js';
import { createParser } from '../../src/parse/parse-line.js';
import { createClassifier } from '../../src/classify/classifier.js';

/** `fwdiag suggest ARGS` with the real clock, stdout and stderr collected. */
export async function runSuggest(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const m = memoryIO('', Date.now);
  const code = await suggestCommand(args, m.io);
  return { code, out: m.out(), err: m.err() };
}

/** Verdict counts of kernel lines, classified as `analyze` would. */
export function verdicts(lines: string[]): Record<string, number> {
  const p = createParser();
  const c = createClassifier();
  const n: Record<string, number> = {};
  for (const l of lines) {
    const r = p.parseLine(l);
    if (r.kind !== 'event') continue;
    const v = c.classify(r.event);
    if (v.kind === 'drop') n[v.verdict] = (n[v.verdict] ?? 0) + 1;
  }
  return n;
}
