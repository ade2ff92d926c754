// Live kernel smoke test of the namespace lab (test/lab/netns.sh): a dropped TCP SYN and a mid-stream ACK after
// `conntrack -F` must make the kernel write LOG lines with our prefixes, addresses and ports. Needs root (CI runs
// as root); without root it fails with a message instead of being skipped.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createParser } from '../../src/parse/parse-line.js';
import type { DropEvent, LineResult } from '../../src/parse/event.js';

const here = dirname(fileURLToPath(import.meta.url));
const script = join(here, 'smoke-scenario.sh');
const NFLOG = '/proc/sys/net/netfilter/nf_log_all_netns';

function netnsList(): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return r.stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n !== '');
}

describe('network-namespace lab (live kernel)', () => {
  it('captures kernel LOG lines for a blocked SYN and a mid-stream ACK after conntrack -F', () => {
    if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
      throw new Error(
        'lab-smoke needs root (network namespaces, iptables inside them, /dev/kmsg): run `sudo npx vitest run test/lab/lab-smoke.test.ts`',
      );
    }
    // Unique per run so lines from an earlier run or a parallel lab can never satisfy the assertions.
    const run = `${process.pid % 100000}${Math.floor(Math.random() * 1000)}`;
    const synPrefix = `FWFXSMKS${run}_`;
    const midPrefix = `FWFXSMKM${run}_`;
    const nflogBefore = readFileSync(NFLOG, 'utf8').trim();

    const r = spawnSync('bash', [script], {
      encoding: 'utf8',
      timeout: 18_000,
      killSignal: 'SIGTERM',
      env: { ...process.env, SMOKE_SYN_PREFIX: synPrefix, SMOKE_MID_PREFIX: midPrefix, SMOKE_TAG: 'fwfx-smk-' },
    });
    const diag = `exit=${String(r.status)} signal=${String(r.signal)}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
    expect(r.error, diag).toBeUndefined();
    expect(r.status, diag).toBe(0);

    // Cleanup happened: no namespace of ours left, the global sysctl is back to what it was.
    expect(netnsList().filter((n) => n.startsWith('fwfx-smk-'))).toEqual([]);
    expect(readFileSync(NFLOG, 'utf8').trim()).toBe(nflogBefore);

    const rows = r.stdout.split('\n').filter((l) => l !== '');
    const pick = (kind: string): string[] =>
      rows.filter((l) => l.startsWith(`${kind}\t`)).map((l) => l.slice(kind.length + 1));
    const syn = pick('SYN');
    const mid = pick('MID');

    // /dev/kmsg record shape: "prio,seq,usec,flag;message"; the message starts with the prefix, no separator.
    const message = (rec: string): string => {
      expect(rec, rec).toMatch(/^\d+,\d+,\d+,[^;]*;/);
      return rec.slice(rec.indexOf(';') + 1);
    };

    expect(syn.length, diag).toBeGreaterThanOrEqual(1);
    for (const rec of syn) {
      const m = message(rec);
      expect(m.startsWith(`${synPrefix}IN=eth0 OUT= `), m).toBe(true);
      expect(m).toContain(' SRC=198.18.0.1 DST=198.18.0.2 ');
      expect(m).toContain(' PROTO=TCP SPT=40001 DPT=10250 ');
      expect(m).toMatch(/ RES=0x\d\d SYN URGP=0 /);
    }

    expect(mid.length, diag).toBeGreaterThanOrEqual(1);
    for (const rec of mid) {
      const m = message(rec);
      expect(m.startsWith(`${midPrefix}IN=eth0 OUT= `), m).toBe(true);
      // The server (peer, port 9345) talks to the node's fixed client port 46100.
      expect(m).toContain(' SRC=198.18.0.1 DST=198.18.0.2 ');
      expect(m).toContain(' PROTO=TCP SPT=9345 DPT=46100 ');
      expect(m).toMatch(/ RES=0x\d\d (?:[A-Z]+ )*ACK (?:[A-Z]+ )*URGP=0 /);
      expect(m).not.toContain(' SYN ');
    }

    // The same kernel lines as dmesg prints them in its other formats: each parses to the same drop, by the
    // JavaScript parser and through the scanner alike.
    const usec = Number(/^\d+,\d+,(\d+),/.exec(syn[0]!)![1]);
    const formats: Array<{ args: string[]; envelope: string; wall: boolean; mono: boolean }> = [
      { args: [], envelope: 'dmesg', wall: false, mono: true },
      { args: ['-r'], envelope: 'dmesg', wall: false, mono: true },
      { args: ['-x'], envelope: 'dmesg', wall: false, mono: true },
      { args: ['-d'], envelope: 'dmesg', wall: false, mono: true },
      { args: ['-T'], envelope: 'dmesg-T', wall: true, mono: false },
      { args: ['--time-format', 'iso'], envelope: 'dmesg-iso', wall: true, mono: false },
      { args: ['-x', '--time-format', 'iso'], envelope: 'dmesg-iso', wall: true, mono: false },
      { args: ['-e'], envelope: 'dmesg', wall: false, mono: false },
      { args: ['-t'], envelope: 'bare', wall: false, mono: false },
    ];
    const walls: number[] = [];
    for (const f of formats) {
      const out = spawnSync('dmesg', f.args, { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' }, maxBuffer: 64 << 20 });
      expect(out.status, `dmesg ${f.args.join(' ')}: ${out.stderr}`).toBe(0);
      const lines = out.stdout.split('\n').filter((l) => l.includes(`${synPrefix}IN=`));
      expect(lines.length, `dmesg ${f.args.join(' ')}`).toBe(syn.length);
      const opts = { tz: 'UTC', now: () => Date.now() };
      const viaBytes: LineResult[] = [];
      createParser(opts).parseBytes(Buffer.from(lines.map((l) => `${l}\n`).join('')), viaBytes);
      const js = createParser({ ...opts, fastPath: false });
      const viaJs = lines.map((l) => js.parseLine(l));
      expect(viaBytes, `dmesg ${f.args.join(' ')}`).toEqual(viaJs);
      const e = (viaJs[0] as { kind: string; event?: DropEvent }).event!;
      const what = `dmesg ${f.args.join(' ')}: ${lines[0]}`;
      expect(viaJs[0]!.kind, what).toBe('event');
      expect([e.envelope, e.prefix, e.src, e.dst, e.proto, e.spt, e.dpt, e.flags], what)
        .toEqual([f.envelope, synPrefix, '198.18.0.1', '198.18.0.2', 'TCP', 40001, 10250, ['SYN']]);
      expect(e.transport, what).toBe(f.envelope === 'bare' ? undefined : 'kernel');
      expect(e.mono, what).toBe(f.mono ? usec / 1e6 : null);
      expect(e.ts !== null, what).toBe(f.wall);
      if (e.ts !== null) walls.push(e.ts);
    }
    // dmesg dates the line from the boot time itself: its forms agree to the second
    expect(Math.max(...walls) - Math.min(...walls)).toBeLessThan(1000);
  }, 20_000);
});
