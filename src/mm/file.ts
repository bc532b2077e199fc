// Files and shared anonymous memory, with their page cache.
//
// The simulator has no disk: a file's contents are its page cache
// (`mapping.pages`) and its size. A page that is not cached reads as zeros,
// which is what an ext4 file that was only ever extended by ftruncate or
// written through the cache contains. fread/fwrite go through the cache, as
// pread/pwrite do, so a shared mapping and fwrite see each other at once.
//
// Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS) is, as in Linux, an
// unnamed shmem file whose size is fixed at the mapping's length: growing
// the mapping with mremap and touching past that size gives SIGBUS.

import { AddressSpace } from './address-space.js';
import { EXT4_MAX_BYTES, PAGE_SIZE, PAGE_WORDS } from './constants.js';
import type { Frame, FrameAllocator } from './frames.js';
import type { Vma } from './vma.js';

export class File {
  /** Page cache. */
  readonly mapping: AddressSpace;
  /** i_mmap: every vma that maps this file, shared or private. */
  readonly mappings = new Set<Vma>();
  size = 0;

  constructor(
    /** Trace name; null for shm (shared anonymous memory). */
    readonly name: string | null,
    private readonly frames: FrameAllocator,
  ) {
    this.mapping = new AddressSpace(this);
  }

  get isShm(): boolean {
    return this.name === null;
  }

  /** Pages that hold at least one byte of the file: ceil(size / PAGE_SIZE). */
  get pages(): number {
    return Math.ceil(this.size / PAGE_SIZE);
  }

  /** The cached page at index, or null. */
  cached(index: number): Frame | null {
    return this.mapping.pages.get(index) ?? null;
  }

  /**
   * The page cache page at index, reading it in (as zeros) if absent.
   * Callers check the index against the size first where Linux does.
   */
  page(index: number): Frame {
    let f = this.mapping.pages.get(index);
    if (f === undefined) {
      f = this.frames.alloc();
      this.frames.get(f);
      this.mapping.pages.set(index, f);
    }
    return f;
  }

  /** pread of one 4-aligned word; null when fewer than 4 bytes exist there. */
  readWord(off: number): number | null {
    if (off + 4 > this.size) return null;
    const f = this.cached(Math.floor(off / PAGE_SIZE));
    return f === null ? 0 : f.read((off % PAGE_SIZE) / 4);
  }

  /** pwrite of one 4-aligned word below EXT4_MAX_BYTES; extends the file. */
  writeWord(off: number, val: number): void {
    if (off + 4 > this.size) this.setSize(off + 4);
    this.page(Math.floor(off / PAGE_SIZE)).write((off % PAGE_SIZE) / 4, val);
  }

  /**
   * Change i_size. Growing zeroes the bytes past the old end in the old
   * last page (ext4 zeroes the partial block on extension, so bytes a
   * shared mapping stored past EOF do not reappear as file data); shrinking
   * zeroes the bytes past the new end in the new last page and drops the
   * cached pages wholly past it. Callers must have unmapped those pages
   * from every mapping first (truncate.ts).
   */
  setSize(size: number): void {
    const old = this.size;
    if (size > old) {
      this.zeroTail(old);
    } else if (size < old) {
      this.zeroTail(size);
      const first = Math.ceil(size / PAGE_SIZE);
      this.mapping.pages.forRange(first, Number.MAX_SAFE_INTEGER, (index, f) => {
        this.mapping.pages.delete(index);
        this.frames.put(f);
      });
    }
    this.size = size;
  }

  /** Zero the bytes of the page holding byte `at` from `at` to the page end. */
  private zeroTail(at: number): void {
    if (at % PAGE_SIZE === 0) return;
    const f = this.cached(Math.floor(at / PAGE_SIZE));
    if (f === null || f.data === null) return;
    const byte = at % PAGE_SIZE;
    let w = Math.floor(byte / 4);
    const keep = byte % 4; // little-endian: the low `keep` bytes of word w stay
    if (keep !== 0) {
      f.data[w] = (f.data[w]! & ((1 << (8 * keep)) - 1)) >>> 0;
      w++;
    }
    f.data.fill(0, w, PAGE_WORDS);
  }

  /** Drop the whole page cache (the last reference to an shm object went away). */
  release(): void {
    this.mapping.pages.forEach((_, f) => this.frames.put(f));
    this.mapping.pages.clear();
  }
}

export { EXT4_MAX_BYTES };
