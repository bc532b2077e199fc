// `vmtree report`: measure (data.ts), plot (plots.ts), draw (src/draw/) and
// write one HTML page (html.ts) — and the README's tables and plots from
// the same data.

import { readFileSync } from 'node:fs';
import { DESIGNS } from '../anon/index.js';
import { commandsUpTo, drawSnapshot, snapshotOf, type DrawAt } from '../draw/index.js';
import { Machine, type MachineOptions } from '../machine.js';
import { parseTrace } from '../trace/parse.js';
import { findWorkload, workloadTrace } from '../workload/index.js';
import { collectReportData, type ReportData, type SweepRow, type TableData } from './data.js';
import { esc, reportHtml, type Figure, type Section } from './html.js';
import { lineSpec, renderPlot, type PlotSpec } from './plots.js';

export { collectReportData, SWEEPS, TABLES, type ReportData } from './data.js';

/** The spec's example as the package ships it (examples/), for the opening picture. */
const SPEC_EXAMPLE_URL = new URL('../../examples/spec-example.vmt', import.meta.url);

const memoryNote = (t: { frames?: number }): string => (t.frames === undefined ? 'unbounded memory' : `${t.frames} frames`);

/** The table caption, as `vmtree compare` prints it. */
export function tableTitle(t: TableData): string {
  const params = Object.entries(t.params).map(([k, v]) => `${k}=${v}`).join(' ');
  return `${t.workload}${params === '' ? '' : ` ${params}`} (${memoryNote(t)}; identical output from every design)`;
}

/**
 * How a table of designs is printed: `vmtree compare`'s compareTable
 * (src/cli/compare.ts), handed in by the CLI so that src/report does not
 * import src/cli (no folder cycles).
 */
export type FormatTable = (title: string, rows: TableData['rows']) => string;

/** The README's tables block: the same text `vmtree compare` prints for each. */
export function tablesMarkdown(data: ReportData, formatTable: FormatTable): string {
  return data.tables.map((t) => formatTable(tableTitle(t), t.rows)).join('\n\n');
}

const perWalk = (a: string) => (s: Record<string, number>): number | undefined =>
  s.rmapWalks! > 0 ? s[a]! / s.rmapWalks! : undefined;
const kib = (s: Record<string, number>): number => s.metadataBytesPeak! / 1024;

interface PlotDef extends PlotSpec {
  id: string;
  sweep: string;
  caption: string;
}

const OBJECT_DESIGNS = ['tree', 'anon-layer', 'anon-vma-chain', 'shadow'];

export const PLOTS: readonly PlotDef[] = [
  {
    id: 'cow-storm-vmas-per-walk', sweep: 'cow-storm', title: 'cow-storm: vmas visited per rmap walk',
    x: { title: 'children (processes)', log: true }, y: { title: 'vmas visited per walk (count)', log: true },
    value: perWalk('rmapVmasVisited'),
    caption: 'Each child copy-on-writes 20 pages; memory is about 40% of what the storm touches, so reclaim walks the reverse map. One anon_vma per family (anon-layer) and the scan visit every vma of the family on every walk; the tree visits the page\'s own space and the spaces that do not shadow it.',
  },
  {
    id: 'cow-storm-objects-per-walk', sweep: 'cow-storm', title: 'cow-storm: rmap objects visited per walk',
    x: { title: 'children (processes)', log: true }, y: { title: 'spaces or anon_vmas per walk (count)' },
    value: perWalk('rmapSpacesVisited'), designs: OBJECT_DESIGNS,
    caption: 'Objects (address_spaces, anon_vmas) visited per walk; scan and pte-chain have none.',
  },
  {
    id: 'zygote-metadata', sweep: 'zygote', title: 'zygote: kernel metadata at its peak',
    x: { title: 'apps forked (processes)', log: true }, y: { title: 'metadata peak (KiB)', log: true },
    value: kib, caption: 'struct page, vmas, ptes and each design\'s own structures at Linux 6.18 x86-64 sizes (docs/cost-model.md).',
  },
  {
    id: 'prefork-metadata', sweep: 'prefork', title: 'prefork: kernel metadata at its peak',
    x: { title: 'workers forked (processes)', log: true }, y: { title: 'metadata peak (KiB)', log: true },
    value: kib, caption: 'A 4096-page heap; each worker writes 10% of it.',
  },
  {
    id: 'fork-chain-depth', sweep: 'fork-chain', title: 'fork-chain: deepest chain of spaces',
    x: { title: 'generations (forks)', log: true }, y: { title: 'depth peak (levels)' },
    value: (s) => s.depthPeak, designs: ['tree', 'shadow'],
    caption: 'Each generation writes a page, forks the next and exits. With merge (the tree) or collapse (shadow) the chain stays flat; without, it grows one level per generation.',
  },
  {
    id: 'fork-chain-structures', sweep: 'fork-chain', title: 'fork-chain: structures alive at the peak',
    x: { title: 'generations (forks)', log: true }, y: { title: 'spaces, objects or anon_vmas (count)', log: true },
    value: (s) => s.designStructuresPeak, designs: OBJECT_DESIGNS,
    caption: 'Designs with no structures of their own (scan, pte-chain) are left out.',
  },
  {
    id: 'pressure-copies', sweep: 'pressure', title: 'pressure: copy-on-write copies',
    x: { title: 'memory (frames of 4 KiB)', log: true }, y: { title: 'COW copies (count)' },
    value: (s) => s.cowCopies, caption: 'Four processes sweep 10,240 pages of anonymous and file memory; fewer frames, more swapping.',
  },
  {
    id: 'pressure-reuses', sweep: 'pressure', title: 'pressure: copy-on-write reuses',
    x: { title: 'memory (frames of 4 KiB)', log: true }, y: { title: 'COW reuses (count)' },
    value: (s) => s.cowReuses, caption: 'A write fault that may keep its page (no one else can see it) reuses it instead of copying.',
  },
];

