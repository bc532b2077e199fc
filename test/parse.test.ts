import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TraceError, type Command } from '../src/trace/ast.js';
import { parseTrace, sanitizeToken } from '../src/trace/parse.js';
import { printCommand, printTrace } from '../src/trace/print.js';
import { generateTrace } from '../src/trace/gen/index.js';
import { kernelOracleAvailable, runOnKernel } from '../src/oracle/native.js';

/** The error message parseTrace gives for `text`, or 'OK'. */
function err(text: string | Buffer, file = 't.vmt'): string {
  try {
    parseTrace(text, file);
    return 'OK';
  } catch (e) {
    if (e instanceof TraceError) return e.message;
    throw e;
  }
}

/** The error for `body` (one line) after the standard preamble (3 lines). */
const PRE = 'spawn a\nfile f 0x1000\nspawn gone\nexit gone\n';
const line5 = (body: string): string => err(PRE + body + '\n');

const renumber = (cmds: Command[]): Command[] => cmds.map((c, i) => ({ ...c, line: i + 1 }));

describe('accepted traces', () => {
  it('parses the spec example', () => {
    const cmds = parseTrace(
      [
        'file data 0x4000',
        'fwrite data 0x1000 7',
        'spawn a',
        'a mmap 0x100000000000 0x3000 rw private',
        'a mmap 0x100000003000 0x2000 r shared data 0x2000',
        'a write 0x100000000000 1',
        'fork a b',
        'b write 0x100000000000 2',
        "a read 0x100000000000         # 1: b's write went to b's own copy",
        'b mmap 0x100000010000 0x1000 r private data 0x1000',
        "b read 0x100000010000         # 7: the file's page",
        'a maps',
        'frames',
        '',
      ].join('\n'),
      'spec',
    );
    expect(cmds).toHaveLength(13);
    expect(cmds[0]).toEqual({ kind: 'file', line: 1, file: 'data', size: 0x4000n });
    expect(cmds[1]).toEqual({ kind: 'fwrite', line: 2, file: 'data', off: 0x1000n, val: 7 });
    expect(cmds[3]).toEqual({
      kind: 'mmap', line: 4, proc: 'a', addr: 0x100000000000n, len: 0x3000n, prot: 'rw', shared: false, fixed: false,
    });
    expect(cmds[4]).toEqual({
      kind: 'mmap', line: 5, proc: 'a', addr: 0x100000003000n, len: 0x2000n, prot: 'r', shared: true, fixed: false,
      file: 'data', off: 0x2000n,
    });
    expect(cmds[6]).toEqual({ kind: 'fork', line: 7, proc: 'a', child: 'b' });
    expect(cmds[8]).toEqual({ kind: 'read', line: 9, proc: 'a', addr: 0x100000000000 });
    expect(cmds[11]).toEqual({ kind: 'maps', line: 12, proc: 'a' });
    expect(cmds[12]).toEqual({ kind: 'frames', line: 13 });
  });

  it('parses every command form', () => {
    const cmds = parseTrace(
      [
        'file f 4096', 'fwrite f 8 4294967295', 'fread f 0x10', 'ftruncate f 0',
        'spawn p', 'fork p q', 'exit q', 'frames', 'reclaim 18446744073709551615',
        'p mmap 0x1000 0x2000 none shared,fixed', 'p mmap 1 2 rwx private,fixed f 0x1000',
        'p mmap 0 0 rx shared f 0',
        'p munmap 0x1000 0x1000', 'p mprotect 0 0 r', 'p mremap 1 2 3', 'p mremap 1 2 3 0x4000',
        'p madvise 0 4096 dontneed', 'p madvise 0 4096 dontfork', 'p madvise 0 4096 dofork',
        'p madvise 0 4096 wipeonfork', 'p madvise 0 4096 keeponfork',
        'p read 0xfffffffffffffffc', 'p write 0 0', 'p maps',
      ].join('\n'),
      'x',
    );
    expect(cmds.map((c) => c.kind)).toEqual([
      'file', 'fwrite', 'fread', 'ftruncate', 'spawn', 'fork', 'exit', 'frames', 'reclaim',
      'mmap', 'mmap', 'mmap', 'munmap', 'mprotect', 'mremap', 'mremap',
      'madvise', 'madvise', 'madvise', 'madvise', 'madvise', 'read', 'write', 'maps',
    ]);
    expect(cmds[8]).toMatchObject({ count: (1n << 64n) - 1n });
    expect(cmds[9]).toMatchObject({ prot: 'none', shared: true, fixed: true });
    expect(cmds[10]).toMatchObject({ prot: 'rwx', shared: false, fixed: true, file: 'f', off: 0x1000n });
    expect(cmds[14]).not.toHaveProperty('newAddr');
    expect(cmds[15]).toMatchObject({ newAddr: 0x4000n });
    expect(cmds.slice(16, 21).map((c) => (c as { advice: string }).advice)).toEqual([
      'dontneed', 'dontfork', 'dofork', 'wipeonfork', 'keeponfork',
    ]);
    expect(cmds[21]).toMatchObject({ addr: 0xfffffffffffffffcn });
    expect(cmds[22]).toMatchObject({ addr: 0 });
    expect(cmds[1]).toMatchObject({ val: 4294967295 });
    expect(typeof (cmds[1] as { val: unknown }).val).toBe('number');
  });

  it('gives an access address as a number below 2^53 and as an exact bigint from 2^53 up', () => {
    const addrs = (toks: string[]): unknown[] =>
      parseTrace(['spawn p', ...toks.map((t, i) => (i % 2 ? `p write ${t} 1` : `p read ${t}`))].join('\n'), 'x')
        .slice(1)
        .map((c) => (c as { addr: unknown }).addr);
    expect(addrs(['9007199254740988', '0x1ffffffffffffc', '9007199254740992', '0x20000000000004', '0x0000000000000000000000001000']))
      .toEqual([2 ** 53 - 4, 2 ** 53 - 4, 2n ** 53n, 2n ** 53n + 4n, 0x1000]);
    expect(addrs(['18446744073709551612', '0xFFFFFFFFFFFFFFFC'])).toEqual([2n ** 64n - 4n, 2n ** 64n - 4n]);
  });

  it('counts blank and comment lines, skips them', () => {
    const cmds = parseTrace('\n# hello\n   \t \nspawn a   # trailing\n\n  a\tmaps\t\n', 'x');
    expect(cmds).toEqual([
      { kind: 'spawn', line: 4, proc: 'a' },
      { kind: 'maps', line: 6, proc: 'a' },
    ]);
  });

  it('accepts \\r\\n line ends and a final line without newline', () => {
    expect(parseTrace('spawn a\r\na maps\r\n\r\n# c\r\nframes', 'x').map((c) => [c.kind, c.line])).toEqual([
      ['spawn', 1], ['maps', 2], ['frames', 5],
    ]);
    expect(parseTrace('spawn a\r', 'x')).toHaveLength(1);
    expect(parseTrace('spawn a \r\n', 'x')).toHaveLength(1);
    expect(parseTrace('', 'x')).toEqual([]);
    expect(parseTrace('\n\n', 'x')).toEqual([]);
  });

  it('treats # anywhere as a comment start, and anything goes inside comments', () => {
    expect(parseTrace('spawn a#x\n', 'x')).toEqual([{ kind: 'spawn', line: 1, proc: 'a' }]);
    const junk = Buffer.from([0x73, 0x70, 0x61, 0x77, 0x6e, 0x20, 0x61, 0x20, 0x23, 0x00, 0xff, 0x0d, 0x80, 0x01, 0x0a]);
    expect(parseTrace(junk, 'x')).toEqual([{ kind: 'spawn', line: 1, proc: 'a' }]);
    expect(parseTrace('#\r\r\r\nspawn a', 'x')).toHaveLength(1);
  });

  it('numbers: decimal, lowercase-0x hex with either-case digits, leading zeros, up to 2^64-1', () => {
    const reclaim = (tok: string): bigint => (parseTrace(`reclaim ${tok}`, 'x')[0] as { count: bigint }).count;
    expect(reclaim('0')).toBe(0n);
    expect(reclaim('00017')).toBe(17n);
    expect(reclaim('0x0')).toBe(0n);
    expect(reclaim('0xAbCdEf')).toBe(0xabcdefn);
    expect(reclaim('0x000000000000000000000000001')).toBe(1n);
    expect(reclaim('18446744073709551615')).toBe((1n << 64n) - 1n);
    expect(reclaim('0xffffffffffffffff')).toBe((1n << 64n) - 1n);
    expect(reclaim('0xFFFFFFFFFFFFFFFF')).toBe((1n << 64n) - 1n);
    expect(reclaim('9007199254740993')).toBe(9007199254740993n);
    expect(reclaim('0x20000000000001')).toBe(0x20000000000001n);
    expect(reclaim('000000000000000000000000018446744073709551615')).toBe((1n << 64n) - 1n);
    expect(err('reclaim 18446744073709551616')).toBe("t.vmt:1: bad number '18446744073709551616'");
    expect(err('reclaim 0x10000000000000000')).toBe("t.vmt:1: bad number '0x10000000000000000'");
    expect(err('reclaim 99999999999999999999')).toBe("t.vmt:1: bad number '99999999999999999999'");
  });

  it('VAL is a number below 2^32', () => {
    const w = parseTrace('spawn a\na write 0 4294967295\na write 0 0xffffffff', 'x');
    expect(w[1]).toMatchObject({ val: 4294967295 });
    expect(w[2]).toMatchObject({ val: 4294967295 });
    expect(line5('a write 0 4294967296')).toBe("t.vmt:5: value out of range '4294967296'");
    expect(line5('a write 0 0x100000000')).toBe("t.vmt:5: value out of range '0x100000000'");
    expect(line5('fwrite f 0 18446744073709551615')).toBe("t.vmt:5: value out of range '18446744073709551615'");
    expect(line5('fwrite f 0 18446744073709551616')).toBe("t.vmt:5: bad number '18446744073709551616'");
  });

  it('keeps the file and process namespaces apart', () => {
    const cmds = parseTrace('file a 0\nspawn a\nfile file 0\na mmap 0 0x1000 r shared a 0\na mmap 0 0x1000 r shared file 0\nfwrite file 0 1', 'x');
    expect(cmds).toHaveLength(6);
    expect(cmds[3]).toMatchObject({ proc: 'a', file: 'a' });
    expect(cmds[4]).toMatchObject({ proc: 'a', file: 'file' });
  });

  it('lets orphans outlive their parents', () => {
    expect(parseTrace('spawn a\nfork a b\nexit a\nfork b c\nb maps\nc maps\nexit c', 'x')).toHaveLength(7);
  });
});

