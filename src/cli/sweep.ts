// `vmtree sweep WORKLOAD --param k=a..b ...`: every point of a parameter
// grid on every design, in parallel, one row of counters per cell.

import { availableParallelism } from 'node:os';
import { InvalidArgumentError } from 'commander';
import { DESIGNS } from '../anon/index.js';
import type { MachineOptions } from '../machine.js';
import {
  checkSweep, counterNames, outputDisagreements, parseAxis, parseShard, runSweep, sweepCells, type Axis, type CellResult, type Shard,
} from '../sweep/index.js';
import { WORKLOADS } from '../workload/index.js';
import { CliError, EXIT } from './exit.js';
import { progress, type Subcommand } from './io.js';
import { addSimulatorOptions, int, machineOptions, type SimulatorOpts } from './options.js';

const EXIT_OOM = EXIT.OUT_OF_MEMORY;
const EXIT_DIFFERENT = EXIT.DIFFERENT;

const collectAxis = (v: string, acc: Axis[]): Axis[] => {
  try {
    return [...acc, parseAxis(v)];
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};

interface SweepOpts extends SimulatorOpts {
  param: Axis[];
  designs?: string;
  json?: boolean;
  csv?: boolean;
  shard?: string;
  jobs?: number;
}

/** CSV field: quoted only when it must be. */
const csvField = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

const num = (v: number | undefined): string => (v === undefined ? '' : Number.isInteger(v) ? String(v) : String(Number(v.toFixed(3))));

export const sweepCommand: Subcommand = (program, ctx) => {
  const cmd = program
    .command('sweep')
    .summary('run a workload over a grid of parameter values x designs, in parallel')
    .description(
      'Run WORKLOAD at every point of a grid of parameter values, on every design, and print one row ' +
        'per cell with every counter (the counters of `vmtree run --stats-json`) and the run time.\n\n' +
        'Each --param is one axis: NAME=V, NAME=V1,V2,..., NAME=A..B (step 1), NAME=A..B:STEP or ' +
        'NAME=A..B*FACTOR (geometric); the grid is every combination. Cells run in parallel on ' +
        'worker threads, one per core (--jobs); a progress bar shows on a terminal. For each ' +
        'parameter point every design must print the same output, as in `vmtree compare`.\n\n' +
        'A grid too big for one machine is split with --shard I/N (every N-th cell from the I-th); ' +
        'concatenating the N outputs in order gives the whole grid: with --json, one JSON object per ' +
        'line; with --csv, only shard 1 prints the header. Each row carries its `cell` index in the ' +
        'whole grid.\n\n' +
        `Exit status: 0 success; 1 bad usage; ${EXIT_OOM} a cell ran out of memory (its row has an ` +
        `error); ${EXIT_DIFFERENT} designs printed different output.`,
    )
    .argument('<workload>', `workload: ${WORKLOADS.map((w) => w.name).join(', ')}`)
    .option('--param <k=spec>', 'a parameter axis (repeatable): V, V1,V2,..., A..B, A..B:STEP or A..B*FACTOR', collectAxis, [] as Axis[])
    .option('--designs <list>', `comma-separated designs (default all: ${Object.keys(DESIGNS).join(',')})`);
  addSimulatorOptions(cmd, { design: 'none', zeroPage: 'flag' })
    .option('--json', 'print one JSON object per cell, one per line')
    .option('--csv', 'print CSV: a header, then one line per cell')
    .option('--shard <I/N>', 'run only shard I of N of the grid (1 <= I <= N)')
    .option('--jobs <n>', `worker threads (default: one per core, ${availableParallelism()} here)`, int('--jobs', 1))
    .addHelpText('after', '\nExample:\n  vmtree sweep cow-storm --param children=10..1000*10 --param pages=20 --frames 8192 --csv')
    .action(async (workload: string, o: SweepOpts) => {
      if (o.json === true && o.csv === true) throw new CliError('--json and --csv exclude each other');
      const designs = o.designs === undefined ? Object.keys(DESIGNS) : o.designs.split(',').map((d) => d.trim());
      let shard: Shard | undefined;
      try {
        if (o.shard !== undefined) shard = parseShard(o.shard);
        checkSweep({ workload, axes: o.param, designs });
      } catch (e) {
        throw new CliError((e as Error).message);
      }
      const { design: _none, ...machine }: MachineOptions = machineOptions(o);
      const bar = progress(ctx, 'sweep');
      const spec = { workload, axes: o.param, designs, machine, ...(shard && { shard }), ...(o.jobs !== undefined && { jobs: o.jobs }) };
      bar.update(0, sweepCells(spec).length);
      const rows = await runSweep({
        ...spec,
        onProgress: (done, total, last) => bar.update(done, total, `${last.design} ${JSON.stringify(last.params)}`),
      });
      bar.done();
      const counters = counterNames(designs);
      const paramNames = o.param.map((a) => a.name);
      if (o.json === true) {
        for (const r of rows) ctx.out.write(`${JSON.stringify(r)}\n`);
      } else {
        const header = ['cell', 'workload', ...paramNames, 'design', 'ms', ...counters];
        const cellsOf = (r: CellResult): string[] => [
          String(r.cell), r.workload, ...paramNames.map((p) => String(r.params[p])), r.design, num(Math.round(r.ms)),
          ...counters.map((c) => num(r.stats[c])),
        ];
        if (o.csv === true) {
          if (shard === undefined || shard.index === 1) ctx.out.write(`${header.map(csvField).join(',')}\n`);
          for (const r of rows) ctx.out.write(`${cellsOf(r).map(csvField).join(',')}\n`);
        } else {
          // Aligned columns: wide (every counter), meant for `less -S` or a terminal.
          const body = rows.map(cellsOf);
          const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
          const line = (cells: string[]): string =>
            cells.map((c, i) => (i === 1 || header[i] === 'design' ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
          ctx.out.write(`${line(header)}\n`);
          for (const b of body) ctx.out.write(`${line(b)}\n`);
        }
      }
      ctx.out.flush();
      const failed = rows.filter((r) => r.error !== undefined);
      for (const r of failed) ctx.io.stderr(`vmtree: sweep: cell ${r.cell} (${r.design} ${JSON.stringify(r.params)}): ${r.workload}:${r.error}\n`);
      const differ = outputDisagreements(rows);
      for (const d of differ) ctx.io.stderr(`vmtree: sweep: ${workload} ${d}\n`);
      if (differ.length > 0) ctx.exitCode = EXIT_DIFFERENT;
      else if (failed.length > 0) ctx.exitCode = EXIT_OOM;
    });
};
