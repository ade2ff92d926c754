/**
 * The suggestion engine: classified flows → the narrowest ACCEPT rules that would let the genuinely blocked traffic
 * through, each with an audit2allow-style explanation and its evidence. Pure and synchronous: the catalog and the
 * ruleset model are passed in, nothing is read or printed here.
 *
 * What never becomes an ACCEPT: scan flows (evidence of probing), conntrack-loss flows (the connection was allowed;
 * its state was lost), loopback-only catalog ports, and unknown ports unless `allowUnknown`.
 */
import { parseIp } from '../ruleset/addr.js';
import type { FlowSummary } from '../classify/classifier.js';
import type { DropEvent } from '../parse/event.js';
import { applicableEntry, lookupPort, normalizeProto, protoHasPorts } from '../catalog/index.js';
import type { Catalog, CatalogEntry, Scope } from '../catalog/index.js';
import { trace } from '../ruleset/trace.js';
import type { RuleRef, Ruleset, TraceResult } from '../ruleset/index.js';
import { cidrContains, collapseAddresses, isPrivateAddress, prefixLength } from './cidr.js';
import { RULE_PROTOS, platformInterfaces, renderInsert } from './render.js';
import { ICMPV6_LINK_SERVICE, ICMPV6_LINK_TYPES } from '../compile/policy.js';

/** A flow as the suggestion engine reads it: the classifier's summary plus what the read loop kept of it. */
export interface SuggestFlow extends FlowSummary {
  /** raw input lines of this flow (the classifier keeps none; the suggest command's read loop collects a few) */
  samples?: string[];
  /** one parsed event of the flow, to trace through a ruleset */
  event?: DropEvent;
}

export interface SuggestContext {
  catalog: Catalog;
  /** catalog platform (harvester, rke2, talos, …) */
  platform: string;
  /** the node role of every host not named in `hostRoles` */
  role: string;
  /** log host name → its role. @default none: every host has `role` */
  hostRoles?: ReadonlyMap<string, string>;
  /** the ruleset that logged the drops: near misses (shadowed, wrong interface …) become the reason. @default none */
  ruleset?: Ruleset;
  /** suggest ACCEPTs (low confidence) for ports no catalog names. @default false */
  allowUnknown?: boolean;
  /** sample lines kept per suggestion. @default 3 */
  sampleLines?: number;
  /** every cluster machine: cluster-scoped ports are opened to it. @default none: the observed clients */
  clusterSubnet?: string;
  /** control-plane addresses/CIDRs: control-plane-scoped ports are opened to them. @default none: the observed clients */
  controlPlane?: readonly string[];
  /** the chain rules go into when no ruleset says. @default the platform's policy default, else FWDIAG_INPUT */
  chain?: string;
  /**
   * the cluster's CNI: catalog rows of other CNIs are not this cluster's. @default the platform's default CNI; with
   * none (kubeadm), a CNI's rows are suggested at medium confidence, saying which CNI they need
   */
  cni?: string;
  /**
   * the addons the cluster runs, as a policy's `addons`: a row of another addon is not opened by compile, so it is no
   * missing service here either (kind `addon`). @default the platform's policy default (Harvester: kubeovn-operator,
   * rancher-monitoring), as compile's; none where the platform has none
   */
  addons?: readonly string[];
}

export type SuggestionAction = 'accept' | 'note';
export type Confidence = 'high' | 'medium' | 'low';

/**
 * Why a suggestion exists; stable, so callers branch on it, never on `reason`:
 * - `missing`: a catalog service of this role has no ACCEPT
 * - `shadowed`: an ACCEPT exists in the ruleset but the packet never reaches it (after the DROP)
 * - `near-miss`: an ACCEPT exists but does not apply (interface, source, conntrack state, unreachable chain)
 * - `other-role`: the catalog names the port for another role of the platform
 * - `addon`: the catalog names the port for this role in an addon the policy does not enable (`addons`)
 * - `generic`: only the generic well-known table names the port
 * - `unknown`: no catalog names the port
 * - `loopback`: the catalog says the port is loopback-only (never opened)
 * - `outside-scope`: every client is outside the catalog scope (cluster subnet / control-plane list)
 * - `already-accepted`: the given ruleset would accept the packet (another ruleset logged it)
 * - `egress`: dropped on output: not an INPUT rule
 * - `forward`: dropped while forwarded (routed or bridged through the node, IN= and OUT= both set): not an INPUT rule
 * - `conntrack-loss`: persistent lost-state drops: what to check, never a port to open
 * - `neighbour-discovery`: ICMPv6 neighbour discovery or MLD refused: IPv6 needs them; the rule every policy `fwdiag
 *   compile` writes has (compile/policy.ts ICMPV6_LINK_TYPES), whatever the catalog lists
 */
export type SuggestionKind =
  | 'missing' | 'shadowed' | 'near-miss' | 'other-role' | 'addon' | 'generic' | 'unknown' | 'loopback' | 'outside-scope'
  | 'already-accepted' | 'egress' | 'forward' | 'conntrack-loss' | 'no-source' | 'neighbour-discovery';

export interface Evidence {
  /** drops */
  count: number;
  flows: number;
  /** log hosts (empty when the lines carried none) */
  hosts: string[];
  /** client addresses, up to {@link MAX_EVIDENCE_CLIENTS} */
  clients: string[];
  clientsTotal: number;
  firstSeen: string | null;
  lastSeen: string | null;
  /** up to `sampleLines` raw lines */
  samples: string[];
}

