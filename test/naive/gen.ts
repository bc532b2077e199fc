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

/** The arbitraries of every command kind. */
export function commandArbitraries(opts: GenOptions = {}): fc.Arbitrary<Command>[] {
  const slots = opts.slots ?? 12;
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
  const slot = fc.integer({ min: 0, max: slots - 1 }).map((k) => BASE + BigInt(k) * PG);
  const pages = (max: number): fc.Arbitrary<bigint> => fc.integer({ min: 1, max }).map((n) => BigInt(n) * PG);
  const weighted = <T>(normal: fc.Arbitrary<T>, weird: fc.Arbitrary<T>): fc.Arbitrary<T> =>
    odd > 0 ? fc.oneof({ weight: 30, arbitrary: normal }, { weight: odd, arbitrary: weird }) : normal;

  // Odd values, per command, that Linux rejects before touching anything.
  const mmapAddr = weighted(slot, fc.constantFrom(0n, 0x800n, BASE + 0x10n, 0x7ffffffff000n, 0xfffffffffffff000n));
  const mmapLen = weighted(pages(4), fc.constantFrom(0n, 0x800n, 0x1800n, 0xfffffffffffff001n, 0x800000000000n));
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
    newAddr: fc.option(weighted(slot, fc.constantFrom(BASE + 0x10n, 0x7ffffffff000n)), { nil: undefined, freq: 2 }),
  }).map(({ newAddr, ...r }): Command =>
    newAddr === undefined ? { line, kind: 'mremap', ...r } : { line, kind: 'mremap', ...r, newAddr });

  const arbs: fc.Arbitrary<Command>[] = [
    file.chain((f) => fileSize.map((size): Command => ({ line, kind: 'file', file: f, size }))),
    fc.record({ file, off: fileOff, val: value }).map((r): Command => ({ line, kind: 'fwrite', ...r })),
    fc.record({ file, off: fileOff }).map((r): Command => ({ line, kind: 'fread', ...r })),
    fc.record({ file, size: fileSize }).map((r): Command => ({ line, kind: 'ftruncate', ...r })),
    newProc.map((p): Command => ({ line, kind: 'spawn', proc: p })),
    fc.record({ proc: usedProc, child: newProc }).map((r): Command => ({ line, kind: 'fork', ...r })),
    fc.record({ proc: usedProc, child: newProc }).map((r): Command => ({ line, kind: 'fork', ...r })),
    fc.oneof({ weight: 1, arbitrary: fc.constant('a') }, { weight: 3, arbitrary: proc })
      .map((p): Command => ({ line, kind: 'exit', proc: p })),
    fc.integer({ min: 0, max: 8 }).map((n): Command => ({ line, kind: 'reclaim', count: BigInt(n) })),
    mmap, mmap,
    fc.record({ proc: usedProc, addr: rangeAddr, len: rangeLen }).map((r): Command => ({ line, kind: 'munmap', ...r })),
    fc.record({ proc: usedProc, addr: rangeAddr, len: rangeLen, prot: fc.constantFrom(...PROTS) })
      .map((r): Command => ({ line, kind: 'mprotect', ...r })),
    mremap,
    fc.record({ proc: usedProc, addr: rangeAddr, len: rangeLen, advice: fc.constantFrom(...ADVICES) })
      .map((r): Command => ({ line, kind: 'madvise', ...r })),
    fc.record({ proc: usedProc, addr: accessAddr }).map((r): Command => ({ line, kind: 'read', ...r })),
    fc.record({ proc: usedProc, addr: accessAddr }).map((r): Command => ({ line, kind: 'read', ...r })),
    fc.record({ proc: usedProc, addr: accessAddr, val: value }).map((r): Command => ({ line, kind: 'write', ...r })),
    fc.record({ proc: usedProc, addr: accessAddr, val: value }).map((r): Command => ({ line, kind: 'write', ...r })),
    usedProc.map((p): Command => ({ line, kind: 'maps', proc: p })),
  ];
  if (opts.frames ?? true) arbs.push(fc.constant<Command>({ line, kind: 'frames' }));
  return arbs;
}

/**
 * A random valid trace: a prelude that declares the files and spawns `a`
 * (so most commands apply), then random commands, filtered by validTrace().
 */
export function traceArbitrary(opts: GenOptions & { maxCommands?: number } = {}): fc.Arbitrary<Command[]> {
  return fc.tuple(
    fc.constantFrom(0x1000n, 0x2000n, 0x3000n, 0x1800n, 0n),
    fc.array(fc.oneof(...commandArbitraries(opts)), { minLength: Math.min(10, opts.maxCommands ?? 60), maxLength: opts.maxCommands ?? 60, size: 'max' }),
  ).map(([size, cmds]) => validTrace([
    { line: 0, kind: 'spawn', proc: 'a' },
    { line: 0, kind: 'file', file: 'f', size },
    ...cmds,
  ]));
}
