// `npm run soak`: a long random run, checked.
//
//   npm run soak [-- --ops N] [--seed S] [--profile P] [--design D] [--frames F] [--check-every K]
//                [--no-scale] [--scale-procs N] [--scale-pages P]
//
// Generates N random operations (src/trace/gen.ts, default 10,000,000,
// profile mixed) as text, streams the text through the streaming parser
// (TraceParser) into one Machine, command by command — the path of
// `vmtree run - < trace` — so nothing proportional to N is held but what the
// trace itself keeps alive. Along the way:
//   - the invariant checker (test/invariants.ts) every K commands
//     (default 100,000) and at the end;
//   - the heap (heapUsed + arrayBuffers after a full GC) every 1,000,000
//     commands, less the parser's store of exited process names (which
//     the language makes grow with the processes a trace ever had: about
//     12 bytes + the name each; printed beside it). Verdict: flat once warm — after the first 20% of the run,
//     the samples may wander but must not grow: the least-squares slope
//     over them stays under 1 MiB per million commands and their range
//     under 32 MiB;
//   - then every live process exits, and only page-cache frames may remain
//     (I5), nothing held by the design, no swap slot but the files'.
// Then, unless --no-scale, the scale the issue names at once: a parent
// with P private pages forks N children that all stay alive and each
// write every page (default N = 10,000 live processes, P = 100: 1,000,000
// resident pages), streamed through the parser into a fresh machine; the
// values read back, the processes and the resident pages are checked,
// then every process exits, the invariants hold and only page-cache
// frames remain (--scale-procs N,
// --scale-pages P).
// Prints a verdict; exits 1 on any failure.

import { checkInvariants, checkOnlyPageCacheLeft } from './invariants.js';
import { Machine } from '../src/machine.js';
import type { Command } from '../src/trace/ast.js';
import { PROFILES, streamTrace, type Profile } from '../src/trace/gen/index.js';
import { TraceParser } from '../src/trace/parse.js';

function opt(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

function num(name: string, dflt: number): number {
  const v = opt(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`soak: ${name} needs a non-negative integer`);
    process.exit(1);
  }
  return n;
}

const ops = num('--ops', 10_000_000);
const seed = num('--seed', 2026);
const checkEvery = Math.max(1, num('--check-every', 100_000));
const profile = (opt('--profile') ?? 'mixed') as Profile;
if (!PROFILES.includes(profile)) {
  console.error(`soak: unknown profile '${profile}' (${PROFILES.join(', ')})`);
  process.exit(1);
}
const design = opt('--design') ?? 'tree';
const frames = opt('--frames') === undefined ? undefined : num('--frames', 0);
const SAMPLE = 1_000_000;
const MiB = 2 ** 20;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  console.error('soak: run node with --expose-gc (npm run soak does)');
  process.exit(1);
}

function heap(): number {
  for (let i = 0; i < 3; i++) gc!();
  const u = process.memoryUsage();
  return u.heapUsed + u.arrayBuffers;
}

const failures: string[] = [];
const m = new Machine(frames === undefined ? { design } : { design, frames });
const live = new Set<string>();
const samples: { ops: number; bytes: number }[] = [];
let parser: TraceParser;
let done = 0;
let checks = 0;
let checkMs = 0;
const t0 = performance.now();

function exec(c: Command): void {
  m.exec(c);
  if (c.kind === 'spawn') live.add(c.proc);
  else if (c.kind === 'fork') live.add(c.child);
  else if (c.kind === 'exit') live.delete(c.proc);
  done++;
  if (done % checkEvery === 0) {
    const a = performance.now();
    try {
      checkInvariants(m);
    } catch (e) {
      throw new Error(`after command ${done} (line ${c.line}): ${(e as Error).message}`);
    }
    checks++;
    checkMs += performance.now() - a;
  }
  if (done % SAMPLE === 0) {
    // The parser must remember every exited process's name (the language
    // tells an exited name from an unknown one): that store grows with the
    // trace's processes by design, so it is reported and set apart.
    const names = parser.exitedNameBytes;
    const bytes = heap() - names;
    samples.push({ ops: done, bytes });
    const s = ((performance.now() - t0) / 1000).toFixed(0);
    console.log(`${done.toLocaleString('en-US').padStart(12)} commands  heap ${(bytes / MiB).toFixed(1).padStart(7)} MiB (+ ${(names / MiB).toFixed(1)} MiB of exited names)  processes ${String(m.procs.size).padStart(3)}  frames ${String(m.frames.inUse).padStart(5)}  ${s} s`);
  }
}

console.log(`soak: ${ops.toLocaleString('en-US')} commands (gen --seed ${seed} --profile ${profile}), design ${design}` +
  `${frames === undefined ? '' : `, ${frames} frames`}; invariants every ${checkEvery.toLocaleString('en-US')}, heap every ${SAMPLE.toLocaleString('en-US')}`);
parser = new TraceParser('<soak>', exec);
let lastLine = 0;
try {
  streamTrace({ seed, ops, profile }, (text) => parser.push(text));
  parser.end();
  lastLine = parser.lines;
  checkInvariants(m);
  // Every process exits; then only the page cache may hold frames.
  for (const p of [...live]) m.exec({ kind: 'exit', line: ++lastLine, proc: p });
  checkInvariants(m);
  checkOnlyPageCacheLeft(m);
} catch (e) {
  failures.push((e as Error).message);
}

