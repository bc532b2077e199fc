// Whole-tree walks of the space-tree designs (space-tree.ts): the reverse
// map, the invariant check, and the bottom-up pass that finds pages no vma
// can see. Each reads the tree only (the garbage pass may also free pages).

import type { File } from '../mm/file.js';
import type { FrameAllocator } from '../mm/frames.js';
import { Intervals } from '../mm/rangeset.js';
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
 * see; with `frames`, free them too.
 *
 * Definition: need(s), the indices that lookups arriving at s still look
 * for, is the union of the ranges of s's vmas, V(s), and, for each child
 * c, need(c) minus what c holds or clears (resolved(c)). A page s holds at
 * i is reachable exactly when i is in need(s).
 *
 * need(s) itself is never built: it is only ever asked about at indices
 * some node on the way up holds. Top-down, each node s gets the indices
 * its ancestors still ask about, P(s) (those not resolved by s itself);
 * the ones outside V(s), with s's own pages outside V(s) (O(s)), go on to
 * each child that does not resolve them. Bottom-up, a child answers, for
 * each index it was asked about, whether it is in need(child); a page of
 * O(s) no child needs is unreachable. Where every node's pages lie inside
 * its own vmas (the usual case), nothing is asked and the cost is one
 * pass over each node's pages, allocating nothing per page; the walk
 * builds no interval list per child, as a literal evaluation of need()
 * would (O(pages) arrays at every sampled exit).
 *
 * Frames are freed in the order the definition's bottom-up pass would
 * free them: nodes children first (the reverse of a top-down breadth-
 * first order from each tree's top), a node's resident pages in
 * XArray.forEach order, then its swapped ones.
 */
export function countUnreachable(live: ReadonlySet<SpaceNode>, frames: FrameAllocator | null): number {
  // Tops (anonymous nodes under no anonymous node), then top-down.
  const order: SpaceNode[] = [];
  for (const s of live) if (s.parent === null || s.parent.file !== null) order.push(s);
  for (let k = 0; k < order.length; k++) for (const c of order[k]!.children) order.push(c);
  // Per node, made only where non-empty (most calls make none): P(s), the
  // indices asked of s from above (distinct, none held or cleared by s);
  // O(s), s's own pages outside V(s); and, filled bottom-up, which of the
  // indices s passed down some child needs.
  let asked: Map<SpaceNode, number[]> | null = null;
  let own: Map<SpaceNode, number[]> | null = null;
  for (const s of order) {
    const o = outside(s);
    const p = asked?.get(s);
    if (o === null && p === undefined) continue;
    const v = rangesOf(s);
    const pass: number[] = [];
    if (p !== undefined) for (const i of p) if (!Intervals.has(v, i)) pass.push(i);
    if (o !== null) {
      (own ??= new Map()).set(s, o);
      for (const i of o) pass.push(i);
    }
    if (pass.length === 0) continue;
    for (const c of s.children) {
      const q = pass.filter((i) => !c.shadows(i));
      if (q.length > 0) (asked ??= new Map()).set(c, q);
    }
  }
  if (own === null) return 0; // every page inside its own node's vmas
  const neededBelow = new Map<SpaceNode, Set<number>>();
  let n = 0;
  for (let k = order.length - 1; k >= 0; k--) {
    const s = order[k]!;
    const below = neededBelow.get(s);
    // Answer the parent: which of the indices it asked are in need(s).
    const p = asked?.get(s);
    if (p !== undefined) {
      const v = rangesOf(s);
      const up = neededBelow.get(s.parent!) ?? new Set<number>();
      for (const i of p) if (Intervals.has(v, i) || (below !== undefined && below.has(i))) up.add(i);
      if (up.size > 0) neededBelow.set(s.parent!, up);
    }
    const o = own.get(s);
    if (o === undefined) continue;
    for (const i of o) {
      if (below !== undefined && below.has(i)) continue;
      n++;
      if (frames !== null) s.mapping.drop(i, frames);
    }
  }
  return n;
}

/** V(s): the ranges of s's vmas, as a flattened sorted interval list. */
function rangesOf(s: SpaceNode): number[] {
  let v: number[] = [];
  for (const w of s.vmas) v = v.length === 0 ? [w.pgoff, w.endIndex] : Intervals.union(v, [w.pgoff, w.endIndex]);
  return v;
}

/** O(s): the indices s holds (resident, then swapped) outside its vmas' ranges, or null if none. */
function outside(s: SpaceNode): number[] | null {
  if (s.mapping.held === 0) return null;
  let out: number[] | null = null;
  let lo = 0;
  let hi = 0;
  let v: number[] | null = null;
  if (s.vmas.size === 1) {
    // One vma (the usual case): two comparisons per page.
    const w = s.vmas.values().next().value as Vma;
    lo = w.pgoff;
    hi = w.endIndex;
    // Every page inside the vma (known from the arrays' bounds, without a
    // walk in the usual case): nothing outside.
    if (s.mapping.pages.allWithin(lo, hi) && (s.mapping.swapped === null || s.mapping.swapped.allWithin(lo, hi))) return null;
  } else if (s.vmas.size > 1) {
    v = rangesOf(s);
  }
  const each = (i: number): void => {
    if (v === null ? i < lo || i >= hi : !Intervals.has(v, i)) (out ??= []).push(i);
  };
  s.mapping.pages.forEach(each);
  s.mapping.swapped?.forEach(each);
  return out;
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
  frames: FrameAllocator,
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
      if (frames.owner(f) !== s.mapping || frames.index(f) !== i) fail(`page ${i} of space ${s.id} does not name it as owner`);
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
