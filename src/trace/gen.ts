// Seeded random vmtrace generator.
//
// generateTrace({ seed, ops, profile, quirks }) returns the text of a trace
// of exactly `ops` commands (after one leading comment line). The same
// options always give the same text: the PRNG (xoshiro128**, seeded through
// splitmix64) is our own, nothing depends on Math.random or the platform.
//
// Every trace parses (names are used only while alive, files only once
// declared, read/write addresses and fwrite/fread offsets 4-aligned, VAL
// below 2^32). By default every trace is also *portable* in the spec's
// sense:
//   - every mapping, and every access, lies in the window
//     [0x100000000000, 0x200000000000); arguments outside it are only ones
//     Linux rejects outright (an address at or past 0x7ffffffff000, a length
//     that wraps, an unaligned address, an mmap address below 4096 -> EPERM);
//   - no mremap depends on how Linux merged or split its vmas, nor on the
//     kernel version: the generator keeps a page-level model of each process
//     in which each page carries the id of a kernel vma it is *known* to
//     share with its neighbours (ids are never assumed merged; any call that
//     may split a vma gives the pages on either side of its boundaries fresh
//     ids), and issues an mremap (other than ones rejected before any vma is
//     looked at) only when its old range lies inside one such run of pages.
// `quirks: true` lets mremaps over arbitrary ranges in (ranges that span
// several vmas or holes), whose results depend on vma merging and on the
// kernel version.

import type { Advice, Command, Prot } from './ast.js';
import { printCommand } from './print.js';

export type Profile = 'mixed' | 'forky' | 'files' | 'remap';
export const PROFILES: readonly Profile[] = ['mixed', 'forky', 'files', 'remap'];

export interface GenOptions {
  /** Any non-negative integer (up to 2^64-1); same seed, same trace. */
  seed: number | bigint;
  /** Number of commands (the leading comment line is not counted). */
  ops: number;
  profile?: Profile;
  /** Allow non-portable mremap cases (see the top of this file). */
  quirks?: boolean;
}

export const PAGE = 4096n;
export const WINDOW_START = 0x100000000000n;
export const WINDOW_END = 0x200000000000n;
/** x86-64 4-level TASK_SIZE: the first address past the user address space. */
export const TASK_SIZE = 0x7ffffffff000n;
const U64 = (1n << 64n) - 1n;
/** Pages in the window. */
const WIN_PAGES = Number((WINDOW_END - WINDOW_START) / PAGE);
/** Where most addresses are picked: the first LOW pages of the window... */
const LOW = 64;
/** ...and sometimes the last HIGH pages (mappings ending at the window's end). */
const HIGH = 12;

// ---------------------------------------------------------------------------
// PRNG

/** xoshiro128** with splitmix64 seeding. */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number | bigint) {
    let x = BigInt(seed);
    if (x < 0n || x > U64) throw new RangeError(`seed must be an integer in [0, 2^64-1], got ${seed}`);
    const words: number[] = [];
    for (let i = 0; i < 2; i++) {
      x = (x + 0x9e3779b97f4a7c15n) & U64;
      let z = x;
      z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & U64;
      z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & U64;
      z ^= z >> 31n;
      words.push(Number(z & 0xffffffffn), Number(z >> 32n));
    }
    [this.s0, this.s1, this.s2, this.s3] = words as [number, number, number, number];
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, n) for 0 < n <= 2^32. */
  int(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }

  /** Uniform in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('pick from an empty list');
    return xs[this.int(xs.length)]!;
  }

  /** Pick a key with probability proportional to its weight. */
  weighted<K extends string>(weights: Readonly<Partial<Record<K, number>>>): K {
    let t = TABLES.get(weights);
    if (t === undefined) {
      const entries = Object.entries(weights) as [string, number][];
      let total = 0;
      for (const [, w] of entries) total += w;
      TABLES.set(weights, (t = { entries, total }));
    }
    let r = (this.u32() / 4294967296) * t.total;
    for (const [k, w] of t.entries) {
      r -= w;
      if (r < 0) return k as K;
    }
    return t.entries[t.entries.length - 1]![0] as K;
  }
}

/** Weight tables already summed (weights objects are reused, mostly constants). */
const TABLES = new WeakMap<object, { entries: [string, number][]; total: number }>();

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

// ---------------------------------------------------------------------------
// The model

interface PageInfo {
  prot: Prot;
  shared: boolean;
  /** Backing file name; undefined: anonymous. */
  file: string | undefined;
  /** File page index (meaningful for file pages only). */
  fpage: bigint;
  /** Id of a kernel vma this page is known to share with same-id neighbours. */
  vid: number;
  dontfork: boolean;
  wipeonfork: boolean;
}

/** Window page index -> what is mapped there; keeps its keys sorted on demand. */
class PageMap extends Map<number, PageInfo> {
  private sorted: number[] | null = null;

  override set(page: number, info: PageInfo): this {
    if (this.sorted !== null && !this.has(page)) this.sorted = null;
    return super.set(page, info);
  }

  override delete(page: number): boolean {
    const had = super.delete(page);
    if (had) this.sorted = null;
    return had;
  }

  /** The mapped pages, ascending (do not modify the array). */
  sortedPages(): readonly number[] {
    return (this.sorted ??= [...this.keys()].sort((a, b) => a - b));
  }
}

interface Proc {
  name: string;
  pages: PageMap;
}

interface FileState {
  name: string;
  size: bigint;
}

interface Run { s: number; e: number }

const PROT_WEIGHTS: Readonly<Record<Prot, number>> = { none: 1, r: 3, rw: 8, rx: 1, rwx: 1 };

type Action =
  | 'spawn' | 'fork' | 'forkChain' | 'forkTree' | 'exit'
  | 'file' | 'fwrite' | 'fread' | 'ftruncate'
  | 'mmap' | 'mmapFile' | 'munmap' | 'mprotect' | 'mremap' | 'madvise'
  | 'read' | 'write' | 'maps' | 'frames' | 'reclaim' | 'invalid'
  | 'cow' | 'truncate' | 'protect';

