// src/cli/options.ts: one integer syntax for every count, and one set of
// simulator options that every simulating subcommand accepts and passes on
// to the Machine. In-process through main(), with replaceable I/O.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { machineOptions } from '../src/cli/options.js';
import { cli as vmtree } from './helpers.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'vmtree-cli-options-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SIMULATING = ['run', 'compare', 'verify'];
const SHARED = ['--frames <n>', '--swap <n>', '--no-cut', '--no-merge', '--shadow-chain-limit <n>'];

describe('the simulator options', () => {
  it('every simulating subcommand lists them, with the same text', async () => {
    const helps = await Promise.all(SIMULATING.map(async (c) => (await vmtree([c, '--help'])).stdout));
    for (const h of helps) for (const o of SHARED) expect(h).toContain(o);
    const frames = helps.map((h) => /--frames <n> +(.*)/.exec(h)?.[1]);
    expect(new Set(frames).size).toBe(1);
    expect(helps[0]).toContain('--design <name>');
    expect(helps[2]).toContain('--design <name>');
    expect(helps[1]).toContain('--designs <list>');
    expect(helps[0]).toContain('--no-zero-page');
    expect(helps[1]).toContain('--no-zero-page');
    expect(helps[2]).toMatch(/--zero-page <mode>[\s\S]*"auto",\s+"on",\s+"off",\s+default:\s+"auto"/);
  });

  for (const cmd of SIMULATING) {
    it(`${cmd}: bad counts are usage errors (status 1) with one message form`, async () => {
      const cases: [string[], string][] = [
        [['--frames', '3'], '--frames must be an integer of at least 4.'],
        [['--frames', '0x3'], '--frames must be an integer of at least 4.'],
        [['--swap', '1.5'], '--swap must be an integer of at least 0.'],
        [['--swap', '-1'], ''],
        [['--shadow-chain-limit', '0'], '--shadow-chain-limit must be an integer of at least 1.'],
        [['--frames', '99999999999999999999'], '--frames must be an integer of at least 4.'],
      ];
      for (const [opt, message] of cases) {
        const r = await vmtree([cmd, ...opt, 'x.vmt']);
        expect(r.status, `${cmd} ${opt.join(' ')}`).toBe(1);
        expect(r.stdout).toBe('');
        expect(r.stderr).toContain(message);
      }
    });
  }

  it('accepts decimal and 0x hex counts alike', async () => {
    const f = path.join(tmp, 'small.vmt');
    writeFileSync(f, 'spawn a\na mmap 0x100000000000 0x1000 rw private\na write 0x100000000000 5\na read 0x100000000000\n');
    const dec = await vmtree(['run', '--frames', '16', '--swap', '10', f]);
    expect(dec).toEqual({ status: 0, stdout: '1 ok\n2 ok\n3 ok\n4 5\n', stderr: '' });
    expect(await vmtree(['run', '--frames', '0x10', '--swap', '0xa', f])).toEqual(dec);
  });

  it('machineOptions passes on exactly what was given', () => {
    expect(machineOptions({ cut: true, merge: true })).toEqual({});
    expect(machineOptions({ cut: true, merge: true, zeroPage: true })).toEqual({});
    expect(machineOptions({ cut: true, merge: true, zeroPage: 'auto' })).toEqual({});
    expect(machineOptions({
      design: 'shadow', frames: 8, swap: 0, cut: false, merge: false, shadowChainLimit: 2, zeroPage: false,
    })).toEqual({ design: 'shadow', frames: 8, swap: 0, cut: false, merge: false, shadowChainLimit: 2, zeroPage: false });
    expect(machineOptions({ cut: true, merge: true, zeroPage: 'off' })).toEqual({ zeroPage: false });
    expect(machineOptions({ cut: true, merge: true, zeroPage: 'on' })).toEqual({ zeroPage: true });
  });

  it('--no-cut, --no-merge and --shadow-chain-limit reach compare: the shadow chain stops at the limit', async () => {
    // A fork chain where every generation writes a page before its parent
    // exits: without collapse (--no-cut) and bypass (--no-merge) each
    // generation adds a shadow object in front of the chain.
    const gens = 30;
    const lines = ['spawn g0', 'g0 mmap 0x100000000000 0x4000 rw private'];
    for (let p = 0; p < 4; p++) lines.push(`g0 write 0x10000000${p}000 ${p + 1}`);
    for (let i = 0; i < gens; i++) lines.push(`fork g${i} g${i + 1}`, `g${i + 1} write 0x10000000${i % 4}000 ${1000 + i}`, `exit g${i}`);
    const f = path.join(tmp, 'chain.vmt');
    writeFileSync(f, `${lines.join('\n')}\n`);
    const depth = async (extra: string[]): Promise<Record<string, number>> => {
      const r = await vmtree(['compare', '--designs', 'shadow', '--json', ...extra, f]);
      expect(r.status, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { rows: { stats: Record<string, number> }[] }[])[0]!.rows[0]!.stats;
    };
    expect((await depth(['--no-cut', '--no-merge'])).depthPeak).toBe(gens);
    const limited = await depth(['--no-cut', '--no-merge', '--shadow-chain-limit', '3']);
    expect(limited.depthPeak).toBe(3);
    expect(limited.chainLimitCollapses).toBeGreaterThan(0);
    // With collapse on, the chain never grows.
    expect((await depth([])).depthPeak).toBeLessThan(3);
  });

  it('compare reports out of memory (status 3) naming the line and the design', async () => {
    const lines = ['spawn a', 'a mmap 0x100000000000 0x10000 rw private'];
    for (let i = 0; i < 16; i++) lines.push(`a write 0x1000000${(i * 0x1000).toString(16).padStart(5, '0')} 1`);
    const f = path.join(tmp, 'oom.vmt');
    writeFileSync(f, `${lines.join('\n')}\n`);
    const r = await vmtree(['compare', '--designs', 'tree', '--frames', '4', '--swap', '0', f]);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`^vmtree: ${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+: out of memory: .* \\(design tree\\)\\n$`));
  });
});
