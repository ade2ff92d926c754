import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { CliIO } from '../../src/cli/io.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SAMPLE = `${ROOT}fixtures/sample/harvester-upgrade.log`;
export const KMSG = `${ROOT}fixtures/kernel/kmsg.txt`;
export const SYSLOG = `${ROOT}fixtures/kernel/syslog.txt`;
/** The day after the sample: fixes the syslog year (2026 for the sample, 2025 for the kernel fixtures' "Nov 23"). */
export const NOW = Date.UTC(2026, 3, 23, 0, 0, 0);

/** An in-memory CliIO with a fixed clock; `tty` makes stderr claim to be a terminal. */
export function memoryIO(opts: { stdin?: string; tty?: { stdout?: boolean; stderr?: boolean } } = {}): {
  io: CliIO;
  out: () => string;
  err: () => string;
} {
  const stdout = new PassThrough() as PassThrough & { isTTY?: boolean };
  const stderr = new PassThrough() as PassThrough & { isTTY?: boolean };
  if (opts.tty?.stdout === true) stdout.isTTY = true;
  if (opts.tty?.stderr === true) stderr.isTTY = true;
  let o = '';
  let e = '';
  stdout.on('data', (c: Buffer) => (o += c.toString()));
  stderr.on('data', (c: Buffer) => (e += c.toString()));
  const io: CliIO = { stdin: Readable.from([Buffer.from(opts.stdin ?? '')]), stdout, stderr, env: { NO_COLOR: '1' }, now: () => NOW };
  return { io, out: () => o, err: () => e };
}
/** The audit's real-kernel upgrade incident (fixtures/kernel/report-incident/README.md): `dmesg --time-format iso`. */
export const INCIDENT = `${ROOT}fixtures/kernel/report-incident/capture.dmesg-iso`;
/** One later real kernel line (18:53:30, a hostile prefix): appended to INCIDENT, the input outlasts the blocks. */
export const INCIDENT_LATE = `${ROOT}fixtures/kernel/report-incident/late-drop.dmesg-iso`;
