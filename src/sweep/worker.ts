// The piscina worker of `vmtree sweep`: one task is one cell (cell.ts).
import { runCell, type CellResult, type CellTask } from './cell.js';

export default function run(task: CellTask): CellResult {
  return runCell(task);
}
