/**
 * Real-kernel helpers for the suggest loop test: namespaces named `fwsg-<pid>-<name>` (only ever these are touched),
 * addresses from 198.18.0.0/15, processes started here tracked by pid, and /dev/kmsg read directly. Needs root,
 * iproute2, iptables, conntrack, socat, python3.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync, readSync } from 'node:fs';

const TAG = `fwsg-${process.pid}-`;
const created: string[] = [];
const children: ChildProcess[] = [];

export function sh(cmd: string): string {
  return execFileSync('sh', ['-c', cmd], { encoding: 'utf8', timeout: 15_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function tryRun(cmd: string, timeoutMs = 15_000): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** `ip netns exec NS sh -c CMD` with the command single-quoted. */
export function nsCmd(ns: string, cmd: string): string {
  return `ip netns exec ${ns} sh -c '${cmd.replace(/'/g, `'\\''`)}'`;
}

export function inNs(ns: string, cmd: string): string {
  return sh(nsCmd(ns, cmd));
}

export function addNs(name: string): string {
  const ns = `${TAG}${name}`;
  if (!/^fwsg-\d+-[a-z0-9-]+$/.test(ns)) throw new Error(`bad namespace name ${ns}`);
  sh(`ip netns add ${ns}`);
  created.push(ns);
  inNs(ns, 'ip link set lo up');
  return ns;
}

/** A veth pair made inside `a` with its peer end moved straight into `b` (nothing in the host namespace). */
export function link(a: string, ifA: string, addrA: string, b: string, ifB: string, addrB: string): void {
  for (const x of [addrA, addrB]) if (!/^198\.1[89]\.\d+\.\d+\/\d+$/.test(x)) throw new Error(`address ${x} outside 198.18.0.0/15`);
  sh(`ip -n ${a} link add ${ifA} type veth peer name ${ifB} netns ${b}`);
  inNs(a, `ip addr add ${addrA} dev ${ifA} && ip link set ${ifA} up`);
  inNs(b, `ip addr add ${addrB} dev ${ifB} && ip link set ${ifB} up`);
}

/** A background process inside a namespace; killed (by pid) in cleanup. */
export function bg(ns: string, argv: string[]): ChildProcess {
  const c = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(c);
  return c;
}

/** Kills what we started, then every process left in our namespaces (by pid), then deletes the namespaces. */
export function cleanup(): void {
  for (const c of children.splice(0)) if (c.exitCode === null && c.pid !== undefined) {
    try {
      process.kill(c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  while (created.length > 0) {
    const ns = created.pop() as string;
    for (const pid of tryRun(`ip netns pids ${ns}`).stdout.split('\n').filter((p) => /^\d+$/.test(p))) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    tryRun(`ip netns del ${ns}`);
  }
}

const SYSCTL = '/proc/sys/net/netfilter/nf_log_all_netns';
/**
 * nf_log_all_netns is global and other kernel tests (test/lab/netns.sh) may run at the same time: the same
 * refcount as that library — a holder file per live pid under a flock'd directory; the first holder saves the
 * value found, the last one out writes it back.
 */
const LOCK_DIR = '/run/fwfx-lab';
const PRUNE = `for f in ${LOCK_DIR}/nflog.[0-9]*; do [ -e "$f" ] || continue; kill -0 "\${f##*.}" 2>/dev/null || rm -f "$f"; done`;
const HOLDERS = `ls ${LOCK_DIR}/nflog.[0-9]* >/dev/null 2>&1`;

function locked(script: string): void {
  sh(`mkdir -p ${LOCK_DIR} && flock -w 10 ${LOCK_DIR}/nflog.lock sh -c '${script.replace(/'/g, `'\\''`)}'`);
}

/** Reads the sysctl (saved by the first holder), sets it to 1, registers this process as a holder. */
export function enableNetnsLog(): string {
  const found = readFileSync(SYSCTL, 'utf8').trim();
  locked(`${PRUNE}; if ! ${HOLDERS} || [ ! -e ${LOCK_DIR}/nflog.orig ]; then cat ${SYSCTL} > ${LOCK_DIR}/nflog.orig; fi; : > ${LOCK_DIR}/nflog.${process.pid}; echo 1 > ${SYSCTL}`);
  return found;
}

