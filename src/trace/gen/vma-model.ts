// The generator's model of what the kernel has done, and the primitive
// commands: each emits one trace command and applies it to the model.
//
// Why a model: a portable trace may only do what gives the same output on
// every Linux (see index.ts). Whether an mremap is portable depends on which
// vmas Linux has, and that depends on merging, which differs between kernel
// versions. So the model never assumes a merge: each mapped page carries the
// id of a kernel vma it is *known* to share with same-id neighbours; any call
// that may split a vma gives the pages on either side of its boundaries fresh
// ids, and an mremap is portable only within one run of one id.
//
// Invariant: every call that could succeed lies in the window (windowPage
// throws "generator bug" otherwise). The model draws no random numbers: all
// choices are made by the callers (choosers.ts, scenarios.ts), so it reads
// as a plain specification of what each command does.

import type { Advice, Command, Prot } from '../ast.js';
import { PAGE_SIZE_BIG as PAGE, TASK_SIZE_BIG as TASK_SIZE, U64 } from '../../mm/constants.js';
import {
  isFree, oneVma, PageMap, pagesIn, pagesUp, windowPage, type FileState, type PageInfo, type Proc,
} from './pages.js';

export class Model {
  /** Commands emitted so far (at most ops reach the sink). */
  private count = 0;
  readonly procs: Proc[] = [];
  readonly files: FileState[] = [];
  private nextProc = 0;
  private nextFile = 0;
  private nextVid = 1;

  constructor(
    private readonly quirks: boolean,
    private readonly ops: number,
    private readonly sink: (cmd: Command) => void,
  ) {}

  /** True once `ops` commands are out: the generator stops. */
  get full(): boolean {
    return this.count >= this.ops;
  }

  /** Pass a command on (numbered 1..ops); past `ops`, only the model moves. */
  emit(cmd: Command): void {
    if (this.count >= this.ops) return;
    cmd.line = ++this.count;
    this.sink(cmd);
  }

  /** The page range a length-checked mprotect/madvise call covers, or null. */
  private applied(addr: bigint, len: bigint): [number, number] | null {
    if (addr % PAGE !== 0n || len === 0n) return null;
    const alen = pagesUp(len) * PAGE;
    if (alen > U64 - addr || addr >= TASK_SIZE) return null;
    const s = windowPage(addr, alen);
    return [s, s + Number(alen / PAGE)];
  }

  /** Give the mapped pages of [s, e) fresh vma ids (one per old id). */
  private split(p: Proc, s: number, e: number): void {
    const renamed = new Map<number, number>();
    for (const pg of pagesIn(p, s, e)) {
      const info = p.pages.get(pg)!;
      let v = renamed.get(info.vid);
      if (v === undefined) renamed.set(info.vid, (v = this.nextVid++));
      info.vid = v;
    }
  }

  // ---- primitive commands, each updating the model ---------------------------

  spawn(): Proc {
    const p: Proc = { name: `p${this.nextProc++}`, pages: new PageMap() };
    this.procs.push(p);
    this.emit({ kind: 'spawn', line: 0, proc: p.name });
    return p;
  }

  fork(parent: Proc): Proc {
    const child: Proc = { name: `p${this.nextProc++}`, pages: new PageMap() };
    for (const [pg, info] of parent.pages) if (!info.dontfork) child.pages.set(pg, { ...info });
    this.procs.push(child);
    this.emit({ kind: 'fork', line: 0, proc: parent.name, child: child.name });
    return child;
  }

  exit(p: Proc): void {
    this.procs.splice(this.procs.indexOf(p), 1);
    this.emit({ kind: 'exit', line: 0, proc: p.name });
  }

  newFile(size: bigint): FileState {
    const f: FileState = { name: `f${this.nextFile++}`, size: 0n };
    if (size < 1n << 44n) f.size = size;
    this.files.push(f);
    this.emit({ kind: 'file', line: 0, file: f.name, size });
    return f;
  }

  fwrite(f: FileState, off: bigint, val: number): void {
    if (off + 4n < 1n << 44n && off + 4n > f.size) f.size = off + 4n;
    this.emit({ kind: 'fwrite', line: 0, file: f.name, off, val });
  }

