// The peer corpus (issue 15): Linux's own mm tests — selftests/mm/merge.c,
// selftests/mm/mremap_test.c, tools/testing/vma, and what vmtrace can
// express of the other selftests/mm suites — rewritten as vmtrace in
// test/peer/, each with the kernel's output beside it (NAME.out, produced
// by the native runner on Linux and re-confirmed by test/oracle.test.ts).
// test/peer/README.md lists every test left out and why.
//
// This file checks the corpus itself; test/kept-traces.test.ts runs every
// trace on every design (in both zero-page modes, with the invariants after
// every command), like every other kept trace.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

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
