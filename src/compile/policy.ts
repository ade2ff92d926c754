/**
 * The policy `fwdiag compile` reads (YAML/JSON, validated with zod), the fragment format `--extra` (and, later,
 * `fwdiag suggest --format policy`) uses, and the resolution of both against the role catalog into one ordered list
 * of abstract rules, in the structure of the Harvester seed: established/related, ICMP, pod CIDR, DHCP, the role's
 * catalog ports, extras, rate-limited LOG, DROP.
 */
import { z } from 'zod';
import { applicableRows, entriesFor, formatPortRange, loadBuiltinCatalog, opensByDefault } from '../catalog/index.js';
import type { Catalog, CatalogEntry } from '../catalog/index.js';
import { WORDED, issuesOf } from '../catalog/issues.js';
import { chainNameSchema, cidrSchema, interfaceNameSchema, logPrefixSchema, ruleCommentSchema as commentSchema } from '../catalog/schema.js';

/** iptables' --limit N/unit: at least 1, and at most 10000 a second (its scale: a faster rate is "too fast"). */
const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, sec: 1, second: 1, m: 60, min: 60, minute: 60, h: 3600, hour: 3600, d: 86400, day: 86400 };
const rateSchema = z
  .string()
  .regex(/^\d+\/(s|sec|second|m|min|minute|h|hour|d|day)$/, 'expected N/sec|min|hour|day')
  .refine((r) => {
    const [n = '', u = ''] = r.split('/');
    const v = Number(n);
    return v >= 1 && v <= 10000 * (UNIT_SECONDS[u] ?? 1);
  }, 'at least 1, and at most 10000/second (iptables rejects a faster rate)');
const portSchema = z.union([
  z.number().int().min(0).max(65535),
  z.string().regex(/^\d{1,5}(-\d{1,5})?$/, 'expected N or "A-B"').refine((s) => {
    const [a, b] = s.split('-').map(Number);
    return (a ?? 0) <= 65535 && (b ?? a ?? 0) <= 65535 && (a ?? 0) <= (b ?? a ?? 0);
  }, 'bad port range'),
]);

/** One extra ACCEPT rule. `sources` absent or empty: from anywhere. */
export const extraRuleSchema = z
  .object({
    proto: z.enum(['tcp', 'udp', 'sctp', 'icmp', 'icmpv6', 'esp', 'ipip']),
    /** ports or "a-b" ranges; required for tcp/udp/sctp, not allowed otherwise */
    ports: z.array(portSchema).min(1).max(64).optional(),
    sources: z.array(cidrSchema).max(256).optional(),
    /** only this IP family (a rule from anywhere that was needed over IPv4 or IPv6 alone); absent: both */
    family: z.union([z.literal(4), z.literal(6)]).optional(),
    /** icmp/icmpv6 only: these types (e.g. [8] for echo requests); absent: every type */
    icmpTypes: z.array(z.number().int().min(0).max(255)).min(1).max(32).optional(),
    /** tcp/udp/sctp only: the peer's port or "a-b" range (a DHCP server replies from 67); absent: any */
    sourcePort: portSchema.optional(),
    comment: commentSchema.optional(),
  })
  .strict()
  .refine((r) => (['tcp', 'udp', 'sctp'].includes(r.proto) ? r.ports !== undefined : r.ports === undefined), {
    message: 'ports are required for tcp/udp/sctp and not allowed for other protocols',
    path: ['ports'],
  })
  .refine((r) => r.sourcePort === undefined || ['tcp', 'udp', 'sctp'].includes(r.proto), {
    message: 'sourcePort is for tcp, udp and sctp only',
    path: ['sourcePort'],
  })
  .refine((r) => r.icmpTypes === undefined || r.proto === 'icmp' || r.proto === 'icmpv6', {
    message: 'icmpTypes are for icmp and icmpv6 only',
    path: ['icmpTypes'],
  })
  .refine((r) => r.family === undefined || (r.sources ?? []).every((s) => cidrFamily(s) === r.family), {
    message: 'sources of another family than `family`',
    path: ['family'],
  })
  .refine((r) => r.family === undefined || !((r.proto === 'icmp' && r.family === 6) || (r.proto === 'icmpv6' && r.family === 4)), {
    message: 'icmp is IPv4\'s, icmpv6 IPv6\'s',
    path: ['family'],
  })
  // the rule would be written in neither iptables family, and nft's `ip6 saddr … icmp type` matches no packet
  .refine((r) => (r.proto !== 'icmp' && r.proto !== 'icmpv6') || (r.sources ?? []).every((s) => cidrFamily(s) === (r.proto === 'icmp' ? 4 : 6)), {
    message: 'icmp is IPv4\'s, icmpv6 IPv6\'s: a source of the other family',
    path: ['sources'],
  });
