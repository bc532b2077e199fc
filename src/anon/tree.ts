// The seed's design: anonymous memory as a tree of address_space objects
// (Jamie Lokier, linux-kernel, 27 April 2000; see README.md, "The seed post").
//
//   - Each vma points to an address_space; there is one for each file/shm
//     and each new anonymous mapping.
//   - Each address_space may have a parent, and lists its child spaces and
//     the vmas that use it directly.
//   - For private mappings, the first copy-on-write for a vma creates a
//     *new* space holding the privately modified pages; its parent is the
//     old space.
//   - fork() points the new vma at the same space and flags both vmas
//     (`cowNewSpace`) so that the next copy-on-write creates new spaces.
//   - A fault looks the page up in the vma's space, then its parent, up to
//     the root.
//   - An anonymous page's index is vm_pgoff-relative, however the mapping
//     was mremapped.
//   - Reverse mapping: the ptes of page i of space S are found by walking
//     S's vmas and, recursively, the child spaces that do not hold (shadow)
//     index i themselves — "the minimum you need to traverse".
//
// All of that, the invariant (X) it rests on, and the cases the post does
// not cover (MADV_DONTNEED in a shared space, growing vmas, truncate,
// wipe-on-fork, mremap) are the shared machinery of src/anon/space-tree.ts.
// This file is what is the seed's own:
//
// The post's two optimisations (each can be switched off; the semantics
// are the same either way, only the shape and size of the trees change):
//   - merge: "If a child is the only reference to its parent, they can be
//     merged." Whenever an anonymous space is left with no vmas and a
//     single child, the two become one (the smaller one's pages move).
//     Its special case: a flagged vma that is alone on its space, with no
//     child spaces, no longer needs a new space at its next write — the
//     flag is dropped instead (Linux's anon_vma reuse does the same).
//   - cut: "When you've modified all the pages in a private mapping, the
//     parent address_space is no longer required by this mapping. So cut
//     the tree there." A space used by one vma and no child, holding every
//     index of that vma, leaves its parent. Trees of private file mappings
//     are never cut: truncate must still find every private copy under the
//     file's space.
// Garbage: a page no vma can see any more is freed at once where that is
// cheap to know (a vma leaving a space with no children drops the pages no
// other vma there covers; a merge drops what the child shadowed); the rest
// is found by one bottom-up pass over the trees (countUnreachable()), which
// reclaim runs before it evicts anything (collectGarbage()) and the
// counters use (unreachablePages()).
//
// Two more consequences of merge: fork, then the parent exits, then the
// child writes — the child's vma is alone on the space, so its write reuses
// the space and the page instead of copying (with merge off it makes a
// child space and copies, equally correct). And split siblings after a
// fork can merge again (joinChild()).

import type { Vma } from '../mm/vma.js';
import { link, movePage, moveSlot, nodeOf, type SpaceNode } from './space-node.js';
import { SpaceTreeDesign } from './space-tree.js';
import { countUnreachable } from './space-walk.js';

export class TreeDesign extends SpaceTreeDesign {
  readonly name = 'tree';
  // Switches: this.merge, this.cut (space-forest.ts). Reusing a lone
  // flagged vma's space is merge's special case (reusesAlone's default).

  private merges = 0;
  private cuts = 0;
  private garbageFreed = 0;

  // ----------------------------------------------------------------- merge

  protected foldOnlyChild(s: SpaceNode): SpaceNode | null {
    if (!this.merge) return null;
    const p = s.parent;
    this.mergeWithChild(s);
    return p; // the parent may now be mergeable (or free) in turn
  }

