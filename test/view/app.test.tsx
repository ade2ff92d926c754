import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { formatTrace, parseRuleset, trace } from '../../src/ruleset/index.js';
import { render, cleanup } from 'ink-testing-library';
import stringWidth from 'string-width';
import { App, type AppProps } from '../../src/view/app.js';
import type { ViewStore } from '../../src/view/store.js';
import type { Classifier } from '../../src/classify/classifier.js';
import { blockedPorts, feed, fixtureLines, scanners, SAMPLE } from './helpers.js';
import { createClassifier } from '../../src/classify/classifier.js';
import { createViewStore } from '../../src/view/store.js';
import { endpoint } from '../../src/view/format.js';
import { flowDetails } from '../../src/view/components/Details.js';
import { mulberry32 } from '../../bench/corpus.mjs';
import { mutator } from '../fuzz/mutate.mjs';

const sample = fixtureLines(SAMPLE);
const tick = (ms = 80): Promise<void> => new Promise((r) => setTimeout(r, ms));

const KEY = { down: '\u001b[B', up: '\u001b[A', tab: '\t', enter: '\r', esc: '\u001b', pageDown: '\u001b[6~', ctrlC: '\u0003' };

interface Mounted {
  /** makes the test terminal `columns` wide (Ink's test stdout says 100) and lets the view reflow */
  resize: (columns: number) => Promise<string>;
  store: ViewStore;
  classifier: Classifier;
  frame: () => string;
  press: (...keys: string[]) => Promise<string>;
  quits: number[];
  writes: number[];
  unmount: () => void;
}

async function mount(lines: string[], extra: Partial<AppProps> = {}): Promise<Mounted> {
  const { store, classifier } = feed(lines);
  store.flush();
  const quits: number[] = [];
  const writes: number[] = [];
  const ui = render(
    <App
      store={store}
      color={false}
      keys
      describe={(f) => classifier.flowSummary(f).reason}
      onQuit={() => quits.push(1)}
      onWrite={() => writes.push(1)}
      fallbackSize={{ columns: 120, rows: 40 }}
      {...extra}
    />,
  );
  await tick();
  const frame = (): string => ui.lastFrame() ?? '';
  return {
    store,
    classifier,
    frame,
    quits,
    writes,
    resize: async (columns) => {
      Object.defineProperty(ui.stdout, 'columns', { value: columns, configurable: true });
      ui.stdout.emit('resize');
      await tick();
      return frame();
    },
    unmount: () => {
      ui.unmount();
      store.dispose();
    },
    press: async (...keys) => {
      for (const k of keys) {
        ui.stdin.write(k);
        await tick();
      }
      return frame();
    },
  };
}

/** The flows table's lines (after its title and column header, before the suggestions), blank padding included. */
function tableArea(frame: string): string[] {
  const lines = frame.split('\n');
  const start = lines.findIndex((l) => l.includes('verdict') && l.includes('server:port'));
  const end = lines.findIndex((l) => l.includes('Suggestions ('));
  return lines.slice(start + 1, end);
}
const tableLines = (frame: string): string[] => tableArea(frame).filter((l) => l.trim() !== '');
/** How many rows the table has room for, and how many it says it shows. */
function shown(frame: string): { room: number; shown: number } {
  const m = /Flows: (\d+) shown/.exec(frame);
  return { room: tableArea(frame).length, shown: Number(m?.[1]) };
}

function detailsLines(frame: string): string[] {
  const lines = frame.split('\n');
  const start = lines.findIndex((l) => l.trim() === 'Details');
  return lines.slice(start + 1);
}

afterEach(() => cleanup());

