// wangtao's ANON_VMA_LAZY ("[PATCH 0/15] mm: introduce ANON_VMA_LAZY for
// deferred anon_vma creation", linux-mm, 27 May 2026): today's
// anon_vma_chain (src/anon/anon-vma-chain.ts), with the anon_vma of a vma
// that has never been forked replaced by the vma itself.
//
// Each rule is marked [D] where the cover letter or the patches say it, [I]
// where they are silent (split, merge, mremap, munmap of a lazy root and a
// fork child's copy-on-write are not documented) and this model chose the
// simplest rule that keeps Linux's observable behaviour.
//
//   - Anonymous pages are held by ptes (src/anon/anon-ptes.ts); lookup,
//     copy-on-write, fork's copy, discard and truncate are PteDesign's, the
//     anon_vma walk and swap-out AnonVmaDesignBase's (src/anon/pte-design.ts);
//     chain links, unlink_anon_vmas, bytes() (a lazy root costs nothing: it
//     is the vma's tagged anon_vma pointer) and the checks of (C), (O), (P)
//     AnonVmaChainBase's (src/anon/anon-vma-chain.ts).
//   - vma->anon_vma becomes a tagged pointer with four states [D names]:
//     none; a lazy root (the vma's pages point at the vma itself); a
//     regular anon_vma; a "tree parent" (a fork child that has not allocated
//     its anon_vma).
//   - The first anonymous page of a vma with none makes it a lazy root
//     (vma_prepare_anon_vma_lazy() runs instead of allocating) [D]; its
//     pages point at the vma (folio->mapping = vma | the KSM bit, the
//     LazyRoot below) [D]. Reverse mapping of such a page visits that one
//     vma, with no anon_vma and no lock [D]. (No neighbour's anon_vma is
//     taken, as find_mergeable_anon_vma would [I].)
//   - Fork: a lazy parent vma is first upgraded to a regular anon_vma (a new
//     root and its chain link) [D]; its pages are re-pointed at that
//     anon_vma then — fork walks every pte anyway — so that no page points
//     at a vma that may later be split, merged or unmapped [I]. The child
//     vma is a tree parent: chained to every anon_vma of the parent's chain
//     (so that the parent's pages reach it) but with no anon_vma of its own
//     [D: "do not allocate anon_vma"; I: the chain links].
//   - A tree-parent vma allocates its own anon_vma when it first needs one —
//     its first copy-on-write copy, a reuse that moves a page to it
//     (folio_move_anon_rmap), an exclusive swap-in [I; the cover letter
//     leaves a child's COW undocumented]: 6.18's anon_vma_fork deferred, with
//     6.18's reuse rule (an anon_vma of its chain no vma uses as its own and
//     with at most one child) so that fork chains stay bounded [I].
//   - Split, merge and mremap of a lazy root upgrade it first, since its
//     pages name the vma object [I]; a lazy vma absorbing a neighbour that
//     never had pages stays lazy. A merge of two chained vmas (which the
//     machine allows exactly when Linux 6.18 would, on its own anon_vma
//     identities: src/anon/merge-tag.ts) gives the survivor the union of
//     both chains [I]. munmap of a lazy root: its pages go with it (nothing
//     else can hold them), so no vma refcount is needed [I].
//   - A page read in from a swap slot other ptes still name goes to the root
//     anon_vma of the vma's chain (__folio_set_anon), as in 6.18 [D].
//
// INVARIANTS (checked by check(), with anon-ptes.ts's (E), (S), (W)):
//   (Z) a lazy vma has no chain, no anon_vma, and every page it holds points
//       at its own LazyRoot; no other vma holds a page of a LazyRoot.
//   (C) a chained vma's chain is closed upwards (with every anon_vma its
//       parent), its own anon_vma (if any) is in it, and it is on the list
//       of exactly those anon_vmas; a vma with neither holds no page.
//   (P) anon_vma bookkeeping as anon-vma-chain.ts's (P).
//   (O) every page a chained vma holds is owned by an anon_vma of its
//       chain. With (Z), the walk from a page's owner finds every pte.

import { newOwnerId, type PageOwner } from '../mm/address-space.js';
import type { Frame, FrameAllocator } from '../mm/frames.js';
import type { Vma } from '../mm/vma.js';
import { AnonVmaChainBase, type AnonVma, type ChainedVma } from './anon-vma-chain.js';
import type { DesignOptions } from './design.js';
import type { AnonVmaLike } from './pte-design.js';

/** What a lazy root's pages point at: the vma itself (folio->mapping = vma | FOLIO_MAPPING_ANON_VMA_LAZY). */
export class LazyRoot implements AnonVmaLike {
  readonly id = newOwnerId();
  readonly file = null;
  /** The one vma its walk visits. */
  readonly vmas: Set<Vma>;

