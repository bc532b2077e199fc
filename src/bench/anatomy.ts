// `npm run bench -- --anatomy`: where a write fault's time goes.
//
// The bench's write-fault figure is one number; its profile is flat (no
// function above ~10 %, docs/performance.md), because V8 inlines the
// fault path into a few large functions. This takes the path apart
// instead: each step a first write to an untouched anonymous page takes
// (src/mm/memory.ts handleFault, with the default design, the tree) is
// run alone, in the bench's loop shape (32,768 pages, a fresh machine per
// run), and timed; so is the whole fault, the same write once the page is
// mapped (what every fault pays before it knows it is one), and a floor:
// the least any simulator must do for such a fault, in plain code with
// nothing of the design, the counters or the checks.
//
// Rounds interleave the rows (every row once per round), so that this
// machine's swings between fast and slow phases fall on all of them
// alike. Each row is the median over the rounds, with the spread (min–max).

import { performance } from 'node:perf_hooks';
import { Machine } from '../machine.js';
import { PAGE_SIZE as PAGE, WINDOW_START as BASE } from '../mm/constants.js';
import type { Frame } from '../mm/frames.js';
import type { Mm } from '../mm/mm.js';
import type { Vma } from '../mm/vma.js';
import { AddressSpace } from '../mm/address-space.js';
import { handleFault } from '../mm/memory.js';
import { PTE_READ, PTE_WRITE } from '../mm/pagetable.js';
import { stat, type Stat } from './stat.js';

const PAGES = 32768;

let line = 0;

/** A machine with process `a` and an untouched private anonymous mapping of PAGES pages at BASE. */
function machine(): { m: Machine; mm: Mm; vma: Vma } {
  const m = new Machine();
  m.call({ kind: 'spawn', line: ++line, proc: 'a' });
  m.call({ kind: 'mmap', line: ++line, proc: 'a', addr: BigInt(BASE), len: BigInt(PAGES * PAGE), prot: 'rw', shared: false, fixed: false });
  const mm = m.procs.get('a')!;
  return { m, mm, vma: mm.vmas.lookup(BASE)! };
}

/** A row: `setup` outside the clock, then `run` timed; nanoseconds per page. */
export interface Part {
  /** 0: the whole fault or the floor; 1: a step of the fault; 2: part of the step above. */
  depth: number;
  name: string;
  /** What the row says about the fault path (shown under the table). */
  note: string;
  time(): number;
}

function part(depth: number, name: string, note: string, setup: () => unknown, run: (state: never) => void): Part {
  return {
    depth,
    name,
    note,
    time(): number {
      const state = setup();
      const t0 = performance.now();
      run(state as never);
      return ((performance.now() - t0) * 1e6) / PAGES;
    },
  };
}

/** The least a first write fault must do, without a design: see floorRun. */
class FloorLeaf {
  readonly slots = new Int32Array(512);
  readonly flags = new Uint8Array(512);
  present = 0;
}

/**
 * A write fault with nothing but its essentials: the command object, a
 * page-table leaf (typed arrays, found through a Map with the last leaf
 * cached), a frame number from a counter with its words in a typed array,
 * the page's index in a two-level sparse array (an anonymous space), the
 * range check of one vma, and the word stored.
 */
