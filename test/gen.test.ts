import { describe, expect, it } from 'vitest';
import { kernelOracleAvailable, runOnKernel } from '../src/oracle/native.js';
import type { Command } from '../src/trace/ast.js';
import { parseTrace } from '../src/trace/parse.js';
import {
  generateCommands, generateTrace, PROFILES, Rng, TASK_SIZE, WINDOW_END, WINDOW_START, type Profile,
} from '../src/trace/gen/index.js';

const PAGE = 4096n;
const U64 = (1n << 64n) - 1n;
const ALL_KINDS: Command['kind'][] = [
  'file', 'fwrite', 'fread', 'ftruncate', 'spawn', 'fork', 'exit', 'frames', 'reclaim',
  'mmap', 'munmap', 'mprotect', 'mremap', 'madvise', 'read', 'write', 'maps',
];

const PINNED_HASH = 1503864177;
const SEEDS = 25;
const OPS = 300;
const traces = new Map<string, Command[]>();
function cmdsFor(profile: Profile, seed: number, quirks = false): Command[] {
  const key = `${profile}/${seed}/${quirks}`;
  let c = traces.get(key);
  if (c === undefined) traces.set(key, (c = parseTrace(generateTrace({ seed, ops: OPS, profile, quirks }), key)));
  return c;
}

// ---------------------------------------------------------------------------
// An independent portability checker: a vma-interval model that never merges
// and splits at every boundary of every mprotect/madvise. Returns the first
// problem found, or null.

interface Vma { s: bigint; e: bigint; shared: boolean; dontfork: boolean }
const alignUp = (n: bigint): bigint => ((n + PAGE - 1n) / PAGE) * PAGE;
const inWindow = (s: bigint, e: bigint): boolean => s >= WINDOW_START && e <= WINDOW_END && s <= e;
const hex = (n: bigint): string => `0x${n.toString(16)}`;

class Space {
  vmas: Vma[] = [];
  clone(): Space {
    const s = new Space();
    s.vmas = this.vmas.filter((v) => !v.dontfork).map((v) => ({ ...v }));
    return s;
  }
  splitAt(x: bigint): void {
    const i = this.vmas.findIndex((v) => v.s < x && x < v.e);
    if (i < 0) return;
    const v = this.vmas[i]!;
    this.vmas.splice(i, 1, { ...v, e: x }, { ...v, s: x });
  }
  unmap(s: bigint, e: bigint): void {
    if (s >= e) return;
    this.splitAt(s);
    this.splitAt(e);
    this.vmas = this.vmas.filter((v) => v.e <= s || v.s >= e);
  }
  insert(v: Vma): void {
    this.unmap(v.s, v.e);
    this.vmas.push(v);
    this.vmas.sort((a, b) => (a.s < b.s ? -1 : 1));
  }
  find(x: bigint): Vma | undefined {
    return this.vmas.find((v) => v.s <= x && x < v.e);
  }
  free(s: bigint, e: bigint): boolean {
    return this.vmas.every((v) => v.e <= s || v.s >= e);
  }
  within(s: bigint, e: bigint): Vma[] {
    return this.vmas.filter((v) => v.s >= s && v.e <= e);
  }
}

