/**
 * `analyze` for people: one line per new flow and per verdict change (not per packet — an upgrade burst is
 * thousands of packets but a handful of flows), coloured by verdict, then a short report of what needs action.
 */
import type { Writable } from 'node:stream';
import type { ClassifyResult, FinishedAnalysis, FlowChange, FlowSummary } from '../classify/classifier.js';
import type { Flow } from '../classify/flows.js';
import type { Verdict } from '../classify/verdict.js';
import { escapeControl } from './escape.js';
import { endpoint } from '../parse/ipv6.js';
import { prefixLabel } from '../parse/parse-line.js';
import { writeLines } from './safe-stdout.js';
import { overwrittenSentence, prefixesAdvice } from '../input/types.js';

/** What the analyze command drives: buffer per event, write per batch, finish with the summary. */
export interface AnalyzeWriter {
  event(r: ClassifyResult): void;
  /** writes what was buffered (honouring backpressure) */
  flush(): Promise<void>;
  /** the final summary; flows are rendered (summarize) as the writer prints them */
  end(result: FinishedAnalysis): Promise<void>;
}

export interface AnalyzeHumanOptions {
  stdout: Writable;
  /** ANSI colours (the CLI decides from `--color`, NO_COLOR and the TTY) */
  color: boolean;
  /** for flows that have persisted: renders the flow's reason as the summary would */
  describe: (f: Flow) => FlowSummary;
  /** most flows listed per section of the final report @default 20 */
  maxListed?: number;
}

const COLOURS: Record<Verdict, string> = {
  'conntrack-loss': '\u001b[2m', // dim: noise
  'genuine-block': '\u001b[1;31m', // bold red: needs a rule
  scan: '\u001b[35m', // magenta: probing
  undetermined: '\u001b[33m', // yellow: look yourself
  broadcast: '\u001b[2m', // dim: LAN chatter
};
const RESET = '\u001b[0m';
const BOLD = '\u001b[1m';

const LABEL_WIDTH = 14; // 'conntrack-loss'.length

function when(r: ClassifyResult): string {
  const e = r.event;
  if (e.time !== null) return e.time;
  if (e.mono !== null) return `[${e.mono.toFixed(6).padStart(12)}]`;
  return `line ${e.line}`;
}


/** `client → server:port (service)` */
function flowText(f: Flow | FlowSummary): string {
  const svc = f.service ? ` (${f.service})` : '';
  return `${f.proto} ${f.client} → ${endpoint(f.server, f.serverPort)}${svc}`;
}

/** `1 drop`, `2 drops`. */
const n = (count: number, one: string): string => `${count} ${one}${count === 1 ? '' : 's'}`;

/** `udp/5353 (mDNS), udp/137 (NetBIOS name service), +2 more`: the most packets first. */
function chatterTargets(flows: readonly FlowSummary[]): string {
  const by = new Map<string, number>();
  for (const f of flows) {
    const k = `${f.proto}${f.serverPort === null ? '' : `/${f.serverPort}`}${f.service ? ` (${f.service})` : ''}`;
    by.set(k, (by.get(k) ?? 0) + f.count);
  }
  const all = [...by].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([k]) => k);
  return all.slice(0, 4).join(', ') + (all.length > 4 ? `, +${all.length - 4} more` : '');
}

