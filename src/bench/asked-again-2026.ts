// The tables of the README's "Asked again in 2026" section (run by
// `npm run tables`, after the main tables): the two shapes the 2026
// proposals stress, on the designs that answer them, with the variants that
// `vmtree compare` cannot name (a design with options).
//
//   - cow-storm, reverse-mapped while shared and after every child copied:
//     1000 children of one parent, 20 pages; `reclaim` of every page while
//     all are alive (the workload's trace with the reclaim before its exits).
//   - fork-chain with old pages: g0 writes 64 pages, then 10,000
//     generations each fork the next and exit, each writing one page of the
//     upper half; the lower 32 pages are never written again, so the last
//     generation still maps g0's pages. `reclaim` of every page, then the
//     last generation reads everything back.
//
// Every row must print the same output as the first (else exit status 4).
// Columns as `vmtree compare`'s (docs/cost-model.md): objs/walk is contexts
// reached per walk for cow-context (hops down the context tree included),
// anon_vmas for the anon_vma designs, spaces or objects for tree and shadow.

import { performance } from 'node:perf_hooks';
import { Machine, type MachineOptions } from '../mm/machine.js';
import { parseTrace } from '../trace/parse.js';
import { workloadTrace } from '../workload/index.js';

interface Row {
  label: string;
  opts: MachineOptions;
}

const ROWS: readonly Row[] = [
  { label: 'tree', opts: { design: 'tree' } },
  { label: 'tree --no-merge', opts: { design: 'tree', merge: false } },
  { label: 'shadow', opts: { design: 'shadow' } },
  { label: 'anon-vma-chain', opts: { design: 'anon-vma-chain' } },
  { label: 'anon-vma-lazy', opts: { design: 'anon-vma-lazy' } },
  { label: 'cow-context', opts: { design: 'cow-context' } },
  { label: 'cow-context, early exit fixed', opts: { design: 'cow-context', cowContextEarlyExit: 'fixed' } },
];

const fmt = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? '-' : x.toLocaleString('en-US'));
const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || b === 0 ? '-' : (a / b).toFixed(2);
const bytes = (x: number | undefined): string =>
  x === undefined ? '-' : x < 10240 ? `${x} B` : x < 10 * 1048576 ? `${(x / 1024).toFixed(0)} KiB` : `${(x / 1048576).toFixed(1)} MiB`;

const COLUMNS: [string, (s: Record<string, number>, ms: number) => string][] = [
  ['cow copies', (s) => fmt(s.cowCopies)],
  ['cow reuses', (s) => fmt(s.cowReuses)],
  ['swap out/in', (s) => `${fmt(s.swapOuts)}/${fmt(s.swapIns)}`],
  ['rmap walks', (s) => fmt(s.rmapWalks)],
  ['vmas/walk', (s) => ratio(s.rmapVmasVisited, s.rmapWalks)],
  ['objs/walk', (s) => ratio(s.rmapSpacesVisited, s.rmapWalks)],
  ['lookup steps', (s) => ratio(s.lookupStepsMean, 1)],
  ['structures peak', (s) => fmt(s.designStructuresPeak)],
  ['depth peak', (s) => fmt(s.depthPeak)],
  ['metadata peak', (s) => bytes(s.metadataBytesPeak)],
  ['ms', (_s, ms) => fmt(Math.round(ms))],
];

function table(title: string, rows: { label: string; stats: Record<string, number>; ms: number }[]): string {
  const header = ['design', ...COLUMNS.map(([h]) => h)];
  const body = rows.map((r) => [r.label, ...COLUMNS.map(([, f]) => f(r.stats, r.ms))]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [
    title,
    '',
    line(header),
    `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...body.map(line),
  ].join('\n');
}

/** Run `text` on every row; fail (exit 4) unless every row prints the same. */
function measure(title: string, text: string): void {
  const cmds = parseTrace(Buffer.from(text, 'latin1'), title);
  let ref: string[] | null = null;
  const rows = ROWS.map((r) => {
    const m = new Machine(r.opts);
    const out: string[] = [];
    const t0 = performance.now();
    for (const c of cmds) out.push(`${c.line} ${m.exec(c)}`);
    const ms = performance.now() - t0;
    if (ref === null) ref = out;
    else if (out.join('\n') !== ref.join('\n')) {
      process.stderr.write(`${title}: ${r.label} prints different output from ${ROWS[0]!.label}\n`);
      process.exit(4);
    }
    return { label: r.label, stats: m.stats(), ms };
  });
  process.stdout.write(`${table(`${title} (identical output from every row)`, rows)}\n\n`);
}

/** The cow-storm workload with `reclaim` of everything just before its exits. */
function cowStormReclaimed(writePercent: number): string {
  const lines = workloadTrace('cow-storm', { children: '1000', pages: '20', writePercent: String(writePercent) }).trimEnd().split('\n');
  const firstExit = lines.findIndex((l) => l.startsWith('exit '));
  lines.splice(firstExit, 0, 'reclaim 1000000');
  return lines.join('\n') + '\n';
}

/** fork-chain whose lower half of pages only g0 ever writes (see the top). */
function forkChainOldPages(generations: number, pages: number): string {
  const base = 0x100000000000;
  const addr = (i: number): string => `0x${(base + i * 4096).toString(16)}`;
  const half = pages / 2;
  const out = ['spawn g0', `g0 mmap ${addr(0)} 0x${(pages * 4096).toString(16)} rw private`];
  for (let i = 0; i < pages; i++) out.push(`g0 write ${addr(i)} ${i + 1}`);
  for (let g = 0; g < generations; g++) {
    out.push(`g${g} write ${addr(half + (g % half))} ${1000 + g}`);
    out.push(`fork g${g} g${g + 1}`, `exit g${g}`);
  }
  const last = `g${generations}`;
  out.push('reclaim 1000000');
  for (let i = 0; i < pages; i++) out.push(`${last} read ${addr(i)}`);
  out.push(`exit ${last}`);
  return out.join('\n') + '\n';
}

measure('cow-storm, shared: 1000 children, 20 pages none copied, reclaim of every page', cowStormReclaimed(0));
measure('cow-storm, copied: 1000 children each copied all 20 pages, reclaim of every page', cowStormReclaimed(100));
measure('fork-chain, old pages: 10,000 generations, 32 pages only g0 wrote, reclaim of every page', forkChainOldPages(10000, 64));
