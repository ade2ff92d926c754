/**
 * Lines a real kernel (6.18) wrote for the rarer cases an audit sent through iptables, ip6tables, nft and ebtables
 * rules in namespaces (fixtures/kernel/rare): SCTP, UDPLITE, GRE, IGMP, ESP and AH on both families, IPv6 extension
 * headers and fragments, ICMP and ICMPv6 errors quoting fragments, ECN flags, every log level, nft log flags, the
 * bridge and netdev families, ebtables' own format. Every line is a whole line the kernel wrote but one (cut by the
 * kernel's 1 KiB buffer), so every line but that one and the ebtables ones must be an event. The scanner gives the
 * same as the JavaScript parser on all of them (test/parse/wasm-scan.test.ts).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createParser } from '../../src/parse/parse-line.js';
import { createClassifier } from '../../src/classify/classifier.js';
import type { DropEvent, ParseIssue } from '../../src/parse/event.js';

const lines = readFileSync(new URL('../../fixtures/kernel/rare/captures.txt', import.meta.url), 'utf8')
  .split('\n')
  .filter((l) => l !== '' && !l.startsWith('#'));

function parseAll(): { events: DropEvent[]; issues: ParseIssue[] } {
  const p = createParser({ tz: 'UTC', now: () => Date.parse('2026-11-24T12:00:00Z') });
  const events: DropEvent[] = [];
  const issues: ParseIssue[] = [];
  for (const l of lines) {
    const r = p.parseLine(l);
    if (r.kind === 'event') events.push(r.event);
    else if (r.kind === 'issue') issues.push(r.issue);
  }
  return { events, issues };
}

/** The event of the first line that holds `text` (a fragment of the kernel's own line). */
function eventWith(text: string): DropEvent {
  const at = lines.filter((l) => l.includes(text));
  expect(at.length, text).toBeGreaterThan(0);
  const p = createParser({ tz: 'UTC', now: () => Date.parse('2026-11-24T12:00:00Z') });
  const r = p.parseLine(at[0]!);
  expect(r.kind, `${text}: ${r.kind === 'issue' ? r.issue.message : ''}`).toBe('event');
  return (r as { event: DropEvent }).event;
}

