// The machine's invariants, checked after every command in the tests.
// Each is stated once here; src/ comments refer to them.
//
// I1 vmas: page-aligned, non-empty, sorted, non-overlapping, below
//    TASK_SIZE; a file's i_mmap lists exactly the vmas that map it.
// I2' rmap: for every page an address_space owns, the design's reverse
//    map reaches every pte that maps it, each once (no fewer; and the ptes
//    it reports as mapping the page are exactly those: no more).
// I2 ptes: every present pte lies in a vma that permits its access bits,
//    and maps exactly the page that vma sees there — the page cache page
//    for a shared mapping; for a private one what the design's lookup
//    gives, or else the base page (the file's page / the zero page). No
//    pte maps a file page at or past EOF.
// I3 references: every frame's refs equals the holders we can count —
//    page cache slots, the design's own references, present ptes — and its
//    mapcount equals the ptes mapping it; the allocator's count of frames
//    in use equals the frames anything holds (nothing leaked).
// I3' shared page-table leaves (src/mm/pagetable.ts), checked on the raw
//    counts, before anything settles them: a leaf's `users` is the number
//    of page tables holding it, 1 <= counted <= users, `present` is its
//    present ptes and `writable` those with PTE_WRITE; each frame's raw mapcount is the sum of `counted` over
//    the distinct leaves' ptes mapping it, and its raw refs minus raw
//    mapcount is what holds it other than ptes.
// I4 design: the design's own invariants (for the tree: parent/child
//    links, no space without vmas or children, invariant X of tree.ts).
// I5 after every process has exited only page-cache frames remain
//    (checked by the tests that end traces with exits).

import { PAGE_SIZE, TASK_SIZE, VM_READ, VM_WRITE } from '../src/mm/constants.js';
import type { Frame } from '../src/mm/frames.js';
import type { Machine } from '../src/machine.js';
import { PTE_READ, PTE_WRITE, PTES_PER_LEAF, type PteLeaf } from '../src/mm/pagetable.js';
import type { File } from '../src/mm/file.js';

/** I3' alone: leaves and raw counts, settling nothing (so it can run while counts are deferred). */
export function checkLeafCounts(m: Machine): void {
  const fail = (msg: string): never => {
    throw new Error(`invariant: ${msg}`);
  };
  const holders = new Map<PteLeaf, number>();
  for (const mm of m.procs.values()) {
    for (const leaf of mm.pt.leaves.values()) holders.set(leaf, (holders.get(leaf) ?? 0) + 1);
  }
  const rawMap = new Map<Frame, number>();
  for (const [leaf, n] of holders) {
    if (leaf.users !== n) fail(`a page-table leaf has users ${leaf.users}, ${n} tables hold it`);
    if (leaf.counted < 1 || leaf.counted > leaf.users) fail(`a page-table leaf counts ${leaf.counted} of ${leaf.users} users`);
    let present = 0;
    let writable = 0;
    for (let i = 0; i < PTES_PER_LEAF; i++) {
      const f = leaf.frame(i);
      if (f === null) continue;
      present++;
      if ((leaf.flags[i]! & PTE_WRITE) !== 0) writable++;
      rawMap.set(f, (rawMap.get(f) ?? 0) + leaf.counted);
    }
    if (present !== leaf.present) fail(`a page-table leaf has ${present} ptes, says ${leaf.present}`);
    if (writable !== leaf.writable) fail(`a page-table leaf has ${writable} writable ptes, says ${leaf.writable}`);
  }
  const other = new Map<Frame, number>();
  const hold = (f: Frame, n = 1): void => {
    other.set(f, (other.get(f) ?? 0) + n);
  };
  const files = new Set<File>(m.files.values());
  for (const mm of m.procs.values()) for (const v of mm.vmas.list) if (v.file !== null) files.add(v.file);
  for (const f of files) f.mapping.pages.forEach((_, fr) => hold(fr));
  for (const [fr, n] of m.design.heldFrames()) hold(fr, n);
  for (const fr of new Set([...rawMap.keys(), ...other.keys()])) {
    const mc = rawMap.get(fr) ?? 0;
    const rawRefs = m.frames.rawRefs(fr);
    const rawMapcount = m.frames.rawMapcount(fr);
    if (rawMapcount !== mc) fail(`frame ${fr} raw mapcount ${rawMapcount}, counted ptes ${mc}`);
    const own = (other.get(fr) ?? 0) + (fr === m.frames.zero ? 1 : 0);
    if (rawRefs - rawMapcount !== own) fail(`frame ${fr} raw refs ${rawRefs} - mapcount ${rawMapcount}, other holders ${own}`);
  }
}

