import { describe, expect, it } from 'vitest';
import { createClassifier, type ClassifyResult } from '../../src/classify/classifier.js';
import { UsageError } from '../../src/cli/errors.js';
import { eventsOf, hv, tcp, udp } from './helpers.js';

const A = '192.168.122.61';
const B = '192.168.122.62';
const ME = '192.168.122.63';

function clock(startSec: number): (s: number) => string {
  return (s) => {
    const t = startSec + s;
    const hh = String(Math.floor(t / 3600) % 24).padStart(2, '0');
    const mm = String(Math.floor(t / 60) % 60).padStart(2, '0');
    const ss = String(t % 60).padStart(2, '0');
    return `${hh}:${mm}:${ss}`;
  };
}
const at = clock(10 * 3600); // 10:00:00 + s

function run(lines: string[], opts: Parameters<typeof createClassifier>[0] = {}) {
  const c = createClassifier(opts);
  const results: ClassifyResult[] = eventsOf(lines).map((e) => c.classify(e));
  return { c, results, summary: c.end() };
}

/** A journal JSON kernel line of host harvester2 (µs stamps as journald writes them; the realtime one optional). */
function journalLine(src: string, dpt: number, realtimeUs: string | undefined, monoUs: string): string {
  const msg = `HARVESTER_DROP_IN=mgmt-br OUT= MAC=52:54:00:8e:21:63:52:54:00:3a:7c:61:08:00 SRC=${src} DST=${ME} LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF ${tcp(2379, dpt, 'ACK')}`;
  return JSON.stringify({ _TRANSPORT: 'kernel', _HOSTNAME: 'harvester2', ...(realtimeUs === undefined ? {} : { __REALTIME_TIMESTAMP: realtimeUs }), _SOURCE_MONOTONIC_TIMESTAMP: monoUs, MESSAGE: msg });
}