const PROFILE_WEIGHTS: Readonly<Record<Profile, Readonly<Partial<Record<Action, number>>>>> = {
  mixed: {
    spawn: 2, fork: 4, forkChain: 1, forkTree: 1, exit: 3, file: 2, fwrite: 4, fread: 3, ftruncate: 2,
    mmap: 9, mmapFile: 6, munmap: 4, mprotect: 5, mremap: 5, madvise: 5, read: 14, write: 14,
    maps: 3, frames: 2, reclaim: 2, invalid: 3, cow: 1, truncate: 1, protect: 1,
  },
  forky: {
    spawn: 2, fork: 10, forkChain: 3, forkTree: 3, exit: 9, file: 1, fwrite: 1, fread: 1, ftruncate: 1,
    mmap: 8, mmapFile: 3, munmap: 2, mprotect: 2, mremap: 2, madvise: 8, read: 16, write: 16,
    maps: 2, frames: 4, reclaim: 2, invalid: 1, cow: 1, truncate: 0.5, protect: 0.5,
  },
  files: {
    spawn: 1, fork: 3, forkChain: 0.5, forkTree: 0.5, exit: 2, file: 4, fwrite: 10, fread: 8, ftruncate: 6,
    mmap: 3, mmapFile: 12, munmap: 3, mprotect: 3, mremap: 2, madvise: 3, read: 12, write: 12,
    maps: 2, frames: 2, reclaim: 2, invalid: 2, cow: 4, truncate: 4, protect: 1,
  },
  remap: {
    spawn: 1, fork: 3, forkChain: 0.5, forkTree: 0.5, exit: 2, file: 1, fwrite: 1, fread: 1, ftruncate: 1,
    mmap: 8, mmapFile: 5, munmap: 7, mprotect: 8, mremap: 18, madvise: 4, read: 8, write: 8,
    maps: 5, frames: 1, reclaim: 1, invalid: 4, cow: 0.5, truncate: 0.5, protect: 2,
  },
};

const MAX_LIVE: Readonly<Record<Profile, number>> = { mixed: 6, forky: 10, files: 5, remap: 4 };
const MAX_FILES = 6;

const addrOf = (page: number): bigint => WINDOW_START + BigInt(page) * PAGE;
const pagesUp = (len: bigint): bigint => (len + PAGE - 1n) / PAGE;

class Generator {
  /** Commands emitted so far (at most ops reach the sink). */
  private count = 0;
  private readonly procs: Proc[] = [];
  private readonly files: FileState[] = [];
  private nextProc = 0;
  private nextFile = 0;
  private nextVid = 1;
  private valCounter = 0;

  constructor(
    private readonly rng: Rng,
    private readonly profile: Profile,
    private readonly quirks: boolean,
    private readonly ops: number,
    private readonly sink: (cmd: Command) => void,
  ) {}

  run(): void {
    const weights = PROFILE_WEIGHTS[this.profile];
    while (this.count < this.ops) {
      const action = this.rng.weighted<Action>(weights);
      this.act(action);
    }
  }

  private get full(): boolean {
    return this.count >= this.ops;
  }

  /** Pass a command on (numbered 1..ops); past `ops`, only the model moves. */
  private emit(cmd: Command): void {
    if (this.count >= this.ops) return;
    cmd.line = ++this.count;
    this.sink(cmd);
  }

  private act(action: Action): void {
    const r = this.rng;
    const memoryOp = action === 'munmap' || action === 'mprotect' || action === 'madvise' || action === 'mremap'
      || action === 'read' || action === 'write';
    // A process with nothing mapped mostly maps something first.
    if (memoryOp && this.procs.length > 0 && this.procs.every((p) => p.pages.size === 0) && r.chance(0.8)) {
      action = r.chance(0.6) ? 'mmap' : 'mmapFile';
    }
    switch (action) {
      case 'spawn':
        if (this.procs.length >= MAX_LIVE[this.profile]) return this.act('exit');
        this.spawn();
        return;
      case 'fork':
        if (this.procs.length >= MAX_LIVE[this.profile]) return this.act('exit');
        this.fork(this.proc());
        return;
      case 'forkChain': {
        let p = this.proc();
        const n = r.range(2, 4);
        for (let i = 0; i < n && !this.full && this.procs.length < MAX_LIVE[this.profile] + 2; i++) {
          p = this.fork(p);
          this.writeSomewhere(p);
        }
        return;
      }
      case 'forkTree': {
        const p = this.proc();
        const n = r.range(2, 3);
        for (let i = 0; i < n && !this.full && this.procs.length < MAX_LIVE[this.profile] + 2; i++) {
          const c = this.fork(p);
          this.writeSomewhere(c);
          if (r.chance(0.5)) this.readSomewhere(c);
        }
        return;
      }
      case 'exit':
        if (this.procs.length === 0) return this.act('spawn');
        this.exit(r.pick(this.procs));
        return;
      case 'file':
        if (this.files.length >= MAX_FILES) return this.act('fwrite');
        this.newFile(this.fileSize());
        return;
      case 'fwrite': {
        const f = this.file();
        this.fwrite(f, this.fileOffset(f), this.value());
        return;
      }
      case 'fread': {
        const f = this.file();
        this.fread(f, this.fileOffset(f));
        return;
      }
      case 'ftruncate': {
        const f = this.file();
        this.ftruncate(f, this.fileSize(f));
        return;
      }
      case 'mmap':
      case 'mmapFile': {
        const p = this.proc();
        const [s, n] = this.mmapTarget(p);
        let len = BigInt(n) * PAGE;
        if (r.chance(0.1)) len -= BigInt(r.range(1, 4095));
        const prot = r.weighted(PROT_WEIGHTS);
        const shared = r.chance(action === 'mmapFile' ? 0.5 : 0.3);
        const fixed = r.chance(0.25);
        if (action === 'mmapFile') {
          const f = this.file();
          this.mmap(p, addrOf(s), len, prot, shared, fixed, f, this.mapOffset(f));
        } else {
          this.mmap(p, addrOf(s), len, prot, shared, fixed);
        }
        return;
      }
      case 'munmap': {
        const p = this.proc();
        const [s, n] = this.rangeTarget(p, 1);
        let len = BigInt(n) * PAGE;
        if (r.chance(0.1)) len -= BigInt(r.range(1, 4095));
        this.munmap(p, addrOf(s), len);
        return;
      }
      case 'mprotect': {
        const p = this.proc();
        const [s, n] = this.rangeTarget(p, 0);
        let len = BigInt(n) * PAGE;
        if (n > 0 && r.chance(0.1)) len -= BigInt(r.range(1, 4095));
        this.mprotect(p, addrOf(s), len, r.weighted(PROT_WEIGHTS));
        return;
      }
      case 'madvise': {
        const p = this.proc();
        const [s, n] = this.rangeTarget(p, 0);
        let len = BigInt(n) * PAGE;
        if (n > 0 && r.chance(0.1)) len -= BigInt(r.range(1, 4095));
        this.madvise(p, addrOf(s), len, this.advice());
        return;
      }
      case 'mremap':
        this.mremapAction(this.proc());
        return;
      case 'read':
        this.readSomewhere(this.proc());
        return;
      case 'write':
        this.writeSomewhere(this.proc());
        return;
      case 'maps':
        this.emit({ kind: 'maps', line: 0, proc: this.proc().name });
        return;
      case 'frames':
        this.emit({ kind: 'frames', line: 0 });
        return;
      case 'reclaim': {
        const k = r.int(10);
        const count = k < 6 ? BigInt(r.range(0, 64)) : k < 8 ? BigInt(r.range(65, 100000)) : k < 9 ? U64 : BigInt(r.u32()) << 32n;
        this.emit({ kind: 'reclaim', line: 0, count });
        return;
      }
      case 'invalid':
        this.invalid(this.proc());
        return;
      case 'cow':
        this.cowScenario();
        return;
      case 'truncate':
        this.truncateScenario();
        return;
      case 'protect':
        this.protectScenario();
        return;
    }
  }