export interface Suggestion {
  action: SuggestionAction;
  kind: SuggestionKind;
  /** lower-case: tcp, udp, sctp, icmp, esp, … */
  proto: string;
  /** numbers or "A-B" strings (adjacent ports merged); empty for portless protocols */
  ports: Array<number | string>;
  /** icmp/icmpv6: the types the catalog row names (e.g. [0, 8]): the rule accepts those only; absent: every type */
  icmpTypes?: number[];
  /** the peer's port (number or "A-B") when the catalog row fixes it (a DHCP server replies from 67): the rule
   * matches it too; absent: any source port */
  sourcePort?: number | string;
  /** CIDRs; empty = any source (only where the catalog says anywhere and the port is not sensitive) */
  sources: string[];
  /**
   * IP families the rule is for: those of its sources, else of the clients seen (4 before 6). The iptables format
   * writes an `ip6tables` command for 6.
   */
  families: Array<4 | 6>;
  service: string | null;
  role: string;
  chain: string;
  /** with a ruleset: the chain's table as `family name` (e.g. `ip filter`, `inet fwdiag`); absent without one */
  table?: string;
  /** with a ruleset: the rule number the ACCEPT goes before (the chain's LOG/DROP); null = insert at the top */
  insertBefore: number | null;
  /**
   * The commands that add the rule: `iptables` (iptables/ip6tables, for tables iptables manages, and without a
   * ruleset), or `nft` when the traced chain is in a native nftables table (an `inet` table, Talos, firewalld)
   */
  ruleSyntax: 'iptables' | 'nft';
  /** nft: the handle of the rule the ACCEPT goes before (`nft insert rule … handle N`), when the ruleset shows it */
  insertHandle?: number;
  confidence: Confidence;
  /**
   * The addon whose catalog row names this port for the role, when the policy's addons (`SuggestContext.addons`) leave
   * it out: the fix is enabling it, not this rule. Set for kind `addon`, and kept when a ruleset's story about the port
   * (`shadowed`, `near-miss`, …) becomes the kind; absent otherwise.
   */
  addon?: string;
  reason: string;
  /** further sentences: scope decisions, near misses, what to check */
  notes: string[];
  evidence: Evidence;
  /** the command(s) for an ACCEPT in {@link ruleSyntax}, '' for a note */
  rendered: string;
}

export interface SuggestResult {
  suggestions: Suggestion[];
  /** flows that produced nothing, by why */
  ignored: { scan: number; 'conntrack-loss': number; undetermined: number; broadcast: number };
}

/** Ports never opened to any source, whatever a catalog says: etcd, kubelet, the RKE2 supervisor. */
export const SENSITIVE_TCP: ReadonlyArray<{ from: number; to: number; name: string }> = [
  { from: 2379, to: 2381, name: 'etcd' },
  { from: 10250, to: 10250, name: 'kubelet' },
  { from: 9345, to: 9345, name: 'the RKE2 supervisor API' },
];
export const MAX_EVIDENCE_CLIENTS = 20;
/** sources per rule (the policy fragment schema allows 256) */
export const MAX_SOURCES = 256;
/** groups traced through the ruleset (each trace walks the whole ruleset) */
export const MAX_TRACES = 500;

interface PortInfo {
  kind: 'missing' | 'other-role' | 'addon' | 'generic' | 'unknown' | 'loopback' | 'neighbour-discovery';
  entry: CatalogEntry | undefined;
  /** merging key: ports with the same identity and adjacent numbers become one range */
  identity: string;
  /** rows for this port and role whose other scope is not used (the first row decides, as compile does) */
  overridden?: CatalogEntry[];
}

interface PortGroup {
  role: string;
  proto: string;
  port: number | null;
  flows: SuggestFlow[];
  info: PortInfo;
}

/** The cluster's CNI: the one given, else the platform's default (undefined when it has none). */
export function cniOf(ctx: Pick<SuggestContext, 'catalog' | 'platform' | 'cni'>): string | undefined {
  return ctx.cni ?? ctx.catalog.platforms.get(ctx.platform)?.defaultCni;
}

/** The cluster's addons: the ones given, else the platform's policy default, as compile resolves a policy's. */
export function addonsOf(ctx: Pick<SuggestContext, 'catalog' | 'platform' | 'addons'>): readonly string[] {
  return ctx.addons ?? ctx.catalog.platforms.get(ctx.platform)?.policyDefaults.addons ?? [];
}

/** The group of a role's refused ICMPv6 neighbour discovery and MLD (classify/verdict.ts ICMP_LINK): not a catalog row. */
const NEIGHBOUR_DISCOVERY: PortInfo = { kind: 'neighbour-discovery', entry: undefined, identity: 'nd' };

