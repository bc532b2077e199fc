// What the designs in which page tables hold anonymous memory share: the
// 2.3.99 scan (src/anon/scan.ts), David Miller's anon layer
// (src/anon/anon-vma.ts) and today's anon_vma_chain
// (src/anon/anon-vma-chain.ts).
//
// In each of them what a private vma sees is its own anonymous ptes
// (src/anon/anon-ptes.ts), so most of the AnonDesign interface is the
// same code: PteDesign has it.
//   - lookup: the vma's entry, brought back from swap (through the swap
//     cache) if it is a slot; peek likewise, without swapping in.
//   - cow (do_wp_page): reuse the page when this entry is its only holder
//     (AnonPtes.exclusive), else copy it (or the file's page, or zero-fill)
//     into a new page for the vma's entry.
//   - fork copies the parent's entries with a reference more on each;
//     split moves the tail's entries; a merge moves next's entries into
//     prev; MADV_DONTNEED, extend and truncate drop entries; remove drops
//     them all. MADV_WIPEONFORK's child starts like a new mapping.
//   - The accounting: heldFrames, heldSwapSlots, and unreachablePages = 0,
//     since every entry lies in its vma's range (anon-ptes.ts's (E)).
// A design says what it keeps in vma.anon and how that follows fork,
// split, merge and removal (the *State hooks), whom a page belongs to
// (prepare, swapInOwner: its PageOwner), and how its reverse map finds
// a page's ptes (rmap, swapOut).
//
// TaggedPteDesign adds what the scan and pte chains share: vma.anon is
// only the vma's merge tag (src/anon/merge-tag.ts, whose MergeTags make
// its hooks), and every anonymous page has one owner, anonOwner.
//
// AnonVmaDesignBase adds what the two anon_vma designs share: the anon_vmas
// alive and their counters, the reverse map (a page's anon_vma lists the
// vmas that may map it; a file page's i_mmap), swap-out through that list,
// and the stats both report.

import { newOwnerId, type PageOwner } from '../mm/address-space.js';
import type { File } from '../mm/file.js';
import type { Frame, FrameAllocator } from '../mm/frames.js';
import type { Vma } from '../mm/vma.js';
import { pageShareSnapshot } from '../draw/snapshot.js';
import type { DesignSnapshot } from '../draw/types.js';
import { AnonPtes } from './anon-ptes.js';
import type { AnonDesign, Peek } from './design.js';
import { MergeTag, MergeTags } from '../mm/merge-tag.js';

export abstract class PteDesign implements AnonDesign {
  abstract readonly name: string;

  /** Every private vma's anonymous ptes, and the swap cache. */
  protected readonly ptes: AnonPtes;

  protected cowCopies = 0;
  protected cowReuses = 0;
  protected zeroFills = 0;
  protected lookups = 0;
  protected rmapWalks = 0;
  protected rmapVmasVisited = 0;

  constructor(protected readonly frames: FrameAllocator) {
    this.ptes = new AnonPtes(frames);
  }

  // ------------------------------------------------- what a design says

  /** What a private vma with no anonymous page yet keeps in vma.anon. */
  protected abstract newState(): unknown;

  /** anon_vma_prepare: the owner of a new anonymous page of `vma`. */
  protected abstract prepare(vma: Vma): PageOwner;

  /** The owner of a page `vma` reads in from swap; `exclusive` when no other entry names the slot. */
  protected abstract swapInOwner(vma: Vma, exclusive: boolean): PageOwner;

  /** A write fault reuses `f`, which `vma` alone holds (do_wp_page). */
  protected reused(_vma: Vma, _f: Frame): void {}

  /** fork: set `child.anon` (the child's entries are copied already). */
  protected abstract forkState(parent: Vma, child: Vma): void;

  /** split: set `tail.anon` (the tail's entries are moved already). */
  protected abstract splitState(vma: Vma, tail: Vma): void;

  /**
   * May `prev` absorb `next` (Linux 6.18's is_mergeable_anon_vma())? If so,
   * prev's state takes over what next's pages need; next's entries move
   * into prev and next leaves afterwards.
   */
  protected abstract mergeState(prev: Vma, next: Vma): boolean;

