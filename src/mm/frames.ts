// Physical memory: page frames and the shared zero page.
//
// A frame is a page frame number (pfn): a small integer, with struct page
// and the page's contents kept by its FrameAllocator in arrays indexed by
// pfn ("struct of arrays"), as the kernel keeps struct pages in mem_map.
// A resident page is then a few array slots and not a JS object: faulting
// a page in allocates nothing in the steady state, a page costs ~44 bytes
// of host memory instead of a ~96-byte object (docs/performance.md), and
// every reader goes through the allocator (`frames.refs(f)`,
// `frames.read(f, word)`), which owns the frame's state.
//
// pfn 0 is the shared zero page; frames are numbered from 1 in the order
// they are first allocated, and freed pfns are reused last-freed first.
// Since 0 is a frame, code holding a `Frame | null` must test it against
// null, never for truthiness.
//
// Contents are allocated lazily: a frame reads as zeros until something
// non-zero is stored in it. One non-zero word is kept inline (its index in
// the frame's bits, its value in `v0`); two to SPARSE_WORDS words as
// [word, value, ...] pairs; more as a full page. Full pages live in slabs
// of SLAB_PAGES pages (one ArrayBuffer each) rather than one ArrayBuffer
// per page; freed frames give their full pages to a pool of zeroed pages
// that full() takes from first.
//
// Reference counting: `refs` counts every holder of the frame — each page
// cache / address_space slot that holds it and each present pte that maps
// it (the kernel's page refcount; our pte count is its mapcount, kept
// separately so rmap checks can compare it with a walk). A frame returns to
// the allocator when `refs` drops to zero. The zero page is never freed.
//
// Deferred counts: fork shares page-table leaves between parent and child
// instead of copying every pte (pagetable.ts), so the per-pte reference
// each process would hold is not taken at fork. The raw counts are then
// short of the truth, and the allocator knows it (`defer`). Reading
// `refs(f)` or `mapcount(f)` settles every deferred count first, so every
// reader sees exact counts; only the page table and this file touch the
// raw ones. `refs - mapcount` (holders other than ptes) is exact at any
// time, since a pte holds one of each: the copy-or-reuse test of a write
// fault reads that (`nonPteRefs`), and settles nothing.

import type { PageOwner } from './address-space.js';
import { PAGE_WORDS } from './constants.js';
import { SwapDevice } from './swap.js';

/**
 * A page frame number. Branded so that an index or an address is not
 * passed for a frame by mistake; only this file and the page table (which
 * stores pfns in typed arrays) make one from a number.
 */
export type Frame = number & { readonly __pfn: unique symbol };

/** The shared zero page's pfn. */
export const ZERO_PFN = 0 as Frame;

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

// A frame's bits: the two page flags, the inline word's index and the high
// part of page->index, in one 32-bit word (page->flags). page->index goes
// up to 2^35 for anonymous pages (pgoff is the mapping's address / 4096),
// so it is split: its low 30 bits in `ixLo`, 16 high bits here.
const REFERENCED = 1;
const DIRTY = 2;
/** (bits & W0_MASK) >> W0_SHIFT is the inline word's index + 1 (0: no inline word). */
const W0_SHIFT = 2;
const W0_MASK = 0x7ff << W0_SHIFT; // 11 bits: 0..PAGE_WORDS
/** page->index = (bits >>> IX_SHIFT) * INDEX_SPLIT + ixLo. */
const IX_SHIFT = 13;
const IX_HI_LIMIT = 1 << 16;
const INDEX_SPLIT = 2 ** 30;

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
  /** Make the counts exact (through `frames.mapped`); the allocator no longer lists it afterwards. */
  settle(frames: FrameAllocator): void;
}

/** Thrown when memory is bounded and nothing more can be freed. */
export class OutOfMemoryError extends Error {
  constructor(detail: string) {
    super(`out of memory: ${detail}`);
    this.name = 'OutOfMemoryError';
  }
}

