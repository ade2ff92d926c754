import { it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { suggestCommand } from '../../src/cli/suggest.js';
import { memoryIO } from '../catalog/cli-io.js';
it('x', async () => {
  const args = JSON.parse(process.env.SG_ARGS ?? '[]');
  const m = memoryIO();
  const code = await suggestCommand(args, m.io);
  writeFileSync('/tmp/sg/out.txt', m.out());
  writeFileSync('/tmp/sg/err.txt', `${code}\n${m.err()}`);
}, 20000);
