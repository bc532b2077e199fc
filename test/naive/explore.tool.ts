// Exploration helper, not part of the suite: VMTREE_EXPLORE=1 npx vitest run explore: run many
// random traces on the simulator and the naive model and list the distinct
// kinds of first disagreement, each with its shortest trace found.
import fc from 'fast-check';
import { it } from 'vitest';
import { Machine } from '../../src/machine.js';
import { fileTraceArbitrary, traceArbitrary, mergeTraceArbitrary, validTrace } from './gen.js';
import { NaiveMachine } from './model.js';
import { printVmtCommand, printVmt } from './trace-text.js';

it('explore', () => {
  const n = Number(process.env.VMTREE_EXPLORE_RUNS ?? 3000);
  const arb = process.env.VMTREE_GEN === 'merge' ? mergeTraceArbitrary() : process.env.VMTREE_GEN === 'eof' ? fileTraceArbitrary(40, true) : process.env.VMTREE_GEN === 'file' ? fileTraceArbitrary() : traceArbitrary({ maxCommands: 60, odd: Number(process.env.VMTREE_ODD ?? 1) });
  const seen = new Map<string, { count: number; trace: string; len: number; a: string; b: string }>();
  for (const t of fc.sample(arb, { numRuns: n, seed: Number(process.env.VMTREE_FC_SEED ?? 1) })) {
    const nm = new NaiveMachine();
    const sm = new Machine();
    for (let i = 0; i < t.length; i++) {
      const c = t[i]!;
      const a = nm.exec(c);
      let b: string;
      try { b = sm.exec(c); } catch (e) { b = `THROWS ${String(e)}`; }
      if (a !== b) {
        const key = `${c.kind}: naive ${a.split('\n')[0]} / sim ${b.split('\n')[0]}`;
        const prev = seen.get(key);
        if (!prev || prev.len > i) seen.set(key, { count: (prev?.count ?? 0) + 1, trace: printVmt(t.slice(0, i + 1)), len: i, a, b });
        else prev.count++;
        break;
      }
    }
  }
  for (const [k, v] of seen) console.log(`=== ${k} (${v.count})\n${v.trace}--- naive\n${v.a}\n--- sim\n${v.b}\n`);
  void printVmtCommand;
});

// VMTREE_TRACE=path: print the simulator's and the naive model's output for a trace.
it.runIf(process.env.VMTREE_TRACE !== undefined)('show', async () => {
  const { readFileSync } = await import('node:fs');
  const { parseVmt, formatResults } = await import('./trace-text.js');
  const cmds = parseVmt(readFileSync(process.env.VMTREE_TRACE!, 'utf8'));
  const sm = new Machine();
  const nm = new NaiveMachine();
  const sim = cmds.map((c) => { try { return sm.exec(c); } catch (e) { return `THROWS ${String(e)}`; } });
  console.log(`--- simulator\n${formatResults(cmds, sim)}--- naive\n${formatResults(cmds, cmds.map((c) => nm.exec(c)))}`);
});

// VMTREE_SHRINK=1: find a disagreement and shrink it (fast-check), print it with Linux's output.
it.runIf(process.env.VMTREE_SHRINK === '1')('shrink', async () => {
  const { runLinux } = await import('./linux.js');
  const { formatResults, renumber } = await import('./trace-text.js');
  const arb = process.env.VMTREE_GEN === 'merge' ? mergeTraceArbitrary() : process.env.VMTREE_GEN === 'eof' ? fileTraceArbitrary(40, true) : process.env.VMTREE_GEN === 'file' ? fileTraceArbitrary() : traceArbitrary({ maxCommands: 60, odd: Number(process.env.VMTREE_ODD ?? 1) });
  const both = (t: readonly import('../../src/trace/ast.js').Command[]): [string[], string[]] => {
    const nm = new NaiveMachine();
    const sm = new Machine();
    return [t.map((c) => nm.exec(c)), t.map((c) => { try { return sm.exec(c); } catch (e) { return `THROWS ${String(e)}`; } })];
  };
  const drop = process.env.VMTREE_DROP ? new RegExp(process.env.VMTREE_DROP) : undefined;
  const arb1 = drop === undefined ? arb : arb.map((t) => validTrace(t.filter((c) => !drop.test(printVmtCommand(c)))));
  // VMTREE_NOSAME=1: drop ftruncates to the file's current size.
  const arb2 = process.env.VMTREE_NOSAME !== '1' ? arb1 : arb1.map((t) => {
    const m = new NaiveMachine();
    return validTrace(t.filter((c) => {
      if (c.kind === 'ftruncate' && m.files.get(c.file)?.size === c.size) return false;
      m.exec(c);
      return true;
    }));
  });
  const skip = process.env.VMTREE_SKIP ? new RegExp(process.env.VMTREE_SKIP) : undefined;
  const r = fc.check(fc.property(arb2, (t) => {
    const [a, b] = both(t);
    for (let i = 0; i < t.length; i++) {
      if (a[i] !== b[i]) return skip !== undefined && skip.test(`${printVmtCommand(t[i]!)} => ${a[i]} / ${b[i]}`);
    }
    return true;
  }), { numRuns: Number(process.env.VMTREE_EXPLORE_RUNS ?? 3000), seed: Number(process.env.VMTREE_FC_SEED ?? 1) });
  if (!r.failed) { console.log('no disagreement'); return; }
  const t = renumber(r.counterexample![0]);
  const [a, b] = both(t);
  let linux: string;
  try { linux = formatResults(t, runLinux(t)); } catch (e) { linux = String(e); }
  console.log(`${printVmt(t)}--- naive\n${formatResults(t, a)}--- sim\n${formatResults(t, b)}--- linux\n${linux}`);
});