describe('rarer kernel lines (fixtures/kernel/rare)', () => {
  it('every whole line is an event; the kernel-cut line is truncated and ebtables lines are another format', () => {
    expect(lines.length).toBeGreaterThan(200);
    const { events, issues } = parseAll();
    expect(events.length + issues.length).toBe(lines.length);
    const truncated = issues.filter((i) => i.issue === 'truncated');
    expect(truncated).toHaveLength(1);
    expect(truncated[0]!.text).toContain('H2b537-opts-97 ');
    const other = issues.filter((i) => i.issue === 'other-format');
    expect(other.length).toBe(lines.filter((l) => l.includes(' MAC source = ')).length);
    expect(other.length).toBeGreaterThan(5);
    expect(issues.length).toBe(truncated.length + other.length);
  });

  it('IPv6 ESP: OPT ( ESP SPI=… ) names the protocol and its SPI; without options the line ends after FLOWLBL=', () => {
    const opt = eventWith('OPT ( ESP SPI=0x1234abcd )');
    expect(opt).toMatchObject({ family: 6, proto: 'ESP', spi: 0x1234abcd, ipOpt: 'ESP SPI=0x1234abcd' });
    const plain = eventWith('H2b537-plain-49 ');
    expect(plain.family).toBe(6);
    expect(plain.flowlbl).toBe(0);
    expect(plain.proto).toBeUndefined();
  });

  it('IPv6 AH in OPT ( … ) gives its SPI, the transport after it stays the protocol', () => {
    const e = eventWith('OPT ( AH SPI=0xdeadbeef )');
    expect(e).toMatchObject({ proto: 'TCP', spi: 0xdeadbeef, spt: 40051, dpt: 443, flags: ['SYN'] });
  });

  it('a later fragment that the kernel stops logging early: IPv4 AH (FRAG:3), IPv6 followed by an extension header', () => {
    expect(eventWith('H2b537-plain-8 ')).toMatchObject({ family: 4, frag: 3, id: 4242 });
    expect(eventWith('H2b537-plain-8 ').proto).toBeUndefined();
    const v6 = eventWith('H2b537-plain-60 ');
    expect(v6).toMatchObject({ family: 6, frag: 512, fragId: '00000055', ipFlags: ['MF'] });
    const v6opt = eventWith('H2b537-opts-91 ');
    expect(v6opt).toMatchObject({ family: 6, frag: 512, fragId: '00000055', ipFlags: ['MF'] });
  });

  it('bridge and netdev frames that are neither IP nor ARP: the MAC header only', () => {
    for (const l of lines.filter((x) => x.includes(':88:b5 ') || x.includes('MACPROTO=88b5 '))) {
      const r = createParser({ tz: 'UTC' }).parseLine(l);
      expect(r.kind, l).toBe('event');
      const e = (r as { event: DropEvent }).event;
      expect(e.macproto).toBe('88b5');
      expect(e.macsrc).toMatch(/^02:00:c6:12:1[47]:01$/);
      expect(e.src).toBeUndefined();
      expect(e.family).toBeUndefined();
    }
  });

  it('an ICMPv6 error quoting a fragment: the fragment id is the quoted packet\'s, not an unknown token', () => {
    const e = eventWith('ID:99887766 PROTO=UDP');
    expect(e.icmp?.inner).toMatchObject({ frag: 0, fragId: '99887766', ipFlags: ['MF'], proto: 'UDP', spt: 40068, dpt: 9999 });
    expect(e.icmp?.inner?.unknown).toBeUndefined();
    expect(e.fragId).toBeUndefined();
  });

  it('OPT (TRUNCATED) after a TCP header is a truncated header, not option bytes', () => {
    const e = eventWith('H2b537-opts-75 ');
    expect(e.truncated).toBe(true);
    expect(e.tcpOpt).toBeUndefined();
    expect(e.flags).toEqual(['SYN']);
  });

  it('keeps what it reads of lines the earlier fixtures lack: SCTP, UDPLITE, GRE as protocol numbers and names', () => {
    expect(eventWith('H2b537-plain-1 ').proto).toBe('132');
    expect(eventWith('H2b537-plain-2 ')).toMatchObject({ proto: 'UDPLITE', spt: 40136, dpt: 5000, udpLen: 8 });
  });

  it('the classifier says why such events tell nothing: an IPv6 line without PROTO=, a frame without IP', () => {
    const c = createClassifier({});
    const esp = c.classify(eventWith('H2b537-plain-49 '));
    expect(esp.verdict).toBe('undetermined');
    expect(esp.reason).toContain('IPv6 ESP packet');
    const frame = c.classify(eventWith('MACPROTO=88b5 '));
    expect(frame.verdict).toBe('undetermined');
    expect(frame.reason).toContain('neither IP nor ARP');
    // ESP named by its OPT ( … ): a protocol no rule accepted
    expect(c.classify(eventWith('OPT ( ESP SPI=0x1234abcd )')).verdict).toBe('genuine-block');
  });

  it('UDP-Lite drops are named UDP-Lite, not UDP, in the event\'s reason and the flow\'s', () => {
    const c = createClassifier({});
    const e = eventWith('H2b537-plain-2 ');
    const r = c.classify(e);
    expect(r.verdict).toBe('genuine-block');
    expect(r.reason).toMatch(/^UDP-Lite from 198\.18\.20\.1:40136 to 5000: /);
    const f = c.end().flows.find((x) => x.proto === 'udplite')!;
    expect(f.reason).toMatch(/^UDP-Lite from /);
    // plain UDP keeps its name
    const udp = { ...e, proto: 'UDP' };
    expect(createClassifier({}).classify(udp).reason).toMatch(/^UDP from /);
  });

  it('frames without IP addresses: the flow\'s reason is the event\'s; ARP lines are flows of their own, by their ARP addresses', () => {
    const c = createClassifier({});
    const p = createParser({ tz: 'UTC', now: () => Date.parse('2026-11-24T12:00:00Z') });
    // netdev-20 and -21 on one host: non-IP frames (ethertype 88b5) and ARP lines, one without addresses (HTYPE=0)
    const netdev = lines.filter((l) => /H2c514-netdev-2[01] /.test(l) && !l.includes(' SRC='));
    const arpLines = lines.filter((l) => l.includes('H2c514-bridge-2') && l.includes(' ARP '));
    expect(netdev.length).toBe(4);
    expect(arpLines.length).toBe(4);
    const reasons = new Set<string>();
    for (const l of [...netdev, ...arpLines]) {
      const r = p.parseLine(l);
      if (r.kind === 'event') reasons.add(c.classify(r.event).reason);
    }
    const { flows } = c.end();
    const frame = flows.filter((f) => f.proto === '' && f.client === '?');
    expect(frame).toHaveLength(1);
    expect(frame[0]).toMatchObject({ server: '?', count: 2 });
    expect(frame[0]!.reason).toContain('neither IP nor ARP');
    expect(reasons).toContain(frame[0]!.reason);
    const arp = flows.filter((f) => f.proto === 'arp').map((f) => [f.client, f.server, f.count, f.reason]);
    expect(arp).toEqual(expect.arrayContaining([
      ['?', '?', 2, 'ARP packet: not an IP flow'],
      ['198.18.23.1', '198.18.23.2', 2, 'ARP packet: not an IP flow'],
      ['198.18.23.2', '198.18.23.1', 2, 'ARP packet: not an IP flow'],
    ]));
    expect(arp).toHaveLength(3);
  });

  it('a relay cut that can be told from the kernel\'s own early end stays a truncated issue', () => {
    const p = createParser({ tz: 'UTC' });
    const cut = (l: string) => {
      const r = p.parseLine(l);
      expect(r.kind, l).toBe('issue');
      if (r.kind === 'issue') expect(r.issue.issue, l).toBe('truncated');
    };
    const bridge = lines.find((l) => l.includes('MACPROTO=88b5 '))!;
    // the ethertype is printed as %04x
    cut(bridge.slice(0, bridge.indexOf('MACPROTO=88b5') + 11));
    cut(bridge.slice(0, bridge.indexOf('MACPROTO=88b5') + 9));
    const ah = lines.find((l) => l.includes('H2b537-plain-8 '))!;
    // a later fragment whose line goes on after FRAG: (PROTO=, IP options) and was cut there
    cut(`${ah.trimEnd()} PROT`);
    cut(`${ah.trimEnd()} OPT (0102`);
    const esp = lines.find((l) => l.includes('OPT ( ESP SPI=0x1234abcd )'))!;
    // the kernel closes an OPT ( ESP … ) group
    cut(esp.slice(0, esp.indexOf('SPI=0x1234abcd') + 8));
    cut(esp.slice(0, esp.indexOf('ESP SPI') + 4));
    // a word that only begins with ESP is no ESP header
    cut(esp.replace('OPT ( ESP SPI=0x1234abcd )', 'OPT ( ESPX )'));
  });
});
