// Today's Linux: anon_vma with anon_vma_chain (Rik van Riel, 2.6.34: "mm:
// change anon_vma linking to fix multi-process server scalability issue"),
// with the anon_vma reuse of commit 7a3ef208e662 ("mm: prevent endless
// growth of anon_vma hierarchy", 2015) in the form Linux 6.0 gave it
// (num_children and num_active_vmas, "mm/rmap: Fix anon_vma->degree
// ambiguity leading to double-reuse"), as mm/rmap.c has it in Linux 6.18.
//
//   - Anonymous pages are held by ptes (src/anon/anon-ptes.ts), as in the
//     anon layer (anon-vma.ts). What the two share — lookup, copy-on-write,
//     fork's copy, discard, truncate, the rmap walk of an anon_vma's list,
//     swap-out, the common counters — is in src/anon/pte-design.ts
//     (PteDesign, AnonVmaDesignBase); this module keeps the anon_vmas, the
//     chains, and how each vma's follow it. What anon-vma-lazy.ts shares
//     with it (the chains' links, unlink_anon_vmas, the checks) is
//     AnonVmaChainBase.
//   - Each anon_vma belongs to one generation of one vma: a private vma's
//     first anonymous page gives it one (anon_vma_prepare: a compatible
//     neighbour's whose chain is singular, or a new root); at fork the
//     child's vma gets a new anon_vma whose parent is the parent vma's
//     (anon_vma_fork). Each anon_vma knows its root, its parent, how many
//     anon_vmas name it as parent (num_children; a root counts itself) and
//     how many vmas use it as their own (num_active_vmas).
//   - Each vma is chained (anon_vma_chain, one per link) to its own
//     anon_vma and to every anon_vma its parent's vma was chained to
//     (anon_vma_clone). Each anon_vma lists the vmas chained to it (Linux's
//     interval tree of avcs).
//   - Reuse (anon_vma_clone at fork): instead of allocating, the child's vma
//     takes an anon_vma of the parent's chain that no vma uses as its own
//     and that has at most one child (num_children < 2 &&
//     num_active_vmas == 0) — what an exited middle generation leaves — so
//     that a fork chain whose parents exit does not grow without bound.
//   - A new page points at the anon_vma of the vma that made it. So the
//     rmap walk of a page visits the vmas chained to that anon_vma: the
//     vma that made the page and its descendants, the only ones that may
//     map it. After a COW storm a child's page is walked in one vma, where
//     the anon layer walks the whole family.
//   - A write fault reuses the page when this pte is its only holder, and
//     moves the page to the vma's own anon_vma (folio_move_anon_rmap), so
//     later walks are as short as they can be. A page read in from swap goes
//     to the vma's own anon_vma when no other pte names the slot, else to
//     the root, the oldest anon_vma every vma of the family is chained to
//     (__folio_set_anon).
//
// INVARIANTS (checked by check(), with anon-ptes.ts's (E), (S), (W)):
//   (C) a vma's chain holds its anon_vma, and with every anon_vma its
//       parent (chains are closed upwards); a vma is on the list of exactly
//       the anon_vmas of its chain. A vma without an anon_vma has an empty
//       chain and no anonymous pages.
//   (P) every anon_vma alive has a non-empty list, a live parent, and the
//       root of its parent; its list is within its parent's (by (C)), so a
//       root is the last of its family to go. num_active_vmas counts the
//       vmas using it as their own; num_children the live anon_vmas naming
//       it as parent (a root names itself).
//   (O) every page a vma holds is owned by an anon_vma of the vma's chain,
//       so the rmap walk of the page's anon_vma finds every pte mapping it
//       (the machine's I2').
// (O) holds because pages only reach vmas chained to their owner: fork and
// split copy the chain with the entries, a merge gives the surviving vma
// the chain of the one it absorbs, and a page's owner only moves to the
// faulting vma's own anon_vma (reuse, exclusive swap-in) or to the root.
//
// Merging vmas, as Linux 6.18's is_mergeable_anon_vma(): vmas with the
// same anon_vma, or neither with one, merge; if only one has an anon_vma,
// they merge unless that vma is a fork child (its chain is not singular:
// vma_is_fork_child()). The merged vma takes the chain.
//
// Cases the post does not cover, and how anon_vma_chain handles them:
//   - MADV_DONTNEED in a vma whose pages are shared with other vmas (after
//     fork): the vma drops its own entries in the range; the others'
//     entries, and so their views, are untouched. See discard()
//     (pte-design.ts).
//   - A vma growing over indices (mremap expansion after a partial munmap;
//     merging with a neighbour): the unmap released the entries there
//     ((E)), so the new range reads as fresh memory; extend() drops
//     anything there all the same.
//   - ftruncate shrinking a privately mapped file: every private vma of
//     the file (i_mmap) drops its entries past the new end; the machine has
//     already zapped the ptes and answers SIGBUS past EOF. See truncate()
//     (pte-design.ts).
//   - MADV_WIPEONFORK: the child's vma gets no anon_vma and an empty chain
//     (dup_mmap skips anon_vma_fork), like a new mapping; MADV_DONTFORK:
//     the machine never makes the child's vma. See forkWiped()
//     (pte-design.ts).
//   - mremap moving a vma: nothing to do. Entries are keyed by index and
//     the vma keeps its pgoff and its chain; the machine moves the ptes.
//   - A private file mapping sees fwrite()s to the file until a page is
//     copied: with no entry at an index, lookup gives null, the file's
//     page; the first write puts a private copy in the vma's array.
//   - fork, then the parent exits, then the child writes: the parent's
//     entries go with its vma, so the child's entry is the page's only
//     holder and the write reuses it, moving it to the child's anon_vma.
//   - Swap: reclaim replaces every entry holding the page (found through
//     its anon_vma's list) by one swap slot, referenced once per entry;
//     swap-in keeps the page shared through the swap cache (anon-ptes.ts).

