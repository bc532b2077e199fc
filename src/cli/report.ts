// `vmtree report`: the HTML report answering "Would this scheme work?",
// and (with --readme) the README's tables and plots from the same data.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildReport, replaceTables, TABLES_BEGIN, TABLES_END } from '../report/index.js';
import { compareTable } from './compare.js';
import { CliError } from './exit.js';
import { progress, type Subcommand } from './io.js';
import { int } from './options.js';

interface ReportOpts {
  output: string;
  readme?: string;
  plotsDir: string;
  jobs?: number;
}

const write = (file: string, text: string): void => {
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  } catch (e) {
    throw new CliError(`cannot write '${file}': ${(e as Error).message}`);
  }
};

export const reportCommand: Subcommand = (program, ctx) => {
  program
    .command('report')
    .summary('write the HTML report: every design on every workload, sweeps as plots, pictures of the structures')
    .description(
      'Run every design on every workload (the README\'s tables) and the sweeps that show how costs grow ' +
        '(rmap walk length against children in cow-storm, metadata against forks in zygote and prefork, depth ' +
        'and structures against generations in fork-chain with and without merge, copies and reuses against ' +
        'memory in pressure), on every core; write one self-contained HTML file with the tables, the plots ' +
        '(Vega-Lite, rendered to SVG now) and pictures of the structures (as `vmtree draw`). It needs no ' +
        'network to open.\n\n' +
        `With --readme FILE, also replace the tables between ${TABLES_BEGIN} and ${TABLES_END} in FILE and ` +
        'write the plots FILE shows into --plots-dir: `npm run report` regenerates both from one run.',
    )
    .option('-o, --output <file>', 'the HTML file to write', 'report.html')
    .option('--readme <file>', 'also update the tables in this README (and its plots)')
    .option('--plots-dir <dir>', 'where --readme writes its plots (SVG)', 'docs/plots')
    .option('--jobs <n>', 'worker threads (default: one per core)', int('--jobs', 1))
    .action(async (o: ReportOpts) => {
      let readme: string | undefined;
      if (o.readme !== undefined) {
        try {
          readme = readFileSync(o.readme, 'utf8');
        } catch (e) {
          throw new CliError(`cannot read '${o.readme}': ${(e as Error).message}`);
        }
        try {
          replaceTables(readme, '');
        } catch (e) {
          throw new CliError(`${o.readme}: ${(e as Error).message}`);
        }
      }
      const bar = progress(ctx, 'report');
      const t0 = performance.now();
      const built = await buildReport({ formatTable: compareTable, ...(o.jobs !== undefined && { jobs: o.jobs }), onProgress: (d, t) => bar.update(d, t) });
      bar.done();
      write(o.output, built.html);
      const wrote = [o.output];
      if (readme !== undefined) {
        for (const p of built.readmePlots) {
          const file = path.join(o.plotsDir, `${p.id}.svg`);
          write(file, p.svg);
          wrote.push(file);
        }
        write(o.readme!, replaceTables(readme, built.tables));
        wrote.push(o.readme!);
      }
      ctx.io.stderr(`vmtree report: wrote ${wrote.join(', ')} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    });
};