describe('live view App', () => {
  it('shows the counters, the flows and the suggestions of the fixture, noise collapsed', async () => {
    const m = await mount(sample);
    const s = m.classifier.end();
    const f = m.frame();
    expect(f).toMatch(new RegExp(`genuine-block\\s+${s.summary['genuine-block']}\\b`));
    expect(f).toMatch(new RegExp(`conntrack-loss\\s+${s.summary['conntrack-loss']}\\b`));
    expect(f).toMatch(new RegExp(`scan\\s+${s.summary.scan}\\b`));
    expect(f).toContain(`${sample.length} lines`);
    const noise = s.flows.filter((x) => x.verdict === 'conntrack-loss' && !x.persistent).length;
    expect(noise).toBeGreaterThan(0);
    expect(f).toContain(`${noise} noise hidden (c)`);
    const rows = tableLines(f);
    expect(shown(f).shown).toBe(s.flows.length - noise);
    expect(rows.length).toBe(Math.min(s.flows.length - noise, shown(f).room));
    expect(f).toContain(`shown of ${s.flows.length}`);
    expect(f).toContain('Suggestions (');
    const blocked = blockedPorts(s.flows);
    expect(f).toContain(`Suggestions (${blocked.size})`);
    for (const sug of m.store.getSnapshot().suggestions.slice(0, 3)) {
      expect(blocked.has(`${sug.proto}/${sug.ports[0]}`)).toBe(true);
      expect(f).toContain(sug.rendered.slice(0, 60));
    }
    // the first row is selected and described
    expect(rows[0]!.startsWith('› ')).toBe(true);
    m.unmount();
  });

  it('the header counts the LOG lines --prefix left out, once there are any', async () => {
    const m = await mount(sample);
    expect(m.frame()).not.toContain('other-prefix');
    m.store.setOtherPrefix(1234);
    await tick(150);
    expect(m.frame()).toMatch(/parse issues? │ 1234 other-prefix left out │/);
    m.unmount();
  });

  it('c shows the noise; v cycles the verdict filter', async () => {
    const m = await mount(sample);
    const s = m.classifier.end();
    let f = await m.press('c');
    expect(shown(f).shown).toBe(s.flows.length);
    expect(tableLines(f).length).toBe(Math.min(s.flows.length, shown(f).room));
    expect(f).toContain('noise shown (c)');
    f = await m.press('v');
    expect(f).toContain('verdict: genuine-block (v)');
    const blocks = s.flows.filter((x) => x.verdict === 'genuine-block');
    const rows = tableLines(f);
    expect(rows.length).toBe(blocks.length);
    expect(rows.every((r) => /^. genuine-block/.test(r))).toBe(true);
    f = await m.press('v');
    expect(f).toContain('verdict: scan (v)');
    expect(tableLines(f).length).toBe(s.flows.filter((x) => x.verdict === 'scan').length);
    expect([...scanners(s.flows)].some((a) => tableLines(f)[0]!.includes(` ${a} `))).toBe(true);
    m.unmount();
  });

  it('LAN chatter: a broadcast counter line once there is some, its flows hidden as noise, a verdict filter of its own', async () => {
    const without = await mount(sample);
    expect(without.frame()).not.toMatch(/^broadcast\s/m);
    const room = shown(without.frame()).room;
    without.unmount();
    const chatter = [
      'Apr 22 10:50:01 harvester3 kernel: HARVESTER_DROP_IN=mgmt-br OUT= MAC=ff:ff:ff:ff:ff:ff:52:54:00:11:22:33:08:00 SRC=192.168.122.50 DST=192.168.122.255 LEN=78 TOS=0x00 PREC=0x00 TTL=64 ID=1 PROTO=UDP SPT=137 DPT=137 LEN=58 ',
      'Apr 22 10:50:02 harvester3 kernel: HARVESTER_DROP_IN=mgmt-br OUT= MAC=01:00:5e:00:00:fb:52:54:00:11:22:33:08:00 SRC=192.168.122.50 DST=224.0.0.251 LEN=68 TOS=0x00 PREC=0x00 TTL=255 ID=0 DF PROTO=UDP SPT=5353 DPT=5353 LEN=48 ',
    ];
    const m = await mount([...sample, ...chatter]);
    const s = m.classifier.end();
    expect(s.summary.broadcast).toBe(2);
    let f = m.frame();
    expect(f).toMatch(/^broadcast\s+2\b/m);
    // the counters take a line more, the table one less
    expect(shown(f).room).toBe(room - 1);
    const noise = s.flows.filter((x) => (x.verdict === 'conntrack-loss' && !x.persistent) || x.verdict === 'broadcast').length;
    expect(f).toContain(`${noise} noise hidden (c)`);
    expect(tableLines(f).some((r) => /^. broadcast/.test(r))).toBe(false);
    f = await m.press('c', 'v', 'v', 'v', 'v', 'v');
    expect(f).toContain('verdict: broadcast (v)');
    expect(tableLines(f).map((r) => r.replace(/^[›\s]+/, '').split(/\s+/).slice(0, 4).join(' ')).sort()).toEqual([
      'broadcast harvester3 udp 192.168.122.255:137', 'broadcast harvester3 udp 224.0.0.251:5353',
    ]);
    m.unmount();
  });

  it('v to broadcast shows the broadcast flows without c, as v to conntrack-loss shows its noise', async () => {
    const chatter = [
      'Apr 22 10:50:01 harvester3 kernel: HARVESTER_DROP_IN=mgmt-br OUT= MAC=ff:ff:ff:ff:ff:ff:52:54:00:11:22:33:08:00 SRC=192.168.122.50 DST=192.168.122.255 LEN=78 TOS=0x00 PREC=0x00 TTL=64 ID=1 PROTO=UDP SPT=137 DPT=137 LEN=58 ',
      'Apr 22 10:50:02 harvester3 kernel: HARVESTER_DROP_IN=mgmt-br OUT= MAC=01:00:5e:00:00:fb:52:54:00:11:22:33:08:00 SRC=192.168.122.50 DST=224.0.0.251 LEN=68 TOS=0x00 PREC=0x00 TTL=255 ID=0 DF PROTO=UDP SPT=5353 DPT=5353 LEN=48 ',
    ];
    const m = await mount([...sample, ...chatter]);
    let f = await m.press('v', 'v', 'v', 'v');
    expect(f).toContain('verdict: conntrack-loss (v)');
    const ct = m.classifier.end().flows.filter((x) => x.verdict === 'conntrack-loss').length;
    expect(shown(f).shown).toBe(ct);
    f = await m.press('v');
    expect(f).toContain('verdict: broadcast (v)');
    expect(f).not.toContain('noise hidden');
    expect(shown(f).shown).toBe(2);
    expect(tableLines(f).filter((r) => /^. broadcast/.test(r)).length).toBe(2);
    m.unmount();
  });

  it('an empty table says why: no flows yet, noise hidden, or no flow matching the filters', async () => {
    const none = await mount([]);
    expect(none.frame()).toContain('(no flows yet)');
    none.unmount();
    // the upgrade's first 200 lines are lost-state noise only
    const m = await mount(sample.slice(0, 200));
    const s = m.classifier.end();
    expect(s.summary['conntrack-loss']).toBeGreaterThan(100);
    const noise = s.flows.filter((x) => x.verdict === 'conntrack-loss' && !x.persistent).length;
    expect(noise).toBe(s.flows.length);
    let f = m.frame();
    expect(shown(f).shown).toBe(0);
    // it said "(no flows yet)" under a conntrack-loss counter of 192
    expect(f).not.toContain('no flows yet');
    expect(f).toContain(`(none shown: ${noise} noise hidden — c shows them)`);
    f = await m.press('v');
    expect(f).toContain('verdict: genuine-block (v)');
    expect(f).toContain('(no flow matches the filters — Esc clears them)');
    f = await m.press(KEY.esc);
    expect(f).toContain('verdict: all (v)');
    f = await m.press('c');
    expect(shown(f).shown).toBe(s.flows.length);
    m.unmount();
  });

  it('/ filters by port text; Esc clears', async () => {
    const m = await mount(sample);
    let f = await m.press('/', '2', '3', '8', '0');
    expect(f).toContain('/2380▏');
    f = await m.press(KEY.enter);
    expect(f).toContain('filter: "2380"');
    const rows = tableLines(f);
    // noise stays collapsed under a filter (the title counts it)
    const want = m.classifier.end().flows.filter((x) => x.serverPort === 2380 && !(x.verdict === 'conntrack-loss' && !x.persistent)).length;
    expect(want).toBeGreaterThan(0);
    expect(rows.length).toBe(want);
    expect(rows.every((r) => r.includes(':2380'))).toBe(true);
    f = await m.press(KEY.esc);
    expect(f).not.toContain('filter: "2380"');
    m.unmount();
  });

  it('arrows move the selection and the details follow it', async () => {
    const m = await mount(sample);
    const first = detailsLines(m.frame())[0]!;
    let f = await m.press(KEY.down);
    const rows = tableLines(f);
    expect(rows[1]!.startsWith('› ')).toBe(true);
    expect(rows[0]!.startsWith('  ')).toBe(true);
    const second = detailsLines(f)[0]!;
    expect(second).not.toBe(first);
    // the details name the selected flow's client and server
    const sel = m.store.getSnapshot().rows.filter((r) => !r.noise)[1]!;
    expect(second).toContain(sel.client);
    expect(second).toContain(`${sel.server}`);
    expect(detailsLines(f).join('\n')).toContain('evidence (first and latest');
    expect(detailsLines(f).join('\n')).toContain('trace: no --ruleset given');
    f = await m.press(KEY.up);
    expect(detailsLines(f)[0]).toBe(first);
    m.unmount();
  });

  it('keys that arrive together (a held-down key, typing while busy, a paste) each count, in order', async () => {
    const one = await mount(sample);
    let f = '';
    for (let i = 0; i < 3; i++) f = await one.press(KEY.down);
    const third = tableLines(f).findIndex((r) => r.startsWith('› '));
    expect(third).toBe(3);
    one.unmount();
    for (const burst of ['jjj', `${KEY.down}${KEY.down}${KEY.down}`]) {
      const m = await mount(sample);
      f = await m.press(burst);
      expect(tableLines(f).findIndex((r) => r.startsWith('› ')), JSON.stringify(burst)).toBe(third);
      m.unmount();
    }
    const m = await mount(sample);
    const v = async (keys: string) => (await m.press(keys)).match(/verdict: (\S+)/)?.[1];
    const cycled = [await v('v'), await v('v')];
    await m.press('vvvv');
    expect(await v('vv')).toBe(cycled[1]);
    // `/` then text and Enter in one go: the filter takes the text
    f = await m.press(`${KEY.esc}`);
    f = await m.press('/2380\r');
    expect(f).toContain('filter: "2380"');
    expect(tableLines(f).length).toBeGreaterThan(0);
    expect(tableLines(f).every((r) => r.includes(':2380'))).toBe(true);
    // a key after the quit key's neighbours still quits
    await m.press('jq');
    expect(m.quits).toEqual([1]);
    m.unmount();
  });

  it('no line is wider than the terminal: wide characters in log text, 40 to 120 columns; counts are never cut', async () => {
    // a host of CJK characters (two columns each) and an emoji prefix, as a syslog relay may pass them
    const wide = sample.map((l, i) => (i % 3 === 0 ? l.replace(/^(\w{3} +\d+ [\d:]+) \S+ /, '$1 wide漢字漢字漢字漢字漢字漢字 ').replace('HARVESTER_DROP_', '🔥HARVESTER_DROP_') : l));
    for (const cols of [40, 42, 45, 60, 120]) {
      const m = await mount(wide, { fallbackSize: { columns: cols, rows: 40 } });
      for (const f of [await m.resize(cols), await m.press('c'), await m.press(KEY.tab)]) {
        const lines = f.split('\n');
        expect(lines.length, `${cols} columns`).toBeLessThanOrEqual(40);
        for (const l of lines) expect(stringWidth(l), `${cols} columns: ${l}`).toBeLessThanOrEqual(cols);
        // each counter's number whole: the genuine-block count of the sample is 196
        expect(f, `${cols} columns`).toMatch(/\b196\b/);
      }
      m.unmount();
    }
    // the table's cells line up: the count column of a row with a wide host ends where the others' do
    const m = await mount(wide, { fallbackSize: { columns: 120, rows: 40 } });
    const rows = tableLines(await m.press('c')).filter((r) => r.trim() !== '');
    expect(new Set(rows.map((r) => stringWidth(r.trimEnd()))).size).toBe(1);
    m.unmount();
  });

  it('an empty suggestions panel\'s note is cut to the width as every other line (it was a column wider: the whole terminal)', async () => {
    const m = await mount(sample);
    const note = 'none: no ACCEPT to propose (unknown ports, other roles, sources outside the catalog scope: fwdiag suggest says which)';
    m.store.setSuggestions([], note);
    m.store.flush();
    for (const cols of [60, 80, 100]) {
      const line = (await m.resize(cols)).split('\n').find((l) => l.startsWith('  (none: no ACCEPT'))!;
      expect(stringWidth(line), `${cols} columns`).toBe(cols - 1);
      expect(line.endsWith('…'), `${cols} columns`).toBe(true);
    }
    m.unmount();
  });

  it('at 60 and 80 columns every row still shows its server\'s port: a cut address keeps its end', async () => {
    // the port was the first thing cut: `192.16… 192.…` on every row at 60 columns, `192.168.122.63:84…` at 80
    for (const cols of [60, 80, 100]) {
      const m = await mount(sample, { fallbackSize: { columns: cols, rows: 60 } });
      const f = (await m.resize(cols), await m.press('c'));
      const lines = tableLines(f);
      const rows = m.store.getSnapshot().rows.slice(0, lines.length);
      expect(rows.length, `${cols} columns`).toBeGreaterThan(10);
      rows.forEach((r, i) => {
        const line = lines[i]!;
        expect(stringWidth(line), `${cols} columns: ${line}`).toBeLessThanOrEqual(cols);
        if (r.serverPort !== null) expect(line, `${cols} columns`).toMatch(new RegExp(`[.\\]…]\\d*:${r.serverPort} `));
        // the client's last octet or group is there too
        expect(line, `${cols} columns`).toContain(`${r.client.split(/[.:]/).pop()!} `);
      });
      // 80 columns and more: whole IPv4 addresses
      if (cols >= 80) for (const [i, r] of rows.entries()) expect(lines[i]).toContain(`${endpoint(r.server, r.serverPort)} `);
      m.unmount();
    }
  });

  it('on a short terminal (a split pane) the header and counters stay: the details go first, then the suggestions', async () => {
    // with a floor of 16 rows the frame outgrew a 14-row pane and the header and counters were what scrolled off
    const s = feed(sample).classifier.end().summary;
    for (const rows of [11, 14, 18, 19, 24, 40]) {
      const m = await mount(sample, { fallbackSize: { columns: 80, rows } });
      const f = await m.press();
      const lines = f.split('\n');
      expect(lines.length, `${rows} rows:\n${f}`).toBeLessThanOrEqual(rows - 1);
      expect(lines[0], `${rows} rows`).toContain('fwdiag live');
      expect(f, `${rows} rows`).toMatch(new RegExp(`genuine-block\\s+${s['genuine-block']}\\b`));
      expect(f, `${rows} rows`).toContain('q quit');
      expect(tableLines(f).length, `${rows} rows`).toBeGreaterThanOrEqual(3);
      expect(f.includes('Details'), `${rows} rows`).toBe(rows >= 19);
      expect(f.includes('Suggestions ('), `${rows} rows`).toBe(rows >= 14);
      // Tab does not move the keys to a panel that is not there
      const t = await m.press(KEY.tab);
      expect(t.includes('▶ Flows'), `${rows} rows`).toBe(rows < 14);
      m.unmount();
    }
  });

  it('Tab switches to the suggestions; the details show the scope', async () => {
    const m = await mount(sample);
    const f = await m.press(KEY.tab);
    expect(f).toContain('▶ Suggestions');
    const s = m.store.getSnapshot().suggestions[0]!;
    const d = detailsLines(f).join('\n');
    expect(d).toContain(s.rendered.slice(0, 60));
    expect(d).toContain(`scope (sources): ${s.sources.join(', ')}`);
    m.unmount();
  });

  it('an addon to enable (analyze --addon): the details say so, not that w writes it as a rule', async () => {
    const m = await mount(sample);
    m.store.setSuggestions([{
      proto: 'tcp', ports: [9796], sources: ['198.18.0.12/32'], service: 'node-exporter', addon: 'rancher-monitoring', reason: 'engine',
      rendered: 'enable addon rancher-monitoring (policy addons): tcp/9796 (node-exporter) from 198.18.0.12/32',
    }]);
    m.store.flush();
    // (the line wraps: words joined again)
    const d = detailsLines(await m.press(KEY.tab)).join(' ').replace(/\s+/g, ' ');
    expect(d).toContain('fix: enable rancher-monitoring in the policy\'s addons (compile then opens its ports); w writes no rule for it');
    expect(d).not.toContain('w writes all suggestions');
    m.unmount();
  });

  it('without the engine (no --platform/--role) a suggestion\'s details say why: the reason of its busiest flow', async () => {
    const m = await mount(sample);
    const f = await m.press(KEY.tab);
    const s = m.store.getSnapshot().suggestions[0]!;
    // the group's busiest genuine-block flow (the interim list takes its reason)
    const busiest = m.store.getSnapshot().rows
      .filter((r) => r.verdict === 'genuine-block' && r.proto === s.proto && s.ports.includes(r.serverPort!))
      .sort((a, b) => b.count - a.count)[0]!;
    const reason = m.classifier.flowSummary(busiest.flow).reason;
    const why = detailsLines(f).find((l) => l.startsWith('why:'));
    // it said `why:` and nothing more: the flow's reason is built when first asked for, and nobody asked
    expect(why!.length).toBeGreaterThan('why: '.length + 20);
    expect(why).toBe(`why: ${reason}`.slice(0, why!.length).trimEnd());
    m.unmount();
  });


  it('the selected suggestion stays selected when the list re-sorts under it', async () => {
    const m = await mount(sample);
    const before = m.store.getSnapshot().suggestions;
    expect(before.length).toBeGreaterThanOrEqual(2);
    // the last (the least packets): a busier port sorts above it
    await m.press(KEY.tab);
    const f0 = await m.press(...before.slice(1).map(() => KEY.down));
    const chosen = before.at(-1)!;
    expect(detailsLines(f0).join('\n')).toContain(chosen.rendered.slice(0, 60));
    // a busier blocked port arrives: its suggestion sorts above the chosen one
    const syns = Array.from({ length: 30 }, (_, i) =>
      `Apr 22 10:30:${String(i).padStart(2, '0')} harvester3 kernel: HARVESTER_DROP_IN=mgmt-br OUT= ` +
      'MAC=52:54:00:3a:7c:63:52:54:00:3a:7c:62:08:00 SRC=192.168.122.62 DST=192.168.122.63 LEN=60 TOS=0x00 PREC=0x00 ' +
      `TTL=64 ID=0 DF PROTO=TCP SPT=${41000 + i} DPT=10250 WINDOW=64240 RES=0x00 SYN URGP=0 `);
    feed(syns, {}, { store: m.store, classifier: m.classifier, lines: sample.length, issues: 0 });
    m.store.flush();
    await m.press();
    const after = m.store.getSnapshot().suggestions;
    const at = after.findIndex((s) => s.rendered === chosen.rendered);
    // the list did re-sort under the selection (kubelet's port is new, above it)
    expect(at).toBe(before.length);
    expect(after.slice(0, at).some((s) => s.ports.includes(10250))).toBe(true);
    const d = detailsLines(m.frame()).join('\n');
    expect(d).toContain(chosen.rendered.slice(0, 60));
    // and the keys move on from where it is now
    const f2 = await m.press(KEY.up);
    expect(detailsLines(f2).join('\n')).toContain(after[at - 1]!.rendered.slice(0, 60));
    m.unmount();
  });
  it('s sorts by packets: the busiest flow comes first', async () => {
    const m = await mount(sample);
    const f = await m.press('s', 'c');
    expect(f).toContain('sort: most packets');
    const busiest = m.classifier.end().flows.reduce((a, b) => (b.count > a.count ? b : a));
    expect(tableLines(f)[0]).toContain(String(busiest.count));
    expect(tableLines(f)[0]).toContain(busiest.client);
    m.unmount();
  });

  it('p pauses: the table holds still while counters go on', async () => {
    const half = Math.floor(sample.length / 2);
    const m = await mount(sample.slice(0, half));
    const f0 = await m.press('p');
    expect(f0).toContain('PAUSED');
    feed(sample.slice(half), {}, { store: m.store, classifier: m.classifier, lines: half, issues: 0 });
    m.store.flush();
    await m.press();
    await new Promise((r) => setTimeout(r, 50));
    const f1 = m.frame();
    expect(tableLines(f1)).toEqual(tableLines(f0));
    expect(f1).toContain(`${sample.length} lines`);
    const f2 = await m.press('p');
    expect(f2).not.toContain('PAUSED');
    m.unmount();
  });

  it('s while paused sorts the held table as the title says', async () => {
    const m = await mount(sample);
    await m.press('p');
    const f = await m.press('s', 'c');
    expect(f).toContain('PAUSED');
    expect(f).toContain('sort: most packets');
    const counts = tableLines(f).map((r) => Number(/\s(\d+)\s+\d\d:\d\d:\d\d$/.exec(r)?.[1]));
    expect(counts.every((n) => Number.isFinite(n))).toBe(true);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    const busiest = m.classifier.end().flows.reduce((a, b) => (b.count > a.count ? b : a));
    expect(tableLines(f)[0]).toContain(busiest.client);
    m.unmount();
  });

  it('w asks for the fragment, ? shows help, q and Ctrl-C quit', async () => {
    const m = await mount(sample);
    await m.press('w');
    expect(m.writes.length).toBe(1);
    m.store.setStatus('wrote 3 rules to /tmp/x.yaml');
    await m.press();
    expect(m.frame()).toContain('wrote 3 rules to /tmp/x.yaml');
    let f = await m.press('?');
    expect(f).toContain('cycle the verdict filter');
    f = await m.press('x');
    expect(f).not.toContain('cycle the verdict filter');
    await m.press('q');
    expect(m.quits.length).toBe(1);
    await m.press(KEY.ctrlC);
    expect(m.quits.length).toBe(2);
    m.unmount();
  });

  it('q on the help screen closes it, as any key does (the help says so; it quit the view); Ctrl-C still quits', async () => {
    const m = await mount(sample);
    let f = await m.press('?');
    expect(f).toContain('any key closes it');
    f = await m.press('q');
    expect(m.quits.length).toBe(0);
    expect(f).not.toContain('cycle the verdict filter');
    await m.press('?');
    await m.press(KEY.ctrlC);
    expect(m.quits.length).toBe(1);
    m.unmount();
  });

  it('w\'s message keeps the file name on a narrow terminal: the directory gives way, not the name', async () => {
    const m = await mount(sample);
    const path = '/home/operator/incidents/2026-04-22-harvester/fwdiag-extra-20260422T110000Z.yaml';
    m.store.setStatus(`wrote 2 rules to ${path}`);
    m.store.setPaused(true);
    for (const cols of [60, 80, 100]) {
      const line = (await m.resize(cols)).split('\n')[1]!;
      expect(stringWidth(line), `${cols} columns`).toBeLessThanOrEqual(cols - 1);
      expect(line, `${cols} columns`).toMatch(/^PAUSED \(p resumes\) · wr/);
      // it said `… · wrote 2 rules to /home/operator/incidents/2026-04-…`: where, but not what
      expect(line, `${cols} columns`).toContain('/fwdiag-extra-20260422T110000Z.yaml');
    }
    // room for it all: as it was
    expect((await m.resize(160)).split('\n')[1]).toBe(`PAUSED (p resumes) · wrote 2 rules to ${path}`);
    m.unmount();
  });

  it('never puts log control characters on the screen', async () => {
    const evil = `Apr 22 10:00:00 node1 kernel: \u001b]0;pwned\u0007\u001b[2JEVIL_IN=eth0 OUT= MAC=02:00:c6:12:00:02:02:00:c6:12:00:01:08:00 SRC=198.18.0.9 DST=198.19.0.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40000 DPT=2222 WINDOW=64240 RES=0x00 SYN URGP=0 `;
    const m = await mount([evil]);
    const f = m.frame();
    expect(tableLines(f).length).toBe(1);
    const d = detailsLines(f).join('\n');
    expect(d).toContain('\\x1b]0;pwned\\x07\\x1b[2JEVIL_IN=eth0');
    expect(f).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    m.unmount();
  });

  it('never puts log control characters on the screen, for any of 600 mutated lines, in any panel', async () => {
    const rnd = mulberry32(11);
    const mutate = mutator(rnd);
    const lines = Array.from({ length: 600 }, () => mutate(sample[Math.floor(rnd() * sample.length)] as string));
    const m = await mount(lines);
    // every frame: the table (all flows shown, noise too), rows walked down, the suggestions panel and its details
    const frames = [m.frame(), await m.press('c')];
    for (let i = 0; i < 12; i++) frames.push(await m.press(KEY.down));
    frames.push(await m.press(KEY.pageDown), await m.press(KEY.tab), await m.press(KEY.down), await m.press(KEY.down));
    expect(tableLines(frames[1] as string).length).toBeGreaterThan(5);
    for (const f of frames) expect(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/.exec(f)?.[0]).toBeUndefined();
    m.unmount();
  });

  it('shows the trace through the --ruleset for the selected flow, verdict first', async () => {
    const r = parseRuleset(readFileSync(new URL('../../fixtures/rulesets/harvester-control-plane.iptables-save', import.meta.url), 'utf8'));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const model = r.value;
    const m = await mount(sample, { trace: (e) => formatTrace(trace(model, e)) });
    const f = await m.press('v'); // genuine blocks: the ones worth a trace
    const d = detailsLines(f).join('\n');
    const row = m.store.getSnapshot().rows.find((x) => x.verdict === 'genuine-block')!;
    const want = formatTrace(trace(model, row.latest!));
    expect(d).toContain('trace of the latest packet through --ruleset:');
    const verdictLine = want.find((l) => l.startsWith('verdict'))!;
    expect(d).toContain(verdictLine.slice(0, 60));
    // the verdict comes before the packet line, whatever order formatTrace uses
    expect(d.indexOf(verdictLine.slice(0, 30))).toBeLessThan(d.indexOf('packet   IPv'));
    m.unmount();
  });

  it('a short details pane never ends on a heading with nothing under it: the reason gives way first', () => {
    const { store, classifier } = feed(sample);
    store.flush();
    const rows = store.getSnapshot().rows;
    const describe = (f: Parameters<typeof classifier.flowSummary>[0]) => classifier.flowSummary(f).reason;
    const traceOf = () => ['verdict: DROP', 'logged by: -A INPUT -j LOG', 'packet: tcp', 'path: INPUT'];
    let checked = 0;
    for (const row of rows.slice(0, 8)) {
      for (const trace of [undefined, traceOf]) {
        for (let h = 4; h <= 9; h++) {
          const shown = flowDetails(row, 60, h, describe, trace).slice(0, h);
          expect(shown.at(-1), `${row.key} h=${h} trace=${trace !== undefined}: ${JSON.stringify(shown)}`).not.toMatch(/:$/);
          // the evidence keeps a line when it has one
          if (row.evidence.length > 0) expect(shown.some((l) => l.startsWith('  ') && !l.startsWith('   ')), JSON.stringify(shown)).toBe(true);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(40);
    store.dispose();
  });

  it('a flow without a sampled packet yet (its row made again with the event budget spent) says so, not an empty list', () => {
    const { store, classifier } = feed(sample);
    store.flush();
    const row = store.getSnapshot().rows[0]!;
    const bare = { ...row, evidence: [] as string[], latest: null };
    const lines = flowDetails(bare, 100, 14, (f) => classifier.flowSummary(f).reason, undefined);
    expect(lines.join('\n')).toContain('evidence: none sampled yet');
    expect(lines.join('\n')).not.toContain('evidence (first and latest');
    const traced = flowDetails(bare, 100, 14, (f) => classifier.flowSummary(f).reason, () => ({ lines: [] }) as never);
    expect(traced.join('\n')).toContain('trace: no packet sampled yet');
    store.dispose();
  });

  it('says so when no --ruleset was given', async () => {
    const m = await mount(sample);
    expect(detailsLines(m.frame()).join('\n')).toContain('trace: no --ruleset given');
    m.unmount();
  });
});

describe('scan rows', () => {
  it('show a port count that is a lower bound as "256+ ports"', async () => {
    // two scanners sweeping 300 ports each, one port bitmap for both (classifier option maxPortBitmaps)
    const sweep = (src: string) => Array.from({ length: 300 }, (_, i) =>
      `Apr 22 10:00:${String(i % 50).padStart(2, '0')} node1 kernel: DROP_IN=eth0 OUT= MAC=02:00:c6:12:00:02:02:00:c6:12:00:01:08:00 SRC=${src} DST=198.19.0.1 LEN=44 TOS=0x00 PREC=0x00 TTL=41 ID=1 PROTO=TCP SPT=40001 DPT=${2000 + i} WINDOW=1024 RES=0x00 SYN URGP=0 `);
    const classifier = createClassifier({ maxPortBitmaps: 1 });
    const store = createViewStore({ notifyMs: 100 });
    feed([...sweep('198.18.7.1'), ...sweep('198.18.7.2')], {}, { store, classifier, lines: 0, issues: 0 });
    store.flush();
    const rows = store.getSnapshot().rows.filter((r) => r.verdict === 'scan');
    expect(rows.map((r) => [r.client, r.ports, r.portsAtLeast]).sort()).toEqual([['198.18.7.1', 300, false], ['198.18.7.2', 256, true]]);
    const ui = render(
      <App store={store} color={false} keys describe={(f) => classifier.flowSummary(f).reason} onQuit={() => undefined} onWrite={() => undefined} fallbackSize={{ columns: 120, rows: 40 }} />,
    );
    await tick();
    const frame = ui.lastFrame() ?? '';
    expect(frame).toMatch(/256\+ ports +198\.18\.7\.2 /);
    expect(frame).toMatch(/300 ports +198\.18\.7\.1 /);
    ui.unmount();
    store.dispose();
  });
});
