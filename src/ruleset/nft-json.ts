/**
 * Parser for `nft -j list ruleset` JSON (libnftables JSON schema 1). Pure: parsed JSON in, Ruleset out. Expressions
 * fwdiag does not evaluate are kept as `unknown` matches with a rebuilt nft text.
 */
import { MAX_RULES, MAX_WARNINGS, normProto } from './iptables-save.js';
import type { Chain, Hook, LogAction, Match, Range, Rule, Ruleset, Table, TableFamily, Verdict, VmapEntry } from './model.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const isObj = (v: Json | undefined): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const FAMILIES: ReadonlySet<string> = new Set(['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev']);
const HOOKS: ReadonlySet<string> = new Set(['prerouting', 'input', 'forward', 'output', 'postrouting', 'ingress', 'egress']);

/** nft's text for an expression (best effort, for display). */
export function exprText(e: Json | undefined): string {
  if (e === null || e === undefined) return '';
  if (typeof e === 'string') return e.startsWith('@') ? e : /^[\w.:/-]+$/.test(e) ? e : JSON.stringify(e);
  if (typeof e === 'number' || typeof e === 'boolean') return String(e);
  if (Array.isArray(e)) return `{ ${e.map(exprText).join(', ')} }`;
  const [k, v] = Object.entries(e)[0] ?? ['', null];
  switch (k) {
    case 'set': return Array.isArray(v) ? `{ ${v.map(exprText).join(', ')} }` : `{ ${exprText(v)} }`;
    case 'range': return Array.isArray(v) ? `${exprText(v[0])}-${exprText(v[1])}` : '';
    case 'prefix': return isObj(v) ? `${exprText(v.addr)}/${exprText(v.len)}` : '';
    case 'meta': return isObj(v) ? `meta ${exprText(v.key)}` : 'meta';
    case 'ct': return isObj(v) ? `ct ${exprText(v.key)}` : 'ct';
    case 'payload': return isObj(v) ? (v.protocol !== undefined ? `${exprText(v.protocol)} ${exprText(v.field)}` : `@${exprText(v.base)},${exprText(v.offset)},${exprText(v.len)}`) : '';
    case 'match': {
      if (!isObj(v)) return '';
      const op = v.op === '==' || v.op === 'in' ? '' : `${exprText(v.op)} `;
      return `${exprText(v.left)} ${op}${exprText(v.right)}`;
    }
    case 'accept': case 'drop': case 'return': case 'continue': return k;
    case 'reject': return 'reject';
    case 'jump': case 'goto': return isObj(v) ? `${k} ${exprText(v.target)}` : k;
    case 'counter': return 'counter';
    case 'limit': return isObj(v) ? `limit rate ${v.inv === true ? 'over ' : ''}${exprText(v.rate)}/${exprText(v.per)}` : 'limit';
    case 'quota': return isObj(v) ? `quota ${v.inv === true ? 'over ' : ''}${exprText(v.val)} ${exprText(v.val_unit)}` : 'quota';
    case 'log': {
      if (!isObj(v)) return 'log';
      let s = 'log';
      if (v.prefix !== undefined) s += ` prefix ${JSON.stringify(v.prefix)}`;
      if (v.level !== undefined) s += ` level ${exprText(v.level)}`;
      return s;
    }
    case 'xt': return isObj(v) ? `xt ${exprText(v.type)} ${exprText(v.name)}` : 'xt';
    case 'vmap': {
      if (!isObj(v)) return 'vmap';
      const data = isObj(v.data) && Array.isArray(v.data.set)
        ? `{ ${v.data.set.map((el) => (Array.isArray(el) ? `${exprText(el[0])} : ${exprText(el[1])}` : exprText(el))).join(', ')} }`
        : exprText(v.data);
      return `${exprText(v.key)} vmap ${data}`;
    }
    // `fib daddr type`, `fib saddr . iif oif`: the flags, then what is looked up
    case 'fib': return isObj(v) ? `fib ${Array.isArray(v.flags) ? v.flags.map(exprText).join(' . ') : exprText(v.flags)} ${exprText(v.result)}` : 'fib';
    default: return k;
  }
}

