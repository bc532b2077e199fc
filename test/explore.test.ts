// `vmtree explore` in headless Chromium (playwright-core driving Debian's
// chromium): the page built as it ships (dist/explore/index.html), opened
// from disk through the URL `vmtree explore` prints. Its results and
// counters are checked against `vmtree run` on the same trace, its pictures
// against what the spec example must do at its first copy-on-write, its
// errors against the CLI's. Screenshots go to build/explore-*.png.
//
// Without chromium (VMTREE_CHROMIUM, default /usr/bin/chromium) the tests
// are skipped with a message, except under CI=true, where that is a failure.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { CHROMIUM, HAVE_CHROMIUM, launchChromium } from './chromium.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildExplore } from '../scripts/build-explore.mjs';
import { main } from '../src/cli/main.js';
import { PAGE_URL, serveExplore } from '../src/cli/explore.js';
import type { DesignSnapshot } from '../src/draw/types.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const have = HAVE_CHROMIUM;
const SHOTS = path.join(ROOT, 'build');

if (!have && process.env.CI === 'true') {
  describe('vmtree explore in Chromium', () => {
    it('has chromium (required when CI=true)', () => {
      throw new Error(`no chromium at ${CHROMIUM} (apt-get install -y chromium, or set VMTREE_CHROMIUM)`);
    });
  });
} else if (!have) {
  console.warn(`test/explore.test.ts skipped: no chromium at ${CHROMIUM} (apt-get install -y chromium, or set VMTREE_CHROMIUM)`);
}

/** Run the CLI in-process; stdout, stderr and the exit status. */
async function vmtree(args: string[]): Promise<{ out: string; err: string; status: number }> {
  let out = '';
  let err = '';
  const status = await main(args, {
    stdout: (t) => { out += t; },
    stderr: (t) => { err += t; },
    readStdin: () => Promise.reject(new Error('no stdin in this test')),
    stderrIsTTY: false,
  });
  return { out, err, status };
}

/** Counters as `vmtree run --stats` prints a value. */
const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : String(Number(v.toFixed(3))));

