// The seed's design: anonymous memory as a tree of address_space objects
// (Jamie Lokier, linux-kernel, 27 April 2000; ../shared/seed/).
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
//
// THE INVARIANT everything below relies on (checked by check()):
//   (X) If a private vma V is not flagged, then no vma other than V can
//       see a page that V's space holds at an index in V's range.
// So a write fault in an unflagged vma may reuse the page its own space
// holds, or put a new page there, without copying and without anyone else
// noticing. Fork breaks exclusivity and flags both vmas; the first write
// then moves the vma to a fresh child space, which is exclusive again.
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
//     vmas leave the space (remove()), spaces left with neither vmas nor
//     children are freed up the chain (gc()); the child's vma is still
//     flagged, so its write creates a child space and copies — correct,
//     though Linux would reuse the page (the cut/merge optimisations,
//     a later issue, recover this).

import { AddressSpace } from '../mm/address-space.js';
import type { File } from '../mm/file.js';
import type { Frame, FrameAllocator } from '../mm/frames.js';
import { RangeSet } from '../mm/rangeset.js';
import type { Vma } from '../mm/vma.js';
import type { AnonDesign } from './design.js';

export class TreeDesign implements AnonDesign {
  readonly name = 'tree';

  private spacesCreated = 0;
  private spacesFreed = 0;
  private depthPeak = 0;
  private cowCopies = 0;
  private cowReuses = 0;
  private zeroFills = 0;
  private lookups = 0;
  private lookupSteps = 0;
  private lookupStepsMax = 0;

  /** Every anonymous space alive (for checkers and statistics). */
  private readonly live = new Set<AddressSpace>();

  constructor(private readonly frames: FrameAllocator) {}

  // ---------------------------------------------------------------- spaces

  private newSpace(parent: AddressSpace | null): AddressSpace {
    const s = new AddressSpace(null);
    if (parent !== null) {
      s.parent = parent;
      s.depth = parent.depth + 1;
      parent.children.add(s);
      if (s.depth > this.depthPeak) this.depthPeak = s.depth;
    }
    this.spacesCreated++;
    this.live.add(s);
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
    this.gc(s);
  }

  /** Free anonymous spaces that no vma and no child space uses, up the chain. */
  private gc(s: AddressSpace | null): void {
    while (s !== null && s.file === null && s.vmas.size === 0 && s.children.size === 0) {
      s.pages.forEach((_, f) => this.frames.put(f));
      s.pages.clear();
      const p = s.parent;
      if (p !== null) p.children.delete(s);
      s.parent = null;
      this.live.delete(s);
      this.spacesFreed++;
      s = p;
    }
  }

  /** Move `vma` to a new child of its space, so that it has a space of its own. */
  private moveToNewChild(vma: Vma): AddressSpace {
    const old = vma.space!;
    const s = this.newSpace(old);
    old.vmas.delete(vma);
    this.attach(vma, s);
    vma.cowNewSpace = false;
    return s;
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

  /** Drop the pages `s` holds in [lo, hi) that no vma on s other than `except` covers. */
  private dropPages(s: AddressSpace, lo: number, hi: number, except: Vma | null): void {
    if (s.pages.size === 0) return;
    const covered = (i: number): boolean => {
      for (const w of s.vmas) if (w !== except && w.pgoff <= i && i < w.endIndex) return true;
      return false;
    };
    const drop = (i: number, f: Frame): void => {
      if (covered(i)) return;
      s.pages.delete(i);
      this.frames.put(f);
    };
    s.pages.forRange(lo, hi, drop);
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
      if (s.cleared !== null && s.cleared.has(index)) break;
    }
    this.lookups++;
    this.lookupSteps += steps;
    if (steps > this.lookupStepsMax) this.lookupStepsMax = steps;
    return found;
  }

