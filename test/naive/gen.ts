// Random vmtrace commands for the model-based tests: every command of the
// spec, a few processes (spawn, fork trees, exits), two small files, all four
// mapping kinds, on a handful of page slots at the start of the portable
// window so that mappings meet, overlap and merge often.
//
// Commands are generated with placeholder line numbers (0); whether one is
// valid at a point of a trace (its names exist, a new name is new) is decided
// by `applicable()`, which both fc.Command.check() and `validTrace()` use.
// Odd arguments (unaligned, zero, wrapping, past TASK_SIZE, below
// mmap_min_addr) are drawn rarely, and only in forms the native runner
// accepts as portable.

import fc from 'fast-check';
import type { Advice, Command, Prot } from '../../src/trace/ast.js';

export const BASE = 0x100000000000n;
const PG = 0x1000n;

export const PROC_NAMES = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'] as const;
export const FILE_NAMES = ['f', 'g'] as const;

export interface GenOptions {
  /** Page slots used for addresses: BASE + k * 4096 for k in [0, slots). */
  slots?: number;
  /** Include `frames` commands (the native runner needs root for them). */
  frames?: boolean;
  /** Weight of odd arguments (0 disables them). */
  odd?: number;
}

/** Names known at a point of a trace. */
export interface NameState {
  procsEver: Set<string>;
  live: Set<string>;
  files: Set<string>;
}

export const emptyNames = (): NameState => ({ procsEver: new Set(), live: new Set(), files: new Set() });

/** Is the command a valid trace line given the names so far? */
export function applicable(s: Readonly<NameState>, c: Command): boolean {
  switch (c.kind) {
    case 'file': return !s.files.has(c.file);
    case 'fwrite': case 'fread': case 'ftruncate': return s.files.has(c.file);
    case 'spawn': return !s.procsEver.has(c.proc);
    case 'fork': return s.live.has(c.proc) && !s.procsEver.has(c.child);
    case 'exit': return s.live.has(c.proc);
    case 'frames': case 'reclaim': return true;
    case 'mmap': return s.live.has(c.proc) && (c.file === undefined || s.files.has(c.file));
    default: return s.live.has(c.proc);
  }
}

/** Record the names a (valid) command introduces or retires. */
export function applyNames(s: NameState, c: Command): void {
  switch (c.kind) {
    case 'file': s.files.add(c.file); break;
    case 'spawn': s.procsEver.add(c.proc); s.live.add(c.proc); break;
    case 'fork': s.procsEver.add(c.child); s.live.add(c.child); break;
    case 'exit': s.live.delete(c.proc); break;
    default: break;
  }
}

/** Keep only the commands that are valid where they stand; number them 1..n. */
export function validTrace(cmds: readonly Command[]): Command[] {
  const s = emptyNames();
  const out: Command[] = [];
  for (const c of cmds) {
    if (!applicable(s, c)) continue;
    applyNames(s, c);
    out.push({ ...c, line: out.length + 1 });
  }
  return out;
}

const PROTS: Prot[] = ['none', 'r', 'rw', 'rx', 'rwx'];
const ADVICES: Advice[] = ['dontneed', 'dontfork', 'dofork', 'wipeonfork', 'keeponfork'];

