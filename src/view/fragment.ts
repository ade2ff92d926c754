/**
 * The live view's `w` key: suggestions → a policy fragment (`{extra: [...]}`, the shape `fwdiag compile --extra`
 * reads, validated with the compiler's own schema) → YAML text. Pure; run-live does the file I/O.
 */
import { stringify } from 'yaml';
import { extraRuleSchema, fragmentSchema, type ExtraRule, type PolicyFragment } from '../compile/policy.js';
import type { ViewSuggestion } from './store.js';

/** Characters the compiler's comment schema refuses (quotes, backslash, $, backtick, controls). */
const COMMENT_BAD = /["\\$`\u0000-\u001f\u007f-\u009f]/g;
const MAX_COMMENT = 120;

export interface FragmentResult {
  fragment: PolicyFragment;
  /** suggestions the schema refused (e.g. an address that is not a CIDR), with why */
  skipped: { rendered: string; why: string }[];
  /**
   * suggestions whose fix is an addon to enable in the policy's addons (ViewSuggestion.addon): no rule is written for
   * them — an extra ACCEPT would open the port to the clients seen while the addon stays off; the note names the addons
   */
  addons: { addon: string; rendered: string }[];
}

/** Addon names listed in a sentence at most */
const MAX_ADDON_NAMES = 8;

/** `enable A, B in the policy's addons` for the addons of these suggestions (each once, in order). */
export function addonsSentence(addons: FragmentResult['addons']): string {
  const names = [...new Set(addons.map((a) => a.addon))];
  const more = names.length > MAX_ADDON_NAMES ? ` and ${names.length - MAX_ADDON_NAMES} more` : '';
  return `enable ${names.slice(0, MAX_ADDON_NAMES).join(', ')}${more} in the policy's addons`;
}

function commentFor(s: ViewSuggestion): string {
  const what = s.service !== undefined ? s.service : `${s.proto}/${s.ports.join(',')}`;
  const from = s.sources.length === 0 ? 'anywhere' : `${s.sources.length} source${s.sources.length === 1 ? '' : 's'}`;
  const text = `fwdiag live: ${what} from ${from}`.replace(COMMENT_BAD, '').replace(/\s+/g, ' ').trim();
  return text.length > MAX_COMMENT ? `${text.slice(0, MAX_COMMENT - 1)}…` : text;
}

/** Builds the fragment; each rule is validated on its own so one bad rule does not lose the rest. */
export function suggestionsToFragment(list: readonly ViewSuggestion[], nowMs: number): FragmentResult {
  const extra: ExtraRule[] = [];
  const skipped: FragmentResult['skipped'] = [];
  const addons: FragmentResult['addons'] = [];
  for (const s of list) {
    if (s.addon !== undefined) {
      addons.push({ addon: s.addon, rendered: s.rendered });
      continue;
    }
    const raw: Record<string, unknown> = { proto: s.proto, comment: commentFor(s) };
    // a portless protocol (ICMP) has no ports key: the schema refuses an empty list
    if (s.ports.length > 0) raw['ports'] = s.ports;
    if (s.sources.length > 0) raw['sources'] = s.sources;
    if (s.family !== undefined) raw['family'] = s.family;
    // as suggest's fragment: the rule is no wider than the suggestion (ICMP types, the peer's port)
    if (s.icmpTypes !== undefined) raw['icmpTypes'] = s.icmpTypes;
    if (s.sourcePort !== undefined) raw['sourcePort'] = s.sourcePort;
    const r = extraRuleSchema.safeParse(raw);
    if (r.success) extra.push(r.data);
    else skipped.push({ rendered: s.rendered, why: r.error.issues[0]?.message ?? 'invalid' });
  }
  const written = `written by the fwdiag live view at ${new Date(nowMs).toISOString()}: review before use`;
  const aside = addons.length === 0 ? '' : `; no rule for ${addons.length} port group${addons.length === 1 ? '' : 's'} an addon left out needs: ${addonsSentence(addons)} (compile then opens their ports)`;
  const fragment = fragmentSchema.parse({
    extra: extra.slice(0, 1000),
    // the schema's bound; an addon's name is a catalog's (a --catalog file's may be long)
    note: `${written}${aside}`.slice(0, 1000),
  });
  return { fragment, skipped, addons };
}

/** The fragment as YAML, with a header comment. */
export function fragmentYaml(f: PolicyFragment): string {
  return `# fwdiag policy fragment: merge with \`fwdiag compile --extra FILE\`\n${stringify(f)}`;
}

/** `fwdiag-extra-20260422T104719Z.yaml` */
export function fragmentFileName(nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `fwdiag-extra-${stamp}.yaml`;
}
