// shell — fork + exec, the most common fork of all: a shell (or make, or a
// service manager) with a modest heap runs `commands` commands one after the
// other. Each command is a fork whose child immediately replaces its address
// space as execve would — one munmap of the whole window (exec's
// exit_mmap), then fresh mappings of the new program (text from a file,
// heap, stack) of which it touches a few pages — and exits. Between
// commands the shell writes one page of its heap (history, job table).
//
// What it stresses:
//   - The cost of fork for a child that throws everything away: every
//     private vma is duplicated into the design's structures and unlinked
//     again (anon_vma_chain: one anon_vma and chain entries per vma per
//     fork, freed at exec).
//   - What the parent is left with. Linux reuses the parent's pages once
//     the child is gone (the page is exclusive again). The tree design as
//     posted flags the parent's vma at every fork, so the shell's next write
//     after each command starts a new child space: the heap's chain grows by
//     one level per command unless the design cuts or merges it ("if a
//     child is the only reference to its parent, they can be merged"), and
//     every lookup of an old page walks it. Watch tree depth, lookup steps,
//     spaces alive and COW copies (which should stay near zero).
//
// Values: file `shbin` page p holds 1000 + p, file `cmdbin` page p holds
// 2000 + p. The shell first writes `p + 1` at each heap page p; before
// command c (1-based) it writes 1000000 + c at heap page (c - 1) % heap.
// Child `c<c>` writes c * 1000 + i at page i of its new heap.

import {
  defineWorkload, MAX_PAGES, MILLION, PAGE, pageAddrs, region, hex, WINDOW_END, WINDOW_START, type Params, type TraceText,
} from './common.js';

const SH_TEXT = 16;
const CMD_TEXT = 8;
const STACK = 8;

export const shell = defineWorkload({
  name: 'shell',
  description: 'a shell forks children that exec (unmap everything, map a new program, touch a few pages) and exit, over and over',
  params: [
    { name: 'heap', default: 256, min: 1, max: MAX_PAGES, description: "the shell's heap in pages (all written once)" },
    { name: 'commands', default: 200, min: 0, max: MILLION, description: 'commands run: one fork + exec + exit each' },
    { name: 'touch', default: 4, min: 0, max: 999, description: "pages of its new heap each child writes" },
  ],
  build(p: Params, t: TraceText): void {
    const heap = p.heap!;
    const commands = p.commands!;
    const touch = p.touch!;
    const textBase = region(0);
    const heapBase = region(1);
    const stackBase = region(2);
    const heapAddr = pageAddrs(heapBase, Math.max(heap, touch, 1));
    const stackTop = hex(stackBase + (STACK - 1) * PAGE);

    t.line(`file shbin ${hex(SH_TEXT * PAGE)}`);
    for (let i = 0; i < SH_TEXT; i++) t.line(`fwrite shbin ${hex(i * PAGE)} ${1000 + i}`);
    t.line(`file cmdbin ${hex(CMD_TEXT * PAGE)}`);
    for (let i = 0; i < CMD_TEXT; i++) t.line(`fwrite cmdbin ${hex(i * PAGE)} ${2000 + i}`);

    t.line('spawn sh');
    t.line(`sh mmap ${hex(textBase)} ${hex(SH_TEXT * PAGE)} rx private shbin 0x0`);
    t.line(`sh mmap ${hex(heapBase)} ${hex(heap * PAGE)} rw private`);
    t.line(`sh mmap ${hex(stackBase)} ${hex(STACK * PAGE)} rw private`);
    t.read('sh', hex(textBase), 1000);
    t.line(`sh write ${stackTop} 1`);
    const model = new Array<number>(heap);
    for (let i = 0; i < heap; i++) {
      t.line(`sh write ${heapAddr[i]} ${i + 1}`);
      model[i] = i + 1;
    }

    const windowLen = hex(WINDOW_END - WINDOW_START);
    for (let c = 1; c <= commands; c++) {
      const h = (c - 1) % heap;
      t.line(`sh write ${heapAddr[h]} ${MILLION + c}`);
      model[h] = MILLION + c;
      const ch = `c${c}`;
      t.line(`fork sh ${ch}`);
      // execve: the old image goes, the new program comes in.
      t.line(`${ch} munmap ${hex(WINDOW_START)} ${windowLen}`);
      t.line(`${ch} mmap ${hex(textBase)} ${hex(CMD_TEXT * PAGE)} rx private cmdbin 0x0`);
      if (touch > 0) t.line(`${ch} mmap ${hex(heapBase)} ${hex(touch * PAGE)} rw private`);
      t.line(`${ch} mmap ${hex(stackBase)} ${hex(STACK * PAGE)} rw private`);
      t.read(ch, hex(textBase), 2000);
      // The new stack is fresh memory: 0 where the shell had written 1.
      t.read(ch, stackTop, 0);
      t.line(`${ch} write ${stackTop} ${c}`);
      for (let i = 0; i < touch; i++) t.line(`${ch} write ${heapAddr[i]} ${c * 1000 + i}`);
      if (touch > 0) t.read(ch, heapAddr[touch - 1]!, c * 1000 + touch - 1);
      t.line(`exit ${ch}`);
    }

    for (const i of new Set([0, (commands - 1 + heap) % heap, heap - 1])) t.read('sh', heapAddr[i]!, model[i]!);
    t.read('sh', stackTop, 1);
    t.line('exit sh');
  },
});