import { newOwnerId, type PageOwner } from '../mm/address-space.js';
import type { Frame, FrameAllocator } from '../mm/frames.js';
import type { Vma } from '../mm/vma.js';
import { anonVmaCompatible } from '../mm/merge-tag.js';
import { anonVmaSnapshot } from '../draw/snapshot.js';
import type { DesignSnapshot } from '../draw/types.js';
import type { DesignOptions } from './design.js';
import { ANON_VMA_BYTES, ANON_VMA_CHAIN_BYTES, AnonVmaDesignBase } from './pte-design.js';

/** struct anon_vma (Linux 6.18). */
export class AnonVma implements PageOwner {
  readonly id = newOwnerId();
  readonly file = null;
  /** The oldest anon_vma of the family (itself for a root). */
  root: AnonVma;
  /** The parent vma's anon_vma at the fork that made this one (itself for a root). */
  parent: AnonVma;
  /** Live anon_vmas whose parent this is; a root counts itself. */
  numChildren = 0;
  /** Vmas whose own anon_vma (vma->anon_vma) this is. */
  numActiveVmas = 0;
  /** The vmas chained here (the avcs of anon_vma->rb_root). */
  readonly vmas = new Set<Vma>();

  constructor(parent: AnonVma | null) {
    this.parent = parent ?? this;
    this.root = parent === null ? this : parent.root;
  }
}

/** What anon-vma-chain's and anon-vma-lazy's vma.anon have in common. */
export interface ChainedVma {
  /** vma->anon_vma: where this vma's new pages go; null until it has one. */
  anonVma: AnonVma | null;
  /** vma->anon_vma_chain, oldest (the root) first. */
  readonly chain: AnonVma[];
}

/**
 * What today's anon_vma_chain (AnonVmaChainDesign below) and wangtao's
 * ANON_VMA_LAZY (src/anon/anon-vma-lazy.ts, today's design with lazy roots)
 * share, so that the two keep one copy: the chain links and their count,
 * a new anon_vma's num_children, unlink_anon_vmas, the bytes, and the
 * checks of (C), (O) and (P) below.
 */
export abstract class AnonVmaChainBase extends AnonVmaDesignBase<AnonVma> {
  /** anon_vma_chains alive (the sum of the chains' lengths). */
  protected avcs = 0;
  protected avcsPeak = 0;

  private static chained(v: Vma): ChainedVma {
    return v.anon as ChainedVma;
  }

  /** anon_vma_chain_link: chain `v` to `av`. */
  protected chainLink(v: Vma, av: AnonVma): void {
    AnonVmaChainBase.chained(v).chain.push(av);
    av.vmas.add(v);
    if (++this.avcs > this.avcsPeak) this.avcsPeak = this.avcs;
  }

