// struct mm_struct: one simulated process's address space.

import type { FrameAllocator } from './frames.js';
import { PageTable } from './pagetable.js';
import { VmaList } from './vma.js';

export class Mm {
  readonly vmas = new VmaList();
  readonly pt: PageTable;

  constructor(
    /** The trace's process name. */
    readonly name: string,
    frames: FrameAllocator,
  ) {
    this.pt = new PageTable(frames);
  }
}
