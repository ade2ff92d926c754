/**
 * Every command's flags given bad or borderline values, through run() as the bin runs them: a bad flag or value is one
 * line naming the flag, the pointer to the command's --help, exit 2 (no stack); a runtime failure is one line, exit 1.
 * Commands that share a flag parse it alike and say the same.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { liveSuggestContext, parseAnalyzeArgs } from '../../src/cli/analyze.js';
import { memoryIO } from '../catalog/cli-io.js';

const SAMPLE = 'fixtures/sample/harvester-upgrade.log';
const tmp = mkdtempSync(join(tmpdir(), 'fwdiag-flags-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** argv → exit code and stderr */
async function fwdiag(argv: string[], stdin = ''): Promise<{ code: number; err: string; out: string }> {
  const m = memoryIO(stdin);
  const code = await run(argv, m.io);
  return { code, err: m.err(), out: m.out() };
}

/** a usage error: exit 2, `fwdiag: MESSAGE` on one line, then the pointer to the command's --help, nothing else */
async function expectUsage(argv: string[], message: RegExp): Promise<void> {
  const r = await fwdiag(argv);
  const lines = r.err.split('\n').filter((l) => l !== '');
  expect({ code: r.code, lines: lines.length, help: lines[1] }, r.err).toEqual({ code: 2, lines: 2, help: `Run 'fwdiag ${argv[0]} --help' for usage.` });
  expect(lines[0]).toMatch(message);
}

const SUGGEST = ['suggest', '--platform', 'harvester', '--role', 'control-plane'];
const REPORT = ['report', '--format', 'json'];

describe('the classifier flags name themselves in every command (suggest and report said "option: …")', () => {
  const commands = [['analyze', '--json'], SUGGEST, REPORT];
  const big = '9'.repeat(400);
  it.each([
    ['--settle', '9007199254740993', /^fwdiag: --settle: /],
    ['--settle', '9…9 (400 digits)', /^fwdiag: --settle: /],
    ['--scan-window', '0', /^fwdiag: --scan-window: /],
    ['--scan-window', '9…9 (400 digits)', /^fwdiag: --scan-window: /],
    ['--scan-ports', '1', /^fwdiag: --scan-ports: /],
    ['--scan-ports', '99999', /^fwdiag: --scan-ports: /],
  ])('%s %s', async (f, given, message) => {
    const value = given.includes('…') ? big : given;
    for (const c of commands) {
      // report has no scan flags
      if (c === REPORT && f.startsWith('--scan')) continue;
      await expectUsage([...c, f, value, SAMPLE], message);
    }
  });

  it('--scan-ports is read alike: spaces around the number are dropped in analyze and suggest', async () => {
    for (const c of [['analyze', '--summary'], [...SUGGEST, '--json']]) {
      const r = await fwdiag([...c, '--scan-ports', ' 12 ', SAMPLE]);
      expect(r.code, r.err).toBe(0);
    }
  });
});

describe('--tz: one check and one message in every command (parse and analyze did not quote the value)', () => {
  it.each(['CEST', 'UTC+2', '', ' UTC', '+02:00'])('--tz %j', async (zone) => {
    for (const c of [['parse'], ['analyze'], SUGGEST, REPORT]) {
      await expectUsage([...c, '--tz', zone, SAMPLE], new RegExp(`^fwdiag: --tz: unknown time zone ${JSON.stringify(zone).replace(/[+]/g, '\\+')} \\(use an IANA name such as UTC or Europe/Berlin\\)$`));
    }
  });

  it('an IANA name is taken, in any case', async () => {
    for (const c of [['parse'], ['analyze', '--summary'], [...SUGGEST, '--json'], REPORT]) {
      for (const zone of ['Europe/Berlin', 'europe/berlin', 'Etc/GMT-2', 'UTC']) expect((await fwdiag([...c, '--tz', zone, SAMPLE])).code).toBe(0);
    }
  });
});

