import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createParser } from '../../src/parse/parse-line.js';
import type { DropEvent } from '../../src/parse/event.js';
import { evalMatch, formatTrace, mergeRulesets, packetFromEvent, parseRuleset, trace } from '../../src/ruleset/index.js';
import type { Match, Ruleset } from '../../src/ruleset/index.js';

const FIX = 'fixtures/rulesets';
function load(f: string): Ruleset {
  const r = parseRuleset(readFileSync(`${FIX}/${f}`, 'utf8'));
  if (!r.ok) throw new Error(r.issues.join());
  return r.value;
}
function parseLines(text: string): DropEvent[] {
  const p = createParser();
  return text.split('\n').flatMap((l) => {
    const r = p.parseLine(l);
    return r.kind === 'event' ? [r.event] : [];
  });
}
/** An iptables-save text of these lines, parsed (the test fails on a parse error). */
function rules(lines: string[]): Ruleset {
  const r = parseRuleset(lines.join('\n'));
  if (!r.ok) throw new Error(r.issues.join());
  return r.value;
}
/** A hand-built event: what a LOG line with these fields parses to. */
function ev(over: Partial<DropEvent>): DropEvent {
  return {
    line: 1, time: null, ts: null, mono: null, host: null, envelope: 'bare', prefix: 'NODE_DROP ', in: 'eth0', out: '',
    family: 4, src: '198.18.0.2', dst: '198.18.0.1', proto: 'TCP', spt: 40000, dpt: 9999, flags: ['SYN'], ...over,
  };
}

describe('real kernel drops (fixtures/rulesets/harvester-control-plane.drops.log) on the real ruleset', () => {
  const rs = load('harvester-control-plane-extra.iptables-save');
  const [syn9999, syn7777] = parseLines(readFileSync(`${FIX}/harvester-control-plane.drops.log`, 'utf8'));
  it('parses the dmesg lines', () => {
    expect(syn9999?.dpt).toBe(9999);
    expect(syn7777?.dpt).toBe(7777);
  });
  it('a SYN to a port nobody opened: decided by the DROP after visiting the LOG rule, with the ctstate note', () => {
    const t = trace(rs, syn9999 as DropEvent);
    expect(t.hooks).toEqual(['prerouting', 'input']);
    expect(t.verdict).toBe('drop');
    expect(t.decidedBy?.ref).toMatchObject({ table: 'filter', chain: 'HARVESTER_INPUT', index: 26 });
    const matched = t.steps.filter((s) => s.matched).map((s) => `${s.ref.chain}#${s.ref.index}:${s.action}`);
    expect(matched).toEqual(['INPUT#2:jump', 'HARVESTER_INPUT#25:log', 'HARVESTER_INPUT#26:drop']);
    expect(t.logRule).toMatchObject({ reached: true, ref: { chain: 'HARVESTER_INPUT', index: 25 } });
    // the ESTABLISHED,RELATED rule: unknown for a log line, taken as not matching, and said so
    const est = t.steps.find((s) => s.ref.chain === 'HARVESTER_INPUT' && s.ref.index === 1);
    expect(est?.matched).toBe(false);
    expect(est?.assumed[0]?.match.kind).toBe('ctstate');
    expect(t.notes.join('\n')).toMatch(/ctstate matches were taken as not matching/);
  });
  it('reports the ACCEPT after the DROP as shadowed and the one on another NIC as interface-bound', () => {
    const t1 = trace(rs, syn9999 as DropEvent);
    expect(t1.nearMisses.map((n) => [n.rule.chain, n.rule.index, n.reasons.map((r) => r.kind)])).toEqual([['HARVESTER_INPUT', 27, ['shadowed']]]);
    expect(t1.nearMisses[0]?.reasons[0]?.detail).toContain('HARVESTER_INPUT#26 (DROP)');
    const t2 = trace(rs, syn7777 as DropEvent);
    expect(t2.nearMisses.map((n) => [n.rule.chain, n.rule.index, n.reasons.map((r) => r.kind)])).toEqual([['INPUT', 1, ['interface']]]);
    expect(t2.nearMisses[0]?.reasons[0]?.detail).toBe('in-interface other0 (packet IN=mgmt-br)');
  });
  it('prints the path, the verdict and the near misses', () => {
    const out = formatTrace(trace(rs, syn9999 as DropEvent)).join('\n');
    expect(out).toContain('packet   IPv4 TCP 198.18.7.2:41582 -> 198.18.7.1:9999 IN=mgmt-br OUT= SYN');
    expect(out).toContain('ip filter HARVESTER_INPUT#25  LOG "HARVESTER_DROP_"');
    expect(out).toContain('verdict  DROP by ip filter HARVESTER_INPUT#26');
    expect(out).toContain('shadowed: never reached');
    expect(out).toContain('(25 rules did not match; --verbose lists them)');
    const verbose = formatTrace(trace(rs, syn9999 as DropEvent), { verbose: true }).join('\n');
    expect(verbose).toContain('HARVESTER_INPUT#1  no match: ctstate related,established');
  });
  it('the same line against the unmodified seed ruleset has no near miss', () => {
    const t = trace(load('harvester-control-plane.iptables-save'), syn9999 as DropEvent);
    expect(t.verdict).toBe('drop');
    expect(t.nearMisses).toEqual([]);
  });
  it('a port the seed opens from a packet on another NIC never enters HARVESTER_INPUT', () => {
    const t = trace(load('harvester-control-plane.iptables-save'), { ...(syn9999 as DropEvent), in: 'eth9', dpt: 9345 });
    expect(t.verdict).toBe('accept'); // INPUT policy ACCEPT: this ruleset would not have dropped it
    expect(t.notes.join('\n')).toMatch(/not reached by the trace/);
  });
});

