// The kernel oracle: vmrun (native/vmrun/) runs a vmtrace file on the live Linux
// kernel (one real process per trace process) and prints the spec's output,
// so the simulator's output can be diffed against Linux's.
//
//   ensureNativeRunner()    builds build/vmrun if missing or older than its sources
//   ensureNativeProgram(n)  the same for any native/N.c (build/N): `record`
//   runOnKernel(text, name) runs a trace; resolves { status, stdout, stderr }
//   kernelOracleAvailable() can this machine act as the oracle, and if not, why
//   probeKernel()           what this kernel does that a trace can see (vmrun --probe):
//                           whether it has the shared zero page
//   zeroPageFor(setting)    the simulator's zeroPage for 'auto' (the host's), 'on', 'off'
//
// vmrun's exit status: 0 ok, 1 usage / unreadable input, 2 bad trace
// (docs/trace-errors.md, nothing on stdout), 3 not portable (the trace
// would touch memory outside the window), 4 internal error.

import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PAGE_SIZE } from '../mm/constants.js';

/** Repository root: this file is src/oracle/native.ts or dist/oracle/native.js. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const NATIVE_DIR = path.join(ROOT, 'native');
const BUILD_SCRIPT = path.join(NATIVE_DIR, 'build.sh');
/** The runner's sources: a program in parts (main.c tells how it works). */
const RUNNER_DIR = path.join(NATIVE_DIR, 'vmrun');

/** Where the runner is built. native/build.sh builds every native/NAME.c into build/NAME. */
export const NATIVE_RUNNER_PATH = path.join(ROOT, 'build', 'vmrun');

/** Where native/NAME.c is built. */
export function nativeProgramPath(name: string): string {
  return path.join(ROOT, 'build', name);
}

export interface KernelRun {
  /** vmrun's exit status (0 ok, 2 bad trace, 3 not portable, 4 internal error), or 128+signal. */
  status: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Kill the runner after this many milliseconds (default: no limit). */
  timeoutMs?: number;
}

function compilerName(): string {
  return process.env.CC && process.env.CC.trim() !== '' ? process.env.CC.trim() : 'cc';
}

function haveCompiler(): boolean {
  const r = spawnSync('sh', ['-c', 'command -v "$1" >/dev/null 2>&1', 'sh', compilerName()], { stdio: 'ignore' });
  return r.status === 0;
}

/**
 * Newest modification time of what native/build.sh compiles: the runner's
 * parts (native/vmrun/*.c, *.h), single-file programs (native/*.c, *.h) and
 * build.sh itself. build.sh builds them all at once, so build/vmrun being
 * newer than all of them means nothing needs building.
 */
function sourcesMtime(): number {
  let newest = 0;
  for (const dir of [NATIVE_DIR, RUNNER_DIR]) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) {
      if (f.endsWith('.c') || f.endsWith('.h') || (dir === NATIVE_DIR && f === 'build.sh')) {
        newest = Math.max(newest, statSync(path.join(dir, f)).mtimeMs);
      }
    }
  }
  return newest;
}

function programUpToDate(program: string): boolean {
  if (!existsSync(program)) return false;
  return statSync(program).mtimeMs >= sourcesMtime();
}

function runnerUpToDate(): boolean {
  return programUpToDate(NATIVE_RUNNER_PATH);
}

let building: Promise<void> | undefined;

/**
 * Build build/vmrun if it is missing or older than its sources; resolve to
 * its path. Rejects with a clear message when there is no C compiler or the
 * build fails.
 */
export function ensureNativeRunner(): Promise<string> {
  return ensureNativeProgram('vmrun');
}

/**
 * Build build/NAME (from native/NAME.c; build.sh builds them all) if it is
 * missing or older than native/; resolve to its path.
 */
export async function ensureNativeProgram(name: string): Promise<string> {
  const program = nativeProgramPath(name);
  if (programUpToDate(program)) return program;
  await buildNative(program);
  if (!existsSync(program)) throw new Error(`native build: ${program} was not built (is native/${name}.c missing?)`);
  return program;
}

