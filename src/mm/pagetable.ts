// A process's page table: virtual page number -> (frame, access bits).
//
// Two levels, like the bottom of x86's: a Map from the pmd index
// (vpn / 512) to a leaf of 512 ptes. Leaves are allocated when the first
// pte in them is set and freed when the last is cleared, so a mapping of
// 2^46 bytes costs nothing until it is touched, and `ptes` (the number of
// present entries) and `leaves` give the page-table memory the kernel would
// spend. Lookups allocate nothing.
//
// Speed (docs/performance.md): the last leaf used is cached, so the
// fast path of a load or store (flags() then frame() of one vpn) and a
// run of faults through one leaf cost no Map lookup; range operations
// (fork's write-protect, zap, exit) walk each leaf's arrays directly
// instead of looking the leaf up again for every pte.
//
// The page table holds references: a present pte holds one `refs` and one
// `mapcount` on its frame; set/clear maintain both.
//
// Access bits: PTE_READ and PTE_WRITE. A present pte with neither is a
// PROT_NONE mapping of a page that stays resident (mprotect keeps pages).
// A pte without PTE_WRITE in a writable vma is write-protected: the next
// write faults and the anonymous-memory design decides between copy and
// reuse (fork and mprotect make ptes so).

import type { Frame, FrameAllocator } from './frames.js';

export const PTE_READ = 1;
export const PTE_WRITE = 2;

export const PTES_PER_LEAF = 512;

export class PteLeaf {
  readonly frames: (Frame | null)[] = new Array<Frame | null>(PTES_PER_LEAF).fill(null);
  readonly flags = new Uint8Array(PTES_PER_LEAF);
  present = 0;
}

const leafIndex = (vpn: number): number => Math.floor(vpn / PTES_PER_LEAF);

export class PageTable {
  readonly leaves = new Map<number, PteLeaf>();
  /** Present ptes in the whole table. */
  present = 0;
  /** The leaf last looked up (-1: none) and it, or undefined if it does not exist. */
  private lastIndex = -1;
  private lastLeaf: PteLeaf | undefined = undefined;

  constructor(private readonly frames: FrameAllocator) {}

  private leaf(li: number): PteLeaf | undefined {
    if (li === this.lastIndex) return this.lastLeaf;
    const leaf = this.leaves.get(li);
    this.lastIndex = li;
    this.lastLeaf = leaf;
    return leaf;
  }

  private dropLeaf(li: number): void {
    this.leaves.delete(li);
    if (li === this.lastIndex) this.lastLeaf = undefined;
  }

  /** The frame mapped at vpn, or null. */
  frame(vpn: number): Frame | null {
    const leaf = this.leaf(leafIndex(vpn));
    return leaf === undefined ? null : leaf.frames[vpn & 511]!;
  }

  /** Access bits of the pte at vpn (0 if absent). */
  flags(vpn: number): number {
    const leaf = this.leaf(leafIndex(vpn));
    return leaf === undefined ? 0 : leaf.flags[vpn & 511]!;
  }

  /** Install (or replace) the pte at vpn. */
  set(vpn: number, frame: Frame, flags: number): void {
    const li = leafIndex(vpn);
    let leaf = this.leaf(li);
    if (leaf === undefined) {
      leaf = new PteLeaf();
      this.leaves.set(li, leaf);
      this.lastIndex = li;
      this.lastLeaf = leaf;
    }
    const i = vpn & 511;
    const old = leaf.frames[i]!;
    if (old !== frame) {
      this.frames.get(frame);
      frame.mapcount++;
      if (old === null) {
        leaf.present++;
        this.present++;
      } else {
        old.mapcount--;
        this.frames.put(old);
      }
      leaf.frames[i] = frame;
    }
    leaf.flags[i] = flags;
  }

  /** Clear the pte at vpn if present. */
  clear(vpn: number): void {
    const li = leafIndex(vpn);
    const leaf = this.leaf(li);
    if (leaf === undefined) return;
    const i = vpn & 511;
    const old = leaf.frames[i]!;
    if (old === null) return;
    leaf.frames[i] = null;
    leaf.flags[i] = 0;
    old.mapcount--;
    this.frames.put(old);
    this.present--;
    if (--leaf.present === 0) this.dropLeaf(li);
  }

