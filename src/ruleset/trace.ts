/**
 * Traces one logged drop through a ruleset: the path of rules it visited, the rule (or policy) that decided it, and
 * the "near misses" — ACCEPT rules for the same protocol/port that exist but did not let the packet through, and why.
 * Pure and synchronous.
 *
 * What a log line cannot tell: conntrack state, marks, ipset membership, rate-limit buckets. Matches on those are
 * "unknown": ctstate and other unknown matches are taken as NOT matching (the packet was logged as dropped, so no
 * ACCEPT that depended on them let it through); rate limits are taken as not exceeded. Every such assumption is
 * listed in the step and in `notes`.
 */
import type { DropEvent } from '../parse/event.js';
import { parseAddrSpan, parseIp, spanContains } from './addr.js';
import type { AddrSpan } from './addr.js';
import { normProto } from './iptables-save.js';
import type { Chain, Hook, Match, Range, Rule, RuleRef, Ruleset, SetElement, Table, VmapEntry } from './model.js';

/** Rule evaluations per trace beyond this stop the trace (a loop in the ruleset, or a huge one). */
export const MAX_TRACE_STEPS = 20_000;
/** Jump depth beyond this stops the trace (the kernel refuses loops; a saved ruleset may still contain one). */
export const MAX_JUMP_DEPTH = 64;
/** Near misses reported per trace. */
export const MAX_NEAR_MISSES = 50;

/** The packet as far as a log line describes it. */
export interface Packet {
  family: 4 | 6;
  in: string;
  out: string;
  src?: string;
  dst?: string;
  /** lower-case: tcp, udp, icmp, icmpv6, … */
  proto?: string;
  spt?: number;
  dpt?: number;
  flags?: string[];
  icmpType?: number;
  icmpCode?: number;
  /** ESP's and AH's security parameter index */
  spi?: number;
}

export type Tri = 'yes' | 'no' | 'unknown';

export interface MatchEval {
  match: Match;
  result: Tri;
  /** human text: what the rule wants and what the packet has */
  why: string;
}

export type StepAction =
  | 'none' | 'log' | 'accept' | 'drop' | 'reject' | 'jump' | 'goto' | 'return' | 'continue' | 'other'
  | 'policy-accept' | 'policy-drop';

export interface TraceStep {
  /** the rule, or for a policy step the chain (index 0, text "policy …") */
  ref: RuleRef;
  policy: boolean;
  matched: boolean;
  action: StepAction;
  /** jump depth, 0 in a base chain */
  depth: number;
  /** matches the packet failed */
  failed: MatchEval[];
  /** matches that could not be evaluated, and what was assumed */
  assumed: MatchEval[];
  /** the LOG prefix when this rule logged */
  logPrefix?: string;
  /** the chain a jump/goto went to, or the target of an `other` verdict */
  target?: string;
}

export type NearMissKind = 'shadowed' | 'interface' | 'source' | 'ctstate' | 'unreachable' | 'other';

export interface NearMissReason {
  kind: NearMissKind;
  detail: string;
  /** the jump rule the reason belongs to, when it is not the ACCEPT itself */
  via?: RuleRef;
}

export interface NearMiss {
  rule: RuleRef;
  comment?: string;
  reasons: NearMissReason[];
}

export interface TraceResult {
  packet: Packet;
  hooks: Hook[];
  steps: TraceStep[];
  /** the traced outcome; `none`: no base chain of this family sees the packet */
  verdict: 'accept' | 'drop' | 'reject' | 'other' | 'none';
  /** the step that decided a drop/reject (a rule or a policy) */
  decidedBy?: TraceStep;
  /** the LOG rule whose prefix equals the event's, and whether the trace reached it */
  logRule?: { ref: RuleRef; reached: boolean };
  nearMisses: NearMiss[];
  notes: string[];
  truncated: boolean;
}

export interface TraceOptions {
  /** family when the event has none (no SRC/DST). @default inferred from the event's addresses, else 4 */
  family?: 4 | 6;
}

/** The packet fields fwdiag can match on, from a parsed LOG line. */
export function packetFromEvent(ev: DropEvent, opts: TraceOptions = {}): Packet {
  const family = ev.family ?? opts.family ?? (ev.src?.includes(':') ? 6 : 4);
  const p: Packet = { family, in: ev.in, out: ev.out };
  if (ev.src !== undefined) p.src = ev.src;
  if (ev.dst !== undefined) p.dst = ev.dst;
  if (ev.proto !== undefined) p.proto = normProto(ev.proto);
  if (ev.spt !== undefined) p.spt = ev.spt;
  if (ev.dpt !== undefined) p.dpt = ev.dpt;
  if (ev.flags !== undefined) p.flags = ev.flags;
  if (ev.icmp !== undefined) {
    p.icmpType = ev.icmp.type;
    p.icmpCode = ev.icmp.code;
  }
  if (ev.spi !== undefined) p.spi = ev.spi;
  return p;
}

/** Which hooks a logged packet went through, in order: from IN=/OUT= (both set: forwarded). */
export function hooksFor(p: Packet): Hook[] {
  if (p.in !== '' && p.out !== '') return ['prerouting', 'forward'];
  if (p.in !== '') return ['prerouting', 'input'];
  return ['output'];
}

const ranges = (rs: Range[]) => rs.map((r) => (r.from === r.to ? String(r.from) : `${r.from}:${r.to}`)).join(',');
const inRanges = (rs: Range[], n: number) => rs.some((r) => n >= r.from && n <= r.to);
const not = (neg: boolean) => (neg ? '! ' : '');

