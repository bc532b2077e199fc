// From the recorder's raw events (native/record.c, whose header documents
// them) to a vmtrace v1 file that reproduces the recorded memory behaviour:
//
//   - one trace process per mm (`spawn` at exec, with the mappings
//     /proc/PID/maps showed then; `fork` per fork; `exit` when the mm goes);
//   - every memory syscall with its real arguments, relocated into the
//     portable window (Relocation below); brk as anonymous mmap/munmap;
//   - `read`/`write` for the pages the recorder saw touched between two
//     syscall stops, in address order (their order inside an interval is
//     not known), values from a counter: only consistency matters;
//   - each mapped file as a trace file of its real size, named from its
//     path; the vDSO and vvar as shared read-only files;
//   - whatever vmtrace v1 cannot say becomes its closest equivalent and a
//     `# not recorded:` comment. Nothing is dropped silently.
//
// Every command is also run on a simulator (the tree design) as it is
// emitted: the simulator is the converter's model of each process's
// mappings (is this page mapped, writable, shared?), and a call whose
// result differs from what the real call returned is flagged in a comment.

import { Machine } from '../mm/machine.js';
import type { Advice, Command, Prot } from '../trace/ast.js';
import { printCommand } from '../trace/print.js';

const PAGE = 4096;
const TIB = 2 ** 40;
/** The portable window: [WINDOW_START, WINDOW_END). */
export const WINDOW_START = 0x100000000000;
export const WINDOW_END = 0x200000000000;
const SLOTS = (WINDOW_END - WINDOW_START) / TIB; // 16

const MAP_SHARED = 0x1;
const MAP_PRIVATE = 0x2;
const MAP_FIXED = 0x10;
const MAP_ANONYMOUS = 0x20;
const MAP_32BIT = 0x40;
const MAP_GROWSDOWN = 0x100;
const MAP_LOCKED = 0x2000;
const MAP_HUGETLB = 0x40000;
const MAP_FIXED_NOREPLACE = 0x100000;
const MREMAP_MAYMOVE = 1;
const MREMAP_FIXED = 2;
const MREMAP_DONTUNMAP = 4;

const ERRNO: Record<number, string> = {
  1: 'EPERM', 9: 'EBADF', 11: 'EAGAIN', 12: 'ENOMEM', 13: 'EACCES', 14: 'EFAULT', 16: 'EBUSY', 17: 'EEXIST',
  19: 'ENODEV', 22: 'EINVAL', 27: 'EFBIG', 75: 'EOVERFLOW', 95: 'EOPNOTSUPP', 38: 'ENOSYS',
};

const pageUp = (n: number): number => Math.ceil(n / PAGE) * PAGE;
const pageDown = (n: number): number => Math.floor(n / PAGE) * PAGE;
const hex = (n: number): string => `0x${n.toString(16)}`;

/**
 * Relocation into the window by fixed per-region offsets. The real address
 * space (128 TiB) is cut into 1 TiB blocks; each block a program uses gets
 * one of the window's 16 blocks, its own number modulo 16 when free (so
 * 0x7ffff7fff000 becomes 0x1ffff7fff000, 0x555555554000 becomes
 * 0x155555554000), else the first free one. Offsets inside a block are kept,
 * so everything a program does inside one block keeps its layout.
 */
export class Relocation {
  private readonly slotOf = new Map<number, number>();
  private readonly used = new Set<number>();

  /** The relocated address, or undefined when the address cannot be placed. */
  addr(a: number): number | undefined {
    if (!(a >= 0 && a < 2 ** 47)) return undefined;
    const b = Math.floor(a / TIB);
    const s = this.slot(b);
    return s === undefined ? undefined : WINDOW_START + s * TIB + (a - b * TIB);
  }

