// Live kernel smoke test of the namespace lab (test/lab/netns.sh): a dropped TCP SYN and a mid-stream ACK after
// `conntrack -F` must make the kernel write LOG lines with our prefixes, addresses and ports. Needs root (CI runs
// as root); without root it fails with a message instead of being skipped.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

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
  }, 20_000);
});
