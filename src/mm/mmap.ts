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

import {
  MAP_FIXED_NOREPLACE, MAP_SHARED, MAX_LFS_FILESIZE, MMAP_MIN_ADDR, PAGE_ALIGN, PAGE_SHIFT_BIG, PAGE_SIZE, pageAligned,
  TASK_SIZE_BIG, U64, VM_EXEC, VM_READ, VM_WRITE, type SysResult,
} from './constants.js';
import { File } from './file.js';
import type { Kernel } from './kernel.js';
import type { Mm } from './mm.js';
import { insertVma, mergeAround, unmapRange } from './vma-ops.js';
import { Vma } from './vma.js';
import { vmEnoughMemory } from './accounting.js';


/**
 * The checks of get_unmapped_area() for a MAP_FIXED request of `len`
 * (already page-aligned, non-zero) bytes at `addr`.
 */
export function checkFixedArea(addr: bigint, len: bigint): SysResult {
  if (len > TASK_SIZE_BIG) return 'ENOMEM';
  if (addr > TASK_SIZE_BIG - len) return 'ENOMEM';
  if (!pageAligned(addr)) return 'EINVAL';
  if (addr < BigInt(MMAP_MIN_ADDR)) return 'EPERM';
  return 'ok';
}

/**
 * mmap(addr, len, prot, flags, fd, off). `flags` is MAP_SHARED or
 * MAP_PRIVATE, with MAP_FIXED or MAP_FIXED_NOREPLACE (a trace always names
 * the address); `file` null is MAP_ANONYMOUS.
 */
export function sysMmap(k: Kernel, mm: Mm, addr: bigint, lenArg: bigint, protArg: number, flags: number,
  file: File | null, off: bigint): SysResult {
  const shared = (flags & MAP_SHARED) !== 0;
  if (!pageAligned(off)) return 'EINVAL';
  let pgoff = off >> PAGE_SHIFT_BIG;
  if (lenArg === 0n) return 'EINVAL';
  const len = PAGE_ALIGN(lenArg);
  if (len === 0n) return 'ENOMEM';
  if (((pgoff + (len >> PAGE_SHIFT_BIG)) & U64) < pgoff) return 'EOVERFLOW';
  const area = checkFixedArea(addr, len);
  if (area !== 'ok') return area;
  const start = Number(addr);
  const end = start + Number(len);
  if ((flags & MAP_FIXED_NOREPLACE) !== 0 && mm.vmas.intersects(start, end)) return 'EEXIST';
  if (file !== null) {
    // file_mmap_ok() with maxsize = MAX_LFS_FILESIZE for a regular file.
    if (len > MAX_LFS_FILESIZE || pgoff > (MAX_LFS_FILESIZE - len) >> PAGE_SHIFT_BIG) return 'EOVERFLOW';
  }
  // calc_vm_prot_bits(): PROT_READ/WRITE/EXEC are VM_READ/WRITE/EXEC.
  const prot = protArg & (VM_READ | VM_WRITE | VM_EXEC);
  const pages = Number(len) / PAGE_SIZE;
  // Private writable memory and shared anonymous memory are charged
  // against overcommit (VM_ACCOUNT / shmem_acct_size).
  if (((!shared && (prot & VM_WRITE) !== 0) || (shared && file === null)) && !vmEnoughMemory(pages)) {
    return 'ENOMEM';
  }

  // MAP_FIXED replaces whatever was there.
  unmapRange(k, mm, start, end);

  let object = file;
  if (file === null) {
    if (shared) {
      // MAP_SHARED|MAP_ANONYMOUS: a new shmem object of exactly len bytes.
      object = new File(null, k.frames);
      object.size = Number(len);
      pgoff = 0n;
    } else {
      // do_mmap: "pgoff = addr >> PAGE_SHIFT" for private anonymous memory.
      pgoff = addr >> PAGE_SHIFT_BIG;
    }
  }
  const v = new Vma(mm, start, end, Number(pgoff), prot, shared, object);
  // accountable_mapping(): private writable mappings are VM_ACCOUNT.
  v.account = !shared && (prot & VM_WRITE) !== 0;
  if (!shared) k.design.vmaNew(v);
  insertVma(mm, v);
  mergeAround(k, v);
  return 'ok';
}

/** munmap (do_vmi_munmap's checks). */
export function sysMunmap(k: Kernel, mm: Mm, addr: bigint, len: bigint): SysResult {
  if (!pageAligned(addr) || addr > TASK_SIZE_BIG || len > TASK_SIZE_BIG - addr) return 'EINVAL';
  const alen = PAGE_ALIGN(len);
  if (alen === 0n) return 'EINVAL';
  const start = Number(addr);
  unmapRange(k, mm, start, start + Number(alen));
  return 'ok';
}
