// `npm run bench`: the simulator raced against the real kernel.
//
// Every figure is measured on both sides, doing the same work:
//   - the simulator, micro figures: Machine.call (what `vmtree run`
//     calls) on commands made in the loop as the streaming parser makes
//     them (one object literal each, addresses as numbers; their
//     allocation is in the time), after three untimed runs (the JIT warm),
//     timed around the loop;
//   - the simulator, workloads (warm, the main figure): one Node process
//     runs the trace untimed until the JIT has settled (warmChild), then
//     each timed run is the
//     work `vmtree run` does once started: openTrace (src/trace/source.ts:
//     a trace of at most 4 MiB parsed once and held; a longer one, like
//     cow-storm's, validated in one pass, then parsed again as it runs)
//     and the run, with the results hashed after the clock stops instead
//     of printed; no forced GC between runs (see warmChild);
//   - the simulator, workloads (cold): a fresh Node process's first run
//     of the same work, as a user typing `vmtree run` waits for it (JIT
//     cold; Node's own start-up and module loading reported apart), and
//     that process's peak RSS at the end of that one run (Node included);
//   - the kernel: native/kbench.c (built into build/kbench by
//     native/build.sh), real processes doing the same faults, forks and
//     the workloads' traces (see its header for how a trace runs; its
//     clock starts after it parsed the trace and stops when the last
//     command is done).
// Runs alternate between the sides (simulator warm, kernel, simulator
// cold, ...), so that load on this shared machine falls on all alike.
// Each figure is the median of several runs, printed with its spread
// (min-max). For the workloads the kernel's read values are hashed and
// compared with the simulator's, every run: a run whose results differ is
// an error, not a figure.
//
//   npm run bench                      the table
//   npm run bench -- --quick           smaller sizes, fewer runs (a smoke test)
//   npm run bench -- --json [FILE]     also write every run as JSON (stdout if no FILE)
//   npm run bench -- --readme          also rewrite README.md's "Performance" table (every figure)
//   npm run bench -- --no-kernel       the simulator alone
//   npm run bench -- --runs N          runs per figure
//   npm run bench -- --only ID[,ID...] only these figures (a workload: its warm and cold rows); IDs: FIGURE_IDS
//   npm run bench -- --anatomy         instead: a write fault taken apart, each step timed alone (src/bench/anatomy.ts)
//
// Without a C compiler (or not on Linux) the kernel column is empty and the
// reason is printed. kbench needs no privileges.

import { execFileSync, spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { loadavg, tmpdir, release } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Machine } from '../machine.js';
import type { Command } from '../trace/ast.js';
import { openTrace } from '../trace/source.js';
import { workloadTrace } from '../workload/index.js';
import { faultAnatomy } from './anatomy.js';
import { stat, type Stat } from './stat.js';

import { PAGE_SIZE as PAGE, WINDOW_START as BASE } from '../mm/constants.js';
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const KBENCH = path.join(ROOT, 'build', 'kbench');

/** A command without its line number (Omit distributed over the union). */
type Unlined = Command extends unknown ? (Command extends infer C ? (C extends Command ? Omit<C, 'line'> : never) : never) : never;

let line = 0;
const at = (c: Unlined): Command => ({ ...c, line: ++line }) as Command;

function exec(m: Machine, c: Unlined): string {
  const r = m.exec(at(c));
  if (r !== 'ok' && !/^\d+$/.test(r)) throw new Error(`bench: ${c.kind} gave ${r}`);
  return r;
}

// ---------------------------------------------------------------------------
// Statistics and output


export interface Figure {
  id: string;
  name: string;
  unit: string;
  sim: Stat;
  kernel: Stat | null;
  /** What the kernel column shows when it is not measured here. */
  kernelNote?: string;
  /** kernel / simulator (times, lower is better): how many times faster the simulator is. */
  ratio: number | null;
  goal: string;
  /** Whether the goal is met by the simulator's median. */
  met: boolean | null;
  /** Simulator's peak resident memory (workloads: of a cold run's process), bytes. */
  simMaxRss?: Stat;
  /** Node's start-up before a cold run (module loading included), seconds. */
  simStartup?: Stat;
}

