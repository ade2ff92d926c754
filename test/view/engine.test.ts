/**
 * The live view's suggestion engine: fed the sample log the way run-live feeds it, the store's suggestions are the
 * engine's (catalog scope, merged ranges, never a scanner or conntrack-loss), not the interim per-port list.
 */
import { describe, expect, it } from 'vitest';
import { createClassifier, type Classifier } from '../../src/classify/classifier.js';
import { catalogServiceLookup } from '../../src/classify/services.js';
import { loadCatalog } from '../../src/catalog/index.js';
import { createParser } from '../../src/parse/parse-line.js';
import { createViewStore } from '../../src/view/store.js';
import { inputLabel, liveEngine } from '../../src/view/run-live.js';
import { suggestionsToFragment } from '../../src/view/fragment.js';
import type { ViewStore, ViewSuggestion } from '../../src/view/store.js';
import { liveSuggestContext, parseAnalyzeArgs } from '../../src/cli/analyze.js';
import { SAMPLE, fixtureLines, manualClock } from './helpers.js';
import { run } from '../../src/cli/main.js';
import { memoryIO } from '../catalog/cli-io.js';
import { parse as parseYaml } from 'yaml';

/**
 * `lines` through the parser, the classifier, the store and the engine, as run-live feeds events; `after(n)` runs
 * after the n-th event.
 */
function feedEngine(
  lines: string[], classifier: Classifier, store: ViewStore, engine: ReturnType<typeof liveEngine>,
  o: { tz?: string; after?: (n: number) => void } = {},
): void {
  const parser = createParser({ tz: o.tz ?? 'UTC', now: () => Date.UTC(2026, 4, 30) });
  let n = 0;
  for (const l of lines) {
    const r = parser.parseLine(l);
    if (r.kind !== 'event') continue;
    const c = classifier.classify(r.event);
    store.push(c);
    engine.observe(c, () => c.event);
    o.after?.(++n);
  }
}

/**
 * The live view's engine as `fwdiag analyze ARGV` builds it (parseAnalyzeArgs → liveSuggestContext, the classifier
 * run-live makes), fed `lines` as run-live feeds it: the suggestions it shows.
 */
function liveSuggestions(argv: string[], lines: string[]): ViewSuggestion[] {
  const opts = parseAnalyzeArgs(argv);
  if (opts === 'help') throw new Error('help');
  const ctx = liveSuggestContext(opts, undefined);
  if (ctx === undefined) throw new Error('no engine');
  const clock = manualClock();
  const classifier = createClassifier(opts.classifier, { services: catalogServiceLookup(opts.platform) });
  const store = createViewStore({ notifyMs: 100, now: clock.now });
  const engine = liveEngine(ctx, classifier, store, clock.now);
  feedEngine(lines, classifier, store, engine, { tz: opts.tz ?? 'UTC' });
  engine.batch(true);
  store.flush();
  const list = store.getSnapshot().suggestions;
  store.dispose();
  return list;
}

describe('live view suggestion engine', () => {
  it('replaces the interim list with the engine, recomputed at most once a second', () => {
    const clock = manualClock();
    const classifier = createClassifier({}, { services: catalogServiceLookup('harvester') });
    const store = createViewStore({ notifyMs: 100, now: clock.now });
    const catalog = loadCatalog([]);
    const engine = liveEngine(
      { catalog, platform: 'harvester', role: 'control-plane', hostRoles: new Map(), allowUnknown: false, controlPlane: [] },
      classifier,
      store,
      clock.now,
    );
    const lines = fixtureLines(SAMPLE);
    // stop half-way before the first new connection is refused: the first computation has nothing to propose
    const half = Math.floor(lines.findIndex((l) => / SYN URGP=/.test(l) && !l.includes('ACK')) / 2);
    expect(half).toBeGreaterThan(10);
    feedEngine(lines, classifier, store, engine, {
      after: (n) => {
        if (n !== half) return;
        engine.batch();
        clock.advance(200);
      },
    });
    // within the same second: throttled, so nothing new yet unless forced
    engine.batch();
    store.flush();
    const before = store.getSnapshot().suggestions.length;
    expect(before).toBe(0);
    engine.batch(true);
    store.flush();
    const s = store.getSnapshot().suggestions;
    expect(s.length).toBeGreaterThan(before);
    expect(s.map((x) => `${x.proto}/${x.ports.join(',')}`).sort()).toEqual(['tcp/2379-2380', 'udp/8472']);
    for (const x of s) {
      // observed clients as /32s: never wider than the catalog scope, never the scanner or the conntrack-loss peer
      expect(x.sources.length).toBeGreaterThan(0);
      for (const src of x.sources) expect(src).toMatch(/^192\.168\.122\.(61|62|64)\/32$/);
      expect(x.rendered).toContain('role control-plane');
    }
  });
});

