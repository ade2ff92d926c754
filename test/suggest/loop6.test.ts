/**
 * IPv6 on a real kernel, end to end: compile a dual-stack worker policy (`ipv6: true`) to iptables shell commands,
 * run them in a namespace (iptables and ip6tables chains), let a peer's IPv6 SYN to a missing port be logged and
 * dropped, `fwdiag suggest --format iptables` against the node's ip6tables-save, run what it printed — and the peer
 * connects over IPv6, with no new drop, while the port stays closed to its IPv4 address (the rule is IPv6's only).
 * The connection also proves neighbour discovery passes a chain that ends in DROP.
 *
 * Namespaces `fwsg-<pid>-*`, addresses 198.18.<o>.0/24 and 2001:db8:18:<o>::/64, removed in `finally`;
 * nf_log_all_netns read, set to 1, restored.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { PolicyInput } from '../../src/compile/index.js';
import { addNs, bg, cleanup, enableNetnsLog, inNs, kmsgSeq, kmsgSince, link, netnsLog, nsCmd, restoreNetnsLog, sleep, tryRun, waitFor } from './kernel.js';
import { compilePolicy, runSuggest, verdicts } from './run.js';

/** ip(6)tables-save less its comments and counters: what two applies must leave alike. */
const rulesOf = (save: string) => save.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.replace(/ \[\d+:\d+\]$/, '')).join('\n');