  /** The vma's state goes (removed, or merged away); its entries are gone already. */
  protected leave(_vma: Vma): void {}

  /** The design's own invariants; anon-ptes.ts's (E), (S), (W) are checked already. */
  protected abstract checkState(vmas: readonly Vma[], fail: (msg: string) => never): void;

  abstract rmap(frame: Frame, visit: (vma: Vma, addr: number) => void): void;
  abstract swapOut(frame: Frame): boolean;
  abstract structures(): number;
  abstract stats(): Record<string, number>;

  // ------------------------------------------------------------ interface

  vmaNew(vma: Vma): void {
    this.ptes.add(vma);
    vma.anon = this.newState();
  }

  lookup(vma: Vma, index: number): Frame | null {
    this.lookups++;
    // do_swap_page.
    return this.ptes.resident(vma, index, (exclusive) => this.swapInOwner(vma, exclusive));
  }

  peek(vma: Vma, index: number): Peek {
    return this.ptes.peek(vma, index);
  }

  cow(vma: Vma, index: number, src: Frame): Frame {
    const cur = this.ptes.resident(vma, index, (exclusive) => this.swapInOwner(vma, exclusive));
    if (cur !== null && this.ptes.exclusive(cur)) {
      // Held by this pte alone: nobody else can see a write to it.
      this.cowReuses++;
      this.reused(vma, cur);
      return cur;
    }
    const owner = this.prepare(vma);
    const f = this.frames.alloc();
    const from = cur ?? src;
    if (from === this.frames.zero) this.zeroFills++;
    else {
      this.frames.copy(f, from);
      this.cowCopies++;
    }
    this.ptes.install(vma, index, f, owner);
    return f;
  }

  fork(parent: Vma, child: Vma): void {
    this.ptes.copy(parent, child);
    this.forkState(parent, child);
  }

  forkWiped(_parent: Vma, child: Vma): void {
    this.vmaNew(child);
  }

  split(vma: Vma, tail: Vma): void {
    this.ptes.add(tail);
    this.ptes.move(vma, tail, tail.pgoff);
    this.splitState(vma, tail);
  }

  /** (E): the vma holds nothing outside its range; drop anything at [lo, hi) all the same. */
  extend(vma: Vma, lo: number, hi: number): void {
    this.ptes.dropRange(vma, lo, hi);
  }

  tryMerge(prev: Vma, next: Vma): boolean {
    if (!this.mergeState(prev, next)) return false;
    this.ptes.move(next, prev, 0);
    this.ptes.remove(next);
    this.leave(next);
    next.anon = null;
    return true;
  }

  discard(vma: Vma, lo: number, hi: number): void {
    this.ptes.dropRange(vma, lo, hi);
  }

  remove(vma: Vma): void {
    this.ptes.remove(vma);
    this.leave(vma);
    vma.anon = null;
  }

  truncate(file: File, from: number): void {
    for (const v of file.mappings) {
      if (!v.shared && v.endIndex > from) this.ptes.dropRange(v, from, Number.MAX_SAFE_INTEGER);
    }
  }

  check(vmas: readonly Vma[]): void {
    const fail = (msg: string): never => {
      throw new Error(`${this.name} invariant: ${msg}`);
    };
    this.ptes.check(vmas, fail);
    this.checkState(vmas, fail);
  }

  /** The vmas and which anonymous pages they share (the anon_vma designs draw their objects instead). */
  snapshot(vmas: readonly Vma[]): DesignSnapshot {
    return pageShareSnapshot(this.name, vmas, (v, fn) => this.ptes.forEachFrame(v, fn));
  }

  heldFrames(): Map<Frame, number> {
    return this.ptes.heldFrames();
  }

  heldSwapSlots(): number {
    return this.ptes.heldSwapSlots();
  }

  /** Every entry lies in its vma's range (E): each is a page the vma sees. */
  unreachablePages(): number {
    return 0;
  }

  // -------------------------------------------------------------- helpers

