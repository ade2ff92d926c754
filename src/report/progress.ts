/**
 * A progress bar on stderr for long reads: bytes read of the inputs' known total size. Redrawn at most every
 * `intervalMs` (a redraw per batch would cost more than the parsing on fast inputs), erased when done so the
 * terminal is left clean. The caller decides whether to show one (stderr a TTY, sizes known).
 */
import type { Writable } from 'node:stream';

export interface ProgressOptions {
  stderr: Writable;
  /** total bytes (compressed size for gzip files: sources count compressed bytes too) */
  total: number;
  now: () => number;
  /**
   * Least time between redraws, ms.
   * @default 100
   */
  intervalMs?: number;
  /**
   * Bar width in cells.
   * @default 30
   */
  width?: number;
}

export interface Progress {
  update(bytes: number): void;
  done(): void;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** The bar's text for `bytes` of `total` (no control characters): `reading  45% [#####-----] 1.2 GB / 2.6 GB`. */
export function progressLine(bytes: number, total: number, width = 30): string {
  const f = total > 0 ? Math.min(1, bytes / total) : 0;
  const full = Math.round(f * width);
  return `reading ${String(Math.floor(f * 100)).padStart(3)}% [${'#'.repeat(full)}${'-'.repeat(width - full)}] ${formatBytes(bytes)} / ${formatBytes(total)}`;
}

export function createProgress(o: ProgressOptions): Progress {
  const every = o.intervalMs ?? 100;
  let last = -Infinity;
  let shown = false;
  return {
    update(bytes) {
      const t = o.now();
      if (t - last < every) return;
      last = t;
      shown = true;
      o.stderr.write(`\r${progressLine(bytes, o.total, o.width)}`);
    },
    done() {
      // erase the line: the report (or the prompt) starts on a clean line
      if (shown) o.stderr.write('\r\u001b[K');
      shown = false;
    },
  };
}
