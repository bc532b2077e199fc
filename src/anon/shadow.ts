// FreeBSD's VM object shadow chains (the BSD VM inherited from Mach; the
// design Lokier's tree resembles most — src/anon/tree.ts).
//
//   - A private mapping's vma (vm_map_entry) points to a vm_object: a new
//     anonymous object for private anonymous memory, the file's own object
//     for a private file mapping. An object is a SpaceNode of
//     src/anon/space-tree.ts, exactly as the tree's spaces are: `parent` is
//     its backing_object, `children` the objects that shadow it, `vmas` the
//     map entries that reference it (ref_count = vmas + shadows).
//   - fork (vmspace_fork / vm_map_copy_entry) gives the child's entry the
//     same object and marks both entries MAP_ENTRY_NEEDS_COPY
//     (`cowNewSpace`): at the next write fault on either side,
//     vm_object_shadow() puts a new *shadow object* in front of the entry's
//     object (the new object's backing_object is the old one). As in
//     FreeBSD, no shadow is made when the object is not shared (ref_count
//     1, anonymous): the entry keeps writing into it.
//   - A private file mapping starts needs-copy on the file's object; its
//     first write makes the first shadow.
//   - A fault looks the page up in the entry's object, then down the shadow
//     chain (backing_object after backing_object) to the root: an anonymous
//     object without backing, or the file's object (the base page).
//   - Reverse map: FreeBSD had no anonymous reverse map (the pageout daemon
//     unmapped a physical page through its pv entries, pmap_remove_all). We
//     model it as the tree's walk: the page's object, its entries, and
//     recursively the shadows that do not shadow the page themselves.
// All of that, the tree's invariant (X) (an entry that is not needs-copy
// writes into its own object without copying), and the cases FreeBSD's
// shape does not cover (MADV_DONTNEED, growing entries, truncate,
// wipe-on-fork, mremap: handled with vm_object_shadow in place of the
// tree's new child space) are the shared machinery of space-tree.ts. This
// file is what is FreeBSD's own:
//
// The two FreeBSD optimisations that keep chains short (vm_object_collapse),
// each switchable (`merge: false` turns collapse off, `cut: false` bypass,
// so `vmtree --no-merge/--no-cut` reach them; semantics are the same either
// way, only the shape and size of the chains change):
//   - collapse: a backing object referenced by nothing but one shadow is
//     merged *into that shadow* (the shadow is what the entry points to):
//     the backing object's pages that the shadow does not shadow move into
//     it, the rest are freed, and the shadow takes over the backing
//     object's own backing. Unlike the tree's merge, pages always move
//     down, whichever side is smaller. Tried whenever an object loses a
//     reference (vm_object_deallocate).
//   - bypass: when the shadow already holds (or clears) every index the
//     backing object could supply within the shadow's range, the backing
//     object is skipped: the shadow's backing becomes the backing object's
//     backing, and the backing object loses a reference (and may then be
//     freed or collapsed into its remaining shadow). Where the tree's cut
//     only leaves the parent once the space holds its vma's every page,
//     bypass needs only the backing object's pages shadowed, and keeps the
//     rest of the chain below.
//   vm_object_collapse(object) loops collapse/bypass over the object's
//   successive backing objects. It runs: on the parent's object at fork
//   (vm_map_copy_entry collapses the source object before sharing it); on
//   the top object after a copy-on-write fault (4.4BSD's vm_fault "let's
//   try to collapse the top object"), where the bypass scan is amortised:
//   after a failed scan the next one waits until the top object holds as
//   many pages as the backing object supplies, or twice as many as at that
//   scan; and on an object's one remaining shadow when a reference goes.
//   - chain limit (DragonFly BSD, option `shadowChainLimit`, default
//     unlimited): a copy-on-write that would make a chain longer than N
//     first runs collapse and bypass at *every* level of the chain below it,
//     whatever the switches say. The limit is soft: a link that neither can
//     remove (a backing object that other entries or shadows still use and
//     that supplies pages) stays, because replacing a shared page by a
//     private copy would change page identity, which `frames` shows.
// Garbage: FreeBSD has no pass that frees pages no entry can see (pages of a
// backing object that every shadow shadows); they live until collapse,
// bypass or the object's death frees them, or the pageout daemon swaps them
// out. So this design has no collectGarbage(); unreachablePages() counts
// them (the tree's bottom-up pass). As in the tree, a vma leaving an object
// with no shadows drops the pages no other vma there covers.
// Size: Linux has no vm_object; FreeBSD's struct vm_object is about 200-250
// bytes on amd64 depending on the release. We charge 192 B, the size of
// the address_space it plays here, so that the tree and this design compare
// object for object.

