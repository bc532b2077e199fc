// The conversion of recorder events into vmtrace (src/record/convert.ts),
// on hand-written event streams: needs no kernel features, runs everywhere.
// Expectations follow from the event format (native/record.c's header) and
// the trace language, not from the converter's output.

import { describe, expect, it } from 'vitest';
import { Converter, Relocation } from '../src/record/convert.js';
import { parseTrace } from '../src/trace/parse.js';

const TIB = 2 ** 40;

function convert(events: string[]): { text: string; commands: string[]; notes: Map<string, number>; partial: boolean } {
  const c = new Converter({ command: ['prog', 'a b'], kernel: 'Linux test', date: '2026-01-01T00:00:00Z', aslr: false });
  for (const e of events) c.feed(e);
  const r = c.finish();
  return {
    text: r.text,
    commands: r.text.split('\n').filter((l) => l !== '' && !l.startsWith('#')),
    notes: r.notRecorded,
    partial: r.partial,
  };
}

/** A new mm 1 with a stack and nothing else. */
const EXEC = [
  'E 1 100 0x555555560000 /usr/bin/prog',
  'M 1 0x7ffffffde000 0x7ffffffff000 rw-p 0x0 s 0x0 0x21000 [stack]',
];

describe('Relocation', () => {
  it('keeps offsets inside a 1 TiB block and puts block b at window block b mod 16', () => {
    const r = new Relocation();
    expect(r.addr(0x7ffff7fff000)).toBe(0x1ffff7fff000);
    expect(r.addr(0x555555554000)).toBe(0x155555554000);
    expect(r.addr(0x400000)).toBe(0x100000400000);
  });
  it('gives a block whose place is taken the first free one', () => {
    const r = new Relocation();
    expect(r.addr(0x10 * TIB)).toBe(0x100000000000); // 0x10 mod 16 = 0
    expect(r.addr(0x1000)).toBe(0x100000000000 + TIB + 0x1000); // block 0: slot 0 taken, slot 1 free
  });
  it('refuses a range whose blocks cannot lie side by side, and a 17th block', () => {
    const r = new Relocation();
    expect(r.range(0x7f * TIB - 0x1000, 0x2000)).toBe(0x100000000000 + 0xe * TIB + TIB - 0x1000);
    const full = new Relocation();
    for (let b = 0; b < 16; b++) expect(full.addr(b * TIB)).toBeDefined();
    expect(full.addr(16 * TIB)).toBeUndefined();
    expect(full.addr(2 ** 47)).toBeUndefined();
  });
});

