// Page tables whose leaves fork shares copy-on-write (src/mm/pagetable.ts),
// against a deliberately naive model: one Map from vpn to (frame, bits)
// per table, copied whole at fork. After every operation each table must
// map exactly what its naive twin maps, the raw counts must satisfy the
// shared-leaf invariant (I3' of test/invariants.ts, restated here on the
// page tables alone), and — whenever the property asks for a count, which
// settles the deferred ones — every frame's mapcount must be the number of
// naive ptes mapping it.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Frame, FrameAllocator } from '../src/mm/frames.js';
import { PageTable, type PteLeaf, PTE_READ, PTE_WRITE, PTES_PER_LEAF } from '../src/mm/pagetable.js';

/** vpns around the edges of three leaves: where sharing and copying meet. */
const VPNS = [0, 1, 2, 510, 511, 512, 513, 1000, 1023, 1024, 1025, 1535];
const FRAMES = 6;

type Op =
  | { op: 'set'; t: number; vpn: number; f: number; bits: number }
  | { op: 'clear'; t: number; vpn: number }
  | { op: 'clearRange'; t: number; a: number; b: number }
  | { op: 'wrprotect'; t: number; a: number; b: number }
  | { op: 'fork'; t: number; skipOdd: boolean }
  | { op: 'exit'; t: number }
  | { op: 'count' };

const vpn = fc.constantFrom(...VPNS);
const t = fc.nat(5);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('set' as const), t, vpn, f: fc.nat(FRAMES - 1), bits: fc.constantFrom(0, PTE_READ, PTE_READ | PTE_WRITE) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('clear' as const), t, vpn }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('clearRange' as const), t, a: vpn, b: vpn }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('wrprotect' as const), t, a: vpn, b: vpn }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('fork' as const), t, skipOdd: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('exit' as const), t }) },
  { weight: 1, arbitrary: fc.constant({ op: 'count' as const }) },
);

interface Pte { f: number; bits: number }

function run(ops: Op[]): void {
  const alloc = new FrameAllocator();
  // Each frame held once besides ptes (as a page cache slot would), so no
  // pte operation frees one.
  const frames: Frame[] = [];
  for (let i = 0; i < FRAMES; i++) {
    const f = alloc.alloc();
    alloc.get(f);
    frames.push(f);
  }
  const tables: PageTable[] = [new PageTable(alloc)];
  const naive: Map<number, Pte>[] = [new Map()];

  const check = (counts: boolean): void => {
    // Each table maps what its twin maps.
    tables.forEach((pt, i) => {
      const n = naive[i]!;
      for (const v of VPNS) {
        const want = n.get(v);
        expect(pt.frame(v)).toBe(want === undefined ? null : frames[want.f]);
        expect(pt.flags(v)).toBe(want === undefined ? 0 : want.bits);
      }
      expect(pt.present).toBe(n.size);
    });
    // I3' on the raw counts.
    const holders = new Map<PteLeaf, number>();
    for (const pt of tables) for (const leaf of pt.leaves.values()) holders.set(leaf, (holders.get(leaf) ?? 0) + 1);
    const raw = new Map<Frame, number>();
    for (const [leaf, n] of holders) {
      expect(leaf.users).toBe(n);
      expect(leaf.counted).toBeGreaterThanOrEqual(1);
      expect(leaf.counted).toBeLessThanOrEqual(leaf.users);
      let writable = 0;
      for (let i = 0; i < PTES_PER_LEAF; i++) {
        const f = leaf.frame(i);
        if (f === null) continue;
        raw.set(f, (raw.get(f) ?? 0) + leaf.counted);
        if ((leaf.flags[i]! & PTE_WRITE) !== 0) writable++;
      }
      expect(leaf.writable).toBe(writable);
    }
    for (const f of frames) {
      expect(alloc.rawMapcount(f)).toBe(raw.get(f) ?? 0);
      expect(alloc.rawRefs(f) - alloc.rawMapcount(f)).toBe(1);
    }
    if (!counts) return;
    // Reading a count settles: now exact against the naive tables.
    for (let i = 0; i < FRAMES; i++) {
      let ptes = 0;
      for (const n of naive) for (const p of n.values()) if (p.f === i) ptes++;
      expect(alloc.mapcount(frames[i]!)).toBe(ptes);
      expect(alloc.refs(frames[i]!)).toBe(ptes + 1);
    }
  };

  for (const o of ops) {
    if (o.op === 'count') {
      check(true);
      continue;
    }
    const i = o.t % tables.length;
    const pt = tables[i]!;
    const n = naive[i]!;
    switch (o.op) {
      case 'set':
        pt.set(o.vpn, frames[o.f]!, o.bits);
        n.set(o.vpn, { f: o.f, bits: o.bits });
        break;
      case 'clear':
        pt.clear(o.vpn);
        n.delete(o.vpn);
        break;
      case 'clearRange': {
        const [a, b] = o.a <= o.b ? [o.a, o.b + 1] : [o.b, o.a + 1];
        pt.clearRange(a, b);
        for (const v of [...n.keys()]) if (v >= a && v < b) n.delete(v);
        break;
      }
      case 'wrprotect': {
        const [a, b] = o.a <= o.b ? [o.a, o.b + 1] : [o.b, o.a + 1];
        pt.changeFlags(a, b, (old) => old & ~PTE_WRITE);
        for (const [v, p] of n) if (v >= a && v < b) n.set(v, { f: p.f, bits: p.bits & ~PTE_WRITE });
        break;
      }
      case 'fork': {
        if (tables.length >= 6) break;
        const child = new PageTable(alloc);
        // skipOdd: odd leaves are not shared; of them the child keeps the
        // ptes at even vpns only (as fork does around a MADV_DONTFORK range).
        const whole = (li: number): boolean => !o.skipOdd || li % 2 === 0;
        const keep = (v: number): boolean => v % 2 === 0;
        pt.fork(child, whole, keep);
        const cn = new Map<number, Pte>();
        for (const [v, p] of n) if (whole(Math.floor(v / PTES_PER_LEAF)) || keep(v)) cn.set(v, { ...p });
        tables.push(child);
        naive.push(cn);
        break;
      }
      case 'exit':
        if (tables.length === 1) break;
        pt.clearAll();
        tables.splice(i, 1);
        naive.splice(i, 1);
        break;
    }
    check(false);
  }
  check(true);
}