describe('rejections (docs/trace-errors.md)', () => {
  it('invalid character: any byte but 0x21..0x7e, space, tab, final \\r — before anything else', () => {
    expect(err('spawn a\x00')).toBe('t.vmt:1: invalid character');
    expect(err('spawn\x01a')).toBe('t.vmt:1: invalid character');
    expect(err(Buffer.from([0x61, 0x80]))).toBe('t.vmt:1: invalid character');
    expect(err('bogus \x7f')).toBe('t.vmt:1: invalid character');
    expect(err('spawn a\r\r\n')).toBe('t.vmt:1: invalid character');
    expect(err('spawn a\rb\n')).toBe('t.vmt:1: invalid character');
    expect(err('spawn a\r# c\n')).toBe('t.vmt:1: invalid character');
    expect(err('spawn a\n\x0b\n')).toBe('t.vmt:2: invalid character');
    expect(err('spawn a\n\f\n')).toBe('t.vmt:2: invalid character');
    expect(err('spawn \u00e9')).toBe('t.vmt:1: invalid character');
    expect(err('spawn \xff')).toBe('t.vmt:1: invalid character');
    // A character above U+00FF is not silently truncated to a byte.
    expect(err('spawn a\u0161')).toBe('t.vmt:1: invalid character');
    expect(err('spawn a\u0100')).toBe('t.vmt:1: invalid character');
  });

  it('NUL bytes', () => {
    expect(err(Buffer.from('spawn a\n\0\n'))).toBe('t.vmt:2: invalid character');
    expect(err(Buffer.from('spawn a\0\n'))).toBe('t.vmt:1: invalid character');
    expect(err(Buffer.from('spawn a # \0\0\0\nframes\n'))).toBe('OK');
  });

  it('unknown command quotes the second token, or the only one', () => {
    expect(err('bogus')).toBe("t.vmt:1: unknown command 'bogus'");
    expect(err('a bogus')).toBe("t.vmt:1: unknown command 'bogus'");
    expect(err('a')).toBe("t.vmt:1: unknown command 'a'");
    expect(err('maps')).toBe("t.vmt:1: unknown command 'maps'");
    expect(err('a frames')).toBe("t.vmt:1: unknown command 'frames'");
    expect(err('a file f 0')).toBe("t.vmt:1: unknown command 'file'");
    expect(err('123 x y z')).toBe("t.vmt:1: unknown command 'x'");
    expect(err('nobody mmapx 1 2')).toBe("t.vmt:1: unknown command 'mmapx'");
    expect(err('FILE f 0')).toBe("t.vmt:1: unknown command 'f'");
    expect(err('a Maps')).toBe("t.vmt:1: unknown command 'Maps'");
  });

  it('wrong number of arguments, before names are checked', () => {
    const cases: [string, string][] = [
      ['file f', 'file'], ['file f 1 2', 'file'], ['fwrite f 0', 'fwrite'], ['fread f', 'fread'],
      ['ftruncate f', 'ftruncate'], ['spawn', 'spawn'], ['spawn a b', 'spawn'], ['fork a', 'fork'],
      ['fork a b c', 'fork'], ['exit', 'exit'], ['frames 1', 'frames'], ['reclaim', 'reclaim'],
      ['reclaim 1 2', 'reclaim'], ['a mmap 1 2 rw', 'mmap'], ['a mmap 1 2 rw private f', 'mmap'],
      ['a mmap 1 2 rw private f 0 0', 'mmap'], ['a munmap 1', 'munmap'], ['a mprotect 1 2', 'mprotect'],
      ['a mremap 1 2', 'mremap'], ['a mremap 1 2 3 4 5', 'mremap'], ['a madvise 1 2', 'madvise'],
      ['a read', 'read'], ['a read 1 2', 'read'], ['a write 1', 'write'], ['a maps 1', 'maps'],
      ['nobody maps x', 'maps'], ['9 maps x', 'maps'], ['a read 1 2 3 4 5 6 7 8 9 10 11 12', 'read'],
    ];
    for (const [body, cmd] of cases) expect(line5(body), body).toBe(`t.vmt:5: wrong number of arguments for ${cmd}`);
  });

  it('bad name', () => {
    expect(err('spawn 1a')).toBe("t.vmt:1: bad name '1a'");
    expect(err('spawn a-b')).toBe("t.vmt:1: bad name 'a-b'");
    expect(err('file 9 1')).toBe("t.vmt:1: bad name '9'");
    expect(err('9x maps')).toBe("t.vmt:1: bad name '9x'");
    expect(line5('fwrite f.txt 0 0')).toBe("t.vmt:5: bad name 'f.txt'");
    expect(line5('fork a 2b')).toBe("t.vmt:5: bad name '2b'");
    expect(line5('a mmap 0 0x1000 r shared 0f 0')).toBe("t.vmt:5: bad name '0f'");
    expect(line5('exit a,b')).toBe("t.vmt:5: bad name 'a,b'");
    expect(err('spawn _\nspawn _9\nspawn Zz_0')).toBe('OK');
  });

  it('bad number', () => {
    for (const tok of ['0X10', '0x', '-1', '+1', '1e3', '0b1', '0o7', '1.0', 'ten', '0xg', '0x-1', '1_000', '0x 1']) {
      const t = tok.split(' ')[0]!;
      expect(err(`reclaim ${tok.includes(' ') ? t : tok}`), tok).toBe(`t.vmt:1: bad number '${t}'`);
    }
    expect(line5('a mmap 0x1000 bad rw private')).toBe("t.vmt:5: bad number 'bad'");
    expect(line5('a mremap 1 2 3 x')).toBe("t.vmt:5: bad number 'x'");
    expect(line5('ftruncate f 0x')).toBe("t.vmt:5: bad number '0x'");
    expect(line5('a read 0x1002x')).toBe("t.vmt:5: bad number '0x1002x'");
  });

  it('unknown protection, mode, advice', () => {
    expect(line5('a mmap 0 1 RW private')).toBe("t.vmt:5: unknown protection 'RW'");
    expect(line5('a mmap 0 1 wr private')).toBe("t.vmt:5: unknown protection 'wr'");
    expect(line5('a mmap 0 1 x private')).toBe("t.vmt:5: unknown protection 'x'");
    expect(line5('a mprotect 0 1 w')).toBe("t.vmt:5: unknown protection 'w'");
    expect(line5('a mmap 0 1 rw fixed')).toBe("t.vmt:5: unknown mode 'fixed'");
    expect(line5('a mmap 0 1 rw private,')).toBe("t.vmt:5: unknown mode 'private,'");
    expect(line5('a mmap 0 1 rw fixed,private')).toBe("t.vmt:5: unknown mode 'fixed,private'");
    expect(line5('a mmap 0 1 rw PRIVATE')).toBe("t.vmt:5: unknown mode 'PRIVATE'");
    expect(line5('a madvise 0 1 willneed')).toBe("t.vmt:5: unknown advice 'willneed'");
    expect(line5('a madvise 0 1 DONTNEED')).toBe("t.vmt:5: unknown advice 'DONTNEED'");
  });

  it('unaligned address / offset', () => {
    expect(line5('a read 0x1002')).toBe("t.vmt:5: unaligned address '0x1002'");
    expect(line5('a read 18446744073709551615')).toBe("t.vmt:5: unaligned address '18446744073709551615'");
    expect(line5('a write 2 4294967296')).toBe("t.vmt:5: unaligned address '2'");
    expect(line5('fwrite f 6 1')).toBe("t.vmt:5: unaligned offset '6'");
    expect(line5('fread f 0xffffffffffffffff')).toBe("t.vmt:5: unaligned offset '0xffffffffffffffff'");
    expect(line5('a write 4 1\na read 0x10\nfwrite f 0x1004 1\nfread f 8')).toBe('OK');
  });

  it('unknown / exited / existing processes', () => {
    expect(line5('b maps')).toBe("t.vmt:5: unknown process 'b'");
    expect(line5('gone maps')).toBe("t.vmt:5: process 'gone' has exited");
    expect(line5('exit gone')).toBe("t.vmt:5: process 'gone' has exited");
    expect(line5('exit b')).toBe("t.vmt:5: unknown process 'b'");
    expect(line5('fork gone x')).toBe("t.vmt:5: process 'gone' has exited");
    expect(line5('fork b x')).toBe("t.vmt:5: unknown process 'b'");
    expect(line5('spawn a')).toBe("t.vmt:5: process 'a' already exists");
    expect(line5('spawn gone')).toBe("t.vmt:5: process 'gone' already exists");
    expect(line5('fork a a')).toBe("t.vmt:5: process 'a' already exists");
    expect(line5('fork a gone')).toBe("t.vmt:5: process 'gone' already exists");
    expect(line5('exit file')).toBe("t.vmt:5: unknown process 'file'");
  });

  it('process may not be named after a global command', () => {
    for (const c of ['file', 'fwrite', 'fread', 'ftruncate', 'spawn', 'fork', 'exit', 'frames', 'reclaim']) {
      expect(err(`spawn ${c}`)).toBe(`t.vmt:1: process may not be named '${c}'`);
      expect(line5(`fork a ${c}`)).toBe(`t.vmt:5: process may not be named '${c}'`);
    }
    // Process operations are fine as names.
    expect(err('spawn mmap\nspawn maps\nmaps maps\nmmap mmap 0 1 r private')).toBe('OK');
  });

  it('unknown file / file already declared', () => {
    expect(line5('fwrite g 0 1')).toBe("t.vmt:5: unknown file 'g'");
    expect(line5('fread g 0')).toBe("t.vmt:5: unknown file 'g'");
    expect(line5('ftruncate g 0')).toBe("t.vmt:5: unknown file 'g'");
    expect(line5('a mmap 0 1 r shared g 0')).toBe("t.vmt:5: unknown file 'g'");
    expect(line5('file f 0')).toBe("t.vmt:5: file 'f' already declared");
    expect(err('fwrite a 0 0\nfile a 0')).toBe("t.vmt:1: unknown file 'a'");
  });

  it('check order within a line: count, process, then arguments left to right', () => {
    expect(line5('b mmap x y z w')).toBe("t.vmt:5: unknown process 'b'");
    expect(line5('1b mmap x y z w')).toBe("t.vmt:5: bad name '1b'");
    expect(line5('a mmap x y z w')).toBe("t.vmt:5: bad number 'x'");
    expect(line5('a mmap 0 y z w')).toBe("t.vmt:5: bad number 'y'");
    expect(line5('a mmap 0 0 z w')).toBe("t.vmt:5: unknown protection 'z'");
    expect(line5('a mmap 0 0 r w g 0')).toBe("t.vmt:5: unknown mode 'w'");
    expect(line5('a mmap 0 0 r private 1g x')).toBe("t.vmt:5: bad name '1g'");
    expect(line5('a mmap 0 0 r private g x')).toBe("t.vmt:5: unknown file 'g'");
    expect(line5('a mmap 0 0 r private f x')).toBe("t.vmt:5: bad number 'x'");
    expect(line5('a mprotect 1 x bad')).toBe("t.vmt:5: bad number 'x'");
    expect(line5('a madvise x 1 bad')).toBe("t.vmt:5: bad number 'x'");
    expect(line5('a mremap 1 2 x 1.5')).toBe("t.vmt:5: bad number 'x'");
    expect(line5('a write 0x3 x')).toBe("t.vmt:5: unaligned address '0x3'");
    expect(line5('a write 0x4 x')).toBe("t.vmt:5: bad number 'x'");
    expect(line5('fwrite g 3 x')).toBe("t.vmt:5: unknown file 'g'");
    expect(line5('fwrite f 3 x')).toBe("t.vmt:5: unaligned offset '3'");
    expect(line5('fwrite f 4 x')).toBe("t.vmt:5: bad number 'x'");
    expect(line5('file f x')).toBe("t.vmt:5: file 'f' already declared");
    expect(line5('file 1f x')).toBe("t.vmt:5: bad name '1f'");
    expect(line5('file g x')).toBe("t.vmt:5: bad number 'x'");
    expect(line5('fork b 1x')).toBe("t.vmt:5: unknown process 'b'");
    expect(line5('fork 1b x')).toBe("t.vmt:5: bad name '1b'");
    expect(line5('spawn 1file')).toBe("t.vmt:5: bad name '1file'");
    expect(line5('fork a 1file')).toBe("t.vmt:5: bad name '1file'");
    expect(line5('reclaim 0x1q')).toBe("t.vmt:5: bad number '0x1q'");
  });

  it('reports the first bad line, counting every line', () => {
    expect(err('\n# c\n\nspawn a\na bogus\nb bogus\n')).toBe("t.vmt:5: unknown command 'bogus'");
    expect(err('spawn a\r\n\r\na maps x\r\n')).toBe('t.vmt:3: wrong number of arguments for maps');
    expect(err('spawn a\nspawn b\n', '<stdin>')).toBe('OK');
    expect(err('spawn a\nspawn a\n', '<stdin>')).toBe("<stdin>:2: process 'a' already exists");
  });

  it('quotes tokens sanitised and truncated to 32 bytes', () => {
    const long = 'x'.repeat(33);
    expect(err(`a ${long}`)).toBe(`t.vmt:1: unknown command '${'x'.repeat(32)}...'`);
    expect(err(`a ${'y'.repeat(32)}`)).toBe(`t.vmt:1: unknown command '${'y'.repeat(32)}'`);
    expect(err(`spawn ${'A'.repeat(40)}\nspawn ${'A'.repeat(40)}`)).toBe(
      `t.vmt:2: process '${'A'.repeat(32)}...' already exists`,
    );
    expect(sanitizeToken(Buffer.from([0x00, 0x20, 0x41, 0x7e, 0x7f, 0xff, 0x0a]))).toBe('\\x00\\x20A~\\x7f\\xff\\x0a');
    expect(sanitizeToken(Buffer.alloc(40, 0x80))).toBe('\\x80'.repeat(32) + '...');
    expect(sanitizeToken(Buffer.from("it's"))).toBe("it's");
  });

  it('throws TraceError with file, line and detail', () => {
    try {
      parseTrace('spawn a\nspawn a', 'dir/x.vmt');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(TraceError);
      const t = e as TraceError;
      expect([t.file, t.line, t.detail]).toEqual(['dir/x.vmt', 2, "process 'a' already exists"]);
      expect(String(t)).toContain("dir/x.vmt:2: process 'a' already exists");
    }
  });
});

