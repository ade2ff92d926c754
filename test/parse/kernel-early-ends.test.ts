/**
 * Lines where the kernel itself stops early, built field by field from net/netfilter/nf_log_syslog.c (Linux 6.18):
 * they are whole lines and must be events, in the JavaScript parser and in the scanner alike, while the same line
 * cut by a relay before a field the kernel always prints stays a truncated issue.
 */
import { describe, expect, it } from 'vitest';
import type { DropEvent, LineResult } from '../../src/parse/event.js';
import { createParser } from '../../src/parse/parse-line.js';
import { createClassifier } from '../../src/classify/classifier.js';

const OPTS = { tz: 'UTC', now: () => Date.parse('2026-11-24T12:00:00Z') } as const;

/** The line through the JavaScript parser (general and fast path) and through the scanner: all three must agree. */
function parse(line: string): LineResult {
  const js = createParser({ ...OPTS, fastPath: false }).parseLine(line);
  const fast = createParser(OPTS).parseLine(line);
  const results: LineResult[] = [];
  const p = createParser(OPTS);
  p.parseBytes(Buffer.from(`${line}\n`), results);
  for (const r of p.flush()) results.push(r);
  expect(fast, line).toEqual(js);
  expect(results.length, line).toBe(js.kind === 'event' || js.kind === 'issue' ? 1 : 0);
  if (results.length === 1) expect(results[0], line).toEqual(js);
  return js;
}

function event(line: string): DropEvent {
  const r = parse(line);
  expect(r.kind, `${line}: ${r.kind === 'issue' ? r.issue.message : ''}`).toBe('event');
  return (r as { event: DropEvent }).event;
}

function truncated(line: string): void {
  const r = parse(line);
  expect(r.kind, line).toBe('issue');
  if (r.kind === 'issue') expect(r.issue.issue, line).toBe('truncated');
}

