// struct address_space: a set of pages indexed by page offset.
//
// In the seed's design this one structure does all the work: there is one
// for each file (its page cache) and each shared anonymous mapping (shm),
// and the anonymous-memory design makes more of them — one for each new
// private anonymous mapping and one for each first copy-on-write — linked
// into trees by `parent` / `children`. File and shm spaces are always
// roots. Designs other than the tree use only the page-cache part.
//
// A space holds one reference on every frame in `pages`.

import type { Frame } from './frames.js';
import type { File } from './file.js';
import type { Vma } from './vma.js';
import type { RangeSet } from './rangeset.js';
import { XArray } from './xarray.js';

let nextSpaceId = 1;

export class AddressSpace {
  readonly id = nextSpaceId++;
  /** index (page offset) -> frame. */
  readonly pages = new XArray<Frame>();
  /** The file or shm object whose page cache this is; null for an anonymous space. */
  readonly file: File | null;

  // --- The seed's tree (anonymous spaces only; see src/anon/tree.ts) ---
  parent: AddressSpace | null = null;
  readonly children = new Set<AddressSpace>();
  /** The vmas that use this space directly (vma.space === this). */
  readonly vmas = new Set<Vma>();
  /**
   * Indices at which lookups from this space (and its descendants) must not
   * look further up the anonymous chain: a page missing here is the file's
   * page or zero, never an ancestor's. Set by MADV_DONTNEED and by growing a
   * vma over indices an ancestor may still hold. Null while empty.
   */
  cleared: RangeSet | null = null;
  /** Depth in its tree (root = 0), kept for statistics. */
  depth = 0;

  constructor(file: File | null) {
    this.file = file;
  }
}