// Huge inputs are handled (the parser never backtracks; how fast is
// `npm run bench`'s and `npm run fuzz`'s business, not a timed test's).
describe('big inputs', () => {
  const MB10 = 10 * 1024 * 1024;
  it('a 10 MB token is rejected with its first 32 bytes', () => {
    expect(err(Buffer.alloc(MB10, 0x61))).toBe(`t.vmt:1: unknown command '${'a'.repeat(32)}...'`);
    expect(err(Buffer.concat([Buffer.from('reclaim '), Buffer.alloc(MB10, 0x39)]))).toBe(
      `t.vmt:1: bad number '${'9'.repeat(32)}...'`,
    );
    expect(err(Buffer.concat([Buffer.from('spawn a\na write 0x0 '), Buffer.alloc(MB10, 0x31)]))).toBe(
      `t.vmt:2: bad number '${'1'.repeat(32)}...'`,
    );
  });

  it('a 10 MB line of many tokens, of spaces, of a comment, of leading zeros', () => {
    expect(err(Buffer.from('spawn a\na read' + ' 0'.repeat(MB10 / 2)))).toBe('t.vmt:2: wrong number of arguments for read');
    expect(err(Buffer.from('spawn' + ' '.repeat(MB10) + 'a'))).toBe('OK');
    expect(err(Buffer.from('spawn a #' + '#\x00\xff'.repeat(MB10 / 3)))).toBe('OK');
    const zeros = parseTrace(Buffer.concat([Buffer.from('reclaim 0x'), Buffer.alloc(MB10, 0x30), Buffer.from('1')]), 'x');
    expect(zeros[0]).toMatchObject({ count: 1n });
    expect(err(Buffer.concat([Buffer.from('spawn '), Buffer.alloc(MB10, 0x62), Buffer.from('\nspawn '), Buffer.alloc(MB10, 0x62)]))).toBe(
      `t.vmt:2: process '${'b'.repeat(32)}...' already exists`,
    );
    expect(err(Buffer.concat([Buffer.from('spawn a\n'), Buffer.alloc(MB10, 0x0a), Buffer.from('a bogus')]))).toBe(
      `t.vmt:${MB10 + 2}: unknown command 'bogus'`,
    );
  });

  it('a 2M-line trace parses', () => {
    const lines = ['spawn a', 'file f 0x1000'];
    for (let i = 0; i < 1_000_000; i++) lines.push(`a write 0x${(0x100000000000 + i * 4).toString(16)} ${i}`, 'a read 0x100000000000');
    const buf = Buffer.from(lines.join('\n'));
    const cmds = parseTrace(buf, 'x');
    expect(cmds).toHaveLength(2_000_002);
    expect(cmds[2_000_001]).toEqual({ kind: 'read', line: 2_000_002, proc: 'a', addr: 0x100000000000 });
  });
});

