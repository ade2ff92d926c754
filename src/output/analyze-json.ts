/**
 * `analyze --json`: NDJSON, one object per event (the parser's fields plus `verdict`, `rule`, `reason`, `service`),
 * then one final `{"summary": …, "flows": […]}` object. `--summary` writes only the final object.
 */
import type { Writable } from 'node:stream';
import type { ClassifyResult, FinishedAnalysis, PacketResult } from '../classify/classifier.js';
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
      // hundred at a time: a summary of many flows is never one string, nor all its flows' objects, in memory
      let piece = `{"summary":${jsonValue(result.summary)},"flows":[`;
      const flows = result.flows;
      for (let i = 0; i < flows.length; i++) {
        piece += (i === 0 ? '' : ',') + jsonValue(result.summarize(flows[i]!));
        if (piece.length >= 1 << 16) {
          await writeLines(opts.stdout, piece);
          piece = '';
        }
      }
      await writeLines(opts.stdout, `${piece}]}\n`);
    },
  };
}