  /** Relocate [a, a+len) as one piece, or undefined if its blocks do not land side by side. */
  range(a: number, len: number): number | undefined {
    const r = this.addr(a);
    if (r === undefined || len <= 0) return r;
    const last = a + len - 1;
    const bFirst = Math.floor(a / TIB);
    const bLast = Math.floor(last / TIB);
    for (let b = bFirst + 1; b <= bLast; b++) {
      const want = this.slotOf.get(bFirst)! + (b - bFirst);
      const have = this.slotOf.get(b);
      if (have === undefined) {
        if (want >= SLOTS || this.used.has(want)) return undefined;
        this.slotOf.set(b, want);
        this.used.add(want);
      } else if (have !== want) {
        return undefined;
      }
    }
    return r;
  }

  private slot(b: number): number | undefined {
    const known = this.slotOf.get(b);
    if (known !== undefined) return known;
    let s = b % SLOTS;
    if (this.used.has(s)) {
      s = -1;
      for (let i = 0; i < SLOTS; i++) if (!this.used.has(i)) { s = i; break; }
      if (s < 0) return undefined;
    }
    this.slotOf.set(b, s);
    this.used.add(s);
    return s;
  }

  /** `0x7f0000000000 -> 0x1f0000000000, ...` for the trace's header. */
  describe(): string {
    return [...this.slotOf.entries()].sort((x, y) => x[0] - y[0])
      .map(([b, s]) => `${hex(b * TIB)} -> ${hex(WINDOW_START + s * TIB)}`).join(', ');
  }
}

/** A trace process: one per recorded mm. */
interface Proc {
  name: string;
  brk: number;
  /** Pages whose last touch was a write with nothing since that could make the next one fault. */
  dirty: Set<number>;
  exe: string;
}

interface FileInfo { name: string; size: number }

/** What the converter returns when the recording is over. */
export interface Converted {
  /** The vmtrace text, header included. */
  text: string;
  /** Number of command lines. */
  commands: number;
  partial: boolean;
  /** Why it is partial (empty when complete). */
  partialReason: string;
  /** How the recorded command ended: `exit N`, `signal N`, `interrupted`, or '' if unknown. */
  ended: string;
  /** --maps-at-exit: for each inserted `P maps` line (1-based), the real maps, relocated and normalised. */
  expectedMaps: Map<number, string>;
  /** Counts of what could not be expressed, by reason. */
  notRecorded: Map<string, number>;
}

export interface ConvertOptions {
  /** The recorded command line, for the header. */
  command: readonly string[];
  /** The kernel (`uname -sr`), for the header. */
  kernel: string;
  /** ISO date, for the header. */
  date: string;
  aslr: boolean;
  /** Insert `P maps` before each exit (the recorder's --maps-at-exit). */
  mapsAtExit?: boolean;
}

const PROT_NAMES: Record<number, Prot> = { 0: 'none', 1: 'r', 3: 'rw', 5: 'rx', 7: 'rwx' };

export class Converter {
  private readonly out: string[] = [];
  private commands = 0;
  private readonly machine = new Machine({ design: 'tree' });
  private readonly reloc = new Relocation();
  private readonly procs = new Map<number, Proc>();
  private readonly files = new Map<string, FileInfo>(); // key: ino/dev or special name
  private readonly fileNames = new Set<string>();
  private counter = 0;
  private readonly notes = new Map<string, number>();
  private ended = '';
  private partialReason = '';
  private readonly expectedMaps = new Map<number, string>();
  /** --maps-at-exit: the mm whose M lines are being collected, and them. */
  private collecting: { mm: number; lines: string[] } | undefined;
  /** An `E` whose M lines are being collected. */
  private spawning: { mm: number; lines: string[] } | undefined;

  constructor(private readonly opts: ConvertOptions) {}

  /** Command lines emitted so far. */
  get lineCount(): number {
    return this.commands;
  }

  get processCount(): number {
    return this.procs.size;
  }

