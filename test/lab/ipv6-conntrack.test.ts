/**
 * IPv6 conntrack loss on a real kernel: a node behind an ip6tables chain (ESTABLISHED,RELATED, ICMPv6, LOG, DROP)
 * holds a connection to a peer's etcd (2379) that pushes data; the node's IPv6 conntrack table is flushed
 * mid-stream, and the peer's next packets (ACK PSH, from its service port to the node's ephemeral port) are logged
 * and dropped. fwdiag must call that flow conntrack loss — never a block — and a fresh SYN to a closed port a
 * genuine block, with IPv6 addresses in their short form.
 *
 * Namespaces `fwsg-<pid>-*`, addresses 198.18.<o>.0/24 and 2001:db8:18:<o>::/64, removed in `finally`;
 * nf_log_all_netns read, set to 1, restored.
 */
import { expect, it } from 'vitest';
import { createClassifier } from '../../src/classify/classifier.js';
import { createParser } from '../../src/parse/parse-line.js';
import { addNs, bg, cleanup, statefulInput, enableNetnsLog, inNs, kmsgSeq, kmsgSince, link, netnsLog, nsCmd, restoreNetnsLog, tryRun, waitFor, PUSH_CLIENT, PUSH_SERVER } from '../suggest/kernel.js';

it('IPv6: ACK PSH after a conntrack flush is conntrack loss; a SYN to a closed port is a genuine block', async () => {
  const started = Date.now();
  enableNetnsLog();
  try {
    const o = 1 + Math.floor(Math.random() * 250);
    const node6 = `2001:db8:18:${o.toString(16)}::1`;
    const peer6 = `2001:db8:18:${o.toString(16)}::2`;
    const node = addNs('ct6n');
    const peer = addNs('ct6p');
    link(node, 'mgmt-br', `198.18.${o}.1/24`, peer, 'eth0', `198.18.${o}.2/24`);
    inNs(node, `ip -6 addr add ${node6}/64 dev mgmt-br nodad`);
    inNs(peer, `ip -6 addr add ${peer6}/64 dev eth0 nodad`);
    const prefix = `FWCT6${process.pid % 100000}_`;
    statefulInput(node, prefix, 6);

    bg(peer, ['python3', '-c', PUSH_SERVER, peer6, '12']);
    expect(await waitFor(() => tryRun(nsCmd(peer, 'ss -ltnH "sport = :2379"')).stdout.includes('2379'), 5000)).toBe(true);
    const client = bg(node, ['python3', '-c', PUSH_CLIENT, peer6, '12']);
    let port = '';
    client.stdout?.on('data', (b: Buffer) => (port += b.toString()));
    expect(await waitFor(() => /^\d+\n/.test(port), 5000)).toBe(true);
    const ephemeral = Number(port.trim());

    const seq0 = kmsgSeq();
    inNs(node, 'conntrack -F -f ipv6 2>/dev/null || true');
    expect(tryRun(nsCmd(peer, `nc -6 -z -w 1 ${node6} 9345`), 5000).status).not.toBe(0);
    expect(await waitFor(() => {
      const l = kmsgSince(seq0, prefix);
      return l.some((x) => x.includes(`SPT=2379 DPT=${ephemeral}`)) && l.some((x) => x.includes('DPT=9345'));
    }, 6000), `nf_log_all_netns=${netnsLog()}; lines:\n${kmsgSince(seq0, prefix).join('\n')}`).toBe(true);

    const parser = createParser();
    const c = createClassifier();
    const byFlow = new Map<string, Set<string>>();
    let pushes = 0;
    for (const l of kmsgSince(seq0, prefix)) {
      const r = parser.parseLine(l);
      if (r.kind !== 'event') continue;
      expect(r.event.family).toBe(6);
      const x = c.classify(r.event);
      if (r.event.spt === 2379) {
        pushes++;
        // the kernel's own flag words on these packets: data or teardown of the flushed connection
        expect(r.event.flags).toContain('ACK');
        expect(x.verdict).toBe('conntrack-loss');
        expect(x.reason).toContain(`from [${peer6}]:2379 (etcd client) to ${ephemeral}`);
      }
      const f = x.flow!;
      const key = `${f.proto} ${f.server}:${f.serverPort} ← ${f.client}`;
      byFlow.set(key, (byFlow.get(key) ?? new Set()).add(x.verdict));
    }
    expect(pushes).toBeGreaterThanOrEqual(1);
    expect(Object.fromEntries([...byFlow].map(([k, v]) => [k, [...v]]))).toEqual({
      [`tcp ${peer6}:2379 ← ${node6}`]: ['conntrack-loss'],
      [`tcp ${node6}:9345 ← ${peer6}`]: ['genuine-block'],
    });
  } finally {
    cleanup();
    restoreNetnsLog();
  }
  expect(Date.now() - started).toBeLessThan(25_000);
}, 35_000);
