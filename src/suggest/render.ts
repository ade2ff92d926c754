/**
 * Suggestions → text: iptables insert commands, nft insert commands, Talos NetworkRuleConfig documents, command
 * lines for a Harvester CloudInit resource, a policy fragment `fwdiag compile --extra` reads unchanged, and the
 * human report. Pure. Rule spelling is the compiler's (src/compile/targets.ts): no second generator here.
 */
import { parseAllDocuments, stringify } from 'yaml';
import { cidrFamily, fragmentSchema, toRange } from '../compile/policy.js';
import type { ExtraRule, PolicyFragment, PolicyRule, ResolvedPolicy } from '../compile/policy.js';
import { compileTalos, iptablesCommand, iptablesRuleArgs, nftInterfaceSet, nftRuleLines } from '../compile/targets.js';
import type { IpFamily } from '../compile/targets.js';
import { escapeControl } from '../output/escape.js';
import { fitComment, loadBuiltinCatalog } from '../catalog/index.js';
import type { Catalog } from '../catalog/index.js';
import type { Suggestion, SuggestResult } from './suggest.js';

export const SUGGEST_FORMATS = ['human', 'iptables', 'nft', 'talos', 'harvester-cloudinit', 'policy'] as const;
export type SuggestFormat = (typeof SUGGEST_FORMATS)[number];

export interface RenderOutput {
  text: string;
  warnings: string[];
}