describe('flows', () => {
  it('first and last seen are the earliest and the latest times, whatever the input order', () => {
    // a rotated log given newest first, then older lines; a flow's first packet without a wall-clock time
    const lines = [
      hv(at(600), 'harvester3', A, ME, tcp(9345, 46002, 'ACK')),
      hv(at(660), 'harvester3', A, ME, tcp(9345, 46003, 'ACK')),
      hv(at(0), 'harvester3', A, ME, tcp(9345, 46004, 'ACK FIN')),
      hv(at(30), 'harvester3', A, ME, tcp(9345, 46005, 'ACK')),
      // journal lines of one host: the first without __REALTIME_TIMESTAMP, the next with one
      journalLine(B, 50000, undefined, '5000000000'),
      journalLine(B, 50001, '1776852090000000', '5001000000'),
    ];
    const { summary } = run(lines);
    const f = summary.flows.find((x) => x.host === 'harvester3')!;
    expect(f.count).toBe(4);
    expect([f.firstSeen, f.lastSeen]).toEqual(['2026-04-22T10:00:00Z', '2026-04-22T10:11:00Z']);
    // line numbers stay where the packets are in the input
    expect([f.firstLine, f.lastLine]).toEqual([1, 4]);
    expect([summary.summary.firstSeen, summary.summary.lastSeen]).toEqual(['2026-04-22T10:00:00Z', '2026-04-22T10:11:00Z']);
    const g = summary.flows.find((x) => x.host === 'harvester2')!;
    expect(g.count).toBe(2);
    expect([g.firstSeen, g.lastSeen]).toEqual(['2026-04-22T10:01:30Z', '2026-04-22T10:01:30Z']);
    expect([g.firstMono, g.lastMono]).toEqual([5000, 5001]);
  });

  it('aggregates conntrack-loss packets of one server/client pair across client ports, with a flag histogram', () => {
    const lines = [
      hv(at(0), 'harvester3', A, ME, tcp(9345, 46002, 'ACK FIN')),
      hv(at(1), 'harvester3', A, ME, tcp(9345, 46002, 'ACK')),
      hv(at(2), 'harvester3', A, ME, tcp(9345, 46010, 'ACK PSH')),
      hv(at(3), 'harvester3', A, ME, tcp(9345, 46020, 'ACK FIN')),
      hv(at(3), 'harvester2', A, B, tcp(9345, 46002, 'ACK FIN')),
    ];
    const { results, summary } = run(lines);
    expect(results.map((r) => r.changes?.map((c) => c.kind) ?? [])).toEqual([['new'], [], [], [], ['new']]);
    expect(summary.summary['conntrack-loss']).toBe(5);
    expect(summary.summary.flows).toBe(2);
    const f = summary.flows.find((x) => x.host === 'harvester3')!;
    expect(f).toMatchObject({
      proto: 'tcp', server: A, serverPort: 9345, client: ME, verdict: 'conntrack-loss', service: 'RKE2 supervisor API',
      count: 4, firstSeen: '2026-04-22T10:00:00Z', lastSeen: '2026-04-22T10:00:03Z', persistent: false,
      flags: { 'ACK FIN': 2, ACK: 1, 'ACK PSH': 1 }, firstLine: 1, lastLine: 4,
    });
    expect(f.reason).toContain('teardown of a connection whose conntrack state was lost');
  });

  it('marks a conntrack-loss flow persistent once it outlives --settle, and reports the change once', () => {
    const lines = [0, 60, 200, 301, 400].map((s) => hv(at(s), 'harvester3', A, ME, tcp(6443, 43000 + s, 'ACK')));
    const { results, summary } = run(lines, { settleMs: 300_000 });
    const kinds = results.map((r) => r.changes?.map((c) => c.kind).join(',') ?? '');
    expect(kinds).toEqual(['new', '', '', 'persistent', '']);
    expect(summary.flows[0]!.persistent).toBe(true);
    expect(summary.flows[0]!.reason).toContain('persistent: went on for more than 5 min');
    expect(summary.summary.persistentFlows).toBe(1);
  });

  it('raises a flow\'s verdict when a SYN follows lost-state ACKs to the same service, and says so', () => {
    const lines = [
      hv(at(0), 'harvester3', B, ME, tcp(43707, 2380, 'ACK')),
      hv(at(1), 'harvester3', B, ME, tcp(43800, 2380, 'SYN')),
      hv(at(2), 'harvester3', B, ME, tcp(43707, 2380, 'ACK')),
    ];
    const { results, summary } = run(lines);
    expect(results.map((r) => r.verdict)).toEqual(['conntrack-loss', 'genuine-block', 'conntrack-loss']);
    expect(results[1]!.changes).toEqual([expect.objectContaining({ kind: 'verdict', from: 'conntrack-loss' })]);
    expect(summary.flows).toHaveLength(1);
    expect(summary.flows[0]).toMatchObject({ verdict: 'genuine-block', service: 'etcd peer', count: 3 });
  });

  it('uses mono seconds when lines have no wall clock, and line order when they have neither', () => {
    const c = createClassifier({ settleMs: 10_000 });
    const mono = eventsOf([
      `[ 1000.000000] HARVESTER_DROP_IN=mgmt-br OUT= MAC=52:54:00:8e:21:63:52:54:00:3a:7c:61:08:00 SRC=${A} DST=${ME} LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF ${tcp(6443, 43707, 'ACK')}`,
      `[ 1005.250000] HARVESTER_DROP_IN=mgmt-br OUT= MAC=52:54:00:8e:21:63:52:54:00:3a:7c:61:08:00 SRC=${A} DST=${ME} LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF ${tcp(6443, 43707, 'ACK')}`,
      `[ 1011.500000] HARVESTER_DROP_IN=mgmt-br OUT= MAC=52:54:00:8e:21:63:52:54:00:3a:7c:61:08:00 SRC=${A} DST=${ME} LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF ${tcp(6443, 43707, 'ACK')}`,
    ]);
    expect(mono[0]!.ts).toBeNull();
    expect(mono[0]!.mono).toBe(1000);
    c.classify(mono[0]!);
    expect(c.classify(mono[1]!).changes).toBeUndefined();
    expect(c.classify(mono[2]!).changes?.[0]?.kind).toBe('persistent');
    const f = c.end().flows[0]!;
    expect(f).toMatchObject({ firstSeen: null, firstMono: 1000, lastMono: 1011.5, persistent: true });
  });
});

