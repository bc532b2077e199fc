// The "ptes" of anonymous pages, for the designs in which page tables, not
// address_spaces, hold anonymous memory: the 2.3.99 scan (src/anon/scan.ts)
// and Linux's anon_vma designs (David Miller's anon layer as 2.6.7 shipped
// it, src/anon/anon-vma.ts, and today's anon_vma_chain,
// src/anon/anon-vma-chain.ts). The code those three designs share on top
// of it (lookup, copy-on-write, fork, split, merge...) is PteDesign, in
// src/anon/pte-design.ts.
//
// In those designs what a private vma sees at index i is what its own pte
// there holds: an anonymous page, a swap entry, or nothing (the base page:
// the file's page, or the zero page). The machine's page table is a cache
// the machine may zap at will (MADV_DONTNEED aside, a zap does not lose an
// anonymous page), so the designs keep their own: one sparse array per
// private vma, keyed by page index (vm_pgoff-relative, so mremap moves
// nothing), each entry holding one reference — on a frame
// (FrameAllocator.get/put) or on a swap slot (SwapDevice.dup/free). A frame
// is a pfn, and a swap entry is stored as a negative number (~slot: see
// SwapEntry), so the two never collide, as a pte tells a swap entry from a
// present page by its bits.
// fork copies the parent's array with a reference more on everything
// (dup_mmap copying ptes); split and merge move entries between arrays.
//
// The swap cache: a page swapped out of several ptes leaves one slot,
// referenced by each of them. The first of them to fault it back in gets a
// new frame; while other entries still reference the slot, the frame stays
// in the swap cache (holding a reference of its own) so that they fault in
// the same frame, and the page stays shared. The cache entry goes with the
// slot's last reference.
//
// Invariants (checked by check()):
//   (E) every entry of a vma's array lies in the vma's range [pgoff,
//       endIndex); an entry that is a frame names its index (frames.index)
//       and has an anonymous owner (an anon_vma; the scan's one owner); a
//       frame entry is never the zero page.
//   (S) the design's count of references to each swap slot equals the
//       slot entries naming it; a slot in the swap cache has references
//       left, and its frame holds the slot's page.
//   (W) a writable pte of a private vma maps the vma's own entry at that
//       index, and that frame is exclusive: no other entry holds it and it
//       is not in the swap cache. That is what makes writing through it
//       invisible to every other vma.

import type { PageOwner } from '../mm/address-space.js';
import type { Frame, FrameAllocator } from '../mm/frames.js';
import { PAGE_SIZE } from '../mm/constants.js';
import { PTE_WRITE } from '../mm/pagetable.js';
import type { Vma } from '../mm/vma.js';
import { XArray } from '../mm/xarray.js';
import type { Peek } from './design.js';

/**
 * A swap entry: the slot a page is in, stored as ~slot (-1 - slot), so that
 * it is negative and never equal to a pfn. Branded so that a slot number is
 * not stored as an entry, or an entry used as a slot, without the
 * conversion (swapEntry, slotOf).
 */
export type SwapEntry = number & { readonly __swapEntry: unique symbol };

/** What an anonymous pte holds: the page's frame (a pfn), or the swap entry naming the slot the page is in. */
export type AnonPte = Frame | SwapEntry;

/** Whether an entry is a swap entry (else it is a frame). */
export function isSwapEntry(e: AnonPte): e is SwapEntry {
  return e < 0;
}

/** The swap entry naming `slot`. */
export function swapEntry(slot: number): SwapEntry {
  return (-1 - slot) as SwapEntry;
}

/** The slot a swap entry names. */
export function slotOf(e: SwapEntry): number {
  return -1 - e;
}

export class AnonPtes {
  /** Every private vma's array. */
  private readonly arrays = new Map<Vma, XArray<AnonPte>>();
  /** References the arrays hold on each swap slot (the design's part of swap_map). */
  private readonly slotRefs = new Map<number, number>();
  /** The swap cache: slot -> the frame its page was read into, while other entries still name the slot. */
  private readonly cache = new Map<number, Frame>();
  private readonly cachedSlot = new Map<Frame, number>();

