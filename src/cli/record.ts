// `vmtree record [-o FILE] [options] -- CMD ARGS...`: run a real program
// and write a vmtrace of what its memory did (record.ts, convert.ts).

import { writeFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { EXIT_CANNOT_RECORD, EXIT_INTERNAL, EXIT_NOT_STARTED, EXIT_PARTIAL, record } from '../record/record.js';
import { CliError } from './exit.js';
import type { Subcommand } from './io.js';

interface RecordOpts {
  output?: string;
  aslr?: boolean;
  maxLines: number;
  mapsAtExit?: boolean;
}

const positive = (value: string): number => {
  if (!/^[0-9]+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError('--max-lines must be a positive integer.');
  }
  return Number(value);
};

export const recordCommand: Subcommand = (program, ctx) => {
  program
    .command('record')
    .summary('run a real program and write a vmtrace of its memory behaviour')
    .description(
      'Run CMD, follow every process it creates, and write a vmtrace v1 that reproduces what their memory ' +
        'did: one trace process per mm (spawn at exec with its mappings, fork, exit), every mmap, munmap, ' +
        'mprotect, mremap, madvise and brk with its real arguments relocated into the portable window, and ' +
        'read/write for the pages touched between two syscalls. Needs Linux >= 6.7 on x86-64 with seccomp, ' +
        'ptrace, userfaultfd asynchronous write-protect and the PAGEMAP_SCAN ioctl; root is not required, but ptrace must be allowed. ' +
        'ASLR is off for the recorded program unless --aslr.\n\n' +
        'What the recording cannot see: reads of pages already present (no fault happens), the order of ' +
        'touches between two syscalls (they are written in address order), accessed bits. What vmtrace v1 ' +
        'cannot say (MADV_FREE, write-only protection, shm, mlock, ...) becomes its nearest equivalent plus ' +
        'a `# not recorded:` comment.\n\n' +
        'Without -o the trace goes to stdout and the program\'s stdout to stderr.\n\n' +
        'Exit status: 0 the trace is complete (whatever the program\'s own exit status, which the trace\'s ' +
        `\`# end:\` comment gives); 1 bad usage or unwritable output; ${EXIT_CANNOT_RECORD} this machine cannot record ` +
        `(ptrace not permitted, a kernel feature missing, no C compiler to build the recorder); ${EXIT_NOT_STARTED} CMD could not be started; ${EXIT_PARTIAL} a partial ` +
        'trace was written (the program was killed by a signal, --max-lines was reached, or the recording was ' +
        `interrupted; its first line says so); ${EXIT_INTERNAL} the recorder failed (a partial trace is written).`,
    )
    .usage('[options] -- CMD [ARGS...]')
    .argument('<cmd...>', 'the command to run, and its arguments')
    .option('-o, --output <file>', 'write the trace to FILE (default: stdout)')
    .option('--aslr', 'keep address-space randomisation on for the program')
    .option('--max-lines <n>', 'stop once the trace has more than N commands; the trace is then partial', positive, 1_000_000)
    .option('--maps-at-exit', 'insert `P maps` before every exit (to compare with the real /proc/PID/maps)')
    .action(async (cmd: string[], o: RecordOpts) => {
      const toStdout = o.output === undefined || o.output === '-';
      const tty = ctx.io.stderrIsTTY;
      let drawn = false;
      let r;
      try {
        r = await record(cmd, {
          aslr: o.aslr === true,
          maxLines: o.maxLines,
          mapsAtExit: o.mapsAtExit === true,
          programStdout: toStdout ? 2 : 'inherit',
          onProgress: tty
            ? (lines, procs) => {
              drawn = true;
              ctx.io.stderr(`\rrecord: ${lines.toLocaleString('en-US')} lines, ${procs} live processes\x1b[K`);
            }
            : undefined,
        });
      } catch (e) {
        throw new CliError(`record: ${(e as Error).message}`, EXIT_CANNOT_RECORD);
      }
      if (drawn) ctx.io.stderr('\r\x1b[K');
      if (r.status === EXIT_CANNOT_RECORD || r.status === EXIT_NOT_STARTED || r.status === 1) {
        throw new CliError(`record: ${r.message}`, r.status);
      }
      if (toStdout) {
        ctx.out.write(r.text);
      } else {
        try {
          writeFileSync(o.output!, r.text);
        } catch (e) {
          throw new CliError(`record: cannot write '${o.output}': ${(e as Error).message}`);
        }
      }
      if (r.status === EXIT_INTERNAL) {
        ctx.io.stderr(`vmtree: record: the recorder failed (${r.message}); the trace is partial\n`);
        ctx.exitCode = EXIT_INTERNAL;
      } else if (r.partial) {
        ctx.io.stderr(`vmtree: record: partial trace: ${r.partialReason}\n`);
        ctx.exitCode = EXIT_PARTIAL;
      } else if (r.ended !== 'exit 0') {
        ctx.io.stderr(`vmtree: record: note: the program ended with ${r.ended} (the trace is complete)\n`);
      }
    });
};
