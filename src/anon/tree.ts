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
// THE INVARIANT everything below relies on (checked by check()):
//   (X) If a private vma V is not flagged, then no vma other than V can
//       see a page that V's space holds at an index in V's range.
// So a write fault in an unflagged vma may reuse the page its own space
// holds, or put a new page there, without copying and without anyone else
// noticing. Fork breaks exclusivity and flags both vmas; the first write
// then moves the vma to a fresh child space, which is exclusive again.
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
// is found by one bottom-up pass over the trees (unreachable()), which
// reclaim runs before it evicts anything (collectGarbage()) and the
// counters use (unreachablePages()).
//
// Cases the post does not cover, and how the tree handles them:
//   - MADV_DONTNEED in a vma whose pages live in a space shared with other
//     vmas (after fork): the vma gets its own child space (if flagged) and
//     that space records the range as *cleared*: a lookup that reaches a
//     cleared index stops looking up the chain and returns the base page
//     (zero, or the file's page for a private file mapping). The other
//     vmas' views are untouched. See discard().
//   - A vma growing over indices that an ancestor, or a sibling vma on the
//     same space, may still hold pages for (mremap expansion after a
//     partial munmap; merging with a fresh neighbour): the same clearing
//     makes the new range read as fresh memory. See extend().
//   - ftruncate shrinking a privately mapped file: pages past the new end
//     vanish from the file's whole tree, private copies included; the
//     machine has already zapped every pte and answers SIGBUS past EOF
//     before asking the design. See truncate().
//   - MADV_WIPEONFORK: the child's vma gets a brand-new root space, exactly
//     like a new anonymous mapping; MADV_DONTFORK: the machine never makes
//     the child's vma. See forkWiped().
//   - mremap moving a vma whose pages sit in several spaces: nothing to do.
//     The vma keeps its space and pgoff, so the same chain answers the same
//     indices at the new address; only ptes move (the machine does that).
//   - A private file mapping sees fwrite()s to the file until a page is
//     copied: its vma starts on the file's own space, flagged, so lookup
//     reaches the page cache; the first write creates the child space.
//   - fork, then the parent exits, then the child writes: the parent's
//     vmas leave the space (remove()); the child's vma is then alone on it,
//     so (with merge on) its write reuses the space and the page instead
//     of copying; with merge off it makes a child space and copies, which
//     is equally correct.

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

export class TreeDesign implements AnonDesign {
  readonly name = 'tree';

  /** Every anonymous space alive. */
  private readonly live = new Set<AddressSpace>();
  private readonly cut: boolean;
  private readonly merge: boolean;

  private spacesCreated = 0;
  private spacesFreed = 0;
  private spacesPeak = 0;
  private depthPeak = 0;
  private merges = 0;
  private cuts = 0;
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
  private garbageFreed = 0;

  constructor(private readonly frames: FrameAllocator, opts: DesignOptions = {}) {
    this.cut = opts.cut ?? true;
    this.merge = opts.merge ?? true;
  }

  // ---------------------------------------------------------------- spaces

  private static depth(s: AddressSpace): number {
    let d = 0;
    for (let p = s.parent; p !== null; p = p.parent) d++;
    return d;
  }

