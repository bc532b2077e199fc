// struct address_space: a set of pages indexed by page offset.
//
// There is one for each file (its page cache) and each shared anonymous
// mapping (shm). In the seed's design this one structure does all the work:
// the tree and shadow designs make more of them — one for each new private
// anonymous mapping and one for each first copy-on-write — and link them
// into trees of their own nodes (src/anon/space-tree.ts), whose root is the
// file's space for a private file mapping.
//
// A space holds one reference on every frame in `pages`, and is each such
// frame's owner (frames.owner(f) / frames.index(f), the kernel's page->mapping and
// page->index). A page that reclaim swapped out leaves its swap slot in
// `swapped` instead; an index is in at most one of the two.

import type { Frame, FrameAllocator } from './frames.js';
import type { File } from './file.js';
import { XArray } from './xarray.js';

let nextOwnerId = 1;

/** A fresh id for anything that owns pages (an address_space, an anon_vma...). */
export function newOwnerId(): number {
  return nextOwnerId++;
}

/**
 * What a frame belongs to (page->mapping): an address_space, or a
 * design's own structure for anonymous pages (an anon_vma). `file` is the
 * file or shm object for page-cache pages and null for anonymous ones.
 */
export interface PageOwner {
  readonly id: number;
  readonly file: File | null;
}

/** A frame taken out of a space: it has no owner, and the space's reference goes. */
function release(f: Frame, frames: FrameAllocator): void {
  frames.setOwner(f, null);
  frames.put(f);
}

export class AddressSpace implements PageOwner {
  readonly id = newOwnerId();
  /** index (page offset) -> frame. */
  readonly pages = new XArray<Frame>();
  /** index -> swap slot, for pages reclaim swapped out; null until the first. */
  swapped: XArray<number> | null = null;
  /** The file or shm object whose page cache this is; null for an anonymous space. */
  readonly file: File | null;

  constructor(file: File | null) {
    this.file = file;
  }

  /** Whether the space holds index, in memory or in swap. */
  holds(index: number): boolean {
    return this.pages.get(index) !== undefined || (this.swapped !== null && this.swapped.get(index) !== undefined);
  }

  /** Put frame f at index (taking a reference): f's owner is now this space. */
  insert(index: number, f: Frame, frames: FrameAllocator): void {
    frames.get(f);
    frames.setOwner(f, this);
    frames.setIndex(f, index);
    this.pages.set(index, f);
  }

  /** Remove and release what the space holds at index (a frame or a swap slot). */
  drop(index: number, frames: FrameAllocator): void {
    const f = this.pages.get(index);
    if (f !== undefined) {
      this.pages.delete(index);
      release(f, frames);
      return;
    }
    const slot = this.swapped?.get(index);
    if (slot !== undefined) {
      this.swapped!.delete(index);
      frames.swap.free(slot);
    }
  }

  /** Release everything the space holds. */
  dropAll(frames: FrameAllocator): void {
    this.pages.takeAll((f) => release(f, frames));
    this.swapped?.takeAll((slot) => frames.swap.free(slot));
  }

  /**
   * Release everything at indices lo <= i < hi that `keep(i)` does not
   * claim. Without `keep`, the arrays remove the range themselves and hand
   * back only values (no index per page: see XArray.takeRange).
   */
  dropRange(lo: number, hi: number, frames: FrameAllocator, keep?: (i: number) => boolean): void {
    if (keep === undefined) {
      this.pages.takeRange(lo, hi, (f) => release(f, frames));
      this.swapped?.takeRange(lo, hi, (slot) => frames.swap.free(slot));
      return;
    }
    const fn = (i: number): void => {
      if (!keep(i)) this.drop(i, frames);
    };
    this.pages.forRange(lo, hi, fn);
    this.swapped?.forRange(lo, hi, fn);
  }

  /** Number of indices held, in memory or swap. */
  get held(): number {
    return this.pages.size + (this.swapped?.size ?? 0);
  }
}