  cow(vma: Vma, index: number, src: Frame): Frame {
    const s = vma.cowNewSpace ? this.moveToNewChild(vma) : vma.space!;
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
    this.frames.get(f);
    s.pages.set(index, f);
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
      TreeDesign.clear(this.moveToNewChild(vma), lo, hi);
      return;
    }
    // s is ours over [lo, hi): pages left there by an earlier unmap are stale.
    this.dropPages(s, lo, hi, null);
    if (TreeDesign.hasAnonAncestor(s)) TreeDesign.clear(s, lo, hi);
  }

  tryMerge(prev: Vma, next: Vma): boolean {
    if (prev.space === next.space && prev.cowNewSpace === next.cowNewSpace) {
      next.space!.vmas.delete(next);
      next.space = null;
      return true;
    }
    if (this.isFresh(next)) {
      this.extend(prev, next.pgoff, next.endIndex);
      this.detach(next);
      return true;
    }
    if (this.isFresh(prev)) {
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

  /** A private anonymous vma alone on a root space that holds nothing yet. */
  private isFresh(v: Vma): boolean {
    const s = v.space!;
    return (
      s.file === null && s.parent === null && s.children.size === 0 &&
      s.pages.size === 0 && s.vmas.size === 1 && !v.cowNewSpace
    );
  }

  discard(vma: Vma, lo: number, hi: number): void {
    const s = vma.space!;
    if (s.file !== null) return; // never copied anything: sees only the file
    if (vma.cowNewSpace) {
      TreeDesign.clear(this.moveToNewChild(vma), lo, hi);
      return;
    }
    // (X): the pages s holds in our range are ours alone.
    this.dropPages(s, lo, hi, vma);
    if (TreeDesign.hasAnonAncestor(s)) TreeDesign.clear(s, lo, hi);
  }

  remove(vma: Vma): void {
    const s = vma.space!;
    if (s.file === null && s.children.size === 0) this.dropPages(s, vma.pgoff, vma.endIndex, vma);
    this.detach(vma);
  }

  truncate(file: File, from: number): void {
    const stack = [...file.mapping.children];
    while (stack.length > 0) {
      const s = stack.pop()!;
      s.pages.forRange(from, Number.MAX_SAFE_INTEGER, (i, f) => {
        s.pages.delete(i);
        this.frames.put(f);
      });
      for (const c of s.children) stack.push(c);
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
      if (s.parent !== null && s.depth !== s.parent.depth + 1) fail(`space ${s.id} depth`);
    }
    for (const s of this.live) {
      if (!seen.has(s)) fail(`space ${s.id} is alive but no vma reaches it`);
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

  /** lookup() without counting. */
  peek(vma: Vma, index: number): Frame | null {
    for (let s = vma.space; s !== null; s = s.parent) {
      if (s.file !== null) return null;
      const f = s.pages.get(index);
      if (f !== undefined) return f;
      if (s.cleared !== null && s.cleared.has(index)) return null;
    }
    return null;
  }

  heldFrames(): Map<Frame, number> {
    const out = new Map<Frame, number>();
    for (const s of this.live) {
      s.pages.forEach((_, f) => out.set(f, (out.get(f) ?? 0) + 1));
    }
    return out;
  }

  /** Every anonymous space alive, reached from the given vmas. */
  spaces(vmas: readonly Vma[]): Set<AddressSpace> {
    const out = new Set<AddressSpace>();
    for (const v of vmas) {
      for (let s = v.space; s !== null && s.file === null; s = s.parent) out.add(s);
    }
    return out;
  }

  stats(): Record<string, number> {
    return {
      spacesCreated: this.spacesCreated,
      spacesFreed: this.spacesFreed,
      spacesAlive: this.spacesCreated - this.spacesFreed,
      depthPeak: this.depthPeak,
      cowCopies: this.cowCopies,
      cowReuses: this.cowReuses,
      zeroFills: this.zeroFills,
      lookups: this.lookups,
      lookupStepsMean: this.lookups === 0 ? 0 : this.lookupSteps / this.lookups,
      lookupStepsMax: this.lookupStepsMax,
    };
  }
}