export type ExtraRule = z.output<typeof extraRuleSchema>;

/**
 * A policy fragment: extra rules only. `fwdiag compile --extra FILE` merges it into the policy; `fwdiag suggest
 * --format policy` emits exactly this.
 */
export const fragmentSchema = z
  .object({
    extra: z.array(extraRuleSchema).max(1000),
    /** free text: who wrote the fragment and why (ignored by the compiler) */
    note: z.string().max(1000).optional(),
  })
  .strict();
export type PolicyFragment = z.output<typeof fragmentSchema>;

const logSchema = z
  .object({
    /** @default the platform's (HARVESTER_DROP_ …), else FWDIAG_DROP_ */
    prefix: logPrefixSchema,
    /** iptables --limit syntax: N/second|minute|hour|day (or /s /min /h /d). @default 10/min */
    rate: rateSchema.default('10/min'),
    /** syslog level 0-7. @default 4 */
    level: z.number().int().min(0).max(7).default(4),
    /**
     * Drop IPv4 broadcast and multicast without logging, just before the LOG rule: LAN chatter (NetBIOS, mDNS, SSDP…)
     * stays out of the log. It changes nothing about what is accepted — every ACCEPT comes before it, and the DROP
     * after the LOG would drop the same packets. IPv6 is left alone: its multicast carries neighbour discovery, whose
     * drops must stay visible. @default false
     */
    quietBroadcast: z.boolean().default(false),
  })
  .strict();

export const policySchema = z
  .object({
    platform: z.string().regex(/^[a-z0-9-]+$/),
    role: z.string().regex(/^[a-z0-9-]+$/),
    /** the chain (iptables) / chain name (nft). @default the platform's, else FWDIAG_INPUT */
    chain: chainNameSchema.optional(),
    /** interfaces whose INPUT traffic goes through the chain; [] = all. @default the platform's, else [] */
    interfaces: z.array(interfaceNameSchema).max(32).optional(),
    /** pod CIDR whose traffic is accepted; null: no such rule. @default the platform's */
    podCidr: cidrSchema.nullable().optional(),
    /** all cluster machines: cluster-scoped catalog ports are opened to it only. @default anywhere */
    clusterSubnet: cidrSchema.optional(),
    /** control-plane addresses: control-plane-scoped ports (etcd …) are opened to them only. @default clusterSubnet */
    controlPlane: z.array(cidrSchema).max(64).optional(),
    /** @default the platform's default CNI */
    cni: z.string().regex(/^[a-z0-9-]+$/).optional(),
    /** @default the platform's (Harvester: kubeovn-operator, rancher-monitoring), else none */
    addons: z.array(z.string().regex(/^[a-z0-9-]+$/)).optional(),
    /** @default true */
    established: z.boolean().default(true),
    /** @default true */
    icmp: z.boolean().default(true),
    /** @default true */
    dhcp: z.boolean().default(true),
    /**
     * true: the iptables targets also write ip6tables rules (the same chain, for IPv6 traffic); `auto`: when the
     * policy or a fragment names an IPv6 address. nft output (`inet`) and the ip6tables-restore target cover IPv6
     * either way. DHCPv6 is accepted where DHCP is, in every output that filters IPv6 — unless false (no IPv6 here).
     * @default auto
     */
    ipv6: z.union([z.boolean(), z.literal('auto')]).default('auto'),
    /** false: no LOG rule. @default {prefix: platform's, rate: 10/min, level: 4} */
    log: z.union([logSchema.partial({ prefix: true }), z.literal(false)]).optional(),
    extra: z.array(extraRuleSchema).max(1000).default([]),
  })
  .strict();
