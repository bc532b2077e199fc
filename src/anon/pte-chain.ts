// Linux 2.5's reverse mapping (Rik van Riel's rmap, 2.5.27 to 2.6.5):
// every page carries a chain of the ptes that map it (struct pte_chain).
//
//   - Anonymous pages are held by ptes, as in the scan and the anon_vma
//     designs (src/anon/anon-ptes.ts: one sparse array per private vma,
//     each entry a reference on a frame or a swap slot). What those
//     designs do alike (lookup, copy-on-write, fork's copy, split, merge,
//     discard, truncate) is PteDesign's (src/anon/pte-design.ts), and
//     what it shares with the scan (vma.anon is only a merge tag, one
//     owner for every anonymous page) is TaggedPteDesign's, there; this
//     module keeps the pte chains.
//   - Each anonymous frame has a pte chain: the (vma, index) entries that
//     hold it. The index is always the frame's page->index (frames.index;
//     anon-ptes.ts's (E)), so a chain is kept as the set of vmas. Every change to an entry changes
//     the chains: a fault or COW install (page_add_rmap / page_remove_rmap
//     in do_anonymous_page, do_wp_page), fork's copy (copy_page_range adds
//     the child's pte to every chain), split and merge (entries move to
//     another vma: so do their chain entries — 2.5 chained pte addresses,
//     which split and merge do not move; this model's entries name the
//     vma), MADV_DONTNEED, munmap and exit, truncate (zap_pte_range), and
//     swap: a page swapped out has no chain (its ptes hold a swap entry);
//     a page faulted back in is chained to the pte that took it, and to
//     each further pte that finds it in the swap cache.
//   - Reverse mapping of an anonymous page walks exactly its chain
//     (rmapVmasVisited = chain length; try_to_unmap walked page->pte.chain);
//     of a file page, i_mmap (file.mappings), as the other designs do (2.5
//     chained file pages too; the machine's file pages are not the
//     design's).
//   - A write fault reuses the page when this entry is its only holder
//     (do_wp_page), else copies.
// Anonymous frames all have one owner, `anonOwner` ({id, file: null};
// TaggedPteDesign's), as in the scan: what says where a page is mapped is
// its chain.
//
// INVARIANTS (checked by check(), with anon-ptes.ts's (E), (S), (W)):
//   (P) The chains are exact: vma v is on frame f's chain iff v's entry at
//       frames.index(f) is f; no chain is empty (a frame no entry holds has none);
//       pteChainEntries is the sum of the chains' lengths, which is the
//       number of frame entries. So the chain lists every pte that may map
//       the page (the machine's I2'), and only those.
//   (C) As the scan's: for an anonymous frame, refs - mapcount is exactly
//       the entries holding it plus one if it is in the swap cache, so a
//       write may reuse a page whose count says one holder.
// Every entry is reachable by construction (E), so unreachablePages() is 0.
//
// Size. bytes() counts 8 bytes per chain entry (pteChainEntries * 8): 2.5
// packed NRPTE pte addresses and one link word into each cache-line-sized
// pte_chain block (32 bytes on the machines of its day), so the assumption
// is that an entry costs one 8-byte pte address, the link word and partly
// empty blocks amortised away. Not modelled: 2.5's PG_direct (a page mapped
// by a single pte keeps it in struct page, with no block at all).
// structures() is 0, not a count of blocks: the chains hang off the pages,
// and their size is in pteChainEntries and bytes().
//
// Merging vmas: as in the scan (src/anon/scan.ts, "Merging vmas"): Linux
// 6.18 decides on its anon_vmas, and a program can see merges through
// mremap, so each vma keeps a merge tag (src/anon/merge-tag.ts: a `tag`
// standing for its 6.18 anon_vma and `forkChild`), and
// is_mergeable_anon_vma() decides on them, with the scan's rules
// (MergeTags, used by TaggedPteDesign's prepare, forkState, splitState,
// mergeState). Merging then moves next's entries (PteDesign.tryMerge), and
// their chain entries, into prev.
//
// Cases the post does not cover, and how pte chains handle them:
//   - MADV_DONTNEED in a vma whose pages are shared with other processes
//     (after fork): the vma drops its own entries in the range and leaves
//     those pages' chains; the other vmas' entries and chain entries are
//     untouched. See discard().
//   - A vma growing over indices it once covered (mremap expansion after a
//     partial munmap; merging with a neighbour): the unmap dropped the
//     entries there and their chain entries (E), so the new range reads as
//     fresh memory; extend() drops anything there all the same.
//   - ftruncate shrinking a privately mapped file: every private vma of
//     the file (i_mmap) drops its entries past the new end, leaving those
//     copies' chains (the last leaving frees the copy). See truncate().
//   - MADV_WIPEONFORK: the child's vma starts with no entries (no chain
//     entries, no tag); MADV_DONTFORK: the machine never makes the
//     child's vma. See forkWiped() (pte-design.ts).
//   - mremap moving a vma: nothing to do. Entries are keyed by index and
//     the vma keeps its pgoff, so the chains still name the right (vma,
//     index); the machine moves the ptes.
//   - A private file mapping sees fwrite()s to the file until a page is
//     copied: an index with no entry is the file's page, found by i_mmap.
//   - fork, then the parent exits, then the child writes: the parent's
//     entries go with its vma and leave the chains (remove()), so the
//     child's entry is the page's only holder and the write reuses it.
//   - Swap: reclaim turns every entry on the page's chain into one swap
//     slot, referenced once per entry, and the chain goes; swap-in keeps
//     the page shared through the swap cache (anon-ptes.ts), each entry
//     faulting it in joining its chain.