  /** One raw event line from the recorder. */
  feed(line: string): void {
    if (line === '') return;
    const tag = line[0];
    if (tag !== 'M') this.flushPending();
    const f = line.split(' ');
    switch (tag) {
      case 'E': {
        const mm = Number(f[1]);
        const exe = f.slice(4).join(' ');
        const proc: Proc = { name: `p${mm}`, brk: Number(f[3]), dirty: new Set(), exe };
        this.procs.set(mm, proc);
        this.comment(`${proc.name}: exec ${exe} (pid ${f[2]})`);
        this.emit({ kind: 'spawn', proc: proc.name, line: 0 });
        this.spawning = { mm, lines: [] };
        return;
      }
      case 'M':
        if (this.spawning) this.spawning.lines.push(line);
        else if (this.collecting) this.collecting.lines.push(line);
        return;
      case 'Q':
        this.collecting = { mm: Number(f[1]), lines: [] };
        return;
      case 'F': {
        const parent = this.procs.get(Number(f[1]));
        if (!parent) return;
        const child: Proc = { name: `p${f[2]}`, brk: parent.brk, dirty: new Set(), exe: parent.exe };
        this.procs.set(Number(f[2]), child);
        parent.dirty.clear();
        this.emit({ kind: 'fork', proc: parent.name, child: child.name, line: 0 });
        return;
      }
      case 'X': {
        const p = this.procs.get(Number(f[1]));
        if (!p) return;
        this.emit({ kind: 'exit', proc: p.name, line: 0 });
        this.procs.delete(Number(f[1]));
        return;
      }
      case 'T':
        this.touch(Number(f[1]), Number(f[2]), Number(f[3]), f[4] ?? '');
        return;
      case 'G':
        this.growStack(Number(f[1]), Number(f[2]), Number(f[3]));
        return;
      case 'S':
        this.syscall(f);
        return;
      case 'N':
        this.comment(`not recorded: ${line.slice(2)}`);
        this.note('write tracking unavailable in an mm');
        return;
      case 'R':
        this.ended = line.slice(2);
        return;
      default:
        this.comment(`not recorded: unknown recorder event: ${line}`);
    }
  }

  /** The recording is over (or was cut short: reason). */
  finish(partialReason = ''): Converted {
    this.flushPending();
    if (partialReason !== '') this.partialReason = partialReason;
    else if (this.ended === '') this.partialReason = 'the recorder stopped before the program ended';
    else if (this.ended === 'interrupted') this.partialReason = 'the recording was interrupted';
    else if (this.ended.startsWith('signal')) this.partialReason = `the program was killed by signal ${this.ended.slice(7)}`;
    const partial = this.partialReason !== '';
    const head: string[] = [
      `# vmtrace v1 recorded by \`vmtree record\` from: ${this.opts.command.map(shellQuote).join(' ')}`,
      `# kernel: ${this.opts.kernel}; date: ${this.opts.date}; ASLR ${this.opts.aslr ? 'on' : 'off'}`,
      `# one trace process per mm; addresses relocated into the window by 1 TiB block: ${this.reloc.describe() || 'none'}`,
      '# read/write: pages first touched or written between two syscall stops (address order, values a counter);',
      '# reads of pages already present are not seen',
    ];
    if (partial) head.unshift(`# PARTIAL TRACE: ${this.partialReason}`);
    const tail: string[] = [];
    if (this.ended !== '') tail.push(`# end: ${this.ended}`);
    for (const [why, n] of this.notes) tail.push(`# not recorded (total): ${why}: ${n}`);
    if (partial) tail.push(`# PARTIAL TRACE: ${this.partialReason}`);
    // Line numbers of the expected maps shift by the header's length.
    const shifted = new Map<number, string>();
    for (const [l, v] of this.expectedMaps) shifted.set(l + head.length, v);
    return {
      text: `${[...head, ...this.out, ...tail].join('\n')}\n`,
      commands: this.commands,
      partial,
      partialReason: this.partialReason,
      ended: this.ended,
      expectedMaps: shifted,
      notRecorded: this.notes,
    };
  }

  // ------------------------------------------------------------------ output

  private comment(text: string): void {
    this.out.push(`# ${text.replace(/\n/g, ' ')}`);
  }

