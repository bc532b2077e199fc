// What every anonymous-memory design (src/anon/index.ts, DESIGNS) must get
// right, run on each registered design: a swapped-out page stays shared
// (the swap cache, or the address_space holding the slot), a page in swap
// is copied and not written through, an exclusive page is reused without a
// copy, MADV_DONTNEED and ftruncate drop private copies, vmas merge and do
// not merge as Linux 6.18 does, and memory pressure changes nothing (the
// expected outputs of the merge traces were checked on Linux 6.18.44 with
// build/vmrun). A few counters are design-specific and checked only where
// the design has them. Every trace runs with the machine's invariants
// checked after every command and with nothing leaked once every process
// has exited. What is particular to one
// design is in its own test file (test/tree.test.ts, shadow.test.ts,
// scan.test.ts, pte-chain.test.ts, cow-context.test.ts,
// anon-vma-lazy.test.ts, and test/anon-vma.test.ts for the anon_vma family).

import { describe, expect, it } from 'vitest';
import { DESIGNS } from '../src/anon/index.js';
import { cowStorm, exitAll, page, runTrace } from './helpers.js';

/** The designs whose ptes hold swap entries, with a swap cache (tree and shadow keep the slot in the address_space). */
const SWAP_CACHE = new Set(Object.keys(DESIGNS).filter((d) => d !== 'tree' && d !== 'shadow'));

