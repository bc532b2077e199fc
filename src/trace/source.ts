// A trace to run, without holding it: `vmtree run` keeps memory
// proportional to what is resident in the simulated machine, not to the
// trace's length.
//
// The language's rule is that a trace breaking a rule runs nothing (exit
// 2, nothing on stdout), so the whole input is validated before the first
// command runs. openTrace() therefore reads it twice: pass 1 streams it
// through a TraceParser that keeps nothing but names (a trace on standard
// input is copied to a temporary file on the way, since stdin cannot be
// read twice); pass 2 parses it again and hands out commands a batch at a
// time as the caller iterates. Parsing twice costs a few percent of a run
// (docs/performance.md); holding a million command objects cost far more,
// in memory and in garbage collection.

import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Command } from './ast.js';
import { TraceParser } from './parse.js';

/** Bytes read at a time. */
const CHUNK = 1 << 16;

/** Where a trace comes from: bytes in memory, a file, or a stream (standard input). */
export type TraceInput = Buffer | { path: string } | AsyncIterable<Uint8Array>;

/** A validated trace: iterate it (once) for its commands. */
export interface OpenTrace extends Iterable<Command> {
  /** Remove the temporary copy of a streamed trace, if any (iterating to the end does it too). */
  close(): void;
}

const ignore = (): void => {};

/** Every chunk of a file, read in one go (fileFeed, not paused between chunks). */
function readFileChunks(file: string, each: (chunk: Buffer) => void): void {
  for (const _ of fileFeed(file, each)) { /* each chunk went to `each` */ }
}

/** Pass 2: commands in batches, as the caller pulls them. */
function* commandsOf(feed: (push: (chunk: Buffer) => void) => Generator<void>, fileName: string): Generator<Command> {
  let batch: Command[] = [];
  const parser = new TraceParser(fileName, (c) => batch.push(c));
  for (const _ of feed((chunk) => parser.push(chunk))) {
    if (batch.length > 0) {
      const b = batch;
      batch = [];
      yield* b;
    }
  }
  parser.end();
  yield* batch;
}

function* bufferFeed(buf: Buffer, push: (chunk: Buffer) => void): Generator<void> {
  for (let at = 0; at < buf.length; at += CHUNK) {
    push(buf.subarray(at, Math.min(buf.length, at + CHUNK)));
    yield;
  }
}

function* fileFeed(file: string, push: (chunk: Buffer) => void): Generator<void> {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      push(buf.subarray(0, n));
      yield;
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Validate a whole trace (throws its TraceError, or the error reading it),
 * then return it for running. Memory: the names the trace declares and one
 * chunk of input, whatever its length.
 */
export async function openTrace(input: TraceInput, fileName: string): Promise<OpenTrace> {
  if (Buffer.isBuffer(input)) {
    const check = TraceParser.validator(fileName);
    check.push(input);
    check.end();
    return { [Symbol.iterator]: () => commandsOf((push) => bufferFeed(input, push), fileName), close: ignore };
  }
  if ('path' in input) {
    const file = input.path;
    const check = TraceParser.validator(fileName);
    readFileChunks(file, (c) => check.push(c));
    check.end();
    return { [Symbol.iterator]: () => commandsOf((push) => fileFeed(file, push), fileName), close: ignore };
  }
  // A stream: validate while copying it to a private temporary file.
  const dir = mkdtempSync(path.join(tmpdir(), 'vmtree-'));
  const file = path.join(dir, 'trace.vmt');
  const close = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    const fd = openSync(file, 'wx', 0o600);
    try {
      const check = TraceParser.validator(fileName);
      for await (const chunk of input) {
        const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        check.push(b);
        let off = 0;
        while (off < b.length) off += writeSync(fd, b, off, b.length - off);
      }
      check.end();
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    close();
    throw e;
  }
  return {
    *[Symbol.iterator]() {
      try {
        yield* commandsOf((push) => fileFeed(file, push), fileName);
      } finally {
        close();
      }
    },
    close,
  };
}
