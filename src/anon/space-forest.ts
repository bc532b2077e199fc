// The forest of a space-tree design (space-tree.ts): which nodes are
// alive, and the node surgery every operation is made of — make a node,
// point a vma at one, let a node go when nothing uses it, fold a node into
// its only child. Its invariants (checked by space-walk.ts's checkTree):
//   - parent/children links agree; each node's `vmas` are exactly the
//     private vmas whose link names it;
//   - an anonymous node is in `live` exactly while a vma reaches it, and
//     then has vmas or children (release() frees it the moment it has
//     neither);
//   - a file root is in `roots` exactly while it has vmas or children;
//   - every resident page names its node's mapping as owner, and an index
//     is resident or swapped in a node, never both.

import type { File } from '../mm/file.js';
import type { Frame, FrameAllocator } from '../mm/frames.js';
import type { DesignOptions } from './design.js';
import { movePage, moveSlot, nodeOf, SpaceNode, type VmaLink } from './space-node.js';
import type { Vma } from '../mm/vma.js';

export abstract class SpaceForest {
  /** Every anonymous node alive. */
  protected readonly live = new Set<SpaceNode>();
  /** The root node of each file whose tree has vmas or children. */
  protected readonly roots = new Map<File, SpaceNode>();
  /**
   * The design's two switches (`--no-merge`, `--no-cut`): the seed's merge
   * and cut, FreeBSD's collapse and bypass. With merge on, no node is ever
   * left with no vmas and one child.
   */
  protected readonly merge: boolean;
  protected readonly cut: boolean;

  private spacesCreated = 0;
  private spacesFreed = 0;
  private spacesPeak = 0;
  private depthPeak = 0;

  constructor(protected readonly frames: FrameAllocator, opts: DesignOptions = {}) {
    this.merge = opts.merge ?? true;
    this.cut = opts.cut ?? true;
  }

  /**
   * `s` (anonymous) has no vmas and one child: fold the two together if the
   * design does (`force`: the chain limit asks). Returns the node to look
   * at next (as release() does after freeing), or null to stop.
   */
  protected abstract foldOnlyChild(s: SpaceNode, force: boolean): SpaceNode | null;

  protected newSpace(parent: SpaceNode | null): SpaceNode {
    const s = new SpaceNode(null);
    if (parent !== null) {
      s.parent = parent;
      parent.children.add(s);
      this.noteDepth(s);
    }
    this.spacesCreated++;
    this.live.add(s);
    if (this.live.size > this.spacesPeak) this.spacesPeak = this.live.size;
    return s;
  }

  /** `s` has a new parent: keep depthPeak. */
  protected noteDepth(s: SpaceNode): void {
    const d = s.depth();
    if (d > this.depthPeak) this.depthPeak = d;
  }

  /** The root node standing for `file`'s page cache. */
  protected root(file: File): SpaceNode {
    let r = this.roots.get(file);
    if (r === undefined) this.roots.set(file, (r = new SpaceNode(file)));
    return r;
  }

  /** Point `vma` at `s` (its flag is the caller's to set; a new link starts unflagged). */
  protected attach(vma: Vma, s: SpaceNode): void {
    const l = vma.anon as VmaLink | null;
    if (l === null) vma.anon = { node: s, cowNewSpace: false } satisfies VmaLink;
    else l.node = s;
    s.vmas.add(vma);
  }

  /** Take `vma` off its node for good, and let the node go if that was its last use. */
  protected detach(vma: Vma): void {
    const s = nodeOf(vma);
    s.vmas.delete(vma);
    vma.anon = null;
    this.release(s);
  }

  /** Move `vma`, unflagged, from its node to `s`; then let the old node go if unused. */
  protected move(vma: Vma, s: SpaceNode): void {
    const l = vma.anon as VmaLink;
    const old = l.node;
    old.vmas.delete(vma);
    this.attach(vma, s);
    l.cowNewSpace = false;
    this.release(old);
  }

  /** An anonymous node is gone (freed, or folded into another): count it. */
  protected forget(s: SpaceNode): void {
    s.parent = null;
    this.live.delete(s);
    this.spacesFreed++;
  }

  private free(s: SpaceNode): void {
    s.mapping.dropAll(this.frames);
    s.parent?.children.delete(s);
    this.forget(s);
  }

