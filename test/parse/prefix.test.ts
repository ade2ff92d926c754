/**
 * `prefixes` (the CLI's `--prefix`): only LOG lines whose prefix starts with one of them are events; the others are
 * skipped and counted in `otherPrefix`. Checked on kernel-written lines and the bench corpus, through every way the
 * parser reads (the JavaScript parser line by line, the scanner's records, events handed over one by one, packets,
 * and the NDJSON the scanner prints itself): the same lines kept, the same counts.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_PREFIXES, OTHER_PREFIXES, createParser } from '../../src/parse/parse-line.js';
import type { LineResult, ParseCounters } from '../../src/parse/event.js';
import { makeLine, mulberry32 } from '../../bench/corpus.mjs';

const read = (p: string): string[] => readFileSync(new URL(p, import.meta.url), 'utf8').split('\n').filter(Boolean);
const KERNEL = [...read('../../fixtures/kernel/kmsg.txt'), ...read('../../fixtures/kernel/dmesg.txt'), ...read('../../fixtures/kernel/syslog.txt')];
const rnd = mulberry32(7);
// every third line from another LOG rule (the corpus has one prefix only)
const CORPUS = Array.from({ length: 3000 }, (_, i) => (makeLine(rnd, i) as string).replace('HARVESTER_DROP_', i % 3 === 0 ? 'AUDIT_ACCEPT: ' : 'HARVESTER_DROP_'));
const OPTS = { tz: 'UTC', now: () => Date.parse('2026-06-01T00:00:00Z') } as const;

/** What each way of reading kept: [line, prefix] of events and issues, and the counters. */
interface Kept {
  kept: Array<[number, string]>;
  counters: ParseCounters;
  /** LineParser.prefixesSeen(), as sorted entries */
  seen: Array<[string, number]>;
}
const seenOf = (m: Map<string, number>): Array<[string, number]> => [...m].sort((a, b) => (a[0] < b[0] ? -1 : 1));

function keptOf(results: LineResult[]): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  for (const r of results) {
    if (r.kind === 'event') out.push([r.event.line, r.event.prefix]);
    else if (r.kind === 'issue') out.push([r.issue.line, r.event?.prefix ?? '']);
  }
  return out;
}

function viaLines(lines: string[], prefixes?: string[]): Kept {
  const p = createParser({ ...OPTS, ...(prefixes === undefined ? {} : { prefixes }) });
  const res = lines.map((l) => p.parseLine(l));
  return { kept: keptOf(res), counters: { ...p.counters }, seen: seenOf(p.prefixesSeen()) };
}

function viaBytes(lines: string[], prefixes: string[], how: 'batch' | 'each' | 'packets' | 'ndjson'): Kept {
  const p = createParser({ ...OPTS, prefixes });
  const bytes = Buffer.from(`${lines.join('\n')}\n`);
  const results: LineResult[] = [];
  const kept: Array<[number, string]> = [];
  if (how === 'batch') p.parseBytes(bytes, results);
  else if (how === 'each') p.parseBytesEach(bytes, (r) => results.push(r));
  else if (how === 'packets') {
    p.parseBytesPackets(bytes, (pk, event) => results.push({ kind: 'event', event: { ...event(), line: pk.line } }), (r) => results.push(r));
  } else {
    const sink = {
      bytes: (b: Uint8Array) => {
        for (const l of Buffer.from(b).toString('utf8').split('\n').filter(Boolean)) {
          const e = JSON.parse(l) as { line: number; prefix: string };
          kept.push([e.line, e.prefix]);
        }
      },
      result: (r: LineResult) => kept.push(...keptOf([r])),
    };
    p.parseBytesNdjson(bytes, sink);
  }
  if (how !== 'ndjson') kept.push(...keptOf(results));
  kept.sort((a, b) => a[0] - b[0]);
  return { kept, counters: { ...p.counters }, seen: seenOf(p.prefixesSeen()) };
}

