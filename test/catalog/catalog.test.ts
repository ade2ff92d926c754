import { readFileSync, readdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  builtinCatalogDir,
  compileBuiltinCatalog,
  entriesFor,
  listPlatforms,
  listRoles,
  loadBuiltinCatalog,
  loadCatalog,
  lookupPort,
  parseCatalogText,
  serviceForPort,
} from '../../src/catalog/index.js';

const dir = builtinCatalogDir();
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

describe('shipped catalog files', () => {
  it('ships one file per platform the issue names', () => {
    expect(files.sort()).toEqual(['cni.yaml', 'generic.yaml', 'harvester.yaml', 'k3s.yaml', 'konvoy.yaml', 'kubeadm.yaml', 'rke2.yaml', 'talos.yaml']);
  });
  it.each(files)('%s validates against the schema and names its platform after the file', (f) => {
    const r = parseCatalogText(readFileSync(join(dir, f), 'utf8'), f);
    if (!r.ok) throw new Error(r.issues.join('\n'));
    expect(r.value.platform).toBe(f.replace(/\.yaml$/, ''));
    expect(r.value.entries.length).toBeGreaterThan(0);
    for (const e of r.value.entries) {
      // every entry resolves to a document with a URL or a shipped seed
      const doc = r.value.sources[e.source];
      expect(doc, `${f} ${e.service}`).toBeDefined();
      expect(doc?.url ?? doc?.document).toBeTruthy();
    }
  });
  it('has the roles of the issue per platform', () => {
    expect(listRoles('harvester')).toEqual(['control-plane', 'worker', 'witness']);
    expect(listRoles('rke2')).toEqual(['server', 'agent']);
    expect(listRoles('kubeadm')).toEqual(['control-plane', 'worker']);
    expect(listRoles('talos')).toEqual(['controlplane', 'worker']);
    expect(listRoles('konvoy')).toEqual(['control-plane', 'worker']);
    expect(listRoles('cni')).toEqual(['canal', 'calico', 'cilium', 'flannel', 'kube-ovn']);
    expect(listPlatforms()).toContain('k3s');
  });
});