function ifaceMatches(pattern: string, name: string): boolean {
  return pattern.endsWith('+') ? name.startsWith(pattern.slice(0, -1)) : pattern === name;
}

/**
 * What nft's `th sport` / `th dport` load from the packet: bytes 0-1 / 2-3 of its transport header, whatever the
 * protocol — the ports of TCP, UDP, SCTP and UDP-Lite; ICMP's type and code (sport) and checksum (dport); ESP's SPI,
 * high and low half; AH's reserved field (dport: 0). `none`: the packet has no such header to load (a later fragment
 * or a cut packet: the line shows no port, ICMP type or SPI), so the rule does not match, negated or not (nft's
 * payload load breaks the rule). `unseen`: bytes the line does not show (ICMP's checksum, AH's header lengths, other
 * protocols).
 */
function thValue(field: 'sport' | 'dport', p: Packet): number | 'none' | 'unseen' {
  switch (p.proto) {
    case 'tcp': case 'udp': case 'sctp': case 'udplite': {
      const port = field === 'dport' ? p.dpt : p.spt;
      return port ?? 'none';
    }
    case 'icmp': case 'icmpv6':
      if (p.icmpType === undefined) return 'none';
      return field === 'dport' || p.icmpCode === undefined ? 'unseen' : (p.icmpType << 8) | p.icmpCode;
    case 'esp':
      if (p.spi === undefined) return 'none';
      return field === 'sport' ? p.spi >>> 16 : p.spi & 0xffff;
    case 'ah':
      if (p.spi === undefined) return 'none';
      return field === 'dport' ? 0 : 'unseen';
    default:
      return 'unseen';
  }
}

