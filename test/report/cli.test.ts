import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { PROGRESS_MIN_BYTES, parseReportArgs, reportCommand } from '../../src/cli/report.js';
import { InputError, UsageError } from '../../src/cli/errors.js';
import { analyzeCommand } from '../../src/cli/analyze.js';
import { createProgress, progressLine } from '../../src/report/progress.js';
import { PassThrough } from 'node:stream';
import { INCIDENT, KMSG, SAMPLE, SYSLOG, memoryIO } from './helpers.js';
import { writeManyPrefixesLog } from '../cli/temp-corpus.js';

const tmp = mkdtempSync(join(tmpdir(), 'fwdiag-report-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
/** drops in one copy of the sample (set by the JSON test, which runs first) */
let oneCopyDrops = 0;

describe('fwdiag report flags', () => {
  it.each([
    [['--format', 'pdf'], '--format: use md, html or json'],
    [['--role', 'worker'], 'give --platform P too'],
    [['--ruleset', 'x.rules'], 'give --platform P too'],
    [['--platform', 'harvester'], '--platform needs --role R or --host-role HOST=ROLE'],
    [['--platform', 'harvester', '--host-role', 'noequals'], '--host-role: expected HOST=ROLE'],
    [['--window', '2026-04-22T10:00..2026-04-22T11:00', '--burst', '3'], '--window replaces window detection'],
    [['--window', '2026-04-22T11:00..2026-04-22T10:00'], '--window: bad window'],
    [['--burst', '0'], '--burst: not a positive number'],
    [['--burst-flows', '0'], '--burst-flows: '],
    [['--merge-gap', 'soon'], '--merge-gap: not a duration'],
    [['--max-rows', '-1'], ''],
    [['--tz', 'Mars/Olympus'], '--tz: unknown time zone'],
    [['--bogus'], 'Unknown option'],
    [['--fail-on', 'warn'], '--fail-on: use action or check'],
    [['--fail-on'], "argument missing"],
    [['--prefix', 'x\u001b[31m'], '--prefix: no control characters'],
    [['--kmsg=now'], '--kmsg: this command reads the ring buffer as it is now (--kmsg or --kmsg=ring), not "now"'],
    [['--kmsg=start'], '--kmsg: this command reads the ring buffer as it is now'],
  ])('%j is a usage error', (argv, msg) => {
    expect(() => parseReportArgs(argv)).toThrow(UsageError);
    if (msg !== '') expect(() => parseReportArgs(argv)).toThrow(msg);
  });

  it('--kmsg alone is the ring buffer as it is; with a FILE it is refused', async () => {
    const o = parseReportArgs(['--kmsg']);
    expect(o !== 'help' && o.kmsg).toBe('ring');
    expect(o !== 'help' && parseReportArgs([SAMPLE]) !== 'help' && (parseReportArgs([SAMPLE]) as { kmsg: unknown }).kmsg).toBe(false);
    const { io } = memoryIO();
    await expect(reportCommand([SAMPLE, '--kmsg'], io)).rejects.toThrow('--kmsg reads the kernel log itself: give no FILE with it');
  });

  it('--prefix: another LOG rule\'s lines are left out, counted and named', async () => {
    const lines = readFileSync(SAMPLE, 'utf8').trim().split('\n');
    const mixed = join(tmp, 'mixed.log');
    writeFileSync(mixed, `${lines.flatMap((l, i) => (i % 5 === 0 && l.includes('HARVESTER_DROP_') ? [l, l.replace('HARVESTER_DROP_', '[UFW ALLOW] ')] : [l])).join('\n')}\n`);
    const allowed = readFileSync(mixed, 'utf8').split('\n').filter((l) => l.includes('[UFW ALLOW]')).length;
    const json = async (argv: string[]) => {
      const m = memoryIO();
      expect(await reportCommand([...argv, '--format', 'json'], m.io)).toBe(0);
      return JSON.parse(m.out()) as { input: { otherPrefix: number; prefixes: Record<string, number> }; totals: { drops: number } };
    };
    const only = await json([SAMPLE]);
    const all = await json([mixed]);
    const kept = await json([mixed, '--prefix', 'HARVESTER_DROP_']);
    expect(all.totals.drops).toBe(only.totals.drops + allowed);
    expect(kept.totals).toEqual(only.totals);
    expect(kept.input.otherPrefix).toBe(allowed);
    expect(kept.input.prefixes).toEqual({ ...only.input.prefixes, '[UFW ALLOW] ': allowed });
    const md = memoryIO();
    expect(await reportCommand([mixed, '--prefix', 'HARVESTER_DROP_'], md.io)).toBe(0);
    expect(md.out()).toContain(`(${allowed} LOG lines of other prefixes left out)`);
    expect(md.out()).toMatch(/^LOG prefixes seen: `HARVESTER_DROP_` [\d,]+, `\[UFW ALLOW\] ` \d+ — several LOG rules/m);
    // --prefix was given: the line says what it did, not to give it (it said '`--prefix P` keeps the drop rule's lines')
    expect(md.out()).toMatch(/ — several LOG rules: `--prefix` left the others' lines out\.$/m);
    expect(md.out()).not.toContain('--prefix P');
    const page = join(tmp, 'prefix.html');
    expect(await reportCommand([mixed, '--prefix', 'HARVESTER_DROP_', '--format', 'html', '-o', page], memoryIO().io)).toBe(0);
    expect(readFileSync(page, 'utf8')).toContain(' — several LOG rules: <code>--prefix</code> left the others\' lines out.</p>');
    expect(readFileSync(page, 'utf8')).not.toContain('--prefix P');
  });

  it('LOG prefixes past the tally\'s cap: (other prefixes) is named as what it is, not as a prefix (Markdown and HTML)', async () => {
    // 40 LOG rules, each its own prefix: the first 32 are tallied by name, the other 8 together
    const file = join(tmp, 'many-prefixes.log');
    writeManyPrefixesLog(file);
    const md = memoryIO();
    expect(await reportCommand([file], md.io)).toBe(0);
    const line = md.out().split('\n').find((l) => l.startsWith('LOG prefixes seen: '));
    expect(line).toContain('`DROP_R00_` 1, ');
    expect(line).toMatch(/(: |, )\(other prefixes\) 8[, ]/);
    expect(line).not.toContain('`(other prefixes)`');
    const page = join(tmp, 'many-prefixes.html');
    expect(await reportCommand([file, '--format', 'html', '-o', page], memoryIO().io)).toBe(0);
    const html = readFileSync(page, 'utf8');
    expect(html).toContain('<code>DROP_R00_</code> 1, ');
    expect(html).toMatch(/(: |, )\(other prefixes\) 8[, ]/);
    expect(html).not.toContain('<code>(other prefixes)</code>');
  });

  it('--help says what --fail-on fails on, as the cases below show (it said "action: a genuine block persisted": a block new after the window, an unexplained port, or any block with no window found fail it too)', async () => {
    const m = memoryIO();
    expect(await reportCommand(['--help'], m.io)).toBe(0);
    const at = m.out().indexOf('--fail-on action|check');
    const text = m.out().slice(at, m.out().indexOf('\nWindows:', at)).replace(/\s+/g, ' ');
    expect(text).toContain('a genuine block or a port without a verdict refused after a window (persisting from it or first seen after it), or anywhere when no window is found');
    expect(text).toContain('check: also conntrack loss that did not settle, blocks seen only during or outside the windows');
  });

  it('--fail-on: exit 3 when the verdict is that bad or worse, the report written all the same', async () => {
    // three real inputs, one of each level: the sample (a genuine block persisted: action), the sample before
    // harvester3 lost its rules (conntrack loss that stopped: ok), the kernel lab's capture (blocks only during
    // its window: check)
    const before = join(tmp, 'before.log');
    writeFileSync(before, readFileSync(SAMPLE, 'utf8').split('\n').filter((l) => l.slice(7, 15) < '10:20:00').join('\n'));
    // and the real-kernel incident without its tcp/2380 block: a one-off SYN to tcp/4444 first seen after the window,
    // 2 min before the input ends, is still a genuine block to act on (it did not persist from the window)
    const oneOff = join(tmp, 'one-off.log');
    writeFileSync(oneOff, readFileSync(INCIDENT, 'utf8').split('\n').filter((l) => !l.includes(' DPT=2380 ') || !l.includes(' SYN ')).join('\n'));
    const cases: Array<[string, string, { none: number; check: number; action: number }]> = [
      [SAMPLE, 'action', { none: 0, check: 3, action: 3 }],
      [oneOff, 'action', { none: 0, check: 3, action: 3 }],
      [KMSG, 'check', { none: 0, check: 3, action: 0 }],
      [before, 'ok', { none: 0, check: 0, action: 0 }],
    ];
    for (const [file, level, codes] of cases) {
      for (const failOn of ['none', 'check', 'action'] as const) {
        const m = memoryIO();
        const code = await reportCommand([file, '--format', 'json', ...(failOn === 'none' ? [] : ['--fail-on', failOn])], m.io);
        expect((JSON.parse(m.out()) as { verdict: { level: string } }).verdict.level).toBe(level);
        expect([file, failOn, code]).toEqual([file, failOn, codes[failOn]]);
      }
    }
    // with -o the verdict goes to stderr, the exit code is the same
    const m = memoryIO();
    expect(await reportCommand([SAMPLE, '--fail-on', 'action', '-o', join(tmp, 'gate.md')], m.io)).toBe(3);
    expect(m.err()).toMatch(/^fwdiag report: Action needed: /);
    expect(readFileSync(join(tmp, 'gate.md'), 'utf8')).toMatch(/^# Firewall drop report/);
  });

  it('places --window on the wall clock when a monotonic-only line comes first in an input that has wall-clock stamps (it said the input had only monotonic times)', async () => {
    // a /dev/kmsg record (no host, no wall clock) copied into a syslog file ahead of its lines
    const mixed = join(tmp, 'kmsg-then-syslog.log');
    writeFileSync(mixed, `${readFileSync(KMSG, 'utf8').split('\n')[0]}\n${readFileSync(SYSLOG, 'utf8')}`);
    const m = memoryIO();
    expect(await reportCommand([mixed, '--tz', 'UTC', '--format', 'json', '--window', '2025-11-23T07:00Z..2025-11-23T07:10Z'], m.io)).toBe(0);
    const r = JSON.parse(m.out()) as { clock: string; limits: { untimed: number }; windows: Array<{ during: Record<string, number> }> };
    expect(r.clock).toBe('wall');
    expect(r.limits.untimed).toBe(1);
    expect(Object.values(r.windows[0]!.during).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });

  it('refuses a --window on an input timed only by the kernel\'s monotonic clock (it put every drop before the window: "Check: 9 genuine blocks outside the window", exit 0 under --fail-on action)', async () => {
    const { io, out } = memoryIO();
    const run = reportCommand([KMSG, '--window', '2025-11-23T07:00Z..2025-11-23T07:10Z', '--fail-on', 'action'], io);
    await expect(run).rejects.toThrow(InputError);
    await expect(run).rejects.toThrow('--window: the input has only kernel monotonic times');
    expect(out()).toBe('');
    // the same capture without --window: windows detected on its own clock
    const m = memoryIO();
    expect(await reportCommand([KMSG, '--format', 'json'], m.io)).toBe(0);
    expect(JSON.parse(m.out()).clock).toBe('boot');
  });

  it('--cluster-subnet and --control-plane widen the suggestions, as the notes that name them say (report refused both)', async () => {
    type Sugg = { action: string; service: string; sources: string[]; reason: string; notes: string[] };
    const suggestions = async (argv: string[]) => {
      const m = memoryIO();
      expect(await reportCommand([SAMPLE, '--platform', 'harvester', '--role', 'control-plane', '--format', 'json', ...argv], m.io), m.err()).toBe(0);
      return (JSON.parse(m.out()) as { suggestions: Sugg[] }).suggestions.filter((s) => s.action === 'accept');
    };
    const texts = (s: Sugg[]) => s.flatMap((x) => [x.reason, ...x.notes]).join('\n');
    const observed = await suggestions([]);
    expect(texts(observed)).toContain('give --cluster-subnet');
    expect(texts(observed)).toContain('give --control-plane');
    const widened = await suggestions(['--cluster-subnet', '192.168.122.0/24', '--control-plane', '192.168.122.61,192.168.122.62', '--control-plane', '192.168.122.63']);
    expect(widened.find((s) => s.service === 'VXLAN (Flannel/Canal)')?.sources).toEqual(['192.168.122.0/24']);
    expect(widened.find((s) => s.service === 'etcd client/peer')?.sources).toEqual(['192.168.122.61', '192.168.122.62', '192.168.122.63']);
    expect(texts(widened)).not.toMatch(/give --(cluster-subnet|control-plane)/);
    expect(() => parseReportArgs(['--cluster-subnet', '192.168.122.0/24'])).toThrow('give --platform P too');
    expect(() => parseReportArgs(['--platform', 'harvester', '--role', 'worker', '--cluster-subnet', '192.168.122.0/33'])).toThrow('--cluster-subnet: ');
  });

  it('--catalog adds a site platform for the suggestions and names its ports, as in suggest and analyze (report refused it)', async () => {
    const site = join(tmp, 'site.yaml');
    writeFileSync(site, 'platform: site\ntitle: Our nodes\nroles: [{name: edge}]\nsources: {"[RB]": {title: runbook, url: "https://wiki.example.com/edge"}}\n' +
      'entries:\n  - {proto: tcp, port: 10250, service: "edge agent", roles: [edge], scope: cluster-nodes, source: "[RB]"}\n' +
      '  - {proto: udp, port: 9100, service: "edge telemetry", roles: [edge], scope: cluster-nodes, source: "[RB]"}\n');
    type Out = { flows: Array<{ proto: string; port: number | null; service: string | null }>; suggestions: Array<{ action: string; service: string; ports: unknown; reason: string }> };
    const json = async (argv: string[]): Promise<Out> => {
      const m = memoryIO();
      expect(await reportCommand([SYSLOG, '--format', 'json', ...argv], m.io), m.err()).toBe(0);
      return JSON.parse(m.out()) as Out;
    };
    const withSite = await json(['--platform', 'site', '--role', 'edge', '--catalog', site]);
    expect(withSite.suggestions.find((s) => s.service === 'edge agent')).toMatchObject({
      action: 'accept', ports: [10250], reason: 'catalog service "edge agent" for role edge is missing from the ruleset',
    });
    // the port no built-in platform names is the site's service in the flows table, with or without --platform
    for (const r of [withSite, await json(['--catalog', site])]) {
      expect(r.flows.filter((f) => f.proto === 'udp' && f.port === 9100).map((f) => f.service)).toEqual(['edge telemetry']);
    }
    // validated as suggest validates it: the site's roles, and the platform only with the file that adds it
    await expect(reportCommand([SYSLOG, '--platform', 'site', '--role', 'worker', '--catalog', site], memoryIO().io)).rejects.toThrow('unknown role "worker" for site');
    await expect(reportCommand([SYSLOG, '--platform', 'site', '--role', 'edge'], memoryIO().io)).rejects.toThrow(UsageError);
    await expect(reportCommand([SYSLOG, '--catalog', join(tmp, 'missing.yaml')], memoryIO().io)).rejects.toThrow(/missing\.yaml/);
    expect(() => parseReportArgs(['--catalog', ''])).toThrow('--catalog: ');
  });

  it('refuses unknown roles before reading any input', async () => {
    const { io } = memoryIO();
    await expect(reportCommand([SAMPLE, '--platform', 'harvester', '--role', 'server'], io)).rejects.toThrow('unknown role "server" for harvester');
  });

  it('refuses to print HTML on a terminal, writes it with -o', async () => {
    const t = memoryIO({ tty: { stdout: true } });
    await expect(reportCommand([SAMPLE, '--format', 'html'], t.io)).rejects.toThrow('give -o FILE');
    const out = join(tmp, 'r.html');
    const m = memoryIO();
    expect(await reportCommand([SAMPLE, '--format', 'html', '-o', out], m.io)).toBe(0);
    expect(m.out()).toBe('');
    expect(m.err()).toContain('fwdiag report: Action needed: 3 genuine blocks persisted after window 2');
    const html = readFileSync(out, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    // self-contained: no external reference of any kind
    expect(html).not.toMatch(/(?:src|href)=|url\(|@import|<script/i);
  });

  it('puts lines without a wall-clock time on the timeline when their host\'s boot time is known', async () => {
    // one host's journal: its first line carries both clocks (boot at R - 5000 s), the rest only the monotonic one,
    // through the scanner (one file) and through events (two files, merged; each begins with a line of both clocks,
    // as the merge orders lines by their own times)
    const R = Date.UTC(2026, 3, 22, 10, 0, 0);
    const line = (i: number, realtime: boolean) => JSON.stringify({
      _TRANSPORT: 'kernel', _HOSTNAME: 'harvester2', _SOURCE_MONOTONIC_TIMESTAMP: `${(5000 + i * 10) * 1e6}`,
      ...(realtime ? { __REALTIME_TIMESTAMP: `${(R + i * 10_000) * 1000}` } : {}),
      MESSAGE: `HARVESTER_DROP_IN=mgmt-br OUT= SRC=192.168.122.61 DST=192.168.122.63 LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=6443 DPT=${40000 + i} WINDOW=502 RES=0x00 ACK URGP=0 `,
    });
    const f1 = join(tmp, 'boot-1.json');
    const f2 = join(tmp, 'boot-2.json');
    writeFileSync(f1, `${Array.from({ length: 30 }, (_, i) => line(i, i === 0)).join('\n')}\n`);
    writeFileSync(f2, `${line(30, true)}\n${line(31, false)}\n`);
    for (const files of [[f1], [f1, f2]]) {
      const io = memoryIO();
      expect(await reportCommand([...files, '--format', 'json'], io.io)).toBe(0);
      const r = JSON.parse(io.out()) as {
        clock: string; totals: { drops: number }; limits: { untimed: number }; timeline: { hosts: Array<{ host: string; buckets: unknown[] }> };
        flows: Array<{ count: number; firstSeen: string | null; lastSeen: string | null }>;
      };
      expect(r.clock).toBe('wall');
      expect(r.totals.drops).toBe(files.length === 1 ? 30 : 32);
      expect(r.limits.untimed).toBe(0);
      // the flow's own first and last seen are wall-clock times too, the dated monotonic ones included (line i is at
      // R + i × 10 s): not only its one stamped line, and no `boot+…`
      expect(r.flows.map((f) => [f.count, f.firstSeen, f.lastSeen])).toEqual([
        [files.length === 1 ? 30 : 32, '2026-04-22T10:00:00Z', files.length === 1 ? '2026-04-22T10:04:50Z' : '2026-04-22T10:05:10Z'],
      ]);
      // analyze says the same
      const a = memoryIO();
      expect(await analyzeCommand(['--summary', ...files], a.io)).toBe(0);
      const s = JSON.parse(a.out()) as { summary: { firstSeen: string; lastSeen: string }; flows: Array<{ firstSeen: string; lastSeen: string }> };
      expect([s.summary.firstSeen, s.summary.lastSeen, s.flows[0]!.firstSeen, s.flows[0]!.lastSeen]).toEqual([
        '2026-04-22T10:00:00Z', r.flows[0]!.lastSeen, '2026-04-22T10:00:00Z', r.flows[0]!.lastSeen,
      ]);
    }
  });

  it('a garbled monotonic stamp teaches no boot time, so no later line is dated outside years 0-9999', async () => {
    // found by test/fuzz/commands.mjs (seed 21): the first line's boot time came out ~10^20 ms before 1970, and the
    // second line (its realtime garbled, its monotonic time fine) was dated from it — `report` stopped on
    // "Invalid time value"
    const msg = 'HARVESTER_DROP_IN=eth0 OUT= MAC=52:54:00:3e:aa:01:52:54:00:3d:bb:02:08:00 SRC=198.18.0.1 DST=198.18.0.2 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=2380 DPT=46693 WINDOW=5 RES=0x00 ACK PSH URGP=0 ';
    const f = join(tmp, 'garbled-mono.json');
    writeFileSync(f, [
      { _TRANSPORT: 'kernel', _HOSTNAME: 'n1', MESSAGE: msg, __REALTIME_TIMESTAMP: '1713780000042123', _SOURCE_MONOTONIC_TIMESTAMP: '99999999999999999999999' },
      { _TRANSPORT: 'kernel', _HOSTNAME: 'n1', MESSAGE: msg, __REALTIME_TIMESTAMP: '9999999999917137865000', _SOURCE_MONOTONIC_TIMESTAMP: '1005565000' },
    ].map((o) => JSON.stringify(o)).join('\n') + '\n');
    const io = memoryIO();
    expect(await reportCommand([f, '--format', 'json'], io.io), io.err()).toBe(0);
    const r = JSON.parse(io.out()) as { clock: string; first: string; last: string; totals: { drops: number }; limits: { untimed: number } };
    expect(r.totals.drops).toBe(2);
    // the first line's own time stands; the second, not convertible, is left off the wall-clock timeline
    expect([r.clock, r.first, r.last, r.limits.untimed]).toEqual(['wall', '2024-04-22T10:00:00.042Z', '2024-04-22T10:00:00.042Z', 1]);
  });

  it('merging a log with wall-clock times and one without: the timeline takes the wall clock', async () => {
    // the kernel-written dmesg fixture (monotonic stamps only) given first, then the sample (syslog)
    const dmesgFile = join(tmp, 'lab-dmesg.txt');
    writeFileSync(dmesgFile, readFileSync(new URL('../../fixtures/kernel/dmesg.txt', import.meta.url)));
    const one = memoryIO();
    expect(await reportCommand([dmesgFile, '--format', 'json'], one.io)).toBe(0);
    const alone = JSON.parse(one.out()) as { clock: string; totals: { drops: number }; limits: { untimed: number } };
    expect([alone.clock, alone.limits.untimed]).toEqual(['boot', 0]);
    const io = memoryIO();
    expect(await reportCommand([dmesgFile, SAMPLE, '--format', 'json'], io.io)).toBe(0);
    const r = JSON.parse(io.out()) as { clock: string; totals: { drops: number }; limits: { untimed: number } };
    expect(r.clock).toBe('wall');
    expect(r.limits.untimed).toBe(alone.totals.drops);
    expect(alone.totals.drops).toBeGreaterThan(0);
  });

  it('files without host names whose names collide (node1/dmesg.txt, node2/dmesg.txt) are as many hosts, named by the shortest path suffix that tells them apart', async () => {
    const dmesg = readFileSync(new URL('../../fixtures/kernel/dmesg.txt', import.meta.url));
    const at = (...p: string[]) => {
      const f = join(tmp, 'collide', ...p);
      mkdirSync(dirname(f), { recursive: true });
      writeFileSync(f, dmesg);
      return f;
    };
    const one = memoryIO();
    expect(await reportCommand([at('node1', 'dmesg.txt'), '--format', 'json'], one.io)).toBe(0);
    const alone = JSON.parse(one.out()) as { hosts: string[]; totals: { drops: number } };
    // one file: its name, as before
    expect(alone.hosts).toEqual(['dmesg']);
    expect(alone.totals.drops).toBeGreaterThan(0);
    const files = [at('node1', 'dmesg.txt'), at('node2', 'dmesg.txt.gz'), at('a', 'node3', 'dmesg.log'), at('b', 'node3', 'dmesg.log'), at('node2', 'other.txt')];
    // gzip: the second node's capture compressed (its name still collides once .txt.gz is off)
    writeFileSync(files[1]!, gzipSync(dmesg));
    for (const order of [files, [...files].reverse()]) {
      const io = memoryIO();
      expect(await reportCommand([...order, '--format', 'json'], io.io)).toBe(0);
      const r = JSON.parse(io.out()) as { hosts: string[]; timeline: { hosts: Array<{ host: string; totals: Record<string, number> }> }; flows: Array<{ host: string }> };
      expect(r.hosts).toEqual(['a/node3/dmesg', 'b/node3/dmesg', 'node1/dmesg', 'node2/dmesg', 'other']);
      // each host has its own capture's drops, not the others' merged in
      for (const h of r.timeline.hosts) expect(Object.values(h.totals).reduce((a, b) => a + b, 0)).toBe(alone.totals.drops);
      expect(new Set(r.flows.map((f) => f.host))).toEqual(new Set(r.hosts));
    }
  });

  it('prints Markdown by default and JSON on request', async () => {
    const md = memoryIO();
    expect(await reportCommand([SAMPLE], md.io)).toBe(0);
    expect(md.out().split('\n')[2]).toMatch(/^🔴 \*\*Action needed: 3 genuine blocks persisted after window 2 \(.*tcp\/2380 on harvester3.*\)\*\*$/);
    const js = memoryIO();
    expect(await reportCommand([SAMPLE, '--format', 'json'], js.io)).toBe(0);
    const r = JSON.parse(js.out()) as { verdict: { level: string }; windows: unknown[]; totals: { drops: number } };
    expect(r.verdict.level).toBe('action');
    expect(r.windows).toHaveLength(2);
    oneCopyDrops = r.totals.drops;
  });

  it('shows a progress bar on a terminal stderr for large files, and none otherwise', async () => {
    const sample = readFileSync(SAMPLE);
    const big = join(tmp, 'big.log');
    const copies = Math.ceil(PROGRESS_MIN_BYTES / sample.length) + 1;
    writeFileSync(big, Buffer.concat(Array.from({ length: copies }, () => sample)));
    const tty = memoryIO({ tty: { stderr: true } });
    expect(await reportCommand([big, '--format', 'json'], tty.io)).toBe(0);
    expect(tty.err()).toMatch(/^\rreading +\d+% \[[#-]{30}\] [\d.]+ [KM]B \/ [\d.]+ MB/);
    expect(tty.err().endsWith('\r\u001b[K')).toBe(true);
    const r = JSON.parse(tty.out()) as { totals: { drops: number } };
    expect(oneCopyDrops).toBeGreaterThan(0);
    expect(r.totals.drops).toBe(oneCopyDrops * copies);
    const plain = memoryIO();
    expect(await reportCommand([big, '--format', 'json'], plain.io)).toBe(0);
    expect(plain.err()).toBe('');
    const off = memoryIO({ tty: { stderr: true } });
    expect(await reportCommand([big, '--format', 'json', '--no-progress'], off.io)).toBe(0);
    expect(off.err()).toBe('');
  }, 60_000);
});

describe('progress bar', () => {
  it('draws at most every interval and erases itself', () => {
    let t = 0;
    let text = '';
    const stderr = new PassThrough();
    stderr.on('data', (c: Buffer) => (text += c.toString()));
    const p = createProgress({ stderr, total: 2_000_000, now: () => t });
    p.update(500_000);
    t = 50;
    p.update(900_000);
    t = 150;
    p.update(2_000_000);
    p.done();
    return new Promise<void>((resolve) => setImmediate(() => {
      expect(text).toBe(`\r${progressLine(500_000, 2_000_000)}\r${progressLine(2_000_000, 2_000_000)}\r\u001b[K`);
      expect(progressLine(500_000, 2_000_000)).toBe('reading  25% [########----------------------] 500.0 KB / 2.0 MB');
      resolve();
    }));
  });
});
