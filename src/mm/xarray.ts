// A sparse array indexed by page offset, for an address_space's pages
// (the kernel keeps a file's page cache in an xarray for the same reason).
//
// Indices go up to 2^35 (a 2^47-byte address space), past V8's small
// integers, so a Map keyed by index would box every key. Two levels
// instead: a Map from index / 64 (small) to a chunk of 64 slots. Lookups
// allocate nothing; a chunk goes away with its last entry.

const CHUNK = 64;

class Chunk<T> {
  readonly slots: (T | undefined)[] = new Array<T | undefined>(CHUNK).fill(undefined);
  count = 0;
  /**
   * Which slots hold an entry: bit i of `lo` for slot i < 32, bit i - 32 of
   * `hi` for the others. Iteration visits set bits only, so walking a chunk
   * with few entries costs what its entries cost, not 64 slot checks.
   */
  lo = 0;
  hi = 0;
}

/** The occupancy bits of c's half starting at slot `off` (0 or 32) for slots in [a, b). */
function occupied<T>(c: Chunk<T>, off: number, a: number, b: number): number {
  if (b <= off || a >= off + 32) return 0;
  let m = off === 0 ? c.lo : c.hi;
  const from = Math.max(a - off, 0);
  const to = Math.min(b - off, 32);
  if (from > 0) m &= ~((1 << from) - 1);
  if (to < 32) m &= (1 << to) - 1;
  return m;
}

/**
 * Call fn(base + slot, value) for every entry of chunk c whose slot is in
 * [a, b). The masks are read once: fn may delete the entry it is given.
 */
function visitChunk<T>(c: Chunk<T>, base: number, a: number, b: number, fn: (index: number, value: T) => void): void {
  for (let half = 0; half < 2; half++) {
    const off = half * 32;
    let m = occupied(c, off, a, b);
    while (m !== 0) {
      const bit = 31 - Math.clz32(m & -m);
      m &= m - 1;
      const v = c.slots[off + bit];
      if (v !== undefined) fn(base + off + bit, v);
    }
  }
}

export class XArray<T> {
  private readonly chunks = new Map<number, Chunk<T>>();
  private n = 0;
  /**
   * The chunk last looked up (its number, -1: none) and it, undefined if it
   * does not exist: a run of faults through one chunk (the common case:
   * a fault looks an index up, then sets it) costs one Map lookup per
   * CHUNK indices instead of two or three per index.
   */
  private lastCi = -1;
  private lastChunk: Chunk<T> | undefined = undefined;
  /**
   * Bounds of the indices set since the array was last empty: every entry
   * is in [minIndex, maxIndex] (deletions leave them wide, never wrong), so
   * that allWithin() can answer without a walk in the usual case.
   */
  private minIndex = Infinity;
  private maxIndex = -Infinity;

  get size(): number {
    return this.n;
  }

  private chunk(ci: number): Chunk<T> | undefined {
    if (ci === this.lastCi) return this.lastChunk;
    const c = this.chunks.get(ci);
    this.lastCi = ci;
    this.lastChunk = c;
    return c;
  }

  // Indices pass 2^31 (an anonymous page's index is its address / 4096),
  // so they are doubles to V8: `index % CHUNK` would be a floating-point
  // remainder (a call out of generated code); index - ci * CHUNK is exact.

  get(index: number): T | undefined {
    const ci = Math.floor(index / CHUNK);
    const c = this.chunk(ci);
    return c === undefined ? undefined : c.slots[index - ci * CHUNK];
  }

  has(index: number): boolean {
    return this.get(index) !== undefined;
  }

  set(index: number, value: T): void {
    const ci = Math.floor(index / CHUNK);
    let c = this.chunk(ci);
    if (c === undefined) {
      c = new Chunk<T>();
      this.chunks.set(ci, c);
      this.lastChunk = c;
    }
    const i = index - ci * CHUNK;
    if (c.slots[i] === undefined) {
      c.count++;
      this.n++;
      if (i < 32) c.lo |= 1 << i;
      else c.hi |= 1 << (i - 32);
    }
    c.slots[i] = value;
    if (index < this.minIndex) this.minIndex = index;
    if (index > this.maxIndex) this.maxIndex = index;
  }

  delete(index: number): boolean {
    const ci = Math.floor(index / CHUNK);
    const c = this.chunk(ci);
    if (c === undefined) return false;
    const i = index - ci * CHUNK;
    if (c.slots[i] === undefined) return false;
    this.removeSlot(ci, c, i);
    return true;
  }

