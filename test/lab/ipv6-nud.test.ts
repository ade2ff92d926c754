/**
 * ICMPv6 neighbour discovery beside a ping on a real kernel: a node whose ip6tables INPUT chain has no ICMPv6 rule
 * (established traffic accepted, everything else logged and dropped) is pinged at its link-local address by a peer
 * that knows the node's MAC from before (a stale neighbour entry, as after the node's rules were applied). The
 * peer's echo requests are dropped, and its neighbour unreachability detection then solicits the node unicast (RFC
 * 4861 7.3.3: DELAY, then PROBE) from its own link-local address — dropped too. Both go peer fe80:: → node fe80::,
 * one pair of hosts: fwdiag must keep them apart, the solicitations named neighbour discovery (the rule IPv6
 * cannot do without), not counted as the ping's drops. (A ping to a global address gets its solicitations from
 * the peer's link-local address, a pair of its own: also checked.) Then the loop: `fwdiag suggest --ruleset` on the
 * node's ip6tables-save proposes compile's neighbour-discovery rule (and no rule for the pings); its commands run on
 * the node, and a second round's solicitations get through (the peer's entries turn REACHABLE) while its pings are
 * still refused.
 *
 * Namespaces `fwsg-<pid>-*`, addresses 198.18.<o>.0/24 and 2001:db8:18:<o>::/64, removed in `finally`;
 * nf_log_all_netns read, set to 1, restored.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { Suggestion } from '../../src/suggest/index.js';
import { runSuggest } from '../suggest/run.js';
import { createClassifier } from '../../src/classify/classifier.js';
import { createParser } from '../../src/parse/parse-line.js';
import { addNs, cleanup, enableNetnsLog, inNs, kmsgSeq, kmsgSince, link, netnsLog, restoreNetnsLog, sh, nsCmd, waitFor } from '../suggest/kernel.js';

/** Three ICMPv6 echo requests to ADDR out of IFACE, 0.3 s apart, through a raw socket (the kernel fills in the checksum). */
const ECHO = `
import socket, sys, time
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
for seq in range(1, 4):
    s.sendto(bytes([128, 0, 0, 0, 0x12, 0x34, 0, seq]) + b'fwdiag-nud', (sys.argv[1], 0, 0, socket.if_nametoindex(sys.argv[2])))
    time.sleep(0.3)
`;