export function checkInvariants(m: Machine): void {
  checkLeafCounts(m);
  const fail = (msg: string): never => {
    throw new Error(`invariant: ${msg}`);
  };
  const holders = new Map<Frame, number>();
  const mapcounts = new Map<Frame, number>();
  const hold = (f: Frame, n = 1): void => {
    holders.set(f, (holders.get(f) ?? 0) + n);
  };
  const files = new Set<File>();

  // I1
  for (const mm of m.procs.values()) {
    let prevEnd = 0;
    for (const v of mm.vmas.list) {
      if (v.start % PAGE_SIZE !== 0 || v.end % PAGE_SIZE !== 0) fail(`${mm.name}: unaligned vma`);
      if (v.end <= v.start) fail(`${mm.name}: empty vma`);
      if (v.start < prevEnd) fail(`${mm.name}: vmas overlap or unsorted at 0x${v.start.toString(16)}`);
      if (v.end > TASK_SIZE) fail(`${mm.name}: vma past TASK_SIZE`);
      if (v.mm !== mm) fail(`${mm.name}: vma of another mm`);
      prevEnd = v.end;
      if (v.file !== null) {
        files.add(v.file);
        if (!v.file.mappings.has(v)) fail(`${mm.name}: vma missing from its file's i_mmap`);
      }
      if (v.shared && v.file === null) fail(`${mm.name}: shared vma without a file or shm object`);
      if (v.shared && v.anon !== null) fail(`${mm.name}: shared vma carries anonymous-design state`);
    }
  }
  for (const f of m.files.values()) files.add(f);
  for (const f of files) {
    for (const v of f.mappings) {
      if (!m.procs.has(v.mm.name) || m.procs.get(v.mm.name) !== v.mm || !v.mm.vmas.list.includes(v)) {
        fail(`file ${f.name ?? '(shm)'} lists a vma that is gone`);
      }
    }
    f.mapping.pages.forEach((_, fr) => hold(fr));
  }
  for (const [fr, n] of m.design.heldFrames()) hold(fr, n);

  // I2
  for (const mm of m.procs.values()) {
    for (const v of mm.vmas.list) {
      mm.pt.forEachPresent(v.start / PAGE_SIZE, v.end / PAGE_SIZE, (vpn, fr, flags) => {
        mapcounts.set(fr, (mapcounts.get(fr) ?? 0) + 1);
        hold(fr);
        const addr = vpn * PAGE_SIZE;
        const where = `${mm.name}:0x${addr.toString(16)}`;
        if ((flags & PTE_READ) !== 0 && (v.prot & VM_READ) === 0) fail(`${where}: readable pte in unreadable vma`);
        if ((flags & PTE_WRITE) !== 0 && (v.prot & VM_WRITE) === 0) fail(`${where}: writable pte in read-only vma`);
        const i = v.index(addr);
        if (v.file !== null && i >= v.file.pages) fail(`${where}: pte maps a page past EOF`);
        let expect: Frame | null;
        if (v.shared) expect = v.file!.cached(i);
        else {
          const seen = m.design.peek(v, i);
          if (seen === 'swapped') fail(`${where}: pte maps frame ${fr}, but the page is in swap`);
          expect = (seen as Frame | null) ?? (v.file === null ? m.frames.zero : v.file.cached(i));
        }
        if (expect !== fr) fail(`${where}: pte maps frame ${fr}, the vma sees ${expect ?? 'nothing'}`);
        if (fr === m.frames.zero && (flags & PTE_WRITE) !== 0) fail(`${where}: zero page mapped writable`);
      });
    }
    // No pte outside every vma.
    let total = 0;
    for (const v of mm.vmas.list) mm.pt.forEachPresent(v.start / PAGE_SIZE, v.end / PAGE_SIZE, () => { total++; });
    if (total !== mm.pt.present) fail(`${mm.name}: ${mm.pt.present - total} ptes outside any vma`);
  }

  // I2'
  const mappedAt = new Map<Frame, Set<string>>();
  for (const mm of m.procs.values()) {
    for (const v of mm.vmas.list) {
      mm.pt.forEachPresent(v.start / PAGE_SIZE, v.end / PAGE_SIZE, (vpn, fr) => {
        if (fr === m.frames.zero) return;
        let set = mappedAt.get(fr);
        if (set === undefined) mappedAt.set(fr, (set = new Set()));
        set.add(`${mm.name}:${vpn}`);
      });
    }
  }
  for (const fr of holders.keys()) {
    if (fr === m.frames.zero || m.frames.owner(fr) === null) continue;
    const found = new Set<string>();
    m.design.rmap(fr, (v, addr) => {
      const vpn = addr / PAGE_SIZE;
      if (v.mm.pt.frame(vpn) !== fr) return;
      const key = `${v.mm.name}:${vpn}`;
      if (found.has(key)) fail(`rmap of frame ${fr} reports pte ${key} twice`);
      found.add(key);
    });
    const actual = mappedAt.get(fr) ?? new Set<string>();
    for (const key of actual) if (!found.has(key)) fail(`rmap of frame ${fr} misses pte ${key}`);
    if (found.size !== actual.size) fail(`rmap of frame ${fr} finds ${found.size} ptes, ${actual.size} map it`);
  }

  // I3
  let inUse = 0;
  for (const [fr, n] of holders) {
    if (fr === m.frames.zero) {
      if (m.frames.refs(fr) !== n + 1) fail(`zero page refs ${m.frames.refs(fr)}, expected ${n + 1}`);
      continue;
    }
    inUse++;
    if (m.frames.refs(fr) !== n) fail(`frame ${fr} refs ${m.frames.refs(fr)}, holders ${n}`);
    if (m.frames.mapcount(fr) !== (mapcounts.get(fr) ?? 0)) fail(`frame ${fr} mapcount ${m.frames.mapcount(fr)}, ptes ${mapcounts.get(fr) ?? 0}`);
  }
  if (inUse !== m.frames.inUse) fail(`allocator has ${m.frames.inUse} frames in use, holders account for ${inUse}`);
  if (m.frames.inUse > m.frames.capacity) fail(`${m.frames.inUse} frames in use, capacity ${m.frames.capacity}`);
  let slots = m.design.heldSwapSlots();
  for (const f of files) slots += f.mapping.swapped?.size ?? 0;
  if (slots !== m.frames.swap.used) fail(`swap has ${m.frames.swap.used} slots used, the spaces hold ${slots}`);

  // I4
  m.design.check(m.allVmas());
}

/** I5: after every process has exited, only page-cache frames remain. */
export function checkOnlyPageCacheLeft(m: Machine): void {
  if (m.procs.size !== 0) throw new Error('processes still alive');
  let cached = 0;
  for (const f of m.files.values()) cached += f.mapping.pages.size;
  if (m.frames.inUse !== cached) {
    throw new Error(`invariant: ${m.frames.inUse} frames in use after every exit, page cache holds ${cached}`);
  }
  if (m.design.heldFrames().size !== 0) throw new Error('invariant: the design still holds frames after every exit');
  let slots = 0;
  for (const f of m.files.values()) slots += f.mapping.swapped?.size ?? 0;
  if (m.frames.swap.used !== slots) throw new Error(`invariant: ${m.frames.swap.used} swap slots used after every exit, files hold ${slots}`);
}
