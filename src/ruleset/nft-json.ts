/**
 * Parser for `nft -j list ruleset` JSON (libnftables JSON schema 1). Pure: parsed JSON in, Ruleset out. Expressions
 * fwdiag does not evaluate are kept as `unknown` matches with a rebuilt nft text.
 */
import { MAX_RULES, MAX_WARNINGS, NON_TERMINAL, normProto } from './iptables-save.js';
import type { Chain, Hook, LogAction, Match, Range, Rule, Ruleset, SetElement, Table, TableFamily, Verdict, VmapEntry } from './model.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const isObj = (v: Json | undefined): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const FAMILIES: ReadonlySet<string> = new Set(['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev']);
const HOOKS: ReadonlySet<string> = new Set(['prerouting', 'input', 'forward', 'output', 'postrouting', 'ingress', 'egress']);

/** Meta keys nft lists bare (nft 1.0.6 on this project's VM: `meta iifname "lo"` lists as `iifname "lo"`). */
const UNQUALIFIED_META = new Set(['iif', 'oif', 'iifname', 'oifname', 'iifgroup', 'oifgroup']);

/** Meta keys whose values are interface names: nft lists them quoted (`iifname "eth1"`, `iif "lo"`). */
const IFACE_META = new Set(['iif', 'oif', 'iifname', 'oifname']);

/**
 * For a match's left side, which of its parts (one, or each of a concatenation's) holds interface names; undefined
 * when none does.
 */
function ifaceParts(left: Json | undefined): boolean[] | undefined {
  const one = (e: Json | undefined): boolean => isObj(e) && isObj(e.meta) && IFACE_META.has(String(e.meta.key));
  const parts = isObj(left) && Array.isArray(left.concat) ? left.concat.map(one) : [one(left)];
  return parts.includes(true) ? parts : undefined;
}

/** The text of a value compared with `parts` ({@link ifaceParts}): interface names quoted, as nft lists them. */
function valueText(e: Json | undefined, parts: boolean[] | undefined): string {
  if (parts === undefined) return exprText(e);
  if (typeof e === 'string') return parts[0] === true && !e.startsWith('@') ? JSON.stringify(e) : exprText(e);
  if (Array.isArray(e)) return `{ ${e.map((x) => valueText(x, parts)).join(', ')} }`;
  if (isObj(e) && e.set !== undefined) return Array.isArray(e.set) ? `{ ${e.set.map((x) => valueText(x, parts)).join(', ')} }` : `{ ${valueText(e.set, parts)} }`;
  if (isObj(e) && Array.isArray(e.concat)) return e.concat.map((x, i) => valueText(x, [parts[i] === true])).join(' . ');
  return exprText(e);
}

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
    // nft lists the interface keys without `meta` (`iifname "eth0"`), the others with it (`meta l4proto tcp`)
    case 'meta': return isObj(v) ? `${UNQUALIFIED_META.has(String(v.key)) ? '' : 'meta '}${exprText(v.key)}` : 'meta';
    case 'ct': return isObj(v) ? `ct ${exprText(v.key)}` : 'ct';
    case 'payload': return isObj(v) ? (v.protocol !== undefined ? `${exprText(v.protocol)} ${exprText(v.field)}` : `@${exprText(v.base)},${exprText(v.offset)},${exprText(v.len)}`) : '';
    case 'concat': return Array.isArray(v) ? v.map(exprText).join(' . ') : '';
    case '&': case '|': case '^': return Array.isArray(v) && v.length === 2 ? `${exprText(v[0])} ${k} ${exprText(v[1])}` : k;
    case 'match': {
      if (!isObj(v)) return '';
      const flags = tcpFlagsText(v);
      if (flags !== undefined) return flags;
      // a bit mask tested against several flags (`ct state established,related`): nft lists them joined by commas
      if (v.op === 'in' && Array.isArray(v.right) && v.right.every((x) => typeof x === 'string' && /^\w+$/.test(x))) {
        return `${exprText(v.left)} ${v.right.join(',')}`;
      }
      const op = v.op === '==' || v.op === 'in' ? '' : `${typeof v.op === 'string' && /^[!<>=]{1,2}$/.test(v.op) ? v.op : exprText(v.op)} `;
      return `${exprText(v.left)} ${op}${valueText(v.right, ifaceParts(v.left))}`;
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
      const parts = ifaceParts(v.key);
      const data = isObj(v.data) && Array.isArray(v.data.set)
        ? `{ ${v.data.set.map((el) => (Array.isArray(el) ? `${valueText(el[0], parts)} : ${exprText(el[1])}` : exprText(el))).join(', ')} }`
        : exprText(v.data);
      return `${exprText(v.key)} vmap ${data}`;
    }
    // `fib daddr type`, `fib saddr . iif oif`: the flags, then what is looked up
    case 'fib': return isObj(v) ? `fib ${Array.isArray(v.flags) ? v.flags.map(exprText).join(' . ') : exprText(v.flags)} ${exprText(v.result)}` : 'fib';
    default: return k;
  }
}

