// The `vmtree` command line. bin/vmtree.js calls main() and exits with its
// result:
//
//   0  success
//   1  bad usage, or a file that cannot be read or written
//   2  the trace breaks a rule of the trace language (nothing ran)
//   70 internal error (a bug: the simulator or a command crashed)
//
// Subcommands are registered in SUBCOMMANDS below; a new one is a function
// (program, ctx) => void that adds a commander subcommand. Its action sets
// ctx.exitCode if it is not 0, or throws CliError for a message and status;
// output goes through ctx.out (flushed by main) or ctx.io.

import { readFileSync, writeFileSync, writeSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import pc from 'picocolors';
import { DEFAULT_DESIGN, DESIGNS } from './anon/index.js';
import { MORE_SUBCOMMANDS } from './commands.js';
import { addSweep } from './cli/sweep.js';
import { addDraw } from './cli/draw.js';
import { addReport } from './cli/report.js';
import { addExplore } from './cli/explore.js';
import { OutOfMemoryError } from './mm/frames.js';
import { Machine, MIN_FRAMES, type MachineOptions } from './mm/machine.js';
import { TraceError, type Command as TraceCommand } from './trace/ast.js';
import { PROFILES, streamTrace, type Profile } from './trace/gen.js';
import { parseTrace } from './trace/parse.js';

/** An error with a message for stderr (`vmtree: MESSAGE`) and an exit status. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'CliError';
  }
}

/** Where the CLI's input and output go; tests may replace any of it. */
export interface CliIO {
  /** Write to standard output (synchronously, in order). */
  stdout(text: string): void;
  /** Write to standard error. */
  stderr(text: string): void;
  /** All of standard input. */
  readStdin(): Promise<Buffer>;
  /** Whether stderr is a terminal (colours). */
  stderrIsTTY: boolean;
}

/** Context handed to every subcommand. */
export interface CliContext {
  io: CliIO;
  /** stdout through a buffer: call flush() before returning. */
  out: BufferedWriter;
  /** Read a trace argument: a path, or `-` for standard input. Throws CliError. */
  readInput(arg: string): Promise<Buffer>;
  /** The file name to use in messages for an input argument (`<stdin>` for `-`). */
  inputName(arg: string): string;
  /**
   * Read and parse a trace argument. A bad trace throws CliError with status
   * 2 and the parser's `FILE:LINE: message`; unreadable input, status 1.
   */
  loadTrace(arg: string): Promise<TraceCommand[]>;
  /** picocolors for stderr (no colours unless stderr is a terminal). */
  colors: ReturnType<typeof pc.createColors>;
  /** The exit status main() returns once the action is done (default 0). */
  exitCode: number;
}

export type Subcommand = (program: Command, ctx: CliContext) => void;

// ---------------------------------------------------------------------------
// Output

const SLEEP = new Int32Array(new SharedArrayBuffer(4));

/**
 * Write all of `buf` to a file descriptor synchronously. Handles short
 * writes and EAGAIN (a non-blocking pipe that is full: wait a little and
 * retry), so nothing is lost however big the output and whatever the fd.
 */
export function writeAllSync(fd: number, buf: Uint8Array): void {
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(SLEEP, 0, 0, 1);
    }
  }
}

/** Collects small strings and passes them on in pieces of about 64 KiB. */
export class BufferedWriter {
  private parts: string[] = [];
  private size = 0;

  constructor(private readonly sink: (text: string) => void, private readonly limit = 1 << 16) {}

  write(text: string): void {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= this.limit) this.flush();
  }

  flush(): void {
    if (this.parts.length === 0) return;
    const text = this.parts.length === 1 ? this.parts[0]! : this.parts.join('');
    this.parts = [];
    this.size = 0;
    this.sink(text);
  }
}

const defaultIO = (): CliIO => ({
  stdout: (text) => writeAllSync(1, Buffer.from(text, 'utf8')),
  stderr: (text) => writeAllSync(2, Buffer.from(text, 'utf8')),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  },
  stderrIsTTY: process.stderr.isTTY === true,
});

/** `ENOENT: no such file or directory, open 'x'` -> `no such file or directory`. */
function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const m = /^[A-Z0-9_]+: ([^,]+)/.exec(err.message ?? '');
  return m ? m[1]! : String(err.message ?? e);
}

