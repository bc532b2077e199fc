// A deliberately naive, independent reference model of the vmtrace machine
// (docs/vmtrace.md), used by the model-based tests to check
// the simulator in src/. It imports nothing from src/ but the command types.
//
// Naive on purpose:
//  - every process owns a private copy of every page it has written in a
//    private mapping (a Map from virtual page number to 4096 bytes), copied
//    eagerly at fork;
//  - files and shared anonymous objects are plain maps of page index to 4096
//    bytes plus a size; a shared mapping reads and writes them directly on
//    every access; a private file mapping reads the file until the process
//    writes to that page, when it takes its own copy;
//  - no page tables, no frames, no trees: a process's address space is a
//    sorted array of vma records with naive splitting.
//
// What a program can observe of Linux is modelled exactly, because results are
// compared line by line. That includes which adjacent mappings the kernel
// merges into one vma (mremap fails with EFAULT when the range it resizes
// spans two vmas), so each vma record carries the vm_flags that decide
// merging (protection, VM_SHARED, VM_ACCOUNT, VM_DONTCOPY, VM_WIPEONFORK), the
// backing object (vm_file), vm_pgoff and an abstract anon_vma identity with
// whether its anon_vma_chain is "forked" (not singular).
//
// Reference: Linux 6.18 (x86-64, 4-level paging, ext4, unprivileged). The
// comments name the kernel function each rule comes from; "mmap.c" means
// mm/mmap.c, "vma.c" mm/vma.c, "mremap.c" mm/mremap.c, "mprotect.c"
// mm/mprotect.c, "madvise.c" mm/madvise.c, "rmap.c" mm/rmap.c, "fork.c"
// kernel/fork.c (dup_mmap is in mm/mmap.c since 6.16), "sys_x86_64.c"
// arch/x86/kernel/sys_x86_64.c.

import type { Command, Prot, Advice } from '../../src/trace/ast.js';

// ---------------------------------------------------------------- constants

export const PAGE = 4096n;
const PAGE_MASK = ~(PAGE - 1n);
const U64 = 1n << 64n;
const MASK64 = U64 - 1n;
/** TASK_SIZE_MAX for x86-64 4-level paging: (1 << 47) - PAGE_SIZE. */
export const TASK_SIZE = 0x7ffffffff000n;
/** /proc/sys/vm/mmap_min_addr default; below it mmap gives EPERM (security/min_addr.c, cap_mmap_addr). */
export const MMAP_MIN_ADDR = 4096n;
const LLONG_MAX = (1n << 63n) - 1n;
/** ext4_max_size() for extent files with 4 KiB blocks: ((1 << 32) - 1) << 12. */
export const EXT4_MAX_BYTES = ((1n << 32n) - 1n) << 12n;
export const WINDOW_START = 0x100000000000n;
export const WINDOW_END = 0x200000000000n;

const R = 1, W = 2, X = 4;
const PROT_BITS: Record<Prot, number> = { none: 0, r: R, rw: R | W, rx: R | X, rwx: R | W | X };

/** PAGE_ALIGN() in unsigned long arithmetic: may wrap to 0. */
const pageAlign = (x: bigint): bigint => ((x + PAGE - 1n) & MASK64) & PAGE_MASK;
const offsetInPage = (x: bigint): boolean => (x & (PAGE - 1n)) !== 0n;
const ceilPages = (bytes: bigint): bigint => (bytes + PAGE - 1n) / PAGE;
const minB = (a: bigint, b: bigint): bigint => (a < b ? a : b);
const maxB = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const hex = (n: bigint): string => `0x${n.toString(16)}`;

// ---------------------------------------------------------------- state

/** A regular file on ext4: its size and its page cache (absent page = zeros). */
export interface NFile {
  kind: 'file';
  name: string;
  size: bigint;
  pages: Map<bigint, Uint8Array>;
}

/** The shmem object behind one MAP_SHARED|MAP_ANONYMOUS mmap (shmem_zero_setup). */
export interface Shm {
  kind: 'shm';
  id: number;
  /** Size in pages: the original mapping's length, never changed by mremap. */
  npages: bigint;
  pages: Map<bigint, Uint8Array>;
}

/** One kernel vma. */
export interface Vma {
  start: bigint;
  end: bigint;
  prot: number;
  /** VM_SHARED | VM_MAYSHARE */
  shared: boolean;
  /** vm_file: the file, the shmem object of a shared anonymous mapping, or null (private anonymous). */
  obj: NFile | Shm | null;
  pgoff: bigint;
  /** VM_ACCOUNT (accountable_mapping() in mmap.c; mprotect_fixup() in mprotect.c). */
  account: boolean;
  /** VM_DONTCOPY (MADV_DONTFORK) */
  dontcopy: boolean;
  /** VM_WIPEONFORK */
  wipeonfork: boolean;
  /** Identity of vma->anon_vma, or null. */
  anon: number | null;
  /** vma->anon_vma_chain is not singular: the vma was forked from a parent's (vma_is_fork_child()). */
  forkChild: boolean;
}

/** A page a process owns privately: its bytes and an identity for "which frame" (see frames()). */
interface PrivPage {
  data: Uint8Array;
  token: number;
}

export interface Proc {
  name: string;
  vmas: Vma[];
  /** Private pages by virtual page number. Exist only inside private vmas. */
  priv: Map<bigint, PrivPage>;
}

type Attrs = Pick<Vma, 'prot' | 'shared' | 'account' | 'dontcopy' | 'wipeonfork'>;

const sameFlags = (a: Attrs, b: Attrs): boolean =>
  a.prot === b.prot && a.shared === b.shared && a.account === b.account &&
  a.dontcopy === b.dontcopy && a.wipeonfork === b.wipeonfork;

const vmaPages = (v: Vma): bigint => (v.end - v.start) / PAGE;

// ---------------------------------------------------------------- model

export interface NaiveOptions {
  /**
   * Whether `frames` prints its group lines. The model derives them (see
   * frames()); set false to print only the header.
   */
  frameGroups?: boolean;
  /**
   * Whether a read of private anonymous memory that the process has not
   * written maps the shared zero page (stock Linux, the default), or — on a
   * kernel that forbids the zero page — allocates a zeroed page of the
   * process's own, exactly as a first write would (do_anonymous_page():
   * vmf_anon_prepare(), then a fresh folio), shared with fork children
   * until either writes.
   */
  zeroPage?: boolean;
}

