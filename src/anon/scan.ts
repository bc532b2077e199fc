// "What we have already" (the seed's post, 27 April 2000): the 2.3.99 VM,
// with no reverse map for anonymous memory at all.
//
//   - Anonymous pages are held by ptes only. Each private vma keeps its own
//     anonymous "ptes": a sparse array (vma.anon.ptes) from page index
//     (vm_pgoff-relative) to a frame or a swap slot. Each entry holds one
//     reference: on the frame (FrameAllocator.get/put) or on the slot
//     (SwapDevice.dup/free).
//   - fork copies the parent's entries into the child's, each with one more
//     reference (dup_mmap copying ptes); nothing else records the sharing.
//   - A write fault copies unless the page's reference count says this
//     entry is its only holder (do_wp_page's page_count test): see cow().
//   - Reverse mapping is a scan: for a page to evict, walk every vma of
//     every process and test every entry (2.3.99's swap_out walked every
//     page table). Its cost is counted: `ptesScanned` per page reclaimed is
//     the machine's total anonymous entries, however few ptes map the page.
//   - Swap keeps sharing through a swap cache (Linux's): a page swapped in
//     while other entries still hold its slot stays in `swapCache`, so the
//     next process faulting that slot gets the same frame; the cache entry
//     goes with the slot's last reference.
// Anonymous frames all have one owner, `anonOwner` ({id, file: null}): nothing
// about a frame says where it is mapped (the `frames` report tells
// anonymous pages apart by pageId).
//
// INVARIANTS (checked by check()):
//   (E) Every entry of a vma lies at an index inside the vma's range, and
//       no two vmas share an entry (each vma owns its array).
//   (C) The counts tell the truth: for an anonymous frame, refs - mapcount
//       is exactly the number of entries holding it plus one if it is in
//       the swap cache; `slotRefs` is exactly the number of entries holding
//       each slot. Every pte of a private vma that maps an anonymous frame
//       is at an index whose entry holds that frame (the machine's I2), so
//       refs - mapcount === 1 means no other vma can see the page: a write
//       may reuse it.
//   (K) The swap cache holds only slots that some entry still holds.
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
import { PAGE_SIZE } from '../mm/constants.js';
import type { File } from '../mm/file.js';
import type { Frame, FrameAllocator } from '../mm/frames.js';
import type { Vma } from '../mm/vma.js';
import { XArray } from '../mm/xarray.js';
import type { AnonDesign, DesignContext, Peek } from './design.js';

/** A vma's anonymous pte: a frame, or the swap slot the page went to. */
type Entry = Frame | number;

/** What a private vma keeps in vma.anon. */
class VmaPtes {
  /** index -> entry; one reference each. */
  readonly ptes = new XArray<Entry>();
  /** The identity of the anon_vma Linux would give this vma (0: none yet); merging only. */
  tag = 0;
  /** Linux's vma_is_fork_child(): the tag came with a fork from a parent that had one. */
  forkChild = false;
}

/** Where an entry holding a frame was found by a scan. */
interface Holder {
  st: VmaPtes;
  index: number;
}

export class ScanDesign implements AnonDesign {
  readonly name = 'scan';

  /** The owner of every anonymous frame: it says nothing about where the frame is mapped. */
  private readonly anonOwner: PageOwner = { id: newOwnerId(), file: null };
  /** Slot -> the page swapped back in while other entries still hold the slot (one frame reference each). */
  private readonly swapCache = new Map<number, Frame>();
  /** Slot -> entries holding it (the part of swap_map that is ours). */
  private readonly slotRefs = new Map<number, number>();
  /** The holders the last scan found, for swapOut right after rmap (one scan per eviction). */
  private lastScan: { frame: Frame; holders: Holder[] } | null = null;
  private nextTag = 1;

  private cowCopies = 0;
  private cowReuses = 0;
  private zeroFills = 0;
  private lookups = 0;
  private rmapWalks = 0;
  private rmapVmasVisited = 0;
  private ptesScanned = 0;
  private swapCacheHits = 0;

  constructor(private readonly frames: FrameAllocator, private readonly ctx: DesignContext) {}

