// Golden traces: hand-made traces for the cases the seed's post does not
// cover (issue 2, point 4) and the spec's example. Each expected output was
// worked out by hand from Linux's rules and then confirmed on the real
// kernel with the native runner (build/vmrun); test/oracle.test.ts re-checks
// them against the running kernel whenever it is available.
//
// The simulator must print exactly the expected output, pass every
// invariant after every command, and leak nothing once every process has
// exited.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DESIGNS } from '../src/anon/index.js';
import { Machine } from '../src/mm/machine.js';
import { parseTrace } from '../src/trace/parse.js';
import { checkInvariants, checkOnlyPageCacheLeft } from './invariants.js';
import { SPEC_EXAMPLE, SPEC_EXAMPLE_OUTPUT } from './spec-example.js';

const dir = join(import.meta.dirname, 'golden');
const traces = readdirSync(dir).filter((f) => f.endsWith('.vmt')).sort();

describe.each(Object.keys(DESIGNS))('golden traces, design %s', (design) => {
  it('has traces', () => expect(traces.length).toBeGreaterThan(5));
  it("the spec's example", () => {
    const m = new Machine({ design });
    let out = '';
    for (const c of parseTrace(SPEC_EXAMPLE, 'spec')) {
      out += `${c.line} ${m.exec(c)}\n`;
      checkInvariants(m);
    }
    expect(out).toBe(SPEC_EXAMPLE_OUTPUT);
  });
  for (const name of traces) {
    it(name, () => {
      const text = readFileSync(join(dir, name));
      const expected = readFileSync(join(dir, name.replace(/\.vmt$/, '.out')), 'utf8');
      const cmds = parseTrace(text, name);
      const m = new Machine({ design });
      let out = '';
      for (const c of cmds) {
        out += `${c.line} ${m.exec(c)}\n`;
        checkInvariants(m);
      }
      expect(out).toBe(expected);
      if (m.procs.size === 0) checkOnlyPageCacheLeft(m);
    });
  }
});
