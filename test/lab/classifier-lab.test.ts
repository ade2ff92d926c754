// Proof on a real kernel: a Harvester-like cluster of network namespaces (test/lab/cluster.sh) produces real
// conntrack-loss false positives, real genuine blocks of missing rules, a real port scan and a few random probes;
// fwdiag reads the kernel's own lines from /dev/kmsg and must give every flow the verdict the harness knows to be
// true. The confusion table (true verdict × fwdiag verdict) is printed and written to
// test-output/classifier-lab-confusion.json. Needs root (CI runs as root); without root it fails, never skips.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openKmsgSource } from '../../src/input/kmsg-source.js';
import { createParser } from '../../src/parse/parse-line.js';
import { createClassifier, type FlowSummary } from '../../src/classify/classifier.js';
import { catalogServiceLookup } from '../../src/classify/services.js';
import { classifiedEventJson } from '../../src/output/analyze-json.js';
import type { LineResult } from '../../src/parse/event.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const clusterScript = join(here, 'cluster.sh');
const outDir = join(root, 'test-output');
const NFLOG = '/proc/sys/net/netfilter/nf_log_all_netns';
// One run, one namespace tag, address block and log prefix: two runs sharing the kernel (two checkouts, another
// lab) never see each other's namespaces, flows or lines.
const RUN = randomBytes(3).toString('hex');
const TAG = `fwfx-cl${RUN}-`;
const NET = `198.19.${100 + (randomBytes(1)[0]! % 150)}`;

/**
 * How fwdiag reads /dev/kmsg. `cli` runs `node bin/fwdiag.js analyze --kmsg --json` as a child process (the real
 * end-to-end path, needs a build: `npm test` builds first). `in-process` runs the same pipeline stages in this
 * process (openKmsgSource → createParser → createClassifier, events serialised by the CLI's own JSON writer): it
 * needs no build and isolates the classifier from the CLI when the two disagree. FWCL_READER=cli|in-process picks.
 */
const READER_DEFAULT = 'cli';
const READER = process.env['FWCL_READER'] ?? READER_DEFAULT;
if (READER !== 'cli' && READER !== 'in-process') throw new Error(`FWCL_READER must be cli or in-process, not ${READER}`);

type Verdict = 'conntrack-loss' | 'genuine-block' | 'scan' | 'broadcast' | 'undetermined';
const VERDICTS: Verdict[] = ['conntrack-loss', 'genuine-block', 'scan', 'broadcast', 'undetermined'];

interface TruthFlow {
  scenario: string;
  node: string;
  host: null;
  proto: string;
  server: string;
  serverPort: number | null;
  client: string;
  verdict: Verdict;
  serviceKnown: boolean;
  note: string;
}
interface Truth {
  prefix: string;
  nodes: Record<string, string>;
  flows: TruthFlow[];
}
/** a flow of the summary, as the lab reads it back from JSON */
type FlowOut = FlowSummary;
interface EventOut {
  prefix: string;
  proto?: string;
  src?: string;
  dst?: string;
  spt?: number;
  dpt?: number;
  flags?: string[];
  verdict: Verdict;
  rule: string;
}
interface Final {
  summary: Record<string, unknown>;
  flows: FlowOut[];
}

