import { PassThrough } from 'node:stream';
import { createParser } from '../../src/parse/parse-line.js';
import { analyzeCommand } from '../../src/cli/analyze.js';
import type { AnalyzeSummary } from '../../src/classify/classifier.js';
import type { DropEvent } from '../../src/parse/event.js';

/** Parses one real log line into a DropEvent (fails the test when the parser yields none). */
export function eventOf(line: string, now = Date.UTC(2026, 4, 30)): DropEvent {
  const r = createParser({ tz: 'UTC', now: () => now }).parseLine(line);
  if (r.kind !== 'event' && !(r.kind === 'issue' && r.event)) throw new Error(`no event from: ${line} (${JSON.stringify(r)})`);
  return r.kind === 'event' ? r.event : r.event!;
}

/** Parses many lines with one parser (line numbers count up). */
export function eventsOf(lines: string[], now = Date.UTC(2026, 4, 30)): DropEvent[] {
  const p = createParser({ tz: 'UTC', now: () => now });
  const out: DropEvent[] = [];
  for (const l of lines) {
    const r = p.parseLine(l);
    if (r.kind === 'event') out.push(r.event);
    else if (r.kind === 'issue' && r.event) out.push(r.event);
    else throw new Error(`no event from: ${l} (${JSON.stringify(r)})`);
  }
  return out;
}

const MAC = '52:54:00:8e:21:63:52:54:00:3a:7c:61:08:00';

/** An RFC3164 Harvester drop line, fields as the kernel prints them. */
export function hv(time: string, host: string, src: string, dst: string, l4: string, opts: { len?: number; ttl?: number; id?: number; df?: boolean } = {}): string {
  const len = opts.len ?? 52;
  return `Apr 22 ${time} ${host} kernel: HARVESTER_DROP_IN=mgmt-br OUT= MAC=${MAC} SRC=${src} DST=${dst} LEN=${len} TOS=0x00 PREC=0x00 TTL=${opts.ttl ?? 64} ID=${opts.id ?? 0} ${opts.df === false ? '' : 'DF '}${l4}`;
}

export function tcp(spt: number, dpt: number, flags: string, window = 502): string {
  return `PROTO=TCP SPT=${spt} DPT=${dpt} WINDOW=${window} RES=0x00 ${flags} URGP=0 `;
}

export function udp(spt: number, dpt: number, payload = 48): string {
  return `PROTO=UDP SPT=${spt} DPT=${dpt} LEN=${payload + 8} `;
}

/** `fwdiag analyze --summary FILE`'s JSON: the scanner's packets, not events, go to the classifier. */
export async function analyzeSummaryOf(file: string): Promise<AnalyzeSummary> {
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const io = { stdin: Object.assign(new PassThrough(), { isTTY: true }), stdout, stderr, env: {}, now: () => Date.UTC(2026, 10, 24) };
  const code = await analyzeCommand(['--summary', file], io);
  if (code !== 0) throw new Error(`analyze --summary ${file}: exit ${code}: ${err}`);
  return JSON.parse(out) as AnalyzeSummary;
}
