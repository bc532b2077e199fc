// Physical memory: page frames and the shared zero page.
//
// A Frame is struct page plus its contents. Contents are allocated lazily:
// a frame whose `data` is null reads as zeros, so allocating a frame for a
// freshly zeroed page costs no host memory until something non-zero is
// stored in it.
//
// Contents are sparse while few words are non-zero, then a full page; full
// pages live in slabs of SLAB_PAGES pages (one ArrayBuffer each) rather
// than one ArrayBuffer per page; freed frames are recycled, and their full
// pages go to a pool of zeroed pages that full() takes from first, so
// faulting pages in allocates nothing in the steady state.
//
// Reference counting: `refs` counts every holder of the frame — each page
// cache / address_space slot that holds it and each present pte that maps
// it (the kernel's page refcount; our pte count is its mapcount, kept
// separately so rmap checks can compare it with a walk). A frame returns to
// the allocator when `refs` drops to zero. The zero page is never freed.
//
// Deferred counts: fork shares page-table leaves between parent and child
// instead of copying every pte (pagetable.ts), so the per-pte reference
// each process would hold is not taken at fork. The raw counts
// (`rawRefs`, `rawMapcount`) are then short of the truth, and the
// allocator knows it (`defer`). Reading `refs` or `mapcount` settles every
// deferred count first, so every reader sees exact counts; only the page
// table and this file touch the raw ones. `refs - mapcount` (holders other
// than ptes) is exact at any time, since a pte holds one of each: the
// copy-or-reuse test of a write fault reads that, and settles nothing.

import type { PageOwner } from './address-space.js';
import { PAGE_WORDS } from './constants.js';
import { SwapDevice } from './swap.js';

/**
 * A page's contents away from a frame (in swap, on a file's disk): null for
 * zeros, a full page, or sparse [word, value, ...] pairs.
 */
export type PageImage = Uint32Array | number[] | null;

/** Non-zero words a sparse page holds before it becomes a full page. */
const SPARSE_WORDS = 16;

const SLAB_PAGES = 256;
let slab: Uint32Array | null = null;
let slabNext = SLAB_PAGES;

/**
 * Zeroed pages of contents that freed frames gave back, reused before the
 * slab is carved again: faulting pages in after others were freed
 * allocates nothing. Shared by every machine of the process, as the slab
 * is (a page kept here belongs to no frame); bounded, so that a run that
 * once had many full pages does not keep them all after its machine is
 * gone (a page dropped past the bound is garbage like any other).
 */
const spares: Uint32Array[] = [];
const SPARES_MAX = 4096;

/** A zeroed page of contents: a spare, or carved from the current slab. */
function pageData(): Uint32Array {
  const s = spares.pop();
  if (s !== undefined) return s;
  if (slabNext === SLAB_PAGES) {
    slab = new Uint32Array(SLAB_PAGES * PAGE_WORDS);
    slabNext = 0;
  }
  const at = slabNext++ * PAGE_WORDS;
  return slab!.subarray(at, at + PAGE_WORDS);
}

// Frame.bits: the two page flags, the inline word's index and the high part
// of page->index, in one small integer (one field instead of four; see
// "Size" below). 29 bits in all: a Smi even where V8 compresses pointers.
const REFERENCED = 1;
const DIRTY = 2;
/** (bits & W0_MASK) >> W0_SHIFT is the inline word's index + 1 (0: no inline word). */
const W0_SHIFT = 2;
const W0_MASK = 0x7ff << W0_SHIFT; // 11 bits: 0..PAGE_WORDS
/** page->index = (bits >>> IX_SHIFT) * INDEX_SPLIT + ixLo. */
const IX_SHIFT = 13;
const IX_HI_LIMIT = 1 << 16;
const INDEX_SPLIT = 2 ** 30;

/**
 * struct page plus its contents.
 *
 * Size: a Frame is a V8 object of 3 header words + one 8-byte word per
 * field (Node is built without pointer compression), and there is one per
 * resident page, so every field is 8 bytes a page. Fields hold small
 * integers (V8 Smis, stored in the word itself) or pointers: a field that
 * ever holds a number outside int32 becomes a pointer to a boxed double,
 * 16 bytes more per frame. Hence `index` (up to 2^35 for anonymous pages:
 * pgoff is the mapping's address / 4096; below 2^32 for a file's pages,
 * ext4's limit) is a small integer of its low 30 bits and 16 high bits in
 * `bits`, with the flags and the inline word's index. docs/performance.md
 * ("The fault path and the bytes per page") has the sums.
 */
