// Overcommit accounting (mm/util.c __vm_enough_memory), heuristic mode
// (vm.overcommit_memory = 0, the default): a single request for more pages
// than RAM plus swap fails with ENOMEM, anything smaller succeeds.
//
// The limit depends on the machine. The simulator uses the reference
// machines' size (24 GiB, no swap), rounded down to leave room for what
// the kernel reserves; requests near the limit are machine-dependent and
// not portable.

import { PAGE_SIZE } from './constants.js';

export const TOTALRAM_PAGES = Math.floor((23 * 1024 * 1024 * 1024) / PAGE_SIZE);

export function vmEnoughMemory(pages: number): boolean {
  return pages <= TOTALRAM_PAGES;
}