// ---- properties ------------------------------------------------------------

/** Tokens that are likely to make sense somewhere, and some that never do. */
const tokenArb = fc.oneof(
  fc.constantFrom(
    'file', 'fwrite', 'fread', 'ftruncate', 'spawn', 'fork', 'exit', 'frames', 'reclaim',
    'mmap', 'munmap', 'mprotect', 'mremap', 'madvise', 'read', 'write', 'maps',
    'a', 'b', 'c', 'f', 'g', 'none', 'r', 'rw', 'rx', 'rwx', 'private', 'shared', 'private,fixed', 'shared,fixed',
    'dontneed', 'dontfork', 'dofork', 'wipeonfork', 'keeponfork',
    '0', '4', '0x1000', '0x100000000000', '4294967295', '4294967296', '18446744073709551615', '18446744073709551616',
    '0xffffffffffffffff', '0X1', '#', '# comment', '007', '3',
  ),
  fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,3}$/),
  fc.bigInt({ min: 0n, max: (1n << 64n) + 5n }).map((n) => (n % 2n ? n.toString() : `0x${n.toString(16)}`)),
);
const sepArb = fc.constantFrom(' ', '  ', '\t', ' \t ');
const lineArb = fc
  .tuple(fc.array(tokenArb, { minLength: 0, maxLength: 8 }), sepArb, fc.constantFrom('', '\r', ' # x', '\t#\x00\xff'))
  .map(([toks, sep, tail]) => toks.join(sep) + tail);
