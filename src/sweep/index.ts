// `vmtree sweep`: a workload run over a grid of parameter values x designs,
// one independent cell per point, in parallel. Also the data source of
// `vmtree report`.

import { DESIGNS } from '../anon/index.js';
import { Machine, type MachineOptions } from '../machine.js';
import { findWorkload } from '../workload/index.js';
import type { CellResult, CellTask } from './cell.js';
import { expandGrid, shardCells, type Axis, type Cell, type Shard } from './grid.js';
import { runCells } from './pool.js';

export type { CellResult } from './cell.js';
export { expandGrid, parseAxis, parseShard, shardCells, type Axis, type Shard } from './grid.js';

export interface SweepSpec {
  workload: string;
  axes: readonly Axis[];
  designs: readonly string[];
  machine?: Omit<MachineOptions, 'design'>;
  shard?: Shard;
  jobs?: number;
  onProgress?: (done: number, total: number, last: CellResult) => void;
}

/** Throws a one-line Error for an unknown workload, parameter or design, or a value out of range. */
export function checkSweep(spec: Pick<SweepSpec, 'workload' | 'axes' | 'designs'>): void {
  const w = findWorkload(spec.workload);
  for (const a of spec.axes) {
    const p = w.params.find((x) => x.name === a.name);
    if (p === undefined) {
      throw new Error(`workload '${w.name}' has no parameter '${a.name}' (parameters: ${w.params.map((x) => x.name).join(', ')})`);
    }
    for (const v of a.values) {
      if ((p.min !== undefined && v < p.min) || (p.max !== undefined && v > p.max)) {
        throw new Error(`workload '${w.name}': ${a.name} must be from ${p.min ?? 0} to ${p.max ?? 'any'}, got ${v}`);
      }
    }
  }
  if (spec.designs.length === 0) throw new Error('no designs to run');
  for (const d of spec.designs) {
    if (DESIGNS[d] === undefined) throw new Error(`unknown design '${d}' (designs: ${Object.keys(DESIGNS).join(', ')})`);
  }
}

/** The cells this run (this shard) covers. */
export function sweepCells(spec: SweepSpec): Cell[] {
  const all = expandGrid(spec.axes, spec.designs);
  return spec.shard === undefined ? all : shardCells(all, spec.shard);
}

/** Run the sweep; rows in grid order. */
export async function runSweep(spec: SweepSpec): Promise<CellResult[]> {
  checkSweep(spec);
  const tasks: CellTask[] = sweepCells(spec).map((cell) => ({ workload: spec.workload, cell, fixed: {}, machine: spec.machine ?? {} }));
  const opts: Parameters<typeof runCells>[1] = {};
  if (spec.jobs !== undefined) opts.jobs = spec.jobs;
  if (spec.onProgress !== undefined) opts.onProgress = spec.onProgress;
  return runCells(tasks, opts);
}

/**
 * Rows of the same parameter point whose designs printed different output
 * (every design must print exactly what Linux prints): a message per
 * point, empty if all agree. Failed cells (out of memory) are left out.
 */
export function outputDisagreements(rows: readonly CellResult[]): string[] {
  const byPoint = new Map<string, CellResult[]>();
  for (const r of rows) {
    if (r.error !== undefined) continue;
    const key = JSON.stringify(r.params);
    const list = byPoint.get(key) ?? [];
    list.push(r);
    byPoint.set(key, list);
  }
  const out: string[] = [];
  for (const [key, list] of byPoint) {
    const ref = list[0]!;
    const odd = list.filter((r) => r.outputDigest !== ref.outputDigest);
    if (odd.length > 0) out.push(`${key}: ${ref.design} and ${odd.map((r) => r.design).join(', ')} print different output`);
  }
  return out;
}

/**
 * The counter names every row of these designs has, in the machine's order
 * (common counters first, then each design's own): known without running,
 * so every shard of a sweep prints the same columns.
 */
export function counterNames(designs: readonly string[]): string[] {
  const names = new Set<string>();
  for (const d of designs) for (const k of Object.keys(new Machine({ design: d }).stats())) names.add(k);
  return [...names];
}
