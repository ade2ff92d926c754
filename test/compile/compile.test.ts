import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { parseFragment, parsePolicy, resolvePolicy } from '../../src/compile/index.js';
import type { PolicyInput } from '../../src/compile/index.js';
import { ruleCommentSchema } from '../../src/catalog/schema.js';
import { loadBuiltinCatalog } from '../../src/catalog/index.js';
import type { Catalog } from '../../src/catalog/index.js';
import { commandLines, compile, resolve, seedCommands, siteCatalog } from './helpers.js';

describe('compiling the Harvester seed', () => {
  it.each(['control-plane', 'worker', 'witness'] as const)('--platform harvester --role %s reproduces the seed commands exactly', (role) => {
    const out = compile({ platform: 'harvester', role }, 'iptables');
    expect(commandLines(out.text)).toEqual(seedCommands(role));
    // the seed opens every port to any source on mgmt-br: said once
    expect(out.warnings).toEqual([expect.stringMatching(/^no clusterSubnet: /)]);
    expect(compile({ platform: 'harvester', role, clusterSubnet: '198.18.0.0/24' }, 'iptables').warnings).toEqual([]);
  });
  it('without addons the kubeovn and node-exporter rules go', () => {
    const lines = commandLines(compile({ platform: 'harvester', role: 'worker', addons: [] }, 'iptables').text);
    expect(lines.some((l) => l.includes('kubeovn'))).toBe(false);
    expect(lines.some((l) => l.includes('9796'))).toBe(false);
    expect(lines).toHaveLength(seedCommands('worker').length - 6);
  });
  it('harvester-cloudinit: the seed CloudInit shape with the seed commands in stages.boot', () => {
    for (const role of ['control-plane', 'worker', 'witness'] as const) {
      const out = compile({ platform: 'harvester', role }, 'harvester-cloudinit');
      const doc = parseYaml(out.text) as Record<string, any>;
      expect(doc.apiVersion).toBe('node.harvesterhci.io/v1beta1');
      expect(doc.kind).toBe('CloudInit');
      expect(doc.metadata).toEqual({ name: `iptables-${role}` });
      expect(doc.spec.filename).toBe(`91-iptables-${role}`);
      expect(doc.spec.paused).toBe(false);
      expect(typeof doc.spec.contents).toBe('string');
      const contents = parseYaml(doc.spec.contents) as Record<string, any>;
      expect(Object.keys(contents)).toEqual(['stages']);
      expect(contents.stages.boot).toHaveLength(1);
      expect(contents.stages.boot[0].name).toBe(`Apply iptables rules for ${role} node`);
      expect(contents.stages.boot[0].commands).toEqual(seedCommands(role));
    }
    expect(parseYaml(compile({ platform: 'harvester', role: 'control-plane' }, 'harvester-cloudinit').text).spec.matchSelector).toEqual({
      'node-role.kubernetes.io/control-plane': 'true', 'node-role.kubernetes.io/etcd': 'true',
    });
    expect(compile({ platform: 'rke2', role: 'server' }, 'harvester-cloudinit').error).toMatch(/needs platform harvester/);
  });
});

