// Vma surgery shared by every syscall: insert, split, merge, remove, and
// unmapping a range (the kernel's mm/vma.c: __split_vma, vma_merge_*,
// do_vmi_munmap).
//
// Merging follows Linux where a program can see it (mremap's EFAULT on a
// range spanning two kernel vmas): adjacent vmas merge when they have the
// same protection, flags and object, contiguous pgoff, and — for private
// mappings — the anonymous-memory design agrees (Linux asks that their
// anon_vmas be compatible; the tree asks that they share a space or that
// one side is still empty). Two separate shm objects never merge.

import type { Kernel } from './kernel.js';
import type { Mm } from './mm.js';
import { PAGE_SIZE } from './constants.js';
import { Vma } from './vma.js';

/** Add a new vma to its mm and its file's i_mmap. */
export function insertVma(mm: Mm, v: Vma): void {
  mm.vmas.insert(v);
  if (v.file !== null) v.file.mappings.add(v);
}

/** Unmap every pte of the vma's range [start, end). */
export function zapRange(mm: Mm, start: number, end: number): void {
  mm.pt.clearRange(start / PAGE_SIZE, end / PAGE_SIZE);
}

/**
 * Split `v` at `addr` (strictly inside it). `v` keeps [start, addr); the
 * returned new vma covers [addr, end).
 */
export function splitVma(k: Kernel, v: Vma, addr: number): Vma {
  const tail = new Vma(v.mm, addr, v.end, v.index(addr), v.prot, v.shared, v.file);
  tail.dontfork = v.dontfork;
  tail.wipeonfork = v.wipeonfork;
  tail.account = v.account;
  k.tags.split(v, tail);
  v.mm.vmas.remove(v);
  v.end = addr;
  v.mm.vmas.insert(v);
  if (!v.shared) k.design.split(v, tail);
  insertVma(v.mm, tail);
  return tail;
}

/** Remove `v` entirely: zap its ptes, detach it from its objects. */
export function removeVma(k: Kernel, v: Vma): void {
  zapRange(v.mm, v.start, v.end);
  v.mm.vmas.remove(v);
  dropFromObjects(k, v);
}

/** Detach a vma that is no longer in its mm's list from design and file. */
function dropFromObjects(k: Kernel, v: Vma): void {
  if (!v.shared) k.design.remove(v);
  const f = v.file;
  if (f !== null) {
    f.mappings.delete(v);
    // An shm object lives exactly as long as something maps it.
    if (f.isShm && f.mappings.size === 0) f.release();
  }
}

/**
 * Unmap [start, end) (page-aligned, end > start): split the vmas at the
 * edges and remove everything inside. Holes are fine (do_vmi_munmap).
 */
export function unmapRange(k: Kernel, mm: Mm, start: number, end: number): void {
  const vs = mm.vmas.intersecting(start, end);
  for (let v of vs) {
    if (v.start < start) {
      v = splitVma(k, v, start);
    }
    if (v.end > end) splitVma(k, v, end);
    removeVma(k, v);
  }
}

/**
 * Split so that [start, end) starts and ends on vma boundaries, and return
 * the vmas inside it (ascending). Used by mprotect and madvise.
 */
export function isolateRange(k: Kernel, mm: Mm, start: number, end: number): Vma[] {
  const out: Vma[] = [];
  if (end <= start) return out;
  for (let v of mm.vmas.intersecting(start, end)) {
    if (v.start < start) v = splitVma(k, v, start);
    if (v.end > end) splitVma(k, v, end);
    out.push(v);
  }
  return out;
}

/** Whether `a` directly followed by `b` could be one vma (flags, object, pgoff; not anon_vmas). */
export function compatible(a: Vma, b: Vma): boolean {
  return (
    a.end === b.start &&
    a.prot === b.prot &&
    a.shared === b.shared &&
    a.file === b.file &&
    a.dontfork === b.dontfork &&
    a.wipeonfork === b.wipeonfork &&
    a.account === b.account &&
    a.endIndex === b.pgoff
  );
}

/** Whether Linux would let `a` and `b` become one vma (can_vma_merge_after/before); changes nothing. */
function mergeable(k: Kernel, a: Vma, b: Vma): boolean {
  return compatible(a, b) && (a.shared || k.tags.mergeable(a, b));
}

/** Merge `b` into `a` if Linux would; returns whether it did. */
export function tryMergePair(k: Kernel, a: Vma, b: Vma): boolean {
  // is_mergeable_anon_vma(): the same anon_vma, or one side without one
  // that did not come with a fork; then the design must agree too.
  if (!mergeable(k, a, b)) return false;
  // Shared vmas (the same file or shm object at contiguous offsets) need
  // nothing more; for private ones the design must agree.
  if (!a.shared && !k.design.tryMerge(a, b)) return false;
  const mm = a.mm;
  mm.vmas.remove(b);
  if (b.file !== null) b.file.mappings.delete(b);
  a.end = b.end;
  // dup_anon_vma(): the merged vma has the anon_vma either side had.
  if (!a.shared) k.tags.merge(a, b);
  return true;
}

/**
 * vma_merge_new_range(): `v` is new where it is (mmap, an mremap move, a
 * second view of a shared mapping); merge it with its neighbours where
 * possible and return the surviving vma.
 *
 * Left is preferred: when `v` could merge with both prev and next but
 * prev's and next's anon_vmas differ (can_vma_merge_right(): both set and
 * not the same), the three cannot become one, and Linux merges `v` into
 * prev only.
 */
export function mergeAround(k: Kernel, v: Vma): Vma {
  const mm = v.mm;
  const prev = mm.vmas.prev(v);
  const next = mm.vmas.next(v);
  const left = prev !== null && mergeable(k, prev, v);
  const right = next !== null && mergeable(k, v, next) && (!left || v.shared || k.tags.compatible(prev!, next));
  if (right) tryMergePair(k, v, next!);
  if (left && tryMergePair(k, prev!, v)) return prev!;
  return v;
}

/**
 * Merge every mergeable neighbour pair from the vma before `start` to the
 * vma after `end` (after mprotect/madvise changed the vmas in between).
 */
export function mergeRange(k: Kernel, mm: Mm, start: number, end: number): void {
  let v = mm.vmas.findFrom(start > 0 ? start - 1 : 0);
  while (v !== null && v.start <= end) {
    const n = mm.vmas.next(v);
    if (n === null || n.start > end) break;
    if (!tryMergePair(k, v, n)) v = n;
  }
}
