// Lorenzo Stoakes' COW context (LSF/MM/BPF 2026; LWN, "Keeping COWs in
// context (a.k.a. anonymous reverse mapping)", May 2026; proof of concept
// (PoC) on the project/cow-context branch of his kernel tree, mm/cow_context.c
// and mm/rmap.c under CONFIG_COW_CONTEXT_ANON_RMAP).
//
// Each rule below is marked [D] where the LWN article or the PoC's code says
// it, [I] where the code is silent or the rule is this model's inference.
//
//   - Anonymous pages are held by ptes (src/anon/anon-ptes.ts), as in the
//     anon_vma designs; lookup, copy-on-write, fork's copy, discard and
//     truncate are PteDesign's (src/anon/pte-design.ts). This module keeps
//     the contexts and the remap trees, and walks them.
//   - One context per mm, made with the mm (mm_init_cow_context) [D]. Fork
//     links the child's context under the parent's (dup_cow_context: the
//     child holds a reference on its parent) [D]; ptes are copied as today
//     (MADV_DONTFORK: no vma; MADV_WIPEONFORK: a vma without ptes) [D].
//   - A new anonymous page — a first write fault, or a copy-on-write copy in
//     either process — points at the faulting mm's context
//     (__folio_set_anon_cow), index linear in the vma [D]. A write fault
//     that reuses a page no one else holds moves it to the faulting mm's
//     context (folio_move_anon_rmap) [D].
//   - A page read in from a swap slot that other ptes still name: the PoC's
//     __folio_set_anon ignores `exclusive` and points it at the faulting
//     mm's context [D] — which loses ptes when the faulting mm is a
//     descendant of another holder (docs/cow-context-early-exit.md, "The
//     swap-in gap"). The default here ('root') points it at the root of the
//     faulting mm's context tree, as Linux points such a page at its
//     anon_vma's root [I]; 'faulting-mm' is the PoC's rule.
//   - A vma's offset is vm_start >> PAGE_SHIFT - vm_pgoff. A private vma with
//     anonymous pages (Linux: an anon_vma) and a non-zero offset — an
//     anonymous vma moved by mremap, a private file mapping — is registered
//     in its mm's context's remap tree (remap_mt: pgoff range -> offsets)
//     [D]; mremap, split/merge, munmap and fork edit only that tree
//     (cow_context_do_remap, cow_context_vma_adjust, cow_context_vma_unmap,
//     cow_context_do_fork) [D]. The model keeps one entry per vma (a Map
//     from vma to its range and offset) and derives the maple tree's ranges
//     from them for bytes() [I].
//   - Exit clears the context's mm and drops the mm's reference; a context
//     is freed when nothing refers to it — its mm, a child context, a page —
//     and freeing cascades to its parent (__put_cow_context) [D]. There is
//     no collapse and no reuse: a dead context stays while a descendant
//     lives [D]. A page's reference is not modelled as a count: with the
//     exact rules no page points at a context whose mm and children are all
//     gone (every holder of a page lies in its context's subtree, (X)
//     below), so the cascade runs at exit; a context a page still pins (the
//     'faulting-mm' rule can leave one) is freed later, when the page goes
//     [I].
//   - Reverse mapping of an anonymous page (cow_context_walk): the subtree
//     of the page's context, the root first, then the rest depth-first in
//     post-order (traverse_contexts) [D]; for each context whose mm is
//     alive, the vma at the page's index (offset 0), then one vma per
//     distinct remap offset registered over the index [D]; each such vma's
//     pte is checked (rmap_one). A file page: i_mmap, as every design.
//   - The PoC's early exit (walk_context): if the page is not
//     folio_maybe_mapped_shared() (mapcount <= 1 for a small page) before a
//     context's offset-0 check and still is not after it, the whole walk
//     stops [D]. It can miss ptes (docs/cow-context-early-exit.md), so it is
//     an option (DesignOptions.cowContextEarlyExit 'poc'); the default walks
//     the whole subtree, and 'fixed' stops once the walk has found as many
//     ptes as map the page (what rmap_walk's callers already do through
//     rwc->done and folio_referenced's mapcount countdown) [I].
//   - Merging: the PoC keeps vma->anon_vma (a dummy pointer under
//     CONFIG_COW_CONTEXT_ANON_RMAP) and merges as Linux does [D]; the
//     machine decides merges on Linux 6.18's anon_vma identities
//     (src/anon/merge-tag.ts), and a context needs nothing of a vma but its
//     offset, so the design agrees to every merge the machine asks for [I].
//   - MADV_DONTNEED zaps ptes only (PteDesign.discard) [I].
//
// INVARIANTS (checked by check(), with anon-ptes.ts's (E), (S), (W)):
//   (T) contexts form a forest: a live context's parent is live and lists
//       it; the context of every live mm is live and names the mm; a
//       context whose mm is gone has children (or a page pins it).
//   (R) a context's remap entries are exactly its mm's private vmas that
//       have had an anonymous page (Linux: have an anon_vma) and have a
//       non-zero offset, each with its current pgoff range and offset.
//   (X) every page a vma holds points at a live context that is the vma's
//       mm's context or an ancestor of it. With (R), the walk of a page's
//       subtree reaches every vma that holds it: a vma at offset 0 is the
//       one at address index << PAGE_SHIFT, any other is registered.
// (X) holds because pages spread only by fork (to a descendant), a page
// moves only to the one mm that holds it (reuse, exclusive swap-in), and a
// shared swap-in goes to the root of the family.