describe('whole lines the kernel ends early', () => {
  // nft `table netdev … { chain e { type filter hook egress device eth0 priority 0; log prefix "EGR " } }`: on egress
  // the packet's data starts at its MAC header, so nf_log_ip_packet's skb_network_offset(skb) is 14 and
  // dump_ipv4_packet quotes no packet and prints no UID=/MARK= (`if (!iphoff)`); there is no input device.
  const egress = '4,5801,27890000001,-;EGR IN= OUT=eth0 SRC=198.18.20.2 DST=198.18.20.1 LEN=56 TOS=0x00 PREC=0xC0 TTL=64 ID=4242 PROTO=ICMP';

  it('an IPv4 ICMP error on the netdev egress hook quotes no packet: an event, not a cut line', () => {
    expect(event(`${egress} TYPE=3 CODE=3 `)).toMatchObject({ in: '', out: 'eth0', proto: 'ICMP', icmp: { type: 3, code: 3 } });
    expect(event(`${egress} TYPE=3 CODE=4 MTU=1400 `).icmp).toEqual({ type: 3, code: 4, mtu: 1400 });
    expect(event(`${egress} TYPE=5 CODE=1 GATEWAY=198.18.20.254 `).icmp).toEqual({ type: 5, code: 1, gateway: '198.18.20.254' });
    expect(event(`${egress} TYPE=11 CODE=0 `).icmp).toEqual({ type: 11, code: 0 });
  });

  it('an ICMP error without its quoted packet is still a cut line where the kernel would have quoted it', () => {
    // fragmentation-needed always has MTU=, a redirect GATEWAY=
    truncated(`${egress} TYPE=3 CODE=4 `);
    truncated(`${egress} TYPE=5 CODE=1 `);
    // an input device (MAC= follows it) or MARK= (printed only when the packet is quoted): the IP header led the data
    truncated('4,5802,27890000002,-;IN=eth0 OUT= MAC=02:00:c6:12:14:02:02:00:c6:12:14:01:08:00 SRC=198.18.20.2 DST=198.18.20.1 LEN=56 TOS=0x00 PREC=0xC0 TTL=64 ID=4242 PROTO=ICMP TYPE=3 CODE=3 ');
    truncated(`${egress} TYPE=3 CODE=3 MARK=0x2a `);
    // ICMPv6 quotes by its own `recurse` argument, wherever the header starts
    truncated('4,5803,27890000003,-;EGR IN= OUT=eth0 SRC=2001:0db8:0020:0000:0000:0000:0000:0002 DST=2001:0db8:0020:0000:0000:0000:0000:0001 LEN=104 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=ICMPv6 TYPE=1 CODE=4 ');
  });

  // nft `table bridge` / `table netdev` log rules see any frame of an IP or ARP ethertype, also one shorter than the
  // header: dump_ipv4_packet, dump_ipv6_packet and dump_arp_packet then print `TRUNCATED` and return.
  const mac = 'MAC=02:00:c6:12:14:02:02:00:c6:12:14:01';

  it('a frame too short for its IP or ARP header: the kernel prints TRUNCATED and stops — an event without addresses', () => {
    const v4 = event(`4,5804,27890000004,-;BR IN=p1 OUT= ${mac}:08:00 TRUNCATED`);
    expect(v4).toMatchObject({ prefix: 'BR ', in: 'p1', out: '', macproto: '0800', truncated: true });
    expect(v4.family).toBeUndefined();
    expect(v4.src).toBeUndefined();
    expect(event(`4,5805,27890000005,-;BR IN=p1 OUT= ${mac}:86:dd TRUNCATED`)).toMatchObject({ macproto: '86dd', truncated: true });
    // log flags ether (MACSRC=… MACPROTO=); br_netfilter's PHYSIN=/PHYSOUT=; ARP (nothing of the MAC header before it)
    expect(event('4,5806,27890000006,-;BR IN=p1 OUT= MACSRC=02:00:c6:12:14:01 MACDST=02:00:c6:12:14:02 MACPROTO=0800 TRUNCATED')).toMatchObject({ macsrc: '02:00:c6:12:14:01', truncated: true });
    expect(event(`4,5807,27890000007,-;BR IN=br0 OUT=br0 PHYSIN=p1 PHYSOUT=p2 ${mac}:08:00 TRUNCATED`)).toMatchObject({ physin: 'p1', truncated: true });
    const arp = event('4,5808,27890000008,-;BR IN=p1 OUT= TRUNCATED');
    expect(arp).toMatchObject({ in: 'p1', truncated: true });
    expect(arp.arp).toBeUndefined();
    const c = createClassifier({});
    const r = c.classify(v4);
    expect(r.verdict).toBe('undetermined');
    expect(r.reason).toContain('too short for its IP or ARP header');
  });

  it('a line cut before or inside the word, or with anything after it, is still no event', () => {
    truncated(`4,5809,27890000009,-;BR IN=p1 OUT= ${mac}:08:00 TRUNC`);
    truncated(`4,5810,27890000010,-;BR IN=p1 OUT= ${mac}:08:00 `);
    truncated(`4,5811,27890000011,-;BR IN=p1 OUT= ${mac}:08:00 TRUNCATED SRC=198.18.20.1`);
  });

  // An IPv6 packet whose fragment header is cut short (fewer than its 8 bytes): dump_ipv6_packet prints `FRAG:`, then
  // `TRUNCATED ` and returns — with --log-ip-options inside an `OPT ( ` group it never closes.
  const v6 = '4,5812,27890000012,-;F6 IN=eth0 OUT= MAC=02:00:c6:12:14:02:02:00:c6:12:14:01:86:dd SRC=2001:0db8:0020:0000:0000:0000:0000:0001 DST=2001:0db8:0020:0000:0000:0000:0000:0002';

  it('an IPv6 fragment header the packet holds too little of: FRAG:TRUNCATED ends a whole line', () => {
    const plain = event(`${v6} LEN=46 TC=0 HOPLIMIT=64 FLOWLBL=0 FRAG:TRUNCATED `);
    expect(plain).toMatchObject({ family: 6, len: 46, truncated: true });
    expect(plain.frag).toBeUndefined();
    expect(plain.unknown).toBeUndefined();
    expect(event(`${v6} LEN=46 TC=0 HOPLIMIT=64 FLOWLBL=0 OPT ( FRAG:TRUNCATED `)).toMatchObject({ ipOpt: 'FRAG:TRUNCATED', truncated: true });
    // quoted by an ICMPv6 error (packet too big): the quoted packet is truncated, the outer MTU= still read
    const quoted = '4,5813,27890000013,-;F6 IN=eth0 OUT= MAC=02:00:c6:12:14:02:02:00:c6:12:14:01:86:dd SRC=2001:0db8:0021:0000:0000:0000:0000:0007 DST=2001:0db8:0020:0000:0000:0000:0000:0002 LEN=94 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=ICMPv6 TYPE=2 CODE=0 [SRC=2001:0db8:0020:0000:0000:0000:0000:0002 DST=2001:0db8:0022:0000:0000:0000:0000:0009 LEN=1280 TC=0 HOPLIMIT=64 FLOWLBL=0';
    for (const group of ['FRAG:TRUNCATED ] MTU=1280 ', 'OPT ( FRAG:TRUNCATED ] MTU=1280 ']) {
      const e = event(`${quoted} ${group}`);
      expect(e.icmp, group).toMatchObject({ type: 2, code: 0, mtu: 1280, inner: { len: 1280, truncated: true } });
      expect(e.truncated, group).toBeUndefined();
      expect(e.unknown, group).toBeUndefined();
    }
  });

  it('a fragment header cut by a relay is a truncated line', () => {
    truncated(`${v6} LEN=46 TC=0 HOPLIMIT=64 FLOWLBL=0 FRAG:TRUNC`);
    truncated(`${v6} LEN=46 TC=0 HOPLIMIT=64 FLOWLBL=0 FRAG:`);
  });
});
