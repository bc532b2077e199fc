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
// `mapcount` on its frame; set/clear maintain both. A leaf is two typed
// arrays (a frame is a pfn, frames.ts): 4 bytes of pfn and 1 of access
// bits a pte, and nothing allocated per pte.
//
// Leaves shared copy-on-write (fork): dupMmap gives the child the parent's
// leaves themselves, not copies (`shareLeaves`), so a fork costs a Map
// entry per leaf instead of a reference per pte. A leaf with `users` > 1
// is read by every table holding it and written by none: a table about to
// change it takes its own copy first (`own`), and a table done with it
// (exit, an unmap of the whole leaf) just lets go (`release`). The kernel
// must copy every pte at fork; a model only has to answer as if it had.
//
// Counts of a shared leaf: each present pte of a leaf holds `counted`
// references (and mapcounts) on its frame, where the truth is `users`.
// Sharing raises `users` only and tells the allocator the counts are
// short (frames.ts: reading any frame's refs or mapcount settles them,
// raising `counted` to `users`). Invariant, for every leaf:
//   1 <= counted <= users, and a frame's raw counts are the sum of
//   `counted` over the present ptes mapping it (plus non-pte holders).
// So a frame is never freed while mapped (counted >= 1), and a fork whose
// child exits (or execs) before anything asks for a count never touches a
// pte.
//
// Access bits: PTE_READ and PTE_WRITE. A present pte with neither is a
// PROT_NONE mapping of a page that stays resident (mprotect keeps pages).
// A pte without PTE_WRITE in a writable vma is write-protected: the next
// write faults and the anonymous-memory design decides between copy and
// reuse (fork and mprotect make ptes so).

import type { DeferredCounts, Frame, FrameAllocator } from './frames.js';

export const PTE_READ = 1;
export const PTE_WRITE = 2;

export const PTES_PER_LEAF = 512;

/**
 * A leaf's slot holds pfn + 1 (0: no pte), so that a new leaf is a zeroed
 * typed array: 4 bytes a pte and no object per pte.
 */
const NONE = 0;

/** The frame a non-NONE slot holds. */
const frameOf = (s: number): Frame => (s - 1) as Frame;

export class PteLeaf implements DeferredCounts {
  /** pfn + 1 of each slot's frame, NONE for an absent pte. */
  readonly slots: Int32Array;
  readonly flags: Uint8Array;
  present = 0;
  /** Present ptes with PTE_WRITE (so that fork's write-protect skips a leaf with none). */
  writable = 0;
  /** Page tables holding this leaf (more than one after fork, until each writes). */
  users = 1;
  /** References each present pte holds on its frame (see the header). */
  counted = 1;
  /** In the allocator's deferred list. */
  deferred = false;

  /** A new empty leaf (emptyLeaf() and copyLeaf() below reuse spares first). */
  constructor() {
    this.slots = new Int32Array(PTES_PER_LEAF);
    this.flags = new Uint8Array(PTES_PER_LEAF);
  }

  get short(): boolean {
    return this.counted < this.users;
  }

  /** The frame of slot i, or null. */
  frame(i: number): Frame | null {
    const s = this.slots[i]!;
    return s === NONE ? null : frameOf(s);
  }

  /** Take the references deferred at fork: `counted` becomes `users`. */
  settle(frames: FrameAllocator): void {
    this.deferred = false;
    const add = this.users - this.counted;
    if (add <= 0) return;
    this.counted = this.users;
    const slots = this.slots;
    for (let i = 0, left = this.present; left > 0; i++) {
      const s = slots[i]!;
      if (s === NONE) continue;
      frames.mapped(frameOf(s), add);
      left--;
    }
  }
}

const leafIndex = (vpn: number): number => Math.floor(vpn / PTES_PER_LEAF);

/**
 * Leaves emptied by the table that owned them, for reuse: a leaf is two
 * typed arrays (2.5 KB off the JS heap, a malloc each), and exits and
 * COW copies after fork make and drop them by the thousand. Shared by
 * every table of the process (a leaf here belongs to none); bounded.
 * A pooled leaf is empty: every slot NONE, every access byte 0.
 */
