/**
 * Pure lookups over a loaded catalog: which documented requirement covers a protocol/port for a platform and role,
 * and what a port is called.
 */
import { loadBuiltinCatalog } from './loader.js';
import type { Catalog } from './loader.js';
import type { CatalogEntry, CatalogProto, PlatformCatalog, PortRange } from './schema.js';

/** Options for lookups. */
export interface LookupOptions {
  /** @default the built-in catalog */
  catalog?: Catalog;
  /** keep only entries for this CNI (entries without a CNI always stay). @default every CNI */
  cni?: string;
  /** keep only entries of these addons (entries without an addon always stay). @default every addon */
  addons?: readonly string[];
}

const PROTO_ALIASES: Record<string, CatalogProto> = {
  tcp: 'tcp', '6': 'tcp',
  udp: 'udp', '17': 'udp',
  sctp: 'sctp', '132': 'sctp',
  icmp: 'icmp', '1': 'icmp',
  icmpv6: 'icmpv6', 'ipv6-icmp': 'icmpv6', '58': 'icmpv6',
  esp: 'esp', '50': 'esp',
  ipip: 'ipip', ipencap: 'ipip', '4': 'ipip',
};

/** `TCP`, `6`, `ICMPv6`, `ipv6-icmp` … → the catalog's protocol name; undefined for protocols the catalog never names. */
export function normalizeProto(proto: string): CatalogProto | undefined {
  return PROTO_ALIASES[proto.toLowerCase()];
}

function matchesPort(e: CatalogEntry, port: number | undefined): boolean {
  if (e.port !== undefined) return port !== undefined && port >= e.port.from && port <= e.port.to;
  // portless protocols: for ICMP the "port" is the type, when the caller has one
  if (e.icmpTypes !== undefined && port !== undefined) return e.icmpTypes.includes(port);
  return true;
}

function keep(e: CatalogEntry, role: string | undefined, opts: LookupOptions): boolean {
  if (role !== undefined && !e.roles.includes(role)) return false;
  if (opts.cni !== undefined && e.cni !== undefined && e.cni !== opts.cni) return false;
  if (opts.addons !== undefined && e.addon !== undefined && !opts.addons.includes(e.addon)) return false;
  return true;
}

/** The platform's catalog, or undefined. */
export function getPlatform(platform: string, catalog: Catalog = loadBuiltinCatalog()): PlatformCatalog | undefined {
  return catalog.platforms.get(platform);
}

/**
 * Every entry of `platform` (optionally only those `role` needs). With `opts.cni` naming a CNI the platform's own
 * file does not cover, the CNI's upstream entries (catalog/cni.yaml, role = the CNI) are appended.
 */
export function entriesFor(platform: string, role?: string, opts: LookupOptions = {}): CatalogEntry[] {
  const catalog = opts.catalog ?? loadBuiltinCatalog();
  const p = catalog.platforms.get(platform);
  if (p === undefined) return [];
  const own = p.entries.filter((e) => keep(e, role, opts));
  if (opts.cni !== undefined && platform !== 'cni' && !p.cnis.includes(opts.cni)) {
    const cni = catalog.platforms.get('cni');
    if (cni !== undefined) own.push(...cni.entries.filter((e) => e.roles.includes(opts.cni as string)));
  }
  return own;
}

/**
 * The entries of `platform` that cover `proto`/`port` for `role` (every role when `role` is undefined). For ICMP,
 * `port` is the ICMP type (or undefined). Empty when the platform is unknown or nothing covers the port.
 */
export function lookupPort(
  platform: string,
  role: string | undefined,
  proto: string,
  port: number | undefined,
  opts: LookupOptions = {},
): CatalogEntry[] {
  const p = normalizeProto(proto);
  if (p === undefined) return [];
  return entriesFor(platform, role, opts).filter((e) => e.proto === p && matchesPort(e, port));
}

/** Platform names, sorted. */
export function listPlatforms(catalog: Catalog = loadBuiltinCatalog()): string[] {
  return [...catalog.platforms.keys()].sort();
}

/** Role names of a platform (empty when unknown). */
export function listRoles(platform: string, catalog: Catalog = loadBuiltinCatalog()): string[] {
  return catalog.platforms.get(platform)?.roles.map((r) => r.name) ?? [];
}

/**
 * The catalog entry that names a port: the platform's first inbound, non-loopback-preferring match when a platform is
 * given, else the generic well-known table. Loopback entries are returned only when nothing else names the port.
 */
export function serviceEntryForPort(
  proto: string,
  port: number | undefined,
  platform?: string,
  catalog: Catalog = loadBuiltinCatalog(),
): CatalogEntry | undefined {
  const pick = (list: CatalogEntry[]) => list.find((e) => e.scope !== 'loopback') ?? list[0];
  if (platform !== undefined && platform !== 'generic') {
    const hit = pick(lookupPort(platform, undefined, proto, port, { catalog }));
    if (hit !== undefined) return hit;
  }
  return pick(lookupPort('generic', undefined, proto, port, { catalog }));
}

/** The service name of a port ("RKE2 supervisor API"), or undefined when no catalog names it. */
export function serviceForPort(proto: string, port: number | undefined, platform?: string, catalog?: Catalog): string | undefined {
  return serviceEntryForPort(proto, port, platform, catalog)?.service;
}

/** `22`, `30000-32767` */
export function formatPortRange(r: PortRange): string {
  return r.from === r.to ? String(r.from) : `${r.from}-${r.to}`;
}

/** `22`, `30000-32767`, `type 0,8`, or `-` for portless protocols: how the catalog prints a port. */
export function formatEntryPort(e: CatalogEntry): string {
  if (e.port !== undefined) return formatPortRange(e.port);
  if (e.icmpTypes !== undefined) return `type ${e.icmpTypes.join(',')}`;
  return '-';
}
