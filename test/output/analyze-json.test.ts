/**
 * The final `{"summary", "flows"}` object of `analyze --json/--summary` is written a few hundred flows at a time;
 * it must be exactly jsonValue() of end()'s summary, whatever the number of flows.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createClassifier } from '../../src/classify/classifier.js';
import { createAnalyzeJsonWriter } from '../../src/output/analyze-json.js';
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
