/**
 * The hand-written NDJSON encoder against a reference: JSON.stringify of the event with its keys in contract order
 * (undefined members left out), plus DEL, C1 and U+2028/U+2029 escaped as \uXXXX — on arbitrary events, hostile
 * strings in every string field, many events in a row (so the caches hit, collide and miss) and tiny chunks (so
 * lines move to new chunks mid-event).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { DropEvent, Envelope, IcmpInfo, InnerPacket } from '../../src/parse/event.js';
import { NdjsonBuffer, eventToJson, issueToJson, jsonString, jsonValue } from '../../src/output/ndjson.js';
import { createParser } from '../../src/parse/parse-line.js';

/** DropEvent's keys in contract order (src/parse/event.ts). */
const KEYS = [
  'line', 'file', 'time', 'ts', 'mono', 'host', 'envelope', 'transport', 'prefix', 'in', 'out', 'physin', 'physout',
  'mac', 'macsrc', 'macdst', 'macproto', 'vproto', 'vid', 'family', 'src', 'dst', 'srcShort', 'dstShort', 'len',
  'tos', 'prec', 'ttl', 'id', 'tc', 'hoplimit', 'flowlbl', 'ipFlags', 'frag', 'fragId', 'ipOpt', 'proto', 'spt',
  'dpt', 'seq', 'ack', 'window', 'res', 'flags', 'urgp', 'tcpOpt', 'udpLen', 'icmp', 'spi', 'incomplete',
  'truncated', 'uid', 'gid', 'mark', 'arp', 'ctInvalid', 'unknown',
] as const satisfies readonly (keyof DropEvent)[];

const UNSAFE = /[\u007f-\u009f\u2028\u2029]/g;
function reference(ev: DropEvent, extra = ''): string {
  const o: Record<string, unknown> = {};
  for (const k of KEYS) o[k] = ev[k];
  let j = JSON.stringify(o);
  if (extra !== '') j = `${j.slice(0, -1)},${extra}}`;
  return j.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Everything `buf` holds, as text. */
function drain(buf: NdjsonBuffer): string {
  return Buffer.concat(buf.take()).toString('utf8');
}

// ---------------------------------------------------------------------------------------------------------------
// Arbitraries

/** Any UTF-16 code unit, lone surrogates included. */
const anyUnit = fc.nat(0xffff).map((c) => String.fromCharCode(c));
/** The characters that need care: C0, quote, backslash, DEL, C1, line separators, non-ASCII, surrogates. */
const nastyUnit = fc.constantFrom(
  '\u0000', '\u0007', '\t', '\n', '\u001b', '"', '\\', '/', '\u007f', '\u0085', '\u009b', '\u00e9', '\u2028',
  '\u2029', '\ud800', '\udfff', '\ud83d\ude00', '\ufeff', ' ', 'a', '0', ':',
);
const hostile = fc.oneof(
  fc.string({ unit: anyUnit, maxLength: 40 }),
  fc.string({ unit: nastyUnit, maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
);
/** A few realistic values per field, so that many events in a row repeat them (cache hits) … */
const pool = (...v: string[]) => fc.constantFrom(...v);
/** … mixed with hostile ones and, rarely, long ones (a line longer than a chunk). */
const str = (common: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 6, arbitrary: common },
    { weight: 3, arbitrary: hostile },
    { weight: 1, arbitrary: fc.string({ unit: nastyUnit, minLength: 200, maxLength: 3000 }) },
  );
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 2 });