// A frame's words in its segment (FrameAllocator.words), struct page's
// fields. Int32: V8 keeps no boxed numbers in typed arrays, and 4 bytes a
// field a page is the point.
/** Holders: address_space slots + present ptes, less the ptes of leaves whose counts are deferred. */
const REFS = 0;
/** Present ptes mapping the frame (page_mapcount), less those deferred likewise. */
const MAP = 1;
/** REFERENCED | DIRTY | (inline word index + 1) << W0_SHIFT | index high part << IX_SHIFT. */
const BITS = 2;
/** The inline word's value (as int32). */
const V0 = 3;
/** The low 30 bits of page->index. */
const IXLO = 4;
/**
 * Contents beyond the inline word (a full page, or two to SPARSE_WORDS
 * [word, value, ...] pairs; a page is never both): 0 for none, else the
 * id of its `extras` entry. Most pages have none, so a 4-byte slot a frame
 * and a side table beat an 8-byte pointer a frame (and a collector
 * scanning a million nulls).
 */
const CIX = 5;
/**
 * page->mapping (with the index): the address_space slot or anon
 * structure that owns the frame (every frame but the zero page has at
 * most one), as the id of its `owners` entry, 0 for none.
 */
const OWNER = 6;
const STRIDE = 7;
// PAGE_ID, in a Float64Array of its own a segment (it outgrows int32):
// identity of the page the frame holds, for telling pages apart in
// `frames` reports: new for every page made, and carried through swap (a
// page swapped out and back in is the same page in another frame).

/**
 * A side table: values by id (1, 2, ...; 0 stands for none in a frame's
 * word), ids of removed values reused. What a frame's CIX and OWNER words
 * name.
 */
class SideTable<T> {
  private readonly values: (T | null)[] = [];
  private readonly free: number[] = [];

  /** Store v under a new id. */
  add(v: T): number {
    const k = this.free.pop();
    if (k === undefined) return this.values.push(v);
    this.values[k - 1] = v;
    return k;
  }

  get(id: number): T {
    return this.values[id - 1]!;
  }

  set(id: number, v: T): void {
    this.values[id - 1] = v;
  }

  remove(id: number): void {
    this.values[id - 1] = null;
    this.free.push(id);
  }

  /** Ids in use. */
  get size(): number {
    return this.values.length - this.free.length;
  }
}

/** Frames a segment: 4096 x 36 bytes. */
const SEG_SHIFT = 12;
const SEG_FRAMES = 1 << SEG_SHIFT;
const SEG_MASK = SEG_FRAMES - 1;

export class FrameAllocator {
  /** The shared zero page: mapped read-only for reads of untouched private anonymous memory. */
  readonly zero: Frame = ZERO_PFN;
  /** The next pfn never allocated: every frame is below it. */
  private nextPfn = 1;
  private nextPageId = 1;
  /**
   * Freed frames, recycled by alloc() last freed first: a list linked
   * through the free frames' IXLO words (a free frame has no index), 0 for
   * the end (pfn 0, the zero page, is never free). A JS array here grew
   * by copying as a million frames were freed at exit: tens of MB of
   * garbage at the end of a run.
   */
  private freeHead = 0;
  /** Physical memory size in frames (Infinity: unbounded). */
  capacity = Infinity;
  /** Where reclaim puts anonymous and shm pages. */
  readonly swap = new SwapDevice();
  /** Frames currently allocated (zero page excluded). */
  inUse = 0;
  peak = 0;
  allocated = 0;

  /**
   * struct page, by pfn: segments of SEG_FRAMES frames, each an Int32Array
   * of STRIDE words a frame (the fields below) and a Float64Array of page
   * ids. Segments are added as pfns are first used and never copied or
   * freed, so the arrays cost what the frames ever allocated cost, with no
   * slack past the last segment and no copy (and no transient second copy
   * in the process's memory) as they grow.
   */
  private readonly words: Int32Array[] = [];
  private readonly pids: Float64Array[] = [];
  /** Contents beyond the inline word, by the id in a frame's CIX word. */
  private readonly extras = new SideTable<Uint32Array | number[]>();
  /**
   * The owners frames name, so that a frame names one in 4 bytes (its
   * OWNER word) rather than with an 8-byte pointer; each entry counts the
   * frames naming it (`ownerUses`, by id) and is removed with the last.
   * `ownerIds` finds an owner's id; `lastOwner` spares that Map lookup for
   * a run of faults into one owner.
   */
  private readonly owners = new SideTable<PageOwner>();
  private readonly ownerUses: number[] = [];
  private readonly ownerIds = new Map<PageOwner, number>();
  private lastOwner: PageOwner | null = null;
  private lastOwnerId = 0;