const fmt = (x: number, digits = 0): string =>
  x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** A value in its unit, with 3 significant digits. */
function show(x: number, unit: string): string {
  const d = x >= 100 ? 0 : x >= 10 ? 1 : x >= 1 ? 2 : 3;
  return `${fmt(x, d)} ${unit}`;
}

function cell(s: Stat | null, unit: string, spread: boolean): string {
  if (s === null) return '—';
  const m = show(s.median, unit);
  return spread && s.runs.length > 1 ? `${m} (${show(s.min, '').trim()}–${show(s.max, '').trim()})` : m;
}

function tableRows(figs: Figure[], spread: boolean): string[][] {
  return figs.map((f) => [
    f.name,
    cell(f.sim, f.unit, spread) +
      (f.simStartup ? `; + ${show(f.simStartup.median, 's')} start-up` : '') +
      (f.simMaxRss ? `; peak RSS ${show(f.simMaxRss.median / 2 ** 20, 'MB')}${f.simStartup ? '' : ' (cold run)'}` : ''),
    f.kernel !== null ? cell(f.kernel, f.unit, spread) : (f.kernelNote ?? '—'),
    f.ratio === null ? '—' : `${f.ratio >= 10 ? fmt(f.ratio, 0) : fmt(f.ratio, 1)}×`,
    `${f.goal}${f.met === null ? '' : f.met ? ' ✓' : ' ✗'}`,
  ]);
}

const HEAD = ['figure', 'simulator (median, min–max)', 'kernel (median, min–max)', 'simulator faster by', 'goal'];

