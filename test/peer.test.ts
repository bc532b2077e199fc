// The peer corpus (issue 15): Linux's own mm tests — selftests/mm/merge.c,
// selftests/mm/mremap_test.c, tools/testing/vma, and what vmtrace can
// express of the other selftests/mm suites — rewritten as vmtrace in
// test/peer/, each with the kernel's output beside it (NAME.out, produced
// by the native runner on Linux and re-confirmed by test/oracle.test.ts).
// test/peer/README.md lists every test left out and why.
//
// Every design must print exactly the kernel's output, pass every
// invariant after every command, and leak nothing once every process has
// exited.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DESIGNS } from '../src/anon/index.js';
import { Machine } from '../src/mm/machine.js';
import { parseTrace } from '../src/trace/parse.js';
import { checkInvariants, checkOnlyPageCacheLeft } from './invariants.js';

const dir = join(import.meta.dirname, 'peer');
const traces = readdirSync(dir).filter((f) => f.endsWith('.vmt')).sort();

describe('the peer corpus', () => {
  it('holds the ported suites', () => {
    expect(traces.length).toBeGreaterThanOrEqual(60);
    for (const prefix of ['merge-', 'mremap_test-', 'vma-']) {
      expect(traces.some((t) => t.startsWith(prefix)), prefix).toBe(true);
    }
  });
  it('every trace names its source test and has the kernel output beside it', () => {
    for (const name of traces) {
      const first = readFileSync(join(dir, name), 'utf8').split('\n')[0]!;
      expect(first, name).toMatch(/^# tools\/testing\/(selftests\/mm\/|vma)/);
      expect(existsSync(join(dir, name.replace(/\.vmt$/, '.out'))), name).toBe(true);
    }
  });
  it('README.md lists what is left out', () => {
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    expect(readme).toMatch(/left out/i);
  });
});

describe.each(Object.keys(DESIGNS))('peer traces, design %s', (design) => {
  for (const name of traces) {
    it(name, () => {
      const text = readFileSync(join(dir, name));
      const expected = readFileSync(join(dir, name.replace(/\.vmt$/, '.out')), 'utf8');
      const m = new Machine({ design });
      let out = '';
      for (const c of parseTrace(text, name)) {
        out += `${c.line} ${m.exec(c)}\n`;
        checkInvariants(m);
      }
      expect(out).toBe(expected);
      if (m.procs.size === 0) checkOnlyPageCacheLeft(m);
    });
  }
});
