/**
 * End to end: the real live view on a real terminal. tmux gives it a pty (stdout is a TTY, /dev/tty exists) while
 * stdin is a pipe carrying the fixture — exactly `journalctl -k | fwdiag` on a node. We read the screen with
 * `capture-pane`, press keys with `send-keys`, and check `q` / Ctrl-C leave the summary on the normal screen.
 *
 * Runs the real `fwdiag` binary (bin/fwdiag.js → dist/cli/main.js → the live view on a terminal); build first
 * (`npm test` does). Each run uses its own tmux server socket, killed afterwards.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { terminalTest } from './tmux-server.js';
import { parse as parseYaml } from 'yaml';
import { parseFragment } from '../../src/compile/policy.js';
import { createAnalyzeHumanWriter } from '../../src/output/analyze-human.js';
import { createClassifier } from '../../src/classify/classifier.js';
import { createParser } from '../../src/parse/parse-line.js';
import { blockedPorts, feed, fixtureLines, SAMPLE } from './helpers.js';
import { Writable } from 'node:stream';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/fwdiag.js');
const FIXTURE = fileURLToPath(SAMPLE);
const SOCKET = `fwdiag-view-${process.pid}`;
const WIDTH = 120;
const HEIGHT = 40;

// no skipping: the tools and the build are checked before the tests
const term = terminalTest(SOCKET, 'fwdiag-view-', [['tmux', '-V']]);
const tmux = term.tmux;

/** The visible screen (wrapped lines joined, so long lines compare whole). */
function screen(session: string, history = false): string {
  return tmux('capture-pane', '-p', '-J', '-t', session, ...(history ? ['-S', '-300'] : []));
}

