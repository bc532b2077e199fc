// The swap device: page-sized slots holding the contents of anonymous and
// shm pages that reclaim took out of memory. An address_space keeps the
// slot number where the page was (its `swapped` array), so the next fault
// on that index, from whichever process, brings the page back once
// (swapIn) and every process then shares it again.

import type { AddressSpace } from './address-space.js';
import type { Frame, FrameAllocator, PageImage } from './frames.js';

export class SwapDevice {
  /** Slots in the device (Infinity: as large as needed). */
  capacity = Infinity;
  private readonly slots: PageImage[] = [];
  /** References to each slot (swap_map): designs whose ptes hold swap entries share a slot. */
  private readonly counts: number[] = [];
  private readonly freeSlots: number[] = [];
  used = 0;
  peak = 0;
  swapOuts = 0;
  swapIns = 0;

  get full(): boolean {
    return this.used >= this.capacity;
  }

  /** The identity (frames.pageId) of the page in each slot. */
  private readonly pageIds: number[] = [];

  /** Store a copy of a page's contents; returns the slot, or -1 when full. */
  write(frames: FrameAllocator, page: Frame): number {
    if (this.full) return -1;
    const slot = this.freeSlots.pop() ?? this.slots.length;
    this.slots[slot] = frames.image(page);
    this.pageIds[slot] = frames.pageId(page);
    this.counts[slot] = 1;
    if (++this.used > this.peak) this.peak = this.used;
    this.swapOuts++;
    return slot;
  }

  read(slot: number): PageImage {
    return this.slots[slot] ?? null;
  }

  /** Fill a fresh frame with the page in `slot`: its contents and identity. */
  load(frames: FrameAllocator, slot: number, f: Frame): void {
    frames.load(f, this.read(slot));
    frames.setPageId(f, this.pageIds[slot]!);
    this.swapIns++;
  }

  /** Take another reference to a slot (swap_duplicate). */
  dup(slot: number): void {
    this.counts[slot]!++;
  }

  /** Drop a reference to a slot; the slot is freed with its last one. */
  free(slot: number): void {
    if (--this.counts[slot]! > 0) return;
    this.slots[slot] = null;
    this.freeSlots.push(slot);
    this.used--;
  }
}

/**
 * Bring index back into `space` from swap: a new frame with the slot's
 * contents takes the slot's place. The caller has reserved the frame.
 */
export function swapIn(frames: FrameAllocator, swap: SwapDevice, space: AddressSpace, index: number, slot: number): Frame {
  const f = frames.alloc();
  swap.load(frames, slot, f);
  swap.free(slot);
  space.swapped!.delete(index);
  space.insert(index, f, frames);
  return f;
}
