// mremap(2) (the kernel's mm/mremap.c, do_mremap, as of Linux 6.18). The
// trace gives either flags 0 (resize in place only) or
// MREMAP_MAYMOVE|MREMAP_FIXED with a new address.
//
// check_mremap_params(), on page-aligned lengths: addr unaligned EINVAL;
// new_len 0 or past TASK_SIZE EINVAL; with a new address: the new range
// past TASK_SIZE, new_addr unaligned, or old and new ranges overlapping,
// EINVAL. Then:
//   - A same-size fixed move (vrm_move_only) moves every vma in the old
//     range by the same distance, holes kept, since Linux 6.17
//     (remap_move); a hole at the start is EFAULT.
//   - Otherwise the vma at addr must exist (EFAULT). In place, the same
//     size succeeds at once and shrinking unmaps [addr+new_len,
//     addr+old_len) whatever is there (shrink_vma).
//   - check_prep_vma(): old_len 0 of a private mapping EINVAL (of a shared
//     one it makes a second view); the range kept must lie in the vma
//     (EFAULT); pgoff overflow EINVAL.
//   - Growing in place needs [addr, addr+old_len) to end at the vma's end
//     and the space after it free (below TASK_SIZE), else ENOMEM.
//   - mremap_to(): unmap the destination, look the source up again, shrink
//     if shrinking, check the destination like mmap's get_unmapped_area
//     (EPERM below mmap_min_addr — after the unmap), move.
// A moved vma keeps its pgoff (and so, in the tree, its space): anonymous
// pages keep their index wherever they are mapped.

import {
  PAGE_ALIGN, PAGE_SIZE, TASK_SIZE, TASK_SIZE_BIG, VM_WRITE, type SysResult,
} from './constants.js';
import type { Kernel } from './kernel.js';
import type { Mm } from './mm.js';
import { checkFixedArea } from './mmap.js';
import { vmEnoughMemory } from './accounting.js';
import { compatible, insertVma, mergeAround, removeVma, splitVma, tryMergePair, unmapRange } from './vma-ops.js';
import { Vma } from './vma.js';

const U64 = (1n << 64n) - 1n;

export function sysMremap(
  k: Kernel, mm: Mm, addr: bigint, oldLenIn: bigint, newLenIn: bigint, newAddr: bigint | undefined,
): SysResult {
  const oldLen = PAGE_ALIGN(oldLenIn);
  const newLen = PAGE_ALIGN(newLenIn);
  const fixed = newAddr !== undefined;
  // check_mremap_params()
  if ((addr & 0xfffn) !== 0n) return 'EINVAL';
  if (newLen === 0n) return 'EINVAL';
  if (newLen > TASK_SIZE_BIG) return 'EINVAL';
  if (fixed) {
    if (newAddr > TASK_SIZE_BIG - newLen) return 'EINVAL';
    if ((newAddr & 0xfffn) !== 0n) return 'EINVAL';
    // vrm_overlaps(), in unsigned long arithmetic.
    if (((addr + oldLen) & U64) > newAddr && newAddr + newLen > addr) return 'EINVAL';
    // vrm_move_only(): a same-size fixed move may span several vmas (and
    // holes between them), each moved by the same distance.
    if (oldLen === newLen) return remapMove(k, mm, addr, oldLen, newAddr);
  }

  const a = addr < TASK_SIZE_BIG ? Number(addr) : -1;
  const vma = a < 0 ? null : mm.vmas.lookup(a);
  if (vma === null) return 'EFAULT';
  if (!fixed) {
    // mremap_at(): no-op and shrink need no further checks.
    if (newLen === oldLen) return 'ok';
    if (newLen < oldLen) return shrink(k, mm, addr, oldLen, newLen);
  }
  const prep = checkPrepVma(vma, addr, oldLen, newLen);
  if (prep !== 'ok') return prep;
  if (fixed) return mremapTo(k, mm, a, oldLen, newLen, newAddr);

  // expand_vma(): in place only (no MREMAP_MAYMOVE without a new address).
  // vrm_can_expand_in_place(): the range must end at the vma's end and the
  // space after it must be free and below TASK_SIZE.
  const delta = Number(newLen - oldLen);
  if (BigInt(vma.end) - addr !== oldLen) return 'ENOMEM';
  const newEnd = vma.end + delta;
  if (newEnd > TASK_SIZE || mm.vmas.intersects(vma.end, newEnd)) return 'ENOMEM';
  if (!chargeGrowth(vma, oldLen, newLen)) return 'ENOMEM';
  growVma(k, vma, newEnd);
  mergeExtended(k, vma);
  return 'ok';
}

