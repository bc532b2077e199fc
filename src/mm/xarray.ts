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
}

export class XArray<T> {
  private readonly chunks = new Map<number, Chunk<T>>();
  private n = 0;

  get size(): number {
    return this.n;
  }

  get(index: number): T | undefined {
    const c = this.chunks.get(Math.floor(index / CHUNK));
    return c === undefined ? undefined : c.slots[index % CHUNK];
  }

  has(index: number): boolean {
    return this.get(index) !== undefined;
  }

  set(index: number, value: T): void {
    const ci = Math.floor(index / CHUNK);
    let c = this.chunks.get(ci);
    if (c === undefined) {
      c = new Chunk<T>();
      this.chunks.set(ci, c);
    }
    const i = index % CHUNK;
    if (c.slots[i] === undefined) {
      c.count++;
      this.n++;
    }
    c.slots[i] = value;
  }

  delete(index: number): boolean {
    const ci = Math.floor(index / CHUNK);
    const c = this.chunks.get(ci);
    if (c === undefined) return false;
    const i = index % CHUNK;
    if (c.slots[i] === undefined) return false;
    c.slots[i] = undefined;
    this.n--;
    if (--c.count === 0) this.chunks.delete(ci);
    return true;
  }

  clear(): void {
    this.chunks.clear();
    this.n = 0;
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
      const a = Math.max(lo, base) - base;
      const b = Math.min(hi, base + CHUNK) - base;
      for (let i = a; i < b; i++) {
        const v = c.slots[i];
        if (v !== undefined) fn(base + i, v);
      }
    };
    if (keys !== null) for (const ci of keys) visit(ci);
    else for (let ci = first; ci <= last; ci++) visit(ci);
  }

  /** Call fn(index, value) for every entry. fn may delete the entry it is given. */
  forEach(fn: (index: number, value: T) => void): void {
    for (const ci of [...this.chunks.keys()]) {
      const c = this.chunks.get(ci);
      if (c === undefined) continue;
      const base = ci * CHUNK;
      for (let i = 0; i < CHUNK; i++) {
        const v = c.slots[i];
        if (v !== undefined) fn(base + i, v);
      }
    }
  }

  values(): T[] {
    const out: T[] = [];
    this.forEach((_, v) => out.push(v));
    return out;
  }
}
