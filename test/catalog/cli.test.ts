import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { catalogCommand } from '../../src/cli/catalog.js';
import { UsageError, InputError } from '../../src/cli/errors.js';
import { memoryIO } from './cli-io.js';

describe('fwdiag catalog', () => {
  it('lists platforms with roles, addons and CNIs', async () => {
    const m = memoryIO();
    expect(await catalogCommand([], m.io)).toBe(0);
    const lines = m.out().split('\n');
    expect(lines[0]).toMatch(/^PLATFORM\s+ROLES\s+ADDONS\s+CNIS\s+ENTRIES\s+TITLE$/);
    expect(lines.find((l) => l.startsWith('harvester'))).toMatch(/^harvester\s+control-plane,worker,witness\s+kubeovn-operator,rancher-monitoring\s+canal\*\s+\d+\s+Harvester HCI$/);
    expect(lines.find((l) => l.startsWith('rke2'))).toMatch(/canal\*,calico,cilium,flannel/);
  });
  it('prints a role table with flags, notes and sources', async () => {
    const m = memoryIO();
    await catalogCommand(['harvester/witness'], m.io);
    const out = m.out();
    expect(out).toMatch(/^Harvester HCI \/ witness: \d+ entries\n/);
    expect(out).toMatch(/\ntcp\s+9345\s+RKE2 supervisor API\s+control-plane,witness\s+cluster-nodes\s+-\s+\[HV-SEC\] \[HV\] \[RKE2\]\n/);
    expect(out).toMatch(/\nudp\s+4789\s+VXLAN \(Kube-OVN, kubeovn-operator\)\s+\S+\s+cluster-nodes\s+addon=kubeovn-operator\s/);
    expect(out).toMatch(/\nudp\s+6081\s+.*addon=kubeovn-operator,not-default,low-confidence/);
    expect(out).toContain('[HV] Harvester docs, Port requirements for Harvester nodes — https://docs.harvesterhci.io/v1.6/install/requirements#port-requirements-for-harvester-nodes');
    expect(out).not.toMatch(/\ntcp\s+80\s/); // witness has no UI
  });
  it('filters by port/proto/cni and prints JSON', async () => {
    const m = memoryIO();
    await catalogCommand(['rke2', '--port', '4789', '--json'], m.io);
    const j = JSON.parse(m.out());
    expect(j.entries.map((e: { cni: string }) => e.cni)).toEqual(['calico', 'flannel']);
    expect(j.entries[0].url).toBe('https://docs.rke2.io/install/requirements#inbound-network-rules');
    const k = memoryIO();
    await catalogCommand(['kubeadm/worker', '--cni', 'cilium', '--proto', 'icmp', '--json'], k.io);
    expect(JSON.parse(k.out()).entries.map((e: { icmpTypes: number[] }) => e.icmpTypes)).toEqual([[0, 8]]);
  });
  it('the cni table\'s roles are its CNIs: --cni picks one, as cni/NAME does', async () => {
    const byFlag = memoryIO();
    await catalogCommand(['cni', '--cni', 'cilium'], byFlag.io);
    const byRole = memoryIO();
    await catalogCommand(['cni/cilium'], byRole.io);
    expect(byFlag.out()).toMatch(/^CNI plugins \(upstream documentation\) \/ cilium: \d+ entries\n/);
    expect(byFlag.out()).toBe(byRole.out());
    await expect(catalogCommand(['cni/canal', '--cni', 'cilium'], memoryIO().io)).rejects.toThrow(/^--cni: the cni table's roles are its CNIs: cni\/canal and --cni cilium name two/);
  });
  it('loopback ports are listed with their scope', async () => {
    const m = memoryIO();
    await catalogCommand(['k3s/server', '--port', '6444'], m.io);
    expect(m.out()).toMatch(/\ntcp\s+6444\s+kube-apiserver local access \(loopback\)\s+server\s+loopback\s/);
  });
  it('merges --catalog files', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'fwdiag-cat-cli-'));
    try {
      const f = join(tmp, 'site.yaml');
      writeFileSync(f, 'platform: site\ntitle: Our nodes\nroles: [{name: edge}]\nsources:\n  "[RB]": {title: runbook, document: ops/runbook.md}\nentries:\n  - {proto: udp, port: 5353, service: mdns, roles: [edge], scope: cluster-nodes, source: "[RB]"}\n');
      const m = memoryIO();
      await catalogCommand(['site/edge', '--catalog', f], m.io);
      expect(m.out()).toMatch(/udp\s+5353\s+mdns\s+edge\s+cluster-nodes/);
      writeFileSync(f, 'platform: site\n');
      await expect(catalogCommand(['site', '--catalog', f], memoryIO().io)).rejects.toBeInstanceOf(InputError);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
  it.each([
    [['nope'], /unknown platform "nope"/],
    [['rke2/worker'], /unknown role "worker" for rke2 \(roles: server, agent\)/],
    [['rke2', '--port', 'x'], /--port/],
    [['rke2', '--proto', 'gopher'], /--proto: unknown protocol/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['a', 'b'], /at most one/],
    [['Bad/Name'], /PLATFORM\[\/ROLE\]/],
    [['harvester', '--cni', 'nosuch'], /unknown CNI "nosuch"/],
    [['harvester', '--addon', 'nosuch'], /^--addon: unknown addon "nosuch" for harvester \(addons: kubeovn-operator, rancher-monitoring\)/],
    [['rke2', '--addon', 'rancher-monitoring'], /unknown addon "rancher-monitoring" for rke2 \(addons: none\)/],
    [['harvester', '--addon', 'a,b'], /^--addon: /],
    // `none` (no addon rows) beside an addon contradicts it: `none` was dropped and the addon's rows shown
    [['harvester', '--addon', 'none', '--addon', 'kubeovn-operator'], /^--addon none: no addon rows, not with --addon kubeovn-operator/],
  ])('%j is a usage error', async (argv, msg) => {
    const p = catalogCommand(argv, memoryIO().io);
    await expect(p).rejects.toBeInstanceOf(UsageError);
    await expect(catalogCommand(argv, memoryIO().io)).rejects.toThrow(msg);
  });
  it('--help', async () => {
    const m = memoryIO();
    expect(await catalogCommand(['--help'], m.io)).toBe(0);
    expect(m.out()).toMatch(/^Usage: fwdiag catalog \[PLATFORM\[\/ROLE\]\]/);
  });
});