/** Evaluates one match against the packet. */
export function evalMatch(m: Match, p: Packet): MatchEval {
  const res = (result: Tri, why: string): MatchEval => ({ match: m, result, why });
  const flip = (ok: boolean, neg: boolean): Tri => (ok !== neg ? 'yes' : 'no');
  switch (m.kind) {
    case 'iif':
    case 'oif': {
      const dev = m.kind === 'iif' ? p.in : p.out;
      const ok = m.names.some((n) => ifaceMatches(n, dev));
      return res(flip(ok, m.neg), `${m.kind === 'iif' ? 'in' : 'out'}-interface ${not(m.neg)}${m.names.join(',')} (packet ${m.kind === 'iif' ? 'IN' : 'OUT'}=${dev || '""'})`);
    }
    case 'saddr':
    case 'daddr': {
      const addr = m.kind === 'saddr' ? p.src : p.dst;
      // a named set may hold thousands: the first few are named
      const label = `${m.kind === 'saddr' ? 'source' : 'destination'} ${not(m.neg)}${m.cidrs.length > 8 ? `${m.cidrs.slice(0, 8).join(',')},… (${m.cidrs.length} in all)` : m.cidrs.join(',')}`;
      if (addr === undefined) return res('unknown', `${label} (the line has no address)`);
      const ip = packetIp(p, addr);
      const spans = spansOf(m);
      if (ip === undefined || spans === undefined) return res('unknown', `${label} (not an address fwdiag can compare)`);
      const ok = spans.some((x) => spanContains(x, ip));
      return res(flip(ok, m.neg), `${label} (packet ${m.kind === 'saddr' ? 'SRC' : 'DST'}=${addr})`);
    }
    case 'proto': {
      if (p.proto === undefined) return res('unknown', `protocol ${not(m.neg)}${m.protos.join(',')} (the line has no PROTO)`);
      return res(flip(m.protos.includes(p.proto), m.neg), `protocol ${not(m.neg)}${m.protos.join(',')} (packet ${p.proto})`);
    }
    case 'dport':
    case 'sport':
    case 'anyport': {
      if (m.kind !== 'anyport' && m.th === true) {
        const label = `th ${m.kind} ${not(m.neg)}${ranges(m.ranges)}`;
        const v = thValue(m.kind, p);
        const what = m.kind === 'dport' ? 'bytes 2-3' : 'bytes 0-1';
        if (v === 'none') return res('no', `${label} (packet ${p.proto ?? '?'} without its header: no ${what} of one to compare)`);
        if (v === 'unseen') {
          // ICMP's checksum is a value the line does not show; that it equals the one given is a 1-in-65,536 chance
          if (p.proto === 'icmp' || p.proto === 'icmpv6') return res(flip(false, m.neg), `${label} (packet ${p.proto}: its ${what} are the checksum, not in the line: taken as none of these)`);
          return res('unknown', `${label} (packet ${p.proto ?? '?'}: its ${what} are not in the line: taken as not matching)`);
        }
        return res(flip(inRanges(m.ranges, v), m.neg), `${label} (packet ${p.proto} ${what}: ${v})`);
      }
      const label = `${m.kind === 'anyport' ? 'ports' : m.kind} ${not(m.neg)}${ranges(m.ranges)}`;
      const ports = m.kind === 'dport' ? [p.dpt] : m.kind === 'sport' ? [p.spt] : [p.spt, p.dpt];
      if (ports.every((x) => x === undefined)) return res('no', `${label} (packet has no ports)`);
      const ok = ports.some((x) => x !== undefined && inRanges(m.ranges, x));
      const have = m.kind === 'dport' ? `DPT=${p.dpt}` : m.kind === 'sport' ? `SPT=${p.spt}` : `SPT=${p.spt} DPT=${p.dpt}`;
      return res(flip(ok, m.neg), `${label} (packet ${have})`);
    }
    case 'ctstate':
      return res('unknown', `ctstate ${not(m.neg)}${m.states.join(',')} (not in a log line: taken as not matching)`);
    case 'tcpflags': {
      const label = m.any === true ? `tcp-flags ${m.neg ? 'none' : 'any'} of ${m.mask.join(',') || 'NONE'}` : `tcp-flags ${not(m.neg)}${m.mask.join(',')} ${m.comp.join(',') || 'NONE'}`;
      if (p.proto !== 'tcp') return res('no', `${label} (not TCP)`);
      if (p.flags === undefined) return res('unknown', `${label} (the line has no TCP flags)`);
      const flags = p.flags;
      // the flags within the mask equal the wanted ones (a wanted flag outside the mask never does, as in the kernel)
      const ok = m.any === true ? m.mask.some((f) => flags.includes(f))
        : m.mask.every((f) => flags.includes(f) === m.comp.includes(f)) && m.comp.every((f) => m.mask.includes(f));
      return res(flip(ok, m.neg), `${label} (packet ${flags.join(' ') || 'no flags'})`);
    }
    case 'icmptype': {
      const label = `icmp type ${not(m.neg)}${m.types.join(',')}${m.code === undefined ? '' : ` code ${m.code}`}`;
      if (p.icmpType === undefined) return res('no', `${label} (not ICMP)`);
      const have = `packet TYPE=${p.icmpType}${m.code === undefined ? '' : ` CODE=${p.icmpCode ?? '?'}`}`;
      if (m.code !== undefined && p.icmpCode === undefined && m.types.includes(p.icmpType)) return res('unknown', `${label} (${have}: taken as not matching)`);
      return res(flip(m.types.includes(p.icmpType) && (m.code === undefined || m.code === p.icmpCode), m.neg), `${label} (${have})`);
    }
    case 'nexthdr': {
      const label = `ip6 nexthdr ${not(m.neg)}${m.protos.join(',')}`;
      if (p.family !== 6) return res('no', `${label} (not IPv6)`);
      // MLD (RFC 2710, 3810) always carries a router alert in a hop-by-hop header: the first next header is 0
      if (p.proto === 'icmpv6' && p.icmpType !== undefined && MLD_TYPES.has(p.icmpType)) {
        return res(flip(m.protos.some((x) => HOP_BY_HOP.has(x)), m.neg), `${label} (an MLD message: a hop-by-hop header comes first)`);
      }
      return res('unknown', `${label} (the line's PROTO=${p.proto ?? '?'} is the last header, the first only without extension headers, which a log line does not show: taken as not matching)`);
    }
    case 'nfproto':
      return res(flip(m.family === p.family, m.neg), `${not(m.neg)}ipv${m.family} (packet IPv${p.family})`);
    case 'limit':
      return res('unknown', `limit ${m.over === true ? 'over ' : ''}${m.rate}${m.burst === undefined ? '' : ` burst ${m.burst}`} (taken as under the rate${m.over === true ? ': not matching' : ''})`);
    case 'quota':
      return res('unknown', `${m.text} (taken as not used up${m.over ? ': not matching' : ''})`);
    case 'anyof': {
      // the first element the packet meets decides; one that cannot be judged (a conntrack state) leaves it open
      const label = m.text.length > 120 ? `${m.text.slice(0, 119)}…` : m.text;
      const have = `packet ${[...new Set((m.elements[0]?.matches ?? []).map((x) => packetField(x, p)))].join(' ')}`;
      let open: SetElement | undefined;
      const tests = testsOf(m);
      for (const [i, el] of m.elements.entries()) {
        let r: Tri = 'yes';
        for (const test of tests[i] ?? []) {
          const e = test(p);
          if (e === 'no') {
            r = 'no';
            break;
          }
          if (e === 'unknown') r = 'unknown';
        }
        if (r === 'yes') return res(flip(true, m.neg), `${label} (${have}: element ${el.text})`);
        if (r === 'unknown') open ??= el;
      }
      if (open !== undefined) return res('unknown', `${label} (element ${open.text} cannot be judged from the line: taken as not matching)`);
      return res(flip(false, m.neg), `${label} (${have}: no element)`);
    }
    case 'unknown':
      return res('unknown', `${m.text} (fwdiag cannot evaluate this: taken as not matching)`);
  }
}

/**
 * A set's elements as tests giving evalMatch's result without its words (a named set may hold thousands), made once
 * per set: addresses (parsed once), ports, protocols and interfaces directly, the rest through evalMatch.
 */
const elementTests = new WeakMap<Match, Array<Array<(p: Packet) => Tri>>>();
function testsOf(m: Match & { elements: SetElement[] }): Array<Array<(p: Packet) => Tri>> {
  let tests = elementTests.get(m);
  if (tests === undefined) elementTests.set(m, (tests = m.elements.map((el) => el.matches.map(testOf))));
  return tests;
}

function testOf(m: Match): (p: Packet) => Tri {
  const tri = (ok: boolean, neg: boolean): Tri => (ok !== neg ? 'yes' : 'no');
  switch (m.kind) {
    case 'saddr': case 'daddr': {
      const spans = spansOf(m);
      const src = m.kind === 'saddr';
      return (p) => {
        const ip = packetIp(p, src ? p.src : p.dst);
        return ip === undefined || spans === undefined ? 'unknown' : tri(spans.some((x) => spanContains(x, ip)), m.neg);
      };
    }
    case 'dport': case 'sport': {
      if (m.th === true) return (p) => evalMatch(m, p).result;
      const dst = m.kind === 'dport';
      return (p) => {
        const port = dst ? p.dpt : p.spt;
        return port === undefined ? 'no' : tri(inRanges(m.ranges, port), m.neg);
      };
    }
    case 'proto': return (p) => (p.proto === undefined ? 'unknown' : tri(m.protos.includes(p.proto), m.neg));
    case 'iif': case 'oif': {
      const input = m.kind === 'iif';
      return (p) => tri(m.names.some((n) => ifaceMatches(n, input ? p.in : p.out)), m.neg);
    }
    default: return (p) => evalMatch(m, p).result;
  }
}