/** A TCP flags value as nft writes it: names joined by `sep` (`fin,syn`, in a set `syn | ack`), no flag `0x0`. */
function flagText(v: Json | undefined, sep: string): string {
  const bits = flagBits(v);
  if (bits === undefined) return exprText(v);
  return bits === 0 ? '0x0' : TCP_FLAG_NAMES.filter((_, i) => (bits & (1 << i)) !== 0).join(sep);
}

/** A `tcp flags` match as nft lists it (`tcp flags syn / fin,syn,rst,ack`, `tcp flags ! fin,rst`, `tcp flags { syn, syn | ack }`), else undefined. */
function tcpFlagsText(m: Obj): string | undefined {
  const left = m.left;
  if (!isObj(left)) return undefined;
  const and = left['&'];
  const masked = Array.isArray(and) && and.length === 2 && isTcpFlags(and[0]);
  if (!masked && !isTcpFlags(left)) return undefined;
  const mask = masked ? and[1] : undefined;
  const op = String(m.op);
  const right = m.right;
  if (isSet(right)) {
    const set = typeof right === 'string' ? right : `{ ${(values(right, new Map()) ?? []).map((e) => flagText(e, ' | ')).join(', ')} }`;
    const how = op === '==' || op === 'in' ? (masked ? '== ' : '') : `${op} `;
    return `tcp flags${masked ? ` & (${flagText(mask, ' | ')})` : ''} ${how}${set}`;
  }
  const value = flagText(right, ',');
  // nft writes a one-flag mask `& ecn == ecn`, a wider one `syn / fin,syn,rst,ack`
  const oneFlag = [1, 2, 4, 8, 16, 32, 64, 128].includes(flagBits(mask) ?? 0);
  if (masked && oneFlag && (op === '==' || op === '!=')) return `tcp flags & ${flagText(mask, ',')} ${op} ${value}`;
  if (masked && (op === '==' || op === '!=')) return `tcp flags ${op === '==' ? '' : '!= '}${value} / ${flagText(mask, ',')}`;
  if (masked) return `tcp flags & (${flagText(mask, ' | ')}) ${op === 'in' ? '' : `${op} `}${value}`;
  return `tcp flags ${op === 'in' ? '' : `${op} `}${value}`;
}

/** A set's element as its value: nft writes `{"elem": {"val": …, "timeout": …}}` for one that carries more. */
const elemValue = (e: Json): Json => (isObj(e) && isObj(e.elem) ? (e.elem.val ?? null) : e);

/** Whether the right side of a match is a set, anonymous or named (a lookup), rather than one value. */
const isSet = (right: Json | undefined) => (typeof right === 'string' && right.startsWith('@')) || (isObj(right) && 'set' in right);

