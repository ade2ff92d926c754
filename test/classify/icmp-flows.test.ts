import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClassifier, type AnalyzeSummary, type FlowSummary } from '../../src/classify/classifier.js';
import { analyzeSummaryOf, eventsOf } from './helpers.js';

// Lines a real kernel wrote. syslog.txt: an echo request 198.18.0.1 → 198.18.0.2 refused (FWFX_ICMP_DROP) and a port
// unreachable 198.18.0.2 → 198.18.0.1 about 198.18.0.1's UDP (FWFX_UNREACH_IN), both logged under one host name.
// The captures: an echo reply and a port unreachable from 198.18.213.1 to 198.18.213.2 (and their IPv6 twins).
const syslog = readFileSync('fixtures/kernel/syslog.txt', 'utf8').split('\n');
const echoRequests = syslog.filter((l) => l.includes(' FWFX_ICMP_DROP: '));
const unreachables = syslog.filter((l) => l.includes(' FWFX_UNREACH_IN '));
const capture = (name: string) => readFileSync(`fixtures/kernel/classify/captures/${name}.kmsg`, 'utf8').split('\n').filter((l) => l !== '');

type Row = [proto: string, server: string, client: string, verdict: string, rule: string, service: string | null, count: number];
const row = (f: FlowSummary): Row => [f.proto, f.server, f.client, f.verdict, f.rule, f.service, f.count];
const sorted = (rows: Row[]) => [...rows].sort((a, b) => a.join().localeCompare(b.join()));

function classify(lines: string[]) {
  const c = createClassifier();
  const results = eventsOf(lines).map((e) => c.classify(e));
  return { results, summary: c.end() };
}

