/**
 * The live view's `--ruleset`, kept current (I/O edge). An operator applies the rule fwdiag suggested and watches the
 * drops stop; the details pane's trace and the suggestions must follow the ruleset the kernel now holds:
 * - `live` is read again every {@link LIVE_RELOAD_MS} (iptables-save, nft: a few child processes, off the main
 *   thread's hot path);
 * - a FILE is read again when its modification time or size changes (checked every {@link FILE_CHECK_MS}).
 * A ruleset that reads the same as the one held (its tables, chains and rule texts) changes nothing. A reload that
 * fails keeps the ruleset held and is reported once per distinct message.
 */
import { stat } from 'node:fs/promises';
import type { Ruleset } from '../ruleset/index.js';

export const LIVE_RELOAD_MS = 10_000;
export const FILE_CHECK_MS = 2_000;

/** What a ruleset says, for "did it change": tables, chains (hook, priority, policy) and rule texts, in order. */
export function rulesetFingerprint(rs: Ruleset): string {
  const out: string[] = [];
  for (const t of rs.tables) {
    out.push(`table ${t.family} ${t.name}`);
    for (const c of t.chains) {
      out.push(`chain ${c.name} ${c.hook ?? ''} ${c.priority ?? ''} ${c.policy ?? ''}`);
      for (const r of c.rules) out.push(r.text);
    }
  }
  return out.join('\n');
}

export interface RulesetWatchOptions {
  /** reads the ruleset (loadRuleset) */
  load: (spec: string) => Promise<Ruleset>;
  /** the ruleset held now (its fingerprint is the baseline) */
  initial: Ruleset;
  onChange: (rs: Ruleset) => void;
  onError: (message: string) => void;
  liveMs?: number;
  fileMs?: number;
}

/** Starts watching `spec` (`live` or a FILE); returns the function that stops it. Timers never keep the process up. */
export function watchRuleset(spec: string, o: RulesetWatchOptions): () => void {
  let held = rulesetFingerprint(o.initial);
  let lastError = '';
  let busy = false;
  let stopped = false;
  let seen: { mtimeMs: number; size: number } | undefined;

  const reload = async (): Promise<void> => {
    try {
      const rs = await o.load(spec);
      if (stopped) return;
      lastError = '';
      const fp = rulesetFingerprint(rs);
      if (fp === held) return;
      held = fp;
      o.onChange(rs);
    } catch (e) {
      const m = (e as Error).message.split('\n')[0] ?? 'failed';
      if (!stopped && m !== lastError) {
        lastError = m;
        o.onError(m);
      }
    }
  };

  const tick = async (): Promise<void> => {
    if (busy || stopped) return;
    busy = true;
    try {
      if (spec === 'live') await reload();
      else {
        let s: { mtimeMs: number; size: number } | undefined;
        try {
          const st = await stat(spec);
          s = { mtimeMs: st.mtimeMs, size: st.size };
        } catch {
          s = undefined; // gone for a moment (an editor replacing it): the next check sees the new file
        }
        if (s !== undefined && seen !== undefined && (s.mtimeMs !== seen.mtimeMs || s.size !== seen.size)) await reload();
        if (s !== undefined) seen = s;
      }
    } finally {
      busy = false;
    }
  };

  // the file as it is now is the baseline: the ruleset held was read from it
  if (spec !== 'live') void tick();
  const timer = setInterval(() => void tick(), spec === 'live' ? (o.liveMs ?? LIVE_RELOAD_MS) : (o.fileMs ?? FILE_CHECK_MS));
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
