// The simulator against the real kernel (issue 3): `vmtree verify` in test
// form. Generated traces of every profile, and every trace the repository
// keeps with an expected output (test/golden, test/golden/native,
// test/regressions, test/peer), run on Linux through the native runner and on the
// simulator, for every design; the outputs must be identical, and the
// kept .out files must still be what Linux prints.
//
// Seeds: VMTREE_ORACLE_SEEDS per profile (default 300 under CI, 40
// otherwise; a quarter as many --quirks traces, whose results depend on
// which vmas Linux merged), starting at VMTREE_ORACLE_FIRST_SEED (default
// 1). Needs the
// kernel oracle (a C compiler, root for pagemap): skipped without it,
// except under CI=true, where its absence fails.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DESIGNS } from '../src/anon/index.js';
import { kernelOracleAvailable, runOnKernel } from '../src/oracle/native.js';
import { describeDifference, runOnSimulator, verifySeeds } from '../src/oracle/verify.js';
import { PROFILES } from '../src/trace/gen.js';

const avail = kernelOracleAvailable();
const required = process.env.CI === 'true';
const SEEDS = Number(process.env.VMTREE_ORACLE_SEEDS ?? (required ? 300 : 40));
const FIRST = Number(process.env.VMTREE_ORACLE_FIRST_SEED ?? 1);
/** Traces with --quirks (results that depend on how Linux merged its vmas: the spec's stretch goal). */
const QUIRK_SEEDS = Math.max(1, Math.round(SEEDS / 4));

const HERE = import.meta.dirname;
const KEPT = ['golden', path.join('golden', 'native'), 'regressions', 'peer'].flatMap((d) => {
  const dir = path.join(HERE, d);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.vmt'))
    .sort()
    .map((f) => ({ name: path.join(d, f), vmt: path.join(dir, f), out: path.join(dir, f.replace(/\.vmt$/, '.out')) }));
});

if (!avail.ok && required) {
  describe('kernel oracle', () => {
    it('is available (required when CI=true)', () => {
      throw new Error(`kernel oracle unavailable: ${avail.why}`);
    });
  });
} else if (!avail.ok) {
  console.warn(`test/oracle.test.ts skipped: kernel oracle unavailable: ${avail.why}`);
}

describe.skipIf(!avail.ok)('kept traces still print what Linux prints', () => {
  for (const t of KEPT) {
    it(t.name, async () => {
      const text = readFileSync(t.vmt);
      const k = await runOnKernel(text, path.basename(t.vmt));
      expect(k.status, k.stderr).toBe(0);
      expect(k.stdout).toBe(readFileSync(t.out, 'utf8'));
    });
  }
});

describe.skipIf(!avail.ok).each(Object.keys(DESIGNS))('design %s against Linux', (design) => {
  it(`${SEEDS} generated traces per profile (seeds ${FIRST}..${FIRST + SEEDS - 1})`, async () => {
    const r = await verifySeeds({
      seeds: SEEDS, firstSeed: FIRST, ops: 100, profiles: PROFILES, quirks: false,
      machine: { design }, maxDifferences: 3,
    });
    expect(r.differences.map(describeDifference).join('\n\n')).toBe('');
    expect(r.notPortable).toBe(0);
    expect(r.same).toBe(SEEDS * PROFILES.length);
  });

  it(`${QUIRK_SEEDS} non-portable (--quirks) traces per profile: vma merging as Linux does it`, async () => {
    const r = await verifySeeds({
      seeds: QUIRK_SEEDS, firstSeed: FIRST, ops: 150, profiles: PROFILES, quirks: true,
      machine: { design }, maxDifferences: 3,
    });
    expect(r.differences.map(describeDifference).join('\n\n')).toBe('');
    expect(r.same + r.notPortable).toBe(QUIRK_SEEDS * PROFILES.length);
  });

  it('portable kept traces (golden) run the same on the simulator', () => {
    for (const t of KEPT.filter((k) => !k.name.startsWith('regressions') && !k.name.startsWith('peer'))) {
      const sim = runOnSimulator(readFileSync(t.vmt), path.basename(t.vmt), { design });
      expect(sim.stdout, t.name).toBe(readFileSync(t.out, 'utf8'));
    }
  });
});