import { newOwnerId, type PageOwner } from '../mm/address-space.js';
import { PAGE_SIZE, TASK_SIZE } from '../mm/constants.js';
import type { Frame, FrameAllocator } from '../mm/frames.js';
import type { Mm } from '../mm/mm.js';
import type { Vma } from '../mm/vma.js';
import type { CowContextEarlyExit, CowContextSwapIn, DesignOptions } from './design.js';
import { PteDesign } from './pte-design.js';

/** Sizes (docs/cost-model.md): struct cow_context counted field by field; a maple node; a folio's context pointer. */
const COW_CONTEXT_BYTES = 96;
const MAPLE_NODE_BYTES = 256;
const FOLIO_POINTER_BYTES = 8;
/** Slots of a maple tree leaf (maple_range_64) and of an internal node (maple_arange_64). */
const MAPLE_LEAF_SLOTS = 16;
const MAPLE_INTERNAL_SLOTS = 10;

/** One vma's entry in its context's remap tree: pgoffs [lo, hi) at `offset`. */
interface Remap {
  lo: number;
  hi: number;
  offset: number;
}

/** struct cow_context. */
export class CowContext implements PageOwner {
  readonly id = newOwnerId();
  readonly file = null;
  /** The mm, or null once it has exited. */
  mm: Mm | null;
  readonly parent: CowContext | null;
  readonly children = new Set<CowContext>();
  /** Hops from the root of its tree. */
  readonly depth: number;
  /** remap_mt, one entry per registered vma. */
  readonly remaps = new Map<Vma, Remap>();

  constructor(mm: Mm, parent: CowContext | null) {
    this.mm = mm;
    this.parent = parent;
    this.depth = parent === null ? 0 : parent.depth + 1;
  }
}

/** What a private vma keeps in vma.anon. */
class CowVma {
  /** Linux's vma->anon_vma != NULL: the vma has had an anonymous page (or inherited one at fork). */
  faulted = false;
}

/** vm_start >> PAGE_SHIFT - vm_pgoff. */
function offsetOf(v: Vma): number {
  return v.start / PAGE_SIZE - v.pgoff;
}

export class CowContextDesign extends PteDesign {
  readonly name = 'cow-context';

  private readonly earlyExit: CowContextEarlyExit;
  private readonly swapIn: CowContextSwapIn;

  /** The context of every live mm. */
  private readonly ctxs = new Map<Mm, CowContext>();
  /** Every context alive. */
  private readonly live = new Set<CowContext>();
  /** Contexts with remap entries (so that bytes() need not look at every context). */
  private readonly withRemaps = new Set<CowContext>();
  /** Contexts with no mm and no children that a page still pinned when last looked at. */
  private readonly pinned = new Set<CowContext>();