  // ------------------------------------------------------------- entries

  private static of(vma: Vma): VmaPtes {
    const st = vma.anon;
    if (!(st instanceof VmaPtes)) throw new Error(`scan: private vma at 0x${vma.start.toString(16)} has no ptes`);
    return st;
  }

  /** Release what the entry at index holds and empty it. */
  private drop(st: VmaPtes, index: number): void {
    const e = st.ptes.get(index);
    if (e === undefined) return;
    st.ptes.delete(index);
    if (typeof e === 'number') this.putSlot(e);
    else this.frames.put(e);
  }

  private dropRange(st: VmaPtes, lo: number, hi: number): void {
    st.ptes.forRange(lo, hi, (i) => this.drop(st, i));
  }

  private dupSlot(slot: number): void {
    this.frames.swap.dup(slot);
    this.slotRefs.set(slot, this.slotRefs.get(slot)! + 1);
  }

  /** Drop one entry's reference to a slot; with the last one the slot and its cached page go (K). */
  private putSlot(slot: number): void {
    this.frames.swap.free(slot);
    const n = this.slotRefs.get(slot)! - 1;
    if (n > 0) {
      this.slotRefs.set(slot, n);
      return;
    }
    this.slotRefs.delete(slot);
    const cached = this.swapCache.get(slot);
    if (cached !== undefined) {
      this.swapCache.delete(slot);
      this.frames.put(cached);
    }
  }

  /** A new anonymous frame at index of st, holding one reference for the entry. */
  private newPage(st: VmaPtes, index: number): Frame {
    const f = this.frames.alloc();
    f.owner = this.anonOwner;
    f.index = index;
    this.frames.get(f);
    st.ptes.set(index, f);
    return f;
  }

  /**
   * do_swap_page: the entry at index holds `slot`; bring the page back,
   * from the swap cache if another entry brought it in already.
   */
  private swapInAt(st: VmaPtes, index: number, slot: number): Frame {
    let f = this.swapCache.get(slot);
    if (f !== undefined) {
      this.swapCacheHits++;
      this.frames.get(f);
      st.ptes.set(index, f);
    } else {
      f = this.newPage(st, index);
      this.frames.swap.load(slot, f);
      // Cache it for the slot's other holders; putSlot drops it at once if
      // there are none.
      this.frames.get(f);
      this.swapCache.set(slot, f);
    }
    this.putSlot(slot);
    return f;
  }

  /**
   * The scan: every entry of every private vma of every process holding
   * `frame`. Empty stretches are skipped, as 2.3.99's walk skipped empty
   * page-table pages; every entry, frame or swap slot, is examined.
   */
  private scan(frame: Frame, visit?: (vma: Vma, addr: number) => void): Holder[] {
    const holders: Holder[] = [];
    this.rmapWalks++;
    for (const mm of this.ctx.mms()) {
      for (const v of mm.vmas.list) {
        if (v.shared) continue; // shared mappings hold page-cache pages only
        this.rmapVmasVisited++;
        const st = ScanDesign.of(v);
        st.ptes.forEach((i, e) => {
          this.ptesScanned++;
          if (e !== frame) return;
          holders.push({ st, index: i });
          visit?.(v, v.addrOf(i));
        });
      }
    }
    this.lastScan = { frame, holders };
    return holders;
  }

