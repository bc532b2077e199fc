// Physical memory: page frames and the shared zero page.
//
// A Frame is struct page plus its contents. Contents are allocated lazily:
// a frame whose `data` is null reads as zeros, so allocating a frame for a
// freshly zeroed page costs no host memory until something non-zero is
// stored in it.
//
// Contents live in slabs of SLAB_PAGES pages (one ArrayBuffer each) rather
// than one ArrayBuffer per page, and freed frames — struct and contents —
// are recycled, so faulting pages in allocates nothing in the steady state.
//
// Reference counting: `refs` counts every holder of the frame — each page
// cache / address_space slot that holds it and each present pte that maps
// it (the kernel's page refcount; our pte count is its mapcount, kept
// separately so rmap checks can compare it with a walk). A frame returns to
// the allocator when `refs` drops to zero. The zero page is never freed.

import type { PageOwner } from './address-space.js';
import { PAGE_WORDS } from './constants.js';
import { SwapDevice } from './swap.js';

const SLAB_PAGES = 256;
let slab: Uint32Array | null = null;
let slabNext = SLAB_PAGES;

/** A zeroed page of contents, carved from the current slab. */
function pageData(): Uint32Array {
  if (slabNext === SLAB_PAGES) {
    slab = new Uint32Array(SLAB_PAGES * PAGE_WORDS);
    slabNext = 0;
  }
  const at = slabNext++ * PAGE_WORDS;
  return slab!.subarray(at, at + PAGE_WORDS);
}

export class Frame {
  /** Page frame number: identity for `frames` grouping. */
  readonly pfn: number;
  /** Contents; null while all zero. */
  data: Uint32Array | null = null;
  /** Zeroed contents kept from an earlier life of this frame, reused on the first write. */
  spare: Uint32Array | null = null;
  /** Holders: address_space slots + present ptes. */
  refs = 0;
  /** Present ptes mapping this frame (page_mapcount). */
  mapcount = 0;
  /**
   * page->mapping and page->index: the address_space slot that owns this
   * frame (every frame but the zero page has at most one), or null.
   */
  owner: PageOwner | null = null;
  index = 0;
  /**
   * Identity of the page this frame holds, for telling pages apart in
   * `frames` reports: new for every page made, and carried through swap
   * (a page swapped out and back in is the same page in another frame).
   */
  pageId = 0;
  /** Accessed since the reclaim clock last passed (the pte accessed bit). */
  referenced = false;
  /** Written since it was last read from or written to its file (page cache only). */
  dirty = false;

  constructor(pfn: number) {
    this.pfn = pfn;
  }

  read(word: number): number {
    this.referenced = true;
    const d = this.data;
    return d === null ? 0 : d[word]!;
  }

  write(word: number, val: number): void {
    this.referenced = true;
    this.dirty = true;
    let d = this.data;
    if (d === null) {
      if (val === 0) return;
      d = this.data = this.spare ?? pageData();
      this.spare = null;
    }
    d[word] = val;
  }

  copyFrom(src: Frame): void {
    this.copyData(src.data);
  }

  /** Set the contents to a copy of `data` (null: zeros). */
  copyData(data: Uint32Array | null): void {
    if (data === null) {
      this.clear();
      return;
    }
    let d = this.data;
    if (d === null) {
      d = this.data = this.spare ?? pageData();
      this.spare = null;
    }
    d.set(data);
  }

  /** Make the contents all zero, keeping the storage for reuse. */
  clear(): void {
    const d = this.data;
    if (d !== null) {
      d.fill(0);
      this.spare = d;
      this.data = null;
    }
  }
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

  constructor() {
    this.zero = new Frame(0);
    this.zero.refs = 1; // never freed
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
    f.refs++;
  }

  /** Drop a reference; the frame is freed when nothing holds it. */
  put(f: Frame): void {
    if (--f.refs === 0) {
      if (f === this.zero) throw new Error('zero page refcount underflow');
      f.clear();
      f.mapcount = 0;
      f.owner = null;
      this.free.push(f);
      this.inUse--;
    } else if (f.refs < 0) {
      throw new Error(`frame ${f.pfn} refcount underflow`);
    }
  }
}
