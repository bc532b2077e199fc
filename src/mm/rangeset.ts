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