/** A packet's addresses, parsed once per packet. */
const packetIps = new WeakMap<Packet, Map<string, ReturnType<typeof parseIp>>>();
function packetIp(p: Packet, addr: string | undefined): ReturnType<typeof parseIp> {
  if (addr === undefined) return undefined;
  let m = packetIps.get(p);
  if (m === undefined) packetIps.set(p, (m = new Map()));
  if (!m.has(addr)) m.set(addr, parseIp(addr));
  return m.get(addr);
}

/** Each address match's spans, parsed once (a named set may hold thousands); undefined when one is no address. */
const matchSpans = new WeakMap<Match, AddrSpan[] | undefined>();
function spansOf(m: Match & { cidrs: string[] }): AddrSpan[] | undefined {
  if (matchSpans.has(m)) return matchSpans.get(m);
  const spans = m.cidrs.map(parseAddrSpan);
  const out = spans.every((x) => x !== undefined) ? (spans as AddrSpan[]) : undefined;
  matchSpans.set(m, out);
  return out;
}

/** What the packet has for a match's key, as the LOG line writes it (`SRC=198.18.0.2`, `DPT=22`, `IN=eth0` …). */
function packetField(m: Match, p: Packet): string {
  switch (m.kind) {
    case 'iif': return `IN=${p.in}`;
    case 'oif': return `OUT=${p.out}`;
    case 'saddr': return `SRC=${p.src ?? '?'}`;
    case 'daddr': return `DST=${p.dst ?? '?'}`;
    case 'proto': case 'nexthdr': return `PROTO=${p.proto ?? '?'}`;
    case 'dport': return `DPT=${p.dpt ?? '-'}`;
    case 'sport': return `SPT=${p.spt ?? '-'}`;
    case 'anyport': return `SPT=${p.spt ?? '-'} DPT=${p.dpt ?? '-'}`;
    case 'tcpflags': return p.flags === undefined ? 'no flags' : p.flags.join(' ') || 'no flags';
    case 'icmptype': return `TYPE=${p.icmpType ?? '-'}`;
    case 'nfproto': return `IPv${p.family}`;
    default: return m.kind;
  }
}

/** ICMPv6 multicast listener query, report, done, and MLDv2 report */
const MLD_TYPES = new Set([130, 131, 132, 143]);
/** how a next-header value of 0 (hop-by-hop options) is written */
const HOP_BY_HOP = new Set(['0', 'hopopt', 'hbh', 'hopopts']);

/**
 * Whether an unknown result is assumed to match: only rate limits under their rate (the logged packet itself passed
 * the LOG's) and quotas not used up; `limit rate over` and `quota over` are then not matching.
 */
const assumeYes = (e: MatchEval) => (e.match.kind === 'limit' && e.match.over !== true) || (e.match.kind === 'quota' && !e.match.over);

/**
 * The verdict of the first verdict-map element whose matches the packet meets for sure (an unknown — conntrack state —
 * is taken as not matching, as for rules), or undefined.
 */
function vmapVerdict(entries: readonly VmapEntry[], p: Packet, assumed: MatchEval[], flip = false): VmapEntry['verdict'] | undefined {
  for (const e of entries) {
    const evs = e.matches.map((m) => evalMatch(m, p));
    if (evs.every((x) => x.result === 'yes')) return e.verdict;
    if (flip && evs.every((x) => x.result !== 'no')) {
      assumed.push(...evs.filter((x) => x.result === 'unknown').map(takenAsMatching));
      return e.verdict;
    }
    // an element that might have matched (its conntrack state is not in the line): the assumption is said
    if (evs.every((x) => x.result !== 'no')) assumed.push(...evs.filter((x) => x.result === 'unknown'));
  }
  return undefined;
}

/**
 * A chain's rules with each verdict map spread into one rule per element (the rule's matches plus the element's, the
 * element's verdict; the same index and text), for the near-miss search; `orig` is the rule the chain holds.
 */
function expanded(c: Chain): Array<{ r: Rule; orig: Rule }> {
  const out: Array<{ r: Rule; orig: Rule }> = [];
  for (const r of c.rules) {
    const v = r.verdict;
    if (v.kind !== 'vmap') out.push({ r, orig: r });
    else for (const e of v.entries) out.push({ r: { ...r, matches: [...r.matches, ...e.matches], verdict: e.verdict }, orig: r });
  }
  return out;
}

interface Evaluated {
  matched: boolean;
  failed: MatchEval[];
  assumed: MatchEval[];
}

/**
 * Evaluates a rule's matches. `flip`: its unknowns are taken as matching (a rule the LOG rule that wrote the line is
 * reached through only: see trace()).
 */
function evaluate(rule: Rule, p: Packet, flip = false): Evaluated {
  const failed: MatchEval[] = [];
  const assumed: MatchEval[] = [];
  for (const m of rule.matches) {
    const e = evalMatch(m, p);
    if (e.result === 'no') failed.push(e);
    else if (e.result === 'unknown') assumed.push(flip ? takenAsMatching(e) : e);
  }
  return { matched: failed.length === 0 && (flip || assumed.every(assumeYes)), failed, assumed };
}

