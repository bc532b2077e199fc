// The designs that keep anonymous memory in trees of page-holding objects:
// the seed's tree of address_spaces (tree.ts) and FreeBSD's vm_object
// shadow chains (shadow.ts). Everything a fault, a fork, an munmap or
// reclaim does to a tree is here, once; a design of this family is one file
// of its differences (the hooks below). The nodes and how a vma points at
// them: space-node.ts. Node lifetimes: space-forest.ts. Whole-tree walks
// (rmap, checks, garbage): space-walk.ts.
//
// WHAT A VMA SEES at index i: look i up in the vma's node, then its parent,
// up to the root; the first node that holds i (resident or in swap) has
// the page. A file root ends the walk with the base page (the file's page).
// So does a node whose `cleared` contains i (zero, or the file's page):
// MADV_DONTNEED in a node others can see, or a vma growing over indices an
// ancestor still holds, must not show the ancestor's pages.
//
// THE INVARIANT everything relies on (checked by check()):
//   (X) If a private vma V is not flagged (cowNewSpace false), then no vma
//       other than V can see a page that V's node holds at an index in V's
//       range.
// So a write fault in an unflagged vma may reuse the page its own node
// holds, or put a new page there, without copying and without anyone else
// noticing. fork breaks exclusivity and flags both vmas; the next write
// moves the flagged vma to a fresh child node (or, by the design's rule,
// reuses its node when it is alone there), which is exclusive again.
// Every operation changes only what the vma it is given sees (design.ts).
//
// Cases the seed post does not cover, and how both designs handle them:
//   - MADV_DONTNEED in a vma whose pages live in a node shared with other
//     vmas (after fork): the vma gets its own child node (if flagged) and
//     that node records the range as *cleared*. The other vmas' views are
//     untouched. See discard().
//   - A vma growing over indices that an ancestor, or a sibling vma on the
//     same node, may still hold pages for (mremap expansion after a partial
//     munmap; merging with a fresh neighbour): the same clearing makes the
//     new range read as fresh memory. See extend().
//   - ftruncate shrinking a privately mapped file: pages past the new end
//     vanish from the file's whole tree, private copies included; the
//     machine has already zapped every pte and answers SIGBUS past EOF
//     before asking the design. See truncate().
//   - MADV_WIPEONFORK: the child's vma gets a brand-new root, exactly like
//     a new anonymous mapping; MADV_DONTFORK: the machine never makes the
//     child's vma. See forkWiped().
//   - mremap moving a vma whose pages sit in several nodes: nothing to do.
//     The vma keeps its node and pgoff, so the same chain answers the same
//     indices at the new address; only ptes move (the machine does that).
//   - A private file mapping sees fwrite()s to the file until a page is
//     copied: its vma starts on the file's root, flagged, so lookup reaches
//     the page cache; the first write creates the child node.
//
// The hooks:
//   - foldOnlyChild (space-forest.ts): a node left with no vmas and one
//     child (the seed's merge, FreeBSD's collapse);
//   - afterCow: after a write fault put a page in a node (the seed's cut,
//     FreeBSD's collapse/bypass of the top object);
//   - beforeFork, beforeMerge, moveToNewChild (overridable): FreeBSD's
//     collapse at fork, the tree re-joining split siblings, the chain limit;
//   - reusesAlone: whether a flagged vma alone on an anonymous node without
//     children writes into it instead of making a child;
//   - shapeStats/tailStats: the design's own counters.

import type { File } from '../mm/file.js';
import type { Frame } from '../mm/frames.js';
import { swapIn } from '../mm/swap.js';
import { Intervals } from '../mm/rangeset.js';
import { XArray } from '../mm/xarray.js';
import type { Vma } from '../mm/vma.js';
import { spaceTreeSnapshot } from '../draw/snapshot.js';
import type { DesignSnapshot } from '../draw/types.js';
import type { AnonDesign, Peek } from './design.js';
import { SpaceForest } from './space-forest.js';
import { link, nodeOf, type NodeMapping, type SpaceNode } from './space-node.js';
import { checkTree, countUnreachable, rmapWalk } from './space-walk.js';

