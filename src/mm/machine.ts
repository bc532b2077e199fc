// The simulated machine: processes, files, physical memory and one
// anonymous-memory design, driven one trace command at a time.
//
// Commands are assumed valid (src/trace/parse.ts rejects bad traces before
// anything runs): processes and files named by a command exist.

import { DEFAULT_DESIGN, DESIGNS, type AnonDesign, type CowContextEarlyExit, type CowContextSwapIn, type DesignOptions } from '../anon/index.js';
import { MergeTags } from '../anon/merge-tag.js';
import type { Command } from '../trace/ast.js';
import { TASK_SIZE } from './constants.js';
import { File } from './file.js';
import { sysFtruncate, sysPread, sysPwrite } from './filemap.js';
import { dupMmap, exitMmap } from './fork.js';
import { FrameAllocator, OutOfMemoryError } from './frames.js';
import type { Counters, Kernel } from './kernel.js';
import { sysMadvise } from './madvise.js';
import { readWord, writeWord } from './memory.js';
import { Mm } from './mm.js';
import { sysMmap, sysMunmap } from './mmap.js';
import { sysMprotect } from './mprotect.js';
import { sysMremap } from './mremap.js';
import { framesReport, mapsReport } from './report.js';
import type { Vma } from './vma.js';
import { Reclaimer } from './vmscan.js';

export interface MachineOptions {
  /** Name of the anonymous-memory design; 'tree' (the default) is the seed's. */
  design?: string;
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

export class Machine implements Kernel {
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
  private commands = 0;
  private vmasPeak = 0;
  private structuresPeak = 0;
  private metadataPeak = 0;
  private unreachablePeak = 0;
  private exits = 0;

  constructor(opts: MachineOptions = {}) {
    const name = opts.design ?? DEFAULT_DESIGN;
    const factory = DESIGNS[name];
    if (factory === undefined) {
      throw new RangeError(`unknown design '${name}' (known: ${Object.keys(DESIGNS).join(', ')})`);
    }
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

  reserve(n: number): void {
    const fr = this.frames;
    if (fr.available >= n) return;
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

  /**
   * Run one command; return its result body without the line-number prefix:
   * 'ok', '42', 'SIGSEGV', 'EINVAL', or for maps/frames a multi-line string
   * ('maps a\n  0x...-0x... rw-p anon').
   */
  exec(c: Command): string {
    this.commands++;
    const r = this.run(c);
    return typeof r === 'number' ? String(r) : r;
  }

  private run(c: Command): string | number {
    switch (c.kind) {
      case 'file': {
        const f = new File(c.file, this.frames);
        this.files.set(c.file, f);
        return sysFtruncate(this, f, c.size);
      }
      case 'fwrite':
        this.reserve(1);
        return sysPwrite(this.file(c.file), c.off, c.val);
      case 'fread':
        return sysPread(this.file(c.file), c.off);
      case 'ftruncate':
        return sysFtruncate(this, this.file(c.file), c.size);
      case 'spawn': {
        const mm = new Mm(c.proc, this.frames);
        this.design.mmInit?.(mm, null);
        this.procs.set(c.proc, mm);
        return 'ok';
      }
      case 'fork':
        this.procs.set(c.child, dupMmap(this, this.proc(c.proc), c.child));
        this.sample();
        return 'ok';
      case 'exit':
        this.sample();
        exitMmap(this, this.proc(c.proc));
        this.procs.delete(c.proc);
        this.exits++;
        if (this.design.structures() <= 256 || (this.exits & (this.exits - 1)) === 0) this.noteUnreachable();
        return 'ok';
      case 'frames':
        return framesReport(this, [...this.procs.values()]);
      case 'reclaim':
        this.reclaimer.reclaim(c.count > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(c.count));
        this.noteUnreachable();
        return 'ok';
      case 'mmap': {
        const r = sysMmap(this, this.proc(c.proc), c, c.file === undefined ? null : this.file(c.file));
        this.sample();
        return r;
      }
      case 'munmap':
        return sysMunmap(this, this.proc(c.proc), c.addr, c.len);
      case 'mprotect': {
        const r = sysMprotect(this, this.proc(c.proc), c.addr, c.len, c.prot);
        this.sample();
        return r;
      }
      case 'mremap': {
        const r = sysMremap(this, this.proc(c.proc), c.addr, c.oldLen, c.newLen, c.newAddr);
        this.sample();
        return r;
      }
      case 'madvise': {
        const r = sysMadvise(this, this.proc(c.proc), c.addr, c.len, c.advice);
        this.sample();
        return r;
      }
      case 'read':
        return c.addr >= BigInt(TASK_SIZE) ? this.segv() : readWord(this, this.proc(c.proc), Number(c.addr));
      case 'write':
        return c.addr >= BigInt(TASK_SIZE) ? this.segv() : writeWord(this, this.proc(c.proc), Number(c.addr), c.val);
      case 'maps':
        return mapsReport(this.proc(c.proc));
    }
  }

  private segv(): 'SIGSEGV' {
    this.counters.sigsegv++;
    return 'SIGSEGV';
  }

  private proc(name: string): Mm {
    const p = this.procs.get(name);
    if (p === undefined) throw new Error(`no process '${name}'`);
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

/** Run a whole (already validated) trace, calling `out` once per result. */
export function runTrace(cmds: readonly Command[], out: (text: string) => void, opts: MachineOptions = {}): Machine {
  const m = new Machine(opts);
  for (const c of cmds) out(`${c.line} ${m.exec(c)}\n`);
  return m;
}

