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
//
// The ptes are not copied one by one: once every vma is in place (the
// private ones write-protected in the parent), the child shares the
// parent's page-table leaves copy-on-write (pagetable.ts), except a leaf
// with a pte the child must not have (a MADV_DONTFORK or MADV_WIPEONFORK
// range): those ptes the child does not get, the rest it copies as before.

import type { Kernel } from './kernel.js';
import { Mm } from './mm.js';
import { PAGE_SIZE } from './constants.js';
import { insertVma, removeVma } from './vma-ops.js';
import { Vma } from './vma.js';

export function dupMmap(k: Kernel, parent: Mm, childName: string): Mm {
  const child = new Mm(childName, k.frames);
  k.design.mmInit?.(child, parent);
  // Leaves holding a pte of a range the child does not get: copied pte by
  // pte below, never shared.
  const unshared = new Set<number>();
  for (const v of parent.vmas.list) {
    if (!v.dontfork && !v.wipeonfork) continue;
    parent.pt.forEachLeaf(v.start / PAGE_SIZE, v.end / PAGE_SIZE, (li) => unshared.add(li));
  }
  for (const v of parent.vmas.list) {
    if (v.dontfork) continue;
    const c = new Vma(child, v.start, v.end, v.pgoff, v.prot, v.shared, v.file);
    c.wipeonfork = v.wipeonfork;
    c.account = v.account;
    // anon_vma_fork(): the child gets an anon_vma of its own if the parent
    // had one (and is then a fork child), unless the range is wiped.
    if (!v.wipeonfork) k.tags.fork(v, c);
    if (v.shared) {
      insertVma(child, c);
    } else if (v.wipeonfork) {
      k.design.forkWiped(v, c);
      insertVma(child, c);
    } else {
      k.design.fork(v, c);
      insertVma(child, c);
      parent.pt.wrprotect(v.start / PAGE_SIZE, v.end / PAGE_SIZE);
    }
  }
  // Every leaf but those holds only ptes of vmas the child has, with the
  // access bits it must have: the child shares it. Of those, the child
  // copies the ptes of the vmas it has (not wiped).
  parent.pt.fork(child.pt, (li) => !unshared.has(li), (vpn) => {
    const c = child.vmas.lookup(vpn * PAGE_SIZE);
    return c !== null && !c.wipeonfork;
  });
  return child;
}

export function exitMmap(k: Kernel, mm: Mm): void {
  for (const v of [...mm.vmas.list]) removeVma(k, v);
  k.design.mmExit?.(mm);
}