  fread(f: FileState, off: bigint): void {
    this.emit({ kind: 'fread', line: 0, file: f.name, off });
  }

  ftruncate(f: FileState, size: bigint): void {
    if (size < 1n << 44n) f.size = size;
    this.emit({ kind: 'ftruncate', line: 0, file: f.name, size });
  }

  /**
   * Emit an mmap and apply it to the model. Any call that could succeed must
   * lie inside the window (checked: a violation is a generator bug).
   */
  mmap(p: Proc, addr: bigint, len: bigint, prot: Prot, shared: boolean, fixed: boolean, f?: FileState, off?: bigint): void {
    const cmd: Command = f === undefined
      ? { kind: 'mmap', line: 0, proc: p.name, addr, len, prot, shared, fixed }
      : { kind: 'mmap', line: 0, proc: p.name, addr, len, prot, shared, fixed, file: f.name, off: off ?? 0n };
    this.emit(cmd);
    // Failures Linux reports before looking at the address space.
    if (addr % PAGE !== 0n || len === 0n) return;
    const alen = pagesUp(len) * PAGE;
    if (alen > U64 || alen > TASK_SIZE || addr > TASK_SIZE - alen) return;
    if (addr < 4096n) return;
    if (f !== undefined) {
      const o = off ?? 0n;
      if (o % PAGE !== 0n || o >= 1n << 63n || o / PAGE > ((1n << 63n) - 1n - alen) / PAGE) return;
    }
    const s = windowPage(addr, alen);
    const n = Number(alen / PAGE);
    if (!fixed) for (let i = 0; i < n; i++) if (p.pages.has(s + i)) return; // EEXIST
    const vid = this.nextVid++;
    const fpage = f === undefined ? 0n : (off ?? 0n) / PAGE;
    for (let i = 0; i < n; i++) {
      p.pages.set(s + i, {
        prot, shared, file: f?.name, fpage: fpage + BigInt(i), vid, dontfork: false, wipeonfork: false,
      });
    }
  }

  munmap(p: Proc, addr: bigint, len: bigint): void {
    this.emit({ kind: 'munmap', line: 0, proc: p.name, addr, len });
    if (addr % PAGE !== 0n || len === 0n || addr > TASK_SIZE || len > TASK_SIZE - addr) return;
    const alen = pagesUp(len) * PAGE;
    const s = windowPage(addr, alen);
    for (const pg of pagesIn(p, s, s + Number(alen / PAGE))) p.pages.delete(pg);
  }

  mprotect(p: Proc, addr: bigint, len: bigint, prot: Prot): void {
    this.emit({ kind: 'mprotect', line: 0, proc: p.name, addr, len, prot });
    const r = this.applied(addr, len);
    if (r === null) return;
    const [s, e] = r;
    this.split(p, s, e);
    for (let pg = s; pg < e; pg++) {
      const info = p.pages.get(pg);
      if (info === undefined) break; // ENOMEM at the first hole
      info.prot = prot;
    }
  }

  madvise(p: Proc, addr: bigint, len: bigint, advice: Advice): void {
    this.emit({ kind: 'madvise', line: 0, proc: p.name, addr, len, advice });
    const r = this.applied(addr, len);
    if (r === null || advice === 'dontneed') return;
    const [s, e] = r;
    this.split(p, s, e);
    for (const pg of pagesIn(p, s, e)) {
      const info = p.pages.get(pg)!; // holes are skipped (ENOMEM later)
      if (advice === 'dontfork') info.dontfork = true;
      else if (advice === 'dofork') info.dontfork = false;
      else if (advice === 'keeponfork') info.wipeonfork = false;
      else {
        if (info.shared || info.file !== undefined) break; // EINVAL stops the walk
        info.wipeonfork = true;
      }
    }
  }

