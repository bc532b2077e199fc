// The CI slice of the parser fuzz (`npm run fuzz` runs 100,000 inputs):
// 10,000 inputs, seed fixed unless VMTREE_FC_SEED=random.
import { describe, expect, it } from 'vitest';
import { parseTrace } from '../src/trace/parse.js';
import { runFuzz } from './fuzz-props.js';

const seed = process.env.VMTREE_FC_SEED === 'random' ? Date.now() % 2 ** 31 : 12012;

describe('parser fuzz (CI slice)', () => {
  it('accepts or rejects 10,000 arbitrary and mutated inputs with FILE:LINE: message, streamed or whole', () => {
    const r = runFuzz(10_000, seed);
    // Both outcomes are reached: the inputs are neither all junk nor all valid.
    expect(r.accepted).toBeGreaterThan(500);
    expect(r.rejected).toBeGreaterThan(500);
  });
});

describe('names of exited processes (kept compactly by the streaming parser)', () => {
  it('tells an exited name from an unknown one and refuses to reuse it, across thousands of processes', () => {
    const lines: string[] = [];
    for (let i = 0; i < 5000; i++) lines.push(`spawn p${i}`, `exit p${i}`);
    const n = lines.length;
    const err = (extra: string): string => {
      try {
        parseTrace(`${lines.join('\n')}\n${extra}\n`, 't.vmt');
        return 'OK';
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(err('p4321 read 0x1000')).toBe(`t.vmt:${n + 1}: process 'p4321' has exited`);
    expect(err('p0 read 0x1000')).toBe(`t.vmt:${n + 1}: process 'p0' has exited`);
    expect(err('p5000 read 0x1000')).toBe(`t.vmt:${n + 1}: unknown process 'p5000'`);
    expect(err('spawn p4999')).toBe(`t.vmt:${n + 1}: process 'p4999' already exists`);
    expect(err('fork p1 q')).toBe(`t.vmt:${n + 1}: process 'p1' has exited`);
    expect(err('spawn q\nfork q p77')).toBe(`t.vmt:${n + 2}: process 'p77' already exists`);
    expect(err('spawn p5000\nexit p5000\nexit p5000')).toBe(`t.vmt:${n + 3}: process 'p5000' has exited`);
    expect(err('spawn p5000\np5000 read 0x1000')).toBe('OK');
  });
});