/** Drops this process's hold; the last holder writes the saved value back. */
export function restoreNetnsLog(): void {
  locked(`rm -f ${LOCK_DIR}/nflog.${process.pid}; ${PRUNE}; if ! ${HOLDERS} && [ -e ${LOCK_DIR}/nflog.orig ]; then cat ${LOCK_DIR}/nflog.orig > ${SYSCTL}; rm -f ${LOCK_DIR}/nflog.orig; fi`);
}

/**
 * The seed's stateful `HARVESTER_INPUT` on `mgmt-br` in namespace `ns` (iptables, or ip6tables for IPv6): established
 * and related traffic and ICMP accepted, everything else logged with `prefix` and dropped — and no loose pick-up, so
 * the node's own next packet cannot re-create a flushed conntrack entry while a test watches.
 */
export function statefulInput(ns: string, prefix: string, family: 4 | 6 = 4): void {
  const ipt = family === 4 ? 'iptables' : 'ip6tables';
  inNs(ns, [
    `${ipt} -N HARVESTER_INPUT`, `${ipt} -A INPUT -i mgmt-br -j HARVESTER_INPUT`,
    `${ipt} -A HARVESTER_INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`,
    `${ipt} -A HARVESTER_INPUT -p ${family === 4 ? 'icmp' : 'ipv6-icmp'} -j ACCEPT`,
    `${ipt} -A HARVESTER_INPUT -j LOG --log-prefix ${prefix}`, `${ipt} -A HARVESTER_INPUT -j DROP`,
    'sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0',
  ].join(' && '));
}

export function netnsLog(): string {
  return readFileSync(SYSCTL, 'utf8').trim();
}

/** One /dev/kmsg record's first line, and its sequence number. */
export interface KmsgRecord {
  seq: number;
  text: string;
}

/**
 * Every record now in the ring buffer (one read() = one record; O_NONBLOCK ends at EAGAIN; EPIPE means records
 * were overwritten under us and reading goes on from the oldest left).
 */
export function readKmsg(): KmsgRecord[] {
  const fd = openSync('/dev/kmsg', constants.O_RDONLY | constants.O_NONBLOCK);
  const buf = Buffer.alloc(16 * 1024);
  const out: KmsgRecord[] = [];
  try {
    for (let i = 0; i < 1_000_000; i++) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EPIPE') continue;
        if (code === 'EAGAIN') break;
        throw e;
      }
      const rec = buf.toString('utf8', 0, n).split('\n')[0] ?? '';
      const seq = Number(rec.split(',')[1]);
      out.push({ seq, text: rec });
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

export function kmsgSeq(): number {
  const all = readKmsg();
  return all.length === 0 ? 0 : (all[all.length - 1] as KmsgRecord).seq;
}

/** Records after `since` whose message contains `needle`. */
export function kmsgSince(since: number, needle: string): string[] {
  return readKmsg().filter((r) => r.seq > since && r.text.slice(r.text.indexOf(';') + 1).includes(needle)).map((r) => r.text);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `f` until it returns true or `ms` pass; returns the last value. */
export async function waitFor(f: () => boolean, ms: number, step = 100): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (f()) return true;
    if (Date.now() > until) return false;
    await sleep(step);
  }
}

/**
 * A server on port 2379 of address argv[1] (IPv4 or IPv6) that, once a client connects, pushes 100 bytes every
 * 0.2 s for argv[2] seconds: the data whose ACK PSH packets a conntrack flush turns into drops.
 */
export const PUSH_SERVER = `
import socket, sys, time
host, secs = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, 2379)); s.listen(1); s.settimeout(10)
c, _ = s.accept(); end = time.time() + secs
while time.time() < end:
    try: c.send(b'x' * 100)
    except Exception: break
    time.sleep(0.2)
`;

/** Its client: connects to argv[1]:2379, prints its own (ephemeral) port, reads for argv[2] seconds. */
export const PUSH_CLIENT = `
import socket, sys, time
c = socket.create_connection((sys.argv[1], 2379), timeout=5); c.settimeout(0.5)
print(c.getsockname()[1], flush=True); end = time.time() + float(sys.argv[2])
while time.time() < end:
    try: d = c.recv(4096)
    except socket.timeout: continue
    except Exception: break
    if not d: break
`;
