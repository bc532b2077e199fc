// The cost tables' cells and layout, shared by `vmtree compare`
// (src/cli/compare.ts) and the README's "Asked again in 2026" tables
// (src/bench/asked-again-2026.ts), so that the two print numbers the same
// way and their tables can stand side by side in the README.

/** A count with thousands separators; '-' where a design has no such counter. */
export const fmt = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? '-' : x.toLocaleString('en-US'));

/** a / b to two decimals; '-' where either is missing or b is 0. */
export const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || b === 0 ? '-' : (a / b).toFixed(2);

/** Bytes in B below 10 KiB, KiB below 10 MiB, else MiB. */
export const bytes = (x: number | undefined): string =>
  x === undefined ? '-' : x < 10240 ? `${x} B` : x < 10 * 1048576 ? `${(x / 1024).toFixed(0)} KiB` : `${(x / 1048576).toFixed(1)} MiB`;

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
