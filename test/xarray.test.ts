// XArray (src/mm/xarray.ts) against a deliberately naive model: a Map from
// index to value, sorted when iterated. Indices cluster around chunk edges
// (0, 31/32, 63/64) and reach past 2^31 and 2^35, where the arithmetic is
// done in doubles.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { XArray } from '../src/mm/xarray.js';

const BASES = [0, 64 * 5, 2 ** 31 - 64, 2 ** 35];
const index = fc.tuple(fc.constantFrom(...BASES), fc.nat(200)).map(([b, o]) => b + o);

type Op =
  | { op: 'set'; i: number; v: number }
  | { op: 'delete'; i: number }
  | { op: 'range'; a: number; b: number; del: boolean }
  | { op: 'each'; del: boolean }
  | { op: 'within'; a: number; b: number };

const ops: fc.Arbitrary<Op[]> = fc.array<Op>(fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('set' as const), i: index, v: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('delete' as const), i: index }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('range' as const), a: index, b: index, del: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('each' as const), del: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('within' as const), a: index, b: index }) },
), { maxLength: 120 });

describe('XArray', () => {
  it('stores, deletes and iterates (each entry once, ascending within a chunk, range-limited, deleting as it goes) like a Map', () => {
    fc.assert(fc.property(ops, (list) => {
      const x = new XArray<number>();
      const m = new Map<number, number>();
      for (const o of list) {
        if (o.op === 'set') {
          x.set(o.i, o.v);
          m.set(o.i, o.v);
        } else if (o.op === 'delete') {
          expect(x.delete(o.i)).toBe(m.delete(o.i));
        } else if (o.op === 'within') {
          const [a, b] = o.a <= o.b ? [o.a, o.b] : [o.b, o.a];
          expect(x.allWithin(a, b)).toBe([...m.keys()].every((i) => i >= a && i < b));
        } else {
          const [a, b] = o.op === 'range' ? (o.a <= o.b ? [o.a, o.b] : [o.b, o.a]) : [0, Infinity];
          const want = [...m].filter(([i]) => i >= a && i < b).sort((p, q) => p[0] - q[0]);
          const got: [number, number][] = [];
          const fn = (i: number, v: number): void => {
            got.push([i, v]);
            // fn may delete the entry it is given.
            if (o.del) {
              x.delete(i);
              m.delete(i);
            }
          };
          if (o.op === 'range') x.forRange(a, b, fn);
          else x.forEach(fn);
          // Every entry once; chunks (64 indices) come in the order they
          // were made, each chunk's entries in ascending order.
          expect([...got].sort((p, q) => p[0] - q[0])).toEqual(want);
          for (let k = 1; k < got.length; k++) {
            if (Math.floor(got[k]![0] / 64) === Math.floor(got[k - 1]![0] / 64)) expect(got[k]![0]).toBeGreaterThan(got[k - 1]![0]);
          }
        }
        expect(x.size).toBe(m.size);
        for (const i of [...m.keys()].slice(0, 8)) expect(x.get(i)).toBe(m.get(i));
      }
    }), { numRuns: 500 });
  });
});
