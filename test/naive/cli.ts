// Run a trace file on the naive model and print the results as the spec does:
//   tsc (see test/naive/README) && node cli.js TRACE
import { readFileSync } from 'node:fs';
import { runNaive } from './model.js';
import { formatResults, parseVmt } from './trace-text.js';

const path = process.argv[2];
if (!path) {
  process.stderr.write('usage: cli TRACE\n');
  process.exit(1);
}
const cmds = parseVmt(readFileSync(path === '-' ? 0 : path, 'utf8'), path);
process.stdout.write(formatResults(cmds, runNaive(cmds)));