describe('schema rejects broken catalogs', () => {
  const base = (entry: string) => `platform: t\ntitle: T\nroles: [{name: a}]\nsources:\n  "[X]": {title: x, url: "https://example.org/"}\nentries:\n  - ${entry}\n`;
  it.each([
    ['tcp without port', '{proto: tcp, service: s, roles: [a], scope: anywhere, source: "[X]"}', 'needs a port'],
    ['unknown role', '{proto: tcp, port: 1, service: s, roles: [b], scope: anywhere, source: "[X]"}', 'unknown role b'],
    ['unknown source', '{proto: tcp, port: 1, service: s, roles: [a], scope: anywhere, source: "[Y]"}', 'unknown source [Y]'],
    ['reversed range', '{proto: tcp, port: "20-10", service: s, roles: [a], scope: anywhere, source: "[X]"}', 'bad port range'],
    ['bad scope', '{proto: tcp, port: 1, service: s, roles: [a], scope: pods, source: "[X]"}', 'scope'],
    ['icmp with port', '{proto: icmp, port: 1, service: s, roles: [a], scope: anywhere, source: "[X]"}', 'cannot have a port'],
    ['icmp with source port', '{proto: icmp, sourcePort: 67, service: s, roles: [a], scope: anywhere, source: "[X]"}', 'cannot have a source port'],
    ['bad source port', '{proto: udp, port: 68, sourcePort: "70-67", service: s, roles: [a], scope: anywhere, source: "[X]"}', 'bad port range'],
    ['unknown key', '{proto: tcp, port: 1, service: s, roles: [a], scope: anywhere, source: "[X]", prot: 1}', 'prot'],
    // the service is compile's rule comment, inside shell double quotes in the iptables and harvester-cloudinit targets
    ['a $ in the service', '{proto: tcp, port: 1, service: "metrics $(id)", roles: [a], scope: anywhere, source: "[X]"}', 'backticks'],
    ['a backtick in the service', '{proto: tcp, port: 1, service: "`kube-vip` metrics", roles: [a], scope: anywhere, source: "[X]"}', 'backticks'],
  ])('%s', (_name, entry, msg) => {
    const r = parseCatalogText(base(entry), 'test.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.join('\n')).toContain(msg);
  });
  // policyDefaults stand in for the policy's own keys in `fwdiag compile`: they are held to the policy's rules
  it.each([
    ['an interface name with a space', 'interfaces: ["eth0 -j ACCEPT"]', 'an interface name'],
    ['a netmask pod CIDR', 'podCidr: 10.52.0.0/255.255.0.0', 'a prefix length, not a netmask'],
    ['a pod CIDR with a leading zero', 'podCidr: 10.52.0.0/016', 'leading zero'],
    ['a log prefix with a double quote', 'logPrefix: \'SITE "DROP\'', 'letters, digits'],
  ])('policyDefaults: %s', (_name, line, msg) => {
    const text = base('{proto: tcp, port: 1, service: s, roles: [a], scope: anywhere, source: "[X]"}').replace('sources:', `policyDefaults:\n  ${line}\nsources:`);
    const r = parseCatalogText(text, 'test.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.join('\n')).toContain(msg);
  });
  it('accepts a minimal valid file', () => {
    const r = parseCatalogText(base('{proto: tcp, port: "8000-8002", service: s, roles: [a], scope: anywhere, source: "[X]"}'), 't');
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value.entries[0]?.port).toEqual({ from: 8000, to: 8002 });
  });
  it('reports YAML syntax errors as issues', () => {
    const r = parseCatalogText('platform: [', 'bad.yaml');
    expect(r.ok).toBe(false);
  });
});

describe('lookups', () => {
  it('finds the RKE2 supervisor port on a Harvester control-plane node but not on a worker', () => {
    const cp = lookupPort('harvester', 'control-plane', 'TCP', 9345);
    expect(cp.map((e) => e.service)).toEqual(['RKE2 supervisor API']);
    expect(cp[0]?.source).toBe('[HV-SEC]');
    expect(cp[0]?.refs).toContain('[RKE2]');
    expect(lookupPort('harvester', 'worker', 'TCP', 9345)).toEqual([]);
  });
  it('matches port ranges inclusively', () => {
    expect(lookupPort('rke2', 'agent', 'tcp', 30000).map((e) => e.service)).toEqual(['NodePort port range']);
    expect(lookupPort('rke2', 'agent', 'tcp', 32767)).toHaveLength(1);
    expect(lookupPort('rke2', 'agent', 'tcp', 32768)).toHaveLength(0);
  });
  it('filters CNI-specific rows by the chosen CNI', () => {
    expect(lookupPort('rke2', 'server', 'udp', 4789).map((e) => e.cni).sort()).toEqual(['calico', 'flannel']);
    expect(lookupPort('rke2', 'server', 'udp', 4789, { cni: 'canal' })).toEqual([]);
    expect(lookupPort('rke2', 'server', 'udp', 8472, { cni: 'canal' }).map((e) => e.service)).toEqual(['Canal CNI with VXLAN']);
  });
  it('pulls upstream CNI rows for a platform whose file has none (kubeadm + calico)', () => {
    expect(lookupPort('kubeadm', 'worker', 'tcp', 179)).toEqual([]);
    expect(lookupPort('kubeadm', 'worker', 'tcp', 179, { cni: 'calico' }).map((e) => e.source)).toEqual(['[CALICO]']);
  });
  it('filters addon rows by the enabled addons', () => {
    expect(lookupPort('harvester', 'worker', 'tcp', 10660)).toHaveLength(1);
    expect(lookupPort('harvester', 'worker', 'tcp', 10660, { addons: [] })).toHaveLength(0);
  });
  it('marks loopback-only ports and low-confidence rows', () => {
    const k3s = lookupPort('k3s', 'server', 'tcp', 6444);
    expect(k3s.map((e) => e.scope)).toEqual(['loopback']);
    const hv6444 = lookupPort('harvester', 'worker', 'tcp', 6444);
    expect(hv6444[0]?.confidence).toBe('low');
    const cilium = entriesFor('cni', 'cilium').filter((e) => e.scope === 'loopback');
    expect(cilium.length).toBeGreaterThanOrEqual(6);
  });
  it('knows ICMP types and portless protocols', () => {
    expect(lookupPort('rke2', 'agent', 'ICMP', 8, { cni: 'cilium' })).toHaveLength(1);
    expect(lookupPort('rke2', 'agent', 'ICMP', 3, { cni: 'cilium' })).toHaveLength(0);
    expect(lookupPort('cni', 'cilium', '50', undefined).map((e) => e.proto)).toEqual(['esp']);
  });
  it('names services with and without a platform', () => {
    expect(serviceForPort('tcp', 9345)).toBe('RKE2 supervisor API');
    expect(serviceForPort('TCP', 22)).toBe('ssh');
    expect(serviceForPort('tcp', 9796, 'harvester')).toBe('Prometheus node-exporter metrics (rancher-monitoring)');
    expect(serviceForPort('tcp', 50000, 'talos')).toBe('apid');
    expect(serviceForPort('tcp', 46002)).toBeUndefined();
    // a platform that does not name a port falls back to the generic table
    expect(serviceForPort('udp', 53, 'rke2')).toBe('domain (DNS)');
  });
  it('every entry has a unique proto/port/role/cni/addon within its platform', () => {
    for (const p of loadBuiltinCatalog().platforms.values()) {
      const seen = new Map<string, string>();
      for (const e of p.entries) {
        for (const r of e.roles) {
          const k = `${e.proto}/${e.port?.from}-${e.port?.to}/${e.icmpTypes?.join(',')}/${r}/${e.cni}/${e.addon}/${e.scope}`;
          // k3s lists 6443 twice (API server for servers, Spegel for agents); only duplicates on the same role are bugs
          expect(seen.get(k), `${p.platform}: ${k} (${e.service})`).toBeUndefined();
          seen.set(k, e.service);
        }
      }
    }
  });
});

describe('user catalogs (--catalog FILE)', () => {
  it('adds entries to a known platform and puts them first, and adds new platforms', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'fwdiag-cat-'));
    try {
      const a = join(tmp, 'a.yaml');
      writeFileSync(a, 'platform: harvester\ntitle: site\nroles: [{name: worker}]\nsources:\n  "[SITE]": {title: runbook, document: ops/runbook.md}\nentries:\n  - {proto: tcp, port: 9345, service: "site proxy", roles: [worker], scope: cluster-nodes, source: "[SITE]"}\n');
      const b = join(tmp, 'b.json');
      writeFileSync(b, JSON.stringify({ platform: 'acme', title: 'Acme', roles: [{ name: 'edge' }], sources: { '[A]': { title: 'a', url: 'https://a.example/' } }, entries: [{ proto: 'udp', port: 5000, service: 'acme', roles: ['edge'], scope: 'anywhere', source: '[A]' }] }));
      const cat = loadCatalog([a, b]);
      expect(lookupPort('harvester', 'worker', 'tcp', 9345, { catalog: cat }).map((e) => e.service)).toEqual(['site proxy']);
      expect(lookupPort('harvester', 'control-plane', 'tcp', 9345, { catalog: cat }).map((e) => e.service)).toEqual(['RKE2 supervisor API']);
      expect(serviceForPort('udp', 5000, 'acme', cat)).toBe('acme');
      writeFileSync(a, 'platform: x\n');
      expect(() => loadCatalog([a])).toThrow(/invalid catalog/);
      expect(() => loadCatalog([join(tmp, 'missing.yaml')])).toThrow(/cannot read catalog/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('compiled built-in catalog (dist/catalog/builtin.json)', () => {
  const copyCatalog = (to: string) => {
    for (const f of files) writeFileSync(join(to, f), readFileSync(join(dir, f)));
  };

  it('loads the same platforms as the YAML files, and the build ships one compiled from the current files', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'fwdiag-cat-'));
    try {
      const compiled = compileBuiltinCatalog(dir);
      const path = join(tmp, 'builtin.json');
      writeFileSync(path, JSON.stringify(compiled));
      const fromYaml = loadBuiltinCatalog(dir, join(tmp, 'missing.json'));
      const fromJson = loadBuiltinCatalog(dir, path);
      expect(fromJson.platforms.size).toBe(files.length);
      expect([...fromJson.platforms.keys()]).toEqual([...fromYaml.platforms.keys()]);
      for (const [name, p] of fromYaml.platforms) expect(fromJson.platforms.get(name)).toEqual(p);
      // `npm test` builds first: the shipped copy matches the YAML files, so installs read it
      const shipped = JSON.parse(readFileSync(new URL('../../dist/catalog/builtin.json', import.meta.url), 'utf8')) as { digest: string };
      expect(shipped.digest).toBe(compiled.digest);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('is ignored once a YAML file changes: the edit is read, never the stale copy', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'fwdiag-cat-'));
    try {
      copyCatalog(tmp);
      const path = join(tmp, 'builtin.json');
      writeFileSync(path, JSON.stringify(compileBuiltinCatalog(tmp)));
      const before = loadBuiltinCatalog(tmp, path).platforms.get('rke2')!;
      const svc = before.entries.find((e) => e.port !== undefined)!.service;
      const text = readFileSync(join(tmp, 'rke2.yaml'), 'utf8');
      expect(text).toContain(svc);
      writeFileSync(join(tmp, 'rke2.yaml'), text.replace(svc, 'renamed by the test'));
      const after = loadBuiltinCatalog(tmp, path).platforms.get('rke2')!;
      expect(after.entries.map((e) => e.service)).toContain('renamed by the test');
      expect(after.entries.map((e) => e.service)).not.toContain(svc);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