  swapCacheHits = 0;

  constructor(private readonly frames: FrameAllocator) {}

  // ------------------------------------------------------------ arrays

  /** A new private vma: no anonymous ptes yet. */
  add(vma: Vma): void {
    this.arrays.set(vma, new XArray<AnonPte>());
  }

  private of(vma: Vma): XArray<AnonPte> {
    const a = this.arrays.get(vma);
    if (a === undefined) throw new Error(`no anonymous ptes for vma 0x${vma.start.toString(16)}`);
    return a;
  }

  /** Whether the vma holds any anonymous page (in memory or swap). */
  holdsAny(vma: Vma): boolean {
    return this.of(vma).size > 0;
  }

  /** The entry at index (a frame, a swap entry) or undefined. */
  entry(vma: Vma, index: number): AnonPte | undefined {
    return this.of(vma).get(index);
  }

  /** Whether `vma` (which may be gone by now) holds the frame `f` at index. */
  holds(vma: Vma, index: number, f: Frame): boolean {
    return this.arrays.get(vma)?.get(index) === f;
  }

  /** Call fn for every entry of the vma (frames and swap entries), by index. */
  forEach(vma: Vma, fn: (index: number, e: AnonPte) => void): void {
    this.of(vma).forEach(fn);
  }

  peek(vma: Vma, index: number): Peek {
    const e = this.of(vma).get(index);
    if (e === undefined) return null;
    return isSwapEntry(e) ? 'swapped' : e;
  }

  /**
   * The frame at index, swapping it in if the entry is a swap entry (the
   * caller has reserved a frame); null if the vma holds nothing there.
   * `owner(exclusive)` names the anon_vma of a page read in fresh from swap:
   * `exclusive` when no other entry names the slot.
   */
  resident(vma: Vma, index: number, owner: (exclusive: boolean) => PageOwner): Frame | null {
    const a = this.of(vma);
    const e = a.get(index);
    if (e === undefined) return null;
    if (!isSwapEntry(e)) return e;
    const slot = slotOf(e);
    let f = this.cache.get(slot);
    if (f !== undefined) {
      this.swapCacheHits++;
    } else {
      f = this.frames.alloc();
      this.frames.swap.load(this.frames, slot, f);
      const exclusive = this.slotRefs.get(slot) === 1;
      this.frames.setOwner(f, owner(exclusive));
      this.frames.setIndex(f, index);
      if (!exclusive) {
        // Others still name the slot: they must find this frame (do_swap_page
        // leaves the page in the swap cache while the swap count is up).
        this.cache.set(slot, f);
        this.cachedSlot.set(f, slot);
        this.frames.get(f);
      }
    }
    this.frames.get(f);
    a.set(index, f);
    this.unrefSlot(slot);
    return f;
  }

  /**
   * Put the new page `f` (just allocated, or reused) at index, owned by
   * `owner`, releasing what the entry held before.
   */
  install(vma: Vma, index: number, f: Frame, owner: PageOwner): void {
    const a = this.of(vma);
    const old = a.get(index);
    this.frames.get(f);
    this.frames.setOwner(f, owner);
    this.frames.setIndex(f, index);
    a.set(index, f);
    if (old !== undefined) this.release(old);
  }

  /**
   * Whether the page `f`, which `vma` holds, may be written in place: no
   * other entry holds it (every reference but the ptes' is an entry's, or
   * the swap cache's) and no swap entry may bring it back into another
   * vma (it is not in the swap cache). do_wp_page's reuse test.
   */
  exclusive(f: Frame): boolean {
    return this.frames.nonPteRefs(f) === 1 && !this.cachedSlot.has(f);
  }

