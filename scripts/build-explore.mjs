// Build the `vmtree explore` page: explore/main.ts and everything it uses
// (the simulator, the drawing code, Graphviz in WebAssembly) bundled by
// esbuild into one script, inlined with the stylesheet into one HTML file,
// dist/explore/index.html, that works opened from disk with no network.
//
//   node scripts/build-explore.mjs [--check]   (--check: type-check explore/ first)

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const at = (p) => join(root, p);

export async function buildExplore({ out = at('dist/explore/index.html'), check = false } = {}) {
  if (check) execFileSync(process.execPath, [at('node_modules/typescript/bin/tsc'), '-p', at('explore/tsconfig.json')], { stdio: 'inherit' });
  const r = await build({
    entryPoints: [at('explore/main.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: ['chrome110', 'firefox115', 'safari16.4'],
    minify: true,
    legalComments: 'none',
    // src/trace/parse.ts works on Node Buffers; the page gets a small stand-in.
    inject: [at('explore/buffer-shim.ts')],
    loader: { '.vmt': 'text' },
    logLevel: 'warning',
  });
  // Inline: nothing in a script may close the <script> element early.
  const js = r.outputFiles[0].text.replace(/<\/(script)/gi, '<\\/$1');
  const css = readFileSync(at('explore/style.css'), 'utf8');
  const html = readFileSync(at('explore/index.html'), 'utf8')
    .replace('/*STYLE*/', () => css)
    .replace('/*SCRIPT*/', () => js);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, html);
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await buildExplore({ check: process.argv.includes('--check') });
  console.error(`wrote ${out}`);
}