describe('a schema\'s key is never shown for the flag (--catalogs, --extras, --files, files.0)', () => {
  it.each([
    [[...SUGGEST, '--catalog', '', SAMPLE], /^fwdiag: --catalog: /],
    [['catalog', 'harvester', '--catalog', ''], /^fwdiag: --catalog: /],
    [['compile', '--target', 'nft', '--platform', 'harvester', '--role', 'worker', '--catalog', ''], /^fwdiag: --catalog: /],
    [['compile', '--target', 'nft', '--platform', 'harvester', '--role', 'worker', '--extra', ''], /^fwdiag: --extra: /],
    [[...SUGGEST, ''], /^fwdiag: FILE: an empty FILE argument$/],
    [['parse', ''], /^fwdiag: FILE: an empty FILE argument$/],
    [['analyze', SAMPLE, ''], /^fwdiag: FILE: an empty FILE argument$/],
    [[...REPORT, ''], /^fwdiag: FILE: an empty FILE argument$/],
    // analyze read an empty --catalog as a file to open (exit 1) and took an empty --ruleset
    [['analyze', '--catalog', '', SAMPLE], /^fwdiag: --catalog: /],
    [['analyze', '--json', '--ruleset', '', SAMPLE], /^fwdiag: --ruleset: /],
  ])('%j', async (argv, message) => {
    await expectUsage(argv, message);
  });
});

describe('whole-number flags: decimal digits, read alike by every command (Number() took "" as 0, 0x16 as 22, 1e1 as 10)', () => {
  it.each([
    [['catalog', 'harvester/control-plane', '--port', ''], /^fwdiag: --port: not a non-negative integer: ""$/],
    [['catalog', 'harvester/control-plane', '--port', '0x16'], /^fwdiag: --port: not a non-negative integer: "0x16"$/],
    [['catalog', 'harvester/control-plane', '--port', '1e1'], /^fwdiag: --port: not a non-negative integer: "1e1"$/],
    [['catalog', 'harvester/control-plane', '--port', '22.0'], /^fwdiag: --port: not a non-negative integer: "22.0"$/],
    [['catalog', 'harvester/control-plane', '--port', '65536'], /^fwdiag: --port: /],
    [[...SUGGEST, '--samples=-1', SAMPLE], /^fwdiag: --samples: not a non-negative integer: "-1"$/],
    [[...SUGGEST, '--samples', '11', SAMPLE], /^fwdiag: --samples: /],
    [[...REPORT, '--max-rows', '1e3', SAMPLE], /^fwdiag: --max-rows: not a non-negative integer: "1e3"$/],
    [[...REPORT, '--burst-flows', '', SAMPLE], /^fwdiag: --burst-flows: not a non-negative integer: ""$/],
    [['analyze', '--max-flows', '0', SAMPLE], /^fwdiag: --max-flows: not a positive integer: "0"$/],
    [['analyze', '--max-flows', '9007199254740993', SAMPLE], /^fwdiag: --max-flows: too large: "9007199254740993"$/],
    [[...REPORT, '--burst', '0x10', SAMPLE], /^fwdiag: --burst: not a positive number: "0x10"$/],
    [[...REPORT, '--burst', '1e-300', SAMPLE], /^fwdiag: --burst: not a positive number: "1e-300"$/],
  ])('%j', async (argv, message) => {
    await expectUsage(argv, message);
  });

  it('spaces around a number are dropped everywhere (suggest refused --samples " 3")', async () => {
    for (const argv of [[...SUGGEST, '--json', '--samples', ' 3 ', SAMPLE], [...REPORT, '--max-rows', ' 5 ', '--burst', ' 2.5 ', SAMPLE], ['catalog', 'harvester', '--port', ' 22 ']]) {
      const r = await fwdiag(argv);
      expect(r.code, r.err).toBe(0);
    }
    // the port asked for: only rows that cover 22
    const ssh = await fwdiag(['catalog', 'harvester', '--port', '22', '--json']);
    const entries = (JSON.parse(ssh.out) as { entries: Array<{ port?: { from: number; to: number } }> }).entries;
    expect(entries.length).toBeGreaterThan(0);
    for (const e of entries) expect(e.port!.from <= 22 && e.port!.to >= 22).toBe(true);
  });
});

describe('a value that starts with a dash', () => {
  it('is refused with node:util\'s whole hint on one line (only "argument is ambiguous." was left of it)', async () => {
    for (const c of [['analyze'], SUGGEST, REPORT]) {
      await expectUsage([...c, '--settle', '-5m', SAMPLE], /^fwdiag: Option '--settle' argument is ambiguous\. Did you forget .* use '--settle=-XYZ'\.$/);
    }
    await expectUsage(['catalog', 'harvester', '--port', '-1'], /use '--port=-XYZ'\.$/);
    // given with =, it is the flag's value, judged as such
    await expectUsage([...SUGGEST, '--settle=-5m', SAMPLE], /^fwdiag: --settle: not a duration: "-5m"/);
  });
});

