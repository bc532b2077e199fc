// The native kernel runner (native/vmrun/ via src/oracle/native.ts):
// the spec's example, hand-written traces whose results follow from Linux's
// documented rules (test/golden/native/*.vmt + *.out), bad input, and
// portability refusals. Needs Linux x86-64, a C compiler and root (real PFNs
// in /proc/self/pagemap). Without them the tests are skipped, except under
// CI=true, where a missing oracle is a failure.
//
// The .out files and the spec's output are stock Linux's (with the shared
// zero page). On a kernel without it (the runner's probe says so), what the
// kernel must print is the naive reference model's output in that mode.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureNativeRunner, probeKernel, runOnKernel } from '../src/oracle/native.js';
import { parseTrace } from '../src/trace/parse.js';
import { kernelOracle } from './helpers.js';
import { runNaive } from './naive/model.js';
import { formatResults } from './naive/trace-text.js';
import { SPEC_EXAMPLE, SPEC_EXAMPLE_OUTPUT } from './spec-example.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const GOLDEN = path.join(HERE, 'golden', 'native');

const avail = kernelOracle('native kernel runner', 'test/native.test.ts');
const zeroPage = avail.ok ? (await probeKernel()).zeroPage : true;

/** What this kernel must print for a trace whose stock Linux output is `stock`. */
function onThisHost(trace: string, stock: string): string {
  if (zeroPage) return stock;
  const cmds = parseTrace(Buffer.from(trace, 'latin1'), 't.vmt');
  return formatResults(cmds, runNaive(cmds, { zeroPage: false }));
}



const goldenNames = readdirSync(GOLDEN).filter((f) => f.endsWith('.vmt')).sort();

/** [trace, expected message] with FILE = t.vmt; every one exits 2 with an empty stdout. */
const BAD: [string, string][] = [
  ['spawn a\nbogus\n', "t.vmt:2: unknown command 'bogus'"],
  ['spawn a\na\n', "t.vmt:2: unknown command 'a'"],
  ['spawn a\na mmapp 0 0\n', "t.vmt:2: unknown command 'mmapp'"],
  ['123 foo\n', "t.vmt:1: unknown command 'foo'"],
  ['spawn a\na mmap 0x100000000000 0x1000 rw\n', 't.vmt:2: wrong number of arguments for mmap'],
  ['spawn a\na mmap 0 0 rw private data\n', 't.vmt:2: wrong number of arguments for mmap'],
  ['frames now\n', 't.vmt:1: wrong number of arguments for frames'],
  ['nobody mremap 0 0\n', 't.vmt:1: wrong number of arguments for mremap'],
  ['spawn 1a\n', "t.vmt:1: bad name '1a'"],
  ['spawn a-b\n', "t.vmt:1: bad name 'a-b'"],
  ['spawn frames\n', "t.vmt:1: process may not be named 'frames'"],
  ['spawn a\nspawn a\n', "t.vmt:2: process 'a' already exists"],
  ['spawn a\nexit a\nspawn a\n', "t.vmt:3: process 'a' already exists"],
  ['spawn a\nexit a\na maps\n', "t.vmt:3: process 'a' has exited"],
  ['b maps\n', "t.vmt:1: unknown process 'b'"],
  ['spawn a\nfork a a\n', "t.vmt:2: process 'a' already exists"],
  ['spawn a\nfork b c\n', "t.vmt:2: unknown process 'b'"],
  ['spawn a\nfork a spawn\n', "t.vmt:2: process may not be named 'spawn'"],
  ['spawn a\na read 18446744073709551616\n', "t.vmt:2: bad number '18446744073709551616'"],
  ['spawn a\na read 0x10000000000000000\n', "t.vmt:2: bad number '0x10000000000000000'"],
  ['spawn a\na read 0X10\n', "t.vmt:2: bad number '0X10'"],
  ['spawn a\na read 0x\n', "t.vmt:2: bad number '0x'"],
  ['spawn a\na read -4\n', "t.vmt:2: bad number '-4'"],
  ['spawn a\na read 0x100000000002\n', "t.vmt:2: unaligned address '0x100000000002'"],
  ['spawn a\na write 0x100000000000 4294967296\n', "t.vmt:2: value out of range '4294967296'"],
  ['spawn a\na write 0x100000000001 4294967296\n', "t.vmt:2: unaligned address '0x100000000001'"],
  ['spawn a\na mmap 0 0x1000 w private\n', "t.vmt:2: unknown protection 'w'"],
  ['spawn a\na mmap 0 0x1000 r fixed\n', "t.vmt:2: unknown mode 'fixed'"],
  ['spawn a\na mmap x 0x1000 w fixed\n', "t.vmt:2: bad number 'x'"],
  ['spawn a\na madvise 0 0x1000 free\n', "t.vmt:2: unknown advice 'free'"],
  ['spawn a\na mmap 0 0x1000 r shared data 0\n', "t.vmt:2: unknown file 'data'"],
  ['file data 0\nfile data 0\n', "t.vmt:2: file 'data' already declared"],
  ['file data 0\nfwrite data 2 0\n', "t.vmt:2: unaligned offset '2'"],
  ['file data 0\nfread data 0x6\n', "t.vmt:2: unaligned offset '0x6'"],
  ['file data 0\nfwrite data 4 0x100000000\n', "t.vmt:2: value out of range '0x100000000'"],
  ['spawn a\na maps\x00\n', 't.vmt:2: invalid character'],
  ['spawn a\r\r\n', 't.vmt:1: invalid character'],
  ['spawn a\ra\n', 't.vmt:1: invalid character'],
  ['spawn \xe9\n', 't.vmt:1: invalid character'],
  ['# fine \x00\xff\x01\r\r\nbogus\r\n', "t.vmt:2: unknown command 'bogus'"],
  [`spawn ${'x'.repeat(40)}\nfork ${'x'.repeat(40)} ${'9'.repeat(33)}\n`, `t.vmt:2: bad name '${'9'.repeat(32)}...'`],
  // everything is validated before anything runs: an error on the last line, no output at all
  ['spawn a\na mmap 0x100000000000 0x1000 rw private\na write 0x100000000000 1\nframes\nexit a\nexit a\n',
    "t.vmt:6: process 'a' has exited"],
];

