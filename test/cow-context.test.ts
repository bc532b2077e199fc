// Design-specific tests for the COW context (src/anon/cow-context.ts): the
// proof of concept's two rules that lose ptes (its early exit, its swap-in
// context) against the exact rules this model uses by default, on the
// minimal traces kept in test/regressions/ (whose .out is Linux's, checked
// by test/oracle.test.ts); the fixed early exit under memory pressure; and
// what the context forest costs on the shapes the proposal stresses.

import { describe, expect, it } from 'vitest';
import type { Machine, MachineOptions } from '../src/machine.js';
import { generateTrace, PROFILES } from '../src/trace/gen/index.js';
import { workloadTrace } from '../src/workload/index.js';
import { regression, runNumbered, sprinkle } from './helpers.js';
import { checkInvariants, checkOnlyPageCacheLeft } from './invariants.js';

/** Run a trace on cow-context with invariants after every command; returns the output (throws on the first violation). */
function run(text: string | Buffer, opts: MachineOptions, check = true): { out: string; m: Machine } {
  return runNumbered({ design: 'cow-context', ...opts }, text, check);
}

describe('the proof of concept early exit (cowContextEarlyExit: poc)', () => {
  for (const [name, pte] of [
    ['cow-context-early-exit-fork', 'b:'],
    ['cow-context-early-exit-mremap', 'a:'],
    ['cow-context-early-exit-private-file', 'a:'],
  ] as const) {
    it(`${name}: the exact and fixed walks print Linux's output; the PoC's misses ${pte}'s pte`, () => {
      const { vmt, out } = regression(name);
      expect(run(vmt, {}).out).toBe(out);
      expect(run(vmt, { cowContextEarlyExit: 'fixed' }).out).toBe(out);
      // The invariant "rmap finds every pte" fails at once...
      expect(() => run(vmt, { cowContextEarlyExit: 'poc' })).toThrow(new RegExp(`rmap of frame \\d+ misses pte ${pte}`));
      // ...and reclaim, which unmaps through the walk, finds the page still
      // mapped and keeps it, as Linux's shrink_folio_list() would: the output
      // is Linux's, the page could not be reclaimed.
      const poc = run(vmt, { cowContextEarlyExit: 'poc' }, false);
      expect(poc.out).toBe(out);
      expect(poc.m.stats().rmapPtesMissed).toBeGreaterThan(0);
      expect(run(vmt, {}).m.stats().rmapPtesMissed).toBe(0);
    });
  }
});

describe("the proof of concept's swap-in context (cowContextSwapIn: faulting-mm)", () => {
  it("cow-context-swapin-shared: the root rule prints Linux's output; the PoC's misses the parent's pte", () => {
    const { vmt, out } = regression('cow-context-swapin-shared');
    expect(run(vmt, {}).out).toBe(out);
    expect(() => run(vmt, { cowContextSwapIn: 'faulting-mm' })).toThrow(/rmap of frame \d+ misses pte a:/);
    const poc = run(vmt, { cowContextSwapIn: 'faulting-mm' }, false);
    expect(poc.out).toBe(out);
    expect(poc.m.stats().rmapPtesMissed).toBeGreaterThan(0);
  });
});

describe('every walk under memory pressure', () => {
  const SEEDS = Number(process.env.VMTREE_PRESSURE_SEEDS ?? 25);
  for (const earlyExit of ['none', 'fixed'] as const) {
    it(`early exit '${earlyExit}': ${SEEDS} traces per profile print the same with 8 frames as the tree unbounded`, () => {
      for (const profile of PROFILES) {
        for (let seed = 1; seed <= SEEDS; seed++) {
          const text = sprinkle(generateTrace({ seed, ops: 120, profile }), seed);
          const ref = run(text, { design: 'tree' }, false).out;
          const { out, m } = run(text, { cowContextEarlyExit: earlyExit, frames: 8 });
          expect(out, `${profile} seed ${seed}`).toBe(ref);
          for (const name of [...m.procs.keys()]) m.exec({ kind: 'exit', proc: name, line: 0 });
          checkOnlyPageCacheLeft(m);
          expect(m.stats().cowContextsAlive, `${profile} seed ${seed}: contexts left`).toBe(0);
        }
      }
    });
  }
  it('the PoC early exit is caught on generated traces too', () => {
    let caught = 0;
    for (let seed = 1; seed <= 20 && caught === 0; seed++) {
      const text = sprinkle(generateTrace({ seed, ops: 120, profile: 'forky' }), seed);
      try {
        run(text, { cowContextEarlyExit: 'poc', frames: 8 });
      } catch (e) {
        expect((e as Error).message).toMatch(/rmap of frame \d+ misses pte/);
        caught++;
      }
    }
    expect(caught).toBe(1);
  });
});

