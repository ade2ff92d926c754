/** The live view's --ruleset, kept current: a FILE read again when it changes, `live` on a timer (here: shortened). */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRuleset } from '../../src/cli/trace.js';
import { rulesetFingerprint, watchRuleset } from '../../src/cli/ruleset-watch.js';
import type { Ruleset } from '../../src/ruleset/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'fwdiag-watch-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const full = readFileSync('fixtures/rulesets/harvester-control-plane.iptables-save', 'utf8');
/** the same ruleset without its etcd ACCEPT */
const noEtcd = full.split('\n').filter((l) => !l.includes('--dport 2379:2380')).join('\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred() && Date.now() < end) await sleep(20);
}
const hasEtcd = (rs: Ruleset) => rs.tables.some((t) => t.chains.some((c) => c.rules.some((r) => r.text.includes('2379:2380'))));

describe('watchRuleset', () => {
  it('a FILE: a change is read again and handed over; the same rules again, or a file that fails to read, change nothing', async () => {
    const f = join(tmp, 'rules');
    writeFileSync(f, noEtcd);
    const initial = await loadRuleset(f);
    const changes: Ruleset[] = [];
    const errors: string[] = [];
    const stop = watchRuleset(f, { load: loadRuleset, initial, onChange: (rs) => changes.push(rs), onError: (m) => errors.push(m), fileMs: 30 });
    try {
      await sleep(100); // the baseline is taken
      expect(changes).toEqual([]);
      writeFileSync(f, full);
      await until(() => changes.length > 0);
      expect(changes.map(hasEtcd)).toEqual([true]);
      // rewritten with the same rules plus a comment line: other bytes, same rules — nothing to hand over
      writeFileSync(f, `# edited\n${full}`);
      await sleep(200);
      expect(changes).toHaveLength(1);
      // a broken file: said once, the rules held stay
      writeFileSync(f, 'not a ruleset at all');
      await until(() => errors.length > 0);
      writeFileSync(f, 'still not a ruleset');
      await sleep(200);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain('neither iptables-save text nor nft -j JSON');
      expect(changes).toHaveLength(1);
      // back to the first rules: a change again
      writeFileSync(f, noEtcd);
      await until(() => changes.length > 1);
      expect(changes.map(hasEtcd)).toEqual([true, false]);
    } finally {
      stop();
    }
  });

  it('`live`: read again on its timer; stopped, it reads no more', async () => {
    let n = 0;
    const a = (await loadRuleset(join('fixtures/rulesets/harvester-control-plane.iptables-save')));
    const changes: Ruleset[] = [];
    // a stand-in for the tools: the same ruleset twice, then one with another rule
    const load = async () => {
      n++;
      if (n < 3) return a;
      const r = await loadRuleset('fixtures/rulesets/tricky.iptables-save');
      return r;
    };
    const stop = watchRuleset('live', { load, initial: a, onChange: (rs) => changes.push(rs), onError: () => undefined, liveMs: 30 });
    await until(() => changes.length > 0);
    stop();
    const calls = n;
    expect(changes).toHaveLength(1);
    expect(rulesetFingerprint(changes[0]!)).not.toBe(rulesetFingerprint(a));
    await sleep(150);
    expect(n).toBe(calls);
  });
});