import type { FrameAllocator } from '../mm/frames.js';
import { Intervals, rangeSetIntervals } from '../mm/rangeset.js';
import type { Vma } from '../mm/vma.js';
import type { DesignOptions } from './design.js';
import { link, nodeOf, type SpaceNode } from './space-node.js';
import { SpaceTreeDesign } from './space-tree.js';

/** When the next bypass scan of an object over its current backing object may run. */
interface BypassHint {
  backing: SpaceNode;
  /** Scan again once the object holds at least this many indices. */
  at: number;
}

export class ShadowDesign extends SpaceTreeDesign {
  readonly name = 'shadow';

  /** The switches (space-forest.ts): merge is collapse here, cut is bypass. */
  private readonly collapse = this.merge;
  private readonly bypass = this.cut;
  private readonly chainLimit: number;
  private readonly hints = new WeakMap<SpaceNode, BypassHint>();
  private collapses = 0;
  private collapsePagesMoved = 0;
  private bypasses = 0;
  private bypassScans = 0;
  private chainLimitCollapses = 0;

  constructor(frames: FrameAllocator, opts: DesignOptions = {}) {
    super(frames, opts);
    this.chainLimit = opts.shadowChainLimit ?? Infinity;
    if (!(this.chainLimit >= 1)) throw new Error(`shadowChainLimit must be at least 1, got ${opts.shadowChainLimit}`);
  }

  /** vm_object_shadow makes no shadow of an unshared anonymous object, whatever the switches say. */
  protected override reusesAlone(): boolean {
    return true;
  }

  // -------------------------------------------------------------- collapse

  /**
   * Linux lets prev and next merge (the machine checked their anon_vmas).
   * If one sits on the backing object of the other's — parts of one vma,
   * one of which was shadowed since (an expansion over stale indices) — it
   * can move into that shadow first, seeing the same through it.
   */
  protected override beforeMerge(prev: Vma, next: Vma): void {
    if (nodeOf(prev) !== nodeOf(next)) this.joinShadow(prev, next) || this.joinShadow(next, prev);
  }

  /**
   * Move `v` from its object into `partner`'s, a direct shadow of it, if v
   * sees the same there: partner not needs-copy, the shadow with no
   * shadows of its own, no other vma on it over v's range, and nothing held
   * or cleared there in v's range (lookups fall through to v's old object).
   */
  private joinShadow(v: Vma, partner: Vma): boolean {
    const front = nodeOf(partner);
    if (link(partner).cowNewSpace || front.children.size > 0 || front.parent !== nodeOf(v)) return false;
    if (front.othersCover(v, v.pgoff, v.endIndex)) return false;
    if (front.heldIn(v.pgoff, v.endIndex) > 0) return false;
    if (front.cleared !== null && front.cleared.intervals().some(([lo, hi]) => lo < v.endIndex && hi > v.pgoff)) return false;
    this.move(v, front);
    return true;
  }

  /** vm_object_deallocate left `s` with one reference, a shadow: collapse into it. */
  protected foldOnlyChild(s: SpaceNode, force: boolean): SpaceNode | null {
    if (this.collapse || force) this.collapseInto(s);
    return null;
  }

  /**
   * Collapse: `backing` has no entries and one shadow; merge it into that
   * shadow. What the shadow holds or clears wins; the backing object's
   * other pages move down into the shadow.
   */
  private collapseInto(backing: SpaceNode): void {
    this.collapses++;
    const [front, moved] = this.foldDown(backing);
    this.collapsePagesMoved += moved;
    if (front.parent === null) front.cleared = null; // nothing below to stop at any more
    else if (backing.cleared !== null) for (const [lo, hi] of backing.cleared.intervals()) front.clear(lo, hi);
  }

  protected override beforeFork(s: SpaceNode): void {
    // vm_map_copy_entry collapses the source object before sharing it.
    this.collapseObject(s);
  }

  protected afterCow(s: SpaceNode): void {
    // vm_fault: "let's try to collapse the top object".
    this.collapseObject(s, false, true);
  }

  // ---------------------------------------------------------------- bypass