  /** The next tag for a vma's first write: a compatible neighbour's (find_mergeable_anon_vma), else a new one. */
  private prepareTag(vma: Vma, st: VmaPtes): void {
    if (st.tag !== 0) return;
    const reusable = (old: Vma, a: Vma, b: Vma): number => {
      if (old.shared || !ScanDesign.anonCompatible(a, b)) return 0;
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

  /** anon_vma_compatible(): b directly follows a, same object and flags (bar access bits), contiguous pgoff. */
  private static anonCompatible(a: Vma, b: Vma): boolean {
    return (
      a.end === b.start && a.file === b.file && a.shared === b.shared &&
      a.dontfork === b.dontfork && a.wipeonfork === b.wipeonfork &&
      b.pgoff === a.pgoff + (b.start - a.start) / PAGE_SIZE
    );
  }

  // ------------------------------------------------------------ interface

  vmaNew(vma: Vma): void {
    vma.anon = new VmaPtes();
  }

  lookup(vma: Vma, index: number): Frame | null {
    this.lookups++;
    const st = ScanDesign.of(vma);
    const e = st.ptes.get(index);
    if (e === undefined) return null;
    if (typeof e !== 'number') return e;
    return this.swapInAt(st, index, e);
  }

  peek(vma: Vma, index: number): Peek {
    const e = ScanDesign.of(vma).ptes.get(index);
    if (e === undefined) return null;
    return typeof e === 'number' ? 'swapped' : e;
  }

  cow(vma: Vma, index: number, src: Frame): Frame {
    const st = ScanDesign.of(vma);
    this.prepareTag(vma, st);
    const e = st.ptes.get(index);
    if (typeof e === 'number') throw new Error(`scan: write fault on swapped index ${index} without a lookup`);
    // (C): refs - mapcount counts the entries holding the page (and the
    // swap cache); if ours is the only one, no one else can see it.
    if (e !== undefined && e.refs - e.mapcount === 1) {
      this.cowReuses++;
      return e;
    }
    if (e !== undefined) st.ptes.delete(index);
    const f = this.newPage(st, index);
    if (src === this.frames.zero) this.zeroFills++;
    else {
      f.copyFrom(src);
      this.cowCopies++;
    }
    if (e !== undefined) this.frames.put(e);
    return f;
  }

  fork(parent: Vma, child: Vma): void {
    const p = ScanDesign.of(parent);
    const c = new VmaPtes();
    p.ptes.forEach((i, e) => {
      if (typeof e === 'number') this.dupSlot(e);
      else this.frames.get(e);
      c.ptes.set(i, e);
    });
    // anon_vma_fork(): a parent with an anon_vma gives the child a new one
    // chained below its own.
    if (p.tag !== 0) {
      c.tag = this.nextTag++;
      c.forkChild = true;
    }
    child.anon = c;
  }

  forkWiped(_parent: Vma, child: Vma): void {
    child.anon = new VmaPtes();
  }

  split(vma: Vma, tail: Vma): void {
    const st = ScanDesign.of(vma);
    const t = new VmaPtes();
    t.tag = st.tag;
    t.forkChild = st.forkChild;
    st.ptes.forRange(tail.pgoff, tail.endIndex, (i, e) => {
      st.ptes.delete(i);
      t.ptes.set(i, e);
    });
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
    b.ptes.forEach((i, e) => a.ptes.set(i, e));
    next.anon = null;
    return true;
  }

  discard(vma: Vma, lo: number, hi: number): void {
    this.dropRange(ScanDesign.of(vma), lo, hi);
  }

  remove(vma: Vma): void {
    const st = ScanDesign.of(vma);
    st.ptes.forEach((i) => this.drop(st, i));
    vma.anon = null;
  }

  truncate(file: File, from: number): void {
    for (const v of file.mappings) {
      if (!v.shared && v.endIndex > from) this.dropRange(ScanDesign.of(v), from, v.endIndex);
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
    const cachedSlot = this.cachedSlotOf(frame);
    const own = cachedSlot === null ? 0 : 1;
    let holders = this.lastScan !== null && this.lastScan.frame === frame ? this.lastScan.holders : null;
    if (holders === null || holders.length + own !== frame.refs || holders.some((h) => h.st.ptes.get(h.index) !== frame)) {
      holders = this.scan(frame);
    }
    this.lastScan = null;
    if (frame.mapcount !== 0 || holders.length + own !== frame.refs) {
      throw new Error(`scan: frame ${frame.pfn} has ${frame.refs} references, the scan found ${holders.length + own}`);
    }
    // The page is in the swap cache: its slot still has the contents (a
    // cached page is never written: (C) makes every write copy it).
    let slot = cachedSlot ?? -1;
    for (const { st, index } of holders) {
      if (slot < 0) {
        slot = this.frames.swap.write(frame);
        if (slot < 0) return false;
        this.slotRefs.set(slot, 1);
      } else {
        this.dupSlot(slot);
      }
      st.ptes.set(index, slot);
      this.frames.put(frame);
    }
    if (cachedSlot !== null) {
      this.swapCache.delete(cachedSlot);
      this.frames.put(frame);
    }
    return true;
  }

  private cachedSlotOf(frame: Frame): number | null {
    if (this.swapCache.size === 0) return null;
    for (const [slot, f] of this.swapCache) if (f === frame) return slot;
    return null;
  }

  // ---------------------------------------------------------- invariants

  check(vmas: readonly Vma[]): void {
    const fail = (msg: string): never => {
      throw new Error(`scan invariant: ${msg}`);
    };
    const entries = new Map<Frame, number>();
    const slots = new Map<number, number>();
    const owners = new Set<VmaPtes>();
    for (const v of vmas) {
      const where = `vma 0x${v.start.toString(16)}`;
      if (v.shared) {
        if (v.anon !== null) fail(`${where}: shared vma has anonymous ptes`);
        continue;
      }
      if (!(v.anon instanceof VmaPtes)) fail(`${where}: private vma has no ptes`);
      const st = v.anon as VmaPtes;
      // (E)
      if (owners.has(st)) fail(`${where}: shares its ptes with another vma`);
      owners.add(st);
      if (st.forkChild && st.tag === 0) fail(`${where}: fork child without a tag`);
      // Linux: a vma with anonymous pages has an anon_vma.
      if (st.ptes.size > 0 && st.tag === 0) fail(`${where}: holds pages but has no tag`);
      st.ptes.forEach((i, e) => {
        if (i < v.pgoff || i >= v.endIndex) fail(`${where}: entry at index ${i} outside [${v.pgoff}, ${v.endIndex})`);
        if (typeof e === 'number') slots.set(e, (slots.get(e) ?? 0) + 1);
        else {
          if (e.owner !== this.anonOwner) fail(`${where}: entry ${i} holds frame ${e.pfn}, not an anonymous page`);
          entries.set(e, (entries.get(e) ?? 0) + 1);
        }
      });
    }
    // (K)
    const cached = new Set<Frame>();
    for (const [slot, f] of this.swapCache) {
      if (!slots.has(slot)) fail(`swap cache holds slot ${slot}, which no entry holds`);
      if (f.owner !== this.anonOwner) fail(`swap cache page ${f.pfn} is not an anonymous page`);
      if (cached.has(f)) fail(`frame ${f.pfn} cached for two slots`);
      cached.add(f);
      if (!entries.has(f)) entries.set(f, 0);
    }
    // (C)
    for (const [f, n] of entries) {
      const expect = n + (cached.has(f) ? 1 : 0);
      if (f.refs - f.mapcount !== expect) fail(`frame ${f.pfn}: refs ${f.refs} - mapcount ${f.mapcount}, but ${expect} holders`);
    }
    if (slots.size !== this.slotRefs.size) fail(`${slots.size} slots held, ${this.slotRefs.size} counted`);
    for (const [slot, n] of slots) {
      if (this.slotRefs.get(slot) !== n) fail(`slot ${slot}: ${n} entries hold it, counted ${this.slotRefs.get(slot)}`);
    }
  }

  heldFrames(): Map<Frame, number> {
    const out = new Map<Frame, number>();
    for (const mm of this.ctx.mms()) {
      for (const v of mm.vmas.list) {
        if (v.shared) continue;
        ScanDesign.of(v).ptes.forEach((_, e) => {
          if (typeof e !== 'number') out.set(e, (out.get(e) ?? 0) + 1);
        });
      }
    }
    for (const f of this.swapCache.values()) out.set(f, (out.get(f) ?? 0) + 1);
    return out;
  }

  heldSwapSlots(): number {
    return this.slotRefs.size;
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
      swapCacheHits: this.swapCacheHits,
      swapCachePages: this.swapCache.size,
      /** No reverse-map structures: the ptes are the page tables'. */
      designBytes: 0,
    };
  }
}