describe('policy defaults and options', () => {
  it('rke2 server: its own chain on every interface, Canal ports, the RKE2 pod CIDR', () => {
    const lines = commandLines(compile({ platform: 'rke2', role: 'server' }, 'iptables').text);
    expect(lines.slice(0, 5)).toEqual([
      'iptables -D INPUT -j RKE2_INPUT 2>/dev/null || true', 'iptables -F RKE2_INPUT 2>/dev/null || true',
      'iptables -X RKE2_INPUT 2>/dev/null || true', 'iptables -N RKE2_INPUT', 'iptables -A INPUT -j RKE2_INPUT',
    ]);
    expect(lines).toContain('iptables -A RKE2_INPUT -s 10.42.0.0/16 -m comment --comment "Allow pod network return traffic" -j ACCEPT');
    expect(lines).toContain('iptables -A RKE2_INPUT -p tcp --dport 9345 -m comment --comment "RKE2 supervisor API" -j ACCEPT');
    expect(lines).toContain('iptables -A RKE2_INPUT -p udp --dport 8472 -m comment --comment "Canal CNI with VXLAN" -j ACCEPT');
    expect(lines.some((l) => l.includes('51820'))).toBe(false); // WireGuard rows are not-default
    expect(lines.some((l) => l.includes('4789'))).toBe(false); // not Canal
    expect(lines.at(-2)).toContain('--log-prefix RKE2_DROP_');
  });
  it('rke2 agent with cilium: the ICMP health-check types only when ICMP is not accepted wholesale', () => {
    const withIcmp = commandLines(compile({ platform: 'rke2', role: 'agent', cni: 'cilium' }, 'iptables').text);
    expect(withIcmp.filter((l) => l.includes('--icmp-type'))).toEqual([]);
    const noIcmp = commandLines(compile({ platform: 'rke2', role: 'agent', cni: 'cilium', icmp: false }, 'iptables').text);
    expect(noIcmp.filter((l) => l.includes('--icmp-type'))).toEqual([
      'iptables -A RKE2_INPUT -p icmp --icmp-type 0 -m comment --comment "Cilium CNI health checks" -j ACCEPT',
      'iptables -A RKE2_INPUT -p icmp --icmp-type 8 -m comment --comment "Cilium CNI health checks" -j ACCEPT',
    ]);
    expect(noIcmp).toContain('iptables -A RKE2_INPUT -p tcp --dport 4240 -m comment --comment "Cilium CNI health checks" -j ACCEPT');
  });
  it('loopback-only ports are never opened (k3s Local Ports, kubeadm scheduler/controller-manager)', () => {
    const k3s = commandLines(compile({ platform: 'k3s', role: 'server' }, 'iptables').text).join('\n');
    for (const port of ['6444', '10248', '10249', '10257', '10259']) expect(k3s).not.toContain(`--dport ${port} `);
    expect(k3s).toContain('--dport 6443 ');
    const kubeadm = commandLines(compile({ platform: 'kubeadm', role: 'control-plane' }, 'iptables').text).join('\n');
    expect(kubeadm).not.toContain('--dport 10259');
    expect(kubeadm).toContain('--dport 2379:2380');
  });
  it('kubeadm + calico takes the CNI rows from the CNI catalog (IP-in-IP as protocol 4)', () => {
    const lines = commandLines(compile({ platform: 'kubeadm', role: 'worker', cni: 'calico' }, 'iptables').text);
    expect(lines).toContain('iptables -A KUBE_NODE_INPUT -p tcp --dport 179 -m comment --comment "Calico networking (BGP)" -j ACCEPT');
    expect(lines).toContain('iptables -A KUBE_NODE_INPUT -p 4 -m comment --comment "Calico networking with IP-in-IP (default)" -j ACCEPT');
  });
  it('a platform without a default CNI (kubeadm) and no cni: says that no CNI port is opened', () => {
    // the overlay's packets (VXLAN to 8472/4789, BGP) are NEW to conntrack on the receiving node: the DROP takes them
    const bare = compile({ platform: 'kubeadm', role: 'worker', clusterSubnet: '198.18.0.0/24' }, 'nft');
    expect(bare.text).not.toMatch(/dport (8472|4789)|dport 179/);
    expect(bare.warnings).toEqual([expect.stringMatching(/^no cni: kubeadm has no default CNI, so no CNI port .* is opened/)]);
    expect(compile({ platform: 'kubeadm', role: 'worker', clusterSubnet: '198.18.0.0/24', cni: 'flannel' }, 'nft').warnings).toEqual([]);
  });
  it('clusterSubnet and controlPlane limit the sources by scope', () => {
    const lines = commandLines(compile({ platform: 'harvester', role: 'control-plane', clusterSubnet: '198.18.0.0/24', controlPlane: ['198.18.0.1', '198.18.0.2'] }, 'iptables').text);
    expect(lines.filter((l) => l.includes('etcd client/peer'))).toEqual([
      'iptables -A HARVESTER_INPUT -s 198.18.0.1 -p tcp --dport 2379:2380 -m comment --comment "etcd client/peer" -j ACCEPT',
      'iptables -A HARVESTER_INPUT -s 198.18.0.2 -p tcp --dport 2379:2380 -m comment --comment "etcd client/peer" -j ACCEPT',
    ]);
    expect(lines).toContain('iptables -A HARVESTER_INPUT -s 198.18.0.0/24 -p tcp --dport 10250 -m comment --comment "kubelet API" -j ACCEPT');
    expect(lines).toContain('iptables -A HARVESTER_INPUT -p tcp --dport 22 -m comment --comment "SSH" -j ACCEPT'); // anywhere
  });
  it('interfaces [], custom chain, no pod CIDR, no DHCP, log off', () => {
    const lines = commandLines(compile({ platform: 'kubeadm', role: 'worker', chain: 'EDGE', interfaces: ['eth0', 'bond+'], podCidr: null, dhcp: false, log: false }, 'iptables').text);
    expect(lines.filter((l) => l.startsWith('iptables -A INPUT'))).toEqual(['iptables -A INPUT -i eth0 -j EDGE', 'iptables -A INPUT -i bond+ -j EDGE']);
    expect(lines.some((l) => l.includes('LOG') || l.includes('DHCP') || l.includes('pod network'))).toBe(false);
    expect(lines.at(-1)).toBe('iptables -A EDGE -m comment --comment "Drop all other traffic" -j DROP');
  });
});

describe('log.quietBroadcast', () => {
  it('a DROP of IPv4 broadcast and multicast, unlogged, right before the LOG rule; nothing for IPv6, Talos or without LOG', () => {
    const lines = commandLines(compile({ platform: 'harvester', role: 'worker', ipv6: true, log: { quietBroadcast: true } }, 'iptables').text);
    const quiet = 'iptables -A HARVESTER_INPUT -m addrtype --dst-type BROADCAST,MULTICAST -m comment --comment "Drop IPv4 broadcast and multicast unlogged (LAN chatter)" -j DROP';
    const at = lines.indexOf(quiet);
    expect(at).toBeGreaterThan(0);
    expect(lines[at + 1]).toMatch(/^iptables -A HARVESTER_INPUT -m limit .* -j LOG /);
    expect(lines.filter((l) => l.includes('addrtype'))).toEqual([quiet]);
    // the rest is the seed's, unchanged
    expect(lines.filter((l) => l !== quiet)).toEqual(commandLines(compile({ platform: 'harvester', role: 'worker', ipv6: true }, 'iptables').text));
    const nft = compile({ platform: 'harvester', role: 'worker', log: { quietBroadcast: true } }, 'nft').text.split('\n').map((l) => l.trim());
    const n = nft.findIndex((l) => l.startsWith('meta nfproto ipv4 fib daddr type { broadcast, multicast } drop comment'));
    expect(n).toBeGreaterThan(0);
    expect(nft[n + 1]).toMatch(/^limit rate 10\/minute log prefix /);
    expect(compile({ platform: 'harvester', role: 'worker', log: { quietBroadcast: true } }, 'ip6tables-restore').text).not.toContain('addrtype');
    expect(compile({ platform: 'talos', role: 'worker', log: { quietBroadcast: true } }, 'talos').text).not.toContain('broadcast');
    expect(resolve({ platform: 'harvester', role: 'worker', log: false }).rules.map((r) => r.kind)).not.toContain('quiet');
    expect(resolve({ platform: 'harvester', role: 'worker' }).rules.map((r) => r.kind)).not.toContain('quiet');
  });
});

