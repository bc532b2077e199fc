// The `maps` and `frames` reports of the trace language.

import { PAGE_SIZE, WINDOW_END, WINDOW_START } from './constants.js';
import type { Kernel } from './kernel.js';
import { touchWindow } from './memory.js';
import type { Mm } from './mm.js';

const hex = (n: number): string => '0x' + n.toString(16);

/**
 * Maximal runs of pages inside the window with the same protection, mode
 * and backing: `anon`, or the same file at contiguous offsets.
 */
export function mapsReport(mm: Mm): string {
  const lines = [`maps ${mm.name}`];
  let runStart = 0;
  let runEnd = -1;
  let runPerm = '';
  let runFile: string | null = null; // null: anon
  let runOff = 0; // file offset at runEnd
  const flush = (): void => {
    if (runEnd < 0) return;
    const backing = runFile === null ? 'anon' : `${runFile}@${hex(runOffStart)}`;
    lines.push(`  ${hex(runStart)}-${hex(runEnd)} ${runPerm} ${backing}`);
  };
  let runOffStart = 0;
  for (const v of mm.vmas.intersecting(WINDOW_START, WINDOW_END)) {
    const lo = Math.max(v.start, WINDOW_START);
    const hi = Math.min(v.end, WINDOW_END);
    const perm = v.permString();
    const file = v.file === null || v.file.isShm ? null : v.file.name;
    const off = v.index(lo) * PAGE_SIZE;
    const continues =
      runEnd === lo && perm === runPerm && file === runFile && (file === null || off === runOff);
    if (!continues) {
      flush();
      runStart = lo;
      runPerm = perm;
      runFile = file;
      runOffStart = off;
    }
    runEnd = hi;
    runOff = off + (hi - lo);
  }
  flush();
  return lines.join('\n');
}

/**
 * Every live process (in name order) reads every readable page of its
 * window; then pages sharing a frame form groups.
 */
export function framesReport(k: Kernel, mms: readonly Mm[]): string {
  // Pages are told apart by identity, not by frame: under memory pressure
  // a page read early in the walk may be swapped out and back in (into
  // another frame) before the walk ends, and a frame freed early may be
  // reused for another page. A page-cache page is its (file, index) slot —
  // dropped and read again it is still that page; an anonymous page is its
  // pageId, which swap preserves.
  const bySlot = new Map<string, string[]>();
  const zero: string[] = [];
  const sorted = [...mms].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const mm of sorted) {
    touchWindow(k, mm, (addr, f) => {
      const item = `${mm.name}:${hex(addr)}`;
      if (f === k.frames.zero) {
        zero.push(item);
        return;
      }
      const fr = k.frames;
      const owner = fr.owner(f);
      const key = owner !== null && owner.file !== null ? `${owner.id}:${fr.index(f)}` : `p${fr.pageId(f)}`;
      const g = bySlot.get(key);
      if (g === undefined) bySlot.set(key, [item]);
      else g.push(item);
    });
  }
  const lines = ['frames'];
  if (zero.length > 0) lines.push(`  zero: ${zero.join(' ')}`);
  // Members are produced in (process name, address) order already, so each
  // group is sorted and groups sort by their first member's position.
  const groups = [...bySlot.values()].filter((g) => g.length >= 2);
  const rank = new Map<string, number>();
  let i = 0;
  for (const mm of sorted) rank.set(mm.name, i++);
  const key = (item: string): [number, number] => {
    const colon = item.indexOf(':');
    return [rank.get(item.slice(0, colon))!, parseInt(item.slice(colon + 3), 16)];
  };
  groups.sort((a, b) => {
    const [pa, aa] = key(a[0]!);
    const [pb, ab] = key(b[0]!);
    return pa !== pb ? pa - pb : aa - ab;
  });
  for (const g of groups) lines.push(`  ${g.join(' ')}`);
  return lines.join('\n');
}
