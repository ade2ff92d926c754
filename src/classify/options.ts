/**
 * Classifier options: one zod schema (every field has a default), plus the parsers the CLI uses to turn flag text
 * (`5m`, `32768-60999`, `START..END`) into them. Times and durations are milliseconds.
 */
import { WORDED, issuesOf } from '../catalog/issues.js';
import { z } from 'zod';
import { parseISO } from 'date-fns/parseISO';
import { tz as tzContext } from '@date-fns/tz';

const port = z.number().int().min(0).max(65535);

/** An inclusive port range. */
export const portRangeSchema = z
  .object({ from: port, to: port })
  .refine((r) => r.from <= r.to, { message: 'port range must run from low to high' });
export type PortRange = z.infer<typeof portRangeSchema>;

/** A time window in ms since the epoch, start inclusive, end exclusive. */
export const timeWindowSchema = z
  .object({ start: z.number().finite(), end: z.number().finite() })
  .refine((w) => w.start < w.end, { message: 'window must end after it starts' });
export type TimeWindow = z.infer<typeof timeWindowSchema>;

export const classifierOptionsSchema = z.object({
  /**
   * The local ephemeral port range (`net.ipv4.ip_local_port_range`). Only breaks ties between two unrecognised
   * ports: TCP flags decide first, and peers (other OSes, SNAT) use other ranges.
   * @default {from: 32768, to: 60999}
   */
  ephemeral: portRangeSchema.default({ from: 32768, to: 60999 }),
  /**
   * The Kubernetes NodePort range: a service range, never treated as ephemeral.
   * @default {from: 30000, to: 32767}
   */
  nodePorts: portRangeSchema.default({ from: 30000, to: 32767 }),
  /**
   * Distinct closed destination ports one source must hit within `scanWindowMs` to be called a scanner.
   * @default 10
   */
  scanPorts: z.number().int().min(2).max(10_000).default(10),
  /**
   * The sliding window for scan detection, in ms.
   * @default 60000
   */
  scanWindowMs: z.number().int().positive().default(60_000),
  /**
   * How long a flow may go on before it is `persistent` (with a window: how long after the window's end), in ms.
   * @default 300000
   */
  settleMs: z.number().int().nonnegative().default(300_000),
  /** An event window (e.g. an upgrade): flows are marked before/during/after it. No default. */
  window: timeWindowSchema.optional(),
  /**
   * Most flows held at once; beyond it the least recently seen are evicted (and counted).
   * @default 100000
   */
  maxFlows: z.number().int().min(16).default(100_000),
  /**
   * Conntrack-loss and undetermined flows idle this long are expired (counted); genuine blocks, scans and
   * persistent flows are kept until the cap needs room, because they are what the report is for.
   * @default 3600000
   */
  flowIdleMs: z.number().int().positive().default(3_600_000),
  /**
   * Most sources tracked by the scan detector at once (least recently seen evicted first, counted).
   * @default 10000
   */
  maxScanSources: z.number().int().min(16).default(10_000),
  /**
   * Most scan flows that count past 256 distinct ports at once (an 8 KB bitmap each; see PortBitmaps in flows.ts).
   * @default 4096
   */
  maxPortBitmaps: z.number().int().min(0).default(4096),
});

/** Options as given (all optional). */
export type ClassifierOptionsInput = z.input<typeof classifierOptionsSchema>;
/** Options with defaults applied. */
export type ClassifierOptions = z.output<typeof classifierOptionsSchema>;

/** Options with every default, e.g. for tests and benchmarks. */
export function defaultClassifierOptions(): ClassifierOptions {
  return classifierOptionsSchema.parse({});
}

/** Result of parsing a flag's text. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; message: string };

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `5m`, `1.5h`, `250ms`, `2d`; a bare number is seconds. */
export function parseDuration(text: string): ParseResult<number> {
  const m = DURATION.exec(text.trim());
  if (!m) return { ok: false, message: `not a duration: "${text}" (use e.g. 90s, 5m, 1h)` };
  const unit = UNIT_MS[m[2] ?? 's'] ?? 1000;
  return { ok: true, value: Math.round(Number(m[1]) * unit) };
}

/** `A-B` (or `A:B`, iptables style) inclusive. */
export function parsePortRange(text: string): ParseResult<PortRange> {
  const m = /^(\d{1,5})\s*[-:]\s*(\d{1,5})$/.exec(text.trim());
  if (!m) return { ok: false, message: `not a port range: "${text}" (use A-B, e.g. 32768-60999)` };
  const r = portRangeSchema.safeParse({ from: Number(m[1]), to: Number(m[2]) }, WORDED);
  if (!r.success) return { ok: false, message: `bad port range "${text}": ${issuesOf(r.error)[0]?.message ?? 'invalid'}` };
  return { ok: true, value: r.data };
}

/**
 * `START..END`, each an ISO 8601 date-time (`2026-04-22T10:00`, `2026-04-22 10:00:00Z`). A time without an
 * offset is read in `tz` (an IANA zone) when given, else in the process's zone — the same rule the parser uses
 * for syslog stamps, so a window typed from the log's own clock lines up with it.
 */
export function parseTimeWindow(text: string, tz?: string): ParseResult<TimeWindow> {
  const parts = text.split('..');
  if (parts.length !== 2 || !parts[0] || !parts[1]) {
    return { ok: false, message: `not a window: "${text}" (use START..END, ISO 8601 times)` };
  }
  const opts = tz ? { in: tzContext(tz) } : undefined;
  const start = parseISO(parts[0].trim(), opts).getTime();
  const end = parseISO(parts[1].trim(), opts).getTime();
  if (Number.isNaN(start)) return { ok: false, message: `window start is not an ISO 8601 time: "${parts[0]}"` };
  if (Number.isNaN(end)) return { ok: false, message: `window end is not an ISO 8601 time: "${parts[1]}"` };
  const r = timeWindowSchema.safeParse({ start, end }, WORDED);
  if (!r.success) return { ok: false, message: `bad window "${text}": window must end after it starts` };
  return { ok: true, value: r.data };
}