  constructor(readonly vma: Vma) {
    this.vmas = new Set([vma]);
  }
}

/** What a private vma keeps in vma.anon (anon_vma_tree_t and the chain). */
class LazyVma implements ChainedVma {
  /** Lazy root: its pages point at this. */
  lazy: LazyRoot | null = null;
  /** Its own anon_vma (regular); null when none, lazy, or a tree parent. */
  anonVma: AnonVma | null = null;
  /** vma->anon_vma_chain, oldest first (empty when none or lazy). */
  readonly chain: AnonVma[] = [];
  /** A tree parent: the anon_vma its own will be a child of. */
  forkParent: AnonVma | null = null;
}

export class AnonVmaLazyDesign extends AnonVmaChainBase {
  readonly name = 'anon-vma-lazy';

  private lazyRootsCreated = 0;
  private upgrades = { fork: 0, split: 0, merge: 0, move: 0, swap: 0 };
  private deferredReuses = 0;
  private deferredAllocs = 0;
  private pagesMoved = 0;
  private lazyWalks = 0;

  constructor(frames: FrameAllocator, _opts: DesignOptions = {}) {
    super(frames);
  }

  private static st(v: Vma): LazyVma {
    return v.anon as LazyVma;
  }

  // ------------------------------------------------------------ anon_vmas

  /** unlink_anon_vmas (AnonVmaChainBase's); a tree parent or lazy root is neither afterwards. */
  protected override unlinkAll(v: Vma): void {
    super.unlinkAll(v);
    const st = AnonVmaLazyDesign.st(v);
    st.forkParent = null;
    st.lazy = null;
  }

  /** A lazy root becomes a regular one: a new root anon_vma, and its pages (and `also`'s, just moved from it) re-pointed there. */
  private upgrade(v: Vma, why: keyof AnonVmaLazyDesign['upgrades'], also: readonly Vma[] = []): void {
    const st = AnonVmaLazyDesign.st(v);
    const lazy = st.lazy;
    if (lazy === null) return;
    st.lazy = null;
    const av = this.newAnonVma(null);
    st.anonVma = av;
    av.numActiveVmas++;
    this.chainLink(v, av);
    for (const w of [v, ...also]) {
      this.ptes.forEachFrame(w, (_, f) => {
        if (this.frames.owner(f) === lazy) this.frames.setOwner(f, av);
      });
    }
    this.upgrades[why]++;
  }

  /** A tree parent's own anon_vma, made when first needed (anon_vma_fork, deferred), reusing one of its chain if it can. */
  private own(v: Vma): AnonVma {
    const st = AnonVmaLazyDesign.st(v);
    if (st.anonVma !== null) return st.anonVma;
    let av = st.chain.find((a) => a.numActiveVmas === 0 && a.numChildren < 2) ?? null;
    if (av !== null) {
      this.deferredReuses++;
    } else {
      av = this.newAnonVma(st.forkParent ?? st.chain[st.chain.length - 1]!);
      this.chainLink(v, av);
      this.deferredAllocs++;
    }
    st.anonVma = av;
    av.numActiveVmas++;
    return av;
  }

  // ----------------------------------------------- vma.anon through the vma's life

  protected newState(): LazyVma {
    return new LazyVma();
  }

  /** The owner of a new page of `v`. */
  protected prepare(v: Vma): PageOwner {
    const st = AnonVmaLazyDesign.st(v);
    if (st.lazy !== null) return st.lazy;
    if (st.chain.length > 0) return this.own(v);
    // vma_prepare_anon_vma_lazy().
    st.lazy = new LazyRoot(v);
    this.lazyRootsCreated++;
    return st.lazy;
  }

  protected swapInOwner(v: Vma, exclusive: boolean): PageOwner {
    if (exclusive) return this.prepare(v);
    // Others still name the slot: the oldest anon_vma of the family.
    this.upgrade(v, 'swap');
    return AnonVmaLazyDesign.st(v).chain[0]!.root;
  }

  /** folio_move_anon_rmap: to the vma's own anon_vma (a lazy root's pages are its own already). */
  protected override reused(v: Vma, f: Frame): void {
    const st = AnonVmaLazyDesign.st(v);
    if (st.lazy !== null) return;
    const av = this.own(v);
    if (this.frames.owner(f) !== av) {
      this.frames.setOwner(f, av);
      this.pagesMoved++;
    }
  }

  protected forkState(parent: Vma, child: Vma): void {
    child.anon = new LazyVma();
    this.upgrade(parent, 'fork');
    const p = AnonVmaLazyDesign.st(parent);
    if (p.chain.length === 0) return;
    const c = AnonVmaLazyDesign.st(child);
    for (const av of p.chain) this.chainLink(child, av);
    c.forkParent = p.anonVma ?? p.forkParent;
  }

