import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import { UsageError } from './errors.js';
import { classifierOptionsSchema, parseDuration, parsePortRange, parseTimeWindow, type ClassifierOptionsInput, type ParseResult } from '../classify/options.js';
import type { Catalog } from '../catalog/loader.js';
import { cidrSchema as policyCidrSchema } from '../catalog/schema.js';
import { WORDED, issuesOf } from '../catalog/issues.js';

/** Whether the runtime knows `tz` as a zone name (`UTC`, `Europe/Berlin`, …). */
function knownZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * `--tz ZONE` of every command → the zone, or a UsageError quoting it (an abbreviation such as `CEST` or an offset
 * such as `UTC+2` is no zone name: the message says what is).
 */
export function tzOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!knownZone(value)) throw new UsageError(`--tz: unknown time zone ${JSON.stringify(value)} (use an IANA name such as UTC or Europe/Berlin)`);
  return value;
}

export const kmsgSchema = z.enum(['now', 'start', 'ring']);

/** `--kmsg` alone means `--kmsg=now` (`ring` for commands that read a finished log); parseArgs has no optional values. */
export function normaliseKmsgFlag(argv: string[], alone: 'now' | 'ring' = 'now'): string[] {
  return argv.map((a) => (a === '--kmsg' ? `--kmsg=${alone}` : a));
}

/** `--kmsg[=ring]` of the commands that read a finished log (report, suggest): the ring buffer as it is now. */
export function ringOnly(value: string | undefined): 'ring' | false {
  if (value === undefined) return false;
  if (value !== 'ring') throw new UsageError(`--kmsg: this command reads the ring buffer as it is now (--kmsg or --kmsg=ring), not ${JSON.stringify(value)}`);
  return 'ring';
}

/** A parse result of classify/options (parseDuration, parseTimeWindow, …) → value, or a UsageError naming the flag. */
export function must<T>(r: ParseResult<T>, flag: string): T {
  if (!r.ok) throw new UsageError(`${flag}: ${r.message}`);
  return r.value;
}

/**
 * A whole-number flag (`--scan-ports`, `--max-flows`, `--samples`, `--max-rows`, `--port`, …): decimal digits, spaces
 * around them dropped — not `1e3`, `0x10`, `3.0` or an empty value (which Number() reads as 0) — and at least `min`;
 * the upper bound is the flag's schema's.
 */
export function intFlag(text: string, name: string, min: 0 | 1 = 0): number {
  const t = text.trim();
  const n = Number(t);
  if (!/^\d+$/.test(t) || n < min) throw new UsageError(`${name}: not a ${min === 1 ? 'positive' : 'non-negative'} integer: ${JSON.stringify(text)}`);
  if (!Number.isSafeInteger(n)) throw new UsageError(`${name}: too large: ${JSON.stringify(text)}`);
  return n;
}

/** The classifier's flags, as parseArgs gives them (a command declares those it takes). */
export interface ClassifierFlagValues {
  settle?: string | undefined;
  'scan-window'?: string | undefined;
  'scan-ports'?: string | undefined;
  ephemeral?: string | undefined;
  'max-flows'?: string | undefined;
  window?: string | undefined;
}

/** Which flag sets each classifier option. */
const CLASSIFIER_FLAG: Record<string, string> = {
  settleMs: '--settle', scanWindowMs: '--scan-window', scanPorts: '--scan-ports', ephemeral: '--ephemeral', maxFlows: '--max-flows', window: '--window',
};

/**
 * `--settle`, `--scan-window`, `--scan-ports`, `--ephemeral`, `--max-flows` and `--window` (in `tz`) → classifier
 * options, each checked against the classifier's schema here: an out-of-range value is a UsageError naming its flag
 * in every command that takes it (analyze, suggest, report).
 */