function lookupInfo(ctx: SuggestContext, role: string, proto: string, port: number | undefined): PortInfo {
  const inbound = (l: CatalogEntry[]) => l.filter((e) => e.direction === 'inbound');
  const cni = cniOf(ctx);
  // rows of another CNI than the cluster's are not this cluster's (Calico's VXLAN port on a Canal cluster); rows of an
  // addon the cluster does not run are not opened by compile (resolvePolicy filters by the same addons)
  const anyAddon = { catalog: ctx.catalog, ...(cni === undefined ? {} : { cni }) };
  const opts = { ...anyAddon, addons: addonsOf(ctx) };
  const own = inbound(lookupPort(ctx.platform, role, proto, port, opts));
  // the row compile opens for this port (the first: a --catalog file's rows come before the platform's); the scope is
  // part of the identity: a site row that narrows a port named as the platform's does not merge with its neighbours
  const open = applicableEntry(own);
  if (open !== undefined) {
    const overridden = own.filter((e) => e !== open && e.scope !== open.scope && e.scope !== 'loopback');
    return { kind: 'missing', entry: open, identity: `m|${open.service}|${open.scope}`, ...(overridden.length === 0 ? {} : { overridden }) };
  }
  if (own.length > 0) return { kind: 'loopback', entry: own[0], identity: `l|${own[0]?.service ?? ''}` };
  // this role's row in an addon the policy leaves out: the addon is what is missing, not an extra rule
  const offAddon = applicableEntry(inbound(lookupPort(ctx.platform, role, proto, port, anyAddon)));
  if (offAddon?.addon !== undefined) return { kind: 'addon', entry: offAddon, identity: `a|${offAddon.service}|${offAddon.scope}` };
  // another role's port is that story first, whether or not its addon is enabled (the node's role is the question)
  const anyRole = inbound(lookupPort(ctx.platform, undefined, proto, port, anyAddon));
  const other = applicableEntry(anyRole);
  if (other !== undefined) return { kind: 'other-role', entry: other, identity: `o|${other.service}|${other.scope}` };
  // loopback-only for another role of the platform, or in the generic table: never opened, not even as "unknown"
  const loopback = (l: CatalogEntry[]) => l.find((e) => e.scope === 'loopback');
  const otherLoopback = loopback(anyRole);
  if (otherLoopback !== undefined) return { kind: 'loopback', entry: otherLoopback, identity: `l|${otherLoopback.service}` };
  const genericAll = ctx.platform === 'generic' ? [] : inbound(lookupPort('generic', undefined, proto, port, opts));
  const generic = genericAll.find((e) => e.scope !== 'loopback');
  if (generic !== undefined) return { kind: 'generic', entry: generic, identity: `g|${generic.service}` };
  const genericLoopback = loopback(genericAll);
  if (genericLoopback !== undefined) return { kind: 'loopback', entry: genericLoopback, identity: `l|${genericLoopback.service}` };
  return { kind: 'unknown', entry: undefined, identity: 'u' };
}

function sensitiveName(proto: string, from: number, to: number): string | undefined {
  if (proto !== 'tcp') return undefined;
  return SENSITIVE_TCP.find((s) => from <= s.to && to >= s.from)?.name;
}

function portItem(from: number, to: number): number | string {
  return from === to ? from : `${from}-${to}`;
}

function portsText(ports: Array<number | string>): string {
  return ports.map(String).join(',');
}

function defaultChain(ctx: SuggestContext): string {
  return ctx.chain ?? ctx.catalog.platforms.get(ctx.platform)?.policyDefaults.chain ?? 'FWDIAG_INPUT';
}

/** The IP families of addresses or CIDRs, 4 before 6; [4] for none. */
export function familiesOf(addrs: readonly string[]): Array<4 | 6> {
  let v4 = false;
  let v6 = false;
  for (const a of addrs) {
    if (a.includes(':')) v6 = true;
    else v4 = true;
  }
  return v6 ? (v4 ? [4, 6] : [6]) : [4];
}

/**
 * How sources are chosen: the catalog scope is the ceiling, the observed clients the floor. `offNet`: clients that are
 * no node by their addresses (public, refused at a private address of the node); when neither --cluster-subnet nor
 * --control-plane says who the nodes are, they are outside a cluster- or control-plane-scoped port's scope
 * (`offNet: true` in the answer when they are who `outside` holds).
 */
function chooseSources(
  ctx: SuggestContext, scope: Scope | undefined, sensitive: string | undefined, clients: string[], offNet: ReadonlySet<string>,
): { sources: string[]; notes: string[]; outside: string[]; offNet?: true } {
  const notes: string[] = [];
  const observed = (list: string[]) => {
    let s = collapseAddresses(list);
    if (s.length > MAX_SOURCES) {
      notes.push(`only the first ${MAX_SOURCES} of ${s.length} source prefixes are listed`);
      s = s.slice(0, MAX_SOURCES);
    }
    return s;
  };
  // a cluster subnet of /0 is "anywhere" in disguise: never for sensitive ports
  const subnet = ctx.clusterSubnet !== undefined && !(sensitive !== undefined && prefixLength(ctx.clusterSubnet) === 0) ? ctx.clusterSubnet : undefined;
  const inSubnet = (c: string) => subnet === undefined || cidrContains(subnet, c);
  const cp = (ctx.controlPlane ?? []).filter((c) => !(sensitive !== undefined && prefixLength(c) === 0));
  const inCp = (c: string) => cp.some((x) => cidrContains(x, c));
  if (scope === 'anywhere') {
    if (sensitive === undefined) {
      notes.push('the catalog allows any source for this port');
      return { sources: [], notes, outside: [] };
    }
    notes.push(`the catalog allows any source, but fwdiag never opens ${sensitive} to 0.0.0.0/0: only the observed clients`);
    return { sources: observed(clients), notes, outside: [] };
  }
  /**
   * The clients `isNode` admits get `open(them)` and `note`; the others are `outside`. None admitted: no source.
   * `byAddress`: the ones left out are so by their addresses (`offNet`), not by a flag's list of nodes.
   */
  const admit = (isNode: (c: string) => boolean, open: (inside: string[]) => string[], note: string, byAddress: boolean) => {
    const inside = clients.filter(isNode);
    const outside = clients.filter((c) => !isNode(c));
    const off = byAddress && outside.length > 0 ? { offNet: true as const } : {};
    if (inside.length === 0) return { sources: [], notes, outside, ...off };
    notes.push(note);
    return { sources: open(inside), notes, outside, ...off };
  };
  if (scope === 'cluster-nodes') {
    if (subnet !== undefined) return admit(inSubnet, () => [subnet], `cluster nodes: opened to the cluster subnet ${subnet}`, false);
    // a control-plane node named by --control-plane is a cluster node, whatever its address
    return admit((c) => !offNet.has(c) || inCp(c), observed, 'cluster nodes: only the observed clients (give --cluster-subnet to open it to every node)', true);
  }
  if (scope === 'control-plane-nodes') {
    if (cp.length > 0) return admit(inCp, () => [...cp], `control-plane nodes: opened to the control-plane addresses ${cp.join(', ')}`, false);
    // control-plane nodes are cluster nodes: within --cluster-subnet, else no node by their addresses
    return admit(subnet !== undefined ? inSubnet : (c) => !offNet.has(c), observed,
      'control-plane nodes: only the observed clients (give --control-plane to name every control-plane node)', subnet === undefined);
  }
  // unknown port (or no scope): the observed clients only
  return { sources: observed(clients), notes, outside: [] };
}