const ints = fc.oneof(
  fc.integer({ min: 0, max: 300 }),
  fc.integer({ min: 0, max: 65535 }),
  fc.constantFrom(0, 9, 10, 99, 100, 999, 1000, 9999, 10000, 99999999, 100000000, 4294967295, 2 ** 53 - 1),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  fc.integer(),
);
/** Any finite number: JSON has no NaN or Infinity (the contract never produces them either). */
const anyNumber = fc.oneof(ints, fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(-0));
const monoArb = fc.oneof(
  fc.integer({ min: 0, max: 999_999_999_999 }).map((u) => u / 1e6), // kernel seconds, 6 decimals
  fc.integer({ min: 0, max: 1e9 }).map((u) => Number((u / 1000).toFixed(3))),
  fc.constantFrom(0, 1000.021, 0.5, 1e-6, 1e-7, 999999999.999999, 1e9, 123456789.1234567, -1.5),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const tsArb = fc.oneof(
  fc.integer({ min: 1_600_000_000_000, max: 1_800_000_000_000 }),
  fc.constantFrom(0, 999_999, 1_000_000, 99_999_999_999_999, 1e15, 2 ** 53 - 1, -1),
  anyNumber,
);
const envelopeArb = fc.constantFrom<Envelope>(
  'rfc3164', 'rfc3339', 'rfc5424', 'journal-short-monotonic', 'journal-short-delta', 'journal-short-unix',
  'journal-short-full', 'journal-json', 'journal-export', 'dmesg', 'dmesg-T', 'kmsg', 'talos', 'bare',
);
const words = (common: fc.Arbitrary<string>) => fc.array(str(common), { maxLength: 5 });
const flagWord = pool('ACK', 'PSH', 'SYN', 'FIN', 'RST', 'URG', 'ECE', 'CWR', 'AE');
const ipFlagWord = pool('CE', 'DF', 'MF');
const addr = pool('192.168.122.1', '192.168.122.72', '10.0.0.1', 'fd00:0000:0000:0000:0000:0000:0000:0047', '::1', '203.0.113.200');
const macHeader = pool(
  '52:54:00:48:aa:01:52:54:00:01:bb:02:08:00',
  '52:54:00:3f:aa:01:52:54:00:47:bb:02:08:00',
  '52:54:00:3f:aa:01:52:54:00:53:bb:02:08:00',
  'ff:ff:ff:ff:ff:ff:52:54:00:01:bb:02:08:06',
  '',
);
const macAddr = pool('52:54:00:01:bb:02', '52:54:00:48:aa:01', '52:54:00:47:bb:02', 'ff:ff:ff:ff:ff:ff');

/** An object with the given members in a random order (nested objects are written in their own key order). */
function shuffled(members: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> {
  const keys = Object.keys(members);
  return fc
    .tuple(fc.shuffledSubarray(keys), ...keys.map((k) => opt(members[k] as fc.Arbitrary<unknown>)))
    .map(([order, ...values]) => {
      const o: Record<string, unknown> = {};
      for (const k of order) o[k] = values[keys.indexOf(k)];
      return o;
    });
}

const innerArb = shuffled({
  src: str(addr), dst: str(addr), srcShort: str(addr), len: ints, ttl: ints, proto: str(pool('UDP', 'TCP')),
  spt: ints, dpt: ints, flags: words(flagWord), truncated: fc.constant(true), unknown: words(pool('X')),
  icmp: shuffled({ type: ints, code: ints }),
}) as fc.Arbitrary<InnerPacket>;
const icmpArb = fc
  .tuple(ints, ints, shuffled({ id: ints, seq: ints, mtu: ints, gateway: str(addr), parameter: anyNumber }), opt(innerArb))
  .map(([type, code, rest, inner]) => ({ type, code, ...rest, ...(inner === undefined ? {} : { inner }) }) as IcmpInfo);
const arpArb = fc
  .tuple(ints, ints, ints, shuffled({ macsrc: str(macAddr), ipsrc: str(addr), macdst: str(macAddr), ipdst: str(addr) }))
  .map(([htype, ptype, opcode, rest]) => ({ htype, ptype, opcode, ...rest }));

const eventArb: fc.Arbitrary<DropEvent> = fc
  .record({
    line: fc.oneof(fc.integer({ min: 1, max: 2_000_000 }), ints),
    file: opt(str(pool('/var/log/kern.log', 'rotated.1'))),
    time: fc.option(str(pool('2024-04-22T10:00:00Z', '2024-04-22T10:00:00.042000Z', '2026-04-22T10:00:01Z')), { nil: null }),
    ts: fc.option(tsArb, { nil: null }),
    mono: fc.option(monoArb, { nil: null }),
    host: fc.option(str(pool('worker-b', 'harvester1', 'h')), { nil: null }),
    envelope: envelopeArb,
    transport: opt(fc.constantFrom('kernel' as const, 'syslog' as const)),
    prefix: str(pool('HARVESTER_DROP_', 'FW DROP: ', '', 'nf_ct_proto_6: invalid packet ignored ')),
    in: str(pool('mgmt-br', 'eth0', '')),
    out: str(pool('', 'cali1234567890a')),
    physin: opt(str(pool('eth1', 'veth0'))),
    physout: opt(str(pool('eth2'))),
    mac: opt(str(macHeader)),
    macsrc: opt(str(macAddr)),
    macdst: opt(str(macAddr)),
    macproto: opt(str(pool('0800', '86dd', '0806'))),
    vproto: opt(str(pool('8100'))),
    vid: opt(ints),
    family: opt(fc.constantFrom(4 as const, 6 as const)),
    src: opt(str(addr)),
    dst: opt(str(addr)),
    srcShort: opt(str(addr)),
    dstShort: opt(str(addr)),
    len: opt(ints), tos: opt(ints), prec: opt(ints), ttl: opt(ints), id: opt(ints), tc: opt(ints),
    hoplimit: opt(ints), flowlbl: opt(ints),
    ipFlags: opt(words(ipFlagWord)),
    frag: opt(ints),
    fragId: opt(str(pool('0000abcd'))),
    ipOpt: opt(str(pool('0A0B0C'))),
    proto: opt(str(pool('TCP', 'UDP', 'ICMP', 'ICMPv6', '47'))),
    spt: opt(ints), dpt: opt(ints), seq: opt(ints), ack: opt(ints), window: opt(ints), res: opt(ints),
    flags: opt(words(flagWord)),
    urgp: opt(ints),
    tcpOpt: opt(str(pool('020405B40101040201030307'))),
    udpLen: opt(ints),
    icmp: opt(icmpArb),
    spi: opt(ints), incomplete: opt(ints),
    truncated: opt(fc.constant(true as const)),
    uid: opt(ints), gid: opt(ints), mark: opt(ints),
    arp: opt(arpArb),
    ctInvalid: opt(fc.record({ protonum: ints, reason: str(pool('invalid packet ignored in state ESTABLISHED')) })),
    unknown: opt(words(pool('FOO=1', 'BAR'))),
  })
  .map((r) => {
    // every key present, in contract order, like the parser's events
    const ev = {} as Record<string, unknown>;
    for (const k of KEYS) ev[k] = r[k];
    return ev as unknown as DropEvent;
  });

// ---------------------------------------------------------------------------------------------------------------

describe('eventToJson / NdjsonBuffer', () => {
  it('equal the JSON.stringify reference on arbitrary events, many in a row, in tiny chunks (property)', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { minLength: 1, maxLength: 25 }), fc.constantFrom(1, 512, 64 * 1024), (evs, chunk) => {
        const buf = new NdjsonBuffer(chunk);
        const want: string[] = [];
        for (const ev of evs) {
          const line = reference(ev);
          expect(eventToJson(ev)).toBe(line);
          buf.event(ev);
          want.push(`${line}\n`);
        }
        expect(drain(buf)).toBe(want.join(''));
      }),
      { numRuns: 300 },
    );
  });

  it('never lets a control character, DEL, C1 or a line separator through raw', () => {
    fc.assert(
      fc.property(eventArb, (ev) => {
        const j = eventToJson(ev);
        expect(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(j)).toBe(false);
        expect(JSON.parse(j)).toEqual(JSON.parse(reference(ev)));
      }),
      { numRuns: 200 },
    );
  });

  it('appends `extra` inside the object', () => {
    fc.assert(
      fc.property(eventArb, hostile, (ev, reason) => {
        const extra = `"verdict":"block","reason":${jsonString(reason)}`;
        expect(eventToJson(ev, extra)).toBe(reference(ev, extra));
        const buf = new NdjsonBuffer(1);
        buf.event(ev, extra);
        expect(drain(buf)).toBe(`${reference(ev, extra)}\n`);
      }),
      { numRuns: 100 },
    );
  });

  it('is exact for real parser events of every envelope (kernel fixtures and the sample log)', async () => {
    const { readFileSync } = await import('node:fs');
    const root = new URL('../../', import.meta.url).pathname;
    const buf = new NdjsonBuffer();
    const want: string[] = [];
    for (const f of ['fixtures/kernel/kmsg.txt', 'fixtures/kernel/syslog.txt', 'fixtures/kernel/dmesg.txt', 'fixtures/sample/harvester-upgrade.log']) {
      const parser = createParser({ now: () => Date.UTC(2024, 5, 1), tz: 'UTC' });
      for (const line of readFileSync(`${root}${f}`, 'utf8').split('\n')) {
        const r = parser.parseLine(line);
        if (r.kind !== 'event') continue;
        buf.event(r.event);
        want.push(`${reference(r.event)}\n`);
      }
    }
    expect(want.length).toBeGreaterThan(500);
    expect(drain(buf)).toBe(want.join(''));
  });

  it('tells apart values of the same length that differ in any one character (cache slots, runs)', () => {
    const parser = createParser({ now: () => Date.UTC(2024, 5, 1) });
    const r = parser.parseLine(
      'Apr 22 10:00:00 worker-b kernel: FW_DROP_IN: IN=mgmt-br OUT=eth0 PHYSIN=veth1 PHYSOUT=veth2 MAC=52:54:00:48:aa:01:52:54:00:01:bb:02:08:00 SRC=192.168.122.1 DST=192.168.122.72 LEN=269 TOS=0x00 PREC=0x00 TTL=64 ID=28516 DF PROTO=TCP SPT=4789 DPT=43717 WINDOW=40186 RES=0x00 ACK URGP=0 ',
    );
    if (r.kind !== 'event') throw new Error('fixture line did not parse');
    const base: DropEvent = { ...r.event, file: '/var/log/kern.log', vproto: '8100', srcShort: 'fd00::47', dstShort: 'fd00::3f', fragId: '0000abcd', ipOpt: '0A0B0C', tcpOpt: '020405B4' };
    const fields = [
      'file', 'time', 'host', 'prefix', 'in', 'out', 'physin', 'physout', 'mac', 'macsrc', 'macdst', 'macproto', 'vproto',
      'src', 'dst', 'srcShort', 'dstShort', 'fragId', 'ipOpt', 'proto', 'tcpOpt',
    ] as const;
    const buf = new NdjsonBuffer();
    const want: string[] = [];
    const put = (ev: DropEvent) => {
      buf.event(ev);
      want.push(`${reference(ev)}\n`);
    };
    for (const f of fields) {
      const v = base[f] as string;
      expect(typeof v).toBe('string');
      for (let i = 0; i < v.length; i++) {
        const twin = `${v.slice(0, i)}${v[i] === 'x' ? 'y' : 'x'}${v.slice(i + 1)}`;
        put(base);
        put({ ...base, [f]: twin });
        put(base);
      }
    }
    for (const f of ['flags', 'ipFlags'] as const) {
      put({ ...base, [f]: ['ACK'] });
      put({ ...base, [f]: ['ACX'] });
      put({ ...base, [f]: ['ACK', 'PSH'] });
      put({ ...base, [f]: ['ACK', 'PSX'] });
    }
    expect(drain(buf)).toBe(want.join(''));
  });

  it('writes kernel seconds and milliseconds exactly as String() does', () => {
    const base = eventToJson as (ev: DropEvent) => string;
    const ev = (mono: number | null, ts: number | null) =>
      ({ ...Object.fromEntries(KEYS.map((k) => [k, undefined])), line: 1, time: null, ts, mono, host: null, envelope: 'kmsg', prefix: '', in: '', out: '' }) as unknown as DropEvent;
    for (const m of [0, -0, 1000.021, 0.5, 1e-6, 1e-7, 0.000123, 12.1, 999999999.999999, 1e9, 5e-324, 123456.000001, 4503599627370496.5, -3.25]) {
      expect(JSON.parse(base(ev(m, null))).mono).toBe(m === 0 ? 0 : m);
      expect(base(ev(m, null))).toContain(`"mono":${JSON.stringify(m)},`);
    }
    for (const t of [0, 1, 9999, 10000, 99999999, 100000000, 1713780000042, 1e15, 2 ** 53 - 1, 2 ** 53, 1e21, -1713780000042, 0.5]) {
      expect(base(ev(null, t))).toContain(`"ts":${JSON.stringify(t)},`);
    }
  });
});