  private note(why: string, n = 1): void {
    this.notes.set(why, (this.notes.get(why) ?? 0) + n);
  }

  /** Emit a command; run it on the model; return the model's result. */
  private emit(c: Command, expect?: string): string {
    c.line = this.out.length + 1;
    const text = printCommand(c);
    let result: string;
    try {
      result = this.machine.exec(c);
    } catch (e) {
      result = `(${(e as Error).message})`;
    }
    if (expect !== undefined && result !== expect) {
      // The replay will not do what the program did: say so where it happens and in the totals.
      this.out.push(`${text}  # recorded: ${expect}, replayed: ${result.split('\n')[0]}`);
      this.note('calls whose replayed result differs from the recorded one');
    } else {
      this.out.push(text);
    }
    this.commands++;
    return result;
  }

  private flushPending(): void {
    if (this.spawning) {
      const s = this.spawning;
      this.spawning = undefined;
      for (const l of s.lines) this.mapAtExec(s.mm, l);
    }
    if (this.collecting) {
      const c = this.collecting;
      this.collecting = undefined;
      const p = this.procs.get(c.mm);
      if (p) {
        this.emit({ kind: 'maps', proc: p.name, line: 0 });
        this.expectedMaps.set(this.out.length, this.normaliseMaps(p.name, c.lines));
      }
    }
  }

  // ------------------------------------------------------------------ files

  /** The trace file for a real file (KIND INO SIZE DEV PATH), declared or resized as needed. */
  private traceFile(key: string, path: string, size: number): string {
    let f = this.files.get(key);
    if (!f) {
      f = { name: this.fileName(path), size };
      this.files.set(key, f);
      this.emit({ kind: 'file', file: f.name, size: BigInt(size), line: 0 });
    } else if (f.size !== size) {
      f.size = size;
      this.emit({ kind: 'ftruncate', file: f.name, size: BigInt(size), line: 0 });
    }
    return f.name;
  }

  private fileName(path: string): string {
    const base = path.replace(/ \(deleted\)$/, '').split('/').pop() ?? 'file';
    let n = base.replace(/[^A-Za-z0-9_]/g, '_').replace(/_+/g, '_').replace(/^_+|_+$/g, '');
    if (n === '' || /^[0-9]/.test(n)) n = `f_${n}`;
    let name = n;
    for (let i = 2; this.fileNames.has(name); i++) name = `${n}_${i}`;
    this.fileNames.add(name);
    return name;
  }

  // ------------------------------------------------------------------ exec

  /** An M line at exec: map it in the new process. */
  private mapAtExec(mm: number, line: string): void {
    const p = this.procs.get(mm);
    if (!p) return;
    const m = parseMapsLine(line);
    if (!m) return;
    if (m.name === '[vsyscall]') {
      this.comment(`not recorded: ${p.name}: [vsyscall] at ${hex(m.start)} lies outside the user address space`);
      this.note('[vsyscall] page');
      return;
    }
    const len = m.end - m.start;
    const addr = this.reloc.range(m.start, len);
    if (addr === undefined) {
      this.comment(`not recorded: ${p.name}: ${m.name || 'anon'} at ${hex(m.start)}-${hex(m.end)} cannot be relocated into the window`);
      this.note('mappings that do not fit the window');
      return;
    }
    const { prot, lossy } = protFromPerms(m.perms);
    if (lossy) this.protNote(p, m.perms);
    const shared = m.perms[3] === 's';
    const c: Command = { kind: 'mmap', proc: p.name, addr: BigInt(addr), len: BigInt(len), prot, shared, fixed: false, line: 0 };
    if (m.kind === 'f') {
      c.file = this.traceFile(`${m.ino}@${m.name}`, m.name, m.size);
      c.off = BigInt(m.off);
    } else if (m.kind === 's') {
      // [vdso], [vvar], [vvar_vclock]: shared read-only files of their size
      const name = m.name.replace(/[[\]]/g, '');
      c.file = this.traceFile(`special:${name}`, name, m.size);
      c.off = 0n;
      c.shared = true;
    } else if (m.kind === 'o') {
      this.comment(`not recorded: ${p.name}: ${m.name} is not a regular file; mapped as anonymous memory`);
      this.note('mappings of devices or sockets (as anonymous memory)');
    }
    this.emit(c, 'ok');
  }

