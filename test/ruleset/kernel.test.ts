/**
 * Real-kernel tests: the committed fixtures are what iptables-save / nft -j print for these rules, and traces of
 * drops the kernel really logged agree with what the kernel did.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { traceCommand } from '../../src/cli/trace.js';
import { memoryIO } from '../catalog/cli-io.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createParser } from '../../src/parse/parse-line.js';
import type { DropEvent } from '../../src/parse/event.js';
import { parseRuleset, trace } from '../../src/ruleset/index.js';
import type { Ruleset } from '../../src/ruleset/index.js';
import { addNs, cleanup, enableNetnsLog, inNs, kernelLines, link, linkWithMacs, randomOctet, restoreNetnsLog, runInNs } from './netns.js';
import { bg, cleanup as cleanupChildren, kmsgSeq, kmsgSince, waitFor } from '../suggest/kernel.js';
import { runSuggest } from '../suggest/run.js';

const FIX = 'fixtures/rulesets';
const body = (t: string) => t.split('\n').filter((l) => l !== '' && !l.startsWith('#')).join('\n');
const ruleTexts = (rs: Ruleset) => rs.tables.map((t) => ({ t: `${t.family} ${t.name}`, chains: t.chains.map((c) => [c.name, c.policy, ...c.rules.map((r) => r.text)]) }));

function mustParse(text: string): Ruleset {
  const r = parseRuleset(text);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.value;
}

function events(lines: string[]): DropEvent[] {
  const p = createParser();
  return lines.flatMap((l) => {
    const r = p.parseLine(l);
    return r.kind === 'event' ? [r.event] : [];
  });
}

let oldLog = '';
beforeAll(() => {
  oldLog = enableNetnsLog();
});
afterAll(() => {
  cleanup();
  restoreNetnsLog(oldLog);
});

describe('committed fixtures are real tool output', () => {
  it('iptables-save after the Harvester seed control-plane commands equals the fixture', () => {
    const ns = addNs('save');
    try {
      inNs(ns, `sh ${FIX}/harvester-control-plane.commands.sh`);
      const live = inNs(ns, 'iptables-save');
      const fixture = readFileSync(`${FIX}/harvester-control-plane.iptables-save`, 'utf8');
      expect(body(live)).toBe(body(fixture));
      expect(ruleTexts(mustParse(live))).toEqual(ruleTexts(mustParse(fixture)));
      // the seed's cleanup lines make it idempotent: a second run leaves the same ruleset
      inNs(ns, `sh ${FIX}/harvester-control-plane.commands.sh`);
      expect(body(inNs(ns, 'iptables-save'))).toBe(body(fixture));
    } finally {
      cleanup();
    }
  });
  it('nft -j list ruleset after loading talos-like.nft equals the fixture', () => {
    const ns = addNs('nft');
    try {
      inNs(ns, `nft -f ${FIX}/talos-like.nft`);
      const live = mustParse(inNs(ns, 'nft -j list ruleset'));
      const fixture = mustParse(readFileSync(`${FIX}/talos-like.nft.json`, 'utf8'));
      expect(ruleTexts(live)).toEqual(ruleTexts(fixture));
      expect(live.tables[0]?.chains.find((c) => c.name === 'ingress')?.rules).toHaveLength(14);
    } finally {
      cleanup();
    }
  });
});

describe('rule text reads as nft lists the rule', () => {
  // interface names quoted (`iifname "eth1"`, in sets, concatenations and verdict maps), flag masks joined by commas
  const IFACES = [
    'table inet ifq {',
    ' set ifports { type ifname . inet_service; elements = { "eth1" . 22 } }',
    ' chain c {',
    '  type filter hook input priority 0;',
    '  iifname "eth1" tcp dport 6443 accept',
    '  iifname { "eth1", "br-*" } accept',
    '  iif "lo" accept',
    '  oifname != "x y" drop',
    '  iifname . tcp dport { "eth1" . 22 } accept',
    '  iifname . tcp dport @ifports accept',
    '  iifname vmap { "eth2" : accept, "eth3" : drop }',
    '  ct state { established, related } counter accept',
    ' }',
    '}',
  ].join('\n');
  const files = ['talos-like.nft', 'vmap.nft', 'sets-flags.nft', 'limits.nft', 'log-drop.nft', 'policy-drop.nft'];
  it.each([...files.map((f) => [f, readFileSync(`${FIX}/${f}`, 'utf8')]), ['interface names', IFACES]])('%s: every rule\'s text is a line of `nft list ruleset` (less its counter)', (_, rules) => {
    const ns = addNs('text');
    try {
      inNs(ns, 'nft -f -', rules);
      const listed = new Set(inNs(ns, 'nft list ruleset').split('\n').map((l) => l.trim().replace(/counter packets \d+ bytes \d+ /, '')));
      const texts = mustParse(inNs(ns, 'nft -j list ruleset')).tables.flatMap((t) => t.chains.flatMap((c) => c.rules.map((r) => r.text)));
      expect(texts.length).toBeGreaterThan(3);
      expect(texts.filter((t) => !listed.has(t))).toEqual([]);
    } finally {
      cleanup();
    }
  });
});

describe('nft verdict maps, against the kernel', () => {
  it('for every port, the trace of the packet says what the kernel did with it (accepted: refused by the closed port; dropped: no answer)', async () => {
    const node = addNs('vmap');
    const peer = addNs('vmappeer');
    try {
      const { nodeIp, peerIp } = link(node, peer, 'eth1', 'eth0', randomOctet());
      inNs(node, `nft -f ${FIX}/vmap.nft`);
      const live = mustParse(inNs(node, 'nft -j list ruleset'));
      expect(ruleTexts(live)).toEqual(ruleTexts(mustParse(readFileSync(`${FIX}/vmap.nft.json`, 'utf8'))));
      const seq0 = kmsgSeq();
      const kernel = new Map<number, string>();
      const ports = [22, 10250, 6443, 2379, 9005, 8080];
      for (const port of ports) {
        // a closed port answers RST when the firewall let the SYN in; a dropped SYN gets no answer
        const py = `import socket\ns = socket.socket(); s.settimeout(1.5)\ntry:\n    s.connect(("${nodeIp}", ${port})); print("open")\nexcept ConnectionRefusedError:\n    print("refused")\nexcept OSError:\n    print("timeout")`;
        const out = runInNs(peer, `python3 -c '${py.replace(/'/g, `'\\''`)}'`).stdout.trim();
        kernel.set(port, out === 'timeout' ? 'drop' : 'accept');
      }
      expect([...kernel.values()]).toEqual(['accept', 'accept', 'accept', 'drop', 'drop', 'drop']);
      let lines: string[] = [];
      await waitFor(() => (lines = kmsgSince(seq0, `SRC=${peerIp} DST=${nodeIp}`).filter((l) => l.includes(' SYN '))).length >= 1, 3000);
      // only the SYN the log rule saw was logged: the verdict map dropped 2379 and 9005 without a word
      const logged = events(lines);
      expect([...new Set(logged.map((e) => e.dpt))]).toEqual([8080]);
      const base = logged[0] as DropEvent;
      for (const port of ports) {
        const t = trace(live, { ...base, dpt: port });
        expect([port, t.verdict]).toEqual([port, kernel.get(port)]);
      }
      expect(trace(live, { ...base, dpt: 9005 }).decidedBy?.ref.text).toBe('tcp dport vmap { 6443 : accept, 9000-9010 : drop }');
      expect(trace(live, { ...base, dpt: 2379 }).decidedBy?.ref.text).toBe('tcp dport vmap @svc');
      const t8080 = trace(live, base);
      expect([t8080.decidedBy?.ref.text, t8080.logRule?.reached]).toEqual(['log prefix "VMAP_DROP " drop', true]);
    } finally {
      cleanup();
    }
  });
});

/**
 * The packets sent at fixtures/rulesets/sets-flags.nft, one each (source port 41000 + its index): from the peer's
 * address (p), its second address .15 (x) or its IPv6 link-local address (6); TCP with these flags, or UDP.
 */
