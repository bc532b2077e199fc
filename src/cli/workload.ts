// `vmtree workload`: print the trace of a named workload.

import { WORKLOADS, workloadTrace } from '../workload/index.js';
import { CliError } from './exit.js';
import type { Subcommand } from './io.js';
import { collectParam } from './options.js';

function workloadHelp(): string {
  const lines = ['', 'Workloads and their parameters (sizes in pages):'];
  for (const w of WORKLOADS) {
    lines.push('', `  ${w.name}: ${w.description}`);
    for (const p of w.params) lines.push(`    ${p.name.padEnd(14)} ${p.description} (default ${p.default})`);
  }
  return lines.join('\n');
}

export const workloadCommand: Subcommand = (program, ctx) => {
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
