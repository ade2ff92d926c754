/**
 * Parser for `iptables-save` / `ip6tables-save` text. Pure: text in, Ruleset out. Unknown matches and options are
 * kept as `unknown` matches with their text; lines that cannot be read at all become warnings, not exceptions.
 */
import type { Chain, Hook, LogAction, Match, Range, Rule, Ruleset, Table, TableFamily, Verdict } from './model.js';

/** Warnings kept per ruleset; more are counted, not stored. */
export const MAX_WARNINGS = 100;
/** Rules per ruleset beyond this are refused (a warning), bounding memory on hostile input. */
export const MAX_RULES = 200_000;

/** iptables' fixed table priorities (netfilter's NF_IP_PRI_*), so both formats order base chains alike. */
const TABLE_PRIORITY: Record<string, number> = { raw: -300, mangle: -150, nat: -100, filter: 0, security: 50 };
const BUILTIN_HOOK: Record<string, Hook> = {
  PREROUTING: 'prerouting',
  INPUT: 'input',
  FORWARD: 'forward',
  OUTPUT: 'output',
  POSTROUTING: 'postrouting',
};
/** Targets that do not end traversal (iptables' own names; nft -j shows them as `xt` targets of iptables-nft rules). */
export const NON_TERMINAL = new Set([
  'LOG', 'NFLOG', 'ULOG', 'MARK', 'CONNMARK', 'CT', 'NOTRACK', 'TRACE', 'AUDIT', 'CLASSIFY', 'DSCP', 'TOS', 'TTL',
  'HL', 'TCPMSS', 'SET', 'CHECKSUM', 'CONNSECMARK', 'SECMARK', 'IDLETIMER', 'LED', 'RATEEST', 'TEE',
]);

/** Splits a rule line like a shell would for iptables-save's quoting: "…" with \" and \\ escapes. */
export function tokenize(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inTok = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quoted) {
      if (c === '\\' && i + 1 < line.length && (line[i + 1] === '"' || line[i + 1] === '\\')) {
        cur += line[i + 1];
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') {
      quoted = true;
      inTok = true;
    } else if (c === ' ' || c === '\t') {
      if (inTok) out.push(cur);
      cur = '';
      inTok = false;
    } else {
      cur += c;
      inTok = true;
    }
  }
  if (inTok) out.push(cur);
  return out;
}

/** `22`, `1024:65535`, `1024:`, `:1023` → a range; undefined when not numeric (service names are not resolved). */
export function parsePortRange(text: string): Range | undefined {
  const m = /^(\d*)(?::(\d*))?$/.exec(text);
  if (m === null || text === '' || text === ':') return undefined;
  const from = m[1] === '' || m[1] === undefined ? 0 : Number(m[1]);
  const to = m[2] === undefined ? from : m[2] === '' ? 65535 : Number(m[2]);
  if (from > 65535 || to > 65535 || from > to) return undefined;
  return { from, to };
}

const PROTO_NAMES: Record<string, string> = {
  '1': 'icmp', '2': 'igmp', '4': 'ipip', '6': 'tcp', '17': 'udp', '41': 'ipv6', '47': 'gre', '50': 'esp', '51': 'ah',
  '58': 'icmpv6', '132': 'sctp', '136': 'udplite', 'ipv6-icmp': 'icmpv6', 'icmp6': 'icmpv6', 'ipencap': 'ipip',
};
/** Normalises a protocol name or number to fwdiag's name (`6` → tcp, `ipv6-icmp` → icmpv6). */
export function normProto(p: string): string {
  const l = p.toLowerCase();
  return PROTO_NAMES[l] ?? l;
}