describe('clocks', () => {
  // journald's realtime stamp of harvester2's line at 5000 s after boot: the host booted at R - 5000 s
  const R = Date.UTC(2026, 3, 22, 10, 0, 0);
  const us = (ms: number) => `${ms * 1000}`;
  const dmesg = (sec: number, client: string, dpt: number) =>
    `[${sec.toFixed(6).padStart(12)}] HARVESTER_DROP_IN=mgmt-br OUT= MAC=52:54:00:8e:21:63:52:54:00:3a:7c:61:08:00 SRC=${A} DST=${client} LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF ${tcp(6443, dpt, 'ACK')}`;

  it('puts a host\'s lines without a wall-clock time on it once that host\'s boot time is known', () => {
    // one lost-state flow going on for 400 s: the first line has both clocks, the later ones only the monotonic one
    const lines = [
      journalLine(B, 50000, us(R), us(5_000_000)),
      journalLine(B, 50001, undefined, us(5_200_000)),
      journalLine(B, 50002, undefined, us(5_400_000)),
    ];
    const { results, summary } = run(lines, { settleMs: 300_000 });
    expect(results.map((r) => r.changes?.map((c) => c.kind) ?? [])).toEqual([['new'], [], ['persistent']]);
    expect(summary.flows[0]).toMatchObject({ count: 3, persistent: true, firstMono: 5000, lastMono: 5400 });
  });

  it('moves a flow begun on the monotonic clock over to the wall clock when its host\'s boot time turns up', () => {
    const lines = [
      journalLine(B, 50000, undefined, us(5_000_000)),
      journalLine(B, 50001, us(R + 200_000), us(5_200_000)), // boot time: R - 5000 s; the flow began at R
      journalLine(B, 50002, undefined, us(5_400_000)),
    ];
    const { results } = run(lines, { settleMs: 300_000 });
    // one episode from R to R + 400 s: persistent at the third packet, not counted anew from the second
    expect(results.map((r) => r.changes?.map((c) => c.kind) ?? [])).toEqual([['new'], [], ['persistent']]);
    // a quiet gap is a gap on either clock: 400 s after a monotonic-only start is a new episode
    const gap = run([
      journalLine(B, 50000, undefined, us(5_000_000)),
      journalLine(B, 50001, us(R + 400_000), us(5_400_000)),
      journalLine(B, 50002, undefined, us(5_500_000)),
    ], { settleMs: 300_000 });
    expect(gap.summary.flows[0]).toMatchObject({ count: 3, persistent: false });
  });

  it('dates lines without a host by the boot time of their own file only', () => {
    // a syslog file without host fields: its kernel stamps give its machine's boot time; its later dmesg-style line
    // is dated by it, a dmesg line of another file (another machine, perhaps) is not
    const body = `HARVESTER_DROP_IN=mgmt-br OUT= SRC=${A} DST=${ME} LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF ${tcp(6443, 43000, 'ACK')}`;
    const [stamped, later, other] = eventsOf([`Apr 22 10:00:00 kernel: [5000.000000] ${body}`, `[5010.000000] ${body}`, `[5010.000000] ${body}`]);
    stamped!.file = later!.file = 'a.log';
    other!.file = 'b.log';
    expect([stamped!.host, stamped!.ts, stamped!.mono, later!.ts]).toEqual([null, R, 5000, null]);
    const c = createClassifier({});
    c.classify(stamped!);
    c.classify(other!);
    expect(c.lastWallMs).toBeNaN();
    c.classify(later!);
    expect(c.lastWallMs).toBe(R + 10_000);
  });

  it('does not expire a flow on the monotonic clock by the wall-clock times of other lines', () => {
    // dmesg lines (no host, no wall clock) of one flow, around 5000 wall-clock flows that make the table sweep
    const lines = [dmesg(1000, ME, 40000)];
    for (let i = 0; i < 5000; i++) lines.push(hv(at(1), 'harvester3', A, `10.${i >> 8}.${i & 255}.1`, tcp(6443, 45000, 'ACK')));
    lines.push(dmesg(1001, ME, 40001));
    const { results, summary } = run(lines, { flowIdleMs: 3_600_000 });
    expect(summary.summary.flowsExpired).toBe(0);
    expect(results.at(-1)!.changes).toBeUndefined();
    expect(summary.flows.find((f) => f.host === null)).toMatchObject({ count: 2, firstMono: 1000, lastMono: 1001 });
    // idle an hour on its own clock, it does expire
    lines.push(dmesg(4700, B, 40002));
    for (let i = 0; i < 5000; i++) lines.push(dmesg(4700, `10.9.${i >> 8}.${i & 255}`, 45000));
    expect(run(lines, { flowIdleMs: 3_600_000 }).summary.summary.flowsExpired).toBeGreaterThanOrEqual(1);
  });
});