  private newSpace(parent: AddressSpace | null): AddressSpace {
    const s = new AddressSpace(null);
    if (parent !== null) {
      s.parent = parent;
      parent.children.add(s);
      const d = TreeDesign.depth(s);
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
    this.tidy(s);
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
   * After `s` lost a vma or a child: free it if nothing uses it, or merge
   * it with its only child; then look at its parent the same way.
   */
  private tidy(s: AddressSpace | null): void {
    while (s !== null && s.file === null) {
      const p = s.parent;
      if (s.vmas.size === 0 && s.children.size === 0) {
        this.free(s);
      } else if (this.merge && s.vmas.size === 0 && s.children.size === 1) {
        this.mergeWithChild(s);
      } else {
        return;
      }
      s = p;
    }
  }

  /**
   * `parent` has no vmas and one child: fold them into one space. What the
   * child holds wins; the parent's pages that the child shadows (holds or
   * clears) are invisible to everyone and are freed.
   */
  private mergeWithChild(parent: AddressSpace): void {
    const child = parent.children.values().next().value as AddressSpace;
    this.merges++;
    const shadowed = (i: number): boolean => child.holds(i) || (child.cleared !== null && child.cleared.has(i));
    if (parent.held <= child.held) {
      // Move the parent's visible pages down into the child.
      const move = (i: number, slot: Frame | number): void => {
        if (shadowed(i)) {
          parent.drop(i, this.frames);
          return;
        }
        if (typeof slot === 'number') {
          parent.swapped!.delete(i);
          (child.swapped ??= new XArray<number>()).set(i, slot);
        } else {
          parent.pages.delete(i);
          slot.owner = child;
          child.pages.set(i, slot);
        }
      };
      parent.pages.forEach(move);
      parent.swapped?.forEach(move);
      if (parent.cleared !== null) {
        for (const [lo, hi] of parent.cleared.intervals()) (child.cleared ??= new RangeSet()).add(lo, hi);
      }
      const grand = parent.parent;
      parent.children.delete(child);
      child.parent = grand;
      if (grand !== null) {
        grand.children.delete(parent);
        grand.children.add(child);
      }
      parent.parent = null;
      this.live.delete(parent);
      this.spacesFreed++;
    } else {
      // Move the child's pages up into the parent; the parent takes over
      // the child's vmas and children.
      const shadow = (i: number): void => parent.drop(i, this.frames);
      if (child.cleared !== null) {
        for (const [lo, hi] of child.cleared.intervals()) {
          parent.dropRange(lo, hi, this.frames);
          (parent.cleared ??= new RangeSet()).add(lo, hi);
        }
      }
      child.pages.forEach((i, f) => {
        shadow(i);
        child.pages.delete(i);
        f.owner = parent;
        parent.pages.set(i, f);
      });
      child.swapped?.forEach((i, slot) => {
        shadow(i);
        child.swapped!.delete(i);
        (parent.swapped ??= new XArray<number>()).set(i, slot);
      });
      for (const v of child.vmas) {
        v.space = parent;
        parent.vmas.add(v);
      }
      child.vmas.clear();
      for (const c of child.children) {
        c.parent = parent;
        parent.children.add(c);
      }
      child.children.clear();
      parent.children.delete(child);
      child.parent = null;
      this.live.delete(child);
      this.spacesFreed++;
    }
  }

  /**
   * The cut: a space with one vma and no children that holds every index
   * of that vma no longer needs its anonymous parent.
   */
  private maybeCut(s: AddressSpace, vma: Vma): void {
    const p = s.parent;
    if (!this.cut || p === null || vma.file !== null || s.vmas.size !== 1 || s.children.size !== 0) return;
    if (s.held < vma.pages) return;
    let inside = 0;
    s.pages.forRange(vma.pgoff, vma.endIndex, () => { inside++; });
    s.swapped?.forRange(vma.pgoff, vma.endIndex, () => { inside++; });
    if (inside < vma.pages) return;
    p.children.delete(s);
    s.parent = null;
    s.cleared = null; // nothing above to stop at any more
    this.cuts++;
    this.tidy(p);
  }

  /**
   * Move `vma` to a new child of its space, so that it has a space of its
   * own, in which [lo, hi) is cleared if given. Returns the vma's space
   * (which, if the old space is left with this child alone and merge is
   * on, is the two merged).
   */
  private moveToNewChild(vma: Vma, lo = 0, hi = 0): AddressSpace {
    const old = vma.space!;
    const s = this.newSpace(old);
    old.vmas.delete(vma);
    this.attach(vma, s);
    vma.cowNewSpace = false;
    if (hi > lo) TreeDesign.clear(s, lo, hi);
    this.tidy(old);
    return vma.space!;
  }

  /**
   * The space a flagged vma may write into: its own, if (with merge on) it
   * is alone on an anonymous space without children; else a new child.
   */
  private ownSpace(vma: Vma): AddressSpace {
    const s = vma.space!;
    if (!vma.cowNewSpace) return s;
    if (this.merge && s.file === null && s.vmas.size === 1 && s.children.size === 0) {
      vma.cowNewSpace = false;
      this.reuses++;
      return s;
    }
    return this.moveToNewChild(vma);
  }

  private static hasAnonAncestor(s: AddressSpace): boolean {
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
      // A private file mapping starts on the file's own space; the file's
      // pages are everybody's, so the first write must make a child space.
      this.attach(vma, vma.file.mapping);
      vma.cowNewSpace = true;
    } else {
      this.attach(vma, this.newSpace(null));
      vma.cowNewSpace = false;
    }
  }

  lookup(vma: Vma, index: number): Frame | null {
    let steps = 0;
    let found: Frame | null = null;
    for (let s = vma.space; s !== null; s = s.parent) {
      steps++;
      if (s.file !== null) break; // the root file: the base page
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
    const s = this.ownSpace(vma);
    const own = s.pages.get(index);
    if (own !== undefined) {
      // (X): our own space's page is seen by no one else.
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
    this.maybeCut(s, vma);
    return f;
  }

  fork(parent: Vma, child: Vma): void {
    this.attach(child, parent.space!);
    parent.cowNewSpace = true;
    child.cowNewSpace = true;
  }

  forkWiped(_parent: Vma, child: Vma): void {
    this.attach(child, this.newSpace(null));
    child.cowNewSpace = false;
  }

  renumber(vma: Vma): void {
    // It sees nothing; a fresh root space keeps it from seeing, at its new
    // indices, pages that others on its old space hold there.
    const old = vma.space!;
    if (old.file !== null || this.aloneOnEmptyRoot(vma)) return;
    old.vmas.delete(vma);
    this.attach(vma, this.newSpace(null));
    vma.cowNewSpace = false;
    this.tidy(old);
  }

  anonVmaShared(vma: Vma, near: Vma): void {
    // Join the neighbour's space, as a split sibling would be, when that
    // keeps invariant (X): both unflagged, the space exclusive over vma's
    // range, and vma alone on an empty root (it has seen nothing yet).
    const s = near.space!;
    if (s === vma.space || s.file !== null || near.cowNewSpace || vma.cowNewSpace) return;
    if (!this.aloneOnEmptyRoot(vma) || s.children.size > 0) return;
    if (TreeDesign.othersCover(s, vma, vma.pgoff, vma.endIndex)) return;
    // What an earlier unmap left at vma's indices is stale; ancestors' pages there must not show.
    this.dropUncovered(s, vma.pgoff, vma.endIndex, null);
    if (s.parent !== null && s.parent.file === null) TreeDesign.clear(s, vma.pgoff, vma.endIndex);
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
    if (s.file !== null) return; // still on the file's space: sees only the file
    if (vma.cowNewSpace || s.children.size > 0 || TreeDesign.othersCover(s, vma, lo, hi)) {
      // Someone else may see s's pages in [lo, hi): take a space of our own
      // in which the new range is cleared.
      this.moveToNewChild(vma, lo, hi);
      return;
    }
    // s is ours over [lo, hi): what an earlier unmap left there is stale.
    this.dropUncovered(s, lo, hi, null);
    if (TreeDesign.hasAnonAncestor(s)) TreeDesign.clear(s, lo, hi);
  }

  tryMerge(prev: Vma, next: Vma): boolean {
    // Linux lets these two merge (the machine checked their anon_vmas). If
    // one lives on the parent of the other's space — split siblings after a
    // fork, one of which has since copied a page — it can move down into
    // that child space first, as a sibling of the other.
    if (prev.space !== next.space) this.joinChild(prev, next) || this.joinChild(next, prev);
    if (prev.space === next.space) {
      // A flag only ever makes the next write take a new space, so the
      // merged vma may carry it over both halves.
      prev.cowNewSpace ||= next.cowNewSpace;
      next.space!.vmas.delete(next);
      next.space = null;
      return true;
    }
    // One side has never had an anonymous page (Linux: no anon_vma): the
    // other side's space takes its range over, seeing nothing there.
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
   * Move `v` from its space down into `partner`'s space, a child of it, if
   * that keeps both what v sees and invariant (X): partner unflagged, the
   * child with no children of its own, nothing held or cleared there in v's
   * range, and no other vma on it covering v's range.
   */
  private joinChild(v: Vma, partner: Vma): boolean {
    const child = partner.space!;
    if (partner.cowNewSpace || child.children.size > 0) return false;
    if (child.parent === null && this.holdsAll(child, partner) && v.space!.file === null && child !== v.space) {
      // The cut took partner's space off the tree; it needs no parent, so
      // hanging it under v's space again changes nothing partner sees.
      child.parent = v.space;
      v.space!.children.add(child);
      this.depthPeak = Math.max(this.depthPeak, TreeDesign.depth(child));
    }
    if (child.parent !== v.space) return false;
    if (TreeDesign.othersCover(child, v, v.pgoff, v.endIndex)) return false;
    let held = 0;
    child.pages.forRange(v.pgoff, v.endIndex, () => { held++; });
    child.swapped?.forRange(v.pgoff, v.endIndex, () => { held++; });
    if (held > 0) return false;
    if (child.cleared !== null && child.cleared.intervals().some(([lo, hi]) => lo < v.endIndex && hi > v.pgoff)) return false;
    const old = v.space!;
    old.vmas.delete(v);
    this.attach(v, child);
    v.cowNewSpace = false;
    this.tidy(old);
    return true;
  }

  /** Whether `s` holds every index of `v` and is used by v alone (the cut's condition). */
  private holdsAll(s: AddressSpace, v: Vma): boolean {
    if (s.vmas.size !== 1 || s.cleared !== null || s.held < v.pages) return false;
    let inside = 0;
    s.pages.forRange(v.pgoff, v.endIndex, () => { inside++; });
    s.swapped?.forRange(v.pgoff, v.endIndex, () => { inside++; });
    return inside === v.pages;
  }

  /** A private anonymous vma alone on a root space that holds nothing yet. */
  private aloneOnEmptyRoot(v: Vma): boolean {
    const s = v.space!;
    return (
      s.file === null && s.parent === null && s.children.size === 0 &&
      s.held === 0 && s.vmas.size === 1 && !v.cowNewSpace
    );
  }

  discard(vma: Vma, lo: number, hi: number): void {
    const s = vma.space!;
    if (s.file !== null) return; // never copied anything: sees only the file
    if (vma.cowNewSpace) {
      this.moveToNewChild(vma, lo, hi);
      return;
    }
    // (X): what s holds in our range is ours alone.
    this.dropUncovered(s, lo, hi, vma);
    if (TreeDesign.hasAnonAncestor(s)) TreeDesign.clear(s, lo, hi);
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
    // The tree's pages belong to address_spaces: anonymous ones, or a
    // file's (or shm's) page cache.
    const owner = frame.owner.file !== null ? frame.owner.file.mapping : (frame.owner as AddressSpace);
    const i = frame.index;
    this.rmapWalks++;
    const covers = (v: Vma): void => {
      this.rmapVmasVisited++;
      if (v.pgoff <= i && i < v.endIndex) visit(v, v.addrOf(i));
    };
    if (owner.file !== null) {
      // A file page: its shared mappings (they are not on the space's vma
      // list, which holds the private vmas that have not copied yet).
      for (const v of owner.file.mappings) if (v.shared) covers(v);
    }
    // A child that holds index i shadows the page for its whole subtree;
    // a child that clears i makes its subtree see the base page instead.
    // For an anonymous page both end the walk down that subtree. For a
    // file page (the base page of every private mapping of the file) a
    // cleared index below a shadowing space makes the page visible again,
    // so the walk goes on, visiting vmas only where the page is visible.
    const isFilePage = owner.file !== null;
    // Iterative: with merge off a fork chain makes trees thousands deep.
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
      throw new Error(`tree invariant: ${msg}`);
    };
    const seen = new Set<AddressSpace>();
    for (const v of vmas) {
      if (v.shared) continue;
      const s = v.space;
      if (s === null) fail(`private vma ${v.start.toString(16)} has no space`);
      if (!s!.vmas.has(v)) fail(`space ${s!.id} does not list its vma`);
      let root = s!;
      for (let t: AddressSpace | null = s!; t !== null; t = t.parent) {
        seen.add(t);
        root = t;
      }
      if (v.file !== null && root !== v.file.mapping) fail(`private file vma's tree is not rooted at its file`);
      if (v.file === null && root.file !== null) fail(`anonymous vma's tree is rooted at a file`);
      if (!v.cowNewSpace && s!.file !== null) fail(`unflagged private vma directly on a file space`);
    }
    for (const s of seen) {
      if (s.parent !== null && !s.parent.children.has(s)) fail(`space ${s.id} missing from its parent's children`);
      for (const c of s.children) if (c.parent !== s) fail(`child ${c.id} of ${s.id} has another parent`);
      for (const w of s.vmas) if (w.space !== s) fail(`space ${s.id} lists a vma that uses another space`);
      if (s.file === null && s.vmas.size === 0 && s.children.size === 0) fail(`space ${s.id} has neither vmas nor children`);
      if (this.merge && s.file === null && s.vmas.size === 0 && s.children.size === 1) fail(`space ${s.id} should have merged with its only child`);
      s.pages.forEach((i, f) => {
        if (f.owner !== s || f.index !== i) fail(`page ${i} of space ${s.id} does not name it as owner`);
      });
      s.swapped?.forEach((i) => {
        if (s.pages.get(i) !== undefined) fail(`index ${i} of space ${s.id} both resident and swapped`);
      });
    }
    for (const s of this.live) {
      if (!seen.has(s)) fail(`space ${s.id} is alive but no vma reaches it`);
      if (s.file !== null) fail(`a file space among the anonymous ones`);
    }
    // (X): an unflagged vma's own pages are visible to it alone.
    const priv = vmas.filter((v) => !v.shared);
    for (const v of priv) {
      if (v.cowNewSpace) continue;
      const s = v.space!;
      s.pages.forRange(v.pgoff, v.endIndex, (i, f) => {
        for (const w of priv) {
          if (w === v || i < w.pgoff || i >= w.endIndex) continue;
          if (this.peek(w, i) === f) {
            fail(`page ${i} of space ${s.id} is seen by unflagged vma at 0x${v.start.toString(16)} and another vma at 0x${w.start.toString(16)}`);
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

  /** struct address_space is 192 bytes on Linux 6.18 x86-64. */
  bytes(): number {
    return this.live.size * 192;
  }

  heldSwapSlots(): number {
    let n = 0;
    for (const s of this.live) n += s.swapped?.size ?? 0;
    return n;
  }

  /**
   * Pages (resident or swapped) that anonymous spaces hold but no vma can
   * see. Bottom-up over each tree: need(s), the indices that lookups
   * arriving at s still look for, is the union of the ranges of s's vmas
   * and, for each child c, need(c) minus what c holds or clears. A page s
   * holds at i is reachable exactly when i is in need(s).
   */
  unreachablePages(): number {
    return this.unreachable(false);
  }

  /**
   * Free every page no vma can see any more (the post's garbage: pages
   * shadowed in every child, with no vma of their own). Reclaim calls it
   * before it evicts anything: freeing garbage costs no I/O.
   */
  collectGarbage(): number {
    const n = this.unreachable(true);
    this.garbageFreed += n;
    return n;
  }

  private unreachable(drop: boolean): number {
    // Parents before children (top-down), then walk that order backwards.
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
        if (Intervals.has(want, i)) return;
        n++;
        if (drop) s.drop(i, this.frames);
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
      const d = TreeDesign.depth(s);
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
      merges: this.merges,
      cuts: this.cuts,
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
      garbagePagesFreed: this.garbageFreed,
      /** address_space: 192 B each (Linux 6.18 x86-64). */
      designBytes: this.live.size * 192,
    };
  }
}