  // ------------------------------------------------------------------ touches

  private touch(mm: number, start: number, end: number, flags: string): void {
    const p = this.procs.get(mm);
    if (!p) return;
    const isNew = flags.includes('n');
    const written = flags.includes('w');
    const filePage = flags.includes('f');
    const zero = flags.includes('z');
    const mmModel = this.machine.procs.get(p.name);
    if (!mmModel) return;
    let outside = 0;
    for (let a = start; a < end; a += PAGE) {
      const r = this.reloc.addr(a);
      const vma = r === undefined ? null : mmModel.vmas.lookup(r);
      if (r === undefined || vma === null) {
        outside++;
        continue;
      }
      const writable = (vma.prot & 2) !== 0;
      const readable = (vma.prot & 1) !== 0;
      // A new anonymous page that is not the zero page was written (or
      // copied on write); a new file page of a private mapping was only read.
      let write = written || (isNew && !filePage && !zero);
      if (write && !vma.shared && filePage && !written) write = false;
      if (write && !writable) write = false;
      if (!write && !isNew) continue;
      if (!write && !readable) {
        outside++;
        continue;
      }
      if (write) {
        if (p.dirty.has(r)) continue;
        p.dirty.add(r);
        this.counter = (this.counter + 1) % 2 ** 32;
        const res = this.emit({ kind: 'write', proc: p.name, addr: BigInt(r), val: this.counter, line: 0 });
        if (res !== 'ok') p.dirty.delete(r);
      } else {
        this.emit({ kind: 'read', proc: p.name, addr: BigInt(r), line: 0 });
      }
    }
    if (outside > 0) {
      this.note('touched pages outside the recorded mappings', outside);
    }
  }

  private growStack(mm: number, newStart: number, oldStart: number): void {
    const p = this.procs.get(mm);
    if (!p) return;
    const at = this.reloc.range(newStart, oldStart - newStart);
    const old = this.reloc.addr(oldStart);
    const vma = old === undefined ? null : this.machine.procs.get(p.name)?.vmas.lookup(old) ?? null;
    if (at === undefined || vma === null) {
      this.note('stack growth that cannot be placed');
      return;
    }
    const prot = PROT_NAMES[vma.prot & 7] ?? 'rw';
    this.comment(`${p.name}: the stack grew down to ${hex(newStart)}`);
    this.emit({ kind: 'mmap', proc: p.name, addr: BigInt(at), len: BigInt(oldStart - newStart), prot, shared: false, fixed: false, line: 0 }, 'ok');
  }

  // ------------------------------------------------------------------ syscalls

  private syscall(f: string[]): void {
    const p = this.procs.get(Number(f[1]));
    if (!p) return;
    const name = f[2]!;
    const a = f.slice(3, 9).map((x) => Number(BigInt(x)));
    const aBig = f.slice(3, 9).map((x) => BigInt(x));
    const res = Number(f[9]);
    const ok = res >= 0 || res < -4095;
    const err = ok ? '' : ERRNO[-res] ?? `errno ${-res}`;
    const raw = `${name}(${f.slice(3, 9).join(', ')}) = ${ok ? hex(res) : err}`;
    switch (name) {
      case 'mmap': return this.mmap(p, a, aBig, res, ok, raw, f.slice(10));
      case 'munmap': return this.rangeCall(p, raw, ok, err, a[0]!, a[1]!, (addr, len) => ({ kind: 'munmap', proc: p.name, addr, len, line: 0 }));
      case 'mprotect':
      case 'pkey_mprotect': {
        const { prot, lossy } = protFromBits(a[2]!);
        if (lossy) this.protNote(p, `0x${a[2]!.toString(16)}`);
        if (name === 'pkey_mprotect') this.comment(`not recorded: ${p.name}: protection key ${a[3]} of ${raw}`);
        return this.rangeCall(p, raw, ok, err, a[0]!, a[1]!, (addr, len) => ({ kind: 'mprotect', proc: p.name, addr, len, prot, line: 0 }));
      }
      case 'madvise': return this.madvise(p, a, raw, ok, err);
      case 'mremap': return this.mremap(p, a, res, ok, raw);
      case 'brk': return this.brk(p, res);
      default:
        this.comment(`not recorded: ${p.name}: ${raw}`);
        this.note(`${name} calls`);
    }
  }

