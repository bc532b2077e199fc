// The simulated machine: processes, files, physical memory and one
// anonymous-memory design, driven one system call at a time with plain
// arguments, as a program drives Linux (gVisor's mm.MemoryManager plays the
// same part). The design is handed in as a factory: src/mm knows designs
// only through the interface of src/anon/design.ts. src/machine.ts adds the
// registry of designs by name and the trace interpreter on top.
//
// Names are assumed valid (src/trace/parse.ts rejects bad traces before
// anything runs): processes and files named by a call exist.

import type { AnonDesign, AnonDesignFactory, CowContextEarlyExit, CowContextSwapIn, DesignOptions } from '../anon/design.js';
import { TASK_SIZE } from './constants.js';
import { File } from './file.js';
import { sysFtruncate, sysPread, sysPwrite } from './filemap.js';
import { dupMmap, exitMmap } from './fork.js';
import { FrameAllocator, OutOfMemoryError } from './frames.js';
import type { Counters, Kernel } from './kernel.js';
import { sysMadvise } from './madvise.js';
import { readWord, writeWord } from './memory.js';
import { MergeTags } from './merge-tag.js';
import { Mm } from './mm.js';
import { sysMmap, sysMunmap } from './mmap.js';
import { sysMprotect } from './mprotect.js';
import { sysMremap } from './mremap.js';
import { framesReport, mapsReport } from './report.js';
import type { Vma } from './vma.js';
import { Reclaimer } from './vmscan.js';

/** A syscall's result as the trace language prints it: 'ok', an errno, a signal, or a value read. */
export type CallResult = string | number;

export interface MachineCoreOptions {
  /** Physical memory in frames (default: unbounded). */
  frames?: number;
  /** Swap device size in pages (default: as large as needed). */
  swap?: number;
  /** The tree's cut optimisation (default on). */
  cut?: boolean;
  /** The tree's merge optimisation (default on). */
  merge?: boolean;
  /** The shadow design's DragonFly-style limit on shadow chain length (default none). */
  shadowChainLimit?: number;
  /**
   * Whether a read fault of private anonymous memory maps the shared zero
   * page (stock Linux, the default) or allocates a zeroed anonymous page of
   * its own (kernels that forbid the zero page: s390's mm_forbids_zeropage,
   * some sandbox kernels).
   */
  zeroPage?: boolean;
  /** The cow-context design's early exit (DesignOptions.cowContextEarlyExit; default 'none', exact). */
  cowContextEarlyExit?: CowContextEarlyExit;
  /** The cow-context design's swap-in rule (DesignOptions.cowContextSwapIn; default 'root', exact). */
  cowContextSwapIn?: CowContextSwapIn;
}

/**
 * The smallest memory a machine may have: a fault can need two frames at
 * once (a page read in and its copy), and reclaim needs room to work.
 */
export const MIN_FRAMES = 4;

export class MachineCore implements Kernel {
  readonly frames = new FrameAllocator();
  readonly design: AnonDesign;
  readonly counters: Counters = { readFaults: 0, writeFaults: 0, sigsegv: 0, sigbus: 0 };
  /** Live processes by name. */
  readonly procs = new Map<string, Mm>();
  /** Files by name. */
  readonly files = new Map<string, File>();
  readonly reclaimer = new Reclaimer(this);
  readonly tags = new MergeTags((v) => v.linuxAnon);
  readonly zeroPage: boolean;
  /** Commands run, counted by whoever drives the machine (the trace interpreter). */
  commands = 0;
  /**
   * The process looked up last, by name: a trace's consecutive commands
   * mostly name one process, and the parser hands the same string object
   * for every mention of a name, so a hit is one pointer compare instead of
   * a Map lookup. Dropped whenever `procs` changes.
   */
  private lastName: string | null = null;
  private lastMm: Mm | null = null;
  private vmasPeak = 0;
  private structuresPeak = 0;
  private metadataPeak = 0;
  private unreachablePeak = 0;
  private exits = 0;

