// The parser fuzz's properties, shared by `npm run fuzz` (test/fuzz.ts,
// 100,000 inputs) and the CI slice (test/fuzz.test.ts).
//
// For every input — arbitrary bytes, text made of the language's own
// tokens, and valid generated traces mutated byte- and token-wise — the
// parser must either accept it or throw a TraceError whose message is
// `FILE:LINE: message` with LINE a line of the input; never another
// exception, and never take long (the parser is linear: an input of a few
// KiB parses in well under a millisecond, so SLOW_MS of CPU time means a
// hang or a quadratic path). Beyond that:
//   - feeding the same bytes to the streaming parser in random pieces gives
//     the same commands, or the same error, as parsing them whole;
//   - an accepted trace printed back (print.ts) parses to the same commands;
//   - the validator (TraceParser.validator(), the first pass over a trace
//     too long to hold: src/trace/source.ts) accepts exactly what the
//     parser accepts, and rejects the rest with the same message, so that
//     a long trace never fails half-way through its run.

import fc from 'fast-check';
import { TraceError, type Command } from '../src/trace/ast.js';
import { generateTrace } from '../src/trace/gen/index.js';
import { parseTrace, TraceParser } from '../src/trace/parse.js';
import { printTrace } from '../src/trace/print.js';

const FILE = 'fuzz.vmt';
/** An input taking longer than this to parse counts as a hang. */
export const SLOW_MS = 250;

type Outcome = { ok: true; cmds: Command[] } | { ok: false; message: string };

function lineCount(bytes: Uint8Array): number {
  let n = 1;
  for (const b of bytes) if (b === 10) n++;
  return n;
}

