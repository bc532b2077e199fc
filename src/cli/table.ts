// The cost tables' columns, cells and layout, shared by `vmtree compare`
// (src/cli/compare.ts) and the README's "Asked again in 2026" tables
// (src/bench/asked-again-2026.ts), so that a column means and prints the
// same in both and their tables can stand side by side in the README.

/** A count with thousands separators; '-' where a design has no such counter. */
export const fmt = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? '-' : x.toLocaleString('en-US'));

/** a / b to two decimals; '-' where either is missing or b is 0. */
export const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || b === 0 ? '-' : (a / b).toFixed(2);

/** Bytes in B below 10 KiB, KiB below 10 MiB, else MiB. */
export const bytes = (x: number | undefined): string =>
  x === undefined ? '-' : x < 10240 ? `${x} B` : x < 10 * 1048576 ? `${(x / 1024).toFixed(0)} KiB` : `${(x / 1048576).toFixed(1)} MiB`;

/** A cost table's column: its header, and how to compute a cell from a run's counters and time. */
export type CostColumn = readonly [string, (s: Record<string, number>, ms: number) => string];

/**
 * The columns of `vmtree compare`'s table (docs/cost-model.md); the 2026
 * tables show a subset (costColumns), so that a column means the same in
 * every table.
 */
export const COST_COLUMNS: readonly CostColumn[] = [
  ['faults', (s) => fmt(s.faults)],
  ['cow copies', (s) => fmt(s.cowCopies)],
  ['cow reuses', (s) => fmt(s.cowReuses)],
  ['swap out/in', (s) => `${fmt(s.swapOuts)}/${fmt(s.swapIns)}`],
  ['rmap walks', (s) => fmt(s.rmapWalks)],
  ['vmas/walk', (s) => ratio(s.rmapVmasVisited, s.rmapWalks)],
  ['objs/walk', (s) => ratio(s.rmapSpacesVisited, s.rmapWalks)],
  ['ptes scanned', (s) => fmt(s.ptesScanned ?? 0)],
  ['lookup steps', (s) => ratio(s.lookupStepsMean, 1)],
  ['structures peak', (s) => fmt(s.designStructuresPeak)],
  ['depth peak', (s) => (s.depthPeak === undefined ? '-' : fmt(s.depthPeak))],
  ['metadata peak', (s) => bytes(s.metadataBytesPeak)],
  ['frames peak', (s) => fmt(s.framesPeak)],
  ['ms', (_s, ms) => fmt(Math.round(ms))],
];

/** The columns of COST_COLUMNS with these headers, in this order. */
export function costColumns(...headers: string[]): CostColumn[] {
  return headers.map((h) => {
    const c = COST_COLUMNS.find(([name]) => name === h);
    if (c === undefined) throw new Error(`no cost column ${h}`);
    return c;
  });
}

/** A Markdown table under `title`: the first column left-aligned, the others right-aligned, every column padded to its widest cell. */
export function markdownTable(title: string, header: readonly string[], body: readonly string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [
    title,
    '',
    line(header),
    `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...body.map(line),
  ].join('\n');
}