/** The two plots the README shows (docs/plots/ID.svg). */
export const README_PLOTS = ['cow-storm-vmas-per-walk', 'fork-chain-depth'];

async function picture(text: string, design: string, at: DrawAt, title: string, machine: Omit<MachineOptions, 'design'> = {}): Promise<string | null> {
  const m = new Machine({ ...machine, design });
  if (m.design.snapshot === undefined) return null;
  for (const c of commandsUpTo(parseTrace(Buffer.from(text, 'latin1'), 'trace'), at)) m.exec(c);
  return drawSnapshot(snapshotOf(m), 'svg', { title });
}

/**
 * Series of a plot with the same value at every point (drawn over each
 * other, so only the last shows): "tree = shadow; scan = pte-chain".
 */
export function coinciding(rows: readonly SweepRow[], p: PlotSpec): string {
  const series = new Map<string, string>();
  for (const r of rows) {
    if (p.designs !== undefined && !p.designs.includes(r.design)) continue;
    const name = r.variant === '' ? r.design : `${r.design} (${r.variant})`;
    series.set(name, `${series.get(name) ?? ''}${r.x}:${p.value(r.stats) ?? '-'};`);
  }
  const groups = new Map<string, string[]>();
  for (const [name, key] of series) groups.set(key, [...(groups.get(key) ?? []), name]);
  return [...groups.values()].filter((g) => g.length > 1).map((g) => g.join(' = ')).join('; ');
}

/** The line before the last exit: every generation of a fork chain has come and gone but the last. */
function beforeLastExit(text: string): number {
  const cmds = parseTrace(Buffer.from(text, 'latin1'), 'trace');
  const last = cmds.map((c) => c.kind).lastIndexOf('exit');
  return cmds[last - 1]!.line;
}

const INTRO = [
  'In April 2000, during the Linux 2.3.99 VM rework, Jamie Lokier asked linux-kernel whether anonymous memory and ' +
    'reverse mapping could be built from one structure, the <code>address_space</code>: <em>“Would this scheme work? ' +
    'Comments, please.”</em> The question is whether finding every pte that maps a page (what reclaim needs) can be ' +
    'cheap without charging every page or every fork a heavy price — the trade-off Linux went on to make three times: ' +
    'pte chains in 2.5, the anon_vma of 2.6.7, the anon_vma_chain of 2.6.34.',
  'The scheme: every private mapping gets a space; the first copy-on-write after a fork makes a <em>child</em> space ' +
    'whose parent is the old one, so spaces form a tree. A fault looks for its page in the vma\'s space and then up ' +
    'through the parents; the reverse map of a page walks the vmas of its space and the child spaces that do not ' +
    'shadow it. Two optimisations keep the tree small: <em>cut</em> (a space with no pages of its own is skipped) and ' +
    '<em>merge</em> (a vma alone on its space goes on using it). vmtree runs this design and five rivals on the same ' +
    'simulated machine, checked against the real kernel; the numbers below are its counters.',
];

const SECTION_TEXT: Record<string, string> = {
  'cow-storm': 'The workload that made Linux replace the anon layer (2.6.34, “mm: change anon_vma linking to fix multi-process server scalability issue”): a parent forks many children, every child copy-on-writes the whole mapping, and reclaim walks the reverse map of pages each mapped by one process.',
  'fork-chain': 'Each generation writes a page, forks the next and exits: without merge, the tree gains a level per generation.',
  zygote: 'Android\'s zygote: a parent maps a big image, forks many apps that each dirty a few pages and stay alive. What does each design cost in kernel memory per app?',
  prefork: 'A pre-forking server: a big heap, long-lived workers that each dirty a fraction of it.',
  pressure: 'Memory smaller than what the processes touch: reclaim swaps pages out and faults bring them back. Copy-or-reuse is decided per space in the tree and per page in the page-table designs.',
  shell: 'A shell forking short-lived children that exec: many small, short-lived address spaces.',
};

