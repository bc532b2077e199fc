// The pte-chain design (src/anon/pte-chain.ts, Linux 2.5's rmap): what is
// particular to it beyond the golden, pressure and model-based tests every
// design runs. Each anonymous page carries the chain of the ptes holding it;
// the chain must follow every fork, copy-on-write, exit, split, merge and
// swap, and a reverse-map walk costs exactly the chain's length.

import { describe, expect, it } from 'vitest';
import type { PteChainDesign } from '../src/anon/pte-chain.js';
import type { Frame } from '../src/mm/frames.js';
import { TraceSession, hex, page } from './helpers.js';
import { checkInvariants, checkOnlyPageCacheLeft } from './invariants.js';

/** A pte-chain machine fed trace lines in batches; checks the invariants and the chains after each command. */
class Run extends TraceSession {
  constructor() {
    super({ design: 'pte-chain' });
  }

  get design(): PteChainDesign {
    return this.m.design as PteChainDesign;
  }

  protected override afterCommand(): void {
    super.afterCommand();
    this.checkChains();
  }

  /** Counted independently of the design's chains: how many private vmas' ptes hold each anonymous frame. */
  holders(): Map<Frame, number> {
    const out = new Map<Frame, number>();
    for (const mm of this.m.procs.values()) {
      for (const v of mm.vmas.list) {
        if (v.shared) continue;
        for (let i = v.pgoff; i < v.endIndex; i++) {
          const e = this.design.peek(v, i);
          if (e !== null && e !== 'swapped') out.set(e, (out.get(e) ?? 0) + 1);
        }
      }
    }
    return out;
  }

  /** Every frame's chain is as long as the number of ptes holding it; the entries add up. */
  checkChains(): void {
    let total = 0;
    for (const [f, n] of this.holders()) {
      expect(this.design.chainOf(f).length, `frame ${f}`).toBe(n);
      total += n;
    }
    expect(this.m.stats().pteChainEntries).toBe(total);
  }

  /** The frame process `p` holds at page i. */
  frame(p: string, i: number): Frame {
    const v = this.m.procs.get(p)!.vmas.list[0]!;
    const e = this.design.peek(v, v.pgoff + i);
    if (e === null || e === 'swapped') throw new Error(`${p} holds no frame at page ${i}`);
    return e;
  }

  chainLength(p: string, i: number): number {
    return this.design.chainOf(this.frame(p, i)).length;
  }

  /** One rmap walk of f: the vmas it visited. */
  walkCost(f: Frame): number {
    const before = this.m.stats();
    this.design.rmap(f, () => {});
    const after = this.m.stats();
    expect(after.rmapWalks! - before.rmapWalks!).toBe(1);
    return after.rmapVmasVisited! - before.rmapVmasVisited!;
  }
}