  /**
   * The check a design whose private vmas carry a state object of its own
   * starts with (cow-context.ts, anon-vma-lazy.ts): a shared vma has no
   * anonymous state, a private one has a `kind`. Calls `each` on every
   * private vma with its state and how a message names it; returns the
   * private vmas.
   */
  protected checkPrivate<S>(vmas: readonly Vma[], kind: new () => S, fail: (msg: string) => never,
    each: (v: Vma, st: S, where: string) => void): Set<Vma> {
    const alive = new Set<Vma>();
    for (const v of vmas) {
      const where = `vma 0x${v.start.toString(16)} of ${v.mm.name}`;
      if (v.shared) {
        if (v.anon !== null) fail(`shared ${where} has anonymous state`);
        continue;
      }
      alive.add(v);
      if (!(v.anon instanceof kind)) fail(`${where} has no state`);
      each(v, v.anon as S, where);
    }
    return alive;
  }

  /**
   * The counters of the anonymous ptes and their swap cache, which every
   * design holding its pages in ptes reports under these names (stats()).
   */
  protected pteStats(): Record<string, number> {
    return {
      anonPtes: this.ptes.entries(),
      swapCachePages: this.ptes.cached(),
      swapCacheHits: this.ptes.swapCacheHits,
    };
  }

  /**
   * PteDesign's own fault and rmap counters, reported under these names by
   * every design that has them all (stats()). A lookup is one pte: no chain
   * to climb, so its steps are 1.
   */
  protected faultStats(): Record<string, number> {
    return {
      cowCopies: this.cowCopies,
      cowReuses: this.cowReuses,
      zeroFills: this.zeroFills,
      lookups: this.lookups,
      lookupStepsMean: this.lookups === 0 ? 0 : 1,
      lookupStepsMax: this.lookups === 0 ? 0 : 1,
      rmapWalks: this.rmapWalks,
      rmapVmasVisited: this.rmapVmasVisited,
    };
  }

  /**
   * The rmap walk over `vmas`: each is visited (rmapVmasVisited), and
   * where it covers index i its one pte there is offered to visit. Returns
   * how many covered i.
   */
  protected walk(vmas: Iterable<Vma>, i: number, visit: (vma: Vma, addr: number) => void): number {
    let covering = 0;
    for (const v of vmas) {
      this.rmapVmasVisited++;
      if (v.pgoff <= i && i < v.endIndex) {
        covering++;
        visit(v, v.addrOf(i));
      }
    }
    return covering;
  }
}

/**
 * What the designs with no anon_vma share (the scan, pte chains): vma.anon
 * is only the vma's merge tag (src/anon/merge-tag.ts), and every anonymous
 * page has one owner, `anonOwner`, which says nothing about where it is
 * mapped.
 */
export abstract class TaggedPteDesign extends PteDesign {
  /** The owner of every anonymous frame. */
  protected readonly anonOwner: PageOwner = { id: newOwnerId(), file: null };
  protected readonly tags = new MergeTags((vma) => this.tagOf(vma));

  private tagOf(vma: Vma): MergeTag {
    const st = vma.anon;
    if (!(st instanceof MergeTag)) throw new Error(`${this.name}: private vma at 0x${vma.start.toString(16)} has no ptes`);
    return st;
  }

  protected newState(): MergeTag {
    return new MergeTag();
  }

  /** A vma's first write takes a tag (MergeTags.prepare); the page's owner is anonOwner. */
  protected prepare(vma: Vma): PageOwner {
    this.tags.prepare(vma);
    return this.anonOwner;
  }

  protected swapInOwner(): PageOwner {
    return this.anonOwner;
  }

  protected forkState(parent: Vma, child: Vma): void {
    child.anon = new MergeTag();
    this.tags.fork(parent, child);
  }

  protected splitState(vma: Vma, tail: Vma): void {
    tail.anon = new MergeTag();
    this.tags.split(vma, tail);
  }

  protected mergeState(prev: Vma, next: Vma): boolean {
    return this.tags.merge(prev, next);
  }