export abstract class SpaceTreeDesign extends SpaceForest implements AnonDesign {
  abstract readonly name: string;

  private reuses = 0;
  private cowCopies = 0;
  private cowReuses = 0;
  private zeroFills = 0;
  private lookups = 0;
  private lookupSteps = 0;
  private lookupStepsMax = 0;
  private readonly walk = { walks: 0, vmas: 0, spaces: 0 };

  // ---------------------------------------------------------------- hooks

  /** A write fault in `vma` has just put a new page in `s`, the vma's node. */
  protected abstract afterCow(s: SpaceNode, vma: Vma): void;

  /** fork is about to share the anonymous node `s` with a child vma. */
  protected beforeFork(_s: SpaceNode): void {}

  /** prev may absorb next as far as Linux is concerned; runs before the common rules. */
  protected beforeMerge(_prev: Vma, _next: Vma): void {}

  /** Whether a flagged vma alone on an anonymous node without children writes into it (default: with merge on). */
  protected reusesAlone(): boolean {
    return this.merge;
  }

  /** The design's counters, after the forest's in stats(). */
  protected abstract shapeStats(): Record<string, number>;

  /** More design counters, after the common ones (before designBytes). */
  protected tailStats(): Record<string, number> {
    return {};
  }

  // ---------------------------------------------------------- node moves

  /**
   * Move `vma` to a new child of its node, so that it has a node of its
   * own, in which [lo, hi) is cleared if given. Returns the vma's node
   * (which the fold of the old one may have changed).
   */
  protected moveToNewChild(vma: Vma, lo = 0, hi = 0): SpaceNode {
    const s = this.newSpace(nodeOf(vma));
    if (hi > lo) s.clear(lo, hi);
    this.move(vma, s);
    return nodeOf(vma);
  }

  /** The node a vma may write into: its own, or (flagged) by the design's rule, or a new child. */
  private ownSpace(vma: Vma): SpaceNode {
    const l = link(vma);
    const s = l.node;
    if (!l.cowNewSpace) return s;
    if (s.file === null && s.vmas.size === 1 && s.children.size === 0 && this.reusesAlone()) {
      l.cowNewSpace = false;
      this.reuses++;
      return s;
    }
    return this.moveToNewChild(vma);
  }

  /** `v` is unflagged and alone on an anonymous root that holds nothing (it has seen nothing yet). */
  private static aloneOnEmptyRoot(v: Vma): boolean {
    const l = link(v);
    const s = l.node;
    return s.file === null && s.parent === null && s.children.size === 0 && s.held === 0 && s.vmas.size === 1 && !l.cowNewSpace;
  }

  // ------------------------------------------------------------ interface

  vmaNew(vma: Vma): void {
    if (vma.file !== null) {
      // A private file mapping starts on the file's root: the file's pages
      // are everybody's, so the first write must make a child.
      this.attach(vma, this.root(vma.file));
      link(vma).cowNewSpace = true;
    } else {
      this.attach(vma, this.newSpace(null));
    }
  }

  lookup(vma: Vma, index: number): Frame | null {
    let steps = 0;
    let found: Frame | null = null;
    for (let s: SpaceNode | null = nodeOf(vma); s !== null; s = s.parent) {
      steps++;
      if (s.file !== null) break; // the file's root: the base page
      const m = s.mapping;
      const f = m.pages.get(index);
      if (f !== undefined) {
        found = f;
        break;
      }
      if (m.swapped !== null) {
        const slot = m.swapped.get(index);
        if (slot !== undefined) {
          found = swapIn(this.frames, this.frames.swap, m, index, slot);
          break;
        }
      }
      if (s.cleared !== null && s.cleared.has(index)) break;
    }
    this.lookups++;
    this.lookupSteps += steps;
    if (steps > this.lookupStepsMax) this.lookupStepsMax = steps;
    return found;
  }

  peek(vma: Vma, index: number): Peek {
    for (let s: SpaceNode | null = nodeOf(vma); s !== null; s = s.parent) {
      if (s.file !== null) return null;
      const f = s.mapping.pages.get(index);
      if (f !== undefined) return f;
      if (s.mapping.swapped !== null && s.mapping.swapped.get(index) !== undefined) return 'swapped';
      if (s.cleared !== null && s.cleared.has(index)) return null;
    }
    return null;
  }