describe('hand-built events on the tricky ruleset', () => {
  const rs = load('tricky.iptables-save');
  it('an ACCEPT limited to other sources', () => {
    const t = trace(rs, ev({ dpt: 6443 }));
    expect(t.verdict).toBe('reject');
    expect(t.decidedBy?.ref.index).toBe(7);
    expect(t.nearMisses.map((n) => n.reasons.map((r) => `${r.kind}: ${r.detail}`))).toEqual([['source: source 198.18.5.0/24 (packet SRC=198.18.0.2)']]);
  });
  it('an ACCEPT that requires ctstate NEW is a ctstate near miss', () => {
    const t = trace(rs, ev({ dpt: 10250 }));
    expect(t.nearMisses[0]?.reasons.map((r) => r.kind)).toEqual(['ctstate']);
  });
  it('an ACK without state hits the "! --syn" DROP before the multiport ACCEPT matters', () => {
    const t = trace(rs, ev({ dpt: 33000, flags: ['ACK'] }));
    expect(t.decidedBy?.ref.text).toContain('non-SYN without state');
    expect(t.steps.some((s) => s.action === 'log')).toBe(false);
    expect(t.notes.join('\n')).toMatch(/LOG rule with this prefix \(NODE_IN#6\) was not reached/);
  });
  it('the multiport ACCEPT lets SSH through: the trace ends in ACCEPT and says that contradicts the log', () => {
    const t = trace(rs, ev({ dpt: 22 }));
    expect(t.verdict).toBe('accept');
    expect(t.notes.join('\n')).toMatch(/ends in ACCEPT although the packet was logged/);
  });
  it('MGMT_ONLY returns to INPUT and the DROP policy decides for eth1 traffic', () => {
    const t = trace(rs, ev({ in: 'eth1', dpt: 9345 }));
    expect(t.verdict).toBe('drop');
    expect(t.decidedBy?.policy).toBe(true);
    expect(t.steps.filter((s) => s.matched).map((s) => `${s.ref.chain}#${s.ref.index}:${s.action}`)).toEqual(['INPUT#3:jump', 'MGMT_ONLY#2:return', 'INPUT#0:policy-drop']);
    // the 9345 ACCEPT sits in NODE_IN, entered only from eth0, and after the DROP
    const nm = t.nearMisses.find((n) => n.rule.chain === 'NODE_IN');
    expect(nm?.reasons.map((r) => r.kind)).toEqual(['interface']);
    expect(nm?.reasons[0]?.via?.index).toBe(4);
  });
  it('UDP to a NodePort is accepted; ICMP has no port near misses', () => {
    expect(trace(rs, ev({ proto: 'UDP', dpt: 31000, flags: undefined })).verdict).toBe('accept');
    const icmp = trace(rs, ev({ proto: 'ICMP', dpt: undefined, spt: undefined, flags: undefined, icmp: { type: 8, code: 0 } }));
    expect(icmp.verdict).toBe('drop');
    expect(icmp.nearMisses).toEqual([]);
  });
  it('an IPv6 packet sees no IPv4 table', () => {
    const t = trace(rs, ev({ family: 6, src: 'fd00:0000:0000:0000:0000:0000:0000:0002', dst: 'fd00::1' }));
    expect(t.verdict).toBe('none');
    expect(t.notes[0]).toMatch(/no IPv6 base chain/);
  });
});

describe('nft ruleset traces', () => {
  const rs = load('talos-like.nft.json');
  it('shadowed trustd ACCEPT after the drop; interface-bound API ACCEPT; named-set source ACCEPT', () => {
    const trustd = trace(rs, ev({ prefix: 'TALOS_DROP ', dpt: 50001 }));
    expect(trustd.verdict).toBe('drop');
    expect(trustd.logRule?.reached).toBe(true);
    expect(trustd.nearMisses.map((n) => n.reasons.map((r) => r.kind))).toEqual([['shadowed']]);
    const api = trace(rs, ev({ prefix: 'TALOS_DROP ', dpt: 6443 }));
    expect(api.nearMisses[0]?.reasons.map((r) => r.detail)).toEqual(['in-interface eth1 (packet IN=eth0)']);
    const kubelet = trace(rs, ev({ prefix: 'TALOS_DROP ', src: '203.0.113.9', dpt: 10250 }));
    expect(kubelet.nearMisses[0]?.reasons.map((r) => r.kind)).toEqual(['source']);
    expect(trace(rs, ev({ prefix: 'TALOS_DROP ', src: '198.18.0.9', dpt: 10250 })).verdict).toBe('accept');
  });
  it('the VXLAN jump returns for foreign sources and the chain then drops', () => {
    const t = trace(rs, ev({ prefix: 'TALOS_DROP ', proto: 'UDP', src: '203.0.113.9', dpt: 4789, flags: undefined }));
    expect(t.verdict).toBe('drop');
    expect(t.steps.filter((s) => s.matched).map((s) => s.action)).toEqual(['jump', 'return', 'log', 'drop']);
  });
  it('a jump loop is cut, not followed forever', () => {
    const loop = parseRuleset('*filter\n:INPUT ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n-A INPUT -j A\n-A A -j B\n-A B -j A\nCOMMIT\n');
    if (!loop.ok) throw new Error('parse');
    const t = trace(loop.value, ev({}));
    expect(t.truncated).toBe(true);
  });
  it('a trace stopped by its step bound says so, and an ACCEPT it never got to is not called shadowed', () => {
    const lines = ['*filter', ':INPUT ACCEPT [0:0]', ':A - [0:0]'];
    for (let i = 0; i < 10_001; i++) lines.push('-A INPUT -j A');
    lines.push('-A A -j RETURN', '-A INPUT -p tcp -m tcp --dport 9999 -j ACCEPT', '-A INPUT -j DROP', 'COMMIT', '');
    const big = parseRuleset(lines.join('\n'));
    if (!big.ok) throw new Error('parse');
    const t = trace(big.value, ev({}));
    expect([t.truncated, t.verdict, t.decidedBy]).toEqual([true, 'other', undefined]);
    expect(t.notes).toContain('trace stopped after 20,000 rule evaluations (a bound on work per packet): no verdict');
    expect(t.nearMisses.map((m) => m.reasons.map((r) => `${r.kind}: ${r.detail}`))).toEqual([['other: not reached: the trace stopped before it (see notes)']]);
  });
});

describe('several base chains on one hook', () => {
  it('an ACCEPT in one table does not stop the next base chain: the iptables-nft table still drops', () => {
    const both = mergeRulesets([load('talos-like.nft.json'), load('harvester-control-plane.iptables-nft.json')]);
    const t = trace(both, ev({ prefix: 'HARVESTER_DROP_', in: 'mgmt-br', dpt: 50000 }));
    const decisions = t.steps.filter((s) => s.matched && s.action !== 'log' && s.action !== 'jump').map((s) => `${s.ref.table}/${s.ref.chain}#${s.ref.index}:${s.action}`);
    expect(decisions).toEqual(['fwrs_talos/ingress#7:accept', 'filter/HARVESTER_INPUT#26:drop']);
    expect(t.verdict).toBe('drop');
    // and the other way round: the inet table drops first, so the ip table is never consulted
    const t2 = trace(both, ev({ prefix: 'TALOS_DROP ', in: 'mgmt-br', dpt: 9345 }));
    expect(t2.decidedBy?.ref.table).toBe('fwrs_talos');
    expect(t2.steps.some((s) => s.ref.table === 'filter')).toBe(false);
  });
});

describe('conditions a log line cannot judge, and ICMPv6 names (fixtures/rulesets/limits.nft.json, what nft printed)', () => {
  const rs = load('limits.nft.json');
  it('`limit rate over` and `quota over` are taken as not reached (not matching), `quota until` as not used up (matching)', () => {
    // as the kernel does for a first packet (checked in a namespace): each of these ports is accepted
    for (const dpt of [6052, 7001, 7002]) {
      const t = trace(rs, ev({ prefix: 'LIMITS_DROP ', dpt }));
      expect(t.verdict, String(dpt)).toBe('accept');
    }
    const over = trace(rs, ev({ prefix: 'LIMITS_DROP ', dpt: 6052 }));
    expect(over.steps.find((s) => s.ref.index === 1)?.matched).toBe(false);
    expect(formatTrace(over, { verbose: true }).join('\n')).toContain('no match: limit over 1/minute burst 5 (taken as under the rate: not matching)');
    const quota = trace(rs, ev({ prefix: 'LIMITS_DROP ', dpt: 7001 }));
    expect(quota.steps.find((s) => s.ref.index === 3)?.matched).toBe(false);
    expect(quota.notes).toContain('quotas were taken as not used up');
    expect(trace(rs, ev({ prefix: 'LIMITS_DROP ', dpt: 7002 })).decidedBy).toBeUndefined();
    // a port no rule names: the policy, after the LOG
    const other = trace(rs, ev({ prefix: 'LIMITS_DROP ', dpt: 8080 }));
    expect([other.verdict, other.logRule?.reached]).toEqual(['drop', true]);
  });
  it('`icmpv6 type echo-request` is type 128, not ICMP\'s 8', () => {
    const [echo6] = parseLines('[  1.000000] LIMITS_DROP IN=eth0 OUT= SRC=2001:0db8:0000:0000:0000:0000:0000:0002 DST=2001:0db8:0000:0000:0000:0000:0000:0001 LEN=104 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=ICMPv6 TYPE=128 CODE=0 ID=1 SEQ=1 ');
    expect(trace(rs, echo6!).verdict).toBe('accept');
    const [unreach6] = parseLines('[  1.000000] LIMITS_DROP IN=eth0 OUT= SRC=2001:0db8:0000:0000:0000:0000:0000:0002 DST=2001:0db8:0000:0000:0000:0000:0000:0001 LEN=104 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=ICMPv6 TYPE=135 CODE=0 ');
    expect(trace(rs, unreach6!).verdict).toBe('drop');
  });
});

describe('nft verdict maps (fixtures/rulesets/vmap.nft.json, what nft printed)', () => {
  const rs = load('vmap.nft.json');
  const syn = (dpt: number) => ev({ prefix: 'VMAP_DROP ', dpt });
  it('the element of the packet decides: accept, jump to a chain, drop; no element, and the next rule decides', () => {
    expect(trace(rs, syn(22)).verdict).toBe('accept'); // the named map @svc
    const kubelet = trace(rs, syn(10250));
    expect(kubelet.verdict).toBe('accept');
    expect(kubelet.steps.filter((s) => s.matched).map((s) => `${s.ref.chain}#${s.ref.index} ${s.action}`)).toEqual(['input#3 jump', 'tcp_in#1 accept']);
    expect(trace(rs, syn(9005)).decidedBy?.ref.text).toBe('tcp dport vmap { 6443 : accept, 9000-9010 : drop }');
    const other = trace(rs, syn(8080));
    expect([other.verdict, other.decidedBy?.ref.index, other.logRule?.reached]).toEqual(['drop', 6, true]);
    // the conntrack-state map cannot be judged from a log line: none of its elements is taken
    expect(other.steps.find((s) => s.ref.index === 1)?.matched).toBe(false);
    expect(formatTrace(other, { verbose: true }).join('\n')).toContain('no element of the verdict map matches the packet');
    expect(other.notes.join('\n')).toContain('conntrack state is not in a log line: ctstate matches were taken as not matching');
  });
  it('an ACCEPT element that does not apply is a near miss, with why', () => {
    const doc = JSON.parse(readFileSync(`${FIX}/vmap.nft.json`, 'utf8')) as { nftables: Array<Record<string, unknown>> };
    // the same chain with one more verdict map, bound to another interface: `iifname "eth9" tcp dport vmap { 7777 : accept }`
    const at = doc.nftables.findIndex((it) => JSON.stringify(it).includes('VMAP_DROP'));
    doc.nftables.splice(at, 0, { rule: { family: 'inet', table: 'filter', chain: 'input', handle: 99, expr: [
      { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'eth9' } },
      { vmap: { key: { payload: { protocol: 'tcp', field: 'dport' } }, data: { set: [[7777, { accept: null }]] } } },
    ] } });
    const r = parseRuleset(JSON.stringify(doc));
    if (!r.ok) throw new Error(r.issues.join());
    const t = trace(r.value, syn(7777));
    expect(t.verdict).toBe('drop');
    expect(t.nearMisses.map((n) => [n.rule.text, n.reasons.map((x) => x.detail)])).toEqual([
      ['iifname "eth9" tcp dport vmap { 7777 : accept }', ['in-interface eth9 (packet IN=eth0)']],
    ]);
  });
});

describe('a ruleset of thousands of chains (Calico: one chain per workload, reached through a dispatch chain)', () => {
  function calico(m: number): Ruleset {
    const rules = ['*filter', ':INPUT DROP [0:0]', ':cali-INPUT - [0:0]', ':cali-from-wl-dispatch - [0:0]'];
    for (let i = 0; i < m; i++) rules.push(`:cali-fw-cali${i} - [0:0]`);
    rules.push('-A INPUT -j cali-INPUT', '-A cali-INPUT -j cali-from-wl-dispatch');
    for (let i = 0; i < m; i++) {
      rules.push(
        `-A cali-from-wl-dispatch -i cali${i} -g cali-fw-cali${i}`,
        `-A cali-fw-cali${i} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
        `-A cali-fw-cali${i} -p tcp -m tcp --dport ${2000 + i} -j ACCEPT`,
        `-A cali-fw-cali${i} -j DROP`,
      );
    }
    rules.push('COMMIT', '');
    const parsed = parseRuleset(rules.join('\n'));
    if (!parsed.ok) throw new Error(parsed.issues.join());
    return parsed.value;
  }

  /** Traces 100 drops to the workloads' ports; checks each finds the workload chain that would have accepted it. */
  function traceAll(rs: Ruleset, m: number): number {
    const t0 = performance.now();
    for (let k = 0; k < 100; k++) {
      const i = (k * 13) % m;
      const t = trace(rs, ev({ in: 'eth0', dpt: 2000 + i }));
      expect(t.verdict).toBe('drop');
      expect(t.decidedBy?.ref).toMatchObject({ chain: 'INPUT', index: 0 });
      // the ACCEPT for this port sits behind the dispatch rule of another interface
      const nm = t.nearMisses.find((n) => n.rule.chain === `cali-fw-cali${i}`);
      expect(nm?.rule.index).toBe(2);
      expect(nm?.reasons.map((r) => r.kind)).toEqual(['interface']);
      expect(nm?.reasons[0]?.via).toMatchObject({ chain: 'cali-from-wl-dispatch', index: i + 1 });
    }
    return performance.now() - t0;
  }

  it('traces each drop in time linear in the number of chains, and finds the workload chain that would have accepted it', () => {
    // each jump looked its chain up among all of them, and each near-miss search walked every chain again: eight
    // times the chains took ~40 times as long (100 traces of 4,000 chains: ~6 s); now ~6-7 times (~0.35 s)
    const small = calico(500);
    const big = calico(4000);
    traceAll(small, 500); // warm-up
    // the best of three of each: one slow run on a busy machine is not a ratio; and up to three such ratios, the
    // lowest kept (in a full test run other workers share the two vCPUs: one ratio came out 20, alone it is ~7-9)
    let ratio = Infinity;
    for (let attempt = 0; attempt < 3 && ratio >= 16; attempt++) {
      const a = Math.min(traceAll(small, 500), traceAll(small, 500), traceAll(small, 500));
      const b = Math.min(traceAll(big, 4000), traceAll(big, 4000), traceAll(big, 4000));
      ratio = Math.min(ratio, b / a);
    }
    expect(ratio).toBeLessThan(16);
  });
});

describe('what the line cannot show, decided by the line itself (fixtures/rulesets/audit-trace: real rulesets and kernel lines)', () => {
  const A = 'audit-trace';
  const lineOf = (f: string) => parseLines(readFileSync(`${FIX}/${A}/${f}`, 'utf8'))[0] as DropEvent;

  it('a stateful firewall (`--ctstate NEW -j TCP`): the SYN is judged in TCP, where its LOG rule is', () => {
    const t = trace(load(`${A}/stateful-new-chain.iptables-save`), lineOf('stateful-new-chain.log'));
    expect(t.verdict).toBe('reject');
    expect(t.decidedBy?.ref).toMatchObject({ chain: 'TCP', index: 4 });
    expect(t.logRule).toMatchObject({ ref: { chain: 'TCP', index: 3 }, reached: true });
    const jump = t.steps.find((s) => s.ref.chain === 'INPUT' && s.ref.index === 6);
    expect([jump?.matched, jump?.action, jump?.assumed.map((e) => e.why)]).toEqual([
      true, 'jump', ['ctstate new (taken as matching: only so does the trace reach the LOG rule that wrote this line)'],
    ]);
    // the ESTABLISHED,RELATED ACCEPT before it is still taken as not matching
    expect(t.steps.find((s) => s.ref.index === 1 && s.ref.chain === 'INPUT')?.matched).toBe(false);
    expect(t.notes).toContain('taken as matching, as only so does the trace reach the LOG rule that wrote this line (TCP#3): INPUT#6 (ctstate new)');
  });

  it('nft `ct state new log … drop` in one rule: that rule decided', () => {
    const t = trace(load(`${A}/nft-ct-new-log-drop.nft.json`), lineOf('nft-ct-new-log-drop.log'));
    expect(t.verdict).toBe('drop');
    expect(t.decidedBy?.ref.text).toBe('udp dport 5000 ct state new log prefix "HTRACE_NATIVE2_ " drop');
    expect(t.logRule?.reached).toBe(true);
  });

  it('an ipset match (`! --match-set allow src -j LOGDROP`): the LOG rule in LOGDROP wrote the line, so the jump was taken', () => {
    const t = trace(load(`${A}/ipset-negated.iptables-save`), lineOf('ipset-negated.log'));
    expect(t.verdict).toBe('drop');
    expect(t.decidedBy?.ref).toMatchObject({ chain: 'LOGDROP', index: 2 });
    expect(t.notes.some((n) => n.includes('INPUT#3 (-m set ! --match-set htrace-allow src)'))).toBe(true);
  });

  it('no rule taken as matching reaches the LOG rule: the trace is the plain one, and says the LOG rule was not reached', () => {
    const rs = rules([
      '*filter', ':INPUT DROP [0:0]', ':NEVER - [0:0]',
      ...Array.from({ length: 60 }, (_, i) => `-A INPUT -m conntrack --ctstate NEW -p tcp --dport ${20000 + i} -j ACCEPT`),
      '-A INPUT -j LOG --log-prefix "NODE_DROP "',
      '-A INPUT -j DROP',
      '-A NEVER -j LOG --log-prefix "ELSEWHERE "',
      'COMMIT', '',
    ]);
    const plain = trace(rs, ev({}));
    expect([plain.verdict, plain.decidedBy?.ref.index, plain.logRule?.reached]).toEqual(['drop', 62, true]);
    expect(plain.notes.some((n) => n.startsWith('taken as matching'))).toBe(false);
    const t0 = performance.now();
    const lost = trace(rs, ev({ prefix: 'ELSEWHERE ', dpt: 20005 }));
    expect(performance.now() - t0).toBeLessThan(1000);
    // 60 ACCEPTs that might match, none reaching NEVER: the plain trace stays, with its note
    expect([lost.verdict, lost.decidedBy?.ref.index, lost.logRule?.reached]).toEqual(['drop', 62, false]);
    expect(lost.notes.some((n) => n.startsWith('the LOG rule with this prefix (NEVER#1) was not reached'))).toBe(true);
  });
});

describe('ICMP names per family, type/code pairs, ip6 nexthdr (fixtures/rulesets/audit-trace; the kernel decided each line)', () => {
  const A = 'audit-trace';
  const lines = parseLines(readFileSync(`${FIX}/${A}/icmp-names.log`, 'utf8'));

  it('--icmp-type router-solicitation is IPv4 type 10 (the kernel accepted it), --icmpv6-type echo-reply is 129', () => {
    const [type10, v6type0, v6echo] = lines as [DropEvent, DropEvent, DropEvent];
    expect([type10.icmp?.type, v6type0.icmp?.type, v6echo.icmp?.type]).toEqual([10, 0, 128]);
    const v4 = trace(load(`${A}/icmp-names.iptables-save`), type10);
    expect([v4.verdict, v4.steps[0]?.matched]).toEqual(['accept', true]);
    const rs6 = load(`${A}/icmp-names.ip6tables-save`);
    const t0 = trace(rs6, v6type0);
    expect([t0.verdict, t0.decidedBy?.ref.index]).toEqual(['drop', 4]);
    // the echo request from the other interface: the echo-reply rule is no near miss of it, the echo-request rule is
    const te = trace(rs6, v6echo);
    expect([te.verdict, te.decidedBy?.ref.index]).toEqual(['drop', 4]);
    const reqRule = te.steps.find((s) => s.ref.index === 1);
    expect(reqRule?.failed.map((f) => f.why)).toEqual(['in-interface htrace-n1 (packet IN=htrace-n0)']);
    expect(te.steps.find((s) => s.ref.index === 2)?.failed.map((f) => f.why)).toEqual(['icmp type 129 (packet TYPE=128)']);
  });

  it('type/code pairs and iptables code names: 3/4, port-unreachable, any', () => {
    const rs = rules([
      '*filter', ':INPUT DROP [0:0]',
      '-A INPUT -p icmp -m icmp --icmp-type 3/4 -j ACCEPT',
      '-A INPUT -p icmp -m icmp --icmp-type port-unreachable -j ACCEPT',
      '-A INPUT -p icmp -m icmp ! --icmp-type any -j ACCEPT',
      '-A INPUT -p icmp -m icmp --icmp-type any -j LOG --log-prefix "NODE_DROP "',
      'COMMIT', '',
    ]);
    const icmp = (type: number, code: number) => ev({ proto: 'ICMP', spt: undefined, dpt: undefined, flags: undefined, icmp: { type, code } });
    const decided = (type: number, code: number) => {
      const t = trace(rs, icmp(type, code));
      return t.verdict === 'accept' ? t.steps.find((s) => s.action === 'accept')?.ref.index : t.verdict;
    };
    expect([decided(3, 4), decided(3, 3), decided(3, 1), decided(8, 0)]).toEqual([1, 2, 'drop', 'drop']);
    const logStep = trace(rs, icmp(8, 0)).steps.find((s) => s.ref.index === 4);
    expect([logStep?.matched, logStep?.action]).toEqual([true, 'log']);
  });

  it('nft `ip6 nexthdr icmpv6`: an MLD report follows a hop-by-hop header, so the ACCEPT did not apply (the kernel dropped it)', () => {
    const rs = load(`${A}/ip6-nexthdr.nft.json`);
    const [mld] = parseLines(readFileSync(`${FIX}/${A}/ip6-nexthdr-mld.log`, 'utf8'));
    expect(mld?.icmp?.type).toBe(143);
    const t = trace(rs, mld as DropEvent);
    expect(t.verdict).toBe('drop');
    expect(t.decidedBy?.ref.text).toBe('log prefix "HTRACE_DROP_ " drop');
    const acc = t.steps.find((s) => s.ref.text.startsWith('ip6 nexthdr'));
    expect(acc?.failed.map((f) => f.why)).toEqual(['ip6 nexthdr icmpv6 (an MLD message: a hop-by-hop header comes first)']);
    // an echo request: the first header cannot be told from the line
    const echo = trace(rs, { ...(mld as DropEvent), icmp: { type: 128, code: 0 } });
    expect(echo.steps.find((s) => s.ref.text.startsWith('ip6 nexthdr'))?.assumed.map((e) => e.match.kind)).toEqual(['nexthdr']);
  });
});

it('an ICMP ACCEPT for another message type is no near miss (an echo-request rule, a dropped redirect)', () => {
  const rs = rules([
    '*filter', ':INPUT DROP [0:0]',
    '-A INPUT -i other0 -p icmp -m icmp --icmp-type echo-request -j ACCEPT',
    '-A INPUT -i other0 -p icmp -m icmp --icmp-type redirect -j ACCEPT',
    '-A INPUT -j LOG --log-prefix "NODE_DROP "',
    'COMMIT', '',
  ]);
  const t = trace(rs, ev({ proto: 'ICMP', spt: undefined, dpt: undefined, flags: undefined, icmp: { type: 5, code: 1 } }));
  expect(t.nearMisses.map((n) => n.rule.index)).toEqual([2]);
});

describe('the search for what the line shows stays cheap and leaves LOG-for-accept rules alone (found by a review)', () => {
  it('a LOG rule nothing reaches, behind 3,000 unknown matches: no more work than a plain trace (it was ~80x)', () => {
    const rules = ['*filter', ':INPUT ACCEPT [0:0]', ':NOOP - [0:0]', ':OLD - [0:0]'];
    for (let i = 0; i < 3000; i++) rules.push(`-A INPUT -p tcp -m set --match-set s${i} src -j NOOP`);
    rules.push('-A INPUT -j LOG --log-prefix "NODE_DROP "', '-A INPUT -j DROP', '-A OLD -j LOG --log-prefix "OLD_DROP "', 'COMMIT', '');
    const rs = parseRuleset(rules.join('\n'));
    if (!rs.ok) throw new Error(rs.issues.join());
    const time = (prefix: string) => {
      let best = Infinity;
      for (let k = 0; k < 3; k++) {
        const t0 = performance.now();
        for (let i = 0; i < 20; i++) trace(rs.value, ev({ prefix, dpt: 9000 + i }));
        best = Math.min(best, performance.now() - t0);
      }
      return best;
    };
    time('NODE_DROP '); // warm-up
    const plain = time('NODE_DROP ');
    const lost = time('OLD_DROP ');
    expect(lost / plain).toBeLessThan(3);
    const t = trace(rs.value, ev({ prefix: 'OLD_DROP ' }));
    expect([t.verdict, t.logRule?.reached]).toEqual(['drop', false]);
  });

  it('a LOG rule for accepted traffic: the trace reaches it and accepts, and stays so', () => {
    const rs = rules([
      '*filter', ':INPUT ACCEPT [0:0]',
      '-A INPUT -p tcp -m tcp --dport 22 -j LOG --log-prefix "SSH_NEW "',
      '-A INPUT -m conntrack --ctstate INVALID -j DROP',
      '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT',
      'COMMIT', '',
    ]);
    const t = trace(rs, ev({ prefix: 'SSH_NEW ', dpt: 22 }));
    expect([t.verdict, t.logRule?.reached]).toEqual(['accept', true]);
    expect(t.notes.some((n) => n.startsWith('taken as matching'))).toBe(false);
  });
});

describe('nft TCP flags, concatenations and address ranges (fixtures/rulesets/sets-flags: what nft printed, the kernel\'s lines and counters)', () => {
  // test/ruleset/kernel.test.ts sent one packet per case (source port 41000 + its index) and recorded, per packet,
  // the rules whose counters the kernel moved (sets-flags.counted.json): that is what the trace must say
  const rs = load('sets-flags.nft.json');
  const lines = parseLines(readFileSync(`${FIX}/sets-flags.log`, 'utf8'));
  const counted = JSON.parse(readFileSync(`${FIX}/sets-flags.counted.json`, 'utf8')) as Array<{ spt: number; counted: string[] }>;
  const seen = (spt: number) => lines.find((e) => e.prefix === 'FWDIAG_SEEN ' && e.spt === spt) as DropEvent;
  const logged = (prefix: string, spt: number) => lines.find((e) => e.prefix === prefix && e.spt === spt) as DropEvent;
  const id = (r: { family: string; table: string; chain: string; index: number }) => `${r.family} ${r.table} ${r.chain}#${r.index}`;
  /** rules with a counter in the capture: every rule but the observer LOG and the ICMPv6 ACCEPT */
  const counters = new Set<string>();
  /** the rules that drop */
  const drops = new Set<string>();
  for (const t of rs.tables) for (const c of t.chains) for (const r of c.rules) {
    const k = id({ family: t.family, table: t.name, chain: c.name, index: r.index });
    if (r.index > 2 || t.family !== 'inet') counters.add(k);
    if (r.verdict.kind === 'drop') drops.add(k);
  }

  it('each of the 49 packets, IPv4 and IPv6: the trace matches exactly the rules the kernel counted, and decides as it did', () => {
    expect(counted).toHaveLength(49);
    const differ: unknown[] = [];
    for (const { spt, counted: kernel } of counted) {
      const t = trace(rs, seen(spt));
      const matched = t.steps.filter((s) => s.matched && !s.policy && counters.has(id(s.ref))).map((s) => id(s.ref));
      const kernelDropped = kernel.some((k) => drops.has(k));
      if (JSON.stringify(matched) !== JSON.stringify(kernel) || t.verdict !== (kernelDropped ? 'drop' : 'accept')) differ.push({ spt, kernel, matched, verdict: t.verdict });
      // a line the kernel wrote is read whole: nothing about these packets is left to an assumption
      expect(t.notes.filter((n) => n.includes('cannot evaluate')), String(spt)).toEqual([]);
    }
    expect(differ).toEqual([]);
  });

  it('TCP flags: a null scan, an Xmas scan and SYN+FIN dropped by their rules; an ECN SYN (SYN ECE CWR) passes `!= syn / fin,syn,rst,ack` but is no `{ syn, syn | ack }`', () => {
    const decided = (spt: number) => {
      const t = trace(rs, seen(spt));
      return `${t.verdict} ${(t.decidedBy ?? t.steps.find((s) => s.action === 'accept'))?.ref.text}`;
    };
    expect([41000, 41001, 41002].map(decided)).toEqual([
      'drop tcp flags ! fin,syn,rst,psh,ack,urg drop',
      'drop tcp flags fin,psh,urg / fin,syn,rst,psh,ack,urg drop',
      'drop tcp flags fin,syn / fin,syn drop',
    ]);
    expect(seen(41006).flags).toEqual(['CWR', 'ECE', 'SYN']);
    expect(decided(41006)).toBe('accept tcp dport 7001 accept');
    expect(decided(41004)).toBe('drop tcp dport 7001 tcp flags != syn / fin,syn,rst,ack drop'); // an ACK
    const ecn = trace(rs, logged('HARVESTER_DROP_', 41010));
    expect([ecn.verdict, ecn.decidedBy?.ref.index, ecn.logRule?.reached]).toEqual(['drop', 24, true]);
    expect(ecn.nearMisses.map((n) => [n.rule.text, n.reasons.map((r) => `${r.kind}: ${r.detail}`)])).toEqual([
      ['tcp dport 7002 tcp flags { syn | ack, syn } accept', ['other: tcp flags { syn | ack, syn } (packet CWR ECE SYN: no element)']],
    ]);
  });

  it('a concatenation: 198.18.61.2 . 7100 is accepted by its element; from .15 the packet is dropped, and the ACCEPT is a source near miss naming the elements for 7100', () => {
    const ok = trace(rs, seen(41017));
    const acc = ok.steps.find((s) => s.action === 'accept');
    expect([ok.verdict, acc?.ref.index]).toEqual(['accept', 12]);
    const t = trace(rs, logged('HARVESTER_DROP_', 41018));
    expect([t.verdict, t.decidedBy?.ref.index]).toEqual(['drop', 24]);
    expect(t.nearMisses.map((n) => [n.rule.index, n.reasons.map((r) => `${r.kind}: ${r.detail}`)])).toEqual([[12, [
      'source: ip saddr . tcp dport { 198.18.61.2 . 7100, 198.18.61.3 . 7100 } (packet SRC=198.18.61.15 DPT=7100: no element; for DPT=7100: 198.18.61.2 . 7100, 198.18.61.3 . 7100)',
    ]]]);
    // meta l4proto . th dport: UDP 7103 accepted, UDP 7104 dropped; an interface . port set: eth1 . 7101 only
    expect([41019, 41020, 41022, 41023].map((spt) => trace(rs, seen(spt)).verdict)).toEqual(['accept', 'drop', 'accept', 'drop']);
  });

  it('ranges: `ip saddr != …` is no match for IPv6 (its IPv4 dependency is not negated with it); an ip6 interval set holds the boundary', () => {
    const v6 = trace(rs, seen(41028));
    expect([v6.packet.family, v6.packet.dpt, v6.verdict]).toEqual([6, 7301, 'drop']);
    expect(v6.steps.find((s) => s.ref.index === 16)?.failed.map((f) => f.why)).toEqual(['ipv4 (packet IPv6)']);
    const boundary = trace(rs, seen(41031));
    expect([boundary.packet.src, boundary.verdict, boundary.steps.find((s) => s.action === 'accept')?.ref.text]).toEqual([
      'fe80:0000:0000:0000:0000:00ff:fe00:3d02', 'accept', 'ip6 saddr @peers6 tcp dport 7302 accept',
    ]);
    const outside = trace(rs, logged('HARVESTER_DROP_', 41032));
    expect(outside.steps.find((s) => s.ref.index === 19)?.failed.map((f) => f.why)).toEqual([
      'source fe80::ff:fe00:3d03-fe80::ff:fe00:3dff (packet SRC=fe80:0000:0000:0000:0000:00ff:fe00:3d02)',
    ]);
  });

  it('the ip and ip6 tables judge after the inet table accepted: their LOG rules wrote the lines, and their rules dropped', () => {
    const v4 = trace(rs, logged('HARVESTER_DROP4_', 41041));
    expect([v4.verdict, v4.decidedBy?.ref.family, v4.decidedBy?.ref.table, v4.logRule?.reached]).toEqual(['drop', 'ip', 'fwdiag_v4', true]);
    const v6 = trace(rs, logged('HARVESTER_DROP6_', 41046));
    expect([v6.verdict, v6.decidedBy?.ref.family, v6.decidedBy?.ref.index, v6.logRule?.reached]).toEqual(['drop', 'ip6', 1, true]);
    // `tcp flags syn / fin,syn,rst,ack ip saddr 198.18.61.0-198.18.61.9`: a SYN from .2 dropped, an ACK or .15 not
    expect([41043, 41044, 41045].map((spt) => trace(rs, seen(spt)).verdict)).toEqual(['drop', 'accept', 'accept']);
  });

  it('an element the line cannot judge leaves the set unknown (taken as not matching), as does an address fwdiag cannot read', () => {
    const p = packetFromEvent(ev({}));
    const set: Match = { kind: 'anyof', text: 'ct state . tcp dport { new . 9999 }', neg: false, elements: [
      { text: 'new . 9999', matches: [{ kind: 'ctstate', states: ['new'], neg: false }, { kind: 'dport', ranges: [{ from: 9999, to: 9999 }], neg: false }] },
    ] };
    expect(evalMatch(set, p).result).toBe('unknown');
    expect(evalMatch({ ...set, neg: true }, p).result).toBe('unknown');
    expect(evalMatch({ kind: 'saddr', cidrs: ['198.18.0.1-198.18.0.x'], neg: false }, p).result).toBe('unknown');
    // an address within a range, and the kernel's rule for a wanted flag outside the mask: never equal
    expect(evalMatch({ kind: 'saddr', cidrs: ['198.18.0.1-198.18.0.3'], neg: false }, p).result).toBe('yes');
    expect(evalMatch({ kind: 'tcpflags', mask: ['ACK'], comp: ['SYN'], neg: false }, p).result).toBe('no');
  });
});

describe('several LOG rules with the line\'s prefix (UFW logs "[UFW BLOCK] " from two chains)', () => {
  it('names the one the trace reached, not the first of the ruleset', () => {
    const rs = rules([
      '*filter', ':INPUT DROP [0:0]',
      '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT',
      '-A INPUT -p tcp -j LOG --log-prefix "FW_DROP "',
      '-A INPUT -p tcp -j DROP',
      '-A INPUT -p udp -m udp --dport 53 -j ACCEPT',
      '-A INPUT -p udp -j LOG --log-prefix "FW_DROP "',
      '-A INPUT -p udp -j DROP',
      'COMMIT', '',
    ]);
    const t = trace(rs, ev({ prefix: 'FW_DROP ', proto: 'UDP', dpt: 8472, flags: undefined }));
    expect(t.decidedBy?.ref.index).toBe(6);
    expect(t.logRule).toMatchObject({ ref: { chain: 'INPUT', index: 5 }, reached: true });
    expect(formatTrace(t)).toContain('logged   by ip filter INPUT#5 (reached by this trace)');
  });

  it('takes what the line cannot show as matching to reach any of them, and names the one reached', () => {
    // the TCP drops are logged in INPUT, the new UDP datagrams in a chain reached through `--ctstate NEW` only
    const rs = rules([
      '*filter', ':INPUT DROP [0:0]', ':UDP_NEW - [0:0]',
      '-A INPUT -p tcp -j LOG --log-prefix "FW_DROP "',
      '-A INPUT -p tcp -j DROP',
      '-A INPUT -p udp -m conntrack --ctstate NEW -j UDP_NEW',
      '-A UDP_NEW -j LOG --log-prefix "FW_DROP "',
      '-A UDP_NEW -j DROP',
      'COMMIT', '',
    ]);
    const t = trace(rs, ev({ prefix: 'FW_DROP ', proto: 'UDP', dpt: 8472, flags: undefined }));
    expect(t.decidedBy?.ref).toMatchObject({ chain: 'UDP_NEW', index: 2 });
    expect(t.logRule).toMatchObject({ ref: { chain: 'UDP_NEW', index: 1 }, reached: true });
    expect(t.notes).toContain('taken as matching, as only so does the trace reach the LOG rule that wrote this line (UDP_NEW#1): INPUT#3 (ctstate new)');
  });
});

describe('non-terminal targets (fixtures/rulesets/marks.*: MARK, CONNMARK as a CNI puts them in INPUT)', () => {
  const save = load('marks.iptables-save');
  const nft = load('marks.iptables-nft.json'); // the same rules through nft -j: iptables-nft's opaque xt targets
  const path = (rs: Ruleset, dpt: number) => {
    const t = trace(rs, ev({ prefix: 'MARKS_DROP ', dpt }));
    const { text: _text, ...decidedBy } = t.decidedBy?.ref ?? { text: '' }; // the rule's text is each form's own
    return { verdict: t.verdict, decidedBy, matched: t.steps.filter((s) => s.matched).map((s) => `${s.ref.chain}#${s.ref.index}:${s.action}`) };
  };
  it.each([
    [9345, 'drop', ['INPUT#1:continue', 'INPUT#3:jump', 'NODE_IN#1:continue', 'NODE_IN#5:log', 'NODE_IN#6:drop']],
    [6443, 'drop', ['INPUT#1:continue', 'INPUT#3:jump', 'NODE_IN#3:continue', 'NODE_IN#5:log', 'NODE_IN#6:drop']],
    [22, 'accept', ['INPUT#1:continue', 'INPUT#3:jump', 'NODE_IN#2:accept']],
  ] as const)('a SYN to %i goes on past them to the same verdict in both forms', (dpt, verdict, matched) => {
    const a = path(save, dpt);
    expect(a).toMatchObject({ verdict, matched });
    expect(path(nft, dpt)).toEqual(a);
  });
});