describe('Converter', () => {
  it('spawns at exec with the mappings, forks and exits per mm; the result parses', () => {
    const r = convert([...EXEC, 'F 1 2', 'X 2', 'X 1', 'R exit 0']);
    expect(r.commands).toEqual([
      'spawn p1',
      'p1 mmap 0x1ffffffde000 0x21000 rw private',
      'fork p1 p2',
      'exit p2',
      'exit p1',
    ]);
    expect(r.partial).toBe(false);
    expect(r.text).toMatch(/^# vmtrace v1 recorded by `vmtree record` from: prog 'a b'\n# kernel: Linux test; date: 2026-01-01T00:00:00Z; ASLR off\n/);
    expect(() => parseTrace(r.text, 'r.vmt')).not.toThrow();
  });

  it('maps a file with its size and names it from its path; a changed size is an ftruncate', () => {
    const r = convert([
      ...EXEC,
      // mmap(0, 0x1800, PROT_READ, MAP_PRIVATE, 3, 0x1000) = 0x7ffff7fc0000
      'S 1 mmap 0x0 0x1800 0x1 0x2 0x3 0x1000 140737353875456 f 0x99 0x3000 0xfe00 /usr/lib/libfoo.so.1',
      'S 1 mmap 0x0 0x1000 0x3 0x1 0x3 0x0 140737353871360 f 0x99 0x5000 0xfe00 /usr/lib/libfoo.so.1',
    ]);
    expect(r.commands.slice(2)).toEqual([
      'file libfoo_so_1 0x3000',
      'p1 mmap 0x1ffff7fc0000 0x2000 r private libfoo_so_1 0x1000',
      'ftruncate libfoo_so_1 0x5000',
      'p1 mmap 0x1ffff7fbf000 0x1000 rw shared libfoo_so_1 0x0',
    ]);
  });

  it('turns brk into anonymous mmap and munmap of whole pages', () => {
    const r = convert([...EXEC, 'S 1 brk 0x0 0x0 0x0 0x0 0x0 0x0 93824992280576', 'S 1 brk 0x555555562100 0x0 0x0 0x0 0x0 0x0 93824992289024',
      'S 1 brk 0x555555561000 0x0 0x0 0x0 0x0 0x0 93824992284672']);
    // 0x555555560000 -> 0x555555562100 (pages up to 0x555555563000), then back to 0x555555561000
    expect(r.commands.slice(2)).toEqual([
      'p1 mmap 0x155555560000 0x3000 rw private',
      'p1 munmap 0x155555561000 0x2000',
    ]);
  });

  it('touches: a new anonymous page is a write, the zero page or a private file page a read; a write again after nothing is left out', () => {
    const r = convert([
      ...EXEC,
      'T 1 0x7fffffffd000 0x7ffffffff000 n',
      'T 1 0x7ffffffde000 0x7ffffffdf000 nz',
      'T 1 0x7fffffffe000 0x7ffffffff000 w',
    ]);
    expect(r.commands.slice(2)).toEqual([
      'p1 write 0x1fffffffd000 1',
      'p1 write 0x1fffffffe000 2',
      'p1 read 0x1ffffffde000',
    ]);
  });

  it('after a fork the parent\'s next write to a page is kept (it copies on write)', () => {
    const r = convert([...EXEC, 'T 1 0x7fffffffe000 0x7ffffffff000 nw', 'F 1 2', 'T 1 0x7fffffffe000 0x7ffffffff000 w']);
    expect(r.commands.slice(2)).toEqual(['p1 write 0x1fffffffe000 1', 'fork p1 p2', 'p1 write 0x1fffffffe000 2']);
  });

  it('the stack growing down becomes an anonymous mapping below it', () => {
    const r = convert([...EXEC, 'G 1 0x7ffffffdc000 0x7ffffffde000', 'T 1 0x7ffffffdc000 0x7ffffffdd000 nw']);
    expect(r.commands.slice(2)).toEqual(['p1 mmap 0x1ffffffdc000 0x2000 rw private', 'p1 write 0x1ffffffdc000 1']);
  });

  it('says what vmtrace cannot express: MADV_FREE, write-only protection, MAP_GROWSDOWN, shm; failed calls are comments', () => {
    const r = convert([
      ...EXEC,
      'S 1 mmap 0x0 0x1000 0x2 0x22 0xffffffff 0x0 140737353875456', // PROT_WRITE only
      'S 1 madvise 0x7ffff7fc0000 0x1000 0x8 0x0 0x0 0x0 0', // MADV_FREE
      'S 1 mmap 0x0 0x1000 0x3 0x122 0xffffffff 0x0 140737353871360', // MAP_GROWSDOWN
      'S 1 shmat 0x5 0x0 0x0 0x0 0x0 0x0 140737353867264',
      'S 1 munmap 0x7ffff7fc0001 0x1000 0x0 0x0 0x0 0x0 -22',
    ]);
    expect(r.commands.slice(2)).toEqual([
      'p1 mmap 0x1ffff7fc0000 0x1000 rw private',
      'p1 mmap 0x1ffff7fbf000 0x1000 rw private',
    ]);
    expect(r.text).toMatch(/# not recorded: p1: protection 0x2 has no vmtrace name/);
    expect(r.text).toMatch(/# not recorded: p1: madvise\(0x7ffff7fc0000, .*\) = 0x0: MADV_FREE \(no-op here/);
    expect(r.text).toMatch(/# not recorded: p1: MAP_GROWSDOWN of mmap/);
    expect(r.text).toMatch(/# not recorded: p1: shmat\(/);
    expect(r.text).toMatch(/# p1: munmap\(0x7ffff7fc0001, .*\) = EINVAL \(failed; not replayed\)/);
    expect(r.notes.get('shmat calls')).toBe(1);
  });

  it('a touch outside every recorded mapping is counted, not written', () => {
    const r = convert([...EXEC, 'T 1 0x7ffff7000000 0x7ffff7002000 nw']);
    expect(r.commands).toHaveLength(2);
    expect(r.notes.get('touched pages outside the recorded mappings')).toBe(2);
  });

  it('a recording without its end, or killed by a signal, is partial', () => {
    expect(convert([...EXEC]).partial).toBe(true);
    const k = convert([...EXEC, 'X 1', 'R signal 9']);
    expect(k.partial).toBe(true);
    expect(k.text.split('\n')[0]).toBe('# PARTIAL TRACE: the program was killed by signal 9');
  });
});