export type PolicyInput = z.input<typeof policySchema>;
export type Policy = z.output<typeof policySchema>;

export interface Range {
  from: number;
  to: number;
}

/** One rule of the compiled policy, target-neutral. Every rule ACCEPTs except `log` and `drop`. */
export interface PolicyRule {
  kind: 'loopback' | 'established' | 'icmp' | 'pod' | 'dhcp' | 'catalog' | 'extra' | 'quiet' | 'log' | 'drop';
  proto?: 'tcp' | 'udp' | 'sctp' | 'icmp' | 'icmpv6' | 'esp' | 'ipip';
  sport?: Range;
  dport?: Range;
  icmpTypes?: number[];
  /** [] = any source */
  sources: string[];
  /** only packets of this IP family (DHCP and DHCPv6); absent: both (or the family of the sources) */
  family?: 4 | 6;
  comment: string;
}

/** A policy with every default filled in, and its rules. */
export interface ResolvedPolicy {
  platform: string;
  role: string;
  chain: string;
  interfaces: string[];
  podCidr: string | null;
  clusterSubnet?: string;
  controlPlane: string[];
  cni?: string;
  addons: string[];
  log: { prefix: string; rate: string; level: number; quietBroadcast: boolean } | false;
  /** the iptables targets write ip6tables rules too (the policy's `ipv6`, `auto` resolved) */
  ipv6: boolean;
  rules: PolicyRule[];
  /** things the caller should tell the user (skipped catalog rows …) */
  warnings: string[];
}

export type Result<T> = { ok: true; value: T } | { ok: false; issues: string[] };

function issues(e: z.ZodError, what: string): string[] {
  return issuesOf(e).map((i) => `${what}: ${i.path.length > 0 ? `${i.path.map(String).join('.')}: ` : ''}${i.message}`);
}

/**
 * The ICMPv6 types every policy accepts when it accepts no ICMP as a whole (`icmp: false`): neighbour discovery (133
 * router solicitation to 136 neighbour advertisement) and MLD (130-132, 143) — RFC 4890 4.4.1, traffic that must not
 * be dropped. Redirect (137) is left out. `fwdiag suggest` proposes the same rule for such drops.
 */
export const ICMPV6_LINK_TYPES: readonly number[] = [130, 131, 132, 133, 134, 135, 136, 143];
/** What that rule admits, as its comment and suggest's service name say. */
export const ICMPV6_LINK_SERVICE = 'ICMPv6 neighbour discovery and MLD';

export function parsePolicy(raw: unknown): Result<Policy> {
  const r = policySchema.safeParse(raw, WORDED);
  return r.success ? { ok: true, value: r.data } : { ok: false, issues: issues(r.error, 'policy') };
}

export function parseFragment(raw: unknown, name = 'fragment'): Result<PolicyFragment> {
  const r = fragmentSchema.safeParse(raw, WORDED);
  return r.success ? { ok: true, value: r.data } : { ok: false, issues: issues(r.error, name) };
}

/** A port item (`68`, `"2379-2380"`) as a range. */
export const toRange = (p: number | string): Range => {
  if (typeof p === 'number') return { from: p, to: p };
  const [a, b] = p.split('-').map(Number);
  return { from: a ?? 0, to: b ?? a ?? 0 };
};

