// `vmtree gen`: print a random, valid trace.

import { Option } from 'commander';
import { PROFILES, streamTrace, type Profile } from '../trace/gen/index.js';
import type { Subcommand } from './io.js';
import { int, u64 } from './options.js';

export const genCommand: Subcommand = (program, ctx) => {
  program
    .command('gen')
    .summary('print a random trace')
    .description(
      'Print a random, valid vmtrace file: one comment line naming the options, then exactly ' +
        'OPS commands. The same options always print the same trace.\n\n' +
        'Without --quirks the trace is portable: every mapping and access lies in the window ' +
        '[0x100000000000, 0x200000000000) (arguments outside it are only ones Linux rejects ' +
        'outright) and no mremap depends on how the kernel merged its vmas.',
    )
    .requiredOption('--seed <n>', 'random seed (required): an integer from 0 to 2^64-1, decimal or 0x hex', u64('--seed'))
    .requiredOption('--ops <k>', 'number of commands (required)', int('--ops', 0, Number.MAX_SAFE_INTEGER))
    .addOption(new Option('--profile <p>', 'mix of commands: mixed (everything), forky (fork trees, exits, COW, fork advice), files (file I/O under file mappings, truncation), remap (mremap, mprotect, munmap)').choices([...PROFILES]).default('mixed'))
    .option('--quirks', 'also generate non-portable mremap cases (results depend on vma merging and the kernel version)')
    .action((opts: { seed: bigint; ops: number; profile: Profile; quirks?: boolean }) => {
      streamTrace(
        { seed: opts.seed, ops: opts.ops, profile: opts.profile, quirks: opts.quirks === true },
        (text) => ctx.out.write(text),
      );
      ctx.out.flush();
    });
};
