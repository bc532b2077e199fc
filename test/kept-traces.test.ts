// Every trace the repository keeps with Linux's output (test/kept.ts: golden,
// golden/native, regressions, peer) runs without a kernel on the naive
// reference model and on every design, in both kinds of kernel:
//  - stock (with the shared zero page): the output must be exactly the .out
//    file, which Linux printed (test/oracle.test.ts re-confirms the .out
//    files on the kernel whenever one is at hand);
//  - without the zero page: the output must be the naive model's in that
//    mode (the .out files are stock Linux's), derived independently.
// The invariants (test/invariants.ts) are checked after every command, and a
// trace whose processes have all exited must leave only page-cache frames.

import { describe, expect, it } from 'vitest';
import { DESIGNS } from '../src/anon/index.js';
import { parseTrace } from '../src/trace/parse.js';
import { runTrace } from './helpers.js';
import { checkOnlyPageCacheLeft } from './invariants.js';
import { keptTraces } from './kept.js';
import { runNaive } from './naive/model.js';
import { formatResults } from './naive/trace-text.js';

const KEPT = keptTraces();

describe('kept traces', () => {
  it('are there, each golden directory with several', () => {
    for (const d of ['golden/', 'golden/native/', 'regressions/']) {
      expect(KEPT.filter((t) => t.name.startsWith(d) && !t.name.slice(d.length).includes('/')).length, d)
        .toBeGreaterThan(5);
    }
  });
  for (const t of KEPT) {
    it(`${t.name}: the naive model prints Linux's output`, () => {
      const cmds = parseTrace(Buffer.from(t.text, 'latin1'), t.name);
      expect(formatResults(cmds, runNaive(cmds))).toBe(t.expected);
    });
  }
});

describe.each(Object.keys(DESIGNS))('kept traces, design %s', (design) => {
  for (const t of KEPT) {
    for (const zeroPage of [true, false]) {
      it(`${t.name}${zeroPage ? '' : ' (no zero page)'}`, () => {
        const { m, out, cmds } = runTrace({ design, zeroPage }, Buffer.from(t.text, 'latin1'), true, t.name);
        const expected = zeroPage ? t.expected : formatResults(cmds, runNaive(cmds, { zeroPage: false }));
        expect(formatResults(cmds, out)).toBe(expected);
        if (m.procs.size === 0) checkOnlyPageCacheLeft(m);
      });
    }
  }
});
