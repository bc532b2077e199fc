// The grid of a parameter sweep: `--param k=a..b[:step|*factor]` values
// crossed with each other and with the designs, cut into shards.
//
// Pure functions, so the grammar and the order of cells are unit-tested
// without running anything.

/** One parameter's values, in the order given. */
export interface Axis {
  name: string;
  values: number[];
}

/** The most values one `--param` may expand to (a typo like `1..1e9` fails fast). */
export const MAX_AXIS_VALUES = 10_000;

/**
 * Parse `k=SPEC` where SPEC is one of
 *   `v`            one value
 *   `v1,v2,...`    a list
 *   `a..b`         a to b in steps of 1
 *   `a..b:step`    a, a+step, ... up to b
 *   `a..b*factor`  a, a*factor, ... up to b (factor > 1)
 * Integers only (decimal). The upper bound is included when the sequence
 * reaches it. Throws an Error with a one-line message on bad input.
 */
export function parseAxis(text: string): Axis {
  const m = /^([A-Za-z][A-Za-z0-9]*)=(.+)$/.exec(text);
  if (m === null) throw new Error(`--param takes NAME=VALUE or NAME=A..B[:STEP|*FACTOR], got '${text}'`);
  const name = m[1]!;
  const spec = m[2]!;
  const int = (s: string, what: string): number => {
    if (!/^[0-9]+$/.test(s) || !Number.isSafeInteger(Number(s))) {
      throw new Error(`--param ${name}: ${what} must be a non-negative integer, got '${s}'`);
    }
    return Number(s);
  };
  const range = /^([0-9]+)\.\.([0-9]+)(?:([:*])([0-9]+))?$/.exec(spec);
  let values: number[];
  if (range !== null) {
    const a = int(range[1]!, 'the start');
    const b = int(range[2]!, 'the end');
    if (b < a) throw new Error(`--param ${name}: the range ${a}..${b} is empty (the end is below the start)`);
    const op = range[3] ?? ':';
    const by = range[4] === undefined ? 1 : int(range[4], op === ':' ? 'the step' : 'the factor');
    values = [];
    if (op === ':') {
      if (by < 1) throw new Error(`--param ${name}: the step must be at least 1`);
      for (let v = a; v <= b; v += by) {
        values.push(v);
        if (values.length > MAX_AXIS_VALUES) break;
      }
    } else {
      if (by < 2) throw new Error(`--param ${name}: the factor must be at least 2`);
      if (a === 0) throw new Error(`--param ${name}: a geometric range must start above 0`);
      for (let v = a; v <= b; v *= by) values.push(v);
    }
  } else if (/^[0-9]+(,[0-9]+)*$/.test(spec)) {
    values = spec.split(',').map((s) => int(s, 'a value'));
  } else {
    throw new Error(`--param ${name}: '${spec}' is not a value, a list V1,V2,... or a range A..B[:STEP|*FACTOR]`);
  }
  if (values.length > MAX_AXIS_VALUES) throw new Error(`--param ${name}: more than ${MAX_AXIS_VALUES} values`);
  return { name, values };
}

/** One point of the grid: a value for every axis, and a design. */
export interface Cell {
  /** Position in the whole grid (before sharding), from 0. */
  index: number;
  params: Record<string, number>;
  design: string;
}

/**
 * Every combination of the axes' values, crossed with the designs. The
 * first axis varies slowest and the designs fastest, so the rows for one
 * parameter point sit together, designs in the order given.
 */
export function expandGrid(axes: readonly Axis[], designs: readonly string[]): Cell[] {
  const seen = new Set<string>();
  for (const a of axes) {
    if (seen.has(a.name)) throw new Error(`--param ${a.name} given twice`);
    seen.add(a.name);
  }
  let points: Record<string, number>[] = [{}];
  for (const a of axes) points = points.flatMap((p) => a.values.map((v) => ({ ...p, [a.name]: v })));
  const cells: Cell[] = [];
  for (const params of points) for (const design of designs) cells.push({ index: cells.length, params, design });
  return cells;
}

/** `I/N`, 1 <= I <= N: shard I of N. */
export interface Shard {
  index: number;
  count: number;
}

export function parseShard(text: string): Shard {
  const m = /^([0-9]+)\/([0-9]+)$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!(count >= 1) || !(index >= 1) || index > count || !Number.isSafeInteger(count)) {
    throw new Error(`--shard takes I/N with 1 <= I <= N (shard I of N), got '${text}'`);
  }
  return { index, count };
}

/**
 * The cells of shard I of N: every N-th cell starting at the (I-1)-th.
 * Round-robin rather than contiguous blocks, because cost grows along an
 * axis: blocks would give the last shard all the big cells. The N shards
 * together hold every cell exactly once; each row carries its `cell`
 * index, so sorting concatenated outputs restores the grid's order.
 */
export function shardCells<T extends { index: number }>(cells: readonly T[], shard: Shard): T[] {
  return cells.filter((c) => c.index % shard.count === shard.index - 1);
}
