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

import { PAGE_WORDS } from './constants.js';

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

  constructor(pfn: number) {
    this.pfn = pfn;
  }

  read(word: number): number {
    const d = this.data;
    return d === null ? 0 : d[word]!;
  }

  write(word: number, val: number): void {
    let d = this.data;
    if (d === null) {
      if (val === 0) return;
      d = this.data = this.spare ?? pageData();
      this.spare = null;
    }
    d[word] = val;
  }

  copyFrom(src: Frame): void {
    if (src.data === null) {
      this.clear();
      return;
    }
    let d = this.data;
    if (d === null) {
      d = this.data = this.spare ?? pageData();
      this.spare = null;
    }
    d.set(src.data);
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

export class FrameAllocator {
  /** The shared zero page: mapped read-only for reads of untouched private anonymous memory. */
  readonly zero: Frame;
  private nextPfn = 1;
  /** Freed frames, recycled by alloc(). */
  private readonly free: Frame[] = [];
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
    const f = this.free.pop() ?? new Frame(this.nextPfn++);
    this.allocated++;
    if (++this.inUse > this.peak) this.peak = this.inUse;
    return f;
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
      this.free.push(f);
      this.inUse--;
    } else if (f.refs < 0) {
      throw new Error(`frame ${f.pfn} refcount underflow`);
    }
  }
}
