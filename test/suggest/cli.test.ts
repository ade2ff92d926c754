import { describe, expect, it } from 'vitest';
import { suggestCommand, parseSuggestArgs, runSuggest, SUGGEST_USAGE } from '../../src/cli/suggest.js';
import { corpusText } from '../../bench/corpus.mjs';
import { UsageError, InputError } from '../../src/cli/errors.js';
import { analyzeCommand } from '../../src/cli/analyze.js';
import { Readable } from 'node:stream';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryIO as stringIO } from '../catalog/cli-io.js';

/** stdin as bytes, as a real pipe delivers it (the line splitter reads Buffers). */
function memoryIO(stdin = '') {
  const m = stringIO();
  m.io.stdin = Readable.from([Buffer.from(stdin)]);
  return m;
}
import { synLine } from './helpers.js';

const SAMPLE = 'fixtures/sample/harvester-upgrade.log';
const base = ['--platform', 'harvester', '--role', 'control-plane'];

describe('fwdiag suggest: options', () => {
  it.each([
    [[SAMPLE], /--platform P and --role R are required/],
    [[...base, '--json', '--format', 'nft'], /--json and --format are exclusive/],
    [[...base, '--format', 'ufw'], /--format: use human, iptables, nft, talos, harvester-cloudinit, policy/],
    [[...base, '--host-role', 'harvester3'], /--host-role: expected HOST=ROLE/],
    [[...base, '--cluster-subnet', '10.0.0.0/33'], /--cluster-subnet: expected an IPv4\/IPv6 address or CIDR/],
    [[...base, '--control-plane', '10.0.0.1,nope'], /--control-plane: expected an IPv4\/IPv6 address or CIDR/],
    [[...base, '--samples', '11'], /--samples/],
    [[...base, '--settle', 'soon'], /--settle: not a duration/],
    [[...base, '--bogus'], /Unknown option '--bogus'/],
    [['--platform', 'Harvester', '--role', 'x'], /--platform: expected a lower-case name/],
    [[...base, '--prefix', ''], /--prefix: /],
    [[...base, '--kmsg=now'], /--kmsg: this command reads the ring buffer as it is now \(--kmsg or --kmsg=ring\), not "now"/],
  ])('%j is a usage error', (argv, msg) => {
    expect(() => parseSuggestArgs(argv)).toThrow(UsageError);
    expect(() => parseSuggestArgs(argv)).toThrow(msg);
  });

  it('defaults, and lists split on commas', () => {
    expect(parseSuggestArgs([...base, '--control-plane', '10.0.0.1, 10.0.0.2', '--control-plane', '10.0.0.3', '--host-role', 'a=b=worker'])).toMatchObject({
      output: 'human', samples: 3, allowUnknown: false, controlPlane: ['10.0.0.1', '10.0.0.2', '10.0.0.3'], hostRoles: [['a=b', 'worker']],
    });
    expect(parseSuggestArgs(['-h'])).toBe('help');
  });

  it('--help prints the usage; unknown platform or role and a missing ruleset fail before reading', async () => {
    const m = memoryIO();
    expect(await suggestCommand(['--help'], m.io)).toBe(0);
    expect(m.out()).toBe(SUGGEST_USAGE);
    await expect(suggestCommand([SAMPLE, '--platform', 'nosuch', '--role', 'worker'], memoryIO().io)).rejects.toThrow(/unknown platform "nosuch"/);
    await expect(suggestCommand([SAMPLE, ...base, '--host-role', 'harvester3=server'], memoryIO().io)).rejects.toThrow(/unknown role "server" for harvester/);
    await expect(suggestCommand([SAMPLE, ...base, '--ruleset', '/nonexistent/rules'], memoryIO().io)).rejects.toThrow(InputError);
  });
});