  private rmapSpacesVisited = 0;
  private created = 0;
  private freed = 0;
  private peak = 0;
  private depthPeak = 0;
  private remapUpdates = 0;
  private remapLookups = 0;
  private earlyExits = 0;
  private pagesMoved = 0;
  private sharedSwapIns = 0;

  constructor(frames: FrameAllocator, opts: DesignOptions = {}) {
    super(frames);
    this.earlyExit = opts.cowContextEarlyExit ?? 'none';
    this.swapIn = opts.cowContextSwapIn ?? 'root';
  }

  // ------------------------------------------------------------ contexts

  private born(mm: Mm, parent: CowContext | null): CowContext {
    const c = new CowContext(mm, parent);
    parent?.children.add(c);
    this.ctxs.set(mm, c);
    this.live.add(c);
    this.created++;
    if (this.live.size > this.peak) this.peak = this.live.size;
    if (c.depth > this.depthPeak) this.depthPeak = c.depth;
    return c;
  }

  /** mm->cow_context (made here for an mm the machine made without mmInit). */
  private ctxOf(mm: Mm): CowContext {
    return this.ctxs.get(mm) ?? this.born(mm, null);
  }

  /** mm_init_cow_context, and dup_cow_context for a fork. */
  mmInit(mm: Mm, parent: Mm | null): void {
    this.born(mm, parent === null ? null : this.ctxOf(parent));
  }

  /** drop_cow_context: the mm is gone; put its reference. */
  mmExit(mm: Mm): void {
    const c = this.ctxs.get(mm);
    if (c === undefined) return;
    this.ctxs.delete(mm);
    c.mm = null;
    this.put(c);
  }

  /** Whether a page still points at `c` (a folio's reference). */
  private pinnedByPage(c: CowContext): boolean {
    const frames = this.frames;
    for (let p = 1; p < frames.pfnEnd; p++) {
      const f = p as Frame;
      if (frames.inUseFrame(f) && frames.owner(f) === c) return true;
    }
    return false;
  }

  /** __put_cow_context: free `c` if nothing refers to it, cascading up. */
  private put(c: CowContext | null): void {
    while (c !== null && c.mm === null && c.children.size === 0) {
      if (this.pinnedByPage(c)) {
        this.pinned.add(c);
        return;
      }
      this.pinned.delete(c);
      this.live.delete(c);
      this.freed++;
      const p = c.parent;
      p?.children.delete(c);
      c = p;
    }
  }

  /** Free the contexts only pages pinned, once those pages have gone. */
  private reap(): void {
    if (this.pinned.size === 0) return;
    for (const c of [...this.pinned]) this.put(c);
  }

  private rootOf(c: CowContext): CowContext {
    while (c.parent !== null) c = c.parent;
    return c;
  }

  // ------------------------------------------------------------ remap trees

  /** cow_context_vma_adjust / _do_remap / _vma_unmap: make the vma's entry match it (pgoffs up to `hi`). */
  private retrack(v: Vma, hi = v.endIndex): void {
    const c = this.ctxOf(v.mm);
    const off = offsetOf(v);
    const had = c.remaps.get(v);
    if ((v.anon as CowVma).faulted && off !== 0) {
      if (had === undefined || had.lo !== v.pgoff || had.hi !== hi || had.offset !== off) {
        c.remaps.set(v, { lo: v.pgoff, hi, offset: off });
        this.withRemaps.add(c);
        this.remapUpdates++;
      }
    } else if (had !== undefined) {
      this.untrack(c, v);
      this.remapUpdates++;
    }
  }

  private untrack(c: CowContext, v: Vma): void {
    c.remaps.delete(v);
    if (c.remaps.size === 0) this.withRemaps.delete(c);
  }

  // ----------------------------------------------- vma.anon through the vma's life

  protected newState(): CowVma {
    return new CowVma();
  }

  /** A new page (first write, a copy): the faulting mm's context. */
  protected prepare(vma: Vma): PageOwner {
    const st = vma.anon as CowVma;
    if (!st.faulted) {
      // anon_vma_prepare -> cow_context_do_map_private_cow.
      st.faulted = true;
      this.retrack(vma);
    }
    return this.ctxOf(vma.mm);
  }

