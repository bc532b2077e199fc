// Whole-tree walks of the space-tree designs (space-tree.ts): the reverse
// map, the invariant check, and the bottom-up pass that finds pages no vma
// can see. Each reads the tree only (the garbage pass may also free pages).

import type { File } from '../mm/file.js';
import type { FrameAllocator } from '../mm/frames.js';
import { Intervals, rangeSetIntervals } from '../mm/rangeset.js';
import type { Vma } from '../mm/vma.js';
import type { Peek } from './design.js';
import type { SpaceNode, VmaLink } from './space-node.js';

/** The rmap counters: walks, vmas looked at, nodes looked at. */
export interface WalkCounters {
  walks: number;
  vmas: number;
  spaces: number;
}

/**
 * Reverse mapping: visit every vma that may map page `i` of `start` (an
 * anonymous node, or a file's root, or null for a file no private vma
 * maps), starting with the file's shared mappings for a file page. Walks
 * `start`'s vmas and, recursively, the children that do not hold (shadow)
 * index i themselves — the seed's "minimum you need to traverse".
 */
export function rmapWalk(file: File | null, start: SpaceNode | null, i: number, visit: (vma: Vma, addr: number) => void, n: WalkCounters): void {
  n.walks++;
  const covers = (v: Vma): void => {
    n.vmas++;
    if (v.pgoff <= i && i < v.endIndex) visit(v, v.addrOf(i));
  };
  // A file page: its shared mappings (they are not on the root's vma list,
  // which holds the private vmas that have not copied yet).
  if (file !== null) for (const v of file.mappings) if (v.shared) covers(v);
  if (start === null) {
    n.spaces++; // the page cache itself, which no private vma uses
    return;
  }
  // A child that holds index i shadows the page for its whole subtree;
  // a child that clears i makes its subtree see the base page instead.
  // For an anonymous page both end the walk down that subtree. For a
  // file page (the base page of every private mapping of the file) a
  // cleared index below a shadowing node makes the page visible again,
  // so the walk goes on, visiting vmas only where the page is visible.
  const isFilePage = file !== null;
  // Iterative: with merge off a fork chain makes trees thousands deep.
  const stack: [SpaceNode, boolean][] = [[start, true]];
  while (stack.length > 0) {
    const [s, visible] = stack.pop()!;
    n.spaces++;
    if (visible) for (const v of s.vmas) covers(v);
    for (const c of s.children) {
      let sees = visible;
      if (c.holds(i)) sees = false;
      else if (c.cleared !== null && c.cleared.has(i)) sees = isFilePage;
      if (sees || isFilePage) stack.push([c, sees]);
    }
  }
}

/**
 * Pages (resident or swapped) that anonymous nodes hold but no vma can
 * see; with `frames`, free them too. Bottom-up over each tree: need(s),
 * the indices that lookups arriving at s still look for, is the union of
 * the ranges of s's vmas and, for each child c, need(c) minus what c holds
 * or clears. A page s holds at i is reachable exactly when i is in need(s).
 */
export function countUnreachable(live: ReadonlySet<SpaceNode>, frames: FrameAllocator | null): number {
  // Parents before children (top-down), then walk that order backwards.
  const order: SpaceNode[] = [];
  for (const s of live) if (s.parent === null || s.parent.file !== null) order.push(s);
  for (let k = 0; k < order.length; k++) for (const c of order[k]!.children) order.push(c);
  const need = new Map<SpaceNode, number[]>();
  let n = 0;
  for (let k = order.length - 1; k >= 0; k--) {
    const s = order[k]!;
    let want: number[] = [];
    for (const v of s.vmas) want = Intervals.union(want, [v.pgoff, v.endIndex]);
    for (const c of s.children) {
      const held: number[] = [];
      c.mapping.pages.forEach((i) => held.push(i));
      c.mapping.swapped?.forEach((i) => held.push(i));
      const resolved = Intervals.union(Intervals.fromPoints(held), rangeSetIntervals(c.cleared));
      want = Intervals.union(want, Intervals.subtract(need.get(c)!, resolved));
      need.delete(c);
    }
    need.set(s, want);
    const count = (i: number): void => {
      if (Intervals.has(want, i)) return;
      n++;
      if (frames !== null) s.mapping.drop(i, frames);
    };
    s.mapping.pages.forEach(count);
    s.mapping.swapped?.forEach(count);
  }
  return n;
}