export class NaiveMachine {
  readonly files = new Map<string, NFile>();
  readonly procs = new Map<string, Proc>();
  private nextAnon = 1;
  private nextShm = 1;
  private nextToken = 1;
  private readonly frameGroups: boolean;
  private readonly zeroPage: boolean;

  constructor(opts: NaiveOptions = {}) {
    this.frameGroups = opts.frameGroups ?? true;
    this.zeroPage = opts.zeroPage ?? true;
  }

  exec(cmd: Command): string {
    switch (cmd.kind) {
      case 'file': {
        // open(O_CREAT|O_RDWR) then ftruncate: the file exists even if ftruncate fails.
        const f: NFile = { kind: 'file', name: cmd.file, size: 0n, pages: new Map() };
        this.files.set(cmd.file, f);
        return this.ftruncate(f, cmd.size);
      }
      case 'fwrite': return this.fwrite(this.file(cmd.file), cmd.off, cmd.val);
      case 'fread': return this.fread(this.file(cmd.file), cmd.off);
      case 'ftruncate': return this.ftruncate(this.file(cmd.file), cmd.size);
      case 'spawn':
        this.procs.set(cmd.proc, { name: cmd.proc, vmas: [], priv: new Map() });
        return 'ok';
      case 'fork': this.fork(this.proc(cmd.proc), cmd.child); return 'ok';
      case 'exit': this.procs.delete(cmd.proc); return 'ok';
      case 'frames': return this.frames();
      case 'reclaim': return 'ok';
      case 'mmap': return this.mmap(this.proc(cmd.proc), cmd.addr, cmd.len, cmd.prot, cmd.shared, cmd.fixed,
        cmd.file === undefined ? undefined : this.file(cmd.file), cmd.off ?? 0n);
      case 'munmap': return this.munmap(this.proc(cmd.proc), cmd.addr, cmd.len);
      case 'mprotect': return this.mprotect(this.proc(cmd.proc), cmd.addr, cmd.len, PROT_BITS[cmd.prot]);
      case 'mremap': return this.mremap(this.proc(cmd.proc), cmd.addr, cmd.oldLen, cmd.newLen, cmd.newAddr);
      case 'madvise': return this.madvise(this.proc(cmd.proc), cmd.addr, cmd.len, cmd.advice);
      // An access address may come as a number (the parser's form below 2^53) or a bigint.
      case 'read': return this.read(this.proc(cmd.proc), BigInt(cmd.addr));
      case 'write': return this.write(this.proc(cmd.proc), BigInt(cmd.addr), cmd.val);
      case 'maps': return this.maps(this.proc(cmd.proc));
    }
  }

  private file(name: string): NFile {
    const f = this.files.get(name);
    if (!f) throw new Error(`naive model: unknown file ${name}`);
    return f;
  }

  private proc(name: string): Proc {
    const p = this.procs.get(name);
    if (!p) throw new Error(`naive model: unknown process ${name}`);
    return p;
  }

  // ------------------------------------------------------------ files

  /**
   * ftruncate(2): do_sys_ftruncate() gives EINVAL for a negative length (2^63
   * or more as unsigned); inode_newsize_ok() gives EFBIG past s_maxbytes.
   */
  private ftruncate(f: NFile, size: bigint): string {
    if (size > LLONG_MAX) return 'EINVAL';
    if (size > EXT4_MAX_BYTES) return 'EFBIG';
    const old = f.size;
    if (size <= old) {
      // Also for the same size: ext4_setattr() calls truncate_pagecache()
      // and ext4_truncate() "even if i_size didn't change", which zeroes the
      // tail of the partial page (confirmed on Linux 6.18.44).
      // truncate_setsize() -> truncate_pagecache(): unmap_mapping_range(...,
      // even_cows=1) drops every page wholly past the new end from every
      // mapping, private copies included; truncate_inode_pages() drops them
      // from the page cache and zeroes the tail of the partial page (ext4
      // also zeroes it via ext4_block_truncate_page()). Private copies of the
      // page holding the new end keep their bytes.
      const keep = ceilPages(size);
      for (const idx of [...f.pages.keys()]) if (idx >= keep) f.pages.delete(idx);
      const tail = size % PAGE;
      if (tail !== 0n) f.pages.get(size / PAGE)?.fill(0, Number(tail));
      for (const p of this.procs.values()) {
        for (const vpn of [...p.priv.keys()]) {
          const v = this.findVma(p, vpn * PAGE)!;
          if (v.obj === f && v.pgoff + (vpn - v.start / PAGE) >= keep) p.priv.delete(vpn);
        }
      }
    } else if (size > old) {
      this.zeroPastEof(f, old + PAGE);
    }
    f.size = size;
    return 'ok';
  }

  /**
   * The file is about to grow: bytes past EOF in its last page (which only a
   * shared mapping can have written) are zeroed from the old EOF up to
   * `upTo` (at most the end of that page). A growing ftruncate zeroes the
   * whole tail (ext4_setattr() zeroes the partial EOF block on an unaligned
   * size extension). A growing pwrite zeroes only the gap between the old
   * EOF and the write: what lies after the written bytes stays, and a write
   * at the old EOF zeroes nothing. (Observed on Linux 6.18.44, ext4; the
   * spec's "zeroed when the file grows again" is right for ftruncate only.)
   */
  private zeroPastEof(f: NFile, upTo: bigint): void {
    const tail = f.size % PAGE;
    if (tail === 0n) return;
    const pageStart = f.size - tail;
    const end = minB(upTo, pageStart + PAGE);
    if (end > f.size) f.pages.get(f.size / PAGE)?.fill(0, Number(tail), Number(end - pageStart));
  }

  /**
   * pwrite(2) of 4 bytes: ksys_pwrite64() gives EINVAL for a negative pos,
   * rw_verify_area() for pos + 4 past LLONG_MAX;
   * generic_write_check_limits() gives EFBIG for pos >= s_maxbytes (pos is
   * 4-aligned and s_maxbytes page-aligned, so the 4 bytes then fit).
   */
  private fwrite(f: NFile, off: bigint, val: number): string {
    if (off + 4n > LLONG_MAX) return 'EINVAL';
    if (off >= EXT4_MAX_BYTES) return 'EFBIG';
    const end = off + 4n;
    if (end > f.size) this.zeroPastEof(f, off);
    pageStore(f.pages, off / PAGE, Number(off % PAGE), val);
    if (end > f.size) f.size = end;
    return 'ok';
  }

