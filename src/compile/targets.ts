/**
 * The compile targets: a ResolvedPolicy → text. Pure. Each output is idempotent when applied as its header says:
 * the iptables commands clean up first (like the Harvester seed), the nft file deletes and recreates its own table,
 * the iptables-restore file recreates its chain (its INPUT hook line is guarded by the documented -D). With the
 * policy's `ipv6`, the iptables targets write ip6tables rules too (ip6tables-restore is a target of its own).
 */
import { stringify } from 'yaml';
import { cidrFamily, nftRate } from './policy.js';
import type { PolicyRule, Range, ResolvedPolicy } from './policy.js';

export const TARGETS = ['iptables', 'iptables-restore', 'ip6tables-restore', 'nft', 'talos', 'harvester-cloudinit'] as const;
export type Target = (typeof TARGETS)[number];

export interface CompileOutput {
  text: string;
  warnings: string[];
  /** set when the policy cannot be expressed in this target at all (then `text` is empty) */
  error?: string;
}

const PROTO_NUM: Record<string, string> = { esp: '50', ipip: '4' };
const range = (r: Range, sep: string) => (r.from === r.to ? String(r.from) : `${r.from}${sep}${r.to}`);

export type IpFamily = 4 | 6;

/** The iptables command of a family. */
export const iptablesCommand = (family: IpFamily): string => (family === 4 ? 'iptables' : 'ip6tables');

/**
 * `-A CHAIN …` argument lists for one rule in one IP family (iptables for 4, ip6tables for 6): one per source of
 * that family; none when the rule belongs to the other family (its sources, its ICMP flavour, DHCP/DHCPv6). The
 * policy's ICMP rule is ICMPv6 (`-p ipv6-icmp`) for 6. Exported for `fwdiag suggest`, which renders single rules
 * without a second generator.
 */
export function iptablesRuleArgs(p: ResolvedPolicy, r: PolicyRule, family: IpFamily = 4): string[] {
  if (r.family !== undefined && r.family !== family) return [];
  const own = r.sources.filter((s) => cidrFamily(s) === family);
  if (r.sources.length > 0 && own.length === 0) return [];
  const proto = r.kind === 'icmp' && family === 6 ? 'icmpv6' : r.proto;
  if ((proto === 'icmp' && family === 6) || (proto === 'icmpv6' && family === 4)) return [];
  const out: string[] = [];
  for (const src of own.length > 0 ? own : [undefined]) {
    const a: string[] = [];
    if (r.kind === 'loopback') a.push('-i lo');
    if (r.kind === 'established') a.push('-m conntrack --ctstate ESTABLISHED,RELATED');
    if (r.kind === 'quiet') a.push('-m addrtype --dst-type BROADCAST,MULTICAST');
    if (src !== undefined) a.push(`-s ${src}`);
    if (proto !== undefined) a.push(`-p ${proto === 'icmpv6' ? 'ipv6-icmp' : (PROTO_NUM[proto] ?? proto)}`);
    if (r.sport !== undefined) a.push(`--sport ${range(r.sport, ':')}`);
    if (r.dport !== undefined) a.push(`--dport ${range(r.dport, ':')}`);
    const tail =
      r.kind === 'log' && p.log !== false
        ? [`-m limit --limit ${p.log.rate}`, `-m comment --comment "${r.comment}"`, `-j LOG --log-prefix ${quotePrefix(p.log.prefix)} --log-level ${p.log.level}`]
        : [`-m comment --comment "${r.comment}"`, r.kind === 'drop' || r.kind === 'quiet' ? '-j DROP' : '-j ACCEPT'];
    // --icmp-type / --icmpv6-type take one type: one rule per type
    const typeOpt = family === 4 ? '--icmp-type' : '--icmpv6-type';
    for (const t of r.icmpTypes ?? [undefined]) out.push([...a, ...(t === undefined ? [] : [`${typeOpt} ${t}`]), ...tail].join(' '));
  }
  return out;
}

/** The families the iptables targets write for `p`. */
export const iptablesFamilies = (p: ResolvedPolicy): IpFamily[] => (p.ipv6 ? [4, 6] : [4]);

/** Without ip6tables output: one warning per rule whose IPv6 part is left out. */
function ipv6Skipped(p: ResolvedPolicy, warnings: string[]): void {
  if (p.ipv6) return;
  for (const r of p.rules) {
    if (r.kind === 'icmp' || r.kind === 'dhcp') continue;
    if (r.sources.some((s) => cidrFamily(s) === 6) || r.proto === 'icmpv6' || r.family === 6) {
      warnings.push(`iptables: the IPv6 part of "${r.comment}" is left out (set ipv6: true in the policy for ip6tables rules, or use the nft target)`);
    }
  }
}

