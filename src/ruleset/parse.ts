/** Format detection: one entry point for every ruleset text fwdiag reads. Pure. */
import { parseIptablesSave } from './iptables-save.js';
import { parseNftJson } from './nft-json.js';
import type { Ruleset } from './model.js';

export type RulesetResult = { ok: true; value: Ruleset } | { ok: false; issues: string[] };

/** Ruleset texts larger than this are refused (a ruleset is read whole: it must fit in memory comfortably). */
export const MAX_RULESET_BYTES = 64 * 1024 * 1024;

/**
 * Reads `iptables-save`/`ip6tables-save` text or `nft -j list ruleset` JSON, detected from the text itself.
 * `nft list ruleset` (text, not JSON) is recognised and refused with a hint.
 */
export function parseRuleset(text: string, opts: { defaultFamily?: 'ip' | 'ip6' } = {}): RulesetResult {
  if (text.length > MAX_RULESET_BYTES) return { ok: false, issues: [`ruleset larger than ${MAX_RULESET_BYTES} bytes`] };
  const t = text.trimStart();
  if (t.startsWith('{')) return parseNftText(t);
  if (/^(table|flush ruleset|define|include)\b/m.test(t) && !/^\*\w+/m.test(t)) {
    return { ok: false, issues: ['this looks like `nft list ruleset` text: give fwdiag `nft -j list ruleset` (JSON) instead'] };
  }
  if (/^\*\w+\s*$/m.test(t) || /^-A \S+/m.test(t)) {
    return { ok: true, value: parseIptablesSave(text, opts.defaultFamily ?? 'ip') };
  }
  if (t === '') return { ok: false, issues: ['empty ruleset'] };
  return { ok: false, issues: ['neither iptables-save text nor nft -j JSON'] };
}

/**
 * `nft -j list ruleset` text. Tables named in `skip` (`family name`) are left out before parsing, so that their
 * expressions raise no warning (`--ruleset live` takes iptables-nft's tables from iptables-save instead).
 */
export function parseNftText(text: string, skip: ReadonlySet<string> = new Set()): RulesetResult {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { ok: false, issues: [`not valid JSON: ${(e as Error).message}`] };
  }
  const items = (doc as { nftables?: unknown } | null)?.nftables;
  if (Array.isArray(items) && skip.size > 0) {
    const kept = items.filter((it: unknown) => {
      if (typeof it !== 'object' || it === null) return true;
      const v = Object.values(it)[0] as { family?: unknown; table?: unknown; name?: unknown } | undefined;
      if (typeof v !== 'object' || v === null || typeof v.family !== 'string') return true;
      const table = 'table' in it ? v.name : v.table;
      return typeof table !== 'string' || !skip.has(`${v.family} ${table}`);
    });
    doc = { ...(doc as object), nftables: kept };
  }
  let rs: Ruleset;
  try {
    rs = parseNftJson(doc);
  } catch (e) {
    // expressions nested thousands deep (nothing nft writes) overflow the recursive reading: refused as bad input
    if (e instanceof RangeError) return { ok: false, issues: ['nft JSON nested too deeply to read'] };
    throw e;
  }
  if (rs.tables.length === 0 && rs.warnings[0]?.startsWith('not nft JSON')) return { ok: false, issues: rs.warnings };
  return { ok: true, value: rs };
}

/** Concatenates rulesets (e.g. iptables-save + ip6tables-save output of `--ruleset live`). */
export function mergeRulesets(parts: readonly Ruleset[]): Ruleset {
  const first = parts[0];
  return {
    format: first?.format ?? 'iptables-save',
    tables: parts.flatMap((p) => p.tables),
    warnings: parts.flatMap((p) => p.warnings),
  };
}
