// From a snapshot to Graphviz DOT: pure functions, unit-tested on known
// traces (test/draw.test.ts).
//
// Large pictures stay readable by collapsing look-alikes: siblings (nodes
// with the same parent, or roots) whose whole subtrees are identical —
// same kinds and lines at every node, same links to the same outside
// nodes — are drawn once, as "×N" with the processes they belong to. A
// cow-storm of 1000 children is then a parent space and one "×1000" child.

import type { DesignSnapshot, SnapshotEdge, SnapshotNode } from './types.js';

/** A node as drawn: a snapshot node standing for `count` look-alikes. */
export interface DrawnNode extends SnapshotNode {
  count: number;
  /** The owners of every node it stands for, in order, without repeats. */
  owners: string[];
}

export interface DrawnGraph {
  design: string;
  nodes: DrawnNode[];
  /** Hierarchy edges (parent -> child) and the snapshot's own, after collapsing; no duplicates. */
  edges: { from: string; to: string; kind: 'parent' | SnapshotEdge['kind'] }[];
}

/**
 * Collapse runs of at least `threshold` identical siblings into one node.
 * Siblings are compared by a signature interned bottom-up, so the cost is
 * linear in the snapshot's size.
 */
export function collapse(s: DesignSnapshot, threshold = 3): DrawnGraph {
  const byId = new Map<string, SnapshotNode>();
  for (const n of s.nodes) {
    if (byId.has(n.id)) throw new Error(`snapshot: node id '${n.id}' twice`);
    byId.set(n.id, n);
  }
  const children = new Map<string, SnapshotNode[]>();
  const roots: SnapshotNode[] = [];
  for (const n of s.nodes) {
    if (n.parent === undefined) roots.push(n);
    else {
      if (!byId.has(n.parent)) throw new Error(`snapshot: node '${n.id}' has unknown parent '${n.parent}'`);
      const list = children.get(n.parent) ?? [];
      list.push(n);
      children.set(n.parent, list);
    }
  }
  const touching = new Map<string, SnapshotEdge[]>();
  for (const e of s.edges) {
    for (const end of [e.from, e.to]) {
      if (!byId.has(end)) throw new Error(`snapshot: edge to unknown node '${end}'`);
      const list = touching.get(end) ?? [];
      list.push(e);
      touching.set(end, list);
    }
  }
  /** Distance from n up to a, or -1 if a is not n or an ancestor of n. */
  const up = (n: string, a: string): number => {
    let d = 0;
    for (let x: string | undefined = n; x !== undefined; x = byId.get(x)!.parent, d++) if (x === a) return d;
    return -1;
  };

  // Signatures, children before parents (iteratively: chains can be deep).
  const interned = new Map<string, number>();
  const sig = new Map<string, number>();
  const order: SnapshotNode[] = [];
  const stack: [SnapshotNode, boolean][] = roots.map((r) => [r, false]);
  while (stack.length > 0) {
    const [n, expanded] = stack.pop()!;
    if (expanded) {
      order.push(n);
      continue;
    }
    stack.push([n, true]);
    for (const c of children.get(n.id) ?? []) stack.push([c, false]);
  }
  if (order.length !== s.nodes.length) throw new Error('snapshot: the parent links form a cycle');
  for (const n of order) {
    const kids = (children.get(n.id) ?? []).map((c) => sig.get(c.id)!).sort((a, b) => a - b);
    const links = (touching.get(n.id) ?? []).map((e) => {
      const out = e.from === n.id;
      const other = out ? e.to : e.from;
      const d = up(n.id, other);
      return `${out ? '>' : '<'}${e.kind}:${d >= 0 ? `^${d}` : `#${other}`}`;
    }).sort();
    const key = `${n.kind}\u0000${n.lines.join('\u0001')}\u0000${kids.join(',')}\u0000${links.join(',')}`;
    let id = interned.get(key);
    if (id === undefined) interned.set(key, (id = interned.size));
    sig.set(n.id, id);
  }
  const sortedKids = (id: string): SnapshotNode[] =>
    [...(children.get(id) ?? [])].sort((a, b) => sig.get(a.id)! - sig.get(b.id)!);

  // Walk siblings; collapse groups; map every copy onto its representative.
  const rep = new Map<string, string>();
  const drawn = new Map<string, DrawnNode>();
  const keep = (n: SnapshotNode): DrawnNode => {
    const d: DrawnNode = { ...n, count: 1, owners: n.owner === undefined ? [] : [n.owner] };
    drawn.set(n.id, d);
    rep.set(n.id, n.id);
    return d;
  };
  /** Map the subtree of `copy` onto the (structurally identical) subtree of `into`. */
  const fold = (copy: SnapshotNode, into: SnapshotNode): void => {
    const pairs: [SnapshotNode, SnapshotNode][] = [[copy, into]];
    while (pairs.length > 0) {
      const [c, r] = pairs.pop()!;
      const target = drawn.get(r.id)!;
      rep.set(c.id, r.id);
      // A copy may already stand for look-alikes of its own (folded into
      // it higher up): it brings them all.
      const was = drawn.get(c.id);
      if (was !== undefined) {
        target.count += was.count;
        target.owners.push(...was.owners);
      } else {
        target.count++;
        if (c.owner !== undefined) target.owners.push(c.owner);
      }
      const ck = sortedKids(c.id);
      const rk = sortedKids(r.id);
      ck.forEach((k, i) => pairs.push([k, rk[i]!]));
    }
  };
  const keepSubtree = (n: SnapshotNode): void => {
    const todo = [n];
    while (todo.length > 0) {
      const x = todo.pop()!;
      keep(x);
      todo.push(...(children.get(x.id) ?? []));
    }
  };
  const siblingLists: SnapshotNode[][] = [roots];
  while (siblingLists.length > 0) {
    const list = siblingLists.pop()!;
    const groups = new Map<number, SnapshotNode[]>();
    for (const n of list) {
      const g = groups.get(sig.get(n.id)!) ?? [];
      g.push(n);
      groups.set(sig.get(n.id)!, g);
    }
    for (const g of groups.values()) {
      const first = g[0]!;
      if (!drawn.has(first.id)) keepSubtree(first);
      if (g.length >= threshold) for (const other of g.slice(1)) fold(other, first);
      else for (const other of g.slice(1)) if (!drawn.has(other.id)) keepSubtree(other);
      const next = threshold <= g.length ? [first] : g;
      for (const n of next) {
        const kids = children.get(n.id);
        if (kids !== undefined) siblingLists.push(kids);
      }
    }
  }
  const find = (id: string): string => {
    let x = id;
    while (rep.get(x) !== x) x = rep.get(x)!;
    return x;
  };
  // keepSubtree kept every node below a group before its own siblings were
  // compared: drop those folded away since (fold moved their counts).
  for (const id of [...drawn.keys()]) if (find(id) !== id) drawn.delete(id);
  for (const d of drawn.values()) d.owners = [...new Set(d.owners)];

  const nodes = s.nodes.filter((n) => drawn.has(n.id)).map((n) => drawn.get(n.id)!);
  const seen = new Set<string>();
  const edges: DrawnGraph['edges'] = [];
  const add = (from: string, to: string, kind: DrawnGraph['edges'][number]['kind']): void => {
    const k = `${from}\u0000${to}\u0000${kind}`;
    if (seen.has(k)) return;
    seen.add(k);
    edges.push({ from, to, kind });
  };
  for (const n of nodes) if (n.parent !== undefined) add(find(n.parent), n.id, 'parent');
  for (const e of s.edges) add(find(e.from), find(e.to), e.kind);
  return { design: s.design, nodes, edges };
}