  /**
   * pread(2) of 4 bytes: EINVAL for a negative pos (ksys_pread64()) or pos +
   * 4 past LLONG_MAX (rw_verify_area()); fewer than 4 bytes before EOF prints EOF.
   */
  private fread(f: NFile, off: bigint): string {
    if (off + 4n > LLONG_MAX) return 'EINVAL';
    if (off + 4n > f.size) return 'EOF';
    return String(pageLoad(f.pages.get(off / PAGE), Number(off % PAGE)));
  }

  // ------------------------------------------------------------ processes

  /**
   * fork(): dup_mmap() copies every vma but VM_DONTCOPY ones, with the same
   * flags, pgoff and splits (no merging). A vma with VM_WIPEONFORK gets no
   * anon_vma and no pages in the child (reads 0). Otherwise, when the parent's
   * vma has an anon_vma, anon_vma_fork() gives the child's vma a new anon_vma
   * whose chain also holds the parent's: the child vma is a "fork child"
   * (vma_is_fork_child()), which limits merging later. Private pages are
   * shared copy-on-write: naively, copied now, with the same frame token.
   */
  private fork(parent: Proc, childName: string): void {
    const child: Proc = { name: childName, vmas: [], priv: new Map() };
    for (const v of parent.vmas) {
      if (v.dontcopy) continue;
      const c: Vma = { ...v };
      if (v.wipeonfork) {
        c.anon = null;
        c.forkChild = false;
      } else if (v.anon !== null) {
        c.anon = this.nextAnon++;
        c.forkChild = true;
      }
      child.vmas.push(c);
    }
    for (const [vpn, pp] of parent.priv) {
      const v = this.findVma(parent, vpn * PAGE)!;
      if (!v.dontcopy && !v.wipeonfork) child.priv.set(vpn, { data: pp.data.slice(), token: pp.token });
    }
    this.procs.set(childName, child);
  }

  // ------------------------------------------------------------ vma list helpers

  /** vma_lookup(): the vma containing addr. */
  private findVma(p: Proc, addr: bigint): Vma | undefined {
    return p.vmas.find((v) => v.start <= addr && addr < v.end);
  }

  /** find_vma(): the first vma ending above addr. */
  private findVmaAbove(p: Proc, addr: bigint): Vma | undefined {
    return p.vmas.find((v) => v.end > addr);
  }

  /** vma_find()/find_vma_intersection(): the first vma meeting [start, end). */
  private findIntersecting(p: Proc, start: bigint, end: bigint): Vma | undefined {
    if (end <= start) return undefined;
    return p.vmas.find((v) => v.end > start && v.start < end);
  }

  private insertVma(p: Proc, v: Vma): void {
    let i = 0;
    while (i < p.vmas.length && p.vmas[i]!.start < v.start) i++;
    p.vmas.splice(i, 0, v);
  }

  private removeVma(p: Proc, v: Vma): void {
    const i = p.vmas.indexOf(v);
    if (i < 0) throw new Error('naive model: removing a vma that is not there');
    p.vmas.splice(i, 1);
  }

  /** prev: the last vma ending at or below addr (find_vma_prev() of an empty range). */
  private prevOf(p: Proc, addr: bigint): Vma | undefined {
    let prev: Vma | undefined;
    for (const v of p.vmas) if (v.end <= addr) prev = v;
    return prev;
  }

  /** next: the first vma starting at or above addr. */
  private nextOf(p: Proc, addr: bigint): Vma | undefined {
    return p.vmas.find((v) => v.start >= addr);
  }

  /** __split_vma(): split v at addr; both parts keep flags, anon_vma and its chain (anon_vma_clone()). */
  private splitAt(p: Proc, addr: bigint): void {
    const v = this.findVma(p, addr);
    if (!v || v.start === addr) return;
    const upper: Vma = { ...v, start: addr, pgoff: v.pgoff + (addr - v.start) / PAGE };
    v.end = addr;
    this.insertVma(p, upper);
  }

  /** The unmapping part of do_vmi_align_munmap(): split at both ends, remove, free the pages. */
  private unmapRange(p: Proc, start: bigint, end: bigint): void {
    this.splitAt(p, start);
    this.splitAt(p, end);
    p.vmas = p.vmas.filter((v) => v.end <= start || v.start >= end);
    for (const vpn of [...p.priv.keys()]) {
      if (vpn >= start / PAGE && vpn < end / PAGE) p.priv.delete(vpn);
    }
  }

  /**
   * do_vmi_munmap() in vma.c (munmap(2), do_munmap(), the shrink of mremap):
   * EINVAL for an unaligned start, a start past TASK_SIZE, a length reaching
   * past TASK_SIZE, or a length of 0.
   */
  private doMunmap(p: Proc, start: bigint, len: bigint): string {
    if (offsetInPage(start) || start > TASK_SIZE || len > TASK_SIZE - start) return 'EINVAL';
    const end = start + pageAlign(len);
    if (end === start) return 'EINVAL';
    this.unmapRange(p, start, end);
    return 'ok';
  }

  // ------------------------------------------------------------ merging (vma.c)

  /**
   * is_mergeable_anon_vma(): may a range whose anon_vma is srcAnon (with
   * srcForkChild for vmg->middle/vmg->copied_from) merge with tgt?
   *  1. only the source has one: refused if the source vma (or, for
   *     copy_vma(), the vma copied from) is a fork child;
   *  2. only the target has one: refused if the target is a fork child;
   *  3. both or neither: the anon_vmas must be the same.
   */
  private anonCompatible(tgt: Vma, srcAnon: number | null, srcForkChild: boolean): boolean {
    if (tgt.anon === null && srcAnon !== null) return !srcForkChild;
    if (tgt.anon !== null && srcAnon === null) return !tgt.forkChild;
    return tgt.anon === srcAnon;
  }

  /** is_mergeable_vma(): same vm_flags (VM_SOFTDIRTY aside; none other differs here) and same vm_file. */
  private mergeableWith(v: Vma, a: Attrs, obj: NFile | Shm | null): boolean {
    return sameFlags(v, a) && v.obj === obj;
  }