export function classifierFlagsOf(v: ClassifierFlagValues, tz: string | undefined): ClassifierOptionsInput {
  const c: ClassifierOptionsInput = {};
  if (v.settle !== undefined) c.settleMs = must(parseDuration(v.settle), '--settle');
  if (v['scan-window'] !== undefined) c.scanWindowMs = must(parseDuration(v['scan-window']), '--scan-window');
  if (v.window !== undefined) c.window = must(parseTimeWindow(v.window, tz), '--window');
  if (v.ephemeral !== undefined) c.ephemeral = must(parsePortRange(v.ephemeral), '--ephemeral');
  if (v['scan-ports'] !== undefined) c.scanPorts = intFlag(v['scan-ports'], '--scan-ports', 1);
  if (v['max-flows'] !== undefined) c.maxFlows = intFlag(v['max-flows'], '--max-flows', 1);
  const r = classifierOptionsSchema.partial().safeParse(c, WORDED);
  if (!r.success) {
    const i = issuesOf(r.error)[0];
    throw new UsageError(`${CLASSIFIER_FLAG[String(i?.path[0])] ?? 'option'}: ${i?.message ?? 'invalid'}`);
  }
  return c;
}

/**
 * `--host-role HOST=ROLE …` → [host, role] pairs. The role is after the last `=` (roles are catalog names; a host
 * name taken from a log may hold anything).
 */
export function hostRolesOf(values: string[] | undefined): Array<[host: string, role: string]> {
  return (values ?? []).map((h) => {
    const i = h.lastIndexOf('=');
    if (i <= 0 || i === h.length - 1) throw new UsageError(`--host-role: expected HOST=ROLE, got "${h}"`);
    return [h.slice(0, i), h.slice(i + 1)];
  });
}

/**
 * An address or CIDR given for the suggestion engine's scopes (`--cluster-subnet`, `--control-plane`): what a policy
 * file's `clusterSubnet`/`controlPlane` may hold (a prefix length, not a dotted netmask, which nft and Talos refuse and
 * a suggested policy fragment could not carry), spaces around it dropped as between `--control-plane`'s commas.
 */
export const cidrSchema = z.string().trim().pipe(policyCidrSchema);

/**
 * `--control-plane ADDR[,ADDR…] …` (repeatable, or comma-separated) → the addresses, unvalidated. A stray comma is
 * let be (`10.0.0.1,`), but a value without any address (`--control-plane "$CP"` of an empty variable) is a
 * UsageError: left out silently, the control-plane ports would be opened to the observed clients instead.
 */
export function controlPlaneOf(values: string[] | undefined): string[] {
  return (values ?? []).flatMap((c) => {
    const addrs = c.split(',').map((a) => a.trim()).filter((a) => a !== '');
    if (addrs.length === 0) throw new UsageError(`--control-plane: no address in ${JSON.stringify(c)}`);
    return addrs;
  });
}

/** The flag behind an options schema's key where it is not the key in kebab case (a list's key is plural, its flag not). */
const FLAG_OF_KEY: Record<string, string> = {
  files: 'FILE', catalogs: '--catalog', extras: '--extra', addons: '--addon', hostRoles: '--host-role', prefixes: '--prefix',
};