describe('NdjsonBuffer chunks', () => {
  const parser = createParser({ now: () => Date.UTC(2024, 5, 1) });
  const line = '<4>Apr 22 10:00:00 worker-b kernel: HARVESTER_DROP_IN=mgmt-br OUT= MAC=52:54:00:48:aa:01:52:54:00:01:bb:02:08:00 SRC=192.168.122.1 DST=192.168.122.72 LEN=269 TOS=0x00 PREC=0x00 TTL=64 ID=28516 DF PROTO=TCP SPT=4789 DPT=43717 WINDOW=40186 RES=0x00 ACK URGP=0 ';
  const r = parser.parseLine(line);
  if (r.kind !== 'event') throw new Error('fixture line did not parse');
  const ev = r.event;

  it('hands over whole lines, and never writes into bytes it has handed over', () => {
    const buf = new NdjsonBuffer(4096);
    const taken: Buffer[] = [];
    const copies: Buffer[] = [];
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 7; i++) buf.event(ev);
      buf.text('{"issue":"truncated"}');
      for (const c of buf.take()) {
        taken.push(c);
        copies.push(Buffer.from(c));
      }
    }
    // everything written later left the earlier chunks alone
    for (let i = 0; i < taken.length; i++) expect((taken[i] as Buffer).equals(copies[i] as Buffer)).toBe(true);
    const text = Buffer.concat(taken).toString('utf8');
    const lines = text.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(50 * 8);
    expect(lines.filter((l) => l === reference(ev))).toHaveLength(50 * 7);
    // every chunk ends at a line end
    for (const c of taken) expect(c[c.length - 1]).toBe(0x0a);
  });

  it('reports pending bytes and has nothing to hand over when empty', () => {
    const buf = new NdjsonBuffer();
    expect(buf.take()).toEqual([]);
    buf.event(ev);
    expect(buf.pending).toBe(Buffer.byteLength(reference(ev)) + 1);
    expect(drain(buf)).toBe(`${reference(ev)}\n`);
    expect(buf.pending).toBe(0);
  });

  it('text() keeps non-ASCII as UTF-8', () => {
    const buf = new NdjsonBuffer(1);
    const issue = issueToJson({ issue: 'malformed-field', message: 'bad DPT=', line: 3, text: 'ünï\u001b[2J\u2028' }, 'kern.log');
    buf.text(issue);
    const out = drain(buf);
    expect(out).toBe(`${issue}\n`);
    expect(JSON.parse(out)).toEqual({ issue: 'malformed-field', message: 'bad DPT=', line: 3, file: 'kern.log', text: 'ünï\u001b[2J\u2028' });
    expect(/[\u0000-\u001f\u007f-\u009f\u2028]/.test(out.trimEnd())).toBe(false);
  });
});

