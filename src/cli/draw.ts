// `vmtree draw TRACE`: the design's structures at a line of a trace, as a
// picture (SVG laid out by Graphviz in WebAssembly) or as DOT.

import { writeFileSync } from 'node:fs';
import { InvalidArgumentError, Option } from 'commander';
import { DEFAULT_DESIGN, DESIGNS } from '../anon/index.js';
import { CliError, type Subcommand } from '../cli.js';
import { commandsUpTo, drawSnapshot, snapshotOf, type DrawAt } from '../draw/index.js';
import { OutOfMemoryError } from '../mm/frames.js';
import { Machine, MIN_FRAMES, type MachineOptions } from '../mm/machine.js';
import { TraceError, type Command } from '../trace/ast.js';
import { parseTrace } from '../trace/parse.js';
import { WORKLOADS, workloadTrace } from '../workload/index.js';

const parseAt = (v: string): DrawAt => {
  if (v === 'end' || v === 'before-exit') return v;
  if (/^[0-9]+$/.test(v) && Number(v) >= 1) return Number(v);
  throw new InvalidArgumentError("--at takes a line number (from 1), 'end' or 'before-exit'.");
};

const asInt = (what: string, min: number) => (v: string): number => {
  const n = /^[0-9]+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${what} must be an integer of at least ${min}.`);
  return n;
};

const collectParam = (value: string, acc: Record<string, string>): Record<string, string> => {
  const m = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(value);
  if (m === null) throw new InvalidArgumentError(`--param takes NAME=VALUE, got '${value}'.`);
  return { ...acc, [m[1]!]: m[2]! };
};

interface DrawOpts {
  at?: DrawAt;
  design: string;
  output?: string;
  format: 'svg' | 'dot';
  param: Record<string, string>;
  frames?: number;
  cut: boolean;
  merge: boolean;
  collapse: number;
}

export const addDraw: Subcommand = (program, ctx) => {
  program
    .command('draw')
    .summary("draw a design's structures at a line of a trace")
    .description(
      "Run TRACE up to a line and draw the anonymous-memory design's structures at that moment: " +
        'for tree and shadow, the spaces (pages, cleared ranges, depth) with parent -> child edges and ' +
        'the vmas using each; for anon-layer and anon-vma-chain, the anon_vmas, each vma under its own ' +
        'and dashed anon_vma_chain links; for scan and pte-chain (no objects), the vmas and the groups ' +
        'of anonymous pages they share.\n\n' +
        'Identical siblings (whole subtrees alike but for their processes) are drawn once as "×N", so ' +
        'a storm of 1000 children stays readable. Layout by Graphviz compiled to WebAssembly: nothing ' +
        'to install.\n\n' +
        'TRACE is a file, - for standard input, or a workload name (see `vmtree workload --help`).',
    )
    .argument('<trace>', "trace file, '-' for standard input, or a workload name")
    .option('--at <line>', "draw after this trace line; 'end' (the default for files) or 'before-exit' (the last command before the first exit: the default for workloads)", parseAt)
    .addOption(new Option('--design <name>', 'design to draw').choices(Object.keys(DESIGNS)).default(DEFAULT_DESIGN))
    .option('-o, --output <file>', 'write the picture to FILE (default standard output)')
    .addOption(new Option('--format <f>', 'svg (laid out) or dot (Graphviz source)').choices(['svg', 'dot']).default('svg'))
    .option('--param <k=v>', 'workload parameter (repeatable)', collectParam, {} as Record<string, string>)
    .option('--frames <n>', `physical memory in frames (at least ${MIN_FRAMES}; default unbounded)`, asInt('--frames', MIN_FRAMES))
    .option('--no-cut', "switch off the tree's cut optimisation")
    .option('--no-merge', "switch off the tree's merge optimisation")
    .option('--collapse <n>', 'draw runs of at least N identical siblings as one "×N" node (0: never)', asInt('--collapse', 0), 3)
    .addHelpText('after', '\nExamples:\n  vmtree draw examples/spec-example.vmt --at 8 -o spaces.svg\n  vmtree draw cow-storm --param children=1000 --param pages=20 --design anon-vma-chain -o storm.svg')
    .action(async (trace: string, o: DrawOpts) => {
      let cmds: Command[];
      let at = o.at;
      const isWorkload = WORKLOADS.some((w) => w.name === trace) && trace !== '-';
      if (isWorkload) {
        let text: string;
        try {
          text = workloadTrace(trace, o.param);
        } catch (e) {
          throw new CliError((e as Error).message);
        }
        try {
          cmds = parseTrace(Buffer.from(text, 'latin1'), trace);
        } catch (e) {
          if (e instanceof TraceError) throw new CliError(e.message, 2);
          throw e;
        }
        at ??= 'before-exit';
      } else {
        if (Object.keys(o.param).length > 0) throw new CliError(`--param applies to workloads only ('${trace}' is not one)`);
        cmds = await ctx.loadTrace(trace);
      }
      at ??= 'end';
      if (typeof at === 'number' && !cmds.some((c) => c.line >= at)) {
        throw new CliError(`--at ${at}: ${ctx.inputName(trace)} has no command at or after line ${at}`);
      }
      const mo: MachineOptions = { design: o.design, cut: o.cut, merge: o.merge };
      if (o.frames !== undefined) mo.frames = o.frames;
      const m = new Machine(mo);
      for (const c of commandsUpTo(cmds, at)) {
        try {
          m.exec(c);
        } catch (e) {
          if (e instanceof OutOfMemoryError) throw new CliError(`${ctx.inputName(trace)}:${c.line}: ${e.message}`, 3);
          throw e;
        }
      }
      const name = isWorkload ? `${trace} ${Object.entries(o.param).map(([k, v]) => `${k}=${v}`).join(' ')}`.trim() : ctx.inputName(trace);
      const title = `${o.design}: ${name}, ${typeof at === 'number' ? `after line ${at}` : at === 'end' ? 'at the end' : 'before the first exit'}`;
      const picture = await drawSnapshot(snapshotOf(m), o.format, { title, collapseAt: o.collapse === 0 ? Infinity : o.collapse });
      if (o.output === undefined || o.output === '-') {
        ctx.out.write(picture);
        return;
      }
      try {
        writeFileSync(o.output, picture);
      } catch (e) {
        throw new CliError(`cannot write '${o.output}': ${(e as Error).message}`);
      }
    });
};