/** A line-oriented view of a child's stdout: every line kept, waiters woken when a predicate holds. */
class Lines {
  readonly all: string[] = [];
  private waiters: Array<() => void> = [];
  constructor(stream: NodeJS.ReadableStream) {
    createInterface({ input: stream }).on('line', (l) => this.push(l));
  }
  push(l: string): void {
    this.all.push(l);
    for (const w of this.waiters) w();
  }
  /** Resolves with the first line matching `re`, or rejects after `ms`. */
  async waitFor(re: RegExp, ms: number, what: string): Promise<string> {
    const found = (): string | undefined => this.all.find((l) => re.test(l));
    return this.waitUntil(() => found(), ms, what);
  }
  async waitUntil<T>(test: () => T | undefined, ms: number, what: string): Promise<T> {
    const now = test();
    if (now !== undefined) return now;
    return new Promise<T>((resolve, reject) => {
      const check = () => {
        const v = test();
        if (v !== undefined) done(() => resolve(v));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`))), ms);
      const done = (f: () => void) => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        f();
      };
      this.waiters.push(check);
    });
  }
}

/** fwdiag reading /dev/kmsg from "now" and producing NDJSON lines (events, then the final object on stop). */
interface Reader {
  out: Lines;
  stop(): Promise<void>;
  kill(): void;
  describe: string;
}

async function startCliReader(): Promise<Reader> {
  // FWCL_FWDIAG: another build's bin (e.g. one compiled to a scratch directory while dist/ is someone else's)
  const bin = process.env['FWCL_FWDIAG'] ?? join(root, 'bin', 'fwdiag.js');
  const dist = join(dirname(dirname(bin)), 'dist', 'cli', 'main.js');
  if (!existsSync(dist)) throw new Error(`${dist} missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [bin, 'analyze', '--kmsg', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = new Lines(child.stdout);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<string>((r) => child.on('exit', (code, sig) => r(sig ?? String(code))));
  // Ready when it holds /dev/kmsg open (it skips the backlog right after opening), plus a margin for the skip.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`fwdiag exited early (${child.exitCode}): ${stderr}`);
    let open = false;
    try {
      open = readdirSync(`/proc/${child.pid}/fd`).some((fd) => {
        try {
          return readlinkSync(`/proc/${child.pid}/fd/${fd}`) === '/dev/kmsg';
        } catch {
          return false;
        }
      });
    } catch {
      // the process is starting or gone: looked at again below
    }
    if (open) break;
    if (Date.now() > deadline) throw new Error(`fwdiag never opened /dev/kmsg: ${stderr}`);
    await sleep(50);
  }
  await sleep(300);
  return {
    out,
    describe: `node ${bin} analyze --kmsg --json`,
    async stop() {
      child.kill('SIGINT');
      const code = await Promise.race([exited, sleep(10_000).then(() => 'timeout' as const)]);
      if (code === 'timeout') throw new Error('fwdiag did not end within 10 s of SIGINT');
      // the summary written, it ends by the signal (status 130)
      if (code !== 'SIGINT') throw new Error(`fwdiag ended with ${code}, not by the SIGINT: ${stderr}`);
    },
    kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

async function startInProcessReader(): Promise<Reader> {
  const src = await openKmsgSource({ from: 'now' });
  const parser = createParser(src.bootTimeMs !== undefined ? { bootTimeMs: src.bootTimeMs } : {});
  const classifier = createClassifier();
  const ac = new AbortController();
  const sink = new (await import('node:stream')).PassThrough();
  const out = new Lines(sink);
  const handle = (r: LineResult) => {
    const ev = r.kind === 'event' ? r.event : r.kind === 'issue' ? r.event : undefined;
    if (ev !== undefined) sink.write(classifiedEventJson(classifier.classify(ev)) + '\n');
  };
  const loop = (async () => {
    for await (const batch of src.batches(ac.signal)) for (const l of batch) handle(parser.parseLine(l));
    for (const r of parser.flush()) handle(r);
    sink.write(JSON.stringify(classifier.end()) + '\n');
  })();
  return {
    out,
    describe: 'in-process openKmsgSource({from: "now"}) → createParser({bootTimeMs}) → createClassifier()',
    async stop() {
      ac.abort();
      await loop;
      // let readline deliver the last line
      await sleep(20);
    },
    kill() {
      ac.abort();
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function netnsOurs(): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return r.stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(TAG));
}

const flowKey = (f: { proto: string; server: string; serverPort: number | null; client: string }): string =>
  `${f.proto}|${f.server}|${f.serverPort ?? '*'}|${f.client}`;

/** Does this packet belong to the truth flow? (scan flows: any port on the server) */
function eventInFlow(e: EventOut, t: TruthFlow): boolean {
  if ((e.proto ?? '').toLowerCase() !== t.proto) return false;
  const fromServer = e.src === t.server && e.dst === t.client && (t.serverPort === null || e.spt === t.serverPort);
  const toServer = e.src === t.client && e.dst === t.server && (t.serverPort === null || e.dpt === t.serverPort);
  return fromServer || toServer;
}

/** The raw kernel records of one truth flow, for the failure message and the report. */
function kernelLines(raw: string[], t: TruthFlow): string[] {
  return raw.filter((l) => {
    const has = (s: string) => l.includes(s);
    const p = t.serverPort;
    const fromServer = has(` SRC=${t.server} DST=${t.client} `) && (p === null || has(` SPT=${p} `));
    const toServer = has(` SRC=${t.client} DST=${t.server} `) && (p === null || has(` DPT=${p} `));
    return has(`PROTO=${t.proto.toUpperCase()} `) && (fromServer || toServer);
  });
}

function table(rows: string[], cols: string[], cell: (r: string, c: string) => number): string {
  const w0 = Math.max(...rows.map((r) => r.length), 'true \\ fwdiag'.length);
  const ws = cols.map((c) => Math.max(c.length, 3));
  const line = (a: string, cs: string[]) => `${a.padEnd(w0)}  ${cs.map((c, i) => c.padStart(ws[i]!)).join('  ')}`;
  return [line('true \\ fwdiag', cols), ...rows.map((r) => line(r, cols.map((c) => String(cell(r, c)))))].join('\n');
}

let cluster: ChildProcess | undefined;
let reader: Reader | undefined;

/** Ends the cluster script (its trap deletes everything) and, as a last resort, deletes our namespaces. */
async function teardown(): Promise<void> {
  reader?.kill();
  reader = undefined;
  const c = cluster;
  cluster = undefined;
  if (c !== undefined && c.exitCode === null && c.signalCode === null) {
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.stdin?.end();
    if ((await Promise.race([exited.then(() => true), sleep(8_000).then(() => false)])) === false) {
      c.kill('SIGTERM'); // the trap still runs lab_down and restores nf_log_all_netns
      await Promise.race([exited, sleep(5_000)]);
    }
  }
  if (netnsOurs().length > 0) {
    spawnSync('bash', ['-c', `source '${join(here, 'netns.sh')}'; lab_down '${TAG}'`], { timeout: 10_000 });
  }
}

describe('classifier on a real kernel (namespace cluster, /dev/kmsg)', () => {
  afterAll(teardown, 30_000);

  it('gives every flow the cluster created its true verdict', async () => {
    if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
      throw new Error(
        'classifier-lab needs root (network namespaces, iptables inside them, /dev/kmsg): run `sudo npx vitest run test/lab/classifier-lab.test.ts`',
      );
    }
    // precondition of the ground truth: the probed "random" and scan ports are no known service in the catalog
    const lookup = catalogServiceLookup();
    for (const p of [3000, 3001, 4000, 4001, 5000, 5002, 7000, 7001, 8000, 8001, 8888, 9000, 9001, 9999, 4444, 5555, 7777, 4321, 7443]) {
      expect(lookup('tcp', p), `tcp/${p} must be unknown to the catalog for this lab`).toBeUndefined();
    }
    for (const p of [5999, 2000, 2001, 2002, 3003, 4004, 5005, 6006, 7007, 8008, 9009, 11011, 12012, 137, 5353]) {
      expect(lookup('udp', p), `udp/${p} must be unknown to the catalog for this lab`).toBeUndefined();
    }

    const started = Date.now();
    const prefix = `HARVESTER_DROP_${RUN}_`;
    mkdirSync(outDir, { recursive: true });
    const truthPath = join(outDir, 'classifier-lab-truth.json');
    const kmsgPath = join(outDir, 'classifier-lab-kmsg.txt');
    const nflogBefore = readFileSync(NFLOG, 'utf8').trim();

    cluster = spawn('bash', [clusterScript], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, FWCL_PREFIX: prefix, FWCL_TRUTH: truthPath, FWCL_KMSG_OUT: kmsgPath, FWCL_TAG: TAG, FWCL_NET: NET },
    });
    let clusterErr = '';
    cluster.stderr!.on('data', (d: Buffer) => (clusterErr += d.toString()));
    const clusterOut = new Lines(cluster.stdout!);
    const diag = () => `cluster.sh stderr:\n${clusterErr}`;

    await clusterOut.waitFor(/^READY /, 20_000, 'cluster.sh READY').catch((e: Error) => {
      throw new Error(`${e.message}\n${diag()}`);
    });
    reader = READER === 'cli' ? await startCliReader() : await startInProcessReader();
    const readerDetail = reader.describe;
    const tReady = Date.now();
    cluster.stdin!.write('go\n');
    const done = await clusterOut.waitFor(/^DONE \d+$/, 45_000, 'cluster.sh DONE').catch((e: Error) => {
      throw new Error(`${e.message}\n${diag()}`);
    });
    const kernelCount = Number(done.split(' ')[1]);
    const tTraffic = Date.now();

    // Wait until fwdiag has read every kernel line the cluster counted (bounded), then stop it for the summary.
    const ours = (): EventOut[] =>
      reader!.out.all
        .filter((l) => l.includes(prefix))
        .map((l) => JSON.parse(l) as EventOut)
        .filter((e) => e.prefix === prefix);
    await reader.out
      .waitUntil(() => (ours().length >= kernelCount ? true : undefined), 10_000, `${kernelCount} events with ${prefix}`)
      .catch(() => undefined); // judged below, with the numbers
    await reader.stop();
    const finalLine = reader.out.all.findLast((l) => l.startsWith('{"summary"'));
    expect(finalLine, 'fwdiag printed no final {"summary", "flows"} object').toBeDefined();
    const final = JSON.parse(finalLine!) as Final;
    const events = ours();
    reader = undefined;

    // The cluster ends: its trap deletes the namespaces and restores nf_log_all_netns.
    await teardown();
    const tEnd = Date.now();
    expect(netnsOurs(), 'namespaces left behind').toEqual([]);
    expect(readFileSync(NFLOG, 'utf8').trim(), 'nf_log_all_netns not restored').toBe(nflogBefore);

    const truth = JSON.parse(readFileSync(truthPath, 'utf8')) as Truth;
    expect(truth.prefix).toBe(prefix);
    const raw = readFileSync(kmsgPath, 'utf8').split('\n').filter((l) => l !== '');
    const addrs = new Set(Object.values(truth.nodes));
    // servers also include the broadcast and multicast groups the chatter scenario sends to
    const servers = new Set([...addrs, ...truth.flows.map((t) => t.server)]);

    // fwdiag's flows between our hosts (other labs may share the kernel log; their addresses are not ours)
    const got = final.flows.filter((f) => servers.has(f.server) && addrs.has(f.client));
    const gotByKey = new Map(got.map((f) => [flowKey(f), f]));
    const truthKeys = new Set(truth.flows.map(flowKey));

    const cols = [...VERDICTS, 'missing'];
    const rows = [...VERDICTS, 'unplanned'];
    const confusion: Record<string, Record<string, number>> = {};
    for (const r of rows) confusion[r] = Object.fromEntries(cols.map((c) => [c, 0]));
    // A scan truth flow (serverPort null) that fwdiag did not fold: its per-port flows stand in for it, so the table
    // says what they were called instead of "missing", and they do not count again as unplanned.
    const covered = new Set<string>();
    const perPort = (t: TruthFlow): FlowOut[] =>
      t.serverPort !== null
        ? []
        : got.filter((f) => f.serverPort !== null && f.proto === t.proto && f.server === t.server && f.client === t.client);
    // The flow fwdiag built with the two ends swapped (it took the client for the server): the verdict can still be
    // right, the attribution (server, port, service) is not. Found so that the table separates the two failures.
    const swapped = (t: TruthFlow): FlowOut | undefined =>
      t.serverPort === null
        ? undefined
        : got.find((f) => f.proto === t.proto && f.server === t.client && f.client === t.server && !truthKeys.has(flowKey(f)));
    const perFlow = truth.flows.map((t) => {
      const parts = perPort(t);
      let f = gotByKey.get(flowKey(t));
      let attribution: string | null = null;
      const sw = f === undefined ? swapped(t) : undefined;
      if (sw !== undefined) {
        covered.add(flowKey(sw));
        attribution = `server and client swapped: fwdiag's flow is ${sw.proto} ${sw.client} → ${sw.server}:${sw.serverPort ?? '*'}`;
        f = sw;
      }
      if (f === undefined && parts.length > 0) {
        for (const p of parts) covered.add(flowKey(p));
        // the most common verdict among the per-port flows
        const n = (v: Verdict) => parts.filter((p) => p.verdict === v).length;
        const top = [...VERDICTS].sort((a, b) => n(b) - n(a))[0]!;
        f = { ...parts[0]!, verdict: top, serverPort: null, count: parts.reduce((a, p) => a + p.count, 0),
              reason: `not folded: ${parts.length} per-port flows (${VERDICTS.filter((v) => n(v) > 0).map((v) => `${v} ×${n(v)}`).join(', ')}); first: ${parts[0]!.reason}` };
      }
      const verdict = f?.verdict ?? 'missing';
      confusion[t.verdict]![verdict]!++;
      const evs = events.filter((e) => eventInFlow(e, t));
      return {
        ...t,
        got: verdict,
        attribution,
        rule: f?.rule ?? null,
        service: f?.service ?? null,
        count: f?.count ?? 0,
        flags: f?.flags ?? null,
        ports: f?.ports ?? null,
        reason: f?.reason ?? null,
        eventVerdicts: Object.fromEntries(VERDICTS.map((v) => [v, evs.filter((e) => e.verdict === v).length]).filter(([, n]) => n !== 0)),
        kernelLines: kernelLines(raw, t),
      };
    });
    const unplanned = got.filter((f) => !truthKeys.has(flowKey(f)) && !covered.has(flowKey(f)));
    const misattributed = perFlow.filter((f) => f.attribution !== null);
    for (const f of unplanned) confusion.unplanned![f.verdict]!++;

    // per-event verdicts as judged when each line came (a scanner's first probes are blocks until it tips)
    const evTable: Record<string, Record<string, number>> = {};
    for (const t of truth.flows) evTable[t.verdict] ??= Object.fromEntries(VERDICTS.map((v) => [v, 0]));
    let unmatchedEvents = 0;
    for (const e of events) {
      const t = truth.flows.find((x) => eventInFlow(e, x));
      if (t === undefined) unmatchedEvents++;
      else evTable[t.verdict]![e.verdict]!++;
    }

    const text =
      `classifier lab: ${truth.flows.length} flows, ${events.length} kernel events (cluster counted ${kernelCount}), ` +
      `reader: ${readerDetail}\n` +
      `flows (true verdict × fwdiag verdict):\n${table(rows, cols, (r, c) => confusion[r]![c]!)}\n` +
      `flows with server and client swapped (verdict counted above): ${misattributed.length}` +
      misattributed.map((f) => `\n  ${f.scenario}: ${f.proto} ${f.client} → ${f.server}:${f.serverPort}: ${f.attribution}`).join('') +
      '\n' +
      `events as judged when read (true flow verdict × event verdict):\n` +
      `${table(Object.keys(evTable), VERDICTS, (r, c) => evTable[r]![c as Verdict]!)}\n` +
      `timing: setup ${tReady - started} ms, traffic ${tTraffic - tReady} ms, total ${tEnd - started} ms`;
    console.log(text);
    writeFileSync(
      join(outDir, 'classifier-lab-confusion.json'),
      JSON.stringify(
        {
          prefix,
          kernel: spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim(),
          reader: readerDetail,
          kernelLines: kernelCount,
          events: events.length,
          confusion,
          eventConfusion: evTable,
          unmatchedEvents,
          flows: perFlow,
          unplanned,
          misattributed: misattributed.length,
          summary: final.summary,
          timingMs: { setup: tReady - started, traffic: tTraffic - tReady, total: tEnd - started },
        },
        null,
        2,
      ) + '\n',
    );

    // Every kernel line was read and parsed into an event with our prefix, each belonging to a planned flow.
    expect(events.length, text).toBeGreaterThanOrEqual(kernelCount);
    expect(kernelCount, text).toBeGreaterThan(0);
    expect(unmatchedEvents, text).toBe(0);
    // Every flow has its true verdict; none is missing and none appeared that the scenarios did not create.
    for (const f of perFlow) {
      const msg = `${f.scenario}: ${f.proto} ${f.client} → ${f.server}:${f.serverPort ?? '*'} (${f.note}), logged on ${f.node}\n` +
        `fwdiag: ${f.got} (${f.rule ?? '-'}): ${f.reason ?? '-'}\n` +
        `kernel lines (${f.kernelLines.length}, first 4):\n${f.kernelLines.slice(0, 4).join('\n')}`;
      expect(f.got, msg).toBe(f.verdict);
      expect(f.attribution, msg).toBeNull();
      expect(f.service !== null, `${msg}\nservice: ${String(f.service)}`).toBe(f.serviceKnown);
    }
    expect(unplanned, text).toEqual([]);
  }, 60_000);
});