describe('pte-chain: chains follow fork, COW and exit', () => {
  it('a chain holds exactly the ptes holding its page', () => {
    const r = new Run();
    r.exec(['spawn p', `p mmap ${page(0)} ${hex(4 * 4096)} rw private`]);
    r.exec([0, 1, 2, 3].map((i) => `p write ${page(i)} ${i + 1}`));
    for (let i = 0; i < 4; i++) expect(r.chainLength('p', i)).toBe(1);

    // Two children: every page is held by three ptes.
    r.exec(['fork p c1', 'fork p c2']);
    for (let i = 0; i < 4; i++) expect(r.chainLength('p', i)).toBe(3);
    const shared0 = r.frame('p', 0);

    // c1 copies page 0: the old page leaves c1's pte, the copy has a chain of one.
    r.exec([`c1 write ${page(0)} 100`]);
    expect(r.design.chainOf(shared0).length).toBe(2);
    expect(r.chainLength('c1', 0)).toBe(1);
    expect(r.frame('c1', 0)).not.toBe(shared0);

    // A grandchild of c2: page 1 is in p, c1, c2 and g.
    r.exec(['fork c2 g']);
    expect(r.chainLength('p', 1)).toBe(4);
    expect(r.chainLength('p', 0)).toBe(3); // p, c2, g

    // The parent exits: its ptes leave every chain.
    r.exec(['exit p']);
    expect(r.design.chainOf(shared0).length).toBe(2); // c2, g
    expect(r.chainLength('c1', 1)).toBe(3); // c1, c2, g

    // c2 and g write page 0 in turn: c2 copies, then g is alone and reuses.
    const before = r.m.stats();
    r.exec([`c2 write ${page(0)} 200`, `g write ${page(0)} 300`]);
    const after = r.m.stats();
    expect(after.cowCopies! - before.cowCopies!).toBe(1);
    expect(after.cowReuses! - before.cowReuses!).toBe(1);
    expect(r.frame('g', 0)).toBe(shared0);
    expect(r.design.chainOf(shared0).length).toBe(1);

    for (const p of ['c1', 'c2', 'g']) r.exec([`exit ${p}`]);
    expect(r.m.stats().pteChainEntries).toBe(0);
    expect(r.m.stats().designBytes).toBe(0);
    checkOnlyPageCacheLeft(r.m);
  });

  it('split, merge, MADV_DONTNEED and munmap move or drop chain entries', () => {
    const r = new Run();
    r.exec(['spawn p', `p mmap ${page(0)} ${hex(6 * 4096)} rw private`]);
    r.exec([0, 1, 2, 3, 4, 5].map((i) => `p write ${page(i)} ${i + 1}`));
    r.exec(['fork p c']);
    // Split c's vma in three and merge it back; chains follow (checked after each command).
    r.exec([`c mprotect ${page(2)} ${hex(2 * 4096)} r`, `c mprotect ${page(2)} ${hex(2 * 4096)} rw`]);
    expect(r.m.procs.get('c')!.vmas.list.length).toBe(1);
    for (let i = 0; i < 6; i++) expect(r.chainLength('p', i)).toBe(2);
    r.exec([`c madvise ${page(0)} ${hex(2 * 4096)} dontneed`, `c munmap ${page(4)} ${hex(2 * 4096)}`]);
    expect([0, 1, 2, 3, 4, 5].map((i) => r.chainLength('p', i))).toEqual([1, 1, 2, 2, 1, 1]);
    expect(r.m.stats().pteChainEntries).toBe(8);
    expect(r.m.stats().designBytes).toBe(64);
  });

  it('swap: the chain goes with the page and comes back through the swap cache', () => {
    const r = new Run();
    r.exec(['spawn p', `p mmap ${page(0)} ${hex(2 * 4096)} rw private`, `p write ${page(0)} 7`, `p write ${page(1)} 8`]);
    r.exec(['fork p c1', 'fork p c2']);
    r.exec(['reclaim 1000']);
    expect(r.m.stats().pteChainEntries).toBe(0);
    r.exec([`c1 read ${page(0)}`]);
    expect(r.chainLength('c1', 0)).toBe(1);
    r.exec([`p read ${page(0)}`, `c2 read ${page(0)}`]);
    expect(r.chainLength('c1', 0)).toBe(3);
    expect(r.frame('p', 0)).toBe(r.frame('c2', 0));
  });
});

describe('pte-chain: an rmap walk costs its chain', () => {
  it('each walk visits exactly the vmas on the page\'s chain', () => {
    const r = new Run();
    r.exec(['spawn p', `p mmap ${page(0)} ${hex(3 * 4096)} rw private`]);
    r.exec([0, 1, 2].map((i) => `p write ${page(i)} ${i + 1}`));
    r.exec(['fork p a', 'fork p b', 'fork a aa', `a write ${page(0)} 9`, `b write ${page(1)} 9`, 'exit b']);
    const frames = [...r.holders().keys()];
    expect(frames.length).toBeGreaterThan(3);
    for (const f of frames) expect(r.walkCost(f)).toBe(r.design.chainOf(f).length);
    expect(r.walkCost(r.frame('p', 2))).toBe(3); // p, a, aa
    expect(r.walkCost(r.frame('a', 0))).toBe(1);
  });

  it('after a COW storm, reclaim visits one vma per pte it unmaps', () => {
    const PAGES = 20;
    const CHILDREN = 30;
    const r = new Run();
    const lines = ['spawn parent', `parent mmap ${page(0)} ${hex(PAGES * 4096)} rw private`];
    for (let i = 0; i < PAGES; i++) lines.push(`parent write ${page(i)} ${i + 1}`);
    for (let c = 1; c <= CHILDREN; c++) lines.push(`fork parent c${c}`);
    // Half the children copy every page; the other half keep sharing the parent's.
    for (let c = 1; c <= CHILDREN / 2; c++) {
      for (let i = 0; i < PAGES; i++) lines.push(`c${c} write ${page(i)} ${c * 1000 + i}`);
    }
    r.exec(lines, false);
    r.checkChains();
    const chained = r.m.stats().pteChainEntries!;
    expect(chained).toBe(PAGES * (CHILDREN + 1));
    expect(r.chainLength('parent', 0)).toBe(CHILDREN / 2 + 1);
    const before = r.m.stats();
    r.exec(['reclaim 1000000'], false);
    const after = r.m.stats();
    const d = (k: string): number => after[k]! - before[k]!;
    expect(d('swapOuts')).toBe(PAGES * (CHILDREN / 2 + 1));
    expect(d('rmapWalks')).toBe(d('swapOuts'));
    // Every chain entry walked once: one vma per pte, however the page is shared.
    expect(d('rmapVmasVisited')).toBe(chained);
    expect(d('rmapPtesFound')).toBe(chained);
    expect(after.pteChainEntries).toBe(0);
    expect(after.pteChainEntriesPeak).toBe(chained);
    checkInvariants(r.m);
  });
});
