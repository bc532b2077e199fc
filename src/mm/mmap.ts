// mmap(2) and munmap(2) (the kernel's mm/mmap.c, mm/vma.c).
//
// Argument checks are Linux's, in Linux's order, because when several
// arguments are wrong the first check decides the errno:
//   arch sys_mmap:        offset not page-aligned            EINVAL
//   do_mmap:              len == 0                           EINVAL
//                         PAGE_ALIGN(len) wraps to 0         ENOMEM
//                         pgoff + pages overflows            EOVERFLOW
//   __get_unmapped_area:  len > TASK_SIZE                    ENOMEM
//                         addr > TASK_SIZE - len             ENOMEM
//                         addr not page-aligned              EINVAL
//                         addr < mmap_min_addr (no CAP_SYS_RAWIO) EPERM
//   do_mmap:              MAP_FIXED_NOREPLACE and overlap    EEXIST
//                         file_mmap_ok(): offset + len past
//                         MAX_LFS_FILESIZE                   EOVERFLOW
//   mmap_region:          accounting (vm_enough_memory)      ENOMEM
// MAP_FIXED_NOREPLACE is MAP_FIXED with the extra EEXIST check, so every
// trace mmap is at a fixed address: the simulator never chooses one.

import type { MmapCmd } from '../trace/ast.js';
import {
  MAX_LFS_FILESIZE, MMAP_MIN_ADDR, PAGE_ALIGN, PAGE_SHIFT, PAGE_SIZE, TASK_SIZE_BIG,
  VM_EXEC, VM_READ, VM_WRITE, type SysResult,
} from './constants.js';
import { File } from './file.js';
import type { Kernel } from './kernel.js';
import type { Mm } from './mm.js';
import { insertVma, mergeAround, unmapRange } from './vma-ops.js';
import { Vma } from './vma.js';
import { vmEnoughMemory } from './accounting.js';

const U64 = (1n << 64n) - 1n;

export function protBits(p: string): number {
  switch (p) {
    case 'none': return 0;
    case 'r': return VM_READ;
    case 'rw': return VM_READ | VM_WRITE;
    case 'rx': return VM_READ | VM_EXEC;
    case 'rwx': return VM_READ | VM_WRITE | VM_EXEC;
  }
  throw new Error(`bad prot ${p}`);
}

/**
 * The checks of get_unmapped_area() for a MAP_FIXED request of `len`
 * (already page-aligned, non-zero) bytes at `addr`.
 */
export function checkFixedArea(addr: bigint, len: bigint): SysResult {
  if (len > TASK_SIZE_BIG) return 'ENOMEM';
  if (addr > TASK_SIZE_BIG - len) return 'ENOMEM';
  if ((addr & 0xfffn) !== 0n) return 'EINVAL';
  if (addr < BigInt(MMAP_MIN_ADDR)) return 'EPERM';
  return 'ok';
}

export function sysMmap(k: Kernel, mm: Mm, c: MmapCmd, file: File | null): SysResult {
  const off = c.off ?? 0n;
  if ((off & 0xfffn) !== 0n) return 'EINVAL';
  let pgoff = off >> BigInt(PAGE_SHIFT);
  if (c.len === 0n) return 'EINVAL';
  const len = PAGE_ALIGN(c.len);
  if (len === 0n) return 'ENOMEM';
  if (((pgoff + (len >> 12n)) & U64) < pgoff) return 'EOVERFLOW';
  const area = checkFixedArea(c.addr, len);
  if (area !== 'ok') return area;
  const start = Number(c.addr);
  const end = start + Number(len);
  if (!c.fixed && mm.vmas.intersects(start, end)) return 'EEXIST';
  if (file !== null) {
    // file_mmap_ok() with maxsize = MAX_LFS_FILESIZE for a regular file.
    if (len > MAX_LFS_FILESIZE || pgoff > (MAX_LFS_FILESIZE - len) >> 12n) return 'EOVERFLOW';
  }
  const prot = protBits(c.prot);
  const pages = Number(len) / PAGE_SIZE;
  // Private writable memory and shared anonymous memory are charged
  // against overcommit (VM_ACCOUNT / shmem_acct_size).
  if (((!c.shared && (prot & VM_WRITE) !== 0) || (c.shared && file === null)) && !vmEnoughMemory(pages)) {
    return 'ENOMEM';
  }

  // MAP_FIXED replaces whatever was there.
  unmapRange(k, mm, start, end);

  let object = file;
  if (file === null) {
    if (c.shared) {
      // MAP_SHARED|MAP_ANONYMOUS: a new shmem object of exactly len bytes.
      object = new File(null, k.frames);
      object.size = Number(len);
      pgoff = 0n;
    } else {
      // do_mmap: "pgoff = addr >> PAGE_SHIFT" for private anonymous memory.
      pgoff = c.addr >> BigInt(PAGE_SHIFT);
    }
  }
  const v = new Vma(mm, start, end, Number(pgoff), prot, c.shared, object);
  // accountable_mapping(): private writable mappings are VM_ACCOUNT.
  v.account = !c.shared && (prot & VM_WRITE) !== 0;
  if (!c.shared) k.design.vmaNew(v);
  insertVma(mm, v);
  mergeAround(k, v);
  return 'ok';
}

/** munmap (do_vmi_munmap's checks). */
export function sysMunmap(k: Kernel, mm: Mm, addr: bigint, len: bigint): SysResult {
  if ((addr & 0xfffn) !== 0n || addr > TASK_SIZE_BIG || len > TASK_SIZE_BIG - addr) return 'EINVAL';
  const alen = PAGE_ALIGN(len);
  if (alen === 0n) return 'EINVAL';
  const start = Number(addr);
  unmapRange(k, mm, start, start + Number(alen));
  return 'ok';
}
