/**
 * `analyze --summary` counts scanner records as packets (parseBytesPackets + Classifier.count) instead of building
 * events and classifying them. The summary must be exactly what classify() on the events gives.
 */
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createClassifier, type Classifier } from '../../src/classify/classifier.js';
import { createAnalyzeJsonWriter } from '../../src/output/analyze-json.js';
import { createAnalyzeHumanWriter, type AnalyzeWriter } from '../../src/output/analyze-human.js';
import type { LineResult, Packet } from '../../src/parse/event.js';
import { createParser, type LineParser, type ParserOptions } from '../../src/parse/parse-line.js';
import { catalogServiceLookup, type ServiceLookup } from '../../src/classify/services.js';
import { makeLine, mulberry32 } from '../../bench/corpus.mjs';

const read = (p: string): string[] => readFileSync(new URL(p, import.meta.url), 'utf8').split('\n').filter(Boolean);
const OPTS = { tz: 'UTC', now: () => Date.parse('2024-06-01T00:00:00Z') } as const;

function viaEvents(bytes: Buffer, opts: ParserOptions, services?: ServiceLookup) {
  const p = createParser(opts);
  const c = createClassifier({}, services === undefined ? {} : { services });
  const out: LineResult[] = [];
  p.parseBytes(bytes, out);
  for (const r of [...out, ...p.flush()]) {
    if (r.kind === 'event') c.classify(r.event);
    else if (r.kind === 'issue' && r.event !== undefined) c.classify(r.event);
  }
  return { summary: c.end(), counters: { ...p.counters } };
}

function viaPackets(bytes: Buffer, opts: ParserOptions, services?: ServiceLookup) {
  const p = createParser(opts);
  const c = createClassifier({}, services === undefined ? {} : { services });
  let packets = 0;
  let seen: Packet | undefined;
  let reused = true;
  const each = (r: LineResult) => {
    if (r.kind === 'event') c.count(r.event);
    else if (r.kind === 'issue' && r.event !== undefined) c.count(r.event);
  };
  p.parseBytesPackets(bytes, (pk) => {
    packets++;
    if (seen !== undefined && seen !== pk) reused = false;
    seen = pk;
    c.count(pk);
  }, each);
  for (const r of p.flush()) each(r);
  return { summary: c.end(), counters: { ...p.counters }, packets, reused };
}

