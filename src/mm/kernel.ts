// What every mm/ mechanism shares: the frame allocator, the anonymous-memory
// design, and the counters. One Kernel per simulated machine.

import type { AnonDesign } from '../anon/design.js';
import type { MergeTags } from '../anon/merge-tag.js';
import type { FrameAllocator } from './frames.js';

export interface Counters {
  readFaults: number;
  writeFaults: number;
  sigsegv: number;
  sigbus: number;
}

export interface Kernel {
  readonly frames: FrameAllocator;
  readonly design: AnonDesign;
  readonly counters: Counters;
  /** Linux's anon_vma identities, for merging (Vma.linuxAnon). */
  readonly tags: MergeTags;
  /**
   * Stock Linux maps the shared zero page on a read fault of private
   * anonymous memory; false models a kernel that forbids it (s390's
   * mm_forbids_zeropage(), sandbox kernels booted without it), where the
   * read fault allocates a zeroed anonymous page instead.
   */
  readonly zeroPage: boolean;
  /**
   * Make sure `n` frames can be allocated, reclaiming if memory is full.
   * Called before an operation takes frames, never in the middle of one,
   * so reclaim never pulls a page out from under the operation.
   * Throws OutOfMemoryError when nothing more can be freed.
   */
  reserve(n: number): void;
}