describe('fwdiag suggest: output', () => {
  it('--json: the documented shape, lower-case proto, ports as numbers or "A-B", CIDR sources', async () => {
    const m = memoryIO();
    expect(await suggestCommand([SAMPLE, ...base, '--json', '--cluster-subnet', '192.168.122.0/24'], m.io)).toBe(0);
    const j = JSON.parse(m.out()) as { suggestions: Array<Record<string, unknown>>; ignored: Record<string, number> };
    expect(Object.keys(j)).toEqual(['suggestions', 'ignored']);
    const first = j.suggestions[0] as Record<string, unknown>;
    for (const k of ['action', 'proto', 'ports', 'sources', 'service', 'role', 'chain', 'confidence', 'reason', 'evidence', 'rendered']) expect(first).toHaveProperty(k);
    expect(first).toMatchObject({ action: 'accept', proto: 'tcp', ports: ['2379-2380'], role: 'control-plane', chain: 'HARVESTER_INPUT', confidence: 'high' });
    expect(first['rendered']).toBe(
      'iptables -I HARVESTER_INPUT 1 -s 192.168.122.61/32 -p tcp --dport 2379:2380 -m comment --comment "fwdiag suggest: etcd client/peer" -j ACCEPT\n' +
      'iptables -I HARVESTER_INPUT 1 -s 192.168.122.62/32 -p tcp --dport 2379:2380 -m comment --comment "fwdiag suggest: etcd client/peer" -j ACCEPT',
    );
    expect(j.suggestions[1]).toMatchObject({ proto: 'udp', ports: [8472], sources: ['192.168.122.0/24'] });
    // every flow that is not a genuine block is accounted for as ignored (no ACCEPT), as analyze classifies them
    const a = memoryIO();
    await analyzeCommand([SAMPLE, '--summary', '--platform', 'harvester'], a.io);
    const flows = (JSON.parse(a.out()) as { flows: Array<{ verdict: string }> }).flows;
    const n = (v: string) => flows.filter((f) => f.verdict === v).length;
    expect(j.ignored).toEqual({ scan: n('scan'), 'conntrack-loss': n('conntrack-loss'), undetermined: n('undetermined'), broadcast: n('broadcast') });
    expect(j.ignored.scan).toBeGreaterThanOrEqual(1);
  });

  it('samples are the input lines themselves (CRLF files, stdin, several files), whichever parser read them', async () => {
    const lines = readFileSync(SAMPLE, 'utf8').split('\n').filter((l) => l !== '');
    const dir = mkdtempSync(join(tmpdir(), 'fwdiag-suggest-'));
    try {
      const crlf = join(dir, 'crlf.log');
      writeFileSync(crlf, `${lines.join('\r\n')}\r\n`);
      const half = Math.floor(lines.length / 2);
      const a = join(dir, 'a.log');
      const b = join(dir, 'b.log');
      writeFileSync(a, `${lines.slice(0, half).join('\n')}\n`);
      writeFileSync(b, `${lines.slice(half).join('\n')}\n`);
      const samplesOf = async (argv: string[], stdin = '') => {
        const m = memoryIO(stdin);
        expect(await suggestCommand([...argv, ...base, '--json', '--samples', '10'], m.io)).toBe(0);
        const j = JSON.parse(m.out()) as { suggestions: Array<{ ports: Array<number | string>; evidence: { samples: string[] } }> };
        for (const x of j.suggestions) {
          // each sample is a packet of the suggestion's own flow: to or (lost-state replies, notes) from its port
          const ranges = x.ports.map((p) => (typeof p === 'number' ? [p, p] : p.split('-').map(Number)));
          for (const l of x.evidence.samples) {
            const ports = [/ DPT=(\d+)/.exec(l)?.[1], / SPT=(\d+)/.exec(l)?.[1]].map(Number);
            expect(ports.some((q) => ranges.some(([lo, hi]) => q >= lo! && q <= hi!)), l).toBe(true);
          }
        }
        return j.suggestions.flatMap((x) => x.evidence.samples);
      };
      const plain = await samplesOf([SAMPLE]);
      expect(plain.length).toBeGreaterThan(10);
      const known = new Set(lines);
      for (const l of plain) expect(known.has(l), l).toBe(true);
      expect(await samplesOf([crlf])).toEqual(plain);
      expect(await samplesOf([], `${lines.join('\n')}\n`)).toEqual(plain);
      for (const l of await samplesOf([a, b])) expect(known.has(l), l).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('human output from stdin; hostile bytes in log text are escaped', async () => {
    const evil = synLine({ host: 'evil\u001b[2Jhost', src: '198.18.9.7', dst: '198.18.9.1', spt: 40000, dpt: 9345 }).replace('FWDIAG_DROP_', 'X\u009b31m_');
    const m = memoryIO(`${evil}\n${evil.replace('SPT=40000', 'SPT=40001')}\n`);
    expect(await suggestCommand(base, m.io)).toBe(0);
    const out = m.out();
    expect(out).toMatch(/^fwdiag suggest: 1 ACCEPT suggestion, 0 notes \(harvester, role control-plane\)/);
    expect(out).toContain('1. ACCEPT tcp 9345 from 198.18.9.7/32 into HARVESTER_INPUT  [high] (role control-plane)');
    expect(out).toContain('why:      catalog service "RKE2 supervisor API" for role control-plane is missing from the ruleset');
    expect(out).not.toMatch(/[\u001b\u009b]/);
    expect(out).toContain('\\x1b[2J');
  });

  it('human evidence names who sent the drops: a block\'s clients, a lost-state flow\'s servers (its clients got them)', async () => {
    const m = memoryIO();
    expect(await suggestCommand([...base, SAMPLE], m.io)).toBe(0);
    const out = m.out();
    // the sample's etcd SYNs come from .61 and .62 to harvester3; its lost-state tcp/443 packets come from the
    // gateway's port 443 (.1) to harvester2's own address (.62), the client that had the connection
    expect(out).toContain('evidence: 103 drops in 4 flows from 192.168.122.61, 192.168.122.62 on harvester3');
    expect(out).toMatch(/NOTE tcp 443 \[conntrack-loss\][^\n]*\n[^\n]*\n   why:      persistent conntrack loss on tcp\/443 \([^)]*\) from 192\.168\.122\.1:/);
    expect(out).toContain('evidence: 23 drops in 1 flow to 192.168.122.62 on harvester2');
    expect(out).not.toContain('from 192.168.122.62 on harvester2');
  });

  it('LAN chatter: counted as ignored, no ACCEPT nor note for it, and the way to keep it out of the log', async () => {
    const bc = (dst: string, mac: string, port: number) =>
      `Apr 22 10:00:01 harvester1 kernel: HARVESTER_DROP_IN=mgmt-br OUT= MAC=${mac}:52:54:00:11:22:33:08:00 SRC=192.168.122.50 DST=${dst} LEN=78 TOS=0x00 PREC=0x00 TTL=64 ID=1 PROTO=UDP SPT=${port} DPT=${port} LEN=58 `;
    const m = memoryIO(`${bc('192.168.122.255', 'ff:ff:ff:ff:ff:ff', 137)}\n${bc('224.0.0.251', '01:00:5e:00:00:fb', 5353)}\n`);
    expect(await suggestCommand(base, m.io)).toBe(0);
    const out = m.out();
    expect(out).toMatch(/^fwdiag suggest: 0 ACCEPT suggestions, 0 notes \(harvester, role control-plane\); no ACCEPT from 0 scan, 0 conntrack-loss, 0 undetermined, 2 broadcast flow\(s\)\n/);
    expect(out).toContain('-m addrtype --dst-type BROADCAST,MULTICAST -j DROP');
    expect(out).toContain('log.quietBroadcast: true');
    const j = memoryIO(`${bc('192.168.122.255', 'ff:ff:ff:ff:ff:ff', 137)}\n`);
    expect(await suggestCommand([...base, '--json', '--allow-unknown'], j.io)).toBe(0);
    expect(JSON.parse(j.out())).toEqual({ suggestions: [], ignored: { scan: 0, 'conntrack-loss': 0, undetermined: 0, broadcast: 1 } });
  });

  it('--format policy with a ruleset: the shadowed 9999 rule comes back as a fragment rule', async () => {
    const m = memoryIO();
    const code = await suggestCommand(['fixtures/rulesets/harvester-control-plane.drops.log', ...base, '--format', 'policy',
      '--ruleset', 'fixtures/rulesets/harvester-control-plane-extra.iptables-save'], m.io);
    expect(code).toBe(0);
    expect(m.out()).toBe([
      '# fwdiag policy fragment: fwdiag compile --extra FILE',
      'extra:',
      '  - proto: tcp',
      '    ports:',
      '      - 9999',
      '    sources:',
      '      - 198.18.7.2/32',
      '    comment: "fwdiag suggest: tcp/9999"',
      'note: "fwdiag suggest for role control-plane: review before use"',
      '',
    ].join('\n'));
    // the seed's LOG rule logs at most 10/min: the evidence is a sample, and stderr says so
    expect(m.err()).toContain('fwdiag suggest: the LOG rule with prefix "HARVESTER_DROP_" logs at most 10/min: drop counts are a sample');
    const plain = memoryIO();
    expect(await suggestCommand(['fixtures/rulesets/harvester-control-plane.drops.log', ...base, '--format', 'policy'], plain.io)).toBe(0);
    expect(plain.err()).not.toContain('logs at most');
  });

  it('--format nft without a ruleset guards the rule with the interfaces of the catalog in use (--catalog too)', async () => {
    const plain = memoryIO();
    expect(await suggestCommand([SAMPLE, ...base, '--format', 'nft'], plain.io)).toBe(0);
    expect(plain.out()).toMatch(/^nft insert rule inet fwdiag HARVESTER_INPUT 'iifname \{ "mgmt-br" \} .*dport 8472 accept/m);
    const tmp = mkdtempSync(join(tmpdir(), 'fwdiag-suggest-ifaces-'));
    try {
      // a site whose chain is bound to other interfaces: compile binds it there, so the suggestion must too
      const f = join(tmp, 'site.yaml');
      writeFileSync(f, 'platform: harvester\ntitle: site\nroles: [{name: control-plane}]\nsources: {}\nentries: []\npolicyDefaults:\n  interfaces: [bond0, bond1]\n');
      const m = memoryIO();
      expect(await suggestCommand([SAMPLE, ...base, '--format', 'nft', '--catalog', f], m.io)).toBe(0);
      expect(m.out()).toMatch(/^nft insert rule inet fwdiag HARVESTER_INPUT 'iifname \{ "bond0", "bond1" \} .*dport 8472 accept/m);
      expect(m.out()).not.toContain('mgmt-br');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('fwdiag suggest: captures that name no host', () => {
  it('one dmesg capture per node (node1/dmesg.txt, node2/dmesg.txt) is two hosts, named as report names them, and --host-role reaches each', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'fwdiag-suggest-hosts-'));
    try {
      const dmesg = readFileSync('fixtures/kernel/dmesg.txt');
      const files = ['node1', 'node2'].map((n) => {
        const f = join(tmp, n, 'dmesg.txt');
        mkdirSync(join(tmp, n));
        writeFileSync(f, dmesg);
        return f;
      });
      type Sug = { action: string; kind: string; role: string; proto: string; ports: Array<number | string>; evidence: { count: number; hosts: string[] } };
      const run = async (argv: string[]): Promise<Sug[]> => {
        const m = memoryIO();
        expect(await suggestCommand([...argv, '--json', '--platform', 'harvester'], m.io)).toBe(0);
        return (JSON.parse(m.out()) as { suggestions: Sug[] }).suggestions;
      };
      const tcp = (list: Sug[], port: number, role = 'control-plane') => list.find((s) => s.action === 'accept' && s.proto === 'tcp' && s.ports.includes(port) && s.role === role);
      const one = await run([files[0]!, '--role', 'control-plane']);
      expect(tcp(one, 10250)!.evidence.hosts).toEqual(['dmesg']);
      const both = await run([...files, '--role', 'control-plane']);
      expect(tcp(both, 10250)!.evidence.hosts).toEqual(['node1/dmesg', 'node2/dmesg']);
      expect(tcp(both, 10250)!.evidence.count).toBe(2 * tcp(one, 10250)!.evidence.count);
      // node1 is the control-plane node, node2 a worker: the API server's port is missing on node1 only
      const roles = await run([...files, '--role', 'worker', '--host-role', 'node1/dmesg=control-plane']);
      expect(tcp(roles, 6443)).toMatchObject({ kind: 'missing', evidence: { hosts: ['node1/dmesg'], count: tcp(one, 6443)!.evidence.count } });
      expect(tcp(roles, 6443, 'worker')).toMatchObject({ kind: 'other-role', evidence: { hosts: ['node2/dmesg'] } });
      expect(tcp(roles, 10250, 'worker')).toMatchObject({ kind: 'missing', evidence: { hosts: ['node2/dmesg'] } });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('fwdiag suggest: lines the scanner reads come as packets', () => {
  it('gives the same output as reading every line as an event (fixtures, two files, a 30k-line corpus)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fwdiag-suggest-pk-'));
    try {
      const corpus = join(dir, 'corpus.log');
      writeFileSync(corpus, corpusText(30_000, 13));
      const cases: string[][] = [
        [SAMPLE, '--json'], [SAMPLE, '--format', 'policy'], ['fixtures/kernel/kmsg.txt', 'fixtures/kernel/syslog.txt', '--json', '--samples', '10'],
        [corpus, '--json', '--allow-unknown'], [corpus, '--format', 'iptables', '--cluster-subnet', '192.168.122.0/24'],
      ];
      for (const c of cases) {
        const opts = parseSuggestArgs([...c, '--platform', 'harvester', '--role', 'control-plane']);
        if (opts === 'help') throw new Error('help');
        const a = memoryIO();
        const b = memoryIO();
        expect(await runSuggest(opts, a.io)).toBe(0);
        expect(await runSuggest(opts, b.io, undefined, { events: true })).toBe(0);
        expect(a.out().length, c.join(' ')).toBeGreaterThan(100);
        expect(a.out(), c.join(' ')).toBe(b.out());
        expect(a.err()).toBe(b.err());
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

it('--cluster-subnet and --control-plane refuse a number with a leading zero (iptables and nft read it as octal)', () => {
  expect(() => parseSuggestArgs(['--platform', 'kubeadm', '--role', 'worker', '--cluster-subnet', '198.18.040.0/24'])).toThrow(/leading zero/);
  expect(() => parseSuggestArgs(['--platform', 'kubeadm', '--role', 'worker', '--control-plane', '198.18.0.1,2001:db8::/064'])).toThrow(/--control-plane: a number with a leading zero/);
  expect(() => parseSuggestArgs(['--platform', 'kubeadm', '--role', 'worker', '--cluster-subnet', '198.18.40.0/24', '--control-plane', '2001:0db8::1'])).not.toThrow();
});

describe('fwdiag suggest --addon: the policy\'s addons, as compile takes them', () => {
  const worker = ['--platform', 'harvester', '--role', 'worker', '--json'];
  const exporter = synLine({ src: '198.18.0.12', dst: '198.18.0.11', spt: 40000, dpt: 9796 });
  const kindOf = async (argv: string[]) => {
    const m = memoryIO(`${exporter}\n`);
    const code = await suggestCommand([...worker, ...argv], m.io);
    expect(code, m.err()).toBe(0);
    return (JSON.parse(m.out()) as { suggestions: Array<{ kind: string; ports: unknown[] }> }).suggestions.find((s) => s.ports.includes(9796))?.kind;
  };
  it('default: the platform\'s addons (Harvester: both) — node-exporter is a missing service', async () => {
    expect(await kindOf([])).toBe('missing');
    expect(await kindOf(['--addon', 'rancher-monitoring'])).toBe('missing');
  });
  it('--addon none, or only another addon: node-exporter belongs to an addon the policy leaves out', async () => {
    expect(await kindOf(['--addon', 'none'])).toBe('addon');
    expect(await kindOf(['--addon', 'kubeovn-operator'])).toBe('addon');
  });
  it('a port of another role\'s in an addon left out is still another role\'s (it fell through to generic/unknown)', async () => {
    // kube-ovn-controller (kubeovn-operator): a worker's port, on a control-plane node
    const controller = synLine({ src: '198.18.0.12', dst: '198.18.0.11', spt: 40000, dpt: 10660 });
    const kind = async (argv: string[]) => {
      const m = memoryIO(`${controller}\n`);
      expect(await suggestCommand(['--platform', 'harvester', '--role', 'control-plane', '--json', ...argv], m.io), m.err()).toBe(0);
      return (JSON.parse(m.out()) as { suggestions: Array<{ kind: string; ports: unknown[] }> }).suggestions.find((s) => s.ports.includes(10660))?.kind;
    };
    expect(await kind([])).toBe('other-role');
    expect(await kind(['--addon', 'none'])).toBe('other-role');
  });
  it('--format policy writes no extra rule for a port whose fix is the addon, and says which addon to enable', async () => {
    const m = memoryIO(`${exporter}\n`);
    const code = await suggestCommand(['--platform', 'harvester', '--role', 'worker', '--format', 'policy', '--addon', 'none'], m.io);
    expect(code, m.err()).toBe(0);
    expect(m.out()).not.toContain('9796');
    expect(m.err()).toMatch(/9796.*rancher-monitoring.*policy's addons/);
    // with the addon enabled the port is a missing rule like any other
    const on = memoryIO(`${exporter}\n`);
    expect(await suggestCommand(['--platform', 'harvester', '--role', 'worker', '--format', 'policy'], on.io)).toBe(0);
    expect(on.out()).toMatch(/ports:\s*\n\s*- 9796/);
  });
  it.each([
    [['--addon', 'longhorn'], /^--addon: unknown addon "longhorn" for harvester \(addons: kubeovn-operator, rancher-monitoring\)$/],
    [['--addon', 'none', '--addon', 'kubeovn-operator'], /^--addon none: no addon rows, not with --addon kubeovn-operator$/],
    [['--addon', 'Rancher'], /^--addon: expected a lower-case name/],
  ])('%j is a usage error', async (argv, msg) => {
    const m = memoryIO(`${exporter}\n`);
    await expect(suggestCommand([...worker, ...argv], m.io)).rejects.toThrow(msg);
  });
});
