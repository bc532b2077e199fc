// Workload generators (src/workload/): every workload, at its defaults and
// at small parameters, is a valid portable trace that runs on the simulator
// with only `ok` and values as results; every read returns what an
// independent reference model of the trace (below) says it must, and what
// its `# expect` comment says; hand-computed values of specific reads; no
// frame is left behind once every process has exited; bad names and values
// throw clear errors.

import { describe, expect, it } from 'vitest';
import { Machine, runTrace, type MachineOptions } from '../src/machine.js';
import type { Command } from '../src/trace/ast.js';
import { kernelOracleAvailable, runOnKernel } from '../src/oracle/native.js';
import { parseTrace } from '../src/trace/parse.js';
import { WORKLOADS, workloadTrace, type Workload } from '../src/workload/index.js';
import { checkInvariants, checkOnlyPageCacheLeft } from './invariants.js';

const PAGE = 4096n;
const WIN_START = 0x100000000000n;
const WIN_END = 0x200000000000n;
const NAMES = ['prefork', 'zygote', 'shell', 'fork-chain', 'cow-storm', 'pressure'];

const wl = (name: string): Workload => WORKLOADS.find((w) => w.name === name)!;
const addr = (n: bigint): string => `0x${n.toString(16)}`;
const page = (base: bigint, p: number): string => addr(base + BigInt(p) * PAGE);
const R0 = WIN_START;
const R1 = WIN_START + 0x10000000000n;
const R2 = WIN_START + 0x20000000000n;

// ---------------------------------------------------------------------------
// A reference model of exactly the trace features the workloads use, written
// from the spec and independent of both the generators and the simulator:
// private mappings copy their written words at fork; unwritten private file
// words read the file; shared file mappings and fread read the file.

interface Region { s: bigint; e: bigint; file: string | null; off: bigint; shared: boolean; prot: string }
interface Proc { regions: Region[]; priv: Map<bigint, number> }

class RefModel {
  procs = new Map<string, Proc>();
  dead = new Set<string>();
  files = new Map<string, { size: bigint; words: Map<bigint, number> }>();

  private region(p: Proc, a: bigint): Region {
    const r = p.regions.find((x) => x.s <= a && a < x.e);
    if (r === undefined) throw new Error(`model: ${addr(a)} is not mapped`);
    return r;
  }

  /** The result the spec requires for c. */
  exec(c: Command): string {
    switch (c.kind) {
      case 'file':
        this.files.set(c.file, { size: c.size, words: new Map() });
        return 'ok';
      case 'fwrite': {
        const f = this.files.get(c.file)!;
        f.words.set(c.off, c.val);
        if (c.off + 4n > f.size) f.size = c.off + 4n;
        return 'ok';
      }
      case 'fread': {
        const f = this.files.get(c.file)!;
        return c.off + 4n > f.size ? 'EOF' : String(f.words.get(c.off) ?? 0);
      }
      case 'spawn':
        this.procs.set(c.proc, { regions: [], priv: new Map() });
        return 'ok';
      case 'fork': {
        const p = this.procs.get(c.proc)!;
        this.procs.set(c.child, { regions: p.regions.map((r) => ({ ...r })), priv: new Map(p.priv) });
        return 'ok';
      }
      case 'exit':
        this.procs.delete(c.proc);
        this.dead.add(c.proc);
        return 'ok';
      case 'reclaim':
        return 'ok';
      case 'mmap': {
        const p = this.procs.get(c.proc)!;
        const e = c.addr + c.len;
        if (c.fixed || c.len % PAGE !== 0n || p.regions.some((r) => r.s < e && c.addr < r.e)) {
          throw new Error('model: only non-overlapping page-multiple MAP_FIXED_NOREPLACE mmaps');
        }
        p.regions.push({ s: c.addr, e, file: c.file ?? null, off: c.off ?? 0n, shared: c.shared, prot: c.prot });
        return 'ok';
      }
      case 'munmap': {
        const p = this.procs.get(c.proc)!;
        const e = c.addr + c.len;
        for (const r of p.regions) {
          if (r.s < e && c.addr < r.e && !(c.addr <= r.s && r.e <= e)) throw new Error('model: only whole-mapping munmaps');
        }
        p.regions = p.regions.filter((r) => !(c.addr <= r.s && r.e <= e));
        for (const a of [...p.priv.keys()]) if (c.addr <= a && a < e) p.priv.delete(a);
        return 'ok';
      }
      case 'read': {
        const addr = BigInt(c.addr);
        const p = this.procs.get(c.proc)!;
        const r = this.region(p, addr);
        if (!r.shared && p.priv.has(addr)) return String(p.priv.get(addr));
        if (r.file === null) return '0';
        const f = this.files.get(r.file)!;
        const off = r.off + (addr - r.s);
        if (off >= ((f.size + PAGE - 1n) / PAGE) * PAGE) throw new Error('model: read past EOF');
        return String(f.words.get(off) ?? 0);
      }
      case 'write': {
        const addr = BigInt(c.addr);
        const p = this.procs.get(c.proc)!;
        const r = this.region(p, addr);
        if (!r.prot.includes('w')) throw new Error(`model: write to ${r.prot} memory`);
        if (r.shared) this.files.get(r.file!)!.words.set(r.off + (addr - r.s), c.val);
        else p.priv.set(addr, c.val);
        return 'ok';
      }
      default:
        throw new Error(`model: workloads do not use '${c.kind}'`);
    }
  }
}

