import { readFileSync } from 'node:fs';
import { createParser } from '../../src/parse/parse-line.js';
import type { DropEvent, LineResult, Packet } from '../../src/parse/event.js';
import { createClassifier, type Classifier, type FlowSummary } from '../../src/classify/classifier.js';
import { createViewStore, type ViewStore, type ViewStoreOptions } from '../../src/view/store.js';

export const SAMPLE = new URL('../../fixtures/sample/harvester-upgrade.log', import.meta.url);
export const KMSG = new URL('../../fixtures/kernel/kmsg.txt', import.meta.url);

export function fixtureLines(url: URL): string[] {
  return readFileSync(url, 'utf8').split('\n').filter((l) => l !== '');
}

/** A clock the test moves by hand. */
export function manualClock(start = Date.UTC(2026, 3, 22, 11, 0, 0)): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

export interface Fed {
  store: ViewStore;
  classifier: Classifier;
  lines: number;
  issues: number;
}

/** Real lines → parser → classifier → store, the way run-live feeds it. */
export function feed(lines: string[], opts: ViewStoreOptions = {}, into?: Fed): Fed {
  const classifier = into?.classifier ?? createClassifier({});
  const store = into?.store ?? createViewStore({ notifyMs: 100, ...opts });
  const parser = createParser({ tz: 'UTC', now: () => Date.UTC(2026, 4, 30) });
  let issues = into?.issues ?? 0;
  for (const l of lines) {
    const r = parser.parseLine(l);
    if (r.kind === 'event') store.push(classifier.classify(r.event));
    else if (r.kind === 'issue') {
      issues++;
      store.addIssue();
      if (r.event !== undefined) store.push(classifier.classify(r.event));
    }
  }
  for (const r of parser.flush()) if (r.kind === 'event') store.push(classifier.classify(r.event));
  const total = (into?.lines ?? 0) + lines.length;
  store.setLines(total);
  return { store, classifier, lines: total, issues };
}

/**
 * Real lines → parser's packets → classifier.observe → store.pushPacket, the way run-live feeds it (lines the scanner
 * cannot read come as events, pushed as feed() does). Counts the events built for the store (`built`).
 */
export function feedPackets(lines: string[], opts: ViewStoreOptions = {}, into?: Fed & { built: number }): Fed & { built: number } {
  const classifier = into?.classifier ?? createClassifier({});
  const store = into?.store ?? createViewStore({ notifyMs: 100, ...opts });
  const parser = createParser({ tz: 'UTC', now: () => Date.UTC(2026, 4, 30) });
  const out = { store, classifier, lines: (into?.lines ?? 0) + lines.length, issues: into?.issues ?? 0, built: into?.built ?? 0 };
  const each = (r: LineResult): void => {
    if (r.kind === 'event') store.push(classifier.classify(r.event));
    else if (r.kind === 'issue') {
      out.issues++;
      store.addIssue();
      if (r.event !== undefined) store.push(classifier.classify(r.event));
    }
  };
  const bytes = Buffer.from(lines.map((l) => `${l}\n`).join(''));
  parser.parseBytesPackets(bytes, (p: Packet, event: () => DropEvent) => {
    store.pushPacket(classifier.observe(p), () => {
      out.built++;
      return event();
    });
  }, each);
  for (const r of parser.flush()) each(r);
  store.setLines(out.lines);
  return out;
}

/** What the interim suggestions should hold, from the classifier's own summary: clients per genuine-blocked port. */
export function blockedPorts(flows: FlowSummary[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const f of flows) {
    if (f.verdict !== 'genuine-block' || f.serverPort === null || !['tcp', 'udp', 'sctp'].includes(f.proto)) continue;
    const k = `${f.proto}/${f.serverPort}`;
    if (!out.has(k)) out.set(k, new Set());
    out.get(k)!.add(f.client);
  }
  return out;
}

/** Sources of scan flows (scanners). */
export function scanners(flows: FlowSummary[]): Set<string> {
  return new Set(flows.filter((f) => f.verdict === 'scan').map((f) => f.client));
}
