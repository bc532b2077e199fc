// The generator's choices of arguments: which process and file, what value,
// which pages to map, unmap or protect, which offsets to read and write.
//
// Why these shapes: bugs live at edges, so targets lean towards them:
// adjacent to a mapping (merge candidates), overlapping one, across a hole,
// starting in a hole, at the top of the window, at and just past a file's
// end, sizes that ext4 or off_t reject. Each chooser only draws from the
// PRNG and reads the model; the one exception is that asking for a process
// or a file when there is none creates one (proc, file), as a user would.

import type { Advice } from '../ast.js';
import { PAGE_SIZE_BIG as PAGE, U64 } from '../../mm/constants.js';
import { addrOf, extents, isFree, mappedPages, pagesUp, WIN_PAGES, type FileState, type Proc } from './pages.js';
import { ADVICE_WEIGHTS, MAX_FILES, type Profile } from './policy.js';
import type { Rng } from './rng.js';
import type { Model } from './vma-model.js';

/** Where most addresses are picked: the first LOW pages of the window... */
export const LOW = 64;
/** ...and sometimes the last HIGH pages (mappings ending at the window's end). */
const HIGH = 12;

export class Choosers {
  private valCounter = 0;

  constructor(
    private readonly rng: Rng,
    private readonly m: Model,
    private readonly profile: Profile,
  ) {}

  /** A live process; spawns one if none is alive. */
  proc(): Proc {
    if (this.m.procs.length === 0) return this.m.spawn();
    return this.rng.pick(this.m.procs);
  }

  /** A declared file; declares one if there is none (or sometimes anyway). */
  file(): FileState {
    if (this.m.files.length === 0 || (this.m.files.length < MAX_FILES && this.rng.chance(0.05))) {
      return this.m.newFile(this.fileSize());
    }
    return this.rng.pick(this.m.files);
  }

  value(): number {
    const k = this.rng.int(20);
    if (k < 12) return this.rng.range(1, 999);
    if (k < 15) return ++this.valCounter * 1000;
    if (k < 17) return 0;
    if (k < 18) return 0xffffffff;
    return this.rng.u32();
  }

  advice(): Advice {
    return this.rng.weighted(ADVICE_WEIGHTS[this.profile === 'forky' ? 'forky' : 'other']);
  }

  /** A page index: mostly the low pages of the window, sometimes its top. */
  somePage(): number {
    return this.rng.chance(0.9) ? this.rng.int(LOW) : WIN_PAGES - 1 - this.rng.int(HIGH);
  }

  clampLen(s: number, n: number): number {
    return Math.max(1, Math.min(n, WIN_PAGES - s));
  }

  private smallLen(min = 1): number {
    const k = this.rng.int(10);
    const n = k < 4 ? 1 : k < 7 ? 2 : k < 9 ? 3 : this.rng.range(4, 8);
    return Math.max(min, n);
  }

  /** Where to mmap: a free spot, right after a mapping, or over one. */
  mmapTarget(p: Proc): [number, number] {
    const n0 = this.smallLen();
    const ext = extents(p);
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
  rangeTarget(p: Proc, minPages: number): [number, number] {
    const ext = extents(p);
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

  fileSize(f?: FileState): bigint {
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
  fileOffset(f: FileState): bigint {
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
  mapOffset(f: FileState): bigint {
    const k = this.rng.int(40);
    if (k < 38) return BigInt(this.rng.int(Number(pagesUp(f.size)) + 2)) * PAGE;
    if (k < 39) return 1n << 62n; // maps fine, every access past EOF
    return 1n << 44n;
  }

  /** An address to read or write: mostly in a mapped page. */
  accessAddr(p: Proc): bigint {
    const mapped = mappedPages(p);
    const page = mapped.length > 0 && this.rng.chance(0.8) ? this.rng.pick(mapped) : this.somePage();
    const off = this.rng.pick([0, 0, 0, 4, 0x10, 0x800, 0xffc, this.rng.int(1024) * 4]);
    return addrOf(page) + BigInt(off);
  }

  /** A free spot of n pages not touching [avoidS, avoidE). */
  freeSpot(p: Proc, n: number, avoidS: number, avoidE: number): number | undefined {
    for (let tries = 0; tries < 20; tries++) {
      const d = this.somePage();
      if (d + n > WIN_PAGES) continue;
      if (d < avoidE && d + n > avoidS) continue;
      if (isFree(p, d, d + n)) return d;
    }
    // Past everything in the low area.
    const top = Math.max(LOW, ...mappedPages(p).filter((x) => x < LOW * 4).map((x) => x + 1));
    return top + n <= WIN_PAGES && !(top < avoidE && top + n > avoidS) && isFree(p, top, top + n) ? top : undefined;
  }

  /** A spot of n pages over some other mapping, not touching [avoidS, avoidE). */
  overSpot(p: Proc, n: number, avoidS: number, avoidE: number): number | undefined {
    const mapped = mappedPages(p).filter((x) => x + n <= avoidS || x >= avoidE);
    for (let tries = 0; tries < 10 && mapped.length > 0; tries++) {
      const d = Math.max(0, this.rng.pick(mapped) - this.rng.int(2));
      if (d + n <= WIN_PAGES && !(d < avoidE && d + n > avoidS)) return d;
    }
    return this.freeSpot(p, n, avoidS, avoidE);
  }

  /** A free run of n pages in the low area (or a fixed spot to replace). */
  slot(p: Proc, n: number): [number, boolean] {
    for (let tries = 0; tries < 20; tries++) {
      const d = this.rng.int(LOW);
      if (isFree(p, d, d + n)) return [d, false];
    }
    return [this.rng.int(LOW), true];
  }
}
