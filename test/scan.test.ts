// The scan design (src/anon/scan.ts): what is particular to it beyond the
// golden and pressure tests every design runs. Without a reverse map,
// finding the ptes of one anonymous page means scanning every page table:
// the cost of reclaiming a page grows with the machine's total mapped
// anonymous pages, not with how many ptes map that page.

import { describe, expect, it } from 'vitest';
import { BASE, TraceSession, hex } from './helpers.js';
import { checkInvariants, checkOnlyPageCacheLeft } from './invariants.js';

/**
 * A scan machine fed trace lines in batches (test/helpers.ts). Pass
 * `check` false to exec() where counters are measured: the invariant
 * checker's own rmap walks count in the scan's counters.
 */
class Run extends TraceSession {
  constructor() {
    super({ design: 'scan' });
  }
}

/** n processes, each with its own m written anonymous pages. */
function independent(n: number, m: number): string[] {
  const lines: string[] = [];
  for (let p = 0; p < n; p++) {
    lines.push(`spawn p${p}`, `p${p} mmap ${hex(BASE)} ${hex(m * 4096)} rw private`);
    for (let i = 0; i < m; i++) lines.push(`p${p} write ${hex(BASE + i * 4096)} ${p * 1000 + i + 1}`);
  }
  return lines;
}

/** One process with m written pages, forked n - 1 times: every page mapped by n processes. */
function shared(n: number, m: number): string[] {
  const lines = ['spawn p0', `p0 mmap ${hex(BASE)} ${hex(m * 4096)} rw private`];
  for (let i = 0; i < m; i++) lines.push(`p0 write ${hex(BASE + i * 4096)} ${i + 1}`);
  for (let p = 1; p < n; p++) lines.push(`fork p0 p${p}`);
  return lines;
}

/** Reclaim one page; what the scan cost. */
function reclaimOne(setup: string[]): { scanned: number; vmas: number; walks: number; ptesUnmapped: number } {
  const r = new Run();
  r.exec(setup);
  const before = r.m.stats();
  r.exec(['reclaim 1'], false);
  const after = r.m.stats();
  checkInvariants(r.m);
  expect(after.pagesReclaimed! - before.pagesReclaimed!).toBe(1);
  return {
    scanned: after.ptesScanned! - before.ptesScanned!,
    vmas: after.rmapVmasVisited! - before.rmapVmasVisited!,
    walks: after.rmapWalks! - before.rmapWalks!,
    ptesUnmapped: after.rmapPtesFound! - before.rmapPtesFound!,
  };
}

describe('scan design: rmap is a scan of every page table', () => {
  it('reclaiming one page scans every anonymous pte of every process', () => {
    for (const [n, m] of [[1, 8], [4, 8], [8, 8], [4, 32]] as const) {
      const cost = reclaimOne(independent(n, m));
      // One walk (swapOut reuses rmap's scan), visiting every vma and
      // testing all n * m entries to find the page's single pte.
      expect(cost.walks, `${n}x${m}`).toBe(1);
      expect(cost.vmas, `${n}x${m}`).toBe(n);
      expect(cost.scanned, `${n}x${m}`).toBe(n * m);
      expect(cost.ptesUnmapped, `${n}x${m}`).toBe(1);
    }
  });

  it('costs the same however many processes map the page', () => {
    const alone = reclaimOne(independent(6, 16));
    const everywhere = reclaimOne(shared(6, 16));
    expect(everywhere.ptesUnmapped).toBe(6); // the page was mapped by every process...
    expect(alone.ptesUnmapped).toBe(1); // ...or by one
    expect(everywhere.scanned).toBe(alone.scanned); // the scan is the same: all 96 entries
    expect(alone.scanned).toBe(6 * 16);
  });

  it('grows with the total mapped pages: per page reclaimed, ptes scanned = entries in the machine', () => {
    const perPage = (n: number, m: number): number => {
      const r = new Run();
      r.exec(independent(n, m));
      const before = r.m.stats();
      r.exec([`reclaim ${n * m}`], false);
      const after = r.m.stats();
      checkInvariants(r.m);
      const reclaimed = after.pagesReclaimed! - before.pagesReclaimed!;
      expect(reclaimed).toBe(n * m); // everything goes to swap, each entry then holds a slot...
      return (after.ptesScanned! - before.ptesScanned!) / reclaimed; // ...and is still scanned
    };
    expect(perPage(2, 8)).toBe(16);
    expect(perPage(4, 8)).toBe(32);
    expect(perPage(4, 16)).toBe(64);
  });
});

describe('scan design: swap keeps sharing', () => {
  it('the first process to fault a shared slot brings the page into the swap cache for the others', () => {
    const r = new Run();
    const m = r.m;
    const out = r.exec([
      ...shared(3, 2),
      'reclaim 100',
      `p2 read ${hex(BASE)}`,
      `p1 read ${hex(BASE)}`,
      'frames',
      `p0 write ${hex(BASE)} 99`, // the page is shared: copied
      `p0 read ${hex(BASE)}`,
      `p1 read ${hex(BASE)}`,
    ]);
    expect(out.slice(-7)).toEqual([
      'ok', '1', '1',
      // p0 faults the slot too (the report reads every page): all three
      // share one page again, as do the three copies of page 1.
      `frames\n  p0:${hex(BASE)} p1:${hex(BASE)} p2:${hex(BASE)}\n  p0:${hex(BASE + 4096)} p1:${hex(BASE + 4096)} p2:${hex(BASE + 4096)}`,
      'ok', '99', '1',
    ]);
    const s = m.stats();
    expect(s.swapIns).toBe(2); // one per page, not one per process
    expect(s.swapCacheHits).toBe(4);
    expect(s.swapCachePages).toBe(0); // every slot's holders have faulted: no cache left
    expect(s.swapUsed).toBe(0);
    expect(s.cowCopies).toBe(1);
    r.exec(['exit p0', 'exit p1', 'exit p2']);
    checkOnlyPageCacheLeft(m);
  });

  it('a write reuses the page once the other holders are gone, in memory or in swap', () => {
    const r = new Run();
    const m = r.m;
    r.exec([...shared(2, 1), 'reclaim 10', `p0 read ${hex(BASE)}`, 'exit p1', `p0 write ${hex(BASE)} 5`]);
    // p1's exit freed the slot's last other reference and with it the cache entry.
    expect(m.stats().cowReuses).toBe(1);
    expect(m.stats().cowCopies).toBe(0);
    r.exec(['exit p0']);
    checkOnlyPageCacheLeft(m);
  });

  it('has no structures of its own', () => {
    const r = new Run();
    const m = r.m;
    r.exec(shared(3, 4));
    const s = m.stats();
    expect(m.design.structures()).toBe(0);
    expect(s.designBytes).toBe(0);
    expect(s.rmapSpacesVisited).toBe(0);
    expect(s.unreachablePages).toBe(0);
  });
});