  // ---- choices ------------------------------------------------------------

  /** A live process; spawns one if none is alive. */
  private proc(): Proc {
    if (this.procs.length === 0) return this.spawn();
    return this.rng.pick(this.procs);
  }

  /** A declared file; declares one if there is none (or sometimes anyway). */
  private file(): FileState {
    if (this.files.length === 0 || (this.files.length < MAX_FILES && this.rng.chance(0.05))) {
      return this.newFile(this.fileSize());
    }
    return this.rng.pick(this.files);
  }

  private value(): number {
    const k = this.rng.int(20);
    if (k < 12) return this.rng.range(1, 999);
    if (k < 15) return ++this.valCounter * 1000;
    if (k < 17) return 0;
    if (k < 18) return 0xffffffff;
    return this.rng.u32();
  }

  private advice(): Advice {
    const w: Record<Advice, number> =
      this.profile === 'forky'
        ? { dontneed: 2, dontfork: 3, dofork: 2, wipeonfork: 3, keeponfork: 2 }
        : { dontneed: 4, dontfork: 2, dofork: 2, wipeonfork: 2, keeponfork: 1 };
    return this.rng.weighted(w);
  }

  /** A page index: mostly the low pages of the window, sometimes its top. */
  private somePage(): number {
    return this.rng.chance(0.9) ? this.rng.int(LOW) : WIN_PAGES - 1 - this.rng.int(HIGH);
  }

  private mappedPages(p: Proc): readonly number[] {
    return p.pages.sortedPages();
  }

  /** Maximal runs of mapped pages known to lie in one kernel vma. */
  private runs(p: Proc): Run[] {
    const runs: Run[] = [];
    let cur: Run | undefined;
    let vid = -1;
    for (const pg of this.mappedPages(p)) {
      const info = p.pages.get(pg)!;
      if (cur !== undefined && pg === cur.e && info.vid === vid) cur.e++;
      else {
        cur = { s: pg, e: pg + 1 };
        vid = info.vid;
        runs.push(cur);
      }
    }
    return runs;
  }

  /** Maximal runs of mapped pages (whatever vmas they are in). */
  private extents(p: Proc): Run[] {
    const out: Run[] = [];
    for (const pg of this.mappedPages(p)) {
      const last = out[out.length - 1];
      if (last !== undefined && last.e === pg) last.e++;
      else out.push({ s: pg, e: pg + 1 });
    }
    return out;
  }

  private clampLen(s: number, n: number): number {
    return Math.max(1, Math.min(n, WIN_PAGES - s));
  }

  private smallLen(min = 1): number {
    const k = this.rng.int(10);
    const n = k < 4 ? 1 : k < 7 ? 2 : k < 9 ? 3 : this.rng.range(4, 8);
    return Math.max(min, n);
  }

  /** Where to mmap: a free spot, right after a mapping, or over one. */
  private mmapTarget(p: Proc): [number, number] {
    const n0 = this.smallLen();
    const ext = this.extents(p);
    const k = this.rng.int(10);
    let s: number;
    if (ext.length > 0 && k < 3) s = this.rng.pick(ext).e; // adjacent: merge candidates
    else if (ext.length > 0 && k < 5) {
      const e = this.rng.pick(ext);
      s = this.rng.chance(0.5) ? e.s : this.rng.range(e.s, e.e - 1); // overlapping
    } else if (ext.length > 0 && k < 6) s = Math.max(0, this.rng.pick(ext).s - n0); // ends where one starts
    else s = this.somePage();
    if (s >= WIN_PAGES) s = WIN_PAGES - 1;
    return [s, this.clampLen(s, n0)];
  }

