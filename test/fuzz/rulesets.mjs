// The ruleset parser and tracer on mutated iptables-save, nft and nft JSON (tokens inserted, bytes deleted, lines
// swapped): a ruleset is parsed or rejected with reasons, and a parsed one traces drops, never a throw.
// Usage: node test/fuzz/rulesets.mjs [RULESETS=20000] [SEED=1]
import { readFileSync } from 'node:fs';
const root = new URL('../../', import.meta.url).pathname.replace(/\/$/, '');
const N = Number(process.argv[2] ?? 20000);
const { parseRuleset } = await import(`${root}/dist/ruleset/parse.js`);
const { trace } = await import(`${root}/dist/ruleset/trace.js`);
const { createParser } = await import(`${root}/dist/parse/parse-line.js`);
const { mulberry32 } = await import(`${root}/bench/corpus.mjs`);
const rnd = mulberry32(Number(process.argv[3] ?? 1));
const pick = (a) => a[Math.floor(rnd() * a.length)];
const F = (p) => readFileSync(`${root}/fixtures/rulesets/${p}`, 'utf8');
const docs = ['harvester-control-plane.iptables-save', 'harvester-control-plane-extra.iptables-save', 'tricky.iptables-save', 'talos-like.nft', 'talos-like.nft.json', 'harvester-control-plane.iptables-nft.json', 'vmap.nft.json', 'log-drop.nft.json'].map(F);
const p = createParser({ tz: 'UTC', now: () => Date.parse('2026-06-01T00:00:00Z') });
const events = [...F('harvester-control-plane.drops.log').split('\n'), ...readFileSync(`${root}/fixtures/kernel/kmsg.txt`, 'utf8').split('\n')].map((l) => p.parseLine(l)).filter((r) => r.kind === 'event').map((r) => r.event);
const TOK = [' -A ', ' -p tcp', ' --dport ', ' -m multiport --dports 1:65535,', ' -s 0.0.0.0/0', ' -d ::/0', ' -j ', 'ACCEPT', 'DROP', ' ! ', ':', ',', '-', '/', '99999999999', '"', '{', '}', '[', ']', ' ip saddr ', ' tcp dport { 1-2, 3 }', ' jump ', ' goto ', ' counter ', 'COMMIT\n', '*filter\n', '\n', ' -m conntrack --ctstate ', 'NEW,INVALID', ' -m comment --comment "x y" ', '0x', 'fe80::/129', '1.2.3.4/33', ' --log-prefix "A B" ', ' -g ', ' -N X\n', ':INPUT DROP [0:0]\n', '"expr": [', '"match": {', 'null', '[]', '{}', ','];
function mutate(s) {
  const k = 1 + Math.floor(rnd() * 4);
  for (let m = 0; m < k; m++) {
    const i = Math.floor(rnd() * (s.length + 1));
    const r = rnd();
    if (r < 0.35) s = s.slice(0, i) + s.slice(i + Math.floor(rnd() * 20));
    else if (r < 0.8) s = s.slice(0, i) + pick(TOK) + s.slice(i);
    else { const lines = s.split('\n'); const a = Math.floor(rnd() * lines.length); const b = Math.floor(rnd() * lines.length); [lines[a], lines[b]] = [lines[b], lines[a]]; s = lines.join('\n'); }
  }
  return s;
}
let bad = 0, ok = 0, rejected = 0;
for (let n = 0; n < N; n++) {
  const text = mutate(pick(docs));
  let r;
  try { r = parseRuleset(text); } catch (e) { bad++; if (bad <= 3) console.log('THROW parse', e.stack.split('\n').slice(0, 3).join(' / ')); continue; }
  if (!r.ok) { rejected++; continue; }
  ok++;
  for (let t = 0; t < 3; t++) {
    const ev = pick(events);
    try { trace(r.value, ev, {}); } catch (e) { bad++; if (bad <= 6) console.log('THROW trace', e.stack.split('\n').slice(0, 3).join(' / ')); break; }
  }
}
console.log(`rulesets: ${N} mutated, ${ok} parsed, ${rejected} rejected, ${bad} throws`);
process.exitCode = bad === 0 ? 0 : 1;