/**
 * The invariants of space-tree.ts, for the vmas of every live process;
 * throws on the first violation. `foldsOnlyChild`: the design never leaves
 * a node with no vmas and one child. `peek` is the design's lookup.
 */
export function checkTree(
  design: string,
  vmas: readonly Vma[],
  live: ReadonlySet<SpaceNode>,
  roots: ReadonlyMap<File, SpaceNode>,
  foldsOnlyChild: boolean,
  peek: (v: Vma, i: number) => Peek,
): void {
  const fail = (msg: string): never => {
    throw new Error(`${design} invariant: ${msg}`);
  };
  const at = (v: Vma): VmaLink | null => v.anon as VmaLink | null;
  const seen = new Set<SpaceNode>();
  for (const v of vmas) {
    if (v.shared) continue;
    const l = at(v);
    if (l === null) return fail(`private vma ${v.start.toString(16)} has no space`);
    const s = l.node;
    if (!s.vmas.has(v)) fail(`space ${s.id} does not list its vma`);
    let root = s;
    for (let t: SpaceNode | null = s; t !== null; t = t.parent) {
      seen.add(t);
      root = t;
    }
    if (v.file !== null && root.file !== v.file) fail(`private file vma's tree is not rooted at its file`);
    if (v.file === null && root.file !== null) fail(`anonymous vma's tree is rooted at a file`);
    if (!l.cowNewSpace && s.file !== null) fail(`unflagged private vma directly on a file's root`);
  }
  for (const s of seen) {
    if (s.parent !== null && !s.parent.children.has(s)) fail(`space ${s.id} missing from its parent's children`);
    for (const c of s.children) if (c.parent !== s) fail(`child ${c.id} of ${s.id} has another parent`);
    for (const w of s.vmas) if (at(w)?.node !== s) fail(`space ${s.id} lists a vma that uses another space`);
    if (s.file !== null && roots.get(s.file) !== s) fail(`file root ${s.id} is not its file's root`);
    if (s.file === null && s.vmas.size === 0 && s.children.size === 0) fail(`space ${s.id} has neither vmas nor children`);
    if (foldsOnlyChild && s.file === null && s.vmas.size === 0 && s.children.size === 1) fail(`space ${s.id} should have been folded into its only child`);
    s.mapping.pages.forEach((i, f) => {
      if (f.owner !== s.mapping || f.index !== i) fail(`page ${i} of space ${s.id} does not name it as owner`);
    });
    s.mapping.swapped?.forEach((i) => {
      if (s.mapping.pages.get(i) !== undefined) fail(`index ${i} of space ${s.id} both resident and swapped`);
    });
  }
  for (const s of live) {
    if (!seen.has(s)) fail(`space ${s.id} is alive but no vma reaches it`);
    if (s.file !== null) fail(`a file root among the anonymous spaces`);
  }
  for (const [f, r] of roots) if (r.file !== f || !seen.has(r)) fail(`the root of a file no private vma reaches is kept`);
  // (X): an unflagged vma's own pages are visible to it alone.
  const priv = vmas.filter((v) => !v.shared);
  for (const v of priv) {
    const l = at(v)!;
    if (l.cowNewSpace) continue;
    const s = l.node;
    s.mapping.pages.forRange(v.pgoff, v.endIndex, (i, f) => {
      for (const w of priv) {
        if (w === v || i < w.pgoff || i >= w.endIndex) continue;
        if (peek(w, i) === f) {
          fail(`page ${i} of space ${s.id} is seen by unflagged vma at 0x${v.start.toString(16)} and another vma at 0x${w.start.toString(16)}`);
        }
      }
    });
  }
}
