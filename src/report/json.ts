/**
 * The report as one JSON document (one line, newline-terminated) for scripts. Same model as the other renderers;
 * every string is escaped by `jsonValue` (C0, DEL, C1 and U+2028/9), so it is safe on a terminal too.
 */
import { jsonValue } from '../output/ndjson.js';
import type { Report } from './types.js';

export function renderJson(r: Report): string {
  return `${jsonValue(r)}\n`;
}