/** Characters the compiler's comment schema refuses (quotes, backslash, $, backtick, controls). */
const COMMENT_BAD = /["\\$`\u0000-\u001f\u007f-\u009f]/g;

/** The rule comment: `fwdiag suggest: <service or proto/ports>`, safe for iptables, nft and the fragment schema. */
export function commentFor(s: Suggestion): string {
  const what = s.service ?? `${s.proto}${s.ports.length === 0 ? '' : `/${s.ports.join(',')}`}`;
  const text = `fwdiag suggest: ${what}`.replace(COMMENT_BAD, '').replace(/\s+/g, ' ').trim();
  // the compiler's limits, in characters and in bytes (nft's 127): a multi-byte service name fits too
  return fitComment(text);
}

type RuleProto = NonNullable<PolicyRule['proto']>;
/** Protocols the compiler's rules (and the policy fragment) can express. */
export const RULE_PROTOS: ReadonlySet<string> = new Set(['tcp', 'udp', 'sctp', 'icmp', 'icmpv6', 'esp', 'ipip']);

/** The one IP family of a suggestion open to any source (its sources pin the family otherwise). */
function familyOnly(s: Suggestion): 4 | 6 | undefined {
  return s.sources.length === 0 && s.families.length === 1 ? s.families[0] : undefined;
}

/** The compiler's abstract rules for one ACCEPT suggestion: one per port item (as compile does for extras). */
export function policyRules(s: Suggestion): PolicyRule[] {
  if (s.action !== 'accept' || !RULE_PROTOS.has(s.proto)) return [];
  const base: PolicyRule = { kind: 'extra', proto: s.proto as RuleProto, sources: [...s.sources], comment: commentFor(s) };
  // from anywhere, but needed over one family only: the rule says which
  const family = familyOnly(s);
  if (family !== undefined) base.family = family;
  if (s.icmpTypes !== undefined) base.icmpTypes = [...s.icmpTypes];
  if (s.sourcePort !== undefined) base.sport = toRange(s.sourcePort);
  if (s.ports.length === 0) return [base];
  return s.ports.map((p) => ({ ...base, dport: toRange(p) }));
}


/** A ResolvedPolicy holding only `rules`: what the compiler's renderers need to spell single rules. */
function stubPolicy(s: Pick<Suggestion, 'chain' | 'role'>, platform: string, rules: PolicyRule[]): ResolvedPolicy {
  return { platform, role: s.role, chain: s.chain, interfaces: [], podCidr: null, controlPlane: [], addons: [], log: false, ipv6: true, rules, warnings: [] };
}

/**
 * The interfaces a platform's compiled chain is bound to (its policy defaults) in `catalog` — the catalog the
 * suggestions were made with, `--catalog` files included; the built-in one when none is given.
 */
export function platformInterfaces(platform: string, catalog?: Catalog): readonly string[] {
  try {
    return (catalog ?? loadBuiltinCatalog()).platforms.get(platform)?.policyDefaults.interfaces ?? [];
  } catch {
    // no catalog: no interfaces known
    return [];
  }
}

/** `iifname { "mgmt-br" } ` for a chain bound to interfaces, else ''. */
function interfaceGuard(ifaces: readonly string[]): string {
  return ifaces.length === 0 ? '' : `iifname { ${nftInterfaceSet(ifaces)} } `;
}

/** The IP family of a suggestion's table (`ip filter` → 4, `ip6 filter` → 6); undefined for inet, bridge or none. */
function tableFamily(table: string | undefined): IpFamily | undefined {
  const f = table?.split(' ')[0];
  return f === 'ip' ? 4 : f === 'ip6' ? 6 : undefined;
}

/**
 * `iptables -I CHAIN N …` / `ip6tables -I CHAIN N …` for one ACCEPT suggestion, one family after the other (see
 * Suggestion.families). N: before the chain's LOG/DROP when the traced ruleset is of that family, else 1 (the top,
 * which is before them too).
 */
export function renderIptablesInsert(s: Suggestion): string[] {
  const p = stubPolicy(s, '', []);
  const tf = tableFamily(s.table);
  return s.families.flatMap((fam) => {
    const at = tf === undefined || tf === fam ? (s.insertBefore ?? 1) : 1;
    return policyRules(s).flatMap((r) => iptablesRuleArgs(p, r, fam).map((a) => `${iptablesCommand(fam)} -I ${s.chain} ${at} ${a}`));
  });
}

function accepts(list: readonly Suggestion[]): Suggestion[] {
  return list.filter((s) => s.action === 'accept');
}

function iptablesText(list: readonly Suggestion[], platform: string, interfaces: readonly string[]): RenderOutput {
  const lines = ['#!/bin/sh', '# fwdiag suggest: ACCEPT rules inserted before the chain\'s LOG/DROP rule; review each one before running'];
  for (const s of accepts(list)) {
    lines.push(`# ${oneLine(s.reason)} [${s.confidence}]`);
    if (s.ruleSyntax === 'nft') {
      // iptables cannot reach a native nftables table: its rule is an nft command
      lines.push(`# (the traced chain ${s.chain} is in the native nftables table ${s.table ?? '?'}: an nft command)`);
      lines.push(...renderNftInsert(s, platform, interfaces));
      continue;
    }
    const tf = tableFamily(s.table);
    if (s.insertBefore === null) lines.push(`# (no place traced in a ruleset: inserted at the top of ${s.chain}, which is before its LOG/DROP)`);
    else if (tf !== undefined && s.families.some((f) => f !== tf)) {
      lines.push(`# (the ruleset traced is IPv${tf}'s: the IPv${tf === 4 ? 6 : 4} rule goes at the top of ${s.chain}, which is before its LOG/DROP)`);
    }
    lines.push(...renderIptablesInsert(s));
  }
  return { text: `${lines.join('\n')}\n`, warnings: [] };
}

/**
 * `nft insert rule TABLE CHAIN [handle N] '…'` for one ACCEPT suggestion: into the traced table before the rule with
 * handle N (Suggestion.insertHandle; else at the top of the chain, which is before its log/drop too), or into `table`
 * (the compiler's `inet fwdiag`) when no ruleset placed it. An ip / ip6 table (iptables-nft) holds one family: each
 * family's rule goes to its own table of that name. `interfaces`: the platform's chain interfaces
 * ({@link platformInterfaces}), which an untraced rule names itself.
 */
export function renderNftInsert(s: Suggestion, platform: string, interfaces: readonly string[], table = 'inet fwdiag'): string[] {
  const lines: string[] = [];
  const tf = tableFamily(s.table);
  const at = s.insertHandle === undefined ? '' : ` handle ${s.insertHandle}`;
  // Into the compiler's table, untraced: at the top of the chain, above its `iifname != { … } return` — so the rule
  // carries the platform's interfaces itself, or it would accept on every interface.
  const guard = s.table === undefined ? interfaceGuard(interfaces) : '';
  for (const r of policyRules(s)) {
    if (tf === undefined) {
      for (const t of nftRuleLines(stubPolicy(s, platform, [r]), r)) lines.push(`nft insert rule ${s.table ?? table} ${s.chain}${at} ${shellQuote(guard + t)}`);
      continue;
    }
    const name = s.table!.slice(s.table!.indexOf(' ') + 1);
    for (const fam of s.families) {
      const own: PolicyRule = { ...r, sources: r.sources.filter((x) => cidrFamily(x) === fam) };
      if (r.sources.length > 0 && own.sources.length === 0) continue;
      if (s.ruleSyntax === 'nft' && fam !== tf) {
        // a native ip / ip6 table is the operator's own: nothing says a table of that name exists for the other family
        lines.push(`# the IPv${fam} rule: no IPv${fam} table was traced; put it in the table that filters IPv${fam} input`);
        continue;
      }
      // the handle is the traced table's: in the other family's table of that name the rule goes at the top
      const here = fam === tf ? at : '';
      for (const t of nftRuleLines(stubPolicy(s, platform, [own]), own)) lines.push(`nft insert rule ${fam === 4 ? 'ip' : 'ip6'} ${name} ${s.chain}${here} ${shellQuote(t)}`);
    }
  }
  return lines;
}

/** The commands for one ACCEPT suggestion in its own syntax (Suggestion.ruleSyntax): what `rendered` holds. */
export function renderInsert(s: Suggestion, platform: string, interfaces: readonly string[]): string[] {
  return s.ruleSyntax === 'nft' ? renderNftInsert(s, platform, interfaces) : renderIptablesInsert(s);
}

/** nft insert commands; the table is the compiler's (`inet fwdiag`) unless the caller names another. */
function nftText(list: readonly Suggestion[], platform: string, interfaces: readonly string[], table: string): RenderOutput {
  const rules = accepts(list);
  const where = rules.every((s) => s.table !== undefined) ? 'the traced table' : `table ${table} unless a traced table is named`;
  const lines = ['#!/bin/sh', `# fwdiag suggest: nft rules inserted before their chain's log/drop (in ${where})`];
  for (const s of rules) {
    lines.push(`# ${oneLine(s.reason)} [${s.confidence}]`);
    lines.push(...renderNftInsert(s, platform, interfaces, table));
  }
  return { text: `${lines.join('\n')}\n`, warnings: [] };
}

/** nft reads the rule from one argument: single quotes keep its double-quoted comment intact. */
function shellQuote(t: string): string {
  return `'${t.replace(/'/g, `'\\''`)}'`;
}

function talosText(list: readonly Suggestion[], platform: string): RenderOutput {
  const rules = accepts(list);
  const warnings: string[] = [];
  const docs: string[] = [];
  const names = new Set<string>();
  for (const s of rules) {
    const out = compileTalos(stubPolicy(s, platform, policyRules(s)));
    warnings.push(...out.warnings);
    // the compiler's first document is the NetworkDefaultActionConfig: a suggestion adds rules, it does not set the default
    for (const d of parseAllDocuments(out.text)) {
      const v = d.toJS() as { kind?: string; name?: string } | null;
      if (v?.kind !== 'NetworkRuleConfig') continue;
      // names are unique per compile call; across suggestions they are made unique here
      const base = String(v.name ?? 'fwdiag-suggest-ingress').replace(/-ingress$/, '');
      let name = `${base}-ingress`;
      for (let i = 2; names.has(name); i++) name = `${base}-${i}-ingress`;
      names.add(name);
      v.name = name;
      docs.push(`# ${oneLine(s.reason)} [${s.confidence}]\n${stringify(v)}`);
    }
  }
  const head = '# fwdiag suggest: Talos NetworkRuleConfig documents (machine-config patches); apply with talosctl patch mc --mode=try first\n';
  return { text: `${head}${docs.join('---\n')}`, warnings: [...new Set(warnings)] };
}