describe.each(Object.keys(DESIGNS))('design %s', (design) => {
  it('a COW storm: the same pages end up in swap and read back the same', () => {
    const lines = [...cowStorm(5, 4), 'reclaim 1000', 'c3 read ' + page(2), 'parent read ' + page(4), 'frames'];
    const { m, out } = runTrace({ design }, lines);
    expect(out.at(-3)).toBe('3002');
    expect(out.at(-2)).toBe('5');
    exitAll(m);
  });

  it('keeps a swapped-out page shared: the second process faults in the same frame', () => {
    const { m, out } = runTrace({ design }, [
      'spawn a',
      `a mmap ${page(0)} 0x4000 rw private`,
      `a write ${page(0)} 7`,
      `a write ${page(1)} 8`,
      'fork a b',
      'reclaim 100',
      `b read ${page(0)}`, // swapped in; a still names the slot: kept in the swap cache
      `a read ${page(0)}`, // the same frame, from the swap cache
      'frames',
    ]);
    expect(out[6]).toBe('7');
    expect(out[7]).toBe('7');
    expect(out[8]).toContain(`a:${page(0)} b:${page(0)}`);
    expect(out[8]).toContain(`a:${page(1)} b:${page(1)}`);
    if (SWAP_CACHE.has(design)) {
      const s = m.stats();
      expect(s.swapCacheHits).toBeGreaterThanOrEqual(2);
      expect(s.swapCachePages).toBe(0); // every slot reference has been faulted back
    }
    exitAll(m);
  });

  it('copies a page that is in the swap cache while another process still names its slot', () => {
    const { m, out } = runTrace({ design }, [
      'spawn a',
      `a mmap ${page(0)} 0x1000 rw private`,
      `a write ${page(0)} 1`,
      'fork a b',
      'reclaim 100',
      `b read ${page(0)}`, // in memory for b, cached for a
      `b write ${page(0)} 2`, // must not write the page a will fault in
      `a read ${page(0)}`,
      `b read ${page(0)}`,
    ]);
    expect(out.slice(5)).toEqual(['1', 'ok', '1', '2']);
    expect(m.stats().cowReuses).toBe(0);
    exitAll(m);
  });

  it('reclaims a page only the swap cache holds, and faults it back from its slot', () => {
    const { m, out } = runTrace({ design }, [
      'spawn a',
      `a mmap ${page(0)} 0x1000 rw private`,
      `a write ${page(0)} 4`,
      'fork a b',
      'reclaim 100',
      `b read ${page(0)}`, // cached for a
      `b madvise ${page(0)} 0x1000 dontneed`, // now the swap cache alone holds the frame
      'reclaim 100', // evicts it: a's slot keeps the page
      `a read ${page(0)}`,
      `b read ${page(0)}`,
    ]);
    expect(out.slice(8)).toEqual(['4', '0']);
    expect(m.stats().swapIns).toBe(2);
    exitAll(m);
  });

  it('reuses a page held by one pte (fork, the parent exits, the child writes)', () => {
    const { m, out } = runTrace({ design }, [
      'spawn a',
      `a mmap ${page(0)} 0x2000 rw private`,
      `a write ${page(0)} 1`,
      'fork a b',
      'exit a',
      `b write ${page(0)} 2`,
      `b read ${page(0)}`,
    ]);
    expect(out.at(-1)).toBe('2');
    const s = m.stats();
    expect(s.cowCopies).toBe(0);
    expect(s.cowReuses).toBe(1);
    if (design === 'anon-vma-chain') expect(s.pagesMovedToOwnAnonVma).toBe(1);
    exitAll(m);
  });

  it('MADV_DONTNEED in the child leaves the parent\'s view; ftruncate drops private copies', () => {
    const { m, out } = runTrace({ design }, [
      'file f 0x3000',
      'fwrite f 0x1000 5',
      'spawn a',
      `a mmap ${page(0)} 0x3000 rw private f 0`,
      `a write ${page(1)} 6`,
      'fork a b',
      `b madvise ${page(1)} 0x1000 dontneed`,
      `b read ${page(1)}`, // the file again
      `a read ${page(1)}`, // a's copy
      'ftruncate f 0x1000',
      `a read ${page(1)}`,
      'ftruncate f 0x3000',
      `a read ${page(1)}`, // the copy is gone: the (zeroed) file
    ]);
    expect([out[7], out[8], out[10], out[12]]).toEqual(['5', '6', 'SIGBUS', '0']);
    exitAll(m);
  });

  it('a vma faulted next to a faulted neighbour merges with it (Linux 6.18: it shares its anon_vma)', () => {
    const { m, out } = runTrace({ design }, [
      'spawn a',
      `a mmap ${page(0)} 0x1000 rw private`,
      `a write ${page(0)} 1`,
      `a mmap ${page(1)} 0x1000 rwx private`,
      `a write ${page(1)} 2`,
      `a mprotect ${page(1)} 0x1000 rw`,
      `a mremap ${page(0)} 0x2000 0x3000`, // one vma now: grows in place
      `a read ${page(1)}`,
    ]);
    expect(out.slice(6)).toEqual(['ok', '2']);
    // anon-vma-lazy takes no neighbour's anon_vma: both vmas are lazy roots,
    // upgraded when the machine merges them (as Linux 6.18 does).
    if (design === 'anon-vma-lazy') expect(m.stats().lazyUpgradesAtMerge).toBe(2);
    else if (design === 'anon-layer' || design === 'anon-vma-chain') expect(m.stats().anonVmaNeighbourReuses).toBe(1);
    exitAll(m);
  });

  it('a fork child\'s pieces of one parent vma do not merge again (Linux 6.18)', () => {
    const { m, out } = runTrace({ design }, [
      'spawn a',
      `a mmap ${page(0)} 0x2000 rw private`,
      `a write ${page(0)} 1`,
      `a write ${page(1)} 2`,
      `a mprotect ${page(1)} 0x1000 r`,
      'fork a b',
      `b mprotect ${page(1)} 0x1000 rw`,
      `b mremap ${page(0)} 0x2000 0x3000`, // b's two vmas have anon_vmas of their own: EFAULT
      `a mprotect ${page(1)} 0x1000 rw`,
      `a mremap ${page(0)} 0x2000 0x3000`, // a's share one: merged, grows
      `b read ${page(1)}`,
      `a read ${page(1)}`,
    ]);
    expect(out.slice(6)).toEqual(['ok', 'EFAULT', 'ok', 'ok', '2', '2']);
    exitAll(m);
  });

  it('holds up under pressure: many forks and writes with 8 frames', () => {
    const lines = ['spawn p0', `p0 mmap ${page(0)} 0x10000 rw private`];
    for (let i = 0; i < 16; i++) lines.push(`p0 write ${page(i)} ${i}`);
    for (let g = 1; g <= 6; g++) {
      lines.push(`fork p${g - 1} p${g}`);
      for (let i = g; i < 16; i += 3) lines.push(`p${g} write ${page(i)} ${g * 100 + i}`);
      lines.push('reclaim 5');
    }
    lines.push('frames');
    const small = runTrace({ design, frames: 8 }, lines);
    const big = runTrace({ design }, lines, false);
    expect(small.out).toEqual(big.out);
    expect(small.m.stats().swapIns).toBeGreaterThan(0);
    exitAll(small.m);
  });
});