function portabilityProblem(cmds: Command[]): string | null {
  const spaces = new Map<string, Space>();
  for (const c of cmds) {
    const at = `line ${c.line}`;
    switch (c.kind) {
      case 'spawn': spaces.set(c.proc, new Space()); break;
      case 'fork': spaces.set(c.child, spaces.get(c.proc)!.clone()); break;
      case 'exit': spaces.delete(c.proc); break;
      case 'read':
      case 'write':
        if (!inWindow(BigInt(c.addr), BigInt(c.addr) + 4n)) return `${at}: access outside the window`;
        break;
      case 'mmap': {
        const sp = spaces.get(c.proc)!;
        if (c.addr % PAGE !== 0n || c.len === 0n) break; // EINVAL
        const len = alignUp(c.len);
        if (len > U64 || len > TASK_SIZE || c.addr > TASK_SIZE - len) break; // ENOMEM
        if (c.addr < 4096n) break; // EPERM
        if (c.file !== undefined && (c.off! % PAGE !== 0n || c.off! >= 1n << 63n)) break;
        if (!inWindow(c.addr, c.addr + len)) return `${at}: mmap outside the window`;
        if (!c.fixed && !sp.free(c.addr, c.addr + len)) break; // EEXIST
        sp.insert({ s: c.addr, e: c.addr + len, shared: c.shared, dontfork: false });
        break;
      }
      case 'munmap': {
        if (c.addr % PAGE !== 0n || c.len === 0n || c.addr > TASK_SIZE || c.len > TASK_SIZE - c.addr) break;
        const e = c.addr + alignUp(c.len);
        if (!inWindow(c.addr, e)) return `${at}: munmap outside the window`;
        spaces.get(c.proc)!.unmap(c.addr, e);
        break;
      }
      case 'mprotect':
      case 'madvise': {
        if (c.addr % PAGE !== 0n || c.len === 0n) break;
        const len = alignUp(c.len);
        if (len > U64 - c.addr) break; // wraps
        if (c.addr >= TASK_SIZE) break; // nothing there
        const e = c.addr + len;
        if (!inWindow(c.addr, e)) return `${at}: ${c.kind} over ${hex(c.addr)}-${hex(e)} outside the window`;
        const sp = spaces.get(c.proc)!;
        if (c.kind === 'madvise' && c.advice === 'dontneed') break; // changes no vma
        sp.splitAt(c.addr);
        sp.splitAt(e);
        if (c.kind === 'madvise' && (c.advice === 'dontfork' || c.advice === 'dofork')) {
          for (const v of sp.within(c.addr, e)) v.dontfork = c.advice === 'dontfork';
        }
        break;
      }
      case 'mremap': {
        const sp = spaces.get(c.proc)!;
        if (c.addr % PAGE !== 0n) break;
        const nl = alignUp(c.newLen);
        const ol = alignUp(c.oldLen);
        if (nl === 0n || nl > U64) break;
        if (c.newAddr !== undefined) {
          if (c.newAddr % PAGE !== 0n || nl > TASK_SIZE || c.newAddr > TASK_SIZE - nl) break;
          if (c.addr + ol > c.newAddr && c.newAddr + nl > c.addr) break;
        }
        // Every range the call names lies in the window (what vmrun checks).
        if (!inWindow(c.addr, c.addr + ol)) return `${at}: mremap outside the window`;
        if (c.newAddr === undefined ? !inWindow(c.addr, c.addr + nl) : !inWindow(c.newAddr, c.newAddr + nl)) {
          return `${at}: mremap target outside the window`;
        }
        const v = sp.find(c.addr);
        if (v === undefined) return `${at}: mremap of an unmapped address`;
        if (ol > 0n && c.addr + ol > v.e) return `${at}: mremap old range spans vmas or holes`;
        if (!inWindow(c.addr, c.addr + ol)) return `${at}: mremap outside the window`;
        if (ol === 0n) {
          if (!v.shared || c.newAddr === undefined) break;
          if (!inWindow(c.newAddr, c.newAddr + nl)) return `${at}: mremap target outside the window`;
          if (!sp.free(c.newAddr, c.newAddr + nl)) {
            // Fine on every kernel as long as the source vma survives the unmap.
            if (c.newAddr <= c.addr && c.addr < c.newAddr + nl) return `${at}: view over its own source`;
          }
          sp.insert({ s: c.newAddr, e: c.newAddr + nl, shared: true, dontfork: v.dontfork });
          break;
        }
        if (c.newAddr === undefined) {
          if (nl <= ol) {
            sp.unmap(c.addr + nl, c.addr + ol);
            break;
          }
          if (!inWindow(c.addr, c.addr + nl)) return `${at}: mremap growth outside the window`;
          if (c.addr + ol !== v.e || !sp.free(v.e, c.addr + nl)) break; // ENOMEM
          v.e = c.addr + nl;
          break;
        }
        if (!inWindow(c.newAddr, c.newAddr + nl)) return `${at}: mremap target outside the window`;
        const moved = { ...v };
        sp.unmap(c.newAddr, c.newAddr + nl);
        sp.unmap(c.addr, c.addr + ol);
        sp.insert({ ...moved, s: c.newAddr, e: c.newAddr + nl });
        break;
      }
      default:
        break;
    }
  }
  return null;
}

// ---------------------------------------------------------------------------