  constructor(factory: AnonDesignFactory, opts: MachineCoreOptions = {}) {
    // The CLI checks these in its own terms first (src/cli/options.ts).
    if (opts.frames !== undefined) {
      if (!Number.isInteger(opts.frames) || opts.frames < MIN_FRAMES) {
        throw new RangeError(`frames must be an integer of at least ${MIN_FRAMES}, got ${opts.frames}`);
      }
      this.frames.capacity = opts.frames;
    }
    if (opts.swap !== undefined) {
      if (!Number.isInteger(opts.swap) || opts.swap < 0) throw new RangeError(`swap must be a non-negative integer, got ${opts.swap}`);
      this.frames.swap.capacity = opts.swap;
    }
    this.zeroPage = opts.zeroPage ?? true;
    const designOpts: DesignOptions = { cut: opts.cut ?? true, merge: opts.merge ?? true };
    if (opts.shadowChainLimit !== undefined) designOpts.shadowChainLimit = opts.shadowChainLimit;
    if (opts.cowContextEarlyExit !== undefined) designOpts.cowContextEarlyExit = opts.cowContextEarlyExit;
    if (opts.cowContextSwapIn !== undefined) designOpts.cowContextSwapIn = opts.cowContextSwapIn;
    this.design = factory(this.frames, designOpts, { mms: () => this.procs.values() });
  }

  /**
   * Make sure `n` frames can be allocated. Every fault asks, and nearly
   * every time they can: the test stays small enough for V8 to inline
   * into the fault path, reclaim is out of line.
   */
  reserve(n: number): void {
    if (this.frames.available < n) this.reclaimFor(n);
  }

  private reclaimFor(n: number): void {
    const fr = this.frames;
    // Reclaim a batch, as kswapd would, rather than one frame per fault.
    const batch = Math.max(n - fr.available, Math.min(32, Math.floor(fr.capacity / 8)));
    this.reclaimer.reclaim(batch);
    if (fr.available < n) {
      throw new OutOfMemoryError(
        `all ${fr.capacity} frames are in use and none can be freed ` +
        `(swap ${fr.swap.capacity === Infinity ? 'unbounded' : `${fr.swap.used}/${fr.swap.capacity} slots used`})`,
      );
    }
  }

  // ---------------------------------------------------------------- syscalls
  // Each returns what the trace language prints for it.

  /** open(name, O_CREAT|O_RDWR), then ftruncate(size): the file exists even if ftruncate fails. */
  createFile(name: string, size: bigint): CallResult {
    const f = new File(name, this.frames);
    this.files.set(name, f);
    return sysFtruncate(this, f, size);
  }

  /** pwrite of the 32-bit `val` at `off`. */
  fwrite(file: string, off: bigint, val: number): CallResult {
    this.reserve(1);
    return sysPwrite(this.file(file), off, val);
  }

  /** pread of the 32-bit word at `off`. */
  fread(file: string, off: bigint): CallResult {
    return sysPread(this.file(file), off);
  }

  ftruncate(file: string, size: bigint): CallResult {
    return sysFtruncate(this, this.file(file), size);
  }

  /** A new process with an empty address space. */
  spawn(name: string): CallResult {
    const mm = new Mm(name, this.frames);
    this.design.mmInit?.(mm, null);
    this.lastName = null;
    this.procs.set(name, mm);
    return 'ok';
  }

  fork(parent: string, child: string): CallResult {
    const mm = dupMmap(this, this.proc(parent), child);
    this.lastName = null;
    this.procs.set(child, mm);
    this.sample();
    return 'ok';
  }

  exit(name: string): CallResult {
    this.sample();
    exitMmap(this, this.proc(name));
    this.lastName = null;
    this.lastMm = null;
    this.procs.delete(name);
    this.exits++;
    if (this.design.structures() <= 256 || (this.exits & (this.exits - 1)) === 0) this.noteUnreachable();
    return 'ok';
  }