const traceArb = fc.array(lineArb, { maxLength: 40 }).map((ls) => ls.join('\n'));

describe('properties', () => {
  it('parseTrace throws nothing but TraceError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          parseTrace(Buffer.from(bytes), 'x');
        } catch (e) {
          if (!(e instanceof TraceError)) throw e;
          expect(e.message).toMatch(/^x:\d+: \S/);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('parseTrace throws nothing but TraceError on token soup, and accepted soup round-trips', () => {
    let accepted = 0;
    fc.assert(
      fc.property(traceArb, (text) => {
        let cmds: Command[];
        try {
          cmds = parseTrace(text, 'x');
        } catch (e) {
          if (!(e instanceof TraceError)) throw e;
          expect(e.line).toBeGreaterThanOrEqual(1);
          expect(e.line).toBeLessThanOrEqual(text.split('\n').length);
          // Every line before the bad one is fine on its own terms.
          const prefix = text.split('\n').slice(0, e.line - 1).join('\n');
          expect(() => parseTrace(prefix, 'x')).not.toThrow();
          return;
        }
        accepted++;
        expect(parseTrace(printTrace(cmds), 'y')).toEqual(renumber(cmds));
      }),
      { numRuns: 3000 },
    );
    expect(accepted).toBeGreaterThan(0);
  });

  it('printTrace/parseTrace round-trips generated traces', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.constantFrom('mixed', 'forky', 'files', 'remap' as const),
        fc.boolean(),
        (seed, profile, quirks) => {
          const text = generateTrace({ seed, ops: 150, profile, quirks });
          const cmds = parseTrace(text, 'g');
          const printed = printTrace(cmds);
          const again = parseTrace(printed, 'p');
          expect(again).toEqual(renumber(cmds));
          expect(printTrace(again)).toBe(printed);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('printCommand prints canonical hex and decimal VAL', () => {
    const [f, w, m, r] = parseTrace('file f 4096\nspawn a\na write 4096 0x10\na mmap 1 2 rw shared,fixed f 12\nreclaim 0x10', 'x').filter((c) => c.kind !== 'spawn');
    expect(printCommand(f!)).toBe('file f 0x1000');
    expect(printCommand(w!)).toBe('a write 0x1000 16');
    expect(printCommand(m!)).toBe('a mmap 0x1 0x2 rw shared,fixed f 0xc');
    expect(printCommand(r!)).toBe('reclaim 16');
  });
});

// ---- the native runner rejects the same traces with the same messages ----

const oracle = kernelOracleAvailable();

describe(`same rejections as build/vmrun${oracle.ok ? '' : ` — unavailable: ${oracle.why}`}`, () => {
  it.runIf(oracle.ok)('on token soup and junk bytes: same status 2, same message', async () => {
    const samples = fc.sample(
      fc.oneof(
        traceArb.map((t) => Buffer.from(`spawn a\nfile f 0x1000\nspawn gone\nexit gone\n${t}`, 'latin1')),
        fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.concat([Buffer.from('spawn a\n'), Buffer.from(b)])),
      ),
      { numRuns: 250, seed: 20240 },
    );
    let rejected = 0;
    for (const bytes of samples) {
      let mine = '';
      try {
        parseTrace(bytes, 'soup.vmt');
      } catch (e) {
        if (!(e instanceof TraceError)) throw e;
        mine = `${e.message}\n`;
      }
      const k = await runOnKernel(bytes, 'soup.vmt', { timeoutMs: 20_000 });
      const what = JSON.stringify(bytes.toString('latin1'));
      if (mine !== '') {
        rejected++;
        expect(k.status, what).toBe(2);
        expect(k.stderr, what).toBe(mine);
      } else {
        expect(k.status, what).not.toBe(2);
      }
    }
    expect(rejected).toBeGreaterThan(100);
  }, 300_000);
});

describe('numbers', () => {
  it('a read address in hex (any digit count, leading zeros, either case) or decimal is its value: a number below 2^53, else a bigint', () => {
    // Against BigInt's own parse of the same digits: the parser's fast
    // paths (hex in two int32 halves up to 13 digits, decimal in a double
    // up to 15) and its BigInt path must agree with it at every length.
    fc.assert(
      fc.property(
        // Every bit length equally often (a plain bigInt() is mostly huge).
        fc.integer({ min: 0, max: 62 }).chain((bits) => fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n })).map((n) => n * 4n),
        fc.nat(3),
        fc.constantFrom('hex', 'HEX', 'dec'),
        (v, zeros, base) => {
          const digits = base === 'dec' ? v.toString() : base === 'hex' ? v.toString(16) : v.toString(16).toUpperCase();
          const token = (base === 'dec' ? '' : '0x') + '0'.repeat(zeros) + digits;
          const c = parseTrace(`spawn a\na read ${token}\n`, 't.vmt')[1] as Extract<Command, { kind: 'read' }>;
          expect(c.addr).toStrictEqual(v < 2n ** 53n ? Number(v) : v);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
