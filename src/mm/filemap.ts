// File syscalls: pwrite, pread, ftruncate (the kernel's mm/filemap.c,
// mm/truncate.c, fs/ext4).
//
// Offsets and sizes are off_t: a value of 2^63 or more is negative to the
// kernel and gives EINVAL, and so does a 4-byte pread/pwrite that would end
// past 2^63-1 (rw_verify_area(): pos + count < 0), before any other check.
// ext4 files end at s_maxbytes = (2^32-1) blocks = 16 TiB - 4 KiB: a write
// at or past it (generic_write_check_limits()), or a truncate beyond it
// (inode_newsize_ok()), gives EFBIG.
//
// A shrinking ftruncate (truncate_pagecache) first unmaps every page
// wholly past the new end from every mapping of the file — private
// copy-on-write copies included (unmap_mapping_range with even_cows) —
// then drops those pages from the page cache and zeroes the tail of the
// page that holds the new end. Afterwards accesses past EOF give SIGBUS.

import { EXT4_MAX_BYTES, MAX_LFS_FILESIZE, PAGE_SIZE, type SysResult } from './constants.js';
import type { File } from './file.js';
import type { Kernel } from './kernel.js';

/** rw_verify_area(): the 4 bytes must end at or below LLONG_MAX. */
const badPos = (off: bigint): boolean => off + 4n > MAX_LFS_FILESIZE;

export function sysPwrite(file: File, off: bigint, val: number): SysResult {
  if (badPos(off)) return 'EINVAL';
  if (off >= BigInt(EXT4_MAX_BYTES)) return 'EFBIG';
  file.writeWord(Number(off), val);
  return 'ok';
}

export function sysPread(file: File, off: bigint): number | 'EOF' | 'EINVAL' {
  if (badPos(off)) return 'EINVAL';
  if (off >= BigInt(file.size)) return 'EOF';
  const v = file.readWord(Number(off));
  return v === null ? 'EOF' : v;
}

export function sysFtruncate(k: Kernel, file: File, size: bigint): SysResult {
  if (size > MAX_LFS_FILESIZE) return 'EINVAL'; // a negative loff_t
  if (size > BigInt(EXT4_MAX_BYTES)) return 'EFBIG';
  const n = Number(size);
  if (n < file.size) {
    const from = Math.ceil(n / PAGE_SIZE);
    for (const v of file.mappings) {
      if (v.endIndex <= from) continue;
      const lo = Math.max(v.pgoff, from);
      v.mm.pt.clearRange(v.addrOf(lo) / PAGE_SIZE, v.end / PAGE_SIZE);
    }
    k.design.truncate(file, from);
  }
  file.setSize(n);
  return 'ok';
}