const spareLeaves: PteLeaf[] = [];
const SPARE_LEAVES_MAX = 1024;

/** An empty leaf: a spare, or a new one. */
function emptyLeaf(): PteLeaf {
  return spareLeaves.pop() ?? new PteLeaf();
}

/** A private copy of `of`'s ptes (no references taken: the caller's). */
function copyLeaf(of: PteLeaf): PteLeaf {
  const s = emptyLeaf();
  s.slots.set(of.slots);
  s.flags.set(of.flags);
  s.present = of.present;
  s.writable = of.writable;
  return s;
}

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

  /**
   * Drop leaf `li`, which this table alone held and whose last pte is
   * gone, and keep it for reuse — unless the allocator's deferred list
   * still names it (it would settle the leaf's next life's counts).
   */
  private emptied(li: number, leaf: PteLeaf): void {
    this.dropLeaf(li);
    if (leaf.deferred || spareLeaves.length >= SPARE_LEAVES_MAX) return;
    leaf.users = 1;
    leaf.counted = 1;
    leaf.writable = 0;
    spareLeaves.push(leaf);
  }

  /**
   * Call fn(li, leaf, lo, hi) for every leaf holding slots of
   * [startVpn, endVpn), [lo, hi) being its slots in the range; fn may
   * replace or drop the leaf it is given. A range spanning fewer leaf
   * indices than the table holds leaves is looked up index by index
   * (ascending); a wider one (a huge sparse vma) walks the table's leaves
   * instead, in the Map's order, or ascending when `ascending` (the order
   * matters where frames are freed or ptes reported).
   */
  private eachLeaf(startVpn: number, endVpn: number, ascending: boolean, fn: (li: number, leaf: PteLeaf, lo: number, hi: number) => void): void {
    if (endVpn <= startVpn || this.present === 0) return;
    const first = leafIndex(startVpn);
    const last = leafIndex(endVpn - 1);
    const visit = (li: number): void => {
      const leaf = this.leaves.get(li);
      if (leaf === undefined) return;
      const base = li * PTES_PER_LEAF;
      fn(li, leaf, Math.max(startVpn, base) - base, Math.min(endVpn, base + PTES_PER_LEAF) - base);
    };
    if (last - first + 1 > this.leaves.size) {
      const keys = [...this.leaves.keys()].filter((li) => li >= first && li <= last);
      if (ascending) keys.sort((a, b) => a - b);
      for (const li of keys) visit(li);
    } else {
      for (let li = first; li <= last; li++) visit(li);
    }
  }

  /**
   * This table's own copy of leaf `li` (which it holds as `leaf`), before
   * it changes a pte there: the leaf itself unless fork shares it.
   */
  private own(li: number, leaf: PteLeaf): PteLeaf {
    if (leaf.users === 1) return leaf;
    const copy = copyLeaf(leaf);
    if (leaf.counted === leaf.users) {
      // The copy's ptes take over the references one user held.
      leaf.counted--;
    } else {
      // The shared leaf's counts were short by one user at least: the
      // copy takes its references afresh and the leaf stays as short.
      const slots = copy.slots;
      for (let i = 0, left = copy.present; left > 0; i++) {
        const s = slots[i]!;
        if (s === NONE) continue;
        this.frames.mapped(frameOf(s), 1);
        left--;
      }
    }
    leaf.users--;
    this.leaves.set(li, copy);
    this.lastIndex = li;
    this.lastLeaf = copy;
    return copy;
  }

  /**
   * Stop holding leaf `li` (every pte of it goes): a shared leaf loses a
   * user, dropping that user's references if they were taken.
   */
  private release(li: number, leaf: PteLeaf): void {
    if (leaf.users === 1) {
      this.clearSlots(li, leaf, 0, PTES_PER_LEAF);
      return;
    }
    leaf.users--;
    if (leaf.counted > leaf.users) {
      leaf.counted--;
      const slots = leaf.slots;
      for (let i = 0, left = leaf.present; left > 0; i++) {
        const s = slots[i]!;
        if (s === NONE) continue;
        this.frames.unmapped(frameOf(s));
        left--;
      }
    }
    this.present -= leaf.present;
    this.dropLeaf(li);
  }

  /**
   * fork: `child` gets every leaf of this table, in ascending order (the
   * order a pte-by-pte copy would have made them in, so that exits free
   * frames in the same order as before). A leaf `copyWhole` accepts the
   * child shares (see the header): the caller vouches that every pte in it
   * is one the child must have, with the same access bits (write-protected
   * already where it must be). Of any other leaf the child gets the ptes
   * `keep` accepts, copied one by one.
   */
  fork(child: PageTable, copyWhole: (li: number) => boolean, keep: (vpn: number) => boolean): void {
    if (child.leaves.size !== 0) throw new Error('fork into a page table that has ptes');
    const keys = [...this.leaves.keys()].sort((a, b) => a - b);
    for (const li of keys) {
      const leaf = this.leaves.get(li)!;
      if (copyWhole(li)) {
        leaf.users++;
        child.leaves.set(li, leaf);
        child.present += leaf.present;
        if (!leaf.deferred) {
          leaf.deferred = true;
          this.frames.defer(leaf);
        }
        continue;
      }
      const base = li * PTES_PER_LEAF;
      for (let i = 0; i < PTES_PER_LEAF; i++) {
        const s = leaf.slots[i]!;
        if (s !== NONE && keep(base + i)) child.set(base + i, frameOf(s), leaf.flags[i]!);
      }
    }
  }

  /** Call fn with the index of every leaf holding a pte in [startVpn, endVpn). */
  forEachLeaf(startVpn: number, endVpn: number, fn: (li: number) => void): void {
    this.eachLeaf(startVpn, endVpn, false, (li, leaf, lo, hi) => {
      for (let i = lo; i < hi; i++) {
        if (leaf.slots[i] !== NONE) {
          fn(li);
          return;
        }
      }
    });
  }

  /** The frame mapped at vpn, or null. */
  frame(vpn: number): Frame | null {
    const leaf = this.leaf(leafIndex(vpn));
    return leaf === undefined ? null : leaf.frame(vpn & 511);
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
      leaf = emptyLeaf();
      this.leaves.set(li, leaf);
      this.lastIndex = li;
      this.lastLeaf = leaf;
    } else if (leaf.users !== 1) {
      leaf = this.own(li, leaf);
    }
    const i = vpn & 511;
    const old = leaf.slots[i]!;
    if (old !== frame + 1) {
      this.frames.mapped(frame, 1);
      if (old === NONE) {
        leaf.present++;
        this.present++;
      } else {
        this.frames.unmapped(frameOf(old));
      }
      leaf.slots[i] = frame + 1;
    }
    leaf.writable += (flags & PTE_WRITE ? 1 : 0) - (leaf.flags[i]! & PTE_WRITE ? 1 : 0);
    leaf.flags[i] = flags;
  }

  /** Clear the pte at vpn if present. */
  clear(vpn: number): void {
    const li = leafIndex(vpn);
    let leaf = this.leaf(li);
    if (leaf === undefined) return;
    const i = vpn & 511;
    if (leaf.slots[i] === NONE) return;
    if (leaf.users !== 1) leaf = this.own(li, leaf);
    const old = leaf.slots[i]!;
    leaf.slots[i] = NONE;
    if ((leaf.flags[i]! & PTE_WRITE) !== 0) leaf.writable--;
    leaf.flags[i] = 0;
    this.frames.unmapped(frameOf(old));
    this.present--;
    if (--leaf.present === 0) this.emptied(li, leaf);
  }

  /**
   * Clear every pte in [startVpn, endVpn). Visits only the leaves that
   * exist, so zapping a huge sparse range is cheap.
   */
  clearRange(startVpn: number, endVpn: number): void {
    this.eachLeaf(startVpn, endVpn, false, (li, leaf, lo, hi) => {
      if (leaf.users === 1) {
        this.clearSlots(li, leaf, lo, hi);
        return;
      }
      // A shared leaf: let go of it if the range holds every pte it has
      // (an exit, or an unmap of everything mapped there), rather than
      // copy it only to empty the copy.
      let n = leaf.present;
      if (lo !== 0 || hi !== PTES_PER_LEAF) {
        n = 0;
        for (let i = lo; i < hi; i++) if (leaf.slots[i] !== NONE) n++;
      }
      if (n === leaf.present) this.release(li, leaf);
      else if (n !== 0) this.clearSlots(li, this.own(li, leaf), lo, hi);
    });
  }

  /** Clear the present ptes of slots [lo, hi) of one leaf (what clear() does, without a lookup per pte). */
  private clearSlots(li: number, leaf: PteLeaf, lo: number, hi: number): void {
    const slots = leaf.slots;
    const flags = leaf.flags;
    const alloc = this.frames;
    for (let i = lo; i < hi && leaf.present > 0; i++) {
      const old = slots[i]!;
      if (old === NONE) continue;
      slots[i] = NONE;
      if ((flags[i]! & PTE_WRITE) !== 0) leaf.writable--;
      flags[i] = 0;
      alloc.unmapped(frameOf(old));
      this.present--;
      leaf.present--;
    }
    if (leaf.present === 0) this.emptied(li, leaf);
  }

  /** Set the access bits of every present pte in [startVpn, endVpn) to `fn(old)`. */
  changeFlags(startVpn: number, endVpn: number, fn: (old: number) => number): void {
    this.eachLeaf(startVpn, endVpn, false, (li, leaf, lo, hi) => {
      if (leaf.users !== 1) {
        // A shared leaf is copied only if a pte really changes.
        let changes = false;
        for (let i = lo; i < hi && !changes; i++) changes = leaf.slots[i] !== NONE && fn(leaf.flags[i]!) !== leaf.flags[i];
        if (!changes) return;
        leaf = this.own(li, leaf);
      }
      const slots = leaf.slots;
      const flags = leaf.flags;
      for (let i = lo; i < hi; i++) {
        if (slots[i] === NONE) continue;
        const was = flags[i]!;
        const now = fn(was);
        leaf.writable += (now & PTE_WRITE ? 1 : 0) - (was & PTE_WRITE ? 1 : 0);
        flags[i] = now;
      }
    });
  }

  /**
   * Clear PTE_WRITE on every pte in [startVpn, endVpn) (fork's
   * write-protect of a private range). A leaf with no writable pte is
   * passed over without a look at its slots, so a second fork finds the
   * first's work done and leaves shared leaves shared.
   */
  wrprotect(startVpn: number, endVpn: number): void {
    this.eachLeaf(startVpn, endVpn, false, (li, leaf, lo, hi) => {
      if (leaf.writable === 0) return;
      let i = lo;
      while (i < hi && (leaf.flags[i]! & PTE_WRITE) === 0) i++;
      if (i === hi) return;
      if (leaf.users !== 1) leaf = this.own(li, leaf);
      // An absent pte's bits are 0: no need to look at its frame.
      const flags = leaf.flags;
      for (; i < hi; i++) {
        if ((flags[i]! & PTE_WRITE) === 0) continue;
        flags[i] = flags[i]! & ~PTE_WRITE;
        leaf.writable--;
      }
    });
  }

  /** Call fn for each present pte in [startVpn, endVpn), ascending. */
  forEachPresent(startVpn: number, endVpn: number, fn: (vpn: number, frame: Frame, flags: number) => void): void {
    this.eachLeaf(startVpn, endVpn, true, (li, leaf, lo, hi) => {
      const base = li * PTES_PER_LEAF;
      for (let i = lo; i < hi; i++) {
        const s = leaf.slots[i]!;
        if (s !== NONE) fn(base + i, frameOf(s), leaf.flags[i]!);
      }
    });
  }

  /** Drop every pte (exit). */
  clearAll(): void {
    for (const [li, leaf] of [...this.leaves]) this.release(li, leaf);
  }
}