/** The seed writes the prefix bare; a prefix with spaces or brackets needs quotes. */
function quotePrefix(prefix: string): string {
  return /^[A-Za-z0-9_:.-]+$/.test(prefix) ? prefix : `"${prefix}"`;
}

function hookArgs(p: ResolvedPolicy): string[] {
  return p.interfaces.length === 0 ? [`-j ${p.chain}`] : p.interfaces.map((i) => `-i ${i} -j ${p.chain}`);
}

/** What the output was compiled for — the policy's platform, role, CNI and addons, whatever the target — as every target's header names it. */
function title(p: ResolvedPolicy): string {
  return `# fwdiag compile: ${p.platform} ${p.role}${p.cni === undefined ? '' : ` (cni ${p.cni})`}${p.addons.length > 0 ? ` addons ${p.addons.join(',')}` : ''}`;
}

function header(p: ResolvedPolicy, how: string): string[] {
  return [title(p), `# ${how}`];
}

/**
 * The command lines, clean-up first, exactly in the Harvester seed's structure; with `ipv6`, the same for ip6tables
 * after them (the same chain name in the ip6 filter table).
 */
export function iptablesCommands(p: ResolvedPolicy, warnings: string[]): string[] {
  ipv6Skipped(p, warnings);
  const c = p.chain;
  const cmds: string[] = [];
  for (const fam of iptablesFamilies(p)) {
    const ipt = iptablesCommand(fam);
    cmds.push(
      ...hookArgs(p).map((h) => `${ipt} -D INPUT ${h} 2>/dev/null || true`),
      `${ipt} -F ${c} 2>/dev/null || true`,
      `${ipt} -X ${c} 2>/dev/null || true`,
      `${ipt} -N ${c}`,
      ...hookArgs(p).map((h) => `${ipt} -A INPUT ${h}`),
    );
    for (const r of p.rules) for (const a of iptablesRuleArgs(p, r, fam)) cmds.push(`${ipt} -A ${c} ${a}`);
  }
  return cmds;
}

export function compileIptables(p: ResolvedPolicy): CompileOutput {
  const warnings = [...p.warnings];
  const lines = ['#!/bin/sh', ...header(p, 'shell commands; safe to run again: the chain is removed and rebuilt first'), ...iptablesCommands(p, warnings)];
  return { text: `${lines.join('\n')}\n`, warnings };
}

/** An iptables-restore (family 4) or ip6tables-restore (6) file. */
export function compileIptablesRestore(p: ResolvedPolicy, family: IpFamily = 4): CompileOutput {
  const warnings = [...p.warnings];
  if (family === 4) {
    ipv6Skipped(p, warnings);
    if (p.ipv6) warnings.push('iptables-restore: IPv4 only; compile --target ip6tables-restore for the IPv6 half');
  }
  const c = p.chain;
  const ipt = iptablesCommand(family);
  const unhook = hookArgs(p).map((h) => `${ipt} -D INPUT ${h} 2>/dev/null`).join('; ');
  const lines = [
    ...header(p, `apply with: ${unhook}; ${ipt}-restore --noflush FILE`),
    `# --noflush keeps every other rule; the ${c} line below empties and refills this chain on every apply, and the`,
    `# -D first removes the INPUT hook a previous apply added (${ipt}-restore cannot add a rule only if missing).`,
    '*filter',
    `:${c} - [0:0]`,
    ...hookArgs(p).map((h) => `-A INPUT ${h}`),
  ];
  for (const r of p.rules) for (const a of iptablesRuleArgs(p, r, family)) lines.push(`-A ${c} ${a}`);
  lines.push('COMMIT');
  return { text: `${lines.join('\n')}\n`, warnings };
}

const LEVELS = ['emerg', 'alert', 'crit', 'err', 'warn', 'notice', 'info', 'debug'];

/** Interface names as an nft set's members (`"mgmt-br", "eth*"`: iptables' `+` wildcard is nft's `*`). */
export function nftInterfaceSet(interfaces: readonly string[]): string {
  return interfaces.map((i) => `"${i.replace(/\+$/, '*')}"`).join(', ');
}