/** What a match wants, without the parenthesis on what the packet has or what was assumed. */
function matchLabel(e: MatchEval): string {
  return e.why.replace(/ \([^()]*\)$/, '');
}

/** An unknown match taken as matching because the line's own LOG rule is reached only so. */
function takenAsMatching(e: MatchEval): MatchEval {
  return { ...e, why: `${matchLabel(e)} (taken as matching: only so does the trace reach the LOG rule that wrote this line)` };
}

const HOOK_ORDER: Hook[] = ['ingress', 'prerouting', 'input', 'forward', 'output', 'postrouting', 'egress'];

function refOf(t: Table, c: Chain, r: Rule): RuleRef {
  return { family: t.family, table: t.name, chain: c.name, index: r.index, text: r.text };
}

function tableSees(t: Table, family: 4 | 6): boolean {
  return t.family === 'inet' || (family === 4 ? t.family === 'ip' : t.family === 'ip6');
}

/** Sets of rules the search below takes as matching, at most this many rules each … */
const MAX_FLIPS = 3;
/** … and at most this many traces tried per line. */
const MAX_FLIP_TRIES = 48;

interface Walk {
  steps: TraceStep[];
  visited: Set<Rule>;
  notes: string[];
  truncated: boolean;
  verdict: TraceResult['verdict'];
  decidedBy?: TraceStep | undefined;
  /** rules the packet failed only by what the line cannot show, in the order met */
  maybe: Rule[];
  /** the steps of the rules taken as matching */
  flipped: TraceStep[];
}

