// Shared pieces of the workload generators: the Workload types, parameter
// validation, address layout and a line buffer that writes vmtrace text.
//
// Conventions every workload follows (see the top of each workload file):
//   - Every mapping and every access lies in the portable window
//     [0x100000000000, 0x200000000000), in 1 TiB regions (region(k)), and no
//     result depends on how Linux merges vmas (no mremap), so every trace is
//     portable in the sense of docs/vmtrace.md.
//   - Values are stored at the first word of a page and are chosen to be
//     readable in decimal: a base value `p + 1` for page p of an image or
//     heap, `id * 1000000 + p` for a write by process number `id`, and so on.
//     Parameter limits keep every value below 2^32 and keep the kinds of
//     values apart.
//   - Every `read` carries a `# expect V` comment: the value Linux (and any
//     correct design) returns. The comment is for people reading outputs;
//     nothing parses it.
//   - A trace ends with a few reads and then exits every process, so that
//     frames a design fails to free show up in its statistics. It never
//     uses `frames`, which reads every page and is too slow for big runs.
//   - No randomness: the same parameters always give the same text.

import { PAGE_SIZE as PAGE, WINDOW_END, WINDOW_START } from '../mm/constants.js';

export interface WorkloadParam {
  name: string;
  default: number;
  description: string;
  min?: number;
  max?: number;
}

export interface Workload {
  name: string;
  description: string;
  params: readonly WorkloadParam[];
  /** The trace text for these parameters (missing ones take their defaults). Throws on bad values. */
  generate(params: Record<string, number>): string;
}

/** The page size and the window, as the workloads name them (one definition: src/mm/constants.ts). */
export { PAGE, WINDOW_END, WINDOW_START };
/** The window is cut into 16 regions of 1 TiB (2^28 pages) each. */
export const REGION_SIZE = 0x100_0000_0000;
/** Upper limit of every page-count parameter: page values (p + 1) stay below 1000000. */
export const MAX_PAGES = 500_000;
/** Stored values of the form `id * 1000000 + page` need id <= 4000 (4000999999 < 2^32). */
export const MAX_IDS = 4000;
export const MILLION = 1_000_000;

export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** Start address of region k (0..15) of the window. */
export function region(k: number): number {
  if (!Number.isInteger(k) || k < 0 || k >= 16) throw new Error(`region ${k} outside the window`);
  return WINDOW_START + k * REGION_SIZE;
}

/** Hex addresses of the first `pages` pages from `base`, computed once. */
export function pageAddrs(base: number, pages: number): string[] {
  const out = new Array<string>(pages);
  for (let p = 0; p < pages; p++) out[p] = hex(base + p * PAGE);
  return out;
}

/** `count` page indices spread evenly over [0, total), rotated by `shift`: all distinct. */
export function spread(total: number, count: number, shift: number): number[] {
  const n = Math.min(count, total);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = (Math.floor((i * total) / n) + shift) % total;
  return out;
}

/** round(total * percent / 100) in exact integer arithmetic (half rounds up). */
export function percentOf(total: number, percent: number): number {
  return Math.floor((total * percent * 2 + 100) / 200);
}

/** Lines of a trace, joined once at the end. */
export class TraceText {
  private readonly lines: string[] = [];

  line(s: string): void {
    this.lines.push(s);
  }

  comment(s: string): void {
    this.lines.push(`# ${s}`);
  }

  /** A read with the value it must return. */
  read(proc: string, addr: string, expect: number): void {
    this.lines.push(`${proc} read ${addr}  # expect ${expect}`);
  }

  text(): string {
    return this.lines.join('\n') + '\n';
  }
}

/** Resolved parameters: every declared parameter has a value. */
export type Params = Readonly<Record<string, number>>;

export interface WorkloadSpec {
  name: string;
  description: string;
  params: readonly WorkloadParam[];
  /** Cross-parameter constraint: a message if the combination is invalid. */
  check?: (p: Params) => string | null;
  build(p: Params, t: TraceText): void;
}

function allowed(w: { name: string }, p: WorkloadParam): string {
  const lo = p.min ?? Number.MIN_SAFE_INTEGER;
  const hi = p.max ?? Number.MAX_SAFE_INTEGER;
  return `workload '${w.name}': parameter '${p.name}' must be an integer from ${lo} to ${hi} (default ${p.default})`;
}

/** Fill in defaults and check every value; throws an Error naming the problem. */
export function resolveParams(w: { name: string; params: readonly WorkloadParam[] }, given: Record<string, number>): Params {
  const out: Record<string, number> = {};
  for (const key of Object.keys(given)) {
    if (!w.params.some((p) => p.name === key)) {
      throw new Error(
        `workload '${w.name}' has no parameter '${key}' (parameters: ${w.params.map((p) => p.name).join(', ')})`,
      );
    }
  }
  for (const p of w.params) {
    const v = Object.prototype.hasOwnProperty.call(given, p.name) ? given[p.name]! : p.default;
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new Error(`${allowed(w, p)}, got ${String(v)}`);
    if ((p.min !== undefined && v < p.min) || (p.max !== undefined && v > p.max)) {
      throw new Error(`${allowed(w, p)}, got ${v}`);
    }
    out[p.name] = v;
  }
  return out;
}

/** Parse one parameter value given as text: a decimal integer (optionally negative) or 0x hex. */
export function parseParamValue(w: { name: string }, p: WorkloadParam, text: string): number {
  const s = text.trim();
  let v: number | null = null;
  if (/^-?[0-9]+$/.test(s)) v = Number(s);
  else if (/^0x[0-9a-fA-F]+$/.test(s)) v = Number.parseInt(s.slice(2), 16);
  if (v === null || !Number.isSafeInteger(v)) throw new Error(`${allowed(w, p)}, got '${text}' (not an integer)`);
  return v;
}

export function defineWorkload(spec: WorkloadSpec): Workload {
  const w: Workload = {
    name: spec.name,
    description: spec.description,
    params: spec.params,
    generate(given: Record<string, number>): string {
      const p = resolveParams(spec, given);
      const bad = spec.check?.(p) ?? null;
      if (bad !== null) throw new Error(`workload '${spec.name}': ${bad}`);
      const t = new TraceText();
      t.comment(`vmtree workload ${spec.name} ${spec.params.map((q) => `${q.name}=${p[q.name]}`).join(' ')}`);
      spec.build(p, t);
      return t.text();
    },
  };
  return w;
}
