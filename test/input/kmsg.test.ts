import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir, uptime } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
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

/** Does this process hold `path` open? */
function holds(path: string): boolean {
  return readdirSync('/proc/self/fd').some((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  });
}

/** Our own records from `src`, pulled on demand: `take` until `done` says so; `stop` ends the batches (or 15 s). */
function puller(src: LineSource): { mine: string[]; take: (done: () => boolean) => Promise<void>; stop: () => Promise<void> } {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 15_000);
  const it = src.batches(ac.signal)[Symbol.asyncIterator]();
  const mine: string[] = [];
  return {
    mine,
    take: async (done) => {
      while (!done()) {
        const r = await it.next();
        if (r.done === true) return;
        for (const l of r.value) if (l.includes(tag)) mine.push(l);
      }
    },
    stop: async () => {
      clearTimeout(timer);
      await it.return?.(undefined);
    },
  };
}

describe('openKmsgSource on the real /dev/kmsg, read on its thread while the main thread is busy', () => {
  it('keeps reading while the main thread is held: the ring buffer is not overwritten under it', async () => {
    // The reader used to poll on the main thread: while it drew a frame or collected garbage, the kernel overwrote
    // the ring buffer (~600 records here). Here the main thread is held while 3,000 records of ~200 bytes (several
    // ring buffers' worth) are written; read on the main thread, only the last ~600 were left for it.
    const src = await openKmsgSource({ from: 'now' });
    const { mine, take, stop } = puller(src);
    try {
      // the reader has seen a record, so it polls fast (it starts slow, as after a long quiet)
      mark('warm', 0);
      await take(() => mine.length >= 1);
      const pad = 'x'.repeat(150);
      for (let n = 1; n <= 3000; n++) mark(`held ${pad}`, n);
      await take(() => mine.some((l) => l.endsWith(`held ${pad} 3000`)));
    } finally {
      await stop();
    }
    const held = mine.filter((l) => l.includes(' held '));
    // a busy machine may hold the reading thread back a little too: most, not all, and far more than a ring buffer
    expect(held.length, `lost ${src.stats.overwritten}`).toBeGreaterThan(2700);
    // once each, in order
    const numbers = held.map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)));
    for (let i = 1; i < numbers.length; i++) expect(numbers[i]).toBeGreaterThan(numbers[i - 1]!);
  }, 30_000);
});

describe('openKmsgSource on the real /dev/kmsg, its reading thread held at readAhead', () => {
  it('stops reading while the consumer does not take what it read: the kernel overwrites, and the loss is counted', async () => {
    // memory stays bounded when the main thread falls far behind; the records the kernel overwrote meanwhile are
    // not lost silently (EPIPE, then the sequence gap)
    const src = await openKmsgSource({ from: 'now', readAhead: 1 });
    const { mine, take, stop } = puller(src);
    const pad = 'y'.repeat(150);
    try {
      mark('cap-warm', 0);
      await take(() => mine.length >= 1);
      // nothing taken while 3,000 records (several ring buffers' worth) are written and some time passes
      for (let n = 1; n <= 3000; n++) mark(`capped ${pad}`, n);
      await new Promise((r) => setTimeout(r, 200));
      expect(src.backlog!()).toBeGreaterThan(0);
      mark('cap-last', 1);
      await take(() => mine.some((l) => l.endsWith('cap-last 1')));
    } finally {
      await stop();
    }
    const capped = mine.filter((l) => l.includes(' capped ')).length;
    expect(capped).toBeLessThan(3000);
    // other processes' records may have been overwritten too
    expect(src.stats.overwritten).toBeGreaterThanOrEqual(3000 - capped);
  }, 30_000);
});

