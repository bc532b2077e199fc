// A set of integers stored as sorted, disjoint, non-adjacent [lo, hi)
// intervals. Small and plain: the sets it is used for (whiteouts in an
// address_space) hold a handful of intervals, but each interval may cover
// 2^34 pages, so membership is never stored per element.

export class RangeSet {
  /** Flattened [lo0, hi0, lo1, hi1, ...], ascending. */
  private r: number[] = [];

  get empty(): boolean {
    return this.r.length === 0;
  }

  has(x: number): boolean {
    const r = this.r;
    // Binary search for the last interval with lo <= x.
    let a = 0;
    let b = r.length / 2 - 1;
    while (a <= b) {
      const m = (a + b) >> 1;
      if (r[2 * m]! <= x) a = m + 1;
      else b = m - 1;
    }
    return b >= 0 && x < r[2 * b + 1]!;
  }

  add(lo: number, hi: number): void {
    if (hi <= lo) return;
    const out: number[] = [];
    const r = this.r;
    let i = 0;
    while (i < r.length && r[i + 1]! < lo) {
      out.push(r[i]!, r[i + 1]!);
      i += 2;
    }
    while (i < r.length && r[i]! <= hi) {
      lo = Math.min(lo, r[i]!);
      hi = Math.max(hi, r[i + 1]!);
      i += 2;
    }
    out.push(lo, hi);
    for (; i < r.length; i++) out.push(r[i]!);
    this.r = out;
  }

  remove(lo: number, hi: number): void {
    if (hi <= lo) return;
    const out: number[] = [];
    const r = this.r;
    for (let i = 0; i < r.length; i += 2) {
      const a = r[i]!;
      const b = r[i + 1]!;
      if (b <= lo || a >= hi) {
        out.push(a, b);
        continue;
      }
      if (a < lo) out.push(a, lo);
      if (b > hi) out.push(hi, b);
    }
    this.r = out;
  }

  /** Intervals as [lo, hi) pairs. */
  intervals(): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < this.r.length; i += 2) out.push([this.r[i]!, this.r[i + 1]!]);
    return out;
  }
}

/** Flattened sorted interval lists ([lo0, hi0, lo1, hi1, ...]): set algebra in one pass. */
export const Intervals = {
  /** Union of two interval lists. */
  union(a: readonly number[], b: readonly number[]): number[] {
    const all: [number, number][] = [];
    for (let i = 0; i < a.length; i += 2) all.push([a[i]!, a[i + 1]!]);
    for (let i = 0; i < b.length; i += 2) all.push([b[i]!, b[i + 1]!]);
    all.sort((x, y) => x[0] - y[0]);
    const out: number[] = [];
    for (const [lo, hi] of all) {
      if (out.length > 0 && lo <= out[out.length - 1]!) out[out.length - 1] = Math.max(out[out.length - 1]!, hi);
      else out.push(lo, hi);
    }
    return out;
  },

  /** a minus b. */
  subtract(a: readonly number[], b: readonly number[]): number[] {
    const out: number[] = [];
    let j = 0;
    for (let i = 0; i < a.length; i += 2) {
      let lo = a[i]!;
      const hi = a[i + 1]!;
      while (j < b.length && b[j + 1]! <= lo) j += 2;
      let k = j;
      while (lo < hi && k < b.length && b[k]! < hi) {
        if (b[k]! > lo) out.push(lo, b[k]!);
        lo = Math.max(lo, b[k + 1]!);
        k += 2;
      }
      if (lo < hi) out.push(lo, hi);
    }
    return out;
  },

  /** Whether x lies in the list (binary search). */
  has(a: readonly number[], x: number): boolean {
    let lo = 0;
    let hi = a.length / 2 - 1;
    while (lo <= hi) {
      const m = (lo + hi) >> 1;
      if (a[2 * m]! <= x) lo = m + 1;
      else hi = m - 1;
    }
    return hi >= 0 && x < a[2 * hi + 1]!;
  },

  /** Sorted distinct integers as unit intervals, merged. */
  fromPoints(points: number[]): number[] {
    points.sort((x, y) => x - y);
    const out: number[] = [];
    for (const p of points) {
      if (out.length > 0 && out[out.length - 1] === p) out[out.length - 1] = p + 1;
      else out.push(p, p + 1);
    }
    return out;
  },
};

/** The flattened intervals of a RangeSet. */
export function rangeSetIntervals(r: RangeSet | null): number[] {
  return r === null ? [] : r.intervals().flat();
}
