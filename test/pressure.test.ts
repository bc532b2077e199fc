// Memory pressure changes nothing a program can observe (issue 4): every
// generated trace, with `reclaim` sprinkled in, prints the same output on
// a machine with 8 frames (and on one with 8 frames and the tree's
// optimisations off) as with unbounded memory — and the invariants,
// rmap exactness included, hold after every command under pressure. In both
// kinds of kernel: with the shared zero page (stock) and without it (read
// faults of private anonymous memory allocate pages, so there is more to
// reclaim).

import { describe, expect, it } from 'vitest';
import { DESIGNS } from '../src/anon/index.js';
import { Machine, type MachineOptions } from '../src/machine.js';
import { generateTrace, PROFILES } from '../src/trace/gen/index.js';
import { parseTrace } from '../src/trace/parse.js';
import { exitAll, runNumbered, sprinkle } from './helpers.js';

const SEEDS = Number(process.env.VMTREE_PRESSURE_SEEDS ?? 40);

/** Run a trace (invariants after every command if `check`), then end every process so that leaks show; returns the output. */
function run(text: string, opts: MachineOptions, check: boolean): string {
  const { m, out } = runNumbered(opts, text, check);
  exitAll(m, check);
  return out;
}

describe.each(Object.keys(DESIGNS))('memory pressure is invisible, design %s', (design) => {
  for (const zeroPage of [true, false]) {
    const seeds = zeroPage ? SEEDS : Math.max(1, SEEDS >> 1);
    for (const profile of PROFILES) {
      it(`${profile}${zeroPage ? '' : ', no zero page'}: ${seeds} traces, 8 frames vs unbounded`, () => {
        for (let seed = 1; seed <= seeds; seed++) {
          const text = sprinkle(generateTrace({ seed, ops: 120, profile }), seed);
          const free = run(text, { design, zeroPage }, false);
          // The unbounded tree is the reference every design must match.
          if (design !== 'tree') expect(free, `seed ${seed}: unbounded ${design} vs tree`).toBe(run(text, { zeroPage }, false));
          expect(run(text, { design, frames: 8, zeroPage }, true), `seed ${seed}`).toBe(free);
          if (design === 'tree') {
            expect(run(text, { frames: 8, cut: false, merge: false, zeroPage }, seed % 4 === 0), `seed ${seed} (no cut/merge)`).toBe(free);
          }
        }
      });
    }
  }

  it('runs out of memory loudly when swap is too small', () => {
    const lines = ['spawn a', 'a mmap 0x100000000000 0x40000 rw private'];
    for (let i = 0; i < 64; i++) lines.push(`a write 0x${(0x100000000000 + i * 4096).toString(16)} ${i + 1}`);
    const cmds = parseTrace(lines.join('\n'), 't');
    const m = new Machine({ design, frames: 8, swap: 16 });
    expect(() => { for (const c of cmds) m.exec(c); }).toThrow(/out of memory/);
  });
});