describe('--control-plane and --cluster-subnet', () => {
  it.each([
    [[...SUGGEST, '--control-plane', '', SAMPLE], /^fwdiag: --control-plane: no address in ""$/],
    [[...SUGGEST, '--control-plane', ',', SAMPLE], /^fwdiag: --control-plane: no address in ","$/],
    [['report', '--platform', 'harvester', '--role', 'worker', '--control-plane', ' ', SAMPLE], /^fwdiag: --control-plane: no address in " "$/],
    [[...SUGGEST, '--cluster-subnet', '10.0.0.0/33', SAMPLE], /^fwdiag: --cluster-subnet: expected an IPv4\/IPv6 address or CIDR/],
    [[...SUGGEST, '--cluster-subnet', '10.0.0.0/8,', SAMPLE], /^fwdiag: --cluster-subnet: /],
  ])('%j is a usage error (an empty one was left out silently: the ports went to the observed clients)', async (argv, message) => {
    await expectUsage(argv, message);
  });

  // a node's address pasted with the subnet's mask: iptables would mask it silently and hide the mistake
  it.each([
    [[...SUGGEST, '--cluster-subnet', '1.2.3.4/24', SAMPLE], '--cluster-subnet', '1.2.3.4/24', '1.2.3.0/24'],
    [[...SUGGEST, '--cluster-subnet', '2001:db8::17/64', SAMPLE], '--cluster-subnet', '2001:db8::17/64', '2001:db8::/64'],
    [[...SUGGEST, '--control-plane', '192.168.122.61,192.168.122.62/30', SAMPLE], '--control-plane', '192.168.122.62/30', '192.168.122.60/30'],
    [['report', '--platform', 'harvester', '--role', 'worker', '--cluster-subnet', '10.1.2.3/8', SAMPLE], '--cluster-subnet', '10.1.2.3/8', '10.0.0.0/8'],
    [['report', '--platform', 'harvester', '--role', 'worker', '--control-plane', 'fd00::1:5/112', SAMPLE], '--control-plane', 'fd00::1:5/112', 'fd00::1:0/112'],
  ])('%j: host bits set is a usage error naming the network meant', async (argv, f, given, meant) => {
    const esc = (s: string) => s.replace(/[./]/g, (c) => `\\${c}`);
    await expectUsage(argv, new RegExp(`^fwdiag: ${f}: ${esc(given)} has host bits set; did you mean ${esc(meant)}\\?$`));
  });

  it('a network address, a host address and a /0 are no such mistake', async () => {
    for (const extra of [['--cluster-subnet', '192.168.122.0/24'], ['--control-plane', '192.168.122.61,192.168.122.62/32,2001:db8::1'], ['--cluster-subnet', '0.0.0.0/0']]) {
      const r = await fwdiag([...SUGGEST, '--json', ...extra, SAMPLE]);
      expect(r.code, r.err).toBe(0);
    }
  });

  it('spaces around an address are dropped in both (--cluster-subnet refused " 192.168.122.0/24")', async () => {
    const json = async (extra: string[]) => {
      const r = await fwdiag([...SUGGEST, '--json', ...extra, SAMPLE]);
      expect(r.code, r.err).toBe(0);
      return r.out;
    };
    expect(await json(['--cluster-subnet', ' 192.168.122.0/24 ', '--control-plane', '192.168.122.61, 192.168.122.62,']))
      .toBe(await json(['--cluster-subnet', '192.168.122.0/24', '--control-plane', '192.168.122.61,192.168.122.62']));
  });
});

