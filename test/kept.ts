// The traces the repository keeps with the output Linux prints for them,
// one corpus for every test that runs them:
//   test/golden/          the cases the seed's post does not cover (by hand, confirmed on Linux)
//   test/golden/native/   hand-made traces of Linux's documented rules (confirmed on Linux)
//   test/regressions/     every counterexample ever found (Linux's output)
//   test/peer/            Linux's own mm selftests rewritten as traces (when present)
// Each NAME.vmt has NAME.out beside it: stock Linux's output (a kernel with
// the shared zero page).

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const KEPT_DIRS = ['golden', 'golden/native', 'regressions', 'peer'] as const;

export interface KeptTrace {
  /** Path relative to test/, e.g. `golden/native/cow-fork.vmt`. */
  name: string;
  /** Absolute path of the .vmt file. */
  path: string;
  /** The trace (latin1, as the parser reads bytes). */
  text: string;
  /** What stock Linux prints. */
  expected: string;
}

/** Every kept trace in `dirs` (default: all), sorted by name within each directory. */
export function keptTraces(dirs: readonly string[] = KEPT_DIRS): KeptTrace[] {
  return dirs.flatMap((d) => {
    const dir = join(import.meta.dirname, d);
    if (!existsSync(dir)) return [];
    return readdirSync(dir).filter((f) => f.endsWith('.vmt')).sort().map((f) => {
      const path = join(dir, f);
      return {
        name: `${d}/${f}`,
        path,
        text: readFileSync(path, 'latin1'),
        expected: readFileSync(path.replace(/\.vmt$/, '.out'), 'latin1'),
      };
    });
  });
}
