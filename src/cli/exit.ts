// Exit statuses, and the one function that runs a trace and maps what went
// wrong to a status. `run`, `compare`, `verify` (its simulator side,
// runOnSimulator below, handed to src/oracle/verify.ts) and the tests all go
// through runToStatus(), so a trace gets the same status and message
// everywhere.

import { OutOfMemoryError } from '../mm/frames.js';
import { Machine, type MachineOptions } from '../machine.js';
import { TraceError, type Command } from '../trace/ast.js';
import type { Outcome } from '../oracle/verify.js';
import { parseTrace } from '../trace/parse.js';

/** The exit statuses of `vmtree` (listed in `vmtree --help` and the README). */
export const EXIT = {
  /** Success. */
  OK: 0,
  /** Bad usage, or a file that cannot be read or written. */
  USAGE: 1,
  /** The trace breaks a rule of the trace language; nothing ran. */
  BAD_TRACE: 2,
  /** Out of memory: every frame in use and nothing can be freed (--frames/--swap too small). */
  OUT_OF_MEMORY: 3,
  /** Outputs differ (verify: simulator vs Linux; compare: between designs). */
  DIFFERENT: 4,
  /** record: this machine cannot record (no ptrace, no userfaultfd write-protect or PAGEMAP_SCAN). */
  CANNOT_RECORD: 5,
  /** record: the command could not be started (not found, not executable). */
  NOT_STARTED: 6,
  /** record: a partial trace was written (killed by a signal, --max-lines, interrupted). */
  PARTIAL: 7,
  /** Internal error: a bug (the simulator or a command crashed). */
  INTERNAL: 70,
} as const;

export type ExitStatus = (typeof EXIT)[keyof typeof EXIT];

/** An error with a message for stderr (`vmtree: MESSAGE`) and an exit status. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT.USAGE) {
    super(message);
    this.name = 'CliError';
  }
}

/**
 * Parse a trace (a string is taken as latin1 bytes). A trace that breaks a
 * rule throws CliError with status BAD_TRACE and `FILE:LINE: message`.
 */
export function parseOrExit(input: Uint8Array | string, name: string): Command[] {
  try {
    const bytes = typeof input === 'string' ? Buffer.from(input, 'latin1') : Buffer.isBuffer(input) ? input : Buffer.from(input);
    return parseTrace(bytes, name);
  } catch (e) {
    if (e instanceof TraceError) throw new CliError(e.message, EXIT.BAD_TRACE);
    throw e;
  }
}

/** How a trace ran, as `vmtree run` reports it. */
export interface TraceOutcome {
  /** OK, BAD_TRACE, OUT_OF_MEMORY or INTERNAL. */
  status: ExitStatus;
  /**
   * The line for stderr, without a trailing newline ('' when OK):
   * `FILE:LINE: message` for BAD_TRACE and OUT_OF_MEMORY (LINE is the
   * command that ran out), the error's stack for INTERNAL.
   */
  message: string;
  /** The error that stopped the run, for INTERNAL (callers may rethrow it). */
  error?: unknown;
  /** The machine the trace ran on (null when it did not parse), for its counters. */
  machine: Machine | null;
}

/**
 * Parse (unless given commands) and run a trace on a new Machine, passing
 * each result line (`LINE RESULT\n`) to `out` as it is produced, and map
 * the outcome to an exit status. A trace that does not parse runs nothing
 * and prints nothing; one that runs out of memory has printed the lines
 * before the failing command. A string is taken as latin1 bytes.
 */
export function runToStatus(
  input: Uint8Array | string | Iterable<Command>,
  name: string,
  opts: MachineOptions,
  out: (line: string) => void,
): TraceOutcome {
  let cmds: Iterable<Command>;
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) {
    cmds = input; // already validated (parsed, or opened by src/trace/source.ts)
  } else {
    try {
      cmds = parseOrExit(input, name);
    } catch (e) {
      if (e instanceof CliError) return { status: EXIT.BAD_TRACE, message: e.message, machine: null };
      throw e;
    }
  }
  const machine = new Machine(opts);
  let line = 0;
  try {
    for (const c of cmds) {
      line = c.line;
      out(`${c.line} ${machine.call(c)}\n`);
    }
  } catch (e) {
    if (e instanceof OutOfMemoryError) return { status: EXIT.OUT_OF_MEMORY, message: `${name}:${line}: ${e.message}`, machine };
    return { status: EXIT.INTERNAL, message: String((e as Error).stack ?? e), error: e, machine };
  }
  return { status: EXIT.OK, message: '', machine };
}

/**
 * Run a trace on the simulator exactly as `vmtree run NAME` would: its exit
 * status, stdout and stderr (verify's simulator side, and the tests').
 */
export function runOnSimulator(text: string | Uint8Array, name: string, opts: MachineOptions = {}): Outcome {
  const out: string[] = [];
  const r = runToStatus(text, name, opts, (line) => out.push(line));
  const stderr =
    r.status === EXIT.OK ? ''
    : r.status === EXIT.BAD_TRACE ? `${r.message}\n`
    : r.status === EXIT.INTERNAL ? `simulator crashed: ${r.message}\n`
    : `vmtree: ${r.message}\n`;
  return { status: r.status, stdout: out.join(''), stderr };
}