function cloudInitText(list: readonly Suggestion[]): RenderOutput {
  const warnings: string[] = [];
  const byRole = new Map<string, Suggestion[]>();
  for (const s of accepts(list)) byRole.set(s.role, [...(byRole.get(s.role) ?? []), s]);
  const out: string[] = [];
  for (const [role, ss] of byRole) {
    const cmds: string[] = [];
    for (const s of ss) {
      const p = stubPolicy(s, 'harvester', []);
      for (const fam of s.families) {
        for (const r of policyRules(s)) for (const a of iptablesRuleArgs(p, r, fam)) cmds.push(`${iptablesCommand(fam)} -A ${s.chain} ${a}`);
      }
    }
    out.push(
      `# CloudInit iptables-${role}: add to spec.contents → stages.boot[0].commands, just before the "-j LOG" rule of the chain`,
      stringify(cmds, { lineWidth: 0 }).trimEnd(),
    );
  }
  return { text: `${out.join('\n')}\n`, warnings };
}

/**
 * The policy fragment for `role`'s ACCEPT suggestions, validated with the compiler's own schema. Suggestions for
 * other roles are left out and counted in `warnings` (a fragment belongs to one policy, i.e. one role).
 */
export function toFragment(list: readonly Suggestion[], role: string, note?: string): { fragment: PolicyFragment; warnings: string[] } {
  const warnings: string[] = [];
  const extra: ExtraRule[] = [];
  const other = new Set<string>();
  for (const s of accepts(list)) {
    if (!RULE_PROTOS.has(s.proto)) continue;
    if (s.role !== role) {
      other.add(s.role);
      continue;
    }
    // a port only an addon the policy leaves out needs: compile opens it once the addon is in the policy's addons —
    // an extra rule would open it while the addon stays off (the rule formats keep it: there it is the way to open it)
    if (s.addon !== undefined) {
      warnings.push(`${s.proto}/${s.ports.join(',')}: no extra rule — enable ${s.addon} in the policy's addons (compile then opens its ports)`);
      continue;
    }
    const raw: Record<string, unknown> = { proto: s.proto, comment: commentFor(s) };
    if (s.ports.length > 0) raw['ports'] = s.ports;
    if (s.sources.length > 0) raw['sources'] = s.sources;
    const family = familyOnly(s);
    if (family !== undefined) raw['family'] = family;
    if (s.icmpTypes !== undefined) raw['icmpTypes'] = s.icmpTypes;
    if (s.sourcePort !== undefined) raw['sourcePort'] = s.sourcePort;
    extra.push(raw as ExtraRule);
  }
  for (const r of other) warnings.push(`suggestions for role ${r} are not in this fragment (rerun with --role ${r})`);
  const r = fragmentSchema.safeParse({ extra, ...(note === undefined ? {} : { note }) });
  if (!r.success) throw new Error(`internal: suggested fragment does not validate: ${r.error.issues[0]?.message ?? ''}`);
  return { fragment: r.data, warnings };
}

