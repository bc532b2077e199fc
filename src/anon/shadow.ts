// FreeBSD's VM object shadow chains (the BSD VM inherited from Mach; the
// design Lokier's tree resembles most — src/anon/tree.ts).
//
//   - A private mapping's vma (vm_map_entry) points to a vm_object: a new
//     anonymous object for private anonymous memory, the file's own object
//     for a private file mapping. We reuse AddressSpace as the vm_object,
//     exactly as the tree does: `parent` is its backing_object, `children`
//     the objects that shadow it, `vmas` the map entries that reference it
//     (ref_count = vmas + shadows).
//   - fork (vmspace_fork / vm_map_copy_entry) gives the child's entry the
//     same object and marks both entries MAP_ENTRY_NEEDS_COPY
//     (`vma.cowNewSpace`): at the next write fault on either side,
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
//
// THE INVARIANT everything below relies on (checked by check()), the
// tree's (X): if a private vma V is not needs-copy, no vma other than V can
// see a page that V's object holds at an index in V's range. So a write
// fault in such a vma writes into its own object without copying.
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
//
// Cases the post (and FreeBSD's shape) do not cover: handled as the tree
// does, with vm_object_shadow in place of the tree's new child space —
//   - MADV_DONTNEED in a vma whose object others can see: the vma gets its
//     own shadow (if needs-copy) in which the range is recorded *cleared*:
//     a lookup that reaches a cleared index stops and returns the base
//     page. Collapse carries cleared ranges down; bypass treats a cleared
//     index of the backing object as something it supplies. See discard().
//   - A vma growing over indices its chain may hold pages for (mremap
//     expansion, merging with a fresh neighbour): the same clearing. See
//     extend().
//   - ftruncate shrinking a privately mapped file: pages past the new end
//     vanish from every object shadowing the file's. See truncate().
//   - MADV_WIPEONFORK: the child's entry gets a new anonymous object;
//     MADV_DONTFORK: the machine never makes the child's vma.
//   - mremap moving a vma: nothing to do (same object, same pgoff); an
//     unfaulted anonymous vma renumbered gets a fresh object. See renumber().
//   - fork, then the parent exits, then the child writes: the child's entry
//     is the object's only reference, so vm_object_shadow makes no shadow
//     and the child writes its page in place (reuse).

import { spaceTreeSnapshot } from '../draw/snapshot.js';
import type { DesignSnapshot } from '../draw/types.js';
import { AddressSpace } from '../mm/address-space.js';
import type { File } from '../mm/file.js';
import type { Frame, FrameAllocator } from '../mm/frames.js';
import { Intervals, RangeSet, rangeSetIntervals } from '../mm/rangeset.js';
import { swapIn } from '../mm/swap.js';
import { XArray } from '../mm/xarray.js';
import type { Vma } from '../mm/vma.js';
import type { AnonDesign, DesignOptions, Peek } from './design.js';

/** When the next bypass scan of an object over its current backing object may run. */
interface BypassHint {
  backing: AddressSpace;
  /** Scan again once the object holds at least this many indices. */
  at: number;
}

export class ShadowDesign implements AnonDesign {
  readonly name = 'shadow';

  /** Every anonymous object alive. */
  private readonly live = new Set<AddressSpace>();
  private readonly collapse: boolean;
  private readonly bypass: boolean;
  private readonly chainLimit: number;
  private readonly hints = new WeakMap<AddressSpace, BypassHint>();

  private spacesCreated = 0;
  private spacesFreed = 0;
  private spacesPeak = 0;
  private depthPeak = 0;
  private collapses = 0;
  private collapsePagesMoved = 0;
  private bypasses = 0;
  private bypassScans = 0;
  private chainLimitCollapses = 0;
  private reuses = 0;
  private cowCopies = 0;
  private cowReuses = 0;
  private zeroFills = 0;
  private lookups = 0;
  private lookupSteps = 0;
  private lookupStepsMax = 0;
  private rmapWalks = 0;
  private rmapVmasVisited = 0;
  private rmapSpacesVisited = 0;