/** Flattens the right side of a match into values (numbers, strings, ranges, prefixes); set references resolved. */
function values(right: Json | undefined, sets: Map<string, Json[]>): Json[] | undefined {
  if (typeof right === 'string' && right.startsWith('@')) return sets.get(right.slice(1));
  if (Array.isArray(right)) return right;
  if (isObj(right) && 'set' in right) {
    const s = right.set;
    return Array.isArray(s) ? s : [s ?? null];
  }
  return [right ?? null];
}

function toRanges(vals: Json[]): Range[] | undefined {
  const out: Range[] = [];
  for (const v of vals) {
    if (typeof v === 'number') out.push({ from: v, to: v });
    else if (isObj(v) && Array.isArray(v.range) && typeof v.range[0] === 'number' && typeof v.range[1] === 'number') {
      out.push({ from: v.range[0], to: v.range[1] });
    } else return undefined;
  }
  return out;
}

function toCidrs(vals: Json[]): string[] | undefined {
  const out: string[] = [];
  for (const v of vals) {
    if (typeof v === 'string') out.push(v);
    else if (isObj(v) && isObj(v.prefix)) out.push(`${exprText(v.prefix.addr)}/${exprText(v.prefix.len)}`);
    else return undefined; // ranges of addresses: not modelled
  }
  return out;
}

const strings = (vals: Json[]) => (vals.every((v) => typeof v === 'string') ? (vals as string[]) : undefined);

/** One `match` expression → fwdiag matches (a payload match also implies its protocol). */
function convertMatch(m: Obj, sets: Map<string, Json[]>): Match[] {
  const unknown: Match[] = [{ kind: 'unknown', text: exprText({ match: m }) }];
  const op = m.op;
  if (op !== '==' && op !== '!=' && op !== 'in') return unknown;
  const neg = op === '!=';
  const left = m.left;
  const vals = values(m.right, sets);
  if (vals === undefined || !isObj(left)) return unknown;
  if (isObj(left.meta)) {
    const key = left.meta.key;
    if (key === 'iifname' || key === 'oifname' || key === 'iif' || key === 'oif') {
      const names = strings(vals);
      // nft wildcards end in "*"; iptables' in "+": the model uses "+"
      if (names !== undefined) return [{ kind: key.startsWith('i') ? 'iif' : 'oif', names: names.map((s) => s.replace(/\*$/, '+')), neg }];
    }
    if (key === 'l4proto') {
      const ps = vals.map((v) => (typeof v === 'string' || typeof v === 'number' ? normProto(String(v)) : undefined));
      if (ps.every((p) => p !== undefined)) return [{ kind: 'proto', protos: ps as string[], neg }];
    }
    if ((key === 'nfproto' || key === 'protocol') && vals.length === 1 && (vals[0] === 'ipv4' || vals[0] === 'ipv6' || vals[0] === 'ip' || vals[0] === 'ip6')) {
      return [{ kind: 'nfproto', family: vals[0] === 'ipv4' || vals[0] === 'ip' ? 4 : 6, neg }];
    }
    return unknown;
  }
  if (isObj(left.ct) && left.ct.key === 'state') {
    const s = strings(vals);
    if (s !== undefined) return [{ kind: 'ctstate', states: s.map((x) => x.toLowerCase()), neg }];
    return unknown;
  }
  if (isObj(left.payload) && typeof left.payload.protocol === 'string') {
    const proto = left.payload.protocol;
    const field = left.payload.field;
    if ((proto === 'ip' || proto === 'ip6') && (field === 'saddr' || field === 'daddr')) {
      const cidrs = toCidrs(vals);
      if (cidrs !== undefined) return [{ kind: 'nfproto', family: proto === 'ip' ? 4 : 6, neg: false }, { kind: field, cidrs, neg }];
    }
    if ((proto === 'ip' && field === 'protocol') || (proto === 'ip6' && field === 'nexthdr')) {
      const ps = vals.map((v) => (typeof v === 'string' || typeof v === 'number' ? normProto(String(v)) : undefined));
      if (ps.every((p) => p !== undefined)) {
        // `ip protocol` is the transport protocol; `ip6 nexthdr` only when no extension header comes first
        const m: Match = proto === 'ip' ? { kind: 'proto', protos: ps as string[], neg } : { kind: 'nexthdr', protos: ps as string[], neg };
        return [{ kind: 'nfproto', family: proto === 'ip' ? 4 : 6, neg: false }, m];
      }
    }
    if ((field === 'dport' || field === 'sport') && ['tcp', 'udp', 'sctp', 'udplite', 'th'].includes(proto)) {
      const ranges = toRanges(vals);
      if (ranges !== undefined) {
        const pm: Match[] = proto === 'th' ? [{ kind: 'proto', protos: ['tcp', 'udp', 'sctp', 'udplite'], neg: false }] : [{ kind: 'proto', protos: [proto], neg: false }];
        return [...pm, { kind: field, ranges, neg }];
      }
    }
    if ((proto === 'icmp' || proto === 'icmpv6') && field === 'type') {
      const names = proto === 'icmp' ? ICMP_NAMES : ICMPV6_NAMES;
      const types = vals.map((v) => (typeof v === 'number' ? v : typeof v === 'string' ? names[v] : undefined));
      if (types.every((t) => t !== undefined)) return [{ kind: 'proto', protos: [proto], neg: false }, { kind: 'icmptype', types: types as number[], neg }];
    }
  }
  return unknown;
}