/** A random command of any kind (weighted towards memory operations). */
export function commandArbitrary(opts: GenOptions = {}): fc.Arbitrary<Command> {
  const slots = opts.slots ?? 9;
  const odd = opts.odd ?? 1;
  const line = 0;

  const proc = fc.constantFrom(...PROC_NAMES);
  // Processes are used far more than created; bias to the first few names.
  const usedProc = fc.oneof(
    { weight: 8, arbitrary: fc.constant('a') },
    { weight: 4, arbitrary: fc.constantFrom('b', 'c') },
    { weight: 1, arbitrary: proc },
  );
  const newProc = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('b', 'c') },
    { weight: 2, arbitrary: proc },
  );
  const file = fc.constantFrom(...FILE_NAMES);
  const slotIn = (n: number): fc.Arbitrary<bigint> => fc.integer({ min: 0, max: n - 1 }).map((k) => BASE + BigInt(k) * PG);
  // Mappings start in the first two thirds of the slots; ranges and accesses
  // reach a little further; mremap targets reach furthest.
  const mapSlot = slotIn(Math.max(1, Math.floor((slots * 2) / 3)));
  const slot = slotIn(slots);
  const farSlot = slotIn(slots + Math.floor(slots / 2));
  const pages = (max: number): fc.Arbitrary<bigint> => fc.integer({ min: 1, max }).map((n) => BigInt(n) * PG);
  const weighted = <T>(normal: fc.Arbitrary<T>, weird: fc.Arbitrary<T>): fc.Arbitrary<T> =>
    odd > 0 ? fc.oneof({ weight: 30, arbitrary: normal }, { weight: odd, arbitrary: weird }) : normal;

  // Odd values, per command, that Linux rejects before touching anything.
  const mmapAddr = weighted(mapSlot, fc.constantFrom(0n, 0x800n, BASE + 0x10n, 0x7ffffffff000n, 0xfffffffffffff000n));
  const mmapLen = weighted(pages(6), fc.constantFrom(0n, 0x800n, 0x1800n, 0xfffffffffffff001n, 0x800000000000n));
  const mmapOff = weighted(fc.constantFrom(0n, 0n, 0x1000n, 0x2000n, 0x3000n, 0x5000n),
    fc.constantFrom(0x10n, 0x7ffffffffffff000n, 0x8000000000000000n, 0x7fffffffffffe000n));
  const rangeAddr = weighted(slot, fc.constantFrom(BASE + 0x10n, 0x7ffffffff000n, 0xfffffffffffff000n));
  const rangeLen = weighted(fc.oneof({ weight: 6, arbitrary: pages(5) }, { weight: 1, arbitrary: fc.constant(0n) }),
    fc.constantFrom(0x800n, 0x1801n, 0xfffffffffffff000n, 0xffffffffffffffffn));
  const accessAddr = weighted(
    fc.tuple(slot, fc.constantFrom(0n, 0n, 4n, 0xffcn)).map(([a, o]) => a + o),
    fc.constantFrom(0n, 0x7ffffffff000n, 0xfffffffffffff000n));
  const value = fc.oneof(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 0xffffffff }));
  const fileSize = weighted(
    fc.constantFrom(0n, 0x1000n, 0x1800n, 0x2000n, 0x3000n, 0x4000n, 0x10n, 0x2ffcn),
    fc.constantFrom(0x8000000000000000n, 0xffffffffffffffffn, 0x100000000000n, 0xfffffffff000n, 0x7fffffffffffffffn));
  const fileOff = weighted(
    fc.oneof(fc.integer({ min: 0, max: 0x5000 / 4 }).map((n) => BigInt(n) * 4n),
      fc.constantFrom(0n, 0xffcn, 0x1000n, 0x17fcn, 0x1800n, 0x2ffcn, 0x3000n)),
    fc.constantFrom(0x8000000000000000n, 0xfffffffff000n, 0xffffffffeffcn, 0x7ffffffffffffffcn));

  const mmap = fc.record({
    proc: usedProc, addr: mmapAddr, len: mmapLen, prot: fc.constantFrom(...PROTS),
    shared: fc.boolean(), fixed: fc.boolean(),
    file: fc.option(file, { nil: undefined, freq: 2 }), off: mmapOff,
  }).map(({ file: f, off, ...r }): Command =>
    f === undefined ? { line, kind: 'mmap', ...r } : { line, kind: 'mmap', ...r, file: f, off });

  const mremap = fc.record({
    proc: usedProc, addr: weighted(slot, fc.constantFrom(BASE + 0x10n, 0x7ffffffff000n)),
    oldLen: fc.oneof({ weight: 8, arbitrary: pages(4) }, { weight: 1, arbitrary: fc.constantFrom(0n, 0x800n) }),
    newLen: weighted(pages(5), fc.constantFrom(0n, 0x800n, 0x800000000000n, 0xfffffffffffff000n)),
    newAddr: fc.option(weighted(farSlot, fc.constantFrom(BASE + 0x10n, 0x7ffffffff000n)), { nil: undefined, freq: 2 }),
  }).map(({ newAddr, ...r }): Command =>
    newAddr === undefined ? { line, kind: 'mremap', ...r } : { line, kind: 'mremap', ...r, newAddr });

  const w = (weight: number, arbitrary: fc.Arbitrary<Command>): fc.WeightedArbitrary<Command> => ({ weight, arbitrary });
  const arbs: fc.WeightedArbitrary<Command>[] = [
    w(1, file.chain((f) => fileSize.map((size): Command => ({ line, kind: 'file', file: f, size })))),
    w(3, fc.record({ file, off: fileOff, val: value }).map((r): Command => ({ line, kind: 'fwrite', ...r }))),
    w(2, fc.record({ file, off: fileOff }).map((r): Command => ({ line, kind: 'fread', ...r }))),
    w(2, fc.record({ file, size: fileSize }).map((r): Command => ({ line, kind: 'ftruncate', ...r }))),
    w(1, newProc.map((p): Command => ({ line, kind: 'spawn', proc: p }))),
    w(3, fc.record({ proc: usedProc, child: newProc }).map((r): Command => ({ line, kind: 'fork', ...r }))),
    w(1, fc.oneof({ weight: 1, arbitrary: fc.constant('a') }, { weight: 3, arbitrary: proc })
      .map((p): Command => ({ line, kind: 'exit', proc: p }))),
    w(1, fc.integer({ min: 0, max: 8 }).map((n): Command => ({ line, kind: 'reclaim', count: BigInt(n) }))),
    w(14, mmap),
    w(3, fc.record({ proc: usedProc, addr: rangeAddr, len: rangeLen }).map((r): Command => ({ line, kind: 'munmap', ...r }))),
    w(4, fc.record({ proc: usedProc, addr: rangeAddr, len: rangeLen, prot: fc.constantFrom(...PROTS) })
      .map((r): Command => ({ line, kind: 'mprotect', ...r }))),
    w(5, mremap),
    w(4, fc.record({ proc: usedProc, addr: rangeAddr, len: rangeLen, advice: fc.constantFrom(...ADVICES) })
      .map((r): Command => ({ line, kind: 'madvise', ...r }))),
    w(8, fc.record({ proc: usedProc, addr: accessAddr }).map((r): Command => ({ line, kind: 'read', ...r }))),
    w(8, fc.record({ proc: usedProc, addr: accessAddr, val: value }).map((r): Command => ({ line, kind: 'write', ...r }))),
    w(2, usedProc.map((p): Command => ({ line, kind: 'maps', proc: p }))),
  ];
  if (opts.frames ?? true) arbs.push(w(2, fc.constant<Command>({ line, kind: 'frames' })));
  return fc.oneof(...arbs);
}

