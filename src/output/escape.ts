/**
 * Log text is hostile: any local process can write `host kernel: …` through syslog, and a prefix or hostname can
 * carry terminal escape sequences. Every field printed to a terminal goes through here.
 */

// C0 controls (incl. ESC), DEL, C1 controls (0x80-0x9f: 0x9b is a one-byte CSI on some terminals), the line and
// paragraph separators, and the bidirectional overrides and isolates (U+202A-202E, U+2066-2069: they reorder what
// follows them on screen — a hostname could make an address read backwards, "Trojan Source" style)
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028-\u2029\u202a-\u202e\u2066-\u2069]/;
const CONTROL_ALL = /[\u0000-\u001f\u007f-\u009f\u2028-\u2029\u202a-\u202e\u2066-\u2069]/g;

function hex(c: string): string {
  const code = c.charCodeAt(0);
  if (code > 0xff) return `\\u${code.toString(16)}`;
  return `\\x${code < 16 ? '0' : ''}${code.toString(16)}`;
}

/**
 * Replaces control characters (C0, ESC, DEL, C1) with visible `\xNN` escapes, and the line separators and bidi
 * controls with `\uNNNN`. Returns the same string (no allocation) when there is none — the common case.
 */
export function escapeControl(s: string): string {
  return CONTROL.test(s) ? s.replace(CONTROL_ALL, hex) : s;
}

const C1_OR_DEL = /[\u007f-\u009f\u2028\u2029]/;
const C1_OR_DEL_ALL = /[\u007f-\u009f\u2028\u2029]/g;

/**
 * For JSON text (already through `JSON.stringify`, which escapes C0 but not DEL, C1 or U+2028/9): escapes those
 * as `\uNNNN`, so JSON piped to a terminal is safe too and still valid JSON. (src/output/ndjson.ts `jsonValue`
 * does the same for NDJSON writers.)
 */
export function escapeJsonControl(json: string): string {
  return C1_OR_DEL.test(json)
    ? json.replace(C1_OR_DEL_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    : json;
}