  /** A new anon_vma: a root (its own parent, so it counts itself as a child) or a child of `parent`. */
  protected newAnonVma(parent: AnonVma | null): AnonVma {
    const av = this.born(new AnonVma(parent));
    if (parent === null) av.numChildren++;
    else parent.numChildren++;
    return av;
  }

  /**
   * unlink_anon_vmas: leave every anon_vma of the chain, newest first. One
   * whose list empties leaves its parent's children and is freed (its
   * descendants' lists are within its own: they are gone already).
   */
  protected unlinkAll(v: Vma): void {
    const st = AnonVmaChainBase.chained(v);
    for (let k = st.chain.length - 1; k >= 0; k--) {
      const av = st.chain[k]!;
      av.vmas.delete(v);
      this.avcs--;
      if (av.vmas.size === 0) {
        av.parent.numChildren--;
        this.died(av);
      }
    }
    st.chain.length = 0;
    if (st.anonVma !== null) st.anonVma.numActiveVmas--;
    st.anonVma = null;
  }

  /** anon_vmas and chain links at Linux 6.18 sizes. */
  bytes(): number {
    return this.live.size * ANON_VMA_BYTES + this.avcs * ANON_VMA_CHAIN_BYTES;
  }

  /**
   * (C) and (O) for one chained vma: its chain holds no anon_vma twice,
   * holds the vma's own anon_vma (if it has one), and lists only live
   * anon_vmas that list the vma and whose parents it also holds; every page
   * the vma holds is owned by one of them.
   */
  protected checkChain(where: string, v: Vma, fail: (msg: string) => never): void {
    const { anonVma, chain } = AnonVmaChainBase.chained(v);
    const set = new Set(chain);
    if (set.size !== chain.length) fail(`${where} is chained twice to one anon_vma`);
    if (anonVma !== null && !set.has(anonVma)) fail(`${where} is not chained to its own anon_vma`);
    for (const av of chain) {
      if (!this.live.has(av)) fail(`${where} is chained to a freed anon_vma`);
      if (!av.vmas.has(v)) fail(`${where} is missing from anon_vma ${av.id}'s list`);
      if (!set.has(av.parent)) fail(`${where} is chained to anon_vma ${av.id} but not to its parent`);
    }
    // (O)
    this.ptes.forEachFrame(v, (i, f) => {
      if (!set.has(this.frames.owner(f) as AnonVma)) fail(`${where}: page ${i} belongs to an anon_vma the vma is not chained to`);
    });
  }

  /**
   * (P) for every live anon_vma, given the private vmas alive and how many
   * use each anon_vma as their own (`active`); then the swap cache.
   */
  protected checkAnonVmas(alive: ReadonlySet<Vma>, active: ReadonlyMap<AnonVma, number>, fail: (msg: string) => never): void {
    const children = new Map<AnonVma, number>();
    for (const av of this.live) children.set(av.parent, (children.get(av.parent) ?? 0) + 1);
    for (const av of this.live) {
      if (av.vmas.size === 0) fail(`anon_vma ${av.id} is alive with no vma chained`);
      for (const w of av.vmas) {
        if (!alive.has(w)) fail(`anon_vma ${av.id} lists a vma that is gone`);
        if (!AnonVmaChainBase.chained(w).chain.includes(av)) fail(`anon_vma ${av.id} lists a vma not chained to it`);
      }
      if (!this.live.has(av.parent)) fail(`anon_vma ${av.id} has a freed parent`);
      if (av.root !== av.parent.root) fail(`anon_vma ${av.id} and its parent have different roots`);
      if ((av.parent === av) !== (av.root === av)) fail(`anon_vma ${av.id}: only a root is its own parent`);
      if (av.numActiveVmas !== (active.get(av) ?? 0)) fail(`anon_vma ${av.id}: num_active_vmas ${av.numActiveVmas}, ${active.get(av) ?? 0} vmas`);
      if (av.numChildren !== (children.get(av) ?? 0)) fail(`anon_vma ${av.id}: num_children ${av.numChildren}, ${children.get(av) ?? 0} children`);
    }
    this.checkSwapCache(fail);
  }
}