export function floorRun(): void {
  const leaves = new Map<number, FloorLeaf>();
  let lastLi = -1;
  let lastLeaf: FloorLeaf | undefined;
  const chunks = new Map<number, (number | undefined)[]>();
  let lastCi = -1;
  let lastChunk: (number | undefined)[] | undefined;
  const words = new Int32Array(PAGES * 8 + 16);
  let next = 1;
  const start = BASE;
  const end = BASE + PAGES * PAGE;
  const fault = (c: { kind: 'write'; line: number; proc: string; addr: number; val: number }): string => {
    const vpn = Math.floor(c.addr / PAGE);
    const li = Math.floor(vpn / 512);
    let leaf = li === lastLi ? lastLeaf : ((lastLi = li), (lastLeaf = leaves.get(li)));
    if (leaf !== undefined && (leaf.flags[vpn & 511]! & PTE_WRITE) !== 0) {
      words[leaf.slots[vpn & 511]! * 8 + 3] = c.val;
      return 'ok';
    }
    if (c.addr < start || c.addr >= end) return 'SIGSEGV';
    const f = next++;
    words[f * 8] = 1;
    words[f * 8 + 1] = 1;
    words[f * 8 + 3] = c.val;
    const ci = Math.floor(vpn / 64);
    let chunk = ci === lastCi ? lastChunk : ((lastCi = ci), (lastChunk = chunks.get(ci)));
    if (chunk === undefined) {
      chunk = new Array<number | undefined>(64).fill(undefined);
      chunks.set(ci, chunk);
      lastChunk = chunk;
    }
    chunk[vpn - ci * 64] = f;
    if (leaf === undefined) {
      leaf = new FloorLeaf();
      leaves.set(li, leaf);
      lastLeaf = leaf;
    }
    leaf.slots[vpn & 511] = f;
    leaf.flags[vpn & 511] = PTE_READ | PTE_WRITE;
    leaf.present++;
    return 'ok';
  };
  let l = 0;
  for (let i = 0; i < PAGES; i++) fault({ kind: 'write', line: ++l, proc: 'a', addr: BASE + i * PAGE, val: 7 + i });
}

const writes = (m: Machine, val: number): void => {
  let l = line;
  for (let i = 0; i < PAGES; i++) m.call({ kind: 'write', line: ++l, proc: 'a', addr: BASE + i * PAGE, val: val + i });
  line = l;
};

/**
 * The rows in preorder: a row of depth d + 1 below a row of depth d is a
 * step of it, timed alone.
 */
export function anatomyParts(): Part[] {
  return [
    part(0, 'write fault (the bench\'s figure)', 'Machine.call of a first write to an untouched anonymous page, as the bench times it',
      () => machine().m, (m: Machine) => writes(m, 7)),
    part(1, 'write to a mapped page', 'the command object, the dispatch, the process, the pte test and the store: what every write pays before it knows it faults',
      () => {
        const { m } = machine();
        writes(m, 7);
        return m;
      }, (m: Machine) => writes(m, 9)),
    part(2, 'frames.write (one word)', 'the stored word, kept inline in the frame\'s words',
      () => {
        const { m } = machine();
        const frames: Frame[] = [];
        for (let i = 0; i < PAGES; i++) frames.push(m.frames.alloc());
        return { m, frames };
      }, ({ m, frames }: { m: Machine; frames: Frame[] }) => {
        for (let i = 0; i < PAGES; i++) m.frames.write(frames[i]!, 0, 7 + i);
      }),
    part(1, 'vma lookup', 'mm.vmas.lookup(addr): the binary search of a fault that missed the page table',
      () => machine().mm, (mm: Mm) => {
        for (let i = 0; i < PAGES; i++) mm.vmas.lookup(BASE + i * PAGE);
      }),
    part(1, 'handleFault', 'src/mm/memory.ts: the page brought in and mapped, given the vma',
      () => machine(), ({ m, mm, vma }: { m: Machine; mm: Mm; vma: Vma }) => {
        for (let i = 0; i < PAGES; i++) handleFault(m, mm, vma, BASE + i * PAGE, true);
      }),
    part(2, 'design.lookup (nothing there)', 'the tree\'s walk from the vma\'s space: what the page is, before the copy-or-reuse decision',
      () => machine(), ({ m, vma }: { m: Machine; vma: Vma }) => {
        for (let i = 0; i < PAGES; i++) m.design.lookup(vma, vma.index(BASE + i * PAGE));
      }),
    part(2, 'design.cow (zero fill)', 'the tree\'s cow: the vma\'s own space, a new frame, inserted (below), the cut test',
      () => machine(), ({ m, vma }: { m: Machine; vma: Vma }) => {
        const zero = m.frames.zero;
        for (let i = 0; i < PAGES; i++) m.design.cow(vma, vma.index(BASE + i * PAGE), zero);
      }),
    part(3, 'frames.alloc', 'struct page: a pfn off the free list or the end, its flags, page id and counters',
      () => machine().m.frames, (fr: Machine['frames']) => {
        for (let i = 0; i < PAGES; i++) fr.alloc();
      }),
    part(3, 'AddressSpace.insert', 'the space\'s reference, page->mapping, page->index, and the XArray slot',
      () => {
        const { m } = machine();
        const frames: Frame[] = [];
        for (let i = 0; i < PAGES; i++) frames.push(m.frames.alloc());
        return { m, frames, space: new AddressSpace(null) };
      }, ({ m, frames, space }: { m: Machine; frames: Frame[]; space: AddressSpace }) => {
        const base = BASE / PAGE;
        for (let i = 0; i < PAGES; i++) space.insert(base + i, frames[i]!, m.frames);
      }),
    part(2, 'pt.set (a new pte)', 'the leaf (made every 512 pages), the slot, the frame\'s refs and mapcount',
      () => machine(), ({ m, mm }: { m: Machine; mm: Mm }) => {
        const base = BASE / PAGE;
        const zero = m.frames.zero;
        for (let i = 0; i < PAGES; i++) mm.pt.set(base + i, zero, PTE_READ);
      }),
    part(0, 'floor: a fault with no design', 'the least a write fault must do in plain code (floorRun): a leaf, a frame number, a sparse-array slot, the store',
      () => null, () => floorRun()),
  ];
}