  /**
   * Clear every pte in [startVpn, endVpn). Visits only the leaves that
   * exist, so zapping a huge sparse range is cheap.
   */
  clearRange(startVpn: number, endVpn: number): void {
    if (endVpn <= startVpn || this.present === 0) return;
    const first = leafIndex(startVpn);
    const last = leafIndex(endVpn - 1);
    if (last - first + 1 > this.leaves.size) {
      for (const li of [...this.leaves.keys()]) {
        if (li >= first && li <= last) this.clearLeafRange(li, startVpn, endVpn);
      }
    } else {
      for (let li = first; li <= last; li++) this.clearLeafRange(li, startVpn, endVpn);
    }
  }

  private clearLeafRange(li: number, startVpn: number, endVpn: number): void {
    const leaf = this.leaves.get(li);
    if (leaf === undefined) return;
    const base = li * PTES_PER_LEAF;
    const lo = Math.max(startVpn, base) - base;
    const hi = Math.min(endVpn, base + PTES_PER_LEAF) - base;
    this.clearSlots(li, leaf, lo, hi);
  }

  /** Clear the present ptes of slots [lo, hi) of one leaf (what clear() does, without a lookup per pte). */
  private clearSlots(li: number, leaf: PteLeaf, lo: number, hi: number): void {
    const frames = leaf.frames;
    const flags = leaf.flags;
    const alloc = this.frames;
    for (let i = lo; i < hi && leaf.present > 0; i++) {
      const old = frames[i]!;
      if (old === null) continue;
      frames[i] = null;
      flags[i] = 0;
      old.mapcount--;
      alloc.put(old);
      this.present--;
      leaf.present--;
    }
    if (leaf.present === 0) this.dropLeaf(li);
  }

  /** Set the access bits of every present pte in [startVpn, endVpn) to `fn(old)`. */
  changeFlags(startVpn: number, endVpn: number, fn: (old: number) => number): void {
    if (endVpn <= startVpn || this.present === 0) return;
    const first = leafIndex(startVpn);
    const last = leafIndex(endVpn - 1);
    const visit = (li: number, leaf: PteLeaf): void => {
      const base = li * PTES_PER_LEAF;
      const lo = Math.max(startVpn, base) - base;
      const hi = Math.min(endVpn, base + PTES_PER_LEAF) - base;
      const frames = leaf.frames;
      const flags = leaf.flags;
      for (let i = lo; i < hi; i++) if (frames[i] !== null) flags[i] = fn(flags[i]!);
    };
    if (last - first + 1 > this.leaves.size) {
      for (const [li, leaf] of this.leaves) if (li >= first && li <= last) visit(li, leaf);
    } else {
      for (let li = first; li <= last; li++) {
        const leaf = this.leaves.get(li);
        if (leaf !== undefined) visit(li, leaf);
      }
    }
  }

  /** Call fn for each present pte in [startVpn, endVpn), ascending. */
  forEachPresent(startVpn: number, endVpn: number, fn: (vpn: number, frame: Frame, flags: number) => void): void {
    if (endVpn <= startVpn || this.present === 0) return;
    const first = leafIndex(startVpn);
    const last = leafIndex(endVpn - 1);
    const keys = last - first + 1 > this.leaves.size
      ? [...this.leaves.keys()].filter((li) => li >= first && li <= last).sort((a, b) => a - b)
      : null;
    const visit = (li: number): void => {
      const leaf = this.leaves.get(li);
      if (leaf === undefined) return;
      const base = li * PTES_PER_LEAF;
      const lo = Math.max(startVpn, base) - base;
      const hi = Math.min(endVpn, base + PTES_PER_LEAF) - base;
      for (let i = lo; i < hi; i++) {
        const f = leaf.frames[i]!;
        if (f !== null) fn(base + i, f, leaf.flags[i]!);
      }
    };
    if (keys !== null) for (const li of keys) visit(li);
    else for (let li = first; li <= last; li++) visit(li);
  }

  /** Drop every pte (exit). */
  clearAll(): void {
    for (const [li, leaf] of [...this.leaves]) this.clearSlots(li, leaf, 0, PTES_PER_LEAF);
  }
}
