/**
 * The role catalog's file format (catalog/<platform>.yaml), validated with zod. A catalog entry is one documented
 * inbound requirement: protocol, port or range, service name, the roles that need it, where it may come from, and the
 * document that says so.
 */
import { z } from 'zod';
import { NOT_AN_ADDRESS, cidrInputProblem } from '../ruleset/addr.js';

// What `fwdiag compile` writes into rules, whether a policy or a catalog (its service names, its policyDefaults) says it:
// one set of schemas, so a `--catalog` file cannot put into a rule what a policy may not.

/** A rule comment's most characters. */
export const MAX_COMMENT_CHARS = 120;
/** A rule comment's most bytes in UTF-8: nft keeps 128 with the terminating NUL (iptables 256). */
export const MAX_COMMENT_BYTES = 127;

/** A rule comment that is safe in iptables (256 bytes), nft (127 bytes, no escapes) and shell double quotes. */
export const ruleCommentSchema = z
  .string()
  .min(1)
  .max(MAX_COMMENT_CHARS)
  .regex(/^[^"\\$`\u0000-\u001f\u007f-\u009f]+$/, 'no double quotes, backslashes, $, backticks or control characters')
  .refine((s) => Buffer.byteLength(s) <= MAX_COMMENT_BYTES, `at most ${MAX_COMMENT_BYTES} bytes in UTF-8 (nft's limit)`);

/**
 * `text` shortened to what {@link ruleCommentSchema} allows in length — characters and UTF-8 bytes — cut between
 * code points (never half a character), trailing spaces dropped.
 */
export function fitComment(text: string): string {
  let chars = 0;
  let bytes = 0;
  let out = '';
  for (const c of text) {
    const b = Buffer.byteLength(c);
    if (chars + c.length > MAX_COMMENT_CHARS || bytes + b > MAX_COMMENT_BYTES) break;
    out += c;
    chars += c.length;
    bytes += b;
  }
  return out.length === text.length ? text : out.trimEnd();
}

/** An address or a prefix with a prefix length (`198.18.1.0/24`): nft and Talos take no dotted netmask. */
export const cidrSchema = z.string().superRefine((s, ctx) => {
  const netmask = s.includes('/') && !/\/\d{1,3}$/.test(s);
  const why = netmask ? undefined : cidrInputProblem(s);
  if (netmask || why === NOT_AN_ADDRESS) {
    ctx.addIssue({ code: 'custom', message: `${NOT_AN_ADDRESS} (a prefix length, not a netmask)` });
  } else if (why !== undefined) ctx.addIssue({ code: 'custom', message: why });
});

/** An interface name as iptables `-i` and nft `iifname` take it (`+` at the end: a prefix). */
export const interfaceNameSchema = z.string().regex(/^[A-Za-z0-9_.:@+-]{1,15}$/, 'an interface name');

/** iptables' --log-prefix (at most 29 characters), written bare or in double quotes. */
export const logPrefixSchema = z.string().min(1).max(29).regex(/^[A-Za-z0-9_:.\- [\]]+$/, 'letters, digits, _ : . - [ ] and spaces');

/** Where traffic to a port is expected to come from. `loopback` ports must never be opened to off-node sources. */
export const SCOPES = ['cluster-nodes', 'control-plane-nodes', 'anywhere', 'loopback'] as const;
export type Scope = (typeof SCOPES)[number];

/** Protocols a catalog entry may name. Only tcp/udp/sctp carry ports. */
export const CATALOG_PROTOS = ['tcp', 'udp', 'sctp', 'icmp', 'icmpv6', 'esp', 'ipip'] as const;
export type CatalogProto = (typeof CATALOG_PROTOS)[number];
const PORTED: ReadonlySet<string> = new Set(['tcp', 'udp', 'sctp']);
export function protoHasPorts(proto: string): boolean {
  return PORTED.has(proto);
}

/** An inclusive port range. */
export interface PortRange {
  from: number;
  to: number;
}

const portNumber = z.number().int().min(0).max(65535);
/** `22`, or `"30000-32767"` (inclusive). Normalised to {from, to}. */
export const portSpecSchema = z
  .union([portNumber, z.string().regex(/^\d{1,5}(-\d{1,5})?$/, 'expected N or "A-B"')])
  .transform((v, ctx): PortRange => {
    if (typeof v === 'number') return { from: v, to: v };
    const [a, b] = v.split('-');
    const from = Number(a);
    const to = b === undefined ? from : Number(b);
    if (from > 65535 || to > 65535 || from > to) {
      ctx.addIssue({ code: 'custom', message: `bad port range "${v}"` });
      return z.NEVER;
    }
    return { from, to };
  });

/** Source keys look like the facts file's: `[HV]`, `[TALOS-FW]`. */
const sourceKey = z.string().regex(/^\[[A-Z0-9][A-Z0-9-]*\]$/, 'expected a source key like "[HV]"');
const name = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'expected a lower-case name (a-z, 0-9, -)');

export const entrySchema = z
  .object({
    proto: z.enum(CATALOG_PROTOS),
    port: portSpecSchema.optional(),
    /** the peer's port when the protocol fixes it (DHCP: a server replies from 67 to 68): rules match it too */
    sourcePort: portSpecSchema.optional(),
    icmpTypes: z.array(z.number().int().min(0).max(255)).min(1).optional(),
    /** used as the rule comment by `fwdiag compile` */
    service: ruleCommentSchema,
    roles: z.array(name).min(1),
    scope: z.enum(SCOPES),
    source: sourceKey,
    refs: z.array(sourceKey).optional(),
    /** `low` where the facts file marks the row with `?` (an inference or a conflict between documents) */
    confidence: z.enum(['high', 'low']).default('high'),
    addon: name.optional(),
    cni: name.optional(),
    direction: z.enum(['inbound', 'outbound']).default('inbound'),
    /** false: documented, named and suggestable, but not opened by `fwdiag compile` */
    defaultOpen: z.boolean().default(true),
    note: z.string().max(500).optional(),
  })
  .strict()
  .superRefine((e, ctx) => {
    if (protoHasPorts(e.proto) && e.port === undefined) {
      ctx.addIssue({ code: 'custom', message: `${e.proto} entry "${e.service}" needs a port`, path: ['port'] });
    }
    if (!protoHasPorts(e.proto) && e.port !== undefined) {
      ctx.addIssue({ code: 'custom', message: `${e.proto} entry "${e.service}" cannot have a port`, path: ['port'] });
    }
    if (!protoHasPorts(e.proto) && e.sourcePort !== undefined) {
      ctx.addIssue({ code: 'custom', message: `${e.proto} entry "${e.service}" cannot have a source port`, path: ['sourcePort'] });
    }
    if (e.icmpTypes !== undefined && e.proto !== 'icmp' && e.proto !== 'icmpv6') {
      ctx.addIssue({ code: 'custom', message: 'icmpTypes only for icmp/icmpv6', path: ['icmpTypes'] });
    }
  });

const sourceDocSchema = z
  .object({
    title: z.string().min(1),
    url: z.url().optional(),
    /** a document shipped with the project (the seeds) when there is no public URL */
    document: z.string().min(1).optional(),
  })
  .strict()
  .refine((d) => d.url !== undefined || d.document !== undefined, 'a source needs a url or a document');

/** Names iptables has already: its built-in chains and targets (`-N DROP` fails: "may not clash with target name"). */
const IPTABLES_NAMES = new Set([
  'INPUT', 'OUTPUT', 'FORWARD', 'PREROUTING', 'POSTROUTING', 'ACCEPT', 'DROP', 'RETURN', 'QUEUE', 'REJECT', 'LOG', 'NFLOG',
  'NFQUEUE', 'ULOG', 'MARK', 'CONNMARK', 'SECMARK', 'CONNSECMARK', 'CT', 'NOTRACK', 'TRACE', 'SNAT', 'DNAT', 'MASQUERADE',
  'REDIRECT', 'NETMAP', 'TPROXY', 'TEE', 'CLASSIFY', 'TCPMSS', 'TCPOPTSTRIP', 'DSCP', 'TOS', 'TTL', 'HL', 'ECN', 'AUDIT',
  'CHECKSUM', 'IDLETIMER', 'LED', 'HMARK', 'RATEEST', 'SYNPROXY', 'CLUSTERIP', 'JOURNAL', 'SET',
]);

/**
 * Words nft refuses as a chain name (`chain accept {` is a syntax error, `chain input {` is not): found by trying every
 * word of nft's man page, examples and library with `nft -c` (nftables 1.0.6; test/compile/kernel.test.ts checks them
 * against the nft at hand). nft takes no quoted chain name, so such a name cannot be compiled at all.
 */
export const NFT_RESERVED_WORDS: ReadonlySet<string> = new Set([
  'accept', 'add', 'all', 'and', 'arp', 'bridge', 'cgroup', 'chain', 'comment', 'constant', 'continue', 'counter',
  'cpu', 'create', 'ct', 'day', 'define', 'delete', 'describe', 'device', 'devices', 'dnat', 'drop', 'dst', 'dup',
  'dynamic', 'ecn', 'element', 'elements', 'ether', 'exists', 'expires', 'exthdr', 'fib', 'flags', 'flow',
  'flowtable', 'flush', 'frag', 'fwd', 'gc-interval', 'get', 'goto', 'handle', 'hbh', 'hook', 'hour', 'ibriport',
  'ibrname', 'icmp', 'icmpv6', 'iif', 'iifgroup', 'iifname', 'iiftype', 'include', 'index', 'inet', 'insert',
  'interval', 'ip', 'ip6', 'ipsec', 'jhash', 'jump', 'limit', 'list', 'log', 'lt', 'map', 'mark', 'masquerade',
  'meta', 'meter', 'mh', 'missing', 'monitor', 'netdev', 'nftrace', 'not', 'notrack', 'numgen', 'obriport',
  'obrname', 'offload', 'oif', 'oifgroup', 'oifname', 'oiftype', 'or', 'osf', 'pkttype', 'policy', 'position',
  'priority', 'queue', 'quota', 'random', 'redefine', 'redirect', 'reject', 'rename', 'replace', 'reset', 'return',
  'rt', 'rtclassid', 'rule', 'ruleset', 'secmark', 'set', 'size', 'skgid', 'skuid', 'snat', 'socket', 'srh',
  'symhash', 'synproxy', 'table', 'tcp', 'th', 'time', 'timeout', 'tproxy', 'type', 'typeof', 'udp', 'undefine',
  'update', 'vlan', 'vmap', 'xt',
]);

/** iptables' and nft's chain name rules at once: no name starting with a digit or `-` (nft, iptables), no word nft
 * reserves, none of iptables' own chains' and targets' names. */
export const chainNameSchema = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]{0,27}$/, 'a letter, then up to 27 of A-Z a-z 0-9 _ -')
  .refine((s) => !NFT_RESERVED_WORDS.has(s), 'a word nft reserves (accept, log, meta, tcp …): nft cannot name a chain so')
  .refine((s) => !IPTABLES_NAMES.has(s), 'the name of an iptables built-in chain or target');

