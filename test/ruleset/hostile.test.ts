/**
 * A ruleset file is input too: mutated iptables-save, nft and nft JSON (tokens inserted, bytes deleted, lines
 * swapped) are parsed or rejected with reasons, and a parsed one traces drops — never a throw. `npm run fuzz` runs
 * the same for longer (test/fuzz/rulesets.mjs).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRuleset } from '../../src/ruleset/parse.js';
import { trace } from '../../src/ruleset/trace.js';
import { createParser } from '../../src/parse/parse-line.js';
import type { DropEvent } from '../../src/parse/event.js';

const fixture = (p: string): string => readFileSync(new URL(`../../fixtures/${p}`, import.meta.url), 'utf8');
const DOCS = [
  'rulesets/harvester-control-plane.iptables-save', 'rulesets/tricky.iptables-save', 'rulesets/talos-like.nft',
  'rulesets/talos-like.nft.json', 'rulesets/harvester-control-plane.iptables-nft.json', 'rulesets/vmap.nft.json',
  'rulesets/log-drop.nft.json',
].map(fixture);
const parser = createParser({ tz: 'UTC', now: () => Date.UTC(2026, 5, 1) });
const EVENTS: DropEvent[] = [...fixture('rulesets/harvester-control-plane.drops.log').split('\n'), ...fixture('kernel/kmsg.txt').split('\n')]
  .map((l) => parser.parseLine(l))
  .flatMap((r) => (r.kind === 'event' ? [r.event] : []));
const TOKENS = [' -A ', ' -p tcp', ' --dport ', ' -m multiport --dports 1:65535,', ' -s 0.0.0.0/0', ' -d ::/0', ' -j ', 'ACCEPT', 'DROP', ' ! ', ':', ',', '-', '/',
  '99999999999', '"', '{', '}', '[', ']', ' ip saddr ', ' tcp dport { 1-2, 3 }', ' jump ', ' goto ', '\n', ' -m conntrack --ctstate ', 'NEW,INVALID',
  ' -m comment --comment "x y" ', '"vmap": {', '"data": "@', '{"jump": {}}', '[[', 'fe80::/129', '1.2.3.4/33', ' -N X\n', ':INPUT DROP [0:0]\n', '"expr": [', '"match": {', 'null', '[]', '{}', 'COMMIT\n', '*filter\n'];

describe('ruleset files are input: mutated ones are parsed or rejected, never a throw', () => {
  it('nft JSON with an expression nested 5,000 deep is refused with a reason, not a stack overflow', () => {
    // built as text: JSON.stringify itself overflows on such a value
    let e = '{"accept":null}';
    for (let i = 0; i < 5000; i++) e = `{"match":{"op":"==","left":${e},"right":1}}`;
    const doc = `{"nftables":[{"table":{"family":"inet","name":"t","handle":1}},{"chain":{"family":"inet","table":"t","name":"input","handle":1,"type":"filter","hook":"input","prio":0,"policy":"accept"}},{"rule":{"family":"inet","table":"t","chain":"input","handle":2,"expr":[${e}]}}]}`;
    expect(parseRuleset(doc)).toEqual({ ok: false, issues: ['nft JSON nested too deeply to read'] });
  });

  it('on iptables-save, nft and nft JSON with tokens inserted, bytes deleted and lines swapped', () => {
    expect(EVENTS.length).toBeGreaterThan(10);
    let parsed = 0;
    let rejected = 0;
    fc.assert(
      fc.property(
        fc.nat({ max: DOCS.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 2 }), fc.nat({ max: TOKENS.length - 1 }), fc.nat({ max: 20 }), fc.nat()), { minLength: 1, maxLength: 4 }),
        fc.nat({ max: EVENTS.length - 1 }),
        (doc, edits, ev) => {
          let s = DOCS[doc] as string;
          for (const [at, kind, tok, del, other] of edits) {
            const i = at % (s.length + 1);
            if (kind === 0) s = s.slice(0, i) + s.slice(i + del);
            else if (kind === 1) s = s.slice(0, i) + (TOKENS[tok] as string) + s.slice(i);
            else {
              const lines = s.split('\n');
              const a = at % lines.length;
              const b = other % lines.length;
              [lines[a], lines[b]] = [lines[b] as string, lines[a] as string];
              s = lines.join('\n');
            }
          }
          const r = parseRuleset(s);
          if (!r.ok) {
            rejected++;
            expect(r.issues.length).toBeGreaterThan(0);
            return;
          }
          parsed++;
          const t = trace(r.value, EVENTS[ev] as DropEvent, {});
          expect(['accept', 'drop', 'reject', 'other', 'none']).toContain(t.verdict);
        },
      ),
      { numRuns: 1500 },
    );
    // both sides were exercised
    expect(parsed).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(100);
  });
});
