// `npm run bench`: how fast and how big the simulator is.
//
//   - simulated faults per second, by kind (anonymous write fault with
//     zero fill, read fault mapping the zero page, copy-on-write after
//     fork, read fault through a private file mapping);
//   - time to fork a process with 262,144 resident pages (1 GiB);
//   - host bytes per resident simulated page: sparse (one word written)
//     and full (more words than a sparse page keeps).
//
// Every figure is the median of several runs (this machine is noisy), and
// the spread (min..max) is printed beside it. Run with --expose-gc for the
// memory figure to be exact (the npm script does).

import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Machine } from '../mm/machine.js';
import type { Command } from '../trace/ast.js';

import { PAGE_SIZE as PAGE, WINDOW_START as BASE } from '../mm/constants.js';

/** A command without its line number (Omit distributed over the union). */
type Unlined = Command extends unknown ? (Command extends infer C ? (C extends Command ? Omit<C, 'line'> : never) : never) : never;

let line = 0;
const at = (c: Unlined): Command => ({ ...c, line: ++line }) as Command;

function exec(m: Machine, c: Unlined): string {
  const r = m.exec(at(c));
  if (r !== 'ok' && !/^\d+$/.test(r)) throw new Error(`bench: ${c.kind} gave ${r}`);
  return r;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

function runs(n: number, f: () => number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(f());
  return out;
}

const fmt = (x: number, digits = 0): string => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function report(name: string, xs: number[], unit: string, digits = 0): void {
  console.log(`${name.padEnd(44)} ${fmt(median(xs), digits).padStart(14)} ${unit.padEnd(10)} (min ${fmt(Math.min(...xs), digits)}, max ${fmt(Math.max(...xs), digits)}, n=${xs.length})`);
}

/** Faults per second for `pages` faults of one kind. */
function faultRate(kind: 'write-zero' | 'read-zero' | 'cow' | 'read-file', pages: number): number {
  const m = new Machine();
  exec(m, { kind: 'spawn', proc: 'a' });
  const len = BigInt(pages * PAGE);
  if (kind === 'read-file') {
    exec(m, { kind: 'file', file: 'f', size: len });
    exec(m, { kind: 'mmap', proc: 'a', addr: BigInt(BASE), len, prot: 'r', shared: false, fixed: false, file: 'f', off: 0n });
  } else {
    exec(m, { kind: 'mmap', proc: 'a', addr: BigInt(BASE), len, prot: 'rw', shared: false, fixed: false });
  }
  let victim = 'a';
  if (kind === 'cow') {
    for (let i = 0; i < pages; i++) exec(m, { kind: 'write', proc: 'a', addr: BigInt(BASE + i * PAGE), val: i + 1 });
    exec(m, { kind: 'fork', proc: 'a', child: 'b' });
    victim = 'b';
  }
  const cmds: Command[] = [];
  for (let i = 0; i < pages; i++) {
    const addr = BigInt(BASE + i * PAGE);
    cmds.push(kind === 'read-zero' || kind === 'read-file'
      ? at({ kind: 'read', proc: victim, addr })
      : at({ kind: 'write', proc: victim, addr, val: 7 }));
  }
  const t0 = performance.now();
  for (const c of cmds) m.exec(c);
  const dt = (performance.now() - t0) / 1000;
  return pages / dt;
}

/** Milliseconds to fork a process with `pages` resident pages. */
function forkTime(pages: number, forks: number): number[] {
  const m = new Machine();
  exec(m, { kind: 'spawn', proc: 'a' });
  exec(m, { kind: 'mmap', proc: 'a', addr: BigInt(BASE), len: BigInt(pages * PAGE), prot: 'rw', shared: false, fixed: false });
  for (let i = 0; i < pages; i++) exec(m, { kind: 'write', proc: 'a', addr: BigInt(BASE + i * PAGE), val: i + 1 });
  const out: number[] = [];
  for (let i = 0; i < forks; i++) {
    const t0 = performance.now();
    exec(m, { kind: 'fork', proc: 'a', child: `c${i}` });
    out.push(performance.now() - t0);
    exec(m, { kind: 'exit', proc: `c${i}` });
  }
  return out;
}

function heapBytes(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 4; i++) gc?.();
  const u = process.memoryUsage();
  return u.heapUsed + u.arrayBuffers;
}

/**
 * Host bytes per resident page, each page written with `words` non-zero
 * words: 1 keeps pages sparse, 17 makes every page a full 4 KiB page.
 */
function bytesPerPage(pages: number, words: number): number {
  const before = heapBytes();
  const m = new Machine();
  exec(m, { kind: 'spawn', proc: 'a' });
  exec(m, { kind: 'mmap', proc: 'a', addr: BigInt(BASE), len: BigInt(pages * PAGE), prot: 'rw', shared: false, fixed: false });
  for (let i = 0; i < pages; i++) {
    for (let w = 0; w < words; w++) exec(m, { kind: 'write', proc: 'a', addr: BigInt(BASE + i * PAGE + w * 4), val: i + 1 });
  }
  const after = heapBytes();
  if (m.stats().framesInUse !== pages) throw new Error('bench: pages not resident');
  return (after - before) / pages;
}

function main(): void {
  const quick = process.argv.includes('--quick');
  const n = quick ? 3 : 7;
  const pages = quick ? 16384 : 65536;
  console.log(`vmtree bench (node ${process.version}; medians of ${n} runs)`);
  if ((globalThis as { gc?: unknown }).gc === undefined) console.log('(run node with --expose-gc for exact memory figures)');
  // Memory first, before other runs leave garbage behind.
  // Each memory figure in a fresh process: garbage from earlier runs (slabs
  // freed lazily) would blur a heap delta.
  const memPages = quick ? 16384 : 65536;
  const inChild = (words: number): number =>
    Number(execFileSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--bytes-per-page', String(memPages), String(words)], { encoding: 'utf8' }));
  report('host bytes per resident page (1 word set)', runs(quick ? 2 : 3, () => inChild(1)), 'bytes');
  report('host bytes per resident page (full page)', runs(quick ? 2 : 3, () => inChild(17)), 'bytes');
  for (const kind of ['write-zero', 'read-zero', 'cow', 'read-file'] as const) {
    faultRate(kind, 4096); // warm up the JIT
    report(`faults/s: ${kind}`, runs(n, () => faultRate(kind, pages)), 'faults/s');
  }
  const forkPages = 262144;
  report(`fork with ${fmt(forkPages)} resident pages`, forkTime(forkPages, n), 'ms', 1);
}

const probe = process.argv.indexOf('--bytes-per-page');
if (probe >= 0) {
  process.stdout.write(String(bytesPerPage(Number(process.argv[probe + 1]), Number(process.argv[probe + 2]))));
} else {
  main();
}
