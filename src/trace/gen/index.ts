// Seeded random vmtrace generator: the public API.
//
// generateTrace({ seed, ops, profile, quirks }) returns the text of a trace
// of exactly `ops` commands (after one leading comment line). The same
// options always give the same text: the PRNG (rng.ts) is our own, nothing
// depends on Math.random or the platform.
//
// Every trace parses (names are used only while alive, files only once
// declared, read/write addresses and fwrite/fread offsets 4-aligned, VAL
// below 2^32). By default every trace is also *portable* in the spec's
// sense:
//   - every mapping, and every access, lies in the window
//     [0x100000000000, 0x200000000000); arguments outside it are only ones
//     Linux rejects outright (an address at or past 0x7ffffffff000, a length
//     that wraps, an unaligned address, an mmap address below 4096 -> EPERM);
//   - no mremap depends on how Linux merged or split its vmas, nor on the
//     kernel version: the generator keeps a page-level model of each process
//     (pages.ts, vma-model.ts) and issues an mremap (other than ones rejected
//     before any vma is looked at) only when its old range lies inside one
//     run of pages known to be one kernel vma.
// `quirks: true` lets mremaps over arbitrary ranges in (ranges that span
// several vmas or holes), whose results depend on vma merging and on the
// kernel version.
//
// The parts: rng.ts (PRNG), policy.ts (profiles, weights, limits), pages.ts
// and vma-model.ts (the model and the primitive commands), choosers.ts
// (arguments), scenarios.ts (multi-step actions), generator.ts (the loop);
// this file turns commands into text.

import type { Command } from '../ast.js';
import { printCommand } from '../print.js';
import { Generator } from './generator.js';
import { PROFILES, type Profile } from './policy.js';
import { Rng } from './rng.js';

export { PROFILES, type Profile } from './policy.js';
export { Rng } from './rng.js';
// The generator's API speaks bigints: the u64 twins of the machine constants.
export {
  PAGE_SIZE_BIG as PAGE, TASK_SIZE_BIG as TASK_SIZE, WINDOW_END_BIG as WINDOW_END, WINDOW_START_BIG as WINDOW_START,
} from '../../mm/constants.js';

export interface GenOptions {
  /** Any non-negative integer (up to 2^64-1); same seed, same trace. */
  seed: number | bigint;
  /** Number of commands (the leading comment line is not counted). */
  ops: number;
  profile?: Profile;
  /** Allow non-portable mremap cases (see the top of this file). */
  quirks?: boolean;
}

function generate(opts: GenOptions, sink: (cmd: Command) => void): void {
  const profile = opts.profile ?? 'mixed';
  if (!PROFILES.includes(profile)) throw new RangeError(`unknown profile '${String(profile)}'`);
  if (!Number.isSafeInteger(opts.ops) || opts.ops < 0) throw new RangeError(`ops must be a non-negative integer, got ${opts.ops}`);
  new Generator(new Rng(opts.seed), profile, opts.quirks ?? false, opts.ops, sink).run();
}

/** The commands of a generated trace (line numbers 1..ops, the comment line not counted). */
export function generateCommands(opts: GenOptions): Command[] {
  const out: Command[] = [];
  generate(opts, (c) => out.push(c));
  return out;
}

/** The comment line a generated trace starts with. */
export function traceHeader(opts: GenOptions): string {
  return `# vmtree gen --seed ${opts.seed} --ops ${opts.ops} --profile ${opts.profile ?? 'mixed'}${opts.quirks ? ' --quirks' : ''}`;
}

/**
 * Generate a trace piece by piece, for traces too big to hold as one string:
 * `write` gets the header line, then one or more lines at a time, each
 * piece ending in a newline.
 */
export function streamTrace(opts: GenOptions, write: (text: string) => void): void {
  let parts: string[] = [traceHeader(opts), '\n'];
  let size = 0;
  generate(opts, (c) => {
    const line = printCommand(c);
    parts.push(line, '\n');
    size += line.length + 1;
    if (size >= 1 << 16) {
      write(parts.join(''));
      parts = [];
      size = 0;
    }
  });
  if (parts.length > 0) write(parts.join(''));
}

/** A generated trace: one comment line naming the options, then `ops` commands. */
export function generateTrace(opts: GenOptions): string {
  const parts: string[] = [];
  streamTrace(opts, (t) => parts.push(t));
  return parts.join('');
}