describe.skipIf(!have)('vmtree explore in Chromium', () => {
  let ctx: BrowserContext;
  let profile = '';
  let tmp = '';
  const problems: string[] = [];

  beforeAll(async () => {
    await buildExplore({ out: fileURLToPath(PAGE_URL) });
    mkdirSync(SHOTS, { recursive: true });
    tmp = mkdtempSync(path.join(tmpdir(), 'vmtree-explore-'));
    ({ context: ctx, profile } = await launchChromium({ width: 1500, height: 1050 }));
  });

  afterAll(async () => {
    await ctx?.close();
    if (profile !== '') rmSync(profile, { recursive: true, force: true });
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
  });

  afterEach(() => {
    // No console errors, no uncaught exceptions, no network.
    expect(problems).toEqual([]);
  });

  async function open(url: string): Promise<Page> {
    const page = await ctx.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('request', (r) => {
      if (!/^(file|data|blob):/.test(r.url()) && !r.url().startsWith('http://127.0.0.1:')) problems.push(`network: ${r.url()}`);
    });
    await page.goto(url);
    await page.waitForSelector('body[data-rendered]');
    return page;
  }

  const rendered = async (page: Page): Promise<number> => Number(await page.getAttribute('body', 'data-rendered'));

  /** Click a control and wait for the page to show position `to`. */
  async function click(page: Page, id: string, to: number): Promise<void> {
    await page.click(`#${id}`);
    await page.waitForSelector(`body[data-rendered="${to}"]`);
  }

  /** The drawn nodes of picture i: their text and whether they are outlined as changed. */
  const svgNodes = (page: Page, i: number): Promise<{ id: string; text: string; changed: boolean }[]> =>
    page.$$eval(`.svg[data-i="${i}"] g.node`, (nodes) => nodes.map((n) => ({
      id: n.getAttribute('data-node') ?? '',
      text: [...n.querySelectorAll('text')].map((t) => t.textContent).join('\n'),
      changed: n.classList.contains('changed'),
    })));

  const snapshots = (page: Page): Promise<(DesignSnapshot | null)[]> =>
    page.evaluate(() => (window as unknown as { vmtreeExplore: { shown: { snapshots: (DesignSnapshot | null)[] } } }).vmtreeExplore.shown.snapshots);

  /** The counters table: name -> the shown value per design. */
  const counters = (page: Page): Promise<Record<string, string[]>> =>
    page.$$eval('#counters tbody tr', (rows) => Object.fromEntries(rows.map((r) => {
      const cells = [...r.querySelectorAll('td')].map((c) => c.textContent ?? '');
      return [cells[0]!, cells.slice(1)];
    })));

  /** Every row of a virtual list, scrolled through. */
  const listRows = (page: Page, id: string): Promise<string[]> =>
    page.evaluate(async (id) => {
      const box = document.getElementById(id)!;
      const rows = new Map<number, string>();
      const total = Math.round((box.querySelector('.vspacer') as HTMLElement).offsetHeight / 20);
      const frame = (): Promise<void> => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r())));
      for (let top = 0; ; top += Math.max(20, box.clientHeight / 2)) {
        box.scrollTop = top;
        await frame();
        box.querySelectorAll<HTMLElement>('.vrow').forEach((r) => rows.set(Number(r.dataset.i), r.textContent ?? ''));
        if (top >= box.scrollHeight) break;
      }
      return Array.from({ length: total }, (_, i) => rows.get(i) ?? `<row ${i} never shown>`);
    }, id);

  it('spec example: the first copy-on-write adds a space under the root holding the copied page; step back removes it', async () => {
    const spec = path.join(ROOT, 'examples', 'spec-example.vmt');
    const u = await vmtree(['explore', spec, '--design', 'tree', '--beside', 'anon-vma-chain', '--at', '7']);
    expect(u.status).toBe(0);
    expect(u.out).toMatch(/^file:\/\/\/.*\/dist\/explore\/index\.html#z=[A-Za-z0-9_-]+\n$/);
    const page = await open(u.out.trim());
    const fork = await rendered(page);
    expect(await page.textContent('#now')).toContain('fork a b');

    // Step until the tree's counters show the first copy.
    let pos = fork;
    while ((await counters(page)).cowCopies![0] === '0') await click(page, 'step', ++pos);
    expect(await page.textContent('#now')).toContain('b write 0x100000000000 2');
    expect(await page.textContent('#now')).toContain('copy-on-write: copied the page');
    await page.screenshot({ path: path.join(SHOTS, 'explore-spec-first-cow.png'), fullPage: true });

    // Both processes' ptes: b writes its own copy, a's page is no longer shared.
    const frames = await listRows(page, 'frame-list');
    const a = frames.find((r) => /a:0x100000000000/.test(r))!;
    const b = frames.find((r) => /b:0x100000000000/.test(r))!;
    expect(a).not.toBe(b);
    expect(a).not.toMatch(/×2/);
    const procs = await listRows(page, 'procs');
    const bRows = procs.slice(procs.findIndex((r) => /^b\b/.test(r)));
    expect(bRows.find((r) => r.startsWith('0x100000000000 '))).toMatch(/^0x100000000000 rw pfn \d+ anon$/);

    // The tree: a new space under the root with the copied page, outlined.
    // (The tree's snapshot() lands with feat/viz; until then the page says
    // it cannot draw the tree, and only anon-vma-chain is checked.)
    const [tree] = await snapshots(page);
    const childWithPage = (s: DesignSnapshot): string | undefined => {
      const root = s.nodes.find((n) => n.kind === 'space' && n.parent === undefined);
      return s.nodes.find((n) => n.kind === 'space' && root !== undefined && n.parent === root.id && n.lines.some((l) => /\b1 page\b/.test(l)))?.id;
    };
    if (tree !== null && tree !== undefined) {
      const id = childWithPage(tree);
      expect(id).toBeDefined();
      const drawn = (await svgNodes(page, 0)).find((n) => n.id === id);
      expect(drawn?.changed).toBe(true);
      expect(drawn?.text).toMatch(/\b1 page\b/);
    } else {
      console.warn('test/explore.test.ts: the tree has no snapshot() in this build: its picture is not checked');
      expect(await page.textContent('#pictures .pane:first-child')).toContain('cannot draw its structures');
    }

    // anon-vma-chain beside it: b's anon_vma (made at fork) now holds the copy, outlined.
    const avc = await svgNodes(page, 1);
    const bAnonVma = avc.find((n) => /anon_vma/.test(n.text) && /1 vma on its list/.test(n.text));
    expect(bAnonVma?.text).toMatch(/\b1 page\b/);
    expect(bAnonVma?.changed).toBe(true);
    expect(avc.find((n) => /vma — b/.test(n.text))?.text).toMatch(/1 anon page mapped/);

    // Step back: the copy is gone.
    await click(page, 'back', pos - 1);
    await page.screenshot({ path: path.join(SHOTS, 'explore-spec-step-back.png'), fullPage: true });
    const [treeBack] = await snapshots(page);
    if (treeBack !== null && treeBack !== undefined) expect(childWithPage(treeBack)).toBeUndefined();
    const avcBack = await svgNodes(page, 1);
    expect(avcBack.find((n) => /anon_vma/.test(n.text) && /1 vma on its list/.test(n.text))?.text).toMatch(/\b0 pages\b/);
    const shared = (await listRows(page, 'frame-list')).find((r) => /a:0x100000000000 b:0x100000000000/.test(r));
    expect(shared).toMatch(/×2/);
    expect((await counters(page)).cowCopies).toEqual(['0', '0']);
    await page.close();
  });

  it('a bad trace shows its error at its line, exactly as vmtree run reports it', async () => {
    const file = path.join(tmp, 'bad.vmt');
    writeFileSync(file, 'spawn a\na mmap 0x100000000000 0x1000 rw private\n# fine so far\na write 0x100000000000\n');
    const run = await vmtree(['run', file]);
    expect(run.status).toBe(2);
    const u = await vmtree(['explore', file]);
    expect(u.status).toBe(0);
    expect(u.err.split('\n')[0]).toBe(run.err.trim());
    const page = await open(u.out.trim());
    expect(await page.textContent('#error')).toBe(run.err.trim());
    expect(await page.getAttribute('#gutter .err', 'data-line')).toBe('4');
    expect(await page.isDisabled('#step')).toBe(true);
    await page.screenshot({ path: path.join(SHOTS, 'explore-error.png'), fullPage: true });

    // Typed in the editor: the same message for the same bytes.
    const typed = path.join(tmp, 'typed.vmt');
    const text = 'spawn a\nfork a b\nb mmap 0x100000000000 0x1000 rw private\n\nexit c\n';
    writeFileSync(typed, text);
    const run2 = await vmtree(['run', typed]);
    expect(run2.status).toBe(2);
    await page.fill('#name', typed);
    await page.fill('#trace', text);
    await page.waitForFunction((msg) => document.getElementById('error')!.textContent === msg, run2.err.trim());
    expect(await page.getAttribute('#gutter .err', 'data-line')).toBe(/:(\d+):/.exec(run2.err)![1]!);
    // Fixed, it runs.
    await page.fill('#trace', text.replace('exit c', 'exit b'));
    await page.waitForFunction(() => document.getElementById('error')!.hidden);
    expect(await page.isDisabled('#step')).toBe(false);
    await page.close();
  });

  it("a generated trace: every result and counter shown equals vmtree run's", async () => {
    const gen = await vmtree(['gen', '--seed', '20261129', '--ops', '250', '--profile', 'forky']);
    expect(gen.status).toBe(0);
    const file = path.join(tmp, 'gen.vmt');
    writeFileSync(file, gen.out);
    const statsFile = path.join(tmp, 'stats.json');
    // Small memory: reclaim and swap run as well.
    const run = await vmtree(['run', file, '--frames', '24', '--design', 'anon-vma-chain', '--stats-json', statsFile]);
    expect(run.status).toBe(0);
    const u = await vmtree(['explore', file, '--frames', '24', '--design', 'anon-vma-chain']);
    const page = await open(u.out.trim());
    await click(page, 'end', 250);
    expect(await listRows(page, 'results')).toEqual(run.out.trimEnd().split('\n'));
    const stats = JSON.parse(readFileSync(statsFile, 'utf8')) as Record<string, number>;
    const shown = await counters(page);
    expect(Object.keys(shown)).toEqual(Object.keys(stats));
    for (const [k, v] of Object.entries(stats)) expect([k, shown[k]![0]]).toEqual([k, fmt(v)]);
    await page.screenshot({ path: path.join(SHOTS, 'explore-generated.png'), fullPage: true });
    await page.close();
  });

  it('two designs side by side on cow-storm; the link reproduces the view', async () => {
    const page = await open(`${PAGE_URL.href}`);
    await page.selectOption('#example', { label: 'Workload cow-storm: 4 children each copy every page (children=4 pages=3)' });
    await page.selectOption('#compare', 'anon-layer');
    await page.waitForFunction(() => document.querySelectorAll('#pictures .pane').length === 2);
    await page.fill('#runto', '12');
    await click(page, 'go', 11); // line 1 is the workload's comment
    const left = await svgNodes(page, 0);
    const right = await svgNodes(page, 1);
    expect(right.some((n) => /anon_vma/.test(n.text))).toBe(true);
    expect(left.length + right.length).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(SHOTS, 'explore-side-by-side.png'), fullPage: true });
    // The fragment holds the trace, the settings and the position.
    const link = page.url();
    const again = await open(link);
    expect(await rendered(again)).toBe(11);
    expect(await again.inputValue('#compare')).toBe('anon-layer');
    expect(await again.inputValue('#trace')).toBe(await page.inputValue('#trace'));
    expect(await svgNodes(again, 1)).toEqual(right);
    await again.close();
    await page.close();
  });

  it('every built-in example runs to its end on every design, in little memory too', async () => {
    const page = await open(PAGE_URL.href);
    const examples = await page.$$eval('#example option', (os) => os.map((o) => (o as HTMLOptionElement).value).filter((v) => v !== 'own'));
    const designs = await page.$$eval('#design option', (os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(examples.length).toBeGreaterThanOrEqual(9);
    expect(designs.length).toBeGreaterThanOrEqual(6);
    for (const ex of examples) {
      await page.selectOption('#example', ex);
      for (const [k, d] of designs.entries()) {
        await page.selectOption('#design', d);
        await page.fill('#frames', k % 2 === 0 ? '' : '6');
        await page.dispatchEvent('#frames', 'change');
        if (!(await page.isDisabled('#end'))) await page.click('#end');
        await page.waitForFunction(() => document.getElementById('end')!.hasAttribute('disabled'));
        expect(await page.textContent('#pictures')).not.toBe('');
        // Every command ran (none ran out of memory).
        expect(await page.textContent('#where')).toMatch(/^(\d+) of \1 commands run$/);
      }
    }
    await page.close();
  });

  it('--serve: the page on 127.0.0.1 only', async () => {
    const server = await serveExplore(readFileSync(PAGE_URL), 0);
    try {
      const addr = server.address() as AddressInfo;
      expect(addr.address).toBe('127.0.0.1');
      const base = `http://127.0.0.1:${addr.port}`;
      expect((await fetch(`${base}/nothing`)).status).toBe(404);
      const fragment = (await vmtree(['explore', '--at', '8'])).out.trim().split('#')[1]!;
      const page = await open(`${base}/#${fragment}`);
      expect(await rendered(page)).toBe(8);
      await page.close();
    } finally {
      server.close();
    }
  });
});
