// pressure — a working set larger than memory: `procs` processes sweep
// again and again over their anonymous memory and over a shared file
// mapping, checking on every page what was written there before, while
// `reclaim N` commands ask the machine to free frames (swap out anonymous
// pages, write back and drop file pages). Meant to be run with little
// memory: `vmtree run --frames 512` (at the defaults, unbounded memory peaks at ~12,000 frames).
//
// p0 maps `pages` anonymous pages (rw private) and the file `data` of
// `filePages` pages (rw shared), fills both (sweep 0), then forks p1 ..
// p<procs-1>, which inherit the anonymous pages (shared until written) and
// the file mapping. Then `sweeps` sweeps: time-sliced in slices of `slice`
// pages, each process in turn reads every page of its slice of its
// anonymous memory — checking the value from an earlier sweep — and writes
// half of them (alternating by sweep and process, so every page is written
// every other sweep and stays shared with siblings in between); the file's
// slice is swept the same way by one process per slice (slice k: process
// k % procs). Every `reclaimEvery` slices: `reclaim <reclaim>`.
//
// What it stresses:
//   - Reclaim's reverse mapping under sharing: pages inherited at fork are
//     mapped by several processes, so swapping one out walks the rmap of
//     the design (the tree: the space holding the page and every space and
//     vma below it) to unmap it everywhere; swapped-in pages must come back
//     to the right space. Every read checks that nothing was lost or mixed
//     up between processes, sweeps or the file.
//   - COW of pages whose original may have been swapped out.
//   - Dirty shared file pages: written back before being dropped.
//
// Values: sweep 0 stores `i + 1` at anonymous page i and at file page i. In
// sweep s (1..sweeps), process q writes page i iff (i + s + q) % 2 == 0,
// storing s * 100000000 + q * 1000000 + i (so 301000017 is sweep 3,
// process 1, page 17) — anonymous page i of its own, or file page i.

import { defineWorkload, MAX_PAGES, PAGE, pageAddrs, region, hex, type Params, type TraceText } from './common.js';

const value = (s: number, q: number, i: number): number => s * 100_000_000 + q * 1_000_000 + i;

export const pressure = defineWorkload({
  name: 'pressure',
  description: 'processes sweep anonymous and shared file memory larger than RAM, checking every value, with reclaim between slices (run with --frames 512)',
  params: [
    { name: 'procs', default: 4, min: 1, max: 99, description: 'processes (p0 forks the others after filling its memory)' },
    { name: 'sweeps', default: 4, min: 0, max: 40, description: 'sweeps after the initial fill' },
    { name: 'pages', default: 2048, min: 1, max: MAX_PAGES, description: 'anonymous pages per process' },
    { name: 'filePages', default: 2048, min: 0, max: MAX_PAGES, description: 'pages of the shared file mapping (0: none)' },
    { name: 'slice', default: 64, min: 1, max: MAX_PAGES, description: 'pages a process sweeps before the next one runs' },
    { name: 'reclaim', default: 256, min: 0, max: 1_000_000_000, description: 'frames each reclaim command asks for' },
    { name: 'reclaimEvery', default: 4, min: 0, max: 1_000_000, description: 'slices between reclaim commands (0: no reclaim)' },
  ],
  build(p: Params, t: TraceText): void {
    const procs = p.procs!;
    const sweeps = p.sweeps!;
    const pages = p.pages!;
    const filePages = p.filePages!;
    const slice = p.slice!;
    const reclaimEvery = p.reclaimEvery!;
    const anonBase = region(0);
    const fileBase = region(1);
    const anon = pageAddrs(anonBase, pages);
    const file = pageAddrs(fileBase, filePages);
    // What each process sees: anonymous pages per process, the file shared.
    const model: Uint32Array[] = [];
    const fileModel = new Uint32Array(filePages);

    t.line('spawn p0');
    t.line(`p0 mmap ${hex(anonBase)} ${hex(pages * PAGE)} rw private`);
    if (filePages > 0) {
      t.line(`file data ${hex(filePages * PAGE)}`);
      t.line(`p0 mmap ${hex(fileBase)} ${hex(filePages * PAGE)} rw shared data 0x0`);
    }
    const fill = new Uint32Array(pages);
    for (let i = 0; i < pages; i++) {
      t.line(`p0 write ${anon[i]} ${i + 1}`);
      fill[i] = i + 1;
    }
    for (let i = 0; i < filePages; i++) {
      t.line(`p0 write ${file[i]} ${i + 1}`);
      fileModel[i] = i + 1;
    }
    model.push(fill);
    for (let q = 1; q < procs; q++) {
      t.line(`fork p0 p${q}`);
      model.push(fill.slice());
    }

    const slices = Math.ceil(Math.max(pages, filePages) / slice);
    let slicesRun = 0;
    const sweepRange = (q: number, s: number, addrs: string[], m: Uint32Array, lo: number, hi: number): void => {
      for (let i = lo; i < hi; i++) {
        t.read(`p${q}`, addrs[i]!, m[i]!);
        if ((i + s + q) % 2 === 0) {
          const v = value(s, q, i);
          t.line(`p${q} write ${addrs[i]} ${v}`);
          m[i] = v;
        }
      }
    };
    for (let s = 1; s <= sweeps; s++) {
      for (let k = 0; k < slices; k++) {
        const lo = k * slice;
        for (let q = 0; q < procs; q++) {
          sweepRange(q, s, anon, model[q]!, lo, Math.min(lo + slice, pages));
          if (q === k % procs) sweepRange(q, s, file, fileModel, lo, Math.min(lo + slice, filePages));
        }
        slicesRun++;
        if (reclaimEvery > 0 && slicesRun % reclaimEvery === 0) t.line(`reclaim ${p.reclaim}`);
      }
    }

    // Final checks: the ends of every process's memory, the file through
    // the mapping and through pread, then everyone exits.
    for (let q = 0; q < procs; q++) {
      for (const i of new Set([0, pages - 1])) t.read(`p${q}`, anon[i]!, model[q]![i]!);
    }
    if (filePages > 0) {
      for (const i of new Set([0, filePages - 1])) {
        t.read(`p${procs - 1}`, file[i]!, fileModel[i]!);
        t.line(`fread data ${hex(i * PAGE)}  # expect ${fileModel[i]}`);
      }
    }
    for (let q = procs - 1; q >= 0; q--) t.line(`exit p${q}`);
  },
});
