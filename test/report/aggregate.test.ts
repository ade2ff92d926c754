import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createParser } from '../../src/parse/parse-line.js';
import { createClassifier } from '../../src/classify/classifier.js';
import {
  MAX_FLOW_BUCKETS,
  REPORT_VERDICTS,
  ReportAggregate,
  lastActiveBefore,
  packetsIn,
  newActivity,
  record,
  type FlowActivity,
} from '../../src/report/aggregate.js';
import { detectWindows } from '../../src/report/windows.js';
import { NOW, SAMPLE } from './helpers.js';

const MIN = 60_000;

/** The sample through the real parser and classifier into an aggregate. */
function run(opts: ConstructorParameters<typeof ReportAggregate>[0] = {}, extra: readonly string[] = []) {
  const parser = createParser({ tz: 'UTC', now: () => NOW });
  const classifier = createClassifier();
  const agg = new ReportAggregate(opts);
  for (const line of [...extra, ...readFileSync(SAMPLE, 'utf8').split('\n')]) {
    const r = parser.parseLine(line);
    if (r.kind !== 'event') continue;
    agg.add(classifier.classify(r.event), r.event.host ?? '-');
  }
  return { agg, summary: classifier.end().summary };
}

function cellTotals(agg: ReportAggregate): number[] {
  const t = REPORT_VERDICTS.map(() => 0);
  for (const h of agg.cells.values()) for (const c of h.values()) for (let i = 0; i < t.length; i++) t[i]! += c[i]!;
  return t;
}

describe('ReportAggregate on the sample', () => {
  it('puts every drop on the timeline, per host and minute, as the classifier counted it', () => {
    const { agg, summary } = run();
    expect(agg.clock).toBe('wall');
    expect(agg.bucketMs).toBe(MIN);
    expect(cellTotals(agg)).toEqual(REPORT_VERDICTS.map((v) => summary[v]));
    expect([...agg.cells.keys()].sort()).toEqual(['harvester1', 'harvester2', 'harvester3']);
    const stamps = readFileSync(SAMPLE, 'utf8').split('\n').filter((l) => l.includes(' kernel: ')).map((l) => Date.parse(`2026 ${l.slice(0, 15)}Z`));
    expect(agg.first).toBe(Math.min(...stamps));
    expect(agg.last).toBe(Math.max(...stamps));
    // each flow's activity adds up to its packet count
    for (const [flow, a] of agg.activity) {
      if (flow.gone) continue;
      expect(a.counts.reduce((x, y) => x + y, 0)).toBe(flow.count);
    }
  });

  it('counts distinct conntrack-loss flows per minute', () => {
    const { agg } = run();
    const at = (hhmm: string) => agg.ctSeries().find((b) => new Date(b.start).toISOString().slice(11, 16) === hhmm);
    // 10:32: only the gateway's replies to harvester2 (one flow) — never a burst on its own
    expect(at('10:32')).toEqual({ start: Date.UTC(2026, 3, 22, 10, 32), drops: 2, flows: 1 });
    expect(at('10:12')!.flows).toBeGreaterThanOrEqual(2);
  });

  it('coarsens the timeline to stay under its cap, keeping every count', () => {
    const fine = run().agg;
    const { agg, summary } = run({ maxCells: 40 });
    expect(agg.coarsened).toBeGreaterThan(0);
    expect(agg.bucketMs).toBe(MIN * 2 ** agg.coarsened);
    let cells = 0;
    for (const h of agg.cells.values()) cells += h.size;
    expect(cells).toBeLessThanOrEqual(40);
    expect(cellTotals(agg)).toEqual(REPORT_VERDICTS.map((v) => summary[v]));
    const sum = (a: ReportAggregate) => a.ctSeries().reduce((n, b) => n + b.drops, 0);
    expect(sum(agg)).toBe(sum(fine));
    // the upgrade (10:06-10:29) is still found, only with coarser edges
    const w = detectWindows(agg.ctSeries(), agg.bucketMs);
    const up = w.find((x) => x.start <= Date.UTC(2026, 3, 22, 10, 10) && x.end >= Date.UTC(2026, 3, 22, 10, 28));
    expect(up).toBeDefined();
  });

  it('keeps LAN chatter (the last verdict) when it coarsens', () => {
    // a NetBIOS broadcast every minute of the sample, read first (on one-minute cells, merged later); the sample has none
    const bc = (m: number) => `Apr 22 ${String(10 + Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}:30 harvester1 kernel: ` +
      'HARVESTER_DROP_IN=mgmt-br OUT= MAC=ff:ff:ff:ff:ff:ff:52:54:00:11:22:33:08:00 SRC=192.168.122.50 DST=192.168.122.255 LEN=78 TOS=0x00 PREC=0x00 TTL=64 ID=1 PROTO=UDP SPT=137 DPT=137 LEN=58 ';
    const extra = Array.from({ length: 50 }, (_, m) => bc(m));
    const { agg, summary } = run({ maxCells: 40 }, extra);
    expect(agg.coarsened).toBeGreaterThan(0);
    expect(summary.broadcast).toBe(50);
    expect(cellTotals(agg)).toEqual(REPORT_VERDICTS.map((v) => summary[v]));
  });

  it('keeps drops of hosts beyond the cap out of the timeline, counted', () => {
    const { agg } = run({ maxHosts: 2 });
    expect(agg.cells.size).toBe(2);
    expect(agg.hostsDropped).toBe(cellTotalsMissing(agg));
  });
});

