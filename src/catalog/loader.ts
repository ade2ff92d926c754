/**
 * Reading catalog files: `parseCatalogText` is pure (text in, result out); `loadBuiltinCatalog` and
 * `loadCatalogFile` are the I/O edges. The built-in files live in the package's top-level `catalog/` folder.
 */
import { WORDED, issuesOf } from './issues.js';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { InputError } from '../cli/errors.js';
import { catalogFileSchema } from './schema.js';
import type { CatalogEntry, PlatformCatalog } from './schema.js';

/** Catalog files larger than this are refused rather than read into memory. */
export const MAX_CATALOG_BYTES = 1024 * 1024;
/** Entries per file beyond this are refused: a catalog is a hand-written table, not a data dump. */
export const MAX_CATALOG_ENTRIES = 5000;

// The YAML parser is loaded when a catalog is read as YAML: the built-in catalog normally comes compiled (JSON).
const require = createRequire(import.meta.url);
let yamlParse: typeof import('yaml').parse | undefined;
/**
 * YAML (or JSON) an operator wrote — catalogs, `compile`'s policies and fragments — to be judged by a zod schema:
 * aliases capped (no billion laughs), and no process warnings (Node prints them with a raw snippet of the file; what
 * the file means is zod's to judge). Throws on invalid YAML.
 */
export function parseYamlText(text: string): unknown {
  yamlParse ??= (require('yaml') as typeof import('yaml')).parse;
  return yamlParse(text, { maxAliasCount: 100, logLevel: 'error' });
}

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
    raw = parseYamlText(text);
  } catch (e) {
    return { ok: false, issues: [`${origin}: not valid YAML: ${(e as Error).message.split('\n')[0] ?? ''}`] };
  }
  const r = catalogFileSchema.safeParse(raw, WORDED);
  if (!r.success) {
    return { ok: false, issues: issuesOf(r.error).map((i) => `${origin}: ${formatPath(i.path)}${i.message}`) };
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
    if (e.sourcePort !== undefined) out.sourcePort = e.sourcePort;
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

/**
 * The built-in catalog as `npm run build` compiles it (dist/catalog/builtin.json): the platforms parsed and
 * validated from the YAML files, and a digest of those files. Reading it takes a JSON.parse instead of loading the
 * YAML parser and validating eight files (~150 ms at every start). It is used only while its digest matches the
 * YAML files next to it: an edited catalog is read from the YAML again, never stale.
 */
export interface CompiledCatalog {
  version: number;
  digest: string;
  platforms: PlatformCatalog[];
}

const COMPILED_VERSION = 1;

/** Where the build puts the compiled built-in catalog (next to this module: dist/catalog/). */
export function compiledCatalogPath(): string {
  return fileURLToPath(new URL('./builtin.json', import.meta.url));
}

function builtinFiles(dir: string): Array<[name: string, text: string]> {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => [f, readFileSync(`${dir}/${f}`, 'utf8')]);
}

function digestOf(files: ReadonlyArray<[string, string]>): string {
  const h = createHash('sha256');
  for (const [name, text] of files) h.update(`${name}\0${text}\0`);
  return h.digest('hex');
}

function parseBuiltin(files: ReadonlyArray<[string, string]>): PlatformCatalog[] {
  return files.map(([f, text]) => {
    const r = parseCatalogText(text, `catalog/${f}`);
    if (!r.ok) throw new Error(`built-in catalog is invalid:\n${r.issues.join('\n')}`);
    return r.value;
  });
}

/** The compiled form of the catalog files in `dir` (what the build writes to {@link compiledCatalogPath}). */
export function compileBuiltinCatalog(dir: string = builtinCatalogDir()): CompiledCatalog {
  const files = builtinFiles(dir);
  return { version: COMPILED_VERSION, digest: digestOf(files), platforms: parseBuiltin(files) };
}

/** The compiled catalog at `path` if it was compiled from exactly these files, else undefined. */
function readCompiled(path: string, digest: string): PlatformCatalog[] | undefined {
  let c: Partial<CompiledCatalog>;
  try {
    c = JSON.parse(readFileSync(path, 'utf8')) as Partial<CompiledCatalog>;
  } catch {
    return undefined;
  }
  return c.version === COMPILED_VERSION && c.digest === digest && Array.isArray(c.platforms) ? c.platforms : undefined;
}

let builtin: Catalog | undefined;

/**
 * The shipped catalog, read once: compiled when the build's copy matches the YAML files, else from the YAML. A
 * broken shipped file is a packaging bug: it throws. `compiled` is for tests (default: the build's copy).
 */
export function loadBuiltinCatalog(dir: string = builtinCatalogDir(), compiled: string = compiledCatalogPath()): Catalog {
  const isDefault = dir === builtinCatalogDir() && compiled === compiledCatalogPath();
  if (builtin !== undefined && isDefault) return builtin;
  const files = builtinFiles(dir);
  const list = readCompiled(compiled, digestOf(files)) ?? parseBuiltin(files);
  const platforms = new Map<string, PlatformCatalog>();
  for (const p of list) platforms.set(p.platform, p);
  const cat = { platforms };
  if (isDefault) builtin = cat;
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