/** Defaults `fwdiag compile --platform P` uses when the policy does not say. */
export const policyDefaultsSchema = z
  .object({
    chain: chainNameSchema.optional(),
    interfaces: z.array(interfaceNameSchema).max(32).optional(),
    podCidr: cidrSchema.optional(),
    logPrefix: logPrefixSchema.optional(),
    addons: z.array(name).optional(),
  })
  .strict();

export const catalogFileSchema = z
  .object({
    platform: name,
    title: z.string().min(1),
    roles: z.array(z.object({ name, description: z.string().optional() }).strict()).min(1),
    addons: z
      .array(z.object({ name, description: z.string().optional(), source: sourceKey }).strict())
      .default([]),
    cnis: z.array(name).default([]),
    defaultCni: name.optional(),
    policyDefaults: policyDefaultsSchema.default({}),
    sources: z.record(sourceKey, sourceDocSchema),
    entries: z.array(entrySchema),
  })
  .strict()
  .superRefine((f, ctx) => {
    const roles = new Set(f.roles.map((r) => r.name));
    const addons = new Set(f.addons.map((a) => a.name));
    const known = (k: string) => Object.hasOwn(f.sources, k);
    f.addons.forEach((a, i) => {
      if (!known(a.source)) ctx.addIssue({ code: 'custom', message: `unknown source ${a.source}`, path: ['addons', i] });
    });
    if (f.defaultCni !== undefined && !f.cnis.includes(f.defaultCni)) {
      ctx.addIssue({ code: 'custom', message: `defaultCni ${f.defaultCni} is not in cnis`, path: ['defaultCni'] });
    }
    for (const a of f.policyDefaults.addons ?? []) {
      if (!addons.has(a)) ctx.addIssue({ code: 'custom', message: `unknown addon ${a}`, path: ['policyDefaults', 'addons'] });
    }
    f.entries.forEach((e, i) => {
      for (const k of [e.source, ...(e.refs ?? [])]) {
        if (!known(k)) ctx.addIssue({ code: 'custom', message: `unknown source ${k}`, path: ['entries', i, 'source'] });
      }
      for (const r of e.roles) {
        if (!roles.has(r)) ctx.addIssue({ code: 'custom', message: `unknown role ${r}`, path: ['entries', i, 'roles'] });
      }
      if (e.addon !== undefined && !addons.has(e.addon)) {
        ctx.addIssue({ code: 'custom', message: `unknown addon ${e.addon}`, path: ['entries', i, 'addon'] });
      }
      if (e.cni !== undefined && !f.cnis.includes(e.cni)) {
        ctx.addIssue({ code: 'custom', message: `cni ${e.cni} is not in cnis`, path: ['entries', i, 'cni'] });
      }
    });
  });