describe('fragments (--extra)', () => {
  const fragment = { extra: [{ proto: 'tcp', ports: [9100, '9400-9410'], sources: ['198.18.0.0/24'], comment: 'node metrics' }, { proto: 'udp', ports: [51820] }], note: 'from fwdiag suggest' };
  it('the fragment schema accepts what suggest will emit and rejects the rest', () => {
    expect(parseFragment(fragment).ok).toBe(true);
    for (const bad of [{ extra: [{ proto: 'tcp' }] }, { extra: [{ proto: 'tcp', ports: ['1-0'] }] }, { extra: [{ proto: 'tcp', ports: [1], sources: ['nope'] }] },
      { extra: [{ proto: 'tcp', ports: [1], comment: 'a"b' }] }, { extra: [{ proto: 'icmp', ports: [1] }] }, { extra: [], other: 1 }, { extra: [{ proto: 'tcp', ports: [70000] }] }]) {
      expect(parseFragment(bad).ok, JSON.stringify(bad)).toBe(false);
    }
  });
  it('extras go after the catalog ports and before the LOG, one rule per port range', () => {
    const fr = parseFragment(fragment);
    if (!fr.ok) throw new Error('fragment');
    const lines = commandLines(compile({ platform: 'harvester', role: 'worker' }, 'iptables', [fr.value]).text);
    const i = lines.findIndex((l) => l.includes('"node metrics"'));
    expect(lines.slice(i, i + 3)).toEqual([
      'iptables -A HARVESTER_INPUT -s 198.18.0.0/24 -p tcp --dport 9100 -m comment --comment "node metrics" -j ACCEPT',
      'iptables -A HARVESTER_INPUT -s 198.18.0.0/24 -p tcp --dport 9400:9410 -m comment --comment "node metrics" -j ACCEPT',
      'iptables -A HARVESTER_INPUT -p udp --dport 51820 -m comment --comment "fwdiag extra udp 51820" -j ACCEPT',
    ]);
    expect(lines[i - 1]).toContain('VXLAN (Kube-OVN');
    expect(lines[i + 3]).toContain('-j LOG');
  });
  it('an extra without a comment names its own port in each rule, within the comment limits a catalog service is held to', () => {
    // 20 ranges: one comment listing them all was 260 characters, and nft refuses a comment over 128
    const ports = Array.from({ length: 20 }, (_, i) => `${30000 + i * 100}-${30050 + i * 100}`);
    const fr = parseFragment({ extra: [{ proto: 'tcp', ports }] });
    if (!fr.ok) throw new Error('fragment');
    const extras = resolve({ platform: 'rke2', role: 'agent' }, [fr.value]).rules.filter((r) => r.kind === 'extra');
    expect(extras.map((r) => r.comment)).toEqual(ports.map((p) => `fwdiag extra tcp ${p}`));
    for (const r of extras) expect(ruleCommentSchema.safeParse(r.comment).success, r.comment).toBe(true);
    expect(compile({ platform: 'rke2', role: 'agent' }, 'nft', [fr.value]).text).toContain('tcp dport 30100-30150 accept comment "fwdiag extra tcp 30100-30150"');
  });
});

