// One cell of a sweep: generate a workload's trace, run it on one design,
// and return every counter. Runs in a worker thread (worker.ts) or, when
// no worker is available, in the calling thread: the result is the same.

import { createHash } from 'node:crypto';
import { OutOfMemoryError } from '../mm/frames.js';
import { Machine, type MachineOptions } from '../machine.js';
import { loadRecordedInput } from '../record/corpus.js';
import { parseTrace } from '../trace/parse.js';
import { workloadTrace } from '../workload/index.js';
import type { Cell } from './grid.js';

/** What a worker is given: the cell and the machine options shared by the whole sweep. */
export interface CellTask {
  /** A workload name, or `real:NAME`: a recording in examples/real (parameters ignored). */
  workload: string;
  cell: Cell;
  /** Workload parameters fixed for the whole sweep (not swept). */
  fixed: Record<string, number>;
  machine: Omit<MachineOptions, 'design'>;
}

export interface CellResult {
  cell: number;
  workload: string;
  design: string;
  params: Record<string, number>;
  /** Wall time of the run (trace generation and parsing excluded), ms. */
  ms: number;
  /** The counters of `vmtree run --stats-json`. */
  stats: Record<string, number>;
  /** sha256 of the printed output: every design must print the same. */
  outputDigest: string;
  /** Set when the run failed (out of memory): `LINE: message`. */
  error?: string;
}

export function runCell(task: CellTask): CellResult {
  const { cell } = task;
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...task.fixed, ...cell.params })) params[k] = String(v);
  const text = loadRecordedInput(task.workload) ?? Buffer.from(workloadTrace(task.workload, params), 'latin1');
  const cmds = parseTrace(text, task.workload);
  const m = new Machine({ ...task.machine, design: cell.design });
  const hash = createHash('sha256');
  const base = { cell: cell.index, workload: task.workload, design: cell.design, params: { ...task.fixed, ...cell.params } };
  const t0 = performance.now();
  for (const c of cmds) {
    let r: string;
    try {
      r = m.exec(c);
    } catch (e) {
      if (!(e instanceof OutOfMemoryError)) throw e;
      return { ...base, ms: performance.now() - t0, stats: m.stats(), outputDigest: '', error: `${c.line}: ${(e as Error).message}` };
    }
    hash.update(`${c.line} ${r}\n`);
  }
  const ms = performance.now() - t0;
  return { ...base, ms, stats: m.stats(), outputDigest: hash.digest('hex') };
}
