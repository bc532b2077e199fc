// The explorer's model (src/explore/model.ts), without a browser: moving
// through a trace, backwards included, gives exactly what a plain run of the
// trace cut at that point gives; looking at the machine never changes it;
// the snapshot diff finds what changed.

import { describe, expect, it } from 'vitest';
import type { DesignSnapshot } from '../src/draw/types.js';
import { diffSnapshots, Session, type ExploreSettings } from '../src/explore/model.js';
import { Machine } from '../src/machine.js';
import type { Command } from '../src/trace/ast.js';
import { generateTrace } from '../src/trace/gen/index.js';
import { parseTrace } from '../src/trace/parse.js';
import { SPEC_EXAMPLE, SPEC_EXAMPLE_OUTPUT } from './spec-example.js';

/** The reference: a fresh machine running the first n commands, as `vmtree run` does. */
function plainRun(cmds: readonly Command[], n: number, s: ExploreSettings): { out: string[]; stats: Record<string, number> } {
  const m = new Machine({ design: s.design, cut: s.cut, merge: s.merge, zeroPage: s.zeroPage, ...(s.frames !== undefined ? { frames: s.frames } : {}) });
  const out = cmds.slice(0, n).map((c) => `${c.line} ${m.exec(c)}`);
  return { out, stats: m.stats() };
}

const settings = (design: string, frames?: number): ExploreSettings => ({ design, cut: true, merge: true, zeroPage: true, ...(frames !== undefined ? { frames } : {}) });

describe('explore model', () => {
  it("steps through the spec example and prints the spec's output", () => {
    const s = new Session(parseTrace(SPEC_EXAMPLE, 'spec'), settings('tree'));
    s.goTo(Infinity);
    expect(`${s.results.map((r) => r.text).join('\n')}\n`).toBe(SPEC_EXAMPLE_OUTPUT);
  });

  for (const design of ['tree', 'anon-vma-chain', 'anon-layer']) {
    it(`${design}: every position, reached forwards or backwards while looking at everything, equals a plain run cut there`, () => {
      // Small memory, so reclaim and swap run too.
      const cmds = parseTrace(generateTrace({ seed: 31n, ops: 120, profile: 'mixed', quirks: false }), 'gen');
      const st = settings(design, 12);
      const s = new Session(cmds, st);
      // A walk that goes forwards, back, jumps: every position is visited
      // from somewhere else, and at each the page looks at everything.
      const order: number[] = [];
      for (let p = 0; p <= cmds.length; p += 7) order.push(p, Math.max(0, p - 3), p + 1);
      for (const p of order) {
        s.goTo(p);
        s.view();
        s.snapshot();
        const shown = s.counters();
        const ref = plainRun(cmds, s.position, st);
        expect(s.results.map((r) => r.text)).toEqual(ref.out);
        expect(shown).toEqual(ref.stats);
      }
      // Looking never changed the machine: the end state is a plain run's.
      s.goTo(cmds.length);
      const ref = plainRun(cmds, cmds.length, st);
      expect(s.results.map((r) => r.text)).toEqual(ref.out);
      expect(s.counters()).toEqual(ref.stats);
    });
  }

  it('shows ptes, COW and sharing after the fork and copy of the spec example', () => {
    const cmds = parseTrace(SPEC_EXAMPLE, 'spec');
    const s = new Session(cmds, settings('anon-vma-chain'));
    s.goTo(s.positionOfLine(7)); // fork a b
    let v = s.view();
    const pte = (proc: string) => v.processes.find((p) => p.name === proc)!.ptes.find((t) => t.addr === 0x100000000000)!;
    expect(pte('a').state).toBe('cow');
    expect(pte('b').state).toBe('cow');
    expect(pte('a').pfn).toBe(pte('b').pfn);
    expect(pte('a').mapcount).toBe(2);
    expect(v.frames.find((f) => f.pfn === pte('a').pfn)!.users).toEqual(['a:0x100000000000', 'b:0x100000000000']);
    s.goTo(s.positionOfLine(8)); // b write: b copies
    v = s.view();
    expect(pte('b').state).toBe('writable');
    expect(pte('b').pfn).not.toBe(pte('a').pfn);
    expect(pte('a').mapcount).toBe(1);
    const obj = s.snapshot();
    expect(obj).not.toBeNull();
  });

  it('finds pages in swap (no pte, the design holds the entry)', () => {
    const trace = 'spawn a\na mmap 0x100000000000 0x10000 rw private\n' +
      Array.from({ length: 16 }, (_, i) => `a write 0x${(0x100000000000 + i * 0x1000).toString(16)} ${i + 1}\n`).join('');
    const s = new Session(parseTrace(trace, 't'), settings('anon-vma-chain', 8));
    s.goTo(Infinity);
    const a = s.view().processes[0]!;
    const swapped = a.ptes.filter((t) => t.state === 'swapped').length;
    expect(swapped).toBeGreaterThan(0);
    expect(swapped + a.ptes.filter((t) => t.state === 'writable').length).toBe(16);
    expect(s.counters().swapUsed).toBe(swapped);
  });

  it('the diff marks new and changed nodes, and lists what is gone', () => {
    const before: DesignSnapshot = { design: 't', edges: [], nodes: [
      { id: 'a0', kind: 'anon_vma', lines: ['1 page'] },
      { id: 'a1', kind: 'anon_vma', lines: ['0 pages'], parent: 'a0' },
      { id: 'v0', kind: 'vma', lines: ['0x1000-0x2000 rw-p anon'], owner: 'x', parent: 'a0' },
    ] };
    const after: DesignSnapshot = { design: 't', edges: [], nodes: [
      { id: 'a0', kind: 'anon_vma', lines: ['1 page'] },
      { id: 'a1', kind: 'anon_vma', lines: ['1 page'], parent: 'a0' },
      { id: 'v0', kind: 'vma', lines: ['0x5000-0x6000 rw-p anon'], owner: 'y', parent: 'a1' },
    ] };
    const d = diffSnapshots(before, after);
    expect([...d.changed].sort()).toEqual(['a1', 'v0']);
    // a1 changed in place (same kind, no process): not gone; x's vma is.
    expect(d.removed).toEqual(['vma (x): 0x1000-0x2000 rw-p anon']);
    expect(diffSnapshots(after, after).changed.size).toBe(0);
    // Nothing but the parent changes: the vma moved to another anon_vma.
    const moved: DesignSnapshot = { ...after, nodes: after.nodes.map((n) => (n.id === 'v0' ? { ...n, parent: 'a0' } : n)) };
    expect([...diffSnapshots(after, moved).changed]).toEqual(['v0']);
    // A page more in a1 marks a1, not the vmas under it.
    const grown: DesignSnapshot = { ...after, nodes: after.nodes.map((n) => (n.id === 'a1' ? { ...n, lines: ['2 pages'] } : n)) };
    expect([...diffSnapshots(after, grown).changed]).toEqual(['a1']);
  });
});
