// prefork — a pre-forking server (Apache prefork MPM, PostgreSQL backends,
// a Python/Ruby app server with worker processes).
//
// The server maps a large anonymous heap and warms it (writes every page),
// then forks `workers` workers that all stay alive while serving requests:
// each dirties a small fraction of the heap (its own session state) and
// reads some of it; then the workers exit and the server exits.
//
// What it stresses:
//   - Sharing: after the fork every heap page is mapped by 1 + workers
//     processes, so reverse mapping (finding every pte of a page for reclaim
//     or migration) walks long lists. In the tree design the server's space
//     has one vma per process on it, plus one child space per worker that
//     wrote: a walk over a warm page visits the whole subtree, including
//     workers that hold their own copy of that index. In an anon_vma (2.6)
//     design it is one anon_vma whose list holds every worker's vma; with
//     anon_vma_chain each worker also gets its own anon_vma and one chain
//     entry per level.
//   - COW counts: workers x writePercent% of the heap copy-on-write faults,
//     each leaving the original shared by the others.
//   - Lookup depth stays small (2 levels: worker space -> server space).
//
// Values: the server writes `p + 1` at heap page p; worker w (1-based,
// process `w<w>`) writes `w * 1000000 + p`. Worker w writes
// round(heap * writePercent / 100) pages, evenly spread and rotated by w-1
// so that different workers dirty different pages.

import {
  defineWorkload, MAX_IDS, MAX_PAGES, MILLION, PAGE, pageAddrs, percentOf, region, spread, hex, type Params, type TraceText,
} from './common.js';

export const prefork = defineWorkload({
  name: 'prefork',
  description: 'a server warms a big anonymous heap, forks long-lived workers that each dirty a fraction of it',
  params: [
    { name: 'heap', default: 4096, min: 1, max: MAX_PAGES, description: 'heap size in pages; the server writes every page' },
    { name: 'workers', default: 16, min: 0, max: MAX_IDS, description: 'workers forked by the server' },
    { name: 'writePercent', default: 10, min: 0, max: 100, description: 'percentage of the heap pages each worker writes' },
    { name: 'reads', default: 16, min: 0, max: MAX_PAGES, description: 'heap pages each worker reads (at most heap)' },
  ],
  build(p: Params, t: TraceText): void {
    const heap = p.heap!;
    const workers = p.workers!;
    const base = region(0);
    const addr = pageAddrs(base, heap);
    const perWorker = percentOf(heap, p.writePercent!);
    const reads = Math.min(p.reads!, heap);

    t.line('spawn server');
    t.line(`server mmap ${hex(base)} ${hex(heap * PAGE)} rw private`);
    for (let i = 0; i < heap; i++) t.line(`server write ${addr[i]} ${i + 1}`);
    for (let w = 1; w <= workers; w++) t.line(`fork server w${w}`);

    const mine = new Uint8Array(heap);
    for (let w = 1; w <= workers; w++) {
      const written = spread(heap, perWorker, w - 1);
      mine.fill(0);
      for (const i of written) {
        t.line(`w${w} write ${addr[i]} ${w * MILLION + i}`);
        mine[i] = 1;
      }
      // Half the reads hit pages this worker wrote, half fall between them
      // (usually still the server's page, shared).
      const between = Math.floor(heap / Math.max(1, 2 * perWorker));
      for (let j = 0; j < reads; j++) {
        const i = j % 2 === 0 && written.length > 0
          ? written[Math.floor((j * written.length) / reads)]!
          : (Math.floor((j * heap) / reads) + w - 1 + between) % heap;
        t.read(`w${w}`, addr[i]!, mine[i] === 1 ? w * MILLION + i : i + 1);
      }
    }

    // The server never sees a worker's writes.
    for (const i of new Set([0, heap >> 1, heap - 1])) t.read('server', addr[i]!, i + 1);
    for (let w = 1; w <= workers; w++) t.line(`exit w${w}`);
    t.line('exit server');
  },
});