  cow(vma: Vma, index: number, src: Frame): Frame {
    const s = this.ownSpace(vma);
    const own = s.mapping.pages.get(index);
    if (own !== undefined) {
      // (X): our own node's page is seen by no one else.
      this.cowReuses++;
      return own;
    }
    const f = this.frames.alloc();
    if (src === this.frames.zero) this.zeroFills++;
    else {
      this.frames.copy(f, src);
      this.cowCopies++;
    }
    s.mapping.insert(index, f, this.frames);
    this.afterCow(s, vma);
    return f;
  }

  fork(parent: Vma, child: Vma): void {
    const s = nodeOf(parent);
    if (s.file === null) this.beforeFork(s);
    this.attach(child, nodeOf(parent));
    link(parent).cowNewSpace = true;
    link(child).cowNewSpace = true;
  }

  forkWiped(_parent: Vma, child: Vma): void {
    // Wiped: a brand-new root, exactly like a new anonymous mapping.
    this.attach(child, this.newSpace(null));
  }

  renumber(vma: Vma): void {
    // It sees nothing; a fresh root keeps it from seeing, at its new
    // indices, pages that others on its old node hold there.
    if (nodeOf(vma).file !== null || SpaceTreeDesign.aloneOnEmptyRoot(vma)) return;
    this.move(vma, this.newSpace(null));
  }

  anonVmaShared(vma: Vma, near: Vma): void {
    // Join the neighbour's node, as a split sibling would be, when that
    // keeps (X): both unflagged, the node exclusive over vma's range, and
    // vma alone on an empty root (it has seen nothing yet).
    const s = nodeOf(near);
    if (s === nodeOf(vma) || s.file !== null || link(near).cowNewSpace || link(vma).cowNewSpace) return;
    if (!SpaceTreeDesign.aloneOnEmptyRoot(vma) || s.children.size > 0) return;
    if (s.othersCover(vma, vma.pgoff, vma.endIndex)) return;
    // What an earlier unmap left at vma's indices is stale; ancestors' pages there must not show.
    this.dropUncovered(s, vma.pgoff, vma.endIndex, null);
    if (s.hasAnonParent) s.clear(vma.pgoff, vma.endIndex);
    this.detach(vma);
    this.attach(vma, s);
  }

  split(vma: Vma, tail: Vma): void {
    this.attach(tail, nodeOf(vma));
    link(tail).cowNewSpace = link(vma).cowNewSpace;
  }

  extend(vma: Vma, lo: number, hi: number): void {
    const s = nodeOf(vma);
    if (s.file !== null) return; // still on the file's root: sees only the file
    if (link(vma).cowNewSpace || s.children.size > 0 || s.othersCover(vma, lo, hi)) {
      // Someone else may see s's pages in [lo, hi): take a node of our own
      // in which the new range is cleared.
      this.moveToNewChild(vma, lo, hi);
      return;
    }
    // s is ours over [lo, hi): what an earlier unmap left there is stale.
    this.dropUncovered(s, lo, hi, null);
    if (s.hasAnonParent) s.clear(lo, hi);
  }

  tryMerge(prev: Vma, next: Vma): boolean {
    // Linux lets these two merge (the machine checked their anon_vmas).
    this.beforeMerge(prev, next);
    if (nodeOf(prev) === nodeOf(next)) {
      // A flag only ever makes the next write take a new node, so the
      // merged vma may carry it over both halves.
      link(prev).cowNewSpace ||= link(next).cowNewSpace;
      nodeOf(next).vmas.delete(next);
      next.anon = null;
      return true;
    }
    // One side has never had an anonymous page (Linux: no anon_vma): the
    // other side's node takes its range over, seeing nothing there.
    if (!next.anonFaulted) {
      this.extend(prev, next.pgoff, next.endIndex);
      this.detach(next);
      return true;
    }
    if (!prev.anonFaulted) {
      this.extend(next, prev.pgoff, prev.endIndex);
      this.detach(prev);
      this.attach(prev, nodeOf(next));
      link(prev).cowNewSpace = link(next).cowNewSpace;
      nodeOf(next).vmas.delete(next);
      next.anon = null;
      return true;
    }
    return false;
  }

