// `vmtree record` on real programs (src/record/, native/record.c).
//
//  - Small C programs of known behaviour (test/record/*.c: fork + COW,
//    mremap, madvise, brk, threads, vfork + exec) are recorded; the part of
//    each trace about the program's own mapping must be what its source
//    says it does.
//  - Every recording (those, and the corpus in examples/real) is replayed on
//    the simulator and on the kernel runner: identical output required, and
//    every design prints the same.
//  - With --maps-at-exit the recorder inserts `P maps` before each exit;
//    the replayed maps must equal the real /proc/PID/maps at that moment
//    (relocated into the window), on the simulator and on the kernel.
//
// Needs Linux >= 6.7 on x86-64 with userfaultfd WP_ASYNC and PAGEMAP_SCAN,
// a C compiler, and for the replay the kernel oracle (root). Without them
// the tests are skipped with a message, except under CI=true, where a
// missing prerequisite is a failure.

import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESIGNS } from '../src/anon/index.js';
import { Machine } from '../src/machine.js';
import { kernelOracleAvailable, runOnKernel } from '../src/oracle/native.js';
import { corpusNames, corpusPath, readTraceFile } from '../src/record/corpus.js';
import { record, recorderAvailable, type RecordResult } from '../src/record/record.js';
import { parseTrace } from '../src/trace/parse.js';
import { cli } from './helpers.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SOURCES = path.join(HERE, 'record');
const required = process.env.CI === 'true';

const recAvail = await recorderAvailable();
const oracle = kernelOracleAvailable();
const cc = process.env.CC && process.env.CC.trim() !== '' ? process.env.CC.trim() : 'cc';
const haveCc = spawnSync('sh', ['-c', 'command -v "$1" >/dev/null 2>&1', 'sh', cc]).status === 0;
const canRecord = recAvail.ok && haveCc;

if (!canRecord) {
  const why = recAvail.ok ? `no C compiler ('${cc}')` : recAvail.why;
  if (required) {
    describe('vmtree record', () => {
      it('can record on this machine (required when CI=true)', () => {
        throw new Error(`cannot record here: ${why}`);
      });
    });
  } else {
    console.warn(`test/record.test.ts: recording tests skipped: ${why}`);
  }
}
if (!oracle.ok) {
  if (required) {
    describe('recordings on the kernel', () => {
      it('kernel oracle available (required when CI=true)', () => {
        throw new Error(`kernel oracle unavailable: ${oracle.why}`);
      });
    });
  } else {
    console.warn(`test/record.test.ts: kernel replay skipped: ${oracle.why}`);
  }
}

// ---------------------------------------------------------------- helpers

/** The window address of a real address, with the default block placement (block b -> window block b mod 16). */
function reloc(a: number): number {
  const TIB = 2 ** 40;
  return 0x100000000000 + (Math.floor(a / TIB) % 16) * TIB + (a % TIB);
}
const hex = (n: number): string => `0x${n.toString(16)}`;

/** Output of a trace on the simulator, one result block per command, keyed by line number. */
function simBlocks(text: string, design = 'tree'): Map<number, string> {
  const m = new Machine({ design });
  const out = new Map<number, string>();
  for (const c of parseTrace(text, 'rec.vmt')) out.set(c.line, m.exec(c));
  return out;
}

function simText(text: string, design = 'tree'): string {
  return [...simBlocks(text, design)].map(([l, r]) => `${l} ${r}\n`).join('');
}

/** Kernel output split into result blocks by line number. */
function kernelBlocks(stdout: string): Map<number, string> {
  const out = new Map<number, string>();
  let cur = -1;
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const m = /^(\d+) (.*)$/.exec(line);
    if (m) {
      cur = Number(m[1]);
      out.set(cur, m[2]!);
    } else {
      out.set(cur, `${out.get(cur)}\n${line}`);
    }
  }
  return out;
}

/** The commands of a trace (no comments), with write values dropped. */
function commandLines(text: string): string[] {
  return text.split('\n')
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter((l) => l !== '')
    .map((l) => l.replace(/^(\S+ write \S+) \d+$/, '$1'));
}

