// The interface between the machine and an anonymous-memory design.
//
// The machine (src/mm/) owns processes, vmas, page tables, files and their
// page cache, and every syscall's argument checking and vma surgery. What a
// *private* mapping sees — which anonymous page backs index i of a private
// vma, what copy-on-write does, what fork shares — is the design's. Shared
// mappings never reach a design: they map the page cache directly.
//
// Contract, in the terms of the machine's invariants (test/invariants.ts):
// - `lookup(vma, i)` is what vma sees at index i: an anonymous frame, or
//   null for "the base page" (the file's page for a private file mapping,
//   the zero page for private anonymous memory). Every present pte of a
//   private vma maps exactly lookup(vma, i) or the base page.
// - Only the methods below change what a vma sees; the machine zaps or
//   replaces the ptes that such a change affects (it knows which: the
//   vma's own range for cow/discard/extend, every mapping of the file for
//   truncate). No method may change what *another* vma sees.
// - A design holds its own references on the frames it keeps
//   (FrameAllocator.get/put) and releases them when nothing can reach them.
// - A Frame is a page frame number: everything about it (refs, owner,
//   index, contents) is read and changed through the FrameAllocator the
//   factory receives. pfn 0 is the zero page, so a `Frame | null` is
//   tested against null, never for truthiness; and a frame is a number,
//   so a structure holding frames and other numbers (swap slots) must
//   tell them apart by encoding, not by typeof (anon-ptes.ts: SwapEntry).

import type { DesignSnapshot } from '../draw/types.js';
import type { File } from '../mm/file.js';
import type { Frame, FrameAllocator } from '../mm/frames.js';
import type { Mm } from '../mm/mm.js';
import type { Vma } from '../mm/vma.js';

export interface AnonDesign {
  readonly name: string;

  /** mmap made a private vma (anonymous if vma.file is null). */
  vmaNew(vma: Vma): void;

  /**
   * What the private vma sees at index: an anonymous frame or null (base).
   * Brings a swapped-out page back (the caller has reserved a frame).
   */
  lookup(vma: Vma, index: number): Frame | null;

  /** lookup() for checkers: same answer without swapping in or counting ('swapped': in swap). */
  peek(vma: Vma, index: number): Peek;

  /**
   * Reverse mapping: call visit(vma, addr) for every place that may map
   * `frame` — at least every pte that does (the caller checks each pte).
   * Counts its walk in the design's rmap counters.
   */
  rmap(frame: Frame, visit: (vma: Vma, addr: number) => void): void;

  /**
   * Reclaim: every pte mapping the anonymous `frame` has been cleared; move
   * the page to swap (frames.swap, which the caller has checked is not
   * full) so that the design's structures hold the swap entry instead, and
   * drop the design's references to the frame. Returns false to keep it.
   */
  swapOut(frame: Frame): boolean;

  /** Every frame the design itself holds a reference on, with how many. */
  heldFrames(): Map<Frame, number>;

  /** Swap slots the design holds. */
  heldSwapSlots(): number;

  /** Bytes of its own structures alive, at Linux 6.18 x86-64 sizes (0 if it has none). */
  bytes?(): number;

  /** How many of its own structures (spaces, anon_vmas...) are alive. */
  structures(): number;

  /** Free the pages the design holds that no vma can see any more; returns how many. */
  collectGarbage?(): number;

  /** Pages the design holds that no vma can see any more. */
  unreachablePages(): number;

  /**
   * A write fault at index of a private vma whose current page is `src`
   * (the anonymous page, the file's page, or the zero page): return the
   * frame the vma may now write, exclusive to it — `src` itself when it is
   * an anonymous page no one else can see (reuse), else a copy.
   */
  cow(vma: Vma, index: number, src: Frame): Frame;

  /** fork: `child` is a copy of the private vma `parent` in the new mm. */
  fork(parent: Vma, child: Vma): void;

  /** fork of a MADV_WIPEONFORK vma: the child's copy starts empty. */
  forkWiped(parent: Vma, child: Vma): void;

  /**
   * An anonymous vma that has never had an anonymous page was given a new
   * pgoff (mremap moving it, as Linux's copy_vma() does). It sees nothing at
   * its new indices either.
   */
  renumber?(vma: Vma): void;