/** `analyze --summary` on a file: the scanner's packets, not events, go to the classifier. */
async function analyzeSummary(lines: string[]): Promise<AnalyzeSummary> {
  const dir = mkdtempSync(join(tmpdir(), 'fwdiag-icmp-'));
  try {
    const file = join(dir, 'icmp.log');
    writeFileSync(file, `${lines.join('\n')}\n`);
    return await analyzeSummaryOf(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('ICMP flows: echo and error messages between one pair of hosts are separate flows', () => {
  const ECHO: Row = ['icmp', '198.18.0.2', '198.18.0.1', 'genuine-block', 'icmp-echo-request', 'ICMP echo', 2];
  const ERROR: Row = ['icmp', '198.18.0.2', '198.18.0.1', 'conntrack-loss', 'icmp-error-own', null, 2];

  it('a refused ping and port unreachables about our own UDP: one genuine block, one conntrack loss, in either order', () => {
    expect(echoRequests).toHaveLength(2);
    expect(unreachables).toHaveLength(2);
    for (const lines of [[...echoRequests, ...unreachables], [...unreachables, ...echoRequests]]) {
      const { results, summary } = classify(lines);
      expect(sorted(summary.flows.map(row))).toEqual(sorted([ECHO, ERROR]));
      // each flow is announced once, as what it is; the echo never re-labels the errors' flow (nor the reverse)
      const changes = results.flatMap((r) => (r.changes ?? []).map((c) => [c.kind, c.flow.rule, c.from ?? null]));
      expect(sorted(changes as unknown as Row[])).toEqual(sorted([['new', 'icmp-echo-request', null], ['new', 'icmp-error-own', null]] as unknown as Row[]));
      const error = summary.flows.find((f) => f.rule === 'icmp-error-own');
      expect(error?.reason).toMatch(/^ICMP destination unreachable \(code 3\) from 198\.18\.0\.2 about UDP 198\.18\.0\.1:40600 → 198\.18\.0\.2:33434/);
      expect(summary.flows.find((f) => f.rule === 'icmp-echo-request')?.reason).toMatch(/^ICMP echo request from 198\.18\.0\.1/);
    }
  });

  it('an echo reply and a port unreachable, IPv4 and IPv6 (real captures): two conntrack-loss flows each', () => {
    for (const [echo, unreach, label, server, client] of [
      ['echo4', 'icmp_unreach4', 'ICMP', '198.18.213.1', '198.18.213.2'],
      ['echo6', 'icmp_unreach6', 'ICMPv6', '2001:db8:213::1', '2001:db8:213::2'],
    ] as const) {
      const proto = label.toLowerCase();
      const want: Row[] = [
        [proto, server, client, 'conntrack-loss', 'icmp-echo-reply', `${label} echo`, 1],
        [proto, server, client, 'conntrack-loss', 'icmp-error-own', null, 1],
      ];
      for (const lines of [[...capture(echo), ...capture(unreach)], [...capture(unreach), ...capture(echo)]]) {
        expect(sorted(classify(lines).summary.flows.map(row)), `${echo} + ${unreach}`).toEqual(sorted(want));
      }
    }
  });

  it('analyze --summary (the scanner\'s packets) keys them alike', async () => {
    const s = await analyzeSummary([...unreachables, ...echoRequests, ...capture('echo6'), ...capture('icmp_unreach6')]);
    expect(sorted(s.flows.map(row))).toEqual(sorted([
      ECHO, ERROR,
      ['icmpv6', '2001:db8:213::1', '2001:db8:213::2', 'conntrack-loss', 'icmp-echo-reply', 'ICMPv6 echo', 1],
      ['icmpv6', '2001:db8:213::1', '2001:db8:213::2', 'conntrack-loss', 'icmp-error-own', null, 1],
    ]));
    expect(s.summary).toMatchObject({ events: 6, flows: 4, 'conntrack-loss': 4, 'genuine-block': 2 });
  });
});

// A real kernel's lines (fixtures/kernel/rare/captures.txt, packets an audit crafted): an echo request (plain-55) and
// a unicast neighbour solicitation (plain-72), both 2001:db8:20::1 → ::2, both refused by one rule. One flow held
// both, named after whichever came first: "ICMPv6 echo, 2 drops" hid the solicitation, and opening echo would leave
// IPv6 between them broken. Neighbour discovery and MLD are a class of their own (verdict.ts ICMP_LINK); the case a
// real stack makes (solicitations beside pings to a link-local address) is test/lab/ipv6-nud.test.ts.
describe('ICMPv6 flows: neighbour discovery and echo between one pair of hosts are separate flows', () => {
  const rare = readFileSync('fixtures/kernel/rare/captures.txt', 'utf8').split('\n');
  const one = (prefix: string) => {
    const l = rare.filter((x) => !x.startsWith('#') && x.includes(`;${prefix} IN=`));
    expect(l, prefix).toHaveLength(1);
    return l;
  };
  const echo = one('H2b537-plain-55');
  const ns = one('H2b537-plain-72');
  const want: Row[] = [
    ['icmpv6', '2001:db8:20::2', '2001:db8:20::1', 'genuine-block', 'icmp-echo-request', 'ICMPv6 echo', 1],
    ['icmpv6', '2001:db8:20::2', '2001:db8:20::1', 'genuine-block', 'icmp-neighbour-discovery', 'ICMPv6 neighbour discovery', 1],
  ];
  it('an echo request and a unicast solicitation: two genuine blocks, each named for itself, in either order', () => {
    for (const lines of [[...echo, ...ns], [...ns, ...echo]]) {
      const { summary } = classify(lines);
      expect(sorted(summary.flows.map(row))).toEqual(sorted(want));
      expect(summary.flows.find((f) => f.rule === 'icmp-neighbour-discovery')?.reason).toBe('ICMPv6 neighbour discovery (type 135) from 2001:db8:20::1 refused: IPv6 does not work without it');
    }
  });
  it('analyze --summary (the scanner\'s packets) keys them alike', async () => {
    const s = await analyzeSummary([...ns, ...echo, ...ns]);
    expect(sorted(s.flows.map(row))).toEqual(sorted([want[0]!, [...want[1]!.slice(0, 6), 2] as Row]));
    expect(s.summary).toMatchObject({ events: 3, flows: 2, 'genuine-block': 3 });
  });
});
