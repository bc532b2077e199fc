// The report and a drawn picture, opened in a real browser: headless
// Chromium (Debian's `chromium` package, driven by playwright-core; no
// browser download). Checks what a person opening them would see: no
// console errors, no network requests, every plot and picture laid out
// with a non-empty box, and table values equal to `vmtree compare --json`
// run separately. Writes screenshots under build/ for a person to look at.
//
// Without /usr/bin/chromium the tests are skipped with a message, except
// under CI=true, where that is a failure (.ci/run installs it).
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { CHROMIUM, HAVE_CHROMIUM, launchChromium } from './chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corpusNames } from '../src/record/corpus.js';
import { PLOTS, TABLES } from '../src/report/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'vmtree.js');
const BUILD = path.join(ROOT, 'build');
const REPORT = path.join(BUILD, 'browser-report.html');
const DRAWN = path.join(BUILD, 'browser-cow-storm.svg');

if (!HAVE_CHROMIUM && process.env.CI !== 'true') {
  console.warn(`browser.test.ts: skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
}

function vmtree(args: string[]): string {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`vmtree ${args.join(' ')}: status ${r.status}\n${r.stderr}`);
  return r.stdout;
}

// Defined only when it must fail, so that a run with Chromium counts no skipped test.
if (!HAVE_CHROMIUM && process.env.CI === 'true') {
  describe('browser (CI)', () => {
    it('needs Chromium under CI', () => {
      expect.fail(`no Chromium at ${CHROMIUM}: .ci/run installs Debian's chromium package`);
    });
  });
}