/** What a private vma keeps in vma.anon. */
class VmaChain implements ChainedVma {
  /** vma->anon_vma: where this vma's new pages go; null until its first. */
  anonVma: AnonVma | null = null;
  /** vma->anon_vma_chain, oldest (the root) first. */
  readonly chain: AnonVma[] = [];
}

export class AnonVmaChainDesign extends AnonVmaChainBase {
  readonly name = 'anon-vma-chain';

  private forkReuses = 0;
  private chainPeak = 0;
  private pagesMoved = 0;

  constructor(frames: FrameAllocator, _opts: DesignOptions = {}) {
    super(frames);
  }

  // ------------------------------------------------------------ anon_vmas

  private static st(v: Vma): VmaChain {
    return v.anon as VmaChain;
  }

  /** anon_vma_chain_link, and the longest chain yet (chainPeak). */
  protected override chainLink(v: Vma, av: AnonVma): void {
    super.chainLink(v, av);
    const n = AnonVmaChainDesign.st(v).chain.length;
    if (n > this.chainPeak) this.chainPeak = n;
  }

  /**
   * anon_vma_clone(dst, src): chain dst to every anon_vma of src's chain.
   * At fork (dst has no anon_vma yet) dst may take one of them as its own:
   * the first, oldest first, that no vma uses as its own and that has at
   * most one child. The root never qualifies: it counts itself as a child
   * and has the fork's parent-side anon_vma or its own vmas.
   */
  private clone(dst: Vma, src: Vma): void {
    const d = AnonVmaChainDesign.st(dst);
    const s = AnonVmaChainDesign.st(src);
    for (const av of s.chain) {
      this.chainLink(dst, av);
      if (d.anonVma === null && s.anonVma !== null && av.numChildren < 2 && av.numActiveVmas === 0) {
        d.anonVma = av;
        this.forkReuses++;
      }
    }
    if (d.anonVma !== null) d.anonVma.numActiveVmas++;
  }

  /** vma_is_fork_child(): the vma's chain came from a parent's (it is not singular). */
  private static forkChild(v: Vma): boolean {
    const st = AnonVmaChainDesign.st(v);
    return st.anonVma !== null && st.chain.length > 1;
  }

  /**
   * anon_vma_prepare: the vma's own anon_vma, made on its first anonymous
   * page — a compatible neighbour's whose chain is singular
   * (find_mergeable_anon_vma, next first; so that vmas split by mprotect
   * can merge again), or a new root.
   */
  protected prepare(v: Vma): AnonVma {
    const st = AnonVmaChainDesign.st(v);
    if (st.anonVma !== null) return st.anonVma;
    const reusable = (old: Vma | null, a: Vma | null, b: Vma | null): AnonVma | null => {
      if (old === null || a === null || b === null || old.shared || !anonVmaCompatible(a, b)) return null;
      const o = AnonVmaChainDesign.st(old);
      return o.anonVma !== null && o.chain.length === 1 ? o.anonVma : null;
    };
    const next = v.mm.vmas.next(v);
    const prev = v.mm.vmas.prev(v);
    let av = reusable(next, v, next) ?? reusable(prev, prev, v);
    if (av !== null) {
      this.neighbourReuses++;
    } else {
      av = this.newAnonVma(null);
    }
    st.anonVma = av;
    this.chainLink(v, av);
    av.numActiveVmas++;
    return av;
  }

  // ----------------------------------------------- vma.anon through the vma's life

  protected newState(): VmaChain {
    return new VmaChain();
  }

  /** A page read in from swap: the vma's own anon_vma if no other pte names the slot, else the root. */
  protected swapInOwner(vma: Vma, exclusive: boolean): PageOwner {
    const av = AnonVmaChainDesign.st(vma).anonVma!;
    return exclusive ? av : av.root;
  }

  /**
   * A write fault reuses the page: file it under our own anon_vma
   * (folio_move_anon_rmap) so that its walks stop visiting our ancestors'
   * relatives.
   */
  protected override reused(vma: Vma, f: Frame): void {
    const own = AnonVmaChainDesign.st(vma).anonVma!;
    if (this.frames.owner(f) !== own) {
      this.frames.setOwner(f, own);
      this.pagesMoved++;
    }
  }