  /** What has deferred counts (see the file's header); settled all at once. */
  private readonly deferred: DeferredCounts[] = [];
  /** The list's length at which it is next compacted. */
  private compactAt = 4096;

  constructor() {
    this.addSegment();
    this.words[0]![ZERO_PFN * STRIDE + REFS] = 1; // never freed
  }

  /** One past the highest pfn ever allocated (the reclaim clock's circle; 1 when none was). */
  get pfnEnd(): number {
    return this.nextPfn;
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
    list.push(d);
    if (list.length >= this.compactAt) {
      let n = 0;
      for (let i = 0; i < list.length; i++) {
        const e = list[i]!;
        if (e.short) list[n++] = e;
        else e.settle(this);
      }
      list.length = n;
      this.compactAt = Math.max(4096, 2 * n);
    }
  }

  /** Make every deferred count exact. */
  settle(): void {
    const d = this.deferred;
    for (let i = 0; i < d.length; i++) d[i]!.settle(this);
    d.length = 0;
    this.compactAt = 4096;
  }

  /** Add the segment holding the next pfns. */
  private addSegment(): void {
    this.words.push(new Int32Array(SEG_FRAMES * STRIDE));
    this.pids.push(new Float64Array(SEG_FRAMES));
  }

  /** A frame with zero contents and no references. */
  alloc(): Frame {
    if (this.inUse >= this.capacity) {
      // Callers reserve() before they allocate; reaching here is a bug.
      throw new Error('frame allocation beyond a reservation');
    }
    let f: Frame;
    if (this.freeHead !== 0) {
      f = this.freeHead as Frame;
      this.freeHead = this.words[f >>> SEG_SHIFT]![(f & SEG_MASK) * STRIDE + IXLO]!;
    } else {
      f = this.nextPfn++ as Frame;
      if (f >>> SEG_SHIFT === this.words.length) this.addSegment();
    }
    // Freed frames were cleared (put): contents, counts and owner are
    // empty; the flags and the index are set afresh.
    const w = this.words[f >>> SEG_SHIFT]!;
    const o = (f & SEG_MASK) * STRIDE;
    w[o + BITS] = (w[o + BITS]! & ((1 << IX_SHIFT) - 1) & ~(REFERENCED | DIRTY)) | REFERENCED;
    w[o + IXLO] = 0;
    this.pids[f >>> SEG_SHIFT]![f & SEG_MASK] = this.nextPageId++;
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
    const w = this.words[f >>> SEG_SHIFT]!;
    const o = (f & SEG_MASK) * STRIDE;
    w[o + REFS] = w[o + REFS]! + 1;
  }

  /** Drop a reference; the frame is freed when nothing holds it. */
  put(f: Frame): void {
    const w = this.words[f >>> SEG_SHIFT]!;
    const o = (f & SEG_MASK) * STRIDE;
    const r = w[o + REFS]! - 1;
    w[o + REFS] = r;
    if (r === 0) {
      if (f === ZERO_PFN) throw new Error('zero page refcount underflow');
      this.clear(f);
      w[o + MAP] = 0;
      this.setOwner(f, null);
      w[o + IXLO] = this.freeHead;
      this.freeHead = f;
      this.inUse--;
    } else if (r < 0) {
      throw new Error(`frame ${f} refcount underflow`);
    }
  }

  /** `n` ptes now map f (the page table's side of set and settle): n refs and n mapcounts. */
  mapped(f: Frame, n: number): void {
    const w = this.words[f >>> SEG_SHIFT]!;
    const o = (f & SEG_MASK) * STRIDE;
    w[o + REFS] = w[o + REFS]! + n;
    w[o + MAP] = w[o + MAP]! + n;
  }