  /**
   * vma_merge_new_range(): a new range [start, end) with attributes `a`,
   * backing `obj`, `pgoff` and anon_vma `anon` is about to be added (mmap,
   * copy_vma() for mremap, vma_merge_extend() for an in-place mremap
   * expansion). Merge it with prev and/or next when can_vma_merge_left()/
   * can_vma_merge_right() allow (adjacent, mergeable flags and file, anon_vma
   * compatible, contiguous pgoff; merging both also needs prev's and next's
   * anon_vmas compatible with each other); else return undefined.
   *
   * srcForkChild: vma_is_fork_child() of vmg->middle or vmg->copied_from (only
   * set by copy_vma()). The copied_from check, and the target taking the
   * copied vma's anon_vma, come from a fix ("mm/vma: fix anon_vma UAF on
   * mremap() faulted, unfaulted merge") in the 6.18.y stable kernels; the
   * kernel this was checked on (6.18.44) has it: see the test
   * "mremap of a fork child vma next to an unfaulted one does not merge".
   */
  private mergeNewRange(
    p: Proc, start: bigint, end: bigint, a: Attrs, obj: NFile | Shm | null, pgoff: bigint,
    anon: number | null, srcForkChild: boolean, prevOverride?: Vma,
  ): Vma | undefined {
    const prev = prevOverride ?? this.prevOf(p, start);
    const next = this.nextOf(p, end);
    const pages = (end - start) / PAGE;
    const canLeft = prev !== undefined && prev.end === start && this.mergeableWith(prev, a, obj) &&
      this.anonCompatible(prev, anon, srcForkChild) && prev.pgoff + vmaPages(prev) === pgoff;
    let canRight = next !== undefined && next.start === end && this.mergeableWith(next, a, obj) &&
      this.anonCompatible(next, anon, srcForkChild) && pgoff + pages === next.pgoff;
    if (canRight && canLeft) {
      canRight = prev!.anon === null || next!.anon === null || prev!.anon === next!.anon;
    }
    if (canLeft) {
      // vma_expand() of prev over the range (and over next when merging both);
      // dup_anon_vma() gives prev next's anon_vma, or the copied vma's.
      const target = prev!;
      if (canRight) {
        this.adoptAnon(target, next!);
        target.end = next!.end;
        this.removeVma(p, next!);
      } else {
        target.end = end;
      }
      if (target.anon === null && anon !== null) { target.anon = anon; target.forkChild = srcForkChild; }
      return target;
    }
    if (canRight) {
      const target = next!;
      target.start = start;
      target.pgoff = pgoff;
      if (target.anon === null && anon !== null) { target.anon = anon; target.forkChild = srcForkChild; }
      return target;
    }
    return undefined;
  }

  /** dup_anon_vma(dst, src): dst takes src's anon_vma (and its chain) when it has none. */
  private adoptAnon(dst: Vma, src: Vma): void {
    if (dst.anon === null && src.anon !== null) {
      dst.anon = src.anon;
      dst.forkChild = src.forkChild;
    }
  }

  /**
   * vma_modify() in vma.c, as used by mprotect_fixup() and
   * madvise_update_vma(): give [start, end) of `middle` the flags `a`. First
   * vma_merge_existing_range(): only when the range touches an end of middle,
   * merge it into prev (left side), next (right side) or both; otherwise split
   * middle (split_vma() below and/or above) and change the flags of the
   * middle part. Returns the vma now holding [start, end).
   */
  private modifyRange(p: Proc, middle: Vma, start: bigint, end: bigint, a: Attrs): Vma {
    const leftSide = start === middle.start;
    const rightSide = end === middle.end;
    const pgoff = middle.pgoff + (start - middle.start) / PAGE;
    if (leftSide || rightSide) {
      const i = p.vmas.indexOf(middle);
      const prev = i > 0 ? p.vmas[i - 1] : undefined;
      const next = i + 1 < p.vmas.length ? p.vmas[i + 1] : undefined;
      const mergeLeft = leftSide && prev !== undefined && prev.end === start &&
        this.mergeableWith(prev, a, middle.obj) && this.anonCompatible(prev, middle.anon, middle.forkChild) &&
        prev.pgoff + vmaPages(prev) === pgoff;
      let mergeRight = rightSide && next !== undefined && next.start === end &&
        this.mergeableWith(next, a, middle.obj) && this.anonCompatible(next, middle.anon, middle.forkChild) &&
        pgoff + (end - start) / PAGE === next.pgoff;
      if (mergeRight && mergeLeft) {
        mergeRight = prev!.anon === null || next!.anon === null || prev!.anon === next!.anon;
      }
      if (mergeLeft && mergeRight) {
        // prev extends over middle and next; dup_anon_vma(prev, next->anon_vma ? next : middle)
        this.adoptAnon(prev!, next!.anon !== null ? next! : middle);
        prev!.end = next!.end;
        this.removeVma(p, middle);
        this.removeVma(p, next!);
        return prev!;
      }
      if (mergeLeft) {
        this.adoptAnon(prev!, middle);
        prev!.end = end;
        if (rightSide) this.removeVma(p, middle);
        else { middle.start = end; middle.pgoff = pgoff + (end - start) / PAGE; }
        return prev!;
      }
      if (mergeRight) {
        this.adoptAnon(next!, middle);
        next!.start = start;
        next!.pgoff = pgoff;
        if (leftSide) this.removeVma(p, middle);
        else middle.end = start;
        return next!;
      }
    }
    this.splitAt(p, start);
    this.splitAt(p, end);
    const v = this.findVma(p, start)!;
    Object.assign(v, a);
    return v;
  }

  /**
   * anon_vma_prepare() (rmap.c), on the first write fault of a private vma:
   * find_mergeable_anon_vma() reuses the anon_vma of the adjacent next, then
   * prev, vma when anon_vma_compatible() (adjacent, same vm_file, flags equal
   * but for VM_READ/WRITE/EXEC, contiguous pgoff) and its chain is singular;
   * otherwise a new anon_vma.
   */
  private anonVmaPrepare(p: Proc, v: Vma): void {
    const i = p.vmas.indexOf(v);
    const compatible = (a: Vma, b: Vma): boolean =>
      a.end === b.start && a.obj === b.obj && a.shared === b.shared && a.account === b.account &&
      a.dontcopy === b.dontcopy && a.wipeonfork === b.wipeonfork && b.pgoff === a.pgoff + vmaPages(a);
    const reusable = (old: Vma | undefined, a: Vma | undefined, b: Vma | undefined): boolean =>
      old !== undefined && a !== undefined && b !== undefined && compatible(a, b) &&
      old.anon !== null && !old.forkChild;
    const next = p.vmas[i + 1];
    const prev = i > 0 ? p.vmas[i - 1] : undefined;
    if (reusable(next, v, next)) v.anon = next!.anon;
    else if (reusable(prev, prev, v)) v.anon = prev!.anon;
    else v.anon = this.nextAnon++;
    v.forkChild = false;
  }