function textTable(figs: Figure[]): string {
  const rows = [HEAD, ...tableRows(figs, true)];
  const w = HEAD.map((_, i) => Math.max(...rows.map((r) => [...r[i]!].length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ')).join('\n');
}

export function markdownTable(figs: Figure[]): string {
  const rows = tableRows(figs, true);
  const out = [`| ${HEAD.join(' | ')} |`, `|:--|${HEAD.slice(1).map(() => '--:').join('|')}|`];
  for (const r of rows) out.push(`| ${r.join(' | ')} |`);
  return out.join('\n');
}

// ---------------------------------------------------------------------------
// The kernel side

interface KernelSide { ok: true } 
type KernelStatus = KernelSide | { ok: false; why: string };

function newestSource(): number {
  const dir = path.join(ROOT, 'native');
  let t = 0;
  for (const f of readdirSync(dir)) if (f.endsWith('.c') || f === 'build.sh') t = Math.max(t, statSync(path.join(dir, f)).mtimeMs);
  return t;
}

function kernelStatus(disabled: boolean): KernelStatus {
  if (disabled) return { ok: false, why: '--no-kernel given' };
  if (process.platform !== 'linux') return { ok: false, why: `not Linux (${process.platform}): kbench runs on the Linux kernel` };
  if (existsSync(KBENCH) && statSync(KBENCH).mtimeMs >= newestSource()) return { ok: true };
  const cc = process.env.CC ?? 'cc';
  const r = spawnSync('sh', [path.join(ROOT, 'native', 'build.sh')], { cwd: ROOT, encoding: 'utf8' });
  if (r.status === 127) return { ok: false, why: `no C compiler ('${cc}' not found) to build build/kbench from native/kbench.c` };
  if (r.status !== 0 || !existsSync(KBENCH)) return { ok: false, why: `native/build.sh failed: ${(r.stderr || r.stdout || '').trim()}` };
  return { ok: true };
}

function kbench(args: string[]): Record<string, unknown> {
  const out = execFileSync(KBENCH, args, { encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out) as Record<string, unknown>;
}

// ---------------------------------------------------------------------------
// The simulator side: micro figures

type FaultKind = 'write-fault' | 'read-fault' | 'cow-fault' | 'read-file';

/** Nanoseconds per fault for `pages` faults of one kind. */
function simFault(kind: FaultKind, pages: number): number {
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
  if (kind === 'cow-fault') {
    for (let i = 0; i < pages; i++) exec(m, { kind: 'write', proc: 'a', addr: BASE + i * PAGE, val: i + 1 });
    exec(m, { kind: 'fork', proc: 'a', child: 'b' });
    victim = 'b';
  }
  // Each command is made in the loop as the streaming parser makes it
  // (src/trace/parse.ts: one object literal, these fields in this order),
  // its allocation in the time. Not built beforehand: 32,768 live command
  // objects made every collection inside the loop copy them (write fault
  // 622-684 vs 299-383 ns, medians of 35); not with at(): an object spread
  // and then extended has another shape, ~3x slower to run.
  const read = kind === 'read-fault' || kind === 'read-file';
  let l = line;
  const t0 = performance.now();
  if (read) for (let i = 0; i < pages; i++) m.call({ kind: 'read', line: ++l, proc: victim, addr: BASE + i * PAGE });
  else for (let i = 0; i < pages; i++) m.call({ kind: 'write', line: ++l, proc: victim, addr: BASE + i * PAGE, val: 7 + i });
  const dt = performance.now() - t0;
  line = l;
  return (dt * 1e6) / pages;
}

/**
 * Milliseconds per fork of a process with `pages` resident pages; with
 * `withExit`, per fork + exit (the child exits at once), as the kernel's
 * fork+exit figure counts it.
 */
function simFork(pages: number, forks: number, withExit = false): number[] {
  const m = new Machine();
  exec(m, { kind: 'spawn', proc: 'a' });
  exec(m, { kind: 'mmap', proc: 'a', addr: BigInt(BASE), len: BigInt(pages * PAGE), prot: 'rw', shared: false, fixed: false });
  for (let i = 0; i < pages; i++) exec(m, { kind: 'write', proc: 'a', addr: BASE + i * PAGE, val: i + 1 });
  const out: number[] = [];
  for (let i = 0; i < forks; i++) {
    const t0 = performance.now();
    exec(m, { kind: 'fork', proc: 'a', child: `c${i}` });
    if (withExit) exec(m, { kind: 'exit', proc: `c${i}` });
    out.push(performance.now() - t0);
    if (!withExit) exec(m, { kind: 'exit', proc: `c${i}` });
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
    for (let w = 0; w < words; w++) exec(m, { kind: 'write', proc: 'a', addr: BASE + i * PAGE + w * 4, val: i + 1 });
  }
  const after = heapBytes();
  if (m.stats().framesInUse !== pages) throw new Error('bench: pages not resident');
  return (after - before) / pages;
}

// ---------------------------------------------------------------------------
// The simulator side: workloads, run in other Node processes

/**
 * One run of a trace. ns: openTrace + the run (for a streamed trace, the
 * second parse pass runs with it); parseNs: openTrace alone (a held
 * trace's whole parse, or a streamed trace's validating pass); startupNs: how long the process
 * had been alive when the run began (Node's start-up and module loading:
 * meaningful for a cold run); maxRss: the process's peak RSS so far.
 */
export interface TraceResult { ns: number; parseNs: number; startupNs: number; maxRss: number; reads: number; readHash: string; failed: number }

/**
 * FNV-1a 64 over (line, value) of every read and fread, each as two
 * little-endian u64s; and the count of other commands that failed with an
 * errno: what native/kbench.c prints for the same trace.
 */
export class ResultDigest {
  private static readonly MASK = (1n << 64n) - 1n;
  private h = 1469598103934665603n;
  reads = 0;
  failed = 0;
  private readonly bytes = new Uint8Array(16);
  private readonly view = new DataView(this.bytes.buffer);

  add(c: Command, r: string): void {
    if (c.kind === 'read' || c.kind === 'fread') this.addRead(c.line, r);
    else if (r !== 'ok' && (r.charCodeAt(0) < 0x30 || r.charCodeAt(0) > 0x39)) this.failed++;
  }

  /** A read's result: its value, or a signal name (hashed as all ones). */
  addRead(line: number, r: string): void {
    this.reads++;
    this.view.setBigUint64(0, BigInt(line), true);
    this.view.setBigUint64(8, /^\d+$/.test(r) ? BigInt(r) : ResultDigest.MASK, true);
    let h = this.h;
    for (const b of this.bytes) h = ((h ^ BigInt(b)) * 1099511628211n) & ResultDigest.MASK;
    this.h = h;
  }

  get readHash(): string {
    return this.h.toString(16).padStart(16, '0');
  }
}

/**
 * One run of a trace file as `vmtree run` runs it (validated whole, then
 * streamed: src/trace/source.ts), timed. The reads' results are kept (a
 * reference each) and hashed after the clock stops, as kbench keeps its
 * results in the command array and hashes them after its clock stops;
 * counting failures is a comparison per command and stays inside.
 */
async function runTraceTimed(file: string): Promise<TraceResult> {
  const readLines: number[] = [];
  const readValues: string[] = [];
  let failed = 0;
  const t0 = performance.now();
  const cmds = await openTrace({ path: file }, file);
  const t1 = performance.now();
  const m = new Machine();
  for (const c of cmds) {
    const r = m.exec(c);
    if (c.kind === 'read' || c.kind === 'fread') {
      readLines.push(c.line);
      readValues.push(r);
    } else if (r !== 'ok' && (r.charCodeAt(0) < 0x30 || r.charCodeAt(0) > 0x39)) {
      failed++;
    }
  }
  const t2 = performance.now();
  const d = new ResultDigest();
  for (let i = 0; i < readLines.length; i++) d.addRead(readLines[i]!, readValues[i]!);
  return {
    ns: (t2 - t0) * 1e6, parseNs: (t1 - t0) * 1e6, startupNs: t0 * 1e6, maxRss: process.resourceUsage().maxRSS * 1024,
    reads: d.reads, readHash: d.readHash, failed,
  };
}

/** In a fresh child process: the first run of a trace (cold), printed as a TraceResult. */
async function coldChild(file: string): Promise<void> {
  process.stdout.write(JSON.stringify(await runTraceTimed(file)));
}

/**
 * In a child process that stays: untimed runs until the JIT has settled
 * (WARMUP_RUNS, or more until WARMUP_MS have passed), then a timed run for
 * every `run` line on stdin, each answered by a TraceResult line.
 *
 * No forced GC between runs: a full collection forced by gc() leaves V8
 * several times slower on the next run (measured on prefork: 98 ms after
 * gc() against 22 ms without, medians of 15 after 6 warm-up runs), which
 * is not the steady state of a long-running tool; each run pays for the
 * garbage the previous one left, as it would in a process running traces
 * one after another.
 */
const WARMUP_RUNS = 5;
const WARMUP_MS = 1000;

async function warmChild(file: string): Promise<void> {
  const t0 = performance.now();
  for (let i = 0; i < WARMUP_RUNS || performance.now() - t0 < WARMUP_MS; i++) await runTraceTimed(file);
  process.stdout.write('ready\n');
  for await (const line of createInterface({ input: process.stdin })) {
    if (line !== 'run') break;
    process.stdout.write(`${JSON.stringify(await runTraceTimed(file))}\n`);
  }
}

function simCold(file: string): TraceResult {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--sim-cold', file], { encoding: 'utf8', maxBuffer: 1 << 24 });
  return JSON.parse(out) as TraceResult;
}

/** The parent's end of warmChild(). */
class WarmRunner {
  private constructor(private readonly child: ChildProcessByStdio<Writable, Readable, null>, private readonly lines: AsyncIterator<string>) {}

  static async start(file: string): Promise<WarmRunner> {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--sim-warm', file], { stdio: ['pipe', 'pipe', 'inherit'] });
    const r = new WarmRunner(child, createInterface({ input: child.stdout })[Symbol.asyncIterator]());
    const first = await r.next();
    if (first !== 'ready') throw new Error(`bench: the warm runner said '${first}'`);
    return r;
  }

  private async next(): Promise<string> {
    const { value, done } = await this.lines.next();
    if (done === true) throw new Error(`bench: the warm runner ended (exit ${this.child.exitCode ?? this.child.signalCode ?? '?'})`);
    return value;
  }

  async run(): Promise<TraceResult> {
    this.child.stdin.write('run\n');
    return JSON.parse(await this.next()) as TraceResult;
  }

  close(): void {
    this.child.stdin.end();
  }
}

// ---------------------------------------------------------------------------

/** Every figure id, in the order they are measured. A workload's id gives both of its rows (warm, and `ID-cold`). */
export const FIGURE_IDS = [
  'bytes-per-page-sparse', 'write-fault', 'read-fault', 'cow-fault', 'read-file', 'fork', 'fork-exit',
  'cow-storm', 'fork-chain', 'prefork', 'zygote', 'shell',
] as const;

interface Options { quick: boolean; json: string | null; readme: boolean; noKernel: boolean; runs: number | null; only: Set<string> | null; anatomy: boolean }

function parseArgs(argv: string[]): Options {
  const o: Options = { quick: false, json: null, readme: false, noKernel: false, runs: null, only: null, anatomy: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') o.quick = true;
    else if (a === '--readme') o.readme = true;
    else if (a === '--no-kernel') o.noKernel = true;
    else if (a === '--anatomy') o.anatomy = true;
    else if (a === '--json') o.json = argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--') ? argv[++i]! : '-';
    else if (a === '--runs') {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1) throw new Error('--runs needs a positive integer');
      o.runs = n;
    } else if (a === '--only') {
      const ids = (argv[++i] ?? '').split(',').map((x) => x.trim().replace(/-cold$/, '')).filter((x) => x !== '');
      if (ids.length === 0) throw new Error(`--only needs figure ids: ${FIGURE_IDS.join(', ')}`);
      for (const id of ids) {
        if (!(FIGURE_IDS as readonly string[]).includes(id)) throw new Error(`--only: no figure '${id}' (figures: ${FIGURE_IDS.join(', ')})`);
      }
      o.only = new Set(ids);
    } else if (a === '--help' || a === '-h') {
      const usage = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//   npm')).map((l) => l.slice(5));
      process.stdout.write(`${usage.join('\n').replace('FIGURE_IDS', FIGURE_IDS.join(', '))}\n\n${LEGEND.join('\n')}\n`);
      process.exit(0);
    } else throw new Error(`unknown option '${a}' (try --help)`);
  }
  if (o.readme && o.only !== null) throw new Error('--readme rewrites the whole table: it cannot go with --only');
  if (o.anatomy && (o.readme || o.only !== null || o.noKernel)) throw new Error('--anatomy times the simulator alone and prints its own table: it goes with --runs, --quick and --json only');
  return o;
}

/** What each side's figures include: printed under the table, and in the README. */
const LEGEND = [
  'simulator, micro figures: Machine.call (as `vmtree run` calls it) on commands made in the loop as the streaming parser makes them (one',
  '  object each, addresses as numbers, their allocation timed), after three untimed runs (JIT warm).',
  'simulator, workloads: what `vmtree run` does once started: parse + run (src/trace/source.ts: a trace of at most',
  '  4 MiB parsed once, a longer one validated first, then parsed again as it runs; results hashed after the clock',
  '  stops, not printed). Warm rows: one Node process, 5 untimed runs (at least 1 s) first, no forced GC between runs.',
  '  Cold rows: a fresh Node process\'s first run (JIT cold), with that process\'s start-up (Node + modules, not in',
  '  the time) and its peak RSS at the end of that run.',
  'kernel: native/kbench.c, real processes; micro figures timed around the loop of faults or the fork; workloads:',
  '  the trace parsed first (untimed), then executed from its first command to its last (the teardown of processes',
  '  still alive at the end untimed); read values hashed and checked equal to the simulator\'s on every run.',
];

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

/** `--anatomy`: the write fault taken apart (src/bench/anatomy.ts), as a table. */
function anatomy(o: Options): void {
  const rounds = o.runs ?? (o.quick ? 5 : 15);
  const started = new Date();
  const rows = faultAnatomy(rounds, 3, log);
  const machine = `node ${process.version}, Linux ${release()}, ${started.toISOString().slice(0, 10)}, load average ${loadavg()[0]!.toFixed(1)}`;
  console.log(`vmtree bench --anatomy (${machine}; ns per page, medians of ${rounds} interleaved rounds, min–max in brackets)`);
  const cells = rows.map((r) => [`${'  '.repeat(r.depth)}${r.name}`, `${r.ns.median.toFixed(0)} ns`, `(${r.ns.min.toFixed(0)}–${r.ns.max.toFixed(0)})`]);
  const w = [0, 1, 2].map((c) => Math.max(...cells.map((row) => row[c]!.length)));
  for (const row of cells) console.log(`${row[0]!.padEnd(w[0]!)}  ${row[1]!.padStart(w[1]!)} ${row[2]!.padStart(w[2]!)}`);
  console.log('');
  for (const r of rows) if (!r.derived) console.log(`${r.name}: ${r.note}.`);
  console.log('…: its own work: the row above it less its steps, each timed alone (the glue between them, values boxed between calls that are not inlined, collections).');
  if (o.json !== null) {
    const doc = JSON.stringify({ date: started.toISOString(), machine, rounds, unit: 'ns per page', rows }, null, 1);
    if (o.json === '-') console.log(doc);
    else writeFileSync(o.json, `${doc}\n`);
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.anatomy) {
    anatomy(o);
    return;
  }
  const n = o.runs ?? (o.quick ? 3 : 5);
  const nBig = o.runs ?? 3; // runs of the figures that take seconds on the kernel
  const k = kernelStatus(o.noKernel);
  const kernelOn = k.ok;
  const figs: Figure[] = [];
  const started = new Date();
  const loadBefore = loadavg()[0]!;
  const wanted = (id: string): boolean => o.only === null || o.only.has(id);

  const speedup = (sim: Stat, ker: Stat | null): number | null => (ker === null ? null : ker.median / sim.median);

  // Memory first, each in a fresh process: garbage from other runs would blur a heap delta.
  if (wanted('bytes-per-page-sparse')) {
    const memPages = o.quick ? 16384 : 65536;
    const inChild = (words: number): number =>
      Number(execFileSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--bytes-per-page', String(memPages), String(words)], { encoding: 'utf8' }));
    log('host bytes per resident page...');
    const sparse = stat(Array.from({ length: o.quick ? 2 : 3 }, () => inChild(1)));
    figs.push({
      id: 'bytes-per-page-sparse', name: 'host bytes per resident page (one word set)', unit: 'B', sim: sparse, kernel: null,
      kernelNote: '64 B (struct page) + 4 KiB', ratio: null, goal: '≤ 64 B', met: sparse.median <= 64,
    });
  }

  // Faults.
  const faultPages = o.quick ? 8192 : 32768;
  const faultFigures: [FaultKind, string, string, number][] = [
    ['write-fault', 'anonymous write fault (zero fill)', '≤ 200 ns', 200],
    ['read-fault', 'read fault (anonymous, untouched)', '≤ 100 ns', 100],
    ['cow-fault', 'COW fault (after fork, parent alive)', '≤ 250 ns', 250],
    ['read-file', 'read fault (private file mapping)', '—', Infinity],
  ];
  for (const [kind, name, goal, limit] of faultFigures) {
    if (!wanted(kind)) continue;
    log(`${kind} (${fmt(faultPages)} faults, ${n} runs per side)...`);
    for (let w = 0; w < 3; w++) simFault(kind, faultPages); // warm up the JIT: three untimed runs of the full size
    const s: number[] = [];
    const kr: number[] = [];
    for (let i = 0; i < n; i++) {
      s.push(simFault(kind, faultPages));
      if (kernelOn) kr.push(Number(kbench([kind, String(faultPages)]).ns) / faultPages);
    }
    const sim = stat(s);
    const ker = kernelOn ? stat(kr) : null;
    figs.push({ id: kind, name, unit: 'ns', sim, kernel: ker, ratio: speedup(sim, ker), goal, met: limit === Infinity ? null : sim.median <= limit });
  }

  // Fork, and fork + exit (one kbench run times both).
  if (wanted('fork') || wanted('fork-exit')) {
    const forkPages = o.quick ? 65536 : 262144;
    log(`fork of ${fmt(forkPages)} resident pages (${n} forks per side)...`);
    simFork(4096, 4, true); // warm up the JIT
    let kerForks: Stat | null = null;
    let kerForkExit: Stat | null = null;
    if (kernelOn) {
      const r = kbench(['fork', String(forkPages), String(n)]) as { forkNs: number[]; forkExitNs: number[] };
      kerForks = stat(r.forkNs.map((x) => x / 1e6));
      kerForkExit = stat(r.forkExitNs.map((x) => x / 1e6));
    }
    if (wanted('fork')) {
      const sim = stat(simFork(forkPages, n));
      figs.push({
        id: 'fork', name: `fork of a ${fmt(forkPages)}-page process`, unit: 'ms', sim, kernel: kerForks,
        ratio: speedup(sim, kerForks), goal: '≤ 1 ms', met: sim.median <= 1,
      });
    }
    if (wanted('fork-exit')) {
      const sim = stat(simFork(forkPages, n, true));
      figs.push({
        id: 'fork-exit', name: `fork + exit of a ${fmt(forkPages)}-page process`, unit: 'ms',
        sim, kernel: kerForkExit, ratio: speedup(sim, kerForkExit), goal: '—', met: null,
      });
    }
  }

  // Workloads: per round, a warm run, a kernel run, a cold run.
  const cs = o.quick ? { children: '200', pages: '200' } : { children: '1000', pages: '1000' };
  const fc = o.quick ? { generations: '1000' } : { generations: '10000' };
  const workloads: [string, string, Record<string, string>, number, string, (rss: Stat) => boolean][] = [
    ['cow-storm', `cow-storm ${cs.children} × ${cs.pages}, all children alive`, cs, nBig, '≥ 10× kernel, ≤ 150 MB', (rss) => rss.median <= 150 * 2 ** 20],
    ['fork-chain', `fork-chain ${fmt(Number(fc.generations))} generations`, fc, nBig, '≥ 10× kernel', () => true],
    ['prefork', 'prefork (defaults)', {}, n, '≥ 10× kernel', () => true],
    ['zygote', 'zygote (defaults)', {}, n, '≥ 10× kernel', () => true],
    ['shell', 'shell (defaults)', {}, n, '≥ 10× kernel', () => true],
  ];
  const dir = mkdtempSync(path.join(tmpdir(), 'vmtree-bench-'));
  try {
    for (const [wname, name, params, runs, goal, memOk] of workloads) {
      if (!wanted(wname)) continue;
      const file = path.join(dir, `${wname}.vmt`);
      writeFileSync(file, workloadTrace(wname, params));
      log(`${name} (${runs} runs per side: warm, kernel, cold)...`);
      const warm: TraceResult[] = [];
      const cold: TraceResult[] = [];
      const kr: number[] = [];
      const check = (side: string, r: TraceResult, kres: { reads: number; readHash: string; failed: number }): void => {
        if (kres.reads !== r.reads || kres.readHash !== r.readHash || kres.failed !== r.failed) {
          throw new Error(`bench: ${wname}: the kernel's results differ from the simulator's (${side} run) ` +
            `(kernel ${kres.reads} reads, hash ${kres.readHash}, ${kres.failed} failed; simulator ${r.reads}, ${r.readHash}, ${r.failed})`);
        }
      };
      const runner = await WarmRunner.start(file);
      try {
        for (let i = 0; i < runs; i++) {
          const w = await runner.run();
          warm.push(w);
          if (kernelOn) {
            const kres = kbench(['trace', file]) as { ns: number; reads: number; readHash: string; failed: number };
            check('warm', w, kres);
            kr.push(kres.ns / 1e9);
          }
          const c = simCold(file);
          if (c.reads !== w.reads || c.readHash !== w.readHash || c.failed !== w.failed) throw new Error(`bench: ${wname}: a cold run's results differ from a warm run's`);
          cold.push(c);
        }
      } finally {
        runner.close();
      }
      const sim = stat(warm.map((r) => r.ns / 1e9));
      const simCold_ = stat(cold.map((r) => r.ns / 1e9));
      const rss = stat(cold.map((r) => r.maxRss));
      const ker = kernelOn ? stat(kr) : null;
      const ratio = speedup(sim, ker);
      figs.push({
        id: wname, name: `${name}, warm`, unit: 's', sim, kernel: ker, ratio, goal, simMaxRss: rss,
        met: ratio === null ? null : ratio >= 10 && memOk(rss),
      });
      figs.push({
        id: `${wname}-cold`, name: `${name}, cold: a fresh process's first run`, unit: 's', sim: simCold_, kernel: ker,
        ratio: speedup(simCold_, ker), goal: '—', met: null, simMaxRss: rss, simStartup: stat(cold.map((r) => r.startupNs / 1e9)),
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // The 1-minute load average when the run began and ended: on a shared
  // machine it says how much the figures (the kernel's most) were slowed.
  const load = `load average ${loadBefore.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`;
  const machine = `node ${process.version}, Linux ${release()}, ${started.toISOString().slice(0, 10)}, ${load}`;
  console.log(`vmtree bench (${machine}; medians of ${n} runs, ${nBig} for the workloads' kernel-sized runs)`);
  if (!kernelOn) console.log(`kernel side not measured: ${k.why}`);
  console.log(textTable(figs));
  console.log(LEGEND.join('\n'));
  if (o.json !== null) {
    const doc = JSON.stringify({ date: started.toISOString(), machine, quick: o.quick, kernel: kernelOn ? 'measured' : k.why, legend: LEGEND.join(' '), figures: figs }, null, 1);
    if (o.json === '-') console.log(doc);
    else writeFileSync(o.json, `${doc}\n`);
  }
  if (o.readme) {
    writeReadme(figs, machine, kernelOn ? null : k.why, o, n, nBig);
    log('README.md: Performance table rewritten');
  }
}

const START = '<!-- bench:start (npm run bench -- --readme rewrites this part) -->';
const END = '<!-- bench:end -->';

function writeReadme(figs: Figure[], machine: string, noKernel: string | null, o: Options, n: number, nBig: number): void {
  const flags = [o.quick ? '--quick' : '', o.runs !== null ? `--runs ${o.runs}` : '', o.noKernel ? '--no-kernel' : ''].filter((f) => f !== '');
  const command = `npm run bench${flags.length > 0 ? ` -- ${flags.join(' ')}` : ''}`;
  const file = path.join(ROOT, 'README.md');
  const text = readFileSync(file, 'utf8');
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README.md has no ${START} ... ${END} section`);
  const body = [
    START,
    '',
    `Measured by \`${command}\` (${machine}; medians of ${n} runs, ${nBig} for cow-storm and fork-chain, min–max in brackets${noKernel ? `; kernel not measured: ${noKernel}` : ''}):`,
    '',
    markdownTable(figs),
    '',
    'What each side includes:',
    '',
    ...LEGEND.map((l) => (l.startsWith('  ') ? `  ${l.trim()}` : `- ${l}`)),
    '',
    END,
  ].join('\n');
  writeFileSync(file, text.slice(0, a) + body + text.slice(b + END.length));
}

const probe = process.argv.indexOf('--bytes-per-page');
const coldArg = process.argv.indexOf('--sim-cold');
const warmArg = process.argv.indexOf('--sim-warm');
if (probe >= 0) {
  process.stdout.write(String(bytesPerPage(Number(process.argv[probe + 1]), Number(process.argv[probe + 2]))));
} else if (coldArg >= 0) {
  await coldChild(process.argv[coldArg + 1]!);
} else if (warmArg >= 0) {
  await warmChild(process.argv[warmArg + 1]!);
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    await main();
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
