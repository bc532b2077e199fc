// What `vmtree report` measures: the README's tables (every design on each
// workload at one size) and the sweeps that show how each cost grows.
// Every number of the report and of the README's tables comes from here.

import { DESIGNS } from '../anon/index.js';
import { MIN_FRAMES, type MachineOptions } from '../machine.js';
import { corpusNames } from '../record/corpus.js';
import type { CellResult, CellTask } from '../sweep/cell.js';
import { outputDisagreements } from '../sweep/index.js';
import { runCells } from '../sweep/pool.js';

/** One table: every design on one workload at one size (as `vmtree compare`). */
export interface TableSpec {
  workload: string;
  params: Record<string, number>;
  frames?: number;
  /** Why memory is bounded, for the caption. */
  note?: string;
}

/**
 * The README's tables. Reverse mapping only runs when memory is short,
 * so cow-storm and pressure run with bounded memory.
 */
export const TABLES: readonly TableSpec[] = [
  { workload: 'prefork', params: { heap: 4096, workers: 16 } },
  { workload: 'zygote', params: { apps: 32 } },
  { workload: 'shell', params: { commands: 200 } },
  { workload: 'fork-chain', params: { generations: 10000 } },
  { workload: 'cow-storm', params: { children: 1000, pages: 20 }, frames: 8192 },
  { workload: 'pressure', params: {}, frames: 512 },
];

/** A variant of a design: the tree (and shadow) with an optimisation off. */
export interface Variant {
  name: string;
  machine: Omit<MachineOptions, 'design'>;
}

export interface SweepPlan {
  id: string;
  workload: string;
  /** The swept parameter ('frames' sweeps the machine's memory instead). */
  x: string;
  values: readonly number[];
  fixed: Record<string, number>;
  designs: readonly string[];
  /** Extra runs of some designs with other machine options. */
  variants?: readonly { design: string; variant: Variant }[];
  /** Memory for a point (default unbounded). */
  frames?: (x: number) => number;
}

const ALL = Object.keys(DESIGNS);
const NO_MERGE: Variant = { name: 'no merge', machine: { merge: false } };

export const SWEEPS: readonly SweepPlan[] = [
  {
    // 20 pages per child; memory 41% of what the storm touches, as in the
    // table (8192 frames for 1001 x 20 pages: that point is the table's
    // own run), so reclaim walks rmap.
    id: 'cow-storm', workload: 'cow-storm', x: 'children', values: [10, 30, 100, 300, 1000],
    fixed: { pages: 20 }, designs: ALL, frames: (c) => Math.max(64, Math.round((8192 * (c + 1)) / 1001)),
  },
  { id: 'zygote', workload: 'zygote', x: 'apps', values: [4, 8, 16, 32, 64], fixed: {}, designs: ALL },
  { id: 'prefork', workload: 'prefork', x: 'workers', values: [2, 4, 8, 16, 32], fixed: { heap: 4096 }, designs: ALL },
  {
    id: 'fork-chain', workload: 'fork-chain', x: 'generations', values: [10, 30, 100, 300, 1000, 3000],
    fixed: {}, designs: ALL, variants: [{ design: 'tree', variant: NO_MERGE }, { design: 'shadow', variant: NO_MERGE }],
  },
  { id: 'pressure', workload: 'pressure', x: 'frames', values: [256, 512, 1024, 2048, 4096], fixed: {}, designs: ALL, frames: (f) => f },
];

export interface TableData extends TableSpec {
  rows: { design: string; ms: number; stats: Record<string, number> }[];
}

export interface SweepRow {
  x: number;
  design: string;
  /** '' for the design as it is; else the variant's name. */
  variant: string;
  stats: Record<string, number>;
}

export interface ReportData {
  tables: TableData[];
  /** Every design on each recording of a real program (examples/real), memory at half its peak. */
  real: TableData[];
  sweeps: Record<string, SweepRow[]>;
}

type Tagged = { task: CellTask; put: (r: CellResult) => void };

/**
 * Run every table and sweep cell on the worker pool. Throws if designs
 * print different output anywhere, or a cell runs out of memory.
 */
