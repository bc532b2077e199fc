// Physical memory: page frames and the shared zero page.
//
// A Frame is struct page plus its contents. Contents are allocated lazily:
// a frame whose `data` is null reads as zeros, so allocating a frame for a
// freshly zeroed page costs no host memory until something non-zero is
// stored in it.
//
// Reference counting: `refs` counts every holder of the frame — each page
// cache / address_space slot that holds it and each present pte that maps
// it (the kernel's page refcount; our pte count is its mapcount, kept
// separately so rmap checks can compare it with a walk). A frame returns to
// the allocator when `refs` drops to zero. The zero page is never freed.

import { PAGE_WORDS } from './constants.js';

export class Frame {
  /** Page frame number: identity for `frames` grouping. */
  readonly pfn: number;
  data: Uint32Array | null = null;
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
      d = this.data = new Uint32Array(PAGE_WORDS);
    }
    d[word] = val;
  }

  copyFrom(src: Frame): void {
    this.data = src.data === null ? null : src.data.slice();
  }
}

export class FrameAllocator {
  /** The shared zero page: mapped read-only for reads of untouched private anonymous memory. */
  readonly zero: Frame;
  private nextPfn = 1;
  /** Frames currently allocated (zero page excluded). */
  inUse = 0;
  peak = 0;
  allocated = 0;

  constructor() {
    this.zero = new Frame(0);
    this.zero.refs = 1; // never freed
  }

  alloc(): Frame {
    const f = new Frame(this.nextPfn++);
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
      f.data = null;
      this.inUse--;
    } else if (f.refs < 0) {
      throw new Error(`frame ${f.pfn} refcount underflow`);
    }
  }
}
