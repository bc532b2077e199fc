// The machine as a library drives it: system calls with Linux's argument
// values (src/mm/machine.ts), no trace language involved, and a design
// handed in as a factory. The spec's example, made as calls, must give the
// spec's results; an invalid advice is EINVAL before anything else, as
// madvise_behavior_valid() makes it.

import { describe, expect, it } from 'vitest';
import { DESIGNS } from '../src/anon/index.js';
import {
  MADV_DONTNEED, MAP_FIXED_NOREPLACE, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE,
} from '../src/mm/constants.js';
import { MachineCore } from '../src/mm/machine.js';
import { SPEC_EXAMPLE_OUTPUT } from './spec-example.js';

const A = 0x100000000000n;

describe.each(Object.keys(DESIGNS))('MachineCore with design %s, driven by syscalls', (name) => {
  it("the spec's example as calls gives the spec's results", () => {
    const m = new MachineCore(DESIGNS[name]!);
    const out = [
      m.createFile('data', 0x4000n),
      m.fwrite('data', 0x1000n, 7),
      m.spawn('a'),
      m.mmap('a', A, 0x3000n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED_NOREPLACE, null, 0n),
      m.mmap('a', A + 0x3000n, 0x2000n, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE, 'data', 0x2000n),
      m.write('a', A, 1),
      m.fork('a', 'b'),
      m.write('b', A, 2),
      m.read('a', A),
      m.mmap('b', A + 0x10000n, 0x1000n, PROT_READ, MAP_PRIVATE | MAP_FIXED_NOREPLACE, 'data', 0x1000n),
      m.read('b', A + 0x10000n),
      m.maps('a'),
      m.framesReport(),
    ].map((r, i) => `${i + 1} ${r}\n`).join('');
    expect(out).toBe(SPEC_EXAMPLE_OUTPUT);
  });

  it('madvise with an advice it does not know is EINVAL, even on a bad address', () => {
    const m = new MachineCore(DESIGNS[name]!);
    m.spawn('a');
    expect(m.madvise('a', A + 1n, 0x1000n, 12345)).toBe('EINVAL');
    m.mmap('a', A, 0x1000n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED_NOREPLACE, null, 0n);
    expect(m.write('a', A, 5)).toBe('ok');
    expect(m.madvise('a', A, 0x1000n, 12345)).toBe('EINVAL');
    expect(m.read('a', A)).toBe(5);
    expect(m.madvise('a', A, 0x1000n, MADV_DONTNEED)).toBe('ok');
    expect(m.read('a', A)).toBe(0);
  });
});