export async function collectReportData(opts: { jobs?: number; onProgress?: (done: number, total: number) => void } = {}): Promise<ReportData> {
  const jobs: Tagged[] = [];
  const data: ReportData = { tables: [], real: [], sweeps: {} };
  // Real programs: memory at half what each needs (its peak on the tree
  // with unbounded memory), as scripts/real-tables.sh does, so reclaim and
  // reverse mapping run. The peaks are a first, small round.
  const names = corpusNames();
  const peaks = await runCells(names.map((n, i) => ({ workload: `real:${n}`, cell: { index: i, params: {}, design: 'tree' }, fixed: {}, machine: {} })), opts.jobs === undefined ? {} : { jobs: opts.jobs });
  let index = 0;
  names.forEach((n, i) => {
    const frames = Math.max(MIN_FRAMES, Math.floor(peaks[i]!.stats.framesPeak! / 2));
    const table: TableData = { workload: `real:${n}`, params: {}, frames, rows: [] };
    data.real.push(table);
    for (const design of ALL) {
      jobs.push({
        task: { workload: table.workload, cell: { index: index++, params: {}, design }, fixed: {}, machine: { frames } },
        put: (r) => table.rows.push({ design, ms: r.ms, stats: r.stats }),
      });
    }
  });
  for (const t of TABLES) {
    const table: TableData = { ...t, rows: [] };
    data.tables.push(table);
    for (const design of ALL) {
      jobs.push({
        task: { workload: t.workload, cell: { index: index++, params: {}, design }, fixed: t.params, machine: t.frames === undefined ? {} : { frames: t.frames } },
        put: (r) => table.rows.push({ design, ms: r.ms, stats: r.stats }),
      });
    }
  }
  for (const s of SWEEPS) {
    const rows: SweepRow[] = [];
    data.sweeps[s.id] = rows;
    const runs = [...s.designs.map((design) => ({ design, variant: null as Variant | null })), ...(s.variants ?? [])];
    for (const x of s.values) {
      for (const { design, variant } of runs) {
        const machine: Omit<MachineOptions, 'design'> = { ...(variant?.machine ?? {}) };
        if (s.frames !== undefined) machine.frames = s.frames(x);
        const params = s.x === 'frames' ? {} : { [s.x]: x };
        jobs.push({
          task: { workload: s.workload, cell: { index: index++, params, design }, fixed: s.fixed, machine },
          put: (r) => rows.push({ x, design, variant: variant?.name ?? '', stats: r.stats }),
        });
      }
    }
  }
  // A point both a table and a sweep need runs once.
  const same = new Map<string, number>();
  const runAs = new Map<number, number>();
  for (const j of jobs) {
    const t = j.task;
    const key = JSON.stringify([t.workload, Object.entries({ ...t.fixed, ...t.cell.params }).sort(), Object.entries(t.machine).sort(), t.cell.design]);
    if (!same.has(key)) same.set(key, t.cell.index);
    runAs.set(t.cell.index, same.get(key)!);
  }
  const unique = jobs.filter((j) => runAs.get(j.task.cell.index) === j.task.cell.index);
  // Biggest first (the last points of each sweep, the tables): the pool
  // then finishes with small cells instead of one long one on one core.
  unique.sort((a, b) => weight(b.task) - weight(a.task));
  const runOpts: Parameters<typeof runCells>[1] = {};
  if (opts.jobs !== undefined) runOpts.jobs = opts.jobs;
  if (opts.onProgress !== undefined) runOpts.onProgress = (d, t) => opts.onProgress!(d, t);
  const results = await runCells(unique.map((j) => j.task), runOpts);
  const ran = new Map<number, CellResult>();
  for (const r of results) ran.set(r.cell, r);
  const byIndex = new Map<number, CellResult>();
  for (const j of jobs) byIndex.set(j.task.cell.index, ran.get(runAs.get(j.task.cell.index)!)!);
  const failed = results.filter((r) => r.error !== undefined);
  if (failed.length > 0) throw new Error(`${failed[0]!.workload} (${failed[0]!.design}): ${failed[0]!.error}`);
  // Same point, different machine options (a variant) may print the same
  // output too: group by workload, parameters and memory only.
  const groups = new Map<string, CellResult[]>();
  for (const j of jobs) {
    const r = byIndex.get(j.task.cell.index)!;
    const key = JSON.stringify([j.task.workload, j.task.fixed, j.task.cell.params, j.task.machine.frames ?? null]);
    groups.set(key, [...(groups.get(key) ?? []), { ...r, params: {} }]);
  }
  for (const [key, list] of groups) {
    const bad = outputDisagreements(list);
    if (bad.length > 0) throw new Error(`${key}: ${bad[0]}`);
  }
  for (const j of jobs) j.put(byIndex.get(j.task.cell.index)!);
  return data;
}

/** A rough cost estimate to schedule big cells first. */
function weight(t: CellTask): number {
  const p = Object.values({ ...t.fixed, ...t.cell.params });
  // pressure runs with its defaults: 10,240 pages, the more work the less memory.
  const size = t.workload.startsWith('real:') ? 1e4 : p.length === 0 ? 2e7 / (t.machine.frames ?? 512) : p.reduce((a, b) => a * Math.max(1, b), 1);
  return size * (t.cell.design === 'scan' ? 4 : 1);
}
