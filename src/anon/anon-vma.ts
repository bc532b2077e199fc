// Linux 2.6.7's anon_vma: Andrea Arcangeli's object-based reverse mapping
// for anonymous memory (his objrmap work, 2004; mm/rmap.c credits the
// "Anonymous methods" to him), merged in preference to Hugh Dickins'
// competing anonmm (one object per mm, linked across the forks of one
// exec). The design is called `anon-layer` after the design the seed's
// post answers, which it resembles: David S. Miller's experimental anon
// layer of April 2000 (never merged), where "At fork, the code which
// copies the address space just calls anon_dup() ... anon_dup adds a new
// VMA to the mapping->i_mmap list". Both keep one object listing every
// vma of a family of forked vmas; 2.6.7's anon_vma is what is modelled
// here.
//
//   - Anonymous pages are held by ptes (src/anon/anon-ptes.ts: one sparse
//     array of "ptes" per private vma, each entry a reference on a frame
//     or on a swap slot). There is no object holding pages. What every
//     design whose ptes hold pages does alike (lookup, copy-on-write,
//     discard, truncate...) is PteDesign's, and what the two anon_vma
//     designs do alike (the rmap walk, swap-out, the common counters) is
//     AnonVmaDesignBase's (src/anon/pte-design.ts); this module keeps the
//     anon layer's anon_vmas and how each vma's follows it.
//   - Each private vma that has had an anonymous page points at an
//     anon_vma, a list of vmas. The first anonymous page of a vma attaches
//     it to one (anon_vma_prepare): a compatible neighbour's, as
//     find_mergeable_anon_vma finds it, or a new one.
//   - fork: the child's vma joins the *same* anon_vma (anon_vma_link in
//     dup_mmap), and its array is a copy of the parent's with a reference
//     more on every entry (dup_mmap copying ptes). So one anon_vma lists a
//     whole family's vmas, however many generations.
//   - A page records its anon_vma and its index (page->mapping,
//     page->index: frames.owner(f), frames.index(f)). The index is vm_pgoff-relative
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
// each vma keeps the two facts that decide, its merge tag (as the scan
// does; the rules are src/anon/merge-tag.ts's MergeTags): a `tag`
// standing for its 6.18 anon_vma (0: none yet; set at the first anonymous
// page, a new one for each fork child's vma, copied by split) and
// `forkChild` (its 6.18 chain is not singular). Equal tags merge; a
// tagged vma merges with an untagged one unless it is a fork child. A
// reused anon_vma at 6.18's fork (anon_vma_clone) is one no vma of the
// child's process uses, so a new tag stands for it exactly. A vma has a
// tag exactly when it has an anon_vma (checked).
//   (T) A tag stands for one anon_vma of the anon layer: vmas with equal
//       tags have the same anon_vma. So every merge 6.18 allows, the anon
//       layer can do. For (T), anon_vma_prepare takes a neighbour's
//       anon_vma only where 6.18 would take its anon_vma: not from a fork
//       child (2.6.7 took any neighbour's; only merging can tell).
//
// Cases the post does not cover, and how the anon layer handles them:
//   - MADV_DONTNEED in a vma whose pages are shared with other vmas (after
//     fork): the vma drops its own entries in the range; the others'
//     entries, and so their views, are untouched. See discard()
//     (pte-design.ts).
//   - A vma growing over indices (mremap expansion after a partial munmap;
//     merging with a neighbour): the unmap released the entries there
//     ((E): a vma holds entries only inside its range), so the new range
//     reads as fresh memory; extend() drops anything there all the same.
//     Other vmas on the anon_vma that hold pages at those indices are
//     other vmas' ptes: they stay theirs.
//   - ftruncate shrinking a privately mapped file: every private vma of
//     the file (i_mmap) drops its entries past the new end; the machine
//     has already zapped the ptes and answers SIGBUS past EOF. See
//     truncate() (pte-design.ts).
//   - MADV_WIPEONFORK: the child's vma starts with no entries and no
//     anon_vma, like a new mapping; MADV_DONTFORK: the machine never makes
//     the child's vma. See forkWiped() (pte-design.ts).
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
import type { FrameAllocator } from '../mm/frames.js';
import type { Vma } from '../mm/vma.js';
import { anonVmaSnapshot } from '../draw/snapshot.js';
import type { DesignSnapshot } from '../draw/types.js';
import type { DesignOptions } from './design.js';
import { MergeTag, MergeTags } from '../mm/merge-tag.js';
import { ANON_VMA_BYTES, AnonVmaDesignBase } from './pte-design.js';

/** struct anon_vma: a lock and the list of vmas whose anonymous pages point here. */
export class AnonVma implements PageOwner {
  readonly id = newOwnerId();
  readonly file = null;
  /** anon_vma->head: the vmas using this anon_vma. */
  readonly vmas = new Set<Vma>();
}