const SETS_FLAGS_CASES: Array<[src: 'p' | 'x' | '6', proto: 'tcp' | 'udp', dport: number, flags: string]> = [
  ['p', 'tcp', 7000, 'NONE'], ['p', 'tcp', 7000, 'FIN,PSH,URG'], ['p', 'tcp', 7000, 'SYN,FIN'], ['p', 'tcp', 7000, 'FIN,PSH,URG,ACK'],
  ['p', 'tcp', 7001, 'ACK'], ['p', 'tcp', 7001, 'SYN'], ['p', 'tcp', 7001, 'SYN,ECE,CWR'], ['6', 'tcp', 7001, 'RST'],
  ['p', 'tcp', 7002, 'SYN'], ['p', 'tcp', 7002, 'SYN,ACK'], ['p', 'tcp', 7002, 'SYN,ECE,CWR'],
  ['p', 'tcp', 7003, 'FIN'], ['p', 'tcp', 7003, 'ACK,PSH'], ['p', 'tcp', 7004, 'SYN,ACK'], ['p', 'tcp', 7004, 'ACK'],
  ['p', 'tcp', 7005, 'SYN'], ['p', 'tcp', 7005, 'SYN,ECE,CWR'],
  ['p', 'tcp', 7100, 'SYN'], ['x', 'tcp', 7100, 'SYN'], ['p', 'udp', 7103, 'NONE'], ['p', 'udp', 7104, 'NONE'], ['6', 'tcp', 7103, 'SYN'],
  ['p', 'tcp', 7101, 'SYN'], ['p', 'tcp', 7102, 'SYN'],
  ['x', 'tcp', 7300, 'SYN'], ['p', 'tcp', 7300, 'SYN'], ['p', 'tcp', 7301, 'SYN'], ['x', 'tcp', 7301, 'SYN'], ['6', 'tcp', 7301, 'SYN'],
  ['x', 'tcp', 7302, 'SYN'], ['p', 'tcp', 7302, 'SYN'], ['6', 'tcp', 7302, 'SYN'], ['6', 'tcp', 7303, 'SYN'], ['6', 'tcp', 7304, 'SYN'],
  ['p', 'tcp', 7304, 'SYN'],
  ['p', 'tcp', 7205, 'SYN'], ['x', 'tcp', 7210, 'SYN'], ['p', 'tcp', 7210, 'SYN'],
  ['6', 'tcp', 7400, 'SYN'], ['6', 'tcp', 7401, 'SYN'], ['6', 'tcp', 7402, 'SYN'],
  ['x', 'tcp', 7500, 'SYN'], ['p', 'tcp', 7500, 'SYN'], ['p', 'tcp', 7501, 'SYN'], ['p', 'tcp', 7501, 'ACK'], ['x', 'tcp', 7501, 'SYN'],
  ['6', 'tcp', 7500, 'SYN'], ['6', 'tcp', 7501, 'SYN'], ['6', 'tcp', 7501, 'SYN,ACK'],
];

