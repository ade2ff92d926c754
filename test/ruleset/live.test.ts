/**
 * `--ruleset live` without a kernel: which tool's view of each table is kept when a tool is missing or fails. The
 * kernel test (kernel.test.ts, "--ruleset live") runs the real tools on real tables of all three kinds.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { combineLive, legacyCommandsNeeded, trace, type CommandOutput } from '../../src/ruleset/index.js';

const FIX = 'fixtures/rulesets';
const save = readFileSync(`${FIX}/harvester-control-plane.iptables-save`, 'utf8');
const nft = readFileSync(`${FIX}/talos-like.nft.json`, 'utf8');
/** what `nft -j list ruleset` printed for the tables the seed's commands made through iptables-nft (xt expressions) */
const nftOfSave = readFileSync(`${FIX}/harvester-control-plane.iptables-nft.json`, 'utf8');
const logDrop = readFileSync(`${FIX}/log-drop.nft.json`, 'utf8');
const ok = (stdout: string, stderr = ''): CommandOutput => ({ ok: true, stdout, stderr });
const missing: CommandOutput = { ok: false, missing: true, error: 'spawn nft ENOENT' };
const tables = (r: ReturnType<typeof combineLive>) => (r.ok ? r.value.tables.map((t) => `${t.family} ${t.name}`) : r.error);

describe('combineLive', () => {
  it('no tool installed: fails, naming what it tried', () => {
    const r = combineLive({ 'iptables-save': missing, 'ip6tables-save': missing, nft: missing });
    expect(r).toEqual({ ok: false, error: 'none of iptables-save, ip6tables-save, nft could be run (not installed?)' });
  });

  it('a tool not installed is skipped silently; one that fails is a warning', () => {
    const onlyNft = combineLive({ 'iptables-save': missing, 'ip6tables-save': missing, nft: ok(nft) });
    expect(tables(onlyNft)).toEqual(['inet fwrs_talos']);
    expect(onlyNft.ok && onlyNft.value.warnings).toEqual([]);
    const denied = combineLive({ 'iptables-save': ok(save), 'ip6tables-save': ok(''), nft: { ok: false, missing: false, error: 'Operation not permitted (you must be root)' } });
    expect(tables(denied)).toEqual(['ip filter']);
    expect(denied.ok && denied.value.warnings).toEqual(['nft: Operation not permitted (you must be root)']);
    // an empty save is worth a word only when nothing printed a table
    const none = combineLive({ 'iptables-save': ok(''), 'ip6tables-save': ok(''), nft: ok('{"nftables": [{"metainfo": {"version": "1.0.6"}}]}') });
    expect(none.ok && [none.value.tables.length, none.value.warnings]).toEqual([0, ['iptables-save printed no tables', 'ip6tables-save printed no tables']]);
  });

  it('an iptables-nft table is taken from iptables-save, not from nft\'s xt view of it', () => {
    // nft alone sees the table, but not its LOG prefix: a warning says so
    const viaNft = combineLive({ nft: ok(nftOfSave) });
    expect(tables(viaNft)).toEqual(['ip filter']);
    expect(viaNft.ok && viaNft.value.warnings.join()).toMatch(/"xt" extensions/);
    const both = combineLive({ 'iptables-save': ok(save), 'ip6tables-save': ok(''), nft: ok(`${nftOfSave.trimEnd().slice(0, -2)}, ${logDrop.slice(logDrop.indexOf('{"table"'))}`) });
    expect(tables(both)).toEqual(['ip filter', 'inet fw']);
    expect(both.ok && both.value.warnings).toEqual([]);
    const r = both.ok ? both.value : undefined;
    expect(r?.tables[0]?.chains.flatMap((c) => c.rules).some((x) => x.log?.prefix === 'HARVESTER_DROP_')).toBe(true);
  });

  it('asks for the legacy tools only when iptables-save says legacy tables are present', () => {
    const warn = '# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\n';
    expect(legacyCommandsNeeded(ok(save), ok(''))).toEqual([]);
    expect(legacyCommandsNeeded(ok(save, warn), ok(''))).toEqual(['iptables-legacy-save']);
    expect(legacyCommandsNeeded(missing, ok('', warn))).toEqual(['ip6tables-legacy-save']);
  });
});