/**
 * The commands about [lo, hi) (window addresses) from the program's first
 * mmap there on (earlier, ld.so and libc may have used the same addresses),
 * plus spawn/fork/exit.
 */
function about(text: string, ranges: [number, number][]): string[] {
  let started = false;
  return commandLines(text).filter((l) => {
    if (/^(spawn|fork|exit) /.test(l)) return true;
    const m = /^\S+ (mmap|munmap|mprotect|mremap|madvise|read|write) (0x[0-9a-f]+)/.exec(l);
    if (!m) return false;
    const a = Number(m[2]);
    const inside = ranges.some(([lo, hi]) => a >= lo && a < hi);
    if (inside && m[1] === 'mmap') started = true;
    return inside && started;
  });
}

let work = '';
const recordings = new Map<string, { rec: RecordResult; stdout: string }>();

async function recordProgram(name: string): Promise<{ rec: RecordResult; stdout: string }> {
  const known = recordings.get(name);
  if (known) return known;
  const bin = path.join(work, name);
  const build = spawnSync(cc, ['-O1', '-pthread', '-o', bin, path.join(SOURCES, `${name}.c`)], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`cc ${name}.c failed: ${build.stderr}`);
  const outFile = path.join(work, `${name}.out`);
  const fd = openSync(outFile, 'w');
  let rec: RecordResult;
  try {
    rec = await record([bin], { mapsAtExit: true, programStdout: fd, programStdin: 'ignore' });
  } finally {
    closeSync(fd);
  }
  const r = { rec, stdout: readFileSync(outFile, 'utf8') };
  recordings.set(name, r);
  return r;
}

const PROGRAMS = ['fork_cow', 'mremap', 'madvise', 'brk', 'threads', 'vfork_exec'];

// ---------------------------------------------------------------- tests

