// Design-specific tests for the shadow design (src/anon/shadow.ts, FreeBSD's
// vm_object shadow chains): how collapse, bypass and DragonFly's chain limit
// keep chains short, what each costs, and that every switch setting prints
// exactly what the tree prints. Every trace runs with the machine's
// invariants checked after every command, and with nothing leaked once every
// process has exited.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESIGNS, type AnonDesignFactory } from '../src/anon/index.js';
import { ShadowDesign } from '../src/anon/shadow.js';
import { Machine, type MachineOptions } from '../src/machine.js';
import { generateTrace, PROFILES } from '../src/trace/gen/index.js';
import { parseTrace } from '../src/trace/parse.js';
import { cowStorm as storm, exitAll, hex, page, pick, runTrace } from './helpers.js';

// The machine passes only `cut` / `merge` to a design; the chain limit is
// reached through test-only registrations (removed afterwards).
const LIMITED = ['shadow-limit-1', 'shadow-limit-3'] as const;
const registry = DESIGNS as Record<string, AnonDesignFactory>;
beforeAll(() => {
  registry['shadow-limit-1'] = (frames, opts) => new ShadowDesign(frames, { ...opts, shadowChainLimit: 1 });
  registry['shadow-limit-3'] = (frames, opts) => new ShadowDesign(frames, { ...opts, shadowChainLimit: 3 });
});
afterAll(() => {
  for (const d of LIMITED) delete registry[d];
});

/** Run `lines` (then exit everyone), checking invariants after each command; returns the results and the final stats. */
function run(lines: readonly string[], opts: MachineOptions = {}): { out: string[]; stats: Record<string, number> } {
  const { m, out } = runTrace({ design: 'shadow', ...opts }, lines);
  const stats = m.stats();
  exitAll(m);
  return { out, stats };
}

/** The same trace on the tree, without checks: the reference output. */
function tree(lines: readonly string[]): string[] {
  const m = new Machine({});
  return [...parseTrace(Buffer.from(lines.join('\n') + '\n'), 't')].map((c) => m.exec(c));
}

/**
 * A fork chain in which each child writes while its parent is still alive
 * (so the write makes a shadow), then the parent exits: g<i> forks g<i+1>,
 * g<i+1> writes page (i % pages), g<i> exits. The last one reads everything.
 */
function forkChain(generations: number, pages: number): string[] {
  const lines = ['spawn g0', `g0 mmap ${page(0)} ${hex(pages * 4096)} rw private`];
  for (let p = 0; p < pages; p++) lines.push(`g0 write ${page(p)} ${p + 1}`);
  for (let i = 0; i < generations; i++) {
    lines.push(`fork g${i} g${i + 1}`, `g${i + 1} write ${page(i % pages)} ${1000 + i}`, `exit g${i}`);
  }
  // Evict everything, so that the final reads look their pages up down the chain.
  lines.push('reclaim 100000');
  for (let p = 0; p < pages; p++) lines.push(`g${generations} read ${page(p)}`);
  return lines;
}

/** cow-storm in small (test/helpers.ts), then the parent reads every page. */
function cowStorm(pages: number, children: number): string[] {
  const lines = storm(pages, children);
  for (let i = 0; i < pages; i++) lines.push(`parent read ${page(i)}`);
  return lines;
}

const CONFIGS: readonly MachineOptions[] = [
  {}, { merge: false }, { cut: false }, { merge: false, cut: false },
  { design: 'shadow-limit-3', merge: false, cut: false }, { design: 'shadow-limit-1' },
];

