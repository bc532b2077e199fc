// Run the recorder (native/record.c) on a command and convert its events
// into a vmtrace (convert.ts). Used by `vmtree record` and the tests.

import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { ensureNativeProgram } from '../oracle/native.js';
import { Converter, type Converted } from './convert.js';

/** Exit statuses of `vmtree record` (beyond the CLI's 0 and 1). */
// The recorder's exit statuses, as `vmtree record` returns them (src/cli/exit.ts EXIT).
export const EXIT_CANNOT_RECORD = 5;
export const EXIT_NOT_STARTED = 6;
export const EXIT_PARTIAL = 7;
export const EXIT_INTERNAL = 70;

export interface RecordOptions {
  aslr?: boolean;
  /** Stop (and mark the trace partial) past this many command lines. */
  maxLines?: number;
  /** Insert `P maps` before each exit, with the real maps as expected output (tests). */
  mapsAtExit?: boolean;
  /** Where the program's stdout goes: 'inherit' or a file descriptor (the CLI uses 2 when the trace goes to stdout). */
  programStdout?: 'inherit' | 'ignore' | number;
  programStdin?: 'inherit' | 'ignore';
  /** Called now and then with progress (the CLI draws a line on a TTY). */
  onProgress?: (lines: number, processes: number) => void;
}

export interface RecordResult extends Converted {
  /** 0, or the recorder's failure: EXIT_CANNOT_RECORD, EXIT_NOT_STARTED, EXIT_INTERNAL. */
  status: number;
  /** One line for stderr when something went wrong (empty if not). */
  message: string;
}

/** Record `argv` and return the trace. Rejects only if the recorder cannot be built. */
export async function record(argv: readonly string[], opts: RecordOptions = {}): Promise<RecordResult> {
  const program = await ensureNativeProgram('record');
  const args = ['--events', '3'];
  if (opts.aslr === true) args.push('--aslr');
  if (opts.mapsAtExit === true) args.push('--maps-at-exit');
  args.push('--', ...argv);
  const conv = new Converter({
    command: argv,
    kernel: `${os.type()} ${os.release()} ${os.machine()}`,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    aslr: opts.aslr === true,
    mapsAtExit: opts.mapsAtExit === true,
  });
  const child = spawn(program, args, {
    stdio: [opts.programStdin ?? 'inherit', opts.programStdout ?? 'inherit', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  let cutReason = '';
  const rl = createInterface({ input: child.stdio[3] as Readable, crlfDelay: Infinity });
  let lastProgress = 0;
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  const spawnError = new Promise<Error>((resolve) => child.on('error', resolve));
  const reading = (async () => {
    for await (const line of rl) {
      if (cutReason !== '') continue;
      conv.feed(line);
      if (opts.maxLines !== undefined && conv.lineCount > opts.maxLines) {
        cutReason = `stopped at --max-lines ${opts.maxLines}`;
        child.kill('SIGTERM');
      }
      if (opts.onProgress) {
        const now = Date.now();
        if (now - lastProgress > 200) {
          lastProgress = now;
          opts.onProgress(conv.lineCount, conv.processCount);
        }
      }
    }
  })();
  // Ctrl-C or a SIGTERM ends the recording, not vmtree: the recorder kills
  // the program and ends its stream, and the trace written is partial.
  const interrupt = (): void => {
    if (cutReason === '') cutReason = 'the recording was interrupted';
    child.kill('SIGTERM');
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  const first = await Promise.race([closed.then(() => null), spawnError]).finally(() => {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  });
  if (first instanceof Error) throw new Error(`cannot run the recorder ${program}: ${first.message}`);
  const { code, signal } = await closed;
  await reading;
  const message = stderr.trim().split('\n').filter((l) => l !== '').pop()?.replace(/^record: /, '') ?? '';
  let status = 0;
  let why = cutReason;
  if (signal !== null) {
    status = EXIT_INTERNAL;
    why ||= `the recorder was killed by ${signal}`;
  } else if (code === 3) {
    status = EXIT_CANNOT_RECORD;
  } else if (code === 4) {
    status = EXIT_NOT_STARTED;
  } else if (code !== 0) {
    status = code === 2 ? 1 : EXIT_INTERNAL;
    why ||= `the recorder failed: ${message}`;
  }
  const out = conv.finish(why);
  return { ...out, status, message: status === 0 ? '' : message || `recorder exit status ${code}` };
}

/**
 * Can this machine record? Linux on x86-64, the recorder built (a C
 * compiler), and the kernel features it needs (`record --probe`).
 */
export async function recorderAvailable(): Promise<{ ok: boolean; why?: string }> {
  if (process.platform !== 'linux') return { ok: false, why: `not Linux (platform ${process.platform})` };
  if (process.arch !== 'x64') return { ok: false, why: `not x86-64 (arch ${process.arch})` };
  let program: string;
  try {
    program = await ensureNativeProgram('record');
  } catch (e) {
    return { ok: false, why: (e as Error).message };
  }
  const r = spawnSync(program, ['--probe'], { encoding: 'utf8' });
  if (r.status === 0) return { ok: true };
  return { ok: false, why: (r.stderr ?? '').trim().replace(/^record: /, '') || `record --probe failed (status ${r.status})` };
}
