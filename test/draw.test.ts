// vmtree draw: snapshots of known traces give the graphs worked out by
// hand from the trace, and the DOT generation collapses look-alikes.
import { describe, expect, it } from 'vitest';
import { collapse, commandsUpTo, renderSvg, snapshotOf, toDot, type DesignSnapshot } from '../src/draw/index.js';
import { Machine } from '../src/machine.js';
import { parseTrace } from '../src/trace/parse.js';
import { workloadTrace } from '../src/workload/index.js';
import { SPEC_EXAMPLE } from './spec-example.js';

const A = '0x100000000000-0x100000003000 rw-p anon';

/** The drawn graph of `design` after running `text` up to line `at`, as plain data. */
function drawn(text: string, design: string, at: number | 'end' | 'before-exit', collapseAt = 3) {
  const m = new Machine({ design });
  for (const c of commandsUpTo(parseTrace(text, 't'), at)) m.exec(c);
  const g = collapse(snapshotOf(m), collapseAt);
  const name = new Map(g.nodes.map((n) => [n.id, `${n.kind}${n.owners.length > 0 ? `:${n.owners.join(',')}` : ''}`]));
  return {
    nodes: g.nodes.map((n) => ({ kind: n.kind, count: n.count, owners: n.owners, lines: n.lines })),
    edges: g.edges.map((e) => `${name.get(e.from)} -${e.kind}-> ${name.get(e.to)}`),
  };
}