/** nft's ICMP type names (`nft describe icmp type`), and ICMPv6's, which number the same names differently. */
const ICMP_NAMES: Readonly<Record<string, number>> = {
  'echo-reply': 0, 'destination-unreachable': 3, 'source-quench': 4, redirect: 5, 'echo-request': 8, 'router-advertisement': 9,
  'router-solicitation': 10, 'time-exceeded': 11, 'parameter-problem': 12, 'timestamp-request': 13, 'timestamp-reply': 14,
  'info-request': 15, 'info-reply': 16, 'address-mask-request': 17, 'address-mask-reply': 18,
};
const ICMPV6_NAMES: Readonly<Record<string, number>> = {
  'destination-unreachable': 1, 'packet-too-big': 2, 'time-exceeded': 3, 'parameter-problem': 4, 'echo-request': 128,
  'echo-reply': 129, 'mld-listener-query': 130, 'mld-listener-report': 131, 'mld-listener-done': 132, 'mld-listener-reduction': 132,
  'nd-router-solicit': 133, 'nd-router-advert': 134, 'nd-neighbor-solicit': 135, 'nd-neighbor-advert': 136, 'nd-redirect': 137,
  'router-renumbering': 138, 'ind-neighbor-solicit': 141, 'ind-neighbor-advert': 142, 'mld2-listener-report': 143,
};

/** A plain verdict expression (`{"accept": null}`, `{"jump": {"target": "x"}}` …), or undefined. */
function plainVerdict(e: Json): VmapEntry['verdict'] | undefined {
  if (!isObj(e)) return undefined;
  const [k, v] = Object.entries(e)[0] ?? ['', null];
  switch (k) {
    case 'accept': return { kind: 'accept' };
    case 'drop': return { kind: 'drop' };
    case 'reject': return isObj(v) && typeof v.type === 'string' ? { kind: 'reject', with: v.type } : { kind: 'reject' };
    case 'return': return { kind: 'return' };
    case 'continue': return { kind: 'continue' };
    case 'jump': case 'goto': return isObj(v) && typeof v.target === 'string' ? { kind: k, target: v.target } : undefined;
    default: return undefined;
  }
}

/**
 * `KEY vmap { VALUE : VERDICT, … }` (inline, or a named map `@m` of type verdict) → one entry per element, its value
 * turned into the matches `KEY == VALUE` would give. Undefined when a key or value is not one fwdiag models: the
 * rule is then kept with an unknown match, as before.
 */
function convertVmap(v: Obj, sets: Map<string, Json[]>): Verdict | undefined {
  const elems = isObj(v.data) && Array.isArray(v.data.set) ? v.data.set
    : typeof v.data === 'string' && v.data.startsWith('@') ? sets.get(v.data.slice(1)) : undefined;
  if (elems === undefined || v.key === undefined) return undefined;
  const entries: VmapEntry[] = [];
  for (const el of elems) {
    if (!Array.isArray(el) || el.length !== 2) return undefined;
    const verdict = plainVerdict(el[1] as Json);
    if (verdict === undefined) return undefined;
    const matches = convertMatch({ op: '==', left: v.key, right: el[0] as Json }, sets);
    if (matches.some((m) => m.kind === 'unknown')) return undefined;
    entries.push({ matches, verdict });
  }
  return { kind: 'vmap', entries };
}

interface Converted {
  matches: Match[];
  log?: LogAction;
  verdict: Verdict;
  comment?: string;
  xt: boolean;
}