describe('SYN retransmission backoff', () => {
  it('detects 1, 2, 4 s gaps from the same client port as TCP backoff', () => {
    const lines = [0, 1, 3, 7, 15].map((s) => hv(at(s), 'harvester3', B, ME, tcp(51514, 2380, 'SYN', 64240), { len: 60 }));
    const f = run(lines).summary.flows[0]!;
    expect(f).toMatchObject({ verdict: 'genuine-block', attempts: 1, retransmits: 4, backoff: true });
    expect(f.reason).toContain("on TCP's retransmission timer");
  });

  it('detects the 1 s steps current Linux takes first (tcp_syn_linear_timeouts), with or without the doubling after', () => {
    // gaps of 1, 1, 1, 1, 1, 2 s, as Linux 6.18 sent them (fixtures/kernel/classify/captures/syn_backoff4.kmsg)
    const linear = [0, 1, 2, 3, 4].map((s) => hv(at(s), 'harvester3', B, ME, tcp(51514, 2380, 'SYN', 64240)));
    expect(run(linear).summary.flows[0]).toMatchObject({ retransmits: 4, backoff: true });
    expect(run(linear.slice(0, 3)).summary.flows[0]).toMatchObject({ retransmits: 2, backoff: false });
    const then = [0, 1, 2, 3, 4, 6, 10].map((s) => hv(at(s), 'harvester3', B, ME, tcp(51515, 2380, 'SYN', 64240)));
    expect(run(then).summary.flows[0]).toMatchObject({ retransmits: 6, backoff: true });
  });

  it('does not call a steady retry loop (5 s, 2 s, or 1 s for longer than Linux keeps it), a fixed-port burst, or SYNs from new ports, backoff', () => {
    const steady = [0, 5, 10, 15, 20].map((s) => hv(at(s), 'harvester3', B, ME, tcp(51514, 2380, 'SYN', 64240)));
    expect(run(steady).summary.flows[0]).toMatchObject({ retransmits: 4, backoff: false });
    const two = [0, 2, 4, 6, 8, 10].map((s) => hv(at(s), 'harvester3', B, ME, tcp(51514, 2380, 'SYN', 64240)));
    expect(run(two).summary.flows[0]).toMatchObject({ retransmits: 5, backoff: false });
    const ten = Array.from({ length: 10 }, (_, s) => hv(at(s), 'harvester3', B, ME, tcp(51514, 2380, 'SYN', 64240)));
    expect(run(ten).summary.flows[0]).toMatchObject({ retransmits: 9, backoff: false });
    // microsecond stamps (dmesg): a scanner's fixed source port, SYNs milliseconds apart with growing gaps
    const burst = [0, 0.001, 0.002, 0.004, 0.008, 0.016].map((s) => `[ ${(1000 + s).toFixed(6)}] ${hv(at(0), 'harvester3', B, ME, tcp(51514, 2380, 'SYN', 64240)).replace(/^.*? kernel: /, '')}`);
    expect(run(burst).summary.flows[0]).toMatchObject({ retransmits: 5, backoff: false });
    const newPorts = [0, 1, 3, 7].map((s, i) => hv(at(s), 'harvester3', B, ME, tcp(51514 + i, 2380, 'SYN', 64240)));
    expect(run(newPorts).summary.flows[0]).toMatchObject({ attempts: 4, retransmits: 0, backoff: false });
  });
});