it('IPv6: compile ipv6 → iptables+ip6tables in a namespace → IPv6 drop → suggest → ip6tables -I → the peer connects over IPv6 only', async () => {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'fwsg6-'));
  enableNetnsLog();
  try {
    const o = 1 + Math.floor(Math.random() * 250);
    const nodeIp = `198.18.${o}.1`;
    const node6 = `2001:db8:18:${o.toString(16)}::1`;
    const peer6 = `2001:db8:18:${o.toString(16)}::2`;
    const node = addNs('node6');
    const peer = addNs('peer6');
    link(node, 'mgmt-br', `${nodeIp}/24`, peer, 'eth0', `198.18.${o}.2/24`);
    inNs(node, `ip -6 addr add ${node6}/64 dev mgmt-br nodad`);
    inNs(peer, `ip -6 addr add ${peer6}/64 dev eth0 nodad`);
    const prefix = `FWSG6${process.pid % 100000}_`;

    // a worker policy (no RKE2 supervisor port) on a dual-stack node; every drop logged
    const policy: PolicyInput = { platform: 'harvester', role: 'worker', ipv6: true, log: { prefix, rate: '100/second' } };
    const compiled = compilePolicy(policy, 'iptables');
    expect(compiled.warnings.filter((w) => w.includes('IPv6'))).toEqual([]);
    writeFileSync(join(dir, 'worker.sh'), compiled.text);
    inNs(node, `sh -e ${join(dir, 'worker.sh')}`);
    const once = { v4: inNs(node, 'iptables-save'), v6: inNs(node, 'ip6tables-save') };
    inNs(node, `sh -e ${join(dir, 'worker.sh')}`);
    // applied twice: the same rules in both families
    expect(rulesOf(inNs(node, 'iptables-save'))).toBe(rulesOf(once.v4));
    expect(rulesOf(inNs(node, 'ip6tables-save'))).toBe(rulesOf(once.v6));
    expect(once.v6).toContain('-A INPUT -i mgmt-br -j HARVESTER_INPUT');
    expect(once.v6).toContain('-A HARVESTER_INPUT -p ipv6-icmp -m comment --comment "ICMP (ping, MTU discovery, etc.)" -j ACCEPT');
    expect(once.v6).toContain('-A HARVESTER_INPUT -p udp -m udp --sport 547 --dport 546 -m comment --comment "DHCPv6 server reply" -j ACCEPT');
    expect(once.v6).toContain(`--log-prefix ${prefix}`);
    expect(once.v6).not.toContain('10.52.0.0/16'); // the pod CIDR is IPv4's
    expect(once.v4).toContain('-A HARVESTER_INPUT -s 10.52.0.0/16');

    bg(node, ['socat', '-T2', 'TCP6-LISTEN:9345,reuseaddr,fork,ipv6only=1', 'SYSTEM:echo fwsg6-ok']);
    bg(node, ['socat', '-T2', 'TCP4-LISTEN:9345,reuseaddr,fork', 'SYSTEM:echo fwsg4-ok']);
    expect(await waitFor(() => tryRun(nsCmd(node, 'ss -ltnH "sport = :9345"')).stdout.split('\n').filter((l) => l.includes('9345')).length >= 2, 5000)).toBe(true);

    const seq0 = kmsgSeq();
    expect(tryRun(nsCmd(peer, `nc -6 -z -w 2 ${node6} 9345`), 10_000).status).not.toBe(0);
    expect(await waitFor(() => kmsgSince(seq0, prefix).some((l) => l.includes('DPT=9345') && l.includes('SRC=2001:0db8:0018:')), 6000),
      `nf_log_all_netns=${netnsLog()}; lines:\n${kmsgSince(seq0, prefix).join('\n')}`).toBe(true);
    const lines = kmsgSince(seq0, prefix);
    expect(verdicts(lines)['genuine-block']).toBeGreaterThanOrEqual(1);
    const logFile = join(dir, 'drops.kmsg');
    writeFileSync(logFile, `${lines.join('\n')}\n`);
    writeFileSync(join(dir, 'saved6.rules'), inNs(node, 'ip6tables-save'));

    const r = await runSuggest([logFile, '--platform', 'harvester', '--role', 'control-plane', '--format', 'iptables', '--ruleset', join(dir, 'saved6.rules')]);
    expect(r.code, r.err).toBe(0);
    const cmds = r.out.split('\n').filter((l) => !l.startsWith('#') && l !== '');
    expect(cmds).toEqual([
      expect.stringMatching(new RegExp(`^ip6tables -I HARVESTER_INPUT \\d+ -s ${peer6.replace(/\./g, '\\.')}/128 -p tcp --dport 9345 -m comment --comment "fwdiag suggest: RKE2 supervisor API" -j ACCEPT$`)),
    ]);
    writeFileSync(join(dir, 'accept6.sh'), r.out);
    inNs(node, `sh -e ${join(dir, 'accept6.sh')}`);
    const chain = inNs(node, 'ip6tables-save').split('\n').filter((l) => l.startsWith('-A HARVESTER_INPUT '));
    const log = chain.findIndex((l) => l.includes('-j LOG'));
    expect(chain[log - 1]).toBe(`-A HARVESTER_INPUT -s ${peer6}/128 -p tcp -m tcp --dport 9345 -m comment --comment "fwdiag suggest: RKE2 supervisor API" -j ACCEPT`);

    const seq1 = kmsgSeq();
    const ok = tryRun(nsCmd(peer, `socat -T2 - TCP6:[${node6}]:9345,connect-timeout=3 </dev/null`), 10_000);
    expect(ok.stdout.trim(), ok.stderr).toBe('fwsg6-ok');
    await sleep(300);
    expect(verdicts(kmsgSince(seq1, prefix))['genuine-block'] ?? 0).toBe(0);
    // the IPv4 half was not touched: the same peer is still refused over IPv4, and that drop is logged
    expect(tryRun(nsCmd(peer, `nc -4 -z -w 1 ${nodeIp} 9345`), 5000).status).not.toBe(0);
    expect(await waitFor(() => kmsgSince(seq1, prefix).some((l) => l.includes(`DST=${nodeIp}`) && l.includes('DPT=9345')), 3000)).toBe(true);
    console.log(`loop6: ${lines.length} kernel lines, suggestion ${JSON.stringify(cmds)}, ${Date.now() - started} ms`);
  } finally {
    cleanup();
    restoreNetnsLog();
    rmSync(dir, { recursive: true, force: true });
  }
  expect(Date.now() - started).toBeLessThan(30_000);
}, 40_000);