function sourcesFor(e: CatalogEntry, p: { clusterSubnet?: string; controlPlane: string[] }): string[] {
  if (e.scope === 'cluster-nodes') return p.clusterSubnet === undefined ? [] : [p.clusterSubnet];
  if (e.scope === 'control-plane-nodes') {
    if (p.controlPlane.length > 0) return p.controlPlane;
    return p.clusterSubnet === undefined ? [] : [p.clusterSubnet];
  }
  return [];
}

/**
 * Why a catalog platform cannot be compiled, if it cannot: `generic` is the table of well-known ports fwdiag names
 * services by — opening them all would be no node's policy.
 */
export function notAPolicy(platform: string): string | undefined {
  if (platform !== 'generic') return undefined;
  return 'platform "generic" is the table of well-known ports fwdiag names services by, not a policy (it would open all of them): compile for the node\'s platform (plain Kubernetes: kubeadm) and add ports with extra';
}

/**
 * Fills the defaults from the platform's catalog and lists the rules. Pure (the catalog is passed in).
 * Catalog rows that are loopback-only, outbound, or documented-but-not-default are not opened.
 */
export function resolvePolicy(policy: Policy, fragments: readonly PolicyFragment[] = [], catalog: Catalog = loadBuiltinCatalog()): Result<ResolvedPolicy> {
  const cat = catalog.platforms.get(policy.platform);
  if (cat === undefined) return { ok: false, issues: [`unknown platform "${policy.platform}" (known: ${[...catalog.platforms.keys()].sort().join(', ')})`] };
  const not = notAPolicy(policy.platform);
  if (not !== undefined) return { ok: false, issues: [not] };
  if (!cat.roles.some((r) => r.name === policy.role)) {
    return { ok: false, issues: [`unknown role "${policy.role}" for ${policy.platform} (roles: ${cat.roles.map((r) => r.name).join(', ')})`] };
  }
  const d = cat.policyDefaults;
  const cni = policy.cni ?? cat.defaultCni;
  const knownCnis = new Set([...cat.cnis, ...(catalog.platforms.get('cni')?.roles.map((r) => r.name) ?? [])]);
  if (cni !== undefined && !knownCnis.has(cni)) return { ok: false, issues: [`unknown CNI "${cni}"`] };
  const addons = policy.addons ?? d.addons ?? [];
  for (const a of addons) {
    if (!cat.addons.some((x) => x.name === a)) return { ok: false, issues: [`unknown addon "${a}" for ${policy.platform}`] };
  }
  const warnings: string[] = [];
  // the overlay's packets (VXLAN, BGP …) are NEW to conntrack where they arrive: without the CNI's rows the DROP takes them
  if (cni === undefined && cat.cnis.length === 0 && policy.platform !== 'cni') {
    const names = catalog.platforms.get('cni')?.roles.map((r) => r.name).join(', ') ?? '';
    warnings.push(`no cni: ${policy.platform} has no default CNI, so no CNI port (VXLAN, Geneve, BGP …) is opened and the CNI's traffic between nodes meets the DROP; set cni in the policy${names === '' ? '' : ` (${names})`}`);
  }
  const logIn = policy.log;
  const log = logIn === false
    ? false
    : { prefix: logIn?.prefix ?? d.logPrefix ?? 'FWDIAG_DROP_', rate: logIn?.rate ?? '10/min', level: logIn?.level ?? 4, quietBroadcast: logIn?.quietBroadcast ?? false };
  const podCidr = policy.podCidr === undefined ? (d.podCidr ?? null) : policy.podCidr;
  const scope = { ...(policy.clusterSubnet === undefined ? {} : { clusterSubnet: policy.clusterSubnet }), controlPlane: policy.controlPlane ?? [] };

  const extras = [...policy.extra, ...fragments.flatMap((f) => f.extra)];
  const named = [podCidr, policy.clusterSubnet, ...(policy.controlPlane ?? []), ...extras.flatMap((x) => x.sources ?? [])];
  const ipv6 = policy.ipv6 === 'auto'
    ? named.some((a) => a !== undefined && a !== null && cidrFamily(a) === 6) || extras.some((x) => x.family === 6)
    : policy.ipv6;

  const rules: PolicyRule[] = [];
  const interfaces = policy.interfaces ?? d.interfaces ?? [];
  // A chain on every interface sees the node's own traffic on lo too: kubelet's healthz, the loopback-only catalog
  // ports (kube-scheduler, k3s's 6444), local etcd and API calls. A chain bound to interfaces never sees lo.
  if (interfaces.length === 0) rules.push({ kind: 'loopback', sources: [], comment: 'Loopback: the node\'s own traffic' });
  if (policy.established) rules.push({ kind: 'established', sources: [], comment: 'Accept return traffic from established connections' });
  if (policy.icmp) rules.push({ kind: 'icmp', proto: 'icmp', sources: [], comment: 'ICMP (ping, MTU discovery, etc.)' });
  // IPv6 finds its neighbours (and routers) with ICMPv6: a host that drops it has no IPv6 at all. MLD (130-132, 143)
  // too: a host that never answers a switch's listener queries is pruned by MLD snooping from the multicast groups
  // neighbour solicitations go to (RFC 4890, 4.4.1: traffic that must not be dropped)
  else rules.push({ kind: 'icmp', proto: 'icmpv6', icmpTypes: [...ICMPV6_LINK_TYPES], sources: [], comment: `${ICMPV6_LINK_SERVICE} (IPv6 needs them)` });
  if (podCidr !== null) rules.push({ kind: 'pod', sources: [podCidr], comment: 'Allow pod network return traffic' });
  if (policy.dhcp) {
    rules.push({ kind: 'dhcp', proto: 'udp', sport: { from: 67, to: 67 }, dport: { from: 68, to: 68 }, sources: [], family: 4, comment: 'DHCP server reply' });
    rules.push({ kind: 'dhcp', proto: 'udp', sport: { from: 68, to: 68 }, dport: { from: 67, to: 67 }, sources: [], family: 4, comment: 'DHCP client request' });
    // family 6: in the outputs that filter IPv6 (nft's inet table, ip6tables rules); an IPv4-only output leaves them out
    if (policy.ipv6 !== false) {
      rules.push({ kind: 'dhcp', proto: 'udp', sport: { from: 547, to: 547 }, dport: { from: 546, to: 546 }, sources: [], family: 6, comment: 'DHCPv6 server reply' });
      rules.push({ kind: 'dhcp', proto: 'udp', sport: { from: 546, to: 546 }, dport: { from: 547, to: 547 }, sources: [], family: 6, comment: 'DHCPv6 client request' });
    }
  }
  const seen = new Set<string>();
  const opts = { catalog, addons, ...(cni === undefined ? {} : { cni }) };
  // icmp rows: already accepted as a whole by the ICMP rule
  const opened = entriesFor(policy.platform, policy.role, opts).filter((e) => opensByDefault(e) && !((e.proto === 'icmp' || e.proto === 'icmpv6') && policy.icmp));
  // where rows give a port two scopes the first decides (a --catalog file's rows come first), as suggest takes it
  const { rows: applicable, conflicts } = applicableRows(opened);
  for (const c of conflicts) {
    const what = c.over.port !== undefined || c.over.icmpTypes !== undefined ? `${c.over.proto} ${c.over.port === undefined ? 'type ' : ''}${c.ranges.map((r) => formatPortRange(r)).join(',')}` : c.over.proto;
    warnings.push(`catalog rows disagree on ${what} for ${policy.role}: "${c.used.service}" (${c.used.scope}, ${c.used.source}) is used, not "${c.over.service}" (${c.over.scope}, ${c.over.source}) — the first row decides, and a --catalog file's rows come before the platform's`);
  }
  for (const { entry: e, ranges, whole } of applicable) {
    const parts: Array<{ dport?: Range; icmpTypes?: number[] }> = e.port !== undefined
      ? ranges.map((r) => ({ dport: r }))
      : e.proto === 'icmp' || e.proto === 'icmpv6'
        ? ranges.length === 0 ? [] : [whole ? (e.icmpTypes === undefined ? {} : { icmpTypes: e.icmpTypes }) : { icmpTypes: ranges.flatMap((r) => Array.from({ length: r.to - r.from + 1 }, (_, i) => r.from + i)) }]
        : ranges.length === 0 ? [] : [{}];
    for (const part of parts) {
      const key = `${e.proto}/${part.dport?.from}-${part.dport?.to}/${e.sourcePort?.from}-${e.sourcePort?.to}/${part.icmpTypes?.join(',')}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const r: PolicyRule = { kind: 'catalog', proto: e.proto, sources: sourcesFor(e, scope), comment: e.service };
      if (part.dport !== undefined) r.dport = part.dport;
      if (e.sourcePort !== undefined) r.sport = e.sourcePort;
      if (part.icmpTypes !== undefined) r.icmpTypes = part.icmpTypes;
      rules.push(r);
    }
  }
  const widened = rules.filter((r) => r.kind === 'catalog' && r.sources.length === 0).length;
  const scoped = entriesFor(policy.platform, policy.role, opts).some((e) => e.defaultOpen && (e.scope === 'cluster-nodes' || e.scope === 'control-plane-nodes'));
  if (policy.clusterSubnet === undefined && widened > 0 && scoped) {
    warnings.push('no clusterSubnet: ports meant for cluster nodes / control-plane nodes are opened to any source (set clusterSubnet and controlPlane to narrow them)');
  }
  for (const x of extras) {
    const base: PolicyRule = {
      kind: 'extra', proto: x.proto, sources: x.sources ?? [], ...(x.family === undefined ? {} : { family: x.family }),
      ...(x.icmpTypes === undefined ? {} : { icmpTypes: [...x.icmpTypes] }),
      ...(x.sourcePort === undefined ? {} : { sport: toRange(x.sourcePort) }),
      comment: x.comment ?? `fwdiag extra ${x.proto}`,
    };
    // without a comment, each port's rule names its own port: the list of all (up to 64) broke nft's 128-byte limit
    if (x.ports === undefined) rules.push(base);
    else for (const p of x.ports) rules.push({ ...base, dport: toRange(p), comment: x.comment ?? `${base.comment} ${p}` });
  }
  if (log !== false && log.quietBroadcast) {
    rules.push({ kind: 'quiet', family: 4, sources: [], comment: 'Drop IPv4 broadcast and multicast unlogged (LAN chatter)' });
  }
  if (log !== false) rules.push({ kind: 'log', sources: [], comment: 'Rate-limit logging of dropped packets' });
  rules.push({ kind: 'drop', sources: [], comment: 'Drop all other traffic' });

  const value: ResolvedPolicy = {
    platform: policy.platform,
    role: policy.role,
    chain: policy.chain ?? d.chain ?? 'FWDIAG_INPUT',
    interfaces,
    podCidr,
    controlPlane: scope.controlPlane,
    addons,
    log,
    ipv6,
    rules,
    warnings,
  };
  if (policy.clusterSubnet !== undefined) value.clusterSubnet = policy.clusterSubnet;
  if (cni !== undefined) value.cni = cni;
  return { ok: true, value };
}

/** `10/min` → the nft spelling `10/minute`. */
export function nftRate(rate: string): string {
  const [n, u = ''] = rate.split('/');
  const unit = u.startsWith('s') ? 'second' : u.startsWith('m') ? 'minute' : u.startsWith('h') ? 'hour' : 'day';
  return `${n}/${unit}`;
}

/** Family of a source CIDR. */
export function cidrFamily(c: string): 4 | 6 {
  return c.includes(':') ? 6 : 4;
}