describe('snapshots of the spec example', () => {
  // Lines 4-8: a maps 3 private pages and a 2-page shared file mapping,
  // writes page 0 (line 6), forks b (7), b writes page 0 (8): a and b then
  // each have one anonymous page of their own, b's a copy of a's.
  it('anon-layer after line 8: one anon_vma with both pages, both vmas on its list', () => {
    expect(drawn(SPEC_EXAMPLE, 'anon-layer', 8)).toEqual({
      nodes: [
        { kind: 'anon_vma', count: 1, owners: [], lines: ['2 pages', '2 vmas on its list'] },
        { kind: 'vma', count: 1, owners: ['a'], lines: [A, '1 anon page mapped'] },
        { kind: 'vma', count: 1, owners: ['b'], lines: [A, '1 anon page mapped'] },
      ],
      edges: ['anon_vma -parent-> vma:a', 'anon_vma -parent-> vma:b'],
    });
  });
  it("anon-vma-chain after line 8: a's root anon_vma, b's child anon_vma, b chained to the root", () => {
    expect(drawn(SPEC_EXAMPLE, 'anon-vma-chain', 8)).toEqual({
      nodes: [
        { kind: 'anon_vma', count: 1, owners: [], lines: ['1 page', '2 vmas on its list'] },
        { kind: 'anon_vma', count: 1, owners: [], lines: ['1 page', '1 vma on its list'] },
        { kind: 'vma', count: 1, owners: ['a'], lines: [A, '1 anon page mapped'] },
        { kind: 'vma', count: 1, owners: ['b'], lines: [A, '1 anon page mapped'] },
      ],
      edges: ['anon_vma -parent-> anon_vma', 'anon_vma -parent-> vma:a', 'anon_vma -parent-> vma:b', 'vma:b -chain-> anon_vma'],
    });
  });
  it('anon-vma-chain after line 7 (the fork): b has no anon_vma of its own yet, only the chain link', () => {
    // Linux's anon_vma_fork gives the child an anon_vma at fork time.
    const g = drawn(SPEC_EXAMPLE, 'anon-vma-chain', 7);
    expect(g.nodes.filter((n) => n.kind === 'anon_vma')).toHaveLength(2);
    expect(g.edges).toContain('vma:b -chain-> anon_vma');
  });
  for (const design of ['scan', 'pte-chain']) {
    it(`${design}: after the fork one page shared by a and b; after b's write one private page each`, () => {
      expect(drawn(SPEC_EXAMPLE, design, 7)).toEqual({
        nodes: [
          { kind: 'vma', count: 1, owners: ['a'], lines: [A, '1 anon page'] },
          { kind: 'vma', count: 1, owners: ['b'], lines: [A, '1 anon page'] },
          { kind: 'pages', count: 1, owners: [], lines: ['1 page', 'shared by 2 vmas'] },
        ],
        edges: ['vma:a -parent-> pages', 'pages -shares-> vma:b'],
      });
      expect(drawn(SPEC_EXAMPLE, design, 8).nodes.filter((n) => n.kind === 'pages').map((n) => n.lines)).toEqual([
        ['1 page', 'private'], ['1 page', 'private'],
      ]);
    });
  }
  it("tree after line 8: b's write made a child space of a's space holding b's copy", () => {
    expect(drawn(SPEC_EXAMPLE, 'tree', 8)).toEqual({
      nodes: [
        { kind: 'space', count: 1, owners: [], lines: ['1 page', 'depth 0'] },
        { kind: 'space', count: 1, owners: [], lines: ['1 page', 'depth 1'] },
        { kind: 'vma', count: 1, owners: ['a'], lines: [A] },
        { kind: 'vma', count: 1, owners: ['b'], lines: [A] },
      ],
      edges: ['space -parent-> space', 'space -parent-> vma:a', 'space -parent-> vma:b'],
    });
  });
  it("tree after line 11: b's private file mapping uses the file's page cache (page 1, written by fwrite) directly", () => {
    const g = drawn(SPEC_EXAMPLE, 'tree', 11);
    expect(g.nodes.slice(2, 3)).toEqual([{ kind: 'space', count: 1, owners: [], lines: ['page cache of data', '1 page'] }]);
    expect(g.nodes[5]).toEqual({ kind: 'vma', count: 1, owners: ['b'], lines: ['0x100000010000-0x100000011000 r--p data@0x1000'] });
    expect(g.edges).toEqual(['space -parent-> space', 'space -parent-> vma:a', 'space -parent-> vma:b', 'space -parent-> vma:b']);
  });
  it("shadow after line 8: b's shadow object shadows all its backing object supplies, so bypass unlinks it", () => {
    expect(drawn(SPEC_EXAMPLE, 'shadow', 8).edges).toEqual(['space -parent-> vma:a', 'space -parent-> vma:b']);
  });
  it('tree, fork-chain of 6 generations on 4 pages: one space with merge, a chain of 6 without', () => {
    const text = workloadTrace('fork-chain', { generations: '6', pages: '4' });
    const cmds = parseTrace(text, 't');
    const at = cmds[cmds.map((c) => c.kind).lastIndexOf('exit') - 1]!.line;
    const withMerge = drawn(text, 'tree', at);
    expect(withMerge.nodes.map((n) => [n.kind, n.owners, n.lines[0]])).toEqual([['space', [], '4 pages'], ['vma', ['g6'], '0x100000000000-0x100000004000 rw-p anon']]);
    // Without merge each generation's write (page g mod 4) made a space
    // one level deeper: g0's 1 page at depth 0 ... g5's at depth 5.
    const m = new Machine({ design: 'tree', merge: false });
    for (const c of commandsUpTo(cmds, at)) m.exec(c);
    const chain = collapse(snapshotOf(m));
    expect(chain.nodes.map((n) => n.lines.join(' '))).toEqual([
      ...[0, 1, 2, 3, 4, 5].map((d) => `1 page depth ${d}`), '0x100000000000-0x100000004000 rw-p anon',
    ]);
    expect(chain.edges.every((e, k) => e.from === chain.nodes[k]!.id && e.to === chain.nodes[k + 1]!.id)).toBe(true);
  });
  it('an empty machine draws a note, not an empty graph', () => {
    expect(toDot({ design: 'scan', nodes: [], edges: [] })).toContain('nothing to draw');
  });
});

