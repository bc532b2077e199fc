// fork-chain — a process that re-forks itself and exits, generation after
// generation: daemons that double-fork, a server that re-execs itself by
// forking on reload, "fork and let the parent die" loops. This is the
// pattern behind Linux commit 7a3ef208e662 (January 2015, "mm: prevent
// endless growth of anon_vma hierarchy"): "Constantly forking task causes
// unlimited grow of anon_vma chain. Each next child allocates new level of
// anon_vmas and links vma to all previous levels because pages might be
// inherited from any level."
//
// g0 maps `pages` anonymous pages; then for each generation i in
// 0..generations-1, g<i> writes `writes` pages, forks g<i+1> and exits. The
// last process, g<generations>, reads every page and exits. Each generation
// is `writes` + 2 lines, and the trace stays linear in `generations`.
//
// What it stresses:
//   - Tree depth. In the tree design each generation's first write moves
//     its vma to a new child space under the one it inherited, and the
//     parent's exit leaves the old space with a single user: the chain gets
//     one level deeper per generation unless the design merges a space into
//     its only child. A lookup of a page written long ago (the final reads)
//     walks the whole chain: watch tree depth and lookup steps.
//   - Leaks: every ancestor has exited, so every space and every page that
//     the last process cannot see must have been freed.
//   - anon_vma_chain without reuse: chain entries per vma grow with the
//     number of generations.
//
// Values: g<i> writes i + 1 at pages (i * writes + j) % pages for j in
// 0..writes-1; a page reads as the value of the last generation that wrote
// it, 0 if none did.

import { defineWorkload, MAX_PAGES, PAGE, pageAddrs, region, hex, type Params, type TraceText } from './common.js';

export const forkChain = defineWorkload({
  name: 'fork-chain',
  description: 'each generation writes a page, forks the next and exits; the last one reads every page',
  params: [
    { name: 'generations', default: 10000, min: 0, max: 1_000_000, description: 'forks in the chain (processes g0 .. g<generations>)' },
    { name: 'pages', default: 64, min: 1, max: MAX_PAGES, description: 'pages of the anonymous mapping every generation inherits' },
    { name: 'writes', default: 1, min: 0, max: 64, description: 'pages each generation writes before forking (at most pages)' },
  ],
  check: (p) => (p.writes! > p.pages! ? `writes (${p.writes}) must not exceed pages (${p.pages})` : null),
  build(p: Params, t: TraceText): void {
    const gens = p.generations!;
    const pages = p.pages!;
    const writes = p.writes!;
    const base = region(0);
    const addr = pageAddrs(base, pages);
    const model = new Array<number>(pages).fill(0);

    t.line('spawn g0');
    t.line(`g0 mmap ${hex(base)} ${hex(pages * PAGE)} rw private`);
    for (let i = 0; i < gens; i++) {
      for (let j = 0; j < writes; j++) {
        const pg = (i * writes + j) % pages;
        t.line(`g${i} write ${addr[pg]} ${i + 1}`);
        model[pg] = i + 1;
      }
      t.line(`fork g${i} g${i + 1}`);
      t.line(`exit g${i}`);
    }
    const last = `g${gens}`;
    for (let pg = 0; pg < pages; pg++) t.read(last, addr[pg]!, model[pg]!);
    t.line(`exit ${last}`);
  },
});