function buildNative(program: string): Promise<void> {
  if (building) return building;
  building = new Promise<void>((resolve, reject) => {
    if (!existsSync(BUILD_SCRIPT)) {
      reject(new Error(`native runner: ${BUILD_SCRIPT} is missing`));
      return;
    }
    if (!haveCompiler()) {
      reject(new Error(
        `native runner: no C compiler found ('${compilerName()}' is not on PATH; install gcc or clang, or set CC) ` +
        `and ${program} is ${existsSync(program) ? 'older than native/' : 'not built'}`,
      ));
      return;
    }
    const child = spawn('sh', [BUILD_SCRIPT], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('error', (e) => reject(new Error(`native runner: cannot run ${BUILD_SCRIPT}: ${e.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`native runner: build failed (${signal ?? `exit ${code}`}):\n${out.trim()}`));
    });
  }).finally(() => { building = undefined; });
  return building;
}

/** The bytes of a trace given as a string: latin1 unless it holds characters above U+00FF (then UTF-8), like the parser. */
function traceBytes(text: string | Uint8Array): Buffer {
  if (typeof text !== 'string') return Buffer.from(text);
  // eslint-disable-next-line no-control-regex
  return /[^\u0000-\u00ff]/.test(text) ? Buffer.from(text, 'utf8') : Buffer.from(text, 'latin1');
}

/**
 * Run a trace on the kernel. The trace is fed on stdin; error messages name
 * it `name` (`FILE:LINE: ...` exactly as `vmtree run name` would print),
 * or `<stdin>` without a name.
 */
export async function runOnKernel(traceText: string | Uint8Array, name?: string, opts: RunOptions = {}): Promise<KernelRun> {
  const runner = await ensureNativeRunner();
  const bytes = traceBytes(traceText);
  const args = name === undefined ? ['-'] : ['--name', name, '-'];
  return new Promise<KernelRun>((resolve, reject) => {
    const child = spawn(runner, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs !== undefined) {
      // SIGTERM: vmrun kills its workers and removes its temporary directory
      timer = setTimeout(() => child.kill('SIGTERM'), opts.timeoutMs);
    }
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new Error(`runOnKernel: cannot run ${runner}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({
        status: code ?? (signal ? 128 + (signalNumber(signal) ?? 0) : 255),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    // vmrun reads all of stdin before it runs anything; EPIPE only if it died
    child.stdin.on('error', () => {});
    child.stdin.end(bytes);
  });
}

function signalNumber(sig: NodeJS.Signals): number | undefined {
  const n = (
    { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9,
      SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 } as Record<string, number>
  )[sig];
  return n;
}

/**
 * Can this machine act as the kernel oracle? Needs Linux on x86-64, a C
 * compiler (or an up-to-date build/vmrun), and real page frame numbers in
 * /proc/self/pagemap (root: CAP_SYS_ADMIN), which `frames` needs.
 */
export function kernelOracleAvailable(): { ok: boolean; why?: string } {
  if (process.platform !== 'linux') return { ok: false, why: `not Linux (platform ${process.platform})` };
  if (process.arch !== 'x64') return { ok: false, why: `not x86-64 (arch ${process.arch})` };
  let upToDate = false;
  try {
    upToDate = runnerUpToDate();
  } catch {
    return { ok: false, why: `native runner sources missing (${NATIVE_DIR})` };
  }
  if (!upToDate && !haveCompiler()) {
    return { ok: false, why: `no C compiler ('${compilerName()}' not found) to build ${NATIVE_RUNNER_PATH}` };
  }
  const pfn = pagemapShowsPfns();
  if (pfn !== true) return { ok: false, why: pfn };
  return { ok: true };
}

/** true, or why /proc/self/pagemap gives no PFNs. */
function pagemapShowsPfns(): true | string {
  let maps: string;
  try {
    maps = readFileSync('/proc/self/maps', 'latin1');
  } catch (e) {
    return `cannot read /proc/self/maps: ${(e as Error).message}`;
  }
  let fd: number;
  try {
    fd = openSync('/proc/self/pagemap', 'r');
  } catch (e) {
    return `cannot open /proc/self/pagemap: ${(e as Error).message}`;
  }
  try {
    const entry = Buffer.alloc(8 * 64);
    let present = 0;
    for (const line of maps.split('\n')) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) r/.exec(line);
      if (!m) continue;
      const start = Number.parseInt(m[1]!, 16);
      const end = Number.parseInt(m[2]!, 16);
      if (start >= 2 ** 47) continue; // [vsyscall]
      const pages = Math.min(64, (end - start) / PAGE_SIZE);
      let n: number;
      try {
        n = readSync(fd, entry, 0, pages * 8, (start / PAGE_SIZE) * 8);
      } catch {
        continue;
      }
      for (let i = 0; i + 8 <= n; i += 8) {
        const v = entry.readBigUInt64LE(i);
        if (v >> 63n) {
          present++;
          if ((v & ((1n << 55n) - 1n)) !== 0n) return true;
        }
      }
      if (present > 256) break;
    }
    return present > 0
      ? '/proc/self/pagemap shows no page frame numbers (needs root: CAP_SYS_ADMIN)'
      : '/proc/self/pagemap shows no present pages';
  } finally {
    closeSync(fd);
  }
}

/** What the running kernel does that traces can observe and the simulator must match. */
export interface KernelBehaviour {
  /**
   * A read fault of private anonymous memory maps the shared zero page
   * (stock Linux); false on kernels that forbid it (a zeroed page of its
   * own each time, so `frames` has no zero: group).
   */
  zeroPage: boolean;
}

let probed: Promise<KernelBehaviour> | undefined;

/**
 * Ask the native runner how this kernel behaves (`vmrun --probe`: two
 * fresh private anonymous pages read, their PFNs compared). Cached for the
 * process. Rejects when the runner cannot be built or PFNs are unreadable.
 */
export function probeKernel(): Promise<KernelBehaviour> {
  probed ??= ensureNativeRunner().then((runner) => {
    const r = spawnSync(runner, ['--probe'], { encoding: 'utf8' });
    const m = /^zero-page (on|off)$/m.exec(r.stdout ?? '');
    if (r.status !== 0 || m === null) {
      throw new Error(`native runner: probe failed (${r.status ?? r.signal}): ${(r.stderr ?? '').trim() || r.stdout}`);
    }
    return { zeroPage: m[1] === 'on' };
  });
  probed.catch(() => { probed = undefined; });
  return probed;
}

/** How the zero page is chosen for a comparison: the host's behaviour, or forced. */
export type ZeroPageSetting = 'auto' | 'on' | 'off';

/** The simulator's MachineOptions.zeroPage for a setting ('auto' probes the kernel). */
export async function zeroPageFor(setting: ZeroPageSetting): Promise<boolean> {
  if (setting === 'on') return true;
  if (setting === 'off') return false;
  return (await probeKernel()).zeroPage;
}
