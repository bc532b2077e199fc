// Machine constants of the reference: Linux 6.18, x86-64, 4-level paging.
// The one definition for src/ (test/naive/ keeps its own copies on purpose:
// it is an independent model). Each constant that a bigint computation needs
// has a bigint twin named *_BIG; syscall arguments are u64, so they are bigints.

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
export const PAGE_SIZE_BIG = 4096n;
/** Bits of an address below its page (the complement of Linux's PAGE_MASK). */
export const PAGE_OFFSET_MASK = 0xfffn;
/** 32-bit words in a page: the simulator stores memory as u32 words. */
export const PAGE_WORDS = PAGE_SIZE / 4;

/** TASK_SIZE_MAX with 4-level paging: (1 << 47) - PAGE_SIZE. */
export const TASK_SIZE = 0x7ffffffff000;
export const TASK_SIZE_BIG = BigInt(TASK_SIZE);
/** vm.mmap_min_addr; an unprivileged caller mapping below it gets EPERM. */
export const MMAP_MIN_ADDR = 4096;

/** The window portable traces live in; `maps` and `frames` report only it. */
export const WINDOW_START = 0x100000000000;
export const WINDOW_END = 0x200000000000;
export const WINDOW_START_BIG = BigInt(WINDOW_START);
export const WINDOW_END_BIG = BigInt(WINDOW_END);

/** The largest u64, 2^64 - 1: syscall arguments are unsigned 64-bit numbers. */
export const U64 = (1n << 64n) - 1n;

/** ext4's s_maxbytes with 4 KiB blocks and extents: (2^32 - 1) blocks = 16 TiB - 4 KiB (ext4_max_size()). */
export const EXT4_MAX_BYTES = 0xffffffff000;
/** MAX_LFS_FILESIZE (LLONG_MAX), the bound of file_mmap_ok() for regular files. */
export const MAX_LFS_FILESIZE = (1n << 63n) - 1n;

/** vm_flags protection bits (VM_READ, VM_WRITE, VM_EXEC). */
export const VM_READ = 1;
export const VM_WRITE = 2;
export const VM_EXEC = 4;

export type Errno =
  | 'EINVAL' | 'ENOMEM' | 'EEXIST' | 'EFAULT' | 'EACCES' | 'EPERM'
  | 'EFBIG' | 'EOVERFLOW' | 'ENODEV' | 'EAGAIN';

/** What a syscall returns: 'ok' or the errno Linux gives. */
export type SysResult = 'ok' | Errno;

/** A page-aligned 64-bit value fits a JS number exactly when below 2^53. */
export const pageAligned = (x: bigint): boolean => (x & PAGE_OFFSET_MASK) === 0n;
/** Linux's PAGE_ALIGN on a u64: rounds up, wrapping to 0 past 2^64 - 4096. */
export const PAGE_ALIGN = (x: bigint): bigint => ((x + PAGE_OFFSET_MASK) & ~PAGE_OFFSET_MASK) & U64;
