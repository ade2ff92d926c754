import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createLineSplitter, splitAll } from '../../src/input/split-lines.js';
import { MAX_LINE_BYTES } from '../../src/input/types.js';

/** Feed `buf` cut at the given offsets, collecting every line. */
function splitChunked(buf: Buffer, cuts: number[], maxLineBytes?: number): { lines: string[]; cut: number } {
  const s = createLineSplitter(maxLineBytes === undefined ? {} : { maxLineBytes });
  const lines: string[] = [];
  let prev = 0;
  for (const c of [...cuts].sort((a, b) => a - b)) {
    // Reuse one scratch buffer per chunk, as tail-file and fs.read do, to prove nothing keeps a reference.
    const chunk = Buffer.from(buf.subarray(prev, c));
    lines.push(...s.push(chunk));
    chunk.fill(0x58);
    prev = c;
  }
  lines.push(...s.push(Buffer.from(buf.subarray(prev))));
  lines.push(...s.end());
  return { lines, cut: s.cut };
}

/** A naive reference implementation, written differently: byte by byte. */
function reference(buf: Buffer, max: number): { lines: string[]; cut: number } {
  const lines: string[] = [];
  let cut = 0;
  const emit = (start: number, end: number) => {
    if (end > start && buf[end - 1] === 0x0d) end--;
    if (end - start > max) {
      cut++;
      let e = start + max;
      let steps = 0;
      while (steps < 3 && ((buf[e] ?? 0) & 0xc0) === 0x80) {
        e--;
        steps++;
      }
      lines.push(buf.toString('utf8', start, e));
    } else lines.push(buf.toString('utf8', start, end));
  };
  let start = 0;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] === 0x0a) {
      emit(start, i);
      start = i + 1;
    }
  }
  if (start < buf.length) emit(start, buf.length);
  return { lines, cut };
}

// Bytes biased towards the interesting ones: newlines, CR, NUL, UTF-8 lead/continuation bytes, invalid bytes.
const interestingByte = fc.oneof(
  fc.constantFrom(0x0a, 0x0d, 0x00, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80, 0xff, 0xfe),
  fc.integer({ min: 0x20, max: 0x7e }),
  fc.integer({ min: 0, max: 255 }),
);

