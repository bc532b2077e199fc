// A trace to run, without holding it: `vmtree run` keeps memory
// proportional to what is resident in the simulated machine, not to the
// trace's length.
//
// The language's rule is that a trace breaking a rule runs nothing (exit
// 2, nothing on stdout), so the whole input is validated before the first
// command runs. A trace of at most HOLD_BYTES is simply parsed once and
// its commands held (a few MB at most). A longer one is read twice: pass 1
// streams it through a TraceParser that keeps nothing but names (a trace
// on standard input is copied to a temporary file on the way, since stdin
// cannot be read twice); pass 2 parses it again and hands out commands a
// chunk's worth at a time as the caller iterates. Validation costs ~0.25 s
// per million lines (docs/performance.md); holding a million command
// objects cost far more, in memory and in garbage collection.

import { closeSync, fstatSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Command } from './ast.js';
import { parseTrace, TraceParser } from './parse.js';

/** Bytes read at a time. */
const CHUNK = 1 << 16;
/** A trace up to this long is parsed once and its commands held (~40 B of input per command, ~100 B held). */
export const HOLD_BYTES = 4 << 20;

/** Where a trace comes from: bytes in memory, a file, or a stream (standard input). */
export type TraceInput = Buffer | { path: string } | AsyncIterable<Uint8Array>;

/** A validated trace: iterate it (once) for its commands. */
export interface OpenTrace extends Iterable<Command> {
  /** Remove the temporary copy of a streamed trace, if any (iterating to the end does it too). */
  close(): void;
}

const ignore = (): void => {};

/**
 * Pass 2: the commands of one chunk at a time, as the caller pulls them.
 * An iterator object rather than generators: one call per command, the
 * batch array reused.
 */
class CommandStream implements Iterator<Command> {
  private batch: Command[] = [];
  private at = 0;
  private done = false;
  private readonly parser: TraceParser;
  /**
   * The result next() returns for every command, updated in place: a
   * consumer reads `value` before it calls next() again (for...of, spread),
   * and a fresh object per command was 40 MB of garbage a million commands.
   */
  private readonly yielded: IteratorYieldResult<Command> = { done: false, value: undefined as unknown as Command };

  /** `read` gives the next chunk, or null at the end of the input. */
  constructor(private readonly read: () => Buffer | null, fileName: string, private readonly finish: () => void) {
    this.parser = new TraceParser(fileName, (c) => this.batch.push(c));
  }

  next(): IteratorResult<Command> {
    while (this.at === this.batch.length) {
      if (this.done) return { done: true, value: undefined };
      this.batch.length = 0;
      this.at = 0;
      const chunk = this.read();
      if (chunk !== null) {
        this.parser.push(chunk);
      } else {
        this.done = true;
        this.finish();
        this.parser.end();
      }
    }
    this.yielded.value = this.batch[this.at++]!;
    return this.yielded;
  }

  /** Stopped early (break, or an exception in the caller's loop). */
  return(): IteratorResult<Command> {
    if (!this.done) {
      this.done = true;
      this.finish();
    }
    this.batch = [];
    return { done: true, value: undefined };
  }

  [Symbol.iterator](): Iterator<Command> {
    return this;
  }
}

/**
 * The chunks of a file, read as they are asked for; `size` is null when it
 * is not a regular file (a pipe, a device: of unknown length); `close`
 * closes it (idempotent).
 */
function fileChunks(file: string): { read: () => Buffer | null; close: () => void; size: number | null } {
  let fd = openSync(file, 'r');
  let size: number | null;
  try {
    const st = fstatSync(fd);
    size = st.isFile() ? st.size : null;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  const buf = Buffer.allocUnsafe(CHUNK);
  const close = (): void => {
    if (fd >= 0) closeSync(fd);
    fd = -1;
  };
  return {
    read: () => {
      if (fd < 0) return null;
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) return null;
      return buf.subarray(0, n);
    },
    close,
    size,
  };
}

/** Pass 2 over a file: commands as the caller pulls them. */
function fileCommands(file: string, fileName: string, after: () => void = ignore): CommandStream {
  const f = fileChunks(file);
  return new CommandStream(f.read, fileName, () => {
    f.close();
    after();
  });
}

/** Commands parsed once and held (a short trace). */
function held(cmds: Command[]): OpenTrace {
  return { [Symbol.iterator]: () => cmds[Symbol.iterator](), close: ignore };
}

/**
 * Validate a whole trace (throws its TraceError, or the error reading it),
 * then return it for running. Memory: a trace of at most HOLD_BYTES is
 * held as commands; a longer one costs the names it declares and one chunk
 * of input, whatever its length.
 */
export async function openTrace(input: TraceInput, fileName: string): Promise<OpenTrace> {
  if (Buffer.isBuffer(input)) {
    if (input.length <= HOLD_BYTES) return held(parseTrace(input, fileName));
    const check = TraceParser.validator(fileName);
    check.push(input);
    check.end();
    let at = 0;
    const read = (): Buffer | null => {
      if (at >= input.length) return null;
      const chunk = input.subarray(at, Math.min(input.length, at + CHUNK));
      at += chunk.length;
      return chunk;
    };
    return { [Symbol.iterator]: () => new CommandStream(read, fileName, ignore), close: ignore };
  }
  if ('path' in input) {
    const file = input.path;
    const f = fileChunks(file);
    try {
      if (f.size !== null && f.size <= HOLD_BYTES) {
        // Short: parse once, whole (a file that grows meanwhile is read to its end).
        const parts: Buffer[] = [];
        for (let c = f.read(); c !== null; c = f.read()) parts.push(Buffer.from(c));
        return held(parseTrace(Buffer.concat(parts), fileName));
      }
      const check = TraceParser.validator(fileName);
      for (let c = f.read(); c !== null; c = f.read()) check.push(c);
      check.end();
    } finally {
      f.close();
    }
    return { [Symbol.iterator]: () => fileCommands(file, fileName), close: ignore };
  }
  // A stream: held in memory while it is short (then parsed once, below);
  // once longer than HOLD_BYTES, validated while it is copied to a private
  // temporary file.
  const check = TraceParser.validator(fileName);
  let parts: Buffer[] | null = [];
  let size = 0;
  let dir: string | null = null;
  let fd = -1;
  const close = (): void => {
    if (dir !== null) rmSync(dir, { recursive: true, force: true });
    dir = null;
  };
  const put = (b: Buffer): void => {
    let off = 0;
    while (off < b.length) off += writeSync(fd, b, off, b.length - off);
  };
  try {
    try {
      for await (const chunk of input) {
        const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        if (parts !== null) {
          parts.push(Buffer.from(b));
          size += b.length;
          if (size <= HOLD_BYTES) continue;
          // Long after all: validate what is held, copy it out, go on streaming.
          dir = mkdtempSync(path.join(tmpdir(), 'vmtree-'));
          fd = openSync(path.join(dir, 'trace.vmt'), 'wx', 0o600);
          for (const p of parts) {
            check.push(p);
            put(p);
          }
          parts = null;
        } else {
          check.push(b);
          put(b);
        }
      }
      if (parts === null) check.end();
    } finally {
      if (fd >= 0) closeSync(fd);
    }
  } catch (e) {
    close();
    throw e;
  }
  if (parts !== null) return held(parseTrace(Buffer.concat(parts), fileName));
  const file = path.join(dir!, 'trace.vmt');
  return { [Symbol.iterator]: () => fileCommands(file, fileName, close), close };
}