  /** Every live process reads its readable window; which pages share a frame. */
  framesReport(): string {
    return framesReport(this, [...this.procs.values()]);
  }

  /** Ask reclaim for up to `count` frames, as memory pressure would. */
  reclaim(count: number): CallResult {
    this.reclaimer.reclaim(count);
    this.noteUnreachable();
    return 'ok';
  }

  /** mmap(addr, len, prot, flags, file, off): flags MAP_SHARED/MAP_PRIVATE | MAP_FIXED/MAP_FIXED_NOREPLACE; file null: anonymous. */
  mmap(proc: string, addr: bigint, len: bigint, prot: number, flags: number, file: string | null, off: bigint): CallResult {
    const r = sysMmap(this, this.proc(proc), addr, len, prot, flags, file === null ? null : this.file(file), off);
    this.sample();
    return r;
  }

  munmap(proc: string, addr: bigint, len: bigint): CallResult {
    return sysMunmap(this, this.proc(proc), addr, len);
  }

  mprotect(proc: string, addr: bigint, len: bigint, prot: number): CallResult {
    const r = sysMprotect(this, this.proc(proc), addr, len, prot);
    this.sample();
    return r;
  }

  /** mremap(addr, oldLen, newLen[, MREMAP_MAYMOVE|MREMAP_FIXED, newAddr]). */
  mremap(proc: string, addr: bigint, oldLen: bigint, newLen: bigint, newAddr?: bigint): CallResult {
    const r = sysMremap(this, this.proc(proc), addr, oldLen, newLen, newAddr);
    this.sample();
    return r;
  }

  madvise(proc: string, addr: bigint, len: bigint, advice: number): CallResult {
    const r = sysMadvise(this, this.proc(proc), addr, len, advice);
    this.sample();
    return r;
  }

  // read/write take the address as a number (the parser's form below 2^53)
  // or a bigint, converted once: Number() rounds to the nearest double,
  // monotonically, and TASK_SIZE is exact in a double, so Number(addr) >=
  // TASK_SIZE exactly when addr >= TASK_SIZE; below it the value (< 2^47)
  // is exact. No BigInt compare, no allocation.

  /** A 32-bit load (4-aligned): the value, or SIGSEGV / SIGBUS. */
  read(proc: string, addr: number | bigint): CallResult {
    const a = typeof addr === 'number' ? addr : Number(addr);
    return a >= TASK_SIZE ? this.segv() : readWord(this, this.proc(proc), a);
  }

  /** A 32-bit store (4-aligned): ok, or SIGSEGV / SIGBUS. */
  write(proc: string, addr: number | bigint, val: number): CallResult {
    const a = typeof addr === 'number' ? addr : Number(addr);
    return a >= TASK_SIZE ? this.segv() : writeWord(this, this.proc(proc), a, val);
  }

  /** /proc/PID/maps inside the window, normalised. */
  maps(proc: string): string {
    return mapsReport(this.proc(proc));
  }

  private segv(): 'SIGSEGV' {
    this.counters.sigsegv++;
    return 'SIGSEGV';
  }

  private proc(name: string): Mm {
    if (name === this.lastName) return this.lastMm!;
    const p = this.procs.get(name);
    if (p === undefined) throw new Error(`no process '${name}'`);
    this.lastName = name;
    this.lastMm = p;
    return p;
  }

  private file(name: string): File {
    const f = this.files.get(name);
    if (f === undefined) throw new Error(`no file '${name}'`);
    return f;
  }

  /**
   * Peaks of what a fork, an exit or a mapping change can move: vmas, the
   * design's structures, and estimated kernel metadata. O(processes).
   */
  private sample(): void {
    let vmas = 0;
    let ptes = 0;
    for (const p of this.procs.values()) {
      vmas += p.vmas.size;
      ptes += p.pt.present;
    }
    if (vmas > this.vmasPeak) this.vmasPeak = vmas;
    const structures = this.design.structures();
    if (structures > this.structuresPeak) this.structuresPeak = structures;
    const bytes = this.metadataBytes(vmas, ptes);
    if (bytes > this.metadataPeak) this.metadataPeak = bytes;
  }

