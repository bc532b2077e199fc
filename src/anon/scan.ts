// "What we have already" (the seed's post, 27 April 2000): the 2.3.99 VM,
// with no reverse map for anonymous memory at all.
//
//   - Anonymous pages are held by ptes only: each private vma's anonymous
//     "ptes" (src/anon/anon-ptes.ts, as in the anon_vma designs) are a
//     sparse array from page index (vm_pgoff-relative) to a frame or a
//     swap slot, each entry holding one reference.
//   - fork copies the parent's entries into the child's, each with one more
//     reference (dup_mmap copying ptes); nothing else records the sharing.
//   - A write fault copies unless the page's reference count says this
//     entry is its only holder (do_wp_page's page_count test): see cow().
//   - Reverse mapping is a scan: for a page to evict, walk every vma of
//     every process and test every entry (2.3.99's swap_out walked every
//     page table). Its cost is counted: `ptesScanned` per page reclaimed is
//     the machine's total anonymous entries, however few ptes map the page.
//   - Swap keeps sharing through the swap cache (Linux's, in anon-ptes.ts):
//     a page swapped in while other entries still hold its slot stays
//     there, so the next process faulting that slot gets the same frame;
//     the cache entry goes with the slot's last reference.
// Anonymous frames all have one owner, `anonOwner` ({id, file: null}): nothing
// about a frame says where it is mapped (the `frames` report tells
// anonymous pages apart by pageId).
//
// INVARIANTS (checked by check(), with anon-ptes.ts's (E), (S), (W)):
//   (E) Every entry of a vma lies at an index inside the vma's range, and
//       no two vmas share an entry (each vma owns its array).
//   (C) The counts tell the truth: for an anonymous frame, refs - mapcount
//       is exactly the number of entries holding it plus one if it is in
//       the swap cache (anon-ptes.ts's (S) does the same for slots). Every
//       pte of a private vma that maps an anonymous frame is at an index
//       whose entry holds that frame (the machine's I2), so refs -
//       mapcount === 1 means no other vma can see the page: a write may
//       reuse it.
//   (K) The swap cache holds only slots that some entry still holds ((S)).
// Every entry is reachable by construction (E), so unreachablePages() is 0,
// and the design has no structures of its own: structures() and
// designBytes are 0.
//
// Merging vmas. A program can see how Linux merged its vmas (mremap of a
// range spanning two kernel vmas fails with EFAULT), and Linux 6.18 merges
// only vmas whose anon_vmas are compatible. The scan has no anon_vma, but
// keeps the one bit of it that decides merging: a per-vma `tag` standing
// for the anon_vma's identity (0: none yet) and `forkChild` (its
// anon_vma_chain came from a parent: not singular). The tag is set at the
// first write fault (anon_vma_prepare, sharing a compatible neighbour's
// when find_mergeable_anon_vma would), a fork child with a tag gets a new
// one, a split copies it; is_mergeable_anon_vma() then says: equal tags
// merge; a tagged vma merges with an untagged one unless it is a fork
// child. (anon_vma reuse at fork is not modelled: a child always gets a
// new tag.) Merging is then just moving next's entries into prev.
//
// Cases the post does not cover, and how the scan handles them:
//   - MADV_DONTNEED in a vma whose pages are shared with other processes
//     (after fork): the vma drops its own entries in the range, releasing
//     its references; the other vmas' entries, and so their views, are
//     untouched. See discard().
//   - A vma growing over indices it once covered (mremap expansion after a
//     partial munmap; merging with a neighbour): by (E) the unmap already
//     released the entries there, so the new range reads as fresh memory
//     with nothing to do. See extend().
//   - ftruncate shrinking a privately mapped file: every private vma of
//     the file (file.mappings, i_mmap) drops its entries at indices past
//     the new end; the machine has zapped the ptes and answers SIGBUS past
//     EOF. See truncate().
//   - MADV_WIPEONFORK: the child's vma starts with no entries (and no
//     tag); MADV_DONTFORK: the machine never makes the child's vma. See
//     forkWiped().
//   - mremap moving a vma: nothing to do. Entries are keyed by index and
//     the vma keeps its pgoff; only ptes move (the machine does that).
//   - A private file mapping sees fwrite()s to the file until a page is
//     copied: an index with no entry is the base page, the page cache's.
//   - fork, then the parent exits, then the child writes: the parent's
//     vmas drop their entries (remove()), so the child's entry is the
//     page's only holder and the write reuses the page instead of copying.

