// The parsed form of a vmtrace v1 file (docs/vmtrace.md).
//
// Every number the spec allows (up to 2^64-1) is kept exactly, as the
// kernel sees an `unsigned long` argument: range checks belong to the
// syscalls, which give Linux's errno for out-of-range values, not to the
// parser. Most are bigints. VAL, which the spec bounds below 2^32, is a
// plain number; so is the address of a load or store whenever it fits a
// double exactly (Addr): those two are the arguments of nearly every
// command of a long trace, and a BigInt each would be an allocation per
// command for the parser and a conversion per command for the machine.

export type Prot = 'none' | 'r' | 'rw' | 'rx' | 'rwx';
export const PROTS: readonly Prot[] = ['none', 'r', 'rw', 'rx', 'rwx'];

/**
 * The address of a `read` or `write`: any value from 0 to 2^64-1, exact. The
 * parser gives a number when it is below 2^53 and a bigint otherwise; code
 * that builds commands may use either form for any value, so a consumer
 * accepts both (`Number(a)` compares correctly against any bound that is
 * itself exact in a double; `BigInt(a)` for arithmetic).
 */
export type Addr = number | bigint;

export type Advice = 'dontneed' | 'dontfork' | 'dofork' | 'wipeonfork' | 'keeponfork';
export const ADVICES: readonly Advice[] = ['dontneed', 'dontfork', 'dofork', 'wipeonfork', 'keeponfork'];

/** Commands that start a line; a process may not be named after one. */
export const GLOBAL_COMMANDS = [
  'file', 'fwrite', 'fread', 'ftruncate', 'spawn', 'fork', 'exit', 'frames', 'reclaim',
] as const;

/** Operations that follow a process name (`P mmap ...`). */
export const PROCESS_OPS = [
  'mmap', 'munmap', 'mprotect', 'mremap', 'madvise', 'read', 'write', 'maps',
] as const;

interface At {
  /** 1-based line number in the trace file; every result is prefixed by it. */
  line: number;
}

export interface FileCmd extends At { kind: 'file'; file: string; size: bigint }
export interface FwriteCmd extends At { kind: 'fwrite'; file: string; off: bigint; val: number }
export interface FreadCmd extends At { kind: 'fread'; file: string; off: bigint }
export interface FtruncateCmd extends At { kind: 'ftruncate'; file: string; size: bigint }
export interface SpawnCmd extends At { kind: 'spawn'; proc: string }
export interface ForkCmd extends At { kind: 'fork'; proc: string; child: string }
export interface ExitCmd extends At { kind: 'exit'; proc: string }
export interface FramesCmd extends At { kind: 'frames' }
export interface ReclaimCmd extends At { kind: 'reclaim'; count: bigint }

export interface MmapCmd extends At {
  kind: 'mmap';
  proc: string;
  addr: bigint;
  len: bigint;
  prot: Prot;
  shared: boolean;
  /** `,fixed`: MAP_FIXED; otherwise MAP_FIXED_NOREPLACE. */
  fixed: boolean;
  /** File-backed when present; otherwise MAP_ANONYMOUS. */
  file?: string;
  off?: bigint;
}
export interface MunmapCmd extends At { kind: 'munmap'; proc: string; addr: bigint; len: bigint }
export interface MprotectCmd extends At { kind: 'mprotect'; proc: string; addr: bigint; len: bigint; prot: Prot }
export interface MremapCmd extends At {
  kind: 'mremap';
  proc: string;
  addr: bigint;
  oldLen: bigint;
  newLen: bigint;
  /** Present: MREMAP_MAYMOVE|MREMAP_FIXED to this address; absent: flags 0. */
  newAddr?: bigint;
}
export interface MadviseCmd extends At { kind: 'madvise'; proc: string; addr: bigint; len: bigint; advice: Advice }
export interface ReadCmd extends At { kind: 'read'; proc: string; addr: Addr }
export interface WriteCmd extends At { kind: 'write'; proc: string; addr: Addr; val: number }
export interface MapsCmd extends At { kind: 'maps'; proc: string }

export type Command =
  | FileCmd | FwriteCmd | FreadCmd | FtruncateCmd
  | SpawnCmd | ForkCmd | ExitCmd | FramesCmd | ReclaimCmd
  | MmapCmd | MunmapCmd | MprotectCmd | MremapCmd | MadviseCmd
  | ReadCmd | WriteCmd | MapsCmd;

/**
 * A trace rejected before anything runs. `toString()` gives the spec's
 * `FILE:LINE: message`.
 */
export class TraceError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly detail: string,
  ) {
    super(`${file}:${line}: ${detail}`);
    this.name = 'TraceError';
  }
}