describe('context lifetimes', () => {
  it('a page pins a context whose mm exited (the PoC swap-in rule leaves one) until the page goes', () => {
    const text = [
      'spawn a', 'a mmap 0x100000000000 0x1000 rw private', 'a write 0x100000000000 1', 'fork a b',
      'reclaim 8', 'b read 0x100000000000', 'a read 0x100000000000', 'exit b',
    ].join('\n') + '\n';
    const { m } = run(text, { cowContextSwapIn: 'faulting-mm' }, false);
    // a's context, and b's: dead, but the page a maps points at it.
    expect(m.stats().cowContextsAlive).toBe(2);
    m.exec({ kind: 'exit', proc: 'a', line: 0 });
    expect(m.stats().cowContextsAlive).toBe(0);
  });

  it('with the exact rules a context goes with its mm and its last child', () => {
    const text = [
      'spawn a', 'a mmap 0x100000000000 0x1000 rw private', 'a write 0x100000000000 1', 'fork a b', 'fork b c',
      'exit b', // b's context stays: c's is its child
      'reclaim 8', 'c read 0x100000000000', 'a read 0x100000000000',
    ].join('\n') + '\n';
    const { m } = run(text, {});
    expect(m.stats().cowContextsAlive).toBe(3);
    m.exec({ kind: 'exit', proc: 'c', line: 0 });
    checkInvariants(m);
    expect(m.stats().cowContextsAlive).toBe(1);
    m.exec({ kind: 'exit', proc: 'a', line: 0 });
    checkOnlyPageCacheLeft(m);
    expect(m.stats().cowContextsAlive).toBe(0);
  });
});

describe('what the context forest costs', () => {
  it('fork-chain: one context per generation stays alive (no collapse, no reuse); all go at the last exit', () => {
    const gens = 50;
    const text = workloadTrace('fork-chain', { generations: String(gens), pages: '8' });
    // Stop before the last process exits.
    const lines = text.trimEnd().split('\n');
    const { m } = run(lines.slice(0, -1).join('\n'), {}, false);
    const s = m.stats();
    expect(s.cowContextsAlive).toBe(gens + 1);
    expect(s.depthMax).toBe(gens);
    m.exec({ kind: 'exit', proc: `g${gens}`, line: 0 });
    expect(m.stats().cowContextsAlive).toBe(0);
    expect(m.stats().cowContextsFreed).toBe(gens + 1);
  });

  it("cow-storm: a walk of a parent page visits every child's context; the fixed early exit stops at the parent once every child copied", () => {
    const text = workloadTrace('cow-storm', { children: '20', pages: '4' }).trimEnd().split('\n');
    // Keep everyone alive; then reclaim every page.
    const body = text.filter((l) => !l.startsWith('exit')).join('\n') + '\nreclaim 1000\n';
    const full = run(body, {}, false).m.stats();
    const fixed = run(body, { cowContextEarlyExit: 'fixed' }, false).m.stats();
    expect(full.rmapWalks).toBe(fixed.rmapWalks);
    // 4 parent pages, each walked over the 21 contexts of the family; 80 child pages over 1 each.
    expect(full.rmapSpacesVisited).toBe(4 * 21 + 80);
    expect(fixed.rmapSpacesVisited).toBe(4 + 80);
  });
});