describe('scan detection', () => {
  const scanner = '203.0.113.50';
  const unknownPorts = [1, 7, 9, 13, 21, 23, 25, 111, 135, 139, 445, 1433, 3306, 5432, 5900];

  it('counts a scan flow\'s ports past 256 while a bitmap is free, then says its count is a lower bound', () => {
    // two scanners sweeping 300 ports each, one bitmap for both: the first counts on, the second stops at 256
    const sweep = (src: string) => Array.from({ length: 300 }, (_, i) => hv(at(i % 50), 'harvester3', src, ME, tcp(40001, 2000 + i, 'SYN', 1024), { len: 44, ttl: 41, df: false }));
    const { summary } = run([...sweep('203.0.113.51'), ...sweep('203.0.113.52')], { maxPortBitmaps: 1 });
    const scans = summary.flows.filter((f) => f.verdict === 'scan');
    expect(scans.map((f) => [f.client, f.ports, f.portsAtLeast])).toEqual([['203.0.113.51', 300, undefined], ['203.0.113.52', 256, true]]);
    expect(scans[1]!.reason).toContain('probed 256+ distinct closed TCP ports');
    expect(scans[0]!.reason).toContain('probed 300 distinct closed TCP ports');
  });

  it('turns a source hitting 10 distinct closed ports within 60 s into a scanner and re-labels its earlier flows', () => {
    const lines = unknownPorts.map((p, i) => hv(at(i * 2), 'harvester3', scanner, ME, tcp(40001, p, 'SYN', 1024), { len: 44, ttl: 41, df: false }));
    const { results, summary } = run(lines);
    // the first nine are blocks; the tenth tips it: the nine earlier flows are re-labelled (reported as verdict
    // changes) and folded, with the tenth packet, into one scan flow for (host, proto, target, source)
    expect(results.slice(0, 9).every((r) => r.verdict === 'genuine-block')).toBe(true);
    expect(results[9]!.verdict).toBe('scan');
    const ch = results[9]!.changes!;
    const relabels = ch.filter((c) => c.kind === 'verdict');
    expect(relabels).toHaveLength(9);
    expect(relabels.every((c) => c.from === 'genuine-block' && c.flow.verdict === 'scan')).toBe(true);
    expect(relabels.map((c) => c.flow.serverPort)).toEqual(unknownPorts.slice(0, 9));
    expect(ch.filter((c) => c.kind === 'new').map((c) => c.flow.serverPort)).toEqual([null]);
    // later probes join that flow silently
    expect(results.slice(10).every((r) => r.verdict === 'scan')).toBe(true);
    expect(results.slice(10).every((r) => r.changes === undefined)).toBe(true);
    expect(results[12]!.reason).toContain('is scanning');
    expect(summary.summary).toMatchObject({ scan: 15, 'genuine-block': 0, scanners: 1, flows: 1 });
    expect(summary.flows[0]).toMatchObject({
      verdict: 'scan', serverPort: null, ports: 15, count: 15, client: scanner, server: ME,
      firstSeen: '2026-04-22T10:00:00Z', lastSeen: '2026-04-22T10:00:28Z', firstLine: 1, lastLine: 15,
    });
    expect(summary.flows[0]!.reason).toContain('probed 15 distinct closed TCP ports');
  });

  it('never calls a scanner\'s probes from one source port, a second apart, SYN retransmissions (TCP backoff)', () => {
    // one probe a second from a fixed source port: each to another port, so none is a retransmission
    const lines = unknownPorts.map((p, i) => hv(at(i), 'harvester3', scanner, ME, tcp(40001, p, 'SYN', 1024), { len: 44, ttl: 41, df: false }));
    const { summary } = run(lines);
    const f = summary.flows[0]!;
    expect(f).toMatchObject({ verdict: 'scan', serverPort: null, ports: 15, count: 15 });
    expect(f.backoff).toBeUndefined();
    expect(f.retransmits).toBeUndefined();
    expect(f.reason).not.toContain('retransmi');
    expect(f.reason).not.toContain('a real client');
  });

  it('finds a scan in lines without a wall-clock time amid lines with one, and counts its source once', () => {
    // the same source probing through dmesg lines (monotonic clock) and syslog lines (wall clock), interleaved: each
    // clock's 60 s window holds its own probes
    const lines: string[] = [];
    unknownPorts.forEach((p, i) => {
      lines.push(`[${(1000 + i * 2).toFixed(6).padStart(12)}] HARVESTER_DROP_IN=mgmt-br OUT= MAC=52:54:00:8e:21:63:52:54:00:3a:7c:61:08:00 SRC=${scanner} DST=${B} LEN=44 TOS=0x00 PREC=0x00 TTL=41 ID=0 ${tcp(40001, p, 'SYN', 1024)}`);
      lines.push(hv(at(i * 2), 'harvester3', scanner, ME, tcp(40001, p, 'SYN', 1024), { len: 44, ttl: 41, df: false }));
    });
    const { summary } = run(lines);
    expect(summary.summary).toMatchObject({ scan: 30, 'genuine-block': 0, scanners: 1, flows: 2 });
    expect(summary.flows.map((f) => [f.host, f.server, f.ports])).toEqual([[null, B, 15], ['harvester3', ME, 15]]);
  });

  it('keeps a scanner\'s targets apart: one scan flow per host and target', () => {
    const lines = unknownPorts.map((p, i) => hv(at(i), i % 2 ? 'harvester3' : 'harvester2', scanner, i % 2 ? ME : B, tcp(40001, p, 'SYN', 1024)));
    const { summary } = run(lines);
    expect(summary.flows.map((f) => [f.host, f.ports, f.count])).toEqual(
      expect.arrayContaining([['harvester2', 8, 8], ['harvester3', 7, 7]]),
    );
    expect(summary.flows).toHaveLength(2);
  });

  it('does not call a slow sweep (outside the window) a scan, nor honour a lower threshold it was not given', () => {
    const slow = unknownPorts.map((p, i) => hv(at(i * 10), 'harvester3', scanner, ME, tcp(40001, p, 'SYN', 1024)));
    expect(run(slow, { scanWindowMs: 60_000 }).summary.summary.scanners).toBe(0);
    expect(run(slow, { scanWindowMs: 60_000, scanPorts: 5 }).summary.summary.scanners).toBe(1);
  });

  it('never calls a peer node hitting many known service ports a scanner (a missing role, not probing)', () => {
    const known = [2379, 2380, 6443, 9345, 10250, 9099, 9091, 9796, 10256, 2381, 10257, 10259];
    const lines = known.map((p, i) => hv(at(i), 'harvester3', B, ME, tcp(40000 + i, p, 'SYN', 64240)));
    const { summary } = run(lines);
    expect(summary.summary.scanners).toBe(0);
    expect(summary.summary['genuine-block']).toBe(12);
  });

  it('never counts lost-state return traffic (ever-changing client ports) as a scan', () => {
    const lines = Array.from({ length: 50 }, (_, i) => hv(at(i), 'harvester3', A, ME, tcp(6443, 33000 + i * 97, 'ACK')));
    const { summary } = run(lines);
    expect(summary.summary).toMatchObject({ scanners: 0, 'conntrack-loss': 50, flows: 1 });
  });

  it('counts UDP probes too', () => {
    const lines = unknownPorts.map((p, i) => hv(at(i), 'harvester3', scanner, ME, udp(53211, p, 0)));
    expect(run(lines).summary.summary.scanners).toBe(1);
  });
});