describe('page tables with leaves shared at fork', () => {
  it('map what a naive copy maps, with exact counts once settled (random operations)', () => {
    fc.assert(fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => run(ops)), { numRuns: 400 });
  });

  it('a fork and the child\'s exit touch no pte: counts stay deferred until read', () => {
    const alloc = new FrameAllocator();
    const parent = new PageTable(alloc);
    const f = alloc.alloc();
    alloc.get(f);
    for (let v = 0; v < 4 * PTES_PER_LEAF; v++) parent.set(v, f, PTE_READ);
    const child = new PageTable(alloc);
    parent.fork(child, () => true, () => true);
    expect(child.present).toBe(4 * PTES_PER_LEAF);
    expect(alloc.rawMapcount(f)).toBe(4 * PTES_PER_LEAF); // the child's are deferred
    child.clearAll();
    expect(alloc.rawMapcount(f)).toBe(4 * PTES_PER_LEAF);
    expect(alloc.mapcount(f)).toBe(4 * PTES_PER_LEAF);
  });

  it('a leaf dropped from the deferred list while not short is listed again when a later fork makes it short', () => {
    // The allocator compacts its list of deferred leaves (frames.ts:
    // defer) at 4,096 entries, dropping those no longer short. Here P's
    // leaves are dropped so (P's first child has exited), then P forks
    // again: its leaves must be listed again, or their counts stay short.
    const alloc = new FrameAllocator();
    const f = alloc.alloc();
    alloc.get(f);
    const leaves = 4100;
    const p = new PageTable(alloc);
    const q = new PageTable(alloc);
    for (let i = 0; i < leaves; i++) {
      p.set(i * PTES_PER_LEAF, f, PTE_READ);
      q.set(i * PTES_PER_LEAF, f, PTE_READ);
    }
    const c1 = new PageTable(alloc);
    p.fork(c1, () => true, () => true);
    c1.clearAll();
    const d1 = new PageTable(alloc);
    q.fork(d1, () => true, () => true); // the list passes 8,192: P's leaves, not short now, are dropped
    const c2 = new PageTable(alloc);
    p.fork(c2, () => true, () => true);
    expect(alloc.mapcount(f)).toBe(4 * leaves); // p, c2, q, d1
  });
});