import { newOwnerId, type PageOwner } from '../mm/address-space.js';
import type { File } from '../mm/file.js';
import type { Frame, FrameAllocator } from '../mm/frames.js';
import type { Vma } from '../mm/vma.js';
import { AnonPtes, anonVmaCompatible } from './anon-ptes.js';
import type { AnonDesign, DesignContext, Peek } from './design.js';

/** What a private vma keeps in vma.anon (its ptes are in AnonPtes). */
class VmaTag {
  /** The identity of the anon_vma Linux would give this vma (0: none yet); merging only. */
  tag = 0;
  /** Linux's vma_is_fork_child(): the tag came with a fork from a parent that had one. */
  forkChild = false;
}

export class ScanDesign implements AnonDesign {
  readonly name = 'scan';

  /** The owner of every anonymous frame: it says nothing about where the frame is mapped. */
  private readonly anonOwner: PageOwner = { id: newOwnerId(), file: null };
  /** The vmas' anonymous ptes and the swap cache. */
  private readonly ptes: AnonPtes;
  /** The vmas holding the frame the last scan found, for swapOut right after rmap (one scan per eviction). */
  private lastScan: { frame: Frame; holders: Vma[] } | null = null;
  private nextTag = 1;

  private cowCopies = 0;
  private cowReuses = 0;
  private zeroFills = 0;
  private lookups = 0;
  private rmapWalks = 0;
  private rmapVmasVisited = 0;
  private ptesScanned = 0;

  constructor(private readonly frames: FrameAllocator, private readonly ctx: DesignContext) {
    this.ptes = new AnonPtes(frames);
  }

  // ------------------------------------------------------------- entries

  private static of(vma: Vma): VmaTag {
    const st = vma.anon;
    if (!(st instanceof VmaTag)) throw new Error(`scan: private vma at 0x${vma.start.toString(16)} has no ptes`);
    return st;
  }

  /**
   * The scan: every entry of every private vma of every process holding
   * `frame`. Empty stretches are skipped, as 2.3.99's walk skipped empty
   * page-table pages; every entry, frame or swap slot, is examined.
   */
  private scan(frame: Frame, visit?: (vma: Vma, addr: number) => void): Vma[] {
    const holders: Vma[] = [];
    this.rmapWalks++;
    for (const mm of this.ctx.mms()) {
      for (const v of mm.vmas.list) {
        if (v.shared) continue; // shared mappings hold page-cache pages only
        this.rmapVmasVisited++;
        this.ptes.forEach(v, (i, e) => {
          this.ptesScanned++;
          if (e !== frame) return;
          holders.push(v);
          visit?.(v, v.addrOf(i));
        });
      }
    }
    this.lastScan = { frame, holders };
    return holders;
  }

  /** The next tag for a vma's first write: a compatible neighbour's (find_mergeable_anon_vma), else a new one. */
  private prepareTag(vma: Vma, st: VmaTag): void {
    if (st.tag !== 0) return;
    const reusable = (old: Vma, a: Vma, b: Vma): number => {
      if (old.shared || !anonVmaCompatible(a, b)) return 0;
      const o = ScanDesign.of(old);
      return o.forkChild ? 0 : o.tag;
    };
    const next = vma.mm.vmas.next(vma);
    const prev = vma.mm.vmas.prev(vma);
    st.tag = (next !== null ? reusable(next, vma, next) : 0) ||
      (prev !== null ? reusable(prev, prev, vma) : 0) ||
      this.nextTag++;
    st.forkChild = false;
  }