describe('live view suggestion engine and a reloaded --ruleset', () => {
  it('recomputes against the new ruleset: a rule added since is no longer proposed', async () => {
    const { readFileSync } = await import('node:fs');
    const { parseRuleset } = await import('../../src/ruleset/index.js');
    const full = readFileSync('fixtures/rulesets/harvester-control-plane.iptables-save', 'utf8');
    const rs = (text: string) => {
      const r = parseRuleset(text);
      if (!r.ok) throw new Error(r.issues.join());
      return r.value;
    };
    const before = rs(full.split('\n').filter((l) => !l.includes('--dport 2379:2380') && !l.includes('--dport 8472')).join('\n'));
    const clock = manualClock();
    const classifier = createClassifier({}, { services: catalogServiceLookup('harvester') });
    const store = createViewStore({ notifyMs: 100, now: clock.now });
    const engine = liveEngine(
      { catalog: loadCatalog([]), platform: 'harvester', role: 'control-plane', hostRoles: new Map(), allowUnknown: false, controlPlane: [], ruleset: before },
      classifier, store, clock.now,
    );
    feedEngine(fixtureLines(SAMPLE), classifier, store, engine);
    engine.batch(true);
    store.flush();
    expect(store.getSnapshot().suggestions.map((x) => `${x.proto}/${x.ports.join(',')}`).sort()).toEqual(['tcp/2379-2380', 'udp/8472']);
    engine.setRuleset(rs(full));
    clock.advance(1500);
    engine.batch();
    store.flush();
    expect(store.getSnapshot().suggestions).toEqual([]);
  });
});

describe('the header\'s input', () => {
  it('names stdin as stdin: `journalctl -k -f | fwdiag` read `fwdiag live · -`', () => {
    expect(inputLabel([{ name: '-' }])).toBe('stdin');
    expect(inputLabel([{ name: '/var/log/kern.log' }, { name: '-' }])).toBe('/var/log/kern.log, stdin');
    expect(inputLabel([{ name: '/dev/kmsg' }])).toBe('/dev/kmsg');
    expect(inputLabel([])).toBe('stdin');
  });
});