export class Frame {
  /** Page frame number: identity for `frames` grouping. */
  readonly pfn: number;
  /**
   * The contents beyond the inline word: a full page (Uint32Array), two to
   * SPARSE_WORDS non-zero words as [word, value, ...] pairs (number[]), or
   * null. One field for both: a page is never both.
   */
  private c: Uint32Array | number[] | null = null;
  /**
   * A page with one non-zero word (most of a trace's pages: one value
   * written) keeps it inline: its index in `bits` (W0_SHIFT up) and its
   * value here as a signed 32-bit integer (a small integer to V8, so no
   * heap number either). No allocation, no array.
   */
  private v0 = 0;
  /** REFERENCED | DIRTY | (inline word index + 1) << W0_SHIFT | index high part << IX_SHIFT. */
  private bits = 0;
  /** Holders: address_space slots + present ptes, less the ptes of leaves whose counts are deferred. */
  rawRefs = 0;
  /** Present ptes mapping this frame (page_mapcount), less those deferred likewise. */
  rawMapcount = 0;
  /**
   * page->mapping and page->index: the address_space slot that owns this
   * frame (every frame but the zero page has at most one), or null.
   */
  owner: PageOwner | null = null;
  /** The low 30 bits of page->index (the rest is in `bits`). */
  private ixLo = 0;
  /**
   * Identity of the page this frame holds, for telling pages apart in
   * `frames` reports: new for every page made, and carried through swap
   * (a page swapped out and back in is the same page in another frame).
   */
  pageId = 0;

  constructor(pfn: number) {
    this.pfn = pfn;
  }

  /** Holders: address_space slots + present ptes (exact: settles deferred counts). */
  get refs(): number {
    if (unsettled.length !== 0) settleAll();
    return this.rawRefs;
  }

  /** Present ptes mapping this frame, page_mapcount (exact: settles deferred counts). */
  get mapcount(): number {
    if (unsettled.length !== 0) settleAll();
    return this.rawMapcount;
  }

  /** Holders other than ptes (refs - mapcount): exact without settling anything. */
  get nonPteRefs(): number {
    return this.rawRefs - this.rawMapcount;
  }

  /** page->index: the page's offset in its owner (address_space or anon_vma). */
  get index(): number {
    return (this.bits >>> IX_SHIFT) * INDEX_SPLIT + this.ixLo;
  }

  set index(i: number) {
    // `| 0`: V8 stores a double result in a field as a boxed heap number
    // even when it is integral.
    const hi = Math.floor(i / INDEX_SPLIT);
    if (hi < 0 || hi >= IX_HI_LIMIT) throw new RangeError(`page index ${i} out of range`);
    this.bits = (this.bits & ((1 << IX_SHIFT) - 1)) | (hi << IX_SHIFT);
    this.ixLo = (i - hi * INDEX_SPLIT) | 0;
  }

  /** Accessed since the reclaim clock last passed (the pte accessed bit). */
  get referenced(): boolean {
    return (this.bits & REFERENCED) !== 0;
  }

  set referenced(v: boolean) {
    this.bits = v ? this.bits | REFERENCED : this.bits & ~REFERENCED;
  }

  /** Written since it was last read from or written to its file (page cache only). */
  get dirty(): boolean {
    return (this.bits & DIRTY) !== 0;
  }

  set dirty(v: boolean) {
    this.bits = v ? this.bits | DIRTY : this.bits & ~DIRTY;
  }

  /** Contents as a full page; null while the page is all zero or sparse. */
  get data(): Uint32Array | null {
    const c = this.c;
    return c instanceof Uint32Array ? c : null;
  }

  /** The sparse pairs, or null. */
  private get sp(): number[] | null {
    const c = this.c;
    return c instanceof Uint32Array ? null : c;
  }

  /** The inline word's index, or -1. */
  private get w0(): number {
    return ((this.bits & W0_MASK) >> W0_SHIFT) - 1;
  }

  private set w0(w: number) {
    this.bits = (this.bits & ~W0_MASK) | ((w + 1) << W0_SHIFT);
  }

  /**
   * A sparse page's [word, value, ...] pairs, or null (all zero, or a full
   * page). Reading it moves an inline word into an array: for the rare
   * callers outside this file that ask whether a page has sparse contents.
   */
  get sparse(): number[] | null {
    const w0 = this.w0;
    if (w0 >= 0) {
      this.c = [w0, this.v0 >>> 0];
      this.w0 = -1;
    }
    return this.sp;
  }