describe('LOG prefix filter', () => {
  const cases: Array<[string, string[], string[]]> = [
    ['kernel-written lines', KERNEL, ['FWFX_MID', '[FWFX UDP']],
    ['the bench corpus', CORPUS, ['HARVESTER_DROP_']],
    ['the bench corpus, a prefix nothing has', CORPUS, ['NOT_THERE_']],
  ];
  it.each(cases)('%s: every way of reading keeps the same lines and counts the rest', (_name, lines, prefixes) => {
    const all = viaLines(lines);
    const want = all.kept.filter(([, pre]) => prefixes.some((x) => pre.startsWith(x)));
    // conntrack INVALID lines (nf_ct_proto_N:) carry no LOG prefix: always kept
    const ct = new Set(lines.flatMap((l, i) => (l.includes('nf_ct_proto_') ? [i + 1] : [])));
    const wantAll = all.kept.filter(([line, pre]) => ct.has(line) || prefixes.some((x) => pre.startsWith(x)));
    expect(wantAll.length).toBeGreaterThanOrEqual(want.length);
    const left = all.kept.length - wantAll.length;
    if (prefixes[0] !== 'NOT_THERE_') expect(left).toBeGreaterThan(0);
    const js = viaLines(lines, prefixes);
    expect(js.kept).toEqual(wantAll);
    expect(js.counters.otherPrefix).toBe(left);
    expect(js.counters.events + js.counters.issues + js.counters.otherPrefix).toBe(all.counters.events + all.counters.issues);
    expect(js.counters.skipped).toBe(all.counters.skipped);
    // every LOG prefix is tallied, kept or left out: the unfiltered events' prefixes (conntrack INVALID lines aside)
    const tally = new Map<string, number>();
    for (const [line, pre] of all.kept) if (!ct.has(line)) tally.set(pre, (tally.get(pre) ?? 0) + 1);
    expect(all.seen).toEqual(seenOf(tally));
    expect(js.seen).toEqual(all.seen);
    for (const how of ['batch', 'each', 'packets', 'ndjson'] as const) {
      const got = viaBytes(lines, prefixes, how);
      expect(got.kept, how).toEqual(wantAll);
      expect(got.counters, how).toEqual(js.counters);
      expect(got.seen, how).toEqual(all.seen);
    }
  });

  it('at most MAX_PREFIXES distinct prefixes are tallied; the rest go under OTHER_PREFIXES', () => {
    const many = Array.from({ length: 50 }, (_, i) => (KERNEL.find((l) => l.includes('FWFX_SYN_DROP_')) as string).replace('FWFX_SYN_DROP_', `P${i}_`));
    for (const how of ['js', 'batch'] as const) {
      const seen = how === 'js' ? viaLines(many).seen : viaBytes(many, [], 'batch').seen;
      expect(seen.length, how).toBe(MAX_PREFIXES + 1);
      expect(new Map(seen).get(OTHER_PREFIXES), how).toBe(50 - MAX_PREFIXES);
    }
  });

  it('on kernel lines mutated anywhere, every way of reading still keeps and counts the same', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...KERNEL), fc.nat(), fc.nat({ max: 30 }), fc.string({ unit: 'binary-ascii', maxLength: 12 })), { minLength: 1, maxLength: 25 }),
        (muts) => {
          const lines = muts.map(([l, at, del, ins]) => {
            const i = at % (l.length + 1);
            return (l.slice(0, i) + ins + l.slice(i + del)).replace(/[\r\n]/g, ' ');
          });
          const prefixes = ['FWFX_MID', '[FWFX'];
          const js = viaLines(lines, prefixes);
          for (const how of ['batch', 'packets', 'ndjson'] as const) {
            const got = viaBytes(lines, prefixes, how);
            expect(got.kept, how).toEqual(js.kept);
            expect(got.counters, how).toEqual(js.counters);
            expect(got.seen, how).toEqual(js.seen);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('no prefixes, or an empty list: nothing is left out', () => {
    const a = viaLines(KERNEL);
    const b = viaLines(KERNEL, []);
    expect(b).toEqual(a);
    expect(a.counters.otherPrefix).toBe(0);
  });
});
