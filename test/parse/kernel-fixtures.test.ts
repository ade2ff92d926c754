/**
 * Every line the kernel wrote in fixtures/kernel (captured by fixtures/kernel/capture.sh from real netfilter rules in
 * network namespaces), in three envelopes, checked against what each capture scenario knows independently of any
 * parser (fixtures/kernel/expected.json), plus a snapshot of every field of every event.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createParser } from '../../src/parse/parse-line.js';
import type { DropEvent, LineResult } from '../../src/parse/event.js';

const dir = new URL('../../fixtures/kernel/', import.meta.url);
const read = (name: string): string[] => readFileSync(new URL(name, dir), 'utf8').split('\n').filter((l) => l !== '');

interface Expected {
  line: number;
  usec: number;
  kmsgPriority: number;
  scenario: string;
  family: 'ipv4' | 'ipv6' | 'arp';
  prefix?: string;
  prefixStartsWith?: string;
  in: string;
  out: string;
  physin?: string;
  physout?: string;
  mac?: string;
  src?: string;
  dst?: string;
  srcFull?: string;
  dstFull?: string;
  proto?: string;
  spt?: number;
  dpt?: number;
  tcpFlags?: string[];
  udpLen?: number;
  uid?: number;
  gid?: number;
  mark?: string;
  icmpType?: number;
  icmpCode?: number;
  icmpId?: number;
  icmpSeq?: number;
  inner?: { src: string; dst: string; proto: string; spt?: number; dpt?: number; udpLen?: number };
  ipLen?: number;
  mf?: boolean;
  df?: boolean;
  fragOffset?: number;
  ipOptionsHex?: string;
  tcpOptionsContainHex?: string;
  logTcpSequence?: boolean;
  tcpAck?: number;
  ctReason?: string;
  arpOpcode?: number;
  arpMacSrc?: string;
  arpIpSrc?: string;
  arpIpDst?: string;
}

const expected = (JSON.parse(readFileSync(new URL('expected.json', dir), 'utf8')) as { records: Expected[] }).records;

function eventOf(r: LineResult): DropEvent {
  if (r.kind !== 'event') throw new Error(`expected an event, got ${JSON.stringify(r)}`);
  return r.event;
}

/** Asserts the scenario's facts on a parsed event. */
function check(ev: DropEvent, x: Expected): void {
  if (x.prefix !== undefined) expect(ev.prefix).toBe(x.prefix);
  if (x.prefixStartsWith !== undefined) expect(ev.prefix.startsWith(x.prefixStartsWith)).toBe(true);
  expect(ev.in).toBe(x.in);
  expect(ev.out).toBe(x.out);
  expect(ev.physin).toBe(x.physin);
  expect(ev.physout).toBe(x.physout);
  if (x.mac !== undefined) {
    expect(ev.mac).toBe(x.mac);
    expect(ev.macdst).toBe(x.mac.slice(0, 17));
    expect(ev.macsrc).toBe(x.mac.slice(18, 35));
  }
  if (x.family === 'arp') {
    expect(ev.family).toBeUndefined();
    expect(ev.arp?.opcode).toBe(x.arpOpcode);
    expect(ev.arp?.macsrc).toBe(x.arpMacSrc);
    expect(ev.arp?.ipsrc).toBe(x.arpIpSrc);
    expect(ev.arp?.ipdst).toBe(x.arpIpDst);
    return;
  }
  expect(ev.family).toBe(x.family === 'ipv4' ? 4 : 6);
  if (x.family === 'ipv6') {
    expect(ev.src).toBe(x.srcFull);
    expect(ev.dst).toBe(x.dstFull);
    expect(ev.srcShort).toBe(x.src);
    expect(ev.dstShort).toBe(x.dst);
  } else {
    expect(ev.src).toBe(x.src);
    expect(ev.dst).toBe(x.dst);
  }
  expect(ev.proto).toBe(x.proto);
  if (x.spt !== undefined) expect(ev.spt).toBe(x.spt);
  if (x.dpt !== undefined) expect(ev.dpt).toBe(x.dpt);
  if (x.tcpFlags !== undefined) expect(x.tcpFlags).toContain(ev.flags?.join(' '));
  if (x.proto !== 'TCP') expect(ev.flags).toBeUndefined();
  if (x.udpLen !== undefined) expect(ev.udpLen).toBe(x.udpLen);
  if (x.uid !== undefined) expect([ev.uid, ev.gid]).toEqual([x.uid, x.gid]);
  else expect(ev.uid).toBeUndefined();
  if (x.mark !== undefined) expect(ev.mark).toBe(Number.parseInt(x.mark, 16));
  else expect(ev.mark).toBeUndefined();
  if (x.icmpType !== undefined) {
    expect(ev.icmp?.type).toBe(x.icmpType);
    expect(ev.icmp?.code).toBe(x.icmpCode);
  }
  if (x.icmpId !== undefined) expect([ev.icmp?.id, ev.icmp?.seq]).toEqual([x.icmpId, x.icmpSeq]);
  if (x.inner !== undefined) {
    const inner = ev.icmp?.inner;
    expect(inner?.src).toBe(x.inner.src);
    expect(inner?.dst).toBe(x.inner.dst);
    expect(inner?.proto).toBe(x.inner.proto);
    if (x.inner.spt !== undefined) expect([inner?.spt, inner?.dpt]).toEqual([x.inner.spt, x.inner.dpt]);
    if (x.inner.udpLen !== undefined) expect(inner?.udpLen).toBe(x.inner.udpLen);
    // The quoted packet never overwrites the outer one.
    expect(ev.src).not.toBe(inner?.src);
    expect(ev.spt).toBeUndefined();
  }
  if (x.ipLen !== undefined) expect(ev.len).toBe(x.ipLen);
  if (x.mf !== undefined) expect(ev.ipFlags?.includes('MF') ?? false).toBe(x.mf);
  if (x.df !== undefined) expect(ev.ipFlags?.includes('DF') ?? false).toBe(x.df);
  if (x.fragOffset !== undefined) expect(ev.frag ?? 0).toBe(x.fragOffset);
  if (x.ipOptionsHex !== undefined) expect(ev.ipOpt).toBe(x.ipOptionsHex);
  if (x.tcpOptionsContainHex !== undefined) expect(ev.tcpOpt).toContain(x.tcpOptionsContainHex);
  if (x.logTcpSequence === true) expect(typeof ev.seq).toBe('number');
  if (x.tcpAck !== undefined) expect(ev.ack).toBe(x.tcpAck);
  if (x.ctReason !== undefined) expect(ev.ctInvalid).toEqual({ protonum: 6, reason: x.ctReason });
  else expect(ev.ctInvalid).toBeUndefined();
}