async function waitFor(session: string, pred: (s: string) => boolean, what: string, ms = 15_000, history = false): Promise<string> {
  const end = Date.now() + ms;
  let last = '';
  while (Date.now() < end) {
    last = screen(session, history);
    if (pred(last)) {
      // a settled frame only: a capture can land while a frame is still being written
      await new Promise((r) => setTimeout(r, 80));
      const again = screen(session, history);
      if (again === last) return last;
      continue;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; screen:\n${last}`);
}

/** What the terminal is left in: the alternate screen, the cursor shown, its line discipline's modes. */
function terminalState(session: string): { alternate: string; cursor: string; modes: string } {
  const [alternate = '', cursor = '', tty = ''] = tmux('display', '-p', '-t', session, '#{alternate_on} #{cursor_flag} #{pane_tty}').trim().split(' ');
  const stty = execFileSync('stty', ['-F', tty, '-a'], { encoding: 'utf8' });
  const modes = ['icanon', 'echo', 'isig'].map((m) => (new RegExp(`(^|\\s)-${m}(\\s|$)`).test(stty) ? `-${m}` : m)).join(' ');
  return { alternate, cursor, modes };
}
const RESTORED = { alternate: '0', cursor: '1', modes: 'icanon echo isig' };

/** One key at a time, each given time to be read on its own (a terminal delivers a keypress per read). */
async function keys(session: string, ...ks: string[]): Promise<void> {
  for (const k of ks) {
    tmux('send-keys', '-t', session, k);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** The summary analyze prints for the fixture, computed in-process (the same writer, no colour). */
async function expectedSummary(): Promise<string> {
  const { classifier } = feed(fixtureLines(SAMPLE));
  let out = '';
  const sink = new Writable({ write(c, _e, cb) { out += String(c); cb(); } });
  const w = createAnalyzeHumanWriter({ stdout: sink, color: false, describe: (f) => classifier.flowSummary(f) });
  await w.end(classifier.finish());
  return out;
}

let n = 0;

/** Starts the view in a fresh session on the fixture piped into stdin; returns the session name. */
function start(prefix = '', args = ''): string {
  const name = `v${++n}`;
  // The real binary, in the temp dir (where `w` writes); the inner sh records the pid node keeps after exec. CI is
  // unset for it: CI runs these tests with CI=true, and fwdiag (rightly) shows no live view under CI.
  const cmd = `cd '${term.dir}' && cat '${FIXTURE}' | ${prefix}sh -c 'echo $$ > "${term.dir}/pid${n}"; exec env -u CI NO_COLOR=1 TZ=UTC node "${BIN}"${args}'; echo "EXIT=$?"; sleep 120`;
  tmux('new-session', '-d', '-s', name, '-x', String(WIDTH), '-y', String(HEIGHT), cmd);
  return name;
}


describe('live view in a real terminal (tmux)', () => {
  it('shows the fixture live, reacts to keys from /dev/tty, writes the fragment, and q prints the summary', async () => {
    const lines = fixtureLines(SAMPLE);
    const { classifier } = feed(lines);
    const s = classifier.end();
    const s0 = start();

    let sc = await waitFor(s0, (x) => x.includes('input ended'), 'the input to end');
    expect(sc).toContain(`${lines.length} lines`);
    expect(sc).toMatch(new RegExp(`genuine-block\\s+${s.summary['genuine-block']}\\b`));
    expect(sc).toMatch(new RegExp(`conntrack-loss\\s+${s.summary['conntrack-loss']}\\b`));
    const noise = s.flows.filter((f) => f.verdict === 'conntrack-loss' && !f.persistent).length;
    expect(sc).toContain(`Flows: ${s.flows.length - noise} shown of ${s.flows.length}`);
    expect(sc).toContain(`${noise} noise hidden (c)`);
    // stays on screen after the input ended, like less; the frame fits the terminal
    expect(sc.split('\n').every((l) => l.length <= WIDTH)).toBe(true);
    expect(sc).toContain('q quit');
    expect(sc).not.toContain('LOG limited');

    // v: only genuine blocks
    await keys(s0, 'v');
    sc = await waitFor(s0, (x) => x.includes('verdict: genuine-block (v)'), 'the verdict filter');
    const table = sc.split('\n').filter((l) => /^[›· ] (genuine-block|scan|undetermined|conntrack-loss)/.test(l));
    expect(table.length).toBe(s.flows.filter((f) => f.verdict === 'genuine-block').length);
    expect(table.every((l) => l.includes('genuine-block'))).toBe(true);

    // arrows move the selection: the details pane follows
    const before = sc.split('\n').find((l) => l.startsWith('genuine-block'));
    await keys(s0, 'Down');
    sc = await waitFor(s0, (x) => x.split('\n').find((l) => l.startsWith('genuine-block')) !== before, 'the details to change');
    expect(sc.split('\n').filter((l) => l.startsWith('› ')).length).toBe(1);

    // Tab: suggestions, with their scope
    await keys(s0, 'Tab');
    sc = await waitFor(s0, (x) => x.includes('▶ Suggestions'), 'the suggestions panel');
    const blocked = blockedPorts(s.flows);
    expect([...blocked.values()].some((c) => sc.includes(`scope (sources): ${[...c].sort().join(', ')}`))).toBe(true);

    // w: the fragment is written and the header says where
    await keys(s0, 'w');
    sc = await waitFor(s0, (x) => /wrote \d+ rules? to /.test(x), 'the write message');
    const files = readdirSync(term.dir).filter((f) => f.startsWith('fwdiag-extra-') && f.endsWith('.yaml'));
    expect(files.length).toBe(1);
    expect(sc).toContain(join(term.dir, files[0]!));
    const frag = parseFragment(parseYaml(readFileSync(join(term.dir, files[0]!), 'utf8')));
    expect(frag.ok).toBe(true);
    if (frag.ok) expect(frag.value.extra.map((x) => `${x.proto}/${String(x.ports?.[0])}`).sort()).toEqual([...blocked.keys()].sort());

    // the terminal shrinks: the view reflows to the new width
    tmux('resize-window', '-t', s0, '-x', '90', '-y', '30');
    sc = await waitFor(s0, (x) => x.split('\n').every((l) => l.length <= 90) && x.includes('? help'), 'the reflow');
    expect(sc.trimEnd().split('\n').length).toBeLessThanOrEqual(30);
    expect(sc).toContain('fwdiag live'); // the header is still on top: the frame was redrawn, not scrolled

    // q: the view goes, the summary (analyze's text) is printed, exit 0
    await keys(s0, 'q');
    sc = await waitFor(s0, (x) => x.includes('EXIT='), 'exit', 10_000, true);
    expect(sc).toContain('EXIT=0');
    expect(sc).not.toContain('q quit'); // the alternate screen is gone
    const want = (await expectedSummary()).split('\n').filter((l) => l.trim() !== '').slice(0, 6);
    for (const l of want) expect(sc).toContain(l);
  }, 60_000);

  it('with the ruleset that wrote the lines, the header says its LOG rule is rate-limited (the seed: 10/min)', async () => {
    const rs = join(ROOT, 'fixtures/rulesets/harvester-control-plane.iptables-save');
    const s3 = start('', ` --platform harvester --role control-plane --ruleset ${rs}`);
    const sc = await waitFor(s3, (x) => x.includes('input ended') && x.includes('q quit'), 'the input to end');
    expect(sc).toContain('input ended · LOG limited to 10/min: counts are a sample');
    await keys(s3, 'q');
    expect(await waitFor(s3, (x) => x.includes('EXIT='), 'exit', 10_000, true)).toContain('EXIT=0');
  }, 30_000);

  it('names ports from --catalog files, as analyze without a terminal does (the view named them from the built-in catalog only)', async () => {
    const cat = join(term.dir, 'site.yaml');
    writeFileSync(cat, [
      'platform: site',
      'title: Our nodes',
      'roles: [{name: edge, description: "edge nodes"}]',
      'sources: {"[RB]": {title: "runbook", url: "https://wiki.example.com/runbooks/edge-nodes"}}',
      'entries:',
      '  - {proto: udp, port: 8472, service: "branch overlay", roles: [edge], scope: cluster-nodes, source: "[RB]"}',
      '',
    ].join('\n'));
    const s5 = start('', ` --platform site --catalog ${cat}`);
    const sc = await waitFor(s5, (x) => x.includes('input ended') && x.includes('q quit'), 'the input to end');
    expect(sc).toContain('branch overlay');
    await keys(s5, 'q');
    expect(await waitFor(s5, (x) => x.includes('EXIT='), 'exit', 10_000, true)).toContain('EXIT=0');
  }, 30_000);

  it('a --ruleset FILE changed while the view runs is read again: suggestions follow the rules now there', async () => {
    const full = readFileSync(join(ROOT, 'fixtures/rulesets/harvester-control-plane.iptables-save'), 'utf8');
    const rs = join(term.dir, 'changing.rules');
    // the node's ruleset before the fix: no etcd, no VXLAN rule
    writeFileSync(rs, full.split('\n').filter((l) => !l.includes('--dport 2379:2380') && !l.includes('--dport 8472')).join('\n'));
    const s4 = start('', ` --platform harvester --role control-plane --ruleset ${rs}`);
    // v: genuine blocks only; the first row (the latest, VXLAN from .62) is selected and traced in the details pane
    await waitFor(s4, (x) => x.includes('input ended') && x.includes('q quit'), 'the input to end');
    await keys(s4, 'v');
    let sc = await waitFor(s4, (x) => x.includes('verdict: genuine-block (v)') && x.includes('Suggestions (2)'), 'the two suggestions');
    expect(sc).toContain('allow tcp/2379-2380 (etcd client/peer)');
    expect(sc).toContain('allow udp/8472');
    expect(sc).toMatch(/› genuine-block\* harvester3 +udp +192\.168\.122\.63:8472 /);
    expect(sc).toMatch(/trace of the latest packet through --ruleset:\n {2}verdict {2}DROP by ip filter HARVESTER_INPUT#\d+/);
    // the operator adds the rules (here: the whole seed ruleset): within a file check the view says so, and the
    // suggestions are gone — the ruleset accepts those packets now
    writeFileSync(rs, full);
    sc = await waitFor(s4, (x) => x.includes('ruleset reloaded: 1 table, ') && x.includes('Suggestions (0)'), 'the reload', 10_000);
    expect(sc).not.toContain('allow tcp/2379-2380');
    expect(sc).toContain('(none: the ruleset accepts what was blocked (2 groups: rules added since, or another ruleset logged them))');
    // the details pane traces the same packet through the new rules
    expect(sc).toMatch(/trace of the latest packet through --ruleset:\n {2}verdict {2}ACCEPT/);
    await keys(s4, 'q');
    expect(await waitFor(s4, (x) => x.includes('EXIT='), 'exit', 10_000, true)).toContain('EXIT=0');
  }, 30_000);

  it('on an input that does not end, the header counts the flows evicted under --max-flows (it said `? evicted`)', async () => {
    const lines = Array.from({ length: 600 }, (_, i) =>
      `Apr 22 10:00:${String(i % 60).padStart(2, '0')} node1 kernel: HARVESTER_DROP_IN=eth0 OUT= MAC=02:00:c6:12:00:02:02:00:c6:12:00:01:08:00 SRC=198.18.${i >> 8}.${i & 255} DST=198.19.0.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40000 DPT=${1000 + (i % 5)} WINDOW=64240 RES=0x00 SYN URGP=0 `);
    const file = join(term.dir, 'many-flows.log');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const classifier = createClassifier({ maxFlows: 100 });
    const parser = createParser({ tz: 'UTC', now: () => Date.now() });
    for (const l of lines) {
      const r = parser.parseLine(l);
      if (r.kind === 'event') classifier.classify(r.event);
    }
    const evicted = classifier.end().summary.flowsEvicted;
    expect(evicted).toBeGreaterThan(400);
    const name = `v${++n}`;
    tmux('new-session', '-d', '-s', name, '-x', String(WIDTH), '-y', String(HEIGHT),
      `(cat '${file}'; sleep 60) | env -u CI NO_COLOR=1 TZ=UTC node '${BIN}' --max-flows 100; echo "EXIT=$?"; sleep 120`);
    const sc = await waitFor(name, (x) => x.includes('600 lines') && x.includes('q quit'), 'the lines');
    expect(sc).not.toContain('input ended');
    expect(sc).toContain(`│ ${evicted} evicted`);
    // (the shell's EXIT= waits for the `sleep` upstream: the summary says fwdiag is done)
    await keys(name, 'q');
    expect(await waitFor(name, (x) => x.includes('Summary:'), 'the summary', 10_000, true)).toContain(`${evicted} flows evicted`);
  }, 30_000);

  it('Ctrl-C quits with the summary too, as interrupted: status 130 (the SIGINT it stands for in raw mode)', async () => {
    const s1 = start();
    await waitFor(s1, (x) => x.includes('input ended'), 'the input to end');
    await keys(s1, 'C-c');
    const sc = await waitFor(s1, (x) => x.includes('EXIT='), 'exit', 10_000, true);
    expect(sc).toContain('EXIT=130');
    expect(sc).toMatch(/Summary: \d+ drops in \d+ flows/);
    expect(terminalState(s1)).toEqual(RESTORED);
  }, 30_000);

  it('stderr sent to a file gets nothing from the view: the cursor is shown again on the terminal, not written there', async () => {
    // Ink's cursor restore (restore-cursor 4) wrote ESC[?25h to stderr at every exit, a file or not
    const err = join(term.dir, 'stderr.txt');
    const s2 = start('', ` 2>"${err}"`);
    await waitFor(s2, (x) => x.includes('input ended') && x.includes('q quit'), 'the input to end');
    await keys(s2, 'q');
    const sc = await waitFor(s2, (x) => x.includes('EXIT='), 'exit', 10_000, true);
    expect(sc).toContain('EXIT=0');
    expect(JSON.stringify(readFileSync(err, 'utf8'))).toBe('""');
    expect(terminalState(s2)).toEqual(RESTORED);
  }, 30_000);

  // SIGHUP killed the view without its summary and left the terminal on the alternate screen (Ink's signal-exit was
  // its only listener); SIGINT and SIGTERM ended it with status 0
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    it(`${sig} ends the view: the summary on the normal screen, the terminal as it was, status ${code}`, async () => {
      const s5 = start();
      await waitFor(s5, (x) => x.includes('input ended') && x.includes('q quit'), 'the input to end');
      expect(terminalState(s5)).toEqual({ alternate: '1', cursor: '0', modes: '-icanon -echo -isig' });
      process.kill(Number(readFileSync(join(term.dir, `pid${n}`), 'utf8')), sig);
      const sc = await waitFor(s5, (x) => x.includes('EXIT='), 'exit', 10_000, true);
      expect(sc).toContain(`EXIT=${code}`);
      expect(sc).toMatch(/Summary: \d+ drops in \d+ flows/);
      expect(sc).not.toContain('q quit');
      expect(terminalState(s5)).toEqual(RESTORED);
    }, 30_000);
  }

  it('a terminal that hangs up without a SIGHUP to fwdiag (its shell ignores it) ends the view, by SIGHUP', async () => {
    // The pane's process is a parent that survives the hangup and records how fwdiag ended; fwdiag's stdin is a pipe
    // that stays open (a live input). The kernel sends SIGHUP to that parent only: fwdiag learns of the hangup from
    // its writes and key reads failing (EIO). It read on for ever, drawing on nothing; a normal exit would also
    // have made Node 20 abort (it fails to reset the dead terminal's modes: nodejs/node#51519).
    const name = `v${++n}`;
    const status = join(term.dir, `status${n}`);
    const errFile = join(term.dir, `err${n}`);
    const parent = join(term.dir, `parent${n}.mjs`);
    const pids = join(term.dir, `pids${n}`);
    writeFileSync(parent, `
      import { spawn } from 'node:child_process';
      import { openSync, readFileSync, writeFileSync } from 'node:fs';
      process.on('SIGHUP', () => undefined);
      const env = { ...process.env, NO_COLOR: '1', TZ: 'UTC' };
      delete env.CI;
      const child = spawn(process.execPath, [${JSON.stringify(BIN)}], { stdio: ['pipe', 'inherit', openSync(${JSON.stringify(errFile)}, 'w')], env });
      writeFileSync(${JSON.stringify(pids)}, \`\${process.pid} \${child.pid}\`);
      child.stdin.write(readFileSync(${JSON.stringify(FIXTURE)}));
      child.on('exit', (code, signal) => writeFileSync(${JSON.stringify(status)}, JSON.stringify({ code, signal })));
    `);
    tmux('new-session', '-d', '-s', name, '-x', String(WIDTH), '-y', String(HEIGHT), `exec node '${parent}'`);
    try {
      await waitFor(name, (x) => x.includes('q quit') && x.includes(' lines '), 'the view');
      tmux('kill-session', '-t', name);
      const until = Date.now() + 10_000;
      while (!existsSync(status) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      expect(existsSync(status), 'fwdiag still running 10 s after its terminal hung up').toBe(true);
      expect(JSON.parse(readFileSync(status, 'utf8'))).toEqual({ code: null, signal: 'SIGHUP' });
      expect(readFileSync(errFile, 'utf8')).toBe('');
    } finally {
      // the parent outlives its terminal by design, and fwdiag did too before the fix: both go, by pid
      for (const pid of existsSync(pids) ? readFileSync(pids, 'utf8').split(' ').map(Number) : []) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
    }
  }, 30_000);

  it('without a terminal for keys it says so, and SIGINT still ends it with the summary', async () => {
    // setsid: a new session without a controlling terminal, so /dev/tty cannot be opened; stdout is still the pane
    const s2 = start('setsid -w ');
    // wait for the whole frame (header and footer): a capture can land while Ink is still writing a frame
    let sc = await waitFor(s2, (x) => x.includes('input ended') && x.includes('Ctrl-C quits and prints'), 'the input to end');
    expect(sc).toMatch(/no keys: cannot open \/dev\/tty \(E[A-Z]+\)/);
    expect(sc).toContain('Ctrl-C quits and prints the summary');
    await keys(s2, 'q'); // no effect: keys are not read (and the log pipe is never taken for keys)
    await new Promise((r) => setTimeout(r, 300));
    expect(screen(s2)).toContain('input ended');
    const pid = Number(readFileSync(join(term.dir, `pid${n}`), 'utf8'));
    process.kill(pid, 'SIGINT');
    sc = await waitFor(s2, (x) => x.includes('EXIT='), 'exit', 10_000, true);
    expect(sc).toContain('EXIT=130');
    expect(sc).toMatch(/Summary: \d+ drops in \d+ flows/);
  }, 30_000);
});