/** Parse whole; any exception but a well-formed TraceError is a failure (thrown). */
function parseWhole(bytes: Buffer): Outcome {
  try {
    return { ok: true, cmds: parseTrace(bytes, FILE) };
  } catch (e) {
    if (!(e instanceof TraceError)) throw new Error(`parser threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
    const m = /^fuzz\.vmt:(\d+): (.+)$/s.exec(e.message);
    if (m === null || m[2]!.includes('\n')) throw new Error(`malformed error message: ${JSON.stringify(e.message)}`);
    const line = Number(m[1]);
    if (line < 1 || line > lineCount(bytes)) throw new Error(`error names line ${line} of an input of ${lineCount(bytes)} lines`);
    return { ok: false, message: e.message };
  }
}

/**
 * Push `bytes` into parser `p` in pieces cut at `cuts` (offsets, any
 * order), then end it. The TraceError it throws, as a message; null if
 * none. Anything else thrown is a failure (thrown on).
 */
function feed(p: TraceParser, bytes: Buffer, cuts: number[]): string | null {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  try {
    let prev = 0;
    for (const c of [...at, bytes.length]) {
      p.push(bytes.subarray(prev, c));
      prev = c;
    }
    p.end();
    return null;
  } catch (e) {
    if (!(e instanceof TraceError)) throw e;
    return e.message;
  }
}

/** Parse in pieces cut at `cuts`. */
function parseChunked(bytes: Buffer, cuts: number[]): Outcome {
  const cmds: Command[] = [];
  const message = feed(new TraceParser(FILE, (c) => cmds.push(c)), bytes, cuts);
  return message === null ? { ok: true, cmds } : { ok: false, message };
}

/** Validate (build nothing), in pieces cut at `cuts`. */
function validate(bytes: Buffer, cuts: number[]): { ok: true } | { ok: false; message: string } {
  const message = feed(TraceParser.validator(FILE), bytes, cuts);
  return message === null ? { ok: true } : { ok: false, message };
}

const strip = (cmds: Command[]): unknown[] => cmds.map(({ line: _line, ...rest }) => rest);

/** The property, for one input; throws on a failure. */
export function checkInput(bytes: Buffer, cuts: number[]): boolean {
  // CPU time, not wall clock: a busy machine may deschedule us for longer.
  const t0 = process.cpuUsage();
  const whole = parseWhole(bytes);
  const used = process.cpuUsage(t0);
  const dt = (used.user + used.system) / 1000;
  if (dt > SLOW_MS) throw new Error(`parsing ${bytes.length} bytes took ${dt.toFixed(0)} ms of CPU`);
  const validated = validate(bytes, cuts);
  if (whole.ok !== validated.ok || (!whole.ok && !validated.ok && whole.message !== validated.message)) {
    throw new Error(`validator differs: parser ${whole.ok ? 'accepts' : whole.message}, validator ${validated.ok ? 'accepts' : validated.message}`);
  }
  const chunked = parseChunked(bytes, cuts);
  if (whole.ok !== chunked.ok || (!whole.ok && !chunked.ok && whole.message !== chunked.message)) {
    throw new Error(`streamed parse differs: whole ${whole.ok ? 'accepts' : whole.message}, streamed ${chunked.ok ? 'accepts' : chunked.message}`);
  }
  if (whole.ok && chunked.ok) {
    if (JSON.stringify(whole.cmds, big) !== JSON.stringify(chunked.cmds, big)) throw new Error('streamed parse gives other commands');
    const again = parseTrace(printTrace(whole.cmds), 'printed.vmt');
    if (JSON.stringify(strip(again), big) !== JSON.stringify(strip(whole.cmds), big)) throw new Error('printed trace parses to other commands');
  }
  return whole.ok;
}

const big = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? `${v}n` : v);

// ---------------------------------------------------------------------------
// Inputs

/** Words of the language and near misses, to reach deep into the checks. */
const WORDS = [
  'file', 'fwrite', 'fread', 'ftruncate', 'spawn', 'fork', 'exit', 'frames', 'reclaim', 'mmap', 'munmap',
  'mprotect', 'mremap', 'madvise', 'read', 'write', 'maps', 'none', 'r', 'rw', 'rx', 'rwx', 'private', 'shared',
  'private,fixed', 'shared,fixed', 'dontneed', 'dontfork', 'dofork', 'wipeonfork', 'keeponfork', 'a', 'b', 'f', 'g',
  '0', '4', '0x1000', '0x100000000000', '0xffffffffffffffff', '18446744073709551616', '4294967295', '4294967296',
  '0x', '0X10', '-1', '1.5', '#', '# c', 'mmap#', 'A_1', '_', '9a',
];
const SEPS = [' ', ' ', ' ', '\t', '\n', '\n', '\r\n', '  ', '\r', '\x00', '\xff', '#'];

const tokenText: fc.Arbitrary<Buffer> = fc
  .array(fc.tuple(fc.constantFrom(...WORDS), fc.constantFrom(...SEPS)), { maxLength: 60 })
  .map((parts) => Buffer.from(parts.map(([w, s]) => w + s).join(''), 'latin1'));

const rawBytes: fc.Arbitrary<Buffer> = fc
  .uint8Array({ maxLength: 300 })
  .map((a) => Buffer.from(a));

/** A generated trace (valid), mutated by up to 4 edits. */
type Edit =
  | { k: 'del'; at: number; n: number }
  | { k: 'ins'; at: number; bytes: number[] }
  | { k: 'word'; at: number; word: string }
  | { k: 'dupLine'; at: number }
  | { k: 'dropLine'; at: number }
  | { k: 'cut'; at: number };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ k: fc.constant('del' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ k: fc.constant('ins' as const), at: fc.nat(), bytes: fc.array(fc.nat({ max: 255 }), { minLength: 1, maxLength: 4 }) }),
  fc.record({ k: fc.constant('word' as const), at: fc.nat(), word: fc.constantFrom(...WORDS) }),
  fc.record({ k: fc.constant('dupLine' as const), at: fc.nat() }),
  fc.record({ k: fc.constant('dropLine' as const), at: fc.nat() }),
  fc.record({ k: fc.constant('cut' as const), at: fc.nat() }),
);

function applyEdit(b: Buffer, e: Edit): Buffer {
  const at = b.length === 0 ? 0 : e.at % b.length;
  const lineStart = b.lastIndexOf(10, at - 1) + 1;
  let lineEnd = b.indexOf(10, at);
  if (lineEnd < 0) lineEnd = b.length;
  switch (e.k) {
    case 'del': return Buffer.concat([b.subarray(0, at), b.subarray(at + e.n)]);
    case 'ins': return Buffer.concat([b.subarray(0, at), Buffer.from(e.bytes), b.subarray(at)]);
    case 'word': {
      // Replace the token around `at` by a word of the language.
      let s = at;
      while (s > 0 && b[s - 1] !== 32 && b[s - 1] !== 10) s--;
      let t = at;
      while (t < b.length && b[t] !== 32 && b[t] !== 10) t++;
      return Buffer.concat([b.subarray(0, s), Buffer.from(e.word, 'latin1'), b.subarray(t)]);
    }
    case 'dupLine': return Buffer.concat([b.subarray(0, lineEnd), Buffer.from('\n'), b.subarray(lineStart, lineEnd), b.subarray(lineEnd)]);
    case 'dropLine': return Buffer.concat([b.subarray(0, lineStart), b.subarray(Math.min(b.length, lineEnd + 1))]);
    case 'cut': return b.subarray(0, at);
  }
}

const traceCache = new Map<number, Buffer>();
function validTrace(seed: number, profile: 'mixed' | 'forky' | 'files' | 'remap'): Buffer {
  const key = seed * 4 + ['mixed', 'forky', 'files', 'remap'].indexOf(profile);
  let t = traceCache.get(key);
  if (t === undefined) {
    t = Buffer.from(generateTrace({ seed, ops: 40, profile, quirks: seed % 2 === 0 }), 'latin1');
    if (traceCache.size < 4096) traceCache.set(key, t);
  }
  return t;
}

const mutatedTrace: fc.Arbitrary<Buffer> = fc
  .tuple(fc.nat({ max: 999 }), fc.constantFrom('mixed' as const, 'forky' as const, 'files' as const, 'remap' as const), fc.array(edit, { maxLength: 4 }))
  .map(([seed, profile, edits]) => edits.reduce(applyEdit, validTrace(seed, profile)));

/** Every input kind, mutated traces weighted most (they reach past the first line). */
export const fuzzInput: fc.Arbitrary<[Buffer, number[]]> = fc.tuple(
  fc.oneof({ arbitrary: mutatedTrace, weight: 3 }, { arbitrary: tokenText, weight: 2 }, { arbitrary: rawBytes, weight: 1 }),
  fc.array(fc.nat(), { maxLength: 5 }),
);

/** Run the fuzz for `numRuns` inputs from `seed`; throws (fast-check's report) on a failure. */
export function runFuzz(numRuns: number, seed: number): { accepted: number; rejected: number } {
  let accepted = 0;
  let rejected = 0;
  fc.assert(
    fc.property(fuzzInput, ([bytes, cuts]) => {
      if (checkInput(bytes, cuts)) accepted++;
      else rejected++;
    }),
    { numRuns, seed },
  );
  return { accepted, rejected };
}
