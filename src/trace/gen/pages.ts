// The generator's picture of a process: which window pages are mapped, how,
// and which of them are known to lie in one kernel vma; plus the read-only
// questions the choosers and the model ask of it (runs, extents, holes).
//
// Why page-level: traces are small (a few dozen pages per process), and a
// page map makes "is [s, e) free / in one vma" trivially right, which is
// what portability rests on (see vma-model.ts). Page numbers are indices
// into the window [WINDOW_START, WINDOW_END), not addresses.

import type { Prot } from '../ast.js';
import { PAGE_SIZE_BIG as PAGE, WINDOW_END_BIG, WINDOW_START_BIG } from '../../mm/constants.js';

export interface PageInfo {
  prot: Prot;
  shared: boolean;
  /** Backing file name; undefined: anonymous. */
  file: string | undefined;
  /** File page index (meaningful for file pages only). */
  fpage: bigint;
  /** Id of a kernel vma this page is known to share with same-id neighbours. */
  vid: number;
  dontfork: boolean;
  wipeonfork: boolean;
}

/** Window page index -> what is mapped there; keeps its keys sorted on demand. */
export class PageMap extends Map<number, PageInfo> {
  private sorted: number[] | null = null;

  override set(page: number, info: PageInfo): this {
    if (this.sorted !== null && !this.has(page)) this.sorted = null;
    return super.set(page, info);
  }

  override delete(page: number): boolean {
    const had = super.delete(page);
    if (had) this.sorted = null;
    return had;
  }

  /** The mapped pages, ascending (do not modify the array). */
  sortedPages(): readonly number[] {
    return (this.sorted ??= [...this.keys()].sort((a, b) => a - b));
  }
}

export interface Proc {
  name: string;
  pages: PageMap;
}

export interface FileState {
  name: string;
  size: bigint;
}

/** Pages [s, e) of the window. */
export interface Run { s: number; e: number }

/** Pages in the window. */
export const WIN_PAGES = Number((WINDOW_END_BIG - WINDOW_START_BIG) / PAGE);

export const addrOf = (page: number): bigint => WINDOW_START_BIG + BigInt(page) * PAGE;
export const pagesUp = (len: bigint): bigint => (len + PAGE - 1n) / PAGE;

export function mappedPages(p: Proc): readonly number[] {
  return p.pages.sortedPages();
}

/** Maximal runs of mapped pages known to lie in one kernel vma. */
export function runs(p: Proc): Run[] {
  const runs: Run[] = [];
  let cur: Run | undefined;
  let vid = -1;
  for (const pg of mappedPages(p)) {
    const info = p.pages.get(pg)!;
    if (cur !== undefined && pg === cur.e && info.vid === vid) cur.e++;
    else {
      cur = { s: pg, e: pg + 1 };
      vid = info.vid;
      runs.push(cur);
    }
  }
  return runs;
}

/** Maximal runs of mapped pages (whatever vmas they are in). */
export function extents(p: Proc): Run[] {
  const out: Run[] = [];
  for (const pg of mappedPages(p)) {
    const last = out[out.length - 1];
    if (last !== undefined && last.e === pg) last.e++;
    else out.push({ s: pg, e: pg + 1 });
  }
  return out;
}

/** The mapped pages of [s, e), ascending (cost: the number mapped, not e - s). */
export function pagesIn(p: Proc, s: number, e: number): number[] {
  return mappedPages(p).filter((pg) => pg >= s && pg < e);
}

/** True if [s, e) is mapped and known to lie in one vma. */
export function oneVma(p: Proc, s: number, e: number): boolean {
  const first = p.pages.get(s);
  if (first === undefined) return false;
  for (let pg = s + 1; pg < e; pg++) if (p.pages.get(pg)?.vid !== first.vid) return false;
  return true;
}

export function isFree(p: Proc, s: number, e: number): boolean {
  if (e - s < 64) {
    for (let pg = s; pg < e; pg++) if (p.pages.has(pg)) return false;
    return true;
  }
  return pagesIn(p, s, e).length === 0;
}

/** The window page of [addr, addr+len), which must lie in the window. */
export function windowPage(addr: bigint, len: bigint): number {
  if (addr < WINDOW_START_BIG || addr + len > WINDOW_END_BIG) {
    throw new Error(`generator bug: call may touch memory outside the window at 0x${addr.toString(16)}`);
  }
  return Number((addr - WINDOW_START_BIG) / PAGE);
}
