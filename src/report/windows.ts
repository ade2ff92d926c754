/**
 * Finding upgrade windows: an upgrade restarts services node by node, and every restart loses conntrack state,
 * so its signature is a dense burst of conntrack-loss drops across several flows. A window is a run of time
 * buckets where conntrack-loss drops reach a per-minute threshold on at least `minFlows` distinct flows; runs
 * separated by at most `mergeGapMs` of quiet are one window (restarts of one upgrade come minutes apart).
 * A lone flow that keeps losing state (asymmetric routing) never opens a window: it is one flow.
 */
import { z } from 'zod';

export const windowOptionsSchema = z.object({
  /**
   * Conntrack-loss drops per minute that make a bucket part of a burst (scaled by the bucket width).
   * Logging is usually rate-limited (`-m limit --limit 10/min` per node), so the default is low.
   * @default 5
   */
  minDropsPerMin: z.number().positive().default(5),
  /**
   * Distinct conntrack-loss flows a bucket needs to count as a burst.
   * @default 2
   */
  minFlows: z.number().int().min(1).default(2),
  /**
   * Quiet time (ms) that still joins two bursts into one window.
   * @default 300000
   */
  mergeGapMs: z.number().int().nonnegative().default(300_000),
});
export type WindowOptions = z.output<typeof windowOptionsSchema>;
export type WindowOptionsInput = z.input<typeof windowOptionsSchema>;

/** One bucket of the conntrack-loss series. */
export interface CtBucket {
  /** bucket start, ms */
  start: number;
  drops: number;
  /** distinct conntrack-loss flows in the bucket */
  flows: number;
}

/** A detected window: [start, end) in ms, and what made it. */
export interface DetectedWindow {
  start: number;
  end: number;
  /** conntrack-loss drops in the window's burst buckets and in the window overall */
  burstBuckets: number;
  drops: number;
  /** highest conntrack-loss drops in one bucket, per minute */
  peakPerMin: number;
}

/**
 * Windows in time order from a conntrack-loss series (buckets in time order, width `bucketMs`). Pure.
 */
export function detectWindows(series: readonly CtBucket[], bucketMs: number, opts: WindowOptionsInput = {}): DetectedWindow[] {
  const o = windowOptionsSchema.parse(opts);
  const perMin = bucketMs / 60_000;
  const threshold = o.minDropsPerMin * perMin;
  const out: DetectedWindow[] = [];
  let cur: DetectedWindow | null = null;
  for (const b of series) {
    const burst = b.drops >= threshold && b.flows >= o.minFlows;
    // a quieter bucket inside a window still counts towards its drops (below), it just does not extend it
    if (!burst) continue;
    if (cur !== null && b.start - cur.end <= o.mergeGapMs) {
      cur.end = b.start + bucketMs;
      cur.burstBuckets++;
      cur.peakPerMin = Math.max(cur.peakPerMin, b.drops / perMin);
    } else {
      cur = { start: b.start, end: b.start + bucketMs, burstBuckets: 1, drops: 0, peakPerMin: b.drops / perMin };
      out.push(cur);
    }
  }
  // drops: every conntrack-loss drop inside the final bounds, burst bucket or not
  let i = 0;
  for (const b of series) {
    while (i < out.length && b.start >= out[i]!.end) i++;
    if (i >= out.length) break;
    if (b.start >= out[i]!.start) out[i]!.drops += b.drops;
  }
  return out;
}