  // ------------------------------------------------------------ mmap

  /**
   * mmap(2) with MAP_FIXED (`,fixed`) or MAP_FIXED_NOREPLACE. The checks, in
   * the kernel's order:
   *  - sys_mmap() (sys_x86_64.c): offset not page-aligned: EINVAL;
   *  - do_mmap() (mmap.c): len 0: EINVAL; PAGE_ALIGN(len) wraps to 0: ENOMEM;
   *    (MAP_FIXED_NOREPLACE implies MAP_FIXED, so no hint rounding);
   *  - __get_unmapped_area() (mmap.c): len > TASK_SIZE: ENOMEM; the arch (and
   *    shmem, thp) get_unmapped_area return a MAP_FIXED address as is; then
   *    addr > TASK_SIZE - len: ENOMEM; addr not page-aligned: EINVAL;
   *    security_mmap_addr(): addr < mmap_min_addr: EPERM (cap_mmap_addr);
   *  - do_mmap(): MAP_FIXED_NOREPLACE and anything mapped in the range: EEXIST;
   *    file_mmap_ok(): pgoff > (MAX_LFS_FILESIZE - len) >> PAGE_SHIFT: EOVERFLOW;
   *  - __mmap_region() (vma.c): unmap what was there, then try
   *    vma_merge_new_range() with the new vma's flags and file. A shared
   *    anonymous mapping tries that with no file yet (shmem_zero_setup() runs
   *    after), so it never merges; its shmem object is as long as the mapping.
   */
  private mmap(p: Proc, addr: bigint, lenIn: bigint, prot: Prot, shared: boolean, fixed: boolean,
    file: NFile | undefined, off: bigint): string {
    if (offsetInPage(off)) return 'EINVAL';
    if (lenIn === 0n) return 'EINVAL';
    const len = pageAlign(lenIn);
    if (len === 0n) return 'ENOMEM';
    if (len > TASK_SIZE) return 'ENOMEM';
    if (addr > TASK_SIZE - len) return 'ENOMEM';
    if (offsetInPage(addr)) return 'EINVAL';
    if (addr < MMAP_MIN_ADDR) return 'EPERM';
    const end = addr + len;
    if (!fixed && this.findIntersecting(p, addr, end)) return 'EEXIST';
    const pgoffFile = off / PAGE;
    if (file && pgoffFile > (LLONG_MAX - len) / PAGE) return 'EOVERFLOW';

    this.unmapRange(p, addr, end);
    const bits = PROT_BITS[prot];
    // accountable_mapping(): private writable mappings are VM_ACCOUNT.
    const a: Attrs = { prot: bits, shared, account: !shared && (bits & W) !== 0, dontcopy: false, wipeonfork: false };
    // do_mmap(): a file keeps its pgoff; shared anonymous: pgoff 0; private
    // anonymous: pgoff = addr >> PAGE_SHIFT.
    const pgoff = file ? pgoffFile : shared ? 0n : addr / PAGE;
    const mergeObj: NFile | null = file ?? null;
    if (!(shared && !file)) {
      const merged = this.mergeNewRange(p, addr, end, a, mergeObj, pgoff, null, false);
      if (merged) return 'ok';
    }
    const obj: NFile | Shm | null = file ?? (shared
      ? { kind: 'shm', id: this.nextShm++, npages: len / PAGE, pages: new Map() }
      : null);
    this.insertVma(p, { start: addr, end, ...a, obj, pgoff, anon: null, forkChild: false });
    return 'ok';
  }

  private munmap(p: Proc, addr: bigint, len: bigint): string {
    return this.doMunmap(p, addr, len);
  }

  // ------------------------------------------------------------ mprotect

  /**
   * do_mprotect_pkey() (mprotect.c): unaligned start: EINVAL; len 0: ok;
   * start + PAGE_ALIGN(len) wrapping or 0: ENOMEM; no vma meeting the range,
   * or a hole at its start: ENOMEM with nothing changed. Then each vma in
   * turn gets mprotect_fixup() over its part of the range; a hole between
   * vmas stops the loop with ENOMEM (earlier parts stay changed), as does a
   * range reaching past the last vma.
   */
  private mprotect(p: Proc, start: bigint, lenIn: bigint, bits: number): string {
    if (offsetInPage(start)) return 'EINVAL';
    if (lenIn === 0n) return 'ok';
    const len = pageAlign(lenIn);
    const end = (start + len) & MASK64;
    if (end <= start) return 'ENOMEM';
    let v = this.findIntersecting(p, start, end);
    if (!v) return 'ENOMEM';
    if (v.start > start) return 'ENOMEM';
    let nstart = start;
    let tmp = v.start;
    let err: string | undefined;
    while (v && v.start < end) {
      if (v.start !== tmp) { err = 'ENOMEM'; break; }
      const pieceEnd = minB(v.end, end);
      const res = this.mprotectFixup(p, v, nstart, pieceEnd, bits);
      tmp = res.end;
      nstart = tmp;
      v = this.findVmaAbove(p, tmp);
    }
    if (!err && tmp < end) err = 'ENOMEM';
    return err ?? 'ok';
  }

  /**
   * mprotect_fixup(): nothing when the flags do not change. Making a private
   * mapping writable sets VM_ACCOUNT; making one unwritable clears it only for
   * an anonymous vma with no anon_vma yet.
   */
  private mprotectFixup(p: Proc, v: Vma, start: bigint, end: bigint, bits: number): Vma {
    const a: Attrs = { prot: bits, shared: v.shared, account: v.account, dontcopy: v.dontcopy, wipeonfork: v.wipeonfork };
    if (sameFlags(a, v)) return v;
    if (bits & W) {
      if (!(v.account || (v.prot & W) || v.shared)) a.account = true;
    } else if (v.account && v.obj === null && !v.shared && v.anon === null) {
      a.account = false;
    }
    return this.modifyRange(p, v, start, end, a);
  }

  // ------------------------------------------------------------ madvise

