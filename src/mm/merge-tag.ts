// Merge tags: the one bit of Linux 6.18's anon_vma that decides which vmas
// merge, for the designs whose own structures would decide otherwise or not
// at all: the scan (src/anon/scan.ts) and pte chains (src/anon/pte-chain.ts),
// which have no anon_vma, and the anon layer (src/anon/anon-vma.ts), whose
// anon_vmas are 2.6.7's.
//
// A program can see how Linux merged its vmas (mremap of a range spanning
// two kernel vmas fails with EFAULT), and Linux 6.18 merges only vmas whose
// anon_vmas are compatible. So each private vma keeps a MergeTag: a `tag`
// standing for the identity of the anon_vma 6.18 would give it (0: none
// yet) and `forkChild` (6.18's vma_is_fork_child(): its anon_vma_chain came
// from a parent, so it is not singular). MergeTags, one per design, keeps
// them as 6.18 keeps its anon_vmas:
//   - prepare (anon_vma_prepare): a vma's first anonymous page gives it a
//     tag: a compatible neighbour's where find_mergeable_anon_vma would
//     share that neighbour's anon_vma (next first, then prev; not a fork
//     child's), else a new one.
//   - fork (anon_vma_fork): a child of a tagged vma gets a new tag and is a
//     fork child. (anon_vma reuse at fork is not modelled: a reused
//     anon_vma is one no vma of the child's process uses, so a new tag
//     stands for it exactly.)
//   - split: the tail copies the tag.
//   - merge (is_mergeable_anon_vma() in 6.18's mm/vma.c): equal tags merge;
//     a tagged vma merges with an untagged one unless it is a fork child,
//     and prev then takes the tag. Two untagged vmas merge.
// A design keeps a MergeTag (or a subclass) in vma.anon and says how to
// find it (the `of` given to MergeTags); its own structures follow the
// same events in its hooks (PteDesign's prepare, forkState, splitState,
// mergeState).

import type { Vma } from './vma.js';

/** A private vma's merge tag (see the top). */
export class MergeTag {
  /** The identity of the anon_vma Linux 6.18 would give this vma (0: none yet). */
  tag = 0;
  /** Linux 6.18's vma_is_fork_child(): the tag came with a fork from a parent that had one. */
  forkChild = false;
}

/** One design's merge tags: the tags it hands out, and the rules above. */
export class MergeTags {
  private nextTag = 1;

  /** `of`: the vma's MergeTag (its vma.anon). */
  constructor(private readonly of: (vma: Vma) => MergeTag) {}

  /**
   * anon_vma_prepare on an untagged vma: take a compatible neighbour's tag
   * (find_mergeable_anon_vma: next first, then prev), else a new one.
   * Returns the neighbour whose tag it took; null if a new tag, or if the
   * vma had one already (then nothing changes).
   */
  prepare(vma: Vma): Vma | null {
    // Every fault of the vma but its first: it has its anon_vma already
    // (a test small enough for V8 to inline into the fault path).
    const st = this.of(vma);
    return st.tag !== 0 ? null : this.firstPrepare(vma, st);
  }

  private firstPrepare(vma: Vma, st: MergeTag): Vma | null {
    const next = vma.mm.vmas.next(vma);
    const prev = vma.mm.vmas.prev(vma);
    const near = this.reusable(next, vma, next) ?? this.reusable(prev, prev, vma);
    st.tag = near !== null ? this.of(near).tag : this.nextTag++;
    st.forkChild = false;
    return near;
  }

  /** `old`, next to a first-written vma (a, b in address order), if its tag may be shared. */
  private reusable(old: Vma | null, a: Vma | null, b: Vma | null): Vma | null {
    if (old === null || a === null || b === null || old.shared || !anonVmaCompatible(a, b)) return null;
    const o = this.of(old);
    return o.tag !== 0 && !o.forkChild ? old : null;
  }

  /** anon_vma_fork: a tagged parent's child (its MergeTag new) gets a new tag, as a fork child. Returns whether it did. */
  fork(parent: Vma, child: Vma): boolean {
    if (this.of(parent).tag === 0) return false;
    const c = this.of(child);
    c.tag = this.nextTag++;
    c.forkChild = true;
    return true;
  }

  /** split: the tail (its MergeTag new) copies the vma's tag. */
  split(vma: Vma, tail: Vma): void {
    const s = this.of(vma);
    const t = this.of(tail);
    t.tag = s.tag;
    t.forkChild = s.forkChild;
  }

  /** is_mergeable_anon_vma() in Linux 6.18's mm/vma.c: may `prev` absorb `next`? Changes nothing. */
  mergeable(prev: Vma, next: Vma): boolean {
    const a = this.of(prev);
    const b = this.of(next);
    if (a.tag !== 0 && b.tag !== 0) return a.tag === b.tag;
    if (a.tag !== 0 || b.tag !== 0) return !(a.tag !== 0 ? a : b).forkChild;
    return true;
  }

  /**
   * are_anon_vmas_compatible() (can_vma_merge_right() in Linux 6.18's
   * mm/vma.c): may `prev` and `next` become one vma through a new vma
   * between them? Only if either has no anon_vma or both have the same.
   */
  compatible(prev: Vma, next: Vma): boolean {
    const a = this.of(prev).tag;
    const b = this.of(next).tag;
    return a === 0 || b === 0 || a === b;
  }

  /** mergeable(), and if so an untagged prev takes next's tag (dup_anon_vma). */
  merge(prev: Vma, next: Vma): boolean {
    if (!this.mergeable(prev, next)) return false;
    const a = this.of(prev);
    const b = this.of(next);
    if (a.tag === 0 && b.tag !== 0) {
      a.tag = b.tag;
      a.forkChild = false;
    }
    return true;
  }

  /** The tag's invariants for a vma that holds pages (`holdsPages`) or not: a fork child has a tag; so has a vma with pages (Linux: an anon_vma). */
  check(vma: Vma, holdsPages: boolean, where: string, fail: (msg: string) => never): void {
    const st = this.of(vma);
    if (st.forkChild && st.tag === 0) fail(`${where}: fork child without a tag`);
    if (holdsPages && st.tag === 0) fail(`${where}: holds pages but has no tag`);
  }
}

/**
 * anon_vma_compatible() (find_mergeable_anon_vma's test): `a` directly
 * followed by `b` could one day be one vma — adjacent, the same file at
 * contiguous offsets, flags equal but for the access bits (which mprotect
 * may yet make equal). VM_ACCOUNT is compared too, as Linux does.
 */
export function anonVmaCompatible(a: Vma, b: Vma): boolean {
  return (
    a.end === b.start && a.file === b.file && a.shared === b.shared && a.account === b.account &&
    a.dontfork === b.dontfork && a.wipeonfork === b.wipeonfork && b.pgoff === a.endIndex
  );
}
