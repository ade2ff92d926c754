import { z } from 'zod';
import { UsageError } from './errors.js';

/** An IANA zone name the runtime knows (`UTC`, `Europe/Berlin`, …). */
export const tzSchema = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'unknown time zone');

export const kmsgSchema = z.enum(['now', 'start']);

/** `--kmsg` alone means `--kmsg=now` (parseArgs has no optional values). */
export function normaliseKmsgFlag(argv: string[]): string[] {
  return argv.map((a) => (a === '--kmsg' ? '--kmsg=now' : a));
}

/** zod safeParse → value, or a UsageError naming the flag. */
export function flag<T>(schema: z.ZodType<T>, value: unknown, name: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new UsageError(`${name}: ${r.error.issues[0]?.message ?? 'invalid value'}`);
  return r.data;
}

/** Wraps node:util parseArgs errors (unknown flag, missing value) as UsageError. */
export function usageFromParseArgs(e: unknown): never {
  const msg = e instanceof Error ? e.message.split('\n')[0] ?? e.message : String(e);
  throw new UsageError(msg, { cause: e });
}

/** parseArgs options every command that reads logs live takes (`parse`, `analyze`), declared once. */
export const LIVE_INPUT_FLAGS = {
  tz: { type: 'string' },
  follow: { type: 'boolean' },
  'from-start': { type: 'boolean' },
  kmsg: { type: 'string' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;