  private protNote(p: Proc, what: string): void {
    this.comment(`not recorded: ${p.name}: protection ${what} has no vmtrace name; the nearest one (readable) is used`);
    this.note('protections without a vmtrace name');
  }

  /** munmap, mprotect: [addr, addr+len) relocated, failures as comments. */
  private rangeCall(p: Proc, raw: string, ok: boolean, err: string, addr: number, len: number,
    make: (addr: bigint, len: bigint) => Command): void {
    if (!ok) {
      this.comment(`${p.name}: ${raw} (failed; not replayed)`);
      return;
    }
    const r = this.reloc.range(addr, len);
    if (r === undefined) {
      this.comment(`not recorded: ${p.name}: ${raw} (outside the window)`);
      this.note('calls outside the window');
      return;
    }
    p.dirty.clear();
    this.emit(make(BigInt(r), BigInt(len)), 'ok');
  }

  private mmap(p: Proc, a: number[], aBig: bigint[], res: number, ok: boolean, raw: string, file: string[]): void {
    if (!ok) {
      this.comment(`${p.name}: ${raw} (failed; not replayed)`);
      return;
    }
    const len = pageUp(a[1]!);
    const flags = a[3]!;
    const addr = this.reloc.range(res, len);
    if (addr === undefined) {
      this.comment(`not recorded: ${p.name}: ${raw} (does not fit the window)`);
      this.note('mappings that do not fit the window');
      return;
    }
    const { prot, lossy } = protFromBits(a[2]!);
    if (lossy) this.protNote(p, `0x${a[2]!.toString(16)}`);
    const type = flags & 3;
    const shared = type === MAP_SHARED || type === 3;
    if (type !== MAP_SHARED && type !== MAP_PRIVATE && type !== 3) this.comment(`not recorded: ${p.name}: mapping type ${type}`);
    const fixed = (flags & MAP_FIXED) !== 0 && (flags & MAP_FIXED_NOREPLACE) === 0;
    const extra: string[] = [];
    if (flags & MAP_GROWSDOWN) extra.push('MAP_GROWSDOWN');
    if (flags & MAP_LOCKED) extra.push('MAP_LOCKED');
    if (flags & MAP_HUGETLB) extra.push('MAP_HUGETLB');
    if (flags & MAP_32BIT) extra.push('MAP_32BIT');
    if (extra.length > 0) {
      this.comment(`not recorded: ${p.name}: ${extra.join('|')} of ${raw} (mapped as an ordinary mapping)`);
      this.note(`mmap flags ${extra.join('|')}`);
    }
    const c: Command = { kind: 'mmap', proc: p.name, addr: BigInt(addr), len: BigInt(len), prot, shared, fixed, line: 0 };
    if ((flags & MAP_ANONYMOUS) === 0) {
      const [kind, ino, size, dev, ...path] = file;
      const pathName = path.join(' ');
      if (kind === 'f') {
        c.file = this.traceFile(`${Number(ino)}@${pathName}`, pathName, Number(size));
        c.off = aBig[5]!;
      } else if (pathName !== '/dev/zero') {
        this.comment(`not recorded: ${p.name}: ${pathName || 'a non-file'} is not a regular file; mapped as anonymous memory`);
        this.note('mappings of devices or sockets (as anonymous memory)');
      }
      void dev;
    }
    if (fixed) p.dirty.clear();
    this.emit(c, 'ok');
  }

