// David Miller's anon layer, as Linux 2.6.7 shipped it (anon_vma; the
// design the seed's post answers: "At fork, the code which copies the
// address space just calls anon_dup() ... anon_dup adds a new VMA to the
// mapping->i_mmap list").
//
//   - Anonymous pages are held by ptes (src/anon/anon-ptes.ts: one sparse
//     array of "ptes" per private vma, each entry a reference on a frame
//     or on a swap slot). There is no object holding pages.
//   - Each private vma that has had an anonymous page points at an
//     anon_vma, a list of vmas. The first anonymous page of a vma attaches
//     it to one (anon_vma_prepare): a compatible neighbour's, as
//     find_mergeable_anon_vma finds it, or a new one.
//   - fork: the child's vma joins the *same* anon_vma (anon_vma_link in
//     dup_mmap), and its array is a copy of the parent's with a reference
//     more on every entry (dup_mmap copying ptes). So one anon_vma lists a
//     whole family's vmas, however many generations.
//   - A page records its anon_vma and its index (page->mapping,
//     page->index: frame.owner, frame.index). The index is vm_pgoff-relative
//     and mremap keeps pgoff, so a page has one index in every vma that
//     maps it.
//   - Reverse mapping of an anonymous page: every vma on its anon_vma's
//     list, at vma.addrOf(index) where the vma covers index. Of a file
//     page: every vma on the file's i_mmap list.
//   - A write fault reuses the page when this pte is its only holder
//     (do_wp_page), else copies.
//
// INVARIANTS (checked by check(), with anon-ptes.ts's (E), (S), (W)):
//   (L) a vma with anonymous pages (in memory or swap) has an anon_vma,
//       and is on its list; every vma on a live anon_vma's list is a live
//       private vma pointing back at it; a live anon_vma's list is not
//       empty (the last vma to leave frees it).
//   (O) every page a vma holds names the vma's anon_vma as its owner. So
//       the vmas that may map a page are all on its owner's list: the rmap
//       walk finds every pte (the machine's I2').
// (L) and (O) hold because entries only ever travel between vmas on one
// anon_vma: fork and split put the new vma on the old one's anon_vma,
// and vmas merge only when their anon_vmas are the same or one has none.
// Every entry is visible to its vma (E), so unreachablePages() is 0.
//
// Merging vmas. A program can see which vmas the kernel merged (mremap
// over a range spanning two vmas fails with EFAULT), and the machine is
// Linux 6.18 wherever a program can look, so merging follows 6.18's
// is_mergeable_anon_vma(), not 2.6.7's ("the same anon_vma, or one has
// none"). 6.18 decides on its anon_vma identities, which differ from the
// anon layer's: a fork child's vmas get anon_vmas of their own there. So
// each vma keeps the two facts that decide (as the scan design does): a
// `tag` standing for its 6.18 anon_vma (0: none yet; set at the first
// anonymous page, a new one for each fork child's vma, copied by split)
// and `forkChild` (its 6.18 chain is not singular). Equal tags merge; a
// tagged vma merges with an untagged one unless it is a fork child. A
// reused anon_vma at 6.18's fork (anon_vma_clone) is one no vma of the
// child's process uses, so a new tag stands for it exactly.
//   (T) A tag stands for one anon_vma of the anon layer: vmas with equal
//       tags have the same anon_vma. So every merge 6.18 allows, the anon
//       layer can do. For (T), anon_vma_prepare takes a neighbour's
//       anon_vma only where 6.18 would take its anon_vma: not from a fork
//       child (2.6.7 took any neighbour's; only merging can tell).
//
// Cases the post does not cover, and how the anon layer handles them:
//   - MADV_DONTNEED in a vma whose pages are shared with other vmas (after
//     fork): the vma drops its own entries in the range; the others'
//     entries, and so their views, are untouched. See discard().
//   - A vma growing over indices (mremap expansion after a partial munmap;
//     merging with a neighbour): the unmap released the entries there
//     ((E): a vma holds entries only inside its range), so the new range
//     reads as fresh memory; extend() drops anything there all the same.
//     Other vmas on the anon_vma that hold pages at those indices are
//     other vmas' ptes: they stay theirs.
//   - ftruncate shrinking a privately mapped file: every private vma of
//     the file (i_mmap) drops its entries past the new end; the machine
//     has already zapped the ptes and answers SIGBUS past EOF. See
//     truncate().
//   - MADV_WIPEONFORK: the child's vma starts with no entries and no
//     anon_vma, like a new mapping; MADV_DONTFORK: the machine never makes
//     the child's vma. See forkWiped().
//   - mremap moving a vma: nothing to do. Entries are keyed by index and
//     the vma keeps its pgoff; the machine moves the ptes.
//   - A private file mapping sees fwrite()s to the file until a page is
//     copied: with no entry at an index, lookup gives null, the file's
//     page; the first write puts a private copy in the vma's array.
//   - fork, then the parent exits, then the child writes: the parent's
//     entries go with its vma (remove()), so the child's entry is the
//     page's only holder and the write reuses it, as do_wp_page does.
//   - Swap: reclaim replaces every entry holding the page (found through
//     its anon_vma) by one swap slot, referenced once per entry; swap-in
//     keeps the page shared through the swap cache (anon-ptes.ts).