// analyze --addon reaches the engine: a port only a left-out addon needs is the addon to enable, shown as such and never
// written by `w` as an extra ACCEPT (compile --extra would open it from the observed clients, while enabling the addon
// opens it as the catalog scopes it — and the fragment has no `addons` key to say so)
describe('live view suggestion engine and --addon', () => {
  const exporter = 'Apr 22 10:00:00 node1 kernel: FWDIAG_DROP_IN=eth0 OUT= MAC=52:54:00:3a:7c:63:52:54:00:3a:7c:62:08:00 SRC=198.18.0.12 DST=198.18.0.11 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=40000 DPT=9796 WINDOW=64240 RES=0x00 SYN URGP=0 ';
  const kubelet = exporter.replace('DPT=9796', 'DPT=10250').replace('SPT=40000', 'SPT=40001');
  const live = (flags: string[]) => liveSuggestions(['--platform', 'harvester', '--role', 'worker', ...flags], [exporter, kubelet]);
  const port = (p: number) => (s: ViewSuggestion) => s.ports.includes(p);
  it('default (the platform\'s addons): node-exporter is a rule like the others, written by w', () => {
    const list = live([]);
    expect(list.find(port(9796))?.addon).toBeUndefined();
    expect(suggestionsToFragment(list, 0).fragment.extra.map((x) => x.ports)).toEqual(expect.arrayContaining([[9796], [10250]]));
  });
  it('--addon none: shown as the addon to enable; w writes the other rules, not it, and the note says which addon', () => {
    const list = live(['--addon', 'none']);
    const s = list.find(port(9796));
    expect(s?.addon).toBe('rancher-monitoring');
    expect(s?.rendered).toMatch(/^enable addon rancher-monitoring \(policy addons\): tcp\/9796 /);
    expect(list.find(port(10250))?.addon).toBeUndefined();
    const r = suggestionsToFragment(list, 0);
    expect(r.fragment.extra.map((x) => x.ports)).toEqual([[10250]]);
    expect(r.addons.map((a) => a.addon)).toEqual(['rancher-monitoring']);
    expect(r.fragment.note).toMatch(/enable rancher-monitoring in the policy's addons/);
  });
});

// The live view's context had allowUnknown false, controlPlane [] and no clusterSubnet or cni, whatever suggest was
// told: `journalctl -k -f | fwdiag --platform harvester --role control-plane` proposed etcd and the VXLAN from the
// observed /32s where `fwdiag suggest --cluster-subnet … --control-plane …` proposed them from the cluster and the
// control-plane nodes. analyze takes the four flags as suggest does and hands them to the engine.
describe('live view suggestion engine and suggest\'s scope flags: the same ACCEPTs as fwdiag suggest and report', () => {
  const peer = 'Apr 22 10:50:01 harvester3 kernel: HARVESTER_DROP_IN=mgmt-br OUT= MAC=52:54:00:3a:7c:63:52:54:00:3a:7c:64:08:00 SRC=192.168.122.64 DST=192.168.122.63 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=40100 DPT=9091 WINDOW=64240 RES=0x00 SYN URGP=0 ';
  // the sample (etcd from two control-plane peers, the VXLAN from three), plus calico-node's metrics port (a row of
  // canal, harvester's CNI: cluster-scoped, but no port of this cluster's under --cni cilium) and a port no catalog
  // names (proposed only with --allow-unknown)
  const lines = [...fixtureLines(SAMPLE), peer, peer.replace('SPT=40100 DPT=9091', 'SPT=40101 DPT=7777').replace('10:50:01', '10:50:02')];
  const ROLE = ['--platform', 'harvester', '--role', 'control-plane', '--tz', 'UTC'];
  const SCOPE = {
    '--cluster-subnet': ['192.168.122.0/24'],
    '--control-plane': ['192.168.122.61, 192.168.122.62'],
    '--cni': ['cilium'],
    '--allow-unknown': [],
  } as const;
  const flags = (leave?: string) => Object.entries(SCOPE).flatMap(([f, v]) => (f === leave ? [] : [f, ...v]));
  const rows = (list: ReadonlyArray<{ proto: string; ports: ReadonlyArray<string | number>; sources: readonly string[] }>) =>
    list.map((s) => `${s.proto}/${s.ports.join(',')} from ${[...s.sources].sort().join(',') || 'anywhere'}`).sort();
  /** `fwdiag COMMAND … --json` (report: --format json) of the lines: its ACCEPTs */
  const accepts = async (command: string[], more: string[]) => {
    const m = memoryIO(`${lines.join('\n')}\n`);
    expect(await run([...command, ...ROLE, ...more], m.io), m.err()).toBe(0);
    const { suggestions } = JSON.parse(m.out()) as { suggestions: Array<{ action: string; proto: string; ports: string[]; sources: string[] }> };
    return rows(suggestions.filter((s) => s.action === 'accept'));
  };
  const suggestJson = (more: string[]) => accepts(['suggest', '--json'], more);

  it('each flag changes what suggest proposes for these lines (the comparison below is not of defaults)', async () => {
    const all = await suggestJson(flags());
    expect(all).toContain('tcp/2379-2380 from 192.168.122.61,192.168.122.62');
    expect(all).toContain('udp/8472 from 192.168.122.0/24');
    for (const f of Object.keys(SCOPE)) expect(await suggestJson(flags(f)), f).not.toEqual(all);
  });

  const cases: Array<[string, string[]]> = [
    ['all four', flags()],
    ...Object.entries(SCOPE).map(([f, v]): [string, string[]] => [f, [f, ...v]]),
    ['none', []],
  ];
  it.each(cases)('%s: the live engine\'s proto, ports and sources are suggest --json\'s and report\'s', async (_, more) => {
    const expected = await suggestJson(more);
    expect(rows(liveSuggestions([...ROLE, ...more], lines))).toEqual(expected);
    expect(await accepts(['report', '--format', 'json'], more)).toEqual(expected);
  });
});

// The engine's suggestions reached the view without their ICMP types and source port: `w` wrote a DHCP reply
// (`sourcePort: 67`) as UDP 68 from any port — wider than `fwdiag suggest --format policy` for the same lines — and
// skipped every ICMP rule (`ports: []`, which the fragment schema refuses), a Konvoy ping's and neighbour discovery's.
describe('live view suggestion engine: w writes the rule suggest writes, ICMP types and source port included', () => {
  const ping = 'Apr 22 10:00:00 node1 kernel: KONVOY_DROP_IN=eth0 OUT= SRC=198.18.9.7 DST=198.18.9.1 LEN=84 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=ICMP TYPE=8 CODE=0 ID=1 SEQ=1 ';
  const dhcp = 'Apr 22 10:00:01 node1 kernel: FWDIAG_DROP_IN=eth0 OUT= MAC=52:54:00:3a:7c:63:52:54:00:3a:7c:62:08:00 SRC=198.18.9.254 DST=198.18.9.1 LEN=120 TOS=0x00 PREC=0x00 TTL=64 ID=4242 PROTO=UDP SPT=67 DPT=68 LEN=100 ';
  const nd = fixtureLines(new URL('../../fixtures/kernel/rare/captures.txt', import.meta.url)).filter((l) => !l.startsWith('#') && / IN=h2b0 OUT= .*PROTO=ICMPv6 TYPE=13[3-6] /.test(l));
  /** `fwdiag suggest --format policy` of the lines: its fragment's rules, comments aside (each names its writer) */
  const suggestRules = async (argv: string[], lines: string[]) => {
    const m = memoryIO(`${lines.join('\n')}\n`);
    expect(await run(['suggest', ...argv, '--format', 'policy'], m.io), m.err()).toBe(0);
    return (parseYaml(m.out()) as { extra: Record<string, unknown>[] }).extra.map(({ comment, ...r }) => (void comment, r));
  };
  it.each([
    ['a Konvoy ping', 'icmpTypes', ['--platform', 'konvoy', '--role', 'worker'], [ping]],
    ['a DHCP reply', 'sourcePort', ['--platform', 'harvester', '--role', 'worker'], [dhcp]],
    ['ICMPv6 neighbour discovery', 'icmpTypes', ['--platform', 'harvester', '--role', 'control-plane'], nd],
  ] as const)('%s (%s)', async (_, narrowing, argv, lines) => {
    const want = await suggestRules([...argv], [...lines]);
    expect(want).toHaveLength(1);
    expect(want[0]).toHaveProperty(narrowing);
    const list = liveSuggestions([...argv, '--tz', 'UTC'], [...lines]);
    const f = suggestionsToFragment(list, 0);
    expect(f.skipped).toEqual([]);
    expect(f.fragment.extra.map(({ comment, ...r }) => (void comment, r))).toEqual(want);
  });
});