  /** A range for munmap/mprotect/madvise: over mappings, holes, or both. */
  private rangeTarget(p: Proc, minPages: number): [number, number] {
    const ext = this.extents(p);
    const k = this.rng.int(10);
    let s: number;
    let n: number;
    if (ext.length > 0 && k < 4) {
      const e = this.rng.pick(ext);
      s = this.rng.range(e.s, e.e - 1);
      n = this.rng.chance(0.5) ? e.e - s : this.smallLen();
    } else if (ext.length > 0 && k < 6) {
      // Across a hole: from inside one extent to past the next.
      const i = this.rng.int(ext.length);
      const e = ext[i]!;
      s = this.rng.range(e.s, e.e - 1);
      const next = ext[i + 1];
      n = next !== undefined && next.s - s < 24 ? next.s - s + this.rng.range(1, next.e - next.s) : this.smallLen() + (e.e - s);
    } else if (ext.length > 0 && k < 7) {
      // Starting in a hole.
      const e = this.rng.pick(ext);
      s = Math.max(0, e.s - this.rng.range(1, 2));
      n = this.smallLen() + (e.s - s);
    } else {
      s = this.somePage();
      n = this.smallLen();
    }
    if (minPages === 0 && this.rng.chance(0.06)) n = 0;
    if (s >= WIN_PAGES) s = WIN_PAGES - 1;
    return [s, n === 0 ? 0 : this.clampLen(s, n)];
  }

  private fileSize(f?: FileState): bigint {
    const k = this.rng.int(20);
    if (k < 8) return BigInt(this.rng.range(0, 4)) * PAGE;
    if (k < 13) return BigInt(this.rng.range(0, 4 * 4096 - 1));
    if (k < 17 && f !== undefined) {
      // Around the current end.
      const d = BigInt(this.rng.range(-4096, 4096));
      const v = f.size + d;
      return v < 0n ? 0n : v;
    }
    if (k < 18) return 1n << 50n; // EFBIG: past ext4's 16 TiB
    if (k < 19) return 1n << 63n; // EINVAL: negative off_t
    return BigInt(this.rng.range(0, 8)) * PAGE;
  }

  /** A 4-aligned offset: mostly inside or just past the file. */
  private fileOffset(f: FileState): bigint {
    const k = this.rng.int(30);
    if (k < 24) {
      const limit = f.size + 2n * PAGE;
      const pages = Number(limit / PAGE) + 1;
      const pg = BigInt(this.rng.int(pages));
      const inPage = BigInt(this.rng.pick([0, 4, 0x10, 0x20, 0x7fc, 0xffc, this.rng.int(1024) * 4]));
      return pg * PAGE + inPage;
    }
    if (k < 27) {
      // Straddling the end: the last whole word, the partial one, just past.
      const base = f.size - (f.size % 4n) + BigInt(this.rng.range(-1, 1)) * 4n;
      return base < 0n ? 0n : base;
    }
    if (k < 28) return 1n << 50n;
    if (k < 29) return 1n << 63n;
    return U64 - 3n;
  }

  /** A page-aligned mmap file offset (sometimes past EOF or huge). */
  private mapOffset(f: FileState): bigint {
    const k = this.rng.int(40);
    if (k < 38) return BigInt(this.rng.int(Number(pagesUp(f.size)) + 2)) * PAGE;
    if (k < 39) return 1n << 62n; // maps fine, every access past EOF
    return 1n << 44n;
  }

  // ---- primitive commands, each updating the model ---------------------------

  private spawn(): Proc {
    const p: Proc = { name: `p${this.nextProc++}`, pages: new PageMap() };
    this.procs.push(p);
    this.emit({ kind: 'spawn', line: 0, proc: p.name });
    return p;
  }

  private fork(parent: Proc): Proc {
    const child: Proc = { name: `p${this.nextProc++}`, pages: new PageMap() };
    for (const [pg, info] of parent.pages) if (!info.dontfork) child.pages.set(pg, { ...info });
    this.procs.push(child);
    this.emit({ kind: 'fork', line: 0, proc: parent.name, child: child.name });
    return child;
  }

  private exit(p: Proc): void {
    this.procs.splice(this.procs.indexOf(p), 1);
    this.emit({ kind: 'exit', line: 0, proc: p.name });
  }

  private newFile(size: bigint): FileState {
    const f: FileState = { name: `f${this.nextFile++}`, size: 0n };
    if (size < 1n << 44n) f.size = size;
    this.files.push(f);
    this.emit({ kind: 'file', line: 0, file: f.name, size });
    return f;
  }

  private fwrite(f: FileState, off: bigint, val: number): void {
    if (off + 4n < 1n << 44n && off + 4n > f.size) f.size = off + 4n;
    this.emit({ kind: 'fwrite', line: 0, file: f.name, off, val });
  }

  private fread(f: FileState, off: bigint): void {
    this.emit({ kind: 'fread', line: 0, file: f.name, off });
  }

  private ftruncate(f: FileState, size: bigint): void {
    if (size < 1n << 44n) f.size = size;
    this.emit({ kind: 'ftruncate', line: 0, file: f.name, size });
  }

  /**
   * Emit an mmap and apply it to the model. Any call that could succeed must
   * lie inside the window (checked: a violation is a generator bug).
   */
  private mmap(p: Proc, addr: bigint, len: bigint, prot: Prot, shared: boolean, fixed: boolean, f?: FileState, off?: bigint): void {
    const cmd: Command = f === undefined
      ? { kind: 'mmap', line: 0, proc: p.name, addr, len, prot, shared, fixed }
      : { kind: 'mmap', line: 0, proc: p.name, addr, len, prot, shared, fixed, file: f.name, off: off ?? 0n };
    this.emit(cmd);
    // Failures Linux reports before looking at the address space.
    if (addr % PAGE !== 0n || len === 0n) return;
    const alen = pagesUp(len) * PAGE;
    if (alen > U64 || alen > TASK_SIZE || addr > TASK_SIZE - alen) return;
    if (addr < 4096n) return;
    if (f !== undefined) {
      const o = off ?? 0n;
      if (o % PAGE !== 0n || o >= 1n << 63n || o / PAGE > ((1n << 63n) - 1n - alen) / PAGE) return;
    }
    const s = this.windowPage(addr, alen);
    const n = Number(alen / PAGE);
    if (!fixed) for (let i = 0; i < n; i++) if (p.pages.has(s + i)) return; // EEXIST
    const vid = this.nextVid++;
    const fpage = f === undefined ? 0n : (off ?? 0n) / PAGE;
    for (let i = 0; i < n; i++) {
      p.pages.set(s + i, {
        prot, shared, file: f?.name, fpage: fpage + BigInt(i), vid, dontfork: false, wipeonfork: false,
      });
    }
  }

