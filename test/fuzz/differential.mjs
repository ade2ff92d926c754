// Differential fuzz of the parser: the JavaScript parser, its regex fast path (parseLine), the scanner's events
// (parseBytes) and the scanner's own NDJSON (parseBytesNdjson) must agree byte for byte on mutated lines (fixtures
// and bench-corpus lines with bytes, tokens and long digit runs inserted, deleted or swapped), fifty lines at a time. A throw or a difference prints the
// line. Usage (after `npm run build`): node test/fuzz/differential.mjs [LINES=200000] [SEED=1]
import { readFileSync } from 'node:fs';
const root = new URL('../../', import.meta.url).pathname.replace(/\/$/, '');
const N = Number(process.argv[2] ?? 200000);
const SEED = Number(process.argv[3] ?? 1);
const { createParser } = await import(`${root}/dist/parse/parse-line.js`);
const { NdjsonBuffer, issueToJson, eventToJson } = await import(`${root}/dist/output/ndjson.js`);
const { mulberry32, makeLine } = await import(`${root}/bench/corpus.mjs`);
const { mutator, EDGE_LINES } = await import('./mutate.mjs');
const rnd = mulberry32(SEED);
const fx = (p) => readFileSync(`${root}/${p}`, 'utf8').split('\n').filter(Boolean);
const base = [...fx('fixtures/kernel/kmsg.txt'), ...fx('fixtures/kernel/dmesg.txt'), ...fx('fixtures/kernel/syslog.txt'), ...fx('fixtures/sample/harvester-upgrade.log'), ...fx('fixtures/kernel/journal-verbose.txt')];
for (let i = 0; i < 3000; i++) base.push(makeLine(rnd, i));
// envelopes the fixtures and the corpus lack: journalctl short-unix, a priority before a syslog or ISO header,
// journalctl short-full and short-delta, dmesg -d
const ZONES = ['UTC', 'CEST', '+0200', '-05:30', 'Europe/Berlin', 'GMT'];
for (const [i, l] of fx('fixtures/kernel/syslog.txt').entries()) {
  const msg = l.slice(l.indexOf(' kernel: ') + 9);
  const ss = String(i % 60).padStart(2, '0');
  base.push(`${1713780000 + i}.${String(i * 7919).padStart(6, '0')} node-${i} kernel: ${msg}`, `<${i % 24}>${l}`, `<4>2026-04-22T10:00:${ss}.5+02:00 h kernel: ${msg}`,
    `Mon 2026-04-2${i % 10} 10:0${i % 10}:${ss}${i % 2 === 0 ? '' : '.123456'} ${ZONES[i % ZONES.length]} node-${i} kernel: ${msg}`,
    `[${String(1000 + i).padStart(5)}.${String(i * 7919).padStart(6, '0')} <    0.00${i % 10}100>] ${i % 2 === 0 ? `node-${i} kernel: ` : ''}${msg}`,
    `${['kern  :warn  : ', 'user  :notice: ', 'daemon:info  : '][i % 3]}${i % 2 === 0 ? `[${String(1000 + i).padStart(5)}.000100] ` : `2026-04-22T10:00:${ss},123456+00:00 `}${msg}`,
    `${i % 2 === 0 ? '[Apr22 10:00]' : '[  +0.000123]'} ${msg}`,
    `${i % 2 === 0 ? '\u001e' : 'data: '}${JSON.stringify({ _TRANSPORT: 'kernel', _HOSTNAME: `node-${i}`, __REALTIME_TIMESTAMP: `${1713780000 + i}000000`, MESSAGE: msg })}`,
    // a json-pretty record: its lines come in a row when picked as one entry (see below)
    ['{', `\t"_TRANSPORT" : "kernel",`, `\t"MESSAGE" : ${JSON.stringify(msg)}`, '}'].join('\n'));
}
// empty tokens: `MAC= ` of an L3 device (wireguard, tun), an empty host (syslog, journal JSON)
for (const l of fx('fixtures/kernel/syslog.txt')) {
  const bare = l.replace(/ MAC=\S*/, ' MAC=');
  base.push(bare, bare.replace(/^(\S+ +\S+ \S+) \S+ /, '$1  '), JSON.stringify({ _TRANSPORT: 'kernel', _HOSTNAME: '', MESSAGE: bare.slice(bare.indexOf(' kernel: ') + 9) }));
}
// stamps and numbers at or past the edge (dates the calendar lacks among them), conntrack INVALID lines old and new
base.push(...EDGE_LINES.filter((l) => l.includes('IN=')));
const OPTS = { tz: 'UTC', now: () => Date.parse('2024-06-01T00:00:00Z') };
const pick = (s) => s[Math.floor(rnd() * s.length)];
const mutate = mutator(rnd);
function viaJs(lines) {
  const p = createParser({ ...OPTS, fastPath: false });
  const results = [];
  for (const l of lines) { const r = p.parseLine(l.endsWith('\r') ? l.slice(0, -1) : l); if (r.kind === 'event' || r.kind === 'issue') results.push(r); }
  for (const r of p.flush()) results.push(r);
  return { results, counters: JSON.stringify(p.counters) };
}
/** parseLine with its regex fast path (src/parse/fast-body.ts), as the live view and trace read single lines. */
function viaFast(lines) {
  const p = createParser(OPTS);
  const results = [];
  for (const l of lines) { const r = p.parseLine(l.endsWith('\r') ? l.slice(0, -1) : l); if (r.kind === 'event' || r.kind === 'issue') results.push(r); }
  for (const r of p.flush()) results.push(r);
  return { results, counters: JSON.stringify(p.counters) };
}
function viaBytes(lines) {
  const p = createParser(OPTS);
  const results = [];
  p.parseBytes(Buffer.from(lines.map((l) => l + '\n').join('')), results);
  for (const r of p.flush()) results.push(r);
  return { results, counters: JSON.stringify(p.counters) };
}
function ndjsonOf(results) {
  const out = new NdjsonBuffer();
  for (const r of results) { if (r.kind === 'event') out.event(r.event); else if (r.kind === 'issue') out.text(issueToJson(r.issue)); }
  return Buffer.concat(out.take()).toString('utf8');
}
function viaEmit(lines) {
  const p = createParser(OPTS);
  const out = new NdjsonBuffer();
  const sink = { bytes: (b) => out.bytes(b), result: (r) => { if (r.kind === 'event') out.event(r.event); else if (r.kind === 'issue') out.text(issueToJson(r.issue)); } };
  p.parseBytesNdjson(Buffer.from(lines.map((l) => l + '\n').join('')), sink);
  for (const r of p.flush()) sink.result(r);
  return { ndjson: Buffer.concat(out.take()).toString('utf8'), counters: JSON.stringify(p.counters) };
}
let bad = 0;
const BATCH = 50;
for (let b = 0; b < N / BATCH; b++) {
  const lines = [];
  for (let i = 0; i < BATCH; i++) { const l = pick(base); for (const part of (rnd() < 0.8 ? mutate(l) : l).split('\n')) lines.push(part); }
  let a, x, e, f;
  try { a = viaJs(lines); } catch (err) { console.log("THROW js", err.stack.split("\n").slice(0,4).join(" / ")); for (const l of lines) { try { viaJs([l]); } catch { console.log("  line", JSON.stringify(l)); break; } } bad++; if (bad > 5) break; continue; }
  try { x = viaBytes(lines); e = viaEmit(lines); f = viaFast(lines); } catch (err) { console.log("THROW bytes", err.stack.split("\n").slice(0,4).join(" / ")); bad++; if (bad > 5) break; continue; }
  const ja = JSON.stringify(a.results), jx = JSON.stringify(x.results);
  const na = ndjsonOf(a.results);
  if (ja !== jx || a.counters !== x.counters || na !== e.ndjson || a.counters !== e.counters || ja !== JSON.stringify(f.results) || a.counters !== f.counters) {
    bad++;
    // find the line
    for (const l of lines) {
      const a1 = viaJs([l]), x1 = viaBytes([l]), e1 = viaEmit([l]), f1 = viaFast([l]);
      if (JSON.stringify(a1.results) !== JSON.stringify(x1.results) || ndjsonOf(a1.results) !== e1.ndjson || a1.counters !== x1.counters || a1.counters !== e1.counters || JSON.stringify(a1.results) !== JSON.stringify(f1.results)) {
        console.log('DIFF line:', JSON.stringify(l));
        console.log(' js   :', ndjsonOf(a1.results).slice(0, 600));
        console.log(' bytes:', ndjsonOf(x1.results).slice(0, 600));
        console.log(' emit :', e1.ndjson.slice(0, 600));
        console.log(' fast :', ndjsonOf(f1.results).slice(0, 600));
        console.log(' counters', a1.counters, x1.counters, e1.counters);
        break;
      }
    }
    if (bad > 5) break;
  }
}
console.log(`differential: ${N} lines (seed ${SEED}), ${bad} bad batches`);
process.exitCode = bad === 0 ? 0 : 1;