describe('policy validation', () => {
  it.each([
    [{ platform: 'harvester' }, 'role'],
    [{ platform: 'harvester', role: 'worker', podCidr: '10.52.0.0/33' }, 'podCidr'],
    [{ platform: 'harvester', role: 'worker', chain: 'X'.repeat(29) }, 'chain'],
    [{ platform: 'harvester', role: 'worker', log: { prefix: 'bad"prefix' } }, 'log'],
    [{ platform: 'harvester', role: 'worker', interfaces: ['eth0; rm -rf /'] }, 'interfaces'],
    [{ platform: 'harvester', role: 'worker', colour: 'blue' }, 'colour'],
    // names nft or iptables would refuse (nft keywords, a leading digit or -, iptables' own chains and targets)
    [{ platform: 'harvester', role: 'worker', chain: 'accept' }, 'chain: a word nft reserves'],
    [{ platform: 'harvester', role: 'worker', chain: 'meta' }, 'chain: a word nft reserves'],
    [{ platform: 'harvester', role: 'worker', chain: '1ABC' }, 'chain: a letter, then'],
    [{ platform: 'harvester', role: 'worker', chain: '-X' }, 'chain: a letter, then'],
    [{ platform: 'harvester', role: 'worker', chain: 'DROP' }, 'chain: the name of an iptables built-in chain or target'],
    [{ platform: 'harvester', role: 'worker', chain: 'INPUT' }, 'chain: the name of an iptables built-in chain or target'],
    // a rate iptables calls bad or too fast
    [{ platform: 'harvester', role: 'worker', log: { rate: '0/min' } }, 'log.rate: at least 1'],
    [{ platform: 'harvester', role: 'worker', log: { rate: '10001/s' } }, 'log.rate: at least 1, and at most 10000/second'],
    // a dotted netmask: nft and Talos take prefix lengths only
    [{ platform: 'harvester', role: 'worker', extra: [{ proto: 'ipip', sources: ['198.18.1.0/255.255.255.0'] }] }, 'a prefix length, not a netmask'],
    // a leading zero: iptables and nft read it as octal (010 is host .8, /030 is /24, /064 is /52: test/compile/kernel.test.ts)
    [{ platform: 'harvester', role: 'worker', extra: [{ proto: 'ipip', sources: ['198.18.40.010'] }] }, 'extra.0.sources.0: a number with a leading zero'],
    [{ platform: 'harvester', role: 'worker', extra: [{ proto: 'ipip', sources: ['198.18.40.0/030'] }] }, 'a number with a leading zero'],
    [{ platform: 'harvester', role: 'worker', extra: [{ proto: 'ipip', sources: ['2001:db8:40::/064'] }] }, 'a number with a leading zero'],
    [{ platform: 'harvester', role: 'worker', extra: [{ proto: 'ipip', sources: ['::ffff:198.18.40.08'] }] }, 'a number with a leading zero'],
    [{ platform: 'harvester', role: 'worker', clusterSubnet: '198.18.00.0/16' }, 'clusterSubnet: a number with a leading zero'],
    [{ platform: 'harvester', role: 'worker', extra: [{ proto: 'ipip', sources: ['::ffff:198.18.40.10'] }] }, 'an IPv4-mapped IPv6 address'],
    [{ platform: 'harvester', role: 'worker', extra: [{ proto: 'ipip', sources: ['::ffff:c612:280a/128'] }] }, 'an IPv4-mapped IPv6 address'],
    // host bits set: a node's address pasted with the subnet's mask (iptables would mask it silently)
    [{ platform: 'harvester', role: 'worker', clusterSubnet: '198.18.40.10/16' }, 'clusterSubnet: 198.18.40.10/16 has host bits set; did you mean 198.18.0.0/16?'],
    [{ platform: 'harvester', role: 'worker', podCidr: '10.52.1.1/16' }, 'podCidr: 10.52.1.1/16 has host bits set; did you mean 10.52.0.0/16?'],
    [{ platform: 'harvester', role: 'worker', controlPlane: ['198.18.40.10', '198.18.40.11/31'] }, 'controlPlane.1: 198.18.40.11/31 has host bits set; did you mean 198.18.40.10/31?'],
    [{ platform: 'harvester', role: 'worker', extra: [{ proto: 'ipip', sources: ['2001:db8:40::10/64'] }] }, 'extra.0.sources.0: 2001:db8:40::10/64 has host bits set; did you mean 2001:db8:40::/64?'],
    [{ platform: 'harvester', role: 'worker', extra: [{ proto: 'ipip', sources: ['2001:db8:40::10/0'] }] }, '2001:db8:40::10/0 has host bits set; did you mean ::/0?'],
    // 120 characters, 360 bytes: over nft's 127-byte comment
    [{ platform: 'harvester', role: 'worker', extra: [{ proto: 'ipip', comment: '€'.repeat(120) }] }, 'at most 127 bytes'],
  ])('rejects %j', (raw, path) => {
    const r = parsePolicy(raw);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.join('\n')).toContain(path);
  });
  // zod's own wording ("Invalid input", "expected string, received number", "Too small: …") said nothing an operator
  // could act on, and a union ("log", "ipv6", a port) hid which key was wrong
  it.each([
    [{ clusterSubnet: 5 }, 'policy: clusterSubnet: expected a string, not a number (5)'],
    [{ controlPlane: [1] }, 'policy: controlPlane.0: expected a string, not a number (1)'],
    [{ addons: 'x' }, 'policy: addons: expected a list, not a string ("x")'],
    [{ log: 5 }, 'policy: log: expected a mapping or false, not a number (5)'],
    [{ log: { rate: 5 } }, 'policy: log.rate: expected a string, not a number (5)'],
    [{ log: { level: 9 } }, 'policy: log.level: at most 7, not 9'],
    [{ ipv6: 'x' }, 'policy: ipv6: expected true or false or auto, not a string ("x")'],
    [{ extra: [{ proto: 'tcp', ports: [true] }] }, 'policy: extra.0.ports.0: expected a number or a string, not true'],
    [{ extra: [{ proto: 'tcp', ports: [1], family: 5 }] }, 'policy: extra.0.family: expected 4 or 6, not a number (5)'],
    [{ extra: [{ proto: 'tcpx', ports: [1] }] }, 'policy: extra.0.proto: expected one of tcp, udp, sctp, icmp, icmpv6, esp, ipip, not "tcpx"'],
    [{ extra: [{ proto: 'tcp', ports: [] }] }, 'policy: extra.0.ports: must not be empty'],
    [{ foo: 1 }, 'policy: unknown key "foo"'],
    [{ platform: undefined }, 'policy: platform: missing (expected a string)'],
  ])('says %j in the operator\'s words, naming the key', (over, message) => {
    const r = parsePolicy({ platform: 'harvester', role: 'worker', ...over });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.issues).toContain(message);
      expect(r.issues.join('\n')).not.toMatch(/Invalid input|Invalid option|Too (small|big)|, received |Unrecognized key/);
    }
  });
  it('a fragment of the wrong shape, likewise', () => {
    expect(parseFragment({ extra: 'x' })).toEqual({ ok: false, issues: ['fragment: extra: expected a list, not a string ("x")'] });
    expect(parseFragment(5)).toEqual({ ok: false, issues: ['fragment: expected a mapping, not a number (5)'] });
  });
  it.each([
    { chain: 'MY_INPUT' }, { chain: 'Fw-in' }, { chain: 'hostfw' }, { chain: 'input' }, { chain: 'fw-input' },
    { log: { prefix: '[UFW BLOCK] ' } }, { log: { prefix: 'FW]' } },
    { log: { rate: '10000/s' } }, { log: { rate: '600000/min' } }, { extra: [{ proto: 'ipip', comment: '€'.repeat(42) }] },
    { extra: [{ proto: 'ipip', sources: ['198.18.0.0/16', '198.18.40.0', '2001:0db8:0040::/64', '0.0.0.0/0', '::/0'] }] },
  ])('accepts %j (the real tools take it: test/compile/kernel.test.ts)', (over) => {
    expect(parsePolicy({ platform: 'harvester', role: 'worker', ...over }).ok).toBe(true);
  });
  it('rejects unknown platform, role, CNI and addon against the catalog', () => {
    const go = (raw: object) => {
      const p = parsePolicy(raw);
      if (!p.ok) throw new Error('schema');
      const r = resolvePolicy(p.value);
      return r.ok ? '' : r.issues.join();
    };
    expect(go({ platform: 'openshift', role: 'x' })).toMatch(/unknown platform/);
    expect(go({ platform: 'rke2', role: 'control-plane' })).toMatch(/unknown role "control-plane" for rke2 \(roles: server, agent\)/);
    expect(go({ platform: 'rke2', role: 'server', cni: 'weave' })).toMatch(/unknown CNI/);
    expect(go({ platform: 'rke2', role: 'server', addons: ['kubeovn-operator'] })).toMatch(/unknown addon/);
  });
  it('resolves every default', () => {
    const r = resolve({ platform: 'harvester', role: 'witness' });
    expect({ chain: r.chain, interfaces: r.interfaces, podCidr: r.podCidr, cni: r.cni, addons: r.addons, log: r.log }).toEqual({
      chain: 'HARVESTER_INPUT', interfaces: ['mgmt-br'], podCidr: '10.52.0.0/16', cni: 'canal', addons: ['kubeovn-operator', 'rancher-monitoring'],
      log: { prefix: 'HARVESTER_DROP_', rate: '10/min', level: 4, quietBroadcast: false },
    });
  });
});

