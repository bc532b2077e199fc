// The report as one self-contained HTML page: inline CSS and SVG, no
// script that runs, no URL that fetches (a Content-Security-Policy of
// default-src 'none' makes sure). The data is embedded as JSON for anyone
// (and the browser test) to check the tables against.

/** HTML text escaping. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** An SVG document as inline markup: no XML declaration, DOCTYPE or comments. */
export function inlineSvg(svg: string): string {
  return svg.replace(/<\?xml[^>]*\?>/g, '').replace(/<!DOCTYPE[^>]*>/g, '').replace(/<!--[\s\S]*?-->/g, '').trim();
}

/** A markdown table (compareTable's) as an HTML table; numeric columns right-aligned. */
export function markdownTableToHtml(md: string, attrs: string): string {
  const rows = md.split('\n').filter((l) => l.startsWith('|')).map((l) => l.slice(1, -1).split('|').map((c) => c.trim()));
  const [head, , ...body] = rows;
  if (head === undefined) throw new Error('not a markdown table');
  return [
    `<table ${attrs}>`,
    `<thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>`,
    '<tbody>',
    ...body.map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th scope="row">${esc(c)}</th>` : `<td>${esc(c)}</td>`)).join('')}</tr>`),
    '</tbody></table>',
  ].join('\n');
}

export interface Figure {
  svg: string;
  caption: string;
  kind: 'plot' | 'picture';
}

export interface Section {
  id: string;
  /** What `vmtree compare` takes for this table (a workload name or real:NAME); default id. */
  input?: string;
  title: string;
  intro: string;
  tableCaption: string;
  tableMarkdown: string;
  figures: Figure[];
}

const CSS = `
body { font: 15px/1.5 Helvetica, Arial, sans-serif; color: #222; max-width: 1100px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.8em; margin-bottom: 0.2em; }
h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
nav a { margin-right: 1em; }
table { border-collapse: collapse; font-size: 12px; margin: 0.5em 0 1em; }
th, td { padding: 2px 6px; border-bottom: 1px solid #eee; }
td { text-align: right; font-variant-numeric: tabular-nums; }
thead th { text-align: right; vertical-align: bottom; }
thead th:first-child, tbody th { text-align: left; }
caption { caption-side: top; text-align: left; font-style: italic; color: #555; }
.figures { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
figure { margin: 0; }
figure svg { max-width: 100%; height: auto; }
figure.picture svg { max-height: 520px; }
figcaption { font-size: 13px; color: #555; max-width: 520px; }
footer { margin-top: 3em; font-size: 12px; color: #777; }
`;

export function reportHtml(p: { intro: string[]; introFigure?: Figure; sections: Section[]; data: unknown; footer: string }): string {
  const fig = (f: Figure): string =>
    `<figure class="${f.kind}">\n${inlineSvg(f.svg)}\n<figcaption>${esc(f.caption)}</figcaption>\n</figure>`;
  const parts = [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>vmtree: Would this scheme work?</title>',
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    '<h1>Would this scheme work?</h1>',
    ...p.intro.map((para) => `<p>${para}</p>`),
    ...(p.introFigure ? [`<div class="figures">${fig(p.introFigure)}</div>`] : []),
    `<nav>${p.sections.map((s) => `<a href="#${s.id}">${esc(s.title)}</a>`).join('')}</nav>`,
  ];
  for (const s of p.sections) {
    parts.push(
      `<section id="${s.id}">`,
      `<h2>${esc(s.title)}</h2>`,
      `<p>${s.intro}</p>`,
      markdownTableToHtml(s.tableMarkdown, `class="designs" data-workload="${esc(s.input ?? s.id)}"`).replace('<thead>', `<caption>${esc(s.tableCaption)}</caption><thead>`),
      `<div class="figures">`,
      ...s.figures.map(fig),
      '</div>',
      '</section>',
    );
  }
  // JSON inside <script type="application/json"> is not run; `<` is escaped
  // so no string in it can close the element.
  parts.push(
    `<script type="application/json" id="vmtree-data">${JSON.stringify(p.data).replace(/</g, '\\u003c')}</script>`,
    `<footer>${p.footer}</footer>`,
    '</body>',
    '</html>',
  );
  return `${parts.join('\n')}\n`;
}