  discard(vma: Vma, lo: number, hi: number): void {
    const s = nodeOf(vma);
    if (s.file !== null) return; // never copied anything: sees only the file
    if (link(vma).cowNewSpace) {
      this.moveToNewChild(vma, lo, hi);
      return;
    }
    // (X): what s holds in our range is ours alone.
    this.dropUncovered(s, lo, hi, vma);
    if (s.hasAnonParent) s.clear(lo, hi);
  }

  remove(vma: Vma): void {
    const s = nodeOf(vma);
    // With no children, the pages no other vma here covers are garbage now.
    if (s.file === null && s.children.size === 0) {
      this.dropUncovered(s, vma.pgoff, vma.endIndex, vma);
      // So are cleared indices no other vma covers: they stop no lookup any
      // more, and left behind they would keep a later neighbour from
      // joining this node (a merge Linux makes).
      if (s.cleared !== null) {
        let covered: number[] = [];
        for (const w of s.vmas) if (w !== vma) covered = Intervals.union(covered, [w.pgoff, w.endIndex]);
        const gone = Intervals.subtract([vma.pgoff, vma.endIndex], covered);
        for (let i = 0; i < gone.length; i += 2) s.cleared.remove(gone[i]!, gone[i + 1]!);
        if (s.cleared.empty) s.cleared = null;
      }
    }
    this.detach(vma);
  }

  truncate(file: File, from: number): void {
    // Private copies past the new end vanish from the file's whole tree.
    const root = this.roots.get(file);
    if (root === undefined) return;
    const stack = [...root.children];
    while (stack.length > 0) {
      const s = stack.pop()!;
      s.mapping.dropRange(from, Number.MAX_SAFE_INTEGER, this.frames);
      for (const c of s.children) stack.push(c);
    }
  }

  swapOut(frame: Frame): boolean {
    const m = this.frames.owner(frame) as NodeMapping;
    const index = this.frames.index(frame);
    const slot = this.frames.swap.write(this.frames, frame);
    m.pages.delete(index);
    (m.swapped ??= new XArray<number>()).set(index, slot);
    this.frames.setOwner(frame, null);
    this.frames.put(frame);
    return true;
  }

  rmap(frame: Frame, visit: (vma: Vma, addr: number) => void): void {
    const owner = this.frames.owner(frame);
    if (owner === null) return;
    // Pages belong to anonymous nodes, or to a file's (or shm's) page cache.
    const start = owner.file !== null ? this.roots.get(owner.file) ?? null : (owner as NodeMapping).node;
    rmapWalk(owner.file, start, this.frames.index(frame), visit, this.walk);
  }

  /** The trees (src/draw/): nodes under their parents, file roots included, each with the vmas using it. */
  snapshot(vmas: readonly Vma[]): DesignSnapshot {
    return spaceTreeSnapshot(this.name, vmas, this.live, {
      spaceOf: (v) => nodeOf(v),
      parentOf: (s) => s.parent,
      fileOf: (s) => s.file,
      held: (s) => s.held,
      cleared: (s) => s.cleared?.intervals() ?? [],
    });
  }

  check(vmas: readonly Vma[]): void {
    checkTree(this.name, vmas, this.live, this.roots, this.merge, (v, i) => this.peek(v, i), this.frames);
  }

  unreachablePages(): number {
    return countUnreachable(this.live, null);
  }

  stats(): Record<string, number> {
    return {
      ...this.forestStats(),
      ...this.shapeStats(),
      spaceReuses: this.reuses,
      cowCopies: this.cowCopies,
      cowReuses: this.cowReuses,
      zeroFills: this.zeroFills,
      lookups: this.lookups,
      lookupStepsMean: this.lookups === 0 ? 0 : this.lookupSteps / this.lookups,
      lookupStepsMax: this.lookupStepsMax,
      rmapWalks: this.walk.walks,
      rmapVmasVisited: this.walk.vmas,
      rmapSpacesVisited: this.walk.spaces,
      ...this.tailStats(),
      designBytes: this.bytes(),
    };
  }
}
