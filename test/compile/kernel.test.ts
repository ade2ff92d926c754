/**
 * Real-kernel checks of the compiler: iptables-restore --test and nft -c -f accept every compiled output, and
 * applying the output in a namespace gives the expected, idempotent ruleset.
 */
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createParser } from '../../src/parse/parse-line.js';
import type { DropEvent } from '../../src/parse/event.js';
import { parseRuleset, trace } from '../../src/ruleset/index.js';
import type { Ruleset } from '../../src/ruleset/index.js';
import type { PolicyInput } from '../../src/compile/index.js';
import { parsePolicy } from '../../src/compile/policy.js';
import { compile } from './helpers.js';
import { NFT_RESERVED_WORDS } from '../../src/catalog/schema.js';
import { addNs, cleanup, enableNetnsLog, inNs, kernelLines, link, randomOctet, restoreNetnsLog, runInNs, sh } from '../ruleset/netns.js';

type P = Partial<PolicyInput> & { platform: string; role: string };
const MATRIX: P[] = [
  { platform: 'harvester', role: 'control-plane' },
  { platform: 'harvester', role: 'worker' },
  { platform: 'harvester', role: 'witness', addons: [] },
  { platform: 'harvester', role: 'control-plane', clusterSubnet: '198.18.0.0/24', controlPlane: ['198.18.0.1', '198.18.0.2', 'fd00::1'] },
  ...['canal', 'calico', 'cilium', 'flannel'].flatMap((cni) => [{ platform: 'rke2', role: 'server', cni }, { platform: 'rke2', role: 'agent', cni, icmp: false }]),
  { platform: 'k3s', role: 'server' },
  { platform: 'k3s', role: 'agent', log: false, dhcp: false },
  { platform: 'kubeadm', role: 'control-plane', cni: 'cilium', icmp: false },
  { platform: 'kubeadm', role: 'worker', cni: 'calico', interfaces: ['eth0', 'bond+'] },
  { platform: 'talos', role: 'controlplane', clusterSubnet: '198.18.0.0/24' },
  { platform: 'talos', role: 'worker' },
  { platform: 'konvoy', role: 'control-plane', icmp: false },
  { platform: 'harvester', role: 'worker', log: { quietBroadcast: true } },
  { platform: 'rke2', role: 'server', cni: 'canal', ipv6: true, log: { quietBroadcast: true, prefix: 'RKE2_DROP_' } },
  // the edges of what the schema lets through: a mixed-case chain with a dash, a prefix with brackets, the fastest rate,
  // a 126-byte comment
  { platform: 'rke2', role: 'server', chain: 'Fw-in', log: { prefix: '[UFW BLOCK] ', rate: '600000/min' }, extra: [{ proto: 'ipip', sources: ['198.18.1.0/24'], comment: '€'.repeat(42) }] },
  { platform: 'konvoy', role: 'worker', extra: [{ proto: 'tcp', ports: [9100, '9400-9410'], sources: ['198.18.0.0/24', 'fd00::/8'], comment: 'metrics' }, { proto: 'esp' }, { proto: 'udp', ports: [5353], family: 6 }, { proto: 'tcp', ports: [7443], family: 4 }] },
];
const label = (p: P) => JSON.stringify(p);