/** iptables' ICMP names (`iptables -p icmp -h`): a type, or a type and code. `any` is every type. */
const ICMP4_NAMES: Record<string, number | [number, number]> = {
  'echo-reply': 0, pong: 0, 'destination-unreachable': 3, 'network-unreachable': [3, 0], 'host-unreachable': [3, 1],
  'protocol-unreachable': [3, 2], 'port-unreachable': [3, 3], 'fragmentation-needed': [3, 4],
  'source-route-failed': [3, 5], 'network-unknown': [3, 6], 'host-unknown': [3, 7], 'network-prohibited': [3, 9],
  'host-prohibited': [3, 10], 'TOS-network-unreachable': [3, 11], 'TOS-host-unreachable': [3, 12],
  'communication-prohibited': [3, 13], 'host-precedence-violation': [3, 14], 'precedence-cutoff': [3, 15],
  'source-quench': 4, redirect: 5, 'network-redirect': [5, 0], 'host-redirect': [5, 1], 'TOS-network-redirect': [5, 2],
  'TOS-host-redirect': [5, 3], 'echo-request': 8, ping: 8, 'router-advertisement': 9, 'router-solicitation': 10,
  'time-exceeded': 11, 'ttl-exceeded': 11, 'ttl-zero-during-transit': [11, 0], 'ttl-zero-during-reassembly': [11, 1],
  'parameter-problem': 12, 'ip-header-bad': [12, 0], 'required-option-missing': [12, 1], 'timestamp-request': 13,
  'timestamp-reply': 14, 'address-mask-request': 17, 'address-mask-reply': 18,
};

/** ip6tables' ICMPv6 names (`ip6tables -p icmpv6 -h`): ICMPv6's own numbers. */
const ICMP6_NAMES: Record<string, number | [number, number]> = {
  'destination-unreachable': 1, 'no-route': [1, 0], 'communication-prohibited': [1, 1], 'beyond-scope': [1, 2],
  'address-unreachable': [1, 3], 'port-unreachable': [1, 4], 'failed-policy': [1, 5], 'reject-route': [1, 6],
  'packet-too-big': 2, 'time-exceeded': 3, 'ttl-exceeded': 3, 'ttl-zero-during-transit': [3, 0],
  'ttl-zero-during-reassembly': [3, 1], 'parameter-problem': 4, 'bad-header': [4, 0], 'unknown-header-type': [4, 1],
  'unknown-option': [4, 2], 'echo-request': 128, ping: 128, 'echo-reply': 129, pong: 129, 'mld-listener-query': 130,
  'mld-listener-report': 131, 'mld-listener-done': 132, 'mld-listener-reduction': 132, 'router-solicitation': 133,
  'router-advertisement': 134, 'neighbour-solicitation': 135, 'neighbor-solicitation': 135,
  'neighbour-advertisement': 136, 'neighbor-advertisement': 136, redirect: 137,
};

/** `--icmp-type` / `--icmpv6-type` value → the match (`any`: none needed), or undefined when not understood. */
function icmpTypeMatch(v: string, v6: boolean, neg: boolean): Match | null | undefined {
  if (v === 'any') return neg ? { kind: 'icmptype', types: [], neg: false } : null;
  const num = /^(\d{1,3})(?:\/(\d{1,3}))?$/.exec(v);
  const t = num !== null ? (num[2] === undefined ? Number(num[1]) : ([Number(num[1]), Number(num[2])] as [number, number])) : (v6 ? ICMP6_NAMES : ICMP4_NAMES)[v];
  if (t === undefined) return undefined;
  return typeof t === 'number' ? { kind: 'icmptype', types: [t], neg } : { kind: 'icmptype', types: [t[0]], code: t[1], neg };
}

interface ParseState {
  warnings: string[];
  warningCount: number;
  rules: number;
}

function warn(st: ParseState, msg: string): void {
  st.warningCount++;
  if (st.warnings.length < MAX_WARNINGS) st.warnings.push(msg);
}