describe.runIf(canRecord)('vmtree record: programs of known behaviour', () => {
  beforeAll(() => {
    work = mkdtempSync(path.join(os.tmpdir(), 'vmtree-record-test-'));
  });
  afterAll(() => {
    if (work !== '') rmSync(work, { recursive: true, force: true });
  });

  it('fork + copy-on-write: the parent\'s writes, the fork, the child\'s writes to its copies', async () => {
    const { rec, stdout } = await recordProgram('fork_cow');
    expect(rec.status).toBe(0);
    expect(rec.partial).toBe(false);
    const a = reloc(Number(stdout.trim()));
    const P = 'p1';
    const lines = about(rec.text, [[a, a + 0x4000]]);
    // The child is the second mm; what it is called is the converter's choice (p2).
    expect(lines).toEqual([
      `spawn ${P}`,
      `${P} mmap ${hex(a)} 0x4000 rw private`,
      `${P} write ${hex(a)}`, `${P} write ${hex(a + 0x1000)}`, `${P} write ${hex(a + 0x2000)}`, `${P} write ${hex(a + 0x3000)}`,
      `fork ${P} p2`,
      `p2 write ${hex(a)}`, `p2 write ${hex(a + 0x1000)}`,
      'exit p2',
      `${P} write ${hex(a + 0x2000)}`,
      `exit ${P}`,
    ]);
  });

  it('mremap: a move into a reservation, then the new pages written', async () => {
    const { rec, stdout } = await recordProgram('mremap');
    expect(rec.status).toBe(0);
    const [p, d] = stdout.trim().split(' ').map((x) => reloc(Number(x))) as [number, number];
    expect(about(rec.text, [[p, p + 0x2000], [d, d + 0x4000]])).toEqual([
      'spawn p1',
      `p1 mmap ${hex(d)} 0x4000 none private`,
      `p1 mmap ${hex(p)} 0x2000 rw private`,
      `p1 write ${hex(p)}`, `p1 write ${hex(p + 0x1000)}`,
      `p1 mremap ${hex(p)} 0x2000 0x4000 ${hex(d)}`,
      `p1 write ${hex(d + 0x2000)}`, `p1 write ${hex(d + 0x3000)}`,
      'exit p1',
    ]);
  });

  it('madvise(MADV_DONTNEED): a zapped page read again is a read, another written is a write', async () => {
    const { rec, stdout } = await recordProgram('madvise');
    const a = reloc(Number(stdout.trim()));
    expect(about(rec.text, [[a, a + 0x4000]])).toEqual([
      'spawn p1',
      `p1 mmap ${hex(a)} 0x4000 rw private`,
      `p1 write ${hex(a)}`, `p1 write ${hex(a + 0x1000)}`, `p1 write ${hex(a + 0x2000)}`, `p1 write ${hex(a + 0x3000)}`,
      `p1 madvise ${hex(a + 0x1000)} 0x2000 dontneed`,
      `p1 read ${hex(a + 0x1000)}`, `p1 write ${hex(a + 0x2000)}`,
      'exit p1',
    ]);
  });

  it('brk: growth as an anonymous mmap, shrinking as munmap', async () => {
    const { rec, stdout } = await recordProgram('brk');
    const b = reloc(Number(stdout.trim()));
    expect(about(rec.text, [[b, b + 0x3000]])).toEqual([
      'spawn p1',
      `p1 mmap ${hex(b)} 0x3000 rw private`,
      `p1 write ${hex(b)}`, `p1 write ${hex(b + 0x1000)}`, `p1 write ${hex(b + 0x2000)}`,
      `p1 munmap ${hex(b + 0x1000)} 0x2000`,
      'exit p1',
    ]);
  });

  it('threads: one trace process for the shared mm, each thread\'s write seen', async () => {
    const { rec, stdout } = await recordProgram('threads');
    const a = reloc(Number(stdout.trim()));
    const lines = about(rec.text, [[a, a + 0x2000]]);
    expect(lines.filter((l) => /^(spawn|fork|exit)/.test(l))).toEqual(['spawn p1', 'exit p1']);
    expect(lines[1]).toBe(`p1 mmap ${hex(a)} 0x2000 rw private`);
    expect(lines.slice(2, -1).sort()).toEqual([`p1 write ${hex(a)}`, `p1 write ${hex(a + 0x1000)}`]);
    // two thread stacks (8 MiB + a guard page each), both in p1
    expect(commandLines(rec.text).filter((l) => /^p1 mmap \S+ 0x801000 none private$/.test(l))).toHaveLength(2);
  });

  it('vfork + exec: the child shares the mm until its exec, which spawns a new one', async () => {
    const { rec } = await recordProgram('vfork_exec');
    expect(commandLines(rec.text).filter((l) => /^(spawn|fork|exit) /.test(l))).toEqual([
      'spawn p1', 'spawn p2', 'exit p2', 'exit p1',
    ]);
    expect(rec.text).toMatch(/^# p2: exec \/usr\/bin\/true /m);
  });

  it('a command that does not exist: status 6 and one line', async () => {
    const r = await record([path.join(work, 'no-such-program')], { programStdout: 'ignore' });
    expect(r.status).toBe(6);
    expect(r.message).toMatch(/^cannot run '.*no-such-program': command not found$/);
  });

  it('a program killed by a signal gives a trace marked partial', async () => {
    const r = await record(['sh', '-c', 'kill -9 $$'], { programStdout: 'ignore' });
    expect(r.status).toBe(0);
    expect(r.partial).toBe(true);
    expect(r.text.split('\n')[0]).toBe('# PARTIAL TRACE: the program was killed by signal 9');
    expect(() => parseTrace(r.text, 'k.vmt')).not.toThrow();
  });

  it('--max-lines cuts the trace, marks it partial, and what is written still runs', async () => {
    const r = await record(['/bin/true'], { maxLines: 50, programStdout: 'ignore' });
    expect(r.partial).toBe(true);
    expect(r.partialReason).toBe('stopped at --max-lines 50');
    expect(r.commands).toBeGreaterThan(50);
    expect(r.commands).toBeLessThan(400);
    expect(simText(r.text)).not.toMatch(/SIGSEGV|SIGBUS|E[A-Z]+$/m);
  });

  describe.runIf(oracle.ok)('on the kernel', () => {
    it.each(PROGRAMS)('%s: the simulator and the kernel print the same, and maps at each exit equal the real ones', async (name) => {
      const { rec } = await recordProgram(name);
      const k = await runOnKernel(rec.text, `${name}.vmt`);
      expect(k.stderr).toBe('');
      expect(k.status).toBe(0);
      expect(simText(rec.text)).toBe(k.stdout);
      const kb = kernelBlocks(k.stdout);
      const sb = simBlocks(rec.text);
      expect(rec.expectedMaps.size).toBeGreaterThan(0);
      for (const [line, real] of rec.expectedMaps) {
        expect(sb.get(line), `line ${line}`).toBe(real);
        expect(kb.get(line), `line ${line}`).toBe(real);
      }
      // nothing recorded faults: every touch was of a mapped page
      expect(k.stdout).not.toMatch(/SIGSEGV|SIGBUS/);
    });
  });
});

describe('the corpus of real programs (examples/real)', () => {
  const names = corpusNames();
  it('has at least five recordings', () => {
    expect(names.length).toBeGreaterThanOrEqual(5);
  });
  it.each(names)('%s: every design prints the same output', (name) => {
    const text = readTraceFile(corpusPath(name)!).toString('latin1');
    const tree = simText(text, 'tree');
    expect(tree).not.toMatch(/SIGSEGV|SIGBUS/);
    for (const d of Object.keys(DESIGNS)) if (d !== 'tree') expect(simText(text, d), d).toBe(tree);
  });
  describe.runIf(oracle.ok)('on the kernel', () => {
    it.each(names)('%s: the kernel prints what the simulator prints', async (name) => {
      const text = readTraceFile(corpusPath(name)!).toString('latin1');
      const k = await runOnKernel(text, `${name}.vmt`);
      expect(k.stderr).toBe('');
      expect(k.status).toBe(0);
      expect(k.stdout).toBe(simText(text));
    });
  });
});


describe('vmtree record: the command line', () => {
  it('without a command: status 1 and one line', async () => {
    const r = await cli(['record']);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/missing required argument 'cmd'/);
  });
  it('a bad --max-lines: status 1 and one line', async () => {
    const r = await cli(['record', '--max-lines', '0', '--', 'true']);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(/--max-lines must be a positive integer/);
  });
  it('compare real:NAME with an unknown NAME: status 1, the recordings listed', async () => {
    const r = await cli(['compare', 'real:no-such-recording']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^vmtree: no recording 'no-such-recording' in examples\/real \(recordings: .*dash-pipeline.*\)\n$/);
  });
  it.runIf(canRecord)('a command that does not exist: status 6, one line', async () => {
    const r = await cli(['record', '--', '/no/such/program']);
    expect(r.status).toBe(6);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe("vmtree: record: cannot run '/no/such/program': command not found\n");
  });
  it.runIf(canRecord)('a kernel without asynchronous write-protect: status 5, one line naming it', async () => {
    process.env.VMTREE_RECORD_PRETEND_OLD_KERNEL = '1';
    try {
      const r = await cli(['record', '--', '/bin/true']);
      expect(r.status).toBe(5);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^vmtree: record: this kernel's userfaultfd has no asynchronous write-protect \(UFFD_FEATURE_WP_ASYNC, WP_UNPOPULATED: Linux >= 6.7\)\n$/);
    } finally {
      delete process.env.VMTREE_RECORD_PRETEND_OLD_KERNEL;
    }
  });
  it.runIf(canRecord)('an unwritable output: status 1', async () => {
    const r = await cli(['record', '-o', '/no/such/dir/t.vmt', '--', '/bin/true']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^vmtree: record: cannot write '\/no\/such\/dir\/t.vmt'/);
  });
  it.runIf(canRecord)('writes a trace that `vmtree run` accepts', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vmtree-record-cli-'));
    try {
      const file = path.join(dir, 'true.vmt');
      const r = await cli(['record', '-o', file, '--', '/bin/true']);
      expect(r.status).toBe(0);
      expect(r.stderr).toBe('');
      const run = await cli(['run', file]);
      expect(run.status).toBe(0);
      expect(run.stdout).not.toMatch(/SIGSEGV|SIGBUS/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