  constructor(private readonly frames: FrameAllocator, opts: DesignOptions = {}) {
    this.collapse = opts.merge ?? true;
    this.bypass = opts.cut ?? true;
    this.chainLimit = opts.shadowChainLimit ?? Infinity;
    if (!(this.chainLimit >= 1)) throw new Error(`shadowChainLimit must be at least 1, got ${opts.shadowChainLimit}`);
  }

  // --------------------------------------------------------------- objects

  private static depth(s: AddressSpace): number {
    let d = 0;
    for (let p = s.parent; p !== null; p = p.parent) d++;
    return d;
  }

  private newObject(backing: AddressSpace | null): AddressSpace {
    const s = new AddressSpace(null);
    if (backing !== null) {
      s.parent = backing;
      backing.children.add(s);
      const d = ShadowDesign.depth(s);
      if (d > this.depthPeak) this.depthPeak = d;
    }
    this.spacesCreated++;
    this.live.add(s);
    if (this.live.size > this.spacesPeak) this.spacesPeak = this.live.size;
    return s;
  }

  private attach(vma: Vma, s: AddressSpace): void {
    vma.space = s;
    s.vmas.add(vma);
  }

  private detach(vma: Vma): void {
    const s = vma.space!;
    s.vmas.delete(vma);
    vma.space = null;
    this.deallocate(s);
  }

  private free(s: AddressSpace): void {
    s.dropAll(this.frames);
    const p = s.parent;
    if (p !== null) p.children.delete(s);
    s.parent = null;
    this.live.delete(s);
    this.spacesFreed++;
  }

  /**
   * vm_object_deallocate: `s` lost a reference (an entry or a shadow).
   * Free it if nothing references it (and go on to its backing object);
   * if its one reference is a shadow, collapse it into that shadow.
   */
  private deallocate(s: AddressSpace | null, force = false): void {
    while (s !== null && s.file === null) {
      const p = s.parent;
      if (s.vmas.size === 0 && s.children.size === 0) {
        this.free(s);
      } else if ((this.collapse || force) && s.vmas.size === 0 && s.children.size === 1) {
        this.collapseInto(s);
        return;
      } else {
        return;
      }
      s = p;
    }
  }

  /**
   * Collapse: `backing` has no entries and one shadow; merge it into that
   * shadow. What the shadow holds or clears wins; the backing object's
   * other pages move down into the shadow.
   */
  private collapseInto(backing: AddressSpace): void {
    const front = backing.children.values().next().value as AddressSpace;
    this.collapses++;
    const shadowed = (i: number): boolean => front.holds(i) || (front.cleared !== null && front.cleared.has(i));
    const move = (i: number, slot: Frame | number): void => {
      if (shadowed(i)) {
        backing.drop(i, this.frames);
        return;
      }
      this.collapsePagesMoved++;
      if (typeof slot === 'number') {
        backing.swapped!.delete(i);
        (front.swapped ??= new XArray<number>()).set(i, slot);
      } else {
        backing.pages.delete(i);
        slot.owner = front;
        front.pages.set(i, slot);
      }
    };
    backing.pages.forEach(move);
    backing.swapped?.forEach(move);
    const grand = backing.parent;
    if (backing.cleared !== null && grand !== null) {
      for (const [lo, hi] of backing.cleared.intervals()) (front.cleared ??= new RangeSet()).add(lo, hi);
    }
    if (grand === null) front.cleared = null; // nothing below to stop at any more
    backing.children.delete(front);
    front.parent = grand;
    if (grand !== null) {
      grand.children.delete(backing);
      grand.children.add(front);
    }
    backing.parent = null;
    this.live.delete(backing);
    this.spacesFreed++;
  }