/** check_prep_vma() for a resize or move that maps new address space. */
function checkPrepVma(vma: Vma, addr: bigint, oldLen: bigint, newLen: bigint): SysResult {
  // old_len 0 duplicates a shared mapping; for a private one it is refused.
  if (oldLen === 0n && !vma.shared) return 'EINVAL';
  // A shrinking move unmaps the tail first, so only new_len must fit.
  const keep = newLen < oldLen ? newLen : oldLen;
  if (keep > BigInt(vma.end) - addr) return 'EFAULT';
  if (newLen === keep) return 'ok';
  const pgoff = BigInt(vma.index(Number(addr)));
  if (((pgoff + (newLen >> 12n)) & U64) < pgoff) return 'EINVAL';
  return 'ok';
}

/**
 * mremap_to(): unmap the destination, look the source up again (EFAULT if
 * that unmap removed it), shrink if shrinking, check the destination as
 * get_unmapped_area(MAP_FIXED) does, and move.
 */
function mremapTo(k: Kernel, mm: Mm, a: number, oldLen: bigint, newLen: bigint, newAddr: bigint): SysResult {
  const na = Number(newAddr);
  unmapRange(k, mm, na, na + Number(newLen));
  let vma = mm.vmas.lookup(a);
  if (vma === null) return 'EFAULT';
  if (newLen < oldLen) {
    const r = shrink(k, mm, BigInt(a), oldLen, newLen);
    if (r !== 'ok') return r;
    vma = mm.vmas.lookup(a);
    if (vma === null) return 'EFAULT';
    oldLen = newLen;
  }
  const area = checkFixedArea(newAddr, newLen);
  if (area !== 'ok') return area;
  if (!chargeGrowth(vma, oldLen, newLen)) return 'ENOMEM';
  moveVma(k, mm, vma, a, Number(oldLen), na, Number(newLen));
  return 'ok';
}

/**
 * remap_move(): a same-size MREMAP_FIXED move of [addr, addr+len). Every
 * vma piece in the range moves by the same distance, keeping the holes
 * between them; a hole at the start is EFAULT.
 */
function remapMove(k: Kernel, mm: Mm, addr: bigint, len: bigint, newAddr: bigint): SysResult {
  if (addr >= TASK_SIZE_BIG) return 'EFAULT';
  const start = Number(addr);
  const end = Number(addr + len > TASK_SIZE_BIG ? TASK_SIZE_BIG : addr + len);
  const pieces = mm.vmas.intersecting(start, end).map((v) => [Math.max(v.start, start), Math.min(v.end, end)] as const);
  if (pieces.length === 0 || pieces[0]![0] > start) return 'EFAULT';
  const shift = Number(newAddr) - start;
  for (const [lo, hi] of pieces) {
    const vma = mm.vmas.lookup(lo);
    if (vma === null) return 'EFAULT';
    const n = BigInt(hi - lo);
    const prep = checkPrepVma(vma, BigInt(lo), n, n);
    if (prep !== 'ok') return prep;
    const r = mremapTo(k, mm, lo, n, n, BigInt(lo + shift));
    if (r !== 'ok') return r;
  }
  return 'ok';
}

/** shrink_vma(): a plain munmap of the tail, whatever is mapped there. */
function shrink(k: Kernel, mm: Mm, addr: bigint, oldLen: bigint, newLen: bigint): SysResult {
  const start = addr + newLen;
  const len = oldLen - newLen;
  if (start > TASK_SIZE_BIG || len > TASK_SIZE_BIG - start) return 'EINVAL';
  const s = Number(start);
  unmapRange(k, mm, s, s + Number(len));
  return 'ok';
}

