// Canonical vmtrace lines: addresses, lengths, offsets and sizes in
// lowercase 0x hex, VAL and the reclaim count in decimal, single spaces.
// parseTrace(printTrace(cmds)) gives back cmds, renumbered 1..n.

import type { Command } from './ast.js';

const hex = (n: number | bigint): string => `0x${n.toString(16)}`;

/** One command as a canonical trace line (no newline, no line number). */
export function printCommand(cmd: Command): string {
  switch (cmd.kind) {
    case 'file': return `file ${cmd.file} ${hex(cmd.size)}`;
    case 'fwrite': return `fwrite ${cmd.file} ${hex(cmd.off)} ${cmd.val}`;
    case 'fread': return `fread ${cmd.file} ${hex(cmd.off)}`;
    case 'ftruncate': return `ftruncate ${cmd.file} ${hex(cmd.size)}`;
    case 'spawn': return `spawn ${cmd.proc}`;
    case 'fork': return `fork ${cmd.proc} ${cmd.child}`;
    case 'exit': return `exit ${cmd.proc}`;
    case 'frames': return 'frames';
    case 'reclaim': return `reclaim ${cmd.count}`;
    case 'mmap': {
      const mode = `${cmd.shared ? 'shared' : 'private'}${cmd.fixed ? ',fixed' : ''}`;
      const base = `${cmd.proc} mmap ${hex(cmd.addr)} ${hex(cmd.len)} ${cmd.prot} ${mode}`;
      return cmd.file === undefined ? base : `${base} ${cmd.file} ${hex(cmd.off ?? 0n)}`;
    }
    case 'munmap': return `${cmd.proc} munmap ${hex(cmd.addr)} ${hex(cmd.len)}`;
    case 'mprotect': return `${cmd.proc} mprotect ${hex(cmd.addr)} ${hex(cmd.len)} ${cmd.prot}`;
    case 'mremap': {
      const base = `${cmd.proc} mremap ${hex(cmd.addr)} ${hex(cmd.oldLen)} ${hex(cmd.newLen)}`;
      return cmd.newAddr === undefined ? base : `${base} ${hex(cmd.newAddr)}`;
    }
    case 'madvise': return `${cmd.proc} madvise ${hex(cmd.addr)} ${hex(cmd.len)} ${cmd.advice}`;
    case 'read': return `${cmd.proc} read ${hex(cmd.addr)}`;
    case 'write': return `${cmd.proc} write ${hex(cmd.addr)} ${cmd.val}`;
    case 'maps': return `${cmd.proc} maps`;
  }
}

/** A whole trace: one canonical line per command, each ending in `\n`. */
export function printTrace(cmds: Iterable<Command>): string {
  const parts: string[] = [];
  for (const c of cmds) parts.push(printCommand(c), '\n');
  return parts.join('');
}
