/**
 * The live view's suggestion engine: fed the sample log the way run-live feeds it, the store's suggestions are the
 * engine's (catalog scope, merged ranges, never a scanner or conntrack-loss), not the interim per-port list.
 */
import { describe, expect, it } from 'vitest';
import { createClassifier } from '../../src/classify/classifier.js';
import { catalogServiceLookup } from '../../src/classify/services.js';
import { loadCatalog } from '../../src/catalog/index.js';
import { createParser } from '../../src/parse/parse-line.js';
import { createViewStore } from '../../src/view/store.js';
import { inputLabel, liveEngine } from '../../src/view/run-live.js';
import { SAMPLE, fixtureLines, manualClock } from './helpers.js';

describe('live view suggestion engine', () => {
  it('replaces the interim list with the engine, recomputed at most once a second', () => {
    const clock = manualClock();
    const classifier = createClassifier({}, { services: catalogServiceLookup('harvester') });
    const store = createViewStore({ notifyMs: 100, now: clock.now });
    const catalog = loadCatalog([]);
    const engine = liveEngine(
      { catalog, platform: 'harvester', role: 'control-plane', hostRoles: new Map(), allowUnknown: false, controlPlane: [] },
      classifier,
      store,
      clock.now,
    );
    const parser = createParser({ tz: 'UTC', now: () => Date.UTC(2026, 4, 30) });
    const lines = fixtureLines(SAMPLE);
    // stop half-way before the first new connection is refused: the first computation has nothing to propose
    const half = Math.floor(lines.findIndex((l) => / SYN URGP=/.test(l) && !l.includes('ACK')) / 2);
    expect(half).toBeGreaterThan(10);
    let n = 0;
    for (const l of lines) {
      const r = parser.parseLine(l);
      if (r.kind !== 'event') continue;
      const c = classifier.classify(r.event);
      store.push(c);
      engine.observe(c, () => c.event);
      if (++n === half) {
        engine.batch();
        clock.advance(200);
      }
    }
    // within the same second: throttled, so nothing new yet unless forced
    engine.batch();
    store.flush();
    const before = store.getSnapshot().suggestions.length;
    expect(before).toBe(0);
    engine.batch(true);
    store.flush();
    const s = store.getSnapshot().suggestions;
    expect(s.length).toBeGreaterThan(before);
    expect(s.map((x) => `${x.proto}/${x.ports.join(',')}`).sort()).toEqual(['tcp/2379-2380', 'udp/8472']);
    for (const x of s) {
      // observed clients as /32s: never wider than the catalog scope, never the scanner or the conntrack-loss peer
      expect(x.sources.length).toBeGreaterThan(0);
      for (const src of x.sources) expect(src).toMatch(/^192\.168\.122\.(61|62|64)\/32$/);
      expect(x.rendered).toContain('role control-plane');
    }
  });
});

describe('live view suggestion engine and a reloaded --ruleset', () => {
  it('recomputes against the new ruleset: a rule added since is no longer proposed', async () => {
    const { readFileSync } = await import('node:fs');
    const { parseRuleset } = await import('../../src/ruleset/index.js');
    const full = readFileSync('fixtures/rulesets/harvester-control-plane.iptables-save', 'utf8');
    const rs = (text: string) => {
      const r = parseRuleset(text);
      if (!r.ok) throw new Error(r.issues.join());
      return r.value;
    };
    const before = rs(full.split('\n').filter((l) => !l.includes('--dport 2379:2380') && !l.includes('--dport 8472')).join('\n'));
    const clock = manualClock();
    const classifier = createClassifier({}, { services: catalogServiceLookup('harvester') });
    const store = createViewStore({ notifyMs: 100, now: clock.now });
    const engine = liveEngine(
      { catalog: loadCatalog([]), platform: 'harvester', role: 'control-plane', hostRoles: new Map(), allowUnknown: false, controlPlane: [], ruleset: before },
      classifier, store, clock.now,
    );
    const parser = createParser({ tz: 'UTC', now: () => Date.UTC(2026, 4, 30) });
    for (const l of fixtureLines(SAMPLE)) {
      const r = parser.parseLine(l);
      if (r.kind !== 'event') continue;
      const c = classifier.classify(r.event);
      store.push(c);
      engine.observe(c, () => c.event);
    }
    engine.batch(true);
    store.flush();
    expect(store.getSnapshot().suggestions.map((x) => `${x.proto}/${x.ports.join(',')}`).sort()).toEqual(['tcp/2379-2380', 'udp/8472']);
    engine.setRuleset(rs(full));
    clock.advance(1500);
    engine.batch();
    store.flush();
    expect(store.getSnapshot().suggestions).toEqual([]);
  });
});

describe('the header\'s input', () => {
  it('names stdin as stdin: `journalctl -k -f | fwdiag` read `fwdiag live · -`', () => {
    expect(inputLabel([{ name: '-' }])).toBe('stdin');
    expect(inputLabel([{ name: '/var/log/kern.log' }, { name: '-' }])).toBe('/var/log/kern.log, stdin');
    expect(inputLabel([{ name: '/dev/kmsg' }])).toBe('/dev/kmsg');
    expect(inputLabel([])).toBe('stdin');
  });
});
