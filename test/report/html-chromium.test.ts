/**
 * The HTML report in a real headless Chromium (Debian's `chromium`, driven by playwright-core): the page loads
 * with no console error and no request beyond itself, the timeline charts rendered (SVG bars with real size), and a
 * screenshot is saved under test-output/ for a human to look at.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext } from 'playwright-core';
import { buildReportFromInputs, parseReportArgs, renderReport, type ReportCliOptions } from '../../src/cli/report.js';
import { INCIDENT, KMSG, ROOT, SAMPLE, memoryIO } from './helpers.js';

const OUT = join(ROOT, 'test-output');
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

let browser: BrowserContext;
let profile: string;

beforeAll(async () => {
  profile = mkdtempSync(join(tmpdir(), 'fwdiag-chromium-'));
  // a fresh profile per run: playwright wants it as launchPersistentContext's argument, not as --user-data-dir
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1200, height: 900 },
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
    ],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  rmSync(profile, { recursive: true, force: true });
});

async function htmlReport(argv: string[], name: string): Promise<string> {
  const r = await buildReportFromInputs(parseReportArgs(argv) as ReportCliOptions, memoryIO().io);
  mkdirSync(OUT, { recursive: true });
  const file = join(OUT, `${name}.html`);
  writeFileSync(file, renderReport(r, 'html'));
  return file;
}

interface Bar { cls: string; w: number; h: number }

async function open(file: string, shot: string) {
  const page = await browser.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  const charts = await page.$$eval('svg.chart', (els) => els.map((e) => {
    const b = e.getBoundingClientRect();
    return { w: b.width, h: b.height, title: e.getAttribute('aria-label') ?? '' };
  }));
  const bars: Bar[] = await page.$$eval('svg.chart rect.bar', (els) => els.map((e) => {
    // runs in the page: an SVG element (the DOM types are not in this project's lib)
    const b = (e as unknown as { getBBox(): { width: number; height: number } }).getBBox();
    return { cls: e.getAttribute('class') ?? '', w: b.width, h: b.height };
  }));
  const windows = await page.$$eval('#overview rect.win', (els) => els.length);
  const verdict = await page.textContent('#verdict');
  const png = join(OUT, shot);
  await page.screenshot({ path: png, fullPage: true });
  await page.close();
  return { errors, requests, charts, bars, windows, verdict, png };
}

describe('HTML report in headless Chromium', () => {
  it('renders the sample: overview + one chart per host, bars stacked by verdict, windows shaded', async () => {
    const file = await htmlReport([SAMPLE, '--platform', 'harvester', '--role', 'control-plane'], 'report-harvester-upgrade');
    const p = await open(file, 'report-harvester-upgrade.png');
    expect(p.errors).toEqual([]);
    // nothing but the file itself: no external asset
    expect(p.requests).toEqual([pathToFileURL(file).href]);
    expect(p.charts.map((c) => c.title)).toEqual(['all hosts — drops per 1 min', 'harvester1', 'harvester2', 'harvester3']);
    for (const c of p.charts) {
      expect(c.w).toBeGreaterThan(200);
      expect(c.h).toBeGreaterThan(80);
    }
    expect(p.bars.length).toBeGreaterThan(50);
    for (const b of p.bars) {
      expect(b.w).toBeGreaterThan(0);
      expect(b.h).toBeGreaterThan(0);
    }
    // every verdict of the sample shows up as bars
    for (const v of ['conntrack-loss', 'genuine-block', 'scan', 'undetermined']) expect(p.bars.some((b) => b.cls.includes(`v-${v}`))).toBe(true);
    expect(p.windows).toBe(2);
    expect(p.verdict).toContain('Action needed: 3 genuine blocks persisted after window 2');
    expect(statSync(p.png).size).toBeGreaterThan(10_000);
  });

  it('fits a laptop and a phone: wide tables and the overview scroll in their own box, never the page (the flows table ran 280px past a 1280px window, its notes a word a line; at 390px the per-host charts were cut off and the overview\'s labels 3px high)', async () => {
    const sample = await htmlReport([SAMPLE, '--platform', 'harvester', '--role', 'control-plane'], 'report-harvester-upgrade');
    // a host name without a break (dots do not break a line) in the verdict, the tables and the charts
    const long = `${'abcdefgh.'.repeat(12)}x`;
    const lines = readFileSync(SAMPLE, 'utf8').replaceAll(' harvester3 ', ` ${long} `);
    const r = await buildReportFromInputs(parseReportArgs([]) as ReportCliOptions, memoryIO({ stdin: lines }).io);
    const hostile = join(OUT, 'report-long-host.html');
    writeFileSync(hostile, renderReport(r, 'html'));
    for (const [file, width] of [[sample, 1280], [sample, 390], [hostile, 1280], [hostile, 390]] as const) {
      const page = await browser.newPage();
      await page.setViewportSize({ width, height: 900 });
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      const m = await page.evaluate(() => {
        // runs in the page (the DOM types are not in this project's lib)
        interface El { getBoundingClientRect(): { width: number }; getAttribute(n: string): string | null }
        const d = (globalThis as unknown as {
          document: { documentElement: { scrollWidth: number; clientWidth: number }; querySelectorAll(s: string): Iterable<El> };
        }).document;
        return {
          scrollWidth: d.documentElement.scrollWidth,
          clientWidth: d.documentElement.clientWidth,
          // rendered width over drawn width: the 10px labels' scale
          scales: [...d.querySelectorAll('svg.chart')].map((e) => e.getBoundingClientRect().width / Number(e.getAttribute('width'))),
          notes: [...d.querySelectorAll('#flows td.note')].map((e) => e.getBoundingClientRect().width),
        };
      });
      await page.screenshot({ path: join(OUT, `${file === sample ? 'report-harvester-upgrade' : 'report-long-host'}-${width}.png`), fullPage: true });
      await page.close();
      expect(m.scrollWidth, `${file} at ${width}px`).toBeLessThanOrEqual(m.clientWidth);
      expect(Math.min(...m.scales), `${file} at ${width}px`).toBeGreaterThanOrEqual(0.6);
      expect(m.notes.length).toBeGreaterThan(0);
      expect(Math.min(...m.notes), `${file} at ${width}px`).toBeGreaterThanOrEqual(150);
    }
  });

  it('every time label is inside its chart (a capture of minutes had its last label cut in half at the right edge: \'18:5\')', async () => {
    // a capture across New Year: its first label and the one where the year changes carry the date (wider labels)
    const syn = (iso: string) =>
      `${iso}+00:00 n1 kernel: FW_DROP_IN=eth0 OUT= SRC=198.18.0.9 DST=198.18.0.2 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=41000 DPT=443 WINDOW=64240 RES=0x00 SYN URGP=0 `;
    mkdirSync(OUT, { recursive: true });
    const newYear = join(OUT, 'new-year.log');
    writeFileSync(newYear, `${['2025-12-31T23:50:00', '2025-12-31T23:58:00', '2026-01-01T00:05:00', '2026-01-01T00:10:00'].map(syn).join('\n')}\n`);
    // and one of under a day across midnight: the day on its first label and where it changes
    const midnight = join(OUT, 'midnight.log');
    writeFileSync(midnight, `${['2026-04-21T23:50:00', '2026-04-21T23:58:00', '2026-04-22T00:05:00', '2026-04-22T00:10:00'].map(syn).join('\n')}\n`);
    const cases = [
      [[INCIDENT], 'report-incident'], [[SAMPLE], 'report-harvester-upgrade'], [[KMSG], 'report-kmsg'], [[newYear], 'report-new-year'],
      [[midnight], 'report-midnight'],
    ] as const;
    for (const [argv, name] of cases) {
      const file = await htmlReport([...argv], name);
      const page = await browser.newPage();
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      // runs in the page: an SVG text's box in its chart's user units, and the chart's width
      const labels = await page.$$eval('svg.chart text.xlab', (els) => els.map((e) => {
        const b = (e as unknown as { getBBox(): { x: number; width: number } }).getBBox();
        const svg = e.closest('svg')!;
        return { text: e.textContent ?? '', left: b.x, right: b.x + b.width, width: Number(svg.getAttribute('width')) };
      }));
      await page.close();
      expect(labels.length).toBeGreaterThan(5);
      if (name === 'report-new-year') expect(labels.filter((l) => /^\d{4}-\d\d-\d\d /.test(l.text)).length, name).toBeGreaterThanOrEqual(2);
      if (name === 'report-midnight') expect(labels.filter((l) => /^\d\d-\d\d /.test(l.text)).length, name).toBeGreaterThanOrEqual(2);
      labels.forEach((l, i) => {
        expect(l.left, `${name}: ${l.text}`).toBeGreaterThanOrEqual(0);
        expect(l.right, `${name}: ${l.text}`).toBeLessThanOrEqual(l.width);
        // and clear of the label before it, in the same chart (a dated label is wider)
        const prev = labels[i - 1];
        if (prev !== undefined && prev.width === l.width && prev.left < l.left) expect(l.left, `${name}: ${prev.text} | ${l.text}`).toBeGreaterThan(prev.right);
      });
    }
  });

  it('renders the kernel-lab capture on the monotonic clock', async () => {
    const file = await htmlReport([KMSG], 'report-kmsg');
    const p = await open(file, 'report-kmsg.png');
    expect(p.errors).toEqual([]);
    expect(p.charts).toHaveLength(1);
    expect(p.bars.length).toBeGreaterThan(0);
    expect(p.windows).toBe(1);
  });
});
