// Page faults and memory access (the kernel's mm/memory.c).
//
// read/write first try the page table (the fast path: one Map lookup, no
// allocation); on a miss or a protection fault they find the vma (binary
// search) and fault the page in:
//   - no vma, or the vma forbids the access          -> SIGSEGV
//   - a file or shm mapping at or past EOF            -> SIGBUS
//     (checked before anything else, private copies included: after a
//     shrinking ftruncate no private copy survives past EOF anyway)
//   - shared mapping: the page cache page, mapped writable on a write
//   - private mapping, read: what the anonymous-memory design says the vma
//     sees, else the base page — the file's page cache page, or the shared
//     zero page for anonymous memory — mapped read-only. On a kernel without
//     the zero page (k.zeroPage false) a read of private anonymous memory
//     that sees nothing takes the write path's allocation instead
//     (do_anonymous_page(): vmf_anon_prepare(), a zeroed folio of its own,
//     mapped writable if the vma is)
//   - private mapping, write: the design's cow() gives a page the vma may
//     write (a copy, or the same page when no one else can see it)

import { PAGE_SIZE, WINDOW_END, WINDOW_START } from './constants.js';
import type { Frame } from './frames.js';
import type { Kernel } from './kernel.js';
import type { Mm } from './mm.js';
import { PTE_READ, PTE_WRITE } from './pagetable.js';
import type { Vma } from './vma.js';

export type Signal = 'SIGSEGV' | 'SIGBUS';

/**
 * Bring the page at `addr` (inside `vma`, access already permitted) in for
 * reading or writing; return its frame, or SIGBUS.
 */
export function handleFault(k: Kernel, mm: Mm, vma: Vma, addr: number, write: boolean): Frame | Signal {
  const index = vma.index(addr);
  const file = vma.file;
  // anon_vma_prepare() comes first in a private write fault, even one that
  // then finds the file too short (do_cow_fault). Without the zero page, a
  // read fault of private anonymous memory may allocate too, so it prepares
  // first as well (a no-op for a vma that already has anonymous pages).
  const ownZero = !write && !k.zeroPage && file === null && !vma.shared;
  if ((write || ownZero) && !vma.shared) {
    const near = k.tags.prepare(vma);
    // find_mergeable_anon_vma() gave it a neighbour's anon_vma: Linux will
    // merge the two once their flags agree, so the design may let them
    // share its structures too.
    if (near !== null) k.design.anonVmaShared?.(vma, near);
  }
  if (file !== null && index >= file.pages) {
    k.counters.sigbus++;
    return 'SIGBUS';
  }
  const vpn = addr / PAGE_SIZE;
  // At most two frames: a page read in (from the file or swap) and a copy.
  k.reserve(2);
  if (write) k.counters.writeFaults++;
  else k.counters.readFaults++;

  if (vma.shared) {
    const page = file!.page(index);
    mm.pt.set(vpn, page, write ? PTE_READ | PTE_WRITE : PTE_READ);
    return page;
  }
  if (!write) {
    const anon = k.design.lookup(vma, index);
    if (anon !== null || !ownZero) {
      const page = anon ?? basePage(k, vma, index);
      mm.pt.set(vpn, page, PTE_READ);
      return page;
    }
    // No zero page: a zeroed page of the vma's own, through the design
    // exactly as a first write would get it.
    const page = k.design.cow(vma, index, k.frames.zero);
    mm.pt.set(vpn, page, vma.writable ? PTE_READ | PTE_WRITE : PTE_READ);
    return page;
  }
  const src = mm.pt.frame(vpn) ?? k.design.lookup(vma, index) ?? basePage(k, vma, index);
  const page = k.design.cow(vma, index, src);
  mm.pt.set(vpn, page, PTE_READ | PTE_WRITE);
  return page;
}

/** The page a private vma sees where no anonymous page exists. */
function basePage(k: Kernel, vma: Vma, index: number): Frame {
  return vma.file === null ? k.frames.zero : vma.file.page(index);
}

// Addresses pass 2^31, so they are doubles to V8: `addr % PAGE_SIZE` would
// be a floating-point remainder (a call out of generated code), while
// addr - vpn * PAGE_SIZE is exact and inline.

/** Load the 32-bit word at `addr` (4-aligned). */
export function readWord(k: Kernel, mm: Mm, addr: number): number | Signal {
  const vpn = Math.floor(addr / PAGE_SIZE);
  const word = (addr - vpn * PAGE_SIZE) >>> 2;
  if ((mm.pt.flags(vpn) & PTE_READ) !== 0) return k.frames.read(mm.pt.frame(vpn)!, word);
  const vma = mm.vmas.lookup(addr);
  if (vma === null || !vma.readable) {
    k.counters.sigsegv++;
    return 'SIGSEGV';
  }
  const page = handleFault(k, mm, vma, vpn * PAGE_SIZE, false);
  return typeof page === 'string' ? page : k.frames.read(page, word);
}

/** Store the 32-bit word `val` at `addr` (4-aligned). */
export function writeWord(k: Kernel, mm: Mm, addr: number, val: number): 'ok' | Signal {
  const vpn = Math.floor(addr / PAGE_SIZE);
  const word = (addr - vpn * PAGE_SIZE) >>> 2;
  if ((mm.pt.flags(vpn) & PTE_WRITE) !== 0) {
    k.frames.write(mm.pt.frame(vpn)!, word, val);
    return 'ok';
  }
  const vma = mm.vmas.lookup(addr);
  if (vma === null || !vma.writable) {
    k.counters.sigsegv++;
    return 'SIGSEGV';
  }
  const page = handleFault(k, mm, vma, vpn * PAGE_SIZE, true);
  if (typeof page === 'string') return page;
  k.frames.write(page, word, val);
  return 'ok';
}

/**
 * Read-fault every readable page of mm inside the window, as the `frames`
 * command does; call `fn` for each page that is mapped afterwards.
 */
export function touchWindow(k: Kernel, mm: Mm, fn: (addr: number, frame: Frame) => void): void {
  for (const vma of mm.vmas.intersecting(WINDOW_START, WINDOW_END)) {
    if (!vma.readable) continue;
    const lo = Math.max(vma.start, WINDOW_START);
    const hi = Math.min(vma.end, WINDOW_END);
    for (let a = lo; a < hi; a += PAGE_SIZE) {
      const vpn = a / PAGE_SIZE;
      let f = (mm.pt.flags(vpn) & PTE_READ) !== 0 ? mm.pt.frame(vpn) : null;
      if (f === null) {
        const r = handleFault(k, mm, vma, a, false);
        if (typeof r === 'string') continue;
        f = r;
      }
      fn(a, f);
    }
  }
}
