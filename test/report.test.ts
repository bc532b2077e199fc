// vmtree report's pure parts: the README block, tables as HTML, and the
// plots' colours and axis titles. (The whole page is checked in a real
// browser by browser.test.ts.)
import { describe, expect, it } from 'vitest';
import { DESIGNS } from '../src/anon/index.js';
import { compareTable } from '../src/cli/compare.js';
import { PLOTS, replaceTables, TABLES, TABLES_BEGIN, TABLES_END } from '../src/report/index.js';
import { esc, inlineSvg, markdownTableToHtml, reportHtml } from '../src/report/html.js';
import { designColors, lineSpec, renderPlot } from '../src/report/plots.js';

describe('the README block', () => {
  it('replaces only what lies between the markers', () => {
    const readme = `intro\n${TABLES_BEGIN}\nold\n${TABLES_END}\nafter\n`;
    expect(replaceTables(readme, 'NEW')).toBe(`intro\n${TABLES_BEGIN}\n\nNEW\n\n${TABLES_END}\nafter\n`);
    expect(() => replaceTables('no markers', 'x')).toThrow(/no <!-- report:tables -->/);
  });
  it('the tables are those scripts/compare-tables.sh prints', async () => {
    const { readFileSync } = await import('node:fs');
    const script = readFileSync(new URL('../scripts/compare-tables.sh', import.meta.url), 'utf8');
    const lines = script.split('\n').filter((l) => l.startsWith('v compare '));
    expect(lines).toEqual(TABLES.map((t) => `v compare ${t.workload}${Object.entries(t.params).map(([k, v]) => ` --param ${k}=${v}`).join('')}${t.frames === undefined ? '' : ` --frames ${t.frames}`}`));
  });
});

describe('HTML', () => {
  it('turns a compare table into an HTML table cell for cell', () => {
    const md = compareTable('t', [{ design: 'tree', ms: 12, stats: { faults: 1234, cowCopies: 5, cowReuses: 0, swapOuts: 1, swapIns: 2, rmapWalks: 4, rmapVmasVisited: 6, rmapSpacesVisited: 4, ptesScanned: 0, lookupStepsMean: 1, designStructuresPeak: 3, depthPeak: 1, metadataBytesPeak: 2048, framesPeak: 9 } }]);
    const html = markdownTableToHtml(md, 'class="x"');
    expect(html).toContain('<th scope="row">tree</th><td>1,234</td><td>5</td><td>0</td><td>1/2</td><td>4</td><td>1.50</td><td>1.00</td>');
    expect(html.match(/<th>/g)).toHaveLength(15);
  });
  it('escapes text and strips what cannot be inlined from an SVG', () => {
    expect(esc('<a href="x">&</a>')).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;');
    expect(inlineSvg('<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "x" "http://www.w3.org/x.dtd">\n<!-- c -->\n<svg></svg>\n')).toBe('<svg></svg>');
  });
  it('forbids every fetch and keeps the embedded data inert', () => {
    const html = reportHtml({ intro: ['p'], sections: [], data: { s: '</script><script>alert(1)</script>' }, footer: '' });
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
    expect(html).not.toContain('</script><script>');
    expect(html).not.toMatch(/(src|href)="https?:/);
  });
});

describe('plots', () => {
  const rows = Object.keys(DESIGNS).flatMap((design, i) => [1, 10, 100].map((x) => ({ x, design, variant: '', stats: { v: x * (i + 1) } })));
  it('give each design the same colour in every plot', () => {
    const { domain, range } = designColors();
    expect(domain).toEqual(Object.keys(DESIGNS));
    expect(new Set(range).size).toBe(domain.length);
    for (const p of PLOTS) {
      const spec = lineSpec(rows, { ...p, value: (s) => s.v }) as { encoding: { color: { scale: unknown }; x: { title: string }; y: { title: string } } };
      expect(spec.encoding.color.scale).toEqual({ domain, range });
      expect(spec.encoding.x.title).toMatch(/\(.+\)$/);
      expect(spec.encoding.y.title).toMatch(/\(.+\)$/);
    }
  });
  it('render to SVG headless, one line per design, zeros left off log axes', async () => {
    const withZero = [...rows, { x: 1000, design: 'tree', variant: '', stats: { v: 0 } }];
    const spec = lineSpec(withZero, { title: 't', x: { title: 'x (n)', log: true }, y: { title: 'y (n)', log: true }, value: (s) => s.v });
    expect((spec.data as { values: unknown[] }).values).toHaveLength(rows.length);
    const svg = await renderPlot(spec);
    expect(svg).toMatch(/^<svg[\s\S]*<\/svg>$/);
    for (const c of designColors().range.slice(0, Object.keys(DESIGNS).length)) expect(svg).toContain(`stroke="${c}"`);
  });
});

describe('coinciding lines', () => {
  it('names the series that a plot draws over each other', async () => {
    const { coinciding } = await import('../src/report/index.js');
    const rows = [
      { x: 1, design: 'tree', variant: '', stats: { v: 1 } }, { x: 2, design: 'tree', variant: '', stats: { v: 2 } },
      { x: 1, design: 'shadow', variant: '', stats: { v: 1 } }, { x: 2, design: 'shadow', variant: '', stats: { v: 2 } },
      { x: 1, design: 'scan', variant: '', stats: { v: 1 } }, { x: 2, design: 'scan', variant: '', stats: { v: 3 } },
      { x: 1, design: 'tree', variant: 'no merge', stats: { v: 1 } }, { x: 2, design: 'tree', variant: 'no merge', stats: { v: 2 } },
    ];
    const p = { title: '', x: { title: '' }, y: { title: '' }, value: (s: Record<string, number>) => s.v };
    expect(coinciding(rows, p)).toBe('tree = shadow = tree (no merge)');
    expect(coinciding(rows, { ...p, designs: ['tree', 'scan'] })).toBe('tree = tree (no merge)');
  });
});
