// vmtrace v1 parser (docs/vmtrace.md); error messages and check
// order follow docs/trace-errors.md exactly.
//
// The parser works on bytes: a string argument is converted to bytes first
// (latin1, one byte per character, so binary junk read as latin1 round-trips
// byte-exactly; a string holding characters above U+00FF is encoded as
// UTF-8, which is what a file holding it would contain). One pass over the
// input, O(1) work per byte, no per-line string copies: a 10 MB line or a
// 100 MB trace costs time and memory proportional to its size.

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

/** Byte classes: 0 invalid, 1 separator (space, tab), 2 token byte, 3 `#`. */
const CLASS = new Uint8Array(256);
for (let b = 0x21; b <= 0x7e; b++) CLASS[b] = 2;
CLASS[0x20] = 1;
CLASS[0x09] = 1;
CLASS[0x23] = 3;

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
  if (e - s >= 2 && buf[s] === 0x30 && buf[s + 1] === 0x78) {
    s += 2;
    if (s === e) return null;
    let z = s;
    while (z < e && buf[z] === 0x30) z++;
    for (let i = z; i < e; i++) if (hexDigit(buf[i]!) < 0) return null;
    const digits = e - z;
    if (digits > 16) return null;
    if (digits <= 13) {
      let n = 0;
      for (let i = z; i < e; i++) n = n * 16 + hexDigit(buf[i]!);
      return n;
    }
    let v = 0n;
    for (let i = z; i < e; i++) v = (v << 4n) | BigInt(hexDigit(buf[i]!));
    return v;
  }
  let z = s;
  for (let i = s; i < e; i++) {
    const b = buf[i]!;
    if (b < 0x30 || b > 0x39) return null;
  }
  while (z < e && buf[z] === 0x30) z++;
  const digits = e - z;
  if (digits > 20) return null;
  if (digits <= 15) {
    let n = 0;
    for (let i = z; i < e; i++) n = n * 10 + (buf[i]! - 0x30);
    return n;
  }
  let v = 0n;
  for (let i = z; i < e; i++) v = v * 10n + BigInt(buf[i]! - 0x30);
  if (v > U64) return null;
  return v < TWO_53 ? Number(v) : v;
}

function hexDigit(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x61 + 10;
  if (b >= 0x41 && b <= 0x46) return b - 0x41 + 10;
  return -1;
}

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

  static of<T>(entries: Iterable<readonly [string, T]>): ByteDict<T> {
    const d = new ByteDict<T>();
    for (const [k, v] of entries) d.set(k, v);
    return d;
  }
}

const GLOBAL_DICT = ByteDict.of(GLOBAL_COMMANDS.map((c) => [c, c] as const));
const OP_DICT = ByteDict.of(PROCESS_OPS.map((c) => [c, c] as const));
const PROT_DICT = ByteDict.of(PROTS.map((c) => [c, c] as const));
const ADVICE_DICT = ByteDict.of(ADVICES.map((c) => [c, c] as const));
const MODE_DICT = ByteDict.of([
  ['private', { shared: false, fixed: false }],
  ['shared', { shared: true, fixed: false }],
  ['private,fixed', { shared: false, fixed: true }],
  ['shared,fixed', { shared: true, fixed: true }],
] as const);

interface ProcState { name: string; alive: boolean }

/**
 * Parse a whole trace. Throws a TraceError naming the first line that breaks
 * a rule; nothing else is thrown for any input. Line numbers count every
 * line, blank and comment-only ones included.
 */
