// Design-specific tests for the anon_vma designs (src/anon/anon-vma.ts,
// src/anon/anon-vma-chain.ts, src/anon/anon-vma-lazy.ts): what each is for — the cost of reverse
// mapping after a COW storm, anon_vma reuse in fork chains — and the cases
// their page-holding ptes must get right (the swap cache, reuse of an
// exclusive page, merging as Linux 6.18 does). Every trace here also runs
// with the machine's invariants checked after every command and with
// nothing leaked once every process has exited. Expected outputs of the
// merge traces were checked on Linux 6.18.44 with build/vmrun.

import { describe, expect, it } from 'vitest';
import { Machine } from '../src/mm/machine.js';
import { parseTrace } from '../src/trace/parse.js';
import { checkInvariants, checkOnlyPageCacheLeft } from './invariants.js';

const ANON_VMA_DESIGNS = ['anon-layer', 'anon-vma-chain', 'anon-vma-lazy'] as const;
const BASE = 0x100000000000;
const hex = (n: number): string => '0x' + n.toString(16);
const page = (i: number): string => hex(BASE + i * 4096);

/** Run `lines` on a fresh machine, checking invariants after each command; returns the result bodies. */
function run(design: string, lines: readonly string[], opts: { frames?: number; check?: boolean } = {}): { m: Machine; out: string[] } {
  const m = new Machine({ design, ...(opts.frames === undefined ? {} : { frames: opts.frames }) });
  const out: string[] = [];
  for (const c of parseTrace(Buffer.from(lines.join('\n') + '\n'), 't')) {
    out.push(m.exec(c));
    if (opts.check ?? true) checkInvariants(m);
  }
  return { m, out };
}

/** Exit every live process, checking invariants, then that only page cache is left. */
function exitAll(m: Machine): void {
  for (const name of [...m.procs.keys()]) {
    m.exec({ kind: 'exit', proc: name, line: 0 });
    checkInvariants(m);
  }
  checkOnlyPageCacheLeft(m);
}

/** cow-storm in small: the parent writes `pages` pages, forks `children`, each child writes them all. */
function cowStorm(pages: number, children: number): string[] {
  const lines = ['spawn parent', `parent mmap ${page(0)} ${hex(pages * 4096)} rw private`];
  for (let i = 0; i < pages; i++) lines.push(`parent write ${page(i)} ${i + 1}`);
  for (let c = 1; c <= children; c++) lines.push(`fork parent c${c}`);
  for (let c = 1; c <= children; c++) {
    for (let i = 0; i < pages; i++) lines.push(`c${c} write ${page(i)} ${c * 1000 + i}`);
  }
  return lines;
}

describe('rmap cost after a COW storm (50 pages, 50 children, then reclaim)', () => {
  const PAGES = 50;
  const CHILDREN = 50;
  const storm = (design: string): Record<string, number> => {
    const { m } = run(design, cowStorm(PAGES, CHILDREN), { check: false });
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
    expect(s.vmas / s.walks).toBe(CHILDREN + 1);
  });

  it('anon-vma-chain: a child\'s page is walked in that child alone', () => {
    const s = storm('anon-vma-chain');
    expect(s.swapOuts).toBe(PAGES * (CHILDREN + 1));
    expect(s.walks).toBe(PAGES * (CHILDREN + 1));
    expect(s.spaces).toBe(s.walks);
    // A child's 50 copies live in its own anon_vma (1 vma); only the
    // parent's 50 pages, in the root, are walked in all 51 vmas.
    expect(s.vmas).toBe(PAGES * CHILDREN * 1 + PAGES * (CHILDREN + 1));
    expect(s.vmas / s.walks).toBeLessThan(2);
  });

  it('both: the same pages end up in swap and read back the same', () => {
    for (const design of ANON_VMA_DESIGNS) {
      const lines = [...cowStorm(5, 4), 'reclaim 1000', 'c3 read ' + page(2), 'parent read ' + page(4), 'frames'];
      const { m, out } = run(design, lines);
      expect(out.at(-3)).toBe('3002');
      expect(out.at(-2)).toBe('5');
      exitAll(m);
    }
  });
});

describe.each(ANON_VMA_DESIGNS)('design %s', (design) => {
  it('keeps a swapped-out page shared: the swap cache gives the second process the same frame', () => {
    const { m, out } = run(design, [
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
    const s = m.stats();
    expect(s.swapCacheHits).toBeGreaterThanOrEqual(2);
    expect(s.swapCachePages).toBe(0); // every slot reference has been faulted back
    exitAll(m);
  });

  it('copies a page that is in the swap cache while another process still names its slot', () => {
    const { m, out } = run(design, [
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
    const { m, out } = run(design, [
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
    const { m, out } = run(design, [
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
    const { m, out } = run(design, [
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

  it('a vma faulted next to a faulted neighbour shares its anon_vma, so they merge (Linux 6.18)', () => {
    const { m, out } = run(design, [
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
    else expect(m.stats().anonVmaNeighbourReuses).toBe(1);
    exitAll(m);
  });

  it('a fork child\'s pieces of one parent vma do not merge again (Linux 6.18)', () => {
    const { m, out } = run(design, [
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
    const small = run(design, lines, { frames: 8 });
    const big = run(design, lines, { check: false });
    expect(small.out).toEqual(big.out);
    expect(small.m.stats().swapIns).toBeGreaterThan(0);
    exitAll(small.m);
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
    const { m, out } = run('anon-vma-chain', chain(20));
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
    const { m, out } = run('anon-layer', chain(20));
    expect(out.at(-1)).toBe('20');
    const s = m.stats();
    expect(s.anonVmasAlive).toBe(1);
    expect(s.anonVmasCreated).toBe(1);
    expect(s.designBytes).toBe(96);
    exitAll(m);
    expect(m.stats().anonVmasAlive).toBe(0);
  });

  it('anon-vma-chain gives each forked child an anon_vma and a chain to its ancestors', () => {
    const { m } = run('anon-vma-chain', [
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