  /** Emit an mremap and apply it to the model (see the top of this file). */
  mremap(p: Proc, addr: bigint, oldLen: bigint, newLen: bigint, newAddr?: bigint): void {
    this.emit(newAddr === undefined
      ? { kind: 'mremap', line: 0, proc: p.name, addr, oldLen, newLen }
      : { kind: 'mremap', line: 0, proc: p.name, addr, oldLen, newLen, newAddr });
    // Rejected before any vma is looked at.
    if (addr % PAGE !== 0n) return;
    const nl = pagesUp(newLen) * PAGE;
    const ol = pagesUp(oldLen) * PAGE;
    if (nl === 0n || nl > U64 || ol > U64) return;
    if (newAddr !== undefined) {
      if (newAddr % PAGE !== 0n || nl > TASK_SIZE || newAddr > TASK_SIZE - nl) return;
      if (addr + ol > newAddr && newAddr + nl > addr) return;
    }
    // Past the early checks, every range the call names must lie in the
    // window, whether or not it will succeed (what a Linux runner checks).
    const s = windowPage(addr, ol);
    if (newAddr === undefined) windowPage(addr, nl);
    else windowPage(newAddr, nl);
    const os = Number(ol / PAGE);
    const ns = Number(nl / PAGE);
    if (os === 0) {
      // A second view of a shared mapping (or EINVAL / ENOMEM).
      const src = p.pages.get(s);
      if (src === undefined) {
        if (!this.quirks) throw new Error('generator bug: mremap of an unmapped address');
        return;
      }
      if (!src.shared || newAddr === undefined) return;
      const d = windowPage(newAddr, nl);
      for (let i = 0; i < ns; i++) p.pages.delete(d + i);
      const vid = this.nextVid++;
      for (let i = 0; i < ns; i++) p.pages.set(d + i, { ...src, fpage: src.fpage + BigInt(i), vid });
      return;
    }
    if (!oneVma(p, s, s + os)) {
      if (!this.quirks) throw new Error('generator bug: non-portable mremap');
      // Best effort (the outcome depends on the kernel); forget what we knew.
      this.split(p, s, s + os);
      for (let pg = s; pg < s + os; pg++) this.split(p, pg, pg + 1);
      return;
    }
    if (newAddr === undefined) {
      if (ns <= os) {
        for (let pg = s + ns; pg < s + os; pg++) p.pages.delete(pg);
        return;
      }
      const end = windowPage(addr, nl) + ns;
      if (!isFree(p, s + os, end)) return; // ENOMEM: cannot grow in place
      const last = p.pages.get(s + os - 1)!;
      for (let pg = s + os; pg < end; pg++) {
        p.pages.set(pg, { ...last, fpage: last.fpage + BigInt(pg - (s + os - 1)) });
      }
      // The grown vma gets a fresh id: pages of the old id elsewhere (split
      // off earlier) may now be adjacent to it but are separate vmas, or not
      // (Linux may merge them): either way, no longer known to be one.
      const vid = this.nextVid++;
      let first = s;
      while (p.pages.get(first - 1)?.vid === last.vid) first--;
      for (let pg = first; pg < end; pg++) p.pages.get(pg)!.vid = vid;
      return;
    }
    // MREMAP_FIXED: unmap the target, shrink the source, move, maybe grow.
    const d = windowPage(newAddr, nl);
    const moved: PageInfo[] = [];
    for (let i = 0; i < Math.min(os, ns); i++) moved.push(p.pages.get(s + i)!);
    for (let i = 0; i < ns; i++) p.pages.delete(d + i);
    for (let i = 0; i < os; i++) p.pages.delete(s + i);
    const vid = this.nextVid++;
    const last = moved[moved.length - 1]!;
    for (let i = 0; i < ns; i++) {
      const info = i < moved.length ? moved[i]! : { ...last, fpage: last.fpage + BigInt(i - moved.length + 1) };
      p.pages.set(d + i, { ...info, vid });
    }
  }

  read(p: Proc, addr: bigint): void {
    windowPage(addr, 4n);
    this.emit({ kind: 'read', line: 0, proc: p.name, addr });
  }

  write(p: Proc, addr: bigint, val: number): void {
    windowPage(addr, 4n);
    this.emit({ kind: 'write', line: 0, proc: p.name, addr, val });
  }
}