let dir = '';
let oldLog = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fwrs-compile-'));
  oldLog = enableNetnsLog();
});
afterAll(() => {
  cleanup();
  restoreNetnsLog(oldLog);
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}
const chainLines = (save: string, chain: string) => save.split('\n').filter((l) => l.startsWith(`-A ${chain} `) || l.startsWith(`-A INPUT `) || l.startsWith(`:${chain} `));
function mustParse(text: string): Ruleset {
  const r = parseRuleset(text);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.value;
}

describe('syntax checks by the real tools', () => {
  it('iptables-restore --test accepts every compiled iptables-restore output (and rejects a broken one)', () => {
    const ns = addNs('rt');
    try {
      for (const p of MATRIX) {
        const out = compile(p, 'iptables-restore');
        const r = runInNs(ns, `iptables-restore --test --noflush ${file('r.rules', out.text)}`);
        expect(r.status, `${label(p)}: ${r.stderr}`).toBe(0);
      }
      const broken = compile(MATRIX[0] as P, 'iptables-restore').text.replace('--dport 22 ', '--dport 22:x ');
      expect(runInNs(ns, `iptables-restore --test --noflush ${file('bad.rules', broken)}`).status).not.toBe(0);
      // --test changed nothing
      expect(inNs(ns, 'iptables-save')).not.toContain('HARVESTER_INPUT');
    } finally {
      cleanup();
    }
  });
  it('with ipv6: ip6tables-restore --test accepts every compiled ip6tables-restore output, iptables-restore --test the IPv4 half', () => {
    const ns = addNs('r6');
    try {
      for (const p of MATRIX) {
        const six = compile({ ...p, ipv6: true }, 'ip6tables-restore');
        const r6 = runInNs(ns, `ip6tables-restore --test --noflush ${file('r6.rules', six.text)}`);
        expect(r6.status, `${label(p)}: ${r6.stderr}`).toBe(0);
        const four = compile({ ...p, ipv6: true }, 'iptables-restore');
        const r4 = runInNs(ns, `iptables-restore --test --noflush ${file('r4.rules', four.text)}`);
        expect(r4.status, `${label(p)}: ${r4.stderr}`).toBe(0);
      }
      // an ICMPv6 type spelled for IPv4 is refused: the check is real
      const broken = compile({ platform: 'rke2', role: 'agent', icmp: false, ipv6: true }, 'ip6tables-restore').text.replace('--icmpv6-type 133', '--icmp-type 133');
      expect(runInNs(ns, `ip6tables-restore --test --noflush ${file('bad6.rules', broken)}`).status).not.toBe(0);
      expect(inNs(ns, 'ip6tables-save')).not.toContain('RKE2_INPUT');
    } finally {
      cleanup();
    }
  });
  it('the chain names the schema takes compile to nft that nft -c accepts; every word it refuses as nft-reserved, nft refuses', () => {
    for (const chain of ['hostfw', 'input', 'fw-input', 'filter', 'Fw_in2']) {
      const f = file(`chain-${chain}.nft`, compile({ platform: 'k3s', role: 'server', chain }, 'nft').text);
      expect(runInNs(addNs('cn'), `nft -c -f ${f}`).status, chain).toBe(0);
      cleanup();
    }
    const ns = addNs('cw');
    try {
      const accepted = [...NFT_RESERVED_WORDS].filter((w) => runInNs(ns, `printf 'table inet t {\\n chain %s {\\n }\\n}\\n' ${w} | nft -c -f -`).status === 0);
      expect(accepted, 'reserved words this nft takes as chain names').toEqual([]);
    } finally {
      cleanup();
    }
  });
  it('nft -c -f accepts every compiled nft output (and rejects a broken one)', () => {
    const ns = addNs('nc');
    try {
      for (const p of MATRIX) {
        const out = compile(p, 'nft');
        const r = runInNs(ns, `nft -c -f ${file('r.nft', out.text)}`);
        expect(r.status, `${label(p)}: ${r.stderr}`).toBe(0);
      }
      const broken = compile(MATRIX[0] as P, 'nft').text.replace('tcp dport 22 ', 'tcp dport 22- ');
      expect(runInNs(ns, `nft -c -f ${file('bad.nft', broken)}`).status).not.toBe(0);
      expect(inNs(ns, 'nft list ruleset')).toBe('');
    } finally {
      cleanup();
    }
  });
});

describe('why a policy refuses a leading zero (found by an audit)', () => {
  it('iptables and nft read 010 as octal 8 and /030 as /24 (fwdiag would read .10 and /30): the kernel holds other rules', () => {
    const ns = addNs('octal');
    try {
      inNs(ns, 'iptables -A INPUT -s 198.18.40.010 -j ACCEPT && iptables -A INPUT -s 198.18.40.0/030 -j ACCEPT');
      expect(inNs(ns, 'iptables -S INPUT').split('\n').filter((l) => l.startsWith('-A'))).toEqual([
        '-A INPUT -s 198.18.40.8/32 -j ACCEPT',
        '-A INPUT -s 198.18.40.0/24 -j ACCEPT',
      ]);
      inNs(ns, 'nft add table ip octal && nft add chain ip octal c && nft add rule ip octal c ip saddr 198.18.40.0/030 accept');
      expect(inNs(ns, 'nft list chain ip octal c')).toContain('ip saddr 198.18.40.0/24 accept');
      // so fwdiag refuses them where an operator writes addresses
      expect(parsePolicy({ platform: 'kubeadm', role: 'worker', extra: [{ proto: 'tcp', ports: [7002], sources: ['198.18.40.0/030'] }] }).ok).toBe(false);
    } finally {
      cleanup();
    }
  });
});

describe('applying compiled output', () => {
  const seedSave = readFileSync('fixtures/rulesets/harvester-control-plane.iptables-save', 'utf8');
  it('iptables-restore output, applied as its header says, gives the seed chain; applied twice, the same ruleset', () => {
    const ns = addNs('ra');
    try {
      const out = compile({ platform: 'harvester', role: 'control-plane' }, 'iptables-restore').text;
      const apply = /^# apply with: (.*) FILE$/m.exec(out)?.[1];
      expect(apply).toBe('iptables -D INPUT -i mgmt-br -j HARVESTER_INPUT 2>/dev/null; iptables-restore --noflush');
      // a rule that is not ours must survive
      inNs(ns, 'iptables -A INPUT -i lo -j ACCEPT');
      const f = file('cp.rules', out);
      inNs(ns, `${apply} ${f}`);
      const once = inNs(ns, 'iptables-save');
      const seed = chainLines(seedSave, 'HARVESTER_INPUT');
      expect(seed[0]).toBe(':HARVESTER_INPUT - [0:0]');
      expect(chainLines(once, 'HARVESTER_INPUT')).toEqual([seed[0], '-A INPUT -i lo -j ACCEPT', ...seed.slice(1)]);
      inNs(ns, `${apply} ${f}`);
      expect(inNs(ns, 'iptables-save').replace(/^#.*\n/gm, '')).toBe(once.replace(/^#.*\n/gm, ''));
    } finally {
      cleanup();
    }
  });
  it('iptables shell output, run twice, equals the seed applied once', () => {
    const ns = addNs('sh');
    try {
      const f = file('cp.sh', compile({ platform: 'harvester', role: 'control-plane' }, 'iptables').text);
      inNs(ns, `sh ${f}`);
      inNs(ns, `sh ${f}`);
      const body = (t: string) => t.split('\n').filter((l) => l !== '' && !l.startsWith('#')).join('\n');
      expect(body(inNs(ns, 'iptables-save'))).toBe(body(seedSave));
    } finally {
      cleanup();
    }
  });
  it('nft output applied twice: same ruleset; a real SYN to a closed port is logged and dropped, and the trace agrees', async () => {
    const node = addNs('nn');
    const peer = addNs('np');
    try {
      const octet = randomOctet();
      const { nodeIp, peerIp } = link(node, peer, 'mgmt-br', 'eth0', octet);
      const prefix = `fwrs${process.pid % 100000}_`;
      const f = file('cp.nft', compile({ platform: 'harvester', role: 'control-plane', log: { prefix } }, 'nft').text);
      inNs(node, `nft -f ${f}`);
      const once = inNs(node, 'nft -j list ruleset');
      inNs(node, `nft -f ${f}`);
      const twice = inNs(node, 'nft -j list ruleset');
      const texts = (rs: Ruleset) => rs.tables.flatMap((t) => t.chains.flatMap((c) => c.rules.map((r) => r.text)));
      expect(texts(mustParse(twice))).toEqual(texts(mustParse(once)));
      expect(mustParse(once).tables.map((t) => `${t.family} ${t.name}`)).toEqual(['inet fwdiag']);
      // SSH is open (RST from the closed port comes back: nc fails fast but nothing is logged); 9999 is not
      expect(runInNs(peer, `nc -z -w 1 ${nodeIp} 9999`).status).not.toBe(0);
      const lines = await kernelLines([prefix, `SRC=${peerIp} DST=${nodeIp}`, 'DPT=9999']);
      const p = createParser();
      const ev = lines.map((l) => p.parseLine(l)).find((r) => r.kind === 'event');
      expect(ev?.kind).toBe('event');
      const t = trace(mustParse(twice), (ev as { event: DropEvent }).event);
      expect(t.verdict).toBe('drop');
      expect(t.decidedBy?.ref.text).toBe('drop comment "Drop all other traffic"');
      expect(t.logRule?.reached).toBe(true);
      const ok = trace(mustParse(twice), { ...(ev as { event: DropEvent }).event, dpt: 9345 });
      expect(ok.verdict).toBe('accept');
    } finally {
      cleanup();
    }
  });

  it('a chain on every interface (rke2, talos, … defaults) lets the node talk to itself on lo; the LAN still gets the DROP', () => {
    for (const [target, p] of [['iptables-restore', { platform: 'rke2', role: 'server' }], ['nft', { platform: 'talos', role: 'controlplane', clusterSubnet: '198.18.0.0/24' }]] as const) {
      const node = addNs('lo');
      const peer = addNs('lp');
      try {
        const { nodeIp } = link(node, peer, 'eth1', 'eth0', randomOctet());
        const out = compile(p, target);
        const f = file(target === 'nft' ? 'lo.nft' : 'lo.rules', out.text);
        inNs(node, target === 'nft' ? `nft -f ${f}` : `iptables-restore --noflush ${f}`);
        // 10248 (kubelet healthz, loopback only) and 6443 (from outside clusterSubnet for talos): nothing listens,
        // so an accepted SYN is refused at once (RST) and a dropped one times out
        for (const port of [10248, 6443]) {
          const t0 = Date.now();
          runInNs(node, `timeout 5 nc -z -w 2 127.0.0.1 ${port}`);
          expect(Date.now() - t0, `${target} lo ${port}: refused at once, not timed out`).toBeLessThan(1500);
        }
        const t1 = Date.now();
        runInNs(peer, `timeout 5 nc -z -w 1 ${nodeIp} 10248`);
        expect(Date.now() - t1, `${target}: the LAN's SYN to 10248 is dropped (times out)`).toBeGreaterThanOrEqual(900);
      } finally {
        cleanup();
      }
    }
  });

  it('log.quietBroadcast: real LAN chatter is dropped unlogged, a unicast drop is still logged (iptables and nft)', async () => {
    let n = 0;
    for (const target of ['iptables-restore', 'nft'] as const) {
      for (const quiet of [true, false]) {
        const node = addNs('qn');
        const peer = addNs('qp');
        try {
          const octet = randomOctet();
          const { nodeIp } = link(node, peer, 'mgmt-br', 'eth0', octet);
          const prefix = `fwq${process.pid % 100000}${++n}_`;
          const out = compile({ platform: 'harvester', role: 'control-plane', log: { prefix, quietBroadcast: quiet } }, target);
          const f = file(target === 'nft' ? 'q.nft' : 'q.rules', out.text);
          inNs(node, target === 'nft' ? `nft -f ${f}` : `iptables-restore --noflush ${f}`);
          // a NetBIOS broadcast to the node's subnet, an mDNS query (the node joins the group, as avahi does), then a
          // unicast datagram to a closed port: the last is logged either way, and once it is, so would the others be
          const send = [
            'import socket, struct, time',
            'r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
            `r.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, struct.pack("4s4s", socket.inet_aton("224.0.0.251"), socket.inet_aton("${nodeIp}")))`,
            'time.sleep(1.2)',
          ].join('\n');
          // detached from our pipes, so that it lives on while the peer sends
          const member = runInNs(node, `python3 -c '${send.replace(/'/g, '"')}' >/dev/null 2>&1 </dev/null &`);
          expect(member.status).toBe(0);
          await new Promise((r) => setTimeout(r, 300));
          const chatter = [
            'import socket',
            's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
            's.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)',
            `s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("198.18.${octet}.2"))`,
            `s.sendto(b"x" * 20, ("198.18.${octet}.255", 137))`,
            's.sendto(b"x" * 20, ("224.0.0.251", 5353))',
            `s.sendto(b"x" * 20, ("${nodeIp}", 5999))`,
          ].join('\n');
          inNs(peer, `python3 -c '${chatter.replace(/'/g, '"')}'`);
          const unicast = await kernelLines([prefix, 'DPT=5999']);
          expect(unicast.length, `${target} quiet=${quiet}`).toBeGreaterThan(0);
          const bcast = sh('dmesg').split('\n').filter((l) => l.includes(prefix) && (l.includes('DPT=137 ') || l.includes('DPT=5353 ')));
          expect(bcast.length, `${target} quiet=${quiet}: ${bcast.join('\n')}`).toBe(quiet ? 0 : 2);
        } finally {
          cleanup();
        }
      }
    }
  });
});