function policyText(list: readonly Suggestion[], role: string): RenderOutput {
  const { fragment, warnings } = toFragment(list, role, `fwdiag suggest for role ${role}: review before use`);
  return { text: `# fwdiag policy fragment: fwdiag compile --extra FILE\n${stringify(fragment)}`, warnings };
}

function oneLine(s: string): string {
  return escapeControl(s).replace(/\s+/g, ' ');
}

export interface RenderOptions {
  platform: string;
  /** the role whose suggestions go into a `policy` fragment */
  role: string;
  /** nft table for `nft`. @default 'inet fwdiag' (the compiler's) */
  nftTable?: string;
  /** the catalog the suggestions were made with (its platform's interfaces). @default the built-in catalog */
  catalog?: Catalog;
}

/** One of the rule formats (everything but `human`). Notes are never rendered as rules. */
export function renderRules(list: readonly Suggestion[], format: Exclude<SuggestFormat, 'human'>, o: RenderOptions): RenderOutput {
  switch (format) {
    case 'iptables': return iptablesText(list, o.platform, platformInterfaces(o.platform, o.catalog));
    case 'nft': return nftText(list, o.platform, platformInterfaces(o.platform, o.catalog), o.nftTable ?? 'inet fwdiag');
    case 'talos': return talosText(list, o.platform);
    case 'harvester-cloudinit': return cloudInitText(list);
    case 'policy': return policyText(list, o.role);
  }
}

