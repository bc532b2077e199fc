// The frame allocator (src/mm/frames.ts) keeps struct page and the page's
// contents in arrays indexed by pfn, with two side tables (owners, and
// contents beyond the inline word) whose entries are shared and freed by
// count. Here it is run against a deliberately naive model — one plain
// object per frame, contents a Map from word to value — under random
// operations: every frame must read what its model holds, and the side
// tables must hold exactly what live frames name (no entry leaked, none
// freed early), across growth of the arrays and reuse of freed pfns.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PageOwner } from '../src/mm/address-space.js';
import { type Frame, FrameAllocator, type PageImage, ZERO_PFN } from '../src/mm/frames.js';
import { PAGE_WORDS } from '../src/mm/constants.js';

interface Naive { refs: number; owner: PageOwner | null; index: number; words: Map<number, number>; dirty: boolean }

const OWNERS: PageOwner[] = Array.from({ length: 4 }, (_, i) => ({ id: 1000 + i, file: null }));
/** Few words, so that pages go from zero to inline, sparse and full and back. */
const word = fc.oneof(fc.constantFrom(0, 1, 2, PAGE_WORDS - 1), fc.nat(PAGE_WORDS - 1));
const value = fc.oneof(fc.constant(0), fc.constant(0xffffffff), fc.nat(0xffffffff));
/** A frame by position among the live ones (taken modulo their number). */
const which = fc.nat(1 << 20);

type Op =
  | { op: 'alloc'; n: number }
  | { op: 'put'; w: number }
  | { op: 'get'; w: number }
  | { op: 'owner'; w: number; o: number }
  | { op: 'index'; w: number; i: number }
  | { op: 'write'; w: number; word: number; val: number; times: number }
  | { op: 'copy'; w: number; from: number }
  | { op: 'swap'; w: number; from: number }
  | { op: 'clear'; w: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('alloc' as const), n: fc.integer({ min: 1, max: 700 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('put' as const), w: which }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('get' as const), w: which }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('owner' as const), w: which, o: fc.integer({ min: -1, max: OWNERS.length - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('index' as const), w: which, i: fc.oneof(fc.nat(), fc.constant(2 ** 35 - 1), fc.constant(2 ** 30)) }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constant('write' as const), w: which, word, val: value, times: fc.integer({ min: 1, max: 20 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('copy' as const), w: which, from: which }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('swap' as const), w: which, from: which }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('clear' as const), w: which }) },
);

describe('FrameAllocator', () => {
  it('holds what a frame-per-object model holds, and its side tables exactly what live frames name (random operations)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 120 }), (ops) => {
        const a = new FrameAllocator();
        const model = new Map<Frame, Naive>();
        const live = (): Frame[] => [...model.keys()];
        const pick = (w: number): Frame | null => {
          const l = live();
          return l.length === 0 ? null : l[w % l.length]!;
        };
        for (const o of ops) {
          if (o.op === 'alloc') {
            for (let k = 0; k < o.n; k++) {
              const f = a.alloc();
              expect(model.has(f)).toBe(false);
              expect(f).not.toBe(ZERO_PFN);
              a.get(f);
              model.set(f, { refs: 1, owner: null, index: 0, words: new Map(), dirty: false });
            }
            continue;
          }
          const f = pick(o.w);
          if (f === null) continue;
          const m = model.get(f)!;
          switch (o.op) {
            case 'put':
              a.put(f);
              if (--m.refs === 0) model.delete(f);
              break;
            case 'get':
              a.get(f);
              m.refs++;
              break;
            case 'owner':
              m.owner = o.o < 0 ? null : OWNERS[o.o]!;
              a.setOwner(f, m.owner);
              break;
            case 'index':
              m.index = o.i;
              a.setIndex(f, o.i);
              break;
            case 'write':
              // Several words from one: enough to make a page full.
              for (let k = 0; k < o.times; k++) {
                const w = (o.word + k * 37) % PAGE_WORDS;
                const v = (o.val + k) >>> 0;
                a.write(f, w, v);
                if (v === 0) m.words.delete(w);
                else m.words.set(w, v);
              }
              m.dirty = true;
              break;
            case 'copy': {
              const src = pick(o.from)!;
              a.copy(f, src);
              m.words = new Map(model.get(src)!.words);
              break;
            }
            case 'swap': {
              // Out to an image and back into another frame, as swap does.
              const src = pick(o.from)!;
              const img: PageImage = a.image(src);
              a.load(f, img);
              m.words = new Map(model.get(src)!.words);
              break;
            }
            case 'clear':
              a.clear(f);
              m.words.clear();
              break;
          }
        }
        const owners = new Set<PageOwner>();
        let extras = 0;
        for (const [f, m] of model) {
          expect(a.refs(f)).toBe(m.refs);
          expect(a.owner(f)).toBe(m.owner);
          if (m.owner !== null) {
            owners.add(m.owner);
            if (m.index !== 0) expect(a.index(f)).toBe(m.index);
          }
          expect(a.dirty(f)).toBe(m.dirty);
          for (const w of [0, 1, 2, PAGE_WORDS - 1, ...m.words.keys()]) expect(a.read(f, w)).toBe(m.words.get(w) ?? 0);
          // More than one word (a sparse page: two pairs or more) or a full
          // page lives in the side table; one word is kept inline.
          const img = a.image(f);
          if (img !== null && (img instanceof Uint32Array || img.length > 2)) extras++;
        }
        expect(a.inUse).toBe(model.size);
        expect(a.tableUse()).toEqual({ owners: owners.size, extras });
        expect(a.refs(ZERO_PFN)).toBe(1);
      }),
      { numRuns: Number(process.env.FRAMES_RUNS ?? 150) },
    );
  });
});
