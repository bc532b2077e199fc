// The space-tree designs' garbage accounting (countUnreachable in
// src/anon/space-walk.ts: unreachablePages(), and the tree's
// collectGarbage()) against the definition read straight off the lookup
// rule: a page that a node holds at index i is reachable exactly when some
// private vma covering i starts its lookup at a node from which the walk
// up the tree arrives at that node before any node that holds or clears i.
// The implementation never walks lookups (it passes index sets down and
// answers up, once per tree); this reference does, for every page and vma.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SpaceNode, VmaLink } from '../src/anon/space-node.js';
import type { TreeDesign } from '../src/anon/tree.js';
import { Machine, type MachineOptions } from '../src/machine.js';
import { OutOfMemoryError } from '../src/mm/frames.js';
import type { Command } from '../src/trace/ast.js';
import { fileTraceArbitrary, traceArbitrary } from './naive/gen.js';
import { checkInvariants } from './invariants.js';

const RUNS = Number(process.env.VMTREE_FC_RUNS ?? 300);

/** Whether a lookup at index i starting at `from` arrives at `s`. */
function arrives(from: SpaceNode, s: SpaceNode, i: number): boolean {
  for (let t: SpaceNode | null = from; t !== null; t = t.parent) {
    if (t === s) return true;
    if (t.shadows(i)) return false;
  }
  return false;
}

/** The anonymous pages no lookup can arrive at, per the definition above. */
function unreachableByLookup(m: Machine): number {
  const vmas = m.allVmas().filter((v) => !v.shared && v.anon !== null);
  const nodes = new Set<SpaceNode>();
  for (const v of vmas) {
    for (let t: SpaceNode | null = (v.anon as VmaLink).node; t !== null; t = t.parent) if (t.file === null) nodes.add(t);
  }
  let n = 0;
  for (const s of nodes) {
    const held: number[] = [];
    s.mapping.pages.forEach((i) => held.push(i));
    s.mapping.swapped?.forEach((i) => held.push(i));
    for (const i of held) {
      if (!vmas.some((w) => w.pgoff <= i && i < w.endIndex && arrives((w.anon as VmaLink).node, s, i))) n++;
    }
  }
  return n;
}

const PG = 0x1000n;
const BASE = 0x100000000000n;

/**
 * Traces that make garbage: processes forking, writing, unmapping and
 * exiting over one small private mapping (a parent that exits after its
 * children copied leaves its pages shadowed in every child), in no order.
 * Each operation names a process by its rank among the live ones, so that
 * every generated operation is valid where it stands.
 */
function garbageTraceArbitrary(): fc.Arbitrary<Command[]> {
  type Op = ['write' | 'read' | 'fork' | 'exit' | 'munmap' | 'dontneed' | 'reclaim', number, number];
  const who = fc.nat({ max: 7 });
  const k = fc.integer({ min: 0, max: 5 });
  const op = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(fc.constant('write' as const), who, k) },
    { weight: 2, arbitrary: fc.tuple(fc.constant('read' as const), who, k) },
    { weight: 3, arbitrary: fc.tuple(fc.constant('fork' as const), who, k) },
    { weight: 2, arbitrary: fc.tuple(fc.constant('exit' as const), who, k) },
    { weight: 1, arbitrary: fc.tuple(fc.constant('munmap' as const), who, k) },
    { weight: 1, arbitrary: fc.tuple(fc.constant('dontneed' as const), who, k) },
    { weight: 1, arbitrary: fc.tuple(fc.constant('reclaim' as const), who, k) },
  );
  return fc.array(op, { minLength: 10, maxLength: 60 }).map((ops: Op[]) => {
    let line = 0;
    let fresh = 0;
    const out: Command[] = [
      { line: ++line, kind: 'spawn', proc: 'p0' },
      { line: ++line, kind: 'mmap', proc: 'p0', addr: BASE, len: 6n * PG, prot: 'rw', shared: false, fixed: false },
    ];
    const live = ['p0'];
    for (const [kind, w, i] of ops) {
      if (live.length === 0) break;
      const proc = live[w % live.length]!;
      const addr = BASE + BigInt(i) * PG;
      switch (kind) {
        case 'write': out.push({ line: ++line, kind, proc, addr, val: line }); break;
        case 'read': out.push({ line: ++line, kind, proc, addr }); break;
        case 'fork': {
          const child = `p${++fresh}`;
          live.push(child);
          out.push({ line: ++line, kind, proc, child });
          break;
        }
        case 'exit': live.splice(live.indexOf(proc), 1); out.push({ line: ++line, kind, proc }); break;
        case 'munmap': out.push({ line: ++line, kind, proc, addr, len: PG }); break;
        case 'dontneed': out.push({ line: ++line, kind: 'madvise', proc, addr, len: PG, advice: 'dontneed' }); break;
        case 'reclaim': out.push({ line: ++line, kind, count: BigInt(1 + i) }); break;
      }
    }
    return out;
  });
}

const CONFIGS: [string, MachineOptions][] = [
  ['tree', { design: 'tree' }],
  ['tree --no-merge', { design: 'tree', merge: false }],
  ['tree --no-merge --no-cut', { design: 'tree', merge: false, cut: false }],
  ['shadow', { design: 'shadow' }],
  ['shadow, chains of at most 2', { design: 'shadow', shadowChainLimit: 2 }],
  ['tree --no-merge, 6 frames (reclaim collects garbage)', { design: 'tree', merge: false, frames: 6 }],
];

describe('unreachable pages: the bottom-up pass agrees with walking every lookup', () => {
  for (const [name, opts] of CONFIGS) {
    it(name, () => {
      // Traces in which the reference found garbage at some point: the
      // garbage-making traces must make some, or this test tests nothing.
      let withGarbage = 0;
      const agree = (trace: Command[]): void => {
        const m = new Machine(opts);
        let seen = 0;
        for (const c of trace) {
          try {
            m.exec(c);
          } catch (e) {
            if (e instanceof OutOfMemoryError) break; // a trace too big for 6 frames ends there (exit 3)
            throw e;
          }
          const expected = unreachableByLookup(m);
          seen = Math.max(seen, expected);
          expect(m.design.unreachablePages()).toBe(expected);
        }
        if (seen > 0) withGarbage++;
        if (m.designName === 'tree') {
          // The same pass frees them (reclaim runs it first).
          const garbage = unreachableByLookup(m);
          expect((m.design as TreeDesign).collectGarbage()).toBe(garbage);
          expect(unreachableByLookup(m)).toBe(0);
          expect(m.design.unreachablePages()).toBe(0);
          checkInvariants(m);
        }
      };
      fc.assert(fc.property(garbageTraceArbitrary(), agree), { numRuns: RUNS, seed: 20261129 });
      expect(withGarbage).toBeGreaterThan(RUNS / 20);
      fc.assert(fc.property(traceArbitrary({ maxCommands: 50 }), agree), { numRuns: RUNS, seed: 20261129 });
      fc.assert(fc.property(fileTraceArbitrary(40), agree), { numRuns: Math.ceil(RUNS / 3), seed: 20261129 });
    });
  }
});
