// Design-specific tests for ANON_VMA_LAZY (src/anon/anon-vma-lazy.ts): what
// the patch set claims — no anon_vma until a fork, one vma per walk of a
// never-forked page, fork upgrading the parent and deferring the child's
// anon_vma — checked against anon-vma-chain on the same traces (identical
// output, fewer anon_vmas), with the invariants after every command and
// nothing leaked at the end.

import { describe, expect, it } from 'vitest';
import { workloadTrace } from '../src/workload/index.js';
import { BASE, exitAll, page, runTrace } from './helpers.js';
import { checkInvariants } from './invariants.js';

describe('anon-vma-lazy', () => {
  it('a process that never forks has no anon_vma, and each walk visits its one vma', () => {
    const lines = ['spawn a', `a mmap ${page(0)} 0x8000 rw private`, `a mmap ${page(16)} 0x4000 rw private`];
    for (let i = 0; i < 8; i++) lines.push(`a write ${page(i)} ${i + 1}`);
    for (let i = 16; i < 20; i++) lines.push(`a write ${page(i)} ${i + 1}`);
    lines.push('reclaim 100', `a read ${page(3)}`, `a read ${page(17)}`);
    const { m, out } = runTrace({ design: 'anon-vma-lazy' }, lines.join('\n') + '\n');
    expect(out.slice(-2)).toEqual(['4', '18']);
    // Counted without the invariant checks (which walk every page's rmap).
    const s = runTrace({ design: 'anon-vma-lazy' }, lines.join('\n') + '\n', false).m.stats();
    expect(s.anonVmasCreated).toBe(0);
    expect(s.anonVmaChainsPeak).toBe(0);
    expect(s.lazyRootsAlive).toBe(2);
    expect(s.rmapWalks).toBe(12);
    expect(s.rmapLazyWalks).toBe(12);
    expect(s.rmapVmasVisited).toBe(12);
    expect(s.rmapSpacesVisited).toBe(0);
    const chain = runTrace({ design: 'anon-vma-chain' }, lines.join('\n') + '\n', false).m.stats();
    expect(chain.anonVmasCreated).toBe(2);
    exitAll(m);
  });

  it('fork upgrades the parent to an anon_vma; the child allocates its own only at its first copy', () => {
    const text = [
      'spawn a', `a mmap ${page(0)} 0x2000 rw private`, `a write ${page(0)} 1`, `a write ${page(1)} 2`,
      'fork a b', `b read ${page(0)}`, 'fork a c', 'reclaim 100', `c read ${page(1)}`,
    ].join('\n') + '\n';
    const { m, out } = runTrace({ design: 'anon-vma-lazy' }, text);
    expect(out.at(-1)).toBe('2');
    let s = m.stats();
    expect(s.lazyUpgradesAtFork).toBe(1);
    expect(s.anonVmasAlive).toBe(1); // the parent's root; b and c are tree parents
    expect(s.anonVmaChainsAlive).toBe(3);
    m.exec({ kind: 'write', proc: 'b', addr: BigInt(BASE), val: 9, line: 0 });
    checkInvariants(m);
    s = m.stats();
    expect(s.anonVmasDeferredAllocs).toBe(1);
    expect(s.anonVmasAlive).toBe(2);
    exitAll(m);
  });

  it('splitting, merging and moving a lazy root upgrade it first', () => {
    const text = [
      'spawn a', `a mmap ${page(0)} 0x4000 rw private`, `a write ${page(0)} 1`, `a write ${page(3)} 4`,
      `a mprotect ${page(1)} 0x1000 r`, // split into three: upgraded once
      `a mprotect ${page(1)} 0x1000 rw`, // merged back
      `a mmap ${page(8)} 0x1000 rw private`, `a write ${page(8)} 9`,
      `a mremap ${page(8)} 0x1000 0x1000 ${page(32)}`, // moved: upgraded
      'reclaim 100', `a read ${page(3)}`, `a read ${page(32)}`, 'a maps',
    ].join('\n') + '\n';
    const { m, out } = runTrace({ design: 'anon-vma-lazy' }, text);
    expect(out.slice(-3, -1)).toEqual(['4', '9']);
    expect(out.at(-1)).toContain(`${page(32)}`);
    const s = m.stats();
    expect(s.lazyUpgradesAtSplit).toBe(1);
    expect(s.lazyUpgradesAtMremap).toBe(1);
    expect(runTrace({ design: 'anon-vma-chain' }, text, false).out).toEqual(out);
    exitAll(m);
  });

  it('a fork chain stays bounded: the deferred anon_vma reuses an exited generation\'s', () => {
    const text = workloadTrace('fork-chain', { generations: '200', pages: '8' });
    const lazy = runTrace({ design: 'anon-vma-lazy' }, text, false).m.stats();
    const chain = runTrace({ design: 'anon-vma-chain' }, text, false).m.stats();
    expect(lazy.anonVmasPeak).toBeLessThanOrEqual(chain.anonVmasPeak!);
    expect(lazy.anonVmasPeak).toBeLessThanOrEqual(3);
    expect(lazy.anonVmaChainsPeak).toBeLessThanOrEqual(4);
  });

  it('shell: fewer anon_vmas than anon-vma-chain, same output', () => {
    const text = workloadTrace('shell', { commands: '20' });
    const lazy = runTrace({ design: 'anon-vma-lazy' }, text, false);
    const chain = runTrace({ design: 'anon-vma-chain' }, text, false);
    expect(lazy.out).toEqual(chain.out);
    expect(lazy.m.stats().anonVmasCreated).toBeLessThan(chain.m.stats().anonVmasCreated!);
  });
});
