// The nodes of the space-tree designs (space-tree.ts: the seed's tree of
// address_spaces, FreeBSD's shadow chains), and how a vma points at them.
//
// THE SHAPE (what a tool drawing the trees may rely on):
//   - A SpaceNode is one object of a tree. It has `parent` (null for a
//     root), `children` (the nodes below it), `vmas` (the private vmas that
//     use it directly), `cleared` (index ranges where lookups stop at the
//     base page; see space-tree.ts) and `mapping`, the address_space that
//     holds its pages (`mapping.pages`, `mapping.swapped`; `held` counts
//     both). `id` is the mapping's.
//   - An anonymous node owns a fresh address_space (a NodeMapping, which
//     leads frames.owner(f) back to the node). The root of a private file
//     mapping's tree is a node whose `mapping` is the file's page cache
//     (file.mapping), which the design only reads: it stands for "the
//     file's page" at every index, and nothing is ever copied into it.
//     Anonymous trees are rooted at an anonymous node.
//   - A private vma keeps its link to the tree in `vma.anon` (a VmaLink, in
//     Linux's vma->anon_vma slot): the node it uses and its `cowNewSpace`
//     flag. Only the space-tree designs read it.
// The machine's AddressSpace and Vma know nothing of this: the tree is the
// design's own state.

import { AddressSpace } from '../mm/address-space.js';
import type { File } from '../mm/file.js';
import type { Frame, FrameAllocator } from '../mm/frames.js';
import { RangeSet } from '../mm/rangeset.js';
import { XArray } from '../mm/xarray.js';
import type { Vma } from '../mm/vma.js';

/** One object of a tree (see THE SHAPE above). */
export class SpaceNode {
  /** The address_space holding this node's pages (the file's page cache for a file root). */
  readonly mapping: AddressSpace;
  /** The file, for the root of a private file mapping's tree; null for an anonymous node. */
  readonly file: File | null;
  parent: SpaceNode | null = null;
  readonly children = new Set<SpaceNode>();
  /** The private vmas that use this node directly (their VmaLink names it). */
  readonly vmas = new Set<Vma>();
  /** Indices where lookups from this node and below stop at the base page; null while empty. */
  cleared: RangeSet | null = null;

  constructor(file: File | null) {
    this.file = file;
    this.mapping = file !== null ? file.mapping : new NodeMapping(this);
  }

  get id(): number {
    return this.mapping.id;
  }

  /** Indices held, resident or in swap. */
  get held(): number {
    return this.mapping.held;
  }

  holds(index: number): boolean {
    return this.mapping.holds(index);
  }

  /** Whether lookups that reach this node get their answer here at index (a page, a swap slot or a clear). */
  shadows(index: number): boolean {
    return this.mapping.holds(index) || (this.cleared !== null && this.cleared.has(index));
  }

  /** Indices held (resident or in swap) in [lo, hi). */
  heldIn(lo: number, hi: number): number {
    let n = 0;
    this.mapping.pages.forRange(lo, hi, () => { n++; });
    this.mapping.swapped?.forRange(lo, hi, () => { n++; });
    return n;
  }

  /** Parent links up to the root (a file root counts). */
  depth(): number {
    let d = 0;
    for (let p = this.parent; p !== null; p = p.parent) d++;
    return d;
  }

  /** Whether the node has an anonymous parent (only then does a cleared range mean something). */
  get hasAnonParent(): boolean {
    return this.parent !== null && this.parent.file === null;
  }

  clear(lo: number, hi: number): void {
    (this.cleared ??= new RangeSet()).add(lo, hi);
  }

  /** Move the node under `parent` (null: make it a root, where clears mean nothing). */
  reparent(parent: SpaceNode | null): void {
    this.parent?.children.delete(this);
    this.parent = parent;
    if (parent !== null) parent.children.add(this);
    else this.cleared = null;
  }

  /** Whether a vma on this node other than `vma` covers any index in [lo, hi). */
  othersCover(vma: Vma, lo: number, hi: number): boolean {
    for (const w of this.vmas) if (w !== vma && w.pgoff < hi && w.endIndex > lo) return true;
    return false;
  }
}

/** An anonymous node's address_space: page->mapping of its pages, leading back to the node. */
export class NodeMapping extends AddressSpace {
  constructor(readonly node: SpaceNode) {
    super(null);
  }
}

/** What a private vma keeps in vma.anon: the node it uses, and whether its next write needs a new child. */
export interface VmaLink {
  node: SpaceNode;
  /** Set on both vmas at fork and on a new private file mapping (seed: "flagged"; FreeBSD: needs-copy). */
  cowNewSpace: boolean;
}

/** The link of a private vma (set by vmaNew, split, fork). */
export const link = (v: Vma): VmaLink => v.anon as VmaLink;
/** The node a private vma uses. */
export const nodeOf = (v: Vma): SpaceNode => (v.anon as VmaLink).node;

/** Move the frame `from` holds at index to `to`, which becomes its owner (the reference moves with it). */
export function movePage(frames: FrameAllocator, from: AddressSpace, to: AddressSpace, i: number, f: Frame): void {
  from.pages.delete(i);
  frames.setOwner(f, to);
  to.pages.set(i, f);
}

/** Move the swap slot `from` holds at index to `to`. */
export function moveSlot(from: AddressSpace, to: AddressSpace, i: number, slot: number): void {
  from.swapped!.delete(i);
  (to.swapped ??= new XArray<number>()).set(i, slot);
}
