import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    // A machine-readable summary beside the usual output: .ci/run reads it
    // to print its closing `N passed, N failed` line.
    reporters: ['default', ['json', { outputFile: 'build/test-results.json' }]],
  },
});
