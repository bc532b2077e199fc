// Design-specific tests for the tree design (src/anon/tree.ts, the seed's
// tree of address_spaces): that its two optimisations act exactly where the
// seed post says they should, and nowhere else.
//   - cut: "When you've modified all the pages in a private mapping, the
//     parent address_space is no longer required by this mapping. So cut
//     the tree there. That will release the parent if nobody else refers
//     to it."
//   - merge: "If a child is the only reference to its parent, they can be
//     merged." (and its special case: a flagged vma alone on its space
//     writes into it instead of making a child)
// Each expected shape below is derived by hand from those rules and the
// post's base design (the first copy-on-write after fork makes a new child
// space; fork leaves both vmas on the old space, flagged), and checked with
// each optimisation on and off. Every trace also runs with the machine's
// invariants checked after every command, its output compared with the
// naive reference model (test/naive/model.ts), and nothing leaked once
// every process has exited.

import { describe, expect, it } from 'vitest';
import type { SpaceNode } from '../src/anon/space-node.js';
import type { TreeDesign } from '../src/anon/tree.js';
import { Machine, type MachineOptions } from '../src/machine.js';
import { exitAll, hex, page, pick, runTrace } from './helpers.js';
import { runNaive } from './naive/model.js';
import { parseVmt } from './naive/trace-text.js';

/**
 * The anonymous trees, one string per tree sorted: a space is
 * `<pages held>p<vmas using it>v`, followed by its children in parentheses.
 * A tree under a private file mapping's root is drawn from its first
 * anonymous space, prefixed with `file:`.
 */
function shape(m: Machine): string[] {
  const draw = (s: SpaceNode): string => {
    const kids = [...s.children].map(draw).sort();
    return `${s.held}p${s.vmas.size}v` + (kids.length > 0 ? `(${kids.join(' ')})` : '');
  };
  const out: string[] = [];
  for (const s of (m.design as TreeDesign).spaces()) {
    if (s.parent === null) out.push(draw(s));
    else if (s.parent.file !== null) out.push('file:' + draw(s));
  }
  return out.sort();
}

interface Run {
  m: Machine;
  stats: Record<string, number>;
  shape: string[];
}

/**
 * Run `lines` on the tree with `opts`, checking invariants after every
 * command and every result against the naive model; returns the counters
 * and the shape at the end, then exits everyone and checks nothing leaked.
 */
function run(lines: readonly string[], opts: MachineOptions = {}): Run {
  const text = lines.join('\n') + '\n';
  const { m, out } = runTrace({ ...opts, design: 'tree' }, text);
  expect(out).toEqual(runNaive(parseVmt(text, 't')));
  const r = { m, stats: m.stats(), shape: shape(m) };
  exitAll(m);
  return r;
}

const SHAPE = ['spacesCreated', 'spacesAlive', 'depthMax', 'depthPeak', 'cuts', 'merges', 'spaceReuses'] as const;

/** A parent writes `pages` pages of one mapping, forks c, and c writes `childWrites` of them. */
function forkThenChildWrites(pages: number, childWrites: number): string[] {
  const lines = ['spawn p', `p mmap ${page(0)} ${hex(pages * 4096)} rw private`];
  for (let i = 0; i < pages; i++) lines.push(`p write ${page(i)} ${i + 1}`);
  lines.push('fork p c');
  for (let i = 0; i < childWrites; i++) lines.push(`c write ${page(i)} ${100 + i}`);
  for (let i = 0; i < pages; i++) lines.push(`p read ${page(i)}`, `c read ${page(i)}`);
  return lines;
}