  /** One pte no longer maps f: a mapcount and a reference go (freeing f with its last). */
  unmapped(f: Frame): void {
    const w = this.words[f >>> SEG_SHIFT]!;
    const o = (f & SEG_MASK) * STRIDE;
    w[o + MAP] = w[o + MAP]! - 1;
    const r = w[o + REFS]! - 1;
    // Most unmaps leave other holders (the page cache, a space, other
    // ptes): just the two decrements; put() for the last reference.
    if (r > 0) w[o + REFS] = r;
    else this.put(f);
  }

  /** Holders: address_space slots + present ptes (exact: settles deferred counts). */
  refs(f: Frame): number {
    const w = this.words[f >>> SEG_SHIFT]!;
    const o = (f & SEG_MASK) * STRIDE;
    if (this.deferred.length !== 0) this.settle();
    return w[o + REFS]!;
  }

  /** Present ptes mapping f, page_mapcount (exact: settles deferred counts). */
  mapcount(f: Frame): number {
    const w = this.words[f >>> SEG_SHIFT]!;
    const o = (f & SEG_MASK) * STRIDE;
    if (this.deferred.length !== 0) this.settle();
    return w[o + MAP]!;
  }

  /** Holders other than ptes (refs - mapcount): exact without settling anything. */
  nonPteRefs(f: Frame): number {
    const w = this.words[f >>> SEG_SHIFT]!;
    const o = (f & SEG_MASK) * STRIDE;
    return w[o + REFS]! - w[o + MAP]!;
  }

  /** The raw (possibly short) counts, for the page table's invariant checks only. */
  rawRefs(f: Frame): number {
    const w = this.words[f >>> SEG_SHIFT]!;
    const o = (f & SEG_MASK) * STRIDE;
    return w[o + REFS]!;
  }

  rawMapcount(f: Frame): number {
    const w = this.words[f >>> SEG_SHIFT]!;
    const o = (f & SEG_MASK) * STRIDE;
    return w[o + MAP]!;
  }

  /** Whether f is allocated (held by something); the zero page always is. */
  inUseFrame(f: Frame): boolean {
    const w = this.words[f >>> SEG_SHIFT]!;
    const o = (f & SEG_MASK) * STRIDE;
    return w[o + REFS]! > 0;
  }

  /**
   * For checkers: entries in use in the owner table and in the contents
   * side table (each must be exactly what live frames name).
   */
  tableUse(): { owners: number; extras: number } {
    return { owners: this.owners.size, extras: this.extras.size };
  }

  /** page->mapping: the slot that owns f, or null. */
  owner(f: Frame): PageOwner | null {
    const w = this.words[f >>> SEG_SHIFT]!;
    const o = (f & SEG_MASK) * STRIDE;
    const x = w[o + OWNER]!;
    return x === 0 ? null : this.owners.get(x);
  }

  setOwner(f: Frame, owner: PageOwner | null): void {
    const w = this.words[f >>> SEG_SHIFT]!;
    const o = (f & SEG_MASK) * STRIDE;
    const was = w[o + OWNER]!;
    let x = 0;
    if (owner !== null) {
      if (owner === this.lastOwner) x = this.lastOwnerId;
      else {
        let id = this.ownerIds.get(owner);
        if (id === undefined) {
          id = this.owners.add(owner);
          this.ownerUses[id] = 0;
          this.ownerIds.set(owner, id);
        }
        x = id;
        this.lastOwner = owner;
        this.lastOwnerId = id;
      }
    }
    if (x === was) return;
    if (x !== 0) this.ownerUses[x] = this.ownerUses[x]! + 1;
    w[o + OWNER] = x;
    if (was !== 0 && --this.ownerUses[was]! === 0) {
      // The last frame naming it: free the entry (an owner that dies is
      // not kept alive by the table).
      const gone = this.owners.get(was);
      this.ownerIds.delete(gone);
      this.owners.remove(was);
      if (this.lastOwner === gone) this.lastOwner = null;
    }
  }

  /** page->index: f's offset in its owner (address_space or anon_vma). */
  index(f: Frame): number {
    const w = this.words[f >>> SEG_SHIFT]!;
    const o = (f & SEG_MASK) * STRIDE;
    return (w[o + BITS]! >>> IX_SHIFT) * INDEX_SPLIT + w[o + IXLO]!;
  }

