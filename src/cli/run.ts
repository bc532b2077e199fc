// `vmtree run`: run a trace on the simulator.

import { writeFileSync } from 'node:fs';
import { TraceError } from '../trace/ast.js';
import { openTrace, type OpenTrace } from '../trace/source.js';
import { CliError, EXIT, runToStatus } from './exit.js';
import { reason, traceInput, type CliContext, type Subcommand } from './io.js';
import { addSimulatorOptions, machineOptions, type SimulatorOpts } from './options.js';

interface RunOpts extends SimulatorOpts {
  design: string;
  stats?: boolean;
  statsJson?: string;
}

export const runCommand: Subcommand = (program, ctx) => {
  const cmd = program
    .command('run')
    .summary('run a trace on the simulator')
    .description(
      'Run a vmtrace file on the simulated machine and print one result per command, ' +
        'each prefixed by its line number.\n\n' +
        'The whole trace is checked first: a trace that breaks a rule prints ' +
        `"FILE:LINE: message" on stderr, nothing on stdout, and exits with status ${EXIT.BAD_TRACE}.`,
    )
    .argument('<trace>', "trace file to run (a .gz file is gunzipped as it is read), real:NAME (a recording in examples/real), or '-' for standard input");
  addSimulatorOptions(cmd, { design: 'one', zeroPage: 'flag' })
    .option('--stats', "print the machine's counters to stderr after the run, as a table")
    .option('--stats-json <file>', "write the machine's counters to FILE as one flat JSON object")
    .addHelpText('after', `\nExit status ${EXIT.OUT_OF_MEMORY}: out of memory — every frame is in use and nothing can be freed ` +
      '(--frames too small for one operation, or --swap full); the message names the trace line.')
    .action(async (trace: string, opts: RunOpts) => {
      // Streamed: validated whole first, then run without holding the
      // commands (src/trace/source.ts), so memory follows what is resident,
      // not the trace's length.
      let cmds: OpenTrace;
      try {
        cmds = await openTrace(await traceInput(ctx, trace), ctx.inputName(trace));
      } catch (e) {
        if (e instanceof TraceError) throw new CliError(e.message, EXIT.BAD_TRACE);
        if (e instanceof CliError) throw e;
        throw new CliError(trace === '-' ? `cannot read standard input: ${reason(e)}` : `cannot read '${trace}': ${reason(e)}`);
      }
      let r;
      try {
        r = runToStatus(cmds, ctx.inputName(trace), machineOptions(opts), (line) => ctx.out.write(line));
      } finally {
        cmds.close();
      }
      ctx.out.flush();
      if (r.status === EXIT.INTERNAL) throw r.error;
      if (r.status !== EXIT.OK) throw new CliError(r.message, r.status);
      if (opts.stats === true || opts.statsJson !== undefined) {
        const stats = r.machine!.stats();
        if (opts.stats === true) ctx.io.stderr(statsTable(stats, opts.design, ctx));
        if (opts.statsJson !== undefined) {
          try {
            writeFileSync(opts.statsJson, `${JSON.stringify(stats)}\n`);
          } catch (e) {
            throw new CliError(`cannot write '${opts.statsJson}': ${reason(e)}`);
          }
        }
      }
    });
};

/** Counters as an aligned two-column table. */
export function statsTable(stats: Record<string, number>, design: string, ctx?: Pick<CliContext, 'colors'>): string {
  const names = Object.keys(stats);
  const values = names.map((n) => {
    const v = stats[n]!;
    return Number.isInteger(v) ? String(v) : String(Number(v.toFixed(3)));
  });
  const w1 = Math.max(0, ...names.map((n) => n.length));
  const w2 = Math.max(0, ...values.map((v) => v.length));
  const head = `stats (design ${design})`;
  const lines = [ctx ? ctx.colors.bold(head) : head];
  names.forEach((n, i) => lines.push(`  ${n.padEnd(w1)}  ${values[i]!.padStart(w2)}`));
  return `${lines.join('\n')}\n`;
}