describe('createLineSplitter', () => {
  it('any split of any byte string yields the same lines as splitting the whole', () => {
    fc.assert(
      fc.property(
        fc.array(interestingByte, { maxLength: 300 }).map((a) => Buffer.from(a)),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.integer({ min: 4, max: 24 }),
        (buf, rawCuts, max) => {
          const cuts = rawCuts.map((c) => (buf.length === 0 ? 0 : c % (buf.length + 1)));
          const whole = splitAll(buf, { maxLineBytes: max });
          const chunked = splitChunked(buf, cuts, max);
          expect(chunked).toEqual(whole);
          expect(whole).toEqual(reference(buf, max));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('decodes many short lines, some non-ASCII or invalid, exactly like a byte-by-byte reference', () => {
    // Lines far below the cap: this exercises the fast span decoder (latin1 + per-line UTF-8 re-decode).
    const line = fc.array(interestingByte, { maxLength: 40 }).map((a) => a.filter((b) => b !== 0x0a));
    fc.assert(
      fc.property(fc.array(line, { maxLength: 200 }), fc.array(fc.nat(), { maxLength: 6 }), (ls, rawCuts) => {
        const buf = Buffer.concat(ls.map((l) => Buffer.from([...l, 0x0a])));
        const cuts = rawCuts.map((c) => c % (buf.length + 1));
        const expected = reference(buf, MAX_LINE_BYTES);
        expect(splitAll(buf)).toEqual(expected);
        expect(splitChunked(buf, cuts)).toEqual(expected);
      }),
      { numRuns: 1000 },
    );
  });

  it('strips \\r of \\r\\n, keeps a lone \\r inside a line', () => {
    const { lines } = splitAll(Buffer.from('a\r\nb\rc\r\n\r\nd\r'));
    expect(lines).toEqual(['a', 'b\rc', '', 'd']);
  });

  it('keeps empty lines and a last line without a newline', () => {
    expect(splitAll(Buffer.from('\n\nx\n\ny')).lines).toEqual(['', '', 'x', '', 'y']);
    expect(splitAll(Buffer.from('x\n')).lines).toEqual(['x']);
    expect(splitAll(Buffer.from('')).lines).toEqual([]);
  });

  it('turns invalid UTF-8 into U+FFFD and passes NUL through', () => {
    const buf = Buffer.from([0x61, 0xff, 0x62, 0x00, 0x63, 0x0a, 0xc3, 0x0a, 0xc3, 0xa9, 0x0a]);
    expect(splitAll(buf).lines).toEqual(['a\uFFFDb\u0000c', '\uFFFD', 'é']);
  });

  it('cuts a 200 KiB line to MAX_LINE_BYTES at a UTF-8 boundary, counts it, and goes on with the next line', () => {
    // "é" is 2 bytes: 0xC3 0xA9. Put one straddling the cap so the cut must step back a byte.
    const long = Buffer.concat([Buffer.alloc(MAX_LINE_BYTES - 1, 0x41), Buffer.from('é'), Buffer.alloc(200 * 1024, 0x42)]);
    const input = Buffer.concat([Buffer.from('before\n'), long, Buffer.from('\nafter\n')]);
    for (const chunkSize of [1000, 4096, 65536, 1 << 20]) {
      const s = createLineSplitter();
      const lines: string[] = [];
      for (let i = 0; i < input.length; i += chunkSize) lines.push(...s.push(input.subarray(i, i + chunkSize)));
      lines.push(...s.end());
      expect(lines.length).toBe(3);
      expect(lines[0]).toBe('before');
      expect(lines[1]).toBe('A'.repeat(MAX_LINE_BYTES - 1));
      expect(Buffer.byteLength(lines[1] as string)).toBeLessThanOrEqual(MAX_LINE_BYTES);
      expect(lines[2]).toBe('after');
      expect(s.cut).toBe(1);
    }
  });

  it('keeps a line of exactly the cap whole, even with \\r\\n', () => {
    const line = 'x'.repeat(MAX_LINE_BYTES);
    const r = splitAll(Buffer.from(`${line}\r\n${line}y\n`));
    expect(r.lines).toEqual([line, line]);
    expect(r.cut).toBe(1);
  });

  it('bounds what it holds for a line that never ends', () => {
    const s = createLineSplitter({ maxLineBytes: 1000 });
    const out: string[] = [];
    for (let i = 0; i < 100; i++) out.push(...s.push(Buffer.alloc(4096, 0x7a)));
    expect(s.pendingBytes).toBeLessThanOrEqual(1002);
    expect(out).toEqual(['z'.repeat(1000)]);
    expect(s.push(Buffer.from('tail\nnext\n'))).toEqual(['next']);
  });
});

describe('pushPieces on chunks larger than a slice', () => {
  /** Lines of pushPieces(): strings as they are, byte runs split at `\n` with the `\r` before it dropped. */
  function piecesLines(buf: Buffer, cuts: number[], max: number): { lines: string[]; cut: number } {
    const s = createLineSplitter({ maxLineBytes: max });
    const lines: string[] = [];
    const take = (chunk: Buffer) => {
      for (const p of s.pushPieces(chunk)) {
        if (typeof p === 'string') {
          lines.push(p);
          continue;
        }
        const run = Buffer.from(p);
        expect(run[run.length - 1]).toBe(0x0a);
        for (const l of run.toString('utf8', 0, run.length - 1).split('\n')) lines.push(l.endsWith('\r') ? l.slice(0, -1) : l);
      }
      chunk.fill(0x58); // nothing may keep a view of a chunk past the call
    };
    let prev = 0;
    for (const c of cuts) {
      take(Buffer.from(buf.subarray(prev, c)));
      prev = c;
    }
    take(Buffer.from(buf.subarray(prev)));
    lines.push(...s.end());
    return { lines, cut: s.cut };
  }

  it('one run per chunk when no line can be over the cap, and the same lines as the reference when one is', () => {
    fc.assert(
      fc.property(
        // line lengths: mostly short, some around and over the cap
        fc.array(fc.oneof(fc.integer({ min: 0, max: 120 }), fc.integer({ min: 200, max: 1200 })), { minLength: 200, maxLength: 1500 }),
        fc.integer({ min: 64, max: 1024 }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 4 }),
        (lens, max, crlf, rawCuts) => {
          const parts: string[] = [];
          lens.forEach((n, i) => parts.push(`${String(i)}:${'x'.repeat(n)}${crlf && i % 3 === 0 ? '\r' : ''}\n`));
          const buf = Buffer.from(parts.join(''));
          // chunk boundaries at least 64 KiB + 1 apart, so each chunk is worked as a whole (more than one slice)
          const cuts: number[] = [];
          let at = 0;
          for (const c of rawCuts) {
            at += 65_537 + (c % 100_000);
            if (at < buf.length) cuts.push(at);
          }
          expect(piecesLines(buf, cuts, max)).toEqual(reference(buf, max));
        },
      ),
      { numRuns: 60 },
    );
  });
});
