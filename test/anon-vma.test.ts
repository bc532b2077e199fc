// Design-specific tests for the anon_vma designs (src/anon/anon-vma.ts,
// src/anon/anon-vma-chain.ts, src/anon/anon-vma-lazy.ts): what each is for —
// the cost of reverse mapping after a COW storm, anon_vma reuse in fork
// chains. What every design must get right (the swap cache, reuse of an
// exclusive page, merging as Linux 6.18 does) is in test/designs.test.ts.
// Every trace here also runs with the machine's invariants checked after
// every command and with nothing leaked once every process has exited.

import { describe, expect, it } from 'vitest';
import { cowStorm, exitAll, page, runTrace } from './helpers.js';

describe('rmap cost after a COW storm (50 pages, 50 children, then reclaim)', () => {
  const PAGES = 50;
  const CHILDREN = 50;
  const storm = (design: string): Record<string, number> => {
    const { m } = runTrace({ design }, cowStorm(PAGES, CHILDREN), false);
    const before = m.stats();
    m.exec({ kind: 'reclaim', count: 1_000_000n, line: 0 });
    const after = m.stats();
    const d = (k: string): number => after[k]! - before[k]!;
    return {
      walks: d('rmapWalks'),
      vmas: d('rmapVmasVisited'),
      spaces: d('rmapSpacesVisited'),
      swapOuts: d('swapOuts'),
      cowCopies: after.cowCopies!,
    };
  };

  it('anon-layer: every walk visits the whole family (one anon_vma holds every vma)', () => {
    const s = storm('anon-layer');
    // Every page, the parent's 50 and the children's 2500, goes to swap.
    expect(s.swapOuts).toBe(PAGES * (CHILDREN + 1));
    expect(s.walks).toBe(PAGES * (CHILDREN + 1));
    expect(s.cowCopies).toBe(PAGES * CHILDREN);
    // One anon_vma examined per walk, and on it every vma of the family.
    expect(s.spaces).toBe(s.walks);
    expect(s.vmas! / s.walks!).toBe(CHILDREN + 1);
  });

  it('anon-vma-chain: a child\'s page is walked in that child alone', () => {
    const s = storm('anon-vma-chain');
    expect(s.swapOuts).toBe(PAGES * (CHILDREN + 1));
    expect(s.walks).toBe(PAGES * (CHILDREN + 1));
    expect(s.spaces).toBe(s.walks);
    // A child's 50 copies live in its own anon_vma (1 vma); only the
    // parent's 50 pages, in the root, are walked in all 51 vmas.
    expect(s.vmas).toBe(PAGES * CHILDREN * 1 + PAGES * (CHILDREN + 1));
    expect(s.vmas! / s.walks!).toBeLessThan(2);
  });
});

describe('anon_vma lifetime', () => {
  /** A fork chain whose parents exit, each generation writing the page. */
  const chain = (gens: number): string[] => {
    const lines = ['spawn p0', `p0 mmap ${page(0)} 0x1000 rw private`, `p0 write ${page(0)} 1`];
    for (let g = 1; g <= gens; g++) {
      lines.push(`fork p${g - 1} p${g}`, `exit p${g - 1}`, `p${g} write ${page(0)} ${g}`);
    }
    lines.push(`p${gens} read ${page(0)}`);
    return lines;
  };

  it('anon-vma-chain reuses anon_vmas down a fork chain (num_children < 2, num_active_vmas 0)', () => {
    const { m, out } = runTrace({ design: 'anon-vma-chain' }, chain(20));
    expect(out.at(-1)).toBe('20');
    const s = m.stats();
    // The root, and two generations that take turns being reused.
    expect(s.anonVmasAlive).toBe(3);
    expect(s.chainMax).toBe(3);
    expect(s.anonVmaForkReuses).toBe(18);
    expect(s.anonVmaChainsAlive).toBe(3);
    expect(s.designBytes).toBe(3 * 96 + 3 * 64);
    exitAll(m);
    expect(m.stats().anonVmasAlive).toBe(0);
  });

  it('anon-layer keeps one anon_vma for the whole family', () => {
    const { m, out } = runTrace({ design: 'anon-layer' }, chain(20));
    expect(out.at(-1)).toBe('20');
    const s = m.stats();
    expect(s.anonVmasAlive).toBe(1);
    expect(s.anonVmasCreated).toBe(1);
    expect(s.designBytes).toBe(96);
    exitAll(m);
    expect(m.stats().anonVmasAlive).toBe(0);
  });

  it('anon-vma-chain gives each forked child an anon_vma and a chain to its ancestors', () => {
    const { m } = runTrace({ design: 'anon-vma-chain' }, [
      'spawn a', `a mmap ${page(0)} 0x1000 rw private`, `a write ${page(0)} 1`,
      'fork a b', 'fork b c', 'fork a d',
    ]);
    const s = m.stats();
    expect(s.anonVmasAlive).toBe(4);
    // a: [A]; b: [A, B]; c: [A, B, C]; d: [A, D].
    expect(s.anonVmaChainsAlive).toBe(1 + 2 + 3 + 2);
    expect(s.chainMax).toBe(3);
    exitAll(m);
  });
});