function convertRule(expr: Json[], sets: Map<string, Json[]>): Converted {
  const out: Converted = { matches: [], verdict: { kind: 'continue' }, xt: false };
  for (const e of expr) {
    if (!isObj(e)) continue;
    const [k, v] = Object.entries(e)[0] ?? ['', null];
    switch (k) {
      case 'match': if (isObj(v)) out.matches.push(...convertMatch(v, sets)); break;
      case 'counter': break;
      case 'limit': out.matches.push({
        kind: 'limit', rate: isObj(v) ? `${exprText(v.rate)}/${exprText(v.per)}` : '?',
        ...(isObj(v) && typeof v.burst === 'number' ? { burst: v.burst } : {}), ...(isObj(v) && v.inv === true ? { over: true } : {}),
      }); break;
      case 'quota': out.matches.push({ kind: 'quota', text: exprText(e), over: isObj(v) && v.inv === true }); break;
      case 'log': {
        const l: LogAction = {};
        if (isObj(v) && typeof v.prefix === 'string') l.prefix = v.prefix;
        if (isObj(v) && typeof v.level === 'string') l.level = v.level;
        out.log = l;
        break;
      }
      case 'accept': out.verdict = { kind: 'accept' }; break;
      case 'drop': out.verdict = { kind: 'drop' }; break;
      case 'reject': out.verdict = isObj(v) && typeof v.type === 'string' ? { kind: 'reject', with: v.type } : { kind: 'reject' }; break;
      case 'return': out.verdict = { kind: 'return' }; break;
      case 'jump': case 'goto':
        if (isObj(v) && typeof v.target === 'string') out.verdict = { kind: k, target: v.target };
        break;
      case 'xt': {
        out.xt = true;
        // iptables-nft rules shown through nft: the extension's options are opaque here
        if (isObj(v) && v.type === 'target') {
          if (v.name === 'LOG') out.log = {};
          else out.verdict = { kind: 'other', target: `xt ${exprText(v.name)}` };
        } else if (isObj(v) && v.name === 'comment') {
          // a comment never changes whether a rule matches
        } else if (isObj(v) && (v.name === 'conntrack' || v.name === 'state')) {
          // the states are opaque here; a ctstate match is "unknown" for a logged packet either way
          out.matches.push({ kind: 'ctstate', states: ['(not shown by nft)'], neg: false });
        } else out.matches.push({ kind: 'unknown', text: exprText(e) });
        break;
      }
      case 'vmap': {
        const vm = isObj(v) ? convertVmap(v, sets) : undefined;
        if (vm !== undefined) out.verdict = vm;
        else out.matches.push({ kind: 'unknown', text: exprText(e) });
        break;
      }
      case 'queue': out.verdict = { kind: 'other', target: 'queue' }; break;
      case 'dnat': case 'snat': case 'masquerade': case 'redirect': out.verdict = { kind: 'other', target: k }; break;
      case 'mangle': case 'ct helper': case 'notrack': case 'meta': case 'set': break;
      default: out.matches.push({ kind: 'unknown', text: exprText(e) });
    }
  }
  return out;
}

const IPTABLES_TABLES: ReadonlySet<string> = new Set(['filter', 'nat', 'mangle', 'raw', 'security']);
const IPTABLES_CHAINS: ReadonlySet<string> = new Set(['INPUT', 'FORWARD', 'OUTPUT', 'PREROUTING', 'POSTROUTING']);

/**
 * A table iptables-nft made even without an `xt` expression (its simple matches are translated to native ones): an
 * ip/ip6 table of an iptables table name whose base chains have iptables' upper-case names. nft users name theirs
 * freely, and hardly ever so.
 */
function iptablesShaped(t: Table): boolean {
  if ((t.family !== 'ip' && t.family !== 'ip6') || !IPTABLES_TABLES.has(t.name)) return false;
  const bases = t.chains.filter((c) => c.hook !== undefined);
  return bases.length > 0 && bases.every((c) => IPTABLES_CHAINS.has(c.name));
}