describe('bounded state', () => {
  it('evicts least recently seen flows beyond the cap (noise first) and counts them', () => {
    // 40 conntrack-loss flows (different clients), then 30 genuine blocks; cap 50
    const lines: string[] = [];
    for (let i = 0; i < 40; i++) lines.push(hv(at(i), 'harvester3', A, `192.168.122.${100 + i}`, tcp(6443, 45000, 'ACK')));
    for (let i = 0; i < 30; i++) lines.push(hv(at(100 + i), 'harvester3', `192.168.122.${10 + i}`, ME, tcp(45000, 2380, 'SYN', 64240)));
    const { summary } = run(lines, { maxFlows: 50 });
    expect(summary.summary.flowsEvicted).toBeGreaterThan(0);
    expect(summary.summary.flows).toBeLessThanOrEqual(50);
    expect(summary.summary.flows + summary.summary.flowsEvicted).toBe(70);
    // every genuine block survived: noise went first
    expect(summary.flows.filter((f) => f.verdict === 'genuine-block')).toHaveLength(30);
    // packet counts are kept even for evicted flows
    expect(summary.summary['conntrack-loss']).toBe(40);
  });

  it('expires idle noise flows but keeps genuine blocks', () => {
    const lines: string[] = [hv(at(0), 'harvester3', B, ME, tcp(45000, 2380, 'SYN', 64240))];
    for (let i = 0; i < 5000; i++) lines.push(hv(at(i < 10 ? 1 : 7200), 'harvester3', A, `10.${i >> 8}.${i & 255}.1`, tcp(6443, 45000, 'ACK')));
    const { summary } = run(lines, { flowIdleMs: 3_600_000 });
    expect(summary.summary.flowsExpired).toBe(10);
    expect(summary.flows.some((f) => f.verdict === 'genuine-block' && f.serverPort === 2380)).toBe(true);
  });

  it('rejects bad options as a UsageError', () => {
    expect(() => createClassifier({ scanPorts: 1 })).toThrow(UsageError);
    expect(() => createClassifier({ ephemeral: { from: 60999, to: 32768 } })).toThrow(UsageError);
  });
});