function makeContext(io: CliIO): CliContext {
  const ctx: CliContext = {
    io,
    out: new BufferedWriter(io.stdout),
    colors: pc.createColors(io.stderrIsTTY && !('NO_COLOR' in process.env)),
    exitCode: 0,
    inputName: (arg) => (arg === '-' ? '<stdin>' : arg),
    async readInput(arg) {
      if (arg === '-') {
        try {
          return await io.readStdin();
        } catch (e) {
          throw new CliError(`cannot read standard input: ${reason(e)}`);
        }
      }
      try {
        return readFileSync(arg);
      } catch (e) {
        throw new CliError(`cannot read '${arg}': ${reason(e)}`);
      }
    },
    async loadTrace(arg) {
      const input = await ctx.readInput(arg);
      try {
        return parseTrace(input, ctx.inputName(arg));
      } catch (e) {
        if (e instanceof TraceError) throw new CliError(e.message, 2);
        throw e;
      }
    },
  };
  return ctx;
}

// ---------------------------------------------------------------------------
// Argument parsers

/** An unsigned integer in decimal or 0x hex, at most `max`. */
function parseUnsigned(what: string, max: bigint): (value: string) => bigint {
  return (value) => {
    if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(value) || BigInt(value) > max) {
      throw new InvalidArgumentError(`${what} must be an integer from 0 to ${max} (decimal or 0x hex).`);
    }
    return BigInt(value);
  };
}