describe('openKmsgSource on a stand-in device (path)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fwdiag-kmsg-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let files = 0;
  /** A file of records as /dev/kmsg returns them: `prio,seq,usec,flag;message`, continuation lines after some. */
  const device = (seqs: number[], extra = ''): string => {
    const path = join(dir, `kmsg${++files}`);
    writeFileSync(path, seqs.map((q) => `4,${q},${q * 1000},-;rec ${q}\n${q % 2 === 0 ? ` SUBSYSTEM=net\n DEVICE=+net:eth${q}\n` : ''}`).join('') + extra);
    return path;
  };
  const all = async (src: LineSource, signal?: AbortSignal): Promise<string[][]> => {
    const out: string[][] = [];
    for await (const b of src.batches(signal)) out.push(b);
    return out;
  };

  it('ring: record lines in order, continuation lines and header-less lines dropped, losses from seq gaps, then the end', async () => {
    // a plain file returns many records per read(2) where the device returns one: each must be kept (the reader on
    // the main thread kept the first line of each read)
    const path = device([1, 2, 3, 10, 11, 12, 20], 'no header here\n');
    const src = await openKmsgSource({ path, from: 'ring', readAhead: 1024 * 1024 });
    expect(src.backlog).toBeTypeOf('function');
    const lines = (await all(src)).flat();
    expect(lines).toEqual([1, 2, 3, 10, 11, 12, 20].map((q) => `4,${q},${q * 1000},-;rec ${q}`));
    expect(src.stats.lines).toBe(7);
    expect(src.stats.overwritten).toBe(6 + 7);
    expect(src.stats.bytes).toBe(Buffer.byteLength(readFileSync(path, 'utf8')));
    expect(holds(path)).toBe(false);
  });

  it('live sources read on a thread (they have a backlog), ring on the main thread, record by record', async () => {
    const path = device([5], '');
    for (const from of ['now', 'start'] as const) {
      const live = await openKmsgSource({ path, from });
      expect(live.backlog, from).toBeTypeOf('function');
      await all(live, AbortSignal.abort());
    }
    const src = await openKmsgSource({ path, from: 'ring' });
    expect(src.backlog).toBeUndefined();
    // read here a record a read, as the device gives them (from a file, each read's first line)
    expect((await all(src)).flat()).toEqual(['4,5,5000,-;rec 5']);
  });

  it('batches of at most maxBatch records; start: then what comes later, at once after records came', async () => {
    const path = device(Array.from({ length: 2500 }, (_, i) => i + 1));
    const src = await openKmsgSource({ path, from: 'start', maxBatch: 1000 });
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 10_000);
    const got: string[] = [];
    let later = 0;
    try {
      for await (const b of src.batches(ac.signal)) {
        expect(b.length).toBeLessThanOrEqual(1000);
        got.push(...b);
        if (got.length === 2500) {
          later = performance.now();
          appendFileSync(path, '4,2501,1,-;later\n');
        }
        if (got.at(-1) === '4,2501,1,-;later') break;
      }
    } finally {
      clearTimeout(timer);
    }
    expect(got.length).toBe(2501);
    expect(src.stats.overwritten).toBe(0);
    // polled 1 ms apart after records came (then 10 ms, then pollMs); a second's slack for a busy machine
    expect(performance.now() - later).toBeLessThan(1000);
    // the descriptor is closed once the loop has ended (after the reading thread)
    expect(holds(path)).toBe(false);
  });

  it('stops promptly when aborted while the device is quiet, and closes it', async () => {
    const path = device([1]);
    const src = await openKmsgSource({ path, from: 'start' });
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 300);
    expect((await all(src, ac.signal)).flat()).toEqual(['4,1,1000,-;rec 1']);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(holds(path)).toBe(false);
  });

  it('reads no further ahead than readAhead while the consumer is slow, and still delivers every record', async () => {
    // a plain file is never overwritten: the reading thread waits at the cap (the device would overwrite instead)
    const n = 60_000;
    const path = device(Array.from({ length: n }, (_, i) => i + 1), '');
    const cap = 512 * 1024;
    const src = await openKmsgSource({ path, from: 'ring', readAhead: cap });
    let lines = 0;
    let most = 0;
    for await (const b of src.batches()) {
      lines += b.length;
      most = Math.max(most, src.backlog!());
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(lines).toBe(n);
    // a chunk (256 KiB) may be on its way when the count reaches the cap
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(cap + 256 * 1024);
  }, 30_000);

  it('a read error ends the records with an InputError', async () => {
    // a directory opens (O_RDONLY) but read(2) fails with EISDIR
    await expect(all(await openKmsgSource({ path: dir, from: 'start' }))).rejects.toThrow(/^cannot read .*kmsg-.*: /);
    await expect(all(await openKmsgSource({ path: dir, from: 'start' }))).rejects.toBeInstanceOf(InputError);
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
