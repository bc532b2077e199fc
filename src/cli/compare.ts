// `vmtree compare`: run every design on the same input, check that they
// print the same output, and tabulate their costs.

import { readFileSync } from 'node:fs';
import { DESIGNS } from '../anon/index.js';
import type { MachineOptions } from '../mm/machine.js';
import { findWorkload, workloadTrace, WORKLOADS } from '../workload/index.js';
import { loadRecordedInput } from '../record/corpus.js';
import { CliError, EXIT, parseOrExit, runToStatus } from './exit.js';
import { progress, type Subcommand } from './io.js';
import { addSimulatorOptions, collectParam, machineOptions, type SimulatorOpts } from './options.js';

/** The columns of the compare table: [header, how to compute it from the counters]. */
const COLUMNS: [string, (s: Record<string, number>, ms: number) => string][] = [
  ['faults', (s) => fmt(s.faults)],
  ['cow copies', (s) => fmt(s.cowCopies)],
  ['cow reuses', (s) => fmt(s.cowReuses)],
  ['swap out/in', (s) => `${fmt(s.swapOuts)}/${fmt(s.swapIns)}`],
  ['rmap walks', (s) => fmt(s.rmapWalks)],
  ['vmas/walk', (s) => ratio(s.rmapVmasVisited, s.rmapWalks)],
  ['objs/walk', (s) => ratio(s.rmapSpacesVisited, s.rmapWalks)],
  ['ptes scanned', (s) => fmt(s.ptesScanned ?? 0)],
  ['lookup steps', (s) => ratio(s.lookupStepsMean, 1)],
  ['structures peak', (s) => fmt(s.designStructuresPeak)],
  ['depth peak', (s) => (s.depthPeak === undefined ? '-' : fmt(s.depthPeak))],
  ['metadata peak', (s) => bytes(s.metadataBytesPeak)],
  ['frames peak', (s) => fmt(s.framesPeak)],
  ['ms', (_s, ms) => fmt(Math.round(ms))],
];

const fmt = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? '-' : x.toLocaleString('en-US'));
const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || b === 0 ? '-' : (a / b).toFixed(2);
const bytes = (x: number | undefined): string =>
  x === undefined ? '-' : x < 10240 ? `${x} B` : x < 10 * 1048576 ? `${(x / 1024).toFixed(0)} KiB` : `${(x / 1048576).toFixed(1)} MiB`;

interface CompareOpts extends SimulatorOpts {
  designs?: string;
  param: Record<string, string>;
  json?: boolean;
}

export interface CompareRow {
  design: string;
  ms: number;
  stats: Record<string, number>;
}

/**
 * Run one trace on every design; throws CliError if it does not parse
 * (BAD_TRACE), runs out of memory (OUT_OF_MEMORY) or the designs' outputs
 * differ (DIFFERENT).
 */
export function compareDesigns(text: Buffer, name: string, designs: readonly string[], mem: MachineOptions,
  onDesign?: (i: number) => void): CompareRow[] {
  const cmds = parseOrExit(text, name);
  const rows: CompareRow[] = [];
  let reference: { design: string; out: string[] } | null = null;
  designs.forEach((design, i) => {
    onDesign?.(i);
    const out: string[] = []; // result lines, each ending in \n
    const t0 = performance.now();
    const r = runToStatus(cmds, name, { ...mem, design }, (line) => out.push(line));
    const ms = performance.now() - t0;
    if (r.status === EXIT.INTERNAL) throw r.error;
    if (r.status !== EXIT.OK) throw new CliError(`${r.message} (design ${design})`, r.status);
    if (reference === null) reference = { design, out };
    else {
      const ref: { design: string; out: string[] } = reference;
      const at = out.findIndex((l, j) => l !== ref.out[j]);
      if (at >= 0 || out.length !== ref.out.length) {
        const j = at >= 0 ? at : Math.min(out.length, ref.out.length);
        throw new CliError(
          `${name}: designs ${ref.design} and ${design} print different output at result ${j + 1}:\n` +
            `  ${ref.design}: ${ref.out[j]?.slice(0, -1) ?? '(nothing)'}\n  ${design}: ${out[j]?.slice(0, -1) ?? '(nothing)'}`,
          EXIT.DIFFERENT,
        );
      }
    }
    rows.push({ design, ms, stats: r.machine!.stats() });
  });
  return rows;
}

