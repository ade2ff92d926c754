/**
 * `fwdiag catalog [PLATFORM[/ROLE]]`: prints the role catalog (which ports each node role needs, from which document).
 * Wiring only: flags → options, catalog files → lookups → a table or JSON.
 */
import { WORDED, issuesOf } from '../catalog/issues.js';
import { z } from 'zod';
import { UsageError } from './errors.js';
import { addonFlagsOf, checkAddons, checkCni, checkPlatformRoles, commandArgs, flagOfKey, intFlag, nameSchema } from './options.js';
import type { Command } from './io.js';
import { entriesFor, formatEntryPort, formatPortRange, listPlatforms, loadCatalog, normalizeProto } from '../catalog/index.js';
import type { Catalog, CatalogEntry } from '../catalog/index.js';
import { escapeControl, escapeJsonControl } from '../output/escape.js';
import { guardOutput, writeLines } from '../output/safe-stdout.js';

export const CATALOG_USAGE = `Usage: fwdiag catalog [PLATFORM[/ROLE]] [options]

Print the role catalog: the inbound ports each node role needs, the sources they are expected from, and the
document each row comes from. Without PLATFORM: the platforms, their roles, addons and CNIs (the filters below
need a PLATFORM).

  PLATFORM[/ROLE]       e.g. harvester, harvester/witness, rke2/server, talos/controlplane, cni/cilium
  --cni NAME            only rows for this CNI (and rows without one); for kubeadm, adds the CNI's own rows;
                        for cni, whose roles are the CNIs, that role (cni/NAME)
  --addon NAME          only rows for these addons (and rows without one); repeatable; --addon none: no addon rows
  --port N              only rows covering this port (or ICMP type)
  --proto P             only rows for this protocol (tcp, udp, icmp, …)
  --catalog FILE        extra catalog file(s) (YAML or JSON, the catalog/*.yaml schema); repeatable
  --json                JSON instead of a table
  -h, --help            this help

Scopes: cluster-nodes, control-plane-nodes, anywhere, loopback (never open to off-node sources).
Flags column: cni=… / addon=… (conditional rows), from-port=… (the peer's port, which rules match too: DHCP),
not-default (documented, not opened by \`fwdiag compile\`), low-confidence (the sources disagree or the row is an
inference).
`;

const optionsSchema = z.object({
  target: z.string().regex(/^[a-z0-9-]+(\/[a-z0-9-]+)?$/, 'expected PLATFORM or PLATFORM/ROLE').optional(),
  cni: nameSchema.optional(),
  addons: z.array(nameSchema).optional(),
  port: z.number().int().min(0).max(65535).optional(),
  proto: z.string().refine((p) => normalizeProto(p) !== undefined, 'unknown protocol').optional(),
  catalogs: z.array(z.string().min(1)).default([]),
  json: z.boolean().default(false),
});
export type CatalogCliOptions = z.output<typeof optionsSchema>;

export function parseCatalogArgs(argv: string[]): CatalogCliOptions | 'help' {
  const parsed = commandArgs(argv, {
    cni: { type: 'string' },
    addon: { type: 'string', multiple: true },
    port: { type: 'string' },
    proto: { type: 'string' },
    catalog: { type: 'string', multiple: true },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  const v = parsed.values;
  if (v.help) return 'help';
  if (parsed.positionals.length > 1) throw new UsageError('give at most one PLATFORM[/ROLE]');
  // the overview lists platforms, not rows: a filter without PLATFORM would be ignored
  const filters = (['cni', 'addon', 'port', 'proto'] as const).filter((f) => v[f] !== undefined).map((f) => `--${f}`);
  if (parsed.positionals.length === 0 && filters.length > 0) {
    throw new UsageError(`${filters.join(', ')}: ${filters.length === 1 ? 'filters' : 'filter'} a platform's rows: give PLATFORM[/ROLE] (e.g. fwdiag catalog rke2 ${filters[0]} …)`);
  }
  const addons = addonFlagsOf(v.addon);
  const r = optionsSchema.safeParse({
    target: parsed.positionals[0],
    cni: v.cni,
    addons,
    port: v.port === undefined ? undefined : intFlag(v.port, '--port'),
    proto: v.proto,
    catalogs: v.catalog ?? [],
    json: v.json,
  }, WORDED);
  if (!r.success) {
    const i = issuesOf(r.error)[0];
    const flag = String(i?.path[0] ?? '');
    throw new UsageError(`${flag === 'target' ? 'PLATFORM[/ROLE]' : flagOfKey(flag)}: ${i?.message ?? 'invalid'}`);
  }
  return r.data;
}

function flags(e: CatalogEntry): string {
  const f: string[] = [];
  if (e.cni !== undefined) f.push(`cni=${e.cni}`);
  if (e.addon !== undefined) f.push(`addon=${e.addon}`);
  if (e.sourcePort !== undefined) f.push(`from-port=${formatPortRange(e.sourcePort)}`);
  if (e.direction === 'outbound') f.push('outbound');
  if (!e.defaultOpen) f.push('not-default');
  if (e.confidence === 'low') f.push('low-confidence');
  return f.join(',');
}

/** Aligned columns; the last column is not padded. */
export function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd());
}

