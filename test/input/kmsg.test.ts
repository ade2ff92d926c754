import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { hostname, uptime } from 'node:os';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/cli/errors.js';
import { SeqTracker, kmsgRecordLine, kmsgSeq, openKmsgSource } from '../../src/input/kmsg-source.js';
import type { LineSource } from '../../src/input/types.js';

// Runs as root in CI: it writes records to the real /dev/kmsg and reads them back.
const tag = `fwdiag-test-${randomBytes(6).toString('hex')}`;
/** One write() to /dev/kmsg is one record. A fresh open per write: the kernel rate-limits writes per open file. */
const mark = (label: string, n: number) => writeFileSync('/dev/kmsg', `${tag} ${label} ${n}\n`);
const RECORD = /^(\d+),(\d+),(\d+),[^;]*;(.*)$/;

/** Pull from `src` until `done` says so (or 8 s), keeping only our own records. */
async function ours(src: LineSource, done: (mine: string[]) => boolean): Promise<string[]> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 8000);
  const mine: string[] = [];
  try {
    for await (const batch of src.batches(ac.signal)) {
      for (const l of batch) if (l.includes(tag)) mine.push(l);
      if (done(mine)) break;
    }
  } finally {
    clearTimeout(timer);
  }
  return mine;
}
const messageOf = (l: string) => RECORD.exec(l)?.[4];
const seqOf = (l: string) => Number(RECORD.exec(l)?.[2]);

describe('openKmsgSource on the real /dev/kmsg', () => {
  it('from now: delivers records written after opening, once, in order, with increasing seq', async () => {
    mark('early', 1);
    mark('early', 2);
    const src = await openKmsgSource({ from: 'now' });
    for (let n = 1; n <= 20; n++) mark('now', n);
    const mine = await ours(src, (m) => m.length >= 20);
    expect(mine.map(messageOf)).toEqual(Array.from({ length: 20 }, (_, i) => `${tag} now ${i + 1}`));
    for (const l of mine) expect(l).toMatch(RECORD);
    const seqs = mine.map(seqOf);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1] as number);
    expect(src.stats.lines).toBeGreaterThanOrEqual(20);
    expect(src.name).toBe('/dev/kmsg');
    // Boot time: now minus uptime, to the second.
    expect(Math.abs((src.bootTimeMs as number) - (Date.now() - uptime() * 1000))).toBeLessThan(2000);
  });

  it('from start: finds records written before opening too', async () => {
    mark('before', 1);
    mark('before', 2);
    mark('before', 3);
    const src = await openKmsgSource({ from: 'start' });
    mark('after', 1);
    const mine = await ours(src, (m) => m.some((l) => l.endsWith(`${tag} after 1`)));
    const msgs = mine.map(messageOf);
    // The previous test's records with this tag are there too; these must appear once each, in order.
    const idx = ['before 1', 'before 2', 'before 3', 'after 1'].map((s) => msgs.indexOf(`${tag} ${s}`));
    expect(idx.every((i) => i >= 0)).toBe(true);
    expect([...idx].sort((a, b) => a - b)).toEqual(idx);
    expect(new Set(msgs).size).toBe(msgs.length);
  });

  it('ring: the ring buffer as it is, then the end, without an abort; this machine as the host', async () => {
    mark('ring', 1);
    mark('ring', 2);
    const src = await openKmsgSource({ from: 'ring' });
    expect(src.host).toBe(hostname());
    const t0 = Date.now();
    // ours() aborts after 8 s: the source must end well before, by itself
    const mine = await ours(src, () => false);
    expect(Date.now() - t0).toBeLessThan(4000);
    const msgs = mine.map(messageOf);
    const idx = ['ring 1', 'ring 2'].map((x) => msgs.indexOf(`${tag} ${x}`));
    expect(idx.every((i) => i >= 0)).toBe(true);
    expect(idx[1]).toBeGreaterThan(idx[0] as number);
    // a second pass sees the same records again (a fresh open starts at the oldest record)
    const again = await ours(await openKmsgSource({ from: 'ring' }), () => false);
    expect(again.map(messageOf)).toEqual(expect.arrayContaining([`${tag} ring 1`, `${tag} ring 2`]));
  });

  it('stops promptly when aborted while the ring buffer is quiet', async () => {
    const src = await openKmsgSource({ from: 'now', pollMs: 50 });
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 150);
    for await (const _ of src.batches(ac.signal)) {
      // other processes may log meanwhile; we only care that the loop ends
    }
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  it('a device that cannot be opened is an InputError', async () => {
    await expect(openKmsgSource({ path: '/nonexistent/kmsg' })).rejects.toThrow(InputError);
    await expect(openKmsgSource({ path: '/nonexistent/kmsg' })).rejects.toThrow(
      /^cannot read \/nonexistent\/kmsg: no such file$/,
    );
  });
});

describe('kmsg record helpers', () => {
  it('keeps the record line and drops continuation lines', () => {
    const rec = Buffer.from('6,190,193897,-;acpi PNP0A08:00: PCIe port services disabled\n SUBSYSTEM=acpi\n DEVICE=+acpi:PNP0A08:00\n');
    expect(kmsgRecordLine(rec, rec.length)).toBe('6,190,193897,-;acpi PNP0A08:00: PCIe port services disabled');
    expect(kmsgRecordLine(rec, 0)).toBeUndefined();
  });

  it('reads seq with or without extra header fields', () => {
    expect(kmsgSeq('4,445,709955781,-;FWFX_FRAG IN=eth0')).toBe(445);
    expect(kmsgSeq('4,446,709955798,-,caller=T123;x')).toBe(446);
    expect(kmsgSeq('garbage;x')).toBeUndefined();
  });

  it('counts records lost from sequence gaps, not before the first one seen', () => {
    const t = new SeqTracker();
    expect([100, 101, 105, 106, 110].map((s) => t.see(s))).toEqual([0, 0, 3, 0, 3]);
    expect(t.lost).toBe(6);
  });
});