  private madvise(p: Proc, a: number[], raw: string, ok: boolean, err: string): void {
    const advice = a[2]!;
    const map: Record<number, Advice> = { 4: 'dontneed', 24: 'dontneed', 10: 'dontfork', 11: 'dofork', 18: 'wipeonfork', 19: 'keeponfork' };
    const adv = map[advice];
    if (adv === undefined) {
      const names: Record<number, string> = {
        0: 'MADV_NORMAL', 1: 'MADV_RANDOM', 2: 'MADV_SEQUENTIAL', 3: 'MADV_WILLNEED', 8: 'MADV_FREE', 9: 'MADV_REMOVE',
        12: 'MADV_MERGEABLE', 13: 'MADV_UNMERGEABLE', 14: 'MADV_HUGEPAGE', 15: 'MADV_NOHUGEPAGE', 16: 'MADV_DONTDUMP',
        17: 'MADV_DODUMP', 20: 'MADV_COLD', 21: 'MADV_PAGEOUT', 22: 'MADV_POPULATE_READ', 23: 'MADV_POPULATE_WRITE',
        25: 'MADV_COLLAPSE', 102: 'MADV_GUARD_INSTALL', 103: 'MADV_GUARD_REMOVE',
      };
      const n = names[advice] ?? `advice ${advice}`;
      const why = advice === 8
        ? 'MADV_FREE (no-op here: the pages stay until reclaim, and nothing reclaims them in the recording)'
        : `${n} (no vmtrace equivalent; a no-op here)`;
      this.comment(`not recorded: ${p.name}: ${raw}: ${why}`);
      this.note(`madvise ${n}`);
      return;
    }
    if (advice === 24) this.comment(`not recorded: ${p.name}: MADV_DONTNEED_LOCKED as dontneed`);
    this.rangeCall(p, raw, ok, err, a[0]!, a[1]!, (addr, len) => ({ kind: 'madvise', proc: p.name, addr, len, advice: adv, line: 0 }));
  }

  private mremap(p: Proc, a: number[], res: number, ok: boolean, raw: string): void {
    if (!ok) {
      this.comment(`${p.name}: ${raw} (failed; not replayed)`);
      return;
    }
    const [old, oldLen, newLen, flags] = a as [number, number, number, number];
    const from = this.reloc.range(old, Math.max(oldLen, 1));
    const to = this.reloc.range(res, newLen);
    if (from === undefined || to === undefined) {
      this.comment(`not recorded: ${p.name}: ${raw} (outside the window)`);
      this.note('calls outside the window');
      return;
    }
    p.dirty.clear();
    const c: Command = { kind: 'mremap', proc: p.name, addr: BigInt(from), oldLen: BigInt(oldLen), newLen: BigInt(newLen), line: 0 };
    if (res !== old || (flags & MREMAP_FIXED) !== 0) c.newAddr = BigInt(to);
    void MREMAP_MAYMOVE;
    this.emit(c, 'ok');
    if (flags & MREMAP_DONTUNMAP) {
      this.comment(`not recorded: ${p.name}: MREMAP_DONTUNMAP: the old range is mapped again, empty`);
      this.note('MREMAP_DONTUNMAP');
      this.emit({ kind: 'mmap', proc: p.name, addr: BigInt(from), len: BigInt(pageUp(oldLen)), prot: 'rw', shared: false, fixed: true, line: 0 }, 'ok');
    }
  }

