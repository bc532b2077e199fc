// struct vm_area_struct and the per-process sorted set of them.
//
// Invariants (checked by test/invariants.ts):
// - vmas are page-aligned, non-empty, sorted and non-overlapping;
// - `pgoff` is the page offset of `start` in the vma's object: the file
//   offset / PAGE_SIZE for file and shm mappings, and for private anonymous
//   mappings `start / PAGE_SIZE` at mmap time, kept unchanged by mremap
//   (the seed: "It's simply vm_pgoff == index, however the mapping was
//   mremapped"). The page at address a has index pgoff + (a - start) / 4096.

import { PAGE_SIZE, VM_EXEC, VM_READ, VM_WRITE } from './constants.js';
import type { File } from './file.js';
import type { MergeTag } from '../anon/merge-tag.js';
import type { Mm } from './mm.js';

export class Vma {
  start: number;
  end: number;
  pgoff: number;
  /** VM_READ | VM_WRITE | VM_EXEC. */
  prot: number;
  readonly shared: boolean;
  /** The file or shm object mapped; null for private anonymous memory. */
  readonly file: File | null;
  /** MADV_DONTFORK: the child of a fork does not get this vma. */
  dontfork = false;
  /** MADV_WIPEONFORK: the child gets this range as fresh zero-fill memory. */
  wipeonfork = false;
  /**
   * VM_ACCOUNT: private writable memory is charged against overcommit
   * (accountable_mapping(), mprotect_fixup()). Only merging sees it: vmas
   * with different flags never merge.
   */
  account = false;
  /**
   * The anon_vma Linux would have given this vma (its merge tag; see
   * src/anon/merge-tag.ts): tag 0 until the vma's first write fault
   * (anon_vma_prepare(), even one that then gets SIGBUS), a new one for a
   * fork child, shared by splits and taken over by merges. Kept by the
   * machine whatever the design, because what Linux merges is visible
   * (mremap over two vmas fails with EFAULT): vmas with different anon_vmas
   * never merge; an unfaulted anonymous vma moved by mremap takes the new
   * address as its pgoff; mprotect drops VM_ACCOUNT only from an unfaulted
   * one.
   */
  readonly linuxAnon: MergeTag = { tag: 0, forkChild: false };

  /** Whether Linux would have given this vma an anon_vma by now. */
  get anonFaulted(): boolean {
    return this.linuxAnon.tag !== 0;
  }

  /**
   * The anonymous-memory design's own state for this private vma (Linux's
   * vma->anon_vma slot); only the design reads it, null for shared vmas.
   */
  anon: unknown = null;

  constructor(
    readonly mm: Mm,
    start: number,
    end: number,
    pgoff: number,
    prot: number,
    shared: boolean,
    file: File | null,
  ) {
    this.start = start;
    this.end = end;
    this.pgoff = pgoff;
    this.prot = prot;
    this.shared = shared;
    this.file = file;
  }

  get pages(): number {
    return (this.end - this.start) / PAGE_SIZE;
  }

  /** Page index in the vma's object for address `addr` inside the vma. */
  index(addr: number): number {
    return this.pgoff + (addr - this.start) / PAGE_SIZE;
  }

  /** Address of page index `index` (which must lie in the vma). */
  addrOf(index: number): number {
    return this.start + (index - this.pgoff) * PAGE_SIZE;
  }

  get endIndex(): number {
    return this.pgoff + this.pages;
  }

  get readable(): boolean {
    return (this.prot & VM_READ) !== 0;
  }

  get writable(): boolean {
    return (this.prot & VM_WRITE) !== 0;
  }

  /** `r--p`-style protection string as in /proc/PID/maps. */
  permString(): string {
    return (
      (this.prot & VM_READ ? 'r' : '-') +
      (this.prot & VM_WRITE ? 'w' : '-') +
      (this.prot & VM_EXEC ? 'x' : '-') +
      (this.shared ? 's' : 'p')
    );
  }
}

/**
 * The vmas of one mm, sorted by address in a plain array: lookups are
 * binary searches (O(log n)); insertions and removals shift the array,
 * which for the few hundred vmas a process has is cheaper than a tree.
 */
export class VmaList {
  readonly list: Vma[] = [];

  get size(): number {
    return this.list.length;
  }

  /** Index of the first vma with end > addr (list.length if none). */
  private lowerBound(addr: number): number {
    const l = this.list;
    let a = 0;
    let b = l.length;
    while (a < b) {
      const m = (a + b) >>> 1;
      if (l[m]!.end <= addr) a = m + 1;
      else b = m;
    }
    return a;
  }

  /** The vma containing addr, or null (vma_lookup). */
  lookup(addr: number): Vma | null {
    const v = this.list[this.lowerBound(addr)];
    return v !== undefined && v.start <= addr ? v : null;
  }

  /** The first vma with end > addr, or null (find_vma). */
  findFrom(addr: number): Vma | null {
    return this.list[this.lowerBound(addr)] ?? null;
  }

  /** The vmas intersecting [start, end), ascending (a fresh array). */
  intersecting(start: number, end: number): Vma[] {
    const out: Vma[] = [];
    for (let i = this.lowerBound(start); i < this.list.length; i++) {
      const v = this.list[i]!;
      if (v.start >= end) break;
      out.push(v);
    }
    return out;
  }

  /** Whether any vma intersects [start, end) (find_vma_intersection). */
  intersects(start: number, end: number): boolean {
    const v = this.list[this.lowerBound(start)];
    return v !== undefined && v.start < end;
  }

  insert(v: Vma): void {
    const i = this.lowerBound(v.start);
    this.list.splice(i, 0, v);
  }

  remove(v: Vma): void {
    const i = this.lowerBound(v.start);
    if (this.list[i] !== v) throw new Error('vma not in list');
    this.list.splice(i, 1);
  }

  prev(v: Vma): Vma | null {
    const i = this.lowerBound(v.start);
    return i > 0 ? this.list[i - 1]! : null;
  }

  next(v: Vma): Vma | null {
    const i = this.lowerBound(v.start);
    return this.list[i + 1] ?? null;
  }
}