describe('kernel-written fixtures', () => {
  const kmsg = read('kmsg.txt');
  const dmesg = read('dmesg.txt');
  const syslog = read('syslog.txt');

  it('has one expected record per captured line, in every envelope', () => {
    expect(kmsg.length).toBeGreaterThanOrEqual(40);
    expect(expected.length).toBe(kmsg.length);
    expect(dmesg.length).toBe(kmsg.length);
    expect(syslog.length).toBe(kmsg.length);
    // Every scenario the parser issue asks for was captured.
    const scenarios = new Set(expected.map((x) => x.scenario));
    for (const s of ['tcp_syn_blocked', 'midstream_ack', 'midstream_ack_psh', 'midstream_ack_fin', 'midstream_rst', 'udp_blocked',
      'icmp_echo_dropped', 'icmp_port_unreachable', 'ipv6_tcp_syn_blocked', 'ipv6_icmp_echo_dropped', 'ipv4_fragments',
      'output_log_uid', 'tcp_ip_options', 'mark_then_log', 'nft_log_prefix_v4', 'bridge_physin_input', 'ct_invalid_kernel',
      'arp_request']) {
      expect(scenarios).toContain(s);
    }
  });

  for (const [name, fastPath] of [['fast path', true], ['general tokenizer', false]] as const) {
    it(`/dev/kmsg records (${name}): every scenario fact, kernel transport, monotonic time`, () => {
      const p = createParser({ fastPath });
      kmsg.forEach((line, i) => {
        const x = expected[i] as Expected;
        const ev = eventOf(p.parseLine(line));
        expect(ev.line).toBe(i + 1);
        expect(ev.envelope).toBe('kmsg');
        expect(ev.transport).toBe('kernel');
        expect(ev.mono).toBeCloseTo(x.usec / 1e6, 6);
        expect(ev.time).toBeNull();
        check(ev, x);
      });
      expect(p.counters).toMatchObject({ lines: kmsg.length, events: kmsg.length, issues: 0, skipped: 0 });
    });
  }

  it('dmesg lines give the same events as the kmsg records', () => {
    const a = createParser();
    const b = createParser();
    dmesg.forEach((line, i) => {
      const ev = eventOf(a.parseLine(line));
      const ref = eventOf(b.parseLine(kmsg[i] as string));
      expect(ev.envelope).toBe('dmesg');
      expect({ ...ev, envelope: 'kmsg' }).toEqual(ref);
    });
  });

  it('syslog lines: RFC3164 time with the inferred year, host, kernel stamp, syslog transport', () => {
    const p = createParser({ tz: 'UTC', now: () => Date.parse('2026-11-23T12:00:00Z') });
    const first = expected[0] as Expected;
    syslog.forEach((line, i) => {
      const x = expected[i] as Expected;
      const ev = eventOf(p.parseLine(line));
      expect(ev.envelope).toBe('rfc3164');
      expect(ev.transport).toBe('syslog');
      expect(ev.host).toBe('labhost');
      expect(ev.mono).toBeCloseTo(x.usec / 1e6, 6);
      const secs = Math.floor((x.usec - first.usec) / 1e6);
      expect(ev.ts).toBe(Date.parse('2026-11-23T07:01:02Z') + secs * 1000);
      check(ev, x);
    });
  });

  it('every field of every event (snapshot)', async () => {
    const p = createParser({ bootTimeMs: Date.parse('2026-11-23T06:49:00Z') });
    const events = kmsg.map((l) => eventOf(p.parseLine(l)));
    await expect(`${events.map((e) => JSON.stringify(e)).join('\n')}\n`).toMatchFileSnapshot('__snapshots__/kernel-fixtures.ndjson');
  });
});
