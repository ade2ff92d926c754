import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import stringWidth from 'string-width';
import { NARROW_UNITS, columns, fit, fitName, fitTail } from '../../src/view/format.js';

const graphemes = (s: string) => Array.from(new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(s), (g) => g.segment);

/** Text mixing ASCII, the view's symbols, two-column CJK characters and emoji (one grapheme of several code points among them). */
const text = fc.array(fc.constantFrom('a', 'b', '7', '.', ':', ' ', '→', '·', '│', '漢', '字', '🙂', '👩‍💻', 'é'), { maxLength: 24 }).map((a) => a.join(''));

describe('columns', () => {
  it('the view\'s symbols are one UTF-16 unit and one column each (their width is taken as their length)', () => {
    for (const c of NARROW_UNITS) {
      expect(c.length, c).toBe(1);
      expect(stringWidth(c), c).toBe(1);
    }
  });
  it('is string-width\'s count, on any mix', () => {
    fc.assert(fc.property(text, (s) => {
      expect(columns(s), s).toBe(stringWidth(s));
    }), { numRuns: 500 });
    expect(columns(`fwdiag live · stdin │ 1:09 │ 50 lines ${NARROW_UNITS}`)).toBe(38 + NARROW_UNITS.length);
  });
});

describe('fit and fitTail', () => {
  it('cut to the width with an ellipsis, at the end or in front, keeping whole characters, and pad to the width', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 1, max: 30 }), (s, width) => {
        for (const fromEnd of [false, true]) {
          const out = fromEnd ? fitTail(s, width) : fit(s, width);
          expect(columns(out)).toBe(width);
          if (columns(s) <= width) {
            expect(out).toBe(s + ' '.repeat(width - columns(s)));
            continue;
          }
          if (width === 1) {
            expect(out).toBe('…');
            continue;
          }
          // the longest run of whole characters from that end that fits in width - 1 columns (the ellipsis takes one)
          const segs = graphemes(s);
          let kept = '';
          for (const g of fromEnd ? segs.reverse() : segs) {
            const next = fromEnd ? g + kept : kept + g;
            if (columns(next) > width - 1) break;
            kept = next;
          }
          const pad = ' '.repeat(width - 1 - columns(kept));
          expect(out).toBe(fromEnd ? `…${kept}${pad}` : `${kept}…${pad}`);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('keep an address\'s end (its port) or its start, by column', () => {
    expect(fitTail('192.168.122.63:8472', 10)).toBe('…2.63:8472');
    expect(fit('192.168.122.63:8472', 10)).toBe('192.168.1…');
    // a wide character that does not fit leaves a column over, padded
    expect(fitTail('ab漢字', 4)).toBe('…字 ');
    expect(fit('漢字ab', 4)).toBe('漢… ');
    expect(fit('abc', 0)).toBe('');
    expect(fit('abcdef', 4, false)).toBe('abc…');
  });
});

describe('fitName', () => {
  it('keeps the part from the last / on whole when it fits, else cuts as fit does; never wider than the width', () => {
    expect(fitName('wrote 2 rules to /a/long/dir/x.yaml', 24)).toBe('wrote 2 rules to…/x.yaml');
    expect(fitName('wrote 2 rules to /a/long/dir/x.yaml', 40)).toBe('wrote 2 rules to /a/long/dir/x.yaml');
    expect(fitName('no path in this message at all', 10)).toBe('no path i…');
    expect(fitName('w /a-name-too-long-to-keep.yaml', 10)).toBe('w /a-name…');
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', '/', ' ', '漢', '🙂'), { maxLength: 30 }).map((a) => a.join('')), fc.integer({ min: 1, max: 30 }), (s, width) => {
        expect(columns(fitName(s, width))).toBeLessThanOrEqual(width);
      }),
      { numRuns: 300 },
    );
  });
});