  /**
   * do_madvise() (madvise.c): is_valid_madvise(): unaligned start, a length
   * that PAGE_ALIGN() rounds to 0, or start + len wrapping: EINVAL; an empty
   * range: ok. madvise_walk_vmas(): no vma at or above the start: ENOMEM;
   * holes are skipped but remembered (ENOMEM at the end); an error from a vma
   * (MADV_WIPEONFORK on a file or shared vma: EINVAL) stops the walk at once.
   */
  private madvise(p: Proc, addr: bigint, lenIn: bigint, advice: Advice): string {
    if (offsetInPage(addr)) return 'EINVAL';
    const len = pageAlign(lenIn);
    if (lenIn !== 0n && len === 0n) return 'EINVAL';
    if (addr + len > MASK64) return 'EINVAL';
    const lastEnd = addr + len;
    if (lastEnd === addr) return 'ok';
    let start = addr;
    let unmapped = false;
    let v = this.findVmaAbove(p, start);
    for (;;) {
      if (!v) return 'ENOMEM';
      if (start < v.start) {
        unmapped = true;
        start = v.start;
        if (start >= lastEnd) break;
      }
      const end = minB(v.end, lastEnd);
      const res = this.madviseVma(p, v, start, end, advice);
      if (typeof res === 'string') return res;
      const cursor = maxB(end, res.end);
      if (cursor >= lastEnd) break;
      start = cursor;
      v = this.findVmaAbove(p, cursor);
    }
    return unmapped ? 'ENOMEM' : 'ok';
  }

  /** madvise_vma_behavior() for one vma's part [start, end). */
  private madviseVma(p: Proc, v: Vma, start: bigint, end: bigint, advice: Advice): Vma | string {
    if (advice === 'dontneed') {
      // zap_page_range_single(): private pages go (anonymous memory reads 0
      // again, a private file page shows the file again); shared memory
      // keeps its data in the file or shmem object.
      for (const vpn of [...p.priv.keys()]) if (vpn >= start / PAGE && vpn < end / PAGE) p.priv.delete(vpn);
      return v;
    }
    const a: Attrs = { prot: v.prot, shared: v.shared, account: v.account, dontcopy: v.dontcopy, wipeonfork: v.wipeonfork };
    switch (advice) {
      case 'dontfork': a.dontcopy = true; break;
      case 'dofork': a.dontcopy = false; break;
      case 'wipeonfork':
        // MADV_WIPEONFORK is only supported on anonymous memory.
        if (v.obj !== null || v.shared) return 'EINVAL';
        a.wipeonfork = true;
        break;
      case 'keeponfork': a.wipeonfork = false; break;
    }
    // madvise_update_vma(): nothing when the flags do not change.
    if (sameFlags(a, v)) return v;
    return this.modifyRange(p, v, start, end, a);
  }

  // ------------------------------------------------------------ mremap

  /**
   * mremap(2) as of Linux 6.17+ (do_mremap() in mremap.c). flags are 0, or
   * MREMAP_MAYMOVE|MREMAP_FIXED when NEWADDR is given.
   *
   * do_mremap(): old_len and new_len are PAGE_ALIGN()ed (may wrap to 0).
   * check_mremap_params(): unaligned addr: EINVAL; new_len 0: EINVAL;
   * new_len > TASK_SIZE: EINVAL; with MREMAP_FIXED: new_addr > TASK_SIZE -
   * new_len: EINVAL; unaligned new_addr: EINVAL; old and new ranges
   * overlapping (vrm_overlaps(), unsigned arithmetic): EINVAL.
   *
   * MREMAP_FIXED with old_len == new_len is a pure move (vrm_move_only()),
   * done by remap_move(), which since 6.17 may span several vmas and holes.
   * Everything else works on the one vma containing addr (check_prep_vma()).
   */
  private mremap(p: Proc, addr: bigint, oldLenIn: bigint, newLenIn: bigint, newAddrIn: bigint | undefined): string {
    const fixed = newAddrIn !== undefined;
    const newAddr = newAddrIn ?? 0n;
    const oldLen = pageAlign(oldLenIn);
    const newLen = pageAlign(newLenIn);
    if (offsetInPage(addr)) return 'EINVAL';
    if (newLen === 0n) return 'EINVAL';
    if (newLen > TASK_SIZE) return 'EINVAL';
    if (fixed) {
      if (newAddr > TASK_SIZE - newLen) return 'EINVAL';
      if (offsetInPage(newAddr)) return 'EINVAL';
      const endOld = (addr + oldLen) & MASK64;
      const endNew = (newAddr + newLen) & MASK64;
      if (endOld > newAddr && endNew > addr) return 'EINVAL';
    }
    if (fixed && oldLen === newLen) return this.remapMove(p, addr, oldLen, newAddr);

    // check_prep_vma()
    const v = this.findVma(p, addr);
    if (!v) return 'EFAULT';
    const type = oldLen === newLen ? 'same' : oldLen > newLen ? 'shrink' : 'expand';
    if (type === 'expand' || fixed) { // vrm_will_map_new()
      // Duplicating a private mapping with old_len 0 is refused.
      if (oldLen === 0n && !v.shared) return 'EINVAL';
      // The shrink's unmapped tail may cross vma boundaries; what stays may not.
      const ol = type === 'shrink' ? newLen : oldLen;
      if (ol > v.end - addr) return 'EFAULT';
      // pgoff overflow, VM_DONTEXPAND/VM_PFNMAP, mlock and may_expand_vm()
      // limits cannot trigger here.
    }
    if (fixed) return this.mremapTo(p, addr, oldLen, newLen, newAddr, type === 'shrink');

    // mremap_at()
    if (type === 'same') return 'ok';
    if (type === 'shrink') return this.doMunmap(p, addr + newLen, oldLen - newLen); // shrink_vma()
    // expand_vma(): in place when [addr, addr + old_len) reaches the end of
    // the vma and vma_expandable(); without MREMAP_MAYMOVE, ENOMEM otherwise.
    const delta = newLen - oldLen;
    if (v.end - addr === oldLen && this.expandable(p, v, delta)) {
      // expand_vma_in_place() -> vma_merge_extend(): the extension merges
      // with the vma itself and possibly with the next one.
      this.mergeNewRange(p, v.end, v.end + delta, v, v.obj, v.pgoff + vmaPages(v), v.anon, false, v);
      return 'ok';
    }
    return 'ENOMEM';
  }

  /**
   * vma_expandable(): end = vm_end + delta must not wrap, nothing may be
   * mapped in [vm_end, end), and get_unmapped_area(NULL, vm_start, end -
   * vm_start, 0, MAP_FIXED) must accept it (end <= TASK_SIZE).
   */
  private expandable(p: Proc, v: Vma, delta: bigint): boolean {
    const end = v.end + delta;
    if (end > MASK64) return false;
    if (this.findIntersecting(p, v.end, end)) return false;
    const len = end - v.start;
    if (len > TASK_SIZE || v.start > TASK_SIZE - len) return false;
    return true;
  }

