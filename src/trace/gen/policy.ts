// What the generator does how often: the profiles, their action weights and
// the limits on live processes and files.
//
// Pure data, kept apart from the code that acts on it so that tuning a
// profile is an edit here and nothing else. Changing any number changes
// every trace generated with that profile (the weights are consumed by
// `Rng.weighted` in declaration order), so a change here is a change of
// `vmtree gen`'s output and needs its pinned hash in test/gen.test.ts updated.

import type { Advice, Prot } from '../ast.js';

export type Profile = 'mixed' | 'forky' | 'files' | 'remap';
export const PROFILES: readonly Profile[] = ['mixed', 'forky', 'files', 'remap'];

/** One step of the generator: a single command or a short scripted scenario. */
export type Action =
  | 'spawn' | 'fork' | 'forkChain' | 'forkTree' | 'exit'
  | 'file' | 'fwrite' | 'fread' | 'ftruncate'
  | 'mmap' | 'mmapFile' | 'munmap' | 'mprotect' | 'mremap' | 'madvise'
  | 'read' | 'write' | 'maps' | 'frames' | 'reclaim' | 'invalid'
  | 'cow' | 'truncate' | 'protect';

export const PROFILE_WEIGHTS: Readonly<Record<Profile, Readonly<Partial<Record<Action, number>>>>> = {
  mixed: {
    spawn: 2, fork: 4, forkChain: 1, forkTree: 1, exit: 3, file: 2, fwrite: 4, fread: 3, ftruncate: 2,
    mmap: 9, mmapFile: 6, munmap: 4, mprotect: 5, mremap: 5, madvise: 5, read: 14, write: 14,
    maps: 3, frames: 2, reclaim: 2, invalid: 3, cow: 1, truncate: 1, protect: 1,
  },
  forky: {
    spawn: 2, fork: 10, forkChain: 3, forkTree: 3, exit: 9, file: 1, fwrite: 1, fread: 1, ftruncate: 1,
    mmap: 8, mmapFile: 3, munmap: 2, mprotect: 2, mremap: 2, madvise: 8, read: 16, write: 16,
    maps: 2, frames: 4, reclaim: 2, invalid: 1, cow: 1, truncate: 0.5, protect: 0.5,
  },
  files: {
    spawn: 1, fork: 3, forkChain: 0.5, forkTree: 0.5, exit: 2, file: 4, fwrite: 10, fread: 8, ftruncate: 6,
    mmap: 3, mmapFile: 12, munmap: 3, mprotect: 3, mremap: 2, madvise: 3, read: 12, write: 12,
    maps: 2, frames: 2, reclaim: 2, invalid: 2, cow: 4, truncate: 4, protect: 1,
  },
  remap: {
    spawn: 1, fork: 3, forkChain: 0.5, forkTree: 0.5, exit: 2, file: 1, fwrite: 1, fread: 1, ftruncate: 1,
    mmap: 8, mmapFile: 5, munmap: 7, mprotect: 8, mremap: 18, madvise: 4, read: 8, write: 8,
    maps: 5, frames: 1, reclaim: 1, invalid: 4, cow: 0.5, truncate: 0.5, protect: 2,
  },
};

/** Live processes a profile keeps at most (fork scenarios may pass it by 2). */
export const MAX_LIVE: Readonly<Record<Profile, number>> = { mixed: 6, forky: 10, files: 5, remap: 4 };
/** Files a trace declares at most. */
export const MAX_FILES = 6;

export const PROT_WEIGHTS: Readonly<Record<Prot, number>> = { none: 1, r: 3, rw: 8, rx: 1, rwx: 1 };

/** madvise advice: the forky profile leans to the fork-time advice. */
export const ADVICE_WEIGHTS: Readonly<Record<'forky' | 'other', Readonly<Record<Advice, number>>>> = {
  forky: { dontneed: 2, dontfork: 3, dofork: 2, wipeonfork: 3, keeponfork: 2 },
  other: { dontneed: 4, dontfork: 2, dofork: 2, wipeonfork: 2, keeponfork: 1 },
};

/** The kinds of portable mremap (scenarios.ts, mremapAction). */
export const MREMAP_WEIGHTS = {
  shrink: 3, same: 1, grow: 5, move: 6, moveOver: 2, overlap: 1, view: 2, viewInPlace: 0.5,
  newAddrBad: 1,
} as const;