  set sparse(v: number[] | null) {
    this.c = v;
    this.w0 = -1;
  }

  read(word: number): number {
    const b = this.bits;
    this.bits = b | REFERENCED;
    const c = this.c;
    if (c === null) return ((b & W0_MASK) >> W0_SHIFT) - 1 === word ? this.v0 >>> 0 : 0;
    if (c instanceof Uint32Array) return c[word]!;
    for (let i = 0; i < c.length; i += 2) if (c[i] === word) return c[i + 1]!;
    return 0;
  }

  write(word: number, val: number): void {
    const b = this.bits | REFERENCED | DIRTY;
    this.bits = b;
    const sp = this.c;
    if (sp instanceof Uint32Array) {
      sp[word] = val;
      return;
    }
    if (sp === null) {
      const w0 = ((b & W0_MASK) >> W0_SHIFT) - 1;
      if (w0 === word) {
        this.v0 = val | 0;
      } else if (w0 < 0) {
        if (val !== 0) {
          this.bits = (b & ~W0_MASK) | ((word + 1) << W0_SHIFT);
          this.v0 = val | 0;
        }
      } else if (val !== 0) {
        this.c = [w0, this.v0 >>> 0, word, val];
        this.bits = b & ~W0_MASK;
      }
      return;
    }
    for (let i = 0; i < sp.length; i += 2) {
      if (sp[i] === word) {
        sp[i + 1] = val;
        return;
      }
    }
    if (val === 0) return;
    if (sp.length < 2 * SPARSE_WORDS) {
      sp.push(word, val);
      return;
    }
    this.full()[word] = val;
  }

  /** The contents as a full page, converting a sparse page (allocates, unless a spare page is at hand). */
  full(): Uint32Array {
    const sp = this.c;
    if (sp instanceof Uint32Array) return sp;
    const d = pageData();
    this.c = d;
    if (sp !== null) {
      for (let i = 0; i < sp.length; i += 2) d[sp[i]!] = sp[i + 1]!;
    } else {
      const w0 = this.w0;
      if (w0 >= 0) {
        d[w0] = this.v0 >>> 0;
        this.w0 = -1;
      }
    }
    return d;
  }

  /** A copy of the contents, for swap or a file's disk. */
  image(): PageImage {
    const c = this.c;
    if (c !== null) return c.slice();
    const w0 = this.w0;
    return w0 >= 0 ? [w0, this.v0 >>> 0] : null;
  }

  /** Set the contents to a copy of `img`. */
  load(img: PageImage): void {
    this.clear();
    if (img === null) return;
    if (img instanceof Uint32Array) this.full().set(img);
    else if (img.length === 2) {
      this.w0 = img[0]!;
      this.v0 = img[1]! | 0;
    } else this.c = img.slice();
  }

  copyFrom(src: Frame): void {
    const c = src.c;
    if (c instanceof Uint32Array) this.full().set(c);
    else {
      this.clear();
      if (c !== null) this.c = c.slice();
      else {
        const w0 = src.w0;
        if (w0 >= 0) {
          this.w0 = w0;
          this.v0 = src.v0;
        }
      }
    }
  }

  /** Make the contents all zero, giving a full page's storage back for reuse. */
  clear(): void {
    const c = this.c;
    if (c instanceof Uint32Array && spares.length < SPARES_MAX) {
      c.fill(0);
      spares.push(c);
    }
    this.c = null;
    this.w0 = -1;
  }
}

/** The word at `word` of a page image. */
export function imageRead(img: PageImage, word: number): number {
  if (img === null) return 0;
  if (img instanceof Uint32Array) return img[word]!;
  for (let i = 0; i < img.length; i += 2) if (img[i] === word) return img[i + 1]!;
  return 0;
}

/** A page image as a full page (a copy for a sparse image). */
export function imageFull(img: PageImage): Uint32Array {
  if (img instanceof Uint32Array) return img;
  const d = new Uint32Array(PAGE_WORDS);
  if (img !== null) for (let i = 0; i < img.length; i += 2) d[img[i]!] = img[i + 1]!;
  return d;
}

/** Something whose deferred frame counts can be made exact (a shared page-table leaf). */
export interface DeferredCounts {
  /** Whether counts are still short (false once settled, or once nothing maps it any more). */
  readonly short: boolean;
  /** Make the counts exact; the allocator no longer lists it afterwards. */
  settle(): void;
}

