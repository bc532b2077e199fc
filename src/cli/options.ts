// Option parsing shared by the subcommands: the one integer syntax, the
// simulator options every simulating subcommand accepts, `--param k=v`.
//
// Validation in CLI terms lives here (`--frames must be an integer of at
// least 4.`, reported by commander as a usage error, status 1); the
// Machine checks the same limits again in library terms (RangeError).

import { InvalidArgumentError, Option, type Command } from 'commander';
import { DEFAULT_DESIGN, DESIGNS, type CowContextEarlyExit, type CowContextSwapIn } from '../anon/index.js';
import { MIN_FRAMES, type MachineOptions } from '../mm/machine.js';

const INTEGER = /^(0x[0-9a-fA-F]+|[0-9]+)$/;

/**
 * The one integer parser: an unsigned integer in decimal or 0x hex, from
 * `min` to `max`. Without `max` (up to 2^53-1) the message says "of at
 * least MIN"; with one, "from MIN to MAX (decimal or 0x hex)".
 */
export function parseInteger(what: string, value: string, min: bigint, max?: bigint): bigint {
  const limit = max ?? BigInt(Number.MAX_SAFE_INTEGER);
  if (!INTEGER.test(value) || BigInt(value) < min || BigInt(value) > limit) {
    throw new InvalidArgumentError(
      max === undefined
        ? `${what} must be an integer of at least ${min}.`
        : `${what} must be an integer from ${min} to ${max} (decimal or 0x hex).`,
    );
  }
  return BigInt(value);
}

/** A commander argument parser for a count: a number from `min` (to `max`). */
export function int(what: string, min = 0, max?: number): (value: string) => number {
  return (value) => Number(parseInteger(what, value, BigInt(min), max === undefined ? undefined : BigInt(max)));
}

/** A commander argument parser for a 64-bit value (a seed): a bigint from 0 to `max`. */
export function u64(what: string, max: bigint = (1n << 64n) - 1n): (value: string) => bigint {
  return (value) => parseInteger(what, value, 0n, max);
}

/** `--param k=v` collected into a record (repeatable). */
export function collectParam(value: string, acc: Record<string, string>): Record<string, string> {
  const m = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(value);
  if (m === null) throw new InvalidArgumentError(`--param takes NAME=VALUE, got '${value}'.`);
  return { ...acc, [m[1]!]: m[2]! };
}

// ---------------------------------------------------------------------------
// Simulator options

/** What commander hands the action for the simulator options. */
export interface SimulatorOpts {
  design?: string;
  frames?: number;
  swap?: number;
  cut: boolean;
  merge: boolean;
  shadowChainLimit?: number;
  cowEarlyExit?: CowContextEarlyExit;
  cowSwapIn?: CowContextSwapIn;
  /** `--no-zero-page` (boolean); verify declares `--zero-page <mode>` instead. */
  zeroPage?: boolean | ZeroPageMode;
}

export type ZeroPageMode = 'auto' | 'on' | 'off';

export interface SimulatorOptionsSpec {
  /**
   * 'one': `--design <name>` (default tree); 'none': the subcommand picks
   * designs its own way (compare's `--designs`).
   */
  design: 'one' | 'none';
  /**
   * 'flag': `--no-zero-page`; 'mode': `--zero-page <auto|on|off>` (verify,
   * where 'auto' follows the kernel the simulator is compared with).
   */
  zeroPage: 'flag' | 'mode';
}

/**
 * Add the simulator options to a subcommand: --design, --frames, --swap,
 * --no-cut, --no-merge, --shadow-chain-limit, and --no-zero-page (or
 * verify's --zero-page). machineOptions() turns what commander parsed into
 * MachineOptions.
 */
export function addSimulatorOptions(cmd: Command, spec: SimulatorOptionsSpec): Command {
  if (spec.design === 'one') {
    cmd.addOption(new Option('--design <name>', 'anonymous-memory design to simulate').choices(Object.keys(DESIGNS)).default(DEFAULT_DESIGN));
  }
  cmd
    .option('--frames <n>', `physical memory in page frames (at least ${MIN_FRAMES}; default unbounded): reclaim and swap run when it is full`, int('--frames', MIN_FRAMES))
    .option('--swap <n>', 'swap device size in pages (default: as large as needed)', int('--swap', 0))
    .option('--no-cut', "switch off the tree design's cut optimisation (same output, other costs)")
    .option('--no-merge', "switch off the tree design's merge optimisation (same output, other costs)")
    .option('--shadow-chain-limit <n>', 'shadow design: collapse eagerly when a shadow chain would grow longer than N (DragonFly BSD)', int('--shadow-chain-limit', 1))
    .addOption(new Option('--cow-early-exit <mode>', "cow-context design: 'none' walks every context (exact, the default), 'fixed' stops once every pte is found (exact), 'poc' is the proof of concept's early exit (misses ptes: docs/cow-context-early-exit.md)").choices(['none', 'fixed', 'poc']))
    .addOption(new Option('--cow-swap-in <rule>', "cow-context design: the context of a page swapped in while other ptes share it: 'root' (exact, the default) or 'faulting-mm' (the proof of concept's; misses ptes)").choices(['root', 'faulting-mm']));
  if (spec.zeroPage === 'flag') {
    cmd.option('--no-zero-page', 'give each read fault of private anonymous memory a zeroed page of its own instead of mapping the shared zero page (as kernels that forbid the zero page do)');
  } else {
    cmd.addOption(
      new Option('--zero-page <mode>', "whether the simulator maps the shared zero page on read faults of private anonymous memory: 'auto' does what the kernel it is compared with does (probed at start), 'on'/'off' force it")
        .choices(['auto', 'on', 'off'])
        .default('auto'),
    );
  }
  return cmd;
}

/** MachineOptions from the parsed simulator options (only what was given). */
export function machineOptions(o: SimulatorOpts): MachineOptions {
  const m: MachineOptions = {};
  if (o.design !== undefined) m.design = o.design;
  if (o.frames !== undefined) m.frames = o.frames;
  if (o.swap !== undefined) m.swap = o.swap;
  if (o.cut === false) m.cut = false;
  if (o.merge === false) m.merge = false;
  if (o.shadowChainLimit !== undefined) m.shadowChainLimit = o.shadowChainLimit;
  if (o.cowEarlyExit !== undefined) m.cowContextEarlyExit = o.cowEarlyExit;
  if (o.cowSwapIn !== undefined) m.cowContextSwapIn = o.cowSwapIn;
  if (o.zeroPage === false || o.zeroPage === 'off') m.zeroPage = false;
  if (o.zeroPage === 'on') m.zeroPage = true;
  // verify's --zero-page=auto sets nothing here: verify asks the kernel
  // (src/oracle/native.ts zeroPageFor) and fills it in.
  return m;
}