/** An options schema's key (`catalogs`, `clusterSubnet`) → the flag the user typed (`--catalog`, `--cluster-subnet`). */
export function flagOfKey(key: string): string {
  return FLAG_OF_KEY[key] ?? `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** A platform, role, CNI or addon name given as a flag (`--platform`, `--role`, `--cni`, `--addon`), in every command. */
export const nameSchema = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'expected a lower-case name (a-z, 0-9, -)');

/**
 * The suggestion engine's scope flags, declared once for every command whose suggestions they shape: suggest, report,
 * and analyze's live view (which runs the same engine: with other flags it proposed other rules for the same lines).
 */
export const SCOPE_FLAGS = {
  'cluster-subnet': { type: 'string' },
  'control-plane': { type: 'string', multiple: true },
  cni: { type: 'string' },
  'allow-unknown': { type: 'boolean' },
} as const;

/** The scope flags as parseArgs gives them. */
export interface ScopeFlagValues {
  'cluster-subnet'?: string | undefined;
  'control-plane'?: string[] | undefined;
  cni?: string | undefined;
  'allow-unknown'?: boolean | undefined;
}

/** The scope flags' options, validated (a command's options schema spreads its shape). */
export const scopeOptionsSchema = z.object({
  clusterSubnet: cidrSchema.optional(),
  controlPlane: z.array(cidrSchema).max(64),
  cni: nameSchema.optional(),
  allowUnknown: z.boolean(),
});

/**
 * The scope flags → the input of scopeOptionsSchema (its keys), unvalidated but for `--control-plane` (controlPlaneOf).
 * The CNI is checked against the catalog where the engine is built (checkCni), as the roles are.
 */
export function scopeFlagsOf(v: ScopeFlagValues): { clusterSubnet: string | undefined; controlPlane: string[]; cni: string | undefined; allowUnknown: boolean } {
  return { clusterSubnet: v['cluster-subnet'], controlPlane: controlPlaneOf(v['control-plane']), cni: v.cni, allowUnknown: v['allow-unknown'] === true };
}

export type ScopeOptions = z.output<typeof scopeOptionsSchema>;

/** The scope flags → their options, validated: a bad value is a UsageError naming its flag, the same as suggest's. */
export function scopeOptionsOf(v: ScopeFlagValues): ScopeOptions {
  const r = scopeOptionsSchema.safeParse(scopeFlagsOf(v), WORDED);
  if (!r.success) {
    const i = issuesOf(r.error)[0];
    throw new UsageError(`${flagOfKey(String(i?.path[0] ?? ''))}: ${i?.message ?? 'invalid'}`);
  }
  return r.data;
}

/** The scope flags given (`--cluster-subnet`, …), in SCOPE_FLAGS' order: for "goes with" errors and notes. */
export function scopeFlagsGiven(v: ScopeFlagValues): string[] {
  return Object.keys(SCOPE_FLAGS).filter((f) => {
    const x = v[f as keyof ScopeFlagValues];
    return x !== undefined && x !== false;
  }).map((f) => `--${f}`);
}

/** The scope options set (parsed), named by their flags as scopeFlagsGiven names them: for notes after parsing. */
export function scopeOptionsGiven(o: ScopeOptions): string[] {
  return scopeFlagsGiven({
    'cluster-subnet': o.clusterSubnet, 'control-plane': o.controlPlane.length > 0 ? o.controlPlane : undefined, cni: o.cni,
    'allow-unknown': o.allowUnknown,
  });
}

/** zod safeParse → value, or a UsageError naming the flag. */
export function flag<T>(schema: z.ZodType<T>, value: unknown, name: string): T {
  const r = schema.safeParse(value, WORDED);
  if (!r.success) throw new UsageError(`${name}: ${issuesOf(r.error)[0]?.message ?? 'invalid value'}`);
  return r.data;
}

/**
 * Wraps node:util parseArgs errors (unknown flag, missing value) as UsageError, on one line: a value that starts with
 * a dash (`--settle -5m`) is "ambiguous" on its first line, and the next ones say how to give it (`--settle=-XYZ`).
 */
export function usageFromParseArgs(e: unknown): never {
  const msg = e instanceof Error ? e.message.split('\n').join(' ') : String(e);
  throw new UsageError(msg, { cause: e });
}

type Options = NonNullable<ParseArgsConfig['options']>;
type CommandArgs<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: boolean; strict: true }>>;

/**
 * A command's words → flags and positionals (node:util parseArgs, strict; positionals unless `allowPositionals` is
 * false); an unknown flag, a missing value or an unwanted positional is a UsageError (run() adds the line pointing to the command's --help).
 */
export function commandArgs<const O extends Options>(args: string[], options: O, allowPositionals = true): CommandArgs<O> {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (e) {
    return usageFromParseArgs(e);
  }
}

/** A `--prefix` value: the start of the LOG prefixes to keep (iptables allows 29 characters, nft 127). */
export const prefixSchema = z.string().min(1).max(128).regex(/^[^\u0000-\u001f\u007f]+$/, 'no control characters');

/** `--prefix P …` (repeatable): the list every command validates. */
export const prefixesSchema = z.array(prefixSchema).max(32, 'at most 32');

/** `--prefix P …` (repeatable) → the validated list, undefined for none. */
export function prefixesOf(values: string[] | undefined): string[] | undefined {
  if (values === undefined || values.length === 0) return undefined;
  return flag(prefixesSchema, values, '--prefix');
}

/** The `--prefix` help line every log-reading command prints, its text starting at column `at` of the usage. */
export function prefixHelp(at: number): string {
  return `${'--prefix P'.padEnd(at - 3)} only LOG lines whose prefix starts with P (repeatable; others are counted)`;
}

/** parseArgs options every command that reads logs live takes (`parse`, `analyze`), declared once. */
export const LIVE_INPUT_FLAGS = {
  tz: { type: 'string' },
  follow: { type: 'boolean' },
  'from-start': { type: 'boolean' },
  kmsg: { type: 'string' },
  prefix: { type: 'string', multiple: true },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * A platform and roles given on the command line, checked against the catalog: an unknown one is a usage error
 * (exit 2), with the names that would do. `flag` names the platform's flag in the message (`--platform`), or is ''
 * where the platform comes as an argument (`fwdiag catalog PLATFORM/ROLE`).
 */
export function checkPlatformRoles(catalog: Catalog, platform: string, roles: readonly string[], flag = '--platform'): void {
  const p = catalog.platforms.get(platform);
  if (p === undefined) {
    throw new UsageError(`${flag === '' ? '' : `${flag}: `}unknown platform "${platform}" (known: ${[...catalog.platforms.keys()].sort().join(', ')})`);
  }
  for (const role of roles) {
    if (!p.roles.some((r) => r.name === role)) throw new UsageError(`unknown role "${role}" for ${platform} (roles: ${p.roles.map((r) => r.name).join(', ')})`);
  }
}

/**
 * `--addon NAME …` (repeatable; `--addon none`: no addon) → the names, unvalidated, or undefined when none is given
 * (the command's default). `none` beside an addon contradicts it: a UsageError (it was dropped, the addon's rows shown).
 */
export function addonFlagsOf(values: string[] | undefined): string[] | undefined {
  if (values === undefined) return undefined;
  const addons = values.filter((a) => a !== 'none');
  if (addons.length > 0 && addons.length < values.length) throw new UsageError(`--addon none: no addon rows, not with --addon ${addons.join(', --addon ')}`);
  return addons;
}

/** Addons given on the command line (`--addon`), checked against the platform's: an unknown one is a UsageError. */
export function checkAddons(catalog: Catalog, platform: string, addons: readonly string[]): void {
  const known = catalog.platforms.get(platform)?.addons.map((x) => x.name) ?? [];
  for (const a of addons) {
    if (!known.includes(a)) throw new UsageError(`--addon: unknown addon "${a}" for ${platform} (addons: ${known.join(', ') || 'none'})`);
  }
}

/** A CNI given on the command line: one of the platform's, or one the catalog's `cni` platform describes. */
export function checkCni(catalog: Catalog, platform: string, cni: string): void {
  const own = catalog.platforms.get(platform)?.cnis ?? [];
  const upstream = catalog.platforms.get('cni')?.roles.map((r) => r.name) ?? [];
  if (!own.includes(cni) && !upstream.includes(cni)) {
    throw new UsageError(`--cni: unknown CNI "${cni}" (known: ${[...new Set([...own, ...upstream])].sort().join(', ')})`);
  }
}
