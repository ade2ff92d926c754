import { readFileSync } from 'node:fs';
import { createParser } from '../../src/parse/parse-line.js';
import { catalogServiceLookup } from '../../src/classify/services.js';
import type { ClassifierOptionsInput } from '../../src/classify/options.js';
import { loadBuiltinCatalog } from '../../src/catalog/index.js';
import { parseRuleset } from '../../src/ruleset/index.js';
import type { Ruleset } from '../../src/ruleset/index.js';
import { createFlowCollector, suggest } from '../../src/suggest/index.js';
import type { SuggestContext, SuggestResult, Suggestion } from '../../src/suggest/index.js';

export const catalog = loadBuiltinCatalog();
/** A fixed clock inside the sample's year, so RFC3164 stamps get 2026. */
export const NOW = Date.UTC(2026, 3, 22, 12, 0, 0);

/** Real lines → parser → classifier → suggest, as the CLI does it (without the I/O). */
export function suggestLines(
  lines: string[],
  ctx: Omit<SuggestContext, 'catalog'> & { catalog?: SuggestContext['catalog'] },
  classifier: ClassifierOptionsInput = {},
): SuggestResult {
  const parser = createParser({ tz: 'UTC', now: () => NOW });
  const c = createFlowCollector({ classifier, samplesPerFlow: ctx.sampleLines ?? 3 }, { services: catalogServiceLookup(ctx.platform, catalog) });
  for (const l of lines) c.add(parser.parseLine(l), l);
  for (const r of parser.flush()) c.add(r, '');
  return suggest(c.end().flows, { catalog, ...ctx });
}

export function fixtureLines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
}

export function ruleset(path: string): Ruleset {
  const r = parseRuleset(readFileSync(path, 'utf8'));
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.value;
}

export const accepts = (r: SuggestResult): Suggestion[] => r.suggestions.filter((s) => s.action === 'accept');

/** A syslog line exactly as the kernel's LOG target prints it (the sample log's shape). */
export function synLine(o: { time?: string; host?: string; prefix?: string; in?: string; src: string; dst: string; spt: number; dpt: number; id?: number }): string {
  return `Apr 22 ${o.time ?? '10:00:00'} ${o.host ?? 'node1'} kernel: ${o.prefix ?? 'FWDIAG_DROP_'}IN=${o.in ?? 'eth0'} OUT= MAC=52:54:00:3a:7c:63:52:54:00:3a:7c:62:08:00 SRC=${o.src} DST=${o.dst} LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=${o.id ?? 0} DF PROTO=TCP SPT=${o.spt} DPT=${o.dpt} WINDOW=64240 RES=0x00 SYN URGP=0 `;
}

export function udpLine(o: { time?: string; host?: string; src: string; dst: string; spt: number; dpt: number }): string {
  return `Apr 22 ${o.time ?? '10:00:00'} ${o.host ?? 'node1'} kernel: FWDIAG_DROP_IN=eth0 OUT= MAC=52:54:00:3a:7c:63:52:54:00:3a:7c:62:08:00 SRC=${o.src} DST=${o.dst} LEN=120 TOS=0x00 PREC=0x00 TTL=64 ID=4242 PROTO=UDP SPT=${o.spt} DPT=${o.dpt} LEN=100 `;
}
