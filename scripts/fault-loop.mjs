// A loop of faults for instruction counting (scripts/instructions.sh): K
// machines, each faulting 32,768 pages of one kind in, as the bench's
// micro figures do (src/bench/bench.ts simFault), without a clock.
//
//   node scripts/fault-loop.mjs KIND K     KIND: write | read | cow | none | floor | rewrite
//
// `floor` runs src/bench/anatomy.ts's floorRun instead: the least a write
// fault must do, in plain code with no design. `rewrite` writes every page
// twice: less `write`, the second pass is what a write to a mapped page costs.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { Machine } = await import(process.env.VMTREE_DIST ?? path.join(root, 'dist', 'machine.js'));
const PAGE = 4096;
const BASE = 0x100000000000;
const PAGES = 32768;
const kind = process.argv[2] ?? 'write';
const K = Number(process.argv[3] ?? 10);
if (!['write', 'read', 'cow', 'none', 'floor', 'rewrite'].includes(kind) || !Number.isInteger(K) || K < 1) {
  process.stderr.write('usage: node scripts/fault-loop.mjs write|read|cow|none|floor|rewrite K\n');
  process.exit(2);
}
let line = 0;
if (kind === 'floor') {
  const { floorRun } = await import(path.join(path.dirname(process.env.VMTREE_DIST ?? path.join(root, 'dist', 'machine.js')), 'bench', 'anatomy.js'));
  for (let r = 0; r < K; r++) floorRun();
  process.exit(0);
}
for (let r = 0; r < K; r++) {
  const m = new Machine();
  m.call({ kind: 'spawn', line: ++line, proc: 'a' });
  m.call({ kind: 'mmap', line: ++line, proc: 'a', addr: BigInt(BASE), len: BigInt(PAGES * PAGE), prot: 'rw', shared: false, fixed: false });
  let p = 'a';
  if (kind === 'cow') {
    for (let i = 0; i < PAGES; i++) m.call({ kind: 'write', line: ++line, proc: 'a', addr: BASE + i * PAGE, val: i + 1 });
    m.call({ kind: 'fork', line: ++line, proc: 'a', child: 'b' });
    p = 'b';
  }
  if (kind === 'read') for (let i = 0; i < PAGES; i++) m.call({ kind: 'read', line: ++line, proc: p, addr: BASE + i * PAGE });
  else if (kind !== 'none') for (let i = 0; i < PAGES; i++) m.call({ kind: 'write', line: ++line, proc: p, addr: BASE + i * PAGE, val: i + 7 });
  if (kind === 'rewrite') for (let i = 0; i < PAGES; i++) m.call({ kind: 'write', line: ++line, proc: p, addr: BASE + i * PAGE, val: i + 9 });
}
