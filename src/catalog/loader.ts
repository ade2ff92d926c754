/**
 * Reading catalog files: `parseCatalogText` is pure (text in, result out); `loadBuiltinCatalog` and
 * `loadCatalogFile` are the I/O edges. The built-in files live in the package's top-level `catalog/` folder.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { InputError } from '../cli/errors.js';
import { catalogFileSchema } from './schema.js';
import type { CatalogEntry, PlatformCatalog } from './schema.js';

/** Catalog files larger than this are refused rather than read into memory. */
export const MAX_CATALOG_BYTES = 1024 * 1024;
/** Entries per file beyond this are refused: a catalog is a hand-written table, not a data dump. */
export const MAX_CATALOG_ENTRIES = 5000;

export type CatalogResult = { ok: true; value: PlatformCatalog } | { ok: false; issues: string[] };

/** All platforms, by name. */
export interface Catalog {
  platforms: ReadonlyMap<string, PlatformCatalog>;
}

/** Parses and validates one catalog file's text (YAML or JSON: JSON is YAML). */
export function parseCatalogText(text: string, origin: string): CatalogResult {
  if (text.length > MAX_CATALOG_BYTES) return { ok: false, issues: [`${origin}: larger than ${MAX_CATALOG_BYTES} bytes`] };
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 100 });
  } catch (e) {
    return { ok: false, issues: [`${origin}: not valid YAML: ${(e as Error).message.split('\n')[0] ?? ''}`] };
  }
  const r = catalogFileSchema.safeParse(raw);
  if (!r.success) {
    return { ok: false, issues: r.error.issues.map((i) => `${origin}: ${formatPath(i.path)}${i.message}`) };
  }
  const f = r.data;
  if (f.entries.length > MAX_CATALOG_ENTRIES) {
    return { ok: false, issues: [`${origin}: more than ${MAX_CATALOG_ENTRIES} entries`] };
  }
  const entries = f.entries.map((e): CatalogEntry => {
    const doc = f.sources[e.source];
    const out: CatalogEntry = {
      platform: f.platform,
      proto: e.proto,
      service: e.service,
      roles: e.roles,
      scope: e.scope,
      source: e.source,
      sourceTitle: doc?.title ?? e.source,
      confidence: e.confidence,
      direction: e.direction,
      defaultOpen: e.defaultOpen,
    };
    if (e.port !== undefined) out.port = e.port;
    if (e.icmpTypes !== undefined) out.icmpTypes = e.icmpTypes;
    if (doc?.url !== undefined) out.url = doc.url;
    if (e.refs !== undefined) out.refs = e.refs;
    if (e.addon !== undefined) out.addon = e.addon;
    if (e.cni !== undefined) out.cni = e.cni;
    if (e.note !== undefined) out.note = e.note;
    return out;
  });
  const value: PlatformCatalog = {
    platform: f.platform,
    title: f.title,
    roles: f.roles.map((r) => (r.description === undefined ? { name: r.name } : { name: r.name, description: r.description })),
    addons: f.addons.map((a) => ({ name: a.name, source: a.source, ...(a.description === undefined ? {} : { description: a.description }) })),
    cnis: f.cnis,
    policyDefaults: f.policyDefaults,
    sources: Object.fromEntries(
      Object.entries(f.sources).map(([k, d]) => [
        k,
        { title: d.title, ...(d.url === undefined ? {} : { url: d.url }), ...(d.document === undefined ? {} : { document: d.document }) },
      ]),
    ),
    entries,
    origin,
  };
  if (f.defaultCni !== undefined) value.defaultCni = f.defaultCni;
  return { ok: true, value };
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '' : `${path.map(String).join('.')}: `;
}

/**
 * Merges user catalogs over a base. A user file for a known platform adds roles, addons, CNIs and sources, puts its
 * entries before the built-in ones (so lookups name the user's service first) and overrides policy defaults key by key.
 */
export function mergeCatalogs(base: Catalog, extra: readonly PlatformCatalog[]): Catalog {
  const out = new Map(base.platforms);
  for (const p of extra) {
    const old = out.get(p.platform);
    if (old === undefined) {
      out.set(p.platform, p);
      continue;
    }
    const union = <T extends { name: string }>(a: T[], b: T[]) => [...a, ...b.filter((x) => !a.some((y) => y.name === x.name))];
    const merged: PlatformCatalog = {
      ...old,
      roles: union(old.roles, p.roles),
      addons: union(old.addons, p.addons),
      cnis: [...new Set([...old.cnis, ...p.cnis])],
      policyDefaults: { ...old.policyDefaults, ...p.policyDefaults },
      sources: { ...old.sources, ...p.sources },
      entries: [...p.entries, ...old.entries],
      origin: `${old.origin}+${p.origin}`,
    };
    if (p.defaultCni !== undefined) merged.defaultCni = p.defaultCni;
    out.set(p.platform, merged);
  }
  return { platforms: out };
}

/** The folder holding the built-in catalog files (`<package>/catalog`, from both src/ and dist/). */
export function builtinCatalogDir(): string {
  return fileURLToPath(new URL('../../catalog/', import.meta.url));
}

let builtin: Catalog | undefined;

/** The shipped catalog, read once. A broken shipped file is a packaging bug: it throws. */
export function loadBuiltinCatalog(dir: string = builtinCatalogDir()): Catalog {
  if (builtin !== undefined && dir === builtinCatalogDir()) return builtin;
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
  const platforms = new Map<string, PlatformCatalog>();
  for (const f of files) {
    const r = parseCatalogText(readFileSync(`${dir}/${f}`, 'utf8'), `catalog/${f}`);
    if (!r.ok) throw new Error(`built-in catalog is invalid:\n${r.issues.join('\n')}`);
    platforms.set(r.value.platform, r.value);
  }
  const cat = { platforms };
  if (dir === builtinCatalogDir()) builtin = cat;
  return cat;
}

/** Reads one user catalog file (`--catalog FILE`). Unreadable → InputError; invalid → InputError listing the issues. */
export function loadCatalogFile(path: string): PlatformCatalog {
  let text: string;
  try {
    if (statSync(path).size > MAX_CATALOG_BYTES) throw new InputError(`${path}: catalog larger than ${MAX_CATALOG_BYTES} bytes`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`cannot read catalog ${path}: ${(e as Error).message}`, { cause: e });
  }
  const r = parseCatalogText(text, path);
  if (!r.ok) throw new InputError(`invalid catalog ${path}: ${r.issues.slice(0, 5).join('; ')}`);
  return r.value;
}

/** The built-in catalog merged with the user's `--catalog` files. */
export function loadCatalog(userFiles: readonly string[] = []): Catalog {
  const base = loadBuiltinCatalog();
  return userFiles.length === 0 ? base : mergeCatalogs(base, userFiles.map(loadCatalogFile));
}

