// The `vmtree` command line. bin/vmtree.js calls main() and exits with its
// result, one of the statuses in exit.ts:
//
//   0   OK             success
//   1   USAGE          bad usage, or a file that cannot be read or written
//   2   BAD_TRACE      the trace breaks a rule of the trace language (nothing ran)
//   3   OUT_OF_MEMORY  out of memory (run, compare: --frames/--swap too small)
//   4   DIFFERENT      outputs differ (verify: simulator vs Linux; compare: between designs)
//   5   CANNOT_RECORD  record: this machine cannot record
//   6   NOT_STARTED    record: the command could not be started
//   7   PARTIAL        record: a partial trace was written
//   70  INTERNAL       internal error (a bug: the simulator or a command crashed)
//
// Layout of src/cli/:
//   main.ts      this file: the program, the SUBCOMMANDS registry, main(), errors
//   NAME.ts      one file per subcommand (run, gen, verify, workload, compare)
//   options.ts   the integer parser, the simulator options (--design, --frames,
//                --swap, --no-cut, --no-merge, --shadow-chain-limit,
//                --no-zero-page) -> MachineOptions, --param
//   io.ts        CliIO, CliContext, buffered stdout, the progress bar
//   exit.ts      EXIT statuses, CliError, runToStatus (trace -> exit status)
//
// A new subcommand is one new file plus one entry in SUBCOMMANDS: the file
// exports a Subcommand, `(program, ctx) => void`, that adds a commander
// command (see run.ts). Its action writes through ctx.out (flushed by
// main) or ctx.io, sets ctx.exitCode for a status other than OK, or throws
// CliError for a message and a status; a command that simulates takes
// addSimulatorOptions() and machineOptions() from options.ts, and runs
// traces through runToStatus() from exit.ts. Subcommand files import
// exit.ts, io.ts and options.ts, never this file (no import cycles:
// test/structure.test.ts checks).

import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { compareCommand } from './compare.js';
import { exploreCommand } from './explore.js';
import { recordCommand } from './record.js';
import { CliError, EXIT } from './exit.js';
import { genCommand } from './gen.js';
import { defaultIO, makeContext, type CliContext, type CliIO, type Subcommand } from './io.js';
import { drawCommand } from './draw.js';
import { reportCommand } from './report.js';
import { runCommand } from './run.js';
import { sweepCommand } from './sweep.js';
import { verifyCommand } from './verify.js';
import { workloadCommand } from './workload.js';

/** The subcommands, in the order `vmtree --help` lists them. */
export const SUBCOMMANDS: readonly Subcommand[] = [
  runCommand,
  genCommand,
  verifyCommand,
  workloadCommand,
  compareCommand,
  recordCommand,
  sweepCommand,
  drawCommand,
  reportCommand,
  exploreCommand,
];

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
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
        `  ${EXIT.OK}   success\n` +
        `  ${EXIT.USAGE}   bad usage, or a file that cannot be read or written\n` +
        `  ${EXIT.BAD_TRACE}   the trace breaks a rule of the trace language (nothing ran)\n` +
        `  ${EXIT.OUT_OF_MEMORY}   out of memory (run, compare: --frames/--swap too small)\n` +
        `  ${EXIT.DIFFERENT}   outputs differ (verify: simulator vs Linux; compare: between designs)\n` +
        `  ${EXIT.CANNOT_RECORD}-${EXIT.PARTIAL} record: cannot record here; the command could not be started; partial trace\n` +
        `  ${EXIT.INTERNAL}  internal error\n`,
    );
  for (const add of SUBCOMMANDS) add(program, ctx);
  return program;
}

/** Run the CLI with arguments `argv` (without `node` and the script); resolves to the exit status. */
export async function main(argv: string[], io: Partial<CliIO> = {}): Promise<number> {
  // A test that replaces readStdin must not get the process's real stdin stream.
  const ctx = makeContext({ ...defaultIO(), ...(io.readStdin !== undefined ? { stdinStream: undefined } : {}), ...io });
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
    return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  }
  if (e instanceof CliError) {
    // A bad trace prints the parser's `FILE:LINE: message` as it is.
    ctx.io.stderr(e.exitCode === EXIT.BAD_TRACE ? `${e.message}\n` : `vmtree: ${e.message}\n`);
    return e.exitCode;
  }
  if ((e as NodeJS.ErrnoException).code === 'EPIPE') return EXIT.OK; // the reader went away
  ctx.io.stderr(`vmtree: internal error: ${(e as Error).stack ?? String(e)}\n`);
  return EXIT.INTERNAL;
}