import type { File } from '../mm/file.js';
import type { Frame, FrameAllocator } from '../mm/frames.js';
import type { Vma } from '../mm/vma.js';
import { isSwapEntry, type AnonPte } from './anon-ptes.js';
import { TaggedPteDesign } from './pte-design.js';

/** Bytes per pte chain entry: one pte address in a pte_chain block. */
const PTE_CHAIN_ENTRY_BYTES = 8;

export class PteChainDesign extends TaggedPteDesign {
  readonly name = 'pte-chain';

  /** page->pte.chain: the vmas whose entry at the frame's index is the frame. */
  private readonly chains = new Map<Frame, Set<Vma>>();

  private chainEntries = 0;
  private chainEntriesPeak = 0;

  constructor(frames: FrameAllocator) {
    super(frames);
  }


  // ---------------------------------------------------------- pte chains

  /** page_add_rmap: vma's entry at f's index now holds f. */
  private chain(f: Frame, v: Vma): void {
    let c = this.chains.get(f);
    if (c === undefined) this.chains.set(f, (c = new Set()));
    if (c.has(v)) return;
    c.add(v);
    this.chainEntries++;
    if (this.chainEntries > this.chainEntriesPeak) this.chainEntriesPeak = this.chainEntries;
  }

  /** page_remove_rmap: vma's entry at f's index no longer holds f. */
  private unchain(f: Frame, v: Vma): void {
    const c = this.chains.get(f);
    if (c === undefined || !c.delete(v)) throw new Error(`pte-chain: frame ${f} is not chained to vma 0x${v.start.toString(16)}`);
    this.chainEntries--;
    if (c.size === 0) this.chains.delete(f);
  }

  /** The entry at (vma, index) changed from `before`: follow it in the chains. */
  private rechain(vma: Vma, index: number, before: AnonPte | undefined): void {
    const after = this.ptes.entry(vma, index);
    if (after === before) return;
    if (before !== undefined && !isSwapEntry(before)) this.unchain(before, vma);
    if (after !== undefined && !isSwapEntry(after)) this.chain(after, vma);
  }

  /** The frames vma holds at lo <= index < hi. */
  private framesIn(vma: Vma, lo: number, hi: number): Frame[] {
    const out: Frame[] = [];
    this.ptes.forEachFrame(vma, (i, f) => {
      if (lo <= i && i < hi) out.push(f);
    });
    return out;
  }

  /** Entries of `from` on these frames' chains became `to`'s (split, merge); to === null: gone. */
  private moveChained(held: readonly Frame[], from: Vma, to: Vma | null): void {
    for (const f of held) {
      this.unchain(f, from);
      if (to !== null) this.chain(f, to);
    }
  }

  // ---------------------------------------------- every change of an entry

  override lookup(vma: Vma, index: number): Frame | null {
    const before = this.ptes.entry(vma, index);
    const f = super.lookup(vma, index);
    this.rechain(vma, index, before);
    return f;
  }

  override cow(vma: Vma, index: number, src: Frame): Frame {
    const before = this.ptes.entry(vma, index);
    const f = super.cow(vma, index, src);
    this.rechain(vma, index, before);
    return f;
  }

  override fork(parent: Vma, child: Vma): void {
    super.fork(parent, child);
    // copy_page_range: page_add_rmap for every pte copied.
    this.ptes.forEachFrame(child, (_, f) => this.chain(f, child));
  }

  override split(vma: Vma, tail: Vma): void {
    super.split(vma, tail);
    this.moveChained(this.framesIn(tail, 0, Number.MAX_SAFE_INTEGER), vma, tail);
  }

  override tryMerge(prev: Vma, next: Vma): boolean {
    const held = this.framesIn(next, 0, Number.MAX_SAFE_INTEGER);
    if (!super.tryMerge(prev, next)) return false;
    this.moveChained(held, next, prev);
    return true;
  }