/**
 * Allocators with deferred counts; reading any frame's counts settles them
 * all (a frame does not know its allocator: one field less per page). Weak,
 * so that a machine dropped with deferred counts is not kept alive.
 */
const unsettled: WeakRef<FrameAllocator>[] = [];

function settleAll(): void {
  for (let r = unsettled.pop(); r !== undefined; r = unsettled.pop()) r.deref()?.settle();
}

/** Thrown when memory is bounded and nothing more can be freed. */
export class OutOfMemoryError extends Error {
  constructor(detail: string) {
    super(`out of memory: ${detail}`);
    this.name = 'OutOfMemoryError';
  }
}

export class FrameAllocator {
  /** The shared zero page: mapped read-only for reads of untouched private anonymous memory. */
  readonly zero: Frame;
  private nextPfn = 1;
  private nextPageId = 1;
  /** Freed frames, recycled by alloc(). */
  private readonly free: Frame[] = [];
  /** Every frame ever created, by pfn (the reclaim clock walks it). */
  readonly byPfn: Frame[] = [];
  /** Physical memory size in frames (Infinity: unbounded). */
  capacity = Infinity;
  /** Where reclaim puts anonymous and shm pages. */
  readonly swap = new SwapDevice();
  /** Frames currently allocated (zero page excluded). */
  inUse = 0;
  peak = 0;
  allocated = 0;

  /** What has deferred counts (see the file's header); settled all at once. */
  private readonly deferred: DeferredCounts[] = [];
  /** The list's length at which it is next compacted. */
  private compactAt = 4096;
  /** This allocator's entry in `unsettled`, if it is there. */
  private self: WeakRef<FrameAllocator> | null = null;

  constructor() {
    this.zero = new Frame(0);
    this.zero.rawRefs = 1; // never freed
  }

  /**
   * Note that `d` holds counts short of the truth until settled. `d` may
   * stop being short before that (the processes sharing it exit): the list
   * drops such entries when it has doubled since it was last compacted, so
   * it stays within twice what is really short, whatever the trace's length.
   * A dropped entry is settled all the same (nothing to add: it only learns
   * it is off the list, so that a later fork lists it again).
   */
  defer(d: DeferredCounts): void {
    const list = this.deferred;
    if (this.self === null) {
      this.self = new WeakRef(this);
      unsettled.push(this.self);
    }
    list.push(d);
    if (list.length >= this.compactAt) {
      let n = 0;
      for (let i = 0; i < list.length; i++) {
        const e = list[i]!;
        if (e.short) list[n++] = e;
        else e.settle();
      }
      list.length = n;
      this.compactAt = Math.max(4096, 2 * n);
    }
  }

  /** Make every deferred count exact. */
  settle(): void {
    const d = this.deferred;
    for (let i = 0; i < d.length; i++) d[i]!.settle();
    d.length = 0;
    this.compactAt = 4096;
    if (this.self !== null) {
      const at = unsettled.indexOf(this.self);
      if (at >= 0) unsettled.splice(at, 1);
      this.self = null;
    }
  }

  /** A frame with zero contents and no references. */
  alloc(): Frame {
    if (this.inUse >= this.capacity) {
      // Callers reserve() before they allocate; reaching here is a bug.
      throw new Error('frame allocation beyond a reservation');
    }
    let f = this.free.pop();
    if (f === undefined) {
      f = new Frame(this.nextPfn++);
      this.byPfn[f.pfn] = f;
    }
    f.referenced = true;
    f.dirty = false;
    f.pageId = this.nextPageId++;
    this.allocated++;
    if (++this.inUse > this.peak) this.peak = this.inUse;
    return f;
  }

  /** Frames that can be allocated without reclaiming. */
  get available(): number {
    return this.capacity - this.inUse;
  }

  /** Take a reference. */
  get(f: Frame): void {
    f.rawRefs++;
  }

  /** Drop a reference; the frame is freed when nothing holds it. */
  put(f: Frame): void {
    if (--f.rawRefs === 0) {
      if (f === this.zero) throw new Error('zero page refcount underflow');
      f.clear();
      f.rawMapcount = 0;
      f.owner = null;
      this.free.push(f);
      this.inUse--;
    } else if (f.rawRefs < 0) {
      throw new Error(`frame ${f.pfn} refcount underflow`);
    }
  }
}
