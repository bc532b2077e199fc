// vmtrace v1 parser (docs/vmtrace.md); error messages and check
// order follow docs/trace-errors.md exactly.
//
// The parser works on bytes: a string argument is converted to bytes first
// (latin1, one byte per character, so binary junk read as latin1 round-trips
// byte-exactly; a string holding characters above U+00FF is encoded as
// UTF-8, which is what a file holding it would contain). One pass over the
// input, O(1) work per byte, no per-line string copies: a 10 MB line or a
// 100 MB trace costs time and memory proportional to its size. TraceParser
// takes the input in pieces and hands each command on as its line ends, so
// that a trace can be run while it is read (memory: the names declared and
// the longest line, not the trace).

import {
  ADVICES, GLOBAL_COMMANDS, PROCESS_OPS, PROTS, TraceError,
  type Advice, type Command, type Prot,
} from './ast.js';
import { U64 } from '../mm/constants.js';

const TWO_53 = 1n << 53n;
const SHOWN_BYTES = 32;
/** Tokens remembered per line; any line with more is a wrong-count error. */
const MAX_TOKENS = 8;

type GlobalCmd = (typeof GLOBAL_COMMANDS)[number];
type ProcessOp = (typeof PROCESS_OPS)[number];


/** Allowed argument counts (tokens after the command word). */
const ARG_COUNTS: Readonly<Record<GlobalCmd | ProcessOp, readonly number[]>> = {
  file: [2], fwrite: [3], fread: [2], ftruncate: [2], spawn: [1], fork: [2], exit: [1],
  frames: [0], reclaim: [1],
  mmap: [4, 6], munmap: [2], mprotect: [3], mremap: [3, 4], madvise: [3],
  read: [1], write: [2], maps: [0],
};

/** Byte classes: 0 invalid, 1 separator (space, tab), 2 token byte, 3 `#`, 4 newline. */
const CLASS = new Uint8Array(256);
for (let b = 0x21; b <= 0x7e; b++) CLASS[b] = 2;
CLASS[0x20] = 1;
CLASS[0x09] = 1;
CLASS[0x23] = 3;
CLASS[0x0a] = 4;

/** The bytes of a trace given as a string. */
export function traceBytes(input: Buffer | string): Buffer {
  if (typeof input !== 'string') return input;
  // eslint-disable-next-line no-control-regex
  return /[^\u0000-\u00ff]/.test(input) ? Buffer.from(input, 'utf8') : Buffer.from(input, 'latin1');
}

/**
 * A token as error messages quote it: bytes 0x21..0x7e as themselves, any
 * other byte as `\xNN`; at most 32 bytes, then `...`.
 */