  /**
   * At its first write fault, `vma` took the anon_vma of its neighbour
   * `near` (Linux's find_mergeable_anon_vma(): adjacent, same flags but for
   * access bits, contiguous pgoff), so Linux will merge them when their
   * protections agree. A design whose merges depend on its own structures
   * may make the two share them now. `vma` has had no anonymous page yet.
   */
  anonVmaShared?(vma: Vma, near: Vma): void;

  /**
   * mremap moved the whole vma (vma.start changed; its pgoff did not, unless
   * renumber() was called first). Designs that index vmas by address care.
   */
  moved?(vma: Vma): void;

  /**
   * A new mm: `spawn` (parent null) or fork (dup_mm), called before any of
   * the child's vmas is made. Designs with per-mm state (cow-context) care.
   */
  mmInit?(mm: Mm, parent: Mm | null): void;

  /** The mm exited; every vma of it has been removed already (exit_mmap, mmdrop). */
  mmExit?(mm: Mm): void;

  /** The vma was split: `tail` (new, same object) now covers the upper part. */
  split(vma: Vma, tail: Vma): void;

  /**
   * The vma is about to grow to cover the new indices [lo, hi) (mremap
   * expansion, or absorbing a merged neighbour): it must see nothing there.
   */
  extend(vma: Vma, lo: number, hi: number): void;

  /**
   * Two adjacent private vmas of one mm with compatible flags and contiguous
   * pgoff: may `prev` absorb `next`? If the design says yes it has already
   * moved next's state into prev (the machine then widens prev and drops
   * next without calling remove).
   */
  tryMerge(prev: Vma, next: Vma): boolean;

  /** MADV_DONTNEED: the vma no longer sees anonymous pages in [lo, hi). */
  discard(vma: Vma, lo: number, hi: number): void;

  /** The private vma is gone (munmap, exit, replaced). */
  remove(vma: Vma): void;

  /** ftruncate: private copies of `file`'s pages at index >= from vanish. */
  truncate(file: File, from: number): void;

  /** Check the design's own invariants; throw on violation. */
  check(vmas: readonly Vma[]): void;

  /** Design counters, merged into the machine's stats. */
  stats(): Record<string, number>;

  /**
   * Its structures now, as a graph for `vmtree draw` (src/draw/): `vmas`
   * are every vma of every live process, in process then address order.
   */
  snapshot?(vmas: readonly Vma[]): DesignSnapshot;
}

/** What a vma sees at an index, for checkers: a frame, a page in swap, or the base page (null). */
export type Peek = Frame | 'swapped' | null;

export interface DesignOptions {
  /** The tree's cut optimisation (default on). */
  cut?: boolean;
  /** The tree's merge optimisation (default on). */
  merge?: boolean;
  /**
   * The shadow design: DragonFly BSD's limit on shadow chain length — a
   * copy-on-write that would make a chain longer than this collapses the
   * whole chain eagerly first (default unlimited).
   */
  shadowChainLimit?: number;
  /**
   * The cow-context design's walk: 'none' (the default: every context of
   * the subtree, exact), 'poc' (the proof of concept's early exit after a
   * context's offset-0 check when the page is not maybe-mapped-shared: it
   * can miss ptes, see docs/cow-context-early-exit.md), 'fixed' (stop once
   * the walk has found as many ptes as map the page: exact).
   */
  cowContextEarlyExit?: CowContextEarlyExit;
  /**
   * The cow-context design: the context of a page read in from a swap slot
   * other ptes still name: 'root' (the default: the root of the faulting
   * mm's context tree, as anon_vma uses its root; exact) or 'faulting-mm'
   * (the proof of concept's __folio_set_anon: can miss ptes).
   */
  cowContextSwapIn?: CowContextSwapIn;
}

export type CowContextEarlyExit = 'none' | 'poc' | 'fixed';
export type CowContextSwapIn = 'root' | 'faulting-mm';

/** What a design may know of the machine around it. */
export interface DesignContext {
  /** Every live process (the 2.3.99 scan walks their page tables). */
  mms(): Iterable<Mm>;
}

export type AnonDesignFactory = (frames: FrameAllocator, opts: DesignOptions, ctx: DesignContext) => AnonDesign;
