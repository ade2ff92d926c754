/**
 * The closed loop on a real kernel: compile a policy that lacks a catalog port, apply it with iptables-restore, run
 * real traffic (a blocked client, a connection whose conntrack state is flushed while the server pushes data, a
 * port scan from an outside host), read the drops from /dev/kmsg, `fwdiag suggest --format policy`, compile again
 * with that fragment, re-apply — and the blocked client connects, no new genuine-block line appears, and neither the
 * conntrack-loss server port nor any scanned port (nor the scanner) got an ACCEPT.
 *
 * Namespaces `fwsg-<pid>-*`, addresses 198.18.<o>.0/24 (cluster side) and 198.19.<o>.0/24 (outside), all removed in
 * `finally`; nf_log_all_netns read, set to 1, restored.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseFragment } from '../../src/compile/index.js';
import type { PolicyFragment, PolicyInput } from '../../src/compile/index.js';
import type { Suggestion } from '../../src/suggest/index.js';
import { addNs, bg, cleanup, enableNetnsLog, inNs, kmsgSeq, kmsgSince, link, netnsLog, nsCmd, restoreNetnsLog, sleep, tryRun, waitFor, PUSH_CLIENT, PUSH_SERVER } from './kernel.js';
import { compilePolicy, runSuggest, verdicts } from './run.js';

function compileRestore(policy: PolicyInput, fragments: PolicyFragment[]): { text: string; apply: string } {
  const text = compilePolicy(policy, 'iptables-restore', fragments).text;
  const apply = /^# apply with: (.*) FILE$/m.exec(text)?.[1];
  if (apply === undefined) throw new Error('no apply line in the compiled output');
  return { text, apply };
}

it('compile → apply → traffic → /dev/kmsg → suggest --format policy → compile → re-apply: the blocked port opens, nothing else', async () => {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'fwsg-'));
  enableNetnsLog();
  try {
    const o = 1 + Math.floor(Math.random() * 250);
    const nodeIp = `198.18.${o}.1`;
    const peerIp = `198.18.${o}.2`;
    const nodeExt = `198.19.${o}.1`;
    const scanIp = `198.19.${o}.2`;
    const node = addNs('node');
    const peer = addNs('peer');
    const scan = addNs('scan');
    link(node, 'mgmt-br', `${nodeIp}/24`, peer, 'eth0', `${peerIp}/24`);
    link(node, 'ext0', `${nodeExt}/24`, scan, 'eth0', `${scanIp}/24`);
    const prefix = `FWSG${process.pid % 100000}_`;

    // The node really is a control-plane node, but its policy was compiled for a worker: no RKE2 supervisor (9345),
    // no etcd, no API server. Logging is not rate-limited to 10/min here, so every drop is seen.
    const policy: PolicyInput = { platform: 'harvester', role: 'worker', interfaces: ['mgmt-br', 'ext0'], log: { prefix, rate: '100/second' } };

    // servers: the node's supervisor on 9345; the peer's etcd on 2379, pushing data to whoever connects
    bg(node, ['socat', '-T2', 'TCP-LISTEN:9345,reuseaddr,fork', 'SYSTEM:echo fwsg-ok']);
    bg(peer, ['python3', '-c', PUSH_SERVER, peerIp, '20']);
    expect(await waitFor(() => tryRun(nsCmd(node, 'ss -ltnH "sport = :9345"')).stdout.includes('9345') &&
      tryRun(nsCmd(peer, 'ss -ltnH "sport = :2379"')).stdout.includes('2379'), 5000)).toBe(true);
    // a connection from the node to the peer's etcd, established before any rule exists
    const client = bg(node, ['python3', '-c', PUSH_CLIENT, peerIp, '20']);
    let clientPort = '';
    client.stdout?.on('data', (b: Buffer) => (clientPort += b.toString()));
    expect(await waitFor(() => /^\d+\n/.test(clientPort), 5000)).toBe(true);
    const ephemeral = Number(clientPort.trim());

    // apply the worker policy; the etcd connection survives (ESTABLISHED) …
    const first = compileRestore(policy, []);
    writeFileSync(join(dir, 'first.rules'), first.text);
    inNs(node, `${first.apply} ${join(dir, 'first.rules')}`);
    expect(inNs(node, 'iptables-save')).toContain(`--log-prefix ${prefix}`);
    const seq0 = kmsgSeq();
    // … until its conntrack entry is flushed while the peer keeps pushing (only inside our own namespace)
    inNs(node, 'conntrack -F 2>/dev/null || true');
    // the blocked supervisor client (SYN retransmitted once), and a scan of 14 ports from outside, at the same time
    const scanned = [2380, 2381, 6443, 2112, 10257, 10259, 3001, 3002, 3003, 3004, 3005, 3006, 3007, 3008];
    const blocked = tryRun(nsCmd(peer, `nc -z -w 2 ${nodeIp} 9345`), 10_000);
    // probes 30 ms apart: the LOG rule's limit (100/s, burst 5) would otherwise swallow some of them
    tryRun(nsCmd(scan, `for p in ${scanned.join(' ')}; do nc -z -w 1 ${nodeExt} $p & sleep 0.03; done; wait`), 10_000);
    expect(blocked.status).not.toBe(0);
    expect(await waitFor(() => {
      const l = kmsgSince(seq0, prefix);
      return l.some((x) => x.includes(`SPT=2379 DPT=${ephemeral}`)) && l.some((x) => x.includes('DPT=9345')) &&
        scanned.every((p) => l.some((x) => x.includes(`SRC=${scanIp}`) && x.includes(`DPT=${p} `)));
    }, 6000), `nf_log_all_netns=${netnsLog()}; lines:\n${kmsgSince(seq0, prefix).join('\n')}`).toBe(true);
    const lines = kmsgSince(seq0, prefix);
    const logFile = join(dir, 'drops.kmsg');
    writeFileSync(logFile, `${lines.join('\n')}\n`);
    const before = verdicts(lines);
    expect(before['genuine-block']).toBeGreaterThanOrEqual(1);
    expect(before['conntrack-loss']).toBeGreaterThanOrEqual(1);
    expect(before.scan).toBeGreaterThanOrEqual(1);

    // suggest, as a user would run it on the collected lines
    const args = [logFile, '--platform', 'harvester', '--role', 'control-plane', '--settle', '1s'];
    const js = await runSuggest([...args, '--json']);
    expect(js.code, js.err).toBe(0);
    const result = JSON.parse(js.out) as { suggestions: Suggestion[]; ignored: Record<string, number> };
    const acc = result.suggestions.filter((s) => s.action === 'accept');
    expect(acc.map((s) => [s.proto, s.ports, s.sources, s.kind, s.confidence])).toEqual([['tcp', [9345], [`${peerIp}/32`], 'missing', 'high']]);
    expect(acc[0]?.evidence.clients).toEqual([peerIp]);
    expect(result.ignored.scan).toBeGreaterThanOrEqual(1);
    expect(result.ignored['conntrack-loss']).toBeGreaterThanOrEqual(1);
    // the flushed connection's drops went on for more than --settle: a note on what to check, never a rule
    const ct = result.suggestions.filter((x) => x.kind === 'conntrack-loss');
    expect(ct.map((s) => [s.action, s.proto, s.ports, s.rendered])).toEqual([['note', 'tcp', [2379], '']]);

    const pol = await runSuggest([...args, '--format', 'policy']);
    expect(pol.code, pol.err).toBe(0);
    const fr = parseFragment(parseYaml(pol.out));
    expect(fr.ok).toBe(true);
    if (!fr.ok) return;
    expect(fr.value.extra).toEqual([{ proto: 'tcp', ports: [9345], sources: [`${peerIp}/32`], comment: 'fwdiag suggest: RKE2 supervisor API' }]);
    const opened = fr.value.extra.flatMap((r) => (r.ports ?? []).map(String));
    for (const p of [2379, ephemeral, ...scanned]) expect(opened, `port ${p}`).not.toContain(String(p));
    for (const r of fr.value.extra) for (const s of r.sources ?? []) expect(s.startsWith('198.19.')).toBe(false);

    // compile again with the fragment, re-apply the same way
    const second = compileRestore(policy, [fr.value]);
    writeFileSync(join(dir, 'second.rules'), second.text);
    inNs(node, `${second.apply} ${join(dir, 'second.rules')}`);
    const save = inNs(node, 'iptables-save');
    expect(save).toContain(`-A HARVESTER_INPUT -s ${peerIp}/32 -p tcp -m tcp --dport 9345 -m comment --comment "fwdiag suggest: RKE2 supervisor API" -j ACCEPT`);
    expect(save.split('\n').filter((l) => l.startsWith('-A INPUT ')).length).toBe(2); // the hooks were not duplicated

    const seq1 = kmsgSeq();
    const ok = tryRun(nsCmd(peer, `socat -T2 - TCP:${nodeIp}:9345,connect-timeout=3 </dev/null`), 10_000);
    expect(ok.stdout.trim()).toBe('fwsg-ok');
    await sleep(300);
    const after = verdicts(kmsgSince(seq1, prefix));
    expect(after['genuine-block'] ?? 0).toBe(0);
    // the narrow source holds: the outside host still cannot reach the supervisor
    expect(tryRun(nsCmd(scan, `nc -z -w 1 ${nodeExt} 9345`), 5000).status).not.toBe(0);

    console.log(`loop: ${lines.length} kernel lines before (${JSON.stringify(before)}), ${result.suggestions.length} suggestions ` +
      `(${acc.length} ACCEPT), ignored ${JSON.stringify(result.ignored)}, after re-apply ${JSON.stringify(after)}, ${Date.now() - started} ms`);
  } finally {
    cleanup();
    restoreNetnsLog();
    rmSync(dir, { recursive: true, force: true });
  }
  expect(Date.now() - started).toBeLessThan(40_000);
}, 45_000);

it('the iptables and nft formats are commands the real tools accept, landing before the chain\'s LOG rule', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fwsg-'));
  try {
    const policy: PolicyInput = { platform: 'harvester', role: 'worker' };
    // a supervisor SYN as the kernel logs it on mgmt-br (the worker policy's chain, prefix and interface)
    const line = '4,901,2585152846,-;HARVESTER_DROP_IN=mgmt-br OUT= MAC=32:f0:4f:b9:13:bb:ca:9a:15:fc:80:6f:08:00 SRC=198.18.77.2 DST=198.18.77.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=51540 DF PROTO=TCP SPT=44310 DPT=9345 WINDOW=64240 RES=0x00 SYN URGP=0 ';
    const logFile = join(dir, 'drops.kmsg');
    writeFileSync(logFile, `${line}\n`);
    const args = [logFile, '--platform', 'harvester', '--role', 'control-plane'];

    const ipt = addNs('ipt');
    const first = compileRestore(policy, []);
    writeFileSync(join(dir, 'w.rules'), first.text);
    inNs(ipt, `${first.apply} ${join(dir, 'w.rules')}`);
    writeFileSync(join(dir, 'saved.rules'), inNs(ipt, 'iptables-save'));
    const script = await runSuggest([...args, '--format', 'iptables', '--ruleset', join(dir, 'saved.rules')]);
    expect(script.code, script.err).toBe(0);
    expect(script.out).toMatch(/^iptables -I HARVESTER_INPUT \d+ -s 198\.18\.77\.2\/32 -p tcp --dport 9345 /m);
    writeFileSync(join(dir, 'accept.sh'), script.out);
    inNs(ipt, `sh -e ${join(dir, 'accept.sh')}`);
    const chain = inNs(ipt, 'iptables-save').split('\n').filter((l) => l.startsWith('-A HARVESTER_INPUT '));
    const log = chain.findIndex((l) => l.includes('-j LOG'));
    expect(chain[log - 1]).toBe('-A HARVESTER_INPUT -s 198.18.77.2/32 -p tcp -m tcp --dport 9345 -m comment --comment "fwdiag suggest: RKE2 supervisor API" -j ACCEPT');

    const nft = addNs('nft');
    writeFileSync(join(dir, 'w.nft'), compilePolicy(policy, 'nft').text);
    inNs(nft, `nft -f ${join(dir, 'w.nft')}`);
    writeFileSync(join(dir, 'saved.json'), inNs(nft, 'nft -j list ruleset'));
    const nscript = await runSuggest([...args, '--format', 'nft', '--ruleset', join(dir, 'saved.json')]);
    expect(nscript.code, nscript.err).toBe(0);
    // a native nft table: the rule goes in front of the log rule, named by its handle
    const logHandle = /log prefix .* # handle (\d+)/.exec(inNs(nft, 'nft -a list chain inet fwdiag HARVESTER_INPUT'))?.[1];
    expect(logHandle).toBeDefined();
    expect(nscript.out).toContain(`nft insert rule inet fwdiag HARVESTER_INPUT handle ${logHandle} 'ip saddr 198.18.77.2/32 tcp dport 9345 accept comment "fwdiag suggest: RKE2 supervisor API"'`);
    // the human form and --format iptables give the same nft command: iptables cannot reach a native table
    const human = await runSuggest([...args, '--ruleset', join(dir, 'saved.json')]);
    expect(human.out).toContain(`   rule:     nft insert rule inet fwdiag HARVESTER_INPUT handle ${logHandle} 'ip saddr`);
    const asIpt = await runSuggest([...args, '--format', 'iptables', '--ruleset', join(dir, 'saved.json')]);
    expect(asIpt.out).toContain(`# (the traced chain HARVESTER_INPUT is in the native nftables table inet fwdiag: an nft command)\nnft insert rule inet fwdiag HARVESTER_INPUT handle ${logHandle} `);
    writeFileSync(join(dir, 'accept-nft.sh'), nscript.out);
    inNs(nft, `sh -e ${join(dir, 'accept-nft.sh')}`);
    const listed = inNs(nft, 'nft list chain inet fwdiag HARVESTER_INPUT').split('\n').map((l) => l.trim());
    const at = listed.findIndex((l) => l.includes('fwdiag suggest: RKE2 supervisor API'));
    expect(at).toBeGreaterThan(0);
    // right before the LOG rule: the rules between the top and it still come first
    expect(at).toBe(listed.findIndex((l) => l.includes('log prefix')) - 1);
  } finally {
    cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);