describe('tree: cut', () => {
  it('a child space that holds every page of its vma leaves its parent', () => {
    // p's vma on root A (4 pages); c's first write makes B under A; after
    // c's 4th write B holds all of c's vma: cut, two separate roots.
    const r = run(forkThenChildWrites(4, 4));
    expect(r.shape).toEqual(['4p1v', '4p1v']);
    expect(pick(r.stats, SHAPE)).toEqual({ spacesCreated: 2, spacesAlive: 2, depthMax: 0, depthPeak: 1, cuts: 1, merges: 0, spaceReuses: 0 });
  });

  it('does not cut while a single page of the vma is still the parent\'s', () => {
    const r = run(forkThenChildWrites(4, 3));
    expect(r.shape).toEqual(['4p1v(3p1v)']);
    expect(pick(r.stats, ['cuts', 'depthMax'])).toEqual({ cuts: 0, depthMax: 1 });
  });

  it('--no-cut: the full child space stays under its parent', () => {
    const r = run(forkThenChildWrites(4, 4), { cut: false });
    expect(r.shape).toEqual(['4p1v(4p1v)']);
    expect(pick(r.stats, SHAPE)).toEqual({ spacesCreated: 2, spacesAlive: 2, depthMax: 1, depthPeak: 1, cuts: 0, merges: 0, spaceReuses: 0 });
  });

  it('releases the parent when nobody else refers to it', () => {
    // The parent exits first, leaving c alone (flagged) on A. With merge off
    // c's first write still makes B under A; once B holds both pages the
    // cut frees A. With merge on, c writes into A itself (merge's special
    // case) and there is nothing to cut.
    const lines = ['spawn p', `p mmap ${page(0)} ${hex(2 * 4096)} rw private`, `p write ${page(0)} 1`, `p write ${page(1)} 2`,
      'fork p c', 'exit p', `c write ${page(0)} 10`, `c write ${page(1)} 11`, `c read ${page(0)}`, `c read ${page(1)}`];
    const noMerge = run(lines, { merge: false });
    expect(noMerge.shape).toEqual(['2p1v']);
    expect(pick(noMerge.stats, [...SHAPE, 'spacesFreed'])).toEqual({ spacesCreated: 2, spacesAlive: 1, depthMax: 0, depthPeak: 1, cuts: 1, merges: 0, spaceReuses: 0, spacesFreed: 1 });
    const neither = run(lines, { merge: false, cut: false });
    expect(neither.shape).toEqual(['2p0v(2p1v)']);
    expect(pick(neither.stats, ['cuts', 'spacesAlive', 'depthMax'])).toEqual({ cuts: 0, spacesAlive: 2, depthMax: 1 });
    const merged = run(lines);
    expect(merged.shape).toEqual(['2p1v']);
    expect(pick(merged.stats, [...SHAPE, 'cowReuses'])).toEqual({ spacesCreated: 1, spacesAlive: 1, depthMax: 0, depthPeak: 0, cuts: 0, merges: 0, spaceReuses: 1, cowReuses: 2 });
  });

  it('never cuts a private file mapping\'s tree (truncate must find its copies)', () => {
    const r = run(['file f 0x2000', 'fwrite f 0x1000 7', 'spawn p', `p mmap ${page(0)} 0x2000 rw private f 0`,
      `p write ${page(0)} 1`, `p write ${page(1)} 2`, `p read ${page(1)}`, 'ftruncate f 0x1000', `p read ${page(0)}`, `p read ${page(1)}`]);
    // The first write makes the anonymous space under the file's root; it
    // holds the whole vma, yet stays there.
    expect(r.shape).toEqual(['file:1p1v']);
    expect(pick(r.stats, ['spacesCreated', 'cuts', 'depthMax'])).toEqual({ spacesCreated: 1, cuts: 0, depthMax: 1 });
  });
});

