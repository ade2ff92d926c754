/**
 * CLI-level input options → the LineSources to read, in order. Contradictions are refused here, before any
 * reading, as UsageError; unreadable inputs are InputError (every file is checked up front, so a typo in the
 * fifth path fails at once rather than after reading four files).
 */

import { WORDED, issuesOf } from '../catalog/issues.js';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { UsageError } from '../cli/errors.js';
import { openFileSource, streamSource } from './file-source.js';
import type { KmsgFrom } from './kmsg-source.js';
import type { LineSource } from './types.js';

export interface InputOptions {
  /** FILE arguments in order; `-` is stdin. */
  files: string[];
  /**
   * Follow the single FILE as it grows, across rotation and truncation.
   * @default false
   */
  follow: boolean;
  /**
   * With `follow`: read the file from its start first instead of only new lines.
   * @default 'end'
   */
  followFrom?: 'end' | 'start';
  /**
   * Read the kernel log from /dev/kmsg: live with `now` (new records only) or `start` (the ring buffer first);
   * `ring`: the ring buffer as it is, then the end.
   * @default false
   */
  kmsg: false | KmsgFrom;
  /** Standard input, read when there is no FILE and it is not a terminal (or for `-`). */
  stdin: Readable & { isTTY?: boolean };
  /**
   * stdin on a pipe or socket is read on a worker thread, at most this many bytes ahead (FileSourceOptions.readAhead);
   * 0: on the main thread. @default READ_AHEAD_BYTES (4 MiB)
   */
  stdinReadAhead?: number;
}

const schema = z.object({
  files: z.array(z.string().min(1, 'an empty FILE argument')),
  follow: z.boolean(),
  followFrom: z.enum(['end', 'start']).optional(),
  kmsg: z.union([z.literal(false), z.enum(['now', 'start', 'ring'])]),
});

export async function openInputs(options: InputOptions): Promise<LineSource[]> {
  const parsed = schema.safeParse({
    files: options.files,
    follow: options.follow,
    followFrom: options.followFrom,
    kmsg: options.kmsg,
  }, WORDED);
  if (!parsed.success) {
    const issue = issuesOf(parsed.error)[0];
    // a FILE argument is named as report names it (`FILE: an empty FILE argument`), not by the schema's path (files.0)
    throw new UsageError(issue?.path[0] === 'files' ? `FILE: ${issue.message}` : `invalid input options: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim());
  }
  const { files, follow, kmsg } = parsed.data;

  if (kmsg !== false) {
    if (files.length > 0) throw new UsageError('--kmsg reads the kernel log itself: give no FILE with it');
    if (follow) throw new UsageError('--kmsg reads the kernel log itself: drop --follow');
    // Loaded only when asked for (tail-file and the kmsg reader are not needed to read files or stdin).
    const { openKmsgSource } = await import('./kmsg-source.js');
    return [await openKmsgSource({ from: kmsg })];
  }

  if (follow) {
    if (files.length !== 1) throw new UsageError('--follow takes exactly one FILE');
    const [file] = files as [string];
    if (file === '-') throw new UsageError('--follow needs a FILE, not stdin (a pipe is followed anyway)');
    const { openFollowSource } = await import('./follow-source.js');
    return [await openFollowSource(file, { from: parsed.data.followFrom ?? 'end' })];
  }
  if (parsed.data.followFrom !== undefined) throw new UsageError('--from-start needs --follow');

  const stdinOptions = options.stdinReadAhead === undefined ? {} : { readAhead: options.stdinReadAhead };
  if (files.length === 0) {
    if (options.stdin.isTTY === true) {
      throw new UsageError('no input: give FILE arguments, pipe log lines to stdin, or use --kmsg');
    }
    return [streamSource(options.stdin, stdinOptions)];
  }
  if (files.filter((f) => f === '-').length > 1) throw new UsageError('stdin (-) can be read only once');
  const sources: LineSource[] = [];
  for (const f of files) sources.push(f === '-' ? streamSource(options.stdin, stdinOptions) : await openFileSource(f));
  return sources;
}
