import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { corpusPath, readTraceFile } from '../src/record/corpus.js';
import { generateTrace } from '../src/trace/gen/index.js';
import { main } from '../src/cli/main.js';
import { SPEC_EXAMPLE, SPEC_EXAMPLE_OUTPUT } from './spec-example.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'vmtree.js');
let tmp = '';

/** Run `node bin/vmtree.js ARGS` with optional stdin. */
function vmtree(args: string[], input?: string | Buffer): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    input,
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    env: { ...process.env, NO_COLOR: '1' },
  });
}

/** Run a shell pipeline; returns its stdout and the PIPESTATUS array. */
function sh(script: string): { stdout: string; stderr: string; statuses: number[] } {
  const r = spawnSync('bash', ['-c', `${script}; echo "STATUS \${PIPESTATUS[*]}" >&2`], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  const m = /STATUS ([\d ]+)\n?$/.exec(r.stderr);
  return { stdout: r.stdout, stderr: r.stderr.replace(/STATUS [\d ]+\n?$/, ''), statuses: m ? m[1]!.trim().split(' ').map(Number) : [] };
}


beforeAll(() => {
  // Build dist/ for bin/vmtree.js. Type errors elsewhere in a work-in-progress
  // tree do not stop tsc from emitting, so only a missing output is fatal.
  spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', ROOT], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  expect(existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))).toBe(true);
  tmp = mkdtempSync(path.join(tmpdir(), 'vmtree-cli-'));
}, 180_000);

afterAll(() => {
  if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
});

describe('help and version', () => {
  it('--help describes the subcommands and exit statuses', () => {
    const r = vmtree(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: vmtree /);
    expect(r.stdout).toMatch(/run \[options\] <trace>/);
    expect(r.stdout).toMatch(/gen \[options\]/);
    expect(r.stdout).toMatch(/2 +the trace breaks a rule/);
    expect(r.stderr).toBe('');
    expect(vmtree(['help']).stdout).toBe(r.stdout);
  });

  it('run --help and gen --help tell the truth about their options', () => {
    const run = vmtree(['run', '--help']);
    expect(run.status).toBe(0);
    for (const opt of ['--design <name>', '--stats ', '--stats-json <file>', "'-' for standard input"]) {
      expect(run.stdout).toContain(opt);
    }
    expect(run.stdout).toContain('default: "tree"');
    expect(vmtree(['help', 'run']).stdout).toBe(run.stdout);
    const gen = vmtree(['gen', '--help']);
    expect(gen.status).toBe(0);
    for (const opt of ['--seed <n>', '--ops <k>', '--profile <p>', '--quirks', 'mixed', 'forky', 'files', 'remap']) {
      expect(gen.stdout).toContain(opt);
    }
  });

  it('--version prints the package version', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = vmtree(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });
});

describe('bad usage exits 1 with a message on stderr', () => {
  const cases: [string[], RegExp][] = [
    [[], /Usage: vmtree/],
    [['bogus'], /unknown command 'bogus'/],
    [['run'], /missing required argument 'trace'/],
    [['run', 'a.vmt', 'b.vmt'], /too many arguments/],
    [['run', '--bogus', 'examples/spec-example.vmt'], /unknown option '--bogus'/],
    [['run', '--design', 'nope', 'examples/spec-example.vmt'], /--design <name>.*'nope' is invalid/],
    [['run', '--stats-json'], /argument missing/],
    [['gen', '--ops', '5'], /required option '--seed <n>' not specified/],
    [['gen', '--seed', '1'], /required option '--ops <k>' not specified/],
    [['gen', '--seed', 'x', '--ops', '5'], /--seed must be an integer/],
    [['gen', '--seed', '-1', '--ops', '5'], /--seed|unknown option/],
    [['gen', '--seed', '18446744073709551616', '--ops', '5'], /--seed must be an integer from 0 to 18446744073709551615/],
    [['gen', '--seed', '1', '--ops', '1.5'], /--ops must be an integer/],
    [['gen', '--seed', '1', '--ops', '5', '--profile', 'nope'], /'nope' is invalid.*Allowed choices are mixed, forky, files, remap/s],
  ];
  for (const [args, message] of cases) {
    it(`vmtree ${args.join(' ')}`, () => {
      const r = vmtree(args);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    });
  }
});

describe('unreadable input exits 1', () => {
  it('a missing file', () => {
    const r = vmtree(['run', 'no/such/trace.vmt']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("vmtree: cannot read 'no/such/trace.vmt': no such file or directory\n");
    expect(r.stdout).toBe('');
  });

  it('a directory', () => {
    const r = vmtree(['run', 'examples']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^vmtree: cannot read 'examples': /);
    expect(r.stdout).toBe('');
  });

  it('an unwritable --stats-json file', () => {
    const r = vmtree(['run', '--stats-json', path.join(tmp, 'no', 'such', 'dir.json'), 'examples/spec-example.vmt']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^vmtree: cannot write '.*dir\.json': no such file or directory\n$/);
  });
});

describe('a bad trace exits 2: FILE:LINE: message, nothing on stdout', () => {
  it('names the path as given', () => {
    const f = path.join(tmp, 'bad.vmt');
    writeFileSync(f, 'spawn a\n# fine\na mmap 0x1000 0x1000 rw private\nb read 0x1000\na read 0x1000\n');
    const r = vmtree(['run', f]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${f}:4: unknown process 'b'\n`);
    const rel = path.relative(ROOT, f);
    expect(vmtree(['run', rel]).stderr).toBe(`${rel}:4: unknown process 'b'\n`);
  });

  it('reads standard input for -, named <stdin>', () => {
    const r = vmtree(['run', '-'], 'spawn a\nspawn a\n');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe("<stdin>:2: process 'a' already exists\n");
  });

  it('rejects binary junk with a sanitised message', () => {
    expect(vmtree(['run', '-'], Buffer.from([0x73, 0x70, 0x61, 0x77, 0x6e, 0x20, 0x00, 0x0a])).stderr).toBe('<stdin>:1: invalid character\n');
    const r = vmtree(['run', '-'], `spawn a\na ${'z'.repeat(100)}\n`);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`<stdin>:2: unknown command '${'z'.repeat(32)}...'\n`);
  });

  it('checks the whole trace before running anything', () => {
    const r = vmtree(['run', '-'], `${SPEC_EXAMPLE}frames now\n`);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('<stdin>:14: wrong number of arguments for frames\n');
  });
});

describe('run', () => {
  it('runs the spec example (examples/spec-example.vmt) and prints the spec output', () => {
    expect(readFileSync(path.join(ROOT, 'examples', 'spec-example.vmt'), 'utf8')).toBe(SPEC_EXAMPLE);
    const r = vmtree(['run', 'examples/spec-example.vmt']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(SPEC_EXAMPLE_OUTPUT);
    expect(r.status).toBe(0);
  });

  it('reads the trace from standard input', () => {
    const r = vmtree(['run', '-'], SPEC_EXAMPLE);
    expect(r.stdout).toBe(SPEC_EXAMPLE_OUTPUT);
    expect(r.status).toBe(0);
  });

  it('--stats prints an aligned table on stderr, --stats-json a flat JSON object', () => {
    const json = path.join(tmp, 'stats.json');
    const r = vmtree(['run', '--stats', '--stats-json', json, '--design', 'tree', 'examples/spec-example.vmt']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(SPEC_EXAMPLE_OUTPUT);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('stats (design tree)');
    const rows = lines.slice(1);
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row).toMatch(/^ {2}\S+ {2,}-?[\d.e+-]+$/);
    expect(new Set(rows.map((row) => row.length)).size).toBe(1);
    const stats = JSON.parse(readFileSync(json, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(stats).length).toBe(rows.length);
    for (const v of Object.values(stats)) expect(typeof v).toBe('number');
    expect(stats.commands).toBe(13);
  });

  it('writes large outputs completely through a pipe', () => {
    const n = 150_000;
    const lines = ['spawn a', 'a mmap 0x100000000000 0x1000 rw private'];
    for (let i = 0; i < n; i++) lines.push('a read 0x100000000000');
    const f = path.join(tmp, 'big.vmt');
    writeFileSync(f, `${lines.join('\n')}\n`);
    const r = sh(`node bin/vmtree.js run ${f} | cat`);
    expect(r.statuses).toEqual([0, 0]);
    const out = r.stdout.split('\n');
    expect(out.length).toBe(n + 3);
    expect(out[n + 1]).toBe(`${n + 2} 0`);
  });
});

describe('trace inputs: .gz files and real:NAME', () => {
  it('run gunzips a .gz trace: the spec example gzipped prints the spec output', () => {
    const f = path.join(tmp, 'spec.vmt.gz');
    writeFileSync(f, gzipSync(Buffer.from(SPEC_EXAMPLE, 'latin1')));
    const r = vmtree(['run', f]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(SPEC_EXAMPLE_OUTPUT);
    expect(r.status).toBe(0);
  });

  it('run streams a long .gz trace (past what is held in memory) to its last line', () => {
    const n = 200_000; // 4.4 MB unzipped: more than openTrace holds, so validated, copied and streamed
    const lines = ['spawn a', 'a mmap 0x100000000000 0x1000 rw private'];
    for (let i = 0; i < n; i++) lines.push('a read 0x100000000000');
    const f = path.join(tmp, 'long.vmt.gz');
    writeFileSync(f, gzipSync(Buffer.from(`${lines.join('\n')}\n`)));
    const r = vmtree(['run', f]);
    expect(r.status).toBe(0);
    const out = r.stdout.split('\n');
    expect(out.length).toBe(n + 3);
    expect(out[n + 1]).toBe(`${n + 2} 0`);
  });

  it('a bad line in a .gz trace: status 2, FILE:LINE', () => {
    const f = path.join(tmp, 'bad.vmt.gz');
    writeFileSync(f, gzipSync(Buffer.from('spawn a\na bogus\n')));
    const r = vmtree(['run', f]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${f}:2: unknown command 'bogus'\n`);
  });

  it('a .gz file that is not gzip: status 1, one line', () => {
    const f = path.join(tmp, 'plain.vmt.gz');
    writeFileSync(f, SPEC_EXAMPLE);
    for (const cmd of [['run', f], ['draw', f]]) {
      const r = vmtree(cmd);
      expect(r.status, cmd.join(' ')).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`vmtree: cannot read '${f}': incorrect header check\n`);
    }
  });

  it('real:NAME runs the recording in examples/real, gzipped or not, as its file does', () => {
    for (const name of ['dash-pipeline', 'make-j2']) {
      const file = corpusPath(name)!;
      const viaName = vmtree(['run', `real:${name}`]);
      const viaFile = vmtree(['run', file]);
      expect(viaName.status).toBe(0);
      expect(viaName.stdout).toBe(viaFile.stdout);
      // Every line of the recording is answered (the output is not empty or cut short).
      const commands = readTraceFile(file).toString('latin1').split('\n').filter((l) => /^\s*[^#\s]/.test(l)).length;
      expect(viaName.stdout.trimEnd().split('\n')).toHaveLength(commands);
    }
    expect(corpusPath('make-j2')!.endsWith('.gz')).toBe(true);
  });

  it('real:NAME for draw and explore too', () => {
    const d = vmtree(['draw', 'real:dash-pipeline', '--format', 'dot']);
    expect(d.status).toBe(0);
    expect(d.stdout).toMatch(/^digraph vmtree \{/);
    const e = vmtree(['explore', 'real:dash-pipeline']);
    expect(e.status).toBe(0);
    expect(e.stdout).toMatch(/^file:\/\/.*#z=/);
  });

  it('an unknown real:NAME: status 1, the recordings listed', () => {
    for (const cmd of ['run', 'draw', 'explore']) {
      const r = vmtree([cmd, 'real:no-such-recording']);
      expect(r.status, cmd).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^vmtree: no recording 'no-such-recording' in examples\/real \(recordings: .*dash-pipeline.*\)\n$/);
    }
  });
});

describe('gen', () => {
  it('prints exactly generateTrace, deterministically', () => {
    const r = vmtree(['gen', '--seed', '42', '--ops', '300', '--profile', 'forky']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(generateTrace({ seed: 42, ops: 300, profile: 'forky' }));
    expect(vmtree(['gen', '--ops', '300', '--seed', '0x2a', '--profile', 'forky']).stdout).toBe(r.stdout);
    expect(vmtree(['gen', '--seed', '7', '--ops', '50']).stdout).toBe(generateTrace({ seed: 7, ops: 50 }));
    expect(vmtree(['gen', '--seed', '7', '--ops', '50', '--quirks', '--profile', 'remap']).stdout).toBe(
      generateTrace({ seed: 7, ops: 50, quirks: true, profile: 'remap' }),
    );
    expect(vmtree(['gen', '--seed', '18446744073709551615', '--ops', '5']).status).toBe(0);
  });

  it('writes big traces completely through a pipe, and stops quietly when the reader goes away', () => {
    const full = sh('node bin/vmtree.js gen --seed 3 --ops 200000 | wc -c');
    expect(full.statuses).toEqual([0, 0]);
    expect(Number(full.stdout.trim())).toBe(Buffer.byteLength(generateTrace({ seed: 3, ops: 200000 })));
    const cut = sh('node bin/vmtree.js gen --seed 3 --ops 2000000 | head -c 100 >/dev/null');
    expect(cut.statuses[0]).toBe(0);
    expect(cut.stderr).toBe('');
  });

  it('gen | run - works end to end', () => {
    const r = sh('node bin/vmtree.js gen --seed 11 --ops 400 --profile files | node bin/vmtree.js run -');
    expect(r.statuses).toEqual([0, 0]);
    const first = r.stdout.split('\n')[0]!;
    expect(first).toMatch(/^2 /); // line 1 is the comment
    expect(r.stdout.split('\n').filter((l) => /^\d+ /.test(l))).toHaveLength(400);
  });
});

describe('main() in-process', () => {
  it('takes replaceable I/O and resolves to the exit status', async () => {
    let out = '';
    let err = '';
    const io = {
      stdout: (t: string) => { out += t; },
      stderr: (t: string) => { err += t; },
      readStdin: () => Promise.resolve(Buffer.from('spawn 9\n')),
      stderrIsTTY: false,
    };
    expect(await main(['run', '-'], io)).toBe(2);
    expect(out).toBe('');
    expect(err).toBe("<stdin>:1: bad name '9'\n");
    err = '';
    expect(await main(['gen', '--seed', '5', '--ops', '20'], io)).toBe(0);
    expect(out).toBe(generateTrace({ seed: 5, ops: 20 }));
    expect(await main(['frob'], io)).toBe(1);
    expect(err).toMatch(/unknown command 'frob'/);
  });
});