describe.runIf(HAVE_CHROMIUM)('in headless Chromium', () => {
  let context: BrowserContext;
  let profile = '';
  const problems: string[] = [];

  beforeAll(async () => {
    mkdirSync(BUILD, { recursive: true });
    const tsc = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, encoding: 'utf8' });
    if (tsc.status !== 0 && !/error TS/.test(tsc.stdout)) throw new Error(tsc.stdout + tsc.stderr);
    vmtree(['report', '-o', REPORT]);
    vmtree(['draw', 'cow-storm', '--param', 'children=1000', '--param', 'pages=20', '--design', 'anon-vma-chain', '-o', DRAWN]);
    ({ context, profile } = await launchChromium({ width: 1200, height: 900 }));
  }, 900_000);

  afterAll(async () => {
    await context?.close();
    if (profile !== '') rmSync(profile, { recursive: true, force: true });
  });

  /** Open a file and record console errors, page errors and any request that is not the file itself. */
  async function open(file: string): Promise<Page> {
    const page = await context.newPage();
    const url = pathToFileURL(file).href;
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`${path.basename(file)}: console error: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`${path.basename(file)}: page error: ${e.message}`));
    page.on('request', (r) => {
      if (r.url() !== url) problems.push(`${path.basename(file)}: request to ${r.url()}`);
    });
    await page.goto(url, { waitUntil: 'load' });
    return page;
  }

  it('shows the report: every plot and picture laid out, no errors, no network', async () => {
    const page = await open(REPORT);
    const boxes = await page.$$eval('figure svg', (svgs) => svgs.map((s) => {
      const r = s.getBoundingClientRect();
      return { w: r.width, h: r.height, plot: s.closest('figure')!.classList.contains('plot'), marks: s.querySelectorAll('path, polygon, text').length };
    }));
    expect(boxes.filter((b) => b.plot)).toHaveLength(PLOTS.length);
    expect(boxes.filter((b) => !b.plot).length).toBeGreaterThanOrEqual(3);
    for (const b of boxes) {
      expect(b.w).toBeGreaterThan(50);
      expect(b.h).toBeGreaterThan(50);
      expect(b.marks).toBeGreaterThan(3);
    }
    // Plot axes carry units: every axis title of every plot ends in "(...)".
    const axisTitles = await page.$$eval('figure.plot svg g.role-axis-title text', (ts) => ts.map((t) => t.textContent ?? ''));
    expect(axisTitles).toHaveLength(2 * PLOTS.length);
    for (const t of axisTitles) expect(t).toMatch(/\(.+\)$/);
    await page.screenshot({ path: path.join(BUILD, 'report.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it("shows table values equal to `vmtree compare --json`'s", async () => {
    const page = await open(REPORT);
    const tables = await page.$$eval('table.designs', (ts) => ts.map((t) => ({
      workload: t.getAttribute('data-workload')!,
      caption: t.querySelector('caption')!.textContent!,
      head: [...t.querySelectorAll('thead th')].map((c) => c.textContent!.trim()),
      rows: [...t.querySelectorAll('tbody tr')].map((r) => [...r.children].map((c) => c.textContent!.trim())),
    })));
    // Every workload, then every recording of a real program.
    expect(tables.map((t) => t.workload).filter((w) => !w.startsWith('real:')).sort()).toEqual(TABLES.map((t) => t.workload).sort());
    expect(tables.map((t) => t.workload).filter((w) => w.startsWith('real:')).sort()).toEqual(corpusNames().map((n) => `real:${n}`));
    const n = (x: number): string => x.toLocaleString('en-US');
    const per = (a: number, b: number): string => (b === 0 ? '-' : (a / b).toFixed(2));
    for (const table of tables) {
      // The run the caption describes: `WORKLOAD k=v ... (N frames; ...)`.
      const m = /^(\S+)((?: \w+=\d+)*) \((?:(\d+) frames|unbounded memory);/.exec(table.caption);
      expect(m, table.caption).not.toBeNull();
      const args = ['compare', m![1]!, ...m![2]!.trim().split(' ').filter((x) => x !== '').flatMap((kv) => ['--param', kv])];
      if (m![3] !== undefined) args.push('--frames', m![3]);
      const spec = { workload: m![1]! };
      const [{ rows }] = JSON.parse(vmtree([...args, '--json'])) as [{ rows: { design: string; stats: Record<string, number> }[] }];
      const col = (name: string): number => {
        const i = table.head.indexOf(name);
        expect(i, `${spec.workload}: column ${name}`).toBeGreaterThan(0);
        return i;
      };
      expect(table.rows.map((r) => r[0])).toEqual(rows.map((r) => r.design));
      rows.forEach(({ stats: s }, k) => {
        const got = table.rows[k]!;
        const want: [string, string][] = [
          ['faults', n(s.faults!)], ['cow copies', n(s.cowCopies!)], ['cow reuses', n(s.cowReuses!)],
          ['swap out/in', `${n(s.swapOuts!)}/${n(s.swapIns!)}`], ['rmap walks', n(s.rmapWalks!)],
          ['vmas/walk', per(s.rmapVmasVisited!, s.rmapWalks!)], ['objs/walk', per(s.rmapSpacesVisited!, s.rmapWalks!)],
          ['ptes scanned', n(s.ptesScanned!)], ['structures peak', n(s.designStructuresPeak!)],
          ['depth peak', n(s.depthPeak!)], ['frames peak', n(s.framesPeak!)],
        ];
        for (const [name, value] of want) expect(`${spec.workload} ${rows[k]!.design} ${name}: ${got[col(name)]}`).toBe(`${spec.workload} ${rows[k]!.design} ${name}: ${value}`);
      });
    }
    expect(problems).toEqual([]);
  });

  it('shows a drawn SVG: laid out, the 1000 children as one ×1000 node', async () => {
    const page = await open(DRAWN);
    const box = await page.$eval('svg', (s) => {
      const r = s.getBoundingClientRect();
      return { w: r.width, h: r.height, nodes: s.querySelectorAll('g.node').length, text: s.textContent ?? '' };
    });
    expect(box.w).toBeGreaterThan(100);
    expect(box.h).toBeGreaterThan(100);
    expect(box.nodes).toBe(4);
    expect(box.text).toContain('×1000 anon_vma');
    expect(box.text).toContain('c1, c2, … c1000 (1000)');
    await page.screenshot({ path: path.join(BUILD, 'draw-cow-storm.png') });
    expect(problems).toEqual([]);
  });
});
