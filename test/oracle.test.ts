// The simulator against the real kernel (issue 3): `vmtree verify` in test
// form. Generated traces of every profile run on Linux through the native
// runner and on the simulator, for every design; the outputs must be
// identical. Every trace the repository keeps with an expected output
// (test/kept.ts) must still be what Linux prints.
//
// Kernels differ in one thing a trace can see: whether a read fault of
// private anonymous memory maps the shared zero page (stock Linux) or
// allocates a page of its own (kernels that forbid the zero page). The
// runner probes the host (`vmrun --probe`) and the simulator runs in the
// same mode, so every comparison is at full strength, `frames` included, on
// either kind of host. The kept .out files are stock Linux's output: on a
// host with the zero page the kernel must print them exactly; on one
// without, the kernel must print what the simulator prints in no-zero-page
// mode (and test/kept-traces.test.ts checks the .out files against every
// design in the default, stock mode).
//
// Seeds: VMTREE_ORACLE_SEEDS per profile (default 300 under CI, 40
// otherwise; a quarter as many --quirks traces, whose results depend on
// which vmas Linux merged), starting at VMTREE_ORACLE_FIRST_SEED (default
// 1). Needs the
// kernel oracle (a C compiler, root for pagemap): skipped without it,
// except under CI=true, where its absence fails.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DESIGNS } from '../src/anon/index.js';
import { runOnSimulator } from '../src/cli/exit.js';
import { probeKernel, runOnKernel } from '../src/oracle/native.js';
import { describeDifference, verifySeeds } from '../src/oracle/verify.js';
import { PROFILES } from '../src/trace/gen/index.js';
import { CI, kernelOracle } from './helpers.js';
import { keptTraces } from './kept.js';

const avail = kernelOracle('kernel oracle', 'test/oracle.test.ts');
const SEEDS = Number(process.env.VMTREE_ORACLE_SEEDS ?? (CI ? 300 : 40));
const FIRST = Number(process.env.VMTREE_ORACLE_FIRST_SEED ?? 1);
/** Traces with --quirks (results that depend on how Linux merged its vmas: the spec's stretch goal). */
const QUIRK_SEEDS = Math.max(1, Math.round(SEEDS / 4));

const KEPT = keptTraces();

/** The host's behaviour (null without the oracle). */
const host = avail.ok ? await probeKernel() : null;
const zeroPage = host?.zeroPage ?? true;
if (host !== null) console.log(`test/oracle.test.ts: this kernel ${host.zeroPage ? 'has' : 'has no'} shared zero page`);


describe.skipIf(!avail.ok)('the host probe', () => {
  // An independent look at the same fact: a trace that reads two untouched
  // private anonymous pages and prints `frames` shows a zero: group exactly
  // when the kernel has the zero page.
  const probeTrace = 'spawn a\na mmap 0x100000000000 0x2000 r private\na read 0x100000000000\n' +
    'a read 0x100000001000\nframes\n';
  it(`agrees with what a trace sees (zero page ${zeroPage ? 'on' : 'off'})`, async () => {
    const k = await runOnKernel(probeTrace, 'probe.vmt');
    expect(k.status, k.stderr).toBe(0);
    expect(k.stdout.includes('zero: a:0x100000000000 a:0x100000001000')).toBe(zeroPage);
  });
  it('a simulator in the other mode is caught', async () => {
    const k = await runOnKernel(probeTrace, 'probe.vmt');
    const wrong = runOnSimulator(probeTrace, 'probe.vmt', { zeroPage: !zeroPage });
    const right = runOnSimulator(probeTrace, 'probe.vmt', { zeroPage });
    expect(right.stdout).toBe(k.stdout);
    expect(wrong.stdout).not.toBe(k.stdout);
  });
});

describe.skipIf(!avail.ok)('kept traces still print what Linux prints', () => {
  for (const t of KEPT) {
    it(t.name, async () => {
      const name = path.basename(t.path);
      const k = await runOnKernel(Buffer.from(t.text, 'latin1'), name);
      expect(k.status, k.stderr).toBe(0);
      if (zeroPage) expect(k.stdout).toBe(t.expected);
      else expect(k.stdout).toBe(runOnSimulator(Buffer.from(t.text, 'latin1'), name, { zeroPage: false }).stdout);
    });
  }
});

describe.skipIf(!avail.ok).each(Object.keys(DESIGNS))('design %s against Linux', (design) => {
  it(`${SEEDS} generated traces per profile (seeds ${FIRST}..${FIRST + SEEDS - 1})`, async () => {
    const r = await verifySeeds({
      seeds: SEEDS, firstSeed: FIRST, ops: 100, profiles: PROFILES, quirks: false,
      simulate: (t, n) => runOnSimulator(t, n, { design, zeroPage }), maxDifferences: 3,
    });
    expect(r.differences.map(describeDifference).join('\n\n')).toBe('');
    expect(r.notPortable).toBe(0);
    expect(r.same).toBe(SEEDS * PROFILES.length);
  });

  it(`${QUIRK_SEEDS} non-portable (--quirks) traces per profile: vma merging as Linux does it`, async () => {
    const r = await verifySeeds({
      seeds: QUIRK_SEEDS, firstSeed: FIRST, ops: 150, profiles: PROFILES, quirks: true,
      simulate: (t, n) => runOnSimulator(t, n, { design, zeroPage }), maxDifferences: 3,
    });
    expect(r.differences.map(describeDifference).join('\n\n')).toBe('');
    expect(r.same + r.notPortable).toBe(QUIRK_SEEDS * PROFILES.length);
  });
});