/** Parses `nft -j list ruleset` output (already JSON.parse'd). Anything not shaped like it becomes a warning. */
export function parseNftJson(doc: unknown): Ruleset {
  const warnings: string[] = [];
  let warningCount = 0;
  const warn = (m: string) => {
    warningCount++;
    if (warnings.length < MAX_WARNINGS) warnings.push(m);
  };
  const root = doc as Json;
  const items = isObj(root) && Array.isArray(root.nftables) ? root.nftables : undefined;
  if (items === undefined) return { format: 'nft-json', tables: [], warnings: ['not nft JSON: no "nftables" array'] };
  const tables = new Map<string, Table>();
  const chains = new Map<string, Chain>();
  const sets = new Map<string, Map<string, Json[]>>();
  const key = (f: string, t: string) => `${f}\u0000${t}`;
  let ruleCount = 0;
  let xtRules = 0;
  /** tables holding an iptables-nft `xt` expression: iptables manages them (see Table.native) */
  const xtTables = new Set<string>();
  const getTable = (family: string, name: string): Table | undefined => {
    if (!FAMILIES.has(family)) return undefined;
    let t = tables.get(key(family, name));
    if (t === undefined) {
      t = { family: family as TableFamily, name, chains: [] };
      tables.set(key(family, name), t);
    }
    return t;
  };
  // sets and maps first: rules may reference them listed after them (a map's elements are [key, value] pairs)
  for (const it of items) {
    if (!isObj(it)) continue;
    const s = isObj(it.set) ? it.set : isObj(it.map) ? it.map : undefined;
    if (s === undefined) continue;
    const tk = key(String(s.family), String(s.table));
    if (!sets.has(tk)) sets.set(tk, new Map());
    const elem = s.elem;
    sets.get(tk)?.set(String(s.name), Array.isArray(elem) ? elem.map((e) => (isObj(e) && 'elem' in e && isObj(e.elem) ? (e.elem.val ?? null) : e)) : []);
  }
  for (const it of items) {
    if (!isObj(it)) continue;
    if (isObj(it.table)) {
      if (getTable(String(it.table.family), String(it.table.name)) === undefined) warn(`table family ${String(it.table.family)} not modelled`);
    } else if (isObj(it.chain)) {
      const c = it.chain;
      const t = getTable(String(c.family), String(c.table));
      if (t === undefined) continue;
      const chain: Chain = { name: String(c.name), rules: [] };
      if (typeof c.hook === 'string' && HOOKS.has(c.hook)) {
        chain.hook = c.hook as Hook;
        chain.priority = typeof c.prio === 'number' ? c.prio : 0;
        if (typeof c.type === 'string') chain.type = c.type;
        chain.policy = c.policy === 'drop' ? 'drop' : 'accept';
      }
      t.chains.push(chain);
      chains.set(`${key(String(c.family), String(c.table))}\u0000${chain.name}`, chain);
    } else if (isObj(it.rule)) {
      const r = it.rule;
      if (++ruleCount > MAX_RULES) {
        if (ruleCount === MAX_RULES + 1) warn(`more than ${MAX_RULES} rules: the rest is ignored`);
        continue;
      }
      const tk = key(String(r.family), String(r.table));
      const chain = chains.get(`${tk}\u0000${String(r.chain)}`);
      if (chain === undefined || !Array.isArray(r.expr)) {
        warn(`rule ${String(r.handle)} in unknown chain ${String(r.chain)}`);
        continue;
      }
      const conv = convertRule(r.expr, sets.get(tk) ?? new Map());
      if (conv.xt) {
        xtRules++;
        xtTables.add(tk);
      }
      const text = r.expr.map(exprText).filter((s) => s !== '' && s !== 'counter').join(' ') + (typeof r.comment === 'string' ? ` comment ${JSON.stringify(r.comment)}` : '');
      const rule: Rule = { index: chain.rules.length + 1, text, matches: conv.matches, verdict: conv.verdict };
      if (typeof r.handle === 'number') rule.handle = r.handle;
      if (conv.log !== undefined) rule.log = conv.log;
      if (typeof r.comment === 'string') rule.comment = r.comment;
      chain.rules.push(rule);
    }
  }
  if (xtRules > 0) {
    warn(`${xtRules} rule(s) use iptables-nft "xt" extensions whose options nft JSON does not show (conntrack, comment, LOG prefix…): read this ruleset with iptables-save instead`);
  }
  if (warningCount > warnings.length) warnings.push(`${warningCount - warnings.length} more warnings`);
  for (const [k, t] of tables) if (!xtTables.has(k) && !iptablesShaped(t)) t.native = true;
  return { format: 'nft-json', tables: [...tables.values()], warnings };
}