export type CatalogFile = z.output<typeof catalogFileSchema>;
export type CatalogFileEntry = z.output<typeof entrySchema>;
export type PolicyDefaults = z.output<typeof policyDefaultsSchema>;

/** One entry as lookups return it: the file entry plus its platform and the resolved source document. */
export interface CatalogEntry {
  platform: string;
  proto: CatalogProto;
  /** absent for protocols without ports (icmp, esp, ipip) */
  port?: PortRange;
  /** the peer's port when the protocol fixes it (DHCP) */
  sourcePort?: PortRange;
  icmpTypes?: number[];
  service: string;
  roles: string[];
  scope: Scope;
  /** the document key, e.g. "[HV]" */
  source: string;
  /** the document's public URL, when it has one */
  url?: string;
  /** the document's title */
  sourceTitle: string;
  refs?: string[];
  confidence: 'high' | 'low';
  addon?: string;
  cni?: string;
  direction: 'inbound' | 'outbound';
  defaultOpen: boolean;
  note?: string;
}

export interface PlatformCatalog {
  platform: string;
  title: string;
  roles: { name: string; description?: string }[];
  addons: { name: string; description?: string; source: string }[];
  cnis: string[];
  defaultCni?: string;
  policyDefaults: PolicyDefaults;
  sources: Record<string, { title: string; url?: string; document?: string }>;
  entries: CatalogEntry[];
  /** where it was read from (a built-in file name or a user path) */
  origin: string;
}