function evidenceOf(flows: SuggestFlow[], sampleLines: number): Evidence {
  const hosts = new Set<string>();
  const clients = new Set<string>();
  let count = 0;
  let first: string | null = null;
  let last: string | null = null;
  for (const f of flows) {
    count += f.count;
    if (f.host !== null) hosts.add(f.host);
    clients.add(f.client);
    if (f.firstSeen !== null && (first === null || f.firstSeen < first)) first = f.firstSeen;
    if (f.lastSeen !== null && (last === null || f.lastSeen > last)) last = f.lastSeen;
  }
  const samples: string[] = [];
  // busiest flows first, one line each round, so the samples show several clients when there are several
  const byCount = [...flows].sort((a, b) => b.count - a.count);
  for (let round = 0; samples.length < sampleLines && round < sampleLines; round++) {
    for (const f of byCount) {
      const s = f.samples?.[round];
      if (s !== undefined && samples.length < sampleLines) samples.push(s);
    }
  }
  const clientList = [...clients].sort(compareAddr);
  return {
    count, flows: flows.length, hosts: [...hosts].sort(), clients: clientList.slice(0, MAX_EVIDENCE_CLIENTS),
    clientsTotal: clientList.length, firstSeen: first, lastSeen: last, samples,
  };
}

/**
 * Numeric-aware ordering (`10.0.0.9` before `10.0.0.10`). One collator made once: `localeCompare` with options
 * builds or looks up an ICU collator on every call (a sort of thousands of addresses spent most of its time there).
 */
const NUMERIC = new Intl.Collator('en', { numeric: true }).compare;

function compareAddr(a: string, b: string): number {
  return collapseOrder(a) - collapseOrder(b) || NUMERIC(a, b);
}
function collapseOrder(a: string): number {
  return a.includes(':') ? 1 : 0;
}

/** Sentences from a trace: the near misses in audit2allow's words. */
function traceSentences(t: TraceResult): { kind: 'shadowed' | 'near-miss' | 'already-accepted' | undefined; reason?: string; notes: string[] } {
  if (t.verdict === 'accept') {
    return {
      kind: 'already-accepted',
      reason: 'the given ruleset already accepts this packet (the trace ends in ACCEPT): the drops were logged by another ruleset, or under a rate limit or conntrack state the log line cannot show',
      notes: [],
    };
  }
  const notes: string[] = [];
  let kind: 'shadowed' | 'near-miss' | undefined;
  let reason: string | undefined;
  const d = t.decidedBy?.ref;
  const by = d === undefined ? 'the chain policy' : d.index === 0 ? `the ${d.chain} policy (${t.decidedBy?.action === 'policy-drop' ? 'DROP' : 'ACCEPT'})` : `the ${(t.decidedBy?.action ?? 'drop').toUpperCase()} at rule ${d.index}${d.chain === undefined ? '' : ` of chain ${d.chain}`}`;
  for (const nm of t.nearMisses) {
    const what = `rule ${nm.rule.index} of chain ${nm.rule.chain}${nm.comment === undefined ? '' : ` ("${nm.comment}")`}`;
    const shadowed = nm.reasons.find((r) => r.kind === 'shadowed');
    if (shadowed !== undefined) {
      const s = `already allowed by ${what} but shadowed by ${by}: move that rule before it (or add the rule below)`;
      if (kind !== 'shadowed') {
        kind = 'shadowed';
        reason = s;
      } else notes.push(s);
      continue;
    }
    const why = nm.reasons.map((r) => r.detail).join('; ');
    const s = `allowed by ${what}, which does not apply: ${why}`;
    if (kind === undefined) {
      kind = 'near-miss';
      reason = s;
    } else notes.push(s);
  }
  return reason === undefined ? { kind, notes } : { kind, reason, notes };
}

/**
 * Where in the chain the ACCEPT must go: before the first LOG or DROP/REJECT the traced packet met there. When the
 * chain's DROP policy decided, before the LOG the packet met in that chain, else at its end (just before the policy).
 */
function insertionPoint(t: TraceResult, rs: Ruleset): { chain: string; table: string; before: number } | undefined {
  const d = t.decidedBy;
  if (d === undefined) return undefined;
  const chain = d.ref.chain;
  // the same chain: its name in the same table (a host can hold an iptables `INPUT` in several tables)
  const same = (r: RuleRef) => r.chain === chain && r.table === d.ref.table && r.family === d.ref.family;
  let before = d.ref.index;
  if (d.policy) {
    const rules = rs.tables.find((x) => x.family === d.ref.family && x.name === d.ref.table)?.chains.find((c) => c.name === chain)?.rules;
    if (rules === undefined) return undefined;
    before = rules.length + 1;
  }
  for (const s of t.steps) {
    if (same(s.ref) && s.matched && !s.policy && s.action === 'log' && s.ref.index < before) before = s.ref.index;
  }
  if (t.logRule?.reached === true && same(t.logRule.ref) && t.logRule.ref.index < before) before = t.logRule.ref.index;
  return { chain, table: `${d.ref.family} ${d.ref.table}`, before };
}

/**
 * When the trace was decided in a native nftables table (see Table.native): the handle of the rule number `before` of
 * the deciding chain, which an `nft insert rule … handle N` puts the ACCEPT in front of. Undefined for a table
 * iptables manages.
 */
