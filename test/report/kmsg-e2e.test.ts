/**
 * `report --kmsg` and `suggest --kmsg` on a real kernel: a peer's SYNs to a closed port of a namespace are logged
 * and dropped, then both commands read /dev/kmsg as the ring buffer holds it (no FILE, no pipe from dmesg) and find
 * that flow — dated by the boot time, under this machine's host name — and suggest the ACCEPT for it.
 *
 * The ring buffer also holds whatever else the machine logged (other tests' drops among them): only this test's
 * own flow is asserted, by its peer address and a port picked at random. Namespaces `fwsg-<pid>-*`, addresses
 * 198.18.<o>.0/24, removed in `finally`; nf_log_all_netns read, set to 1, restored.
 */
import { hostname } from 'node:os';
import { expect, it } from 'vitest';
import { reportCommand } from '../../src/cli/report.js';
import type { Report } from '../../src/report/types.js';
import type { Suggestion } from '../../src/suggest/index.js';
import { addNs, cleanup, enableNetnsLog, inNs, kmsgSeq, kmsgSince, link, netnsLog, nsCmd, restoreNetnsLog, tryRun, waitFor } from '../suggest/kernel.js';
import { runSuggest } from '../suggest/run.js';
import { memoryIO } from './helpers.js';

it('report --kmsg and suggest --kmsg read the ring buffer as it is and find a real drop', async () => {
  const started = Date.now();
  enableNetnsLog();
  try {
    const o = 1 + Math.floor(Math.random() * 250);
    const nodeIp = `198.18.${o}.1`;
    const peerIp = `198.18.${o}.2`;
    const port = 20000 + Math.floor(Math.random() * 10000);
    const node = addNs('kmsgn');
    const peer = addNs('kmsgp');
    link(node, 'mgmt-br', `${nodeIp}/24`, peer, 'eth0', `${peerIp}/24`);
    const prefix = `FWKM${process.pid % 100000}_`;
    inNs(node, `iptables -A INPUT -i mgmt-br -p tcp --dport ${port} -j LOG --log-prefix ${prefix} && iptables -A INPUT -i mgmt-br -p tcp --dport ${port} -j DROP`);
    const seq0 = kmsgSeq();
    const before = Date.now();
    // two attempts from two source ports: a SYN (and its retransmission) each
    for (let i = 0; i < 2; i++) expect(tryRun(nsCmd(peer, `nc -z -w 1 ${nodeIp} ${port}`), 5000).status).not.toBe(0);
    expect(await waitFor(() => kmsgSince(seq0, prefix).length >= 2, 5000), `nf_log_all_netns=${netnsLog()}`).toBe(true);

    const rep = memoryIO();
    expect(await reportCommand(['--kmsg', '--format', 'json', '--max-rows', '100000'], rep.io), rep.err()).toBe(0);
    const report = JSON.parse(rep.out()) as Report;
    expect(report.input.sources).toEqual(['/dev/kmsg']);
    expect(report.hosts).toContain(hostname());
    const mine = report.flows.filter((f) => f.port === port && f.client === peerIp);
    expect(mine).toHaveLength(1);
    const flow = mine[0]!;
    expect(flow).toMatchObject({ host: hostname(), proto: 'tcp', server: nodeIp, verdict: 'genuine-block' });
    expect(flow.count).toBeGreaterThanOrEqual(2);
    // dated from the boot time: within the seconds this test ran (kernel stamps drift only with suspend)
    const seen = Date.parse(flow.firstSeen ?? '');
    expect(Math.abs(seen - before)).toBeLessThan(10_000);

    const sg = await runSuggest(['--kmsg', '--platform', 'harvester', '--role', 'worker', '--allow-unknown', '--json']);
    expect(sg.code, sg.err).toBe(0);
    const s = (JSON.parse(sg.out) as { suggestions: Suggestion[] }).suggestions.filter((x) => x.ports.includes(port));
    expect(s.map((x) => [x.action, x.proto, x.families])).toEqual([['accept', 'tcp', [4]]]);
    expect(s[0]?.sources).toContain(`${peerIp}/32`);
    expect(s[0]?.rendered).toMatch(new RegExp(`^iptables -I HARVESTER_INPUT 1 -s ${peerIp.replace(/\./g, '\\.')}/32 -p tcp --dport ${port} -m comment --comment "fwdiag suggest: tcp/${port}" -j ACCEPT$`, 'm'));
  } finally {
    cleanup();
    restoreNetnsLog();
  }
  expect(Date.now() - started).toBeLessThan(20_000);
}, 30_000);