  /**
   * mremap_to(): do_munmap() of the whole target first (whatever the
   * outcome), vma_lookup(addr) again (EFAULT if it went), the shrink of the
   * source tail, then vrm_set_new_addr(): get_unmapped_area(..., MAP_FIXED)
   * whose security_mmap_addr() gives EPERM below mmap_min_addr; then
   * move_vma().
   */
  private mremapTo(p: Proc, addr: bigint, oldLenIn: bigint, newLen: bigint, newAddr: bigint, shrink: boolean): string {
    let oldLen = oldLenIn;
    const r = this.doMunmap(p, newAddr, newLen);
    if (r !== 'ok') return r;
    if (!this.findVma(p, addr)) return 'EFAULT';
    if (shrink) {
      const s = this.doMunmap(p, addr + newLen, oldLen - newLen);
      if (s !== 'ok') return s;
      if (!this.findVma(p, addr)) return 'EFAULT';
      oldLen = newLen;
    }
    if (newAddr < MMAP_MIN_ADDR) return 'EPERM';
    this.moveVma(p, this.findVma(p, addr)!, addr, oldLen, newAddr, newLen);
    return 'ok';
  }

  /**
   * remap_move() (6.17+): MREMAP_FIXED with old_len == new_len moves every
   * vma part in [addr, addr + len) to the same offset from new_addr, keeping
   * the gaps (gaps in the target are left alone). A hole at addr, or nothing
   * mapped at all: EFAULT. Each part goes through mremap_to() on its own.
   */
  private remapMove(p: Proc, start: bigint, len: bigint, newAddr: bigint): string {
    const end = start + len;
    if (end > MASK64) return 'EFAULT';
    let cursor = start;
    let seen = false;
    let res = 'EFAULT';
    for (;;) {
      const v = this.findIntersecting(p, cursor, end);
      if (!v) break;
      if (!seen && start < v.start) return 'EFAULT';
      const lastEnd = v.end;
      const pieceStart = maxB(v.start, start);
      const pieceLen = minB(end, v.end) - pieceStart;
      const r = this.mremapTo(p, pieceStart, pieceLen, pieceLen, newAddr + (pieceStart - start), false);
      if (r !== 'ok') return r;
      seen = true;
      res = 'ok';
      cursor = lastEnd;
    }
    return res;
  }

  /**
   * move_vma(): copy_vma() makes the target vma (trying vma_merge_new_range()
   * at the target; an anonymous vma with no anon_vma takes pgoff = new_addr
   * >> PAGE_SHIFT, any other keeps its pgoff, so a moved faulted anonymous
   * vma does not merge with new mappings beside it), the pages move, then the
   * old range is unmapped (unmap_source_vma(); with old_len 0 that unmap
   * fails and is ignored, leaving a second view).
   */
  private moveVma(p: Proc, v: Vma, addr: bigint, oldLen: bigint, newAddr: bigint, newLen: bigint): void {
    let pgoff = v.pgoff + (addr - v.start) / PAGE;
    if (v.obj === null && !v.shared && v.anon === null) pgoff = newAddr / PAGE;
    const newEnd = newAddr + newLen;
    const merged = this.mergeNewRange(p, newAddr, newEnd, v, v.obj, pgoff, v.anon, v.forkChild);
    if (!merged) {
      this.insertVma(p, { ...v, start: newAddr, end: newEnd, pgoff });
    }
    // move_page_tables(): the pages of [addr, addr + old_len) move.
    const moved: [bigint, PrivPage][] = [];
    for (const [vpn, pp] of [...p.priv]) {
      if (vpn < addr / PAGE || vpn >= (addr + oldLen) / PAGE) continue;
      moved.push([vpn - addr / PAGE + newAddr / PAGE, pp]);
      p.priv.delete(vpn);
    }
    for (const [vpn, pp] of moved) p.priv.set(vpn, pp);
    if (oldLen !== 0n) this.unmapRange(p, addr, addr + oldLen);
  }

  // ------------------------------------------------------------ memory access

  private objPages(obj: NFile | Shm): bigint {
    return obj.kind === 'file' ? ceilPages(obj.size) : obj.npages;
  }

  /**
   * A load: no vma or no PROT_READ: SIGSEGV. A private page of the process
   * reads its copy; private anonymous memory reads 0 otherwise; file and
   * shmem pages at or past the object's end (ceil(size/4096) pages) give
   * SIGBUS (filemap_fault(), shmem_fault()).
   */
  private read(p: Proc, addr: bigint): string {
    const v = this.findVma(p, addr);
    if (!v || !(v.prot & R)) return 'SIGSEGV';
    const off = Number(addr % PAGE);
    if (!v.shared) {
      const pp = p.priv.get(addr / PAGE);
      if (pp) return String(pageLoad(pp.data, off));
    }
    if (v.obj === null) {
      if (!v.shared && !this.zeroPage) this.ownZeroPage(p, v, addr / PAGE);
      return '0';
    }
    const idx = v.pgoff + (addr - v.start) / PAGE;
    if (idx >= this.objPages(v.obj)) return 'SIGBUS';
    return String(pageLoad(v.obj.pages.get(idx), off));
  }

  /**
   * No zero page: a read fault of private anonymous memory gives the
   * process a zeroed page of its own (with an anon_vma first, as a write
   * would), which fork then shares like any written page.
   */
  private ownZeroPage(p: Proc, v: Vma, vpn: bigint): PrivPage {
    if (v.anon === null) this.anonVmaPrepare(p, v);
    const pp = { data: new Uint8Array(Number(PAGE)), token: this.nextToken++ };
    p.priv.set(vpn, pp);
    return pp;
  }

  /**
   * A store: no vma or no PROT_WRITE: SIGSEGV. A private vma's write fault
   * first gets an anon_vma (do_anonymous_page(), do_cow_fault() calls
   * vmf_anon_prepare() before __do_fault(), so even a write that then gets
   * SIGBUS past the end of the file does), then the process takes its own
   * copy of the page (zeros, or the file's page). Shared memory is written in
   * place; past the object's end: SIGBUS.
   */
  private write(p: Proc, addr: bigint, val: number): string {
    const v = this.findVma(p, addr);
    if (!v || !(v.prot & W)) return 'SIGSEGV';
    const vpn = addr / PAGE;
    const off = Number(addr % PAGE);
    if (!v.shared) {
      if (v.anon === null) this.anonVmaPrepare(p, v);
      let pp = p.priv.get(vpn);
      if (!pp) {
        let data: Uint8Array;
        if (v.obj === null) data = new Uint8Array(Number(PAGE));
        else {
          const idx = v.pgoff + (addr - v.start) / PAGE;
          if (idx >= this.objPages(v.obj)) return 'SIGBUS';
          data = v.obj.pages.get(idx)?.slice() ?? new Uint8Array(Number(PAGE));
        }
        pp = { data, token: 0 };
        p.priv.set(vpn, pp);
      }
      pp.token = this.nextToken++;
      pageStoreRaw(pp.data, off, val);
      return 'ok';
    }
    const obj = v.obj!;
    const idx = v.pgoff + (addr - v.start) / PAGE;
    if (idx >= this.objPages(obj)) return 'SIGBUS';
    pageStore(obj.pages, idx, off, val);
    return 'ok';
  }

