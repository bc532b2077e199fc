// Unit tests of the naive reference model (test/naive/model.ts) on hand-made
// traces. Each expected output was worked out from Linux's rules (see the
// comments in the model, which name the kernel functions) and then confirmed
// on Linux 6.18 x86-64 / ext4 with the native runner (build/vmrun): where a
// hand derivation disagreed with the kernel, the kernel was right and the
// expectation was corrected (fread at 2^63-8 is EOF, not EINVAL; a private
// page once written reads its own copy after truncation of the file's tail).
//
// When build/vmrun is there (and we are root, which `frames` needs), the last
// tests also run random traces on both the model and the kernel:
// VMTREE_LINUX_RUNS sets how many (default 150 of each kind; 0 skips).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fileTraceArbitrary, mergeTraceArbitrary, traceArbitrary } from './naive/gen.js';
import { hostZeroPage, isRoot, runLinux, vmrunAvailable } from './naive/linux.js';
import { NaiveMachine, runNaive } from './naive/model.js';
import { formatResults, parseVmt, printVmt, renumber } from './naive/trace-text.js';
import { keptTraces } from './kept.js';
import { SPEC_EXAMPLE, SPEC_EXAMPLE_OUTPUT } from './spec-example.js';

/** Template text without its first newline. */
const txt = (s: string): string => s.replace(/^\n/, '');

interface Case { name: string; trace: string; expected: string }

// The spec's example, and the kernel-confirmed hand-made traces kept as
// files (test/golden/native/), which every design also runs
// (test/kept-traces.test.ts).
const CASES: Case[] = [
  { name: "the spec's example", trace: SPEC_EXAMPLE, expected: SPEC_EXAMPLE_OUTPUT },
  ...keptTraces(['golden/native']).map((t) => ({ name: t.name, trace: t.text, expected: t.expected })),
];

function run(trace: string, name: string): string {
  const cmds = parseVmt(trace, name);
  return formatResults(cmds, runNaive(cmds));
}

describe('naive model: hand-made traces (confirmed on Linux)', () => {
  for (const c of CASES) {
    it(c.name, () => {
      expect(run(txt(c.trace), c.name)).toBe(txt(c.expected));
    });
  }
});

describe('naive model: details', () => {
  it('keeps kernel vmas split where Linux does', () => {
    const m = new NaiveMachine();
    for (const c of parseVmt(txt(`
spawn a
a mmap 0x100000000000 0x3000 rw private
a mprotect 0x100000001000 0x1000 r
a mprotect 0x100000001000 0x1000 rw
a mmap 0x100000010000 0x1000 rw shared
a mmap 0x100000011000 0x1000 rw shared
`))) m.exec(c);
    const vmas = m.vmasOf('a').map((v) => `${v.start.toString(16)}-${v.end.toString(16)}`);
    expect(vmas).toEqual(['100000000000-100000003000', '100000010000-100000011000', '100000011000-100000012000']);
  });

  it('a write to a private file page past EOF gets an anon_vma before SIGBUS', () => {
    // do_cow_fault() prepares the anon_vma before __do_fault() fails. A fork
    // child's copy of a vma with an anon_vma does not merge with an
    // unfaulted neighbour (vma_is_fork_child()), so b's resize spans two
    // vmas; after a mere read (no anon_vma) d's vmas merge. Confirmed on Linux.
    const trace = txt(`
file f 0x0
spawn a
a mmap 0x100000000000 0x1000 rw private f 0x0
a write 0x100000000000 1
fork a b
b mmap 0x100000001000 0x1000 rw private f 0x1000
b mremap 0x100000000000 0x2000 0x3000
spawn c
c mmap 0x100000000000 0x1000 rw private f 0x0
c read 0x100000000000
fork c d
d mmap 0x100000001000 0x1000 rw private f 0x1000
d mremap 0x100000000000 0x2000 0x3000
`);
    expect(run(trace, 'sigbus-anon').split('\n').filter((l) => / (EFAULT|SIGBUS)$/.test(l)))
      .toEqual(['4 SIGBUS', '7 EFAULT', '10 SIGBUS']);
    const m = new NaiveMachine();
    for (const c of parseVmt(trace).slice(0, 4)) m.exec(c);
    expect(m.vmasOf('a')[0]!.anon).not.toBeNull();
  });

  it('frames can print just its header', () => {
    const m = new NaiveMachine({ frameGroups: false });
    expect(m.exec({ line: 1, kind: 'frames' })).toBe('frames');
  });

  it('is deterministic', () => {
    fc.assert(fc.property(traceArbitrary({ maxCommands: 40 }), (t) => {
      expect(runNaive(t)).toEqual(runNaive(t));
    }), { numRuns: 100 });
  });

  it('prints maps runs ascending, disjoint and inside the window', () => {
    fc.assert(fc.property(traceArbitrary({ maxCommands: 40 }), (t) => {
      const m = new NaiveMachine();
      for (const c of t) {
        const r = m.exec(c);
        if (c.kind !== 'maps') continue;
        let last = 0x100000000000n;
        for (const l of r.split('\n').slice(1)) {
          const [s, e] = l.trim().split(' ')[0]!.split('-').map((x) => BigInt(x));
          expect(s! >= last && s! < e! && e! <= 0x200000000000n).toBe(true);
          last = e!;
        }
      }
    }), { numRuns: 100 });
  });
});

const linuxRuns = Number(process.env.VMTREE_LINUX_RUNS ?? 150);
const haveLinux = vmrunAvailable() && isRoot() && linuxRuns > 0;

describe.runIf(haveLinux)('naive model against the kernel (build/vmrun)', () => {
  // The model runs in the host's mode: with the zero page or without it.
  const zeroPage = haveLinux ? hostZeroPage() : true;
  const agree = (trace: readonly import('../src/trace/ast.js').Command[]): void => {
    const cmds = renumber(trace);
    const naive = formatResults(cmds, runNaive(cmds, { zeroPage }));
    const linux = formatResults(cmds, runLinux(cmds));
    if (naive !== linux) {
      throw new Error(`naive model and Linux disagree on\n${printVmt(cmds)}--- naive\n${naive}--- linux\n${linux}`);
    }
  };
  it('agrees on random traces', () => {
    fc.assert(fc.property(traceArbitrary({ maxCommands: 60 }), agree), { numRuns: linuxRuns });
  });
  it('agrees on random merge-heavy traces', () => {
    fc.assert(fc.property(mergeTraceArbitrary(), agree), { numRuns: linuxRuns });
  });
  it('agrees on random traces around the end of files', () => {
    fc.assert(fc.property(fileTraceArbitrary(40, true), agree), { numRuns: linuxRuns });
    fc.assert(fc.property(fileTraceArbitrary(40, false), agree), { numRuns: linuxRuns });
  });
  it('agrees on the hand-made traces', () => {
    for (const c of CASES) {
      const cmds = parseVmt(txt(c.trace), c.name);
      // Their expectations are stock Linux's; without the zero page the
      // kernel is compared with the model in that mode instead.
      const expected = zeroPage ? txt(c.expected) : formatResults(cmds, runNaive(cmds, { zeroPage }));
      expect(formatResults(cmds, runLinux(cmds))).toBe(expected);
    }
  });
});
