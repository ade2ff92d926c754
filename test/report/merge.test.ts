import { describe, expect, it } from 'vitest';
import { mergeByTime } from '../../src/report/merge.js';
import type { DropEvent, LineResult } from '../../src/parse/event.js';

function ev(ts: number | null, tag: string, mono: number | null = null): LineResult {
  const event = { line: 0, time: null, ts, mono, host: tag, envelope: 'bare', prefix: '', in: '', out: '' } as DropEvent;
  return { kind: 'event', event };
}
async function* batches(...bs: LineResult[][]): AsyncGenerator<LineResult[]> {
  for (const b of bs) yield b;
}
async function collect(it: AsyncIterable<LineResult[]>): Promise<string[]> {
  const out: string[] = [];
  for await (const b of it) for (const r of b) out.push(r.kind === 'event' ? `${r.event.host}@${r.event.ts ?? r.event.mono}` : r.kind);
  return out;
}

describe('mergeByTime', () => {
  it('merges time-ordered sources into one time-ordered stream, ties to the earlier source', async () => {
    const a = batches([ev(1, 'a'), ev(5, 'a')], [ev(9, 'a')]);
    const b = batches([ev(2, 'b')], [], [ev(5, 'b'), ev(6, 'b')]);
    const c = batches([ev(0, 'c'), ev(10, 'c')]);
    expect(await collect(mergeByTime([a, b, c], 2))).toEqual(['c@0', 'a@1', 'b@2', 'a@5', 'b@5', 'b@6', 'a@9', 'c@10']);
  });

  it('keeps results without a time in their place within their source', async () => {
    const a = batches([ev(1, 'a'), { kind: 'issue', issue: { issue: 'truncated', message: '', line: 2, text: '' } }, ev(7, 'a')]);
    const b = batches([ev(3, 'b'), ev(4, 'b')]);
    expect(await collect(mergeByTime([a, b]))).toEqual(['a@1', 'issue', 'b@3', 'b@4', 'a@7']);
  });

  it('uses monotonic time when there is no wall clock', async () => {
    const a = batches([ev(null, 'a', 2.5), ev(null, 'a', 4)]);
    const b = batches([ev(null, 'b', 3)]);
    expect(await collect(mergeByTime([a, b]))).toEqual(['a@2.5', 'b@3', 'a@4']);
  });

  it('puts lines with only a monotonic time after every wall-clock line (the clocks do not compare)', async () => {
    const a = batches([ev(null, 'dmesg', 2.5), ev(null, 'dmesg', 4)]);
    const b = batches([ev(1_776_852_000_000, 'syslog'), ev(1_776_852_001_000, 'syslog')]);
    const c = batches([ev(null, 'kmsg', 3)]);
    expect(await collect(mergeByTime([a, b, c]))).toEqual(['syslog@1776852000000', 'syslog@1776852001000', 'dmesg@2.5', 'kmsg@3', 'dmesg@4']);
  });

  it('closes every source when the consumer stops early', async () => {
    const closed: string[] = [];
    async function* src(tag: string): AsyncGenerator<LineResult[]> {
      try {
        for (let i = 0; i < 100; i++) yield [ev(i, tag)];
      } finally {
        closed.push(tag);
      }
    }
    for await (const b of mergeByTime([src('x'), src('y')], 1)) {
      expect(b).toHaveLength(1);
      break;
    }
    expect(closed.sort()).toEqual(['x', 'y']);
  });
});
