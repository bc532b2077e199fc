// `vmtree draw TRACE`: the design's structures at a line of a trace, as a
// picture (SVG laid out by Graphviz in WebAssembly) or as DOT.

import { writeFileSync } from 'node:fs';
import { InvalidArgumentError, Option } from 'commander';
import { commandsUpTo, drawSnapshot, snapshotOf, type DrawAt } from '../draw/index.js';
import { OutOfMemoryError } from '../mm/frames.js';
import { Machine } from '../machine.js';
import type { Command } from '../trace/ast.js';
import { WORKLOADS, workloadTrace } from '../workload/index.js';
import { CliError, EXIT, parseOrExit } from './exit.js';
import type { Subcommand } from './io.js';
import { addSimulatorOptions, collectParam, int, machineOptions, type SimulatorOpts } from './options.js';

const parseAt = (v: string): DrawAt => {
  if (v === 'end' || v === 'before-exit') return v;
  if (/^[0-9]+$/.test(v) && Number(v) >= 1) return Number(v);
  throw new InvalidArgumentError("--at takes a line number (from 1), 'end' or 'before-exit'.");
};

interface DrawOpts extends SimulatorOpts {
  at?: DrawAt;
  design: string;
  output?: string;
  format: 'svg' | 'dot';
  param: Record<string, string>;
  collapse: number;
}

export const drawCommand: Subcommand = (program, ctx) => {
  const cmd = program
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
    .argument('<trace>', "trace file (.gz: gunzipped), real:NAME (a recording in examples/real), '-' for standard input, or a workload name")
    .option('--at <line>', "draw after this trace line; 'end' (the default for files) or 'before-exit' (the last command before the first exit: the default for workloads)", parseAt)
    .option('-o, --output <file>', 'write the picture to FILE (default standard output)')
    .addOption(new Option('--format <f>', 'svg (laid out) or dot (Graphviz source)').choices(['svg', 'dot']).default('svg'))
    .option('--param <k=v>', 'workload parameter (repeatable)', collectParam, {} as Record<string, string>)
    .option('--collapse <n>', 'draw runs of at least N identical siblings as one "×N" node (0: never)', int('--collapse', 0), 3)
    .addHelpText('after', '\nExamples:\n  vmtree draw examples/spec-example.vmt --at 8 -o spaces.svg\n  vmtree draw cow-storm --param children=1000 --param pages=20 --design anon-vma-chain -o storm.svg')
  addSimulatorOptions(cmd, { design: 'one', zeroPage: 'flag' });
  cmd.action(async (trace: string, o: DrawOpts) => {
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
        cmds = parseOrExit(text, trace);
        at ??= 'before-exit';
      } else {
        if (Object.keys(o.param).length > 0) throw new CliError(`--param applies to workloads only ('${trace}' is not one)`);
        cmds = await ctx.loadTrace(trace);
      }
      at ??= 'end';
      if (typeof at === 'number' && !cmds.some((c) => c.line >= at)) {
        throw new CliError(`--at ${at}: ${ctx.inputName(trace)} has no command at or after line ${at}`);
      }
      const m = new Machine(machineOptions(o));
      for (const c of commandsUpTo(cmds, at)) {
        try {
          m.exec(c);
        } catch (e) {
          if (e instanceof OutOfMemoryError) throw new CliError(`${ctx.inputName(trace)}:${c.line}: ${e.message}`, EXIT.OUT_OF_MEMORY);
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
