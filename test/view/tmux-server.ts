/** A private tmux server for an end-to-end test (its own -L socket), and its removal; the terminal tests' setup. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';

export interface TmuxServer {
  /** runs `tmux -L SOCKET …`, returns stdout */
  (...args: string[]): string;
  /** kills the server (if any) and removes the socket file tmux leaves behind */
  close(): void;
}

export function tmuxServer(socket: string): TmuxServer {
  const run = ((...args: string[]): string => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' })) as TmuxServer;
  run.close = () => {
    try {
      run('kill-server');
    } catch {
      // no server left
    }
    rmSync(join(process.env['TMUX_TMPDIR'] ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`, socket), { force: true });
  };
  return run;
}

/**
 * What both terminal tests set up around their test: a private tmux server, a temp dir (`dir`, set before the tests
 * run) and a check that the tools (commands with a version flag) and the build are there — never a skip.
 */
export function terminalTest(socket: string, dirPrefix: string, tools: ReadonlyArray<readonly [string, string]>): { tmux: TmuxServer; dir: string } {
  const t = { tmux: tmuxServer(socket), dir: '' };
  beforeAll(() => {
    // .ci/run installs the tools; `npm test` builds first
    for (const [cmd, flag] of tools) execFileSync(cmd, [flag]);
    const live = fileURLToPath(new URL('../../dist/view/run-live.js', import.meta.url));
    if (!existsSync(live)) throw new Error('dist/view/run-live.js missing: run `npm run build` first');
    t.dir = mkdtempSync(join(tmpdir(), dirPrefix));
  });
  afterAll(() => {
    t.tmux.close();
    if (t.dir !== '') rmSync(t.dir, { recursive: true, force: true });
  });
  return t;
}
