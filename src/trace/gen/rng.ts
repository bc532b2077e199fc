// The generator's PRNG: xoshiro128** seeded through splitmix64.
//
// Our own, so that a seed gives the same trace on every platform and Node
// version: nothing here depends on Math.random. The exact sequence of draws
// is part of the generator's contract (`vmtree gen --seed N` must print the
// same trace forever), so neither the algorithm nor the way `int`, `chance`,
// `pick` and `weighted` consume draws may change.

import { U64 } from '../../mm/constants.js';

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