const KIND: Record<SnapshotNode['kind'], { title: string; attrs: string }> = {
  space: { title: 'address_space', attrs: 'shape=box, style="rounded,filled", fillcolor="#cfe3f7"' },
  anon_vma: { title: 'anon_vma', attrs: 'shape=box, style="rounded,filled", fillcolor="#f7e6b5"' },
  vma: { title: 'vma', attrs: 'shape=box, style=filled, fillcolor="#ffffff"' },
  pages: { title: 'pages', attrs: 'shape=note, style=filled, fillcolor="#e8e8e8"' },
};

/** A DOT string literal. */
export function dotString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** "a, b, c" or "c1, c2, … c1000 (1000)". */
export function ownerList(owners: readonly string[]): string {
  if (owners.length <= 4) return owners.join(', ');
  return `${owners[0]}, ${owners[1]}, … ${owners[owners.length - 1]} (${owners.length})`;
}

export function nodeLabel(n: DrawnNode): string {
  const head = `${n.count > 1 ? `×${n.count} ` : ''}${KIND[n.kind].title}${n.owners.length > 0 ? ` — ${ownerList(n.owners)}` : ''}`;
  return [head, ...n.lines].join('\n');
}

export interface DotOptions {
  /** Collapse runs of at least this many identical siblings (default 3). */
  collapseAt?: number;
  /** A caption under the picture. */
  title?: string;
}

/** The DOT text of a snapshot. Deterministic: same snapshot, same text. */
export function toDot(s: DesignSnapshot, opts: DotOptions = {}): string {
  const g = collapse(s, opts.collapseAt ?? 3);
  const ids = new Map(g.nodes.map((n, i) => [n.id, `n${i}`]));
  const out: string[] = [
    'digraph vmtree {',
    `  graph [rankdir=TB, fontname="Helvetica", fontsize=12, nodesep=0.25, ranksep=0.4, labelloc=b${opts.title !== undefined ? `, label=${dotString(opts.title)}` : ''}];`,
    '  node [fontname="Helvetica", fontsize=10, margin="0.12,0.06"];',
    '  edge [arrowsize=0.6, color="#555555"];',
  ];
  if (g.nodes.length === 0) out.push(`  empty [shape=plaintext, label=${dotString(`${s.design}: nothing to draw (no private vmas)`)}];`);
  for (const n of g.nodes) out.push(`  ${ids.get(n.id)} [${KIND[n.kind].attrs}, label=${dotString(nodeLabel(n))}];`);
  for (const e of g.edges) {
    const style = e.kind === 'parent' ? '' : e.kind === 'chain' ? ' [style=dashed, color="#b8860b", constraint=false]' : ' [style=dashed, color="#888888", dir=none]';
    out.push(`  ${ids.get(e.from)} -> ${ids.get(e.to)}${style};`);
  }
  out.push('}');
  return `${out.join('\n')}\n`;
}
