// mprotect(2) (the kernel's mm/mprotect.c, do_mprotect_pkey).
//
// Linux walks the vmas from `start` and changes each up to the first hole,
// where it stops with ENOMEM: the part before the hole stays changed. A
// range that starts in a hole changes nothing. Length 0 succeeds at once.
// Protection changes keep resident pages: ptes lose PTE_WRITE when write
// is taken away and are not made writable when it is given back (the next
// write faults and the anonymous-memory design decides copy or reuse).

import type { Prot } from '../trace/ast.js';
import { PAGE_ALIGN, PAGE_SIZE, pageAligned, U64, VM_READ, VM_WRITE, type SysResult } from './constants.js';
import type { Kernel } from './kernel.js';
import type { Mm } from './mm.js';
import { protBits } from './mmap.js';
import { PTE_READ, PTE_WRITE } from './pagetable.js';
import { vmEnoughMemory } from './accounting.js';
import { isolateRange, mergeRange } from './vma-ops.js';

export function sysMprotect(k: Kernel, mm: Mm, addr: bigint, len: bigint, p: Prot): SysResult {
  if (!pageAligned(addr)) return 'EINVAL';
  if (len === 0n) return 'ok';
  const alen = PAGE_ALIGN(len);
  const endBig = (addr + alen) & U64;
  if (endBig <= addr) return 'ENOMEM';
  const prot = protBits(p);
  // Everything at or past TASK_SIZE is a hole: clamp to numbers we can hold.
  const start = Number(addr > 1n << 52n ? 1n << 52n : addr);
  const end = Number(endBig > 1n << 52n ? 1n << 52n : endBig);

  const first = mm.vmas.findFrom(start);
  if (first === null || first.start > start) return 'ENOMEM';
  // Walk the contiguous run of vmas from start, stopping at the first hole.
  let reach = start;
  for (const v of mm.vmas.intersecting(start, end)) {
    if (v.start > reach) break;
    reach = v.end;
  }
  const stop = Math.min(reach, end);
  // Making private memory writable charges it (mprotect_fixup, VM_ACCOUNT).
  for (const v of mm.vmas.intersecting(start, stop)) {
    if ((prot & VM_WRITE) !== 0 && !v.shared && !v.writable) {
      const pages = (Math.min(v.end, stop) - Math.max(v.start, start)) / PAGE_SIZE;
      if (!vmEnoughMemory(pages)) return 'ENOMEM';
    }
  }
  for (const v of isolateRange(k, mm, start, stop)) {
    // mprotect_fixup(): making private memory writable charges it
    // (VM_ACCOUNT); making it read-only uncharges only an anonymous vma
    // with no anon_vma yet.
    if ((prot & VM_WRITE) !== 0) {
      if (!v.account && !v.writable && !v.shared) v.account = true;
    } else if (v.account && v.file === null && !v.shared && !v.anonFaulted) {
      v.account = false;
    }
    v.prot = prot;
    mm.pt.changeFlags(v.start / PAGE_SIZE, v.end / PAGE_SIZE, (old) =>
      ((prot & VM_READ) !== 0 ? PTE_READ : 0) | ((prot & VM_WRITE) !== 0 ? old & PTE_WRITE : 0));
  }
  mergeRange(k, mm, start, stop);
  return stop < end ? 'ENOMEM' : 'ok';
}