describe('window marks', () => {
  const window = { start: Date.UTC(2026, 3, 22, 10, 0, 0), end: Date.UTC(2026, 3, 22, 10, 10, 0) };

  it('splits counts before/during/after and marks what persisted after the window', () => {
    const lines = [
      hv(at(-30), 'harvester1', B, ME, tcp(10250, 56266, 'ACK RST')), // before
      hv(at(30), 'harvester1', B, ME, tcp(10250, 56266, 'ACK RST')), // during
      hv(at(500), 'harvester1', B, ME, tcp(10250, 56300, 'ACK RST')), // during, after a quiet gap: a new episode
      // the API flow keeps going (gaps under 5 min) from inside the window to 5 min past its end
      ...[40, 200, 400, 600, 750, 901].map((s) => hv(at(s), 'harvester1', A, ME, tcp(6443, 43707 + s, 'ACK'))),
      hv(at(700), 'harvester1', B, ME, tcp(45000, 2380, 'SYN', 64240)), // after
    ];
    const { results, summary } = run(lines, { window, settleMs: 300_000 });
    expect(summary.summary.window).toEqual({
      start: '2026-04-22T10:00:00Z', end: '2026-04-22T10:10:00Z',
      before: { 'conntrack-loss': 1, 'genuine-block': 0, scan: 0, broadcast: 0, undetermined: 0 },
      during: { 'conntrack-loss': 5, 'genuine-block': 0, scan: 0, broadcast: 0, undetermined: 0 },
      after: { 'conntrack-loss': 3, 'genuine-block': 1, scan: 0, broadcast: 0, undetermined: 0 },
    });
    const kubelet = summary.flows.find((f) => f.serverPort === 10250)!;
    const api = summary.flows.find((f) => f.serverPort === 6443)!;
    expect(kubelet).toMatchObject({ persistent: false, window: { before: 1, during: 2, after: 0 } });
    expect(api).toMatchObject({ persistent: true, window: { before: 0, during: 3, after: 3 } });
    expect(api.reason).toContain('still going more than 5 min after the window ended');
    // it became persistent exactly at end + settle, not at 40 s + settle
    expect(results.findIndex((r) => r.changes?.some((c) => c.kind === 'persistent'))).toBe(lines.length - 2);
  });

  it('a quiet gap longer than --settle starts a new episode: recurring bursts are not persistent', () => {
    const lines = [0, 20, 40, 400, 420, 800, 830].map((s) => hv(at(s), 'harvester2', A, B, tcp(6443, 40000 + s, 'ACK')));
    expect(run(lines, { settleMs: 300_000 }).summary.flows[0]).toMatchObject({ count: 7, persistent: false });
  });
});

describe('conntrack INVALID lines', () => {
  it('corroborate the matching flow instead of counting as drops, also when they come first', () => {
    const ct = `Apr 22 10:00:01 harvester3 kernel: nf_ct_proto_6: invalid packet ignored in state ESTABLISHED IN=mgmt-br OUT= MAC=52:54:00:8e:21:63:52:54:00:3a:7c:61:08:00 SRC=${A} DST=${ME} LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF ${tcp(9345, 46002, 'ACK FIN')}`;
    const lines = [ct, hv(at(1), 'harvester3', A, ME, tcp(9345, 46002, 'ACK FIN')), ct];
    const { results, summary } = run(lines);
    expect(results[0]!.kind).toBe('ct-invalid');
    expect(results[0]!.reason).toContain('conntrack INVALID (invalid packet ignored in state ESTABLISHED)');
    expect(summary.summary).toMatchObject({ events: 1, 'conntrack-loss': 1, ctInvalid: 2, flows: 1 });
    expect(summary.flows[0]).toMatchObject({ ctInvalid: 2, ctReason: 'invalid packet ignored in state ESTABLISHED' });
    expect(summary.flows[0]!.reason).toContain('corroborated by 2 conntrack INVALID lines');
  });

  it('folded into a scan flow, probe flows bring their conntrack INVALID reason with their count', () => {
    // a source sending SYN FIN probes: conntrack logs each as INVALID before the LOG rule drops it
    const lines: string[] = [];
    for (let i = 0; i < 10; i++) {
      const l4 = tcp(40000 + i, 20001 + i, 'SYN FIN', 1024);
      lines.push(`Apr 22 10:00:${String(i).padStart(2, '0')} harvester3 kernel: nf_ct_proto_6: invalid tcp flag combination IN=mgmt-br OUT= MAC=52:54:00:8e:21:63:52:54:00:3a:7c:61:08:00 SRC=${B} DST=${ME} LEN=40 TOS=0x00 PREC=0x00 TTL=45 ID=${100 + i} ${l4}`);
      lines.push(hv(at(i), 'harvester3', B, ME, l4, { ttl: 45, id: 100 + i, df: false }));
    }
    const { results, summary } = run(lines);
    expect(results.filter((r) => r.kind === 'ct-invalid')).toHaveLength(10);
    expect(summary.summary).toMatchObject({ events: 10, scan: 10, ctInvalid: 10, scanners: 1, flows: 1 });
    const f = summary.flows[0]!;
    expect(f).toMatchObject({ verdict: 'scan', client: B, serverPort: null, ports: 10, ctInvalid: 10, ctReason: 'invalid tcp flag combination' });
    expect(f.reason).toContain('corroborated by 10 conntrack INVALID lines (invalid tcp flag combination)');
  });
});

