import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { compileCommand } from '../../src/cli/compile.js';
import { RulesetError, UsageError } from '../../src/cli/errors.js';
import { memoryIO } from '../catalog/cli-io.js';
import { seedCommands } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'fwdiag-compile-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
function file(name: string, text: string): string {
  const f = join(tmp, name);
  writeFileSync(f, text);
  return f;
}

describe('fwdiag compile', () => {
  it('--platform/--role alone: the seed commands', async () => {
    const m = memoryIO();
    expect(await compileCommand(['--platform', 'harvester', '--role', 'worker', '--target', 'iptables'], m.io)).toBe(0);
    expect(m.out().split('\n').filter((l) => l.startsWith('iptables'))).toEqual(seedCommands('worker'));
  });
  it('a YAML policy file plus a fragment from stdin, to nft', async () => {
    const policy = file('p.yaml', 'platform: rke2\nrole: agent\ncni: calico\nclusterSubnet: 198.18.0.0/24\nlog:\n  prefix: "RKE2 DROP "\n  rate: 5/min\n  level: 6\n');
    const m = memoryIO(JSON.stringify({ extra: [{ proto: 'tcp', ports: [9100], sources: ['198.18.0.0/24'], comment: 'node-exporter' }] }));
    await compileCommand(['--policy', policy, '--extra', '-', '--target', 'nft'], m.io);
    const out = m.out();
    expect(out).toContain('chain RKE2_INPUT {');
    expect(out).toContain('ip saddr 198.18.0.0/24 tcp dport 179 accept comment "Calico CNI with BGP"');
    expect(out).toContain('ip saddr 198.18.0.0/24 tcp dport 9100 accept comment "node-exporter"');
    expect(out).toContain('limit rate 5/minute log prefix "RKE2 DROP " level info');
  });
  it('a YAML file\'s parser warnings (an unknown tag) are not printed as process warnings with raw file text', async () => {
    const warnings: string[] = [];
    const on = (w: Error): void => void warnings.push(w.message);
    process.on('warning', on);
    try {
      const frag = file('tag.yaml', 'extra:\n  - proto: tcp\n    ports: [9100]\n    sources: [198.18.0.0/24]\n    comment: !!evil node-exporter # \u001b]0;pwn\u0007\n');
      const m = memoryIO();
      expect(await compileCommand(['--platform', 'harvester', '--role', 'worker', '--extra', frag, '--target', 'nft'], m.io)).toBe(0);
      expect(m.out()).toContain('tcp dport 9100 accept');
      const cat = file('tag-catalog.yaml', `${readFileSync('catalog/harvester.yaml', 'utf8')}\n# !!evil\nextraKey: !!evil x\n`);
      await compileCommand(['--catalog', cat, '--platform', 'harvester', '--role', 'worker', '--target', 'nft'], memoryIO().io).catch(() => 0);
      await new Promise((r) => setImmediate(r)); // process warnings are emitted on the next tick
    } finally {
      process.off('warning', on);
    }
    expect(warnings).toEqual([]);
  });
  it('--platform/--role override the policy file; warnings go to stderr', async () => {
    const policy = file('p2.yaml', 'platform: rke2\nrole: server\n');
    const m = memoryIO();
    await compileCommand(['--policy', policy, '--platform', 'talos', '--role', 'worker', '--target', 'talos'], m.io);
    const docs = m.out().split('\n---\n');
    expect(parseYaml(docs[0] ?? '')).toEqual({ apiVersion: 'v1alpha1', kind: 'NetworkDefaultActionConfig', ingress: 'block' });
    expect(m.err()).toMatch(/warning: talos: the ingress firewall has no LOG action/);
  });
  it.each([
    [['--platform', 'harvester', '--role', 'worker'], UsageError, /--target is required/],
    [['--platform', 'harvester', '--target', 'nft'], UsageError, /--platform P and --role R/],
    [['--platform', 'harvester', '--role', 'worker', '--target', 'pf'], UsageError, /--target: use iptables, iptables-restore, ip6tables-restore, nft, talos, harvester-cloudinit/],
    [['--platform', 'harvester', '--role', 'worker', '--target', 'nft', 'extra'], UsageError, /Unexpected argument/],
    [['--platform', 'rke2', '--role', 'worker', '--target', 'nft'], UsageError, /unknown role "worker" for rke2/],
    [['--platform', 'rke2', '--role', 'server', '--target', 'harvester-cloudinit'], RulesetError, /needs platform harvester/],
  ] as const)('%j fails', async (argv, cls, msg) => {
    await expect(compileCommand([...argv], memoryIO().io)).rejects.toBeInstanceOf(cls);
    await expect(compileCommand([...argv], memoryIO().io)).rejects.toThrow(msg);
  });
  it('invalid policy and fragment files are RulesetErrors naming the field', async () => {
    const bad = file('bad.yaml', 'platform: harvester\nrole: worker\npodCidr: 10.52.0.0/40\n');
    await expect(compileCommand(['--policy', bad, '--target', 'nft'], memoryIO().io)).rejects.toThrow(/policy: podCidr/);
    const frag = file('frag.yaml', 'extra:\n  - proto: tcp\n    ports: ["9000-8000"]\n');
    await expect(compileCommand(['--platform', 'harvester', '--role', 'worker', '--extra', frag, '--target', 'nft'], memoryIO().io)).rejects.toThrow(/frag\.yaml: extra\.0\.ports\.0/);
    const notyaml = file('x.yaml', 'a: [');
    await expect(compileCommand(['--policy', notyaml, '--target', 'nft'], memoryIO().io)).rejects.toThrow(/not valid YAML/);
  });
  it('the generic table of well-known ports is no policy: --platform generic is a usage error, in a policy file the file is wrong', async () => {
    await expect(compileCommand(['--platform', 'generic', '--role', 'any', '--target', 'iptables'], memoryIO().io)).rejects.toThrow(/^--platform: platform "generic" is the table of well-known ports .*not a policy/);
    const e = await compileCommand(['--policy', file('generic.yaml', 'platform: generic\nrole: any\n'), '--target', 'nft'], memoryIO().io).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RulesetError);
    expect(String(e)).toMatch(/compile for the node's platform \(plain Kubernetes: kubeadm\)/);
  });
  it('an unknown --platform or --role is a usage error (exit 2), as in every command; named in a policy file, the file is wrong', async () => {
    await expect(compileCommand(['--platform', 'harvester', '--role', 'nosuch', '--target', 'nft'], memoryIO().io)).rejects.toThrow(UsageError);
    await expect(compileCommand(['--platform', 'nosuch', '--role', 'x', '--target', 'nft'], memoryIO().io)).rejects.toThrow(/^--platform: unknown platform "nosuch"/);
    const worker = file('worker.yaml', 'platform: harvester\nrole: worker\n');
    await expect(compileCommand(['--policy', worker, '--role', 'nosuch', '--target', 'nft'], memoryIO().io)).rejects.toThrow(UsageError);
    const badRole = file('bad-role.yaml', 'platform: harvester\nrole: nosuch\n');
    const e = await compileCommand(['--policy', badRole, '--target', 'nft'], memoryIO().io).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RulesetError);
    expect(String(e)).toContain('unknown role "nosuch" for harvester');
    // the flag mends the file
    expect(await compileCommand(['--policy', badRole, '--role', 'witness', '--target', 'nft'], memoryIO().io)).toBe(0);
  });
  it('--help', async () => {
    const m = memoryIO();
    expect(await compileCommand(['--help'], m.io)).toBe(0);
    expect(m.out()).toMatch(/^Usage: fwdiag compile --target T/);
  });
});
