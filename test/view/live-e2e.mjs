// Runs the live view on a file (or `-`: stdin) — for the tmux end-to-end test until `fwdiag` wires runLive itself.
// Usage: node test/view/live-e2e.mjs FILE|- [WRITE_DIR]
import { openFileSource, streamSource } from '../../dist/input/file-source.js';
import { writeFileSync } from 'node:fs';
import { runLive } from '../../dist/view/run-live.js';
import { parseRuleset } from '../../dist/ruleset/index.js';
import { readFileSync } from 'node:fs';

// the tmux test signals the process directly when it has no terminal for keys
if (process.env.FWDIAG_PIDFILE) writeFileSync(process.env.FWDIAG_PIDFILE, String(process.pid));

const [file = '-', writeDir = process.cwd()] = process.argv.slice(2);
const io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, now: Date.now };
const sources = [file === '-' ? streamSource(process.stdin) : await openFileSource(file)];
const noColor = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '';
// FWDIAG_RULESET=FILE: what `--ruleset FILE` will pass (a parsed ruleset model)
let ruleset;
if (process.env.FWDIAG_RULESET) {
  const r = parseRuleset(readFileSync(process.env.FWDIAG_RULESET, 'utf8'));
  if (!r.ok) throw new Error(r.issues.join('; '));
  ruleset = r.value;
}
process.exitCode = await runLive({ sources, io, color: !noColor, tz: 'UTC', writeDir, ...(ruleset ? { ruleset } : {}) });