/** The human report: one block per suggestion, ACCEPTs first; every log-derived string escaped. */
export function formatHuman(r: SuggestResult, o: { platform: string; role: string }): string {
  const acc = r.suggestions.filter((s) => s.action === 'accept').length;
  const notes = r.suggestions.length - acc;
  const lines: string[] = [
    `fwdiag suggest: ${acc} ACCEPT suggestion${acc === 1 ? '' : 's'}, ${notes} note${notes === 1 ? '' : 's'} (${o.platform}, role ${o.role}); ` +
      `no ACCEPT from ${r.ignored.scan} scan, ${r.ignored['conntrack-loss']} conntrack-loss, ${r.ignored.undetermined} undetermined` +
      `${r.ignored.broadcast > 0 ? `, ${r.ignored.broadcast} broadcast` : ''} flow(s)`,
  ];
  if (r.ignored.broadcast > 0) {
    lines.push(`  broadcast: LAN broadcast and multicast chatter, harmless to drop. To keep it out of the log, drop it without logging just before the LOG rule ` +
      '(iptables -I CHAIN N -m addrtype --dst-type BROADCAST,MULTICAST -j DROP, N the LOG rule\'s position; IPv4 only: IPv6 multicast carries neighbour discovery, which must stay visible; ' +
      'fwdiag compile writes it with log.quietBroadcast: true)');
  }
  r.suggestions.forEach((s, i) => {
    // a NOTE's protocol is the log's own PROTO= text: escaped like every log-derived string
    const what = escapeControl(`${s.proto}${s.ports.length === 0 ? '' : ` ${s.ports.join(',')}`}${s.sourcePort === undefined ? '' : ` (source port ${s.sourcePort})`}`);
    const from = s.sources.length === 0 ? 'any source' : s.sources.join(', ');
    lines.push('');
    lines.push(s.action === 'accept'
      ? `${i + 1}. ACCEPT ${what} from ${escapeControl(from)} into ${s.chain}  [${s.confidence}] (role ${s.role})`
      : `${i + 1}. NOTE ${what} [${s.kind}] (role ${s.role})`);
    if (s.service !== null) lines.push(`   service:  ${escapeControl(s.service)}`);
    lines.push(`   why:      ${oneLine(s.reason)}`);
    for (const n of s.notes) lines.push(`             ${oneLine(n)}`);
    const e = s.evidence;
    const span = e.firstSeen === null ? '' : `, ${e.firstSeen} … ${e.lastSeen ?? '?'}`;
    const hosts = e.hosts.length === 0 ? '' : ` on ${escapeControl(e.hosts.join(', '))}`;
    const clients = `${escapeControl(e.clients.join(', '))}${e.clientsTotal > e.clients.length ? ` (+${e.clientsTotal - e.clients.length} more)` : ''}`;
    // a lost-state flow's drops come from its servers (the reason names them) to its clients; every other flow's
    // come from its clients
    const dir = s.kind === 'conntrack-loss' ? 'to' : 'from';
    lines.push(`   evidence: ${e.count} drop${e.count === 1 ? '' : 's'} in ${e.flows} flow${e.flows === 1 ? '' : 's'} ${dir} ${clients}${hosts}${span}`);
    for (const l of e.samples) lines.push(`     | ${escapeControl(l)}`);
    if (s.rendered !== '') for (const l of s.rendered.split('\n')) lines.push(`   rule:     ${l}`);
  });
  return `${lines.join('\n')}\n`;
}