/**
 * A random valid trace: a prelude that declares the files and spawns `a`
 * (so most commands apply), then random commands, filtered by validTrace().
 */
export function traceArbitrary(opts: GenOptions & { maxCommands?: number } = {}): fc.Arbitrary<Command[]> {
  const max = opts.maxCommands ?? 60;
  const first = (prot: Prot, shared: boolean, pages: number, file?: string): Command => {
    const c: Command = { line: 0, kind: 'mmap', proc: 'a', addr: BASE, len: BigInt(pages) * PG, prot, shared, fixed: false };
    if (file !== undefined) { c.file = file; c.off = 0n; }
    return c;
  };
  return fc.tuple(
    fc.constantFrom(0x1000n, 0x2000n, 0x3000n, 0x1800n, 0n),
    fc.constantFrom<Command[]>([], [first('rw', false, 4)], [first('rw', true, 3)], [first('rw', false, 3, 'f')],
      [first('rw', true, 3, 'f')], [first('rw', false, 2), first('r', false, 2)]),
    fc.array(commandArbitrary(opts), { minLength: Math.min(10, max), maxLength: max, size: 'max' }),
  ).map(([size, maps, cmds]) => validTrace([
    { line: 0, kind: 'spawn', proc: 'a' },
    { line: 0, kind: 'file', file: 'f', size },
    ...maps.map((c, i) => (c.kind === 'mmap' ? { ...c, addr: BASE + BigInt(i) * 2n * PG } : c)),
    ...cmds,
  ]));
}

/**
 * Traces aimed at vma merging: one or two processes, few slots, mostly
 * private anonymous and private file mappings of one or two pages, flag
 * changes (mprotect, madvise), first writes (anon_vma assignment), forks and
 * mremap resizes, whose EFAULT shows whether neighbouring mappings share a
 * kernel vma.
 */