  setIndex(f: Frame, i: number): void {
    const w = this.words[f >>> SEG_SHIFT]!;
    const o = (f & SEG_MASK) * STRIDE;
    const hi = Math.floor(i / INDEX_SPLIT);
    if (hi < 0 || hi >= IX_HI_LIMIT) throw new RangeError(`page index ${i} out of range`);
    w[o + BITS] = (w[o + BITS]! & ((1 << IX_SHIFT) - 1)) | (hi << IX_SHIFT);
    w[o + IXLO] = (i - hi * INDEX_SPLIT) | 0;
  }

  /** Identity of the page f holds (see PAGE_ID). */
  pageId(f: Frame): number {
    return this.pids[f >>> SEG_SHIFT]![f & SEG_MASK]!;
  }

  setPageId(f: Frame, id: number): void {
    this.pids[f >>> SEG_SHIFT]![f & SEG_MASK] = id;
  }

  /** Accessed since the reclaim clock last passed (the pte accessed bit). */
  referenced(f: Frame): boolean {
    return this.flag(f, REFERENCED);
  }

  setReferenced(f: Frame, v: boolean): void {
    this.setFlag(f, REFERENCED, v);
  }

  /** Written since it was last read from or written to its file (page cache only). */
  dirty(f: Frame): boolean {
    return this.flag(f, DIRTY);
  }

  setDirty(f: Frame, v: boolean): void {
    this.setFlag(f, DIRTY, v);
  }

  private flag(f: Frame, bit: number): boolean {
    const w = this.words[f >>> SEG_SHIFT]!;
    const o = (f & SEG_MASK) * STRIDE;
    return (w[o + BITS]! & bit) !== 0;
  }

  private setFlag(f: Frame, bit: number, v: boolean): void {
    const w = this.words[f >>> SEG_SHIFT]!;
    const o = (f & SEG_MASK) * STRIDE;
    w[o + BITS] = v ? w[o + BITS]! | bit : w[o + BITS]! & ~bit;
  }

  /** f's contents beyond the inline word, or null. */
  private contentsOf(f: Frame): Uint32Array | number[] | null {
    const w = this.words[f >>> SEG_SHIFT]!;
    const o = (f & SEG_MASK) * STRIDE;
    const x = w[o + CIX]!;
    return x === 0 ? null : this.extras.get(x);
  }

  private setContents(f: Frame, c: Uint32Array | number[] | null): void {
    const w = this.words[f >>> SEG_SHIFT]!;
    const o = (f & SEG_MASK) * STRIDE;
    const x = w[o + CIX]!;
    if (c === null) {
      if (x === 0) return;
      this.extras.remove(x);
      w[o + CIX] = 0;
    } else if (x !== 0) {
      this.extras.set(x, c);
    } else {
      w[o + CIX] = this.extras.add(c);
    }
  }

  /** Whether f holds anything but zeros (it may still read as zeros where a zero was stored). */
  hasContents(f: Frame): boolean {
    const w = this.words[f >>> SEG_SHIFT]!;
    const o = (f & SEG_MASK) * STRIDE;
    return w[o + CIX] !== 0 || (w[o + BITS]! & W0_MASK) !== 0;
  }

  /** Load the word at `word` of f (marks it referenced). */
  read(f: Frame, word: number): number {
    const w = this.words[f >>> SEG_SHIFT]!;
    const o = (f & SEG_MASK) * STRIDE;
    const b = w[o + BITS]!;
    w[o + BITS] = b | REFERENCED;
    // Most frames hold at most the one inline word: no side table then.
    const x = w[o + CIX]!;
    if (x === 0) return ((b & W0_MASK) >> W0_SHIFT) - 1 === word ? w[o + V0]! >>> 0 : 0;
    const c = this.extras.get(x);
    if (c instanceof Uint32Array) return c[word]!;
    for (let i = 0; i < c.length; i += 2) if (c[i] === word) return c[i + 1]!;
    return 0;
  }

