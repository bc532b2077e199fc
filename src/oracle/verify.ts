// `vmtree verify`: run traces through the simulator and through the real
// kernel (native/vmrun/), compare the outputs byte for byte, and for every
// difference find a small trace that still differs.
//
// A trace the kernel runner refuses as not portable (exit 3: it would touch
// memory outside the window) is counted and skipped, not a difference.
// Everything else — a different result line, a trace one side rejects and
// the other runs, a crash of the simulator — is a difference.

import { generateTrace, type Profile } from '../trace/gen/index.js';
import { runOnKernel } from './native.js';

/** What one side printed: exit status as `vmtree run` would give it, stdout, stderr. */
export interface Outcome {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * The simulator side: runs a trace as `vmtree run NAME` would. The CLI's
 * runOnSimulator (src/cli/exit.ts) with the machine options bound; passed
 * in, so the oracle does not depend on the command line.
 */
export type Simulator = (text: string, name: string) => Outcome;

export type Verdict = 'same' | 'different' | 'not-portable';

export interface Comparison {
  verdict: Verdict;
  kernel: Outcome;
  sim: Outcome;
}

/** Run one trace on both sides and compare. */
export async function compareTrace(text: string, name: string, simulate: Simulator): Promise<Comparison> {
  const kernel = await runOnKernel(text, name, { timeoutMs: 60_000 });
  const sim = simulate(text, name);
  if (kernel.status === 3) return { verdict: 'not-portable', kernel, sim };
  const same = kernel.status === sim.status && kernel.stdout === sim.stdout &&
    (kernel.status !== 2 || kernel.stderr === sim.stderr);
  return { verdict: same ? 'same' : 'different', kernel, sim };
}

/**
 * Shrink a differing trace: delete runs of lines (halving the run length
 * down to single lines, ddmin-style) while the trace still parses and
 * still differs. Comment and blank lines go first.
 */
export async function minimize(text: string, stillDiffers: (t: string) => Promise<boolean>): Promise<string> {
  let lines = text.split('\n').filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
  if (!(await stillDiffers(lines.join('\n') + '\n'))) lines = text.split('\n');
  for (let chunk = Math.max(1, lines.length >> 1); chunk >= 1; chunk >>= 1) {
    let i = 0;
    while (i < lines.length) {
      const candidate = [...lines.slice(0, i), ...lines.slice(i + chunk)];
      if (candidate.length > 0 && (await stillDiffers(candidate.join('\n') + '\n'))) {
        lines = candidate; // keep i: the next run slid into place
      } else {
        i += chunk;
      }
    }
  }
  return lines.join('\n') + '\n';
}

export interface Difference {
  /** Where the trace came from: `seed N (profile P)` or a file name. */
  source: string;
  seed?: number;
  profile?: Profile;
  trace: string;
  minimized: string;
  kernel: Outcome;
  sim: Outcome;
}

export interface VerifyReport {
  traces: number;
  same: number;
  notPortable: number;
  differences: Difference[];
}

async function differenceFor(source: string, text: string, name: string, simulate: Simulator,
  extra: Partial<Difference>): Promise<Difference> {
  const minimized = await minimize(text, async (t) => {
    try {
      return (await compareTrace(t, name, simulate)).verdict === 'different';
    } catch {
      return false;
    }
  });
  const m = await compareTrace(minimized, name, simulate);
  return { source, trace: text, minimized, kernel: m.kernel, sim: m.sim, ...extra };
}

export interface SeedOptions {
  seeds: number;
  firstSeed: number;
  ops: number;
  profiles: readonly Profile[];
  quirks: boolean;
  /** The simulator side, e.g. `(t, n) => runOnSimulator(t, n, { design })`. */
  simulate: Simulator;
  /** Stop after this many differences (each is minimised, which takes a while). */
  maxDifferences: number;
  onProgress?: (done: number, total: number, differences: number) => void;
}

/** Generate `seeds` traces per profile and compare each on both sides. */
export async function verifySeeds(o: SeedOptions): Promise<VerifyReport> {
  const jobs: { seed: number; profile: Profile }[] = [];
  for (const profile of o.profiles) {
    for (let s = o.firstSeed; s < o.firstSeed + o.seeds; s++) jobs.push({ seed: s, profile });
  }
  const report: VerifyReport = { traces: 0, same: 0, notPortable: 0, differences: [] };
  let next = 0;
  // Two kernel runs in flight keep both cores busy (the runner's workers
  // and the simulator share them).
  const worker = async (): Promise<void> => {
    while (next < jobs.length && report.differences.length < o.maxDifferences) {
      const { seed, profile } = jobs[next++]!;
      const text = generateTrace({ seed, ops: o.ops, profile, quirks: o.quirks });
      const name = `seed-${seed}-${profile}.vmt`;
      const c = await compareTrace(text, name, o.simulate);
      report.traces++;
      if (c.verdict === 'same') report.same++;
      else if (c.verdict === 'not-portable') report.notPortable++;
      else if (report.differences.length < o.maxDifferences) {
        report.differences.push(await differenceFor(`seed ${seed} (profile ${profile})`, text, name, o.simulate, { seed, profile }));
      }
      o.onProgress?.(report.traces, jobs.length, report.differences.length);
    }
  };
  await Promise.all([worker(), worker()]);
  return report;
}

/** Compare the given trace files. */
export async function verifyFiles(files: readonly { name: string; text: string }[], simulate: Simulator,
  onProgress?: (done: number, total: number, differences: number) => void): Promise<VerifyReport> {
  const report: VerifyReport = { traces: 0, same: 0, notPortable: 0, differences: [] };
  for (const f of files) {
    const c = await compareTrace(f.text, f.name, simulate);
    report.traces++;
    if (c.verdict === 'same') report.same++;
    else if (c.verdict === 'not-portable') report.notPortable++;
    else report.differences.push(await differenceFor(f.name, f.text, f.name, simulate, {}));
    onProgress?.(report.traces, files.length, report.differences.length);
  }
  return report;
}

/** Two outputs side by side, `|` marking lines that differ (like diff -y). */
export function sideBySide(left: string, right: string, leftTitle = 'linux', rightTitle = 'vmtree'): string {
  const a = left.split('\n');
  const b = right.split('\n');
  while (a.length > 0 && a[a.length - 1] === '') a.pop();
  while (b.length > 0 && b[b.length - 1] === '') b.pop();
  const width = Math.min(60, Math.max(leftTitle.length, ...a.map((l) => l.length)));
  const rows = [`${leftTitle.padEnd(width)}   ${rightTitle}`, `${'-'.repeat(width)}   ${'-'.repeat(Math.min(60, width))}`];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const l = a[i] ?? '';
    const r = b[i] ?? '';
    const mark = l === r ? ' ' : '|';
    rows.push(`${(l.length > width ? l.slice(0, width - 1) + '…' : l).padEnd(width)} ${mark} ${r}`);
  }
  return rows.join('\n');
}

/** A difference as text for a person. */
export function describeDifference(d: Difference): string {
  const exit = (o: Outcome): string => `exit ${o.status}${o.stderr ? `, ${o.stderr.trim().split('\n')[0]}` : ''}`;
  return [
    `difference: ${d.source}`,
    `minimised trace (${d.minimized.split('\n').filter((l) => l !== '').length} lines):`,
    ...d.minimized.trimEnd().split('\n').map((l) => `  ${l}`),
    `linux: ${exit(d.kernel)}; vmtree: ${exit(d.sim)}`,
    sideBySide(d.kernel.stdout, d.sim.stdout),
  ].join('\n');
}