  /** fork (dup_mmap copying ptes): `child`'s array is `parent`'s, with a reference more on each entry. */
  copy(parent: Vma, child: Vma): void {
    const to = new XArray<AnonPte>();
    this.of(parent).forEach((i, e) => {
      if (isSwapEntry(e)) this.refSlot(slotOf(e));
      else this.frames.get(e);
      to.set(i, e);
    });
    this.arrays.set(child, to);
  }

  /** Move `from`'s entries at index >= lo into `to` (split: lo = tail.pgoff; merge: lo = 0). */
  move(from: Vma, to: Vma, lo: number): void {
    const src = this.of(from);
    const dst = this.of(to);
    src.forRange(lo, Number.MAX_SAFE_INTEGER, (i, e) => {
      src.delete(i);
      dst.set(i, e);
    });
  }

  /** Release every entry at lo <= index < hi (zap_pte_range). */
  dropRange(vma: Vma, lo: number, hi: number): void {
    const a = this.of(vma);
    a.forRange(lo, hi, (i, e) => {
      a.delete(i);
      this.release(e);
    });
  }

  /** The vma is gone: release everything it held. */
  remove(vma: Vma): void {
    this.dropRange(vma, 0, Number.MAX_SAFE_INTEGER);
    this.arrays.delete(vma);
  }

  private release(e: AnonPte): void {
    if (isSwapEntry(e)) this.unrefSlot(slotOf(e));
    else this.frames.put(e);
  }

  private refSlot(slot: number): void {
    this.frames.swap.dup(slot);
    this.slotRefs.set(slot, this.slotRefs.get(slot)! + 1);
  }

  /** Drop one reference to a slot; with the last one the swap cache lets go of the page. */
  private unrefSlot(slot: number): void {
    this.frames.swap.free(slot);
    const n = this.slotRefs.get(slot)! - 1;
    if (n > 0) {
      this.slotRefs.set(slot, n);
      return;
    }
    this.slotRefs.delete(slot);
    const f = this.cache.get(slot);
    if (f !== undefined) {
      this.cache.delete(slot);
      this.cachedSlot.delete(f);
      this.frames.put(f);
    }
  }

  // ------------------------------------------------------------ reclaim

  /**
   * try_to_unmap for an anonymous page whose ptes the caller has cleared:
   * every entry of `candidates` (the vmas the page's anon_vma lists) that
   * holds `f` takes a reference on one swap slot instead — the slot the
   * page already has if it is in the swap cache, else a new one. Returns
   * how many entries held it.
   */
  swapOut(f: Frame, candidates: Iterable<Vma>): number {
    let slot = this.cachedSlot.get(f);
    const i = this.frames.index(f);
    let n = 0;
    for (const v of candidates) {
      const a = this.arrays.get(v);
      if (a === undefined || a.get(i) !== f) continue;
      if (slot === undefined) {
        slot = this.frames.swap.write(this.frames, f);
        // The caller checked that swap has room (vmscan); -1 would make the
        // entry pfn 0, the zero page.
        if (slot < 0) throw new Error(`swap-out of frame ${f}: swap is full`);
        this.slotRefs.set(slot, 1);
      } else {
        this.refSlot(slot);
      }
      a.set(i, swapEntry(slot));
      n++;
    }
    if (this.cachedSlot.has(f)) {
      // The cached copy goes; the slot, still named by entries, keeps the page.
      this.cache.delete(this.cachedSlot.get(f)!);
      this.cachedSlot.delete(f);
      n++;
    }
    if (n === 0) throw new Error(`swap-out of frame ${f}: no pte of its anon_vma holds it`);
    this.frames.setOwner(f, null);
    for (let k = 0; k < n; k++) this.frames.put(f);
    return n;
  }

  // ------------------------------------------------------------ accounting