describe('Classifier.count on packets = classify on events', () => {
  const rnd = mulberry32(99);
  const corpus = Array.from({ length: 30_000 }, (_, i) => makeLine(rnd, i));
  const real = [...read('../../fixtures/kernel/kmsg.txt'), ...read('../../fixtures/kernel/dmesg.txt'), ...read('../../fixtures/kernel/syslog.txt'), ...read('../../fixtures/sample/harvester-upgrade.log')];

  it('on the bench corpus and every kernel-written fixture line, mixed', () => {
    const bytes = Buffer.from(`${[...corpus.slice(0, 15_000), ...real, ...corpus.slice(15_000)].join('\n')}\n`);
    const a = viaEvents(bytes, OPTS);
    const b = viaPackets(bytes, OPTS);
    expect(b.counters).toEqual(a.counters);
    expect(JSON.stringify(b.summary)).toBe(JSON.stringify(a.summary));
    // the scanner's lines really came as packets, in one reused object
    expect(b.packets).toBeGreaterThan(a.summary.summary.events * 0.9);
    expect(b.reused).toBe(true);
  });

  it("across the scanner's string-table resets: a packet's address key never stands for another address", () => {
    // 45,000 distinct addresses (the scanner's table holds 32,768 strings, then starts afresh) and a few clients
    // that come back after the reset; blocks never expire, so every address keeps its flow and its id
    const lines: string[] = [];
    for (let i = 0; i < 45_000; i++) {
      const src = i % 7 === 0 ? `198.18.200.${i % 5}` : `198.${19 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
      lines.push(`Apr 22 10:00:00 node-1 kernel: DROP IN=eth0 OUT= SRC=${src} DST=198.18.0.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=${i % 65536} DF PROTO=TCP SPT=${40000 + (i % 1000)} DPT=${[22, 6443, 2379][i % 3]} WINDOW=64240 RES=0x00 SYN URGP=0 `);
    }
    const bytes = Buffer.from(`${lines.join('\n')}\n`);
    const a = viaEvents(bytes, OPTS);
    const b = viaPackets(bytes, OPTS);
    expect(b.packets).toBe(lines.length);
    expect(a.summary.summary.flows).toBeGreaterThan(38_000);
    expect(JSON.stringify(b.summary)).toBe(JSON.stringify(a.summary));
  });

  it('LAN chatter: packets carry the destination MAC (a subnet broadcast is told by it alone)', () => {
    // the lab's kernel lines (test/lab/cluster.sh, scenario 5) and a syslog copy of the first, amid the corpus
    const chatter = [
      '4,23437,64909602764,-;HARVESTER_DROP_IN=mgmt-br OUT= MAC=ff:ff:ff:ff:ff:ff:02:00:c6:13:c9:66:08:00 SRC=198.19.184.102 DST=198.19.184.255 LEN=78 TOS=0x00 PREC=0x00 TTL=64 ID=23360 DF PROTO=UDP SPT=137 DPT=137 LEN=58 ',
      '4,23440,64909602863,-;HARVESTER_DROP_IN=mgmt-br OUT= MAC=01:00:5e:00:00:fb:02:00:c6:13:c9:66:08:00 SRC=198.19.184.102 DST=224.0.0.251 LEN=68 TOS=0x00 PREC=0x00 TTL=1 ID=24463 DF PROTO=UDP SPT=5353 DPT=5353 LEN=48 ',
      'Apr 22 10:00:01 node-1 kernel: HARVESTER_DROP_IN=mgmt-br OUT= MAC=ff:ff:ff:ff:ff:ff:02:00:c6:13:c9:66:08:00 SRC=198.19.184.102 DST=198.19.184.255 LEN=78 TOS=0x00 PREC=0x00 TTL=64 ID=23360 DF PROTO=UDP SPT=137 DPT=137 LEN=58 ',
    ];
    const lines = [...corpus.slice(0, 3000), ...chatter, ...corpus.slice(3000, 6000), ...chatter];
    const bytes = Buffer.from(`${lines.join('\n')}\n`);
    const a = viaEvents(bytes, OPTS);
    const b = viaPackets(bytes, OPTS);
    expect(a.summary.summary.broadcast).toBe(6);
    expect(JSON.stringify(b.summary)).toBe(JSON.stringify(a.summary));
    const flows = b.summary.flows.filter((f) => f.verdict === 'broadcast').map((f) => `${f.host ?? '-'} ${f.proto} ${f.server}:${f.serverPort} ${f.count}`).sort();
    expect(flows).toEqual(['- udp 198.19.184.255:137 2', '- udp 224.0.0.251:5353 2', 'node-1 udp 198.19.184.255:137 2']);
  });

  it('packets carry IN= and OUT=: a server on the far side gets the well-known name, as on events', () => {
    // with --platform harvester, 443 on this node is its UI; a remote HTTPS server it talked to is `https`
    const line = (iface: string, src: string, dst: string, spt: number, dpt: number) =>
      `Apr 22 10:12:21 harvester3 kernel: HARVESTER_DROP_${iface} MAC=52:54:00:3a:7c:63:52:54:00:3a:7c:61:08:00 SRC=${src} DST=${dst} LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=${spt} DPT=${dpt} WINDOW=65160 RES=0x00 ACK PSH URGP=0 `;
    const lines = [
      line('IN=mgmt-br OUT=', '198.18.5.5', '192.168.122.63', 443, 34339),
      line('IN= OUT=mgmt-br', '192.168.122.63', '198.18.5.6', 34340, 443),
      line('IN=mgmt-br OUT=', '198.18.5.7', '192.168.122.63', 34341, 443),
    ];
    const bytes = Buffer.from(`${[...corpus.slice(0, 2000), ...lines].join('\n')}\n`);
    const services = catalogServiceLookup('harvester');
    const a = viaEvents(bytes, OPTS, services);
    const b = viaPackets(bytes, OPTS, services);
    expect(JSON.stringify(b.summary)).toBe(JSON.stringify(a.summary));
    const named = b.summary.flows.filter((f) => f.firstLine > 2000).map((f) => `${f.server}:${f.serverPort} ${f.service}`).sort();
    expect(named).toEqual(['192.168.122.63:443 Harvester UI HTTPS', '198.18.5.5:443 https', '198.18.5.6:443 https']);
  });

  it('kmsg and dmesg lines dated from the boot time, and several files (`file` on flows)', () => {
    const bytes = Buffer.from(`${[...real, ...corpus.slice(0, 5000)].join('\n')}\n`);
    const opts = { ...OPTS, bootTimeMs: Date.parse('2024-04-22T09:00:00Z'), file: 'node-1/kern.log' };
    const a = viaEvents(bytes, opts);
    const b = viaPackets(bytes, opts);
    expect(JSON.stringify(b.summary)).toBe(JSON.stringify(a.summary));
    expect(a.summary.flows.some((f) => f.file === 'node-1/kern.log')).toBe(true);
    expect(b.packets).toBeGreaterThan(1000);
  });
});

/**
 * Lines through a parser into an analyze writer: as events (classify()), or, with `packets`, the packet path it
 * drives. Returns what the writer printed, its final summary included.
 */
async function through<W extends AnalyzeWriter>(
  lines: string[], opts: ParserOptions, make: (c: Classifier, stdout: Writable) => W,
  packets?: (p: LineParser, bytes: Buffer, c: Classifier, w: W, each: (r: LineResult) => void) => void,
): Promise<string> {
  const chunks: Buffer[] = [];
  const stdout = new Writable({ write(b: Buffer, _e, cb) { chunks.push(Buffer.from(b)); cb(); } });
  const c = createClassifier({});
  const w = make(c, stdout);
  const p = createParser(opts);
  const each = (r: LineResult) => {
    const e = r.kind === 'event' || r.kind === 'issue' ? r.event : undefined;
    if (e !== undefined) w.event(c.classify(e));
  };
  const bytes = Buffer.from(`${lines.join('\n')}\n`);
  if (packets !== undefined) packets(p, bytes, c, w, each);
  else {
    const out: LineResult[] = [];
    p.parseBytes(bytes, out);
    out.forEach(each);
  }
  p.flush().forEach(each);
  await w.flush();
  await w.end(c.finish());
  return Buffer.concat(chunks).toString('utf8');
}

describe('analyze --json on packets (the scanner prints the event, the classifier adds its verdict)', () => {
  const rnd = mulberry32(7);
  const corpus = Array.from({ length: 20_000 }, (_, i) => makeLine(rnd, i));
  const real = [...read('../../fixtures/kernel/kmsg.txt'), ...read('../../fixtures/kernel/dmesg.txt'), ...read('../../fixtures/kernel/syslog.txt'), ...read('../../fixtures/sample/harvester-upgrade.log')];
  const ct = 'Apr 22 10:00:05 harvester1 kernel: nf_ct_proto_6: invalid packet ignored in state ESTABLISHED  IN= OUT= SRC=192.168.122.62 DST=192.168.122.61 LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=9345 DPT=46002 SEQ=1 ACK=1 WINDOW=501 RES=0x00 ACK URGP=0';

  async function ndjson(lines: string[], opts: ParserOptions, packets: boolean): Promise<{ text: string; viaPackets: number }> {
    let viaPackets = 0;
    const text = await through(lines, opts, (_c, stdout) => createAnalyzeJsonWriter({ stdout }), packets
      ? (p, bytes, c, w, each) => p.parseBytesJsonPackets(bytes, (pk, json) => {
        viaPackets++;
        w.packet(c.classifyPacket(pk), json);
      }, each)
      : undefined);
    return { text, viaPackets };
  }

  it('prints exactly the lines classify() on events gives: corpus, fixtures, conntrack INVALID, scans, files', async () => {
    const lines = [...corpus.slice(0, 10_000), ...real, ct, ...corpus.slice(10_000)];
    for (const opts of [OPTS, { ...OPTS, file: 'node-1/kern.log' }]) {
      const a = await ndjson(lines, opts, false);
      const b = await ndjson(lines, opts, true);
      expect(b.viaPackets).toBeGreaterThan(lines.length * 0.8);
      expect(b.text.split('\n').length).toBe(a.text.split('\n').length);
      expect(b.text).toBe(a.text);
      expect(a.text).toContain('"verdict":"scan"');
      expect(a.text).toContain('conntrack INVALID');
    }
  });

  it('kmsg dated from the boot time goes the event way, with the same output', async () => {
    const opts = { ...OPTS, bootTimeMs: Date.parse('2024-04-22T09:00:00Z') };
    const a = await ndjson(real, opts, false);
    const b = await ndjson(real, opts, true);
    expect(b.viaPackets).toBe(0);
    expect(b.text).toBe(a.text);
  });
});

describe('human analyze output on packets (events built only for the packets that changed a flow)', () => {
  const rnd = mulberry32(11);
  const corpus = Array.from({ length: 20_000 }, (_, i) => makeLine(rnd, i));
  const real = [...read('../../fixtures/kernel/syslog.txt'), ...read('../../fixtures/sample/harvester-upgrade.log')];

  async function human(lines: string[], packets: boolean): Promise<{ text: string; built: number; viaPackets: number }> {
    let built = 0;
    let viaPackets = 0;
    const make = (c: Classifier, stdout: Writable) => createAnalyzeHumanWriter({ stdout, color: false, describe: (f) => c.flowSummary(f) });
    const text = await through(lines, OPTS, make, packets
      ? (p, bytes, c, w, each) => p.parseBytesPackets(bytes, (pk, event) => {
        viaPackets++;
        if (c.count(pk)) {
          built++;
          w.event(c.lastResult(event()));
        }
      }, each)
      : undefined);
    return { text, built, viaPackets };
  }

  it('prints exactly what classify() on events prints: new flows, verdict changes, persistence, the summary', async () => {
    const lines = [...corpus.slice(0, 10_000), ...real, ...corpus.slice(10_000)];
    const a = await human(lines, false);
    const b = await human(lines, true);
    expect(b.text).toBe(a.text);
    expect(a.text).toContain(' → '); // verdict changes (scanners found)
    expect(a.text).toContain('persistent');
    expect(b.viaPackets).toBeGreaterThan(lines.length * 0.8);
    // events were built only for the lines printed
    expect(b.built).toBeGreaterThan(100);
    expect(b.built).toBeLessThan(b.viaPackets / 3);
  });
});