/** Every rule with a counter in `nft -j list ruleset` output, as `family table chain#index`, and its packets. */
function nftCounters(json: string): Map<string, number> {
  const out = new Map<string, number>();
  const seen = new Map<string, number>();
  for (const it of (JSON.parse(json) as { nftables: Array<{ rule?: { family: string; table: string; chain: string; expr: Array<Record<string, { packets?: number }>> } }> }).nftables) {
    const r = it.rule;
    if (r === undefined) continue;
    const chain = `${r.family} ${r.table} ${r.chain}`;
    const index = (seen.get(chain) ?? 0) + 1;
    seen.set(chain, index);
    const c = r.expr.find((e) => 'counter' in e)?.counter;
    if (c !== undefined) out.set(`${chain}#${index}`, c.packets ?? 0);
  }
  return out;
}

/**
 * Packet by packet, the rules (`family table chain#index`) whose counters each one moved: the returned function runs
 * `send` (which sends one packet at namespace `node`'s rules) and waits until the counters move.
 */
function counterWatch(node: string): (send: () => void) => Promise<string[]> {
  const read = () => nftCounters(inNs(node, 'nft -j list ruleset'));
  let before = read();
  return async (send) => {
    send();
    let after = before;
    const moved = () => [...after].filter(([k, n]) => n !== before.get(k)).map(([k]) => k);
    await waitFor(() => {
      after = read();
      return moved().length > 0;
    }, 2000, 20);
    await new Promise((r) => setTimeout(r, 50)); // the packet's later base chains, should the read have come between
    after = read();
    const out = moved();
    before = after;
    return out;
  };
}

/** A /dev/kmsg record (`6,SEQ,USEC,-;TEXT`) as dmesg prints it (`[SECONDS] TEXT`). */
function dmesgLine(rec: string): string {
  const usec = Number(rec.split(',')[2]);
  return `[${String(Math.floor(usec / 1e6)).padStart(5)}.${String(usec % 1e6).padStart(6, '0')}] ${rec.slice(rec.indexOf(';') + 1)}`;
}

