/**
 * `analyze --json`: NDJSON, one object per event (the parser's fields plus `verdict`, `rule`, `reason`, `service`),
 * then one final `{"summary": …, "flows": […]}` object. `--summary` writes only the final object.
 */
import type { Writable } from 'node:stream';
import type { DropEvent } from '../parse/event.js';
import type { AnalyzeSummary, ClassifyResult } from '../classify/classifier.js';
import { escapeJsonControl } from './escape.js';
import { writeLines } from './safe-stdout.js';
import type { AnalyzeWriter } from './analyze-human.js';

export interface AnalyzeJsonOptions {
  stdout: Writable;
  /** only the final summary object */
  summaryOnly?: boolean;
}

/** One event as a JSON line (without the newline). */
export function classifiedEventJson(r: ClassifyResult): string {
  const ev: DropEvent = r.event;
  const base = JSON.stringify(ev);
  // splice the verdict fields in before the closing brace: one stringify of the event, none of a merged copy
  const tail =
    `,"verdict":"${r.verdict}","rule":"${r.rule}","reason":${JSON.stringify(r.reason)},` +
    `"service":${r.service === undefined ? 'null' : JSON.stringify(r.service)}}`;
  return escapeJsonControl(base.length > 2 ? base.slice(0, -1) + tail : `{${tail.slice(1)}`);
}

export function createAnalyzeJsonWriter(opts: AnalyzeJsonOptions): AnalyzeWriter {
  let buf = '';
  return {
    event(r) {
      if (!opts.summaryOnly) buf += classifiedEventJson(r) + '\n';
    },
    async flush() {
      if (buf.length === 0) return;
      const chunk = buf;
      buf = '';
      await writeLines(opts.stdout, chunk);
    },
    async end(summary: AnalyzeSummary) {
      buf += escapeJsonControl(JSON.stringify(summary)) + '\n';
      await this.flush();
    },
  };
}