/** What a private vma keeps in vma.anon: its merge tag (see "Merging vmas"), and its anon_vma. */
class VmaAnon extends MergeTag {
  /** vma->anon_vma, or null until the vma's first anonymous page. */
  anonVma: AnonVma | null = null;
}

export class AnonVmaDesign extends AnonVmaDesignBase<AnonVma> {
  readonly name = 'anon-layer';

  private listPeak = 0;
  private readonly tags = new MergeTags((vma) => AnonVmaDesign.st(vma));

  constructor(frames: FrameAllocator, _opts: DesignOptions = {}) {
    super(frames);
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
    if (av.vmas.size === 0) this.died(av);
  }

  /**
   * anon_vma_prepare: the anon_vma new pages of `v` go to — its own, or a
   * compatible neighbour's (find_mergeable_anon_vma: next first, then
   * prev; so that vmas split by mprotect can merge again) unless that
   * neighbour is a fork child (T), or a new one.
   */
  protected prepare(v: Vma): AnonVma {
    const st = AnonVmaDesign.st(v);
    if (st.anonVma !== null) return st.anonVma;
    // The tag decides, (T): a tagged neighbour has an anon_vma.
    const near = this.tags.prepare(v);
    let av: AnonVma;
    if (near !== null) {
      av = AnonVmaDesign.anonVma(near)!;
      this.neighbourReuses++;
    } else {
      av = this.born(new AnonVma());
    }
    this.link(v, av);
    return av;
  }

  // ----------------------------------------------- vma.anon through the vma's life

  protected newState(): VmaAnon {
    return new VmaAnon();
  }

  /** do_swap_page: a page read in from swap joins the vma's anon_vma. */
  protected swapInOwner(vma: Vma): AnonVma {
    return AnonVmaDesign.anonVma(vma)!;
  }

  /** anon_vma_link in dup_mmap: the child joins the parent's anon_vma, with a tag of its own. */
  protected forkState(parent: Vma, child: Vma): void {
    child.anon = new VmaAnon();
    this.tags.fork(parent, child);
    const av = AnonVmaDesign.anonVma(parent);
    if (av !== null) this.link(child, av);
  }

  protected splitState(vma: Vma, tail: Vma): void {
    tail.anon = new VmaAnon();
    this.tags.split(vma, tail);
    const av = AnonVmaDesign.anonVma(vma);
    if (av !== null) this.link(tail, av);
  }

  protected mergeState(prev: Vma, next: Vma): boolean {
    // Linux 6.18's is_mergeable_anon_vma() on the tags (see the top); an
    // untagged prev takes next's tag, and below its anon_vma.
    if (!this.tags.merge(prev, next)) return false;
    const p = AnonVmaDesign.anonVma(prev);
    const n = AnonVmaDesign.anonVma(next);
    if (p !== null && n !== null && p !== n) {
      throw new Error('anon-layer: vmas with one tag on two anon_vmas');
    }
    // Link prev before next leaves, so that the anon_vma never empties.
    if (p === null && n !== null) this.link(prev, n);
    return true;
  }

  protected override leave(vma: Vma): void {
    this.unlink(vma);
  }

  // ---------------------------------------------------------- invariants

  protected checkState(vmas: readonly Vma[], fail: (msg: string) => never): void {
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
      // (O)
      this.ptes.forEachFrame(v, (i, f) => {
        if (this.frames.owner(f) !== av) fail(`${where}: page ${i} names another anon_vma`);
      });
    }
    for (const av of this.live) {
      if (av.vmas.size === 0) fail(`anon_vma ${av.id} is alive with an empty list`);
      for (const w of av.vmas) {
        if (!alive.has(w)) fail(`anon_vma ${av.id} lists a vma that is gone`);
        if (AnonVmaDesign.anonVma(w) !== av) fail(`anon_vma ${av.id} lists a vma that points elsewhere`);
      }
    }
    this.checkSwapCache(fail);
  }

  /** One anon_vma per family, every vma of the family on its list. */
  override snapshot(vmas: readonly Vma[]): DesignSnapshot {
    return anonVmaSnapshot(this.name, vmas, this.live, {
      parentOf: () => null,
      ownOf: (v) => AnonVmaDesign.anonVma(v),
      chainOf: () => [],
      listOf: (av) => av.vmas,
      forEachFrame: (v, fn) => this.ptes.forEachFrame(v, fn),
      ownerOf: (f) => this.frames.owner(f),
    });
  }

  bytes(): number {
    return this.live.size * ANON_VMA_BYTES;
  }

  stats(): Record<string, number> {
    let listMax = 0;
    for (const av of this.live) if (av.vmas.size > listMax) listMax = av.vmas.size;
    return this.anonVmaStats({
      anonVmaNeighbourReuses: this.neighbourReuses,
      anonVmaListMax: listMax,
      anonVmaListPeak: this.listPeak,
    });
  }
}