export function mergeCommandArbitrary(): fc.Arbitrary<Command> {
  const line = 0;
  const proc = fc.oneof({ weight: 4, arbitrary: fc.constant('a') }, { weight: 1, arbitrary: fc.constant('b') });
  const slot = fc.integer({ min: 0, max: 6 }).map((k) => BASE + BigInt(k) * PG);
  const len = fc.integer({ min: 1, max: 3 }).map((n) => BigInt(n) * PG);
  const prot = fc.constantFrom<Prot>('r', 'rw', 'rw', 'none', 'rx');
  const file = fc.option(fc.constant('f'), { nil: undefined, freq: 3 });
  const arbs: fc.WeightedArbitrary<Command>[] = [
    { weight: 6, arbitrary: fc.record({ proc, addr: slot, len, prot, shared: fc.constant(false), fixed: fc.boolean(), file, off: fc.constantFrom(0n, 0x1000n, 0x2000n) })
      .map(({ file: f, off, ...r }): Command => (f === undefined ? { line, kind: 'mmap', ...r } : { line, kind: 'mmap', ...r, file: f, off })) },
    { weight: 1, arbitrary: fc.record({ proc, addr: slot, len, prot, shared: fc.constant(true), fixed: fc.boolean(), file, off: fc.constantFrom(0n, 0x1000n) })
      .map(({ file: f, off, ...r }): Command => (f === undefined ? { line, kind: 'mmap', ...r } : { line, kind: 'mmap', ...r, file: f, off })) },
    { weight: 4, arbitrary: fc.record({ proc, addr: slot, len, prot }).map((r): Command => ({ line, kind: 'mprotect', ...r })) },
    { weight: 3, arbitrary: fc.record({ proc, addr: slot, len, advice: fc.constantFrom<Advice>('dontfork', 'dofork', 'wipeonfork', 'keeponfork', 'dontneed') })
      .map((r): Command => ({ line, kind: 'madvise', ...r })) },
    { weight: 4, arbitrary: fc.record({ proc, addr: slot, val: fc.integer({ min: 1, max: 9 }) }).map((r): Command => ({ line, kind: 'write', ...r })) },
    { weight: 1, arbitrary: fc.record({ proc, addr: slot }).map((r): Command => ({ line, kind: 'munmap', ...r, len: PG })) },
    { weight: 1, arbitrary: fc.constant<Command>({ line, kind: 'fork', proc: 'a', child: 'b' }) },
    { weight: 6, arbitrary: fc.record({ proc, addr: slot, oldLen: len, newLen: fc.integer({ min: 1, max: 4 }).map((n) => BigInt(n) * PG),
      newAddr: fc.option(fc.integer({ min: 8, max: 14 }).map((k) => BASE + BigInt(k) * PG), { nil: undefined, freq: 3 }) })
      .map(({ newAddr, ...r }): Command => (newAddr === undefined ? { line, kind: 'mremap', ...r } : { line, kind: 'mremap', ...r, newAddr })) },
    { weight: 2, arbitrary: fc.record({ proc, addr: fc.integer({ min: 8, max: 14 }).map((k) => BASE + BigInt(k) * PG), oldLen: len,
      newAddr: slot }).map((r): Command => ({ line, kind: 'mremap', ...r, newLen: r.oldLen })) },
    { weight: 1, arbitrary: proc.map((p): Command => ({ line, kind: 'maps', proc: p })) },
  ];
  return fc.oneof(...arbs);
}

export const MERGE_PRELUDE: readonly Command[] = [
  { line: 0, kind: 'spawn', proc: 'a' },
  { line: 0, kind: 'file', file: 'f', size: 0x4000n },
];

export function mergeTraceArbitrary(maxCommands = 40): fc.Arbitrary<Command[]> {
  return fc.array(mergeCommandArbitrary(), { minLength: 5, maxLength: maxCommands, size: 'max' })
    .map((cmds) => validTrace([...MERGE_PRELUDE, ...cmds]));
}

/**
 * Traces aimed at files: small files with odd sizes, shared and private
 * mappings of them, accesses near EOF, fwrite/fread/ftruncate around EOF,
 * dontneed, forks.
 */
const FILE_MAP_ADDR = (k: number): bigint => BASE + BigInt(k) * 0x10000n;

