/**
 * journald's kernel transport reads /dev/kmsg, and root may write to /dev/kmsg too (`echo '<14>app: …' > /dev/kmsg`,
 * systemd before journald runs): journald stores those records with `_TRANSPORT=kernel` as well, but with the
 * writer's facility (never 0 — the kernel turns a write's facility 0 into LOG_USER) and the writer's tag
 * (systemd's journald-kmsg.c, dev_kmsg_record()). Only facility 0 proves the kernel, as for a /dev/kmsg record read
 * directly; a userspace write is what its tag claims. Both parsers (JavaScript and the scanner) and every journal
 * layout (json, export, verbose).
 */
import { describe, expect, it } from 'vitest';
import type { LineResult } from '../../src/parse/event.js';
import { createParser } from '../../src/parse/parse-line.js';

const BODY = 'DROP IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=198.18.0.17 DST=198.18.1.42 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=5 DF PROTO=TCP SPT=40000 DPT=8443 WINDOW=64240 RES=0x00 SYN URGP=0 ';
const OPTS = { tz: 'UTC', now: () => Date.parse('2024-06-01T00:00:00Z') } as const;
const base = { __REALTIME_TIMESTAMP: '1713780000042123', _SOURCE_MONOTONIC_TIMESTAMP: '1000042000', _HOSTNAME: 'node-1', _TRANSPORT: 'kernel', PRIORITY: '4' };

/** the kernel's own record, and userspace writes to /dev/kmsg as journald stores them; what each is */
const records: Array<{ fields: Record<string, string>; transport: string | null }> = [
  { fields: { ...base, SYSLOG_FACILITY: '0', SYSLOG_IDENTIFIER: 'kernel', MESSAGE: BODY }, transport: 'kernel' },
  // written to /dev/kmsg as `<12>kernel: DROP IN=…` (facility 1, user): only the tag says kernel
  { fields: { ...base, SYSLOG_FACILITY: '1', SYSLOG_IDENTIFIER: 'kernel', MESSAGE: BODY }, transport: 'syslog' },
  { fields: { ...base, SYSLOG_FACILITY: '3', SYSLOG_IDENTIFIER: 'kernel', MESSAGE: BODY }, transport: 'syslog' },
  // another program's write: not a kernel line at all
  { fields: { ...base, SYSLOG_FACILITY: '1', SYSLOG_IDENTIFIER: 'myapp', SYSLOG_PID: '42', MESSAGE: BODY }, transport: null },
  { fields: { ...base, SYSLOG_FACILITY: '1', MESSAGE: BODY }, transport: null },
  // a record without the field (made by hand): as before, _TRANSPORT decides
  { fields: { ...base, MESSAGE: BODY }, transport: 'kernel' },
];

const transports = (results: LineResult[]): Array<string | null> => results.map((r) => (r.kind === 'event' ? (r.event.transport ?? 'absent') : null));

function viaJs(lines: string[]): Array<string | null> {
  const p = createParser({ ...OPTS, fastPath: false });
  return transports([...lines.map((l) => p.parseLine(l)), ...p.flush()].filter((r) => r.kind !== 'pending'));
}

function viaScanner(lines: string[]): Array<string | null> {
  const p = createParser(OPTS);
  const out: LineResult[] = [];
  p.parseBytes(Buffer.from(lines.map((l) => `${l}\n`).join('')), out);
  // skipped lines give no result: put them back in place
  return fill(lines.length, out);
}

/** The results of one line each (json): events and skips in input order. */
function fill(n: number, out: LineResult[]): Array<string | null> {
  const got: Array<string | null> = Array.from({ length: n }, () => null);
  for (const r of out) if (r.kind === 'event') got[r.event.line - 1] = r.event.transport ?? 'absent';
  return got;
}

function viaNdjson(lines: string[]): Array<string | null> {
  const p = createParser(OPTS);
  const chunks: Buffer[] = [];
  const others: LineResult[] = [];
  p.parseBytesNdjson(Buffer.from(lines.map((l) => `${l}\n`).join('')), { bytes: (b) => chunks.push(Buffer.from(b)), result: (r) => others.push(r) });
  const got: Array<string | null> = fill(lines.length, others);
  for (const l of Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean)) {
    const e = JSON.parse(l) as { line: number; transport?: string };
    got[e.line - 1] = e.transport ?? 'absent';
  }
  return got;
}

describe('journal records of /dev/kmsg written by userspace', () => {
  const want = records.map((r) => r.transport);
  const json = records.map((r) => JSON.stringify(r.fields));

  it('json: JavaScript', () => {
    expect(viaJs(json)).toEqual(want);
  });

  it('json: the scanner (events and NDJSON)', () => {
    expect(viaScanner(json)).toEqual(want);
    expect(viaNdjson(json)).toEqual(want);
  });

  it('export and verbose: SYSLOG_FACILITY is one of the fields a record keeps', () => {
    const exportLines = records.flatMap((r) => ['__CURSOR=s=1;i=1', ...Object.entries(r.fields).map(([k, v]) => `${k}=${v}`), '']);
    expect(viaJs(exportLines)).toEqual(want);
    const head = 'Mon 2024-04-22 10:00:00.042123 UTC [s=1;i=1;b=2;m=3;t=616a8a2f4818b;x=4]';
    const verboseLines = records.flatMap((r) => [
      head,
      ...Object.entries(r.fields)
        .filter(([k]) => k !== 'MESSAGE')
        .map(([k, v]) => `    ${k}=${v}`),
      `    MESSAGE=${r.fields['MESSAGE']}`,
    ]);
    expect(viaJs(verboseLines)).toEqual(want);
    expect(viaScanner(verboseLines).filter((t) => t !== null)).toEqual(want.filter((t) => t !== null));
  });
});
