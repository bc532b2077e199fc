// vmtree sweep: the grid grammar and sharding (pure), and a small sweep
// whose rows must equal separate `vmtree run --stats-json` runs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandGrid, parseAxis, parseShard, shardCells } from '../src/sweep/grid.js';
import { outputDisagreements, runSweep } from '../src/sweep/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'vmtree.js');
let tmp = '';

beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'vmtree-sweep-'));
  const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0 && !/error TS/.test(r.stdout)) throw new Error(r.stdout + r.stderr);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('parseAxis', () => {
  it('expands each form by hand', () => {
    expect(parseAxis('children=10..1000*10')).toEqual({ name: 'children', values: [10, 100, 1000] });
    expect(parseAxis('pages=1..10:3')).toEqual({ name: 'pages', values: [1, 4, 7, 10] });
    expect(parseAxis('pages=1..9:3')).toEqual({ name: 'pages', values: [1, 4, 7] });
    expect(parseAxis('n=3..5')).toEqual({ name: 'n', values: [3, 4, 5] });
    expect(parseAxis('n=2..100*3')).toEqual({ name: 'n', values: [2, 6, 18, 54] });
    expect(parseAxis('n=7')).toEqual({ name: 'n', values: [7] });
    expect(parseAxis('n=5,1,2')).toEqual({ name: 'n', values: [5, 1, 2] });
  });
  it('rejects bad input with one line naming the problem', () => {
    expect(() => parseAxis('children')).toThrow(/NAME=VALUE/);
    expect(() => parseAxis('n=5..1')).toThrow(/empty/);
    expect(() => parseAxis('n=1..5*1')).toThrow(/factor must be at least 2/);
    expect(() => parseAxis('n=0..5*2')).toThrow(/start above 0/);
    expect(() => parseAxis('n=1..5:0')).toThrow(/step must be at least 1/);
    expect(() => parseAxis('n=a..b')).toThrow(/not a value/);
    expect(() => parseAxis('n=1..100000')).toThrow(/more than 10000 values/);
  });
});

describe('grid and shards', () => {
  const cells = expandGrid([parseAxis('a=1,2'), parseAxis('b=10..30:10')], ['x', 'y']);
  it('crosses every axis with the designs, designs fastest', () => {
    expect(cells).toHaveLength(2 * 3 * 2);
    expect(cells.slice(0, 3).map((c) => [c.params, c.design])).toEqual([
      [{ a: 1, b: 10 }, 'x'], [{ a: 1, b: 10 }, 'y'], [{ a: 1, b: 20 }, 'x'],
    ]);
    expect(cells.map((c) => c.index)).toEqual([...Array(12).keys()]);
  });
  it('N shards hold every cell exactly once', () => {
    for (const n of [1, 2, 5, 12, 13]) {
      const got = Array.from({ length: n }, (_, i) => shardCells(cells, parseShard(`${i + 1}/${n}`))).flat().map((c) => c.index);
      expect(got.sort((p, q) => p - q)).toEqual([...Array(12).keys()]);
    }
    expect(() => parseShard('0/3')).toThrow(/1 <= I <= N/);
    expect(() => parseShard('4/3')).toThrow(/1 <= I <= N/);
    expect(() => parseShard('x')).toThrow(/I\/N/);
  });
  it('rejects an axis given twice', () => {
    expect(() => expandGrid([parseAxis('a=1'), parseAxis('a=2')], ['x'])).toThrow(/given twice/);
  });
});

describe('vmtree sweep', () => {
  it('gives the counters of vmtree run --stats-json for each cell (worker threads)', async () => {
    const rows = await runSweep({ workload: 'cow-storm', axes: [parseAxis('children=1..4*2'), parseAxis('pages=5')], designs: ['tree', 'anon-layer'], machine: { frames: 16 }, jobs: 2 });
    expect(rows.map((r) => [r.params.children, r.design])).toEqual([[1, 'tree'], [1, 'anon-layer'], [2, 'tree'], [2, 'anon-layer'], [4, 'tree'], [4, 'anon-layer']]);
    expect(outputDisagreements(rows)).toEqual([]);
    for (const r of rows.filter((x) => x.params.children !== 2)) {
      const json = path.join(tmp, `${r.cell}.json`);
      const run = spawnSync('bash', ['-c', `node ${BIN} workload cow-storm --param children=${r.params.children} --param pages=5 | node ${BIN} run - --design ${r.design} --frames 16 --stats-json ${json} >/dev/null`], { cwd: ROOT, encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      expect(r.stats).toEqual(JSON.parse(readFileSync(json, 'utf8')));
    }
  });
  it('prints one CSV row per cell; shards concatenate to the whole grid', () => {
    const args = ['sweep', 'fork-chain', '--param', 'generations=1..100*10', '--designs', 'tree,scan', '--csv'];
    const whole = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8' });
    expect(whole.status, whole.stderr).toBe(0);
    const lines = whole.stdout.trim().split('\n');
    expect(lines).toHaveLength(1 + 3 * 2);
    expect(lines[0]!.split(',').slice(0, 6)).toEqual(['cell', 'workload', 'generations', 'design', 'ms', 'commands']);
    const shards = [1, 2].map((i) => spawnSync(process.execPath, [BIN, ...args, '--shard', `${i}/2`], { cwd: ROOT, encoding: 'utf8' }).stdout);
    const joined = shards.join('').trim().split('\n');
    const dropMs = (l: string): string => l.split(',').filter((_, i) => i !== 4).join(',');
    expect(joined[0]).toBe(lines[0]);
    expect(joined.slice(1).map(dropMs).sort()).toEqual(lines.slice(1).map(dropMs).sort());
  });
  it('rejects a bad parameter in one line', () => {
    const r = spawnSync(process.execPath, [BIN, 'sweep', 'cow-storm', '--param', 'kids=1..3'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("vmtree: workload 'cow-storm' has no parameter 'kids' (parameters: pages, children, writePercent)\n");
  });
});