interface RunResult { text: string; cmds: Command[]; out: Map<number, string>; machine: Machine }

/** Generate, parse, run on the simulator and the reference model; check what holds for every workload. */
function runChecked(name: string, params: Record<string, number>, opts: MachineOptions = {}, invariants = false): RunResult {
  const text = wl(name).generate(params);
  const cmds = parseTrace(text, `${name}.vmt`);
  const lines = text.split('\n');
  const model = new RefModel();
  const m = new Machine(opts);
  const out = new Map<number, string>();
  for (const c of cmds) {
    const got = m.exec(c);
    out.set(c.line, got);
    if (invariants) checkInvariants(m);
    const want = model.exec(c);
    if (got !== want) throw new Error(`${name} ${JSON.stringify(params)} line ${c.line} '${lines[c.line - 1]}': simulator ${got}, model ${want}`);
    const e = /# expect (\d+)$/.exec(lines[c.line - 1]!);
    if ((c.kind === 'read' || c.kind === 'fread') !== (e !== null)) throw new Error(`line ${c.line}: read without # expect, or the reverse`);
    if (e !== null && e[1] !== got) throw new Error(`line ${c.line} '${lines[c.line - 1]}': # expect ${e[1]}, got ${got}`);
  }
  // Portability: everything inside the window; no frames; everyone exited.
  for (const c of cmds) {
    expect(c.kind).not.toBe('frames');
    if (c.kind === 'mmap') {
      expect(c.addr >= WIN_START && c.addr + c.len <= WIN_END, `line ${c.line}`).toBe(true);
      expect(c.addr % PAGE).toBe(0n);
    }
    if (c.kind === 'munmap') expect(c.addr >= WIN_START && c.addr + c.len <= WIN_END).toBe(true);
    if (c.kind === 'read' || c.kind === 'write') expect(c.addr >= WIN_START && c.addr < WIN_END, `line ${c.line}`).toBe(true);
  }
  expect(model.procs.size, 'every process exits').toBe(0);
  expect(m.procs.size).toBe(0);
  checkOnlyPageCacheLeft(m);
  const s = m.stats();
  expect(s.sigsegv! + s.sigbus!).toBe(0);
  return { text, cmds, out, machine: m };
}

