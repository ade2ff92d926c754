import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createClassifier } from '../../src/classify/classifier.js';
import { createAnalyzeHumanWriter } from '../../src/output/analyze-human.js';
import { eventsOf, hv, tcp } from '../classify/helpers.js';
import { run } from '../../src/cli/main.js';
import { memoryIO } from '../catalog/cli-io.js';

describe('analyze human output', () => {
  it('marks a scan flow\'s port count that is a lower bound with "+"', async () => {
    // two scanners sweeping 300 ports each, one port bitmap for both (classifier option maxPortBitmaps)
    const sweep = (src: string) => Array.from({ length: 300 }, (_, i) =>
      hv(`Apr 22 10:00:${String(i % 50).padStart(2, '0')}`, 'harvester3', src, '192.168.122.63', tcp(40001, 2000 + i, 'SYN', 1024), { len: 44, ttl: 41, df: false }));
    const classifier = createClassifier({ maxPortBitmaps: 1 });
    for (const e of eventsOf([...sweep('203.0.113.51'), ...sweep('203.0.113.52')])) classifier.classify(e);
    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (d: Buffer) => (out += d.toString()));
    const writer = createAnalyzeHumanWriter({ stdout, color: false, describe: (f) => classifier.flowSummary(f) });
    const result = classifier.finish();
    await writer.end({ ...result, summary: { ...result.summary, input: { sources: 1, lines: 600, events: 600, skipped: 0, issues: 0, cut: 0, otherPrefix: 0, bytes: 0 }, prefixes: {} } });
    expect(out).toMatch(/203\.0\.113\.51.*\[300 ports\]/);
    expect(out).toMatch(/203\.0\.113\.52.*\[256\+ ports\]/);
  });
  it('says "its own" of one settled conntrack-loss flow, "their own" of several', async () => {
    // ACKs from the API server's 6443 to a client port: return traffic of a connection whose state was lost
    const acks = (server: string, n: number) => Array.from({ length: n }, (_, i) =>
      hv(`Apr 22 10:00:0${i}`, 'harvester3', server, '192.168.122.63', tcp(6443, 46001, 'ACK')));
    const summaryOf = async (lines: string[]): Promise<string> => {
      const classifier = createClassifier();
      for (const e of eventsOf(lines)) classifier.classify(e);
      const stdout = new PassThrough();
      let out = '';
      stdout.on('data', (d: Buffer) => (out += d.toString()));
      const writer = createAnalyzeHumanWriter({ stdout, color: false, describe: (f) => classifier.flowSummary(f) });
      const result = classifier.finish();
      await writer.end({ ...result, summary: { ...result.summary, input: { sources: 1, lines: lines.length, events: lines.length, skipped: 0, issues: 0, cut: 0, otherPrefix: 0, bytes: 0 }, prefixes: {} } });
      return out;
    };
    expect(await summaryOf(acks('192.168.122.10', 3))).toContain('1 conntrack-loss flow (3 packets) settled on its own: harmless return traffic of a connection whose state was lost.');
    expect(await summaryOf([...acks('192.168.122.10', 3), ...acks('192.168.122.11', 1)])).toContain('2 conntrack-loss flows (4 packets) settled on their own: harmless return traffic of connections whose state was lost.');
  });
  it('without wall-clock times, a flow\'s lines are named with their files when more than one is read', async () => {
    // real /dev/kmsg records (no wall-clock time), cut in two files between an echo request and its retry
    const kmsg = readFileSync('fixtures/kernel/kmsg.txt', 'utf8').split('\n').filter((l) => l !== '');
    const dir = mkdtempSync(join(tmpdir(), 'fwdiag-human-'));
    try {
      const a = join(dir, 'a.log');
      const b = join(dir, 'b.log');
      writeFileSync(a, `${kmsg.slice(0, 20).join('\n')}\n`);
      writeFileSync(b, `${kmsg.slice(20).join('\n')}\n`);
      const m = memoryIO();
      expect(await run(['analyze', a, b], m.io), m.err()).toBe(0);
      const rows = m.out().split('\n').filter((l) => l.startsWith('  genuine-block '));
      // the ping's two requests: the last line of a.log and the first of b.log
      expect(rows.find((l) => l.includes(' icmp 198.18.0.1 → 198.18.0.2 '))).toMatch(/×2 {2}\S*a\.log:20 … \S*b\.log:1$/);
      // a flow within one file: its file once
      expect(rows.find((l) => l.includes(':10250 (kubelet API)') && l.includes('198.18.0.1 → 198.18.0.2'))).toMatch(/×2 {2}\S*a\.log:1-2$/);
      // one file: line numbers alone, as before
      const one = memoryIO();
      expect(await run(['analyze', a], one.io)).toBe(0);
      expect(one.out()).toMatch(/198\.18\.0\.1 → 198\.18\.0\.2:10250 \(kubelet API\) {2}×2 {2}lines 1-2$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
