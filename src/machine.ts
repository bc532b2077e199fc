// The simulator as a library user sees it: a machine (src/mm/machine.ts)
// with its anonymous-memory design chosen by name from the registry
// (src/anon/index.ts), driven by trace commands (src/trace/interpret.ts).

import { DEFAULT_DESIGN, DESIGNS } from './anon/index.js';
import { MachineCore, MIN_FRAMES, type CallResult, type MachineCoreOptions } from './mm/machine.js';
import type { Command } from './trace/ast.js';
import { callCommand, execCommand } from './trace/interpret.js';

export { MIN_FRAMES };

export interface MachineOptions extends MachineCoreOptions {
  /** Name of the anonymous-memory design (src/anon/index.ts); 'tree' (the default) is the seed's. */
  design?: string;
}

export class Machine extends MachineCore {
  /** The design's name in the registry. */
  readonly designName: string;

  constructor(opts: MachineOptions = {}) {
    const name = opts.design ?? DEFAULT_DESIGN;
    const factory = DESIGNS[name];
    if (factory === undefined) {
      throw new RangeError(`unknown design '${name}' (known: ${Object.keys(DESIGNS).join(', ')})`);
    }
    super(factory, opts);
    this.designName = name;
  }

  /** Run one trace command; its result body (see execCommand). */
  exec(c: Command): string {
    return execCommand(this, c);
  }

  /** Run one trace command; its result with a value read as a number (see callCommand). */
  call(c: Command): CallResult {
    return callCommand(this, c);
  }
}

/** Run a whole (already validated) trace, calling `out` once per result. */
export function runTrace(cmds: readonly Command[], out: (text: string) => void, opts: MachineOptions = {}): Machine {
  const m = new Machine(opts);
  for (const c of cmds) out(`${c.line} ${m.call(c)}\n`);
  return m;
}