describe('jsonString / jsonValue', () => {
  it('equal JSON.stringify plus \\u escapes for DEL, C1 and U+2028/9 (property)', () => {
    fc.assert(
      fc.property(fc.oneof(hostile, fc.string({ unit: anyUnit })), (s) => {
        const want = JSON.stringify(s).replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
        expect(jsonString(s)).toBe(want);
        expect(jsonValue({ s, a: [s] })).toBe(`{"s":${want},"a":[${want}]}`);
      }),
    );
  });
});

describe('NdjsonBuffer.bytes: runs of lines printed elsewhere (the scanner), in order with events', () => {
  it('keeps order with events and text, pools the chunks of long runs, and reuses them only once released', () => {
    const out = new NdjsonBuffer(1024);
    const long = Buffer.from('{"a":1}\n'.repeat(200)); // 1600 bytes: over half a chunk, a pooled chunk of its own
    out.text('{"first":true}');
    out.bytes(Buffer.from('{"short":1}\n'));
    out.bytes(long);
    out.text('{"last":true}');
    const chunks = out.take();
    expect(Buffer.concat(chunks).toString()).toBe(`{"first":true}\n{"short":1}\n${long.toString()}{"last":true}\n`);
    const pooled = chunks.find((c) => c.length === long.length) as Buffer;
    expect(pooled).toBeDefined();
    // not released: the next long run gets other memory (the stream may still hold the first)
    out.bytes(long);
    const [second] = out.take();
    expect(second?.buffer).not.toBe(pooled.buffer);
    // released: reused, with the new content
    out.release(pooled);
    out.release(Buffer.from('not pooled')); // ignored
    const other = Buffer.from('{"b":2}\n'.repeat(300));
    out.bytes(other);
    const [third] = out.take();
    expect(third?.buffer).toBe(pooled.buffer);
    expect(third?.toString()).toBe(other.toString());
  });
});
