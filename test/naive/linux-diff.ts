// Differential check of the naive model against the real kernel (build/vmrun):
// random portable traces, shrunk by fast-check on a mismatch.
//   node linux-diff.js [RUNS] [SEED]
// Prints the first (shrunk) disagreement as a vmtrace with both outputs.

import fc from 'fast-check';
import { runNaive } from './model.js';
import { fileTraceArbitrary, mergeTraceArbitrary, traceArbitrary } from './gen.js';
import { isRoot, runLinux } from './linux.js';
import { formatResults, printVmt, renumber } from './trace-text.js';

const runs = Number(process.argv[2] ?? 200);
const seed = process.argv[3] === undefined ? Date.now() % 0x7fffffff : Number(process.argv[3]);
const frames = isRoot();

const arb = process.env.VMTREE_GEN === 'merge' ? mergeTraceArbitrary() : process.env.VMTREE_GEN === 'file' ? fileTraceArbitrary() : process.env.VMTREE_GEN === 'eof' ? fileTraceArbitrary(40, true) : traceArbitrary({ frames, maxCommands: 60 });
const prop = fc.property(arb, (trace) => {
  const cmds = renumber(trace);
  const naive = runNaive(cmds);
  const linux = runLinux(cmds);
  for (let i = 0; i < cmds.length; i++) {
    if (naive[i] !== linux[i]) return false;
  }
  return true;
});

const r = fc.check(prop, { numRuns: runs, seed });
if (!r.failed) {
  console.log(`ok: ${r.numRuns} traces agree (seed ${seed})`);
} else {
  const cmds = renumber(r.counterexample![0]);
  const naive = runNaive(cmds);
  let linux: string[];
  try { linux = runLinux(cmds); } catch (e) { linux = [String(e)]; }
  console.log(`MISMATCH (seed ${seed}, ${r.numShrinks} shrinks)\n--- trace\n${printVmt(cmds)}--- naive\n${formatResults(cmds, naive)}--- linux\n${formatResults(cmds, linux)}`);
  if (r.errorInstance) console.log(String(r.errorInstance));
  process.exitCode = 1;
}