function cellTotalsMissing(agg: ReportAggregate): number {
  return agg.totals.reduce((a, b) => a + b, 0) - cellTotals(agg).reduce((a, b) => a + b, 0) - agg.untimed;
}

describe('flow activity', () => {
  it('stays sorted, bounded and exact in total, whatever the order of times', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 48 * 60 * MIN }), { minLength: 1, maxLength: 400 }), fc.boolean(), (times, sorted) => {
        const ts = sorted ? [...times].sort((a, b) => a - b) : times;
        const a: FlowActivity = newActivity(MIN);
        for (const t of ts) record(a, t);
        expect(a.counts.reduce((x, y) => x + y, 0)).toBe(ts.length);
        expect(a.starts.length).toBeLessThanOrEqual(MAX_FLOW_BUCKETS);
        for (let i = 0; i < a.starts.length; i++) {
          expect(a.starts[i]! % a.w).toBe(0);
          if (i > 0) expect(a.starts[i]!).toBeGreaterThan(a.starts[i - 1]!);
        }
        // every packet is in the bucket holding its time
        const all = packetsIn(a, -Infinity, Infinity);
        expect(all).toBe(ts.length);
        const last = Math.max(...ts);
        expect(lastActiveBefore(a, Infinity)).toBe(Math.floor(last / a.w) * a.w + a.w);
      }),
    );
  });

  it('split at cuts (a given window\'s bounds, off the minute), keeps each packet on its side of every cut, also once coarsened', () => {
    fc.assert(
      fc.property(
        // enough packets that a flow's buckets coarsen (more than MAX_FLOW_BUCKETS minutes)
        fc.array(fc.integer({ min: 0, max: 48 * 60 * MIN }), { minLength: 1, maxLength: 400, size: 'max' }),
        fc.integer({ min: 1, max: 48 * 60 * MIN }),
        fc.integer({ min: 0, max: 12 * 60 * MIN }),
        fc.boolean(),
        (times, c0, len, sorted) => {
          const cuts = [c0, c0 + len];
          const ts = sorted ? [...times].sort((a, b) => a - b) : times;
          const a: FlowActivity = newActivity(MIN);
          for (const t of ts) record(a, t, 1, cuts);
          expect(a.starts.length).toBeLessThanOrEqual(MAX_FLOW_BUCKETS);
          for (let i = 1; i < a.starts.length; i++) expect(a.starts[i]!).toBeGreaterThan(a.starts[i - 1]!);
          // bucket keys tell the side: the packets of the buckets keyed before a cut are exactly those before it
          for (const c of cuts) expect(packetsIn(a, -Infinity, c)).toBe(ts.filter((t) => t < c).length);
          expect(packetsIn(a, -Infinity, Infinity)).toBe(ts.length);
          // each bucket's first and last packets are exact: the packets from its start up to the next one's
          for (let i = 0; i < a.starts.length; i++) {
            const mine = ts.filter((t) => t >= a.starts[i]! && (i + 1 === a.starts.length || t < a.starts[i + 1]!));
            expect([a.edges[2 * i], a.edges[2 * i + 1]]).toEqual([Math.min(...mine), Math.max(...mine)]);
          }
        },
      ),
    );
  });

  it('splits packets at window edges and tells when a flow went quiet', () => {
    const a: FlowActivity = newActivity(MIN);
    for (const m of [1, 1, 2, 5, 9]) record(a, m * MIN + 1000);
    expect(packetsIn(a, 0, 3 * MIN)).toBe(3);
    expect(packetsIn(a, 3 * MIN, 10 * MIN)).toBe(2);
    expect(lastActiveBefore(a, 5 * MIN)).toBe(3 * MIN);
    expect(lastActiveBefore(a, MIN)).toBeNull();
  });
});