/** Results of every line whose command text (before any comment) is exactly `cmd`. */
function resultsOf(r: RunResult, cmd: string): string[] {
  const lines = r.text.split('\n');
  const got: string[] = [];
  lines.forEach((l, i) => {
    if (l.replace(/#.*$/, '').trim() === cmd) got.push(r.out.get(i + 1)!);
  });
  if (got.length === 0) throw new Error(`no line '${cmd}' in the trace`);
  return got;
}
const resultOf = (r: RunResult, cmd: string): string => {
  const all = resultsOf(r, cmd);
  expect(new Set(all).size, `every '${cmd}' gives one result`).toBe(1);
  return all[0]!;
};

// ---------------------------------------------------------------------------

describe('registry', () => {
  it('has the six workloads, each with sane parameters', () => {
    expect(WORKLOADS.map((w) => w.name)).toEqual(NAMES);
    for (const w of WORKLOADS) {
      expect(w.description.length).toBeGreaterThan(10);
      expect(new Set(w.params.map((p) => p.name)).size).toBe(w.params.length);
      for (const p of w.params) {
        expect(Number.isSafeInteger(p.default), `${w.name}.${p.name}`).toBe(true);
        if (p.min !== undefined) expect(p.default).toBeGreaterThanOrEqual(p.min);
        if (p.max !== undefined) expect(p.default).toBeLessThanOrEqual(p.max);
        expect(p.description.length).toBeGreaterThan(5);
      }
    }
    expect(wl('prefork').params.find((p) => p.name === 'heap')!.default).toBe(4096);
    expect(wl('prefork').params.find((p) => p.name === 'workers')!.default).toBe(16);
    expect(wl('zygote').params.find((p) => p.name === 'image')!.default).toBe(8192);
    expect(wl('fork-chain').params.find((p) => p.name === 'generations')!.default).toBe(10000);
    expect(wl('cow-storm').params.find((p) => p.name === 'children')!.default).toBe(1000);
  });

  it('is deterministic, and workloadTrace with no overrides is the defaults', () => {
    for (const name of ['prefork', 'zygote', 'shell', 'pressure']) {
      const t = workloadTrace(name, {});
      expect(wl(name).generate({})).toBe(t);
      expect(t.split('\n')[0]).toMatch(new RegExp(`^# vmtree workload ${name} `));
    }
    expect(workloadTrace('prefork', { workers: '0x10', heap: '4096' })).toBe(workloadTrace('prefork', {}));
    expect(workloadTrace('shell', { commands: '7' })).toBe(wl('shell').generate({ commands: 7 }));
  });
});

describe('validation', () => {
  it('unknown workload names the known ones', () => {
    expect(() => workloadTrace('forkbomb', {})).toThrow(
      "unknown workload 'forkbomb' (workloads: prefork, zygote, shell, fork-chain, cow-storm, pressure)",
    );
  });

  it('unknown parameter names the parameters', () => {
    expect(() => workloadTrace('prefork', { worker: '3' })).toThrow(
      "workload 'prefork' has no parameter 'worker' (parameters: heap, workers, writePercent, reads)",
    );
    expect(() => wl('cow-storm').generate({ child: 3 })).toThrow(/no parameter 'child' \(parameters: pages, children, writePercent\)/);
  });

  it('non-integers are rejected with the allowed range', () => {
    for (const bad of ['1.5', 'abc', '', ' ', '1e3', '0x', '12abc', '+3', '99999999999999999999']) {
      expect(() => workloadTrace('prefork', { workers: bad }), bad).toThrow(
        `workload 'prefork': parameter 'workers' must be an integer from 0 to 4000 (default 16), got '${bad}' (not an integer)`,
      );
    }
    expect(() => wl('prefork').generate({ workers: 2.5 })).toThrow(/'workers' must be an integer from 0 to 4000 .*got 2\.5/);
    expect(() => wl('prefork').generate({ workers: Number.NaN })).toThrow(/'workers' must be an integer/);
  });

  it('out-of-range values are rejected with the allowed range', () => {
    expect(() => workloadTrace('prefork', { workers: '4001' })).toThrow(
      "workload 'prefork': parameter 'workers' must be an integer from 0 to 4000 (default 16), got 4001",
    );
    expect(() => workloadTrace('prefork', { heap: '0' })).toThrow(/'heap' must be an integer from 1 to 500000 \(default 4096\), got 0/);
    expect(() => workloadTrace('prefork', { writePercent: '101' })).toThrow(/'writePercent' must be an integer from 0 to 100/);
    expect(() => workloadTrace('pressure', { procs: '-1' })).toThrow(/'procs' must be an integer from 1 to 99 \(default 4\), got -1/);
    expect(() => workloadTrace('pressure', { sweeps: '41' })).toThrow(/'sweeps' must be an integer from 0 to 40/);
  });

  it('inconsistent combinations are rejected', () => {
    expect(() => workloadTrace('fork-chain', { pages: '8', writes: '9' })).toThrow(
      "workload 'fork-chain': writes (9) must not exceed pages (8)",
    );
  });

  it('the largest allowed values still give 32-bit values (spot check)', () => {
    const t = wl('prefork').generate({ heap: 3, workers: 4000, writePercent: 100, reads: 0 });
    expect(t).toContain('w4000 write 0x100000002000 4000000002');
    const p = wl('pressure').generate({ procs: 99, sweeps: 40, pages: 2, filePages: 0, slice: 1, reclaimEvery: 0 });
    expect(p).toContain('p98 write 0x100000000000 4098000000');
    expect(() => parseTrace(p, 'max')).not.toThrow();
  });
});

describe('small parameterisations, checked against the reference model and by hand', () => {
  it('prefork', () => {
    const r = runChecked('prefork', { heap: 10, workers: 2, writePercent: 20, reads: 4 }, {}, true);
    // 20% of 10 pages = 2, spread evenly (0, 5) and rotated by worker - 1.
    expect(resultOf(r, `w1 write ${page(R0, 0)} 1000000`)).toBe('ok');
    expect(resultOf(r, `w1 write ${page(R0, 5)} 1000005`)).toBe('ok');
    expect(resultOf(r, `w2 write ${page(R0, 1)} 2000001`)).toBe('ok');
    expect(resultOf(r, `w2 write ${page(R0, 6)} 2000006`)).toBe('ok');
    expect(resultOf(r, `w1 read ${page(R0, 0)}`)).toBe('1000000');
    expect(resultOf(r, `w2 read ${page(R0, 6)}`)).toBe('2000006');
    expect(resultOf(r, `server read ${page(R0, 0)}`)).toBe('1');
    expect(resultOf(r, `server read ${page(R0, 5)}`)).toBe('6');
    expect(resultOf(r, `server read ${page(R0, 9)}`)).toBe('10');
    runChecked('prefork', { heap: 7, workers: 5, writePercent: 100, reads: 7 });
    runChecked('prefork', { heap: 1, workers: 0, writePercent: 0 });
  });

  it('zygote', () => {
    const r = runChecked('zygote', { image: 8, filePercent: 50, apps: 2, appWrites: 2 }, {}, true);
    // File part: image pages 0-3 at region 0 (file holds p + 1); anonymous
    // part: pages 4-7 at region 1. App 1 writes pages 0 and 4, app 2 pages 1 and 5.
    expect(resultOf(r, `zygote read ${page(R0, 2)}`)).toBe('3');
    expect(resultOf(r, `app1 read ${page(R0, 0)}`)).toBe('1000000');
    expect(resultOf(r, `app1 read ${page(R0, 1)}`)).toBe('2');
    expect(resultOf(r, `app2 read ${page(R0, 1)}`)).toBe('2000001');
    expect(resultOf(r, `app2 read ${page(R0, 2)}`)).toBe('3');
    expect(resultOf(r, `app1 write ${page(R1, 0)} 1000004`)).toBe('ok');
    expect(resultOf(r, `zygote read ${page(R0, 0)}`)).toBe('1');
    expect(resultOf(r, `zygote read ${page(R1, 0)}`)).toBe('5');
    expect(resultOf(r, `zygote read ${page(R1, 3)}`)).toBe('8');
    runChecked('zygote', { image: 5, filePercent: 0, apps: 3, appWrites: 5 });
    runChecked('zygote', { image: 5, filePercent: 100, apps: 3, appWrites: 9 });
    // Under memory pressure too (file pages dropped and read back, anon swapped).
    runChecked('zygote', { image: 40, filePercent: 50, apps: 4, appWrites: 10 }, { frames: 16 }, true);
  });

  it('shell', () => {
    const r = runChecked('shell', { heap: 4, commands: 3, touch: 2 }, {}, true);
    // Text of shbin page 0 holds 1000, cmdbin page 0 2000; the shell wrote
    // 1000000 + c at heap page (c - 1) % 4 before command c.
    expect(resultOf(r, `sh read ${page(R0, 0)}`)).toBe('1000');
    expect(resultOf(r, `c2 read ${page(R0, 0)}`)).toBe('2000');
    expect(resultOf(r, `c2 read ${page(R2, 7)}`)).toBe('0');
    expect(resultOf(r, `c2 read ${page(R1, 1)}`)).toBe('2001');
    expect(resultOf(r, `sh read ${page(R1, 0)}`)).toBe('1000001');
    expect(resultOf(r, `sh read ${page(R1, 2)}`)).toBe('1000003');
    expect(resultOf(r, `sh read ${page(R1, 3)}`)).toBe('4');
    expect(resultOf(r, `sh read ${page(R2, 7)}`)).toBe('1');
    expect(resultsOf(r, `c3 munmap ${addr(WIN_START)} ${addr(WIN_END - WIN_START)}`)).toEqual(['ok']);
    runChecked('shell', { heap: 1, commands: 5, touch: 0 });
    runChecked('shell', { heap: 3, commands: 0 });
  });

  it('fork-chain', () => {
    const r = runChecked('fork-chain', { generations: 6, pages: 4, writes: 1 }, {}, true);
    // g<i> writes i + 1 at page i % 4: pages end as 5, 6, 3, 4.
    expect([0, 1, 2, 3].map((p) => resultOf(r, `g6 read ${page(R0, p)}`))).toEqual(['5', '6', '3', '4']);
    const r2 = runChecked('fork-chain', { generations: 3, pages: 8, writes: 2 });
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((p) => resultOf(r2, `g3 read ${page(R0, p)}`))).toEqual(['1', '1', '2', '2', '3', '3', '0', '0']);
    const r3 = runChecked('fork-chain', { generations: 0, pages: 2 });
    expect(resultOf(r3, `g0 read ${page(R0, 1)}`)).toBe('0');
    runChecked('fork-chain', { generations: 50, pages: 5, writes: 3 }, { frames: 8 }, true);
  });

  it('cow-storm', () => {
    const r = runChecked('cow-storm', { pages: 4, children: 3 }, {}, true);
    // Child 3 writes every page, starting at page 2 (rotation by 2).
    expect(resultOf(r, `c3 read ${page(R0, 2)}`)).toBe('3000002');
    expect(resultOf(r, `c3 read ${page(R0, 1)}`)).toBe('3000001');
    expect(resultOf(r, `c1 read ${page(R0, 0)}`)).toBe('1000000');
    expect(resultOf(r, `parent read ${page(R0, 0)}`)).toBe('1');
    expect(resultOf(r, `parent read ${page(R0, 3)}`)).toBe('4');
    expect(r.machine.stats().writeFaults).toBeGreaterThanOrEqual(4 + 3 * 4);
    const h = runChecked('cow-storm', { pages: 10, children: 4, writePercent: 30 });
    // 3 pages per child: 0, 3, 6 rotated by child - 1; child 4 starts at 3.
    expect(resultOf(h, `c4 read ${page(R0, 3)}`)).toBe('4000003');
    expect(resultOf(h, `c4 read ${page(R0, 2)}`)).toBe('3');
    runChecked('cow-storm', { pages: 30, children: 20 }, { frames: 64 });
    runChecked('cow-storm', { pages: 1, children: 0 });
  });

  it('pressure', () => {
    const params = { procs: 2, sweeps: 2, pages: 4, filePages: 2, slice: 2, reclaim: 3, reclaimEvery: 1 };
    const r = runChecked('pressure', params, {}, true);
    // Sweep s, process q writes page i iff (i + s + q) is even, storing
    // s * 10^8 + q * 10^6 + i. The file's slice 0 (pages 0, 1) is swept by p0.
    // Reads of a page: in sweep 1 (the fill), in sweep 2, and at the end.
    expect(resultsOf(r, `p1 read ${page(R0, 0)}`)).toEqual(['1', '101000000', '101000000']);
    expect(resultsOf(r, `p0 read ${page(R0, 0)}`)).toEqual(['1', '1', '200000000']);
    expect(resultsOf(r, `p0 read ${page(R0, 3)}`)).toEqual(['4', '100000003', '100000003']);
    expect(resultsOf(r, `p1 read ${page(R0, 3)}`)).toEqual(['4', '4', '201000003']);
    expect(resultsOf(r, `p0 read ${page(R1, 0)}`)).toEqual(['1', '1']);
    expect(resultsOf(r, `p1 read ${page(R1, 0)}`)).toEqual(['200000000']);
    expect(resultsOf(r, `p1 read ${page(R1, 1)}`)).toEqual(['100000001']);
    expect(resultOf(r, 'fread data 0x0')).toBe('200000000');
    expect(resultOf(r, 'fread data 0x1000')).toBe('100000001');
    expect(resultsOf(r, 'reclaim 3').length).toBe(4);
    // The same trace on a machine with 8 frames prints the same.
    const tight = runChecked('pressure', params, { frames: 8 }, true);
    expect([...tight.out]).toEqual([...r.out]);
    runChecked('pressure', { procs: 3, sweeps: 3, pages: 50, filePages: 70, slice: 16 }, { frames: 12 }, true);
    runChecked('pressure', { procs: 1, sweeps: 0, pages: 1, filePages: 0 });
  });
});

describe('edge values', () => {
  // A small configuration per workload; each parameter in turn is set to its
  // minimum, then to a value larger than the others allow (clamped or used).
  const SMALL: Record<string, Record<string, number>> = {
    prefork: { heap: 6, workers: 3, writePercent: 50, reads: 3 },
    zygote: { image: 6, filePercent: 50, apps: 3, appWrites: 2 },
    shell: { heap: 3, commands: 4, touch: 2 },
    'fork-chain': { generations: 5, pages: 3, writes: 2 },
    'cow-storm': { pages: 5, children: 3, writePercent: 60 },
    pressure: { procs: 2, sweeps: 2, pages: 5, filePages: 3, slice: 2, reclaim: 2, reclaimEvery: 1 },
  };
  it.each(NAMES)('%s: every parameter at its minimum, and large', (name) => {
    const base = SMALL[name]!;
    runChecked(name, base, {}, true);
    runChecked(name, base, { frames: 8 }, true);
    for (const p of wl(name).params) {
      if (p.min !== undefined) {
        const params = { ...base, [p.name]: p.min };
        if (name === 'fork-chain' && p.name === 'pages') params.writes = 1;
        runChecked(name, params, { frames: 8 }, true);
      }
      if (!(name === 'fork-chain' && p.name === 'writes')) runChecked(name, { ...base, [p.name]: Math.min(p.max ?? 12, 12) });
    }
  });
});

describe('defaults', () => {
  it.each(['prefork', 'zygote', 'shell'])('%s runs clean at its defaults', (name) => {
    const r = runChecked(name, {});
    expect(r.cmds.length).toBeGreaterThan(1000);
  });

  it('prefork defaults: 16 workers each COW 10% of 4096 pages', () => {
    const r = runChecked('prefork', {});
    expect(r.text.split('\n').filter((l) => /^w\d+ write /.test(l)).length).toBe(16 * 410);
    expect(resultOf(r, `w16 write ${page(R0, 15)} 16000015`)).toBe('ok');
    expect(resultOf(r, `server read ${page(R0, 4095)}`)).toBe('4096');
  });

  it('pressure defaults: same output with 512 frames as unbounded, and reclaim really runs', () => {
    const free = runChecked('pressure', {});
    const tight = runChecked('pressure', {}, { frames: 512 });
    expect([...tight.out]).toEqual([...free.out]);
    expect(tight.machine.stats().framesPeak).toBeLessThanOrEqual(512);
    expect(free.machine.stats().framesPeak).toBeGreaterThan(4 * 512);
    // Last writes: p0 wrote page 0 in sweep 4 ((0 + 4 + 0) even); p3 wrote
    // page 2047 in sweep 4; file page 0 is in slice 0 (p0's), 2047 in slice
    // 31 (p3's: 31 % 4), both last written in sweep 4.
    expect(resultsOf(free, `p0 read ${page(R0, 0)}`).at(-1)).toBe('400000000');
    expect(resultsOf(free, `p3 read ${page(R0, 2047)}`).at(-1)).toBe('403002047');
    expect(resultsOf(free, `p3 read ${page(R1, 0)}`).at(-1)).toBe('400000000');
    expect(resultOf(free, 'fread data 0x7ff000')).toBe('403002047');
  });

  it('fork-chain defaults: linear in generations, parse and run', () => {
    const text = workloadTrace('fork-chain', {});
    const lines = text.split('\n').length;
    expect(lines).toBeGreaterThanOrEqual(3 * 10000);
    expect(lines).toBeLessThanOrEqual(5 * 10000 + 100);
    const cmds = parseTrace(text, 'fork-chain.vmt');
    // Cheap enough to run: g<i> wrote i + 1 at page i % 64, so the last
    // writer of page p is 9984 + p for p < 16 (10000 = 156 * 64 + 16), else 9920 + p.
    const out = new Map<number, string>();
    const m = runTrace(cmds, (s) => {
      const [n, v] = s.trim().split(' ');
      out.set(Number(n), v!);
    });
    const textLines = text.split('\n');
    const readOf = (p: number): string | undefined =>
      out.get(textLines.findIndex((l) => l.startsWith(`g10000 read ${page(R0, p)} `)) + 1);
    expect(readOf(0)).toBe('9985');
    expect(readOf(15)).toBe('10000');
    expect(readOf(16)).toBe('9937');
    expect(readOf(63)).toBe('9984');
    checkOnlyPageCacheLeft(m);
  });

  it('cow-storm defaults: 10^6 COW writes, parses', () => {
    const text = workloadTrace('cow-storm', {});
    expect(text.length).toBeGreaterThan(30_000_000);
    const cmds = parseTrace(text, 'cow-storm.vmt');
    let childWrites = 0;
    for (const c of cmds) if (c.kind === 'write' && c.proc !== 'parent') childWrites++;
    expect(childWrites).toBe(1000 * 1000);
    expect(cmds.filter((c) => c.kind === 'fork').length).toBe(1000);
    expect(cmds.at(-1)).toMatchObject({ kind: 'exit', proc: 'parent' });
  });
});

// The traces are portable: Linux (through the native runner) prints exactly
// what the simulator prints. Skipped where the machine cannot be the oracle.
describe.skipIf(!kernelOracleAvailable().ok)('same output on Linux', () => {
  const CASES: [string, Record<string, number>][] = [
    ['prefork', { heap: 64, workers: 4, writePercent: 25, reads: 8 }],
    ['zygote', { image: 64, filePercent: 50, apps: 4, appWrites: 8 }],
    ['zygote', { image: 5, filePercent: 100, apps: 3, appWrites: 9 }],
    ['shell', { heap: 8, commands: 10, touch: 3 }],
    ['fork-chain', { generations: 100, pages: 8, writes: 2 }],
    ['cow-storm', { pages: 20, children: 10, writePercent: 50 }],
    ['pressure', { procs: 3, sweeps: 3, pages: 40, filePages: 24, slice: 8, reclaim: 5, reclaimEvery: 2 }],
  ];
  it.each(CASES)('%s %j', async (name, params) => {
    const text = wl(name).generate(params);
    let sim = '';
    runTrace(parseTrace(text, name), (s) => { sim += s; });
    const k = await runOnKernel(text, name, { timeoutMs: 60_000 });
    expect(k.stderr).toBe('');
    expect(k.status).toBe(0);
    expect(k.stdout).toBe(sim);
  });
});
