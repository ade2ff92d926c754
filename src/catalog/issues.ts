/**
 * What a failed zod check says, in an operator's words: every flag, option, policy and catalog file is validated
 * with zod, and zod's own messages ("Invalid input", "expected string, received number", "Too big: expected number
 * to be <=10") say neither what was given nor what would do. Messages a schema writes itself are kept as they are
 * (a schema's own message takes precedence over the parse's error map); the caller names the flag or key.
 */
import type { z } from 'zod';

const TYPE_NAMES: Readonly<Record<string, string>> = {
  string: 'a string', number: 'a number', int: 'a whole number', boolean: 'true or false', array: 'a list',
  object: 'a mapping', record: 'a mapping', map: 'a mapping', set: 'a list', null: 'null', bigint: 'a number', date: 'a date', tuple: 'a list',
};

/** A value as the message shows it: `a number (5)`, `a string ("x")`, `true`, `a list`. */
function given(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number' || typeof v === 'bigint') return `a number (${String(v)})`;
  if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)})`;
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'a mapping' : typeof v;
}

/** A value a schema expects (an enum's or a literal's): keywords and numbers bare, as they are written. */
function expectedValue(v: unknown): string {
  return typeof v === 'string' && /^[\w.-]+$/.test(v) ? v : typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function alternatives(list: readonly string[]): string {
  const l = [...new Set(list)];
  return l.length <= 3 ? l.join(' or ') : `one of ${l.join(', ')}`;
}

/** What one branch of a union expected, from the issue it failed with at its top, if it failed there. */
function branchExpected(issues: readonly z.core.$ZodIssue[]): string | undefined {
  const i = issues[0];
  if (issues.length !== 1 || i === undefined || i.path.length > 0) return undefined;
  if (i.code === 'invalid_type') return TYPE_NAMES[i.expected] ?? i.expected;
  if (i.code === 'invalid_value') return alternatives(i.values.map(expectedValue));
  return undefined;
}

function unit(origin: string, n: number | bigint): string {
  if (origin === 'string') return ` character${n === 1 ? '' : 's'}`;
  if (origin === 'array' || origin === 'set') return ` item${n === 1 ? '' : 's'}`;
  return '';
}

function sizeOf(v: unknown): unknown {
  return typeof v === 'string' || Array.isArray(v) ? v.length : v;
}

/** zod's error map for the operator's words; undefined where zod's message is kept. */
export const issueWording: z.core.$ZodErrorMap = (iss) => {
  switch (iss.code) {
    case 'invalid_type':
      return iss.input === undefined
        ? `missing (expected ${TYPE_NAMES[iss.expected] ?? iss.expected})`
        : `expected ${TYPE_NAMES[iss.expected] ?? iss.expected}, not ${given(iss.input)}`;
    case 'too_small': {
      const min = iss.minimum;
      if (Number(min) === 1 && iss.inclusive !== false && (iss.origin === 'string' || iss.origin === 'array')) return 'must not be empty';
      return `${iss.inclusive === false ? 'more than' : 'at least'} ${String(min)}${unit(iss.origin, min)}, not ${String(sizeOf(iss.input))}`;
    }
    case 'too_big': {
      const max = iss.maximum;
      return `${iss.inclusive === false ? 'less than' : 'at most'} ${String(max)}${unit(iss.origin, max)}, not ${String(sizeOf(iss.input))}`;
    }
    case 'invalid_value':
      return `expected ${alternatives(iss.values.map(expectedValue))}, not ${typeof iss.input === 'string' ? JSON.stringify(iss.input) : String(iss.input)}`;
    case 'invalid_union': {
      const each = iss.errors.map(branchExpected);
      if (each.every((e) => e !== undefined)) return `expected ${alternatives(each)}, not ${given(iss.input)}`;
      return 'matches none of the forms this key takes';
    }
    case 'unrecognized_keys':
      return `unknown key${iss.keys.length === 1 ? '' : 's'} ${iss.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    case 'invalid_format':
      return `not in the expected form${iss.pattern === undefined ? '' : ` (${String(iss.pattern)})`}`;
    case 'not_multiple_of':
      return `expected a multiple of ${String(iss.divisor)}`;
    case 'custom':
      return 'invalid value';
    default:
      return undefined;
  }
};

/** The parse parameters every fwdiag schema is checked with: `schema.safeParse(value, WORDED)`. */
export const WORDED = { error: issueWording } as const;

/** One issue, its path from the value checked. */
export interface Issue {
  path: PropertyKey[];
  message: string;
}

/**
 * A failed check's issues, a union's taken apart: where the value had the shape of one of the union's forms (`log:
 * {rate: 5}` is a mapping, not `false`), that form's issues, at their own paths (`log.rate: expected a string …`), not
 * "matches none of the forms".
 */
export function issuesOf(error: z.ZodError | { issues: readonly z.core.$ZodIssue[] }, at: PropertyKey[] = []): Issue[] {
  return error.issues.flatMap((i): Issue[] => {
    const path = [...at, ...i.path];
    if (i.code === 'invalid_union') {
      const shaped = i.errors.find((b) => b.length > 0 && branchExpected(b) === undefined);
      if (shaped !== undefined) return issuesOf({ issues: shaped }, path);
    }
    return [{ path, message: i.message }];
  });
}
