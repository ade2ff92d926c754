/** Human text for a trace. Pure: returns lines; the CLI writes them. Every ruleset/log-derived string is escaped. */
import { escapeControl } from '../output/escape.js';
import { endpoint } from '../parse/ipv6.js';
import type { RuleRef } from './model.js';
import type { TraceResult, TraceStep } from './trace.js';

/** Ruleset comments and log fields are hostile text: escaped like every other printed field. */
export const escapeText = escapeControl;

export function refLabel(r: RuleRef): string {
  return r.index === 0 ? `${r.family} ${r.table} ${r.chain} (policy)` : `${r.family} ${r.table} ${r.chain}#${r.index}`;
}

function stepLine(s: TraceStep): string {
  const indent = '  '.repeat(s.depth + 1);
  if (s.policy) return `${indent}${refLabel(s.ref)}: ${s.ref.text}`;
  let what: string;
  if (!s.matched) {
    // a rate limit under its rate, a quota not used up: assumed to match, so never why a rule did not
    const why = [...s.failed, ...s.assumed.filter((a) => !((a.match.kind === 'limit' && a.match.over !== true) || (a.match.kind === 'quota' && !a.match.over)))][0];
    what = `no match${why === undefined ? '' : `: ${why.why}`}`;
  } else {
    const parts: string[] = [];
    if (s.logPrefix !== undefined || s.action === 'log') parts.push(`LOG${s.logPrefix === undefined ? '' : ` ${JSON.stringify(s.logPrefix)}`}`);
    if (s.action !== 'log' && s.action !== 'none') parts.push(`${s.action.toUpperCase()}${s.target === undefined ? '' : ` ${s.target}`}`);
    what = parts.join(' + ') || 'match';
  }
  return `${indent}${refLabel(s.ref)}  ${escapeText(what)}  | ${escapeText(s.ref.text)}`;
}

/** Formats a trace. `verbose` lists every visited rule, else only the rules that matched. */
export function formatTrace(r: TraceResult, opts: { verbose?: boolean } = {}): string[] {
  const p = r.packet;
  const lines: string[] = [];
  const ports = p.dpt !== undefined ? `${endpoint(p.src ?? '?', p.spt ?? '?')} -> ${endpoint(p.dst ?? '?', p.dpt)}` : `${p.src ?? '?'} -> ${p.dst ?? '?'}`;
  const extra = [p.flags?.join(','), p.icmpType !== undefined ? `type ${p.icmpType}` : undefined].filter((x) => x !== undefined && x !== '');
  lines.push(escapeText(`packet   IPv${p.family} ${(p.proto ?? '?').toUpperCase()} ${ports} IN=${p.in} OUT=${p.out}${extra.length > 0 ? ` ${extra.join(' ')}` : ''}`));
  lines.push(`hooks    ${r.hooks.join(' -> ')}`);
  lines.push('path');
  let hidden = 0;
  for (const s of r.steps) {
    if (!opts.verbose && !s.matched) {
      hidden++;
      continue;
    }
    lines.push(stepLine(s));
  }
  if (hidden > 0) lines.push(`  (${hidden} rule${hidden === 1 ? '' : 's'} did not match; --verbose lists them)`);
  if (r.decidedBy !== undefined) {
    lines.push(`verdict  ${r.verdict.toUpperCase()} by ${refLabel(r.decidedBy.ref)}: ${escapeText(r.decidedBy.ref.text)}`);
  } else lines.push(`verdict  ${r.verdict.toUpperCase()}`);
  if (r.logRule !== undefined) {
    lines.push(`logged   by ${refLabel(r.logRule.ref)} (${r.logRule.reached ? 'reached by this trace' : 'NOT reached by this trace'})`);
  }
  if (r.nearMisses.length > 0) {
    lines.push('near misses (ACCEPT rules for this port that did not apply)');
    for (const n of r.nearMisses) {
      lines.push(`  ${refLabel(n.rule)}  | ${escapeText(n.rule.text)}`);
      for (const why of n.reasons) {
        lines.push(`    ${why.kind}: ${escapeText(why.detail)}${why.via === undefined ? '' : ` [${refLabel(why.via)}]`}`);
      }
    }
  } else if (r.verdict !== 'accept') lines.push('near misses: none (no ACCEPT rule in the traced chains names this port)');
  for (const n of r.notes) lines.push(`note     ${escapeText(n)}`);
  if (r.truncated) lines.push('note     the trace was cut short (see notes)');
  return lines;
}
