// `npm run bench -- --anatomy`'s table (src/bench/anatomy.ts): the rows a
// tree of timed parts gives, against a hand-computed table; and the real
// parts, run once, give a well-formed one. No timing is asserted (timings
// are the bench's business).
import { describe, expect, it } from 'vitest';
import { anatomyParts, anatomyRows, faultAnatomy } from '../src/bench/anatomy.js';

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};

describe('anatomyRows', () => {
  // A(0) with steps B(1) (itself with steps C(2), D(2)) and E(1); then F(0).
  const parts = [
    { depth: 0, name: 'A', note: 'a' },
    { depth: 1, name: 'B', note: 'b' },
    { depth: 2, name: 'C', note: 'c' },
    { depth: 2, name: 'D', note: 'd' },
    { depth: 1, name: 'E', note: 'e' },
    { depth: 0, name: 'F', note: 'f' },
  ];
  // Three rounds each.
  const A = [100, 120, 90];
  const B = [60, 70, 50];
  const C = [20, 25, 10];
  const D = [30, 30, 30];
  const E = [15, 20, 25];
  const F = [40, 41, 42];
  const rows = anatomyRows(parts, [A, B, C, D, E, F]);

  it('lists each part, and after its steps its own work, in preorder', () => {
    expect(rows.map((r) => [r.depth, r.name, r.derived])).toEqual([
      [0, 'A', false],
      [1, 'B', false],
      [2, 'C', false],
      [2, 'D', false],
      [2, 'B: its own work', true],
      [1, 'E', false],
      [1, 'A: its own work', true],
      [0, 'F', false],
    ]);
  });

  it('a part\'s own work is the part less its direct steps, round by round; its median is of those differences', () => {
    const bOwn = B.map((b, r) => b - C[r]! - D[r]!); // 10, 15, 10
    const aOwn = A.map((a, r) => a - B[r]! - E[r]!); // 25, 30, 15
    const byName = new Map(rows.map((r) => [r.name, r.ns]));
    expect(byName.get('B: its own work')!.runs).toEqual(bOwn);
    expect(byName.get('B: its own work')!.median).toBe(median(bOwn));
    expect(byName.get('A: its own work')!.runs).toEqual(aOwn);
    expect(byName.get('A: its own work')!.median).toBe(25);
    expect(byName.get('A: its own work')!.min).toBe(15);
    expect(byName.get('C')!.median).toBe(median(C));
    expect(byName.get('F')!.max).toBe(42);
  });

  it('a part without steps gets no own-work row', () => {
    const flat = anatomyRows([{ depth: 0, name: 'X', note: '' }, { depth: 0, name: 'Y', note: '' }], [[1], [2]]);
    expect(flat.map((r) => r.name)).toEqual(['X', 'Y']);
  });
});

describe('the fault anatomy', () => {
  it('its parts are a preorder tree: the first at depth 0, none deeper than one below the part before it', () => {
    const parts = anatomyParts();
    expect(parts[0]!.depth).toBe(0);
    for (let i = 1; i < parts.length; i++) expect(parts[i]!.depth).toBeLessThanOrEqual(parts[i - 1]!.depth + 1);
    expect(parts.map((p) => p.name)).toContain('handleFault');
  });

  it('one round gives a row for every part and a finite, positive time for every timed part', () => {
    const rows = faultAnatomy(1, 0);
    const timed = rows.filter((r) => !r.derived);
    expect(timed.map((r) => r.name)).toEqual(anatomyParts().map((p) => p.name));
    for (const r of timed) {
      expect(Number.isFinite(r.ns.median), r.name).toBe(true);
      expect(r.ns.median, r.name).toBeGreaterThan(0);
    }
    expect(rows.filter((r) => r.derived).map((r) => r.name)).toEqual([
      'write to a mapped page: its own work',
      'design.cow (zero fill): its own work',
      'handleFault: its own work',
      'write fault (the bench\'s figure): its own work',
    ]);
  }, 60_000);
});