describe('catalog rows that give one port two scopes', () => {
  const policy = { platform: 'harvester', role: 'control-plane', clusterSubnet: '192.168.122.0/24', controlPlane: ['192.168.122.10/32'] };
  const resolveWith = (cat: Catalog) => {
    const p = parsePolicy(policy);
    if (!p.ok) throw new Error(p.issues.join('; '));
    const r = resolvePolicy(p.value, [], cat);
    if (!r.ok) throw new Error(r.issues.join('; '));
    return r.value;
  };
  const covering = (rules: ReturnType<typeof resolveWith>['rules'], proto: string, port: number) =>
    rules.filter((r) => r.kind === 'catalog' && r.proto === proto && r.dport !== undefined && r.dport.from <= port && port <= r.dport.to);

  it('a site row narrowing part of a platform range decides its port: the wider row is not opened there, and a warning names both', () => {
    const cat = siteCatalog('  - {proto: tcp, port: 30080, service: "ingress NodePort", roles: [control-plane], scope: cluster-nodes, source: "[RB]"}\n');
    const p = resolveWith(cat);
    expect(covering(p.rules, 'tcp', 30080).map((r) => [r.comment, r.sources])).toEqual([['ingress NodePort', ['192.168.122.0/24']]]);
    // the rest of the NodePort range keeps the platform's scope
    expect(covering(p.rules, 'tcp', 30079).map((r) => [r.comment, r.sources])).toEqual([['NodePort TCP range', []]]);
    expect(covering(p.rules, 'tcp', 30081).map((r) => [r.comment, r.sources])).toEqual([['NodePort TCP range', []]]);
    const w = p.warnings.filter((x) => x.includes('30080'));
    expect(w).toHaveLength(1);
    expect(w[0]).toContain('"ingress NodePort" (cluster-nodes, [RB]) is used');
    expect(w[0]).toContain('"NodePort TCP range" (anywhere, [HV-SEC])');
  });

  it('a site row for exactly a platform row\'s port wins, and says so', () => {
    const cat = siteCatalog('  - {proto: tcp, port: 10250, service: "kubelet, control plane only", roles: [control-plane], scope: control-plane-nodes, source: "[RB]"}\n');
    const p = resolveWith(cat);
    expect(covering(p.rules, 'tcp', 10250).map((r) => [r.comment, r.sources])).toEqual([['kubelet, control plane only', ['192.168.122.10/32']]]);
    expect(p.warnings.join('\n')).toMatch(/tcp 10250 for control-plane: "kubelet, control plane only" \(control-plane-nodes, \[RB\]\) is used, not "kubelet API" \(cluster-nodes, \[HV-SEC\]\)/);
  });

  it('a site row widening etcd\'s client port leaves the peer port to the platform row', () => {
    const cat = siteCatalog('  - {proto: tcp, port: 2379, service: "etcd client, site", roles: [control-plane], scope: cluster-nodes, source: "[RB]"}\n');
    const p = resolveWith(cat);
    expect(covering(p.rules, 'tcp', 2379).map((r) => r.sources)).toEqual([['192.168.122.0/24']]);
    expect(covering(p.rules, 'tcp', 2380).map((r) => [r.comment, r.dport, r.sources])).toEqual([['etcd client/peer', { from: 2380, to: 2380 }, ['192.168.122.10/32']]]);
  });

  it('rows of one scope that overlap stay as written, without a warning (the built-in catalog compiles as before)', () => {
    const cat = siteCatalog('  - {proto: tcp, port: 30080, service: "ingress NodePort", roles: [control-plane], scope: anywhere, source: "[RB]"}\n');
    const p = resolveWith(cat);
    expect(covering(p.rules, 'tcp', 30080).map((r) => r.comment)).toEqual(['ingress NodePort', 'NodePort TCP range']);
    expect(p.warnings.filter((x) => x.includes('disagree'))).toEqual([]);
    expect(resolveWith(loadBuiltinCatalog()).warnings.filter((x) => x.includes('disagree'))).toEqual([]);
  });
});

