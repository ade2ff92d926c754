/**
 * The report's first line: the answer to "was anything really blocked, or was it all conntrack noise?", with the
 * numbers that back it. Pure: a function of the report model.
 */
import type { BlockGroup, Report, ReportVerdict } from './types.js';

/** Block groups named in the line before "+N more". */
const MAX_NAMED = 4;

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** `2 h`, `3 h 5 min`: whole minutes `m` as hours and the minutes left. */
export function hoursAndMinutes(m: number): string {
  return `${Math.floor(m / 60)} h${m % 60 === 0 ? '' : ` ${m % 60} min`}`;
}

/** `40 s`, `3 min`, `2 h 5 min` — rounded up, because "stopped within" must not understate. */
export function formatSpan(ms: number): string {
  if (ms < 60_000) return `${Math.ceil(ms / 1000)} s`;
  const m = Math.ceil(ms / 60_000);
  if (m < 120) return `${m} min`;
  return hoursAndMinutes(m);
}

/** `1 drop`, `1,234 drops`: the count formatted, and the word for it. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

function names(groups: readonly BlockGroup[]): string {
  const shown = groups.slice(0, MAX_NAMED).map((g) => `${g.port === null ? g.proto : `${g.proto}/${g.port}`} on ${g.host}`);
  const more = groups.length - shown.length;
  return shown.join(', ') + (more > 0 ? `, +${more} more` : '');
}

/** A block group's key: host, protocol and port. */
export function groupKey(g: Pick<BlockGroup, 'host' | 'proto' | 'port'>): string {
  return `${g.host}|${g.proto}|${g.port ?? ''}`;
}

/**
 * What the line needs of every flow, listed or not: the report lists `--max-rows` of them, and a verdict read off the
 * listed ones changed with it (`--max-rows 0` made a check 'ok' and an unexplained port a genuine block).
 */
export interface VerdictFlows {
  /** flows of status `check` */
  check: number;
  /** {@link groupKey}s of the blocks with a flow without a verdict (drops to a port nothing explains) */
  unexplained: ReadonlySet<string>;
}

/** Groups across windows, one per host × proto × port (the first window's numbers win). */
function union(lists: ReadonlyArray<readonly BlockGroup[]>): BlockGroup[] {
  const m = new Map<string, BlockGroup>();
  for (const l of lists) for (const g of l) {
    const k = groupKey(g);
    if (!m.has(k)) m.set(k, g);
  }
  return [...m.values()];
}

/**
 * "N genuine blocks" — or, when some of the groups are drops to a port without a verdict (an `undetermined` flow
 * with a server port, which the report treats as refused), words that do not call them blocks.
 */
function blocksText(flows: VerdictFlows, groups: readonly BlockGroup[]): string {
  const unexplained = groups.filter((g) => flows.unexplained.has(groupKey(g))).length;
  if (unexplained === 0) return plural(groups.length, 'genuine block');
  if (unexplained === groups.length) return plural(groups.length, 'port', 'ports') + ' with unexplained drops';
  return `${plural(groups.length, 'refused port')} (${formatCount(groups.length - unexplained)} genuine, ${formatCount(unexplained)} unexplained)`;
}

/**
 * The one-line verdict. `blocks` are the genuine blocks of the whole input grouped by host and port (used when no
 * window was found); `outside`, with windows, the blocks refused only outside them; `ct`, the lost-state flows with
 * drops during any window and those still losing state after one, each flow once (the windows' own counts added up
 * would count a flow that lost state in two windows twice); `all`, what the line needs of every flow, listed or not.
 */