  protected swapInOwner(vma: Vma, exclusive: boolean): PageOwner {
    const c = this.ctxOf(vma.mm);
    if (exclusive || this.swapIn === 'faulting-mm') return c;
    this.sharedSwapIns++;
    return this.rootOf(c);
  }

  /** folio_move_anon_rmap: the page goes to the faulting mm's context. */
  protected override reused(vma: Vma, f: Frame): void {
    const c = this.ctxOf(vma.mm);
    if (this.frames.owner(f) !== c) {
      this.frames.setOwner(f, c);
      this.pagesMoved++;
    }
  }

  /** cow_context_do_fork: the child's vma (in the child's context, linked at mmInit) is registered if it must be. */
  protected forkState(parent: Vma, child: Vma): void {
    const st = new CowVma();
    st.faulted = (parent.anon as CowVma).faulted;
    child.anon = st;
    this.retrack(child);
  }

  protected splitState(vma: Vma, tail: Vma): void {
    const st = new CowVma();
    st.faulted = (vma.anon as CowVma).faulted;
    tail.anon = st;
    this.retrack(vma);
    this.retrack(tail);
  }

  protected mergeState(prev: Vma, next: Vma): boolean {
    const p = prev.anon as CowVma;
    p.faulted ||= (next.anon as CowVma).faulted;
    this.retrack(prev, next.endIndex);
    return true;
  }

  protected override leave(vma: Vma): void {
    const c = this.ctxs.get(vma.mm);
    if (c !== undefined) this.untrack(c, vma);
  }

  override extend(vma: Vma, lo: number, hi: number): void {
    super.extend(vma, lo, hi);
    this.retrack(vma, hi);
  }

  renumber(vma: Vma): void {
    this.retrack(vma);
  }

  moved(vma: Vma): void {
    this.retrack(vma);
  }

  // ---------------------------------------------------------------- rmap

