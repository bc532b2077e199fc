// What every mm/ mechanism shares: the frame allocator, the anonymous-memory
// design, and the counters. One Kernel per simulated machine.

import type { AnonDesign } from '../anon/design.js';
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
}