/** Traces a logged drop through the ruleset. */
export function trace(model: Ruleset, event: DropEvent, opts: TraceOptions = {}): TraceResult {
  const p = packetFromEvent(event, opts);
  const hooks = hooksFor(p);

  const tables = model.tables.filter((t) => tableSees(t, p.family));
  const bases: { t: Table; c: Chain }[] = [];
  for (const t of tables) {
    for (const c of t.chains) {
      // NAT chains see only a connection's first packet and never filter: not traced
      if (c.hook !== undefined && hooks.includes(c.hook) && c.type !== 'nat') bases.push({ t, c });
    }
  }
  bases.sort((a, b) => HOOK_ORDER.indexOf(a.c.hook as Hook) - HOOK_ORDER.indexOf(b.c.hook as Hook) || (a.c.priority ?? 0) - (b.c.priority ?? 0));

  // The LOG rules that may have written this line, found by its prefix (several rules may share one: UFW's
  // `[UFW BLOCK] ` is logged from two chains, a ruleset may log TCP and UDP drops apart under one prefix).
  const want = event.prefix.trim();
  const logAts: Array<{ t: Table; c: Chain; r: Rule }> = [];
  if (want !== '') {
    for (const t of tables) {
      for (const c of t.chains) {
        for (const r of c.rules) {
          if (r.log?.prefix !== undefined && r.log.prefix.trim() === want) logAts.push({ t, c, r });
        }
      }
    }
  }
  const logAt = logAts[0];
  const reachedLog = (w: Walk) => w.steps.find((s) => s.logPrefix?.trim() === want);
  const reaches = (w: Walk) => reachedLog(w) !== undefined;

  let w = walkRuleset(bases, p, new Set());
  // The line is evidence: its LOG rule was reached and (fwdiag reads drops) the packet dropped. When taking what the
  // line cannot show (conntrack state, ipset membership, marks) as not matching contradicts that — a stateful
  // firewall's `--ctstate NEW -j TCP`, nft's `ct state new log … drop` —, the fewest such rules taken as matching
  // that make the trace reach the LOG rule are taken instead (in the order the packet meets them). Only rules that
  // can lead there are tried: the LOG rule itself, and jumps into a chain from which it can be reached. (A trace
  // that reaches the LOG rule and then accepts — a LOG rule for accepted traffic — is left as it is.)
  if (logAt !== undefined && !w.truncated && !reaches(w)) {
    const leads = new Set<Rule>();
    for (const t of new Set(logAts.map((l) => l.t))) for (const r of rulesLeadingTo(t, logAts.filter((l) => l.t === t))) leads.add(r);
    const consistent = (x: Walk) => !x.truncated && reaches(x) && x.verdict !== 'none';
    let frontier: Array<{ flips: Set<Rule>; w: Walk }> = [{ flips: new Set(), w }];
    let tries = 0;
    search: for (let depth = 1; depth <= MAX_FLIPS; depth++) {
      const next: typeof frontier = [];
      for (const f of frontier) {
        for (const r of f.w.maybe) {
          if (f.flips.has(r) || !leads.has(r)) continue;
          if (++tries > MAX_FLIP_TRIES) break search;
          const flips = new Set(f.flips).add(r);
          const x = walkRuleset(bases, p, flips);
          if (consistent(x)) {
            w = x;
            break search;
          }
          next.push({ flips, w: x });
        }
      }
      frontier = next;
    }
  }
  const { steps, visited, notes, truncated, verdict, decidedBy } = w;
  // the LOG rule named: the one of that prefix the trace reached, else the first of them in the ruleset
  const logRef = reachedLog(w)?.ref ?? (logAt === undefined ? undefined : refOf(logAt.t, logAt.c, logAt.r));
  if (bases.length === 0) notes.push(`no ${p.family === 4 ? 'IPv4' : 'IPv6'} base chain on hook ${hooks.join('/')} in this ruleset`);

  // What the log line cannot say, said once.
  const flippedSteps = new Set(w.flipped);
  const all = steps.filter((s) => !flippedSteps.has(s)).flatMap((s) => s.assumed);
  if (w.flipped.length > 0) {
    const at = w.flipped.map((s) => `${s.ref.chain}#${s.ref.index} (${s.assumed.map(matchLabel).join(', ')})`);
    notes.push(`taken as matching, as only so does the trace reach the LOG rule that wrote this line (${logRef?.chain}#${logRef?.index}): ${at.join('; ')}`);
  }
  if (all.some((e) => e.match.kind === 'ctstate')) {
    notes.push(`conntrack state is not in a log line: ctstate matches were taken as not matching${w.flipped.length > 0 ? ' elsewhere' : ''} (an ESTABLISHED/RELATED ACCEPT did not let this logged packet through)`);
  }
  if (all.some((e) => e.match.kind === 'limit')) notes.push('rate limits were taken as not exceeded');
  if (all.some((e) => e.match.kind === 'quota')) notes.push('quotas were taken as not used up');
  const unk = all.filter((e) => e.match.kind === 'unknown' || e.match.kind === 'saddr' || e.match.kind === 'daddr' || e.match.kind === 'tcpflags' || e.match.kind === 'proto' || e.match.kind === 'nexthdr' || e.match.kind === 'anyof');
  if (unk.length > 0) notes.push(`${unk.length} match(es) fwdiag cannot evaluate were taken as not matching`);
  if (verdict === 'accept') {
    notes.push('the trace ends in ACCEPT although the packet was logged as dropped: a rate limit was exceeded, an assumption above is wrong, or this is not the ruleset that logged it');
  }

  let logRule: TraceResult['logRule'];
  if (logRef !== undefined) logRule = { ref: logRef, reached: reaches(w) };
  if (event.prefix !== '') {
    const hidden = steps.filter((s) => s.action === 'log' && s.logPrefix === undefined);
    if (logRule === undefined && hidden.length > 0) {
      notes.push(`the trace reached LOG rule(s) whose prefix this ruleset does not show (${hidden.map((s) => `${s.ref.chain}#${s.ref.index}`).join(', ')}): read the ruleset with iptables-save to confirm which one logged`);
    } else if (logRule === undefined) notes.push(`no LOG rule with prefix ${JSON.stringify(event.prefix)} in this ruleset`);
    else if (!logRule.reached) notes.push(`the LOG rule with this prefix (${logRule.ref.chain}#${logRule.ref.index}) was not reached by the trace: the ruleset may differ from the one that logged the line`);
  }

  const nearMisses = verdict === 'accept' ? [] : findNearMisses(bases, p, visited, decidedBy, truncated);
  return { packet: p, hooks, steps, verdict, ...(decidedBy === undefined ? {} : { decidedBy }), ...(logRule === undefined ? {} : { logRule }), nearMisses, notes, truncated };
}

/** One pass of the packet through the base chains, `flips` taken as matching. */
function walkRuleset(bases: { t: Table; c: Chain }[], p: Packet, flips: Set<Rule>): Walk {
  const steps: TraceStep[] = [];
  const visited = new Set<Rule>();
  const notes: string[] = [];
  const maybe: Rule[] = [];
  const inMaybe = new Set<Rule>();
  const flipped: TraceStep[] = [];
  let truncated = false;

  type Outcome = 'accept' | 'drop' | 'reject' | 'other' | 'return' | 'end' | 'abort';
  const run = (t: Table, c: Chain, depth: number): Outcome => {
    if (depth > MAX_JUMP_DEPTH) {
      notes.push(`jump depth above ${MAX_JUMP_DEPTH} at chain ${c.name}: a loop? trace stopped`);
      truncated = true;
      return 'abort';
    }
    for (const r of c.rules) {
      if (steps.length >= MAX_TRACE_STEPS) {
        if (!truncated) notes.push(`trace stopped after ${MAX_TRACE_STEPS.toLocaleString('en-US')} rule evaluations (a bound on work per packet): no verdict`);
        truncated = true;
        return 'abort';
      }
      visited.add(r);
      const flip = flips.has(r);
      const ev = evaluate(r, p, flip);
      // a verdict map: the element the packet meets gives the verdict; none, and the rule does not apply
      let v = r.verdict;
      if (ev.matched && v.kind === 'vmap') {
        const hit = vmapVerdict(v.entries, p, ev.assumed, flip);
        if (hit === undefined) {
          ev.matched = false;
          ev.failed.push({ match: { kind: 'unknown', text: 'vmap' }, result: 'no', why: 'no element of the verdict map matches the packet' });
        } else v = hit;
      }
      const step: TraceStep = { ref: refOf(t, c, r), policy: false, matched: ev.matched, action: 'none', depth, failed: ev.failed, assumed: ev.assumed };
      steps.push(step);
      if (flip) flipped.push(step);
      if (!ev.matched) {
        if (ev.assumed.length > 0 && !inMaybe.has(r) && ev.failed.every((e) => e.match.kind === 'unknown' && e.match.text === 'vmap')) {
          inMaybe.add(r);
          maybe.push(r);
        }
        continue;
      }
      if (r.log !== undefined) {
        step.action = 'log';
        if (r.log.prefix !== undefined) step.logPrefix = r.log.prefix;
      }
      switch (v.kind) {
        case 'accept': case 'drop': case 'reject':
          step.action = v.kind;
          return v.kind;
        case 'other':
          step.action = 'other';
          step.target = v.target;
          return 'other';
        case 'return':
          step.action = 'return';
          return 'return';
        case 'continue': case 'vmap':
          if (step.action === 'none') step.action = 'continue';
          break;
        case 'jump':
        case 'goto': {
          step.action = v.kind;
          step.target = v.target;
          const target = chainNamed(t, v.target);
          if (target === undefined) {
            notes.push(`${c.name}#${r.index} jumps to ${v.target}, which is not in the ruleset`);
            break;
          }
          const o = run(t, target, depth + 1);
          if (o !== 'return' && o !== 'end') return o;
          if (v.kind === 'goto') return 'return';
          break;
        }
      }
    }
    return 'end';
  };

  let verdict: TraceResult['verdict'] = bases.length === 0 ? 'none' : 'accept';
  let decidedBy: TraceStep | undefined;
  for (const { t, c } of bases) {
    let o = run(t, c, 0);
    if (o === 'abort') {
      verdict = 'other';
      break;
    }
    if (o === 'return' || o === 'end') {
      const pol = c.policy ?? 'accept';
      const step: TraceStep = {
        ref: { family: t.family, table: t.name, chain: c.name, index: 0, text: `policy ${pol.toUpperCase()}` },
        policy: true, matched: true, action: pol === 'drop' ? 'policy-drop' : 'policy-accept', depth: 0, failed: [], assumed: [],
      };
      steps.push(step);
      o = pol;
      if (pol === 'drop') decidedBy = step;
    }
    if (o === 'drop' || o === 'reject' || o === 'other') {
      verdict = o;
      decidedBy ??= [...steps].reverse().find((s) => s.matched && (s.action === 'drop' || s.action === 'reject' || s.action === 'other'));
      break;
    }
  }
  return { steps, visited, notes, truncated, verdict, decidedBy, maybe, flipped };
}

/** An ACCEPT "for this traffic": it names the packet's destination port (or, without ports, its protocol). */
function coversService(r: Rule, p: Packet): boolean {
  if (r.verdict.kind !== 'accept' || p.proto === undefined) return false;
  const proto = r.matches.find((m) => m.kind === 'proto');
  if (proto?.kind === 'proto' && (proto.neg || !proto.protos.includes(p.proto))) return false;
  if (p.dpt !== undefined) {
    return r.matches.some((m) => ((m.kind === 'dport' || m.kind === 'anyport') && !m.neg && inRanges(m.ranges, p.dpt as number)) || serviceElements(m, p).length > 0);
  }
  // without ports: the protocol, and for ICMP the message type (an echo-request ACCEPT is no near miss of a redirect)
  const otherType = (m: Match) => m.kind === 'icmptype' && !m.neg && p.icmpType !== undefined && !m.types.includes(p.icmpType);
  return proto !== undefined && !r.matches.some((m) => m.kind === 'dport' || m.kind === 'sport' || otherType(m));
}

/**
 * The elements of a set lookup (`ip saddr . tcp dport { 198.18.0.2 . 22 }`) for the packet's service: they name its
 * destination port, and its protocol when they name one (`meta l4proto . th dport { udp . 53 }` is no TCP rule).
 */
function serviceElements(m: Match, p: Packet): SetElement[] {
  const { dpt, proto } = p;
  if (m.kind !== 'anyof' || m.neg || dpt === undefined || proto === undefined) return [];
  return m.elements.filter((el) => el.matches.some((x) => x.kind === 'dport' && !x.neg && inRanges(x.ranges, dpt))
    && el.matches.every((x) => x.kind !== 'proto' || (!x.neg && x.protos.includes(proto))));
}

function kindOf(e: MatchEval, p: Packet): NearMissKind {
  switch (e.match.kind) {
    case 'iif': case 'oif': return 'interface';
    case 'saddr': case 'daddr': return 'source';
    case 'ctstate': return 'ctstate';
    case 'anyof': {
      // what the elements for this port want that the packet lacks: one kind (all a source, say), else other
      const kinds = new Set(serviceElements(e.match, p).flatMap((el) => el.matches.map((x) => evalMatch(x, p)).filter((x) => x.result === 'no').map((x) => kindOf(x, p))));
      return kinds.size === 1 ? ([...kinds][0] as NearMissKind) : 'other';
    }
    default: return 'other';
  }
}

/** A near miss's reason: the match's own words, and for a set lookup the elements that would take this port. */
function missWhy(e: MatchEval, p: Packet): string {
  const els = serviceElements(e.match, p);
  if (els.length === 0 || e.result !== 'no') return e.why;
  const listed = els.slice(0, 5).map((el) => el.text).join(', ') + (els.length > 5 ? `, … (${els.length} in all)` : '');
  return `${e.why.replace(/\)$/, '')}; for DPT=${p.dpt}: ${listed})`;
}

/**
 * Each table's chains by name (the first of a name, as a search in order finds it), built once per table. This and
 * the near-miss index below take a ruleset model as read-only once parsed — parseRuleset, mergeRulesets and the live
 * reader build new objects, nothing in fwdiag changes one — and are rebuilt only when a table's chain count changes:
 * a caller that edits rules or renames chains in place must trace a fresh model.
 */
const chainIndexes = new WeakMap<Table, { n: number; byName: Map<string, Chain> }>();

/**
 * The rules of table `t` that can lead a packet to one of its rules `logs` (each in its chain): the rules themselves,
 * and every rule that jumps or goes (directly, or in a verdict map) to a chain from which one of theirs can be reached.
 */
function rulesLeadingTo(t: Table, logs: ReadonlyArray<{ c: Chain; r: Rule }>): Set<Rule> {
  const targetsOf = (r: Rule): string[] => {
    const v = r.verdict;
    if (v.kind === 'jump' || v.kind === 'goto') return [v.target];
    if (v.kind === 'vmap') return v.entries.flatMap((e) => (e.verdict.kind === 'jump' || e.verdict.kind === 'goto' ? [e.verdict.target] : []));
    return [];
  };
  // chains that can reach `target`: backwards along the jumps
  const into = new Map<string, Set<string>>();
  for (const c of t.chains) for (const r of c.rules) for (const to of targetsOf(r)) {
    let from = into.get(to);
    if (from === undefined) into.set(to, (from = new Set()));
    from.add(c.name);
  }
  const reach = new Set(logs.map((l) => l.c.name));
  const todo = [...reach];
  while (todo.length > 0) for (const from of into.get(todo.pop() as string) ?? []) if (!reach.has(from)) {
    reach.add(from);
    todo.push(from);
  }
  const out = new Set<Rule>(logs.map((l) => l.r));
  for (const c of t.chains) for (const r of c.rules) if (targetsOf(r).some((to) => reach.has(to))) out.add(r);
  return out;
}

/** The chain of this name in `t`: a Map lookup, where a search of every chain per jump made a ruleset of thousands of
 * chains (Calico's per-workload ones) cost chains × jumps on every trace. */
function chainNamed(t: Table, name: string): Chain | undefined {
  let ix = chainIndexes.get(t);
  if (ix === undefined || ix.n !== t.chains.length) {
    const byName = new Map<string, Chain>();
    for (const c of t.chains) if (!byName.has(c.name)) byName.set(c.name, c);
    ix = { n: t.chains.length, byName };
    chainIndexes.set(t, ix);
  }
  return ix.byName.get(name);
}

/** What the near-miss search needs of a base chain whatever the packet: built once per base chain, not per trace. */
interface NearMissIndex {
  /** first path (in rule order) of jump rules from the base chain to every chain it reaches */
  paths: Map<string, { c: Chain; r: Rule }[]>;
  /** the ACCEPT rules of the base chain and of the chains without a hook, verdict maps spread, in table order: the
   * only rules coversService can take */
  accepts: Array<{ c: Chain; r: Rule; orig: Rule }>;
}
const nearMissIndexes = new WeakMap<Chain, { t: Table; n: number; ix: NearMissIndex }>();

function nearMissIndex(t: Table, base: Chain): NearMissIndex {
  const got = nearMissIndexes.get(base);
  if (got !== undefined && got.t === t && got.n === t.chains.length) return got.ix;
  const paths = new Map<string, { c: Chain; r: Rule }[]>([[base.name, []]]);
  const queue: Chain[] = [base];
  for (let q = 0; q < queue.length; q++) {
    const c = queue[q]!;
    for (const { r } of expanded(c)) {
      if ((r.verdict.kind === 'jump' || r.verdict.kind === 'goto') && !paths.has(r.verdict.target)) {
        const target = chainNamed(t, r.verdict.target);
        if (target === undefined) continue;
        paths.set(target.name, [...(paths.get(c.name) ?? []), { c, r }]);
        queue.push(target);
      }
    }
  }
  const accepts: NearMissIndex['accepts'] = [];
  for (const c of t.chains) {
    if (c.hook !== undefined && c !== base) continue;
    for (const { r, orig } of expanded(c)) if (r.verdict.kind === 'accept') accepts.push({ c, r, orig });
  }
  const ix = { paths, accepts };
  nearMissIndexes.set(base, { t, n: t.chains.length, ix });
  return ix;
}

function findNearMisses(bases: { t: Table; c: Chain }[], p: Packet, visited: Set<Rule>, decidedBy: TraceStep | undefined, truncated: boolean): NearMiss[] {
  const out: NearMiss[] = [];
  for (const { t, c: base } of bases) {
    const { paths, accepts } = nearMissIndex(t, base);
    for (const { c, r, orig } of accepts) {
      if (out.length >= MAX_NEAR_MISSES) return out;
      if (!coversService(r, p) || out.some((n) => n.rule.text === r.text && n.rule.chain === c.name && n.rule.table === t.name)) continue;
      const reasons: NearMissReason[] = [];
      const path = paths.get(c.name);
      if (path === undefined) {
        if (c.hook !== undefined) continue;
        reasons.push({ kind: 'unreachable', detail: `chain ${c.name} is not jumped to from ${base.name}` });
      } else {
        for (const j of path) {
          const ev = evaluate(j.r, p);
          for (const e of [...ev.failed, ...ev.assumed.filter((x) => !assumeYes(x))]) {
            reasons.push({ kind: kindOf(e, p), detail: `the jump to ${c.name} needs ${missWhy(e, p)}`, via: refOf(t, j.c, j.r) });
          }
        }
      }
      const own = evaluate(r, p);
      for (const e of [...own.failed, ...own.assumed.filter((x) => !assumeYes(x))]) reasons.push({ kind: kindOf(e, p), detail: missWhy(e, p) });
      // a rule the trace never got to is shadowed when something decided first; when the trace stopped, it is unknown
      if (!visited.has(orig) && path !== undefined && reasons.every((x) => x.via === undefined)) {
        const d = decidedBy?.ref;
        const where = d === undefined ? 'the decision' : d.index === 0 ? `the ${d.chain} policy` : `${d.chain}#${d.index} (${decidedBy?.action.toUpperCase()})`;
        if (truncated) reasons.unshift({ kind: 'other', detail: 'not reached: the trace stopped before it (see notes)' });
        else reasons.unshift({ kind: 'shadowed', detail: `never reached: the packet was already decided by ${where}` });
      }
      if (reasons.length === 0) continue;
      const nm: NearMiss = { rule: refOf(t, c, r), reasons };
      if (r.comment !== undefined) nm.comment = r.comment;
      out.push(nm);
    }
  }
  return out;
}