describe('talos target', () => {
  it('controlplane: the seed recommended rules, with $CLUSTER_SUBNET and $CPn filled in', () => {
    const out = compile({ platform: 'talos', role: 'controlplane', clusterSubnet: '198.18.0.0/24', controlPlane: ['198.18.0.11', '198.18.0.12', '198.18.0.13'] }, 'talos');
    const docs = parseAllDocuments(out.text).map((d) => d.toJS() as Record<string, any>);
    expect(docs[0]).toEqual({ apiVersion: 'v1alpha1', kind: 'NetworkDefaultActionConfig', ingress: 'block' });
    const rules = docs.slice(1);
    for (const d of rules) {
      expect(Object.keys(d)).toEqual(['apiVersion', 'kind', 'name', 'portSelector', 'ingress']);
      expect(d.kind).toBe('NetworkRuleConfig');
      expect(Object.keys(d.portSelector)).toEqual(['ports', 'protocol']);
    }
    expect(new Set(rules.map((d) => d.name)).size).toBe(rules.length);
    const shape = rules.map((d) => [d.portSelector.ports, d.portSelector.protocol, d.ingress.map((i: { subnet: string }) => i.subnet)]);
    // the seed's controlplane example: kubelet, apid, trustd, kubernetes-api, etcd, cni-vxlan (Flannel: 4789)
    expect(shape).toEqual([
      [[10250], 'tcp', ['198.18.0.0/24']],
      [[50000], 'tcp', ['0.0.0.0/0', '::/0']],
      [[50001], 'tcp', ['198.18.0.0/24']],
      [[6443], 'tcp', ['0.0.0.0/0', '::/0']],
      [['2379-2380'], 'tcp', ['198.18.0.11/32', '198.18.0.12/32', '198.18.0.13/32']],
      [[4789], 'udp', ['198.18.0.0/24']],
    ]);
  });
  it('worker with cilium: VXLAN 8472; DHCP and LOG are reported as not expressible', () => {
    const out = compile({ platform: 'talos', role: 'worker', clusterSubnet: '198.18.0.0/24', cni: 'cilium' }, 'talos');
    const docs = parseAllDocuments(out.text).map((d) => d.toJS() as Record<string, any>);
    expect(docs.slice(1).map((d) => d.portSelector.ports[0])).toEqual([10250, 50000, 8472]);
    expect(out.warnings.join('\n')).toMatch(/no LOG action/);
    expect(out.warnings.join('\n')).toMatch(/DHCP rules skipped/);
  });
  it('a pod CIDR rule it cannot express is named in a warning, as the other rules it skips are', () => {
    // rke2's pod CIDR (10.42.0.0/16): any protocol from it, which no NetworkRuleConfig says
    const rke2 = compile({ platform: 'rke2', role: 'server', clusterSubnet: '198.18.0.0/24' }, 'talos');
    expect(rke2.text).not.toContain('10.42.0.0/16');
    expect(rke2.warnings.filter((w) => w.includes('10.42.0.0/16'))).toEqual([
      expect.stringMatching(/^talos: "Allow pod network return traffic" \(10\.42\.0\.0\/16, any protocol\) skipped: NetworkRuleConfig has tcp\/udp ports only/),
    ]);
    // a Talos policy has no pod rule unless it names one (block mode admits its own pod/service subnets): no warning
    expect(compile({ platform: 'talos', role: 'worker' }, 'talos').warnings.join('\n')).not.toMatch(/pod network/);
    expect(compile({ platform: 'talos', role: 'worker', podCidr: '10.244.0.0/16' }, 'talos').warnings.join('\n')).toMatch(/"Allow pod network return traffic" \(10\.244\.0\.0\/16, any protocol\) skipped/);
  });
  it('the header names the platform and role the policy was compiled for, as every target does', () => {
    const first = (text: string) => text.split('\n')[0];
    expect(first(compile({ platform: 'rke2', role: 'server' }, 'talos').text)).toMatch(/^# fwdiag compile: rke2 server \(cni canal\) — machine-config patch/);
    expect(first(compile({ platform: 'talos', role: 'worker', cni: 'cilium' }, 'talos').text)).toMatch(/^# fwdiag compile: talos worker \(cni cilium\) — /);
    // the same words as the nft and iptables targets' header
    const nft = compile({ platform: 'rke2', role: 'server' }, 'nft').text.split('\n')[1];
    expect(first(compile({ platform: 'rke2', role: 'server' }, 'talos').text)).toContain(nft);
    expect(first(compile({ platform: 'harvester', role: 'worker' }, 'harvester-cloudinit').text)).toContain(
      compile({ platform: 'harvester', role: 'worker' }, 'iptables').text.split('\n').find((l) => l.startsWith('# fwdiag compile:')),
    );
  });
});

describe('nft target text', () => {
  it('own inet table, deleted and recreated; the interface guard; ranges and sources in nft syntax', () => {
    const out = compile({ platform: 'harvester', role: 'control-plane', clusterSubnet: '198.18.0.0/24', controlPlane: ['198.18.0.1', 'fd00::1'] }, 'nft').text;
    expect(out.split('\n').slice(3, 6)).toEqual(['table inet fwdiag', 'delete table inet fwdiag', 'table inet fwdiag {']);
    expect(out).toContain('iifname != { "mgmt-br" } return');
    expect(out).toContain('ip saddr 198.18.0.1 tcp dport 2379-2380 accept comment "etcd client/peer"');
    expect(out).toContain('ip6 saddr fd00::1 tcp dport 2379-2380 accept comment "etcd client/peer"');
    expect(out).toContain('limit rate 10/minute log prefix "HARVESTER_DROP_" level warn');
  });
});

describe('IPv6: the policy\'s ipv6 option and the iptables targets', () => {
  const v6 = (text: string) => text.split('\n').filter((l) => l.startsWith('ip6tables'));
  const dual: Partial<PolicyInput> & { platform: string; role: string } = {
    platform: 'rke2', role: 'server', clusterSubnet: '198.18.0.0/24', controlPlane: ['198.18.0.1', 'fd00:18::1'],
  };

  it('auto: off for an IPv4-only policy (the output is the IPv4 one, no DHCPv6), on when the policy names an IPv6 address', () => {
    expect(resolve({ platform: 'rke2', role: 'server' }).ipv6).toBe(false);
    const v4only = compile({ platform: 'rke2', role: 'server' }, 'iptables').text;
    expect(v6(v4only)).toEqual([]);
    expect(v4only).not.toContain('DHCPv6');
    expect(resolve(dual).ipv6).toBe(true);
    expect(resolve({ platform: 'rke2', role: 'server', podCidr: 'fd00:42::/56' }).ipv6).toBe(true);
    expect(resolve({ platform: 'rke2', role: 'server' }, [{ extra: [{ proto: 'tcp', ports: [9100], sources: ['fd00::/8'] }] }]).ipv6).toBe(true);
    expect(resolve({ ...dual, ipv6: false }).ipv6).toBe(false);
    expect(resolve({ platform: 'rke2', role: 'server', ipv6: true }).ipv6).toBe(true);
  });

  it('with ipv6 the iptables commands are followed by the same chain for ip6tables, each rule in its family', () => {
    const on = compile(dual, 'iptables');
    const off = compile({ ...dual, ipv6: false }, 'iptables');
    // the IPv4 half is exactly what an IPv4-only compile gives
    expect(commandLines(on.text)).toEqual(commandLines(off.text));
    const six = v6(on.text);
    expect(six.slice(0, 8)).toEqual([
      'ip6tables -D INPUT -j RKE2_INPUT 2>/dev/null || true', 'ip6tables -F RKE2_INPUT 2>/dev/null || true',
      'ip6tables -X RKE2_INPUT 2>/dev/null || true', 'ip6tables -N RKE2_INPUT', 'ip6tables -A INPUT -j RKE2_INPUT',
      // the chain sees every interface (rke2 binds it to none): the node's own traffic on lo first
      'ip6tables -A RKE2_INPUT -i lo -m comment --comment "Loopback: the node\'s own traffic" -j ACCEPT',
      'ip6tables -A RKE2_INPUT -m conntrack --ctstate ESTABLISHED,RELATED -m comment --comment "Accept return traffic from established connections" -j ACCEPT',
      'ip6tables -A RKE2_INPUT -p ipv6-icmp -m comment --comment "ICMP (ping, MTU discovery, etc.)" -j ACCEPT',
    ]);
    expect(six).toContain('ip6tables -A RKE2_INPUT -p udp --sport 547 --dport 546 -m comment --comment "DHCPv6 server reply" -j ACCEPT');
    expect(six).toContain('ip6tables -A RKE2_INPUT -s fd00:18::1 -p tcp --dport 2379 -m comment --comment "etcd client port" -j ACCEPT');
    // rules without sources are for both families; here the cluster ports are limited to the IPv4 subnet
    expect(six.filter((l) => l.includes('6443'))).toEqual([]);
    expect(v6(compile({ platform: 'rke2', role: 'server', ipv6: true }, 'iptables').text))
      .toContain('ip6tables -A RKE2_INPUT -p tcp --dport 6443 -m comment --comment "Kubernetes API" -j ACCEPT');
    // IPv4 sources, the IPv4 pod CIDR and DHCP stay out of ip6tables; IPv6 sources out of iptables
    for (const l of six) expect(l).not.toMatch(/198\.18\.|10\.42\.|--sport 67 /);
    for (const l of commandLines(on.text)) expect(l).not.toContain('fd00:');
    expect(six.at(-2)).toContain('-j LOG --log-prefix RKE2_DROP_');
    expect(six.at(-1)).toBe('ip6tables -A RKE2_INPUT -m comment --comment "Drop all other traffic" -j DROP');
    expect(on.warnings.filter((w) => w.includes('IPv6'))).toEqual([]);
  });

  it('ipv6: false with IPv6 sources says what it leaves out', () => {
    const out = compile({ ...dual, ipv6: false, extra: [{ proto: 'icmpv6', sources: ['fd00::/8'] }] }, 'iptables');
    expect(v6(out.text)).toEqual([]);
    expect(out.warnings).toContain('iptables: the IPv6 part of "etcd client port" is left out (set ipv6: true in the policy for ip6tables rules, or use the nft target)');
    expect(out.warnings).toContain('iptables: the IPv6 part of "fwdiag extra icmpv6" is left out (set ipv6: true in the policy for ip6tables rules, or use the nft target)');
    expect(compile({ ...dual, ipv6: true, extra: [{ proto: 'icmpv6', sources: ['fd00::/8'] }] }, 'iptables').text)
      .toContain('ip6tables -A RKE2_INPUT -s fd00::/8 -p ipv6-icmp -m comment --comment "fwdiag extra icmpv6" -j ACCEPT');
  });
  it('ipv6: false with an IPv6-only rule from anywhere (family: 6) says it leaves it out', () => {
    const policy = { platform: 'rke2', role: 'server', ipv6: false, extra: [{ proto: 'tcp' as const, ports: [7443], family: 6 as const, comment: 'v6 ingress' }] };
    for (const target of ['iptables', 'iptables-restore'] as const) {
      const out = compile(policy, target);
      expect(out.text).not.toContain('7443');
      expect(out.warnings).toContain(`iptables: the IPv6 part of "v6 ingress" is left out (set ipv6: true in the policy for ip6tables rules, or use the nft target)`);
    }
    expect(compile(policy, 'nft').text).toContain('meta nfproto ipv6 tcp dport 7443 accept comment "v6 ingress"');
  });

  it('icmp: false keeps ICMPv6 neighbour discovery and MLD (ip6tables, nft), never in iptables', () => {
    const out = compile({ ...dual, icmp: false }, 'iptables').text;
    expect(v6(out).filter((l) => l.includes('neighbour'))).toEqual([130, 131, 132, 133, 134, 135, 136, 143].map((t) =>
      `ip6tables -A RKE2_INPUT -p ipv6-icmp --icmpv6-type ${t} -m comment --comment "ICMPv6 neighbour discovery and MLD (IPv6 needs them)" -j ACCEPT`));
    expect(commandLines(out).filter((l) => l.includes('icmp'))).toEqual([]);
    expect(compile({ ...dual, icmp: false }, 'nft').text).toContain('icmpv6 type { 130, 131, 132, 133, 134, 135, 136, 143 } accept comment "ICMPv6 neighbour discovery and MLD (IPv6 needs them)"');
  });

  it('ip6tables-restore is a target of its own; iptables-restore says so when IPv6 is on', () => {
    const six = compile(dual, 'ip6tables-restore');
    const lines = six.text.split('\n');
    expect(lines[1]).toBe('# apply with: ip6tables -D INPUT -j RKE2_INPUT 2>/dev/null; ip6tables-restore --noflush FILE');
    expect(lines.slice(4, 7)).toEqual(['*filter', ':RKE2_INPUT - [0:0]', '-A INPUT -j RKE2_INPUT']);
    expect(lines).toContain('-A RKE2_INPUT -s fd00:18::1 -p tcp --dport 2379 -m comment --comment "etcd client port" -j ACCEPT');
    expect(lines.filter((l) => l.includes('198.18.'))).toEqual([]);
    expect(compile(dual, 'iptables-restore').warnings).toContain('iptables-restore: IPv4 only; compile --target ip6tables-restore for the IPv6 half');
    expect(compile({ platform: 'rke2', role: 'server' }, 'iptables-restore').warnings.filter((w) => w.includes('ip6tables'))).toEqual([]);
  });

  it('an extra rule of one family (family: 4|6): that family\'s chain only; the schema keeps family and sources agreeing', () => {
    const fr = parseFragment({ extra: [{ proto: 'tcp', ports: [7443], family: 6, comment: 'app over IPv6' }, { proto: 'udp', ports: [5353], family: 4 }] });
    if (!fr.ok) throw new Error(fr.issues.join());
    const out = compile({ platform: 'rke2', role: 'server' }, 'iptables', [fr.value]).text;
    expect(out.split('\n').filter((l) => l.includes('7443') || l.includes('5353'))).toEqual([
      'iptables -A RKE2_INPUT -p udp --dport 5353 -m comment --comment "fwdiag extra udp 5353" -j ACCEPT',
      'ip6tables -A RKE2_INPUT -p tcp --dport 7443 -m comment --comment "app over IPv6" -j ACCEPT',
    ]);
    const talos = parseAllDocuments(compile({ platform: 'talos', role: 'worker' }, 'talos', [fr.value]).text).map((d) => d.toJS() as Record<string, any>);
    expect(talos.filter((d) => d.portSelector?.ports?.[0] === 7443).map((d) => d.ingress)).toEqual([[{ subnet: '::/0' }]]);
    expect(talos.filter((d) => d.portSelector?.ports?.[0] === 5353).map((d) => d.ingress)).toEqual([[{ subnet: '0.0.0.0/0' }]]);
    expect(parseFragment({ extra: [{ proto: 'tcp', ports: [1], family: 4, sources: ['fd00::/8'] }] }).ok).toBe(false);
    expect(parseFragment({ extra: [{ proto: 'icmpv6', family: 4 }] }).ok).toBe(false);
    expect(parseFragment({ extra: [{ proto: 'tcp', ports: [1], family: 5 }] }).ok).toBe(false);
  });

  it('an ICMP extra with sources of the other family is refused — iptables wrote it in neither family and nft matched nothing', () => {
    const mixed = [{ proto: 'icmp', icmpTypes: [8], sources: ['2001:db8::/64'] }, { proto: 'icmpv6', sources: ['198.18.0.0/24'] }];
    for (const x of mixed) {
      const fr = parseFragment({ extra: [x] });
      expect(fr.ok, JSON.stringify(x)).toBe(false);
      if (!fr.ok) expect(fr.issues.join()).toContain('sources');
      expect(parsePolicy({ platform: 'rke2', role: 'agent', extra: [x] }).ok, JSON.stringify(x)).toBe(false);
    }
    // each in its own family, and one of both families under its own protocol, still compile
    const ok = parseFragment({ extra: [{ proto: 'icmp', sources: ['198.18.0.0/24'] }, { proto: 'icmpv6', icmpTypes: [128], sources: ['2001:db8::/64'] }] });
    if (!ok.ok) throw new Error(ok.issues.join());
    const out = compile({ platform: 'rke2', role: 'agent' }, 'iptables', [ok.value]).text;
    expect(out).toContain('iptables -A RKE2_INPUT -s 198.18.0.0/24 -p icmp -m comment --comment "fwdiag extra icmp" -j ACCEPT');
    expect(out).toContain('ip6tables -A RKE2_INPUT -s 2001:db8::/64 -p ipv6-icmp --icmpv6-type 128 -m comment --comment "fwdiag extra icmpv6" -j ACCEPT');
  });

  it('harvester-cloudinit runs the ip6tables commands too; nft gives DHCP and DHCPv6 their family', () => {
    const doc = parseYaml(compile({ platform: 'harvester', role: 'worker', ipv6: true }, 'harvester-cloudinit').text) as Record<string, any>;
    const cmds = (parseYaml(doc.spec.contents) as Record<string, any>).stages.boot[0].commands as string[];
    expect(cmds.slice(0, seedCommands('worker').length)).toEqual(seedCommands('worker'));
    expect(cmds.filter((c) => c.startsWith('ip6tables -A HARVESTER_INPUT')).length).toBeGreaterThan(5);
    const nft = compile(dual, 'nft').text;
    expect(nft).toContain('meta nfproto ipv4 udp sport 67 udp dport 68 accept comment "DHCP server reply"');
    expect(nft).toContain('meta nfproto ipv6 udp sport 547 udp dport 546 accept comment "DHCPv6 server reply"');
  });

  it('DHCPv6 is accepted wherever IPv6 is filtered — nft\'s inet table and ip6tables-restore even with ipv6 auto and no IPv6 address; ipv6: false drops it everywhere', () => {
    const v4policy = { platform: 'harvester', role: 'worker' } as const;
    const server = 'udp sport 547 udp dport 546 accept comment "DHCPv6 server reply"';
    const client = 'udp sport 546 udp dport 547 accept comment "DHCPv6 client request"';
    const nft = compile(v4policy, 'nft').text;
    expect(nft).toContain(`meta nfproto ipv6 ${server}`);
    expect(nft).toContain(`meta nfproto ipv6 ${client}`);
    const six = compile(v4policy, 'ip6tables-restore').text;
    expect(six).toContain('-A HARVESTER_INPUT -p udp --sport 547 --dport 546 -m comment --comment "DHCPv6 server reply" -j ACCEPT');
    // the IPv4 outputs are the seed's, without it and without a warning about it
    const ipt = compile(v4policy, 'iptables');
    expect(ipt.text).not.toContain('DHCPv6');
    expect(ipt.warnings.join('\n')).not.toContain('DHCP');
    for (const target of ['nft', 'ip6tables-restore', 'iptables'] as const) {
      expect(compile({ ...v4policy, ipv6: false }, target).text).not.toContain('DHCPv6');
      expect(compile({ ...v4policy, dhcp: false }, target).text).not.toMatch(/DHCP/);
    }
  });
});
