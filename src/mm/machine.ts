// PLACEHOLDER — being written by the core developer; the interface below is fixed.
import type { Command } from '../trace/ast.js';

export interface MachineOptions {
  /** Name of the anonymous-memory design; 'tree' (the default) is the seed's. */
  design?: string;
}

export class Machine {
  constructor(_opts: MachineOptions = {}) {}
  /**
   * Run one command; return its result body without the line-number prefix:
   * 'ok', '42', 'SIGSEGV', 'EINVAL', or for maps/frames a multi-line string
   * ('maps a\n  0x...-0x... rw-p anon').
   */
  exec(_cmd: Command): string {
    throw new Error('not implemented yet');
  }
  /** Counters for --stats: flat name -> number. */
  stats(): Record<string, number> {
    return {};
  }
}

/** Run a whole (already validated) trace, calling `out` once per result line group. */
export function runTrace(cmds: readonly Command[], out: (text: string) => void, opts: MachineOptions = {}): Machine {
  const m = new Machine(opts);
  for (const c of cmds) out(`${c.line} ${m.exec(c)}\n`);
  return m;
}