export interface AnatomyRow {
  depth: number;
  name: string;
  note: string;
  /** The row is a part's own work, computed (not timed). */
  derived: boolean;
  ns: Stat;
}

/**
 * Time every part `rounds` times, interleaved (after `warmup` untimed
 * rounds). Rows come in the parts' order; a part with steps is followed,
 * after its steps, by its own work: the part less its steps, round by
 * round. That holds what the steps timed alone leave out (the glue between
 * them, values boxed between calls that are not inlined, collections).
 */
export function faultAnatomy(rounds: number, warmup = 3, log: (msg: string) => void = () => {}): AnatomyRow[] {
  const parts = anatomyParts();
  const times: number[][] = parts.map(() => []);
  for (let r = 0; r < warmup + rounds; r++) {
    log(`anatomy: round ${r + 1} of ${warmup + rounds}${r < warmup ? ' (warm-up)' : ''}`);
    parts.forEach((p, i) => {
      const t = p.time();
      if (r >= warmup) times[i]!.push(t);
    });
  }
  return anatomyRows(parts, times);
}

/**
 * The table of `parts` (in preorder, by depth) timed `times[i][round]`:
 * each part's row, and after the rows of a part's steps (the parts one
 * level deeper below it, up to the next part at its depth or above), its
 * own work, the part less its steps, round by round.
 */
export function anatomyRows(parts: readonly Pick<Part, 'depth' | 'name' | 'note'>[], times: readonly number[][]): AnatomyRow[] {
  const rows: AnatomyRow[] = [];
  // Emit part i and its subtree; return the index after the subtree.
  const emit = (i: number): number => {
    const p = parts[i]!;
    rows.push({ depth: p.depth, name: p.name, note: p.note, derived: false, ns: stat([...times[i]!]) });
    const steps: number[] = [];
    let j = i + 1;
    while (j < parts.length && parts[j]!.depth > p.depth) {
      steps.push(j);
      j = emit(j);
    }
    if (steps.length > 0) {
      const own = times[i]!.map((whole, r) => whole - steps.reduce((sum, k) => sum + times[k]![r]!, 0));
      rows.push({ depth: p.depth + 1, name: `${p.name}: its own work`, note: 'the row above less its steps, each timed alone', derived: true, ns: stat(own) });
    }
    return j;
  };
  for (let i = 0; i < parts.length; ) i = emit(i);
  return rows;
}