describe('compile: stdin is read once', () => {
  it('--policy - with --extra - is a usage error (the fragment read an emptied stdin: exit 1, "extra: expected array")', async () => {
    await expectUsage(['compile', '--target', 'nft', '--policy', '-', '--extra', '-'], /^fwdiag: --policy - and --extra -: stdin can be read once$/);
    await expectUsage(['compile', '--target', 'nft', '--platform', 'harvester', '--role', 'worker', '--extra', '-', '--extra', '-'], /^fwdiag: --extra -: stdin can be read once$/);
  });

  it('--policy - alone reads the policy from stdin, and --extra FILE beside it', async () => {
    const fragment = join(tmp, 'extra.yaml');
    writeFileSync(fragment, 'extra:\n  - {proto: tcp, ports: [8443], sources: [192.168.122.0/24], comment: site UI}\n');
    const r = await fwdiag(['compile', '--target', 'nft', '--policy', '-', '--extra', fragment], 'platform: harvester\nrole: worker\n');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('8443');
  });
});

describe('a platform, role, CNI or addon name is judged alike by every command', () => {
  it.each([
    [['compile', '--target', 'nft', '--platform', 'Harvester', '--role', 'worker'], '--platform'],
    [['compile', '--target', 'nft', '--platform', 'harvester', '--role', 'Worker'], '--role'],
    [['catalog', 'harvester', '--cni', 'Calico'], '--cni'],
    [['catalog', 'harvester', '--addon', ''], '--addon'],
    [['suggest', '--platform', 'harvester', '--role', 'control-plane', '--cni', '', SAMPLE], '--cni'],
    [['report', '--platform', 'Harvester', '--role', 'worker', SAMPLE], '--platform'],
  ])('%j (compile and catalog said "Invalid string: must match pattern /^[a-z0-9-]+$/")', async (argv, f) => {
    await expectUsage(argv, new RegExp(`^fwdiag: ${f}: expected a lower-case name \\(a-z, 0-9, -\\)$`));
  });
});

describe('--cluster-subnet and --control-plane take what a policy takes: a prefix length, not a netmask', () => {
  // 192.168.122.0/255.255.255.0 went into the rules as written: nft and Talos refuse it, and --format policy ended
  // with "internal: suggested fragment does not validate" (exit 1)
  it.each([
    [[...SUGGEST, '--format', 'policy', '--cluster-subnet', '192.168.122.0/255.255.255.0', SAMPLE], '--cluster-subnet'],
    [[...SUGGEST, '--format', 'nft', '--control-plane', '192.168.122.61/255.255.255.255', SAMPLE], '--control-plane'],
    [['report', '--platform', 'harvester', '--role', 'worker', '--cluster-subnet', '192.168.122.0/255.255.255.0', SAMPLE], '--cluster-subnet'],
  ])('%j', async (argv, f) => {
    await expectUsage(argv, new RegExp(`^fwdiag: ${f}: expected an IPv4/IPv6 address or CIDR \\(a prefix length, not a netmask\\)$`));
  });

  it('the fragment suggest writes from a --cluster-subnet compiles', async () => {
    const r = await fwdiag([...SUGGEST, '--format', 'policy', '--cluster-subnet', '192.168.122.0/24', SAMPLE]);
    expect(r.code, r.err).toBe(0);
    const fragment = join(tmp, 'suggested.yaml');
    writeFileSync(fragment, r.out);
    const c = await fwdiag(['compile', '--target', 'nft', '--platform', 'harvester', '--role', 'control-plane', '--extra', fragment]);
    expect(c.code, c.err).toBe(0);
    expect(c.out).toContain('192.168.122.0/24');
  });
});

describe('a value out of bounds is said in the operator\'s words, naming the flag (zod\'s own wording leaked: "Too big: expected number to be <=10")', () => {
  const LONG = 'x'.repeat(129);
  const RAW = /Invalid input|Invalid option|Too (small|big)|, received |Unrecognized key|expected (string|number|array) to have/;
  it.each([
    [[...SUGGEST, '--samples', '11', SAMPLE], /^fwdiag: --samples: at most 10, not 11$/],
    [[...SUGGEST, '--prefix', '', SAMPLE], /^fwdiag: --prefix: must not be empty$/],
    [['analyze', '--prefix', LONG, SAMPLE], /^fwdiag: --prefix: at most 128 characters, not 129$/],
    [['report', '--prefix', LONG, SAMPLE], /^fwdiag: --prefix: at most 128 characters, not 129$/],
    [['report', '--max-rows', '9999999999', SAMPLE], /^fwdiag: --max-rows: at most 100000, not 9999999999$/],
    [['report', '--burst-flows', '0', SAMPLE], /^fwdiag: --burst-flows: at least 1, not 0$/],
    [['analyze', '--ephemeral', '1-70000', SAMPLE], /^fwdiag: --ephemeral: bad port range "1-70000": at most 65535, not 70000$/],
    [['catalog', 'rke2', '--port', '70000'], /^fwdiag: --port: at most 65535, not 70000$/],
    [['trace', '--ruleset', 'x', '--family', '5', '-'], /^fwdiag: --family: expected 4 or 6, not "5"$/],
    [['compile', '--target', 'nft', '--platform', 'rke2', '--role', 'server', '--extra', ''], /^fwdiag: --extra: must not be empty$/],
  ])('%j', async (argv, message) => {
    const r = await fwdiag(argv);
    expect(r.err).not.toMatch(RAW);
    await expectUsage(argv, message);
  });
});