  heldFrames(): Map<Frame, number> {
    const out = new Map<Frame, number>();
    for (const a of this.arrays.values()) {
      a.forEach((_, e) => {
        if (!isSwapEntry(e)) out.set(e, (out.get(e) ?? 0) + 1);
      });
    }
    for (const f of this.cache.values()) out.set(f, (out.get(f) ?? 0) + 1);
    return out;
  }

  heldSwapSlots(): number {
    return this.slotRefs.size;
  }

  /** Entries (in memory and in swap) of every array. */
  entries(): number {
    let n = 0;
    for (const a of this.arrays.values()) n += a.size;
    return n;
  }

  /** Whether the frame is in the swap cache (which holds a reference on it). */
  inSwapCache(f: Frame): boolean {
    return this.cachedSlot.has(f);
  }

  /** Frames in the swap cache. */
  cached(): number {
    return this.cache.size;
  }

  /** Every vma with an array. */
  vmas(): IterableIterator<Vma> {
    return this.arrays.keys();
  }

  /** The frames in the swap cache. */
  cachedFrames(): IterableIterator<Frame> {
    return this.cache.values();
  }

  /** Call fn for every frame entry of the vma. */
  forEachFrame(vma: Vma, fn: (index: number, f: Frame) => void): void {
    this.of(vma).forEach((i, e) => {
      if (!isSwapEntry(e)) fn(i, e);
    });
  }

  /** (E), (S), (W); `fail` throws. */
  check(vmas: readonly Vma[], fail: (msg: string) => never): void {
    const priv = vmas.filter((v) => !v.shared);
    if (priv.length !== this.arrays.size) fail(`${this.arrays.size} pte arrays for ${priv.length} private vmas`);
    const refs = new Map<number, number>();
    for (const v of priv) {
      const a = this.arrays.get(v);
      if (a === undefined) fail(`private vma 0x${v.start.toString(16)} has no pte array`);
      a!.forEach((i, e) => {
        const where = `vma 0x${v.start.toString(16)} index ${i}`;
        if (i < v.pgoff || i >= v.endIndex) fail(`${where}: entry outside the vma`);
        if (isSwapEntry(e)) {
          const slot = slotOf(e);
          refs.set(slot, (refs.get(slot) ?? 0) + 1);
          return;
        }
        if (e === this.frames.zero) fail(`${where}: the zero page as an anonymous page`);
        const owner = this.frames.owner(e);
        if (owner === null || owner.file !== null) fail(`${where}: frame ${e} has no anon_vma`);
        if (this.frames.index(e) !== i) fail(`${where}: frame ${e} says index ${this.frames.index(e)}`);
      });
      // (W)
      v.mm.pt.forEachPresent(v.start / PAGE_SIZE, v.end / PAGE_SIZE, (vpn, f, flags) => {
        if ((flags & PTE_WRITE) === 0) return;
        const i = v.index(vpn * PAGE_SIZE);
        if (a!.get(i) !== f) fail(`writable pte at 0x${(vpn * PAGE_SIZE).toString(16)} maps a page its vma does not hold`);
        if (!this.exclusive(f)) fail(`writable pte at 0x${(vpn * PAGE_SIZE).toString(16)} maps a shared page`);
      });
    }
    // (S)
    if (refs.size !== this.slotRefs.size) fail(`${this.slotRefs.size} slots counted, ${refs.size} named`);
    for (const [slot, n] of refs) {
      if (this.slotRefs.get(slot) !== n) fail(`slot ${slot}: ${this.slotRefs.get(slot)} references counted, ${n} entries`);
    }
    for (const [slot, f] of this.cache) {
      if (!this.slotRefs.has(slot)) fail(`swap cache keeps slot ${slot} that nothing names`);
      if (this.cachedSlot.get(f) !== slot) fail(`swap cache maps disagree at slot ${slot}`);
      if (this.frames.owner(f) === null || this.frames.refs(f) < 1) fail(`swap cache frame ${f} is not a live anonymous page`);
    }
    if (this.cachedSlot.size !== this.cache.size) fail('swap cache maps disagree in size');
  }
}

