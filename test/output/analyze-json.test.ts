/**
 * The final `{"summary", "flows"}` object of `analyze --json/--summary` is written a few hundred flows at a time;
 * it must be exactly jsonValue() of end()'s summary, whatever the number of flows.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createClassifier, type FlowSummary } from '../../src/classify/classifier.js';
import { createAnalyzeJsonWriter, flowSummaryJson } from '../../src/output/analyze-json.js';
import { jsonValue } from '../../src/output/ndjson.js';
import { createParser } from '../../src/parse/parse-line.js';
import { makeLine, mulberry32 } from '../../bench/corpus.mjs';

function collector(): { stream: Writable; writes: string[] } {
  const writes: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      writes.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { stream, writes };
}

function classified(lines: number) {
  const rnd = mulberry32(7);
  const p = createParser({ tz: 'UTC', now: () => Date.parse('2024-06-01T00:00:00Z') });
  const c = createClassifier({});
  for (let i = 0; i < lines; i++) {
    const r = p.parseLine(makeLine(rnd, i) as string);
    if (r.kind === 'event') c.classify(r.event);
  }
  return c;
}

describe('analyze --summary: the final object in pieces', () => {
  for (const n of [0, 40, 20_000]) {
    it(`equals jsonValue(end()) (${n} lines)`, async () => {
      const c = classified(n);
      const whole = c.end();
      const { stream, writes } = collector();
      const w = createAnalyzeJsonWriter({ stdout: stream, summaryOnly: true });
      await w.end(c.finish());
      const text = writes.join('');
      expect(text).toBe(`${jsonValue(whole)}\n`);
      if (n === 20_000) {
        // thousands of flows: several writes, none of them the whole object
        expect(whole.flows.length).toBeGreaterThan(2000);
        expect(writes.length).toBeGreaterThan(3);
        expect(Math.max(...writes.map((s) => s.length))).toBeLessThan(text.length / 2);
      }
    });
  }
});

describe('flowSummaryJson: a flow summary by hand, exactly as jsonValue() prints it', () => {
  // Required<>: a key added to FlowSummary fails to compile here until this test (and the writer) know it
  // in the order flowSummary() sets the keys, which is the order JSON.stringify prints them in
  const full: Required<FlowSummary> = {
    host: 'node\u001b[31m"1"\\', proto: 'tcp', server: '198.18.0.1', serverPort: 6443, client: '198.18.0.2\u2028',
    verdict: 'genuine-block', rule: 'tcp-syn', service: 'Kubernetes API \u0085', count: 3,
    firstSeen: '2026-04-22T10:00:00Z', lastSeen: '2026-04-22T10:05:00.5Z', firstLine: 1, lastLine: 99, persistent: true,
    reason: 'SYN — refused → "x"\n', firstMono: 1002.849, lastMono: 1e21, file: 'kern.log\u007f',
    lastFile: 'kern.log.1\u2029',
    flags: { SYN: 2, 'ACK "PSH"': 1 }, attempts: 1, retransmits: 2, backoff: true, ports: 12, portsAtLeast: true,
    window: { before: 1, during: 2, after: 0 }, ctInvalid: 4, ctReason: 'invalid\tstate',
  };
  it('every key, hostile strings', () => {
    expect(flowSummaryJson(full)).toBe(jsonValue(full));
    expect(JSON.parse(flowSummaryJson(full))).toEqual(full);
  });
  it("a real classifier's flows with window marks, conntrack INVALID and SYN tracking", () => {
    const tcp = (spt: number, dpt: number, flags: string): string =>
      `Apr 22 10:00:01 harvester3 kernel: HARVESTER_DROP_IN=mgmt-br OUT= SRC=198.18.0.2 DST=198.18.0.1 LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=${spt} DPT=${dpt} WINDOW=501 RES=0x00 ${flags} URGP=0`;
    const ct = tcp(9345, 46002, 'ACK FIN').replace('HARVESTER_DROP_', 'nf_ct_proto_6: invalid packet ignored in state ESTABLISHED ');
    const p = createParser({ tz: 'UTC', now: () => Date.parse('2024-06-01T00:00:00Z') });
    const c = createClassifier({ window: { start: Date.UTC(2024, 3, 22, 9), end: Date.UTC(2024, 3, 22, 11) } });
    for (const line of [ct, tcp(9345, 46002, 'ACK FIN'), tcp(40000, 2380, 'SYN'), tcp(40000, 2380, 'SYN'), tcp(40002, 2380, 'SYN')]) {
      const r = p.parseLine(line);
      if (r.kind === 'event') c.classify(r.event);
    }
    const flows = c.end().flows;
    const keys = new Set<string>();
    for (const f of flows) {
      expect(flowSummaryJson(f)).toBe(jsonValue(f));
      for (const k of Object.keys(f)) keys.add(k);
    }
    for (const k of ['flags', 'attempts', 'retransmits', 'backoff', 'window', 'ctInvalid', 'ctReason']) expect(keys).toContain(k);
    expect(flows.some((f) => f.ctInvalid === 1 && f.window !== undefined)).toBe(true);
    expect(flows.some((f) => f.attempts === 2 && f.retransmits === 0 && f.backoff === false && f.flags?.SYN === 3)).toBe(true);
  });

  it('nulls, absent keys, odd numbers', () => {
    const { firstMono, lastMono, file, lastFile, flags, retransmits, backoff, attempts, ports, portsAtLeast, window, ctInvalid, ctReason, ...base } = full;
    void [firstMono, lastMono, file, lastFile, flags, retransmits, backoff, attempts, ports, portsAtLeast, window, ctInvalid, ctReason];
    const bare: FlowSummary = { ...base, host: null, serverPort: null, service: null, firstSeen: null, lastSeen: null, persistent: false };
    expect(flowSummaryJson(bare)).toBe(jsonValue(bare));
    for (const mono of [NaN, -0, 0.1 + 0.2, Infinity]) {
      const o: FlowSummary = { ...bare, firstMono: mono, lastMono: mono, flags: {} };
      expect(flowSummaryJson(o)).toBe(jsonValue(o));
    }
  });
});