describe('catalog: a row filter without PLATFORM', () => {
  it.each([
    [['catalog', '--cni', 'cilium'], /^fwdiag: --cni: filters a platform's rows: give PLATFORM\[\/ROLE\]/],
    [['catalog', '--port', '22', '--proto', 'tcp'], /^fwdiag: --port, --proto: filter a platform's rows: give PLATFORM\[\/ROLE\]/],
    [['catalog', '--addon', 'none', '--json'], /^fwdiag: --addon: filters a platform's rows/],
  ])('%j is a usage error (the overview was printed, the filter ignored)', async (argv, message) => {
    await expectUsage(argv, message);
  });

  it('the overview and a platform\'s filtered rows still print', async () => {
    expect((await fwdiag(['catalog'])).code).toBe(0);
    expect((await fwdiag(['catalog', '--json'])).code).toBe(0);
    expect((await fwdiag(['catalog', 'cni', '--cni', 'cilium'])).code).toBe(0);
  });
});

describe('report --addon: its suggestions take the policy\'s addons as suggest does', () => {
  const exporter = 'Apr 22 10:00:00 node1 kernel: FWDIAG_DROP_IN=eth0 OUT= MAC=52:54:00:3a:7c:63:52:54:00:3a:7c:62:08:00 SRC=198.18.0.12 DST=198.18.0.11 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=40000 DPT=9796 WINDOW=64240 RES=0x00 SYN URGP=0 \n';
  const kinds = async (cmd: string[], extra: string[]) => {
    const r = await fwdiag([...cmd, '--platform', 'harvester', '--role', 'worker', ...extra], exporter);
    expect(r.code, r.err).toBe(0);
    return [...new Set(r.out.match(/"kind":"[a-z-]+"/g) ?? [])].filter((k) => /missing|addon/.test(k));
  };
  it('--addon none: node-exporter is an addon left out in both, a missing service in neither', async () => {
    expect(await kinds(['suggest', '--json'], ['--addon', 'none'])).toEqual(['"kind":"addon"']);
    expect(await kinds(['report', '--format', 'json'], ['--addon', 'none'])).toEqual(['"kind":"addon"']);
    expect(await kinds(['report', '--format', 'json'], [])).toEqual(['"kind":"missing"']);
  });
  it('--addon without --platform is a usage error, as the other suggestion flags', async () => {
    await expectUsage(['report', '--addon', 'none', SAMPLE], /are for suggestions: give --platform P too$/);
  });
});

/** analyze's options from its flags (never `help` here). */
function opts(argv: string[]): Exclude<ReturnType<typeof parseAnalyzeArgs>, 'help'> {
  const o = parseAnalyzeArgs(argv);
  if (o === 'help') throw new Error('help');
  return o;
}

// the live view runs suggest's engine (with --platform and --role) but analyze had no --addon: its suggestions always
// took the platform's default addons, whatever the policy's `addons` — node-exporter's 9796 proposed as a rule on a
// cluster whose policy leaves rancher-monitoring out
describe('analyze --addon (and bare fwdiag): the live view\'s suggestions take the policy\'s addons as suggest does', () => {
  const LIVE = ['--platform', 'harvester', '--role', 'worker'];
  it('parsed as suggest parses it: names, none, and the platform\'s default when not given', () => {
    expect(opts([...LIVE]).addons).toBeUndefined();
    expect(opts([...LIVE, '--addon', 'none']).addons).toEqual([]);
    expect(opts([...LIVE, '--addon', 'kubeovn-operator', '--addon', 'rancher-monitoring']).addons).toEqual(['kubeovn-operator', 'rancher-monitoring']);
  });
  it('reaches the live view\'s engine context, checked against the platform\'s addons', () => {
    expect(liveSuggestContext(opts([...LIVE]), undefined)?.addons).toBeUndefined();
    expect(liveSuggestContext(opts([...LIVE, '--addon', 'none']), undefined)?.addons).toEqual([]);
    expect(liveSuggestContext(opts([...LIVE, '--addon', 'kubeovn-operator']), undefined)?.addons).toEqual(['kubeovn-operator']);
    expect(() => liveSuggestContext(opts([...LIVE, '--addon', 'longhorn']), undefined))
      .toThrow(/^--addon: unknown addon "longhorn" for harvester \(addons: kubeovn-operator, rancher-monitoring\)$/);
    // without a role there is no engine: nothing to take them
    expect(liveSuggestContext(opts(['--platform', 'harvester']), undefined)).toBeUndefined();
  });
  it.each([
    [['analyze', ...LIVE, '--addon', 'none', '--addon', 'kubeovn-operator', SAMPLE], /^fwdiag: --addon none: no addon rows, not with --addon kubeovn-operator$/],
    [['analyze', ...LIVE, '--addon', 'Rancher', SAMPLE], /^fwdiag: --addon: expected a lower-case name \(a-z, 0-9, -\)$/],
    [['analyze', '--addon', 'none', SAMPLE], /^fwdiag: --addon goes with --platform and --role$/],
    [['analyze', '--platform', 'harvester', '--addon', 'none', SAMPLE], /^fwdiag: --addon goes with --platform and --role$/],
  ])('%j is a usage error', async (argv, msg) => {
    await expectUsage(argv, msg);
  });
  it('bare fwdiag (the live view\'s usual entry) takes it as analyze does', async () => {
    const r = await fwdiag([...LIVE, '--addon', 'none', '--addon', 'rancher-monitoring', SAMPLE]);
    expect(r.code, r.err).toBe(2);
    expect(r.err.split('\n')[0]).toBe('fwdiag: --addon none: no addon rows, not with --addon rancher-monitoring');
    const ok = await fwdiag(['--summary', ...LIVE, '--addon', 'none', SAMPLE]);
    expect(ok.code, ok.err).toBe(0);
  });
  it('outside the live view it does nothing, and the note on stderr names it', async () => {
    const r = await fwdiag(['analyze', '--summary', ...LIVE, '--addon', 'none', SAMPLE]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/^fwdiag analyze: only the live view uses --role, --addon \(/);
  });
});

// Outside the live view analyze only noted that --role, --host-role, --addon and --cni do nothing; an unknown one
// (a typo in a CI job's command) passed with exit 0 there and was refused only when someone opened the view. They are
// checked against the catalog in every mode, with suggest's message.
describe('analyze: --role, --host-role, --addon, --cni checked against the catalog outside the live view too', () => {
  it.each([
    [['--role', 'contol-plane']],
    [['--role', 'worker', '--host-role', 'harvester3=witnes']],
    [['--role', 'worker', '--addon', 'longhorn']],
    [['--role', 'worker', '--cni', 'weave']],
  ])('%j: exit 2 with suggest\'s message, in a pipe and with --summary or --json', async (flags) => {
    const s = await fwdiag(['suggest', '--json', '--platform', 'harvester', ...flags, SAMPLE]);
    expect(s.code, s.err).toBe(2);
    const msg = new RegExp(`^${s.err.split('\n')[0]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
    for (const mode of [[], ['--summary'], ['--json']]) {
      await expectUsage(['analyze', ...mode, '--platform', 'harvester', ...flags, SAMPLE], msg);
    }
  });
  it('known ones still pass with the note', async () => {
    const r = await fwdiag(['analyze', '--summary', '--platform', 'harvester', '--role', 'worker', '--host-role', 'harvester3=witness',
      '--addon', 'rancher-monitoring', '--cni', 'canal', SAMPLE]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/^fwdiag analyze: only the live view uses --role, --host-role, --addon, --cni \(/);
  });
});

// The live view runs suggest's engine, but analyze had none of suggest's scope flags: its context held no cluster
// subnet, no control plane, the platform's CNI and no unknown port, so the view proposed other sources (observed
// /32s) than `fwdiag suggest` for the same lines. analyze takes them, parsed and checked by suggest's helpers.
describe('analyze --cluster-subnet, --control-plane, --cni, --allow-unknown (and bare fwdiag): suggest\'s scope for the live view', () => {
  const LIVE = ['--platform', 'harvester', '--role', 'control-plane'];
  it('reach the live view\'s engine context as suggest puts them in its own', () => {
    const ctx = liveSuggestContext(opts([...LIVE, '--cluster-subnet', ' 198.18.0.0/16 ', '--control-plane', '198.18.0.11, 198.18.0.12,', '--control-plane', '198.18.1.0/28',
      '--cni', 'cilium', '--allow-unknown']), undefined);
    expect(ctx && { clusterSubnet: ctx.clusterSubnet, controlPlane: ctx.controlPlane, cni: ctx.cni, allowUnknown: ctx.allowUnknown }).toEqual({
      clusterSubnet: '198.18.0.0/16', controlPlane: ['198.18.0.11', '198.18.0.12', '198.18.1.0/28'], cni: 'cilium', allowUnknown: true,
    });
    const none = liveSuggestContext(opts([...LIVE]), undefined);
    expect(none && { clusterSubnet: none.clusterSubnet, controlPlane: none.controlPlane, cni: none.cni, allowUnknown: none.allowUnknown })
      .toEqual({ clusterSubnet: undefined, controlPlane: [], cni: undefined, allowUnknown: false });
  });
  it('an unknown CNI is refused where the engine is built, with suggest\'s message', async () => {
    const r = await fwdiag([...SUGGEST, '--json', '--cni', 'weave', SAMPLE]);
    expect(r.code).toBe(2);
    expect(() => liveSuggestContext(opts([...LIVE, '--cni', 'weave']), undefined)).toThrow(r.err.split('\n')[0]!.replace(/^fwdiag: /, ''));
  });
  it.each([
    ['--cluster-subnet', '198.18.40.10/24'],
    ['--cluster-subnet', '198.18.0.0/255.255.0.0'],
    ['--cluster-subnet', ''],
    ['--control-plane', ''],
    ['--control-plane', '198.18.0.11,198.18.0.300'],
    ['--cni', 'Calico'],
  ])('%s %j: the usage error suggest gives', async (f, value) => {
    const s = await fwdiag([...SUGGEST, '--json', f, value, SAMPLE]);
    expect(s.code, s.err).toBe(2);
    await expectUsage(['analyze', '--summary', ...LIVE, f, value, SAMPLE], new RegExp(`^${s.err.split('\n')[0]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
  });
  it.each([
    [['--cluster-subnet', '198.18.0.0/16'], /^fwdiag: --cluster-subnet goes with --platform and --role$/],
    [['--platform', 'harvester', '--control-plane', '198.18.0.11'], /^fwdiag: --control-plane goes with --platform and --role$/],
    [['--platform', 'harvester', '--cni', 'cilium', '--allow-unknown'], /^fwdiag: --cni, --allow-unknown go with --platform and --role$/],
  ])('%j without --role is a usage error', async (argv, msg) => {
    await expectUsage(['analyze', ...argv, SAMPLE], msg);
  });
  it('bare fwdiag (the live view\'s usual entry) takes them as analyze does', async () => {
    const r = await fwdiag([...LIVE, '--control-plane', '198.18.40.10/24', SAMPLE]);
    expect(r.code, r.err).toBe(2);
    expect(r.err.split('\n')[0]).toBe('fwdiag: --control-plane: 198.18.40.10/24 has host bits set; did you mean 198.18.40.0/24?');
    const ok = await fwdiag(['--summary', ...LIVE, '--cluster-subnet', '192.168.122.0/24', '--allow-unknown', SAMPLE]);
    expect(ok.code, ok.err).toBe(0);
  });
  it('outside the live view they do nothing, and the note on stderr names them', async () => {
    const r = await fwdiag(['analyze', '--summary', ...LIVE, '--cluster-subnet', '192.168.122.0/24', '--control-plane', '192.168.122.61',
      '--cni', 'canal', '--allow-unknown', SAMPLE]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/^fwdiag analyze: only the live view uses --role, --cluster-subnet, --control-plane, --cni, --allow-unknown \(/);
  });
});
