// The report's plots: Vega-Lite specs compiled and rendered to SVG at build
// time (no JavaScript in the page). One colour per design, the same in
// every plot; a design's variants (tree with merge off) share its colour
// and are dashed.

import { DESIGNS } from '../anon/index.js';
import type { SweepRow } from './data.js';

/** Tableau 10, in the order of DESIGNS: a design keeps its colour in every plot. */
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#b07aa1', '#edc948', '#ff9da7', '#9c755f', '#bab0ac'];

export function designColors(): { domain: string[]; range: string[] } {
  const domain = Object.keys(DESIGNS);
  return { domain, range: domain.map((_, i) => PALETTE[i % PALETTE.length]!) };
}

export interface PlotSpec {
  title: string;
  x: { title: string; log?: boolean };
  y: { title: string; log?: boolean };
  /** The y value of a row (undefined: the row is left out). */
  value: (s: Record<string, number>) => number | undefined;
  /** Only these designs (default all in the rows). */
  designs?: readonly string[];
}

/** The Vega-Lite spec of one line plot over sweep rows. */
export function lineSpec(rows: readonly SweepRow[], p: PlotSpec): Record<string, unknown> {
  const values = rows
    .filter((r) => p.designs === undefined || p.designs.includes(r.design))
    .map((r) => ({ x: r.x, y: p.value(r.stats), design: r.design, variant: r.variant === '' ? 'as designed' : r.variant, series: r.variant === '' ? r.design : `${r.design} (${r.variant})` }))
    .filter((r) => r.y !== undefined && Number.isFinite(r.y) && (!p.y.log || r.y > 0));
  const variants = new Set(values.map((v) => v.variant));
  const encoding: Record<string, unknown> = {
    x: { field: 'x', type: 'quantitative', title: p.x.title, scale: p.x.log ? { type: 'log' } : { zero: false }, axis: { format: '~s' } },
    y: { field: 'y', type: 'quantitative', title: p.y.title, scale: p.y.log ? { type: 'log' } : {}, axis: { format: '~s' } },
    color: { field: 'design', type: 'nominal', title: 'design', scale: designColors() },
    detail: { field: 'series', type: 'nominal' },
    tooltip: [{ field: 'series', title: 'design' }, { field: 'x', title: p.x.title }, { field: 'y', title: p.y.title }],
  };
  if (variants.size > 1) {
    encoding.strokeDash = { field: 'variant', type: 'nominal', title: 'variant', scale: { domain: ['as designed', ...[...variants].filter((v) => v !== 'as designed')], range: [[1, 0], [5, 3], [2, 2]] } };
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: p.title,
    width: 380,
    height: 230,
    data: { values },
    mark: { type: 'line', point: true, strokeWidth: 2 },
    encoding,
    config: { font: 'Helvetica, Arial, sans-serif', background: 'white', view: { stroke: '#dddddd' } },
  };
}

/** Vega-Lite -> Vega -> SVG, headless (no canvas, no browser). */
export async function renderPlot(spec: Record<string, unknown>): Promise<string> {
  const vl = await import('vega-lite');
  const vega = await import('vega');
  const compiled = vl.compile(spec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Warn });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