describe('scan detection and persistence at their edges (found by an adversarial review)', () => {
  const syn = (s: number, src: string, dpt: number, spt = 45000 + s) => hv(at(s), 'harvester3', src, ME, tcp(spt, dpt, 'SYN'));

  it('a peer hitting 12 known service ports and 5 unknown ones is no scanner: fewer than half unknown', () => {
    const known = [2379, 2380, 2381, 6443, 9345, 10250, 9099, 9091, 9796, 2112, 4240, 3260];
    const unknown = [9400, 9256, 8000, 9500, 9808];
    const lines = [...known, ...unknown].map((p, i) => syn(2 * i, B, p));
    const { summary } = run(lines);
    expect(summary.summary).toMatchObject({ scan: 0, scanners: 0, 'genuine-block': 17 });
    // with more unknown ports than known ones, the same peer is one
    const more = [...known.slice(0, 4), ...unknown, 7001, 7002, 7003].map((p, i) => syn(2 * i, B, p));
    expect(run(more).summary.summary).toMatchObject({ scanners: 1 });
  });

  it('NodePorts are service ports: a load balancer health-checking ten of them is no scanner', () => {
    const nodePorts = [30080, 30443, 30900, 31000, 31100, 31500, 31800, 32000, 32100, 32500];
    const lines = [0, 60].flatMap((base) => nodePorts.map((p, i) => syn(base + 2 * i, '192.168.122.10', p)));
    const { summary } = run(lines);
    expect(summary.summary).toMatchObject({ scan: 0, scanners: 0, 'genuine-block': 20 });
    expect(summary.flows.every((f) => f.service === 'NodePort')).toBe(true);
  });

  it('a FIN scan: the bare FINs counted as lost-connection teardowns move to scan with the rest', () => {
    const ports = [21, 23, 25, 110, 135, 139, 445, 1433, 3306, 3389, 5900];
    const lines = ports.map((p, i) => hv(at(i), 'harvester3', '203.0.113.9', ME, tcp(55555, p, 'FIN')));
    const { summary } = run(lines);
    expect(summary.summary).toMatchObject({ events: 11, scan: 11, 'conntrack-loss': 0, scanners: 1 });
  });

  it('LAN chatter never becomes persistent', () => {
    const mdns = (s: number) => hv(at(s), 'harvester3', '192.168.122.20', '224.0.0.251', udp(5353, 5353)).replace(/MAC=\S+/, 'MAC=01:00:5e:00:00:fb:52:54:00:3a:7c:61:08:00');
    const { summary } = run([0, 60, 120, 180, 240, 300, 360, 420].map(mdns));
    expect(summary.flows).toHaveLength(1);
    expect(summary.flows[0]).toMatchObject({ verdict: 'broadcast', persistent: false });
    expect(summary.summary.persistentFlows).toBe(0);
  });

  it('persistent means MORE than --settle: 5 min exactly is not, 5 min 1 s is', () => {
    const ack = (s: number) => hv(at(s), 'harvester3', A, ME, tcp(6443, 51028, 'ACK PSH'));
    expect(run([0, 60, 120, 180, 240, 300].map(ack)).summary.flows[0]?.persistent).toBe(false);
    expect(run([0, 60, 120, 180, 240, 301].map(ack)).summary.flows[0]?.persistent).toBe(true);
  });

  it('logs given newest first: persistence counts from the earliest packet of the episode', () => {
    const ack = (s: number) => hv(at(s), 'harvester3', A, ME, tcp(6443, 51028, 'ACK PSH'));
    const newer = [270, 300, 330, 360].map(ack);
    const older = [0, 60, 120, 180, 240].map(ack);
    expect(run([...older, ...newer]).summary.flows[0]?.persistent).toBe(true);
    expect(run([...newer, ...older]).summary.flows[0]?.persistent).toBe(true);
    // a quiet gap longer than --settle between the two: two episodes of 4 and 1 min, neither persistent
    const late = [700, 730, 760].map(ack);
    expect(run([...late, ...[0, 60].map(ack)]).summary.flows[0]?.persistent).toBe(false);
  });

  it('logs given newest first: probes hours apart are no scan, in either order', () => {
    const src = '198.51.100.7';
    const newer = [1111, 2222, 3333, 4444, 5555].map((p, i) => syn(7200 + 2 * i, src, p));
    const older = [6666, 7000, 7100, 7200, 7300].map((p, i) => syn(2 * i, src, p));
    for (const lines of [[...newer, ...older], [...older, ...newer]]) {
      expect(run(lines).summary.summary).toMatchObject({ scan: 0, scanners: 0, 'genuine-block': 10 });
    }
    // ten within a minute in the older file still make one
    const tenOld = [6666, 7000, 7100, 7200, 7300, 7400, 7500, 7600, 7700, 7800].map((p, i) => syn(2 * i, src, p));
    expect(run([...newer, ...tenOld]).summary.summary).toMatchObject({ scanners: 1 });
  });
});