// Heap: flat once warm.
const warm = samples.filter((s) => s.ops > ops * 0.2);
if (warm.length >= 3) {
  const n = warm.length;
  const mx = warm.reduce((a, s) => a + s.ops, 0) / n;
  const my = warm.reduce((a, s) => a + s.bytes, 0) / n;
  const slope = warm.reduce((a, s) => a + (s.ops - mx) * (s.bytes - my), 0) / warm.reduce((a, s) => a + (s.ops - mx) ** 2, 0);
  const perMillion = (slope * 1e6) / MiB;
  const range = (Math.max(...warm.map((s) => s.bytes)) - Math.min(...warm.map((s) => s.bytes))) / MiB;
  console.log(`heap once warm: slope ${perMillion.toFixed(2)} MiB per million commands, range ${range.toFixed(1)} MiB over ${n} samples`);
  if (perMillion > 1) failures.push(`heap grows: ${perMillion.toFixed(2)} MiB per million commands once warm`);
  if (range > 32) failures.push(`heap wanders over ${range.toFixed(1)} MiB once warm`);
} else if (failures.length === 0) {
  console.log('heap: fewer than 3 samples once warm (a run of at least 5,000,000 commands judges it)');
}

const secs = (performance.now() - t0) / 1000;
const summary = `${done.toLocaleString('en-US')} commands in ${secs.toFixed(1)} s (${Math.round(done / secs).toLocaleString('en-US')}/s); ` +
  `${checks + 2} invariant checks (${(checkMs / 1000).toFixed(1)} s); after every exit: ${m.frames.inUse} frames in use, all page cache`;
console.log(summary);

if (!process.argv.includes('--no-scale')) {
  try {
    scale(num('--scale-procs', 10_000), num('--scale-pages', 100));
  } catch (e) {
    failures.push(`scale: ${(e as Error).message}`);
  }
}

/** N live children of one parent, each with P private pages of its own (see the header). */
function scale(n: number, pages: number): void {
  const t1 = performance.now();
  const base = 0x100000000000;
  const sm = new Machine({ design });
  let wrong = 0;
  let reads = 0;
  const expect = new Map<number, number>();
  const sp = new TraceParser('<scale>', (c) => {
    const r = sm.exec(c);
    if (c.kind === 'read') {
      reads++;
      if (r !== String(expect.get(c.line))) wrong++;
    } else if (r !== 'ok' && c.kind !== 'mmap') {
      throw new Error(`line ${c.line}: ${c.kind} gave ${r}`);
    }
  });
  const hex = (x: number): string => `0x${x.toString(16)}`;
  let line = 0;
  const out: string[] = [];
  const emit = (t: string): void => {
    out.push(t);
    line++;
    if (out.length === 4096) sp.push(out.splice(0).join('\n') + '\n');
  };
  emit('spawn parent');
  emit(`parent mmap ${hex(base)} ${hex(pages * 4096)} rw private`);
  for (let i = 0; i < pages; i++) emit(`parent write ${hex(base + i * 4096)} ${i + 1}`);
  for (let c = 1; c <= n; c++) {
    emit(`fork parent c${c}`);
    for (let i = 0; i < pages; i++) emit(`c${c} write ${hex(base + i * 4096)} ${c * 1000 + i}`);
  }
  for (let c = 1; c <= n; c += Math.max(1, Math.floor(n / 97))) {
    for (const i of [0, pages - 1]) {
      expect.set(line + 1, c * 1000 + i);
      emit(`c${c} read ${hex(base + i * 4096)}`);
    }
  }
  expect.set(line + 1, 1);
  emit(`parent read ${hex(base)}`);
  sp.push(out.join('\n') + '\n');
  sp.end();
  const runMs = performance.now() - t1;
  const resident = sm.frames.inUse;
  const bytes = heap();
  console.log(`scale: ${(n + 1).toLocaleString('en-US')} live processes, ${resident.toLocaleString('en-US')} resident pages, ` +
    `${line.toLocaleString('en-US')} commands in ${(runMs / 1000).toFixed(1)} s; heap ${(bytes / MiB).toFixed(0)} MiB; ${reads} reads, ${wrong} wrong`);
  if (sm.procs.size !== n + 1) throw new Error(`${sm.procs.size} processes alive, expected ${n + 1}`);
  if (resident !== (n + 1) * pages) throw new Error(`${resident} resident pages, expected ${(n + 1) * pages}`);
  if (wrong !== 0) throw new Error(`${wrong} of ${reads} reads gave the wrong value`);
  // (The whole invariant checker over a million pages takes minutes and
  // gigabytes of its own bookkeeping; the random phase runs it. Here: the
  // counts above, every value read, and nothing left after the exits.)
  let l = line;
  for (const p of [...sm.procs.keys()]) sm.exec({ kind: 'exit', line: ++l, proc: p });
  checkInvariants(sm);
  checkOnlyPageCacheLeft(sm);
  console.log(`scale: every value right; after every exit ${sm.frames.inUse} frames in use (${((performance.now() - t1) / 1000).toFixed(1)} s in all)`);
}

if (failures.length > 0) {
  for (const f of failures) console.log(`FAIL: ${f}`);
  console.log('soak: FAIL');
  process.exit(1);
}
console.log('soak: PASS');