  // ------------------------------------------------------------ interface

  vmaNew(vma: Vma): void {
    this.ptes.add(vma);
    vma.anon = new VmaTag();
  }

  lookup(vma: Vma, index: number): Frame | null {
    this.lookups++;
    // do_swap_page; every anonymous page has the one owner.
    return this.ptes.resident(vma, index, () => this.anonOwner);
  }

  peek(vma: Vma, index: number): Peek {
    return this.ptes.peek(vma, index);
  }

  cow(vma: Vma, index: number, src: Frame): Frame {
    const st = ScanDesign.of(vma);
    this.prepareTag(vma, st);
    const e = this.ptes.entry(vma, index);
    if (typeof e === 'number') throw new Error(`scan: write fault on swapped index ${index} without a lookup`);
    // (C): refs - mapcount counts the entries holding the page (and the
    // swap cache); if ours is the only one, no one else can see it.
    if (e !== undefined && this.ptes.exclusive(e)) {
      this.cowReuses++;
      return e;
    }
    const f = this.frames.alloc();
    if (src === this.frames.zero) this.zeroFills++;
    else {
      f.copyFrom(src);
      this.cowCopies++;
    }
    this.ptes.install(vma, index, f, this.anonOwner);
    return f;
  }

  fork(parent: Vma, child: Vma): void {
    this.ptes.copy(parent, child);
    const p = ScanDesign.of(parent);
    const c = new VmaTag();
    // anon_vma_fork(): a parent with an anon_vma gives the child a new one
    // chained below its own.
    if (p.tag !== 0) {
      c.tag = this.nextTag++;
      c.forkChild = true;
    }
    child.anon = c;
  }

  forkWiped(_parent: Vma, child: Vma): void {
    this.vmaNew(child);
  }

  split(vma: Vma, tail: Vma): void {
    this.ptes.add(tail);
    this.ptes.move(vma, tail, tail.pgoff);
    const st = ScanDesign.of(vma);
    const t = new VmaTag();
    t.tag = st.tag;
    t.forkChild = st.forkChild;
    tail.anon = t;
  }

  extend(_vma: Vma, _lo: number, _hi: number): void {
    // (E): the vma holds nothing outside its range, so nothing at [lo, hi).
  }

  tryMerge(prev: Vma, next: Vma): boolean {
    const a = ScanDesign.of(prev);
    const b = ScanDesign.of(next);
    // is_mergeable_anon_vma() in Linux 6.18's mm/vma.c.
    if (a.tag !== 0 && b.tag !== 0) {
      if (a.tag !== b.tag) return false;
    } else if (a.tag !== 0 || b.tag !== 0) {
      const tagged = a.tag !== 0 ? a : b;
      if (tagged.forkChild) return false;
      a.tag = tagged.tag;
      a.forkChild = false;
    }
    this.ptes.move(next, prev, 0);
    this.ptes.remove(next);
    next.anon = null;
    return true;
  }

  discard(vma: Vma, lo: number, hi: number): void {
    this.ptes.dropRange(vma, lo, hi);
  }

  remove(vma: Vma): void {
    this.ptes.remove(vma);
    vma.anon = null;
  }

  truncate(file: File, from: number): void {
    for (const v of file.mappings) {
      if (!v.shared && v.endIndex > from) this.ptes.dropRange(v, from, v.endIndex);
    }
  }