  /** anon_vma_fork. */
  protected forkState(parent: Vma, child: Vma): void {
    child.anon = new VmaChain();
    const p = AnonVmaChainDesign.st(parent);
    if (p.anonVma === null) return;
    this.clone(child, parent);
    const c = AnonVmaChainDesign.st(child);
    if (c.anonVma !== null) return; // reused one of the chain
    const av = this.newAnonVma(p.anonVma);
    av.numActiveVmas++;
    c.anonVma = av;
    this.chainLink(child, av);
  }

  /** __split_vma: the tail has the same anon_vma and a copy of the chain. */
  protected splitState(vma: Vma, tail: Vma): void {
    const t = new VmaChain();
    t.anonVma = AnonVmaChainDesign.st(vma).anonVma;
    tail.anon = t;
    this.clone(tail, vma);
  }

  protected mergeState(prev: Vma, next: Vma): boolean {
    const p = AnonVmaChainDesign.st(prev);
    const n = AnonVmaChainDesign.st(next);
    const a = p.anonVma;
    const b = n.anonVma;
    if (a !== null && b !== null && a !== b) return false;
    if (a !== null && b === null && AnonVmaChainDesign.forkChild(prev)) return false;
    if (a === null && b !== null && AnonVmaChainDesign.forkChild(next)) return false;
    if (a === null && b !== null) {
      // dup_anon_vma: prev takes next's anon_vma and chain.
      p.anonVma = b;
      this.clone(prev, next);
    } else if (b !== null) {
      // Same anon_vma: the chains are the same (split copies them); make
      // sure prev is chained wherever next's pages may point.
      const have = new Set(p.chain);
      for (const av of n.chain) if (!have.has(av)) this.chainLink(prev, av);
    }
    return true;
  }

  protected override leave(vma: Vma): void {
    this.unlinkAll(vma);
  }

  // ---------------------------------------------------------- invariants

  protected checkState(vmas: readonly Vma[], fail: (msg: string) => never): void {
    const alive = new Set<Vma>();
    const active = new Map<AnonVma, number>();
    let avcs = 0;
    for (const v of vmas) {
      if (v.shared) {
        if (v.anon !== null) fail(`shared vma 0x${v.start.toString(16)} has an anon_vma chain`);
        continue;
      }
      alive.add(v);
      const where = `vma 0x${v.start.toString(16)} of ${v.mm.name}`;
      const st = v.anon;
      if (!(st instanceof VmaChain)) fail(`${where} has no chain`);
      const { anonVma, chain } = st as VmaChain;
      avcs += chain.length;
      // (C)
      if (anonVma === null) {
        if (chain.length !== 0) fail(`${where} is chained but has no anon_vma`);
        if (this.ptes.holdsAny(v)) fail(`${where} holds anonymous pages but has no anon_vma`);
        continue;
      }
      active.set(anonVma, (active.get(anonVma) ?? 0) + 1);
      this.checkChain(where, v, fail);
    }
    if (avcs !== this.avcs) fail(`${this.avcs} anon_vma_chains counted, ${avcs} in the chains`);
    // (P)
    this.checkAnonVmas(alive, active, fail);
  }

  /** anon_vmas under their parent, each vma under its own, chain links dashed. */
  override snapshot(vmas: readonly Vma[]): DesignSnapshot {
    return anonVmaSnapshot(this.name, vmas, this.live, {
      parentOf: (av) => av.parent,
      ownOf: (v) => AnonVmaChainDesign.st(v).anonVma,
      chainOf: (v) => AnonVmaChainDesign.st(v).chain,
      listOf: (av) => av.vmas,
      forEachFrame: (v, fn) => this.ptes.forEachFrame(v, fn),
      ownerOf: (f) => this.frames.owner(f),
    });
  }

  stats(): Record<string, number> {
    let chainMax = 0;
    for (const v of this.ptes.vmas()) {
      const n = AnonVmaChainDesign.st(v).chain.length;
      if (n > chainMax) chainMax = n;
    }
    return this.anonVmaStats({
      anonVmaChainsAlive: this.avcs,
      anonVmaChainsPeak: this.avcsPeak,
      anonVmaForkReuses: this.forkReuses,
      anonVmaNeighbourReuses: this.neighbourReuses,
      chainMax,
      chainPeak: this.chainPeak,
      pagesMovedToOwnAnonVma: this.pagesMoved,
    });
  }
}