  /**
   * `parent` has no vmas and one child: fold them into one space. What the
   * child holds wins; the parent's pages that the child shadows (holds or
   * clears) are invisible to everyone and are freed. The smaller side's
   * pages move (each move is one xarray update), so a merge costs the
   * smaller of the two spaces.
   */
  private mergeWithChild(parent: SpaceNode): void {
    const child = parent.children.values().next().value as SpaceNode;
    this.merges++;
    if (parent.held <= child.held) {
      // Move the parent's visible pages down into the child.
      this.foldDown(parent);
      // The parent's clears hid its ancestors' pages from the child too.
      if (parent.cleared !== null) for (const [lo, hi] of parent.cleared.intervals()) child.clear(lo, hi);
      return;
    }
    // Move the child's pages up into the parent, over what they shadow;
    // the parent takes over the child's vmas and children.
    const from = child.mapping;
    const to = parent.mapping;
    if (child.cleared !== null) {
      for (const [lo, hi] of child.cleared.intervals()) {
        to.dropRange(lo, hi, this.frames);
        parent.clear(lo, hi);
      }
    }
    from.pages.forEach((i, f) => {
      to.drop(i, this.frames);
      movePage(this.frames, from, to, i, f);
    });
    from.swapped?.forEach((i, slot) => {
      to.drop(i, this.frames);
      moveSlot(from, to, i, slot);
    });
    for (const v of child.vmas) {
      link(v).node = parent;
      parent.vmas.add(v);
    }
    child.vmas.clear();
    for (const c of child.children) {
      c.parent = parent;
      parent.children.add(c);
    }
    child.children.clear();
    parent.children.delete(child);
    this.forget(child);
  }

  /** Split siblings after a fork may merge again: see joinChild(). */
  protected override beforeMerge(prev: Vma, next: Vma): void {
    if (nodeOf(prev) !== nodeOf(next)) this.joinChild(prev, next) || this.joinChild(next, prev);
  }

  /**
   * If one of two vmas Linux would merge lives on the parent of the other's
   * space (split siblings after a fork, one of which has since copied a
   * page), move `v` down into `partner`'s space, if that keeps both what v
   * sees and invariant (X): partner unflagged, its space with no children,
   * nothing held or cleared there in v's range, and no other vma on it
   * covering v's range.
   */
  private joinChild(v: Vma, partner: Vma): boolean {
    const child = nodeOf(partner);
    const vs = nodeOf(v);
    if (link(partner).cowNewSpace || child.children.size > 0) return false;
    if (child.parent === null && this.holdsAll(child, partner) && vs.file === null && child !== vs) {
      // The cut took partner's space off the tree; it needs no parent, so
      // hanging it under v's space again changes nothing partner sees.
      child.reparent(vs);
      this.noteDepth(child);
    }
    if (child.parent !== vs) return false;
    if (child.othersCover(v, v.pgoff, v.endIndex)) return false;
    if (child.heldIn(v.pgoff, v.endIndex) > 0) return false;
    if (child.cleared !== null && child.cleared.intervals().some(([lo, hi]) => lo < v.endIndex && hi > v.pgoff)) return false;
    this.move(v, child);
    return true;
  }

  // ------------------------------------------------------------------- cut

  protected afterCow(s: SpaceNode, vma: Vma): void {
    this.maybeCut(s, vma);
  }

  /**
   * The cut: a space with one vma and no children that holds every index
   * of that vma no longer needs its anonymous parent.
   */
  private maybeCut(s: SpaceNode, vma: Vma): void {
    const p = s.parent;
    if (!this.cut || p === null || vma.file !== null || s.vmas.size !== 1 || s.children.size !== 0) return;
    if (s.held < vma.pages) return; // cheap test first: most writes end here
    if (s.heldIn(vma.pgoff, vma.endIndex) < vma.pages) return;
    s.reparent(null); // nothing above to stop at any more: its clears go too
    this.cuts++;
    this.release(p);
  }

  /** Whether `s` holds every index of `v` and is used by v alone (the cut's condition). */
  private holdsAll(s: SpaceNode, v: Vma): boolean {
    if (s.vmas.size !== 1 || s.cleared !== null || s.held < v.pages) return false;
    return s.heldIn(v.pgoff, v.endIndex) === v.pages;
  }

  // --------------------------------------------------------------- garbage

  /**
   * Free every page no vma can see any more (the post's garbage: pages
   * shadowed in every child, with no vma of their own). Reclaim calls it
   * before it evicts anything: freeing garbage costs no I/O.
   */
  collectGarbage(): number {
    const n = countUnreachable(this.live, this.frames);
    this.garbageFreed += n;
    return n;
  }

  protected shapeStats(): Record<string, number> {
    return { merges: this.merges, cuts: this.cuts };
  }

  protected override tailStats(): Record<string, number> {
    return { garbagePagesFreed: this.garbageFreed };
  }
}