import { newOwnerId, type PageOwner } from '../mm/address-space.js';
import type { File } from '../mm/file.js';
import type { Frame, FrameAllocator } from '../mm/frames.js';
import type { Vma } from '../mm/vma.js';
import { AnonPtes, anonVmaCompatible } from './anon-ptes.js';
import type { AnonDesign, DesignOptions, Peek } from './design.js';

/** struct anon_vma: a lock and the list of vmas whose anonymous pages point here. */
export class AnonVma implements PageOwner {
  readonly id = newOwnerId();
  readonly file = null;
  /** anon_vma->head: the vmas using this anon_vma. */
  readonly vmas = new Set<Vma>();
}

/** What a private vma keeps in vma.anon. */
class VmaAnon {
  /** vma->anon_vma, or null until the vma's first anonymous page. */
  anonVma: AnonVma | null = null;
  /** Linux 6.18's anon_vma identity for merging (0: none); see "Merging vmas". */
  tag = 0;
  /** Linux 6.18's vma_is_fork_child(). */
  forkChild = false;
}

/** struct anon_vma at Linux 6.18 x86-64 sizes. */
const ANON_VMA_BYTES = 96;

export class AnonVmaDesign implements AnonDesign {
  readonly name = 'anon-layer';

  private readonly ptes: AnonPtes;
  /** Every anon_vma alive. */
  private readonly live = new Set<AnonVma>();

  private anonVmasCreated = 0;
  private anonVmasFreed = 0;
  private anonVmasPeak = 0;
  private neighbourReuses = 0;
  private cowCopies = 0;
  private cowReuses = 0;
  private zeroFills = 0;
  private lookups = 0;
  private rmapWalks = 0;
  private rmapVmasVisited = 0;
  private rmapSpacesVisited = 0;
  private listPeak = 0;
  private nextTag = 1;

  constructor(private readonly frames: FrameAllocator, _opts: DesignOptions = {}) {
    this.ptes = new AnonPtes(frames);
  }

  // ------------------------------------------------------------ anon_vmas

  private static st(v: Vma): VmaAnon {
    return v.anon as VmaAnon;
  }

  private static anonVma(v: Vma): AnonVma | null {
    return AnonVmaDesign.st(v).anonVma;
  }

  private link(v: Vma, av: AnonVma): void {
    AnonVmaDesign.st(v).anonVma = av;
    av.vmas.add(v);
    if (av.vmas.size > this.listPeak) this.listPeak = av.vmas.size;
  }

  /** anon_vma_unlink: leave the list; the last vma out frees the anon_vma. */
  private unlink(v: Vma): void {
    const st = AnonVmaDesign.st(v);
    const av = st.anonVma;
    st.anonVma = null;
    if (av === null) return;
    av.vmas.delete(v);
    if (av.vmas.size === 0) {
      this.live.delete(av);
      this.anonVmasFreed++;
    }
  }

  /**
   * anon_vma_prepare: the anon_vma new pages of `v` go to — its own, or a
   * compatible neighbour's (find_mergeable_anon_vma: next first, then
   * prev; so that vmas split by mprotect can merge again) unless that
   * neighbour is a fork child (T), or a new one.
   */
  private prepare(v: Vma): AnonVma {
    const st = AnonVmaDesign.st(v);
    if (st.anonVma !== null) return st.anonVma;
    const reusable = (old: Vma | null, a: Vma | null, b: Vma | null): VmaAnon | null => {
      if (old === null || a === null || b === null || old.shared || !anonVmaCompatible(a, b)) return null;
      const o = AnonVmaDesign.st(old);
      return o.anonVma !== null && !o.forkChild ? o : null;
    };
    const next = v.mm.vmas.next(v);
    const prev = v.mm.vmas.prev(v);
    const near = reusable(next, v, next) ?? reusable(prev, prev, v);
    let av: AnonVma;
    if (near !== null) {
      av = near.anonVma!;
      st.tag = near.tag;
      this.neighbourReuses++;
    } else {
      av = new AnonVma();
      st.tag = this.nextTag++;
      this.live.add(av);
      this.anonVmasCreated++;
      if (this.live.size > this.anonVmasPeak) this.anonVmasPeak = this.live.size;
    }
    st.forkChild = false;
    this.link(v, av);
    return av;
  }

