// Helpers the designs use to build their snapshot (AnonDesign.snapshot).

import { PAGE_SIZE, VM_EXEC, VM_READ, VM_WRITE } from '../mm/constants.js';
import type { Frame } from '../mm/frames.js';
import type { Vma } from '../mm/vma.js';
import type { DesignSnapshot, SnapshotEdge, SnapshotNode } from './types.js';

/** `0x100000000000-0x100000003000 rw-p` (as in `maps`), and the file for a private file mapping. */
export function vmaLines(v: Vma): string[] {
  const prot = `${v.prot & VM_READ ? 'r' : '-'}${v.prot & VM_WRITE ? 'w' : '-'}${v.prot & VM_EXEC ? 'x' : '-'}${v.shared ? 's' : 'p'}`;
  const what = v.file === null ? 'anon' : `${v.file.name ?? 'shm'}@0x${(v.pgoff * PAGE_SIZE).toString(16)}`;
  return [`0x${v.start.toString(16)}-0x${v.end.toString(16)} ${prot} ${what}`];
}

export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** Private vmas in a stable order: by process name as first met, then address. */
export function privateVmas(vmas: readonly Vma[]): Vma[] {
  return vmas.filter((v) => !v.shared);
}

/**
 * The page-table designs' picture (scan, pte-chain): no objects, so the
 * vmas and which anonymous pages they share. Pages are grouped by the set
 * of vmas that map them: one node "N pages" per group, under the first
 * vma of the set, with a dashed `shares` edge to each other vma.
 */
export function pageShareSnapshot(
  design: string,
  vmas: readonly Vma[],
  forEachFrame: (v: Vma, fn: (index: number, f: Frame) => void) => void,
): DesignSnapshot {
  const priv = privateVmas(vmas);
  const nodes: SnapshotNode[] = [];
  const edges: SnapshotEdge[] = [];
  const idOf = new Map<Vma, string>();
  const users = new Map<Frame, number[]>();
  priv.forEach((v, k) => {
    idOf.set(v, `v${k}`);
    let n = 0;
    forEachFrame(v, (_i, f) => {
      n++;
      const u = users.get(f);
      if (u === undefined) users.set(f, [k]);
      else if (u[u.length - 1] !== k) u.push(k);
    });
    nodes.push({ id: `v${k}`, kind: 'vma', lines: [...vmaLines(v), plural(n, 'anon page')], owner: v.mm.name });
  });
  const groups = new Map<string, { vmas: number[]; pages: number }>();
  for (const u of users.values()) {
    const key = u.join(',');
    const g = groups.get(key);
    if (g === undefined) groups.set(key, { vmas: u, pages: 1 });
    else g.pages++;
  }
  let g = 0;
  for (const { vmas: vs, pages } of groups.values()) {
    const id = `p${g++}`;
    nodes.push({ id, kind: 'pages', lines: [plural(pages, 'page'), vs.length === 1 ? 'private' : `shared by ${vs.length} vmas`], parent: `v${vs[0]}` });
    for (const k of vs.slice(1)) edges.push({ from: id, to: `v${k}`, kind: 'shares' });
  }
  return { design, nodes, edges };
}

/**
 * The anon_vma designs' picture: anon_vmas (under their parent, for
 * anon-vma-chain), each vma under its own anon_vma, and dashed `chain`
 * edges from a vma to the other anon_vmas on its anon_vma_chain.
 */