describe('shadow design', () => {
  it('prints what the tree prints, with every switch setting and chain limit', () => {
    for (const lines of [forkChain(30, 4), forkChain(30, 1), cowStorm(8, 5)]) {
      const ref = tree(lines);
      for (const o of CONFIGS) expect(run(lines, o).out, JSON.stringify(o)).toEqual(ref);
    }
  });

  it('fork chain: collapse folds each exited parent\'s object into its child\'s shadow', () => {
    const { stats } = run(forkChain(50, 4));
    expect(pick(stats, ['depthPeak', 'depthMax', 'spacesAlive', 'spacesPeak', 'collapses', 'collapsePagesMoved', 'bypasses', 'unreachablePages']))
      .toEqual({ depthPeak: 1, depthMax: 0, spacesAlive: 1, spacesPeak: 2, collapses: 50, collapsePagesMoved: 150, bypasses: 0, unreachablePages: 0 });
    expect(stats.lookupStepsMax).toBe(1);
  });

  it('fork chain without collapse: one more object per generation, lookups walk the chain', () => {
    const { stats } = run(forkChain(50, 4), { merge: false });
    expect(pick(stats, ['depthPeak', 'depthMax', 'spacesAlive', 'collapses', 'bypasses']))
      .toEqual({ depthPeak: 50, depthMax: 50, spacesAlive: 51, collapses: 0, bypasses: 0 });
    // After reclaim, the last reads find pages 1, 0, 3, 2 in the shadows of
    // generations 50, 49, 48, 47: 1 to 4 steps down (1 with collapse).
    expect(stats.lookupStepsMax).toBe(4);
    // No garbage pass (FreeBSD has none): each exited generation's copy stays.
    expect(stats.unreachablePages).toBe(50);
  });

  it('fork chain without collapse, every generation writing the same page: bypass alone keeps it short', () => {
    const { stats } = run(forkChain(50, 1), { merge: false });
    expect(pick(stats, ['depthPeak', 'spacesAlive', 'collapses', 'bypasses', 'unreachablePages']))
      .toEqual({ depthPeak: 1, spacesAlive: 1, collapses: 0, bypasses: 50, unreachablePages: 0 });
    // With neither, the chain grows as before.
    expect(run(forkChain(50, 1), { merge: false, cut: false }).stats.depthPeak).toBe(50);
  });

  it('chain limit: a write that would pass the limit collapses the whole chain first', () => {
    const { stats } = run(forkChain(50, 4), { design: 'shadow-limit-3', merge: false, cut: false });
    expect(stats.depthPeak).toBe(3);
    expect(stats.depthMax).toBeLessThanOrEqual(3);
    expect(stats.chainLimitCollapses).toBeGreaterThan(0);
    expect(stats.collapses).toBeGreaterThan(40);
    expect(stats.lookupStepsMax).toBeLessThanOrEqual(4);
  });

  it('chain limit is soft: links that neither collapse nor bypass can remove stay', () => {
    // A parent that keeps its object alive and its own pages: each child's
    // shadow must stay in front of it, whatever the limit.
    const lines = ['spawn a', `a mmap ${page(0)} ${hex(4 * 4096)} rw private`, `a write ${page(0)} 1`, `a write ${page(1)} 2`,
      'fork a b', `b write ${page(2)} 3`, 'fork b c', `c write ${page(3)} 4`, `c read ${page(0)}`];
    const { out, stats } = run(lines, { design: 'shadow-limit-1' });
    expect(out).toEqual(tree(lines));
    expect(stats.chainLimitCollapses).toBeGreaterThan(0);
    expect(stats.depthPeak).toBe(2);
  });

  it('cow storm: each child\'s shadow, once it holds every page, bypasses the parent\'s object', () => {
    const children = 4;
    const pages = 64;
    const { stats } = run(cowStorm(pages, children));
    expect(pick(stats, ['cowCopies', 'zeroFills', 'spacesPeak', 'spacesAlive', 'depthPeak', 'depthMax', 'bypasses', 'collapses']))
      .toEqual({ cowCopies: children * pages, zeroFills: pages, spacesPeak: children + 1, spacesAlive: children + 1, depthPeak: 1, depthMax: 0, bypasses: children, collapses: 0 });
    // Amortised: one scan at the first copy (the parent's object supplies 64
    // pages), the next once the shadow holds 64.
    expect(stats.bypassScans).toBe(2 * children);
    const off = run(cowStorm(pages, children), { cut: false }).stats;
    expect(pick(off, ['depthMax', 'bypasses', 'bypassScans'])).toEqual({ depthMax: 1, bypasses: 0, bypassScans: 0 });
  });

  it('private file mapping: bypass never skips the file, truncate still finds every copy', () => {
    const lines = ['spawn a', 'file f 0x4000', `a mmap ${page(0)} 0x4000 rw private f 0`,
      `a write ${page(0)} 1`, `a write ${page(3)} 4`, 'fork a b', `b write ${page(0)} 10`, `b write ${page(3)} 40`,
      'ftruncate f 0x2000', `a read ${page(0)}`, `b read ${page(0)}`, `b read ${page(3)}`, 'ftruncate f 0x4000', `b read ${page(3)}`];
    const { out } = run(lines);
    expect(out).toEqual(tree(lines));
  });

  it('structures and bytes: one vm_object of 192 B per object alive', () => {
    const m = new Machine({ design: 'shadow' });
    for (const c of parseTrace(Buffer.from(cowStorm(4, 3).join('\n') + '\n'), 't')) m.exec(c);
    expect(m.design.structures()).toBe(4);
    expect(m.design.bytes!()).toBe(4 * 192);
  });

  it('generated traces under 8 frames print what the unbounded tree prints, in every setting', () => {
    for (const profile of PROFILES) {
      for (let seed = 1; seed <= 8; seed++) {
        const lines = generateTrace({ seed, ops: 120, profile }).split('\n').filter((l) => l !== '');
        const ref = tree(lines);
        for (const o of CONFIGS) expect(run(lines, { ...o, frames: 8 }).out, `${profile} ${seed} ${JSON.stringify(o)}`).toEqual(ref);
      }
    }
  });
});