function nativeAt(rs: Ruleset, t: TraceResult, before: number): { handle: number | undefined } | undefined {
  const ref = t.decidedBy?.ref;
  if (ref === undefined) return undefined;
  const table = rs.tables.find((x) => x.family === ref.family && x.name === ref.table);
  if (table?.native !== true) return undefined;
  return { handle: table.chains.find((c) => c.name === ref.chain)?.rules[before - 1]?.handle };
}

/** Suggestions for a set of classified flows. */
export function suggest(flows: readonly SuggestFlow[], ctx: SuggestContext): SuggestResult {
  const sampleLines = ctx.sampleLines ?? 3;
  const ignored = { scan: 0, 'conntrack-loss': 0, undetermined: 0, broadcast: 0 };
  const groups = new Map<string, PortGroup>();
  const ctGroups = new Map<string, { role: string; proto: string; port: number | null; flows: SuggestFlow[] }>();
  /**
   * drops no INPUT rule would admit, by chain: dropped on output (no IN=), or forwarded through the node (IN= and
   * OUT= both set: addressed to another host)
   */
  const notInput = new Map<string, { chain: 'OUTPUT' | 'FORWARD'; role: string; proto: string; port: number | null; flows: SuggestFlow[] }>();
  const infoCache = new Map<string, PortInfo>();

  for (const f of flows) {
    const role = (f.host !== null ? ctx.hostRoles?.get(f.host) : undefined) ?? ctx.role;
    if (f.verdict === 'scan') {
      ignored.scan++;
      continue;
    }
    if (f.verdict === 'undetermined') {
      ignored.undetermined++;
      continue;
    }
    if (f.verdict === 'broadcast') {
      // LAN chatter to a port no catalog names: nothing to open
      ignored.broadcast++;
      continue;
    }
    if (f.verdict === 'conntrack-loss') {
      ignored['conntrack-loss']++;
      if (!f.persistent) continue;
      // a port's flows have one name unless some servers are this node and some remote (classify/verdict.ts judge):
      // those are two stories (this node's HTTPS, a remote HTTPS server), one note each, each with its name. So are
      // ICMP's lost echo replies ("ICMP echo") and its errors about our own packets (no name): separate flows
      // (verdict.ts ICMP_ERROR), one note each — errors are never named after echo
      const k = `${role}|${f.proto}|${f.serverPort ?? ''}|${f.service ?? ''}`;
      const g = ctGroups.get(k) ?? { role, proto: f.proto, port: f.serverPort, flows: [] };
      g.flows.push(f);
      ctGroups.set(k, g);
      continue;
    }
    const proto = normalizeProto(f.proto) ?? f.proto;
    const chain = f.event === undefined ? undefined : f.event.in === '' ? 'OUTPUT' : f.event.out !== '' ? 'FORWARD' : undefined;
    if (chain !== undefined) {
      const k = `${chain}|${role}|${proto}|${f.serverPort ?? ''}`;
      const g = notInput.get(k) ?? { chain, role, proto, port: f.serverPort, flows: [] };
      g.flows.push(f);
      notInput.set(k, g);
      continue;
    }
    const port = protoHasPorts(proto) ? f.serverPort : null;
    if (protoHasPorts(proto) && port === null) {
      ignored.undetermined++;
      continue;
    }
    // IPv6's link machinery is one rule of its own, not the protocol's catalog rows (a ping's echo rule admits none)
    const nd = f.rule === 'icmp-neighbour-discovery';
    const key = nd ? `${role}|${proto}|nd` : `${role}|${proto}|${port ?? ''}`;
    let g = groups.get(key);
    if (g === undefined && nd) {
      g = { role, proto, port: null, flows: [], info: NEIGHBOUR_DISCOVERY };
      groups.set(key, g);
    } else if (g === undefined) {
      const ik = `${role}|${proto}|${port ?? ''}`;
      let info = infoCache.get(ik);
      if (info === undefined) {
        info = lookupInfo(ctx, role, proto, port ?? undefined);
        infoCache.set(ik, info);
      }
      g = { role, proto, port, flows: [], info };
      groups.set(key, g);
    }
    g.flows.push(f);
  }

  // One trace per port group (its busiest flow's event), bounded overall, made once: the merge below needs to know
  // which ports the ruleset accepts already, and the suggestions their traces.
  let traces = 0;
  const tracedFamilies = new Set<string>(ctx.ruleset?.tables.map((t) => t.family) ?? []);
  const traced = new Map<PortGroup, TraceResult | undefined>();
  const traceOf = (p: PortGroup): TraceResult | undefined => {
    if (ctx.ruleset === undefined) return undefined;
    if (traced.has(p)) return traced.get(p);
    let t: TraceResult | undefined;
    if (traces < MAX_TRACES) {
      // the busiest flow whose IP family the ruleset has tables for (an IPv6 drop traced through iptables-save
      // output of IPv4 alone places nothing)
      const busiest = [...p.flows].sort((x, y) => y.count - x.count).filter((f) => f.event !== undefined);
      const ev = (busiest.find((f) => tracedFamilies.has(f.event!.family === 6 ? 'ip6' : 'ip') || tracedFamilies.has('inet')) ?? busiest[0])?.event;
      if (ev !== undefined) {
        traces++;
        t = trace(ctx.ruleset, ev);
      }
    }
    traced.set(p, t);
    return t;
  };
  /** the ruleset accepts this port's drop already: such a port never joins a range with one it does not */
  const accepted = (p: PortGroup): boolean => {
    const t = traceOf(p);
    return t !== undefined && traceSentences(t).kind === 'already-accepted';
  };

  // merge adjacent ports of the same service (or consecutive unknowns) per role and protocol
  const byRP = new Map<string, PortGroup[]>();
  for (const g of groups.values()) {
    const k = `${g.role}|${g.proto}`;
    const list = byRP.get(k);
    if (list === undefined) byRP.set(k, [g]);
    else list.push(g);
  }
  const merged: { role: string; proto: string; from: number | null; to: number | null; parts: PortGroup[] }[] = [];
  for (const list of byRP.values()) {
    list.sort((a, b) => (a.port ?? -1) - (b.port ?? -1));
    for (const g of list) {
      const last = merged[merged.length - 1];
      if (last !== undefined && last.role === g.role && last.proto === g.proto && g.port !== null && last.to !== null &&
          g.port === last.to + 1 && last.parts[0]?.info.identity === g.info.identity &&
          (ctx.ruleset === undefined || accepted(last.parts[0]!) === accepted(g))) {
        last.to = g.port;
        last.parts.push(g);
      } else merged.push({ role: g.role, proto: g.proto, from: g.port, to: g.port, parts: [g] });
    }
  }

  const out: Suggestion[] = [];
  for (const m of merged) {
    const first = m.parts[0] as PortGroup;
    const info = first.info;
    const flowsOf = m.parts.flatMap((p) => p.flows);
    const clients = [...new Set(flowsOf.map((f) => f.client))].sort(compareAddr);
    const ports = m.from === null || m.to === null ? [] : [portItem(m.from, m.to)];
    const pText = ports.length === 0 ? m.proto : `${m.proto}/${portsText(ports)}`;
    const sensitive = m.from === null || m.to === null ? undefined : sensitiveName(m.proto, m.from, m.to);
    const e = info.entry;
    const nd = info.kind === 'neighbour-discovery';
    const service = nd ? ICMPV6_LINK_SERVICE : e?.service ?? null;
    const notes: string[] = [];
    let action: SuggestionAction = 'accept';
    let kind: SuggestionKind = info.kind;
    let confidence: Confidence;
    let reason: string;
    switch (info.kind) {
      case 'missing': {
        // a CNI's row, the cluster's CNI not known (no --cni, no platform default)
        const cniUnknown = e?.cni !== undefined && cniOf(ctx) === undefined;
        confidence = e?.confidence === 'low' || cniUnknown ? 'medium' : 'high';
        reason = `catalog service "${service}" for role ${m.role} is missing from the ruleset`;
        if (cniUnknown) notes.push(`the catalog lists this port for the ${e.cni} CNI only (give --cni to say which CNI the cluster runs)`);
        if (e?.confidence === 'low') notes.push(`the catalog marks this row as uncertain (${e.sourceTitle})`);
        if (e !== undefined && !e.defaultOpen) notes.push(`documented by ${e.sourceTitle}, but not opened by the platform's default rules`);
        for (const o of info.overridden ?? []) {
          notes.push(`the catalog lists this port for ${m.role} in two rows: "${e?.service ?? '?'}" (${e?.scope ?? '?'}, ${e?.source ?? '?'}) is used, not "${o.service}" (${o.scope}, ${o.source}) — the first row decides, as in compile, and a --catalog file's rows come before the platform's`);
        }
        break;
      }
      case 'other-role':
        confidence = 'medium';
        reason = `catalog service "${service}" is documented for ${ctx.platform} role(s) ${e?.roles.join(', ') ?? '?'}, not for ${m.role}: check the node's role (--host-role) before opening it`;
        break;
      case 'addon':
        confidence = 'medium';
        reason = `catalog service "${service}" for role ${m.role} belongs to the addon ${e?.addon ?? '?'}, which is not enabled (the policy's addons; suggest --addon): if the node runs ${e?.addon ?? 'it'}, add it to the policy's addons — compile then opens its ports — rather than this rule`;
        break;
      case 'generic':
        confidence = 'medium';
        reason = `well-known service "${service}" on ${pText}, not in the ${ctx.platform} catalog: confirm the node runs it`;
        break;
      case 'neighbour-discovery': {
        confidence = 'high';
        // the types of the packets at hand: each flow's event, and its sample lines (the kernel's `TYPE=`)
        const seen = new Set<number>();
        for (const f of flowsOf) {
          if (f.event?.icmp !== undefined) seen.add(f.event.icmp.type);
          for (const l of f.samples ?? []) {
            const t = / PROTO=ICMPv6 TYPE=(\d{1,3}) /.exec(l);
            if (t !== null) seen.add(Number(t[1]));
          }
        }
        const types = [...seen].sort((a, b) => a - b);
        reason = `${ICMPV6_LINK_SERVICE} refused${types.length === 0 ? '' : ` (type ${types.join(', ')})`}: IPv6 cannot reach its neighbours and routers without them (RFC 4890 4.4.1, traffic that must not be dropped); every policy fwdiag compile writes accepts them`;
        const left = types.filter((t) => !ICMPV6_LINK_TYPES.includes(t));
        if (left.length > 0) notes.push(`type ${left.join(', ')} (redirect) is not in the rule, as in compile's: a host takes no routing advice through its firewall`);
        break;
      }
      case 'loopback':
        confidence = 'high';
        action = 'note';
        reason = `catalog service "${service}" listens on loopback only: never open it to other hosts; find out why ${clients.slice(0, 3).join(', ')} connects to it`;
        break;
      case 'unknown':
      default:
        confidence = 'low';
        reason = ports.length === 0
          ? `unknown service: protocol ${m.proto} is not in the catalog for this role: confirm before opening`
          : `unknown service on port ${portsText(ports)}: confirm before opening`;
        if (ctx.allowUnknown !== true) {
          action = 'note';
          notes.push('not suggested: no catalog names this port (rerun with --allow-unknown once you know what listens there)');
        }
        break;
    }
    let chain = defaultChain(ctx);
    let insertBefore: number | null = null;
    let table: string | undefined;
    let native: { handle: number | undefined } | undefined;
    if (ctx.ruleset !== undefined && (action === 'accept' || info.kind === 'unknown')) {
      // each port's trace (traceOf, made once per port group)
      let placed = false;
      for (const p of m.parts) {
        const t = traceOf(p);
        if (t === undefined) continue;
        const ts = traceSentences(t);
        if (ts.kind === 'already-accepted') {
          action = 'note';
          kind = 'already-accepted';
          reason = ts.reason ?? reason;
          break;
        }
        if (ts.kind === 'shadowed' && info.kind === 'unknown') {
          // the ruleset's own ACCEPT for this port is the confirmation an unknown port needs (with --allow-unknown
          // too: the flag allows low-confidence ACCEPTs, it does not make a confirmed one less sure)
          if (action === 'note') notes.splice(0, notes.length);
          action = 'accept';
          confidence = 'medium';
        }
        if (ts.kind !== undefined && ts.reason !== undefined && kind === info.kind) {
          // the ruleset's story (an ACCEPT that exists but does not apply) leads; the catalog's sentence follows
          notes.unshift(reason);
          reason = ts.reason;
          kind = ts.kind;
        } else if (ts.reason !== undefined) notes.push(ts.reason);
        notes.push(...ts.notes);
        const ip = insertionPoint(t, ctx.ruleset!);
        if (!placed && ip !== undefined) {
          chain = ip.chain;
          insertBefore = ip.before;
          table = ip.table;
          native = nativeAt(ctx.ruleset!, t, ip.before);
          placed = true;
          if (t.decidedBy !== undefined && ts.kind === undefined) {
            const by = t.decidedBy.policy ? `the ${t.decidedBy.ref.chain} chain's ${t.decidedBy.action === 'policy-drop' ? 'DROP' : 'ACCEPT'} policy` : `rule ${t.decidedBy.ref.index} of chain ${t.decidedBy.ref.chain}`;
            notes.push(`traced through the ruleset: no ACCEPT for ${pText}; decided by ${by}`);
          }
        }
      }
    }

    let sources: string[] = [];
    // A client that is no address (a corrupted line's SRC=) can be no source; with none left, no rule at all — an
    // empty source list means any source.
    const usable = clients.filter((c) => parseIp(c) !== undefined);
    const anyAllowed = nd || (info.kind !== 'unknown' && e?.scope === 'anywhere' && sensitive === undefined);
    if (action === 'accept' && usable.length === 0 && !anyAllowed) {
      action = 'note';
      kind = 'no-source';
      reason = `${service === null ? pText : `"${service}"`} was refused to ${clients.slice(0, 5).join(', ')}, which ${clients.length === 1 ? 'is' : 'are'} no IP address (a corrupted line?): not opened`;
    } else if (usable.length < clients.length) {
      notes.push(`left out, not an IP address: ${clients.filter((c) => parseIp(c) === undefined).slice(0, 5).join(', ')}`);
    }
    if (action === 'accept' && nd) {
      // compile's rule: from any source — neighbours speak from link-local addresses, and from :: while one checks
      // that its address is unique (duplicate address detection); the hop limit of 255 keeps them on the link
      notes.push('from any source, as compile\'s rule: neighbour discovery comes from link-local addresses, and from :: during duplicate address detection');
    } else if (action === 'accept') {
      const scope = info.kind === 'unknown' ? undefined : e?.scope;
      // A public client refused at a private address of the node is no node: the cluster's nodes reach it over the
      // node network. A client that reached a public address of the node too is a peer over a public network (a node
      // with a public address), as it would be without the private one.
      const reachedPublic = new Set(flowsOf.filter((f) => !isPrivateAddress(f.server)).map((f) => f.client));
      const offNet = new Set(usable.filter((c) => !isPrivateAddress(c) && !reachedPublic.has(c)));
      const s = chooseSources(ctx, scope, sensitive, usable, offNet);
      sources = s.sources;
      notes.push(...s.notes);
      if (s.outside.length > 0) {
        const shown = s.outside.slice(0, 5).join(', ');
        const more = s.outside.length > 5 ? ` and ${s.outside.length - 5} more` : '';
        let why = '';
        if (s.offNet === true) {
          const one = s.outside.length === 1;
          const out = new Set(s.outside);
          const at = [...new Set(flowsOf.filter((f) => out.has(f.client)).map((f) => f.server))].sort(compareAddr);
          why = `${one ? 'a public address' : 'public addresses'}, refused at the node's private address${at.length === 1 ? '' : 'es'} ${at.slice(0, 3).join(', ')}${at.length > 3 ? ` and ${at.length - 3} more` : ''}: the cluster's nodes reach this port over the node network (${scope === 'control-plane-nodes' ? '--control-plane' : '--cluster-subnet'} admits ${one ? 'it if it is a node' : 'them if they are nodes'})`;
        }
        if (s.sources.length === 0) {
          action = 'note';
          kind = 'outside-scope';
          reason = `${service === null ? pText : `"${service}"`} was refused to ${shown}${more}, outside the catalog scope (${e?.scope ?? '?'}): not opened; check where that traffic comes from`;
          if (why !== '') notes.push(`${shown}${more}: ${why}`);
        } else notes.push(`left out, outside the catalog scope (${e?.scope ?? '?'}): ${shown}${more}${why === '' ? '' : ` — ${why}`}`);
      }
    }

    const s: Suggestion = {
      action, kind, proto: m.proto, ports, sources: action === 'accept' ? sources : [],
      families: familiesOf(action === 'accept' && sources.length > 0 ? sources : clients), service, role: m.role, chain,
      insertBefore, ruleSyntax: native === undefined ? 'iptables' : 'nft', confidence, reason, notes: [...new Set(notes)], evidence: evidenceOf(flowsOf, sampleLines), rendered: '',
    };
    if (table !== undefined) s.table = table;
    if (info.kind === 'addon' && e?.addon !== undefined) s.addon = e.addon;
    // an ICMP row of the catalog names its types: the rule is for those, not for every ICMP message
    if ((m.proto === 'icmp' || m.proto === 'icmpv6') && e?.icmpTypes !== undefined && e.icmpTypes.length > 0) s.icmpTypes = [...e.icmpTypes];
    if (nd) s.icmpTypes = [...ICMPV6_LINK_TYPES];
    // a catalog row that fixes the peer's port (DHCP: 67 → 68): the rule matches it too
    if (e?.sourcePort !== undefined && protoHasPorts(m.proto)) {
      const sp = e.sourcePort;
      s.sourcePort = portItem(sp.from, sp.to);
      const off = flowsOf.filter((f) => f.event?.spt !== undefined && (f.event.spt < sp.from || f.event.spt > sp.to));
      if (off.length > 0) {
        const eg = [...new Set(off.map((f) => f.event!.spt!))].slice(0, 5).join(', ');
        s.notes.push(`${off.length} flow${off.length === 1 ? '' : 's'} came from source port${off.length === 1 ? '' : 's'} ${eg}, not ${s.sourcePort} as "${service}" does: this rule does not admit ${off.length === 1 ? 'it' : 'them'}; find out what sent ${off.length === 1 ? 'it' : 'them'}`);
      }
    }
    // Datagrams that all came from a privileged port (DNS's 53, NTP's 123) to a port that is no client port by the
    // ephemeral range (a NodePort): answers to this node's own requests, if it asked from there (a widened
    // ip_local_port_range, source NAT) — the verdict follows the ports, the operator should know the doubt.
    if (s.sourcePort === undefined && (m.proto === 'udp' || m.proto === 'udplite') && m.from !== null && m.from >= 1024) {
      const from = flowsOf.map((f) => f.event?.spt);
      if (from.length > 0 && from.every((p) => p !== undefined && p < 1024)) {
        const eg = [...new Set(from)].slice(0, 5).join(', ');
        s.notes.push(`the datagrams sampled came from port ${eg}: if this node sent requests from ${portsText(ports)} (a widened ip_local_port_range, source NAT), these are answers whose conntrack state was lost — check before opening`);
        if (s.confidence === 'high') s.confidence = 'medium';
      }
    }
    if (native?.handle !== undefined) s.insertHandle = native.handle;
    if (s.action === 'accept' && !RULE_PROTOS.has(s.proto)) {
      s.action = 'note';
      s.sources = [];
      s.notes.push(`fwdiag's rule formats cannot express protocol ${s.proto}: write this ACCEPT by hand`);
    }
    if (action === 'accept') s.rendered = renderInsert(s, ctx.platform, platformInterfaces(ctx.platform, ctx.catalog)).join('\n');
    out.push(s);
  }

  for (const g of notInput.values()) {
    const what = `${g.proto}${g.port === null ? '' : `/${g.port}`}`;
    const servers = [...new Set(g.flows.map((f) => f.server))].sort(compareAddr);
    out.push({
      action: 'note', kind: g.chain === 'OUTPUT' ? 'egress' : 'forward', proto: g.proto, ports: g.port === null ? [] : [g.port], sources: [],
      families: familiesOf(g.flows.map((f) => f.client)), service: null, role: g.role, chain: g.chain,
      insertBefore: null, ruleSyntax: 'iptables', confidence: 'medium',
      reason: g.chain === 'OUTPUT'
        ? `${what} was dropped on output (no IN= interface): an egress rule is missing; fwdiag suggests INPUT rules only`
        : `${what} to ${servers.slice(0, 3).join(', ')}${servers.length > 3 ? ` and ${servers.length - 3} more` : ''} was dropped while forwarded (IN= and OUT= both set: routed or bridged through this node, not addressed to it): an INPUT rule would not admit it, a forwarding rule is missing; fwdiag suggests INPUT rules only`,
      notes: [], evidence: evidenceOf(g.flows, sampleLines), rendered: '',
    });
  }

  for (const g of ctGroups.values()) {
    const servers = [...new Set(g.flows.map((f) => f.server))].sort(compareAddr);
    const svc = g.flows.find((f) => f.service !== null)?.service ?? null;
    const where = `${g.proto}${g.port === null ? '' : `/${g.port}`}${svc === null ? '' : ` (${svc})`}`;
    out.push({
      action: 'note', kind: 'conntrack-loss', proto: g.proto, ports: g.port === null ? [] : [g.port], sources: [],
      families: familiesOf(servers), service: svc, role: g.role, chain: defaultChain(ctx), insertBefore: null, ruleSyntax: 'iptables', confidence: 'medium',
      reason: `persistent conntrack loss on ${where} from ${servers.slice(0, 3).join(', ')}${servers.length > 3 ? ` and ${servers.length - 3} more` : ''}: the connection was allowed and its state was lost — never open a port for it`,
      notes: [
        'check: asymmetric routing (replies arriving on another interface or via another gateway; rp_filter)',
        'check: a full conntrack table (nf_conntrack_count vs nf_conntrack_max; "table full, dropping packet" in dmesg)',
        'check: rules reloaded or conntrack flushed mid-connection (an upgrade, a restart) — it heals when the peers reconnect',
        'check: timeouts shorter than the connection\'s idle time (nf_conntrack_tcp_timeout_established, UDP stream timeouts)',
      ],
      evidence: evidenceOf(g.flows, sampleLines), rendered: '',
    });
  }

  const rank = (s: Suggestion) => (s.action === 'accept' ? 0 : 1);
  const conf: Record<Confidence, number> = { high: 0, medium: 1, low: 2 };
  out.sort((a, b) => rank(a) - rank(b) || conf[a.confidence] - conf[b.confidence] || b.evidence.count - a.evidence.count ||
    a.role.localeCompare(b.role) || a.proto.localeCompare(b.proto) || NUMERIC(String(a.ports[0] ?? ''), String(b.ports[0] ?? '')));
  return { suggestions: out, ignored };
}
