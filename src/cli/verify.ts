// `vmtree verify`: compare the simulator with the running Linux kernel.

import { Option } from 'commander';
import { kernelOracleAvailable, zeroPageFor, type ZeroPageSetting } from '../oracle/native.js';
import { describeDifference, verifyFiles, verifySeeds, type Outcome, type VerifyReport } from '../oracle/verify.js';
import { PROFILES, type Profile } from '../trace/gen/index.js';
import { CliError, EXIT, runOnSimulator } from './exit.js';
import { progress, type Subcommand } from './io.js';
import { addSimulatorOptions, int, machineOptions, type SimulatorOpts } from './options.js';

interface VerifyOpts extends SimulatorOpts {
  design: string;
  seeds: number;
  firstSeed: number;
  ops: number;
  profile?: string[];
  quirks?: boolean;
  json?: boolean;
  maxDifferences: number;
}

export const verifyCommand: Subcommand = (program, ctx) => {
  const cmd = program
    .command('verify')
    .summary('compare the simulator with the Linux kernel')
    .description(
      'Run traces on the simulator and on the running Linux kernel (through the native runner, ' +
        'native/vmrun/, built with the system C compiler on first use; needs root for ' +
        '/proc/self/pagemap) and compare their outputs byte for byte.\n\n' +
        'Without TRACE arguments, generates --seeds traces for each profile. Every difference is ' +
        'minimised (lines deleted while it persists) and printed with both outputs side by side. ' +
        'Traces the kernel runner refuses as not portable are counted, not compared. ' +
        'The simulator options (--design to --zero-page) apply to the simulator side.\n\n' +
        `Exit status: ${EXIT.OK} no difference; ${EXIT.DIFFERENT} differences found; ` +
        `${EXIT.USAGE} the kernel oracle is unavailable or bad usage.`,
    )
    .argument('[trace...]', 'trace files to compare instead of generated ones (.gz files are gunzipped; real:NAME is a recording in examples/real)')
    .option('--seeds <n>', 'generated traces per profile', int('--seeds', 1), 100)
    .option('--first-seed <n>', 'first seed', int('--first-seed'), 1)
    .option('--ops <k>', 'commands per generated trace', int('--ops', 1), 100)
    .addOption(new Option('--profile <p...>', 'profiles to generate (default: all)').choices([...PROFILES]))
    .option('--quirks', 'generate non-portable cases too (see `vmtree gen --help`)');
  addSimulatorOptions(cmd, { design: 'one', zeroPage: 'mode' })
    .option('--max-differences <n>', 'stop after this many differences', int('--max-differences', 1), 5)
    .option('--json', 'print one JSON object instead of text')
    .action(async (traces: string[], o: VerifyOpts) => {
      const avail = kernelOracleAvailable();
      if (!avail.ok) throw new CliError(`the kernel oracle is unavailable: ${avail.why}`);
      // The simulator runs in the host's zero-page mode unless told otherwise,
      // so that `frames` is compared at full strength on either kind of kernel.
      const machine = machineOptions(o);
      const zeroSetting = (o.zeroPage ?? 'auto') as ZeroPageSetting;
      try {
        machine.zeroPage = await zeroPageFor(zeroSetting);
      } catch (e) {
        throw new CliError(`cannot probe the kernel: ${(e as Error).message}`);
      }
      const zeroPage = `${machine.zeroPage ? 'on' : 'off'}${zeroSetting === 'auto' ? ' (as this kernel)' : ' (forced)'}`;
      const simulate = (text: string, name: string): Outcome => runOnSimulator(text, name, machine);
      const bar = progress(ctx, 'verify');
      const onProgress = (done: number, total: number, diffs: number): void =>
        bar.update(done, total, diffs === 0 ? '' : `${diffs} difference(s)`);
      let report: VerifyReport;
      if (traces.length > 0) {
        const files = [];
        for (const t of traces) files.push({ name: ctx.inputName(t), text: (await ctx.readInput(t)).toString('latin1') });
        report = await verifyFiles(files, simulate, onProgress);
      } else {
        const profiles = (o.profile ?? [...PROFILES]) as Profile[];
        report = await verifySeeds({
          seeds: o.seeds, firstSeed: o.firstSeed, ops: o.ops, profiles, quirks: o.quirks === true,
          simulate, maxDifferences: o.maxDifferences, onProgress,
        });
      }
      bar.done();
      if (o.json === true) {
        ctx.out.write(`${JSON.stringify({
          design: o.design, zeroPage: machine.zeroPage, zeroPageSetting: zeroSetting, traces: report.traces, same: report.same, notPortable: report.notPortable,
          differences: report.differences.map((d) => ({
            source: d.source, seed: d.seed, profile: d.profile, minimized: d.minimized,
            linux: d.kernel, vmtree: d.sim,
          })),
        })}\n`);
      } else {
        for (const d of report.differences) ctx.out.write(`${describeDifference(d)}\n\n`);
        ctx.out.write(
          `verify (design ${o.design}${o.frames !== undefined ? `, ${o.frames} frames` : ''}, zero page ${zeroPage}): ` +
            `${report.traces} traces, ` +
            `${report.same} same, ${report.notPortable} not portable, ${report.differences.length} different\n`,
        );
      }
      if (report.differences.length > 0) ctx.exitCode = EXIT.DIFFERENT;
    });
};