export function oneLineVerdict(
  r: Report, blocks: readonly BlockGroup[], outside: readonly BlockGroup[], ct: { flows: number; unsettled: number }, all: VerdictFlows,
): ReportVerdict {
  if (r.totals.drops === 0) return { level: 'ok', text: 'No drops: the input held no netfilter LOG lines of dropped packets.' };
  const ws = r.windows;
  if (ws.length === 0) {
    if (blocks.length > 0) {
      return {
        level: 'action',
        text: `Action needed: ${blocksText(all, blocks)} (${names(blocks)}); no upgrade window found (no burst of conntrack loss)`,
      };
    }
    const ct = r.totals['conntrack-loss'];
    return {
      level: all.check > 0 ? 'check' : 'ok',
      text: `No genuine blocks and no upgrade window: ${plural(ct, 'conntrack-loss drop')}` +
        `${r.totals.scan > 0 ? `, ${plural(r.totals.scan, 'scan drop')}` : ''}` +
        `${r.totals.broadcast > 0 ? `, ${plural(r.totals.broadcast, 'drop')} of LAN broadcast chatter` : ''}` +
        `${r.totals.undetermined > 0 ? `, ${plural(r.totals.undetermined, 'drop')} without a verdict` : ''}`,
    };
  }
  const one = ws.length === 1;
  const theWindow = one ? 'the window' : `the ${ws.length} windows`;
  // refused after a window: persisted from it, or new after it (a one-off probe later on); both need a rule
  const persisted = union(ws.map((w) => w.persisted));
  const seen = new Set(persisted.map(groupKey));
  const fresh = union(ws.map((w) => w.newAfter)).filter((g) => !seen.has(groupKey(g)));
  if (persisted.length > 0 || fresh.length > 0) {
    const which = (ids: readonly number[]): string => (one ? 'the window' : `window${ids.length === 1 ? '' : 's'} ${ids.join(', ')}`);
    const freshKeys = new Set(fresh.map(groupKey));
    const parts: string[] = [];
    if (persisted.length > 0) {
      parts.push(`${blocksText(all, persisted)} persisted after ${which(ws.filter((w) => w.persisted.length > 0).map((w) => w.id))} (${names(persisted)})`);
    }
    if (fresh.length > 0) {
      const ids = ws.filter((w) => w.newAfter.some((g) => freshKeys.has(groupKey(g)))).map((w) => w.id);
      parts.push(`${blocksText(all, fresh)} new after ${which(ids)} (${names(fresh)})${persisted.length === 0 ? ', none persisted' : ''}`);
    }
    return { level: 'action', text: `Action needed: ${parts.join('; ')}` };
  }
  // drops are in one window each; a flow may lose state in several
  let drops = 0;
  let flowDrops = 0;
  let stopped = 0;
  for (const w of ws) {
    drops += w.conntrackLoss.drops;
    flowDrops += w.conntrackLoss.flowDrops;
    stopped = Math.max(stopped, w.conntrackLoss.stoppedWithinMs);
  }
  const { flows, unsettled } = ct;
  const end = one ? "the window's end" : "their window's end";
  // as the windows' sentence says it: drops that lost state on a flow listed as a block are not put on these flows
  const lost = flowDrops < drops
    ? `${plural(drops, 'conntrack-loss drop')}, ${formatCount(flowDrops)} of them on ${plural(flows, 'flow')} that lost state`
    : `${plural(drops, 'conntrack-loss drop')} on ${plural(flows, 'flow')}`;
  const settled = unsettled > 0
    ? `${plural(unsettled, 'flow')} still losing state ${formatSpan(stopped)} after ${end}`
    : stopped === 0 ? `all stopped by ${end}` : `all stopped within ${formatSpan(stopped)} of ${end}`;
  // no flow lost state in the windows: nothing stopped or settled, and the line says there was none
  const noise = flows > 0 ? `${lost}, ${settled}`
    : drops === 0 ? `no conntrack-loss drops during ${theWindow}`
    : `${plural(drops, 'conntrack-loss drop')} during ${theWindow}, on flows listed under another verdict`;
  const duringOnly = union(ws.map((w) => w.duringOnly));
  if (duringOnly.length > 0) {
    return {
      level: 'check',
      text: `Check: ${plural(duringOnly.length, 'genuine block')} during ${theWindow}, none seen after (${names(duringOnly)}); ${noise}`,
    };
  }
  if (outside.length > 0) {
    return {
      level: 'check',
      text: `Check: ${blocksText(all, outside)} outside ${theWindow}, none during or after ${one ? 'it' : 'them'} (${names(outside)}); ${noise}`,
    };
  }
  // flows to check (no verdict, lost state for long) keep the line from saying all is well, and the line says so
  const toCheck = all.check;
  const checkText = toCheck === 0 ? '' : `; ${plural(toCheck, 'flow')} to check (see the flows table)`;
  return { level: unsettled > 0 || toCheck > 0 ? 'check' : 'ok', text: `${toCheck > 0 ? 'Check: no' : 'No'} genuine blocks: ${noise}${checkText}` };
}