  /**
   * The lowest index of [lo, hi) that `backing` supplies (holds or clears)
   * and `front` neither holds nor clears, or -1 if there is none; and how
   * many indices `backing` supplies there.
   */
  private static firstUnshadowed(front: AddressSpace, backing: AddressSpace, lo: number, hi: number): [number, number] {
    let first = -1;
    let supplied = 0;
    const shadowed = (i: number): boolean => front.holds(i) || (front.cleared !== null && front.cleared.has(i));
    const look = (i: number): void => {
      supplied++;
      if ((first === -1 || i < first) && !shadowed(i)) first = i;
    };
    backing.pages.forRange(lo, hi, look);
    backing.swapped?.forRange(lo, hi, look);
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
  private static span(s: AddressSpace): [number, number] {
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
   * `amortised`: the bypass scan may be skipped (after a fault; see above).
   */
  private collapseObject(front: AddressSpace, force = false, amortised = false): void {
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
      // Bypass: front skips b.
      this.bypasses++;
      b.children.delete(front);
      const grand = b.parent;
      front.parent = grand;
      if (grand !== null) grand.children.add(front);
      else front.cleared = null;
      this.hints.delete(front);
      this.deallocate(b, force);
    }
  }

  /** The chain limit: collapse and bypass at every level of the chain from `s` down. */
  private shortenChain(s: AddressSpace): void {
    this.chainLimitCollapses++;
    for (let t: AddressSpace | null = s; t !== null && t.file === null; t = t.parent) this.collapseObject(t, true);
  }

  /**
   * vm_object_shadow: move `vma` to a new shadow of its object, in which
   * [lo, hi) is cleared if given. Returns the vma's object.
   */
  private shadow(vma: Vma, lo = 0, hi = 0): AddressSpace {
    let old = vma.space!;
    if (ShadowDesign.depth(old) + 1 > this.chainLimit) {
      this.shortenChain(old);
      old = vma.space!;
    }
    const s = this.newObject(old);
    old.vmas.delete(vma);
    this.attach(vma, s);
    vma.cowNewSpace = false;
    if (hi > lo) ShadowDesign.clear(s, lo, hi);
    this.deallocate(old);
    return vma.space!;
  }

  /**
   * The object a needs-copy vma may write into: its own if it is the
   * object's only reference (vm_object_shadow makes no shadow of an
   * unshared anonymous object), else a new shadow.
   */
  private ownObject(vma: Vma): AddressSpace {
    const s = vma.space!;
    if (!vma.cowNewSpace) return s;
    if (s.file === null && s.vmas.size === 1 && s.children.size === 0) {
      vma.cowNewSpace = false;
      this.reuses++;
      return s;
    }
    return this.shadow(vma);
  }

  private static hasAnonBacking(s: AddressSpace): boolean {
    return s.parent !== null && s.parent.file === null;
  }

  /** Whether a vma on `s` other than `vma` covers any index in [lo, hi). */
  private static othersCover(s: AddressSpace, vma: Vma, lo: number, hi: number): boolean {
    for (const w of s.vmas) {
      if (w !== vma && w.pgoff < hi && w.endIndex > lo) return true;
    }
    return false;
  }

  /** Drop what `s` holds in [lo, hi) where no vma on s other than `except` covers it. */
  private dropUncovered(s: AddressSpace, lo: number, hi: number, except: Vma | null): void {
    if (s.held === 0) return;
    s.dropRange(lo, hi, this.frames, (i) => {
      for (const w of s.vmas) if (w !== except && w.pgoff <= i && i < w.endIndex) return true;
      return false;
    });
  }

  private static clear(s: AddressSpace, lo: number, hi: number): void {
    (s.cleared ??= new RangeSet()).add(lo, hi);
  }

  // ------------------------------------------------------------ interface

  vmaNew(vma: Vma): void {
    if (vma.file !== null) {
      // The file's object is everybody's: the first write makes a shadow.
      this.attach(vma, vma.file.mapping);
      vma.cowNewSpace = true;
    } else {
      this.attach(vma, this.newObject(null));
      vma.cowNewSpace = false;
    }
  }

  lookup(vma: Vma, index: number): Frame | null {
    let steps = 0;
    let found: Frame | null = null;
    for (let s = vma.space; s !== null; s = s.parent) {
      steps++;
      if (s.file !== null) break; // the file's object: the base page
      const f = s.pages.get(index);
      if (f !== undefined) {
        found = f;
        break;
      }
      if (s.swapped !== null) {
        const slot = s.swapped.get(index);
        if (slot !== undefined) {
          found = swapIn(this.frames, this.frames.swap, s, index, slot);
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
    for (let s = vma.space; s !== null; s = s.parent) {
      if (s.file !== null) return null;
      const f = s.pages.get(index);
      if (f !== undefined) return f;
      if (s.swapped !== null && s.swapped.get(index) !== undefined) return 'swapped';
      if (s.cleared !== null && s.cleared.has(index)) return null;
    }
    return null;
  }

  cow(vma: Vma, index: number, src: Frame): Frame {
    const s = this.ownObject(vma);
    const own = s.pages.get(index);
    if (own !== undefined) {
      // (X): our own object's page is seen by no one else.
      this.cowReuses++;
      return own;
    }
    const f = this.frames.alloc();
    if (src === this.frames.zero) this.zeroFills++;
    else {
      f.copyFrom(src);
      this.cowCopies++;
    }
    s.insert(index, f, this.frames);
    this.collapseObject(s, false, true);
    return f;
  }

  fork(parent: Vma, child: Vma): void {
    const s = parent.space!;
    if (s.file === null) this.collapseObject(s);
    this.attach(child, parent.space!);
    parent.cowNewSpace = true;
    child.cowNewSpace = true;
  }

  forkWiped(_parent: Vma, child: Vma): void {
    this.attach(child, this.newObject(null));
    child.cowNewSpace = false;
  }

  renumber(vma: Vma): void {
    const old = vma.space!;
    if (old.file !== null || this.aloneOnEmptyRoot(vma)) return;
    old.vmas.delete(vma);
    this.attach(vma, this.newObject(null));
    vma.cowNewSpace = false;
    this.deallocate(old);
  }

  anonVmaShared(vma: Vma, near: Vma): void {
    // Join the neighbour's object, as a split sibling would be, when that
    // keeps invariant (X): both unflagged, the object exclusive over vma's
    // range, and vma alone on an empty root (it has seen nothing yet).
    const s = near.space!;
    if (s === vma.space || s.file !== null || near.cowNewSpace || vma.cowNewSpace) return;
    if (!this.aloneOnEmptyRoot(vma) || s.children.size > 0) return;
    if (ShadowDesign.othersCover(s, vma, vma.pgoff, vma.endIndex)) return;
    // What an earlier unmap left at vma's indices is stale; ancestors' pages there must not show.
    this.dropUncovered(s, vma.pgoff, vma.endIndex, null);
    if (s.parent !== null && s.parent.file === null) ShadowDesign.clear(s, vma.pgoff, vma.endIndex);
    this.detach(vma);
    this.attach(vma, s);
    vma.cowNewSpace = false;
  }

  split(vma: Vma, tail: Vma): void {
    this.attach(tail, vma.space!);
    tail.cowNewSpace = vma.cowNewSpace;
  }

  extend(vma: Vma, lo: number, hi: number): void {
    const s = vma.space!;
    if (s.file !== null) return; // still on the file's object: sees only the file
    if (vma.cowNewSpace || s.children.size > 0 || ShadowDesign.othersCover(s, vma, lo, hi)) {
      this.shadow(vma, lo, hi);
      return;
    }
    this.dropUncovered(s, lo, hi, null);
    if (ShadowDesign.hasAnonBacking(s)) ShadowDesign.clear(s, lo, hi);
  }

  tryMerge(prev: Vma, next: Vma): boolean {
    // Linux lets these two merge (the machine checked their anon_vmas). If
    // one sits on the backing object of the other's — parts of one vma,
    // one of which was shadowed since (an expansion over stale indices) —
    // it can move into that shadow first, seeing the same through it.
    if (prev.space !== next.space) this.joinShadow(prev, next) || this.joinShadow(next, prev);
    if (prev.space === next.space) {
      // A flag only ever makes the next write take a new space, so the
      // merged vma may carry it over both halves.
      prev.cowNewSpace ||= next.cowNewSpace;
      next.space!.vmas.delete(next);
      next.space = null;
      return true;
    }
    // One side has never had an anonymous page (Linux: no anon_vma): the
    // other side's object takes its range over, seeing nothing there.
    if (!next.anonFaulted) {
      this.extend(prev, next.pgoff, next.endIndex);
      this.detach(next);
      return true;
    }
    if (!prev.anonFaulted) {
      this.extend(next, prev.pgoff, prev.endIndex);
      this.detach(prev);
      this.attach(prev, next.space!);
      prev.cowNewSpace = next.cowNewSpace;
      next.space!.vmas.delete(next);
      next.space = null;
      return true;
    }
    return false;
  }

  /**
   * Move `v` from its object into `partner`'s, a direct shadow of it, if v
   * sees the same there: partner not needs-copy, the shadow with no
   * shadows of its own, no other vma on it over v's range, and nothing held
   * or cleared there in v's range (lookups fall through to v's old object).
   */
  private joinShadow(v: Vma, partner: Vma): boolean {
    const front = partner.space!;
    if (partner.cowNewSpace || front.children.size > 0 || front.parent !== v.space) return false;
    if (ShadowDesign.othersCover(front, v, v.pgoff, v.endIndex)) return false;
    let held = 0;
    front.pages.forRange(v.pgoff, v.endIndex, () => { held++; });
    front.swapped?.forRange(v.pgoff, v.endIndex, () => { held++; });
    if (held > 0) return false;
    if (front.cleared !== null && front.cleared.intervals().some(([lo, hi]) => lo < v.endIndex && hi > v.pgoff)) return false;
    const old = v.space!;
    old.vmas.delete(v);
    this.attach(v, front);
    v.cowNewSpace = false;
    this.deallocate(old);
    return true;
  }

  /** A private anonymous vma alone on a root object that holds nothing yet. */
  private aloneOnEmptyRoot(v: Vma): boolean {
    const s = v.space!;
    return (
      s.file === null && s.parent === null && s.children.size === 0 &&
      s.held === 0 && s.vmas.size === 1 && !v.cowNewSpace
    );
  }

  discard(vma: Vma, lo: number, hi: number): void {
    const s = vma.space!;
    if (s.file !== null) return;
    if (vma.cowNewSpace) {
      this.shadow(vma, lo, hi);
      return;
    }
    this.dropUncovered(s, lo, hi, vma);
    if (ShadowDesign.hasAnonBacking(s)) ShadowDesign.clear(s, lo, hi);
  }

  remove(vma: Vma): void {
    const s = vma.space!;
    if (s.file === null && s.children.size === 0) {
      this.dropUncovered(s, vma.pgoff, vma.endIndex, vma);
      // With no children and no other vma over them, cleared indices here
      // stop no lookup any more; left behind they would keep a later
      // neighbour from joining this space (a merge Linux makes).
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
    const stack = [...file.mapping.children];
    while (stack.length > 0) {
      const s = stack.pop()!;
      s.dropRange(from, Number.MAX_SAFE_INTEGER, this.frames);
      for (const c of s.children) stack.push(c);
    }
  }

  swapOut(frame: Frame): boolean {
    const s = frame.owner as AddressSpace;
    const slot = this.frames.swap.write(frame);
    s.pages.delete(frame.index);
    (s.swapped ??= new XArray<number>()).set(frame.index, slot);
    frame.owner = null;
    this.frames.put(frame);
    return true;
  }

  rmap(frame: Frame, visit: (vma: Vma, addr: number) => void): void {
    if (frame.owner === null) return;
    const owner = frame.owner.file !== null ? frame.owner.file.mapping : (frame.owner as AddressSpace);
    const i = frame.index;
    this.rmapWalks++;
    const covers = (v: Vma): void => {
      this.rmapVmasVisited++;
      if (v.pgoff <= i && i < v.endIndex) visit(v, v.addrOf(i));
    };
    if (owner.file !== null) {
      for (const v of owner.file.mappings) if (v.shared) covers(v);
    }
    // As the tree: a shadow that holds i hides the page from its whole
    // subtree, one that clears i shows the base page instead (which, for a
    // file page, a cleared index further down makes visible again).
    const isFilePage = owner.file !== null;
    const stack: [AddressSpace, boolean][] = [[owner, true]];
    while (stack.length > 0) {
      const [s, visible] = stack.pop()!;
      this.rmapSpacesVisited++;
      if (visible) for (const v of s.vmas) covers(v);
      for (const c of s.children) {
        let sees = visible;
        if (c.holds(i)) sees = false;
        else if (c.cleared !== null && c.cleared.has(i)) sees = isFilePage;
        if (sees || isFilePage) stack.push([c, sees]);
      }
    }
  }

  // ---------------------------------------------------------- invariants

  check(vmas: readonly Vma[]): void {
    const fail = (msg: string): never => {
      throw new Error(`shadow invariant: ${msg}`);
    };
    const seen = new Set<AddressSpace>();
    for (const v of vmas) {
      if (v.shared) continue;
      const s = v.space;
      if (s === null) fail(`private vma ${v.start.toString(16)} has no object`);
      if (!s!.vmas.has(v)) fail(`object ${s!.id} does not list its entry`);
      let root = s!;
      for (let t: AddressSpace | null = s!; t !== null; t = t.parent) {
        seen.add(t);
        root = t;
      }
      if (v.file !== null && root !== v.file.mapping) fail(`private file vma's chain does not end at its file`);
      if (v.file === null && root.file !== null) fail(`anonymous vma's chain ends at a file`);
      if (!v.cowNewSpace && s!.file !== null) fail(`private vma writing directly into a file's object`);
    }
    for (const s of seen) {
      if (s.parent !== null && !s.parent.children.has(s)) fail(`object ${s.id} missing from its backing object's shadows`);
      for (const c of s.children) if (c.parent !== s) fail(`shadow ${c.id} of ${s.id} has another backing object`);
      for (const w of s.vmas) if (w.space !== s) fail(`object ${s.id} lists an entry that uses another object`);
      if (s.file === null && s.vmas.size === 0 && s.children.size === 0) fail(`object ${s.id} has no references`);
      if (this.collapse && s.file === null && s.vmas.size === 0 && s.children.size === 1) fail(`object ${s.id} should have collapsed into its only shadow`);
      s.pages.forEach((i, f) => {
        if (f.owner !== s || f.index !== i) fail(`page ${i} of object ${s.id} does not name it as owner`);
      });
      s.swapped?.forEach((i) => {
        if (s.pages.get(i) !== undefined) fail(`index ${i} of object ${s.id} both resident and swapped`);
      });
    }
    for (const s of this.live) {
      if (!seen.has(s)) fail(`object ${s.id} is alive but no vma reaches it`);
      if (s.file !== null) fail(`a file object among the anonymous ones`);
    }
    const priv = vmas.filter((v) => !v.shared);
    for (const v of priv) {
      if (v.cowNewSpace) continue;
      const s = v.space!;
      s.pages.forRange(v.pgoff, v.endIndex, (i, f) => {
        for (const w of priv) {
          if (w === v || i < w.pgoff || i >= w.endIndex) continue;
          if (this.peek(w, i) === f) {
            fail(`page ${i} of object ${s.id} is seen by non-needs-copy vma at 0x${v.start.toString(16)} and another vma at 0x${w.start.toString(16)}`);
          }
        }
      });
    }
  }

  heldFrames(): Map<Frame, number> {
    const out = new Map<Frame, number>();
    for (const s of this.live) s.pages.forEach((_, f) => out.set(f, (out.get(f) ?? 0) + 1));
    return out;
  }

  /** Spaces under their parents, each with the vmas using it (src/draw/). */
  snapshot(vmas: readonly Vma[]): DesignSnapshot {
    return spaceTreeSnapshot(this.name, vmas, this.live, {
      spaceOf: (v) => v.space,
      parentOf: (s) => s.parent,
      fileOf: (s) => s.file,
      held: (s) => s.held,
      cleared: (s) => s.cleared?.intervals() ?? [],
    });
  }

  structures(): number {
    return this.live.size;
  }

  /**
   * Linux has no vm_object; FreeBSD's struct vm_object is about 200-250
   * bytes on amd64 depending on the release. We charge 192 B, the size of
   * the address_space it plays here, so that the tree and this design
   * compare object for object.
   */
  bytes(): number {
    return this.live.size * 192;
  }

  heldSwapSlots(): number {
    let n = 0;
    for (const s of this.live) n += s.swapped?.size ?? 0;
    return n;
  }

  /** Pages objects hold that no vma can see (the tree's bottom-up pass). */
  unreachablePages(): number {
    const order: AddressSpace[] = [];
    for (const s of this.live) if (s.parent === null || s.parent.file !== null) order.push(s);
    for (let k = 0; k < order.length; k++) for (const c of order[k]!.children) order.push(c);
    const need = new Map<AddressSpace, number[]>();
    let n = 0;
    for (let k = order.length - 1; k >= 0; k--) {
      const s = order[k]!;
      let want: number[] = [];
      for (const v of s.vmas) want = Intervals.union(want, [v.pgoff, v.endIndex]);
      for (const c of s.children) {
        const held: number[] = [];
        c.pages.forEach((i) => held.push(i));
        c.swapped?.forEach((i) => held.push(i));
        const resolved = Intervals.union(Intervals.fromPoints(held), rangeSetIntervals(c.cleared));
        want = Intervals.union(want, Intervals.subtract(need.get(c)!, resolved));
        need.delete(c);
      }
      need.set(s, want);
      const count = (i: number): void => {
        if (!Intervals.has(want, i)) n++;
      };
      s.pages.forEach(count);
      s.swapped?.forEach(count);
    }
    return n;
  }

  stats(): Record<string, number> {
    let depthSum = 0;
    let depthMax = 0;
    for (const s of this.live) {
      const d = ShadowDesign.depth(s);
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
      collapses: this.collapses,
      collapsePagesMoved: this.collapsePagesMoved,
      bypasses: this.bypasses,
      bypassScans: this.bypassScans,
      chainLimitCollapses: this.chainLimitCollapses,
      spaceReuses: this.reuses,
      cowCopies: this.cowCopies,
      cowReuses: this.cowReuses,
      zeroFills: this.zeroFills,
      lookups: this.lookups,
      lookupStepsMean: this.lookups === 0 ? 0 : this.lookupSteps / this.lookups,
      lookupStepsMax: this.lookupStepsMax,
      rmapWalks: this.rmapWalks,
      rmapVmasVisited: this.rmapVmasVisited,
      rmapSpacesVisited: this.rmapSpacesVisited,
      /** vm_object: 192 B each (see bytes()). */
      designBytes: this.live.size * 192,
    };
  }
}
