// The native runner (build/vmrun, native/vmrun/) as an oracle: run a trace on
// the real kernel and return its result bodies, or undefined when the runner
// is not there or not usable (not root: `frames` needs CAP_SYS_ADMIN).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelOracleAvailable } from '../../src/oracle/native.js';
import type { Command } from '../../src/trace/ast.js';
import { printVmt } from './trace-text.js';

const ROOT_DIR = join(import.meta.dirname, '..', '..');
export const VMRUN = process.env.VMTREE_VMRUN ?? join(ROOT_DIR, 'build', 'vmrun');

/**
 * Whether build/vmrun can run here; builds it first if it is missing and a
 * C compiler is there (a fresh clone has no build/). Under CI=true an
 * unusable runner is an error, never a reason to skip.
 */
export function vmrunAvailable(): boolean {
  const avail = kernelOracleAvailable();
  if (avail.ok && !existsSync(VMRUN)) spawnSync('sh', [join(ROOT_DIR, 'native', 'build.sh')], { stdio: 'inherit' });
  const ok = avail.ok && existsSync(VMRUN) && process.platform === 'linux';
  if (!ok && process.env.CI === 'true') throw new Error(`the kernel oracle is required under CI=true: ${avail.why ?? 'build/vmrun missing'}`);
  return ok;
}

let zeroPageCache: boolean | undefined;

/**
 * Whether this kernel maps the shared zero page on a read fault of private
 * anonymous memory (`vmrun --probe`; stock Linux: true). The naive model
 * must run in the same mode to be compared with it.
 */
export function hostZeroPage(): boolean {
  if (zeroPageCache === undefined) {
    const r = spawnSync(VMRUN, ['--probe'], { encoding: 'utf8' });
    const m = /^zero-page (on|off)$/m.exec(r.stdout ?? '');
    if (r.status !== 0 || m === null) throw new Error(`vmrun --probe failed: ${(r.stderr ?? '').trim()}`);
    zeroPageCache = m[1] === 'on';
  }
  return zeroPageCache;
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export interface LinuxRun {
  status: number;
  stdout: string;
  stderr: string;
}

/** Run trace text on the kernel. */
export function runLinuxText(text: string): LinuxRun {
  const dir = mkdtempSync(join(tmpdir(), 'vmtree-naive-'));
  try {
    const path = join(dir, 'trace.vmt');
    writeFileSync(path, text);
    const r = spawnSync(VMRUN, [path], { encoding: 'utf8', timeout: 60_000 });
    return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Split the spec's output ("N body" lines, continuation lines indented) into
 * one body per command.
 */
export function splitResults(out: string): string[] {
  const bodies: string[] = [];
  for (const l of out.split('\n')) {
    if (l === '') continue;
    if (l.startsWith('  ') && bodies.length > 0) bodies[bodies.length - 1] += `\n${l}`;
    else bodies.push(l.replace(/^\d+ /, ''));
  }
  return bodies;
}

/** Run commands (numbered 1..n) on the kernel; throws unless the runner succeeds. */
export function runLinux(cmds: readonly Command[]): string[] {
  const r = runLinuxText(printVmt(cmds));
  if (r.status !== 0) throw new Error(`vmrun exit ${r.status}: ${r.stderr.trim()}`);
  return splitResults(r.stdout);
}