  // ------------------------------------------------------------ interface

  vmaNew(vma: Vma): void {
    this.ptes.add(vma);
    vma.anon = new VmaAnon();
  }

  lookup(vma: Vma, index: number): Frame | null {
    this.lookups++;
    // do_swap_page: a page read in from swap joins the vma's anon_vma.
    return this.ptes.resident(vma, index, () => AnonVmaDesign.anonVma(vma)!);
  }

  peek(vma: Vma, index: number): Peek {
    return this.ptes.peek(vma, index);
  }

  cow(vma: Vma, index: number, src: Frame): Frame {
    const cur = this.ptes.resident(vma, index, () => AnonVmaDesign.anonVma(vma)!);
    if (cur !== null && this.ptes.exclusive(cur)) {
      // Held by this pte alone: nobody else can see a write to it.
      this.cowReuses++;
      return cur;
    }
    const av = this.prepare(vma);
    const f = this.frames.alloc();
    const from = cur ?? src;
    if (from === this.frames.zero) this.zeroFills++;
    else {
      f.copyFrom(from);
      this.cowCopies++;
    }
    this.ptes.install(vma, index, f, av);
    return f;
  }

  fork(parent: Vma, child: Vma): void {
    this.ptes.copy(parent, child);
    const c = new VmaAnon();
    child.anon = c;
    const av = AnonVmaDesign.anonVma(parent);
    if (av === null) return;
    this.link(child, av);
    c.tag = this.nextTag++;
    c.forkChild = true;
  }

  forkWiped(_parent: Vma, child: Vma): void {
    this.ptes.add(child);
    child.anon = new VmaAnon();
  }

  split(vma: Vma, tail: Vma): void {
    this.ptes.add(tail);
    this.ptes.move(vma, tail, tail.pgoff);
    const s = AnonVmaDesign.st(vma);
    const t = new VmaAnon();
    tail.anon = t;
    t.tag = s.tag;
    t.forkChild = s.forkChild;
    if (s.anonVma !== null) this.link(tail, s.anonVma);
  }

  extend(vma: Vma, lo: number, hi: number): void {
    this.ptes.dropRange(vma, lo, hi);
  }

  tryMerge(prev: Vma, next: Vma): boolean {
    const p = AnonVmaDesign.st(prev);
    const n = AnonVmaDesign.st(next);
    // Linux 6.18's is_mergeable_anon_vma() on the tags (see the top).
    if (p.tag !== 0 && n.tag !== 0 && p.tag !== n.tag) return false;
    if (p.tag !== 0 && n.tag === 0 && p.forkChild) return false;
    if (p.tag === 0 && n.tag !== 0 && n.forkChild) return false;
    if (p.anonVma !== null && n.anonVma !== null && p.anonVma !== n.anonVma) {
      throw new Error('anon-layer: vmas with one tag on two anon_vmas');
    }
    if (p.anonVma === null && n.anonVma !== null) {
      // Link prev before next leaves, so that the anon_vma never empties.
      this.link(prev, n.anonVma);
      p.tag = n.tag;
      p.forkChild = n.forkChild;
    }
    this.ptes.move(next, prev, 0);
    this.ptes.remove(next);
    this.unlink(next);
    next.anon = null;
    return true;
  }

  discard(vma: Vma, lo: number, hi: number): void {
    this.ptes.dropRange(vma, lo, hi);
  }

  remove(vma: Vma): void {
    this.ptes.remove(vma);
    this.unlink(vma);
    vma.anon = null;
  }

  truncate(file: File, from: number): void {
    for (const v of file.mappings) {
      if (!v.shared && v.endIndex > from) this.ptes.dropRange(v, from, Number.MAX_SAFE_INTEGER);
    }
  }

  swapOut(frame: Frame): boolean {
    // try_to_unmap_anon: the ptes are among the anon_vma's vmas.
    this.ptes.swapOut(frame, (frame.owner as AnonVma).vmas);
    return true;
  }