export interface BuiltReport {
  html: string;
  tables: string;
  readmePlots: { id: string; svg: string }[];
  data: ReportData;
}

export async function buildReport(opts: { formatTable: FormatTable; jobs?: number; onProgress?: (done: number, total: number) => void }): Promise<BuiltReport> {
  const { formatTable, ...run } = opts;
  const data = await collectReportData(run);
  const plots = new Map<string, string>();
  for (const p of PLOTS) plots.set(p.id, await renderPlot(lineSpec(data.sweeps[p.sweep] as SweepRow[], p)));

  const figures = new Map<string, Figure[]>();
  const add = (id: string, f: Figure): void => {
    figures.set(id, [...(figures.get(id) ?? []), f]);
  };
  for (const p of PLOTS) {
    const same = coinciding(data.sweeps[p.sweep] as SweepRow[], p);
    add(p.sweep, { kind: 'plot', svg: plots.get(p.id)!, caption: same === '' ? p.caption : `${p.caption} Lines drawn over each other: ${same}.` });
  }

  // Half the pages written per child: the parent's space keeps pages the
  // children still share (with every page written, cut makes each child's
  // space a root of its own).
  const storm = workloadTrace('cow-storm', { children: '1000', pages: '20', writePercent: '50' });
  for (const d of ['tree', 'anon-vma-chain', 'anon-layer']) {
    const svg = await picture(storm, d, 'before-exit', `${d}: cow-storm children=1000 pages=20 writePercent=50, before the first exit`);
    if (svg !== null) add('cow-storm', { kind: 'picture', svg, caption: `${d}: the structures once every child has written half the pages (identical children drawn once, ×N).` });
  }
  const chain = workloadTrace('fork-chain', { generations: '6', pages: '4' });
  const at = beforeLastExit(chain);
  for (const [merge, what] of [[true, 'with merge'], [false, 'without merge']] as const) {
    const svg = await picture(chain, 'tree', at, `tree ${what}: fork-chain generations=6 pages=4, before the last exit`, { merge });
    if (svg !== null) add('fork-chain', { kind: 'picture', svg, caption: `The tree ${what} after six generations.` });
  }
  const introSvg = await picture(readFileSync(SPEC_EXAMPLE_URL, 'latin1'), 'tree', 8, "tree: the spec's example after line 8 (fork, then b writes)");

  const order = ['cow-storm', 'fork-chain', 'zygote', 'prefork', 'pressure', 'shell'];
  const realSections: Section[] = data.real.map((t) => ({
    id: t.workload.replace(':', '-'),
    input: t.workload,
    title: t.workload,
    intro: `A real program recorded by <code>vmtree record</code> (examples/real/${esc(t.workload.slice(5))}), run with physical memory at half its peak so that reclaim and reverse mapping run.`,
    tableCaption: tableTitle(t),
    tableMarkdown: formatTable(tableTitle(t), t.rows),
    figures: [],
  }));
  const sections: Section[] = order.map((id) => {
    const t = data.tables.find((x) => x.workload === id)!;
    return {
      id,
      title: id,
      intro: `${esc(SECTION_TEXT[id] ?? findWorkload(id).description)}`,
      tableCaption: tableTitle(t),
      tableMarkdown: formatTable(tableTitle(t), t.rows),
      figures: figures.get(id) ?? [],
    };
  });
  const html = reportHtml({
    intro: INTRO,
    ...(introSvg !== null && { introFigure: { kind: 'picture' as const, svg: introSvg, caption: "The spec's example: a forks b, b writes page 0 — b's copy lives in a child space of a's." } }),
    sections: [...sections, ...realSections],
    data: { designs: Object.keys(DESIGNS), tables: data.tables, real: data.real, sweeps: data.sweeps },
    footer: 'Generated by <code>vmtree report</code> (npm run report). Columns: docs/cost-model.md in the repository. Times (ms) are of one run on the machine that built the report.',
  });
  return { html, tables: tablesMarkdown(data, formatTable), readmePlots: README_PLOTS.map((id) => ({ id, svg: plots.get(id)! })), data };
}

export const TABLES_BEGIN = '<!-- report:tables -->';
export const TABLES_END = '<!-- /report:tables -->';

/** README text with the block between the markers replaced by `tables`. Throws if the markers are missing. */
export function replaceTables(readme: string, tables: string): string {
  const a = readme.indexOf(TABLES_BEGIN);
  const b = readme.indexOf(TABLES_END);
  if (a < 0 || b < a) throw new Error(`the README has no ${TABLES_BEGIN} ... ${TABLES_END} block`);
  return `${readme.slice(0, a + TABLES_BEGIN.length)}\n\n${tables}\n\n${readme.slice(b)}`;
}
