/**
 * Heap sizing for the fwdiag process (the bin only; the library leaves its host's heap alone).
 *
 * fwdiag's memory is mostly flow state that lives for minutes to hours, created at a steady rate. V8's defaults are
 * tuned for short-lived objects: it lets the young generation grow to 2 × 16 MiB when many objects survive a
 * scavenge (flows do), and lets the old generation reach up to about four times its live size before a major
 * collection (expired flows die old). For `analyze` on the bench corpus that is 145-150 MB of peak RSS for ~55 MB of
 * live heap, and on a 7.2M-line input ~205-237 MB for ~80 MB. Two V8 flags that V8 reads each time it resizes a space,
 * set here when the process starts:
 *
 * - `--heap-growing-percent=50`: the old generation may grow 50 % past what the last major collection kept before
 *   the next one (not up to 4x). 20 % kept a little less (7.2M lines, young generation at 8 MiB: ~150 against ~161
 *   MB) but cost `report`, whose live heap is larger, ~12 % of its time (3.25-3.38 s against 2.86-2.99 s with V8's
 *   default; 50 %: 2.97-3.18 s);
 * - `--semi-space-growth-factor=1` once the young generation has grown to YOUNG_CAP: it stops growing there
 *   (V8 reads no maximum semi-space size after start-up, so the growth is stopped when it is reached).
 *
 * Measured (README, Inputs): `analyze` on the bench corpus at the same speed, peak RSS ~145 → ~124 MB; 7.2M lines
 * ~205-237 → ~184 MB; 14.4M lines ~273-293 → ~187 MB. `FWDIAG_HEAP=v8` keeps V8's defaults, and a flag the user
 * gave Node for the same knob (NODE_OPTIONS or the command line) wins over this one.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

/**
 * The young generation (both semi-spaces) stops growing once it is this large. Measured on the bench corpus
 * (`analyze --summary`, `--trace-gc`): V8's default 32 MiB, 31 scavenges 99 ms + 2 mark-compacts 7 ms, 143-147 MB
 * peak RSS; 16 MiB, 49 scavenges 72 ms + 4 mark-compacts 16 ms, 123-125 MB; 8 MiB, 92 scavenges 140 ms + 4
 * mark-compacts 15 ms (~3 % of the run), ~115 MB.
 */
export const YOUNG_CAP = 16 * 1024 * 1024;
export const OLD_GROWING_PERCENT = 50;

export interface HeapPlan {
  /** set --heap-growing-percent */
  oldGrowth: boolean;
  /** stop the young generation's growth at YOUNG_CAP */
  youngCap: boolean;
}

/**
 * What to tune, from the environment, Node's own flags and V8's version (pure). Nothing when FWDIAG_HEAP=v8; a knob
 * the user set for Node (in NODE_OPTIONS or on node's command line) is left to them (V8 takes `-` and `_` alike).
 * The young generation's cap only on V8 before 13 (Node 20, 22): V8 13 (Node 24) sizes it by other rules and goes on
 * growing it with the growth factor at 1 (measured), so there the old generation's knob is all.
 */
export function heapPlan(env: Record<string, string | undefined>, execArgv: readonly string[], v8Version = process.versions.v8): HeapPlan {
  if (env['FWDIAG_HEAP'] === 'v8') return { oldGrowth: false, youngCap: false };
  const given = [...execArgv, ...(env['NODE_OPTIONS'] ?? '').split(/\s+/)].map((a) => a.replaceAll('_', '-'));
  const has = (names: string[]) => given.some((a) => names.some((n) => a === `--${n}` || a.startsWith(`--${n}=`)));
  return {
    oldGrowth: !has(['heap-growing-percent']),
    youngCap: Number.parseInt(v8Version, 10) < 13 && !has(['max-semi-space-size', 'min-semi-space-size', 'semi-space-growth-factor']),
  };
}

/** the young generation's size now (both semi-spaces), in bytes */
export function youngSize(): number {
  for (const s of v8.getHeapSpaceStatistics()) if (s.space_name === 'new_space') return s.space_size;
  return 0;
}

let tuned = false;
/** the young generation's cap, while it is still to be applied */
let pendingCap: (() => void) | null = null;

/**
 * Looks at the young generation's size now, while its cap is still to be applied; nothing otherwise. The read loop
 * calls it after each batch: a run of batches already read (a pipe's queue, stdin's reading thread well ahead)
 * is consumed in promise callbacks alone, without the event loop's turn that delivers the GC observer's entries —
 * they came up to 300 ms late, by when the young generation had doubled again (seen on Node 22, 1 run in 15).
 */
export function heapTick(): void {
  if (pendingCap !== null) pendingCap();
}

/**
 * Applies heapPlan to this process, once. The young generation only grows in a scavenge, so its size is looked at
 * after each garbage collection (a PerformanceObserver of 'gc' entries: no timer, nothing while idle) and after each
 * batch the read loop hands over ({@link heapTick}) until it reaches YOUNG_CAP; then its growth is stopped.
 *
 * Starting a worker thread (stdin on a pipe is read by one) puts the growth factor back to V8's default (seen on
 * Node 20 and 22: a worker started after the flag was set leaves the young generation growing to 32 MiB): the
 * growth factor is set again every millisecond from the 'worker' event until the worker is online (the old
 * generation's flag is not touched by it).
 */
export function tuneHeap(env: Record<string, string | undefined> = process.env, execArgv: readonly string[] = process.execArgv): HeapPlan {
  const plan = heapPlan(env, execArgv);
  if (tuned) return plan;
  tuned = true;
  if (plan.oldGrowth) v8.setFlagsFromString(`--heap-growing-percent=${OLD_GROWING_PERCENT}`);
  if (!plan.youngCap) return plan;
  let capped = false;
  /** stops the young generation's growth once capped (again after a worker's isolate put the factor back) */
  const stopGrowth = () => {
    if (capped) v8.setFlagsFromString('--semi-space-growth-factor=1');
  };
  const cap = () => {
    if (capped || youngSize() < YOUNG_CAP) return;
    capped = true;
    pendingCap = null;
    stopGrowth();
    gcs.disconnect();
  };
  pendingCap = cap;
  const gcs = new PerformanceObserver(cap);
  gcs.observe({ entryTypes: ['gc'] });
  cap();
  process.on('worker', (w) => {
    const again = setInterval(stopGrowth, 1);
    again.unref();
    const done = () => {
      clearInterval(again);
      stopGrowth();
    };
    w.once('online', done);
    w.once('exit', done);
  });
  return plan;
}