describe('nft TCP flags, concatenations and address ranges, against the kernel (fixtures/rulesets/sets-flags.nft)', () => {
  it('for each crafted packet, IPv4 and IPv6, the trace matches exactly the rules whose counters the kernel moved, and decides as it did', async () => {
    // FWRS_WRITE_FIXTURES=1: the committed capture (third octet 61), else another octet, so that its lines are only
    // ours (16 or above: two hex digits in the MAC and link-local addresses, as in the fixture's "3d")
    const write = process.env.FWRS_WRITE_FIXTURES === '1';
    const octet = write ? 61 : 16 + Math.floor(Math.random() * 235);
    const node = addNs('sets');
    const peer = addNs('setspeer');
    try {
      const { nodeIp, peerIp, nodeLl, peerLl } = linkWithMacs(node, peer, 'eth1', 'eth0', octet);
      const extra = `198.18.${octet}.15`;
      inNs(peer, `ip addr add ${extra}/24 dev eth0`);
      const hh = octet.toString(16);
      const local = (t: string) => t.replace(/198\.18\.61\./g, `198.18.${octet}.`).replace(/fe00:3d/g, `fe00:${hh}`);
      inNs(node, 'nft -f -', local(readFileSync(`${FIX}/sets-flags.nft`, 'utf8')));
      const craft = join(process.cwd(), 'test/ruleset/craft.py');
      // the interpreter itself, not a version manager's shim: ~0.07 s a packet instead of ~0.25 s
      const python = inNs(peer, 'python3 -c "import sys; print(sys.executable)"').trim();
      const seq0 = kmsgSeq();
      const kernel = new Map<number, string[]>();
      const counted = counterWatch(node);
      for (const [i, [src, proto, dport, flags]] of SETS_FLAGS_CASES.entries()) {
        const spt = 41000 + i;
        const [from, to] = src === '6' ? [peerLl, nodeLl] : [src === 'x' ? extra : peerIp, nodeIp];
        kernel.set(spt, await counted(() => inNs(peer, `timeout 5 ${python} ${craft} ${proto} ${from} ${to} ${spt} ${dport} ${flags} eth0`)));
      }
      const json = inNs(node, 'nft -j list ruleset');
      if (write) writeFileSync(`${FIX}/sets-flags.nft.json`, json);
      const live = mustParse(json);
      expect(ruleTexts(live)).toEqual(ruleTexts(mustParse(local(readFileSync(`${FIX}/sets-flags.nft.json`, 'utf8')))));
      const mac = `MAC=02:00:00:00:${hh}:01:02:00:00:00:${hh}:02`;
      let recs: string[] = [];
      await waitFor(() => (recs = kmsgSince(seq0, mac).filter((l) => / SPT=410\d\d /.test(l))).filter((l) => l.includes('FWDIAG_SEEN ')).length >= SETS_FLAGS_CASES.length, 3000);
      const lines = recs.map(dmesgLine);
      if (write) {
        writeFileSync(`${FIX}/sets-flags.log`, `${lines.join('\n')}\n`);
        writeFileSync(`${FIX}/sets-flags.counted.json`, `${JSON.stringify([...kernel].map(([spt, counted]) => ({ spt, counted })), null, 1)}\n`);
      }
      const withCounter = new Set(nftCounters(json).keys());
      const id = (s: { ref: { family: string; table: string; chain: string; index: number } }) => `${s.ref.family} ${s.ref.table} ${s.ref.chain}#${s.ref.index}`;
      const verdictOf = new Map(live.tables.flatMap((t) => t.chains.flatMap((c) => c.rules.map((r): [string, string] => [`${t.family} ${t.name} ${c.name}#${r.index}`, r.verdict.kind]))));
      const evs = events(lines);
      const seen = evs.filter((e) => e.prefix === 'FWDIAG_SEEN ');
      expect(seen.map((e) => e.spt as number).sort((a, b) => a - b)).toEqual([...kernel.keys()]);
      const differ: unknown[] = [];
      for (const e of seen) {
        const counted = kernel.get(e.spt as number) ?? [];
        const t = trace(live, e);
        const matched = t.steps.filter((s) => s.matched && !s.policy && withCounter.has(id(s))).map(id);
        const dropped = counted.some((k) => verdictOf.get(k) === 'drop');
        if (JSON.stringify(matched) !== JSON.stringify(counted) || t.verdict !== (dropped ? 'drop' : 'accept')) {
          differ.push({ packet: SETS_FLAGS_CASES[(e.spt as number) - 41000], kernel: counted, trace: matched, verdict: t.verdict });
        }
      }
      expect(differ).toEqual([]);
      // each drop line (one per packet that a `log … drop` rule counted): decided by that rule, reached by the trace
      const logDrops = new Set(live.tables.flatMap((t) => t.chains.flatMap((c) => c.rules.filter((r) => r.log !== undefined && r.verdict.kind === 'drop').map((r) => `${t.family} ${t.name} ${c.name}#${r.index}`))));
      const drops = evs.filter((e) => e.prefix.startsWith('HARVESTER_DROP'));
      expect(drops.length).toBe([...kernel.values()].filter((c) => c.some((k) => logDrops.has(k))).length);
      for (const e of drops) {
        const t = trace(live, e);
        expect([e.spt, t.verdict, t.logRule?.reached, t.decidedBy?.ref.text.includes(`log prefix "${e.prefix}"`)]).toEqual([e.spt, 'drop', true, true]);
      }
    } finally {
      cleanup();
    }
  }, 90_000);
});

/**
 * nft `th`: the raw transport header — bytes 0-1 (sport) and 2-3 (dport) of whatever protocol, no protocol implied.
 * fwdiag read `th dport` as TCP/UDP/SCTP/UDP-Lite only: `th dport != 22` never matched an ICMP packet, where the
 * kernel compares ICMP's checksum (and it matched). Every rule counts; each packet comes from the peer.
 */