  /** brk as anonymous mmap (grow) or munmap (shrink) of the pages between the old and new break. */
  private brk(p: Proc, res: number): void {
    const oldTop = pageUp(p.brk);
    const newTop = pageUp(res);
    p.brk = res;
    if (newTop === oldTop) return;
    if (newTop > oldTop) {
      const at = this.reloc.range(oldTop, newTop - oldTop);
      if (at === undefined) return this.note('brk outside the window');
      this.comment(`${p.name}: brk ${hex(res)}`);
      this.emit({ kind: 'mmap', proc: p.name, addr: BigInt(at), len: BigInt(newTop - oldTop), prot: 'rw', shared: false, fixed: false, line: 0 }, 'ok');
    } else {
      const at = this.reloc.range(newTop, oldTop - newTop);
      if (at === undefined) return this.note('brk outside the window');
      this.comment(`${p.name}: brk ${hex(res)}`);
      p.dirty.clear();
      this.emit({ kind: 'munmap', proc: p.name, addr: BigInt(at), len: BigInt(oldTop - newTop), line: 0 }, 'ok');
    }
  }

  // ------------------------------------------------------------------ maps

  /**
   * The real /proc/PID/maps lines as `vmtree run` would print `P maps`:
   * relocated, clipped to the window, backing named as in the trace, runs
   * merged by protection, mode and contiguous backing.
   */
  private normaliseMaps(proc: string, lines: string[]): string {
    const runs: { start: number; end: number; perms: string; backing: string; off: number; file: boolean }[] = [];
    for (const l of lines) {
      const m = parseMapsLine(l);
      if (!m || m.name === '[vsyscall]') continue;
      const start = this.reloc.addr(m.start);
      if (start === undefined) continue;
      const end = start + (m.end - m.start);
      let backing = 'anon';
      let off = 0;
      let file = false;
      if (m.kind === 'f') {
        const f = this.files.get(`${m.ino}@${m.name}`);
        backing = f?.name ?? `?${m.name}`;
        off = m.off;
        file = true;
      } else if (m.kind === 's') {
        backing = this.files.get(`special:${m.name.replace(/[[\]]/g, '')}`)?.name ?? m.name;
        file = true;
      }
      let perms = m.perms;
      if (m.kind === 's') perms = `${perms.slice(0, 3)}s`;
      const prev = runs[runs.length - 1];
      if (prev && prev.end === start && prev.perms === perms && prev.backing === backing &&
        (!file || prev.off + (prev.end - prev.start) === off)) {
        prev.end = end;
      } else {
        runs.push({ start, end, perms, backing, off, file });
      }
    }
    runs.sort((x, y) => x.start - y.start);
    return [`maps ${proc}`, ...runs.map((r) => `  ${hex(r.start)}-${hex(r.end)} ${r.perms} ${r.file ? `${r.backing}@${hex(r.off)}` : 'anon'}`)].join('\n');
  }
}

interface MapsLine { start: number; end: number; perms: string; off: number; kind: string; ino: number; size: number; name: string }

/** M MM START END PERMS OFF KIND INO SIZE NAME */
function parseMapsLine(line: string): MapsLine | undefined {
  const f = line.split(' ');
  if (f.length < 9) return undefined;
  const name = f.slice(9).join(' ');
  let kind = f[6]!;
  // Of the bracketed names only the kernel's special mappings are files;
  // [stack], [heap], [anon:...] are anonymous memory.
  if (kind === 's' && !/^\[(vdso|vvar|vvar_vclock|vsyscall)\]$/.test(name)) kind = 'a';
  return {
    start: Number(f[2]), end: Number(f[3]), perms: f[4]!, off: Number(f[5]), kind,
    ino: Number(f[7]), size: Number(f[8]), name,
  };
}

/** PROT_* bits to a vmtrace protection; write-only and exec-only have none (nearest: readable). */
function protFromBits(bits: number): { prot: Prot; lossy: boolean } {
  const b = bits & 7;
  const exact = PROT_NAMES[b];
  if (exact !== undefined && (bits & ~7) === 0) return { prot: exact, lossy: false };
  return { prot: PROT_NAMES[b | 1] ?? 'rw', lossy: true };
}

function protFromPerms(perms: string): { prot: Prot; lossy: boolean } {
  const bits = (perms[0] === 'r' ? 1 : 0) | (perms[1] === 'w' ? 2 : 0) | (perms[2] === 'x' ? 4 : 0);
  return protFromBits(bits);
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./=:,@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

export { pageDown };
