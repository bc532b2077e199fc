// cow-storm — one parent with a written anonymous mapping forks many
// children, all alive at once, and every child writes (copy-on-write) all
// of the mapping, or writePercent of it; then they exit. This is the case
// of the commit that brought anon_vma_chain into Linux 2.6.34 ("mm: change
// anon_vma linking to fix multi-process server scalability issue"): 1000
// children each COWing a 1000-page vma put a million pages in the one
// anon_vma the family shared, each page mapped by a single process, yet
// every rmap walk (page_referenced, try_to_unmap) of any of them visited
// all 1000+ vmas on that anon_vma — quadratic work.
//
// What it stresses:
//   - Reverse-map walk lengths. In the tree design each child's first write
//     gives it a child space of the parent's space, so a child's private
//     page lives in a space that only that child uses: its rmap walk is
//     short, while a walk over a parent page covers the parent space's
//     subtree (every child). Compare designs on rmap steps per page.
//   - COW counts: children x pages copy-on-write faults (1,000,000 with the
//     defaults), and how the design stores 1000 private copies of each
//     index. The parent's own pages stay shared until every child has
//     written them.
//   - Trace size: the defaults give a ~30 MB trace with 10^6 write lines
//     and about 4 GiB of simulated page contents; use smaller parameters to
//     run it.
//
// Values: the parent writes `p + 1` at page p; child c (1-based, process
// `c<c>`) writes `c * 1000000 + p` at round(pages * writePercent / 100)
// pages spread over the mapping, rotated by c-1.

import {
  defineWorkload, MAX_IDS, MAX_PAGES, MILLION, PAGE, pageAddrs, percentOf, region, spread, hex, type Params, type TraceText,
} from './common.js';

export const cowStorm = defineWorkload({
  name: 'cow-storm',
  description: 'a parent forks many children at once and every child copy-on-writes the whole shared mapping',
  params: [
    { name: 'pages', default: 1000, min: 1, max: MAX_PAGES, description: 'pages of the anonymous mapping the parent writes' },
    { name: 'children', default: 1000, min: 0, max: MAX_IDS, description: 'children forked, all alive until the end' },
    { name: 'writePercent', default: 100, min: 0, max: 100, description: 'percentage of the pages each child writes' },
  ],
  build(p: Params, t: TraceText): void {
    const pages = p.pages!;
    const children = p.children!;
    const base = region(0);
    const addr = pageAddrs(base, pages);
    const perChild = percentOf(pages, p.writePercent!);

    t.line('spawn parent');
    t.line(`parent mmap ${hex(base)} ${hex(pages * PAGE)} rw private`);
    for (let i = 0; i < pages; i++) t.line(`parent write ${addr[i]} ${i + 1}`);
    for (let c = 1; c <= children; c++) t.line(`fork parent c${c}`);

    const firsts: number[] = [];
    for (let c = 1; c <= children; c++) {
      const pre = `c${c} write `;
      const tag = c * MILLION;
      const written = spread(pages, perChild, c - 1);
      for (const i of written) t.line(pre + addr[i]! + ' ' + (tag + i));
      firsts.push(written.length > 0 ? written[0]! : -1);
    }

    // A few children read their first written page and the page before it.
    for (const c of new Set([1, (children + 1) >> 1, children])) {
      if (c < 1 || c > children) continue;
      const first = firsts[c - 1]!;
      const w = new Set(spread(pages, perChild, c - 1));
      const probes = first < 0 ? [0] : [first, (first + pages - 1) % pages];
      for (const i of new Set(probes)) t.read(`c${c}`, addr[i]!, w.has(i) ? c * MILLION + i : i + 1);
    }
    for (const i of new Set([0, pages >> 1, pages - 1])) t.read('parent', addr[i]!, i + 1);
    for (let c = 1; c <= children; c++) t.line(`exit c${c}`);
    t.line('exit parent');
  },
});
