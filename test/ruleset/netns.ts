/**
 * Network-namespace helpers for the ruleset/compile kernel tests. Everything is named `fwrs-<pid>-<n>`, addressed from
 * 198.18.0.0/15, and deleted in `cleanup()` (call it from `finally`/afterAll). Needs root, iproute2, iptables, nft.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

let counter = 0;
const created: string[] = [];

export function sh(cmd: string, input?: string): string {
  return execFileSync('sh', ['-c', cmd], { encoding: 'utf8', input, timeout: 20_000, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Runs a command and returns its status and output without throwing. */
export function run(cmd: string, input?: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', input, timeout: 20_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Creates a namespace and returns its name. */
export function addNs(tag: string): string {
  const name = `fwrs-${process.pid}-${tag}-${++counter}`;
  sh(`ip netns add ${name}`);
  created.push(name);
  sh(`ip netns exec ${name} ip link set lo up`);
  return name;
}

export function inNs(ns: string, cmd: string, input?: string): string {
  return sh(`ip netns exec ${ns} sh -c '${cmd.replace(/'/g, `'\\''`)}'`, input);
}

export function runInNs(ns: string, cmd: string, input?: string): { status: number; stdout: string; stderr: string } {
  return run(`ip netns exec ${ns} sh -c '${cmd.replace(/'/g, `'\\''`)}'`, input);
}

/** Deletes every namespace this process created. */
export function cleanup(): void {
  while (created.length > 0) {
    const ns = created.pop() as string;
    run(`ip netns del ${ns}`);
  }
}

/** A veth pair between two namespaces: node side `nodeIf` gets .1, peer side `peerIf` gets .2, in 198.18.<octet>.0/24. */
export function link(node: string, peer: string, nodeIf: string, peerIf: string, octet: number): { nodeIp: string; peerIp: string } {
  // created inside the node namespace with its peer end put straight into the peer namespace: nothing touches the host's
  sh(`ip -n ${node} link add ${nodeIf} type veth peer name ${peerIf} netns ${peer}`);
  inNs(node, `ip addr add 198.18.${octet}.1/24 dev ${nodeIf} && ip link set ${nodeIf} up`);
  inNs(peer, `ip addr add 198.18.${octet}.2/24 dev ${peerIf} && ip link set ${peerIf} up`);
  return { nodeIp: `198.18.${octet}.1`, peerIp: `198.18.${octet}.2` };
}

/**
 * `link()` with fixed MAC addresses, 02:00:00:00:HH:01 (node) and 02:00:00:00:HH:02 (peer), HH the octet in hex, so
 * that the IPv6 link-local addresses the kernel gives the two ends are known before they exist: fe80::ff:feHH… is
 * fe80::ff:fe00:HH01 / fe80::ff:fe00:HH02 (the only IPv6 addresses: they never leave the veth). Duplicate address
 * detection is off on both ends, so the link-local addresses can be used at once.
 */
export function linkWithMacs(node: string, peer: string, nodeIf: string, peerIf: string, octet: number): { nodeIp: string; peerIp: string; nodeLl: string; peerLl: string } {
  const hh = octet.toString(16).padStart(2, '0');
  sh(`ip -n ${node} link add ${nodeIf} address 02:00:00:00:${hh}:01 type veth peer name ${peerIf} address 02:00:00:00:${hh}:02 netns ${peer}`);
  inNs(node, `sysctl -qw net.ipv6.conf.${nodeIf}.accept_dad=0 && ip addr add 198.18.${octet}.1/24 dev ${nodeIf} && ip link set ${nodeIf} up`);
  inNs(peer, `sysctl -qw net.ipv6.conf.${peerIf}.accept_dad=0 && ip addr add 198.18.${octet}.2/24 dev ${peerIf} && ip link set ${peerIf} up`);
  const ll = (n: string) => `fe80::ff:fe00:${Number.parseInt(`${hh}${n}`, 16).toString(16)}`;
  return { nodeIp: `198.18.${octet}.1`, peerIp: `198.18.${octet}.2`, nodeLl: ll('01'), peerLl: ll('02') };
}

const SYSCTL = '/proc/sys/net/netfilter/nf_log_all_netns';

/** Turns on LOG output from non-initial namespaces; returns the value to restore. */
export function enableNetnsLog(): string {
  const old = readFileSync(SYSCTL, 'utf8').trim();
  writeFileSync(SYSCTL, '1');
  return old;
}

export function restoreNetnsLog(old: string): void {
  writeFileSync(SYSCTL, old);
}

/** Kernel log lines containing all of `needles`, waiting up to `ms` for at least `min` of them. */
export async function kernelLines(needles: string[], min = 1, ms = 3000): Promise<string[]> {
  const until = Date.now() + ms;
  for (;;) {
    const lines = sh('dmesg').split('\n').filter((l) => needles.every((n) => l.includes(n)));
    if (lines.length >= min || Date.now() > until) return lines;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Random third octet so concurrent/previous runs' log lines are not mistaken for ours. */
export function randomOctet(): number {
  return 1 + Math.floor(Math.random() * 250);
}