export function anonVmaSnapshot<AV extends object>(
  design: string,
  vmas: readonly Vma[],
  live: Iterable<AV>,
  how: {
    parentOf(av: AV): AV | null;
    ownOf(v: Vma): AV | null;
    chainOf(v: Vma): readonly AV[];
    listOf(av: AV): { size: number };
    forEachFrame(v: Vma, fn: (index: number, f: Frame) => void): void;
    /** page->mapping of an anonymous page. */
    ownerOf(f: Frame): unknown;
  },
): DesignSnapshot {
  const nodes: SnapshotNode[] = [];
  const edges: SnapshotEdge[] = [];
  const ids = new Map<AV, string>();
  for (const av of live) ids.set(av, `a${ids.size}`);
  const pages = new Map<AV, Set<Frame>>();
  const priv = privateVmas(vmas);
  const mapped = priv.map((v) => {
    let n = 0;
    how.forEachFrame(v, (_i, f) => {
      n++;
      const owner = how.ownerOf(f) as AV;
      if (!ids.has(owner)) return;
      let set = pages.get(owner);
      if (set === undefined) pages.set(owner, (set = new Set()));
      set.add(f);
    });
    return n;
  });
  for (const [av, id] of ids) {
    const parent = how.parentOf(av);
    const node: SnapshotNode = { id, kind: 'anon_vma', lines: [plural(pages.get(av)?.size ?? 0, 'page'), `${plural(how.listOf(av).size, 'vma')} on its list`] };
    if (parent !== null && parent !== av) node.parent = ids.get(parent)!;
    nodes.push(node);
  }
  priv.forEach((v, k) => {
    const own = how.ownOf(v);
    const node: SnapshotNode = { id: `v${k}`, kind: 'vma', lines: [...vmaLines(v), `${plural(mapped[k]!, 'anon page')} mapped`], owner: v.mm.name };
    if (own !== null) node.parent = ids.get(own)!;
    nodes.push(node);
    for (const av of how.chainOf(v)) if (av !== own) edges.push({ from: `v${k}`, to: ids.get(av)!, kind: 'chain' });
  });
  return { design, nodes, edges };
}

/** What spaceTreeSnapshot needs to know of a space (tree's address_space, shadow's vm_object). */
export interface SpaceView<S> {
  /** The space a private vma uses directly (null before its first page, in some designs). */
  spaceOf(v: Vma): S | null;
  parentOf(s: S): S | null;
  /** The file whose page cache it is, or null for an anonymous space. */
  fileOf(s: S): { name: string | null } | null;
  /** Indices held, in memory or swap. */
  held(s: S): number;
  /** Page-index ranges [lo, hi) below which lookups must not look further up. */
  cleared(s: S): [number, number][];
}

/**
 * The tree designs' picture (tree, shadow): spaces under their parents
 * (depth = parent links up to the root; a file's page cache is a root),
 * each with the vmas that use it. Anonymous spaces in `live` are drawn even
 * when no vma uses them directly (an inner node of the tree).
 */
export function spaceTreeSnapshot<S extends object>(design: string, vmas: readonly Vma[], live: Iterable<S>, view: SpaceView<S>): DesignSnapshot {
  const nodes: SnapshotNode[] = [];
  const ids = new Map<S, string>();
  const order: S[] = [];
  const visit = (s: S): void => {
    // Parents first, so a parent's node precedes its children's.
    const chain: S[] = [];
    for (let x: S | null = s; x !== null && !ids.has(x); x = view.parentOf(x)) chain.push(x);
    for (let k = chain.length - 1; k >= 0; k--) {
      ids.set(chain[k]!, `s${ids.size}`);
      order.push(chain[k]!);
    }
  };
  const priv = privateVmas(vmas);
  for (const v of priv) {
    const s = view.spaceOf(v);
    if (s !== null) visit(s);
  }
  for (const s of live) visit(s);
  for (const s of order) {
    let depth = 0;
    for (let p = view.parentOf(s); p !== null; p = view.parentOf(p)) depth++;
    const file = view.fileOf(s);
    const lines = file !== null
      ? [`page cache of ${file.name ?? 'shm'}`, plural(view.held(s), 'page')]
      : [plural(view.held(s), 'page'), `depth ${depth}`];
    const cleared = view.cleared(s);
    if (cleared.length > 0) {
      const shown = cleared.slice(0, 3).map(([lo, hi]) => (hi - lo === 1 ? `${lo}` : `${lo}-${hi - 1}`)).join(', ');
      lines.push(`cleared ${shown}${cleared.length > 3 ? ` (+${cleared.length - 3} ranges)` : ''}`);
    }
    const node: SnapshotNode = { id: ids.get(s)!, kind: 'space', lines };
    const parent = view.parentOf(s);
    if (parent !== null) node.parent = ids.get(parent)!;
    nodes.push(node);
  }
  priv.forEach((v, k) => {
    const s = view.spaceOf(v);
    const node: SnapshotNode = { id: `v${k}`, kind: 'vma', lines: vmaLines(v), owner: v.mm.name };
    if (s !== null) node.parent = ids.get(s)!;
    nodes.push(node);
  });
  return { design, nodes, edges: [] };
}
