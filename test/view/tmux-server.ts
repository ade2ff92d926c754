/** A private tmux server for an end-to-end test (its own -L socket), and its removal. */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';

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