  /** The window page of [addr, addr+len), which must lie in the window. */
  private windowPage(addr: bigint, len: bigint): number {
    if (addr < WINDOW_START || addr + len > WINDOW_END) {
      throw new Error(`generator bug: call may touch memory outside the window at 0x${addr.toString(16)}`);
    }
    return Number((addr - WINDOW_START) / PAGE);
  }

  private munmap(p: Proc, addr: bigint, len: bigint): void {
    this.emit({ kind: 'munmap', line: 0, proc: p.name, addr, len });
    if (addr % PAGE !== 0n || len === 0n || addr > TASK_SIZE || len > TASK_SIZE - addr) return;
    const alen = pagesUp(len) * PAGE;
    const s = this.windowPage(addr, alen);
    for (const pg of this.pagesIn(p, s, s + Number(alen / PAGE))) p.pages.delete(pg);
  }

  /** The mapped pages of [s, e), ascending (cost: the number mapped, not e - s). */
  private pagesIn(p: Proc, s: number, e: number): number[] {
    return this.mappedPages(p).filter((pg) => pg >= s && pg < e);
  }

  /** Give the mapped pages of [s, e) fresh vma ids (one per old id). */
  private split(p: Proc, s: number, e: number): void {
    const renamed = new Map<number, number>();
    for (const pg of this.pagesIn(p, s, e)) {
      const info = p.pages.get(pg)!;
      let v = renamed.get(info.vid);
      if (v === undefined) renamed.set(info.vid, (v = this.nextVid++));
      info.vid = v;
    }
  }

  /** The page range a length-checked mprotect/madvise call covers, or null. */
  private applied(addr: bigint, len: bigint): [number, number] | null {
    if (addr % PAGE !== 0n || len === 0n) return null;
    const alen = pagesUp(len) * PAGE;
    if (alen > U64 - addr || addr >= TASK_SIZE) return null;
    const s = this.windowPage(addr, alen);
    return [s, s + Number(alen / PAGE)];
  }

  private mprotect(p: Proc, addr: bigint, len: bigint, prot: Prot): void {
    this.emit({ kind: 'mprotect', line: 0, proc: p.name, addr, len, prot });
    const r = this.applied(addr, len);
    if (r === null) return;
    const [s, e] = r;
    this.split(p, s, e);
    for (let pg = s; pg < e; pg++) {
      const info = p.pages.get(pg);
      if (info === undefined) break; // ENOMEM at the first hole
      info.prot = prot;
    }
  }

  private madvise(p: Proc, addr: bigint, len: bigint, advice: Advice): void {
    this.emit({ kind: 'madvise', line: 0, proc: p.name, addr, len, advice });
    const r = this.applied(addr, len);
    if (r === null || advice === 'dontneed') return;
    const [s, e] = r;
    this.split(p, s, e);
    for (const pg of this.pagesIn(p, s, e)) {
      const info = p.pages.get(pg)!; // holes are skipped (ENOMEM later)
      if (advice === 'dontfork') info.dontfork = true;
      else if (advice === 'dofork') info.dontfork = false;
      else if (advice === 'keeponfork') info.wipeonfork = false;
      else {
        if (info.shared || info.file !== undefined) break; // EINVAL stops the walk
        info.wipeonfork = true;
      }
    }
  }

  /** True if [s, e) is mapped and known to lie in one vma. */
  private oneVma(p: Proc, s: number, e: number): boolean {
    const first = p.pages.get(s);
    if (first === undefined) return false;
    for (let pg = s + 1; pg < e; pg++) if (p.pages.get(pg)?.vid !== first.vid) return false;
    return true;
  }

  private isFree(p: Proc, s: number, e: number): boolean {
    if (e - s < 64) {
      for (let pg = s; pg < e; pg++) if (p.pages.has(pg)) return false;
      return true;
    }
    return this.pagesIn(p, s, e).length === 0;
  }

  /** Emit an mremap and apply it to the model (see the file comment). */
  private mremap(p: Proc, addr: bigint, oldLen: bigint, newLen: bigint, newAddr?: bigint): void {
    this.emit(newAddr === undefined
      ? { kind: 'mremap', line: 0, proc: p.name, addr, oldLen, newLen }
      : { kind: 'mremap', line: 0, proc: p.name, addr, oldLen, newLen, newAddr });
    // Rejected before any vma is looked at.
    if (addr % PAGE !== 0n) return;
    const nl = pagesUp(newLen) * PAGE;
    const ol = pagesUp(oldLen) * PAGE;
    if (nl === 0n || nl > U64 || ol > U64) return;
    if (newAddr !== undefined) {
      if (newAddr % PAGE !== 0n || nl > TASK_SIZE || newAddr > TASK_SIZE - nl) return;
      if (addr + ol > newAddr && newAddr + nl > addr) return;
    }
    // Past the early checks, every range the call names must lie in the
    // window, whether or not it will succeed (what a Linux runner checks).
    const s = this.windowPage(addr, ol);
    if (newAddr === undefined) this.windowPage(addr, nl);
    else this.windowPage(newAddr, nl);
    const os = Number(ol / PAGE);
    const ns = Number(nl / PAGE);
    if (os === 0) {
      // A second view of a shared mapping (or EINVAL / ENOMEM).
      const src = p.pages.get(s);
      if (src === undefined) {
        if (!this.quirks) throw new Error('generator bug: mremap of an unmapped address');
        return;
      }
      if (!src.shared || newAddr === undefined) return;
      const d = this.windowPage(newAddr, nl);
      for (let i = 0; i < ns; i++) p.pages.delete(d + i);
      const vid = this.nextVid++;
      for (let i = 0; i < ns; i++) p.pages.set(d + i, { ...src, fpage: src.fpage + BigInt(i), vid });
      return;
    }
    if (!this.oneVma(p, s, s + os)) {
      if (!this.quirks) throw new Error('generator bug: non-portable mremap');
      // Best effort (the outcome depends on the kernel); forget what we knew.
      this.split(p, s, s + os);
      for (let pg = s; pg < s + os; pg++) this.split(p, pg, pg + 1);
      return;
    }
    if (newAddr === undefined) {
      if (ns <= os) {
        for (let pg = s + ns; pg < s + os; pg++) p.pages.delete(pg);
        return;
      }
      const end = this.windowPage(addr, nl) + ns;
      if (!this.isFree(p, s + os, end)) return; // ENOMEM: cannot grow in place
      const last = p.pages.get(s + os - 1)!;
      for (let pg = s + os; pg < end; pg++) {
        p.pages.set(pg, { ...last, fpage: last.fpage + BigInt(pg - (s + os - 1)) });
      }
      // The grown vma gets a fresh id: pages of the old id elsewhere (split
      // off earlier) may now be adjacent to it but are separate vmas, or not
      // (Linux may merge them): either way, no longer known to be one.
      const vid = this.nextVid++;
      let first = s;
      while (p.pages.get(first - 1)?.vid === last.vid) first--;
      for (let pg = first; pg < end; pg++) p.pages.get(pg)!.vid = vid;
      return;
    }
    // MREMAP_FIXED: unmap the target, shrink the source, move, maybe grow.
    const d = this.windowPage(newAddr, nl);
    const moved: PageInfo[] = [];
    for (let i = 0; i < Math.min(os, ns); i++) moved.push(p.pages.get(s + i)!);
    for (let i = 0; i < ns; i++) p.pages.delete(d + i);
    for (let i = 0; i < os; i++) p.pages.delete(s + i);
    const vid = this.nextVid++;
    const last = moved[moved.length - 1]!;
    for (let i = 0; i < ns; i++) {
      const info = i < moved.length ? moved[i]! : { ...last, fpage: last.fpage + BigInt(i - moved.length + 1) };
      p.pages.set(d + i, { ...info, vid });
    }
  }