const TH_RULES = (peer: string) => `table inet fwdiag_th {
  chain input {
    type filter hook input priority filter; policy accept;
    ip saddr ${peer} meta l4proto { icmp, esp, ah } log prefix "FWDIAG_TH "
    ip saddr ${peer} th sport 2048 counter
    ip saddr ${peer} th sport 3-255 counter
    ip saddr ${peer} th dport 4660 counter
    ip saddr ${peer} th dport != 4660 counter
    ip saddr ${peer} th sport 1 counter
    ip saddr ${peer} th dport 0 counter
    ip saddr ${peer} th dport != 22 counter
    ip saddr ${peer} meta l4proto { icmp, esp, ah } counter drop
  }
}
`;
/** craft.py's ICMP (type, code) and ESP/AH (SPI, sequence number) packets; the label is what the LOG line shows. */
const TH_CASES: Array<[proto: 'icmp' | 'esp' | 'ah', a: number, b: number, label: string]> = [
  ['icmp', 8, 0, 'icmp 8'], ['icmp', 13, 0, 'icmp 13'], ['icmp', 3, 3, 'icmp 3'],
  ['esp', 0x11234, 1, 'esp 70196'], ['esp', 0x30005, 1, 'esp 196613'], ['ah', 0x2222, 1, 'ah 8738'],
];

describe('nft th (the raw transport header) on ICMP, ESP and AH, against the kernel', () => {
  it('for each packet, the trace matches exactly the rules whose counters the kernel moved', async () => {
    const octet = randomOctet();
    const node = addNs('th');
    const peer = addNs('thpeer');
    try {
      const { nodeIp, peerIp } = linkWithMacs(node, peer, 'eth1', 'eth0', octet);
      inNs(node, 'nft -f -', TH_RULES(peerIp));
      const craft = join(process.cwd(), 'test/ruleset/craft.py');
      const python = inNs(peer, 'python3 -c "import sys; print(sys.executable)"').trim();
      const seq0 = kmsgSeq();
      const kernel = new Map<string, string[]>();
      const counted = counterWatch(node);
      for (const [proto, a, b, label] of TH_CASES) {
        let out = '';
        kernel.set(label, await counted(() => (out = inNs(peer, `timeout 5 ${python} ${craft} ${proto} ${peerIp} ${nodeIp} ${a} ${b}`).trim())));
        // the ICMP checksum decides the kernel's `th dport`: none of the rules' values, or the case proves nothing
        if (proto === 'icmp') expect([0, 22, 4660]).not.toContain(Number(out));
      }
      const live = mustParse(inNs(node, 'nft -j list ruleset'));
      let recs: string[] = [];
      await waitFor(() => (recs = kmsgSince(seq0, `FWDIAG_TH IN=eth1 `).filter((l) => l.includes(` SRC=${peerIp} `))).length >= TH_CASES.length, 3000);
      const evs = events(recs.map(dmesgLine));
      const labelOf = (e: DropEvent) => `${e.proto?.toLowerCase()} ${e.icmp?.type ?? e.spi}`;
      expect(evs.map(labelOf)).toEqual(TH_CASES.map((c) => c[3]));
      const id = (x: { ref: { family: string; table: string; chain: string; index: number } }) => `${x.ref.family} ${x.ref.table} ${x.ref.chain}#${x.ref.index}`;
      const got = new Map(evs.map((e) => [labelOf(e), trace(live, e).steps.filter((x) => x.matched && !x.policy && x.ref.index > 1).map(id)]));
      expect(Object.fromEntries(got)).toEqual(Object.fromEntries(kernel));
      // what the kernel did, spelled out: ICMP's checksum is no 22 or 4660, ESP's SPI halves are its ports, AH's
      // reserved field is 0
      const rule = (n: number) => `inet fwdiag_th input#${n}`;
      expect(kernel.get('icmp 8')).toEqual([rule(2), rule(5), rule(8), rule(9)]);
      expect(kernel.get('esp 70196')).toEqual([rule(4), rule(6), rule(8), rule(9)]);
      expect(kernel.get('ah 8738')).toEqual([rule(5), rule(7), rule(8), rule(9)]);
    } finally {
      cleanup();
    }
  }, 60_000);
});

