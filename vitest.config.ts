import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // test/naive/explore.tool.ts is a tool, run only on request (VMTREE_EXPLORE=1).
    include: ['test/**/*.test.ts', ...(process.env.VMTREE_EXPLORE === '1' ? ['test/naive/explore.tool.ts'] : [])],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    // A machine-readable summary beside the usual output: .ci/run reads it
    // to print its closing `N passed, N failed` line.
    reporters: ['default', ['json', { outputFile: 'build/test-results.json' }]],
  },
});
