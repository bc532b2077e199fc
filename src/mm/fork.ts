// fork(2) and exit (the kernel's kernel/fork.c dup_mmap, mm/mmap.c exit_mmap).
//
// dup_mmap copies every vma except MADV_DONTFORK ones. For a private vma
// the anonymous-memory design decides what the child shares (the tree:
// the same space, both vmas flagged), and the parent's ptes are
// write-protected and copied so that the next write in either process
// faults into copy-on-write. A MADV_WIPEONFORK vma (private anonymous
// only) gives the child an empty range, with no ptes; the flag itself is
// inherited, so a grandchild's copy is wiped again. Shared mappings copy
// their ptes unchanged.

import type { Kernel } from './kernel.js';
import { Mm } from './mm.js';
import { PTE_WRITE } from './pagetable.js';
import { PAGE_SIZE } from './constants.js';
import { insertVma, removeVma } from './vma-ops.js';
import { Vma } from './vma.js';

export function dupMmap(k: Kernel, parent: Mm, childName: string): Mm {
  const child = new Mm(childName, k.frames);
  k.design.mmInit?.(child, parent);
  for (const v of parent.vmas.list) {
    if (v.dontfork) continue;
    const c = new Vma(child, v.start, v.end, v.pgoff, v.prot, v.shared, v.file);
    c.wipeonfork = v.wipeonfork;
    c.account = v.account;
    // anon_vma_fork(): the child gets an anon_vma if the parent had one,
    // unless the range is wiped (dup_mmap clears it).
    // anon_vma_fork(): the child gets an anon_vma of its own if the parent
    // had one (and is then a fork child), unless the range is wiped.
    if (!v.wipeonfork) k.tags.fork(v, c);
    const lo = v.start / PAGE_SIZE;
    const hi = v.end / PAGE_SIZE;
    if (v.shared) {
      insertVma(child, c);
      parent.pt.forEachPresent(lo, hi, (vpn, f, flags) => child.pt.set(vpn, f, flags));
    } else if (v.wipeonfork) {
      k.design.forkWiped(v, c);
      insertVma(child, c);
    } else {
      k.design.fork(v, c);
      insertVma(child, c);
      parent.pt.changeFlags(lo, hi, (old) => old & ~PTE_WRITE);
      parent.pt.forEachPresent(lo, hi, (vpn, f, flags) => child.pt.set(vpn, f, flags));
    }
  }
  return child;
}

export function exitMmap(k: Kernel, mm: Mm): void {
  for (const v of [...mm.vmas.list]) removeVma(k, v);
  k.design.mmExit?.(mm);
}
