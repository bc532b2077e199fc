// Page reclaim (the kernel's mm/vmscan.c, much simplified): a second-chance
// clock over the physical frames.
//
// The hand walks the frames in pfn order. A frame that was accessed since
// the hand last passed (frames.referenced(f), the pte accessed bit) gets a
// second chance: the bit is cleared and the hand moves on. Otherwise the
// frame is evicted if it can be:
//   - it must belong to an address_space slot (the zero page and frames in
//     the middle of a fault do not);
//   - reverse mapping (the design's rmap) unmaps it from every pte — after
//     which nothing but its slot may hold it;
//   - an anonymous page goes to swap through the design (swapOut: the
//     design's structures keep the swap entry); an shm page's slot in the
//     shm object's page cache keeps it (impossible when swap is full: the
//     frame is skipped);
//   - a file page is written back first if dirty, then dropped from the
//     page cache; the next fault reads it from the file again.
// Nothing a program can observe changes: the next access faults the same
// contents back in, into the same slot, shared by every process as before.

import { PAGE_SIZE } from './constants.js';
import type { Frame } from './frames.js';
import type { Kernel } from './kernel.js';
import type { Mm } from './mm.js';
import { XArray } from './xarray.js';

export class Reclaimer {
  private hand = 0;
  private lastCollect = 0;
  reclaimed = 0;
  writebacks = 0;
  dropped = 0;
  ptesUnmapped = 0;
  /**
   * ptes an rmap walk failed to find (pages kept mapped because of it).
   * Always 0 for an exact design — the tests' invariants require it — but
   * a design variant may be inexact on purpose (cow-context's proof-of-
   * concept early exit), and then, as in Linux, the page stays.
   */
  rmapMissedPtes = 0;
  /** ptes of the page being evicted that rmap unmapped (reused: no allocation per eviction). */
  private found: { mm: Mm; vpn: number; flags: number }[] = [];
  private nfound = 0;

  constructor(private readonly k: Kernel) {}

  /** Free up to `target` frames; returns how many were freed. */
  reclaim(target: number): number {
    // Every frame ever allocated is below pfnEnd; the zero page (0) is passed over.
    const end = this.k.frames.pfnEnd;
    if (end === 1) return 0;
    // Garbage first: pages no one can see cost nothing to free. A pass
    // walks every page the design holds, so it runs at most once per half
    // a memory's worth of allocations (amortised O(1) per allocation).
    const fr = this.k.frames;
    let freed = 0;
    if (fr.allocated - this.lastCollect >= Math.min(fr.capacity, fr.inUse) / 2) {
      this.lastCollect = fr.allocated;
      const before = fr.inUse;
      this.k.design.collectGarbage?.();
      freed = before - fr.inUse;
    }
    // Two full turns: the first may only clear accessed bits.
    for (let scanned = 0; freed < target && scanned < 2 * end; scanned++) {
      this.hand = this.hand + 1 >= end ? 1 : this.hand + 1;
      const f = this.hand as Frame;
      if (fr.refs(f) === 0 || fr.owner(f) === null) continue;
      if (fr.referenced(f)) {
        fr.setReferenced(f, false);
        continue;
      }
      if (this.evict(f)) freed++;
    }
    this.reclaimed += freed;
    return freed;
  }

  private evict(f: Frame): boolean {
    const { frames, design } = this.k;
    const file = frames.owner(f)!.file;
    const i = frames.index(f);
    if ((file === null || file.isShm) && frames.swap.full) return false;
    // Unmap every pte rmap finds, remembering each. If the walk missed one,
    // Linux's try_to_unmap() leaves the folio mapped and shrink_folio_list()
    // keeps it; so does this, putting back what it unmapped (Linux would
    // leave those as swap entries of the still-mapped folio: no output can
    // tell the difference).
    this.nfound = 0;
    design.rmap(f, (v, addr) => {
      const vpn = addr / PAGE_SIZE;
      const pt = v.mm.pt;
      if (pt.frame(vpn) !== f) return;
      const e = this.found[this.nfound];
      if (e === undefined) this.found.push({ mm: v.mm, vpn, flags: pt.flags(vpn) });
      else { e.mm = v.mm; e.vpn = vpn; e.flags = pt.flags(vpn); }
      this.nfound++;
      pt.clear(vpn);
    });
    if (frames.mapcount(f) !== 0) {
      this.rmapMissedPtes += frames.mapcount(f);
      for (let j = 0; j < this.nfound; j++) {
        const e = this.found[j]!;
        e.mm.pt.set(e.vpn, f, e.flags);
      }
      return false;
    }
    this.ptesUnmapped += this.nfound;
    if (file === null) return design.swapOut(f);
    if (frames.refs(f) !== 1) throw new Error(`frame ${f} has ${frames.refs(f)} holders at eviction`);
    const s = file.mapping;
    if (file.isShm) {
      const slot = frames.swap.write(frames, f);
      s.pages.delete(i);
      (s.swapped ??= new XArray<number>()).set(i, slot);
      frames.setOwner(f, null);
      frames.put(f);
    } else {
      if (frames.dirty(f)) {
        file.writeback(f);
        this.writebacks++;
      } else {
        this.dropped++;
      }
      s.drop(i, frames);
    }
    return true;
  }
}
