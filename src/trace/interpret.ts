// The trace interpreter: each vmtrace command becomes the system call it
// stands for, with Linux's argument values (docs/vmtrace.md says what each
// command means). The one place that knows both the trace language and the
// machine's calls.

import {
  MADV_DOFORK, MADV_DONTFORK, MADV_DONTNEED, MADV_KEEPONFORK, MADV_WIPEONFORK,
  MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_PRIVATE, MAP_SHARED, PROT_EXEC, PROT_NONE, PROT_READ, PROT_WRITE,
} from '../mm/constants.js';
import type { CallResult, MachineCore } from '../mm/machine.js';
import type { Advice, Command, Prot } from './ast.js';

const PROT: Readonly<Record<Prot, number>> = {
  none: PROT_NONE,
  r: PROT_READ,
  rw: PROT_READ | PROT_WRITE,
  rx: PROT_READ | PROT_EXEC,
  rwx: PROT_READ | PROT_WRITE | PROT_EXEC,
};

const ADVICE: Readonly<Record<Advice, number>> = {
  dontneed: MADV_DONTNEED,
  dontfork: MADV_DONTFORK,
  dofork: MADV_DOFORK,
  wipeonfork: MADV_WIPEONFORK,
  keeponfork: MADV_KEEPONFORK,
};

/** The PROT_* bits of a trace protection. */
export const protBits = (p: Prot): number => PROT[p];

/**
 * Run one command; return its result body without the line-number prefix:
 * 'ok', '42', 'SIGSEGV', 'EINVAL', or for maps/frames a multi-line string
 * ('maps a\n  0x...-0x... rw-p anon').
 */
export function execCommand(m: MachineCore, c: Command): string {
  const r = callCommand(m, c);
  return typeof r === 'number' ? String(r) : r;
}

/**
 * Run one command; its result as the call gives it: a value read is a
 * number (String() of it is what execCommand returns), anything else the
 * string. For a caller that prints the value or folds it into a digest,
 * this saves building a string per read.
 */
export function callCommand(m: MachineCore, c: Command): CallResult {
  m.commands++;
  return call(m, c);
}

/** `reclaim N` asks for at most this many frames (any larger N means all). */
const RECLAIM_MAX = BigInt(Number.MAX_SAFE_INTEGER);

function call(m: MachineCore, c: Command): CallResult {
  // Loads and stores first: nearly every command of a long trace is one,
  // and a switch tests its cases in order.
  if (c.kind === 'write') return m.write(c.proc, c.addr, c.val);
  if (c.kind === 'read') return m.read(c.proc, c.addr);
  switch (c.kind) {
    case 'file': return m.createFile(c.file, c.size);
    case 'fwrite': return m.fwrite(c.file, c.off, c.val);
    case 'fread': return m.fread(c.file, c.off);
    case 'ftruncate': return m.ftruncate(c.file, c.size);
    case 'spawn': return m.spawn(c.proc);
    case 'fork': return m.fork(c.proc, c.child);
    case 'exit': return m.exit(c.proc);
    case 'frames': return m.framesReport();
    case 'reclaim':
      return m.reclaim(c.count > RECLAIM_MAX ? Number.MAX_SAFE_INTEGER : Number(c.count));
    case 'mmap': {
      // `fixed` replaces what is there (MAP_FIXED); without it an overlap
      // is EEXIST (MAP_FIXED_NOREPLACE). A trace never lets the kernel pick.
      const flags = (c.shared ? MAP_SHARED : MAP_PRIVATE) | (c.fixed ? MAP_FIXED : MAP_FIXED_NOREPLACE);
      return m.mmap(c.proc, c.addr, c.len, PROT[c.prot], flags, c.file ?? null, c.off ?? 0n);
    }
    case 'munmap': return m.munmap(c.proc, c.addr, c.len);
    case 'mprotect': return m.mprotect(c.proc, c.addr, c.len, PROT[c.prot]);
    case 'mremap': return m.mremap(c.proc, c.addr, c.oldLen, c.newLen, c.newAddr);
    case 'madvise': return m.madvise(c.proc, c.addr, c.len, ADVICE[c.advice]);
    case 'maps': return m.maps(c.proc);
  }
}
