// The subcommands beyond `run` and `gen`: verify, workload, compare.
// Each is a Subcommand (see cli.ts) registered in SUBCOMMANDS there.

import { readFileSync } from 'node:fs';
import { InvalidArgumentError, Option } from 'commander';
import { DEFAULT_DESIGN, DESIGNS } from './anon/index.js';
import { CliError, type CliContext, type Subcommand } from './cli.js';
import { Machine, MIN_FRAMES, type MachineOptions } from './mm/machine.js';
import { OutOfMemoryError } from './mm/frames.js';
import { kernelOracleAvailable } from './oracle/native.js';
import { describeDifference, verifyFiles, verifySeeds, type VerifyReport } from './oracle/verify.js';
import { TraceError } from './trace/ast.js';
import { PROFILES, type Profile } from './trace/gen/index.js';
import { parseTrace } from './trace/parse.js';
import { findWorkload, workloadTrace, WORKLOADS } from './workload/index.js';

/** Exit status when traces behave differently (on Linux and the simulator, or between designs). */
export const EXIT_DIFFERENT = 4;

const int = (what: string, min = 0) => (value: string): number => {
  if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(value)) throw new InvalidArgumentError(`${what} must be an integer.`);
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${what} must be an integer of at least ${min}.`);
  return n;
};

/** A progress bar on stderr, drawn only when stderr is a terminal. */
function progress(ctx: CliContext, label: string): { update(done: number, total: number, note?: string): void; done(): void } {
  let last = 0;
  const tty = ctx.io.stderrIsTTY;
  return {
    update(done, total, note = '') {
      const now = Date.now();
      if (!tty || (now - last < 100 && done < total)) return;
      last = now;
      const width = 30;
      const fill = total === 0 ? width : Math.round((done / total) * width);
      ctx.io.stderr(`\r${label} [${'#'.repeat(fill)}${' '.repeat(width - fill)}] ${done}/${total} ${note}\x1b[K`);
    },
    done() {
      if (tty) ctx.io.stderr('\r\x1b[K');
    },
  };
}

/** Memory options shared by the commands that run the simulator. */
function memoryOptions(o: { frames?: number; swap?: number; cut?: boolean; merge?: boolean }): MachineOptions {
  const m: MachineOptions = {};
  if (o.frames !== undefined) m.frames = o.frames;
  if (o.swap !== undefined) m.swap = o.swap;
  if (o.cut === false) m.cut = false;
  if (o.merge === false) m.merge = false;
  return m;
}

// --------------------------------------------------------------- verify

interface VerifyOpts {
  seeds: number;
  firstSeed: number;
  ops: number;
  profile?: string[];
  quirks?: boolean;
  design: string;
  frames?: number;
  swap?: number;
  json?: boolean;
  maxDifferences: number;
}

const addVerify: Subcommand = (program, ctx) => {
  program
    .command('verify')
    .summary('compare the simulator with the Linux kernel')
    .description(
      'Run traces on the simulator and on the running Linux kernel (through the native runner, ' +
        'native/vmrun/, built with the system C compiler on first use; needs root for ' +
        '/proc/self/pagemap) and compare their outputs byte for byte.\n\n' +
        'Without TRACE arguments, generates --seeds traces for each profile. Every difference is ' +
        'minimised (lines deleted while it persists) and printed with both outputs side by side. ' +
        'Traces the kernel runner refuses as not portable are counted, not compared.\n\n' +
        `Exit status: 0 no difference; ${EXIT_DIFFERENT} differences found; 1 the kernel oracle is unavailable or bad usage.`,
    )
    .argument('[trace...]', 'trace files to compare instead of generated ones')
    .option('--seeds <n>', 'generated traces per profile', int('--seeds', 1), 100)
    .option('--first-seed <n>', 'first seed', int('--first-seed'), 1)
    .option('--ops <k>', 'commands per generated trace', int('--ops', 1), 100)
    .addOption(new Option('--profile <p...>', 'profiles to generate (default: all)').choices([...PROFILES]))
    .option('--quirks', 'generate non-portable cases too (see `vmtree gen --help`)')
    .addOption(new Option('--design <name>', 'design the simulator runs').choices(Object.keys(DESIGNS)).default(DEFAULT_DESIGN))
    .option('--frames <n>', `run the simulator side under memory pressure with N frames (at least ${MIN_FRAMES})`, int('--frames', MIN_FRAMES))
    .option('--swap <n>', 'swap size in pages for the simulator side', int('--swap'))
    .option('--max-differences <n>', 'stop after this many differences', int('--max-differences', 1), 5)
    .option('--json', 'print one JSON object instead of text')
    .action(async (traces: string[], o: VerifyOpts) => {
      const avail = kernelOracleAvailable();
      if (!avail.ok) throw new CliError(`the kernel oracle is unavailable: ${avail.why}`);
      const machine: MachineOptions = { design: o.design, ...memoryOptions(o) };
      const bar = progress(ctx, 'verify');
      const onProgress = (done: number, total: number, diffs: number): void =>
        bar.update(done, total, diffs === 0 ? '' : `${diffs} difference(s)`);
      let report: VerifyReport;
      if (traces.length > 0) {
        const files = [];
        for (const t of traces) files.push({ name: ctx.inputName(t), text: (await ctx.readInput(t)).toString('latin1') });
        report = await verifyFiles(files, machine, onProgress);
      } else {
        const profiles = (o.profile ?? [...PROFILES]) as Profile[];
        report = await verifySeeds({
          seeds: o.seeds, firstSeed: o.firstSeed, ops: o.ops, profiles, quirks: o.quirks === true,
          machine, maxDifferences: o.maxDifferences, onProgress,
        });
      }
      bar.done();
      if (o.json === true) {
        ctx.out.write(`${JSON.stringify({
          design: o.design, traces: report.traces, same: report.same, notPortable: report.notPortable,
          differences: report.differences.map((d) => ({
            source: d.source, seed: d.seed, profile: d.profile, minimized: d.minimized,
            linux: d.kernel, vmtree: d.sim,
          })),
        })}\n`);
      } else {
        for (const d of report.differences) ctx.out.write(`${describeDifference(d)}\n\n`);
        ctx.out.write(
          `verify (design ${o.design}${o.frames !== undefined ? `, ${o.frames} frames` : ''}): ${report.traces} traces, ` +
            `${report.same} same, ${report.notPortable} not portable, ${report.differences.length} different\n`,
        );
      }
      if (report.differences.length > 0) ctx.exitCode = EXIT_DIFFERENT;
    });
};

// -------------------------------------------------------------- workload

/** `--param k=v` collected into a record. */
function collectParam(value: string, acc: Record<string, string>): Record<string, string> {
  const m = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(value);
  if (m === null) throw new InvalidArgumentError(`--param takes NAME=VALUE, got '${value}'.`);
  return { ...acc, [m[1]!]: m[2]! };
}

function workloadHelp(): string {
  const lines = ['', 'Workloads and their parameters (sizes in pages):'];
  for (const w of WORKLOADS) {
    lines.push('', `  ${w.name}: ${w.description}`);
    for (const p of w.params) lines.push(`    ${p.name.padEnd(14)} ${p.description} (default ${p.default})`);
  }
  return lines.join('\n');
}

const addWorkload: Subcommand = (program, ctx) => {
  program
    .command('workload')
    .summary('print the trace of a named workload')
    .description('Print the vmtrace of a workload, for `vmtree run` or `vmtree compare`. Every parameter has a default.')
    .argument('<name>', `workload: ${WORKLOADS.map((w) => w.name).join(', ')}`)
    .option('--param <k=v>', 'set a parameter (repeatable)', collectParam, {} as Record<string, string>)
    .addHelpText('after', workloadHelp())
    .action((name: string, o: { param: Record<string, string> }) => {
      try {
        ctx.out.write(workloadTrace(name, o.param));
      } catch (e) {
        throw new CliError((e as Error).message);
      }
    });
};

// --------------------------------------------------------------- compare

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

interface CompareOpts {
  designs?: string;
  frames?: number;
  swap?: number;
  cut?: boolean;
  merge?: boolean;
  param: Record<string, string>;
  json?: boolean;
}

export interface CompareRow {
  design: string;
  ms: number;
  stats: Record<string, number>;
}

/** Run one trace on every design; throws CliError if their outputs differ. */
export function compareDesigns(text: Buffer, name: string, designs: readonly string[], mem: MachineOptions,
  onDesign?: (i: number) => void): CompareRow[] {
  let cmds;
  try {
    cmds = parseTrace(text, name);
  } catch (e) {
    if (e instanceof TraceError) throw new CliError(e.message, 2);
    throw e;
  }
  const rows: CompareRow[] = [];
  let reference: { design: string; out: string[] } | null = null;
  designs.forEach((design, i) => {
    onDesign?.(i);
    const m = new Machine({ ...mem, design });
    const out: string[] = [];
    const t0 = performance.now();
    for (const c of cmds) {
      try {
        out.push(`${c.line} ${m.exec(c)}`);
      } catch (e) {
        if (e instanceof OutOfMemoryError) throw new CliError(`${name}:${c.line}: ${e.message} (design ${design})`, 3);
        throw e;
      }
    }
    const ms = performance.now() - t0;
    if (reference === null) reference = { design, out };
    else {
      const ref: { design: string; out: string[] } = reference;
      const at = out.findIndex((l, j) => l !== ref.out[j]);
      if (at >= 0 || out.length !== ref.out.length) {
        const j = at >= 0 ? at : Math.min(out.length, ref.out.length);
        throw new CliError(
          `${name}: designs ${ref.design} and ${design} print different output at result ${j + 1}:\n` +
            `  ${ref.design}: ${ref.out[j] ?? '(nothing)'}\n  ${design}: ${out[j] ?? '(nothing)'}`,
          EXIT_DIFFERENT,
        );
      }
    }
    rows.push({ design, ms, stats: m.stats() });
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

const addCompare: Subcommand = (program, ctx) => {
  program
    .command('compare')
    .summary('run every design on the same input and compare their costs')
    .description(
      'Run each input — a workload name (see `vmtree workload --help`) or a trace file — on every ' +
        'design, check that they all print identical output (a difference is an error, exit status ' +
        `${EXIT_DIFFERENT}), and print one table per input: rows designs, columns the main counters ` +
        '(faults, copy-on-write copies and reuses, swap traffic, rmap walks with vmas and rmap objects ' +
        '— spaces or anon_vmas — visited per walk, ptes scanned, lookup steps per fault, structures ' +
        'alive, tree depth, estimated kernel metadata at Linux 6.18 x86-64 sizes, peak frames, time).',
    )
    .argument('<input...>', 'workload names or trace files')
    .option('--designs <list>', `comma-separated designs (default: all: ${Object.keys(DESIGNS).join(',')})`)
    .option('--frames <n>', `physical memory in frames (at least ${MIN_FRAMES}; default unbounded)`, int('--frames', MIN_FRAMES))
    .option('--swap <n>', 'swap size in pages', int('--swap'))
    .option('--no-cut', "switch off the tree's cut optimisation")
    .option('--no-merge', "switch off the tree's merge optimisation")
    .option('--param <k=v>', 'workload parameter (repeatable; applies to every workload input)', collectParam, {} as Record<string, string>)
    .option('--json', 'print JSON instead of tables')
    .action((inputs: string[], o: CompareOpts) => {
      const designs = o.designs === undefined ? Object.keys(DESIGNS) : o.designs.split(',').map((d) => d.trim());
      for (const d of designs) {
        if (DESIGNS[d] === undefined) throw new CliError(`unknown design '${d}' (designs: ${Object.keys(DESIGNS).join(', ')})`);
      }
      const mem = memoryOptions(o);
      const results: { input: string; rows: CompareRow[] }[] = [];
      const bar = progress(ctx, 'compare');
      const total = inputs.length * designs.length;
      inputs.forEach((input, k) => {
        let text: Buffer;
        if (WORKLOADS.some((w) => w.name === input)) {
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

export const MORE_SUBCOMMANDS: Subcommand[] = [addVerify, addWorkload, addCompare];
