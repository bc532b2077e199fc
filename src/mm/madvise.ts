// madvise(2) for the advice the trace language has (the kernel's
// mm/madvise.c).
//
// madvise_walk_vmas(): every mapped part of the range is advised, holes are
// skipped and remembered, and the call returns ENOMEM at the end if there
// was a hole; an advice that a vma rejects (MADV_WIPEONFORK on a file or
// shared mapping: EINVAL) stops the walk there, earlier vmas keeping the
// advice.
//
// MADV_DONTNEED zaps the ptes: a shared mapping refaults the same page
// cache page; a private mapping loses its private copies — anonymous
// memory reads zero again, a private file mapping shows the file again —
// which the anonymous-memory design implements (discard()) without
// touching what any other process sees.

import type { Advice } from '../trace/ast.js';
import { PAGE_ALIGN, pageAligned, U64, type SysResult } from './constants.js';
import type { Kernel } from './kernel.js';
import type { Mm } from './mm.js';
import { isolateRange, mergeRange, zapRange } from './vma-ops.js';
import type { Vma } from './vma.js';

export function sysMadvise(k: Kernel, mm: Mm, addr: bigint, len: bigint, advice: Advice): SysResult {
  if (!pageAligned(addr)) return 'EINVAL';
  const alen = PAGE_ALIGN(len);
  if (len !== 0n && alen === 0n) return 'EINVAL';
  const endBig = (addr + alen) & U64;
  if (endBig < addr) return 'EINVAL';
  if (endBig === addr) return 'ok';
  const start = Number(addr > 1n << 52n ? 1n << 52n : addr);
  const end = Number(endBig > 1n << 52n ? 1n << 52n : endBig);

  let hole = start < end && (mm.vmas.findFrom(start)?.start ?? Infinity) > start;
  let at = start;
  for (const v0 of mm.vmas.intersecting(start, end)) {
    if (v0.start > at) hole = true;
    const lo = Math.max(v0.start, start);
    const hi = Math.min(v0.end, end);
    at = hi;
    const err = advise(k, mm, v0, lo, hi, advice);
    if (err !== 'ok') return err;
  }
  if (at < end) hole = true;
  return hole ? 'ENOMEM' : 'ok';
}

function advise(k: Kernel, mm: Mm, v: Vma, lo: number, hi: number, advice: Advice): SysResult {
  switch (advice) {
    case 'dontneed':
      zapRange(mm, lo, hi);
      if (!v.shared) k.design.discard(v, v.index(lo), v.index(hi));
      return 'ok';
    case 'wipeonfork':
      if (v.file !== null || v.shared) return 'EINVAL';
      return setFlag(k, mm, lo, hi, (x) => { x.wipeonfork = true; });
    case 'keeponfork':
      return setFlag(k, mm, lo, hi, (x) => { x.wipeonfork = false; });
    case 'dontfork':
      return setFlag(k, mm, lo, hi, (x) => { x.dontfork = true; });
    case 'dofork':
      return setFlag(k, mm, lo, hi, (x) => { x.dontfork = false; });
  }
}

function setFlag(k: Kernel, mm: Mm, lo: number, hi: number, set: (v: Vma) => void): SysResult {
  for (const piece of isolateRange(k, mm, lo, hi)) set(piece);
  mergeRange(k, mm, lo, hi);
  return 'ok';
}