  /** Empty the occupied slot i of chunk ci (c), dropping the chunk with its last entry. */
  private removeSlot(ci: number, c: Chunk<T>, i: number): void {
    c.slots[i] = undefined;
    if (i < 32) c.lo &= ~(1 << i);
    else c.hi &= ~(1 << (i - 32));
    if (--this.n === 0) {
      this.minIndex = Infinity;
      this.maxIndex = -Infinity;
    }
    if (--c.count === 0) {
      this.chunks.delete(ci);
      if (this.lastCi === ci) this.lastChunk = undefined;
    }
  }

  clear(): void {
    this.chunks.clear();
    this.n = 0;
    this.minIndex = Infinity;
    this.maxIndex = -Infinity;
    this.lastCi = -1;
    this.lastChunk = undefined;
  }

  /**
   * Call fn(index, value) for every entry with lo <= index < hi. fn may
   * delete the entry it is given.
   */
  forRange(lo: number, hi: number, fn: (index: number, value: T) => void): void {
    if (hi <= lo || this.n === 0) return;
    const first = Math.floor(lo / CHUNK);
    const last = Math.floor((hi - 1) / CHUNK);
    const keys = last - first + 1 > this.chunks.size
      ? [...this.chunks.keys()].filter((k) => k >= first && k <= last)
      : null;
    const visit = (ci: number): void => {
      const c = this.chunks.get(ci);
      if (c === undefined) return;
      const base = ci * CHUNK;
      visitChunk(c, base, Math.max(lo, base) - base, Math.min(hi, base + CHUNK) - base, fn);
    };
    if (keys !== null) for (const ci of keys) visit(ci);
    else for (let ci = first; ci <= last; ci++) visit(ci);
  }

  /**
   * Remove every entry with lo <= index < hi, calling fn(value) for each
   * as it goes, in forRange's order. fn gets no index: indices pass 2^31,
   * so each one handed to a callback would be a boxed double (at an exit
   * of 10^6 pages, tens of MB of garbage); a value (a pfn, a swap slot) is
   * a small integer.
   */
  takeRange(lo: number, hi: number, fn: (value: T) => void): void {
    if (hi <= lo || this.n === 0) return;
    const first = Math.floor(lo / CHUNK);
    const last = Math.floor((hi - 1) / CHUNK);
    if (last - first + 1 > this.chunks.size) {
      for (const ci of [...this.chunks.keys()]) if (ci >= first && ci <= last) this.takeChunk(ci, lo, hi, fn);
    } else {
      for (let ci = first; ci <= last; ci++) this.takeChunk(ci, lo, hi, fn);
    }
  }

  /** takeRange() over every entry, in forEach's order. */
  takeAll(fn: (value: T) => void): void {
    for (const ci of [...this.chunks.keys()]) this.takeChunk(ci, -Infinity, Infinity, fn);
  }

  /** Remove chunk ci's entries in [lo, hi), ascending, calling fn(value) for each after it is removed. */
  private takeChunk(ci: number, lo: number, hi: number, fn: (value: T) => void): void {
    const c = this.chunks.get(ci);
    if (c === undefined) return;
    const base = ci * CHUNK;
    const a = Math.max(lo, base) - base;
    const b = Math.min(hi, base + CHUNK) - base;
    for (let half = 0; half < 2; half++) {
      const off = half * 32;
      let m = occupied(c, off, a, b);
      while (m !== 0) {
        const bit = 31 - Math.clz32(m & -m);
        m &= m - 1;
        const i = off + bit;
        const v = c.slots[i];
        if (v === undefined) continue;
        this.removeSlot(ci, c, i);
        fn(v);
      }
    }
  }

  /**
   * Whether every entry has lo <= index < hi: from the bounds alone when
   * they lie inside, else by looking at the parts of them outside.
   */
  allWithin(lo: number, hi: number): boolean {
    if (this.n === 0 || (this.minIndex >= lo && this.maxIndex < hi)) return true;
    let any = false;
    const seen = (): void => {
      any = true;
    };
    if (this.minIndex < lo) this.forRange(this.minIndex, Math.min(lo, this.maxIndex + 1), seen);
    if (!any && this.maxIndex >= hi) this.forRange(Math.max(hi, this.minIndex), this.maxIndex + 1, seen);
    return !any;
  }

  /** Call fn(index, value) for every entry. fn may delete the entry it is given. */
  forEach(fn: (index: number, value: T) => void): void {
    for (const ci of [...this.chunks.keys()]) {
      const c = this.chunks.get(ci);
      if (c === undefined) continue;
      visitChunk(c, ci * CHUNK, 0, CHUNK, fn);
    }
  }

  values(): T[] {
    const out: T[] = [];
    this.forEach((_, v) => out.push(v));
    return out;
  }
}
