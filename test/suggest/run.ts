/**
 * What the real-kernel suggest tests share: a policy compiled for a target, `fwdiag suggest` run in-process, and
 * verdict counts of kernel lines.
 */
import { compileTarget, parsePolicy, resolvePolicy } from '../../src/compile/index.js';
import type { CompileOutput, PolicyFragment, PolicyInput, Target } from '../../src/compile/index.js';
import { suggestCommand } from '../../src/cli/suggest.js';
import { memoryIO } from '../catalog/cli-io.js';
import { createParser } from '../../src/parse/parse-line.js';
import { createClassifier } from '../../src/classify/classifier.js';

/** `policy` (with `fragments`) parsed, resolved and compiled for `target`; the first stage's issues thrown. */
export function compilePolicy(policy: PolicyInput, target: Target, fragments: PolicyFragment[] = []): CompileOutput {
  const p = parsePolicy(policy);
  if (!p.ok) throw new Error(p.issues.join('; '));
  const r = resolvePolicy(p.value, fragments);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return compileTarget(r.value, target);
}

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