  private read(p: Proc, addr: bigint): void {
    this.windowPage(addr, 4n);
    this.emit({ kind: 'read', line: 0, proc: p.name, addr });
  }

  private write(p: Proc, addr: bigint, val: number): void {
    this.windowPage(addr, 4n);
    this.emit({ kind: 'write', line: 0, proc: p.name, addr, val });
  }

  // ---- composite actions ----------------------------------------------------

  private accessAddr(p: Proc): bigint {
    const mapped = this.mappedPages(p);
    const page = mapped.length > 0 && this.rng.chance(0.8) ? this.rng.pick(mapped) : this.somePage();
    const off = this.rng.pick([0, 0, 0, 4, 0x10, 0x800, 0xffc, this.rng.int(1024) * 4]);
    return addrOf(page) + BigInt(off);
  }

  private readSomewhere(p: Proc): void {
    this.read(p, this.accessAddr(p));
  }

  private writeSomewhere(p: Proc): void {
    this.write(p, this.accessAddr(p), this.value());
  }

  private mremapAction(p: Proc): void {
    const r = this.rng;
    const runs = this.runs(p);
    const k = r.int(20);
    if (runs.length === 0 || k === 0) {
      // Rejected before any vma is looked at.
      const pg = this.somePage();
      const v = r.int(3);
      if (v === 0) this.mremap(p, addrOf(pg), PAGE, 0n);
      else if (v === 1) this.mremap(p, addrOf(pg) + BigInt(r.range(1, 4095)), PAGE, 2n * PAGE);
      else this.mremap(p, addrOf(pg), PAGE, U64 - BigInt(r.int(4095))); // PAGE_ALIGN wraps to 0
      return;
    }
    if (this.quirks && k < 4) {
      // Any range: several vmas, holes, a start in a hole.
      const [s, n] = this.rangeTarget(p, 1);
      const newPages = this.clampLen(s, r.range(1, n + 2));
      if (r.chance(0.5)) {
        this.mremap(p, addrOf(s), BigInt(n) * PAGE, BigInt(newPages) * PAGE);
      } else {
        const d = this.freeSpot(p, newPages, s, s + n);
        if (d !== undefined) this.mremap(p, addrOf(s), BigInt(n) * PAGE, BigInt(newPages) * PAGE, addrOf(d));
      }
      return;
    }
    const run = r.pick(runs);
    // The old range: the whole run or a piece of it.
    let s = run.s;
    let e = run.e;
    if (r.chance(0.4) && e - s > 1) {
      s = r.range(run.s, run.e - 1);
      e = r.range(s + 1, run.e);
    }
    const os = e - s;
    let oldLen = BigInt(os) * PAGE;
    if (r.chance(0.1)) oldLen -= BigInt(r.range(1, 4095));
    const v = r.weighted({
      shrink: 3, same: 1, grow: 5, move: 6, moveOver: 2, overlap: 1, view: 2, viewInPlace: 0.5,
      newAddrBad: 1,
    });
    switch (v) {
      case 'shrink': {
        if (os < 2) return this.mremap(p, addrOf(s), oldLen, PAGE);
        const ns = BigInt(r.range(1, os - 1)) * PAGE;
        this.mremap(p, addrOf(s), oldLen, r.chance(0.2) ? ns - BigInt(r.range(1, 4095)) : ns);
        return;
      }
      case 'same':
        this.mremap(p, addrOf(s), oldLen, BigInt(os) * PAGE);
        return;
      case 'grow': {
        const ns = Math.min(os + r.range(1, 3), WIN_PAGES - s);
        this.mremap(p, addrOf(s), oldLen, BigInt(ns) * PAGE);
        return;
      }
      case 'move':
      case 'moveOver': {
        const ns = r.chance(0.6) ? os : Math.max(1, os + r.range(-2, 3));
        const d = v === 'move' ? this.freeSpot(p, ns, s, e) : this.overSpot(p, ns, s, e);
        if (d === undefined) return this.mremap(p, addrOf(s), oldLen, BigInt(os) * PAGE);
        this.mremap(p, addrOf(s), oldLen, BigInt(ns) * PAGE, addrOf(d));
        return;
      }
      case 'overlap': {
        // Old and new ranges overlap: EINVAL before anything changes.
        const ns = os + r.range(0, 2);
        const d = Math.max(0, s - r.range(0, os - 1));
        if (d + ns > WIN_PAGES) return this.mremap(p, addrOf(s), oldLen, 0n);
        this.mremap(p, addrOf(s), BigInt(os) * PAGE, BigInt(ns) * PAGE, addrOf(d));
        return;
      }
      case 'view': {
        // OLDLEN 0: a second view of a shared mapping; EINVAL if private.
        const ns = r.range(1, 3);
        const d = this.freeSpot(p, ns, run.s, run.e);
        if (d === undefined) return;
        this.mremap(p, addrOf(s), 0n, BigInt(ns) * PAGE, addrOf(d));
        return;
      }
      case 'viewInPlace':
        // OLDLEN 0 without NEWADDR: ENOMEM (shared) or EINVAL (private).
        this.mremap(p, addrOf(s), 0n, BigInt(this.clampLen(s, r.range(1, 2))) * PAGE);
        return;
      case 'newAddrBad': {
        // Unaligned, or past the user address space: EINVAL.
        const target = r.chance(0.5)
          ? addrOf(this.somePage()) + BigInt(r.range(1, 4095))
          : r.pick([TASK_SIZE, TASK_SIZE + PAGE, 0x800000000000n, U64 - PAGE + 1n]);
        this.mremap(p, addrOf(s), oldLen, BigInt(os) * PAGE, target);
        return;
      }
    }
  }