function nftRules(p: ResolvedPolicy): string[] {
  const out: string[] = [];
  if (p.interfaces.length > 0) {
    out.push(`iifname != { ${nftInterfaceSet(p.interfaces)} } return comment "other interfaces: not this chain's business"`);
  }
  for (const r of p.rules) {
    const cm = ` comment "${r.comment}"`;
    if (r.kind === 'loopback') out.push(`iifname "lo" accept${cm}`);
    else if (r.kind === 'established') out.push(`ct state established,related accept${cm}`);
    else if (r.kind === 'icmp' && r.icmpTypes === undefined) out.push(`meta l4proto { icmp, ipv6-icmp } accept${cm}`);
    else if (r.kind === 'quiet') out.push(`meta nfproto ipv4 fib daddr type { broadcast, multicast } drop${cm}`);
    else if (r.kind === 'log' && p.log !== false) out.push(`limit rate ${nftRate(p.log.rate)} log prefix "${p.log.prefix}" level ${LEVELS[p.log.level]}${cm}`);
    else if (r.kind === 'drop') out.push(`drop${cm}`);
    else {
      const groups = new Map<4 | 6 | 0, string[]>();
      for (const s of r.sources) groups.set(cidrFamily(s), [...(groups.get(cidrFamily(s)) ?? []), s]);
      if (r.sources.length === 0) groups.set(0, []);
      for (const [fam, srcs] of groups) {
        const parts: string[] = [];
        if (fam !== 0) parts.push(`${fam === 4 ? 'ip' : 'ip6'} saddr ${srcs.length === 1 ? srcs[0] : `{ ${srcs.join(', ')} }`}`);
        else if (r.family !== undefined) parts.push(`meta nfproto ${r.family === 4 ? 'ipv4' : 'ipv6'}`);
        if (r.proto === 'tcp' || r.proto === 'udp' || r.proto === 'sctp') {
          if (r.sport !== undefined) parts.push(`${r.proto} sport ${range(r.sport, '-')}`);
          if (r.dport !== undefined) parts.push(`${r.proto} dport ${range(r.dport, '-')}`);
          if (r.sport === undefined && r.dport === undefined) parts.push(`meta l4proto ${r.proto}`);
        } else if (r.proto === 'icmp' || r.proto === 'icmpv6') {
          const kw = r.proto === 'icmp' ? 'icmp' : 'icmpv6';
          parts.push(r.icmpTypes === undefined ? `meta l4proto ${r.proto === 'icmp' ? 'icmp' : 'ipv6-icmp'}` : `${kw} type { ${r.icmpTypes.join(', ')} }`);
        } else if (r.proto !== undefined) parts.push(`meta l4proto ${PROTO_NUM[r.proto] ?? r.proto}`);
        out.push(`${parts.join(' ')} accept${cm}`);
      }
    }
  }
  return out;
}

/**
 * The nft rule text(s) for one rule of `p` (one per address family of its sources), without the table/chain around
 * it. For `fwdiag suggest`, which renders single rules with the compiler's own nft spelling.
 */
export function nftRuleLines(p: ResolvedPolicy, r: PolicyRule): string[] {
  return nftRules({ ...p, interfaces: [], rules: [r] });
}

/** An nft script: its own `inet` table, deleted and recreated atomically, so applying it twice changes nothing. */
export function compileNft(p: ResolvedPolicy, table = 'fwdiag'): CompileOutput {
  const lines = [
    '#!/usr/sbin/nft -f',
    ...header(p, `apply with: nft -f FILE (atomic; the table inet ${table} is deleted and recreated, other tables are untouched)`),
    `table inet ${table}`,
    `delete table inet ${table}`,
    `table inet ${table} {`,
    `\tchain ${p.chain} {`,
    '\t\ttype filter hook input priority filter; policy accept;',
    ...nftRules(p).map((r) => `\t\t${r}`),
    '\t}',
    '}',
  ];
  return { text: `${lines.join('\n')}\n`, warnings: [...p.warnings] };
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'rule';
}