describe('drops the kernel logged, traced', () => {
  it('SYN to a missing port: decided by the DROP, LOG visited; an ACCEPT after the DROP is shadowed; an ACCEPT on another interface is bound', async () => {
    const node = addNs('node');
    const peer = addNs('peer');
    try {
      const octet = randomOctet();
      const { nodeIp, peerIp } = link(node, peer, 'mgmt-br', 'eth0', octet);
      inNs(node, `sh ${FIX}/harvester-control-plane.commands.sh`);
      // the shadowed and interface-bound ACCEPTs the kernel will ignore
      inNs(node, 'iptables -A HARVESTER_INPUT -p tcp --dport 9999 -m comment --comment "added after the DROP" -j ACCEPT');
      inNs(node, 'iptables -I INPUT 1 -i other0 -p tcp --dport 7777 -m comment --comment "on another NIC" -j ACCEPT');
      const saved = inNs(node, 'iptables-save');
      for (const port of [9999, 7777]) {
        const r = runInNs(peer, `nc -z -w 1 ${nodeIp} ${port}`);
        expect(r.status).not.toBe(0); // no answer: dropped
      }
      const lines = await kernelLines(['HARVESTER_DROP_', `SRC=${peerIp} DST=${nodeIp}`], 2);
      if (process.env.FWRS_WRITE_FIXTURES === '1') {
        writeFileSync(`${FIX}/harvester-control-plane.drops.log`, lines.map((l) => l.replace(/SRC=198\.18\.\d+\.2 DST=198\.18\.\d+\.1/, 'SRC=198.18.7.2 DST=198.18.7.1')).join('\n') + '\n');
        writeFileSync(`${FIX}/harvester-control-plane-extra.iptables-save`, saved.split('\n').filter((l) => !/^# (Generated|Completed)/.test(l)).join('\n'));
      }
      const evs = events(lines);
      expect(evs.length).toBeGreaterThanOrEqual(2);
      const rs = mustParse(saved);
      const drop9999 = evs.find((e) => e.dpt === 9999 && e.flags?.includes('SYN'));
      const drop7777 = evs.find((e) => e.dpt === 7777 && e.flags?.includes('SYN'));
      expect(drop9999?.in).toBe('mgmt-br');
      const t1 = trace(rs, drop9999 as DropEvent);
      expect(t1.verdict).toBe('drop');
      expect(t1.decidedBy?.ref.text).toContain('Drop all other traffic');
      expect(t1.logRule?.reached).toBe(true);
      expect(t1.steps.some((s) => s.action === 'log' && s.logPrefix === 'HARVESTER_DROP_')).toBe(true);
      const shadow = t1.nearMisses.find((n) => n.rule.text.includes('added after the DROP'));
      expect(shadow?.reasons.map((r) => r.kind)).toEqual(['shadowed']);
      const t2 = trace(rs, drop7777 as DropEvent);
      expect(t2.verdict).toBe('drop');
      const bound = t2.nearMisses.find((n) => n.rule.text.includes('on another NIC'));
      expect(bound?.reasons.map((r) => r.kind)).toEqual(['interface']);
      expect(bound?.reasons[0]?.detail).toContain('IN=mgmt-br');
    } finally {
      cleanup();
    }
  });
});

describe('a stateful firewall: NEW packets jump to a chain that logs and rejects (found by an audit)', () => {
  it('the trace follows the LOG rule that wrote the line, and the ACCEPT suggest places there lets the SYN in', async () => {
    const node = addNs('stateful');
    const peer = addNs('statepeer');
    const dir = mkdtempSync(join(tmpdir(), 'fwrs-stateful-'));
    try {
      const { nodeIp, peerIp } = link(node, peer, 'eth1', 'eth0', randomOctet());
      const tag = `FWRS_TCP_${process.pid}_ `;
      // the "simple stateful firewall" shape: ctstate decides which chain a packet is judged in
      inNs(node, 'iptables-restore', [
        '*filter', ':INPUT DROP [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]', ':TCP - [0:0]',
        '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
        '-A INPUT -i lo -j ACCEPT',
        '-A INPUT -m conntrack --ctstate INVALID -j DROP',
        '-A INPUT -p tcp --tcp-flags FIN,SYN,RST,ACK SYN -m conntrack --ctstate NEW -j TCP',
        '-A INPUT -j LOG --log-prefix "FWRS_INPUT_DROP "',
        '-A INPUT -p tcp -j REJECT --reject-with tcp-reset',
        '-A TCP -p tcp --dport 22 -j ACCEPT',
        `-A TCP -j LOG --log-prefix "${tag}"`,
        '-A TCP -p tcp -j REJECT --reject-with tcp-reset',
        'COMMIT', '',
      ].join('\n'));
      const server = 'import socket\ns = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 10250)); s.listen(4); s.settimeout(8); print("listening", flush=True)\ntry:\n    c, _ = s.accept(); c.close()\nexcept OSError:\n    pass';
      const connect = `python3 -c 'import socket\ns = socket.socket(); s.settimeout(1.5)\ntry:\n    s.connect(("${nodeIp}", 10250)); print("open")\nexcept ConnectionRefusedError:\n    print("refused")\nexcept OSError:\n    print("timeout")'`;
      expect(runInNs(peer, connect).stdout.trim()).toBe('refused'); // the TCP chain's REJECT
      const lines = await kernelLines([tag.trim(), `SRC=${peerIp} DST=${nodeIp}`, 'DPT=10250'], 1);
      expect(lines.length).toBeGreaterThanOrEqual(1);
      const saved = inNs(node, 'iptables-save');
      const t = trace(mustParse(saved), events(lines)[0] as DropEvent);
      expect(t.verdict).toBe('reject');
      expect([t.decidedBy?.ref.chain, t.decidedBy?.ref.index]).toEqual(['TCP', 3]);
      expect(t.logRule).toMatchObject({ ref: { chain: 'TCP', index: 2 }, reached: true });
      expect(t.notes.join('\n')).toContain('taken as matching, as only so does the trace reach the LOG rule that wrote this line (TCP#2): INPUT#4');

      // suggest's rule, run as printed, lets the peer connect (it went to INPUT, past the jump, before)
      writeFileSync(join(dir, 'drops.log'), `${lines.join('\n')}\n`);
      writeFileSync(join(dir, 'saved.rules'), saved);
      const r = await runSuggest([join(dir, 'drops.log'), '--platform', 'kubeadm', '--role', 'worker', '--format', 'iptables', '--ruleset', join(dir, 'saved.rules')]);
      expect(r.code).toBe(0);
      const cmds = r.out.split('\n').filter((l) => l.startsWith('iptables '));
      expect(cmds).toEqual([expect.stringMatching(new RegExp(`^iptables -I TCP 2 -s ${peerIp.replace(/\./g, '\\.')}/32 -p tcp --dport 10250 .*-j ACCEPT$`))]);
      for (const c of cmds) inNs(node, c);
      const srv = bg(node, ['python3', '-c', server]);
      let said = '';
      srv.stdout?.on('data', (d: Buffer) => (said += d.toString()));
      await waitFor(() => said.includes('listening'), 5000);
      expect(runInNs(peer, connect).stdout.trim()).toBe('open');
    } finally {
      rmSync(dir, { recursive: true, force: true });
      cleanupChildren();
      cleanup();
    }
  });
});

/** The tools `--ruleset live` runs, as shims that run the real ones inside namespace `ns`. */
function shimInto(dir: string, ns: string): void {
  for (const tool of ['iptables-save', 'ip6tables-save', 'iptables-legacy-save', 'ip6tables-legacy-save', 'nft']) {
    writeFileSync(join(dir, tool), `#!/bin/sh\nexec ip netns exec ${ns} /usr/sbin/${tool} "$@"\n`);
    chmodSync(join(dir, tool), 0o755);
  }
}

describe('--ruleset live', () => {
  it('runs iptables-save and ip6tables-save (here: inside a namespace, through PATH shims) and traces against both', async () => {
    const ns = addNs('live');
    const shims = mkdtempSync(join(tmpdir(), 'fwrs-shims-'));
    const oldPath = process.env.PATH;
    try {
      inNs(ns, `sh ${FIX}/harvester-control-plane.commands.sh`);
      inNs(ns, 'ip6tables -P INPUT DROP');
      shimInto(shims, ns);
      process.env.PATH = `${shims}:${oldPath ?? ''}`;
      const line = readFileSync(`${FIX}/harvester-control-plane.drops.log`, 'utf8').split('\n')[0] ?? '';
      const m = memoryIO();
      expect(await traceCommand(['--ruleset', 'live', line], m.io)).toBe(0);
      expect(m.out()).toContain('verdict  DROP by ip filter HARVESTER_INPUT#26');
      // the IPv6 table came along: an IPv6 packet is decided by its DROP policy
      const v6 = memoryIO();
      await traceCommand(['--ruleset', 'live', '--json', 'X IN=mgmt-br OUT= SRC=fd00:0000:0000:0000:0000:0000:0000:0002 DST=fd00:0000:0000:0000:0000:0000:0000:0001 LEN=80 TC=0 HOPLIMIT=64 FLOWLBL=1 PROTO=TCP SPT=1 DPT=2 WINDOW=1 RES=0x00 SYN URGP=0'], v6.io);
      const o = JSON.parse(v6.out());
      expect([o.verdict, o.decidedBy.ref.family, o.decidedBy.policy]).toEqual(['drop', 'ip6', true]);
    } finally {
      process.env.PATH = oldPath;
      rmSync(shims, { recursive: true, force: true });
      cleanup();
    }
  });

  it('takes each table once from the tool that shows it whole: iptables-nft from iptables-save, native nft from nft, legacy from iptables-legacy-save', async () => {
    const node = addNs('mixed');
    const peer = addNs('mixpeer');
    const node2 = addNs('legacy');
    const peer2 = addNs('legpeer');
    const shims = mkdtempSync(join(tmpdir(), 'fwrs-shims-'));
    const oldPath = process.env.PATH;
    try {
      // host 1: the Harvester seed's iptables-nft chain (it ACCEPTs 22), then a native inet table that drops all but 6443
      const a = link(node, peer, 'mgmt-br', 'eth0', randomOctet());
      inNs(node, 'iptables -N HARVESTER_INPUT && iptables -A INPUT -i mgmt-br -j HARVESTER_INPUT && ' +
        'iptables -A HARVESTER_INPUT -p tcp --dport 22 -j ACCEPT && iptables -A HARVESTER_INPUT -j LOG --log-prefix HARVESTER_DROP_ && ' +
        'iptables -A HARVESTER_INPUT -j DROP');
      inNs(node, 'nft add table inet fw && nft add chain inet fw input "{ type filter hook input priority 10; policy accept; }" && ' +
        'nft add rule inet fw input tcp dport 6443 accept && nft add rule inet fw input log prefix \\"NFT_DROP \\" drop');
      // host 2: an iptables-legacy INPUT that drops 6443, then a hand-written native `table ip filter` (a name
      // iptables-nft also uses: it calls the table incompatible) that drops the rest
      let ob = randomOctet();
      while (`198.18.${ob}.1` === a.nodeIp) ob = randomOctet();
      const b = link(node2, peer2, 'eth1', 'eth0', ob);
      inNs(node2, 'iptables-legacy -A INPUT -p tcp --dport 6443 -j LOG --log-prefix LEGACY_DROP_ && iptables-legacy -A INPUT -p tcp --dport 6443 -j DROP');
      inNs(node2, 'nft add table ip filter && nft add chain ip filter input "{ type filter hook input priority 10; policy accept; }" && ' +
        'nft add rule ip filter input iifname lo accept && nft add rule ip filter input log prefix \\"NFT_DROP \\" drop');
      // only this run's records (/dev/kmsg sequence numbers): an earlier run may have used the same addresses
      const seq0 = kmsgSeq();
      for (const [from, to] of [[peer, a.nodeIp], [peer2, b.nodeIp]] as const) {
        for (const port of [22, 6443]) expect(runInNs(from, `nc -z -w 1 ${to} ${port}`).status).not.toBe(0);
      }
      const ours = async (needle: string) => {
        let got: string[] = [];
        await waitFor(() => (got = kmsgSince(seq0, needle).filter((l) => l.includes(' SYN '))).length >= 2, 3000);
        return got;
      };
      const lines1 = await ours(`SRC=${a.peerIp} DST=${a.nodeIp}`);
      const lines2 = await ours(`SRC=${b.peerIp} DST=${b.nodeIp}`);
      const traceLive = async (ns: string, lines: string[]) => {
        shimInto(shims, ns);
        process.env.PATH = `${shims}:${oldPath ?? ''}`;
        const m = memoryIO(`${lines.join("\n")}\n`);
        expect(await traceCommand(['--ruleset', 'live', '--json', '-'], m.io)).toBe(0);
        const out = m.out().trim().split('\n').map((l) => JSON.parse(l) as {
          prefix: string; packet: { dpt: number }; verdict: string;
          decidedBy: { ref: { family: string; table: string; chain: string; text: string } };
          logRule?: { ref: { family: string; table: string }; reached: boolean };
        });
        // one trace per port: the first SYN of each (nc's retransmissions say the same)
        const byPort = new Map<number, (typeof out)[number]>();
        for (const o of out) if (!byPort.has(o.packet.dpt)) byPort.set(o.packet.dpt, o);
        return { byPort, err: m.err() };
      };

      const h1 = await traceLive(node, lines1);
      const t22 = h1.byPort.get(22)!;
      const t6443 = h1.byPort.get(6443)!;
      // 22: iptables-nft accepted it, the native table dropped and logged it
      expect([t22.prefix, t22.verdict, t22.decidedBy?.ref.family, t22.decidedBy?.ref.table, t22.logRule?.reached], h1.err).toEqual(['NFT_DROP ', 'drop', 'inet', 'fw', true]);
      // 6443: dropped by the iptables-nft chain, its LOG prefix known (nft -j would show only an xt target)
      expect([t6443.prefix, t6443.verdict, t6443.decidedBy?.ref.table, t6443.decidedBy?.ref.text, t6443.logRule?.reached], h1.err).toEqual(['HARVESTER_DROP_', 'drop', 'filter', '-A HARVESTER_INPUT -j DROP', true]);
      // the iptables-nft table was taken from iptables-save only: nft's xt view of it raised no warning
      expect(h1.err).not.toMatch(/xt/);

      const h2 = await traceLive(node2, lines2);
      const l6443 = h2.byPort.get(6443)!;
      const l22 = h2.byPort.get(22)!;
      expect([l6443.prefix, l6443.verdict, l6443.decidedBy?.ref.text, l6443.logRule?.reached], h2.err).toEqual(['LEGACY_DROP_', 'drop', '-A INPUT -p tcp -m tcp --dport 6443 -j DROP', true]);
      expect([l22.prefix, l22.verdict, l22.decidedBy?.ref.family, l22.decidedBy?.ref.chain, l22.decidedBy?.ref.text, l22.logRule?.reached], h2.err).toEqual(['NFT_DROP ', 'drop', 'ip', 'input', 'log prefix "NFT_DROP " drop', true]);
      expect(h2.err).toContain('iptables-legacy-save: iptables-legacy tables (ip filter) filter too; rules for them need iptables-legacy');
      expect(h2.err).toContain('iptables-save: table ip filter is native nftables: read from nft');
    } finally {
      process.env.PATH = oldPath;
      rmSync(shims, { recursive: true, force: true });
      cleanup();
    }
  });
});