  /** A free spot of n pages not touching [avoidS, avoidE). */
  private freeSpot(p: Proc, n: number, avoidS: number, avoidE: number): number | undefined {
    for (let tries = 0; tries < 20; tries++) {
      const d = this.somePage();
      if (d + n > WIN_PAGES) continue;
      if (d < avoidE && d + n > avoidS) continue;
      if (this.isFree(p, d, d + n)) return d;
    }
    // Past everything in the low area.
    const top = Math.max(LOW, ...this.mappedPages(p).filter((x) => x < LOW * 4).map((x) => x + 1));
    return top + n <= WIN_PAGES && !(top < avoidE && top + n > avoidS) && this.isFree(p, top, top + n) ? top : undefined;
  }

  /** A spot of n pages over some other mapping, not touching [avoidS, avoidE). */
  private overSpot(p: Proc, n: number, avoidS: number, avoidE: number): number | undefined {
    const mapped = this.mappedPages(p).filter((x) => x + n <= avoidS || x >= avoidE);
    for (let tries = 0; tries < 10 && mapped.length > 0; tries++) {
      const d = Math.max(0, this.rng.pick(mapped) - this.rng.int(2));
      if (d + n <= WIN_PAGES && !(d < avoidE && d + n > avoidS)) return d;
    }
    return this.freeSpot(p, n, avoidS, avoidE);
  }

  /** Arguments Linux rejects outright (portable even though outside the window). */
  private invalid(p: Proc): void {
    const r = this.rng;
    const inWin = addrOf(this.somePage());
    const huge = r.pick([TASK_SIZE, TASK_SIZE + PAGE, 0x800000000000n, U64 - PAGE + 1n]);
    // Lengths that wrap past 2^64 from any address used here.
    const wrap = r.pick([U64, U64 - PAGE + 1n, U64 - 0x10000n]);
    const unaligned = inWin + BigInt(r.range(1, 4095));
    const prot = r.weighted(PROT_WEIGHTS);
    switch (r.int(16)) {
      case 0: return this.mmap(p, 0n, PAGE * BigInt(r.range(1, 2)), prot, r.chance(0.5), r.chance(0.5)); // EPERM
      case 1: return this.mmap(p, unaligned, PAGE, prot, r.chance(0.5), r.chance(0.5));
      case 2: return this.mmap(p, inWin, 0n, prot, r.chance(0.5), r.chance(0.5));
      case 3: return this.mmap(p, huge, PAGE, prot, r.chance(0.5), r.chance(0.5));
      case 4: return this.mmap(p, inWin, wrap, prot, r.chance(0.5), r.chance(0.5));
      case 5: {
        const f = this.file();
        const off = r.chance(0.5) ? BigInt(r.range(1, 4095)) : r.pick([1n << 63n, U64 - PAGE + 1n]);
        return this.mmap(p, inWin, PAGE, prot, r.chance(0.5), r.chance(0.5), f, off);
      }
      case 6: return this.munmap(p, unaligned, PAGE);
      case 7: return this.munmap(p, inWin, 0n);
      case 8: return this.munmap(p, r.chance(0.5) ? huge : inWin, r.chance(0.5) ? wrap : PAGE);
      case 9: return this.mprotect(p, unaligned, PAGE, prot);
      case 10: return this.mprotect(p, r.chance(0.5) ? huge : inWin, r.chance(0.5) ? wrap : PAGE, prot);
      case 11: return this.madvise(p, unaligned, PAGE, this.advice());
      case 12: return this.madvise(p, r.chance(0.5) ? huge : inWin, r.chance(0.5) ? wrap : PAGE, this.advice());
      case 13: return this.mprotect(p, inWin, 0n, prot);
      case 14: return this.madvise(p, inWin, 0n, this.advice());
      default: {
        const v = r.int(3);
        if (v === 0) return this.mremap(p, inWin, PAGE, 0n);
        if (v === 1) return this.mremap(p, unaligned, PAGE, PAGE);
        return this.mremap(p, inWin, PAGE, U64 - BigInt(r.int(4095))); // PAGE_ALIGN wraps to 0
      }
    }
  }

  /** A free run of n pages in the low area (or a fixed spot to replace). */
  private slot(p: Proc, n: number): [number, boolean] {
    for (let tries = 0; tries < 20; tries++) {
      const d = this.rng.int(LOW);
      if (this.isFree(p, d, d + n)) return [d, false];
    }
    return [this.rng.int(LOW), true];
  }