  /**
   * Kernel metadata at Linux 6.18 x86-64 sizes: struct page 64 B per frame
   * in use, vm_area_struct 192 B, a pte 8 B, plus the design's own
   * structures (address_space 192 B; anon_vma 96 B; anon_vma_chain 64 B).
   */
  private metadataBytes(vmas: number, ptes: number): number {
    return this.frames.inUse * 64 + vmas * 192 + ptes * 8 + (this.design.bytes?.() ?? 0);
  }

  /**
   * Pages held that no vma can see. Costly to count (a walk of every
   * space), so sampled: at `reclaim` commands, at the end of a run (stats),
   * at exits while the design has at most 256 structures alive, and at the
   * 1st, 2nd, 4th, 8th... exit otherwise.
   */
  private noteUnreachable(): number {
    const n = this.design.unreachablePages();
    if (n > this.unreachablePeak) this.unreachablePeak = n;
    return n;
  }

  /** Every vma of every live process. */
  allVmas(): Vma[] {
    const out: Vma[] = [];
    for (const p of this.procs.values()) out.push(...p.vmas.list);
    return out;
  }

  /** Counters for --stats: flat name -> number. */
  stats(): Record<string, number> {
    let vmas = 0;
    let ptes = 0;
    let leaves = 0;
    for (const p of this.procs.values()) {
      vmas += p.vmas.size;
      ptes += p.pt.present;
      leaves += p.pt.leaves.size;
    }
    let cached = 0;
    let writebacks = 0;
    for (const f of this.files.values()) {
      cached += f.mapping.pages.size;
      writebacks += f.writebacks;
    }
    const d = this.design.stats();
    const unreachable = this.noteUnreachable();
    const swap = this.frames.swap;
    this.sample();
    const metadataBytes = this.metadataBytes(vmas, ptes);
    return {
      commands: this.commands,
      processes: this.procs.size,
      faults: this.counters.readFaults + this.counters.writeFaults,
      readFaults: this.counters.readFaults,
      writeFaults: this.counters.writeFaults,
      sigsegv: this.counters.sigsegv,
      sigbus: this.counters.sigbus,
      vmasAlive: vmas,
      vmasPeak: this.vmasPeak,
      ptesPresent: ptes,
      pageTablePages: leaves,
      framesInUse: this.frames.inUse,
      framesPeak: this.frames.peak,
      framesAllocated: this.frames.allocated,
      pageCachePages: cached,
      swapIns: swap.swapIns,
      swapOuts: swap.swapOuts,
      swapUsed: swap.used,
      swapPeak: swap.peak,
      writebacks,
      pagesReclaimed: this.reclaimer.reclaimed,
      cleanPagesDropped: this.reclaimer.dropped,
      rmapPtesFound: this.reclaimer.ptesUnmapped,
      rmapPtesMissed: this.reclaimer.rmapMissedPtes,
      unreachablePages: unreachable,
      unreachablePagesPeak: this.unreachablePeak,
      designStructures: this.design.structures(),
      designStructuresPeak: this.structuresPeak,
      // Every design reports every counter (docs/cost-model.md); what a
      // design does not have is 0.
      cowCopies: 0, cowReuses: 0, zeroFills: 0, lookups: 0, lookupStepsMean: 0, lookupStepsMax: 0,
      rmapWalks: 0, rmapVmasVisited: 0, rmapSpacesVisited: 0, ptesScanned: 0,
      spacesAlive: 0, spacesPeak: 0, depthMax: 0, depthPeak: 0, depthMean: 0,
      ...d,
      metadataBytes,
      metadataBytesPeak: this.metadataPeak,
    };
  }
}