/** Growing accounted (private writable) memory charges the growth. */
function chargeGrowth(vma: Vma, oldLen: bigint, newLen: bigint): boolean {
  if (newLen <= oldLen || vma.shared || (vma.prot & VM_WRITE) === 0) return true;
  return vmEnoughMemory(Number(newLen - oldLen) / PAGE_SIZE);
}

/** Extend `vma` upwards to `newEnd` (the range above it is free). */
function growVma(k: Kernel, vma: Vma, newEnd: number): void {
  const lo = vma.endIndex;
  const hi = lo + (newEnd - vma.end) / PAGE_SIZE;
  if (!vma.shared) k.design.extend(vma, lo, hi);
  vma.end = newEnd;
}

/**
 * vma_merge_extend(): `vma` has just grown in place; the new range may join
 * the vma after it, never the one before (prev is `vma` itself).
 *
 * This path passes no middle vma to is_mergeable_anon_vma(), so Linux does
 * not ask whether the growing vma came with a fork: a fork child's faulted
 * vma absorbs an unfaulted neighbour here, where every other merge path
 * (and so every design's tryMerge) refuses that pair. The neighbour has no
 * anonymous pages, so absorbing it is unmapping it and growing over its
 * range; the merged vma keeps `vma`'s anon_vma.
 */
function mergeExtended(k: Kernel, vma: Vma): void {
  const next = vma.mm.vmas.next(vma);
  if (next === null || tryMergePair(k, vma, next)) return;
  if (!vma.shared && vma.linuxAnon.forkChild && !next.anonFaulted && compatible(vma, next)) {
    const end = next.end;
    removeVma(k, next);
    growVma(k, vma, end);
  }
}

/**
 * move_vma(): [a, a+oldLen) of `vma` goes to [na, na+newLen). With oldLen
 * 0 (shared only) this makes a second view of the same object.
 */
function moveVma(k: Kernel, mm: Mm, vma: Vma, a: number, oldLen: number, na: number, newLen: number): void {
  if (oldLen === 0) {
    const v = new Vma(mm, na, na + newLen, vma.index(a), vma.prot, true, vma.file);
    v.dontfork = vma.dontfork;
    v.account = vma.account;
    insertVma(mm, v);
    mergeAround(k, v);
    return;
  }
  let piece = vma;
  if (piece.start < a) piece = splitVma(k, piece, a);
  if (piece.end > a + oldLen) splitVma(k, piece, a + oldLen);
  // Move the ptes, then the vma itself: same object, same pgoff.
  const delta = na - a;
  const moves: [number, number, number][] = [];
  const frames: import('./frames.js').Frame[] = [];
  mm.pt.forEachPresent(a / PAGE_SIZE, (a + oldLen) / PAGE_SIZE, (vpn, f, flags) => {
    moves.push([vpn, vpn + delta / PAGE_SIZE, flags]);
    frames.push(f);
  });
  for (let i = 0; i < moves.length; i++) {
    const [from, to, flags] = moves[i]!;
    mm.pt.set(to, frames[i]!, flags);
    mm.pt.clear(from);
  }
  mm.vmas.remove(piece);
  piece.start = na;
  piece.end = na + oldLen;
  // copy_vma(): an anonymous vma that never had an anon_vma is, wherever it
  // goes, like a new mapping there: its pgoff becomes new_addr >> PAGE_SHIFT
  // (so it can merge with a neighbour as a new mapping would).
  if (piece.file === null && !piece.anonFaulted) {
    piece.pgoff = na / PAGE_SIZE;
    k.design.renumber?.(piece);
  }
  mm.vmas.insert(piece);
  if (!piece.shared) k.design.moved?.(piece);
  if (newLen > oldLen) growVma(k, piece, na + newLen);
  mergeAround(k, piece);
}