  protected splitState(vma: Vma, tail: Vma): void {
    tail.anon = new LazyVma();
    this.upgrade(vma, 'split', [tail]);
    const s = AnonVmaLazyDesign.st(vma);
    const t = AnonVmaLazyDesign.st(tail);
    for (const av of s.chain) this.chainLink(tail, av);
    t.anonVma = s.anonVma;
    if (t.anonVma !== null) t.anonVma.numActiveVmas++;
    t.forkParent = s.forkParent;
  }

  protected mergeState(prev: Vma, next: Vma): boolean {
    const p = AnonVmaLazyDesign.st(prev);
    const n = AnonVmaLazyDesign.st(next);
    if (n.lazy === null && n.chain.length === 0) return true; // next never had a page
    this.upgrade(prev, 'merge');
    this.upgrade(next, 'merge');
    const have = new Set(p.chain);
    for (const av of n.chain) if (!have.has(av)) this.chainLink(prev, av);
    if (p.anonVma === null && n.anonVma !== null) {
      p.anonVma = n.anonVma;
      p.anonVma.numActiveVmas++;
    }
    p.forkParent ??= n.forkParent;
    return true;
  }

  protected override leave(vma: Vma): void {
    this.unlinkAll(vma);
  }

  /** mremap moved the vma: Linux's copy_vma makes a new vma struct, which a lazy root's pages cannot follow. */
  moved(vma: Vma): void {
    this.upgrade(vma, 'move');
  }

  // ---------------------------------------------------------------- rmap

  override rmap(frame: Frame, visit: (vma: Vma, addr: number) => void): void {
    const owner = this.frames.owner(frame);
    if (owner instanceof LazyRoot) {
      // The page's vma, directly: no anon_vma, no lock.
      this.rmapWalks++;
      this.lazyWalks++;
      this.walk(owner.vmas, this.frames.index(frame), visit);
      return;
    }
    super.rmap(frame, visit);
  }

  // ---------------------------------------------------------- invariants

  protected checkState(vmas: readonly Vma[], fail: (msg: string) => never): void {
    const active = new Map<AnonVma, number>();
    let avcs = 0;
    const alive = this.checkPrivate(vmas, LazyVma, fail, (v, st, where) => {
      avcs += st.chain.length;
      if (st.lazy !== null) {
        // (Z)
        if (st.chain.length !== 0 || st.anonVma !== null || st.forkParent !== null) fail(`${where} is lazy and chained`);
        if (st.lazy.vma !== v) fail(`${where}: its lazy root names another vma`);
        this.ptes.forEachFrame(v, (i, f) => {
          if (this.frames.owner(f) !== st.lazy) fail(`${where}: lazy, but page ${i} points elsewhere`);
        });
        return;
      }
      if (st.chain.length === 0) {
        if (st.anonVma !== null || st.forkParent !== null) fail(`${where} has an anon_vma but no chain`);
        if (this.ptes.holdsAny(v)) fail(`${where} holds pages but has no anon_vma, chain or lazy root`);
        return;
      }
      // (C), (O): as anon-vma-chain.ts's, but a tree parent has no anon_vma of its own yet.
      if (st.anonVma !== null) active.set(st.anonVma, (active.get(st.anonVma) ?? 0) + 1);
      this.checkChain(where, v, fail);
    });
    if (avcs !== this.avcs) fail(`${this.avcs} anon_vma_chains counted, ${avcs} in the chains`);
    // (P)
    this.checkAnonVmas(alive, active, fail);
  }

  // ---------------------------------------------------------- accounting

  stats(): Record<string, number> {
    let lazy = 0;
    for (const v of this.ptes.vmas()) if (AnonVmaLazyDesign.st(v).lazy !== null) lazy++;
    const u = this.upgrades;
    return this.anonVmaStats({
      anonVmaChainsAlive: this.avcs,
      anonVmaChainsPeak: this.avcsPeak,
      lazyRootsAlive: lazy,
      lazyRootsCreated: this.lazyRootsCreated,
      lazyUpgrades: u.fork + u.split + u.merge + u.move + u.swap,
      lazyUpgradesAtFork: u.fork,
      lazyUpgradesAtSplit: u.split,
      lazyUpgradesAtMerge: u.merge,
      lazyUpgradesAtMremap: u.move,
      anonVmasDeferredAllocs: this.deferredAllocs,
      anonVmasDeferredReuses: this.deferredReuses,
      pagesMovedToOwnAnonVma: this.pagesMoved,
      rmapLazyWalks: this.lazyWalks,
    });
  }
}

