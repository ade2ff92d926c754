/**
 * Which LOG rules of a ruleset wrote a log's lines at a limited rate (`-m limit --limit 10/min`, nft `limit rate
 * 10/minute`): their lines are a sample of the drops. Pure.
 */
import type { Ruleset } from './model.js';

/** A rate-limited LOG rule. */
export interface LogRateLimit {
  prefix: string;
  /** as the ruleset writes it: `10/min`, `10/minute` */
  rate: string;
  burst?: number;
}

/** The rate-limited LOG rules whose prefix is one the log has (`prefixes`), each prefix once. */
export function rateLimitedLogRules(rs: Ruleset, prefixes: ReadonlySet<string>): LogRateLimit[] {
  const out = new Map<string, LogRateLimit>();
  for (const t of rs.tables) for (const c of t.chains) for (const r of c.rules) {
    const prefix = r.log?.prefix;
    if (prefix === undefined || !prefixes.has(prefix) || out.has(prefix)) continue;
    const lim = r.matches.find((m) => m.kind === 'limit' && m.over !== true);
    if (lim?.kind === 'limit') out.set(prefix, { prefix, rate: lim.rate, ...(lim.burst === undefined ? {} : { burst: lim.burst }) });
  }
  return [...out.values()];
}

/** Every rate-limited LOG rule of the ruleset, by its prefix (the first rule of a prefix). */
export function limitedLogRulesByPrefix(rs: Ruleset): Map<string, LogRateLimit> {
  const all = new Set<string>();
  for (const t of rs.tables) for (const c of t.chains) for (const r of c.rules) if (r.log?.prefix !== undefined) all.add(r.log.prefix);
  return new Map(rateLimitedLogRules(rs, all).map((x) => [x.prefix, x]));
}

/** The rule's limit as text: `10/min`, `10/minute (burst 5)`. */
export function logLimitRate(x: LogRateLimit): string {
  return `${x.rate}${x.burst === undefined ? '' : ` (burst ${x.burst})`}`;
}

/** One sentence on what such a rule means for the counts; `code` quotes the (log-derived) prefix for the output. */
export function logLimitSentence(x: LogRateLimit, code: (s: string) => string): string {
  return `the LOG rule with prefix ${code(x.prefix)} logs at most ${logLimitRate(x)}: ` +
    'drop counts are a sample of the drops, and a quiet minute does not prove that nothing was dropped';
}
