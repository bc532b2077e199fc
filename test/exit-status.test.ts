// src/cli/exit.ts: the one place a trace run becomes an exit status
// (vmtree run, compare, verify's simulator side), and the Machine's own
// checks of its options in library terms.

import { describe, expect, it } from 'vitest';
import { EXIT, runOnSimulator, runToStatus } from '../src/cli/exit.js';
import { Machine, MIN_FRAMES } from '../src/mm/machine.js';
import { parseTrace } from '../src/trace/parse.js';
import { SPEC_EXAMPLE, SPEC_EXAMPLE_OUTPUT } from './spec-example.js';

/** A private mapping of `pages` pages, each written once: one anonymous page per write. */
function writes(pages: number): string {
  const lines = ['spawn a', `a mmap 0x100000000000 ${`0x${(pages * 0x1000).toString(16)}`} rw private`];
  for (let i = 0; i < pages; i++) lines.push(`a write 0x${(0x100000000000 + i * 0x1000).toString(16)} ${i + 1}`);
  return `${lines.join('\n')}\n`;
}

describe('runToStatus', () => {
  it('runs the spec example to OK and prints the spec output, from bytes, a string or parsed commands', () => {
    for (const input of [Buffer.from(SPEC_EXAMPLE), SPEC_EXAMPLE, parseTrace(SPEC_EXAMPLE, 'x.vmt')]) {
      let out = '';
      const r = runToStatus(input, 'x.vmt', {}, (l) => { out += l; });
      expect(r.status).toBe(EXIT.OK);
      expect(r.message).toBe('');
      expect(out).toBe(SPEC_EXAMPLE_OUTPUT);
      expect(r.machine?.stats().commands).toBe(13);
    }
  });

  it('a trace that breaks a rule: BAD_TRACE, FILE:LINE: message, nothing run or printed', () => {
    let out = '';
    const r = runToStatus('spawn a\nb read 0x1000\n', 't.vmt', {}, (l) => { out += l; });
    expect(r).toMatchObject({ status: EXIT.BAD_TRACE, message: "t.vmt:2: unknown process 'b'", machine: null });
    expect(out).toBe('');
  });

  it('out of memory: OUT_OF_MEMORY naming the line, after printing every line before it; a swap slot holds one more page', () => {
    const text = writes(12);
    const failAt = (swap: number): number => {
      const lines: string[] = [];
      const r = runToStatus(text, 'w.vmt', { frames: MIN_FRAMES, swap }, (l) => lines.push(l));
      expect(r.status).toBe(EXIT.OUT_OF_MEMORY);
      const m = /^w\.vmt:(\d+): out of memory: all 4 frames are in use and none can be freed/.exec(r.message);
      expect(m, r.message).not.toBeNull();
      const line = Number(m![1]);
      expect(lines).toEqual(Array.from({ length: line - 1 }, (_, i) => `${i + 1} ok\n`));
      return line;
    };
    const at = failAt(0);
    expect(at).toBeGreaterThan(2); // a write, not spawn or mmap
    expect(failAt(1)).toBe(at + 1);
    expect(failAt(3)).toBe(at + 3);
    // With room for every page there is no failure.
    expect(runToStatus(text, 'w.vmt', { frames: MIN_FRAMES, swap: 12 }, () => {}).status).toBe(EXIT.OK);
  });

  it('a crash is INTERNAL, with the error to rethrow', () => {
    const boom = new Error('boom');
    const r = runToStatus(SPEC_EXAMPLE, 'x.vmt', {}, () => { throw boom; });
    expect(r.status).toBe(EXIT.INTERNAL);
    expect(r.error).toBe(boom);
  });

  it('runOnSimulator gives what `vmtree run` prints', () => {
    expect(runOnSimulator(SPEC_EXAMPLE, 'x.vmt')).toEqual({ status: 0, stdout: SPEC_EXAMPLE_OUTPUT, stderr: '' });
    expect(runOnSimulator('spawn 9\n', 'x.vmt')).toEqual({ status: 2, stdout: '', stderr: "x.vmt:1: bad name '9'\n" });
    const oom = runOnSimulator(writes(12), 'w.vmt', { frames: MIN_FRAMES, swap: 0 });
    expect(oom.status).toBe(3);
    expect(oom.stderr).toMatch(/^vmtree: w\.vmt:\d+: out of memory: /);
  });

  it('the exit statuses are the documented ones', () => {
    expect(EXIT).toEqual({ OK: 0, USAGE: 1, BAD_TRACE: 2, OUT_OF_MEMORY: 3, DIFFERENT: 4, INTERNAL: 70 });
  });
});

describe('Machine options are checked in library terms', () => {
  it('rejects frames below MIN_FRAMES, fractional frames, negative or fractional swap, unknown designs', () => {
    expect(() => new Machine({ frames: 3 })).toThrow(new RangeError('frames must be an integer of at least 4, got 3'));
    expect(() => new Machine({ frames: 4.5 })).toThrow(RangeError);
    expect(() => new Machine({ swap: -1 })).toThrow(new RangeError('swap must be a non-negative integer, got -1'));
    expect(() => new Machine({ swap: 0.5 })).toThrow(RangeError);
    expect(() => new Machine({ design: 'nope' })).toThrow(/^unknown design 'nope'/);
    expect(() => new Machine({ frames: 4, swap: 0 })).not.toThrow();
  });
});
