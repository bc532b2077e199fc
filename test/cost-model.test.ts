// docs/cost-model.md defines every counter the program emits (issue 9):
// the counter names in the doc's tables are exactly the names that
// Machine.stats() returns (what `vmtree run --stats` and `vmtree compare`
// print) over a spread of traces — the spec's example, workloads run with
// few frames (so reclaim, swap and writeback happen), every registered
// design, with and without the zero page, and the designs' options. A new
// counter with no definition fails here, and so does a definition of a
// counter nothing emits any more.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DESIGNS } from '../src/anon/index.js';
import { Machine, type MachineOptions } from '../src/machine.js';
import { parseTrace } from '../src/trace/parse.js';
import { workloadTrace } from '../src/workload/index.js';
import { SPEC_EXAMPLE } from './spec-example.js';

const DOC = join(import.meta.dirname, '..', 'docs', 'cost-model.md');

/**
 * The counters a markdown document defines: the backquoted names in the
 * first cell of each table row (`| \`a\`, \`b\` | meaning |`), header and
 * separator rows excepted.
 */
export function documentedCounters(markdown: string): Set<string> {
  const names = new Set<string>();
  for (const line of markdown.split('\n')) {
    const m = /^\|([^|]*)\|/.exec(line.trim());
    if (m === null) continue;
    for (const [, name] of m[1]!.matchAll(/`([A-Za-z][A-Za-z0-9]*)`/g)) names.add(name!);
  }
  return names;
}

/** The union of the counter names Machine.stats() returns after each trace. */
function emittedCounters(runs: readonly { trace: string; opts: MachineOptions }[]): Map<string, Set<string>> {
  const byName = new Map<string, Set<string>>();
  for (const { trace, opts } of runs) {
    const m = new Machine(opts);
    for (const c of parseTrace(trace, 't')) m.exec(c);
    for (const k of Object.keys(m.stats())) {
      let s = byName.get(k);
      if (s === undefined) byName.set(k, (s = new Set()));
      s.add(opts.design ?? 'tree');
    }
  }
  return byName;
}

const TRACES: readonly { trace: string; frames?: number }[] = [
  { trace: SPEC_EXAMPLE },
  // Private file pages dirtied under pressure: writeback, clean drops, swap.
  { trace: workloadTrace('pressure', { procs: '3', sweeps: '2', pages: '64', filePages: '32', slice: '16', reclaim: '32', reclaimEvery: '1' }), frames: 48 },
  { trace: workloadTrace('cow-storm', { children: '6', pages: '8' }), frames: 24 },
  { trace: workloadTrace('fork-chain', {}) },
  { trace: workloadTrace('shell', {}), frames: 64 },
];

/** Every design with and without the zero page, and the designs' own switches. */
const CONFIGS: readonly MachineOptions[] = [
  ...Object.keys(DESIGNS).flatMap((design) => [{ design }, { design, zeroPage: false }]),
  { design: 'tree', cut: false, merge: false },
  { design: 'shadow', cut: false, merge: false },
  { design: 'shadow', shadowChainLimit: 1 },
  { design: 'cow-context', cowContextEarlyExit: 'fixed' },
  { design: 'cow-context', cowContextEarlyExit: 'poc', cowContextSwapIn: 'faulting-mm' },
];

describe('docs/cost-model.md', () => {
  let documented = new Set<string>();
  let emitted = new Map<string, Set<string>>();
  beforeAll(() => {
    documented = documentedCounters(readFileSync(DOC, 'utf8'));
    emitted = emittedCounters(
      CONFIGS.flatMap((opts) => TRACES.map((t) => ({ trace: t.trace, opts: t.frames === undefined ? opts : { ...opts, frames: t.frames } }))),
    );
  }, 120_000);

  it('the parser reads table rows only, every name in the first cell', () => {
    const md = ['# `notACounter`', '| counter | meaning |', '|---|---|', '| `a`, `b2` | about `c` |', 'text `d`', '| `e` | x |'].join('\n');
    expect([...documentedCounters(md)].sort()).toEqual(['a', 'b2', 'e']);
  });

  it('runs every registered design', () => {
    expect(new Set(CONFIGS.map((c) => c.design))).toEqual(new Set(Object.keys(DESIGNS)));
  });

  it('defines every counter the program emits', () => {
    const undocumented = [...emitted.keys()].filter((k) => !documented.has(k)).map((k) => `${k} (${[...emitted.get(k)!].join(', ')})`);
    expect(undocumented.sort()).toEqual([]);
  });

  it('defines no counter that is never emitted', () => {
    expect([...documented].filter((k) => !emitted.has(k)).sort()).toEqual([]);
  });
});