describe.skipIf(!avail.ok)('native kernel runner', () => {
  beforeAll(async () => {
    await ensureNativeRunner();
  });

  it('runs the spec example and prints exactly its output', async () => {
    const r = await runOnKernel(SPEC_EXAMPLE, 'example.vmt');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(onThisHost(SPEC_EXAMPLE, SPEC_EXAMPLE_OUTPUT));
  });

  it('accepts \\r\\n line ends and a missing final newline', async () => {
    const crlf = SPEC_EXAMPLE.replace(/\n/g, '\r\n').replace(/\r\n$/, '');
    const r = await runOnKernel(crlf);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(onThisHost(SPEC_EXAMPLE, SPEC_EXAMPLE_OUTPUT));
  });

  for (const f of goldenNames) {
    it(`golden ${f}`, async () => {
      const trace = readFileSync(path.join(GOLDEN, f), 'latin1');
      const want = readFileSync(path.join(GOLDEN, f.replace(/\.vmt$/, '.out')), 'latin1');
      const r = await runOnKernel(trace, f);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(onThisHost(trace, want));
    });
  }

  it('an exited process is reaped and its children live on', async () => {
    const r = await runOnKernel(
      [
        'spawn a',
        'a mmap 0x100000000000 0x1000 rw shared',
        'fork a b',
        'fork b c',
        'exit b', // reaped by a
        'exit a', // reaped by the runner; c was reparented to it
        'c write 0x100000000000 9',
        'fork c d',
        'exit c',
        'd read 0x100000000000',
        'd maps',
        'exit d',
        'spawn e',
        'e maps',
        'frames',
      ].join('\n'),
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      ['1 ok', '2 ok', '3 ok', '4 ok', '5 ok', '6 ok', '7 ok', '8 ok', '9 ok', '10 9', '11 maps d',
        '  0x100000000000-0x100000001000 rw-s anon', '12 ok', '13 ok', '14 maps e', '15 frames', ''].join('\n'),
    );
  });

  describe('bad input: exit 2, one line on stderr, nothing on stdout', () => {
    for (const [trace, msg] of BAD) {
      it(JSON.stringify(trace.length > 60 ? `${trace.slice(0, 60)}...` : trace), async () => {
        const r = await runOnKernel(trace, 't.vmt');
        expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 2, stdout: '', stderr: `${msg}\n` });
      });
    }

    it('names stdin <stdin>', async () => {
      const r = await runOnKernel('spawn a\nspawn a\n');
      expect(r.status).toBe(2);
      expect(r.stderr).toBe("<stdin>:2: process 'a' already exists\n");
    });

    it('survives binary junk, NUL bytes and a 10 MB line', async () => {
      const junk = Buffer.alloc(1 << 16);
      for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919 + 13) & 0xff;
      let r = await runOnKernel(junk, 'junk.vmt');
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^junk\.vmt:\d+: [^\n]+\n$/);

      const big = Buffer.concat([
        Buffer.from('spawn a\n# '), Buffer.alloc(5_000_000, 0), Buffer.from('\na read 0x'),
        Buffer.alloc(10_000_000, '0'), Buffer.from('2\n'),
      ]);
      r = await runOnKernel(big, 'big.vmt');
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`big.vmt:3: unaligned address '0x${'0'.repeat(30)}...'\n`);
      expect(r.status).toBe(2);

      r = await runOnKernel(`spawn a\na read ${'9'.repeat(10_000_000)}\n`, 'big.vmt');
      expect(r.stderr).toBe(`big.vmt:2: bad number '${'9'.repeat(32)}...'\n`);
      expect(r.status).toBe(2);
    });
  });

  describe('portability', () => {
    it('refuses (exit 3) a call that would change memory outside the window', async () => {
      for (const line of [
        'p mmap 0x1000 0x1000 rw private',
        'p mmap 0x1ffffffff000 0x2000 rw private',
        'p munmap 0x7f0000000000 0x1000',
        'p mprotect 0x400000 0x1000 none',
        'p madvise 0x400000 0x1000 dontneed',
        'p mremap 0x100000000000 0x1000 0x1000 0x300000000000',
        'p read 0x400000',
        'p write 0x7ffffff00000 1',
      ]) {
        const r = await runOnKernel(`spawn p\np mmap 0x100000000000 0x1000 rw private\n${line}\np maps\n`);
        expect(r.status, line).toBe(3);
        expect(r.stdout, line).toBe('1 ok\n2 ok\n');
        expect(r.stderr, line).toMatch(/^<stdin>:3: not portable: .+\n$/);
      }
    });
  });
});
