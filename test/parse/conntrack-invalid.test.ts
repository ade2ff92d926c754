/**
 * conntrack's own INVALID log (`nf_conntrack_log_invalid`): no LOG rule's prefix but `nf_ct_proto_<n>: <reason> `
 * since Linux 4.14, and before it the tracker's name, `nf_ct_tcp: <reason> ` (nf_log_packet() called with no
 * devices: `IN= OUT=`, no MAC). Both read as a conntrack INVALID record, by the JavaScript parser and the scanner alike.
 */
import { describe, expect, it } from 'vitest';
import type { DropEvent, LineResult } from '../../src/parse/event.js';
import { createParser } from '../../src/parse/parse-line.js';
import { eventOf } from './results.js';

const OPTS = { tz: 'UTC', now: () => Date.parse('2017-06-01T00:00:00Z') } as const;
const V4 = 'IN= OUT= SRC=198.18.0.1 DST=198.18.0.2 LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=14214 DF ';
const V6 = 'IN= OUT= SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=104 TC=0 HOPLIMIT=64 FLOWLBL=0 ';
const TCP = 'PROTO=TCP SPT=10257 DPT=46005 SEQ=365512053 ACK=999223894 WINDOW=64 RES=0x00 ACK FIN URGP=0 OPT (0101080AFF513094F2C88790) ';

/** Lines in the layout a 4.9 kernel wrote them (the message strings of its nf_conntrack_proto_*.c), and what they say. */
const OLD: [string, number, string][] = [
  [`nf_ct_tcp: invalid packet ignored ${V4}${TCP}`, 6, 'invalid packet ignored'],
  [`nf_ct_tcp: SEQ is over the upper bound (over the window of the receiver) ${V4}${TCP}`, 6, 'SEQ is over the upper bound (over the window of the receiver)'],
  [`nf_ct_udp: bad UDP checksum ${V4}PROTO=UDP SPT=123 DPT=123 LEN=56 `, 17, 'bad UDP checksum'],
  [`nf_ct_udplite: invalid checksum coverage ${V4}PROTO=UDPLITE SPT=5000 DPT=5001 LEN=40 `, 136, 'invalid checksum coverage'],
  [`nf_ct_icmp: invalid ICMP type ${V4}PROTO=ICMP TYPE=44 CODE=0 `, 1, 'invalid ICMP type'],
  [`nf_ct_icmpv6: invalid new with type 129 ${V6}PROTO=ICMPv6 TYPE=129 CODE=0 ID=7 SEQ=1 `, 58, 'invalid new with type 129'],
  [`nf_ct_dccp: invalid state transition ${V4}PROTO=33 `, 33, 'invalid state transition'],
];

const ENVELOPED = (msg: string, i: number): string => `Jun  1 10:00:0${i} node-1 kernel: [1072190.39459${i}] ${msg}`;

function viaLines(lines: string[], opts: Parameters<typeof createParser>[0] = OPTS): LineResult[] {
  const p = createParser(opts);
  return lines.map((l) => p.parseLine(l));
}

function viaBytes(lines: string[], opts: Parameters<typeof createParser>[0] = OPTS): LineResult[] {
  const p = createParser(opts);
  const out: LineResult[] = [];
  p.parseBytes(Buffer.from(lines.map((l) => `${l}\n`).join('')), out);
  return out;
}

describe('conntrack INVALID lines', () => {
  it("today's `nf_ct_proto_<n>: ` names the protocol by number", () => {
    const e = eventOf(viaLines([`nf_ct_proto_6: invalid packet ignored in state ESTABLISHED ${V4}${TCP}`])[0]);
    expect(e.ctInvalid).toEqual({ protonum: 6, reason: 'invalid packet ignored in state ESTABLISHED' });
  });

  it("SCTP's and DCCP's reasons still begin with the tracker's old name (`nf_ct_proto_132: nf_ct_sctp: short packet`): the reason is what follows it", () => {
    const lines = [`nf_ct_proto_132: nf_ct_sctp: short packet ${V4}PROTO=132 `, `nf_ct_proto_33: nf_ct_dccp: invalid packet ${V4}PROTO=33 `];
    for (const results of [viaLines(lines), viaBytes(lines)]) {
      expect(results.map((r) => eventOf(r).ctInvalid)).toEqual([{ protonum: 132, reason: 'short packet' }, { protonum: 33, reason: 'invalid packet' }]);
    }
  });

  it('before Linux 4.14 each tracker logged under its own name: the same record, its protocol number from the name', () => {
    const lines = OLD.map(([l], i) => ENVELOPED(l, i));
    for (const results of [viaLines(lines), viaBytes(lines)]) {
      expect(results).toHaveLength(OLD.length);
      results.forEach((r, i) => {
        const [line, protonum, reason] = OLD[i]!;
        const e: DropEvent = eventOf(r);
        expect(e.ctInvalid, line).toEqual({ protonum, reason });
        expect(e.prefix).toBe(line.slice(0, line.indexOf('IN=')));
        expect([e.envelope, e.host, e.in, e.out, e.mac]).toEqual(['rfc3164', 'node-1', '', '', undefined]);
      });
    }
    expect(JSON.stringify(viaBytes(lines))).toBe(JSON.stringify(viaLines(lines)));
  });

  it('are kept whatever --prefix says (they carry no LOG prefix), old and new alike', () => {
    const lines = [...OLD.map(([l], i) => ENVELOPED(l, i)), ENVELOPED(`nf_ct_proto_17: bad checksum ${V4}PROTO=UDP SPT=1 DPT=2 LEN=8 `, 9)];
    const opts = { ...OPTS, prefixes: ['HARVESTER_DROP_'] };
    for (const results of [viaLines(lines, opts), viaBytes(lines, opts)]) {
      expect(results.filter((r) => r.kind === 'event')).toHaveLength(lines.length);
    }
  });

  it('another nf_ct_ name is no tracker (a helper dropping a packet logs `nf_ct_ftp: dropping packet: `): a LOG line', () => {
    const lines = [ENVELOPED(`nf_ct_ftp: dropping packet: partial response ${V4}${TCP}`, 1), ENVELOPED(`nf_ct_sctp: short packet ${V4}PROTO=132 `, 2)];
    for (const results of [viaLines(lines), viaBytes(lines)]) {
      for (const r of results) expect(eventOf(r).ctInvalid).toBeUndefined();
    }
    expect(JSON.stringify(viaBytes(lines))).toBe(JSON.stringify(viaLines(lines)));
  });
});
