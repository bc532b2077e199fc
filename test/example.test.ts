// The spec's example (test/spec-example.ts) on every design, with the
// invariants checked after every command: exactly the output the spec gives
// (which Linux prints: test/native.test.ts), and on a machine without the
// shared zero page what such a kernel prints — the frames report loses its
// zero: group, and a page read before a fork is shared by parent and child.
// The kept traces (golden, regressions, ...) are in test/kept-traces.test.ts.

import { describe, expect, it } from 'vitest';
import { DESIGNS } from '../src/anon/index.js';
import { Machine } from '../src/machine.js';
import { parseTrace } from '../src/trace/parse.js';
import { runNumbered, runTrace } from './helpers.js';
import { runNaive } from './naive/model.js';
import { formatResults } from './naive/trace-text.js';
import { SPEC_EXAMPLE, SPEC_EXAMPLE_OUTPUT } from './spec-example.js';


describe.each(Object.keys(DESIGNS))("the spec's example, design %s", (design) => {
  it("the spec's example", () => {
    const { out } = runNumbered({ design }, SPEC_EXAMPLE);
    expect(out).toBe(SPEC_EXAMPLE_OUTPUT);
  });
});

describe.each(Object.keys(DESIGNS))("the spec's example without the zero page, design %s", (design) => {
  it("the spec's example, as the naive model prints it", () => {
    const { out, cmds } = runTrace({ design, zeroPage: false }, SPEC_EXAMPLE, true, 'spec');
    expect(formatResults(cmds, out)).toBe(formatResults(cmds, runNaive(cmds, { zeroPage: false })));
  });
  it("the spec's example: each untouched page of its own, no zero: group", () => {
    const m = new Machine({ design, zeroPage: false });
    const out = parseTrace(SPEC_EXAMPLE, 'spec').map((c) => `${c.line} ${m.exec(c)}\n`).join('');
    // What changes from stock: the frames report loses its zero: line
    // (a's and b's untouched anonymous pages were not present at the fork,
    // so each read gives each process a page of its own); nothing else.
    expect(out).toBe(SPEC_EXAMPLE_OUTPUT.replace(/^  zero: .*\n/m, ''));
    expect(SPEC_EXAMPLE_OUTPUT).toMatch(/^  zero: /m);
  });
  it('a page read before a fork is shared by parent and child', () => {
    const m = new Machine({ design, zeroPage: false });
    const cmds = parseTrace('spawn a\na mmap 0x100000000000 0x2000 rw private\na read 0x100000000000\n' +
      'fork a b\nframes\nb write 0x100000000000 5\na read 0x100000000000\nframes\n', 't');
    const out = cmds.map((c) => m.exec(c));
    expect(out[4]).toBe('frames\n  a:0x100000000000 b:0x100000000000');
    expect(out[6]).toBe('0');
    expect(out[7]).toBe('frames');
  });
});