export function parseTrace(input: Buffer | string, fileName: string): Command[] {
  const buf = traceBytes(input);
  const len = buf.length;
  const procs = new ByteDict<ProcState>();
  const files = new ByteDict<string>();
  const out: Command[] = [];
  const ts = new Array<number>(MAX_TOKENS).fill(0);
  const te = new Array<number>(MAX_TOKENS).fill(0);
  let ntok = 0;
  let lineNo = 0;

  const fail = (msg: string): never => {
    throw new TraceError(fileName, lineNo, msg);
  };
  const quote = (i: number): string => `'${sanitizeToken(buf, ts[i]!, te[i]!)}'`;
  const str = (i: number): string => buf.toString('latin1', ts[i]!, te[i]!);
  const lookup = <T>(d: ByteDict<T>, i: number): T | undefined => d.get(buf, ts[i]!, te[i]!)?.value;

  const nameSyntax = (i: number): void => {
    if (!isNameBytes(buf, ts[i]!, te[i]!)) fail(`bad name ${quote(i)}`);
  };
  const liveProc = (i: number): string => {
    nameSyntax(i);
    const p = lookup(procs, i);
    if (p === undefined) return fail(`unknown process ${quote(i)}`);
    if (!p.alive) fail(`process ${quote(i)} has exited`);
    return p.name;
  };
  const newProc = (i: number): string => {
    nameSyntax(i);
    if (lookup(GLOBAL_DICT, i) !== undefined) fail(`process may not be named ${quote(i)}`);
    if (lookup(procs, i) !== undefined) fail(`process ${quote(i)} already exists`);
    return str(i);
  };
  const knownFile = (i: number): string => {
    nameSyntax(i);
    const f = lookup(files, i);
    if (f === undefined) return fail(`unknown file ${quote(i)}`);
    return f;
  };
  const numTok = (i: number): number | bigint => {
    const v = parseNumber(buf, ts[i]!, te[i]!);
    if (v === null) return fail(`bad number ${quote(i)}`);
    return v;
  };
  const num = (i: number): bigint => {
    const v = numTok(i);
    return typeof v === 'bigint' ? v : BigInt(v);
  };
  const val = (i: number): number => {
    const v = numTok(i);
    if (typeof v === 'bigint' || v > 0xffffffff) fail(`value out of range ${quote(i)}`);
    return v as number;
  };
  const aligned = (i: number, what: 'address' | 'offset'): bigint => {
    const v = numTok(i);
    const low = typeof v === 'bigint' ? Number(v & 3n) : v % 4;
    if (low !== 0) fail(`unaligned ${what} ${quote(i)}`);
    return typeof v === 'bigint' ? v : BigInt(v);
  };
  const prot = (i: number): Prot => {
    const w = lookup(PROT_DICT, i);
    if (w === undefined) return fail(`unknown protection ${quote(i)}`);
    return w;
  };
  const advice = (i: number): Advice => {
    const w = lookup(ADVICE_DICT, i);
    if (w === undefined) return fail(`unknown advice ${quote(i)}`);
    return w;
  };

  let pos = 0;
  while (pos < len) {
    let end = buf.indexOf(10, pos);
    if (end < 0) end = len;
    lineNo++;

    // Tokenise [pos, end): stop at `#`; a `\r` is allowed only as the very
    // last byte of a line without a comment.
    ntok = 0;
    let tokStart = -1;
    let i = pos;
    for (; i < end; i++) {
      const c = CLASS[buf[i]!]!;
      if (c === 2) {
        if (tokStart < 0) tokStart = i;
        continue;
      }
      if (c === 0 && !(buf[i] === 0x0d && i === end - 1)) fail('invalid character');
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
    pos = end + 1;
    if (ntok === 0) continue;

    const line = lineNo;
    const cmd = lookup(GLOBAL_DICT, 0);
    if (cmd !== undefined) {
      if (!ARG_COUNTS[cmd].includes(ntok - 1)) fail(`wrong number of arguments for ${cmd}`);
      switch (cmd) {
        case 'file': {
          nameSyntax(1);
          if (lookup(files, 1) !== undefined) fail(`file ${quote(1)} already declared`);
          const size = num(2);
          const name = str(1);
          files.set(name, name);
          out.push({ kind: 'file', line, file: name, size });
          break;
        }
        case 'fwrite': {
          const file = knownFile(1);
          const off = aligned(2, 'offset');
          out.push({ kind: 'fwrite', line, file, off, val: val(3) });
          break;
        }
        case 'fread': {
          const file = knownFile(1);
          out.push({ kind: 'fread', line, file, off: aligned(2, 'offset') });
          break;
        }
        case 'ftruncate': {
          const file = knownFile(1);
          out.push({ kind: 'ftruncate', line, file, size: num(2) });
          break;
        }
        case 'spawn': {
          const proc = newProc(1);
          procs.set(proc, { name: proc, alive: true });
          out.push({ kind: 'spawn', line, proc });
          break;
        }
        case 'fork': {
          const proc = liveProc(1);
          const child = newProc(2);
          procs.set(child, { name: child, alive: true });
          out.push({ kind: 'fork', line, proc, child });
          break;
        }
        case 'exit': {
          const proc = liveProc(1);
          procs.get(buf, ts[1]!, te[1]!)!.value.alive = false;
          out.push({ kind: 'exit', line, proc });
          break;
        }
        case 'frames':
          out.push({ kind: 'frames', line });
          break;
        case 'reclaim':
          out.push({ kind: 'reclaim', line, count: num(1) });
          break;
      }
      continue;
    }

    const op = ntok >= 2 ? lookup(OP_DICT, 1) : undefined;
    if (op === undefined) return fail(`unknown command ${quote(ntok >= 2 ? 1 : 0)}`);
    if (!ARG_COUNTS[op].includes(ntok - 2)) fail(`wrong number of arguments for ${op}`);
    const proc = liveProc(0);
    switch (op) {
      case 'mmap': {
        const addr = num(2);
        const len = num(3);
        const p = prot(4);
        const mode = lookup(MODE_DICT, 5);
        if (mode === undefined) return fail(`unknown mode ${quote(5)}`);
        if (ntok === 8) {
          const file = knownFile(6);
          const off = num(7);
          out.push({ kind: 'mmap', line, proc, addr, len, prot: p, shared: mode.shared, fixed: mode.fixed, file, off });
        } else {
          out.push({ kind: 'mmap', line, proc, addr, len, prot: p, shared: mode.shared, fixed: mode.fixed });
        }
        break;
      }
      case 'munmap':
        out.push({ kind: 'munmap', line, proc, addr: num(2), len: num(3) });
        break;
      case 'mprotect': {
        const addr = num(2);
        const len = num(3);
        out.push({ kind: 'mprotect', line, proc, addr, len, prot: prot(4) });
        break;
      }
      case 'mremap': {
        const addr = num(2);
        const oldLen = num(3);
        const newLen = num(4);
        if (ntok === 6) out.push({ kind: 'mremap', line, proc, addr, oldLen, newLen, newAddr: num(5) });
        else out.push({ kind: 'mremap', line, proc, addr, oldLen, newLen });
        break;
      }
      case 'madvise': {
        const addr = num(2);
        const len = num(3);
        out.push({ kind: 'madvise', line, proc, addr, len, advice: advice(4) });
        break;
      }
      case 'read':
        out.push({ kind: 'read', line, proc, addr: aligned(2, 'address') });
        break;
      case 'write': {
        const addr = aligned(2, 'address');
        out.push({ kind: 'write', line, proc, addr, val: val(3) });
        break;
      }
      case 'maps':
        out.push({ kind: 'maps', line, proc });
        break;
    }
  }
  return out;
}
