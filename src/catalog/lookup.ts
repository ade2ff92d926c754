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

/** Whether `fwdiag compile` opens a row: inbound, open by default, and not loopback-only. */
export function opensByDefault(e: CatalogEntry): boolean {
  return e.direction === 'inbound' && e.defaultOpen && e.scope !== 'loopback';
}

/** What a row matches, as ranges: its ports; for ICMP its types (every type without); for esp/ipip everything. */
function coverage(e: CatalogEntry): PortRange[] {
  if (e.port !== undefined) return [e.port];
  if (e.icmpTypes !== undefined) return e.icmpTypes.map((t) => ({ from: t, to: t }));
  return e.proto === 'icmp' || e.proto === 'icmpv6' ? [{ from: 0, to: 255 }] : [{ from: 0, to: 0 }];
}

/** `ranges` minus `cut`, in order. */
function subtract(ranges: readonly PortRange[], cut: readonly PortRange[]): PortRange[] {
  let out = [...ranges];
  for (const c of cut) {
    out = out.flatMap((r) => {
      if (c.to < r.from || c.from > r.to) return [r];
      const left = c.from > r.from ? [{ from: r.from, to: c.from - 1 }] : [];
      const right = c.to < r.to ? [{ from: c.to + 1, to: r.to }] : [];
      return [...left, ...right];
    });
  }
  return out;
}

function intersect(a: readonly PortRange[], b: readonly PortRange[]): PortRange[] {
  const out: PortRange[] = [];
  for (const x of a) for (const y of b) {
    const from = Math.max(x.from, y.from);
    const to = Math.min(x.to, y.to);
    if (from <= to) out.push({ from, to });
  }
  return out;
}

/** A row and the ports (ICMP: types) it decides; `whole` when no other row took any of them. */
export interface ApplicableRow {
  entry: CatalogEntry;
  ranges: PortRange[];
  whole: boolean;
}

/** Two rows that give the same ports different scopes: `used` decides `ranges`, `over`'s scope is not used there. */
export interface RowConflict {
  used: CatalogEntry;
  over: CatalogEntry;
  ranges: PortRange[];
}

/**
 * Which row decides a port where rows overlap: the first that covers it. Rows come in catalog order, and a `--catalog`
 * file's rows come before the platform's (see mergeCatalogs), so a site's row adapts the platform — narrows etcd to
 * the control plane, or widens a port — instead of being shadowed or outdone by a wider one. Each row keeps the ports
 * no earlier row of another scope decides; rows of one scope give the same sources, so their overlap stays as written.
 * `fwdiag compile` opens `rows`; `fwdiag suggest` takes the same first row (see {@link applicableEntry}).
 */
export function applicableRows(entries: readonly CatalogEntry[]): { rows: ApplicableRow[]; conflicts: RowConflict[] } {
  const rows: ApplicableRow[] = [];
  const conflicts: RowConflict[] = [];
  for (const e of entries) {
    const mine = coverage(e);
    let ranges = mine;
    for (const r of rows) {
      if (r.entry.proto !== e.proto || r.entry.scope === e.scope) continue;
      const taken = intersect(ranges, r.ranges);
      if (taken.length === 0) continue;
      conflicts.push({ used: r.entry, over: e, ranges: taken });
      ranges = subtract(ranges, taken);
    }
    rows.push({ entry: e, ranges, whole: ranges === mine });
  }
  return { rows, conflicts };
}

/**
 * The row that decides a port's scope among `entries` (the rows covering it, in catalog order): the first that
 * `compile` opens — as {@link applicableRows} decides — else the first that is not loopback-only.
 */
export function applicableEntry(entries: readonly CatalogEntry[]): CatalogEntry | undefined {
  return entries.find(opensByDefault) ?? entries.find((e) => e.scope !== 'loopback');
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
