import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { traceCommand } from '../../src/cli/trace.js';
import { run } from '../../src/cli/main.js';
import { InputError, RulesetError, UsageError } from '../../src/cli/errors.js';
import { memoryIO } from '../catalog/cli-io.js';

const FIX = 'fixtures/rulesets';
const drops = readFileSync(`${FIX}/harvester-control-plane.drops.log`, 'utf8');
const [line9999 = '', line7777 = ''] = drops.split('\n');

describe('fwdiag trace', () => {
  it('traces a real dmesg line given as an argument', async () => {
    const m = memoryIO();
    expect(await traceCommand(['--ruleset', `${FIX}/harvester-control-plane-extra.iptables-save`, line9999], m.io)).toBe(0);
    const out = m.out();
    expect(out).toContain('verdict  DROP by ip filter HARVESTER_INPUT#26: -A HARVESTER_INPUT -m comment --comment "Drop all other traffic" -j DROP');
    expect(out).toContain('logged   by ip filter HARVESTER_INPUT#25 (reached by this trace)');
    expect(out).toMatch(/ip filter HARVESTER_INPUT#27 {2}\| -A HARVESTER_INPUT -p tcp -m tcp --dport 9999 .*\n {4}shadowed: never reached/);
    expect(m.err()).toBe('');
  });
  it('reads several lines from stdin and prints JSON per line', async () => {
    const m = memoryIO(drops);
    await traceCommand(['--ruleset', `${FIX}/harvester-control-plane-extra.iptables-save`, '--json', '-'], m.io);
    const objs = m.out().trim().split('\n').map((l) => JSON.parse(l));
    expect(objs.map((o) => [o.line, o.packet.dpt, o.verdict, o.nearMisses[0].reasons[0].kind])).toEqual([[1, 9999, 'drop', 'shadowed'], [2, 7777, 'drop', 'interface']]);
  });
  it('a LINE of several lines (a $(grep …) that found two) traces each of them', async () => {
    const m = memoryIO();
    expect(await traceCommand(['--ruleset', `${FIX}/harvester-control-plane-extra.iptables-save`, '--json', drops.trimEnd()], m.io)).toBe(0);
    const objs = m.out().trim().split('\n').map((l) => JSON.parse(l));
    expect(objs.map((o) => [o.line, o.packet.dpt, o.verdict])).toEqual([[1, 9999, 'drop'], [2, 7777, 'drop']]);
  });
  it('stdin is read as every command reads input: gzip, CRLF', async () => {
    const m = memoryIO();
    m.io.stdin = Readable.from([gzipSync(drops.replaceAll('\n', '\r\n'))]);
    await traceCommand(['--ruleset', `${FIX}/harvester-control-plane-extra.iptables-save`, '--json', '-'], m.io);
    const objs = m.out().trim().split('\n').map((l) => JSON.parse(l));
    expect(objs.map((o) => [o.line, o.packet.dpt, o.verdict])).toEqual([[1, 9999, 'drop'], [2, 7777, 'drop']]);
  });
  it('traces through nft JSON and warns about iptables-nft xt rules on stderr', async () => {
    const m = memoryIO();
    await traceCommand(['--ruleset', `${FIX}/harvester-control-plane.iptables-nft.json`, '--verbose', line7777], m.io);
    expect(m.err()).toMatch(/warning: 26 rule\(s\) use iptables-nft "xt"/);
    expect(m.out()).toContain('HARVESTER_INPUT#26  DROP');
    expect(m.out()).toContain('HARVESTER_INPUT#1  no match: ctstate (not shown by nft)');
  });
  it('escapes control characters from the log line', async () => {
    const m = memoryIO();
    await traceCommand(['--ruleset', `${FIX}/tricky.iptables-save`, 'NODE_DROP IN=eth0\u001b[31m OUT= SRC=198.18.0.2 DST=198.18.0.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 PROTO=TCP SPT=1 DPT=2 WINDOW=1 RES=0x00 SYN URGP=0'], m.io);
    expect(m.out()).not.toContain('\u001b');
  });
  it.each([
    [[line9999], UsageError, /--ruleset FILE\|live is required/],
    [['--ruleset', 'x'], UsageError, /exactly one LOG line/],
    [['--ruleset', 'x', '--family', '5', line9999], UsageError, /--family/],
    [['--ruleset', `${FIX}/missing`, line9999], InputError, /cannot read ruleset/],
    [['--ruleset', `${FIX}/talos-like.nft`, line9999], RulesetError, /nft -j list ruleset/],
    [['--ruleset', `${FIX}/tricky.iptables-save`, 'hello world'], UsageError, /^LINE is not a netfilter LOG line: "hello world"$/],
    [['--ruleset', `${FIX}/tricky.iptables-save`, ''], UsageError, /^LINE is empty/],
    // judged before the ruleset is read: the argument is what is wrong, not the (here missing) ruleset
    [['--ruleset', `${FIX}/missing`, 'hello world'], UsageError, /not a netfilter LOG line/],
  ] as const)('%j fails with the right error', async (argv, cls, msg) => {
    const p = traceCommand([...argv], memoryIO().io);
    await expect(p).rejects.toBeInstanceOf(cls);
    await expect(traceCommand([...argv], memoryIO().io)).rejects.toThrow(msg);
  });
  it('a LINE that is no LOG line exits 2 with the usage hint, as every bad argument; stdin without one exits 1', async () => {
    const bad = memoryIO();
    expect(await run(['trace', '--ruleset', `${FIX}/tricky.iptables-save`, ''], bad.io)).toBe(2);
    expect(bad.err()).toMatch(/^fwdiag: LINE is empty .*\nRun 'fwdiag trace --help' for usage\.\n$/);
    const piped = memoryIO('hello world\n');
    expect(await run(['trace', '--ruleset', `${FIX}/tricky.iptables-save`, '-'], piped.io)).toBe(1);
    expect(piped.err()).toBe('fwdiag: no netfilter LOG line in the input\n');
  });
  it('--help', async () => {
    const m = memoryIO();
    expect(await traceCommand(['-h'], m.io)).toBe(0);
    expect(m.out()).toMatch(/^Usage: fwdiag trace --ruleset FILE\|live/);
  });
});