describe('generateTrace', () => {
  it('is deterministic: same options, same text; other seeds, other text', () => {
    for (const profile of PROFILES) {
      const a = generateTrace({ seed: 42, ops: 500, profile });
      expect(generateTrace({ seed: 42, ops: 500, profile })).toBe(a);
      expect(generateTrace({ seed: 42n, ops: 500, profile })).toBe(a);
      expect(generateTrace({ seed: 43, ops: 500, profile })).not.toBe(a);
    }
    expect(generateTrace({ seed: 7, ops: 200 })).toBe(generateTrace({ seed: 7, ops: 200, profile: 'mixed', quirks: false }));
  });

  it('a pinned trace does not change by accident', () => {
    const text = generateTrace({ seed: 1, ops: 12 });
    expect(text.split('\n')[0]).toBe('# vmtree gen --seed 1 --ops 12 --profile mixed');
    // Re-pin deliberately (and say so in the commit) if the generator changes.
    let h = 0;
    for (let i = 0; i < text.length; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) >>> 0;
    expect(h).toBe(PINNED_HASH);
  });

  it('gives exactly ops commands after one comment line, for every profile', () => {
    for (const profile of PROFILES) {
      for (const ops of [0, 1, 2, 7, 100]) {
        const text = generateTrace({ seed: ops, ops, profile, quirks: ops % 2 === 1 });
        const lines = text.split('\n');
        expect(lines[0]).toMatch(/^# vmtree gen --seed \d+ --ops \d+ --profile \w+( --quirks)?$/);
        expect(lines.at(-1)).toBe('');
        expect(lines.length - 2).toBe(ops);
        expect(parseTrace(text, 'g')).toHaveLength(ops);
      }
    }
  });

  it('accepts any 64-bit seed and rejects bad options', () => {
    expect(parseTrace(generateTrace({ seed: U64, ops: 50 }), 'g')).toHaveLength(50);
    expect(generateTrace({ seed: U64, ops: 50 })).not.toBe(generateTrace({ seed: 0, ops: 50 }));
    expect(() => generateTrace({ seed: -1, ops: 5 })).toThrow(RangeError);
    expect(() => generateTrace({ seed: 1n << 64n, ops: 5 })).toThrow(RangeError);
    expect(() => generateTrace({ seed: 1.5, ops: 5 })).toThrow(RangeError);
    expect(() => generateTrace({ seed: 1, ops: -1 })).toThrow(RangeError);
    expect(() => generateTrace({ seed: 1, ops: 5, profile: 'bogus' as Profile })).toThrow(RangeError);
  });

  it('traces always parse (with and without quirks)', () => {
    for (const profile of PROFILES) {
      for (let seed = 0; seed < SEEDS; seed++) {
        expect(cmdsFor(profile, seed)).toHaveLength(OPS);
        expect(cmdsFor(profile, seed, true)).toHaveLength(OPS);
      }
    }
  });

  it('every command kind appears across seeds, for each profile', () => {
    for (const profile of PROFILES) {
      const seen = new Set<string>();
      for (let seed = 0; seed < SEEDS; seed++) for (const c of cmdsFor(profile, seed)) seen.add(c.kind);
      expect([...seen].sort(), profile).toEqual([...ALL_KINDS].sort());
    }
  });

  it('exercises the hard cases', () => {
    const all: Command[] = [];
    for (const profile of PROFILES) for (let seed = 0; seed < SEEDS; seed++) all.push(...cmdsFor(profile, seed));
    const has = (what: string, pred: (c: Command) => boolean): void => {
      expect(all.some(pred), what).toBe(true);
    };
    for (const prot of ['none', 'r', 'rw', 'rx', 'rwx']) has(`prot ${prot}`, (c) => c.kind === 'mmap' && c.prot === prot);
    for (const advice of ['dontneed', 'dontfork', 'dofork', 'wipeonfork', 'keeponfork']) {
      has(`advice ${advice}`, (c) => c.kind === 'madvise' && c.advice === advice);
    }
    for (const shared of [false, true]) {
      for (const file of [false, true]) {
        for (const fixed of [false, true]) {
          has(`mmap shared=${shared} file=${file} fixed=${fixed}`, (c) =>
            c.kind === 'mmap' && c.shared === shared && (c.file !== undefined) === file && c.fixed === fixed);
        }
      }
    }
    has('mmap with an unaligned length', (c) => c.kind === 'mmap' && c.len % PAGE !== 0n);
    has('mmap at 0 (EPERM)', (c) => c.kind === 'mmap' && c.addr === 0n);
    has('mmap past the user address space', (c) => c.kind === 'mmap' && c.addr >= TASK_SIZE);
    has('mmap with an unaligned address', (c) => c.kind === 'mmap' && c.addr % PAGE !== 0n);
    has('mmap of zero length', (c) => c.kind === 'mmap' && c.len === 0n);
    has('mmap with a wrapping length', (c) => c.kind === 'mmap' && c.len > U64 - 0x20000n);
    has('mmap at a huge file offset', (c) => c.kind === 'mmap' && c.off !== undefined && c.off >= 1n << 63n);
    has('mmap ending at the window end', (c) => c.kind === 'mmap' && c.addr + alignUp(c.len) === WINDOW_END);
    has('munmap of zero length', (c) => c.kind === 'munmap' && c.len === 0n);
    has('mprotect of zero length', (c) => c.kind === 'mprotect' && c.len === 0n);
    has('madvise of zero length', (c) => c.kind === 'madvise' && c.len === 0n);
    has('mprotect wrapping', (c) => c.kind === 'mprotect' && c.len > U64 - 0x20000n);
    has('mremap in place', (c) => c.kind === 'mremap' && c.newAddr === undefined && c.newLen > c.oldLen);
    has('mremap shrink', (c) => c.kind === 'mremap' && c.newAddr === undefined && c.newLen < c.oldLen && c.newLen > 0n);
    has('mremap move', (c) => c.kind === 'mremap' && c.newAddr !== undefined && c.oldLen > 0n);
    has('mremap OLDLEN 0', (c) => c.kind === 'mremap' && c.newAddr !== undefined && c.oldLen === 0n);
    has('mremap NEWLEN 0', (c) => c.kind === 'mremap' && c.newLen === 0n);
    has('mremap to past the user address space', (c) => c.kind === 'mremap' && (c.newAddr ?? 0n) >= TASK_SIZE);
    has('file of a huge size', (c) => (c.kind === 'file' || c.kind === 'ftruncate') && c.size >= 1n << 63n);
    has('file past ext4 limit', (c) => c.kind === 'ftruncate' && c.size === 1n << 50n);
    has('fwrite at a huge offset', (c) => c.kind === 'fwrite' && c.off >= 1n << 63n);
    has('fread past ext4 limit', (c) => c.kind === 'fread' && c.off === 1n << 50n);
    has('VAL 2^32-1', (c) => c.kind === 'write' && c.val === 0xffffffff);
    has('reclaim of 2^64-1', (c) => c.kind === 'reclaim' && c.count === U64);
    // Fork chains: a child forks in turn.
    has('fork chain', (c) => c.kind === 'fork' && all.some((d) => d.kind === 'fork' && d.child === c.proc));
  });

  it('fork trees with exits in any order', () => {
    let parentExitsFirst = false;
    let childExitsFirst = false;
    for (let seed = 0; seed < SEEDS; seed++) {
      const cmds = cmdsFor('forky', seed);
      const exitLine = new Map<string, number>();
      for (const c of cmds) if (c.kind === 'exit') exitLine.set(c.proc, c.line);
      for (const c of cmds) {
        if (c.kind !== 'fork') continue;
        const p = exitLine.get(c.proc);
        const q = exitLine.get(c.child);
        if (p !== undefined && q !== undefined) {
          if (p < q) parentExitsFirst = true;
          else childExitsFirst = true;
        }
      }
    }
    expect(parentExitsFirst && childExitsFirst).toBe(true);
  });

  it('default traces are portable: inside the window, no mremap over several vmas', () => {
    for (const profile of PROFILES) {
      for (let seed = 0; seed < SEEDS; seed++) {
        expect(portabilityProblem(cmdsFor(profile, seed)), `${profile} seed ${seed}`).toBeNull();
      }
    }
    for (let seed = 1000; seed < 1010; seed++) {
      const cmds = parseTrace(generateTrace({ seed, ops: 3000, profile: 'remap' }), 'g');
      expect(portabilityProblem(cmds), `remap seed ${seed}`).toBeNull();
    }
  });

  it('--quirks lets non-portable mremaps in, but still keeps to the window', () => {
    let found = false;
    for (const profile of PROFILES) {
      for (let seed = 0; seed < SEEDS; seed++) {
        const problem = portabilityProblem(cmdsFor(profile, seed, true));
        if (problem !== null) {
          expect(problem).toMatch(/mremap (old range spans|of an unmapped)/);
          found = true;
        }
      }
    }
    expect(found).toBe(true);
  });

  it('generateCommands numbers lines 1..ops', () => {
    const cmds = generateCommands({ seed: 3, ops: 40, profile: 'files' });
    expect(cmds.map((c) => c.line)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });
});

describe('Rng', () => {
  it('is deterministic and roughly uniform', () => {
    const a = new Rng(5);
    const b = new Rng(5);
    const xs = Array.from({ length: 1000 }, () => a.u32());
    expect(Array.from({ length: 1000 }, () => b.u32())).toEqual(xs);
    const buckets = new Array<number>(10).fill(0);
    const r = new Rng(99);
    for (let i = 0; i < 100000; i++) buckets[r.int(10)]!++;
    for (const n of buckets) expect(Math.abs(n - 10000)).toBeLessThan(600);
    expect(new Set(xs).size).toBeGreaterThan(995);
  });
});

const oracle = kernelOracleAvailable();

describe(`on the real kernel (build/vmrun)${oracle.ok ? '' : ` — unavailable: ${oracle.why}`}`, () => {
  it.runIf(oracle.ok)('default traces run there and are never refused as not portable', async () => {
    for (const profile of PROFILES) {
      for (let seed = 0; seed < 6; seed++) {
        const name = `gen-${profile}-${seed}.vmt`;
        const r = await runOnKernel(generateTrace({ seed, ops: 1500, profile }), name, { timeoutMs: 60_000 });
        expect(r.stderr, name).toBe('');
        expect(r.status, name).toBe(0);
        expect(r.stdout.split('\n').filter((l) => /^\d+ /.test(l)), name).toHaveLength(1500);
      }
    }
  }, 600_000);
});