/** Parses the arguments after `-A CHAIN` into matches, a log action and a verdict. */
export function parseRuleArgs(args: string[]): { matches: Match[]; log?: LogAction; verdict: Verdict; comment?: string } {
  const matches: Match[] = [];
  let verdict: Verdict = { kind: 'continue' };
  let log: LogAction | undefined;
  let comment: string | undefined;
  let module = '';
  let target: string | undefined;
  let neg = false;
  let i = 0;
  const next = () => args[i++] ?? '';
  // values of an unknown option run until the next option or "!"
  const rest = () => {
    const vals: string[] = [];
    while (i < args.length && !(args[i] as string).startsWith('-') && args[i] !== '!') vals.push(next());
    return vals;
  };
  const quote = (v: string) => (/[\s"]/.test(v) || v === '' ? JSON.stringify(v) : v);
  while (i < args.length) {
    const a = next();
    if (a === '!') {
      neg = true;
      continue;
    }
    const n = neg;
    neg = false;
    if (target !== undefined) {
      // target options
      if (a === '--log-prefix') (log ??= {}).prefix = next();
      else if (a === '--log-level') (log ??= {}).level = next();
      else if (a === '--reject-with') verdict = { kind: 'reject', with: next() };
      else rest();
      continue;
    }
    switch (a) {
      case '-i': case '--in-interface': matches.push({ kind: 'iif', names: [next()], neg: n }); break;
      case '-o': case '--out-interface': matches.push({ kind: 'oif', names: [next()], neg: n }); break;
      case '-s': case '--source': matches.push({ kind: 'saddr', cidrs: next().split(','), neg: n }); break;
      case '-d': case '--destination': matches.push({ kind: 'daddr', cidrs: next().split(','), neg: n }); break;
      case '-p': case '--protocol': {
        const p = normProto(next());
        if (p !== 'all' && p !== '0') matches.push({ kind: 'proto', protos: [p], neg: n });
        break;
      }
      case '-m': case '--match': module = next(); break;
      case '-j': case '--jump': {
        target = next();
        if (target === 'ACCEPT') verdict = { kind: 'accept' };
        else if (target === 'DROP') verdict = { kind: 'drop' };
        else if (target === 'REJECT') verdict = { kind: 'reject' };
        else if (target === 'RETURN') verdict = { kind: 'return' };
        else if (target === 'LOG') log = {};
        else if (NON_TERMINAL.has(target)) verdict = { kind: 'continue', target };
        else if (/^[A-Z]+$/.test(target) && ['DNAT', 'SNAT', 'MASQUERADE', 'REDIRECT', 'NFQUEUE', 'TPROXY', 'SYNPROXY', 'QUEUE'].includes(target)) {
          verdict = { kind: 'other', target };
        } else verdict = { kind: 'jump', target };
        break;
      }
      case '-g': case '--goto': target = next(); verdict = { kind: 'goto', target }; break;
      case '--dport': case '--destination-port': case '--sport': case '--source-port': {
        const v = next();
        const r = parsePortRange(v);
        const kind = a.startsWith('--d') ? 'dport' : 'sport';
        if (r === undefined) matches.push({ kind: 'unknown', text: `${n ? '! ' : ''}${a} ${v}` });
        else matches.push({ kind, ranges: [r], neg: n });
        break;
      }
      case '--dports': case '--destination-ports': case '--sports': case '--source-ports': case '--ports': {
        const v = next();
        const ranges = v.split(',').map(parsePortRange);
        const kind = a === '--ports' ? 'anyport' : a.startsWith('--d') ? 'dport' : 'sport';
        if (ranges.some((r) => r === undefined)) matches.push({ kind: 'unknown', text: `${n ? '! ' : ''}${a} ${v}` });
        else matches.push({ kind, ranges: ranges as Range[], neg: n });
        break;
      }
      case '--ctstate': case '--state':
        matches.push({ kind: 'ctstate', states: next().toLowerCase().split(','), neg: n });
        break;
      case '--syn':
        matches.push({ kind: 'tcpflags', mask: ['SYN', 'RST', 'ACK', 'FIN'], comp: ['SYN'], neg: n });
        break;
      case '--tcp-flags': {
        const mask = next().toUpperCase();
        const comp = next().toUpperCase();
        const expand = (s: string) => (s === 'ALL' ? ['SYN', 'ACK', 'FIN', 'RST', 'URG', 'PSH'] : s === 'NONE' ? [] : s.split(','));
        matches.push({ kind: 'tcpflags', mask: expand(mask), comp: expand(comp), neg: n });
        break;
      }
      case '--icmp-type': case '--icmpv6-type': {
        const v = next();
        const m = icmpTypeMatch(v, a === '--icmpv6-type', n);
        if (m === undefined) matches.push({ kind: 'unknown', text: `${n ? '! ' : ''}${a} ${v}` });
        else if (m !== null) matches.push(m);
        break;
      }
      case '--comment': comment = next(); break;
      case '--limit': {
        const rate = next();
        matches.push({ kind: 'limit', rate });
        break;
      }
      case '--limit-burst': {
        const b = Number(next());
        const last = matches[matches.length - 1];
        if (last?.kind === 'limit') last.burst = b;
        break;
      }
      default: {
        const vals = rest();
        const mod = module !== '' ? `-m ${module} ` : '';
        matches.push({ kind: 'unknown', text: `${mod}${n ? '! ' : ''}${[a, ...vals].map(quote).join(' ')}` });
      }
    }
  }
  const out: { matches: Match[]; log?: LogAction; verdict: Verdict; comment?: string } = { matches, verdict };
  if (log !== undefined) out.log = log;
  if (comment !== undefined) out.comment = comment;
  return out;
}

/**
 * Parses iptables-save output. The family comes from the `# Generated by ip6tables-save` header (it may switch mid-text
 * when iptables-save and ip6tables-save output are concatenated), else from the addresses, else `defaultFamily`.
 */
export function parseIptablesSave(text: string, defaultFamily: 'ip' | 'ip6' = 'ip'): Ruleset {
  const st: ParseState = { warnings: [], warningCount: 0, rules: 0 };
  const tables: Table[] = [];
  let family: TableFamily = defaultFamily;
  let familyFromHeader = false;
  let table: Table | undefined;
  const chainOf = new Map<string, Chain>();
  const lines = text.split('\n');
  for (let ln = 0; ln < lines.length; ln++) {
    const raw = (lines[ln] as string).replace(/\r$/, '');
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const h = /^# Generated by (ip6?)tables-save/.exec(line);
      if (h !== null) {
        family = h[1] === 'ip6' ? 'ip6' : 'ip';
        familyFromHeader = true;
      }
      continue;
    }
    if (line.startsWith('*')) {
      table = { family, name: line.slice(1), chains: [] };
      tables.push(table);
      chainOf.clear();
      continue;
    }
    if (table === undefined) {
      warn(st, `line ${ln + 1}: outside a table: ${line.slice(0, 80)}`);
      continue;
    }
    if (line === 'COMMIT') {
      table = undefined;
      continue;
    }
    if (line.startsWith(':')) {
      const m = /^:(\S+)\s+(\S+)/.exec(line);
      if (m === null) {
        warn(st, `line ${ln + 1}: bad chain line`);
        continue;
      }
      const name = m[1] as string;
      const chain: Chain = { name, rules: [] };
      const hook = BUILTIN_HOOK[name];
      if (hook !== undefined && m[2] !== '-') {
        chain.hook = hook;
        chain.priority = TABLE_PRIORITY[table.name] ?? 0;
        chain.type = table.name === 'nat' ? 'nat' : 'filter';
        chain.policy = m[2] === 'DROP' ? 'drop' : 'accept';
      }
      table.chains.push(chain);
      chainOf.set(name, chain);
      continue;
    }
    // `[pkts:bytes] -A …` with iptables-save -c
    const body = line.replace(/^\[\d+:\d+\]\s+/, '');
    const tokens = tokenize(body);
    if (tokens[0] !== '-A' || tokens[1] === undefined) {
      warn(st, `line ${ln + 1}: not a rule: ${line.slice(0, 80)}`);
      continue;
    }
    if (++st.rules > MAX_RULES) {
      warn(st, `more than ${MAX_RULES} rules: the rest is ignored`);
      break;
    }
    let chain = chainOf.get(tokens[1]);
    if (chain === undefined) {
      chain = { name: tokens[1], rules: [] };
      table.chains.push(chain);
      chainOf.set(chain.name, chain);
    }
    const parsed = parseRuleArgs(tokens.slice(2));
    if (!familyFromHeader && table.family === 'ip') {
      // no header: an IPv6 address in the rule says this is ip6tables-save output
      if (parsed.matches.some((m) => (m.kind === 'saddr' || m.kind === 'daddr') && m.cidrs.some((c) => c.includes(':')))) {
        table.family = 'ip6';
        family = 'ip6';
      }
    }
    const rule: Rule = { index: chain.rules.length + 1, text: body, matches: parsed.matches, verdict: parsed.verdict };
    if (parsed.log !== undefined) rule.log = parsed.log;
    if (parsed.comment !== undefined) rule.comment = parsed.comment;
    chain.rules.push(rule);
  }
  if (st.warningCount > st.warnings.length) st.warnings.push(`${st.warningCount - st.warnings.length} more warnings`);
  return { format: 'iptables-save', tables, warnings: st.warnings };
}