/** Talos machine-config documents: NetworkDefaultActionConfig (block) + one NetworkRuleConfig per port rule. */
export function compileTalos(p: ResolvedPolicy): CompileOutput {
  const warnings = [...p.warnings];
  const docs: unknown[] = [{ apiVersion: 'v1alpha1', kind: 'NetworkDefaultActionConfig', ingress: 'block' }];
  if (p.interfaces.length > 0) warnings.push('talos: rules cannot be bound to interfaces; interfaces ignored');
  if (p.log !== false) warnings.push('talos: the ingress firewall has no LOG action; log settings ignored');
  const names = new Set<string>();
  for (const r of p.rules) {
    if (r.kind === 'loopback' || r.kind === 'established' || r.kind === 'icmp' || r.kind === 'quiet' || r.kind === 'log' || r.kind === 'drop') continue; // built into block mode, or not expressible
    // every protocol and port from the pod CIDR: no NetworkRuleConfig says that. Block mode admits traffic between the
    // pod/service subnets of the Talos machine config only, which need not be this policy's (an rke2 policy's 10.42.0.0/16)
    if (r.kind === 'pod') {
      warnings.push(`talos: "${r.comment}" (${r.sources.join(', ')}, any protocol) skipped: NetworkRuleConfig has tcp/udp ports only; block mode admits traffic between the cluster's pod/service subnets (cluster.network.podSubnets and serviceSubnets of the machine config), not from another pod CIDR`);
      continue;
    }
    if (r.kind === 'dhcp') continue;
    if (r.proto === 'icmp' || r.proto === 'icmpv6') {
      // the seed (Talos ingress firewall): block mode accepts ICMP and ICMPv6 itself, 5 packets/s
      warnings.push(`talos: "${r.comment}" (${r.proto}) skipped: Talos accepts ICMP and ICMPv6 itself at up to 5 packets/s; its drops on a Talos node are over that limit, which no NetworkRuleConfig raises`);
      continue;
    }
    if ((r.proto !== 'tcp' && r.proto !== 'udp') || r.dport === undefined) {
      warnings.push(`talos: "${r.comment}" (${r.proto ?? 'any'}) skipped: NetworkRuleConfig has tcp/udp ports only`);
      continue;
    }
    if (r.sport !== undefined) warnings.push(`talos: "${r.comment}": NetworkRuleConfig has no source port; the rule admits any (not only ${range(r.sport, '-')})`);
    let name = `${slug(r.comment)}-ingress`;
    for (let i = 2; names.has(name); i++) name = `${slug(r.comment)}-${i}-ingress`;
    names.add(name);
    const subnets = r.sources.length > 0 ? r.sources : r.family === 4 ? ['0.0.0.0/0'] : r.family === 6 ? ['::/0'] : ['0.0.0.0/0', '::/0'];
    docs.push({
      apiVersion: 'v1alpha1',
      kind: 'NetworkRuleConfig',
      name,
      portSelector: { ports: [r.dport.from === r.dport.to ? r.dport.from : `${r.dport.from}-${r.dport.to}`], protocol: r.proto },
      ingress: subnets.map((s) => ({ subnet: s.includes('/') ? s : `${s}/${cidrFamily(s) === 4 ? 32 : 128}` })),
    });
  }
  if (p.rules.some((r) => r.kind === 'dhcp')) warnings.push('talos: DHCP rules skipped (not part of the Talos recommended rules)');
  const text = `${title(p)} — machine-config patch documents; apply with talosctl (try --mode=try first)\n${docs.map((d) => stringify(d)).join('---\n')}`;
  return { text, warnings };
}

const SELECTORS: Record<string, Record<string, string>> = {
  'control-plane': { 'node-role.kubernetes.io/control-plane': 'true', 'node-role.kubernetes.io/etcd': 'true' },
  worker: { 'node-role.harvesterhci.io/worker': 'true' },
  witness: { 'node-role.harvesterhci.io/witness': 'true' },
};

/** Harvester CloudInit resource running the iptables commands at the boot stage, as in the seed. */
export function compileHarvesterCloudInit(p: ResolvedPolicy): CompileOutput {
  const warnings = [...p.warnings];
  const selector = SELECTORS[p.role];
  if (p.platform !== 'harvester' || selector === undefined) {
    return { text: '', warnings, error: `harvester-cloudinit needs platform harvester and a role of control-plane, worker or witness (got ${p.platform}/${p.role})` };
  }
  const contents = stringify({ stages: { boot: [{ name: `Apply iptables rules for ${p.role} node`, commands: iptablesCommands(p, warnings) }] } }, { lineWidth: 0 });
  const doc = {
    apiVersion: 'node.harvesterhci.io/v1beta1',
    kind: 'CloudInit',
    metadata: { name: `iptables-${p.role}` },
    spec: { matchSelector: selector, filename: `91-iptables-${p.role}`, contents, paused: false },
  };
  return { text: `${title(p)} — kubectl apply -f FILE, then reboot the nodes (or run the commands once by hand)\n${stringify(doc, { lineWidth: 0 })}`, warnings };
}

export function compileTarget(p: ResolvedPolicy, target: Target): CompileOutput {
  switch (target) {
    case 'iptables': return compileIptables(p);
    case 'iptables-restore': return compileIptablesRestore(p, 4);
    case 'ip6tables-restore': return compileIptablesRestore(p, 6);
    case 'nft': return compileNft(p);
    case 'talos': return compileTalos(p);
    case 'harvester-cloudinit': return compileHarvesterCloudInit(p);
  }
}
