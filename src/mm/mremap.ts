// mremap(2) (the kernel's mm/mremap.c, do_mremap). The trace gives either
// flags 0 (resize in place only) or MREMAP_MAYMOVE|MREMAP_FIXED with a new
// address.
//
// check_mremap_params: addr unaligned EINVAL; PAGE_ALIGN(new_len) == 0
// EINVAL; new_addr unaligned EINVAL. Then the vma at addr must exist
// (EFAULT). Notable Linux rules (all from mm/mremap.c):
//   - Shrinking unmaps [addr+new_len, addr+old_len) whatever is there,
//     even other vmas: it is a plain munmap (shrink_vma).
//   - Resizing to the same size in place succeeds without further checks.
//   - remap_is_valid(): old_len 0 of a private mapping EINVAL (old_len 0
//     of a shared one duplicates the mapping); old range spanning more
//     than the vma at addr EFAULT; pgoff overflow EINVAL.
//   - Growing in place needs [addr, addr+old_len) to end at the vma's end
//     and the space after it free (below TASK_SIZE); otherwise, without
//     MREMAP_MAYMOVE, ENOMEM.
//   - mremap_to(): new range past TASK_SIZE EINVAL; overlapping the old
//     range EINVAL; the new range is unmapped first; then the source is
//     looked up again (EFAULT if the unmap removed it), shrunk if
//     shrinking, validated, and moved.
// A moved vma keeps its pgoff (and so, in the tree, its space): anonymous
// pages keep their index wherever they are mapped.

import {
  MMAP_MIN_ADDR, PAGE_ALIGN, PAGE_SIZE, TASK_SIZE, TASK_SIZE_BIG, VM_WRITE, type SysResult,
} from './constants.js';
import type { Kernel } from './kernel.js';
import type { Mm } from './mm.js';
import { checkFixedArea } from './mmap.js';
import { vmEnoughMemory } from './accounting.js';
import { insertVma, mergeAround, splitVma, unmapRange } from './vma-ops.js';
import { Vma } from './vma.js';

const U64 = (1n << 64n) - 1n;

export function sysMremap(
  k: Kernel, mm: Mm, addr: bigint, oldLenIn: bigint, newLenIn: bigint, newAddr: bigint | undefined,
): SysResult {
  // check_mremap_params()
  if ((addr & 0xfffn) !== 0n) return 'EINVAL';
  if (PAGE_ALIGN(newLenIn) === 0n) return 'EINVAL';
  if (newAddr !== undefined && (newAddr & 0xfffn) !== 0n) return 'EINVAL';
  let oldLen = PAGE_ALIGN(oldLenIn);
  const newLen = PAGE_ALIGN(newLenIn);

  if (addr >= TASK_SIZE_BIG) return 'EFAULT';
  const a = Number(addr);
  let vma = mm.vmas.lookup(a);
  if (vma === null) return 'EFAULT';

  if (newAddr !== undefined) {
    // mremap_to()
    if (newLen > TASK_SIZE_BIG || newAddr > TASK_SIZE_BIG - newLen) return 'EINVAL';
    if (((addr + oldLen) & U64) > newAddr && newAddr + newLen > addr) return 'EINVAL';
    const na = Number(newAddr);
    unmapRange(k, mm, na, na + Number(newLen));
    vma = mm.vmas.lookup(a);
    if (vma === null) return 'EFAULT';
    if (newLen < oldLen) {
      const r = shrink(k, mm, addr, oldLen, newLen);
      if (r !== 'ok') return r;
      vma = mm.vmas.lookup(a);
      if (vma === null) return 'EFAULT';
      oldLen = newLen;
    }
    const valid = remapIsValid(vma, addr, oldLen, newLen);
    if (valid !== 'ok') return valid;
    const area = checkFixedArea(newAddr, newLen);
    if (area !== 'ok') return area;
    if (!chargeGrowth(vma, oldLen, newLen)) return 'ENOMEM';
    moveVma(k, mm, vma, a, Number(oldLen), na, Number(newLen));
    return 'ok';
  }

  // mremap_at()
  if (newLen === oldLen) return 'ok';
  if (newLen < oldLen) return shrink(k, mm, addr, oldLen, newLen);
  const valid = remapIsValid(vma, addr, oldLen, newLen);
  if (valid !== 'ok') return valid;
  // vrm_can_expand_in_place(): the range must end at the vma's end and the
  // space after it must be free and below TASK_SIZE.
  const delta = Number(newLen - oldLen);
  if (BigInt(vma.end) - addr !== oldLen) return 'ENOMEM';
  const newEnd = vma.end + delta;
  if (newEnd > TASK_SIZE || mm.vmas.intersects(vma.end, newEnd)) return 'ENOMEM';
  if (!chargeGrowth(vma, oldLen, newLen)) return 'ENOMEM';
  growVma(k, vma, newEnd);
  mergeAround(k, vma);
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

/** remap_is_valid(). */
function remapIsValid(vma: Vma, addr: bigint, oldLen: bigint, newLen: bigint): SysResult {
  if (oldLen === 0n && !vma.shared) return 'EINVAL';
  if (oldLen > BigInt(vma.end) - addr) return 'EFAULT';
  if (newLen === oldLen) return 'ok';
  const pgoff = BigInt(vma.index(Number(addr)));
  if (((pgoff + (newLen >> 12n)) & U64) < pgoff) return 'EINVAL';
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
 * move_vma(): [a, a+oldLen) of `vma` goes to [na, na+newLen). With oldLen
 * 0 (shared only) this makes a second view of the same object.
 */
function moveVma(k: Kernel, mm: Mm, vma: Vma, a: number, oldLen: number, na: number, newLen: number): void {
  if (oldLen === 0) {
    const v = new Vma(mm, na, na + newLen, vma.index(a), vma.prot, true, vma.file);
    v.space = vma.space;
    v.dontfork = vma.dontfork;
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
  mm.vmas.insert(piece);
  if (newLen > oldLen) growVma(k, piece, na + newLen);
  mergeAround(k, piece);
}

export { MMAP_MIN_ADDR };