  override extend(vma: Vma, lo: number, hi: number): void {
    const held = this.framesIn(vma, lo, hi);
    super.extend(vma, lo, hi);
    this.moveChained(held, vma, null);
  }

  override discard(vma: Vma, lo: number, hi: number): void {
    const held = this.framesIn(vma, lo, hi);
    super.discard(vma, lo, hi);
    this.moveChained(held, vma, null);
  }

  override remove(vma: Vma): void {
    const held = this.framesIn(vma, 0, Number.MAX_SAFE_INTEGER);
    super.remove(vma);
    this.moveChained(held, vma, null);
  }

  override truncate(file: File, from: number): void {
    const held: [Vma, Frame[]][] = [];
    for (const v of file.mappings) {
      if (!v.shared && v.endIndex > from) held.push([v, this.framesIn(v, from, Number.MAX_SAFE_INTEGER)]);
    }
    super.truncate(file, from);
    for (const [v, fs] of held) this.moveChained(fs, v, null);
  }

  // ---------------------------------------------------------------- rmap

  rmap(frame: Frame, visit: (vma: Vma, addr: number) => void): void {
    const owner = this.frames.owner(frame);
    if (owner === null) return;
    this.rmapWalks++;
    // A file page: i_mmap. An anonymous page: its chain, every vma of
    // which holds the page at its index (P).
    this.walk(owner.file !== null ? owner.file.mappings : [...(this.chains.get(frame) ?? [])], this.frames.index(frame), visit);
  }

  swapOut(frame: Frame): boolean {
    // try_to_unmap: every pte on the chain takes the swap entry; the chain goes.
    const held = [...(this.chains.get(frame) ?? [])];
    const own = this.ptes.inSwapCache(frame) ? 1 : 0;
    const refs = this.frames.refs(frame);
    if (this.frames.mapcount(frame) !== 0 || held.length + own !== refs) {
      throw new Error(`pte-chain: frame ${frame} has ${refs} references, its chain ${held.length + own}`);
    }
    this.ptes.swapOut(frame, held);
    for (const v of held) this.unchain(frame, v);
    return true;
  }

  // ---------------------------------------------------------- invariants

  protected checkState(vmas: readonly Vma[], fail: (msg: string) => never): void {
    let frameEntries = 0;
    for (const v of this.checkTags(vmas, fail)) {
      // (P), one way: every frame entry is on its frame's chain.
      this.ptes.forEachFrame(v, (i, f) => {
        frameEntries++;
        if (this.chains.get(f)?.has(v) !== true) fail(`vma 0x${v.start.toString(16)} index ${i}: frame ${f} is held but not chained`);
      });
    }
    // (P), the other way: every chain entry is a frame entry.
    let chained = 0;
    for (const [f, c] of this.chains) {
      if (c.size === 0) fail(`frame ${f} has an empty chain`);
      for (const v of c) {
        chained++;
        if (!this.ptes.holds(v, this.frames.index(f), f)) fail(`frame ${f} is chained to vma 0x${v.start.toString(16)}, which does not hold it`);
      }
    }
    if (chained !== frameEntries) fail(`${chained} chain entries for ${frameEntries} frame entries`);
    if (chained !== this.chainEntries) fail(`${this.chainEntries} chain entries counted, ${chained} chained`);
    // (C)
    for (const [f, n] of this.ptes.heldFrames()) {
      if (this.frames.owner(f) !== this.anonOwner) fail(`frame ${f} is held but is not an anonymous page`);
      const refs = this.frames.refs(f);
      const mapcount = this.frames.mapcount(f);
      if (refs - mapcount !== n) fail(`frame ${f}: refs ${refs} - mapcount ${mapcount}, but ${n} holders`);
    }
  }

  /** The chain of `frame`, for tests: the vmas whose pte at the frame's index holds it. */
  chainOf(frame: Frame): readonly Vma[] {
    return [...(this.chains.get(frame) ?? [])];
  }

  /** pte chain entries * 8 bytes (see "Size"). */
  bytes(): number {
    return this.chainEntries * PTE_CHAIN_ENTRY_BYTES;
  }

  /** 0: the chains hang off the pages (their entries are pteChainEntries and bytes()). */
  structures(): number {
    return 0;
  }

  stats(): Record<string, number> {
    return {
      pteChainEntries: this.chainEntries,
      pteChainEntriesPeak: this.chainEntriesPeak,
      ...this.pteStats(),
      ...this.faultStats(),
      // The chain belongs to the page: no rmap object besides it.
      rmapSpacesVisited: 0,
      designBytes: this.bytes(),
    };
  }
}