describe('tree: merge', () => {
  /**
   * g0 writes both pages of a 2-page mapping; then each generation forks
   * the next, which writes page 0, and exits. The last reads both pages
   * (after `reclaim` evicted everything, if given: so that the reads look
   * their pages up in the tree instead of finding them in the page table).
   */
  function forkChain(generations: number, reclaim = false): string[] {
    const lines = ['spawn g0', `g0 mmap ${page(0)} ${hex(2 * 4096)} rw private`, `g0 write ${page(0)} 1`, `g0 write ${page(1)} 2`];
    for (let i = 0; i < generations; i++) lines.push(`fork g${i} g${i + 1}`, `g${i + 1} write ${page(0)} ${100 + i}`, `exit g${i}`);
    if (reclaim) lines.push('reclaim 100000');
    lines.push(`g${generations} read ${page(0)}`, `g${generations} read ${page(1)}`);
    return lines;
  }

  it('an exited parent\'s space merges with its only child: the chain stays one deep', () => {
    // Each child's write makes a child space holding 1 of 2 pages (no cut);
    // its parent's exit leaves the old space with no vmas and that one
    // child: merged, so every generation costs one space made and freed.
    const r = run(forkChain(20, true));
    expect(r.shape).toEqual(['2p1v']);
    expect(pick(r.stats, [...SHAPE, 'spacesFreed', 'unreachablePages'])).toEqual({
      spacesCreated: 21, spacesAlive: 1, depthMax: 0, depthPeak: 1, cuts: 0, merges: 20, spaceReuses: 0, spacesFreed: 20, unreachablePages: 0,
    });
    // The reads after reclaim find both pages in the one space.
    expect(r.stats.lookupStepsMax).toBe(1);
  });

  it('--no-merge: one more space per generation, and lookups walk the whole chain', () => {
    const r = run(forkChain(20), { merge: false });
    // g0's space (both pages), then one space per exited generation holding
    // its copy of page 0, then the last generation's.
    expect(r.shape).toEqual(['2p0v(' + '1p0v('.repeat(19) + '1p1v' + ')'.repeat(20)]);
    expect(pick(r.stats, SHAPE)).toEqual({ spacesCreated: 21, spacesAlive: 21, depthMax: 20, depthPeak: 20, cuts: 0, merges: 0, spaceReuses: 0 });
    // After reclaim, the read of page 1 finds it in g0's space, 21 spaces up.
    expect(run(forkChain(20, true), { merge: false }).stats.lookupStepsMax).toBe(21);
  });

  it('--no-merge: the shadowed copies are garbage, which reclaim frees first', () => {
    // Page 0 of g0's space and of every exited generation's but the last is
    // shadowed by the space below and used by no vma: 20 unreachable pages.
    const before = run(forkChain(20), { merge: false });
    expect(before.stats.unreachablePages).toBe(20);
    expect(before.stats.garbagePagesFreed).toBe(0);
    const after = run([...forkChain(20), 'reclaim 1'], { merge: false });
    expect(pick(after.stats, ['unreachablePages', 'garbagePagesFreed'])).toEqual({ unreachablePages: 0, garbagePagesFreed: 20 });
    // The spaces stay (each still has a child); only the pages went.
    expect(after.shape).toEqual(['1p0v(' + '0p0v('.repeat(19) + '1p1v' + ')'.repeat(20)]);
  });

  it('its special case: a flagged vma alone on its space writes into it', () => {
    // fork, the child exits, the parent writes: nothing else can see the
    // space, so no child space is made and the page is reused in place.
    // (Two pages, one rewritten: a child space holding the whole vma would be cut.)
    const lines = ['spawn p', `p mmap ${page(0)} 0x2000 rw private`, `p write ${page(0)} 1`, `p write ${page(1)} 2`,
      'fork p c', 'exit c', `p write ${page(0)} 3`, `p read ${page(0)}`, `p read ${page(1)}`];
    const merged = run(lines);
    expect(merged.shape).toEqual(['2p1v']);
    expect(pick(merged.stats, ['spacesCreated', 'spaceReuses', 'cowReuses', 'cowCopies'])).toEqual({ spacesCreated: 1, spaceReuses: 1, cowReuses: 1, cowCopies: 0 });
    const unmerged = run(lines, { merge: false });
    expect(unmerged.shape).toEqual(['2p0v(1p1v)']);
    expect(pick(unmerged.stats, ['spacesCreated', 'spaceReuses', 'cowReuses', 'cowCopies', 'depthMax'])).toEqual({ spacesCreated: 2, spaceReuses: 0, cowReuses: 0, cowCopies: 1, depthMax: 1 });
  });

  it('--no-merge with cut on: the parent writing after a cut makes a child of its own space', () => {
    // As "a child space that holds every page..." (cut), then p writes page
    // 0: p is alone on A, but without merge it still takes a child space.
    const lines = [...forkThenChildWrites(4, 4), `p write ${page(0)} 50`, `p read ${page(0)}`, `c read ${page(0)}`];
    const merged = run(lines);
    expect(merged.shape).toEqual(['4p1v', '4p1v']);
    expect(pick(merged.stats, SHAPE)).toEqual({ spacesCreated: 2, spacesAlive: 2, depthMax: 0, depthPeak: 1, cuts: 1, merges: 0, spaceReuses: 1 });
    const unmerged = run(lines, { merge: false });
    expect(unmerged.shape).toEqual(['4p0v(1p1v)', '4p1v']);
    expect(pick(unmerged.stats, SHAPE)).toEqual({ spacesCreated: 3, spacesAlive: 3, depthMax: 1, depthPeak: 1, cuts: 1, merges: 0, spaceReuses: 0 });
  });
});