/** Flattens the right side of a match into values (numbers, strings, ranges, prefixes); set references resolved. */
function values(right: Json | undefined, sets: Map<string, Json[]>): Json[] | undefined {
  if (typeof right === 'string' && right.startsWith('@')) return sets.get(right.slice(1));
  if (Array.isArray(right)) return right;
  if (isObj(right) && 'set' in right) {
    const s = right.set;
    return (Array.isArray(s) ? s : [s ?? null]).map(elemValue);
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

/** Addresses, prefixes (`{"prefix": …}`) and ranges (`{"range": [a, b]}`, written `a-b`) as the model keeps them. */
function toCidrs(vals: Json[]): string[] | undefined {
  const out: string[] = [];
  for (const v of vals) {
    if (typeof v === 'string') out.push(v);
    else if (isObj(v) && isObj(v.prefix)) out.push(`${exprText(v.prefix.addr)}/${exprText(v.prefix.len)}`);
    else if (isObj(v) && Array.isArray(v.range) && typeof v.range[0] === 'string' && typeof v.range[1] === 'string') out.push(`${v.range[0]}-${v.range[1]}`);
    else return undefined;
  }
  return out;
}

const strings = (vals: Json[]) => (vals.every((v) => typeof v === 'string') ? (vals as string[]) : undefined);

/** nft's TCP flag names by bit (0x01 fin … 0x80 cwr), and the words a LOG line writes for them. */
const TCP_FLAG_NAMES = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ecn', 'cwr'];
const TCP_FLAG_WORDS = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'];
const flagWords = (bits: number) => TCP_FLAG_WORDS.filter((_, i) => (bits & (1 << i)) !== 0);

/**
 * A TCP flags value as nft JSON writes it — a name, a number, a list of them (`["fin", "syn"]`: both) or
 * `{"|": [a, b]}`, nested — as bits; undefined when it is none of those.
 */
function flagBits(v: Json | undefined): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v <= 0xff ? v : undefined;
  if (typeof v === 'string') {
    if (/^0x[0-9a-f]{1,2}$/i.test(v)) return parseInt(v, 16);
    const i = TCP_FLAG_NAMES.indexOf(v);
    return i < 0 ? undefined : 1 << i;
  }
  const parts = Array.isArray(v) ? v : isObj(v) && Array.isArray(v['|']) ? v['|'] : undefined;
  if (parts === undefined) return undefined;
  let bits = 0;
  for (const x of parts) {
    const b = flagBits(x);
    if (b === undefined) return undefined;
    bits |= b;
  }
  return bits;
}

const isTcpFlags = (e: Json | undefined) => isObj(e) && isObj(e.payload) && e.payload.protocol === 'tcp' && e.payload.field === 'flags';

/** `tcp flags` (all eight bits) or `tcp flags & MASK`: the mask; undefined for any other expression. */
function tcpFlagsMask(left: Obj): number | undefined {
  if (isTcpFlags(left)) return 0xff;
  const and = left['&'];
  if (Array.isArray(and) && and.length === 2 && isTcpFlags(and[0])) return flagBits(and[1]);
  return undefined;
}

/**
 * What the left side of a match reads: the matches it implies whatever the value (`tcp dport`: TCP; `ip saddr`: IPv4,
 * which an inet table does not imply), and the match comparing it with values — a whole set's, or one element's of a
 * concatenation. Undefined: a key fwdiag does not model; `of` gives undefined for a value it cannot read.
 */
interface Key {
  deps: Match[];
  of: (vals: Json[], neg: boolean, text: string) => Match | undefined;
  /** `tcp flags`, masked or not: a value that is no set is one bit pattern, and `in` / `!` test bits */
  flagMask?: number;
}

const protoValues = (vals: Json[]) => {
  const ps = vals.map((v) => (typeof v === 'string' || typeof v === 'number' ? normProto(String(v)) : undefined));
  return ps.every((p) => p !== undefined) ? (ps as string[]) : undefined;
};

function keyOf(left: Json | undefined): Key | undefined {
  if (!isObj(left)) return undefined;
  if (isObj(left.meta)) {
    const key = left.meta.key;
    if (key === 'iifname' || key === 'oifname' || key === 'iif' || key === 'oif') {
      const kind = key.startsWith('i') ? 'iif' : 'oif';
      return {
        deps: [],
        of: (vals, neg) => {
          const names = strings(vals);
          // nft wildcards end in "*"; iptables' in "+": the model uses "+"
          return names === undefined ? undefined : { kind, names: names.map((s) => s.replace(/\*$/, '+')), neg };
        },
      };
    }
    if (key === 'l4proto') return { deps: [], of: (vals, neg) => { const protos = protoValues(vals); return protos && { kind: 'proto', protos, neg }; } };
    if (key === 'nfproto' || key === 'protocol') {
      return {
        deps: [],
        of: (vals, neg) => (vals.length === 1 && (vals[0] === 'ipv4' || vals[0] === 'ipv6' || vals[0] === 'ip' || vals[0] === 'ip6')
          ? { kind: 'nfproto', family: vals[0] === 'ipv4' || vals[0] === 'ip' ? 4 : 6, neg } : undefined),
      };
    }
    return undefined;
  }
  if (isObj(left.ct) && left.ct.key === 'state') {
    return { deps: [], of: (vals, neg) => { const s = strings(vals); return s && { kind: 'ctstate', states: s.map((x) => x.toLowerCase()), neg }; } };
  }
  if (Array.isArray(left.concat)) {
    const keys = left.concat.map(keyOf);
    if (keys.length === 0 || keys.some((k) => k === undefined)) return undefined;
    const ks = keys as Key[];
    const deps: Match[] = [];
    for (const d of ks.flatMap((k) => k.deps)) if (!deps.some((x) => JSON.stringify(x) === JSON.stringify(d))) deps.push(d);
    return {
      deps,
      of: (vals, neg, text) => {
        const elements: SetElement[] = [];
        for (const v of vals) {
          const parts = isObj(v) && Array.isArray(v.concat) ? v.concat : undefined;
          if (parts === undefined || parts.length !== ks.length) return undefined;
          const matches: Match[] = [];
          for (let i = 0; i < ks.length; i++) {
            const m = ks[i]?.of([parts[i] ?? null], false, text);
            if (m === undefined) return undefined;
            matches.push(m);
          }
          elements.push({ text: parts.map(exprText).join(' . '), matches });
        }
        return { kind: 'anyof', text, elements, neg };
      },
    };
  }
  const flagMask = tcpFlagsMask(left);
  if (flagMask !== undefined) {
    return {
      deps: [{ kind: 'proto', protos: ['tcp'], neg: false }],
      flagMask,
      // a set of bit patterns: the flags within the mask equal one of them
      of: (vals, neg, text) => {
        const bits = vals.map(flagBits);
        if (bits.some((b) => b === undefined)) return undefined;
        const one = (b: number): Match => ({ kind: 'tcpflags', mask: flagWords(flagMask), comp: flagWords(b), neg: false });
        if (bits.length === 1) return { ...one(bits[0] as number), neg };
        return { kind: 'anyof', text, elements: (bits as number[]).map((b, i) => ({ text: flagText(vals[i], ' | '), matches: [one(b)] })), neg };
      },
    };
  }
  if (isObj(left.payload) && typeof left.payload.protocol === 'string') {
    const proto = left.payload.protocol;
    const field = left.payload.field;
    if ((proto === 'ip' || proto === 'ip6') && (field === 'saddr' || field === 'daddr')) {
      return {
        deps: [{ kind: 'nfproto', family: proto === 'ip' ? 4 : 6, neg: false }],
        of: (vals, neg) => { const cidrs = toCidrs(vals); return cidrs && { kind: field, cidrs, neg }; },
      };
    }
    if ((proto === 'ip' && field === 'protocol') || (proto === 'ip6' && field === 'nexthdr')) {
      return {
        deps: [{ kind: 'nfproto', family: proto === 'ip' ? 4 : 6, neg: false }],
        // `ip protocol` is the transport protocol; `ip6 nexthdr` only when no extension header comes first
        of: (vals, neg) => { const protos = protoValues(vals); return protos && { kind: proto === 'ip' ? 'proto' : 'nexthdr', protos, neg }; },
      };
    }
    if ((field === 'dport' || field === 'sport') && ['tcp', 'udp', 'sctp', 'udplite', 'th'].includes(proto)) {
      // `th`, the raw transport header, implies no protocol (`th dport != 22` holds for an ICMP packet too)
      const th = proto === 'th';
      return {
        deps: th ? [] : [{ kind: 'proto', protos: [proto], neg: false }],
        of: (vals, neg) => { const ranges = toRanges(vals); return ranges && { kind: field, ranges, neg, ...(th ? { th: true as const } : {}) }; },
      };
    }
    if ((proto === 'icmp' || proto === 'icmpv6') && field === 'type') {
      const names = proto === 'icmp' ? ICMP_NAMES : ICMPV6_NAMES;
      return {
        deps: [{ kind: 'proto', protos: [proto], neg: false }],
        of: (vals, neg) => {
          const types = vals.map((v) => (typeof v === 'number' ? v : typeof v === 'string' ? names[v] : undefined));
          return types.every((t) => t !== undefined) ? { kind: 'icmptype', types: types as number[], neg } : undefined;
        },
      };
    }
  }
  return undefined;
}

/** One `match` expression → fwdiag matches (a payload match also implies its protocol). */
function convertMatch(m: Obj, sets: Map<string, Json[]>): Match[] {
  const text = exprText({ match: m });
  const unknown: Match[] = [{ kind: 'unknown', text }];
  const op = m.op;
  const key = keyOf(m.left);
  if (key === undefined) return unknown;
  if (key.flagMask !== undefined && !isSet(m.right)) {
    // one bit pattern: `==`/`!=` compare the (masked) flags with it; `in` (nft's `tcp flags syn,ack`): one of its
    // flags is set; `!` (`tcp flags ! fin,rst`): none is
    const bits = flagBits(m.right);
    if (bits === undefined) return unknown;
    const mask = flagWords(key.flagMask);
    if (op === '==' || op === '!=') return [...key.deps, { kind: 'tcpflags', mask, comp: flagWords(bits), neg: op === '!=' }];
    if (op === 'in' || op === '!') return [...key.deps, { kind: 'tcpflags', mask: flagWords(key.flagMask & bits), comp: [], any: true, neg: op === '!' }];
    return unknown;
  }
  if (op !== '==' && op !== '!=' && op !== 'in') return unknown;
  const vals = values(m.right, sets);
  if (vals === undefined) return unknown;
  const match = key.of(vals, op === '!=', text);
  return match === undefined ? unknown : [...key.deps, match];
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
          // MARK, CONNMARK … go on to the next rule, as in iptables-save text (a CNI marks packets in INPUT)
          else if (typeof v.name === 'string' && NON_TERMINAL.has(v.name)) out.verdict = { kind: 'continue', target: `xt ${v.name}` };
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
    sets.get(tk)?.set(String(s.name), Array.isArray(elem) ? elem.map(elemValue) : []);
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