  /**
   * vma.anon of each vma: none for a shared one; for a private one a tag
   * that keeps MergeTags.check's rules. Returns the private vmas.
   */
  protected checkTags(vmas: readonly Vma[], fail: (msg: string) => never): Vma[] {
    const priv: Vma[] = [];
    for (const v of vmas) {
      const where = `vma 0x${v.start.toString(16)}`;
      if (v.shared) {
        if (v.anon !== null) fail(`${where}: shared vma has anonymous ptes`);
        continue;
      }
      if (!(v.anon instanceof MergeTag)) fail(`${where}: private vma has no ptes`);
      this.tags.check(v, this.ptes.holdsAny(v), where, fail);
      priv.push(v);
    }
    return priv;
  }
}

/**
 * Linux 6.18 x86-64 sizes of struct anon_vma and struct anon_vma_chain: one
 * definition, since every anon_vma design (anon-vma.ts, anon-vma-chain.ts,
 * anon-vma-lazy.ts) charges the same structs and the cost tables compare
 * their bytes.
 */
export const ANON_VMA_BYTES = 96;
export const ANON_VMA_CHAIN_BYTES = 64;

/** What the anon_vma designs' anon_vmas have in common: a page owner listing the vmas that may map its pages. */
export interface AnonVmaLike extends PageOwner {
  readonly id: number;
  readonly vmas: Set<Vma>;
}

export abstract class AnonVmaDesignBase<AV extends AnonVmaLike> extends PteDesign {
  /** Every anon_vma alive. */
  protected readonly live = new Set<AV>();

  protected anonVmasCreated = 0;
  protected anonVmasFreed = 0;
  protected anonVmasPeak = 0;
  protected neighbourReuses = 0;
  protected rmapSpacesVisited = 0;

  /** Bytes of the design's structures (bytes()). */
  abstract bytes(): number;

  /** A new anon_vma is alive. */
  protected born(av: AV): AV {
    this.live.add(av);
    this.anonVmasCreated++;
    if (this.live.size > this.anonVmasPeak) this.anonVmasPeak = this.live.size;
    return av;
  }

  /** The anon_vma's last vma left: it is freed. */
  protected died(av: AV): void {
    this.live.delete(av);
    this.anonVmasFreed++;
  }

  rmap(frame: Frame, visit: (vma: Vma, addr: number) => void): void {
    const owner = this.frames.owner(frame);
    if (owner === null) return;
    this.rmapWalks++;
    this.rmapSpacesVisited++;
    // A file page: i_mmap, every vma of the file, shared or private (a
    // private one maps it where it has no copy). An anonymous page: the
    // vmas on (anon-layer) or chained to (anon-vma-chain) its anon_vma.
    this.walk(owner.file !== null ? owner.file.mappings : (owner as AV).vmas, this.frames.index(frame), visit);
  }

  swapOut(frame: Frame): boolean {
    // try_to_unmap_anon: the ptes are among the vmas of the page's anon_vma.
    this.ptes.swapOut(frame, (this.frames.owner(frame) as AV).vmas);
    return true;
  }

  /** The anon_vmas (docs/cost-model.md); anon-vma-chain's chain links are anonVmaChainsAlive, and in bytes(). */
  structures(): number {
    return this.live.size;
  }

  /** Every page in the swap cache names a live anon_vma. */
  protected checkSwapCache(fail: (msg: string) => never): void {
    for (const f of this.ptes.cachedFrames()) {
      if (!this.live.has(this.frames.owner(f) as AV)) fail(`swap cache frame ${f} names a freed anon_vma`);
    }
  }

  /** The counters both designs report, with the design's own (`own`) after the anon_vma counts. */
  protected anonVmaStats(own: Record<string, number>): Record<string, number> {
    return {
      anonVmasCreated: this.anonVmasCreated,
      anonVmasFreed: this.anonVmasFreed,
      anonVmasAlive: this.live.size,
      anonVmasPeak: this.anonVmasPeak,
      ...own,
      ...this.pteStats(),
      ...this.faultStats(),
      rmapSpacesVisited: this.rmapSpacesVisited,
      designBytes: this.bytes(),
    };
  }
}
