/**
 * `analyze --json`: NDJSON, one object per event (the parser's fields plus `verdict`, `rule`, `reason`, `service`),
 * then one final `{"summary": …, "flows": […]}` object. `--summary` writes only the final object.
 */
import type { Writable } from 'node:stream';
import type { ClassifyResult, FinishedAnalysis, FlowSummary, PacketResult } from '../classify/classifier.js';
import { NdjsonBuffer, eventToJson, jsonString, jsonValue } from './ndjson.js';
import { writeLines } from './safe-stdout.js';
import type { AnalyzeWriter } from './analyze-human.js';

export interface AnalyzeJsonOptions {
  stdout: Writable;
  /** only the final summary object */
  summaryOnly?: boolean;
}

/** What analyze adds inside each event's object (JSON): verdict, rule, reason, service. */
function classifiedExtra(r: Pick<ClassifyResult, 'verdict' | 'rule' | 'reason' | 'service'>): string {
  return `"verdict":"${r.verdict}","rule":"${r.rule}","reason":${jsonString(r.reason)},` +
    `"service":${r.service === undefined ? 'null' : jsonString(r.service)}`;
}

/** Bytes per write of the final summary. */
const SUMMARY_CHUNK = 1 << 16;

const str = (v: string | null): string => (v === null ? 'null' : jsonString(v));

/** Most strings {@link recurring} keeps; past that it starts over (it pays for strings that recur, not for all). */
const MAX_RECURRING = 4096;
const recurringJson = new Map<string, string>();

/**
 * jsonString() of a string that recurs from flow to flow — a host, an address, a protocol, a service name, a flag
 * word: the flow table's shared copies, a few hundred for tens of thousands of flows. Looked up by the string (its
 * hash is kept in it) instead of tested against the escape pattern once per flow: ~30 against ~60 ns, and no new
 * `"…"` string each time (bench corpus: 5 of the 12 strings of each of 32.6k flows).
 */
function recurring(v: string): string {
  let j = recurringJson.get(v);
  if (j === undefined) {
    if (recurringJson.size >= MAX_RECURRING) recurringJson.clear();
    j = jsonString(v);
    recurringJson.set(v, j);
  }
  return j;
}

/**
 * A flow summary's JSON, exactly as jsonValue() prints it (keys in the order flowSummary() sets them; absent ones
 * left out), written by hand: jsonValue() took ~3.2 µs a flow (JSON.stringify ~2.4 µs, then its escape pass), this
 * ~1.4 µs. test/output/analyze-json.test.ts holds it to jsonValue() on every key of FlowSummary. The verdict and the
 * rule are ids of plain ASCII letters and dashes (their types say which): quoted as they are.
 */
export function flowSummaryJson(o: FlowSummary): string {
  let t =
    `{"host":${o.host === null ? 'null' : recurring(o.host)},"proto":${recurring(o.proto)},"server":${recurring(o.server)},` +
    `"serverPort":${o.serverPort === null ? 'null' : o.serverPort},"client":${recurring(o.client)},` +
    `"verdict":"${o.verdict}","rule":"${o.rule}","service":${o.service === null ? 'null' : recurring(o.service)},"count":${o.count},` +
    `"firstSeen":${str(o.firstSeen)},"lastSeen":${str(o.lastSeen)},"firstLine":${o.firstLine},"lastLine":${o.lastLine},` +
    `"persistent":${o.persistent},"reason":${jsonString(o.reason)}`;
  if (o.firstMono !== undefined) t += `,"firstMono":${JSON.stringify(o.firstMono)}`;
  if (o.lastMono !== undefined) t += `,"lastMono":${JSON.stringify(o.lastMono)}`;
  if (o.file !== undefined) t += `,"file":${jsonString(o.file)}`;
  if (o.lastFile !== undefined) t += `,"lastFile":${jsonString(o.lastFile)}`;
  if (o.flags !== undefined) {
    let f = '';
    for (const k in o.flags) f += `${f === '' ? '' : ','}${recurring(k)}:${o.flags[k]}`;
    t += `,"flags":{${f}}`;
  }
  if (o.attempts !== undefined) t += `,"attempts":${o.attempts}`;
  if (o.retransmits !== undefined) t += `,"retransmits":${o.retransmits}`;
  if (o.backoff !== undefined) t += `,"backoff":${o.backoff}`;
  if (o.ports !== undefined) t += `,"ports":${o.ports}`;
  if (o.portsAtLeast === true) t += ',"portsAtLeast":true';
  if (o.window !== undefined) t += `,"window":{"before":${o.window.before},"during":${o.window.during},"after":${o.window.after}}`;
  if (o.ctInvalid !== undefined) t += `,"ctInvalid":${o.ctInvalid}`;
  if (o.ctReason !== undefined) t += `,"ctReason":${jsonString(o.ctReason)}`;
  return `${t}}`;
}

/** One event as a JSON line (without the newline): the parser's fields, then verdict, rule, reason, service. */
export function classifiedEventJson(r: ClassifyResult): string {
  return eventToJson(r.event, classifiedExtra(r));
}

/** The JSON writer also takes packets with their event's JSON from the scanner (see Classifier.classifyPacket). */
export interface AnalyzeJsonWriter extends AnalyzeWriter {
  /** One event given as the scanner's JSON less its closing `}\n`, and what the classifier said of its packet. */
  packet(r: PacketResult, json: Uint8Array): void;
}

export function createAnalyzeJsonWriter(opts: AnalyzeJsonOptions): AnalyzeJsonWriter {
  // events are encoded straight into bytes (the parser's NDJSON encoder), written chunk by chunk
  const out = new NdjsonBuffer();
  return {
    event(r) {
      if (!opts.summaryOnly) out.event(r.event, classifiedExtra(r));
    },
    packet(r, json) {
      if (!opts.summaryOnly) out.eventBytes(json, classifiedExtra(r));
    },
    async flush() {
      for (const chunk of out.take()) await writeLines(opts.stdout, chunk);
    },
    async end(result: FinishedAnalysis) {
      await this.flush();
      // {"summary":…,"flows":[…]} exactly as jsonValue() of the whole, but flows are rendered and written a few
      // hundred at a time: a summary of many flows is never one string, nor all its flows' objects, in memory.
      // Each flow's text is encoded into a chunk as it comes (one string of many flows would be flattened and
      // encoded again on its way out).
      let buf = Buffer.allocUnsafe(SUMMARY_CHUNK);
      let p = 0;
      /** writes what the chunk holds and starts another with room for `bytes` */
      const next = async (bytes: number): Promise<void> => {
        if (p > 0) await writeLines(opts.stdout, buf.subarray(0, p));
        buf = Buffer.allocUnsafe(Math.max(SUMMARY_CHUNK, bytes));
        p = 0;
      };
      const flows = result.flows;
      for (let i = -1; i <= flows.length; i++) {
        const text =
          i < 0 ? `{"summary":${jsonValue(result.summary)},"flows":[`
          : i === flows.length ? ']}\n'
          : (i === 0 ? '' : ',') + flowSummaryJson(result.summarize(flows[i]!));
        if (p + text.length * 3 > buf.length) await next(text.length * 3);
        p += buf.write(text, p);
      }
      await writeLines(opts.stdout, buf.subarray(0, p));
    },
  };
}
