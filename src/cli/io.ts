// Where the CLI's input and output go: the replaceable CliIO (tests pass
// their own), buffered stdout, and the context every subcommand gets.

import { createReadStream, writeSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Command } from 'commander';
import pc from 'picocolors';
import { readTraceFile, traceFile } from '../record/corpus.js';
import type { Command as TraceCommand } from '../trace/ast.js';
import type { TraceInput } from '../trace/source.js';
import { CliError, EXIT, parseOrExit } from './exit.js';

/** Where the CLI's input and output go; tests may replace any of it. */
export interface CliIO {
  /** Write to standard output (synchronously, in order). */
  stdout(text: string): void;
  /** Write to standard error. */
  stderr(text: string): void;
  /** All of standard input. */
  readStdin(): Promise<Buffer>;
  /** Standard input as a stream, for `run -` (absent when readStdin is replaced: then run reads that). */
  stdinStream?: () => AsyncIterable<Uint8Array>;
  /** Whether stderr is a terminal (colours). */
  stderrIsTTY: boolean;
}

/** Context handed to every subcommand. */
export interface CliContext {
  io: CliIO;
  /** stdout through a buffer: call flush() before returning. */
  out: BufferedWriter;
  /** Read a trace argument: a path (gunzipped if it ends in .gz), real:NAME (a recording in examples/real), or `-` for standard input. Throws CliError. */
  readInput(arg: string): Promise<Buffer>;
  /** The file name to use in messages for an input argument (`<stdin>` for `-`). */
  inputName(arg: string): string;
  /**
   * Read and parse a trace argument. A bad trace throws CliError with status
   * BAD_TRACE and the parser's `FILE:LINE: message`; unreadable input, USAGE.
   */
  loadTrace(arg: string): Promise<TraceCommand[]>;
  /** picocolors for stderr (no colours unless stderr is a terminal). */
  colors: ReturnType<typeof pc.createColors>;
  /** The exit status main() returns once the action is done (default OK). */
  exitCode: number;
}

/**
 * A subcommand: adds itself to the commander program. Its action writes
 * through ctx.out (flushed by main) or ctx.io, sets ctx.exitCode if the
 * status is not OK, or throws CliError for a message and a status.
 */
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

export const defaultIO = (): CliIO => ({
  stdout: (text) => writeAllSync(1, Buffer.from(text, 'utf8')),
  stderr: (text) => writeAllSync(2, Buffer.from(text, 'utf8')),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  },
  stdinStream: () => process.stdin,
  stderrIsTTY: process.stderr.isTTY === true,
});

/** The file behind a trace argument other than `-` (real:NAME: a recording in examples/real). Throws CliError. */
function fileOf(arg: string): string {
  try {
    return traceFile(arg);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

/**
 * A trace argument as src/trace/source.ts reads it: standard input for
 * `-` (streamed when the host has a stream), a `.gz` file gunzipped as it
 * is read (a stream, so a long one is not held), any other file by path.
 * Throws CliError for an unknown real:NAME; a file that cannot be read
 * fails when openTrace reads it.
 */
export async function traceInput(ctx: CliContext, arg: string): Promise<TraceInput> {
  if (arg === '-') return ctx.io.stdinStream?.() ?? (await ctx.readInput('-'));
  const file = fileOf(arg);
  if (!file.endsWith('.gz')) return { path: file };
  const gunzip = createGunzip();
  return createReadStream(file).on('error', (e) => gunzip.destroy(e)).pipe(gunzip);
}

/** `ENOENT: no such file or directory, open 'x'` -> `no such file or directory`. */
export function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const m = /^[A-Z0-9_]+: ([^,]+)/.exec(err.message ?? '');
  return m ? m[1]! : String(err.message ?? e);
}

export function makeContext(io: CliIO): CliContext {
  const ctx: CliContext = {
    io,
    out: new BufferedWriter(io.stdout),
    colors: pc.createColors(io.stderrIsTTY && !('NO_COLOR' in process.env)),
    exitCode: EXIT.OK,
    inputName: (arg) => (arg === '-' ? '<stdin>' : arg),
    async readInput(arg) {
      if (arg === '-') {
        try {
          return await io.readStdin();
        } catch (e) {
          throw new CliError(`cannot read standard input: ${reason(e)}`);
        }
      }
      const file = fileOf(arg);
      try {
        return readTraceFile(file);
      } catch (e) {
        throw new CliError(`cannot read '${arg}': ${reason(e)}`);
      }
    },
    async loadTrace(arg) {
      return parseOrExit(await ctx.readInput(arg), ctx.inputName(arg));
    },
  };
  return ctx;
}

/** A progress bar on stderr, drawn only when stderr is a terminal. */
export function progress(ctx: CliContext, label: string): { update(done: number, total: number, note?: string): void; done(): void } {
  let last = 0;
  const tty = ctx.io.stderrIsTTY;
  return {
    update(done, total, note = '') {
      const now = Date.now();
      if (!tty || (now - last < 100 && done < total)) return;
      last = now;
      const width = 30;
      const fill = total === 0 ? width : Math.round((done / total) * width);
      ctx.io.stderr(`\r${label} [${'#'.repeat(fill)}${' '.repeat(width - fill)}] ${done}/${total} ${note}\x1b[K`);
    },
    done() {
      if (tty) ctx.io.stderr('\r\x1b[K');
    },
  };
}