  /** Store `val` at `word` of f (marks it referenced and dirty). */
  write(f: Frame, word: number, val: number): void {
    const w = this.words[f >>> SEG_SHIFT]!;
    const o = (f & SEG_MASK) * STRIDE;
    const b = w[o + BITS]! | REFERENCED | DIRTY;
    w[o + BITS] = b;
    const x = w[o + CIX]!;
    if (x === 0) {
      // At most the one inline word so far (most frames).
      const w0 = ((b & W0_MASK) >> W0_SHIFT) - 1;
      if (w0 === word) {
        w[o + V0] = val;
      } else if (w0 < 0) {
        if (val !== 0) {
          w[o + BITS] = (b & ~W0_MASK) | ((word + 1) << W0_SHIFT);
          w[o + V0] = val;
        }
      } else if (val !== 0) {
        this.setContents(f, [w0, w[o + V0]! >>> 0, word, val]);
        w[o + BITS] = b & ~W0_MASK;
      }
      return;
    }
    const sp = this.extras.get(x);
    if (sp instanceof Uint32Array) {
      sp[word] = val;
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
    this.full(f)[word] = val;
  }

  /** f's contents as a full page, converting a sparse page (allocates, unless a spare page is at hand). */
  full(f: Frame): Uint32Array {
    const w = this.words[f >>> SEG_SHIFT]!;
    const o = (f & SEG_MASK) * STRIDE;
    const sp = this.contentsOf(f);
    if (sp instanceof Uint32Array) return sp;
    const d = pageData();
    this.setContents(f, d);
    if (sp !== null) {
      for (let i = 0; i < sp.length; i += 2) d[sp[i]!] = sp[i + 1]!;
    } else {
      const b = w[o + BITS]!;
      const w0 = ((b & W0_MASK) >> W0_SHIFT) - 1;
      if (w0 >= 0) {
        d[w0] = w[o + V0]! >>> 0;
        w[o + BITS] = b & ~W0_MASK;
      }
    }
    return d;
  }

  /** A copy of f's contents, for swap or a file's disk. */
  image(f: Frame): PageImage {
    const w = this.words[f >>> SEG_SHIFT]!;
    const o = (f & SEG_MASK) * STRIDE;
    const c = this.contentsOf(f);
    if (c !== null) return c.slice();
    const w0 = ((w[o + BITS]! & W0_MASK) >> W0_SHIFT) - 1;
    return w0 >= 0 ? [w0, w[o + V0]! >>> 0] : null;
  }

  /** Set f's contents to a copy of `img`. */
  load(f: Frame, img: PageImage): void {
    const w = this.words[f >>> SEG_SHIFT]!;
    const o = (f & SEG_MASK) * STRIDE;
    this.clear(f);
    if (img === null) return;
    if (img instanceof Uint32Array) this.full(f).set(img);
    else if (img.length === 2) {
      w[o + BITS] = (w[o + BITS]! & ~W0_MASK) | ((img[0]! + 1) << W0_SHIFT);
      w[o + V0] = img[1]!;
    } else this.setContents(f, img.slice());
  }

  /** Copy src's contents into dst (a COW copy). */
  copy(dst: Frame, src: Frame): void {
    // Onto itself: nothing to do (and clearing dst first would lose an
    // inline word before it is read).
    if (dst === src) return;
    const ws = this.words[src >>> SEG_SHIFT]!;
    const os = (src & SEG_MASK) * STRIDE;
    const wd = this.words[dst >>> SEG_SHIFT]!;
    const od = (dst & SEG_MASK) * STRIDE;
    const c = this.contentsOf(src);
    if (c instanceof Uint32Array) this.full(dst).set(c);
    else {
      this.clear(dst);
      if (c !== null) this.setContents(dst, c.slice());
      else {
        const b = ws[os + BITS]!;
        if ((b & W0_MASK) !== 0) {
          wd[od + BITS] = (wd[od + BITS]! & ~W0_MASK) | (b & W0_MASK);
          wd[od + V0] = ws[os + V0]!;
        }
      }
    }
  }

  /** Make f's contents all zero, giving a full page's storage back for reuse. */
  clear(f: Frame): void {
    const w = this.words[f >>> SEG_SHIFT]!;
    const o = (f & SEG_MASK) * STRIDE;
    const c = this.contentsOf(f);
    if (c instanceof Uint32Array && spares.length < SPARES_MAX) {
      c.fill(0);
      spares.push(c);
    }
    this.setContents(f, null);
    w[o + BITS] = w[o + BITS]! & ~W0_MASK;
  }
}