  // ------------------------------------------------------------ reports

  /**
   * `maps`: maximal runs of pages inside the window with the same protection,
   * mode and backing (anonymous, or the same file at contiguous offsets).
   * Shared anonymous memory is "anon" like private anonymous memory.
   */
  private maps(p: Proc): string {
    const lines = [`maps ${p.name}`];
    interface Run { start: bigint; end: bigint; prot: number; shared: boolean; file: NFile | null; off: bigint }
    let cur: Run | undefined;
    const flush = (): void => {
      if (!cur) return;
      const prot = `${cur.prot & R ? 'r' : '-'}${cur.prot & W ? 'w' : '-'}${cur.prot & X ? 'x' : '-'}${cur.shared ? 's' : 'p'}`;
      const backing = cur.file ? `${cur.file.name}@${hex(cur.off)}` : 'anon';
      lines.push(`  ${hex(cur.start)}-${hex(cur.end)} ${prot} ${backing}`);
      cur = undefined;
    };
    for (const v of p.vmas) {
      const start = maxB(v.start, WINDOW_START);
      const end = minB(v.end, WINDOW_END);
      if (start >= end) continue;
      const file = v.obj?.kind === 'file' ? v.obj : null;
      const off = file ? (v.pgoff + (start - v.start) / PAGE) * PAGE : 0n;
      if (cur && cur.end === start && cur.prot === v.prot && cur.shared === v.shared && cur.file === file &&
        (!file || cur.off + (cur.end - cur.start) === off)) {
        cur.end = end;
        continue;
      }
      flush();
      cur = { start, end, prot: v.prot, shared: v.shared, file, off };
    }
    flush();
    return lines.join('\n');
  }

  /**
   * `frames`: every live process reads every readable page of its window;
   * then pages on one physical frame form a group. Derived naively:
   *  - a private page the process owns is on the frame its token names (a
   *    write gives a new token; fork shares the token: the child's copy and
   *    the parent's stay one frame until either writes);
   *  - other readable private anonymous pages are on the shared zero page
   *    (without a zero page, reading one gives the process its own page);
   *  - other file pages (private mappings not yet written, shared mappings)
   *    are on the page cache frame of (file, index); shared anonymous pages
   *    on the shmem frame of (object, index); SIGBUS pages are skipped.
   * Only readable pages count (a PROT_NONE page is not read).
   */
  private frames(): string {
    if (!this.frameGroups) return 'frames';
    const groups = new Map<string, { proc: string; addr: bigint }[]>();
    const zero: { proc: string; addr: bigint }[] = [];
    const names = [...this.procs.keys()].sort(byteOrder);
    for (const name of names) {
      const p = this.procs.get(name)!;
      for (const v of p.vmas) {
        if (!(v.prot & R)) continue;
        const start = maxB(v.start, WINDOW_START);
        const end = minB(v.end, WINDOW_END);
        for (let addr = start; addr < end; addr += PAGE) {
          let key: string | undefined;
          const pp = v.shared ? undefined : p.priv.get(addr / PAGE);
          if (pp) key = `t${pp.token}`;
          else if (v.obj === null && !v.shared && !this.zeroPage) key = `t${this.ownZeroPage(p, v, addr / PAGE).token}`;
          else if (v.obj === null) { zero.push({ proc: name, addr }); continue; }
          else {
            const idx = v.pgoff + (addr - v.start) / PAGE;
            if (idx >= this.objPages(v.obj)) continue;
            key = v.obj.kind === 'file' ? `f${v.obj.name}:${idx}` : `s${v.obj.id}:${idx}`;
          }
          let g = groups.get(key);
          if (!g) groups.set(key, g = []);
          g.push({ proc: name, addr });
        }
      }
    }
    const fmt = (g: { proc: string; addr: bigint }[]): string => g.map((m) => `${m.proc}:${hex(m.addr)}`).join(' ');
    const lines = ['frames'];
    if (zero.length) lines.push(`  zero: ${fmt(zero)}`);
    const cmpMember = (a: { proc: string; addr: bigint }, b: { proc: string; addr: bigint }): number =>
      a.proc !== b.proc ? byteOrder(a.proc, b.proc) : a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0;
    const multi = [...groups.values()].filter((g) => g.length >= 2);
    for (const g of multi) g.sort(cmpMember);
    multi.sort((a, b) => cmpMember(a[0]!, b[0]!));
    for (const g of multi) lines.push(`  ${fmt(g)}`);
    return lines.join('\n');
  }

  // ------------------------------------------------------------ introspection for tests

  /** The kernel vmas of a process (for tests of the model itself). */
  vmasOf(name: string): readonly Vma[] {
    return this.proc(name).vmas;
  }
}

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function pageLoad(page: Uint8Array | undefined, off: number): number {
  if (!page) return 0;
  return (page[off]! | (page[off + 1]! << 8) | (page[off + 2]! << 16) | (page[off + 3]! << 24)) >>> 0;
}

function pageStoreRaw(page: Uint8Array, off: number, val: number): void {
  page[off] = val & 0xff;
  page[off + 1] = (val >>> 8) & 0xff;
  page[off + 2] = (val >>> 16) & 0xff;
  page[off + 3] = (val >>> 24) & 0xff;
}

function pageStore(pages: Map<bigint, Uint8Array>, idx: bigint, off: number, val: number): void {
  let page = pages.get(idx);
  if (!page) pages.set(idx, page = new Uint8Array(Number(PAGE)));
  pageStoreRaw(page, off, val);
}

/** Run a whole trace on the naive model; one result body per command. */
export function runNaive(cmds: readonly Command[], opts: NaiveOptions = {}): string[] {
  const m = new NaiveMachine(opts);
  return cmds.map((c) => m.exec(c));
}