describe('collapsing identical siblings', () => {
  // A root with five children spaces, each used by one vma of its own
  // process and each with two identical grandchildren: one "×5" child, its
  // vma standing for p1..p5, and below it one "×10" grandchild.
  const snap: DesignSnapshot = { design: 'test', nodes: [{ id: 'r', kind: 'space', lines: ['root'] }], edges: [] };
  for (let i = 1; i <= 5; i++) {
    snap.nodes.push({ id: `s${i}`, kind: 'space', lines: ['child'], parent: 'r' });
    snap.nodes.push({ id: `v${i}`, kind: 'vma', lines: ['0x1000-0x2000'], owner: `p${i}`, parent: `s${i}` });
    for (const k of [1, 2]) snap.nodes.push({ id: `g${i}.${k}`, kind: 'space', lines: ['grandchild'], parent: `s${i}` });
    snap.edges.push({ from: `v${i}`, to: 'r', kind: 'chain' });
  }
  it('folds the copies and counts every node they stood for', () => {
    const g = collapse(snap, 2);
    expect(g.nodes.map((n) => [n.id, n.count, n.owners.join(',')])).toEqual([
      ['r', 1, ''], ['s1', 5, ''], ['v1', 5, 'p1,p2,p3,p4,p5'], ['g1.1', 10, ''],
    ]);
    expect(g.edges).toEqual([
      { from: 'r', to: 's1', kind: 'parent' }, { from: 's1', to: 'v1', kind: 'parent' },
      { from: 's1', to: 'g1.1', kind: 'parent' }, { from: 'v1', to: 'r', kind: 'chain' },
    ]);
    expect(toDot(snap, { collapseAt: 2 })).toContain('label="×5 vma — p1, p2, … p5 (5)\\n0x1000-0x2000"');
  });
  it('keeps siblings that differ, and everything below the threshold', () => {
    const differ = structuredClone(snap);
    differ.nodes.find((n) => n.id === 'g3.2')!.lines = ['other'];
    expect(collapse(differ, 2).nodes.filter((n) => n.kind === 'vma').map((n) => n.owners)).toEqual([['p1', 'p2', 'p4', 'p5'], ['p3']]);
    expect(collapse(snap, 6).nodes).toHaveLength(snap.nodes.length);
  });
  it('rejects a malformed snapshot', () => {
    expect(() => collapse({ design: 'x', nodes: [{ id: 'a', kind: 'vma', lines: [], parent: 'b' }], edges: [] })).toThrow(/unknown parent/);
    expect(() => collapse({ design: 'x', nodes: [{ id: 'a', kind: 'vma', lines: [], parent: 'a' }], edges: [] })).toThrow(/cycle/);
  });
});

describe('cow-storm, 1000 children', () => {
  const text = workloadTrace('cow-storm', { children: '1000', pages: '20' });
  const children = Array.from({ length: 1000 }, (_, i) => `c${i + 1}`);
  it('anon-vma-chain: the parent vma on the root anon_vma, one ×1000 child anon_vma with its vma', () => {
    const g = drawn(text, 'anon-vma-chain', 'before-exit');
    expect(g.nodes.map((n) => [n.kind, n.count, n.lines[0]])).toEqual([
      ['anon_vma', 1, '20 pages'], ['anon_vma', 1000, '20 pages'], ['vma', 1, '0x100000000000-0x100000014000 rw-p anon'], ['vma', 1000, '0x100000000000-0x100000014000 rw-p anon'],
    ]);
    expect(g.nodes[3]!.owners).toEqual(children);
  });
  // Every process has written all 20 pages: in the other designs nothing
  // tells the parent's vma from a child's, so all 1001 fold together.
  for (const design of ['anon-layer', 'scan', 'pte-chain']) {
    it(`${design}: the 1001 vmas, each with 20 pages of its own, fold into one ×1001 node`, () => {
      const g = drawn(text, design, 'before-exit');
      expect(g.nodes.length).toBeLessThanOrEqual(2);
      const vmas = g.nodes.find((n) => n.kind === 'vma')!;
      expect([vmas.count, vmas.owners]).toEqual([1001, ['parent', ...children]]);
    });
  }
  it('renders to SVG with Graphviz', async () => {
    const m = new Machine({ design: 'anon-vma-chain' });
    for (const c of commandsUpTo(parseTrace(text, 't'), 'before-exit')) m.exec(c);
    const svg = await renderSvg(toDot(snapshotOf(m)));
    expect(svg).toMatch(/^<\?xml[\s\S]*<svg[\s\S]*×1000 anon_vma[\s\S]*<\/svg>\s*$/);
  });
});