  /** fwrite/fread/read/write around a private and a shared file mapping, before and after COW. */
  private cowScenario(): void {
    const r = this.rng;
    const p = this.proc();
    let f = this.file();
    if (f.size < 2n * PAGE || f.size >= 1n << 44n) {
      if (r.chance(0.5) && this.files.length < MAX_FILES) f = this.newFile(2n * PAGE + BigInt(r.int(3)) * PAGE);
      else this.ftruncate(f, 2n * PAGE + BigInt(r.int(2)) * 0x800n);
    }
    const [s, fixed] = this.slot(p, 2);
    const a = addrOf(s);
    const o = BigInt(r.range(0, 1023)) * 4n;
    this.mmap(p, a, 2n * PAGE, r.chance(0.8) ? 'rw' : 'r', false, fixed, f, 0n);
    this.fwrite(f, o, this.value());
    this.read(p, a + o);
    this.write(p, a + o, this.value()); // copy-on-write (or SIGSEGV if read-only)
    this.fwrite(f, o, this.value());
    this.read(p, a + o);
    this.fread(f, o);
    this.read(p, a + PAGE + o);
    this.fwrite(f, PAGE + o, this.value());
    this.read(p, a + PAGE + o);
    if (this.full) return;
    const [s2, fixed2] = this.slot(p, 2);
    const b = addrOf(s2);
    this.mmap(p, b, 2n * PAGE, 'rw', true, fixed2, f, 0n);
    this.write(p, b + o, this.value());
    this.fread(f, o);
    this.read(p, a + o);
    if (this.procs.length < MAX_LIVE[this.profile] + 2) {
      const c = this.fork(p);
      this.write(c, a + PAGE + o, this.value());
      this.read(p, a + PAGE + o);
      this.write(c, b + PAGE + o, this.value());
      this.fread(f, PAGE + o);
    }
  }

  /** Shrink a mapped file under shared and private mappings, touch past EOF, grow it again. */
  private truncateScenario(): void {
    const r = this.rng;
    const p = this.proc();
    const f = this.files.length < MAX_FILES ? this.newFile(3n * PAGE) : this.rng.pick(this.files);
    if (f.size !== 3n * PAGE) this.ftruncate(f, 3n * PAGE);
    const [s, fixed] = this.slot(p, 3);
    const [s2, fixed2] = this.slot(p, 3);
    const a = addrOf(s);
    const b = addrOf(s2);
    this.mmap(p, a, 3n * PAGE, 'rw', true, fixed, f, 0n);
    this.mmap(p, b, 3n * PAGE, 'rw', false, fixed2, f, 0n);
    this.write(p, a + 2n * PAGE + 8n, this.value());
    this.write(p, a + PAGE + 0xff0n, this.value());
    this.write(p, b + PAGE + 0xff0n, this.value());
    const cut = PAGE + BigInt(r.range(0, 0x3ff)) * 4n;
    this.ftruncate(f, cut);
    this.read(p, a + 2n * PAGE + 8n); // SIGBUS
    this.read(p, a + PAGE + 0xff0n); // zeroed past EOF in the page cache
    this.read(p, b + PAGE + 0xff0n); // the private copy keeps its bytes
    this.read(p, b + 2n * PAGE); // SIGBUS
    this.write(p, a + PAGE + 0xffcn, this.value()); // past EOF inside the last page
    this.fread(f, cut - (cut % 4n));
    this.ftruncate(f, 3n * PAGE + BigInt(r.int(2)) * PAGE);
    this.read(p, a + PAGE + 0xffcn); // ext4 zeroes it on growth
    this.read(p, a + 2n * PAGE + 8n);
    this.read(p, b + 2n * PAGE);
  }

  /** Writes to read-only and `none` pages, mprotect across a hole. */
  private protectScenario(): void {
    const r = this.rng;
    const p = this.proc();
    const [s, fixed] = this.slot(p, 4);
    const a = addrOf(s);
    this.mmap(p, a, 4n * PAGE, 'rw', r.chance(0.3), fixed);
    this.write(p, a + 4n, this.value());
    this.mprotect(p, a, PAGE, 'r');
    this.write(p, a + 4n, this.value()); // SIGSEGV
    this.read(p, a + 4n);
    this.mprotect(p, a + PAGE, PAGE, 'none');
    this.read(p, a + PAGE); // SIGSEGV
    this.munmap(p, a + 2n * PAGE, PAGE);
    this.mprotect(p, a + PAGE, 3n * PAGE, 'rw'); // applies to one page, then ENOMEM
    this.write(p, a + PAGE, this.value());
    this.write(p, a + 3n * PAGE, this.value()); // unchanged: still rw
    this.mprotect(p, a + 2n * PAGE, 2n * PAGE, 'r'); // starts in the hole: nothing changes
    this.write(p, a + 3n * PAGE + 4n, this.value());
  }
}

function generate(opts: GenOptions, sink: (cmd: Command) => void): void {
  const profile = opts.profile ?? 'mixed';
  if (!PROFILES.includes(profile)) throw new RangeError(`unknown profile '${String(profile)}'`);
  if (!Number.isSafeInteger(opts.ops) || opts.ops < 0) throw new RangeError(`ops must be a non-negative integer, got ${opts.ops}`);
  new Generator(new Rng(opts.seed), profile, opts.quirks ?? false, opts.ops, sink).run();
}

/** The commands of a generated trace (line numbers 1..ops, the comment line not counted). */
export function generateCommands(opts: GenOptions): Command[] {
  const out: Command[] = [];
  generate(opts, (c) => out.push(c));
  return out;
}

/** The comment line a generated trace starts with. */
export function traceHeader(opts: GenOptions): string {
  return `# vmtree gen --seed ${opts.seed} --ops ${opts.ops} --profile ${opts.profile ?? 'mixed'}${opts.quirks ? ' --quirks' : ''}`;
}

/**
 * Generate a trace piece by piece, for traces too big to hold as one string:
 * `write` gets the header line, then one or more lines at a time, each
 * piece ending in a newline.
 */
export function streamTrace(opts: GenOptions, write: (text: string) => void): void {
  let parts: string[] = [traceHeader(opts), '\n'];
  let size = 0;
  generate(opts, (c) => {
    const line = printCommand(c);
    parts.push(line, '\n');
    size += line.length + 1;
    if (size >= 1 << 16) {
      write(parts.join(''));
      parts = [];
      size = 0;
    }
  });
  if (parts.length > 0) write(parts.join(''));
}

/** A generated trace: one comment line naming the options, then `ops` commands. */
export function generateTrace(opts: GenOptions): string {
  const parts: string[] = [];
  streamTrace(opts, (t) => parts.push(t));
  return parts.join('');
}