it('IPv6: solicitations and pings between one pair are two flows; suggest\'s rule, applied, lets the solicitations through and not the pings', async () => {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'fwnd6-'));
  enableNetnsLog();
  try {
    const o = 1 + Math.floor(Math.random() * 250);
    const node6 = `2001:db8:18:${o.toString(16)}::1`;
    const peer6 = `2001:db8:18:${o.toString(16)}::2`;
    const node = addNs('nd6n');
    const peer = addNs('nd6p');
    // no duplicate address detection on the interfaces made next: their link-local addresses usable at once
    for (const ns of [node, peer]) inNs(ns, 'sysctl -qw net.ipv6.conf.default.accept_dad=0');
    link(node, 'mgmt-br', `198.18.${o}.1/24`, peer, 'eth0', `198.18.${o}.2/24`);
    inNs(node, `ip -6 addr add ${node6}/64 dev mgmt-br nodad`);
    inNs(peer, `ip -6 addr add ${peer6}/64 dev eth0 nodad`);
    const prefix = `FWND6${process.pid % 100000}_`;
    inNs(node, [
      'ip6tables -A INPUT -i mgmt-br -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
      `ip6tables -A INPUT -i mgmt-br -j LOG --log-prefix ${prefix}`, 'ip6tables -A INPUT -i mgmt-br -j DROP',
    ].join(' && '));
    // an interface's link-local address comes once its link is up (without DAD: at once usable)
    const ll = (ns: string, dev: string) =>
      (JSON.parse(inNs(ns, `ip -j -6 addr show dev ${dev} scope link`)) as { addr_info?: { local?: string }[] }[])[0]?.addr_info?.find((a) => a.local !== undefined)?.local;
    expect(await waitFor(() => ll(node, 'mgmt-br') !== undefined && ll(peer, 'eth0') !== undefined, 5000)).toBe(true);
    const nodeLL = ll(node, 'mgmt-br')!;
    const peerLL = ll(peer, 'eth0')!;
    const mac = (JSON.parse(inNs(node, 'ip -j link show mgmt-br')) as { address: string }[])[0]!.address;
    /**
     * One round: the peer knew the node before, its entries are stale, and it pings both addresses — the next packet
     * starts neighbour unreachability detection (the first probe after delay_first_probe_time, 1 s here instead of
     * 5, one namespace's own sysctl). Returns the kmsg sequence number the round started at.
     */
    const round = () => {
      inNs(peer, [
        'sysctl -qw net.ipv6.neigh.eth0.delay_first_probe_time=1',
        `ip -6 neigh replace ${nodeLL} lladdr ${mac} dev eth0 nud stale`, `ip -6 neigh replace ${node6} lladdr ${mac} dev eth0 nud stale`,
      ].join(' && '));
      const seq = kmsgSeq();
      for (const to of [nodeLL, node6]) sh(nsCmd(peer, `python3 -c "${ECHO.replace(/"/g, '\\"')}" ${to} eth0`));
      return seq;
    };

    const seq0 = round();
    // a unicast solicitation for each entry: peer fe80:: → node fe80::, and peer fe80:: → node's global address
    const solicited = (to: string) => (l: string) => l.includes(`SRC=${expanded(peerLL)} DST=${expanded(to)} `) && l.includes('PROTO=ICMPv6 TYPE=135 ');
    expect(await waitFor(() => { const l = kmsgSince(seq0, prefix); return l.some(solicited(nodeLL)) && l.some(solicited(node6)); }, 8000),
      `nf_log_all_netns=${netnsLog()}; lines:\n${kmsgSince(seq0, prefix).join('\n')}`).toBe(true);
    const lines = kmsgSince(seq0, prefix);

    const parser = createParser();
    const c = createClassifier();
    const logged = new Map<string, number>();
    for (const l of lines) {
      const r = parser.parseLine(l);
      if (r.kind !== 'event') continue;
      const e = r.event;
      expect(e.proto).toBe('ICMPv6');
      const k = `${compressed(e.src!)} → ${compressed(e.dst!)} ${e.icmp!.type}`;
      logged.set(k, (logged.get(k) ?? 0) + 1);
      c.classify(e);
    }
    // what the kernel logged: the pings, and the solicitations (the node's own multicast replies aside)
    const n = (k: string) => logged.get(k) ?? 0;
    expect(n(`${peerLL} → ${nodeLL} 128`)).toBe(3);
    expect(n(`${peer6} → ${node6} 128`)).toBe(3);
    expect(n(`${peerLL} → ${nodeLL} 135`)).toBeGreaterThanOrEqual(1);
    expect(n(`${peerLL} → ${node6} 135`)).toBeGreaterThanOrEqual(1);
    const flows = c.end().flows.filter((f) => f.client === peerLL || f.client === peer6)
      .map((f) => [`${f.client} → ${f.server}`, f.rule, f.service, f.count]).sort();
    expect(flows).toEqual([
      [`${peer6} → ${node6}`, 'icmp-echo-request', 'ICMPv6 echo', 3],
      [`${peerLL} → ${node6}`, 'icmp-neighbour-discovery', 'ICMPv6 neighbour discovery', n(`${peerLL} → ${node6} 135`)],
      [`${peerLL} → ${nodeLL}`, 'icmp-echo-request', 'ICMPv6 echo', 3],
      [`${peerLL} → ${nodeLL}`, 'icmp-neighbour-discovery', 'ICMPv6 neighbour discovery', n(`${peerLL} → ${nodeLL} 135`)],
    ].sort());

    // suggest, given the node's ruleset, proposes compile's neighbour-discovery rule for the solicitations — from any
    // source, in front of the LOG rule — and nothing for the pings (no catalog row names ICMPv6 echo for the role)
    writeFileSync(join(dir, 'kmsg.log'), `${lines.join('\n')}\n`);
    writeFileSync(join(dir, 'rules.ip6tables-save'), inNs(node, 'ip6tables-save'));
    const r = await runSuggest([join(dir, 'kmsg.log'), '--platform', 'harvester', '--role', 'control-plane',
      '--ruleset', join(dir, 'rules.ip6tables-save'), '--json']);
    expect(r.code, r.err).toBe(0);
    const got = (JSON.parse(r.out) as { suggestions: Suggestion[] }).suggestions;
    expect(got.map((x) => [x.action, x.kind, x.proto, x.icmpTypes ?? null, x.sources, x.families, x.chain, x.insertBefore, x.confidence])).toEqual([
      ['accept', 'neighbour-discovery', 'icmpv6', [130, 131, 132, 133, 134, 135, 136, 143], [], [6], 'INPUT', 2, 'high'],
      ['note', 'unknown', 'icmpv6', null, [], [6], 'INPUT', 2, 'low'],
    ]);
    expect(got[1]!.evidence.count).toBe(6);
    // the rule's commands, run on the node; a second round: the solicitations get through (the peer's entries
    // become REACHABLE: the node answered), the pings are still refused — the rule admits neighbour discovery only
    const commands = got[0]!.rendered.split('\n').filter((l) => l.startsWith('ip6tables -I INPUT 2 '));
    expect(commands).toHaveLength(8);
    inNs(node, commands.join(' && '));
    const seq1 = round();
    const reachable = () => ['nodeLL', 'node6'].every((k) => /REACHABLE/.test(inNs(peer, `ip -6 neigh show ${k === 'nodeLL' ? nodeLL : node6} dev eth0`)));
    expect(await waitFor(reachable, 8000), inNs(peer, 'ip -6 neigh show dev eth0')).toBe(true);
    const after = kmsgSince(seq1, prefix);
    expect(after.filter((l) => l.includes('PROTO=ICMPv6 TYPE=128 '))).toHaveLength(6);
    expect(after.filter((l) => l.includes('PROTO=ICMPv6 TYPE=135 '))).toEqual([]);
  } finally {
    cleanup();
    restoreNetnsLog();
    rmSync(dir, { recursive: true, force: true });
  }
  expect(Date.now() - started).toBeLessThan(25_000);
}, 35_000);

/** An IPv6 address as the kernel's LOG line prints it: eight groups of four hex digits. */
function expanded(a: string): string {
  const [head, tail] = a.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  return [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t].map((g) => g.padStart(4, '0')).join(':');
}

/** The kernel's eight groups → the short form `ip` prints (and fwdiag's flows hold). */
function compressed(a: string): string {
  return new URL(`http://[${a}]/`).hostname.slice(1, -1);
}