/** A non-negative integer option of at least `min`. */
function parseCount(what: string, min: number): (value: string) => number {
  return (value) => {
    const n = /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${what} must be an integer of at least ${min}.`);
    return n;
  };
}

// ---------------------------------------------------------------------------
// Subcommands

const addRun: Subcommand = (program, ctx) => {
  program
    .command('run')
    .summary('run a trace on the simulator')
    .description(
      'Run a vmtrace file on the simulated machine and print one result per command, ' +
        'each prefixed by its line number.\n\n' +
        'The whole trace is checked first: a trace that breaks a rule prints ' +
        '"FILE:LINE: message" on stderr, nothing on stdout, and exits with status 2.',
    )
    .argument('<trace>', "trace file to run, or '-' for standard input")
    .addOption(
      new Option('--design <name>', 'anonymous-memory design to simulate')
        .choices(Object.keys(DESIGNS))
        .default(DEFAULT_DESIGN),
    )
    .option('--frames <n>', `physical memory in page frames (at least ${MIN_FRAMES}; default unbounded): reclaim and swap run when it is full`, parseCount('--frames', MIN_FRAMES))
    .option('--swap <n>', 'swap device size in pages (default: as large as needed)', parseCount('--swap', 0))
    .option('--no-cut', "switch off the tree design's cut optimisation (same output, other costs)")
    .option('--no-merge', "switch off the tree design's merge optimisation (same output, other costs)")
    .option('--shadow-chain-limit <n>', 'shadow design: collapse eagerly when a shadow chain would grow longer than N (DragonFly BSD)', parseCount('--shadow-chain-limit', 1))
    .option('--stats', "print the machine's counters to stderr after the run, as a table")
    .option('--stats-json <file>', "write the machine's counters to FILE as one flat JSON object")
    .addHelpText('after', '\nExit status 3: out of memory — every frame is in use and nothing can be freed ' +
      '(--frames too small for one operation, or --swap full); the message names the trace line.')
    .action(async (trace: string, opts: { design: string; frames?: number; swap?: number; cut: boolean; merge: boolean; shadowChainLimit?: number; stats?: boolean; statsJson?: string }) => {
      const cmds = await ctx.loadTrace(trace);
      const mo: MachineOptions = { design: opts.design, cut: opts.cut, merge: opts.merge };
      if (opts.frames !== undefined) mo.frames = opts.frames;
      if (opts.swap !== undefined) mo.swap = opts.swap;
      if (opts.shadowChainLimit !== undefined) mo.shadowChainLimit = opts.shadowChainLimit;
      const machine = new Machine(mo);
      for (const c of cmds) {
        let r: string;
        try {
          r = machine.exec(c);
        } catch (e) {
          if (e instanceof OutOfMemoryError) {
            ctx.out.flush();
            throw new CliError(`${ctx.inputName(trace)}:${c.line}: ${e.message}`, 3);
          }
          throw e;
        }
        ctx.out.write(`${c.line} ${r}\n`);
      }
      ctx.out.flush();
      if (opts.stats === true || opts.statsJson !== undefined) {
        const stats = machine.stats();
        if (opts.stats === true) ctx.io.stderr(statsTable(stats, opts.design, ctx));
        if (opts.statsJson !== undefined) {
          try {
            writeFileSync(opts.statsJson, `${JSON.stringify(stats)}\n`);
          } catch (e) {
            throw new CliError(`cannot write '${opts.statsJson}': ${reason(e)}`);
          }
        }
      }
    });
};

/** Counters as an aligned two-column table. */
export function statsTable(stats: Record<string, number>, design: string, ctx?: Pick<CliContext, 'colors'>): string {
  const names = Object.keys(stats);
  const values = names.map((n) => {
    const v = stats[n]!;
    return Number.isInteger(v) ? String(v) : String(Number(v.toFixed(3)));
  });
  const w1 = Math.max(0, ...names.map((n) => n.length));
  const w2 = Math.max(0, ...values.map((v) => v.length));
  const head = `stats (design ${design})`;
  const lines = [ctx ? ctx.colors.bold(head) : head];
  names.forEach((n, i) => lines.push(`  ${n.padEnd(w1)}  ${values[i]!.padStart(w2)}`));
  return `${lines.join('\n')}\n`;
}

const addGen: Subcommand = (program, ctx) => {
  program
    .command('gen')
    .summary('print a random trace')
    .description(
      'Print a random, valid vmtrace file: one comment line naming the options, then exactly ' +
        'OPS commands. The same options always print the same trace.\n\n' +
        'Without --quirks the trace is portable: every mapping and access lies in the window ' +
        '[0x100000000000, 0x200000000000) (arguments outside it are only ones Linux rejects ' +
        'outright) and no mremap depends on how the kernel merged its vmas.',
    )
    .requiredOption('--seed <n>', 'random seed (required): an integer from 0 to 2^64-1, decimal or 0x hex', parseUnsigned('--seed', (1n << 64n) - 1n))
    .requiredOption('--ops <k>', 'number of commands (required)', parseUnsigned('--ops', BigInt(Number.MAX_SAFE_INTEGER)))
    .addOption(new Option('--profile <p>', 'mix of commands: mixed (everything), forky (fork trees, exits, COW, fork advice), files (file I/O under file mappings, truncation), remap (mremap, mprotect, munmap)').choices([...PROFILES]).default('mixed'))
    .option('--quirks', 'also generate non-portable mremap cases (results depend on vma merging and the kernel version)')
    .action((opts: { seed: bigint; ops: bigint; profile: Profile; quirks?: boolean }) => {
      streamTrace(
        { seed: opts.seed, ops: Number(opts.ops), profile: opts.profile, quirks: opts.quirks === true },
        (text) => ctx.out.write(text),
      );
      ctx.out.flush();
    });
};

/**
 * The subcommands, in the order `vmtree --help` lists them. Add new ones
 * (verify, workload, compare, ...) here.
 */
export const SUBCOMMANDS: Subcommand[] = [addRun, addGen, ...MORE_SUBCOMMANDS, addSweep, addDraw, addReport, addExplore];

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The commander program, wired to `ctx`. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command();
  program
    .name('vmtree')
    .description(
      "An executable model of Jamie Lokier's 2000 address_space-tree design for anonymous memory " +
        'and reverse mapping, checked against the real Linux kernel.',
    )
    .version(readVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'print help')
    .helpCommand('help [command]', 'print help for a command')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.io.stdout(s),
      writeErr: (s) => ctx.io.stderr(s),
    })
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      '\nExit status:\n' +
        '  0   success\n' +
        '  1   bad usage, or a file that cannot be read or written\n' +
        '  2   the trace breaks a rule of the trace language (nothing ran)\n' +
        '  3   out of memory (run, compare: --frames/--swap too small)\n' +
        '  4   outputs differ (verify: simulator vs Linux; compare: between designs)\n' +
        '  70  internal error\n',
    );
  for (const add of SUBCOMMANDS) add(program, ctx);
  return program;
}

/** Run the CLI with arguments `argv` (without `node` and the script); resolves to the exit status. */
export async function main(argv: string[], io: Partial<CliIO> = {}): Promise<number> {
  const ctx = makeContext({ ...defaultIO(), ...io });
  try {
    await buildProgram(ctx).parseAsync(argv, { from: 'user' });
    ctx.out.flush();
    return ctx.exitCode;
  } catch (e) {
    return failure(e, ctx);
  }
}

function failure(e: unknown, ctx: CliContext): number {
  try {
    ctx.out.flush();
  } catch {
    // the error that got us here comes first
  }
  if (e instanceof CommanderError) {
    // commander printed its message (or the help) already.
    return e.exitCode === 0 ? 0 : 1;
  }
  if (e instanceof CliError) {
    ctx.io.stderr(e.exitCode === 2 ? `${e.message}\n` : `vmtree: ${e.message}\n`);
    return e.exitCode;
  }
  if ((e as NodeJS.ErrnoException).code === 'EPIPE') return 0; // the reader went away
  ctx.io.stderr(`vmtree: internal error: ${(e as Error).stack ?? String(e)}\n`);
  return 70;
}