  /**
   * After `s` lost a vma or a child: free it if nothing uses it (and look
   * at its parent the same way), or let the design fold it into its only
   * child. A file root left empty is forgotten.
   */
  protected release(s: SpaceNode | null, force = false): void {
    while (s !== null) {
      if (s.vmas.size === 0 && s.children.size === 0) {
        if (s.file !== null) {
          this.roots.delete(s.file);
          return;
        }
        const p = s.parent;
        this.free(s);
        s = p;
      } else if (s.file === null && s.vmas.size === 0 && s.children.size === 1) {
        s = this.foldOnlyChild(s, force);
      } else {
        return;
      }
    }
  }

  /**
   * Fold `upper` (anonymous, no vmas, one child) down into its child: the
   * child takes upper's place under upper's parent, and upper's pages the
   * child does not shadow; the rest are invisible to everyone and freed.
   * Cleared ranges are the caller's. Returns [the child, pages moved].
   */
  protected foldDown(upper: SpaceNode): [SpaceNode, number] {
    const child = upper.children.values().next().value as SpaceNode;
    let moved = 0;
    // Frames first, then swap slots (an index is in at most one of the two).
    const shadowed = (i: number): boolean => {
      if (!child.shadows(i)) return false;
      upper.mapping.drop(i, this.frames);
      return true;
    };
    upper.mapping.pages.forEach((i, f) => {
      if (shadowed(i)) return;
      moved++;
      movePage(this.frames, upper.mapping, child.mapping, i, f);
    });
    upper.mapping.swapped?.forEach((i, slot) => {
      if (shadowed(i)) return;
      moved++;
      moveSlot(upper.mapping, child.mapping, i, slot);
    });
    const grand = upper.parent;
    upper.children.delete(child);
    child.parent = grand;
    if (grand !== null) {
      grand.children.delete(upper);
      grand.children.add(child);
    }
    this.forget(upper);
    return [child, moved];
  }

  /** Drop what `s` holds in [lo, hi) where no vma on s other than `except` covers it. */
  protected dropUncovered(s: SpaceNode, lo: number, hi: number, except: Vma | null): void {
    if (s.held === 0) return;
    // Decided without a question per page where possible: one other vma
    // covering the whole range keeps everything (the exit of a process
    // whose fork child still uses the node: fork-chain, every generation);
    // no other vma at all (an exit from a node it had alone) drops it all.
    let others = false;
    for (const w of s.vmas) {
      if (w === except) continue;
      if (w.pgoff <= lo && hi <= w.endIndex) return;
      others = true;
    }
    if (!others) {
      s.mapping.dropRange(lo, hi, this.frames);
      return;
    }
    s.mapping.dropRange(lo, hi, this.frames, (i) => {
      for (const w of s.vmas) if (w !== except && w.pgoff <= i && i < w.endIndex) return true;
      return false;
    });
  }

  // ------------------------------------------------- what the forest holds

  /** Anonymous nodes alive (for drawing: a tree's top is a node whose parent is null or a file root). */
  spaces(): ReadonlySet<SpaceNode> {
    return this.live;
  }

  /** The root of each file whose tree has vmas (flagged private file vmas) or anonymous children. */
  fileRoots(): ReadonlyMap<File, SpaceNode> {
    return this.roots;
  }

  heldFrames(): Map<Frame, number> {
    const out = new Map<Frame, number>();
    for (const s of this.live) s.mapping.pages.forEach((_, f) => out.set(f, (out.get(f) ?? 0) + 1));
    return out;
  }

  heldSwapSlots(): number {
    let n = 0;
    for (const s of this.live) n += s.mapping.swapped?.size ?? 0;
    return n;
  }

  structures(): number {
    return this.live.size;
  }

  /** struct address_space is 192 bytes on Linux 6.18 x86-64 (FreeBSD's vm_object is charged the same). */
  bytes(): number {
    return this.live.size * 192;
  }

  /** The forest's counters (the first of a design's stats). */
  protected forestStats(): Record<string, number> {
    let depthSum = 0;
    let depthMax = 0;
    for (const s of this.live) {
      const d = s.depth();
      depthSum += d;
      if (d > depthMax) depthMax = d;
    }
    return {
      spacesCreated: this.spacesCreated,
      spacesFreed: this.spacesFreed,
      spacesAlive: this.live.size,
      spacesPeak: this.spacesPeak,
      depthMax,
      depthPeak: this.depthPeak,
      depthMean: this.live.size === 0 ? 0 : depthSum / this.live.size,
    };
  }
}
