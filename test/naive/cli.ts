// Run a trace file ('-' for stdin) on the naive model and print the results
// as docs/vmtrace.md says (a debugging aid; the tests import the model
// directly). It is not part of the build; compile it on its own, e.g.
//   npx tsc --module nodenext --target es2022 --skipLibCheck --types node \
//       --outDir /tmp/naive test/naive/cli.ts
//   node /tmp/naive/test/naive/cli.js TRACE
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