  /**
   * The lowest index of [lo, hi) that `backing` supplies (holds or clears)
   * and `front` neither holds nor clears, or -1 if there is none; and how
   * many indices `backing` supplies there.
   */
  private static firstUnshadowed(front: SpaceNode, backing: SpaceNode, lo: number, hi: number): [number, number] {
    let first = -1;
    let supplied = 0;
    const look = (i: number): void => {
      supplied++;
      if ((first === -1 || i < first) && !front.shadows(i)) first = i;
    };
    backing.mapping.pages.forRange(lo, hi, look);
    backing.mapping.swapped?.forRange(lo, hi, look);
    if (backing.cleared !== null && lo < hi) {
      // Indices cleared below: front must clear or hold each of them.
      const inSpan: number[] = [];
      for (const [x, y] of backing.cleared.intervals()) {
        const u = Math.max(x, lo);
        const w = Math.min(y, hi);
        if (u < w) inSpan.push(u, w);
      }
      const rest = Intervals.subtract(inSpan, rangeSetIntervals(front.cleared));
      let left = 0;
      for (let k = 0; k < inSpan.length; k += 2) supplied += inSpan[k + 1]! - inSpan[k]!;
      for (let k = 0; k < rest.length; k += 2) left += rest[k + 1]! - rest[k]!;
      if (left > front.held) {
        // More to cover than front holds: some index is surely unshadowed.
        if (first === -1 || rest[0]! < first) first = rest[0]!;
      } else {
        scan: for (let k = 0; k < rest.length; k += 2) {
          for (let i = rest[k]!; i < rest[k + 1]!; i++) {
            if (!front.holds(i)) {
              if (first === -1 || i < first) first = i;
              break scan;
            }
          }
        }
      }
    }
    return [first, supplied];
  }

  /** The range [lo, hi) of indices lookups arriving at `s` may look for: its entries' and its shadows'. */
  private static span(s: SpaceNode): [number, number] {
    let lo = Infinity;
    let hi = -Infinity;
    const stack = [s];
    while (stack.length > 0) {
      const t = stack.pop()!;
      for (const v of t.vmas) {
        if (v.pgoff < lo) lo = v.pgoff;
        if (v.endIndex > hi) hi = v.endIndex;
      }
      for (const c of t.children) stack.push(c);
    }
    return lo < hi ? [lo, hi] : [0, 0];
  }

  /**
   * vm_object_collapse(front): while front's backing object is anonymous,
   * collapse it into front (if front is its only reference) or bypass it
   * (if front shadows everything it supplies in front's range).
   * `force`: the chain limit's, whatever the switches say.
   * `amortised`: the bypass scan may be skipped (after a fault; see above).
   */
  private collapseObject(front: SpaceNode, force = false, amortised = false): void {
    for (;;) {
      const b = front.parent;
      if (b === null || b.file !== null) return;
      if ((this.collapse || force) && b.vmas.size === 0 && b.children.size === 1) {
        this.collapseInto(b);
        continue;
      }
      if (!this.bypass && !force) return;
      if (amortised) {
        const h = this.hints.get(front);
        if (h !== undefined && h.backing === b && front.held < h.at) return;
      }
      this.bypassScans++;
      const [lo, hi] = ShadowDesign.span(front);
      const [first, supplied] = ShadowDesign.firstUnshadowed(front, b, lo, hi);
      if (first !== -1) {
        this.hints.set(front, { backing: b, at: front.held < supplied ? supplied : 2 * Math.max(1, front.held) });
        return;
      }
      // Bypass: front skips b (and, at the bottom, its clears go too).
      this.bypasses++;
      front.reparent(b.parent);
      this.hints.delete(front);
      this.release(b, force);
    }
  }

  // ------------------------------------------------------------ chain limit

  /**
   * vm_object_shadow: move `vma` to a new shadow of its object, in which
   * [lo, hi) is cleared if given; first, if that would make the chain
   * longer than the limit, shorten the chain below.
   */
  protected override moveToNewChild(vma: Vma, lo = 0, hi = 0): SpaceNode {
    const old = nodeOf(vma);
    if (old.depth() + 1 > this.chainLimit) this.shortenChain(old);
    return super.moveToNewChild(vma, lo, hi);
  }

  /** The chain limit: collapse and bypass at every level of the chain from `s` down. */
  private shortenChain(s: SpaceNode): void {
    this.chainLimitCollapses++;
    for (let t: SpaceNode | null = s; t !== null && t.file === null; t = t.parent) this.collapseObject(t, true);
  }

  protected shapeStats(): Record<string, number> {
    return {
      collapses: this.collapses,
      collapsePagesMoved: this.collapsePagesMoved,
      bypasses: this.bypasses,
      bypassScans: this.bypassScans,
      chainLimitCollapses: this.chainLimitCollapses,
    };
  }
}
