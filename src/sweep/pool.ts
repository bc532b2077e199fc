// Runs the cells of a sweep on worker threads (piscina), one thread per
// core by default. Each cell is independent — its own Machine, its own
// trace — so the only thing shared is the result list.

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { runCell, type CellResult, type CellTask } from './cell.js';

/**
 * The compiled worker: beside this module in dist/, or, when this module
 * runs from src/ (the tests, through vitest), dist/sweep/worker.js. Null if
 * neither exists: then cells run in the calling thread.
 */
function workerFile(): string | null {
  const here = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here.href;
  const built = new URL('../../dist/sweep/worker.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return built.href;
  return null;
}

export interface SweepRunOptions {
  /** Worker threads (default: one per core). 1 runs every cell in this thread. */
  jobs?: number;
  /** Called after each cell finishes, with the count done so far. */
  onProgress?: (done: number, total: number, last: CellResult) => void;
}

/** Run every task; results in the tasks' order. Rejects on the first crash of a cell. */
export async function runCells(tasks: readonly CellTask[], opts: SweepRunOptions = {}): Promise<CellResult[]> {
  const jobs = Math.max(1, Math.min(opts.jobs ?? availableParallelism(), tasks.length));
  const file = jobs > 1 ? workerFile() : null;
  let done = 0;
  const finished = (r: CellResult): CellResult => {
    done++;
    opts.onProgress?.(done, tasks.length, r);
    return r;
  };
  if (file === null) return tasks.map((t) => finished(runCell(t)));
  const pool = new Piscina<CellTask, CellResult>({
    filename: file,
    minThreads: jobs,
    maxThreads: jobs,
    // A cell of a big workload holds a few hundred MB of simulated state.
    resourceLimits: { maxOldGenerationSizeMb: 4096 },
  });
  try {
    // Biggest cells first would balance better, but cost is unknown before
    // running; piscina hands the next task to whichever thread is free.
    return await Promise.all(tasks.map((t) => pool.run(t).then(finished)));
  } finally {
    await pool.destroy();
  }
}