export function compareTable(title: string, rows: readonly CompareRow[]): string {
  const header = ['design', ...COLUMNS.map(([h]) => h)];
  const body = rows.map((r) => [r.design, ...COLUMNS.map(([, f]) => f(r.stats, r.ms))]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [
    title,
    '',
    line(header),
    `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...body.map(line),
  ].join('\n');
}

export const compareCommand: Subcommand = (program, ctx) => {
  const cmd = program
    .command('compare')
    .summary('run every design on the same input and compare their costs')
    .description(
      'Run each input — a workload name (see `vmtree workload --help`) or a trace file — on every ' +
        'design, check that they all print identical output (a difference is an error, exit status ' +
        `${EXIT.DIFFERENT}), and print one table per input: rows designs, columns the main counters ` +
        '(faults, copy-on-write copies and reuses, swap traffic, rmap walks with vmas and rmap objects ' +
        '— spaces or anon_vmas — visited per walk, ptes scanned, lookup steps per fault, structures ' +
        'alive, tree depth, estimated kernel metadata at Linux 6.18 x86-64 sizes, peak frames, time).',
    )
    .argument('<input...>', 'workload names, trace files (.vmt or .vmt.gz), or real:NAME (a recording in examples/real)')
    .option('--designs <list>', `comma-separated designs (default: all: ${Object.keys(DESIGNS).join(',')})`);
  addSimulatorOptions(cmd, { design: 'none', zeroPage: 'flag' })
    .option('--param <k=v>', 'workload parameter (repeatable; applies to every workload input)', collectParam, {} as Record<string, string>)
    .option('--json', 'print JSON instead of tables')
    .action((inputs: string[], o: CompareOpts) => {
      const designs = o.designs === undefined ? Object.keys(DESIGNS) : o.designs.split(',').map((d) => d.trim());
      for (const d of designs) {
        if (DESIGNS[d] === undefined) throw new CliError(`unknown design '${d}' (designs: ${Object.keys(DESIGNS).join(', ')})`);
      }
      const mem = machineOptions(o);
      const results: { input: string; rows: CompareRow[] }[] = [];
      const bar = progress(ctx, 'compare');
      const total = inputs.length * designs.length;
      inputs.forEach((input, k) => {
        let text: Buffer;
        let recorded: Buffer | undefined;
        try {
          recorded = loadRecordedInput(input); // real:NAME, or a .vmt.gz file
        } catch (e) {
          throw new CliError((e as Error).message);
        }
        if (recorded !== undefined) {
          text = recorded;
        } else if (WORKLOADS.some((w) => w.name === input)) {
          try {
            text = Buffer.from(workloadTrace(input, filterParams(input, o.param)), 'latin1');
          } catch (e) {
            throw new CliError((e as Error).message);
          }
        } else {
          try {
            text = readFileSync(input);
          } catch {
            throw new CliError(`'${input}' is neither a workload (${WORKLOADS.map((w) => w.name).join(', ')}) nor a readable trace file`);
          }
        }
        const rows = compareDesigns(text, input, designs, mem, (i) => bar.update(k * designs.length + i, total, `${input}: ${designs[i]}`));
        results.push({ input, rows });
      });
      bar.done();
      if (o.json === true) {
        ctx.out.write(`${JSON.stringify(results)}\n`);
        return;
      }
      const memNote = o.frames === undefined ? 'unbounded memory' : `${o.frames} frames`;
      for (const r of results) ctx.out.write(`${compareTable(`${r.input} (${memNote}; identical output from every design)`, r.rows)}\n\n`);
    });
};

/** Only the --param values a workload knows (one --param list serves several workloads). */
function filterParams(name: string, params: Record<string, string>): Record<string, string> {
  const known = new Set(findWorkload(name).params.map((p) => p.name));
  return Object.fromEntries(Object.entries(params).filter(([k]) => known.has(k)));
}