  rmap(frame: Frame, visit: (vma: Vma, addr: number) => void): void {
    if (frame.owner === null) return;
    const file = frame.owner.file;
    if (file === null) {
      this.scan(frame, visit);
      return;
    }
    // A page-cache page: the shortcut through i_mmap (2.3.99 found these
    // ptes by the same scan); counted as a walk, one pte tested per vma
    // that covers the index.
    const i = frame.index;
    this.rmapWalks++;
    for (const v of file.mappings) {
      this.rmapVmasVisited++;
      if (v.pgoff <= i && i < v.endIndex) {
        this.ptesScanned++;
        visit(v, v.addrOf(i));
      }
    }
  }

  swapOut(frame: Frame): boolean {
    // The scan rmap just did, if it is still complete (C): every reference
    // but the swap cache's is an entry it found.
    const own = this.ptes.inSwapCache(frame) ? 1 : 0;
    let holders = this.lastScan !== null && this.lastScan.frame === frame ? this.lastScan.holders : null;
    if (holders === null || holders.length + own !== frame.refs || holders.some((v) => !this.ptes.holds(v, frame.index, frame))) {
      holders = this.scan(frame);
    }
    this.lastScan = null;
    if (frame.mapcount !== 0 || holders.length + own !== frame.refs) {
      throw new Error(`scan: frame ${frame.pfn} has ${frame.refs} references, the scan found ${holders.length + own}`);
    }
    // A page in the swap cache keeps its slot (a cached page is never
    // written: (C) makes every write copy it); any other needs a new one.
    if (own === 0 && holders.length > 0 && this.frames.swap.full) return false;
    this.ptes.swapOut(frame, holders);
    return true;
  }

  // ---------------------------------------------------------- invariants

  check(vmas: readonly Vma[]): void {
    const fail = (msg: string): never => {
      throw new Error(`scan invariant: ${msg}`);
    };
    // (E), (K) and the slot counts: anon-ptes.ts's (E), (S), (W).
    this.ptes.check(vmas, fail);
    for (const v of vmas) {
      const where = `vma 0x${v.start.toString(16)}`;
      if (v.shared) {
        if (v.anon !== null) fail(`${where}: shared vma has anonymous ptes`);
        continue;
      }
      if (!(v.anon instanceof VmaTag)) fail(`${where}: private vma has no ptes`);
      const st = v.anon as VmaTag;
      if (st.forkChild && st.tag === 0) fail(`${where}: fork child without a tag`);
      // Linux: a vma with anonymous pages has an anon_vma.
      if (this.ptes.holdsAny(v) && st.tag === 0) fail(`${where}: holds pages but has no tag`);
      this.ptes.forEachFrame(v, (i, f) => {
        if (f.owner !== this.anonOwner) fail(`${where}: entry ${i} holds frame ${f.pfn}, not an anonymous page`);
      });
    }
    // (C)
    for (const [f, n] of this.ptes.heldFrames()) {
      if (f.owner !== this.anonOwner) fail(`swap cache page ${f.pfn} is not an anonymous page`);
      if (f.refs - f.mapcount !== n) fail(`frame ${f.pfn}: refs ${f.refs} - mapcount ${f.mapcount}, but ${n} holders`);
    }
  }

  heldFrames(): Map<Frame, number> {
    return this.ptes.heldFrames();
  }

  heldSwapSlots(): number {
    return this.ptes.heldSwapSlots();
  }

  structures(): number {
    return 0;
  }

  unreachablePages(): number {
    return 0; // (E): every entry is in its vma's range
  }

  stats(): Record<string, number> {
    return {
      cowCopies: this.cowCopies,
      cowReuses: this.cowReuses,
      zeroFills: this.zeroFills,
      lookups: this.lookups,
      lookupStepsMean: this.lookups === 0 ? 0 : 1,
      rmapWalks: this.rmapWalks,
      rmapVmasVisited: this.rmapVmasVisited,
      ptesScanned: this.ptesScanned,
      rmapSpacesVisited: 0,
      swapCacheHits: this.ptes.swapCacheHits,
      swapCachePages: this.ptes.cached(),
      /** No reverse-map structures: the ptes are the page tables'. */
      designBytes: 0,
    };
  }
}