  rmap(frame: Frame, visit: (vma: Vma, addr: number) => void): void {
    const owner = frame.owner;
    if (owner === null) return;
    const i = frame.index;
    this.rmapWalks++;
    this.rmapSpacesVisited++;
    // A file page: i_mmap, every vma of the file, shared or private (a
    // private one maps it where it has no copy). An anonymous page: the
    // anon_vma's list.
    const vmas = owner.file !== null ? owner.file.mappings : (owner as AnonVma).vmas;
    for (const v of vmas) {
      this.rmapVmasVisited++;
      if (v.pgoff <= i && i < v.endIndex) visit(v, v.addrOf(i));
    }
  }

  // ---------------------------------------------------------- invariants

  check(vmas: readonly Vma[]): void {
    const fail = (msg: string): never => {
      throw new Error(`anon-layer invariant: ${msg}`);
    };
    this.ptes.check(vmas, fail);
    const alive = new Set<Vma>();
    const byTag = new Map<number, AnonVma>();
    for (const v of vmas) {
      if (v.shared) {
        if (v.anon !== null) fail(`shared vma 0x${v.start.toString(16)} has an anon_vma`);
        continue;
      }
      alive.add(v);
      const where = `vma 0x${v.start.toString(16)} of ${v.mm.name}`;
      if (!(v.anon instanceof VmaAnon)) fail(`${where} has no anon state`);
      const st = AnonVmaDesign.st(v);
      const av = st.anonVma;
      if ((av === null) !== (st.tag === 0)) fail(`${where}: tagged ${st.tag} with anon_vma ${av?.id ?? 'none'}`);
      if (av === null) {
        if (this.ptes.holdsAny(v)) fail(`${where} holds anonymous pages but has no anon_vma`);
        continue;
      }
      // (T)
      const same = byTag.get(st.tag);
      if (same !== undefined && same !== av) fail(`${where}: tag ${st.tag} stands for two anon_vmas`);
      byTag.set(st.tag, av);
      if (!this.live.has(av)) fail(`${where} points at a freed anon_vma`);
      if (!av.vmas.has(v)) fail(`${where} is missing from its anon_vma's list`);
      this.ptes.forEachFrame(v, (i, f) => {
        if (f.owner !== av) fail(`${where}: page ${i} names another anon_vma`);
      });
    }
    for (const av of this.live) {
      if (av.vmas.size === 0) fail(`anon_vma ${av.id} is alive with an empty list`);
      for (const w of av.vmas) {
        if (!alive.has(w)) fail(`anon_vma ${av.id} lists a vma that is gone`);
        if (AnonVmaDesign.anonVma(w) !== av) fail(`anon_vma ${av.id} lists a vma that points elsewhere`);
      }
    }
    for (const f of this.ptes.cachedFrames()) {
      if (!this.live.has(f.owner as AnonVma)) fail(`swap cache frame ${f.pfn} names a freed anon_vma`);
    }
  }

  heldFrames(): Map<Frame, number> {
    return this.ptes.heldFrames();
  }

  heldSwapSlots(): number {
    return this.ptes.heldSwapSlots();
  }

  structures(): number {
    return this.live.size;
  }

  bytes(): number {
    return this.live.size * ANON_VMA_BYTES;
  }

  /** Every entry lies in its vma's range (E): each is a page the vma sees. */
  unreachablePages(): number {
    return 0;
  }

  stats(): Record<string, number> {
    let listMax = 0;
    for (const av of this.live) if (av.vmas.size > listMax) listMax = av.vmas.size;
    return {
      anonVmasCreated: this.anonVmasCreated,
      anonVmasFreed: this.anonVmasFreed,
      anonVmasAlive: this.live.size,
      anonVmasPeak: this.anonVmasPeak,
      anonVmaNeighbourReuses: this.neighbourReuses,
      anonVmaListMax: listMax,
      anonVmaListPeak: this.listPeak,
      anonPtes: this.ptes.entries(),
      swapCachePages: this.ptes.cached(),
      swapCacheHits: this.ptes.swapCacheHits,
      cowCopies: this.cowCopies,
      cowReuses: this.cowReuses,
      zeroFills: this.zeroFills,
      lookups: this.lookups,
      // A lookup is one pte: no chain to climb.
      lookupStepsMean: this.lookups === 0 ? 0 : 1,
      lookupStepsMax: this.lookups === 0 ? 0 : 1,
      rmapWalks: this.rmapWalks,
      rmapVmasVisited: this.rmapVmasVisited,
      rmapSpacesVisited: this.rmapSpacesVisited,
      designBytes: this.bytes(),
    };
  }
}