export function createAnalyzeHumanWriter(opts: AnalyzeHumanOptions): AnalyzeWriter {
  const paint = (code: string, s: string) => (opts.color ? `${code}${s}${RESET}` : s);
  const label = (v: Verdict) => paint(COLOURS[v], v.padEnd(LABEL_WIDTH));
  const maxListed = opts.maxListed ?? 20;
  let buf = '';

  function changeLine(r: ClassifyResult, c: FlowChange): string {
    const f = c.flow;
    const head = `${escapeControl(when(r))} ${escapeControl(f.host ?? '-')}`;
    const what = escapeControl(flowText(f));
    if (c.kind === 'new') {
      // this packet created the flow: its reason is the flow's (for a scanner's flow, the scan reason)
      return `${head} ${label(f.verdict)} ${what}: ${escapeControl(r.reason)}\n`;
    }
    if (c.kind === 'verdict') {
      const from = c.from ?? 'undetermined';
      return `${head} ${paint(COLOURS[from], from)} → ${label(f.verdict)} ${what}: ${escapeControl(opts.describe(f).reason)}\n`;
    }
    const s = opts.describe(f);
    return `${head} ${paint(BOLD, 'persistent')} ${label(f.verdict)} ${what}: ${f.count} packets since ${escapeControl(s.firstSeen ?? `line ${s.firstLine}`)} — ${escapeControl(s.reason)}\n`;
  }

  function section(title: string, flows: FlowSummary[]): string {
    if (flows.length === 0) return '';
    let out = `\n${paint(BOLD, title)}\n`;
    for (const f of flows.slice(0, maxListed)) {
      // without wall-clock times, where the flow is: its lines, each in its own file when more than one is read
      const span = f.firstSeen !== null ? `${f.firstSeen} … ${f.lastSeen}`
        : f.file === undefined ? `lines ${f.firstLine}-${f.lastLine}`
        : f.lastFile === undefined ? `${f.file}:${f.firstLine}-${f.lastLine}`
        : `${f.file}:${f.firstLine} … ${f.lastFile}:${f.lastLine}`;
      const extra = [
        f.persistent ? 'persistent' : '',
        f.backoff ? 'TCP backoff' : '',
        f.ports !== undefined ? `${f.ports}${f.portsAtLeast === true ? '+' : ''} ports` : '',
        f.ctInvalid !== undefined ? `${f.ctInvalid} ct-invalid` : '',
      ].filter(Boolean).join(', ');
      out += `  ${label(f.verdict)} ${escapeControl(f.host ?? '-')} ${escapeControl(flowText(f))}  ×${f.count}  ${escapeControl(span)}${extra ? `  [${extra}]` : ''}\n`;
      out += `    ${escapeControl(f.reason)}\n`;
    }
    if (flows.length > maxListed) out += `  … and ${flows.length - maxListed} more (use --json for all)\n`;
    return out;
  }

  return {
    event(r) {
      if (r.changes === undefined) return;
      for (const c of r.changes) buf += changeLine(r, c);
    },
    async flush() {
      if (buf.length === 0) return;
      const chunk = buf;
      buf = '';
      await writeLines(opts.stdout, chunk);
    },
    async end(result) {
      const s = result.summary;
      // broadcast only when there was some: most inputs have none
      const counts = (['conntrack-loss', 'genuine-block', 'scan', 'broadcast', 'undetermined'] as const)
        .filter((v) => v !== 'broadcast' || s[v] > 0)
        .map((v) => `${paint(COLOURS[v], String(s[v]))} ${v}`)
        .join(', ');
      let out = `\n${paint(BOLD, 'Summary')}: ${n(s.events, 'drop')} in ${n(s.flows, 'flow')} — ${counts}`;
      if (s.ctInvalid > 0) out += `; ${s.ctInvalid} conntrack INVALID lines`;
      const other = s.input?.['otherPrefix'] ?? 0;
      if (other > 0) out += `; ${other} LOG lines of other prefixes left out (--prefix)`;
      out += '\n';
      const lost = s.input?.['overwritten'] ?? 0;
      if (lost > 0) out += `  ${overwrittenSentence(lost)} (counts above miss them)\n`;
      const prefixes = Object.entries(s.prefixes ?? {});
      if (prefixes.length > 1) {
        const list = prefixes.sort((a, b) => b[1] - a[1]).map(([p, n]) => `${escapeControl(prefixLabel(p, (x) => JSON.stringify(x)))} ${n}`).join(', ');
        out += `  LOG prefixes: ${list} — several LOG rules${prefixesAdvice(other > 0)}\n`;
      }
      if (s.firstSeen !== null) out += `  from ${s.firstSeen} to ${s.lastSeen}\n`;
      if (s.window !== undefined) {
        const w = s.window;
        const c = (x: typeof w.during) => `${x['conntrack-loss']} conntrack-loss, ${x['genuine-block']} genuine-block, ${x.scan} scan, ` +
          `${x.broadcast > 0 ? `${x.broadcast} broadcast, ` : ''}${x.undetermined} undetermined`;
        out += `  window ${w.start} … ${w.end}: before ${c(w.before)}; during ${c(w.during)}; after ${c(w.after)}\n`;
      }
      if (s.flowsEvicted > 0 || s.flowsExpired > 0 || s.scanSourcesEvicted > 0) {
        out += `  bounded state: ${s.flowsExpired} idle flows expired, ${s.flowsEvicted} flows evicted, ${s.scanSourcesEvicted} scan sources evicted\n`;
      }
      const flows = result.flows.map(result.summarize);
      out += section('Genuine blocks (a rule is missing, or the traffic is unwanted):', flows.filter((f) => f.verdict === 'genuine-block'));
      out += section('Scans (evidence of probing — never a reason to open a port):', flows.filter((f) => f.verdict === 'scan'));
      out += section('Persistent conntrack loss (worth a look):', flows.filter((f) => f.verdict === 'conntrack-loss' && f.persistent));
      out += section('Undetermined:', flows.filter((f) => f.verdict === 'undetermined'));
      const noise = flows.filter((f) => f.verdict === 'conntrack-loss' && !f.persistent);
      if (noise.length > 0) {
        const packets = noise.reduce((n, f) => n + f.count, 0);
        const what = noise.length === 1 ? 'its own: harmless return traffic of a connection' : 'their own: harmless return traffic of connections';
        out += `\n${paint(COLOURS['conntrack-loss'], `${n(noise.length, 'conntrack-loss flow')} (${n(packets, 'packet')}) settled on ${what} whose state was lost.`)}\n`;
      }
      const chatter = flows.filter((f) => f.verdict === 'broadcast');
      if (chatter.length > 0) {
        out += `\n${paint(COLOURS.broadcast, `${n(chatter.length, 'broadcast flow')} (${n(chatter.reduce((a, f) => a + f.count, 0), 'packet')}) to ${escapeControl(chatterTargets(chatter))}: ` +
          'LAN broadcast and multicast chatter, harmless to drop and never a reason to open a port.')}\n`;
      }
      buf += out;
      await this.flush();
    },
  };
}