function overview(cat: Catalog): string[] {
  const rows = [['PLATFORM', 'ROLES', 'ADDONS', 'CNIS', 'ENTRIES', 'TITLE']];
  for (const name of listPlatforms(cat)) {
    const p = cat.platforms.get(name);
    if (p === undefined) continue;
    rows.push([name, p.roles.map((r) => r.name).join(','), p.addons.map((a) => a.name).join(',') || '-', p.cnis.map((c) => (c === p.defaultCni ? `${c}*` : c)).join(',') || '-', String(p.entries.length), p.title]);
  }
  return [...table(rows), '', '* default CNI. Details: fwdiag catalog PLATFORM[/ROLE]'];
}

export const catalogCommand: Command = async (argv, io) => {
  const opts = parseCatalogArgs(argv);
  guardOutput(io.stdout);
  if (opts === 'help') {
    await writeLines(io.stdout, CATALOG_USAGE);
    return 0;
  }
  const cat = loadCatalog(opts.catalogs);
  if (opts.target === undefined) {
    if (opts.json) {
      const list = listPlatforms(cat).map((n) => {
        const p = cat.platforms.get(n);
        return { platform: n, title: p?.title, roles: p?.roles, addons: p?.addons, cnis: p?.cnis, defaultCni: p?.defaultCni, entries: p?.entries.length };
      });
      await writeLines(io.stdout, `${escapeJsonControl(JSON.stringify(list, null, 2))}\n`);
    } else await writeLines(io.stdout, `${overview(cat).map(escapeControl).join('\n')}\n`);
    return 0;
  }
  const [platform = '', named] = opts.target.split('/');
  // the cni table's roles are the CNIs: `cni --cni cilium` is `cni/cilium`
  let role = named;
  if (platform === 'cni' && opts.cni !== undefined) {
    if (named !== undefined && named !== opts.cni) throw new UsageError(`--cni: the cni table's roles are its CNIs: cni/${named} and --cni ${opts.cni} name two`);
    role = opts.cni;
  }
  checkPlatformRoles(cat, platform, role === undefined ? [] : [role], '');
  const p = cat.platforms.get(platform)!;
  if (opts.cni !== undefined && platform !== 'cni') checkCni(cat, platform, opts.cni);
  checkAddons(cat, platform, opts.addons ?? []);
  const proto = opts.proto === undefined ? undefined : normalizeProto(opts.proto);
  const entries = entriesFor(platform, role, {
    catalog: cat,
    ...(opts.cni === undefined ? {} : { cni: opts.cni }),
    ...(opts.addons === undefined ? {} : { addons: opts.addons }),
  }).filter((e) => (proto === undefined || e.proto === proto) && (opts.port === undefined || (e.port !== undefined ? opts.port >= e.port.from && opts.port <= e.port.to : e.icmpTypes?.includes(opts.port) === true)));
  if (opts.json) {
    const out = { platform, title: p.title, ...(role === undefined ? {} : { role }), roles: p.roles, addons: p.addons, cnis: p.cnis, defaultCni: p.defaultCni, policyDefaults: p.policyDefaults, sources: p.sources, entries };
    await writeLines(io.stdout, `${escapeJsonControl(JSON.stringify(out, null, 2))}\n`);
    return 0;
  }
  const rows = [['PROTO', 'PORT', 'SERVICE', 'ROLES', 'SCOPE', 'FLAGS', 'SOURCE']];
  for (const e of entries) rows.push([e.proto, formatEntryPort(e), e.service, e.roles.join(','), e.scope, flags(e) || '-', [e.source, ...(e.refs ?? [])].join(' ')]);
  const lines = [`${p.title}${role === undefined ? '' : ` / ${role}`}: ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}`, ...table(rows)];
  const used = new Set(entries.flatMap((e) => [e.source, ...(e.refs ?? [])]));
  const notes = entries.filter((e) => e.note !== undefined);
  if (notes.length > 0) {
    lines.push('', 'Notes:');
    for (const e of notes) lines.push(`  ${e.proto}/${formatEntryPort(e)} ${e.service}: ${e.note}`);
  }
  lines.push('', 'Sources:');
  for (const [k, d] of Object.entries(p.sources)) if (used.has(k)) lines.push(`  ${k} ${d.title} — ${d.url ?? d.document ?? ''}`);
  if (opts.cni !== undefined && !p.cnis.includes(opts.cni)) {
    for (const [k, d] of Object.entries(cat.platforms.get('cni')?.sources ?? {})) if (used.has(k) && !Object.hasOwn(p.sources, k)) lines.push(`  ${k} ${d.title} — ${d.url ?? d.document ?? ''}`);
  }
  await writeLines(io.stdout, `${lines.map(escapeControl).join('\n')}\n`);
  return 0;
};