describe('a LOG that also drops (nft `log prefix "X" drop`, one rule)', () => {
  it('is the LOG rule the trace reached', () => {
    const r = combineLive({ nft: ok(logDrop) });
    if (!r.ok) throw new Error(r.error);
    const t = trace(r.value, {
      line: 1, time: null, ts: null, mono: null, host: null, envelope: 'bare', prefix: 'NFT_DROP ', in: 'eth0', out: '',
      family: 4, src: '198.18.0.2', dst: '198.18.0.1', proto: 'TCP', spt: 40000, dpt: 22, flags: ['SYN'],
    });
    expect(t.verdict).toBe('drop');
    expect(t.decidedBy?.ref).toMatchObject({ family: 'inet', table: 'fw', chain: 'input', index: 4, text: 'log prefix "NFT_DROP " drop' });
    expect(t.logRule).toEqual({ reached: true, ref: t.decidedBy?.ref });
    expect(t.notes.join('\n')).not.toMatch(/not reached/);
  });
});

describe('Table.native', () => {
  it('nft JSON: a table of iptables-nft is not native, with or without xt expressions; an inet table or a free-named one is', () => {
    const parse = (text: string) => {
      const r = combineLive({ nft: ok(text) });
      if (!r.ok) throw new Error(r.error);
      return r.value.tables.map((t) => `${t.family} ${t.name} ${t.native === true ? 'native' : 'iptables'}`);
    };
    expect(parse(nftOfSave)).toEqual(['ip filter iptables']); // xt expressions (LOG, comment, conntrack)
    expect(parse(logDrop)).toEqual(['inet fw native']);
    expect(parse(nft)).toEqual(['inet fwrs_talos native']);
    // the seed's table without its xt rules: simple matches only, still iptables' by its name and chain names
    const doc = JSON.parse(nftOfSave) as { nftables: Array<Record<string, unknown>> };
    doc.nftables = doc.nftables.filter((it) => !JSON.stringify(it).includes('"xt"'));
    expect(parse(JSON.stringify(doc))).toEqual(['ip filter iptables']);
    // a hand-written `table ip filter` with a lower-case base chain is the operator's own
    const own = JSON.stringify({ nftables: [
      { table: { family: 'ip', name: 'filter', handle: 1 } },
      { chain: { family: 'ip', table: 'filter', name: 'input', handle: 1, type: 'filter', hook: 'input', prio: 0, policy: 'drop' } },
    ] });
    expect(parse(own)).toEqual(['ip filter native']);
  });
});

describe('legacy tables', () => {
  it('an empty legacy table (module loaded, no rule, ACCEPT policies) is left out without a word; one with rules is kept and named', () => {
    const empty = '# Generated by iptables-save v1.8.9 on Tue Nov 24 02:18:06 2026\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n';
    const used = empty.replace(':OUTPUT ACCEPT [0:0]\n', ':OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 6443 -j DROP\n');
    const warn = '# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\n';
    const base = { 'iptables-save': ok(save, warn), 'ip6tables-save': ok('') };
    const a = combineLive({ ...base, 'iptables-legacy-save': ok(empty) });
    expect(a.ok && [tables(a), a.value.warnings]).toEqual([['ip filter'], []]);
    const b = combineLive({ ...base, 'iptables-legacy-save': ok(used) });
    expect(b.ok && [tables(b), b.value.warnings]).toEqual([['ip filter', 'ip filter'], ['iptables-legacy-save: iptables-legacy tables (ip filter) filter too; rules for them need iptables-legacy']]);
  });
});
