// "What we have already" (the seed's post, 27 April 2000): the 2.3.99 VM,
// with no reverse map for anonymous memory at all.
//
//   - Anonymous pages are held by ptes only: each private vma's anonymous
//     "ptes" (src/anon/anon-ptes.ts, as in the anon_vma designs) are a
//     sparse array from page index (vm_pgoff-relative) to a frame or a
//     swap slot, each entry holding one reference. What the designs whose
//     ptes hold pages do alike (lookup, copy-on-write, fork's copy, split,
//     merge, discard, truncate) is PteDesign's (src/anon/pte-design.ts),
//     and what it shares with pte chains (vma.anon is only a merge tag,
//     one owner for every anonymous page) is TaggedPteDesign's, there;
//     this module keeps the scanning reverse map.
//   - fork copies the parent's entries into the child's, each with one more
//     reference (dup_mmap copying ptes); nothing else records the sharing.
//   - A write fault copies unless the page's reference count says this
//     entry is its only holder (do_wp_page's page_count test): see
//     PteDesign.cow() and AnonPtes.exclusive().
//   - Reverse mapping is a scan: for a page to evict, walk every vma of
//     every process and test every entry (2.3.99's swap_out walked every
//     page table). Its cost is counted: `ptesScanned` per page reclaimed is
//     the machine's total anonymous entries, however few ptes map the page.
//   - Swap keeps sharing through the swap cache (Linux's, in anon-ptes.ts):
//     a page swapped in while other entries still hold its slot stays
//     there, so the next process faulting that slot gets the same frame;
//     the cache entry goes with the slot's last reference.
// Anonymous frames all have one owner, `anonOwner` ({id, file: null};
// TaggedPteDesign's): nothing about a frame says where it is mapped (the `frames` report tells
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
// keeps the one bit of it that decides merging: each vma's merge tag
// (src/anon/merge-tag.ts: a `tag` standing for the anon_vma's identity and
// `forkChild`, set at the first write fault, at fork and at split as 6.18
// sets its anon_vmas), on which is_mergeable_anon_vma() decides. Merging is
// then just moving next's entries into prev.
//
// Cases the post does not cover, and how the scan handles them:
//   - MADV_DONTNEED in a vma whose pages are shared with other processes
//     (after fork): the vma drops its own entries in the range, releasing
//     its references; the other vmas' entries, and so their views, are
//     untouched. See discard() (pte-design.ts).
//   - A vma growing over indices it once covered (mremap expansion after a
//     partial munmap; merging with a neighbour): by (E) the unmap already
//     released the entries there, so the new range reads as fresh memory;
//     extend() (pte-design.ts) drops anything there all the same.
//   - ftruncate shrinking a privately mapped file: every private vma of
//     the file (file.mappings, i_mmap) drops its entries at indices past
//     the new end; the machine has zapped the ptes and answers SIGBUS past
//     EOF. See truncate() (pte-design.ts).
//   - MADV_WIPEONFORK: the child's vma starts with no entries (and no
//     tag); MADV_DONTFORK: the machine never makes the child's vma. See
//     forkWiped() (pte-design.ts).
//   - mremap moving a vma: nothing to do. Entries are keyed by index and
//     the vma keeps its pgoff; only ptes move (the machine does that).
//   - A private file mapping sees fwrite()s to the file until a page is
//     copied: an index with no entry is the base page, the page cache's.
//   - fork, then the parent exits, then the child writes: the parent's
//     vmas drop their entries (remove()), so the child's entry is the
//     page's only holder and the write reuses the page instead of copying.

import type { Frame, FrameAllocator } from '../mm/frames.js';
import type { Vma } from '../mm/vma.js';
import type { DesignContext } from './design.js';
import { TaggedPteDesign } from './pte-design.js';

export class ScanDesign extends TaggedPteDesign {
  readonly name = 'scan';

  /** The vmas holding the frame the last scan found, for swapOut right after rmap (one scan per eviction). */
  private lastScan: { frame: Frame; holders: Vma[] } | null = null;

  private ptesScanned = 0;

  constructor(frames: FrameAllocator, private readonly ctx: DesignContext) {
    super(frames);
  }

  // ---------------------------------------------------------------- rmap

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
          // A swap entry is negative (anon-ptes.ts): never equal to a pfn.
          if (e !== frame) return;
          holders.push(v);
          visit?.(v, v.addrOf(i));
        });
      }
    }
    this.lastScan = { frame, holders };
    return holders;
  }

  rmap(frame: Frame, visit: (vma: Vma, addr: number) => void): void {
    const owner = this.frames.owner(frame);
    if (owner === null) return;
    const file = owner.file;
    if (file === null) {
      this.scan(frame, visit);
      return;
    }
    // A page-cache page: the shortcut through i_mmap (2.3.99 found these
    // ptes by the same scan); counted as a walk, one pte tested per vma
    // that covers the index.
    this.rmapWalks++;
    this.ptesScanned += this.walk(file.mappings, this.frames.index(frame), visit);
  }

  swapOut(frame: Frame): boolean {
    // The scan rmap just did, if it is still complete (C): every reference
    // but the swap cache's is an entry it found.
    const own = this.ptes.inSwapCache(frame) ? 1 : 0;
    let holders = this.lastScan !== null && this.lastScan.frame === frame ? this.lastScan.holders : null;
    const refs = this.frames.refs(frame);
    const i = this.frames.index(frame);
    if (holders === null || holders.length + own !== refs || holders.some((v) => !this.ptes.holds(v, i, frame))) {
      holders = this.scan(frame);
    }
    this.lastScan = null;
    if (this.frames.mapcount(frame) !== 0 || holders.length + own !== refs) {
      throw new Error(`scan: frame ${frame} has ${refs} references, the scan found ${holders.length + own}`);
    }
    // A page in the swap cache keeps its slot (a cached page is never
    // written: (C) makes every write copy it); any other needs a new one.
    if (own === 0 && holders.length > 0 && this.frames.swap.full) return false;
    this.ptes.swapOut(frame, holders);
    return true;
  }

  // ---------------------------------------------------------- invariants

  protected checkState(vmas: readonly Vma[], fail: (msg: string) => never): void {
    this.checkTags(vmas, fail);
    // (C), for every page held by an entry or the swap cache.
    for (const [f, n] of this.ptes.heldFrames()) {
      if (this.frames.owner(f) !== this.anonOwner) fail(`frame ${f} is held but is not an anonymous page`);
      const refs = this.frames.refs(f);
      const mapcount = this.frames.mapcount(f);
      if (refs - mapcount !== n) fail(`frame ${f}: refs ${refs} - mapcount ${mapcount}, but ${n} holders`);
    }
  }

  /** No structures of its own. */
  structures(): number {
    return 0;
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
