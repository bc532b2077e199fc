// `npm run fuzz`: the parser fuzz (test/fuzz-props.ts) over 100,000 inputs.
//   npm run fuzz [-- --runs N] [--seed S]
// Prints a verdict; exits 1 with fast-check's report (seed, path and the
// shrunk counterexample) on a failure.

import { runFuzz } from './fuzz-props.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  if (i < 0) return dflt;
  const n = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(n) || n < 0) {
    process.stderr.write(`fuzz: ${name} needs a non-negative integer\n`);
    process.exit(1);
  }
  return n;
};

const runs = arg('--runs', 100_000);
const seed = arg('--seed', Date.now() % 2 ** 31);
const t0 = performance.now();
try {
  const r = runFuzz(runs, seed);
  const s = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`fuzz: PASS — ${runs} inputs (seed ${seed}) in ${s} s: ${r.accepted} accepted, ${r.rejected} rejected with FILE:LINE: message; no other exception, none slower than the limit`);
} catch (e) {
  console.error((e as Error).message);
  console.log(`fuzz: FAIL (seed ${seed})`);
  process.exit(1);
}
