// Helpers the simulator's tests share: addresses in the trace window, running
// a trace on a fresh machine with the invariants checked after every
// command, exiting every process to show leaks, sprinkling `reclaim` into a
// trace, the small workload shapes several designs are measured on, the
// kept counterexamples in test/regressions/, and the CLI run in-process.
// They assert nothing themselves beyond the invariants (test/invariants.ts)
// and the leak check; what each test expects stays in the test.
// Also: whether the kernel oracle may be used, failing loudly under CI.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { Machine, type MachineOptions } from '../src/machine.js';
import { kernelOracleAvailable } from '../src/oracle/native.js';
import type { Command } from '../src/trace/ast.js';
import { parseTrace } from '../src/trace/parse.js';
import { checkInvariants, checkOnlyPageCacheLeft } from './invariants.js';

// ---------------------------------------------------------------- addresses

/** The first address of the trace window, where the hand-made traces map. */
export const BASE = 0x100000000000;
export const hex = (n: number): string => '0x' + n.toString(16);
/** The address of page `i` from BASE. */
export const page = (i: number): string => hex(BASE + i * 4096);

// ---------------------------------------------------------------- running

/** A trace: its text (string or bytes), or its lines. */
export type TraceInput = string | Buffer | readonly string[];

/** What the parser reads: text and bytes as given, lines joined (each ended by a newline). */
function bytes(trace: TraceInput): Buffer | string {
  if (typeof trace === 'string' || Buffer.isBuffer(trace)) return trace;
  return (trace as readonly string[]).join('\n') + '\n';
}

/**
 * Run `trace` (named `name` in parse errors) on a fresh machine made with
 * `opts`, checking the invariants after every command unless `check` is
 * false; returns the machine, the commands and the result body of each
 * (what follows the line number).
 */
export function runTrace(opts: MachineOptions, trace: TraceInput, check = true, name = 't'): { m: Machine; out: string[]; cmds: Command[] } {
  const m = new Machine(opts);
  const out: string[] = [];
  const cmds = parseTrace(bytes(trace), name);
  for (const c of cmds) {
    out.push(m.exec(c));
    if (check) checkInvariants(m);
  }
  return { m, out, cmds };
}

/** As runTrace, but the output as `vmtree run` prints it: `LINE BODY` lines. */
export function runNumbered(opts: MachineOptions, trace: TraceInput, check = true): { m: Machine; out: string } {
  const m = new Machine(opts);
  let out = '';
  for (const c of parseTrace(bytes(trace), 't')) {
    out += `${c.line} ${m.exec(c)}\n`;
    if (check) checkInvariants(m);
  }
  return { m, out };
}

/** Exit every live process (checking the invariants after each unless `check` is false), then that only page cache is left. */
export function exitAll(m: Machine, check = true): void {
  for (const name of [...m.procs.keys()]) {
    m.exec({ kind: 'exit', proc: name, line: 0 });
    if (check) checkInvariants(m);
  }
  checkOnlyPageCacheLeft(m);
}

/**
 * A machine fed trace lines in batches: the parser checks names against
 * the whole trace, so each batch is parsed with those before it.
 * `afterCommand` runs after each command when checking (by default the
 * invariants); a design's test may add its own checks.
 */
export class TraceSession {
  readonly m: Machine;
  private readonly lines: string[] = [];

  constructor(opts: MachineOptions) {
    this.m = new Machine(opts);
  }

  /** Run more lines, checking after each unless `check` is false; returns their results. */
  exec(more: string[], check = true): string[] {
    const done = parseTrace(this.lines.join('\n') + '\n', 't').length;
    this.lines.push(...more);
    const out: string[] = [];
    for (const c of parseTrace(this.lines.join('\n') + '\n', 't').slice(done)) {
      out.push(this.m.exec(c));
      if (check) this.afterCommand();
    }
    return out;
  }

  protected afterCommand(): void {
    checkInvariants(this.m);
  }
}

// ---------------------------------------------------------------- traces

/** Insert `reclaim N` after some lines (deterministically, from `seed`). */
export function sprinkle(trace: string, seed: number): string {
  const out: string[] = [];
  trace.split('\n').forEach((l, i) => {
    out.push(l);
    if ((i * 7 + seed) % 5 === 0 && l !== '') out.push(`reclaim ${1 + ((i + seed) % 50)}`);
  });
  return out.join('\n');
}

/** cow-storm in small: the parent writes `pages` pages, forks `children`, each child writes them all. */
export function cowStorm(pages: number, children: number): string[] {
  const lines = ['spawn parent', `parent mmap ${page(0)} ${hex(pages * 4096)} rw private`];
  for (let i = 0; i < pages; i++) lines.push(`parent write ${page(i)} ${i + 1}`);
  for (let c = 1; c <= children; c++) lines.push(`fork parent c${c}`);
  for (let c = 1; c <= children; c++) {
    for (let i = 0; i < pages; i++) lines.push(`c${c} write ${page(i)} ${c * 1000 + i}`);
  }
  return lines;
}

/** Some counters of a stats record. */
export const pick = (s: Record<string, number>, keys: readonly string[]): Record<string, number> =>
  Object.fromEntries(keys.map((k) => [k, s[k]!]));

/** A counterexample kept in test/regressions/: the trace's bytes and Linux's output. */
export function regression(name: string): { vmt: Buffer; out: string } {
  const dir = join(import.meta.dirname, 'regressions');
  return { vmt: readFileSync(join(dir, `${name}.vmt`)), out: readFileSync(join(dir, `${name}.out`), 'utf8') };
}

// ---------------------------------------------------------------- the CLI

/** Run the CLI in-process (standard input empty); returns its status, stdout and stderr. */
export async function cli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await main(args, {
    stdout: (t) => { stdout += t; },
    stderr: (t) => { stderr += t; },
    readStdin: () => Promise.resolve(Buffer.alloc(0)),
    stderrIsTTY: false,
  });
  return { status, stdout, stderr };
}

// ---------------------------------------------------------------- the kernel oracle

/** Whether the tests run under CI, where every prerequisite is required. */
export const CI = process.env.CI === 'true';

/**
 * Whether the kernel oracle (build/vmrun, root, x86-64 Linux) is at hand.
 * Without it, under CI=true, registers a failing test `suite` > "is
 * available (required when CI=true)"; otherwise warns that `file` is
 * skipped. The caller skips its kernel tests when `ok` is false.
 */
export function kernelOracle(suite: string, file: string): { ok: boolean; why?: string } {
  const avail = kernelOracleAvailable();
  if (!avail.ok && CI) {
    describe(suite, () => {
      it('is available (required when CI=true)', () => {
        throw new Error(`kernel oracle unavailable: ${avail.why}`);
      });
    });
  } else if (!avail.ok) {
    console.warn(`${file} skipped: kernel oracle unavailable: ${avail.why}`);
  }
  return avail;
}