  /**
   * Visit each context of the subtree at `root` in cow_context_walk's order
   * (the root, then the rest depth-first in post-order) until `fn` says stop.
   * With `count`, every context the traversal reaches — the root and each
   * hop down, visited yet or not — counts in rmapSpacesVisited (hops).
   */
  private traverse(root: CowContext, fn: (c: CowContext) => boolean, count = false): void {
    if (count) this.rmapSpacesVisited++;
    if (!fn(root)) return;
    const stack: [CowContext, Iterator<CowContext>][] = [[root, root.children.values()]];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const n = top[1].next();
      if (n.done !== true) {
        // A hop down (list_first_or_null_rcu / list_next_or_null_rcu).
        if (count) this.rmapSpacesVisited++;
        stack.push([n.value, n.value.children.values()]);
        continue;
      }
      stack.pop();
      if (top[0] !== root && !fn(top[0])) return;
    }
  }

  /** The vma of `mm` at offset `off` over index i (walk_context_remap), or null. */
  private vmaAt(mm: Mm, i: number, off: number): Vma | null {
    const addr = (i + off) * PAGE_SIZE;
    if (addr < 0 || addr >= TASK_SIZE) return null;
    const v = mm.vmas.lookup(addr);
    return v !== null && !v.shared && offsetOf(v) === off ? v : null;
  }

  /** The distinct remap offsets registered over index i, ascending (a maple tree walk). */
  private offsetsAt(c: CowContext, i: number): number[] {
    const out: number[] = [];
    for (const r of c.remaps.values()) if (r.lo <= i && i < r.hi && !out.includes(r.offset)) out.push(r.offset);
    return out.sort((a, b) => a - b);
  }

  rmap(frame: Frame, visit: (vma: Vma, addr: number) => void): void {
    const frames = this.frames;
    const owner = frames.owner(frame);
    if (owner === null) return;
    this.rmapWalks++;
    if (owner.file !== null) {
      this.rmapSpacesVisited++;
      this.walk(owner.file.mappings, frames.index(frame), visit);
      return;
    }
    const i = frames.index(frame);
    const target = frames.mapcount(frame);
    let found = 0;
    // One vma's pte (rmap_one); counts it if it maps the page.
    const one = (v: Vma, off: number): void => {
      this.rmapVmasVisited++;
      const addr = (i + off) * PAGE_SIZE;
      if (v.mm.pt.frame(addr / PAGE_SIZE) === frame) found++;
      visit(v, addr);
    };
    this.traverse(owner as CowContext, (c) => {
      const mm = c.mm;
      if (mm === null) return true;
      // folio_maybe_mapped_shared() of a small folio: mapcount > 1.
      const wasExclusive = frames.mapcount(frame) <= 1;
      const v0 = this.vmaAt(mm, i, 0);
      if (v0 !== null) one(v0, 0);
      if (this.earlyExit === 'poc' && wasExclusive && frames.mapcount(frame) <= 1) {
        this.earlyExits++;
        return false;
      }
      if (this.earlyExit === 'fixed' && found >= target) {
        this.earlyExits++;
        return false;
      }
      if (c.remaps.size === 0) return true;
      for (const off of this.offsetsAt(c, i)) {
        this.remapLookups++;
        const v = this.vmaAt(mm, i, off);
        if (v !== null) one(v, off);
        if (this.earlyExit === 'fixed' && found >= target) {
          this.earlyExits++;
          return false;
        }
      }
      return true;
    }, true);
  }

  /** Every vma the subtree walk reaches for index i (no early exit, not counted). */
  private candidates(root: CowContext, i: number): Vma[] {
    const out: Vma[] = [];
    this.traverse(root, (c) => {
      const mm = c.mm;
      if (mm === null) return true;
      const v0 = this.vmaAt(mm, i, 0);
      if (v0 !== null) out.push(v0);
      if (c.remaps.size > 0) {
        for (const off of this.offsetsAt(c, i)) {
          const v = this.vmaAt(mm, i, off);
          if (v !== null) out.push(v);
        }
      }
      return true;
    });
    return out;
  }

  swapOut(frame: Frame): boolean {
    // try_to_unmap's entries: every vma of the subtree that may hold the page (X).
    this.ptes.swapOut(frame, this.candidates(this.frames.owner(frame) as CowContext, this.frames.index(frame)));
    return true;
  }

  // ---------------------------------------------------------- invariants

  private isAncestorOrSelf(a: CowContext, c: CowContext | null): boolean {
    for (; c !== null; c = c.parent) if (c === a) return true;
    return false;
  }

  protected checkState(vmas: readonly Vma[], fail: (msg: string) => never): void {
    const alive = this.checkPrivate(vmas, CowVma, fail, (v, st, where) => {
      if (this.ptes.holdsAny(v) && !st.faulted) fail(`${where} holds pages but never faulted`);
      const c = this.ctxs.get(v.mm);
      if (c === undefined) fail(`${where}: its mm has no context`);
      // (R), one way.
      const r = c!.remaps.get(v);
      const off = offsetOf(v);
      if (st.faulted && off !== 0) {
        if (r === undefined) fail(`${where} (offset ${off}) is not in its context's remap tree`);
        if (r!.lo !== v.pgoff || r!.hi !== v.endIndex || r!.offset !== off) {
          fail(`${where}: remap entry [${r!.lo}, ${r!.hi}) +${r!.offset}, vma [${v.pgoff}, ${v.endIndex}) +${off}`);
        }
      } else if (r !== undefined) {
        fail(`${where} is in the remap tree but ${st.faulted ? 'has offset 0' : 'never faulted'}`);
      }
      // (X)
      this.ptes.forEachFrame(v, (i, f) => {
        const o = this.frames.owner(f);
        if (!(o instanceof CowContext) || !this.live.has(o)) fail(`${where}: page ${i} has no live context`);
        if (!this.isAncestorOrSelf(o as CowContext, c!)) fail(`${where}: page ${i} points at a context outside its mm's ancestry`);
      });
    });
    // (R), the other way, and (T).
    for (const [mm, c] of this.ctxs) {
      if (c.mm !== mm) fail(`context of ${mm.name} names another mm`);
      if (!this.live.has(c)) fail(`context of ${mm.name} is freed`);
      for (const v of c.remaps.keys()) {
        if (!alive.has(v) || v.mm !== mm) fail(`${mm.name}'s remap tree names a vma that is gone`);
      }
    }
    for (const c of this.live) {
      if (c.parent !== null && (!this.live.has(c.parent) || !c.parent.children.has(c))) fail(`context ${c.id}: parent freed or not linking it`);
      for (const k of c.children) if (!this.live.has(k) || k.parent !== c) fail(`context ${c.id}: child ${k.id} freed or not its child`);
      if (c.mm === null) {
        if (c.remaps.size !== 0) fail(`context ${c.id}: dead with remap entries`);
        if (c.children.size === 0 && !this.pinnedByPage(c)) fail(`context ${c.id}: nothing refers to it`);
      } else if (this.ctxs.get(c.mm) !== c) fail(`context ${c.id}: its mm has another context`);
    }
    for (const f of this.ptes.cachedFrames()) {
      const o = this.frames.owner(f);
      if (!(o instanceof CowContext) || !this.live.has(o)) fail(`swap cache frame ${f} has no live context`);
    }
  }

  // ---------------------------------------------------------- accounting

  /** Contexts alive (docs/cost-model.md). */
  structures(): number {
    this.reap();
    return this.live.size;
  }

  /** Anonymous pages (folios) alive: each carries a context pointer. */
  private folios(): number {
    const frames = this.frames;
    let n = 0;
    for (let p = 1; p < frames.pfnEnd; p++) {
      const f = p as Frame;
      if (frames.inUseFrame(f) && frames.owner(f) instanceof CowContext) n++;
    }
    return n;
  }

  /** The remap trees' maple nodes and dynarrays, derived from the entries (docs/cost-model.md). */
  private remapBytes(): number {
    let bytes = 0;
    for (const c of this.withRemaps) {
      // The maple tree's ranges: the entries' boundaries cut pgoff space into
      // pieces, each stored with its set of offsets (one inline, several in a
      // dynarray of 8 + 8 * capacity bytes, capacity a power of two).
      const cuts = new Set<number>();
      for (const r of c.remaps.values()) {
        cuts.add(r.lo);
        cuts.add(r.hi);
      }
      const bounds = [...cuts].sort((a, b) => a - b);
      let ranges = 0;
      for (let k = 0; k + 1 < bounds.length; k++) {
        const lo = bounds[k]!;
        const offs = new Set<number>();
        for (const r of c.remaps.values()) if (r.lo <= lo && lo < r.hi) offs.add(r.offset);
        if (offs.size === 0) continue;
        ranges++;
        if (offs.size > 1) bytes += 8 + 8 * 2 ** Math.ceil(Math.log2(offs.size));
      }
      // Ranges and the gaps between them, 16 to a leaf; internal nodes above.
      let nodes = Math.ceil((2 * ranges + 1) / MAPLE_LEAF_SLOTS);
      for (let level = nodes; level > 1; level = Math.ceil(level / MAPLE_INTERNAL_SLOTS)) nodes += Math.ceil(level / MAPLE_INTERNAL_SLOTS);
      bytes += nodes * MAPLE_NODE_BYTES;
    }
    return bytes;
  }

  bytes(): number {
    return this.live.size * COW_CONTEXT_BYTES + this.folios() * FOLIO_POINTER_BYTES + this.remapBytes();
  }

  stats(): Record<string, number> {
    this.reap();
    let depthMax = 0;
    let remaps = 0;
    for (const c of this.live) {
      if (c.depth > depthMax) depthMax = c.depth;
      remaps += c.remaps.size;
    }
    return {
      cowContextsCreated: this.created,
      cowContextsFreed: this.freed,
      cowContextsAlive: this.live.size,
      cowContextsPeak: this.peak,
      remapEntries: remaps,
      remapUpdates: this.remapUpdates,
      ...this.pteStats(),
      sharedSwapIns: this.sharedSwapIns,
      ...this.faultStats(),
      // Contexts reached, hops down included (for a file page, its i_mmap).
      rmapSpacesVisited: this.rmapSpacesVisited,
      rmapRemapLookups: this.remapLookups,
      rmapEarlyExits: this.earlyExits,
      pagesMovedToOwnContext: this.pagesMoved,
      // The depth of the context forest (hops from a root).
      depthMax,
      depthPeak: this.depthPeak,
      designBytes: this.bytes(),
    };
  }
}
