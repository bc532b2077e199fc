// Files and shared anonymous memory, with their page cache.
//
// A regular file's contents are its `disk` (the pages written back to it)
// overlaid by its page cache (`mapping.pages`); a page in neither reads as
// zeros, which is what an ext4 file that was only extended by ftruncate
// holds. fread/fwrite go through the cache, as pread/pwrite do, so a
// shared mapping and fwrite see each other at once. Reclaim writes dirty
// cache pages back to `disk` and drops clean ones.
//
// Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS) is, as in Linux, an
// unnamed shmem file whose size is fixed at the mapping's length: growing
// the mapping with mremap and touching past that size gives SIGBUS. It has
// no disk: reclaim swaps its pages out like anonymous memory.

import { AddressSpace } from './address-space.js';
import { PAGE_SIZE } from './constants.js';
import { imageFull, imageRead, type Frame, type FrameAllocator, type PageImage } from './frames.js';
import { swapIn } from './swap.js';
import type { Vma } from './vma.js';
import { XArray } from './xarray.js';

export class File {
  /** Page cache. */
  readonly mapping: AddressSpace;
  /** i_mmap: every vma that maps this file, shared or private. */
  readonly mappings = new Set<Vma>();
  /** Written-back contents by page index (regular files only). */
  readonly disk = new XArray<PageImage>();
  size = 0;
  writebacks = 0;

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
   * The page cache page at index, reading it in if absent (from disk, or
   * from swap for shm). Callers check the index against the size first
   * where Linux does, and have reserved a frame.
   */
  page(index: number): Frame {
    const f = this.mapping.pages.get(index);
    if (f !== undefined) return f;
    const slot = this.mapping.swapped?.get(index);
    if (slot !== undefined) return swapIn(this.frames, this.frames.swap, this.mapping, index, slot);
    const n = this.frames.alloc();
    const onDisk = this.disk.get(index);
    if (onDisk !== undefined) this.frames.load(n, onDisk);
    this.frames.setDirty(n, false);
    this.mapping.insert(index, n, this.frames);
    return n;
  }

  /** pread of one 4-aligned word; null when fewer than 4 bytes exist there. */
  readWord(off: number): number | null {
    if (off + 4 > this.size) return null;
    const index = Math.floor(off / PAGE_SIZE);
    const word = (off % PAGE_SIZE) / 4;
    const f = this.cached(index);
    if (f !== null) return this.frames.read(f, word);
    return imageRead(this.disk.get(index) ?? null, word);
  }

  /**
   * pwrite of one 4-aligned word below EXT4_MAX_BYTES; extends the file.
   * Needs one reserved frame. A write past EOF zeroes only the gap between
   * the old end and the written bytes (ext4 on Linux 6.18): bytes a shared
   * mapping stored after them, in the page that held EOF, stay.
   */
  writeWord(off: number, val: number): void {
    if (off + 4 > this.size) {
      if (off > this.size) this.zeroGap(this.size, off);
      this.size = off + 4;
    }
    this.frames.write(this.page(Math.floor(off / PAGE_SIZE)), (off % PAGE_SIZE) / 4, val);
  }

  /** Zero bytes [from, to) of the page holding `from` (cached and on disk). */
  private zeroGap(from: number, to: number): void {
    if (from % PAGE_SIZE === 0) return; // past EOF only the EOF page can hold bytes
    const index = Math.floor(from / PAGE_SIZE);
    const end = Math.min(to, (index + 1) * PAGE_SIZE) - index * PAGE_SIZE;
    const cached = this.cached(index);
    if (cached !== null && this.frames.hasContents(cached)) zeroBytes(this.frames.full(cached), from % PAGE_SIZE, end);
    const onDisk = this.disk.get(index);
    if (onDisk !== undefined) this.disk.set(index, zeroBytes(imageFull(onDisk), from % PAGE_SIZE, end));
  }

  /** Reclaim: copy a dirty cache page to disk. */
  writeback(f: Frame): void {
    const img = this.frames.image(f);
    const index = this.frames.index(f);
    if (img === null) this.disk.delete(index);
    else this.disk.set(index, img);
    this.frames.setDirty(f, false);
    this.writebacks++;
  }

  /**
   * Change i_size (ftruncate). Growing zeroes the bytes past the old end in
   * the old last page (ext4_setattr() zeroes the partial block, so bytes a
   * shared mapping stored past EOF do not reappear as file data); shrinking
   * zeroes the bytes past the new end in the new last page and drops the
   * pages wholly past it, cached and on disk. Callers must have unmapped
   * those pages from every mapping first (filemap.ts).
   */
  setSize(size: number): void {
    const old = this.size;
    if (size > old) {
      this.zeroTail(old);
    } else {
      // Also when the size does not change: ext4_setattr() truncates the
      // page cache "even if i_size didn't change", zeroing the EOF page's tail.
      this.zeroTail(size);
      const first = Math.ceil(size / PAGE_SIZE);
      this.mapping.dropRange(first, Number.MAX_SAFE_INTEGER, this.frames);
      this.disk.forRange(first, Number.MAX_SAFE_INTEGER, (i) => this.disk.delete(i));
    }
    this.size = size;
  }

  /** Zero the bytes of the page holding byte `at` from `at` to the page end. */
  private zeroTail(at: number): void {
    if (at % PAGE_SIZE === 0) return;
    const index = Math.floor(at / PAGE_SIZE);
    const cached = this.cached(index);
    if (cached !== null && this.frames.hasContents(cached)) zeroBytes(this.frames.full(cached), at % PAGE_SIZE, PAGE_SIZE);
    const onDisk = this.disk.get(index);
    if (onDisk !== undefined) this.disk.set(index, zeroBytes(imageFull(onDisk), at % PAGE_SIZE, PAGE_SIZE));
  }

  /** Drop the whole page cache and swap (the last mapping of an shm object went away). */
  release(): void {
    this.mapping.dropAll(this.frames);
  }
}

/** Zero bytes [from, to) of a page held as little-endian 32-bit words; returns the page. */
function zeroBytes(data: Uint32Array, from: number, to: number): Uint32Array {
  for (let b = from; b < to && b % 4 !== 0; b++) clearByte(data, b);
  const wordsFrom = Math.ceil(from / 4);
  const wordsTo = Math.floor(to / 4);
  if (wordsTo > wordsFrom) data.fill(0, wordsFrom, wordsTo);
  for (let b = Math.max(from, wordsTo * 4); b < to; b++) clearByte(data, b);
  return data;
}

function clearByte(data: Uint32Array, b: number): void {
  const w = b >> 2;
  data[w] = (data[w]! & ~(0xff << (8 * (b & 3)))) >>> 0;
}