export function fileCommandArbitrary(dense = false): fc.Arbitrary<Command> {
  const line = 0;
  const proc = fc.oneof({ weight: 4, arbitrary: fc.constant('a') }, { weight: 1, arbitrary: fc.constant('b') });
  const file = dense ? fc.constant('f') : fc.constantFrom('f', 'g');
  // dense: a few offsets around the end of page 0, where EOF usually is.
  const near = dense
    ? fc.constantFrom(0x600n, 0x700n, 0x800n, 0x900n, 0xa00n, 0xffcn, 0x1000n)
    : fc.tuple(fc.integer({ min: 0, max: 2 }), fc.constantFrom(0, 0x7fc, 0x800, 0x900, 0xffc))
      .map(([p, o]) => BigInt(p) * PG + BigInt(o));
  const size = fileSizeArbitrary(dense);
  const maddr = FILE_MAP_ADDR;
  const arbs: fc.WeightedArbitrary<Command>[] = [
    { weight: 1, arbitrary: fc.record({ proc, k: fc.integer({ min: 0, max: 3 }), shared: fc.boolean(), file, off: fc.constantFrom(0n, 0x1000n) })
      .map(({ k, ...r }): Command => ({ line, kind: 'mmap', addr: maddr(k), len: 0x4000n, prot: 'rw', fixed: true, ...r })) },
    { weight: 8, arbitrary: fc.record({ proc, k: fc.integer({ min: 0, max: 3 }), o: near, val: fc.integer({ min: 1, max: 99 }) })
      .map(({ k, o, ...r }): Command => ({ line, kind: 'write', addr: maddr(k) + o, ...r })) },
    { weight: 8, arbitrary: fc.record({ proc, k: fc.integer({ min: 0, max: 3 }), o: near })
      .map(({ k, o, ...r }): Command => ({ line, kind: 'read', addr: maddr(k) + o, ...r })) },
    { weight: 4, arbitrary: fc.record({ file, off: near, val: fc.integer({ min: 1, max: 99 }) }).map((r): Command => ({ line, kind: 'fwrite', ...r })) },
    { weight: 4, arbitrary: fc.record({ file, off: near }).map((r): Command => ({ line, kind: 'fread', ...r })) },
    { weight: 3, arbitrary: fc.record({ file, size }).map((r): Command => ({ line, kind: 'ftruncate', ...r })) },
    { weight: 1, arbitrary: fc.record({ proc, k: fc.integer({ min: 0, max: 3 }), p: fc.integer({ min: 0, max: 3 }) })
      .map(({ proc: p0, k, p }): Command => ({ line, kind: 'madvise', proc: p0, addr: maddr(k) + BigInt(p) * PG, len: PG, advice: 'dontneed' })) },
    { weight: 1, arbitrary: fc.constant<Command>({ line, kind: 'fork', proc: 'a', child: 'b' }) },
    { weight: 1, arbitrary: fc.constant<Command>({ line, kind: 'frames' }) },
  ];
  return fc.oneof(...arbs);
}

function fileSizeArbitrary(dense: boolean): fc.Arbitrary<bigint> {
  const near = dense
    ? fc.constantFrom(0x600n, 0x700n, 0x800n, 0x900n, 0xa00n, 0xffcn, 0x1000n)
    : fc.tuple(fc.integer({ min: 0, max: 2 }), fc.constantFrom(0, 0x7fc, 0x800, 0x900, 0xffc))
      .map(([p, o]) => BigInt(p) * PG + BigInt(o));
  return fc.oneof({ weight: 4, arbitrary: near }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x3000 }).map(BigInt) });
}

/** spawn a, files f and g, each mapped shared and private by a. */
export function filePreludeArbitrary(dense = false): fc.Arbitrary<Command[]> {
  const size = fileSizeArbitrary(dense);
  const map = (k: number, shared: boolean, file: string): Command =>
    ({ line: 0, kind: 'mmap', proc: 'a', addr: FILE_MAP_ADDR(k), len: 0x4000n, prot: 'rw', shared, fixed: false, file, off: 0n });
  return fc.tuple(size, size).map(([s1, s2]) => [
    { line: 0, kind: 'spawn', proc: 'a' },
    { line: 0, kind: 'file', file: 'f', size: s1 },
    { line: 0, kind: 'file', file: 'g', size: s2 },
    map(0, true, 'f'), map(1, false, 'f'), map(2, true, 'g'), map(3, false, 'g'),
  ]);
}

export function fileTraceArbitrary(maxCommands = 40, dense = false): fc.Arbitrary<Command[]> {
  return fc.tuple(filePreludeArbitrary(dense), fc.array(fileCommandArbitrary(dense), { minLength: 5, maxLength: maxCommands, size: 'max' }))
    .map(([prelude, cmds]) => validTrace([...prelude, ...cmds]));
}