export function sanitizeToken(bytes: Uint8Array, start = 0, end = bytes.length): string {
  const stop = Math.min(end, start + SHOWN_BYTES);
  let s = '';
  for (let i = start; i < stop; i++) {
    const b = bytes[i]!;
    s += b >= 0x21 && b <= 0x7e ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return end - start > SHOWN_BYTES ? `${s}...` : s;
}

/**
 * Parse a number token: unsigned decimal or lowercase-`0x` hex (digits of
 * either case), at most 2^64-1. Returns a plain number when the value is
 * below 2^53, a bigint above, or null when the token is not a number.
 * Linear in the token length, however long (leading zeros are allowed).
 */
function parseNumber(buf: Uint8Array, s: number, e: number): number | bigint | null {
  const hex = e - s >= 2 && buf[s] === 0x30 && buf[s + 1] === 0x78;
  if (hex) {
    s += 2;
    if (s === e) return null;
  }
  const digit = hex ? HEX : DEC;
  // Up to `exact` significant digits are exact in a double whatever they
  // are (16^13 and 10^15 are below 2^53): one pass, no BigInt. Leading
  // zeros are skipped first only in a token too long for that.
  const exact = hex ? 13 : 15;
  let z = s;
  if (e - s > exact) while (z < e && buf[z] === 0x30) z++;
  if (hex && e - z <= exact) {
    // In two int32 halves, the last 7 digits and the (at most 6) before
    // them: integer shifts instead of double multiply-adds, for the long
    // hex addresses that are most of a trace's bytes.
    const split = e - 7;
    let hi = 0;
    let lo = 0;
    for (let i = z; i < e; i++) {
      const d = HEX[buf[i]!]!;
      if (d < 0) return null;
      if (i < split) hi = (hi << 4) | d;
      else lo = (lo << 4) | d;
    }
    return hi * 0x10000000 + lo;
  }
  if (e - z <= exact) {
    let n = 0;
    for (let i = z; i < e; i++) {
      const d = digit[buf[i]!]!;
      if (d < 0) return null;
      n = n * (hex ? 16 : 10) + d;
    }
    return n;
  }
  for (let i = z; i < e; i++) if (digit[buf[i]!]! < 0) return null;
  if (e - z > (hex ? 16 : 20)) return null;
  const radix = hex ? 16n : 10n;
  let v = 0n;
  for (let i = z; i < e; i++) v = v * radix + BigInt(digit[buf[i]!]!);
  if (v > U64) return null;
  return v < TWO_53 ? Number(v) : v;
}

/** Hex digit values by byte, -1 for a byte that is not one. */
const HEX = new Int8Array(256).fill(-1);
for (let b = 0x30; b <= 0x39; b++) HEX[b] = b - 0x30;
for (let b = 0x61; b <= 0x66; b++) HEX[b] = b - 0x61 + 10;
for (let b = 0x41; b <= 0x46; b++) HEX[b] = b - 0x41 + 10;
/** Decimal digit values by byte, -1 for a byte that is not one. */
const DEC = new Int8Array(256).fill(-1);
for (let b = 0x30; b <= 0x39; b++) DEC[b] = b - 0x30;

function isNameBytes(buf: Uint8Array, s: number, e: number): boolean {
  if (s >= e) return false;
  const b0 = buf[s]!;
  if (!((b0 >= 0x41 && b0 <= 0x5a) || (b0 >= 0x61 && b0 <= 0x7a) || b0 === 0x5f)) return false;
  for (let i = s + 1; i < e; i++) {
    const b = buf[i]!;
    if (!((b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x5f || (b >= 0x30 && b <= 0x39))) return false;
  }
  return true;
}

/**
 * A dictionary keyed by byte strings, looked up straight from the input
 * buffer so that the hot path allocates no strings.
 */
class ByteDict<T> {
  private readonly buckets = new Map<number, { key: string; value: T }[]>();

  private static hash(buf: Uint8Array, s: number, e: number): number {
    let h = 0x811c9dc5 ^ (e - s);
    for (let i = s; i < e; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    return h;
  }

  get(buf: Uint8Array, s: number, e: number): { key: string; value: T } | undefined {
    const bucket = this.buckets.get(ByteDict.hash(buf, s, e));
    if (bucket === undefined) return undefined;
    outer: for (const entry of bucket) {
      const k = entry.key;
      if (k.length !== e - s) continue;
      for (let i = 0; i < k.length; i++) if (k.charCodeAt(i) !== buf[s + i]) continue outer;
      return entry;
    }
    return undefined;
  }

  /** Add or replace; `key` must be a latin1 string of the bytes. */
  set(key: string, value: T): void {
    const bytes = Buffer.from(key, 'latin1');
    const h = ByteDict.hash(bytes, 0, bytes.length);
    let bucket = this.buckets.get(h);
    if (bucket === undefined) this.buckets.set(h, (bucket = []));
    const old = bucket.find((x) => x.key === key);
    if (old !== undefined) old.value = value;
    else bucket.push({ key, value });
  }

  /** Remove `key` (a latin1 string of the bytes) if present. */
  delete(buf: Uint8Array, s: number, e: number): void {
    const h = ByteDict.hash(buf, s, e);
    const bucket = this.buckets.get(h);
    const entry = this.get(buf, s, e);
    if (bucket === undefined || entry === undefined) return;
    bucket.splice(bucket.indexOf(entry), 1);
    if (bucket.length === 0) this.buckets.delete(h);
  }

  static hashOf(buf: Uint8Array, s: number, e: number): number {
    return ByteDict.hash(buf, s, e);
  }
}

/**
 * A fixed set of keywords, looked up straight from the input bytes: open
 * addressing on (length, first byte, last byte), then a byte compare. The
 * hot path of every line looks its first two tokens up here; no string, no
 * Map, no allocation.
 */
class Words<T> {
  private readonly slots = new Int8Array(64).fill(-1);
  private readonly keys: Uint8Array[] = [];
  private readonly values: T[] = [];

  constructor(entries: Iterable<readonly [string, T]>) {
    for (const [k, v] of entries) {
      const key = Buffer.from(k, 'latin1');
      let i = Words.hash(key, 0, key.length);
      while (this.slots[i] !== -1) i = (i + 1) & 63;
      this.slots[i] = this.keys.length;
      this.keys.push(key);
      this.values.push(v);
    }
    if (this.keys.length > 32) throw new Error('Words: table too small');
  }

  private static hash(buf: Uint8Array, s: number, e: number): number {
    return ((e - s) * 7 + buf[s]! * 3 + buf[e - 1]! * 5) & 63;
  }

  /** The value of the keyword buf[s, e) (s < e), or undefined. */
  get(buf: Uint8Array, s: number, e: number): T | undefined {
    const slots = this.slots;
    const len = e - s;
    outer: for (let i = Words.hash(buf, s, e); ; i = (i + 1) & 63) {
      const k = slots[i]!;
      if (k < 0) return undefined;
      const key = this.keys[k]!;
      if (key.length !== len) continue;
      for (let j = 0; j < len; j++) if (key[j] !== buf[s + j]) continue outer;
      return this.values[k];
    }
  }
}

/** A command word and its allowed argument counts as a bit mask (bit n: n arguments). */
interface Verb<W> { readonly word: W; readonly counts: number }

const verb = <W extends GlobalCmd | ProcessOp>(w: W): readonly [string, Verb<W>] =>
  [w, { word: w, counts: ARG_COUNTS[w].reduce((m, n) => m | (1 << n), 0) }];

const GLOBAL_WORDS = new Words(GLOBAL_COMMANDS.map(verb));
const OP_WORDS = new Words(PROCESS_OPS.map(verb));
const PROT_WORDS = new Words(PROTS.map((c) => [c, c] as const));
const ADVICE_WORDS = new Words(ADVICES.map((c) => [c, c] as const));
const MODE_WORDS = new Words([
  ['private', { shared: false, fixed: false }],
  ['shared', { shared: true, fixed: false }],
  ['private,fixed', { shared: false, fixed: true }],
  ['shared,fixed', { shared: true, fixed: true }],
] as const);

/** Whether `v` allows `n` arguments. */
const allows = (v: Verb<string>, n: number): boolean => n < 31 && (v.counts & (1 << n)) !== 0;

/**
 * A set of byte strings kept compactly: the names of exited processes. The
 * language forbids reusing a name and reports a name that has exited
 * differently from one never seen, so every name a trace ever spawned must
 * be remembered; a long trace spawns hundreds of thousands. Each costs its
 * bytes plus 12 (a 4-byte length in one arena, a 4-byte slot in a table
 * kept at most half full) instead of a string, an object and a Map entry.
 */
class NameSet {
  private arena = new Uint8Array(1 << 12);
  private used = 0;
  /** Open addressing: arena offset + 1 of each name, 0 empty. */
  private table = new Int32Array(1 << 10);
  private n = 0;

  /** Bytes held (arena and table). */
  get bytes(): number {
    return this.arena.byteLength + this.table.byteLength;
  }

  get size(): number {
    return this.n;
  }

  has(buf: Uint8Array, s: number, e: number): boolean {
    return this.table[this.slot(buf, s, e)] !== 0;
  }

  add(buf: Uint8Array, s: number, e: number): void {
    const i = this.slot(buf, s, e);
    if (this.table[i] !== 0) return;
    const len = e - s;
    if (this.used + 4 + len > this.arena.length) {
      const bigger = new Uint8Array(Math.max(2 * this.arena.length, this.used + 4 + len));
      bigger.set(this.arena.subarray(0, this.used));
      this.arena = bigger;
    }
    const a = this.arena;
    const at = this.used;
    a[at] = len & 0xff; a[at + 1] = (len >>> 8) & 0xff; a[at + 2] = (len >>> 16) & 0xff; a[at + 3] = len >>> 24;
    a.set(buf.subarray(s, e), at + 4);
    this.used = at + 4 + len;
    this.table[i] = at + 1;
    if (++this.n * 2 > this.table.length) this.grow();
  }

  private lenAt(at: number): number {
    const a = this.arena;
    return (a[at]! | (a[at + 1]! << 8) | (a[at + 2]! << 16) | (a[at + 3]! << 24)) >>> 0;
  }

  /** The slot holding this name, or the empty slot where it would go. */
  private slot(buf: Uint8Array, s: number, e: number): number {
    const t = this.table;
    const mask = t.length - 1;
    const len = e - s;
    const a = this.arena;
    outer: for (let i = ByteDict.hashOf(buf, s, e) & mask; ; i = (i + 1) & mask) {
      const v = t[i]!;
      if (v === 0) return i;
      const at = v - 1;
      if (this.lenAt(at) !== len) continue;
      for (let k = 0; k < len; k++) if (a[at + 4 + k] !== buf[s + k]) continue outer;
      return i;
    }
  }

  private grow(): void {
    const old = this.table;
    this.table = new Int32Array(old.length * 2);
    const mask = this.table.length - 1;
    for (const v of old) {
      if (v === 0) continue;
      const at = v - 1;
      let i = ByteDict.hashOf(this.arena, at + 4, at + 4 + this.lenAt(at)) & mask;
      while (this.table[i] !== 0) i = (i + 1) & mask;
      this.table[i] = v;
    }
  }
}

/**
 * The name a parser found last (a process or a file) and its bytes:
 * consecutive lines of a trace mostly name the same one, and a byte
 * compare against it saves the hash lookup and the syntax check. Only a
 * name that passed both is remembered, so a match is one that would pass.
 */
class LastName {
  private value: string | null = null;
  private bytes = new Uint8Array(64);
  private len = 0;

  /** The remembered name if buf[s, e) is its bytes, else null. */
  match(buf: Uint8Array, s: number, e: number): string | null {
    const v = this.value;
    if (v === null || e - s !== this.len) return null;
    const b = this.bytes;
    for (let k = 0; k < this.len; k++) if (b[k] !== buf[s + k]) return null;
    return v;
  }

  remember(buf: Uint8Array, s: number, e: number, value: string): void {
    if (e - s > this.bytes.length) this.bytes = new Uint8Array(2 * (e - s));
    this.bytes.set(buf.subarray(s, e));
    this.len = e - s;
    this.value = value;
  }

  forget(): void {
    this.value = null;
  }
}

/**
 * Parse a whole trace. Throws a TraceError naming the first line that breaks
 * a rule; nothing else is thrown for any input. Line numbers count every
 * line, blank and comment-only ones included.
 */
export function parseTrace(input: Buffer | string, fileName: string): Command[] {
  const out: Command[] = [];
  const p = new TraceParser(fileName, (c) => out.push(c));
  p.push(input);
  p.end();
  return out;
}

/**
 * The parser as a stream: push() the trace in pieces of any size (split
 * anywhere, even inside a line), then end(); every command is handed to
 * `emit` as soon as its line is complete, so a caller that runs commands
 * as they come holds no command objects, only the names the trace has
 * declared and the one line being read. push() and end() throw a
 * TraceError for the first line that breaks a rule (commands of the lines
 * before it have been emitted by then); nothing else is thrown for any
 * input. parseTrace() is push(all) + end().
 */
export class TraceParser {
  /** Live processes. */
  private readonly procs = new ByteDict<string>();
  /** Processes that have exited (their names may not come back). */
  private readonly exited = new NameSet();
  private readonly files = new ByteDict<string>();
  /** Token i of the line is buf[ts[i], te[i]). */
  private readonly ts = new Int32Array(MAX_TOKENS);
  private readonly te = new Int32Array(MAX_TOKENS);
  /** The bytes of the line being parsed (a chunk, or a line joined from several). */
  private buf: Buffer = Buffer.alloc(0);
  private lineNo = 0;
  /** The start of an unfinished line: copies of the chunks' tails since its first byte. */
  private carry: Buffer[] = [];
  private failed: TraceError | null = null;
  /** The live process named last (forgotten at every exit). */
  private readonly lastProc = new LastName();
  /** The file named last (a file, once declared, stays). */
  private readonly lastFile = new LastName();

  /**
   * `emit` gets each command. A parser made by TraceParser.validator()
   * only checks: it emits nothing and builds no numbers.
   */
  constructor(readonly fileName: string, private readonly emit: (c: Command) => void, private readonly build = true) {}

  /** A parser that only validates (the first pass of src/trace/source.ts). */
  static validator(fileName: string): TraceParser {
    return new TraceParser(fileName, () => {}, false);
  }

  /** Bytes spent remembering exited processes' names (grows with the trace's processes; see NameSet). */
  get exitedNameBytes(): number {
    return this.exited.bytes;
  }

  /** Lines read so far (complete ones). */
  get lines(): number {
    return this.lineNo;
  }

  push(chunk: Buffer | string): void {
    if (this.failed !== null) throw this.failed;
    const buf = traceBytes(chunk);
    try {
      this.pushBytes(buf);
    } catch (e) {
      if (e instanceof TraceError) this.failed = e;
      throw e;
    }
  }

  /** The input is complete: parse a last line without a newline. */
  end(): void {
    if (this.failed !== null) throw this.failed;
    if (this.carry.length === 0) return;
    const line = Buffer.concat(this.carry);
    this.carry = [];
    if (line.length > 0) this.guard(line, 0, line.length);
  }

  private pushBytes(buf: Buffer): void {
    const len = buf.length;
    let pos = 0;
    if (this.carry.length > 0) {
      const nl = buf.indexOf(10);
      if (nl < 0) {
        if (len > 0) this.carry.push(Buffer.from(buf));
        return;
      }
      this.carry.push(buf.subarray(0, nl));
      const line = Buffer.concat(this.carry);
      this.carry = [];
      this.line(line, 0, line.length);
      pos = nl + 1;
    }
    while (pos < len) {
      const next = this.scan(buf, pos, len);
      if (next < 0) {
        this.carry.push(Buffer.from(buf.subarray(pos)));
        return;
      }
      pos = next;
    }
  }

  private guard(buf: Buffer, pos: number, end: number): void {
    try {
      this.line(buf, pos, end);
    } catch (e) {
      if (e instanceof TraceError) this.failed = e;
      throw e;
    }
  }

  /**
   * The line starting at `pos`, up to its newline if that is before
   * `limit`: tokenised in the same pass that finds the newline, then run.
   * Returns where the next line starts, or -1 when the line has no newline
   * before `limit` (the caller carries it over to the next chunk). A
   * comment ends the line's tokens, and its bytes are not looked at (as in
   * line()): it is skipped here, for the generated workloads put one on
   * every read (`# expect V`). A line holding anything else but token
   * bytes and separators (a `\r`, an invalid byte) takes the general path,
   * line(), which decides what it is.
   */
  private scan(buf: Buffer, pos: number, limit: number): number {
    const ts = this.ts;
    const te = this.te;
    let ntok = 0;
    let i = pos;
    let c = 0;
    for (;;) {
      while (i < limit && (c = CLASS[buf[i]!]!) === 1) i++;
      if (i === limit) return -1;
      if (c !== 2) break;
      const start = i;
      while (++i < limit && (c = CLASS[buf[i]!]!) === 2);
      if (ntok < MAX_TOKENS) { ts[ntok] = start; te[ntok] = i; }
      ntok++;
      if (i === limit) return -1;
    }
    if (c === 3) {
      while (++i < limit && buf[i] !== 0x0a);
      if (i === limit) return -1;
    } else if (c !== 4) {
      const nl = buf.indexOf(10, i);
      if (nl < 0) return -1;
      this.line(buf, pos, nl);
      return nl + 1;
    }
    this.buf = buf;
    this.lineNo++;
    if (ntok > 0) this.command(buf, ntok);
    return i + 1;
  }

  /** Parse the line [pos, end) of buf (without its newline); emit its command, if any. */
  private line(buf: Buffer, pos: number, end: number): void {
    this.buf = buf;
    this.lineNo++;
    const ts = this.ts;
    const te = this.te;

    // Tokenise [pos, end): stop at `#`; a `\r` is allowed only as the very
    // last byte of a line without a comment.
    let ntok = 0;
    let tokStart = -1;
    let i = pos;
    for (; i < end; i++) {
      const c = CLASS[buf[i]!]!;
      if (c === 2) {
        if (tokStart < 0) tokStart = i;
        continue;
      }
      if (c === 0 && !(buf[i] === 0x0d && i === end - 1)) this.fail('invalid character');
      if (tokStart >= 0) {
        if (ntok < MAX_TOKENS) { ts[ntok] = tokStart; te[ntok] = i; }
        ntok++;
        tokStart = -1;
      }
      if (c === 3) break;
    }
    if (tokStart >= 0) {
      if (ntok < MAX_TOKENS) { ts[ntok] = tokStart; te[ntok] = i; }
      ntok++;
    }
    if (ntok > 0) this.command(buf, ntok);
  }

  private fail(msg: string): never {
    throw new TraceError(this.fileName, this.lineNo, msg);
  }

  private quote(i: number): string {
    return `'${sanitizeToken(this.buf, this.ts[i]!, this.te[i]!)}'`;
  }

  private str(i: number): string {
    return this.buf.toString('latin1', this.ts[i]!, this.te[i]!);
  }

  private lookup<T>(d: ByteDict<T>, i: number): T | undefined {
    return d.get(this.buf, this.ts[i]!, this.te[i]!)?.value;
  }

  private word<T>(d: Words<T>, i: number): T | undefined {
    return d.get(this.buf, this.ts[i]!, this.te[i]!);
  }

  private nameSyntax(i: number): void {
    if (!isNameBytes(this.buf, this.ts[i]!, this.te[i]!)) this.fail(`bad name ${this.quote(i)}`);
  }

  private liveProc(i: number): string {
    const buf = this.buf;
    const s = this.ts[i]!;
    const e = this.te[i]!;
    // A hit is a valid, live name: the checks below would pass it.
    const last = this.lastProc.match(buf, s, e);
    if (last !== null) return last;
    this.nameSyntax(i);
    const p = this.lookup(this.procs, i);
    if (p !== undefined) {
      this.lastProc.remember(buf, s, e, p);
      return p;
    }
    if (this.exited.has(buf, s, e)) return this.fail(`process ${this.quote(i)} has exited`);
    return this.fail(`unknown process ${this.quote(i)}`);
  }

  private newProc(i: number): string {
    this.nameSyntax(i);
    if (this.word(GLOBAL_WORDS, i) !== undefined) this.fail(`process may not be named ${this.quote(i)}`);
    if (this.lookup(this.procs, i) !== undefined || this.exited.has(this.buf, this.ts[i]!, this.te[i]!)) {
      this.fail(`process ${this.quote(i)} already exists`);
    }
    return this.str(i);
  }

  private knownFile(i: number): string {
    const buf = this.buf;
    const s = this.ts[i]!;
    const e = this.te[i]!;
    const last = this.lastFile.match(buf, s, e);
    if (last !== null) return last;
    this.nameSyntax(i);
    const f = this.lookup(this.files, i);
    if (f === undefined) return this.fail(`unknown file ${this.quote(i)}`);
    this.lastFile.remember(buf, s, e, f);
    return f;
  }

  private numTok(i: number): number | bigint {
    const v = parseNumber(this.buf, this.ts[i]!, this.te[i]!);
    if (v === null) return this.fail(`bad number ${this.quote(i)}`);
    return v;
  }

  private num(i: number): bigint {
    const v = this.numTok(i);
    if (!this.build) return 0n;
    return typeof v === 'bigint' ? v : BigInt(v);
  }

  private val(i: number): number {
    const v = this.numTok(i);
    if (typeof v === 'bigint' || v > 0xffffffff) this.fail(`value out of range ${this.quote(i)}`);
    return v as number;
  }

  private aligned(i: number, what: 'offset'): bigint {
    const v = this.multipleOf4(i, what);
    if (!this.build) return 0n;
    return typeof v === 'bigint' ? v : BigInt(v);
  }

  /** The address of a read or write: a number below 2^53, else a bigint (Addr). */
  private access(i: number): number | bigint {
    return this.multipleOf4(i, 'address');
  }

  /**
   * Number token i, which must be a multiple of 4. No `%` on a number:
   * past 2^31 it is a double, and a double remainder is a call out of
   * generated code.
   */
  private multipleOf4(i: number, what: 'offset' | 'address'): number | bigint {
    const v = this.numTok(i);
    const low = typeof v === 'bigint' ? Number(v & 3n) : v - Math.floor(v / 4) * 4;
    if (low !== 0) this.fail(`unaligned ${what} ${this.quote(i)}`);
    return v;
  }

  private prot(i: number): Prot {
    const w = this.word(PROT_WORDS, i);
    if (w === undefined) return this.fail(`unknown protection ${this.quote(i)}`);
    return w;
  }

  private advice(i: number): Advice {
    const w = this.word(ADVICE_WORDS, i);
    if (w === undefined) return this.fail(`unknown advice ${this.quote(i)}`);
    return w;
  }

  /** The command of a line of `ntok` tokens (ntok >= 1, tokens in ts/te): check it, emit it. */
  private command(buf: Buffer, ntok: number): void {
    const ts = this.ts;
    const te = this.te;
    const line = this.lineNo;
    const out = this.emit;
    const g = this.word(GLOBAL_WORDS, 0);
    if (g !== undefined) {
      const cmd = g.word;
      if (!allows(g, ntok - 1)) this.fail(`wrong number of arguments for ${cmd}`);
      switch (cmd) {
        case 'file': {
          this.nameSyntax(1);
          if (this.lookup(this.files, 1) !== undefined) this.fail(`file ${this.quote(1)} already declared`);
          const size = this.num(2);
          const name = this.str(1);
          this.files.set(name, name);
          out({ kind: 'file', line, file: name, size });
          break;
        }
        case 'fwrite': {
          const file = this.knownFile(1);
          const off = this.aligned(2, 'offset');
          out({ kind: 'fwrite', line, file, off, val: this.val(3) });
          break;
        }
        case 'fread': {
          const file = this.knownFile(1);
          out({ kind: 'fread', line, file, off: this.aligned(2, 'offset') });
          break;
        }
        case 'ftruncate': {
          const file = this.knownFile(1);
          out({ kind: 'ftruncate', line, file, size: this.num(2) });
          break;
        }
        case 'spawn': {
          const proc = this.newProc(1);
          this.procs.set(proc, proc);
          out({ kind: 'spawn', line, proc });
          break;
        }
        case 'fork': {
          const proc = this.liveProc(1);
          const child = this.newProc(2);
          this.procs.set(child, child);
          out({ kind: 'fork', line, proc, child });
          break;
        }
        case 'exit': {
          const proc = this.liveProc(1);
          this.lastProc.forget();
          this.procs.delete(buf, ts[1]!, te[1]!);
          this.exited.add(buf, ts[1]!, te[1]!);
          out({ kind: 'exit', line, proc });
          break;
        }
        case 'frames':
          out({ kind: 'frames', line });
          break;
        case 'reclaim':
          out({ kind: 'reclaim', line, count: this.num(1) });
          break;
      }
      return;
    }

    const o = ntok >= 2 ? this.word(OP_WORDS, 1) : undefined;
    if (o === undefined) return this.fail(`unknown command ${this.quote(ntok >= 2 ? 1 : 0)}`);
    const op = o.word;
    if (!allows(o, ntok - 2)) this.fail(`wrong number of arguments for ${op}`);
    const proc = this.liveProc(0);
    switch (op) {
      case 'mmap': {
        const addr = this.num(2);
        const len = this.num(3);
        const p = this.prot(4);
        const mode = this.word(MODE_WORDS, 5);
        if (mode === undefined) return this.fail(`unknown mode ${this.quote(5)}`);
        if (ntok === 8) {
          const file = this.knownFile(6);
          const off = this.num(7);
          out({ kind: 'mmap', line, proc, addr, len, prot: p, shared: mode.shared, fixed: mode.fixed, file, off });
        } else {
          out({ kind: 'mmap', line, proc, addr, len, prot: p, shared: mode.shared, fixed: mode.fixed });
        }
        break;
      }
      case 'munmap':
        out({ kind: 'munmap', line, proc, addr: this.num(2), len: this.num(3) });
        break;
      case 'mprotect': {
        const addr = this.num(2);
        const len = this.num(3);
        out({ kind: 'mprotect', line, proc, addr, len, prot: this.prot(4) });
        break;
      }
      case 'mremap': {
        const addr = this.num(2);
        const oldLen = this.num(3);
        const newLen = this.num(4);
        if (ntok === 6) out({ kind: 'mremap', line, proc, addr, oldLen, newLen, newAddr: this.num(5) });
        else out({ kind: 'mremap', line, proc, addr, oldLen, newLen });
        break;
      }
      case 'madvise': {
        const addr = this.num(2);
        const len = this.num(3);
        out({ kind: 'madvise', line, proc, addr, len, advice: this.advice(4) });
        break;
      }
      // The bulk of a long trace: a validator builds nothing for them.
      case 'read': {
        const addr = this.access(2);
        if (this.build) out({ kind: 'read', line, proc, addr });
        break;
      }
      case 'write': {
        const addr = this.access(2);
        const val = this.val(3);
        if (this.build) out({ kind: 'write', line, proc, addr, val });
        break;
      }
      case 'maps':
        out({ kind: 'maps', line, proc });
        break;
    }
  }
}
