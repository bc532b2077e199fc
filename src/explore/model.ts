// `vmtree explore`: the page's model, without the page. A Session holds a
// parsed trace and a machine, moves to any position (how many commands have
// run) and describes the machine there: every process's vmas and page
// table, who maps each frame, the design's structures (src/draw/) and what
// the last command changed in them, and the counters.
//
// Nothing here touches the DOM or Node, so the same code runs in the page
// (bundled by esbuild) and in the tests. Inspecting never changes the
// machine: it reads ptes and the design's peek(), never lookup(), and the
// counters are taken so that the machine's peaks stay exactly as
// `vmtree run` would leave them (see counters()).

import { SpaceTreeDesign } from '../anon/space-tree.js';
import { link, nodeOf, type SpaceNode } from '../anon/space-node.js';
import { PAGE_SIZE } from '../mm/constants.js';
import type { Frame } from '../mm/frames.js';
import { OutOfMemoryError } from '../mm/frames.js';
import { Machine, type MachineOptions } from '../machine.js';
import type { Mm } from '../mm/mm.js';
import { PTE_WRITE, PTES_PER_LEAF } from '../mm/pagetable.js';
import type { Vma } from '../mm/vma.js';
import type { Command } from '../trace/ast.js';
import type { DesignSnapshot, SnapshotNode } from '../draw/types.js';

export interface ExploreSettings {
  design: string;
  /** Physical memory in frames; undefined: unbounded. */
  frames?: number;
  cut: boolean;
  merge: boolean;
  zeroPage: boolean;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/** One vma as `maps` prints it, and the design's object it uses. */
export interface VmaView {
  start: number;
  end: number;
  /** `0x100000000000-0x100000003000 rw-p anon`, as a `maps` line (one vma, not merged runs). */
  text: string;
  shared: boolean;
  /**
   * For designs that keep an address_space per vma (tree, shadow), that
   * space, described from the machine's side (`address_space #12: 1 page,
   * depth 1, parent #10`); the page prefers the snapshot's view (vmaObjects).
   */
  space: string;
}

export type PteState = 'writable' | 'cow' | 'read-only' | 'none' | 'swapped';

export interface PteView {
  addr: number;
  /** Frame number; -1 for a page in swap. */
  pfn: number;
  state: PteState;
  /** `anon`, `zero page`, `data@0x1000` (page cache), `shm`. */
  what: string;
  /** Present ptes mapping the frame (all processes). */
  mapcount: number;
}

export interface ProcessView {
  name: string;
  vmas: VmaView[];
  ptes: PteView[];
  /** Private vmas too large to search for swapped pages. */
  swapUnknown: boolean;
}

export interface FrameView {
  pfn: number;
  what: string;
  /** `a:0x100000000000` for each pte mapping it, in process then address order. */
  users: string[];
  /** Held but mapped by no pte: `page cache`, `held by the design`. */
  heldBy: string;
}

export interface MachineView {
  processes: ProcessView[];
  frames: FrameView[];
  framesInUse: number;
}

/** What the last command changed in the design's structures. */
export interface SnapshotDiff {
  /** Ids (in the new snapshot) of nodes that are new or changed. */
  changed: Set<string>;
  /** Nodes of the old snapshot that have no counterpart any more, as text. */
  removed: string[];
}

/** A command's result as `vmtree run` prints it, or the error that stopped the run. */
export interface StepResult {
  line: number;
  /** `8 ok`, or `8 maps a\n  0x...` */
  text: string;
}

/** Stopped: out of memory at a line, as `vmtree run` reports it (status 3). */
export interface RunError {
  line: number;
  message: string;
}

/** Largest private vma (pages) searched page by page for swapped-out pages. */
const SWAP_SEARCH_LIMIT = 1 << 14;

export class Session {
  /** Commands executed on `machine` so far. */
  private done = 0;
  private m: Machine;
  readonly results: StepResult[] = [];
  error: RunError | null = null;

  constructor(
    readonly cmds: readonly Command[],
    readonly settings: ExploreSettings,
    readonly fileName = 'trace',
  ) {
    this.m = this.fresh();
  }

  private fresh(): Machine {
    const mo: MachineOptions = { design: this.settings.design, cut: this.settings.cut, merge: this.settings.merge, zeroPage: this.settings.zeroPage };
    if (this.settings.frames !== undefined) mo.frames = this.settings.frames;
    return new Machine(mo);
  }

  get machine(): Machine {
    return this.m;
  }

  /** Commands run so far (0 .. cmds.length); fewer than asked if the run stopped on an error. */
  get position(): number {
    return this.done;
  }

  /** The last command run, if any. */
  get current(): Command | undefined {
    return this.done === 0 ? undefined : this.cmds[this.done - 1];
  }

  /**
   * Move to position `p` (commands run): forwards by running the next
   * commands, backwards by running again from the start (simple and
   * exact: the machine is deterministic).
   */
  goTo(p: number): void {
    const target = Math.max(0, Math.min(p, this.cmds.length));
    if (target < this.done || (this.error !== null && target !== this.done)) {
      this.m = this.fresh();
      this.done = 0;
      this.results.length = 0;
      this.error = null;
    }
    while (this.done < target && this.error === null) this.exec();
  }

  /** The position after every command with line <= `line`. */
  positionOfLine(line: number): number {
    let lo = 0;
    let hi = this.cmds.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cmds[mid]!.line <= line) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private exec(): void {
    const c = this.cmds[this.done]!;
    try {
      this.results.push({ line: c.line, text: `${c.line} ${this.m.exec(c)}` });
      this.done++;
    } catch (e) {
      if (e instanceof OutOfMemoryError) {
        this.error = { line: c.line, message: `${this.fileName}:${c.line}: ${e.message}` };
        return;
      }
      throw e;
    }
  }

  /** The design's structures now, or null if the design cannot draw them. */
  snapshot(): DesignSnapshot | null {
    return this.m.design.snapshot?.(this.m.allVmas()) ?? null;
  }

  /**
   * The counters `vmtree run --stats` would print if the trace ended here.
   * Machine.stats() samples its peaks (vmas, structures, metadata,
   * unreachable pages) as it reads them, as it does at the end of a run;
   * sampling here too, mid-run, could raise a peak the CLI never sees, so
   * the peaks are put back as they were.
   */
  counters(): Record<string, number> {
    const peaks = this.m as unknown as Record<'vmasPeak' | 'structuresPeak' | 'metadataPeak' | 'unreachablePeak', number>;
    const saved = [peaks.vmasPeak, peaks.structuresPeak, peaks.metadataPeak, peaks.unreachablePeak] as const;
    if (saved.some((v) => typeof v !== 'number')) throw new Error("Session.counters: Machine's peak fields were renamed");
    try {
      return this.m.stats();
    } finally {
      [peaks.vmasPeak, peaks.structuresPeak, peaks.metadataPeak, peaks.unreachablePeak] = saved;
    }
  }

  /** Processes, page tables and frames now. */
  view(): MachineView {
    return inspect(this.m);
  }
}

/** The object a vma uses, from the snapshot: its parent node, described. */
export function vmaObjects(snap: DesignSnapshot | null): Map<string, string> {
  const out = new Map<string, string>();
  if (snap === null) return out;
  const byId = new Map(snap.nodes.map((n) => [n.id, n]));
  const kindName: Record<SnapshotNode['kind'], string> = { space: 'address_space', anon_vma: 'anon_vma', vma: 'vma', pages: 'pages' };
  // scan and pte-chain keep no objects: a vma's pages are its ptes.
  const objectless = !snap.nodes.some((n) => n.kind === 'space' || n.kind === 'anon_vma');
  for (const n of snap.nodes) {
    if (n.kind !== 'vma' || n.owner === undefined) continue;
    const range = /^0x[0-9a-f]+-0x[0-9a-f]+/.exec(n.lines[0] ?? '')?.[0];
    if (range === undefined) continue;
    const p = n.parent === undefined ? undefined : byId.get(n.parent);
    const chains = snap.edges.filter((e) => e.from === n.id && e.kind === 'chain').length;
    let what = objectless ? `no object (${snap.design} keeps none: ${n.lines.slice(1).join(', ') || 'its ptes are all'})`
      : p === undefined ? 'none yet' : `${kindName[p.kind]} ${p.id}: ${p.lines.join(', ')}`;
    if (chains > 0) what += ` (+${chains} on its chain)`;
    out.set(`${n.owner} ${range}`, what);
  }
  return out;
}

/** `maps`-style text of one vma. */
export function vmaText(v: Vma): string {
  const backing = v.file === null || v.file.isShm ? 'anon' : `${v.file.name}@${hex(v.pgoff * PAGE_SIZE)}`;
  return `${hex(v.start)}-${hex(v.end)} ${v.permString()} ${backing}`;
}

function frameWhat(m: Machine, f: Frame): string {
  if (f === m.frames.zero) return 'zero page';
  const o = m.frames.owner(f);
  if (o !== null && o.file !== null) return o.file.isShm ? 'shm' : `${o.file.name}@${hex(m.frames.index(f) * PAGE_SIZE)}`;
  return 'anon';
}

/** Every process's vmas and present (or swapped) pages, and every frame's users. */
export function inspect(m: Machine): MachineView {
  const processes: ProcessView[] = [];
  const users = new Map<Frame, string[]>();
  const procs = [...m.procs.values()];
  const num = spaceNumbers(m);
  for (const mm of procs) processes.push(inspectProcess(m, mm, users, num));
  const frames: FrameView[] = [];
  for (const [f, u] of users) {
    if (f === m.frames.zero) continue;
    frames.push({ pfn: f, what: frameWhat(m, f), users: u, heldBy: '' });
  }
  // Frames held but mapped by no pte: page cache, and the design's own.
  for (const file of m.files.values()) {
    file.mapping.pages.forEach((_i, f) => {
      if (!users.has(f)) frames.push({ pfn: f, what: frameWhat(m, f), users: [], heldBy: 'page cache' });
    });
  }
  for (const f of m.design.heldFrames().keys()) {
    if (!users.has(f)) frames.push({ pfn: f, what: frameWhat(m, f), users: [], heldBy: `the ${m.design.name} design` });
  }
  frames.sort((a, b) => a.pfn - b.pfn);
  const zero = users.get(m.frames.zero);
  if (zero !== undefined) frames.unshift({ pfn: m.frames.zero, what: 'zero page', users: zero, heldBy: '' });
  return { processes, frames, framesInUse: m.frames.inUse };
}

/**
 * Spaces numbered 1, 2, ... in order of creation. Owner ids come from one
 * counter for the whole program, so running the trace again (step back)
 * would give new ids; their order is the same every time.
 */
function spaceNumbers(m: Machine): Map<SpaceNode, number> {
  const all = new Set<SpaceNode>();
  // Only the object-tree designs (tree, shadow) keep spaces; the others
  // show their objects in the picture (the design's snapshot).
  if (!(m.design instanceof SpaceTreeDesign)) return new Map();
  for (const v of m.allVmas()) {
    if (v.shared || v.anon === null) continue;
    for (let s: SpaceNode | null = nodeOf(v); s !== null && !all.has(s); s = s.parent) all.add(s);
  }
  return new Map([...all].sort((a, b) => a.id - b.id).map((s, i) => [s, i + 1]));
}

function spaceText(v: Vma, num: Map<SpaceNode, number>): string {
  if (num.size === 0 || v.anon === null) return '';
  const s = nodeOf(v);
  if (s.file !== null && s.parent === null) return `the file's page cache (address_space #${num.get(s)})`;
  const depth = s.depth();
  const n = s.held;
  return `address_space #${num.get(s)}: ${n} page${n === 1 ? '' : 's'}, depth ${depth}${s.parent === null ? '' : `, parent #${num.get(s.parent)}`}${link(v).cowNewSpace ? ', next COW makes a child space' : ''}`;
}

function inspectProcess(m: Machine, mm: Mm, users: Map<Frame, string[]>, num: Map<SpaceNode, number>): ProcessView {
  const vmas: VmaView[] = mm.vmas.list.map((v) => ({ start: v.start, end: v.end, text: vmaText(v), shared: v.shared, space: v.shared ? '' : spaceText(v, num) }));
  const ptes: PteView[] = [];
  const leaves = [...mm.pt.leaves.entries()].sort((a, b) => a[0] - b[0]);
  for (const [li, leaf] of leaves) {
    for (let i = 0; i < PTES_PER_LEAF; i++) {
      const f = leaf.frame(i);
      if (f === null) continue;
      const addr = (li * PTES_PER_LEAF + i) * PAGE_SIZE;
      const flags = leaf.flags[i]!;
      const v = mm.vmas.lookup(addr);
      let state: PteState;
      if (flags & PTE_WRITE) state = 'writable';
      else if (flags === 0) state = 'none';
      else if (v !== null && v.writable && !v.shared) state = 'cow';
      else state = 'read-only';
      ptes.push({ addr, pfn: f, state, what: frameWhat(m, f), mapcount: m.frames.mapcount(f) });
      const u = users.get(f);
      const item = `${mm.name}:${hex(addr)}`;
      if (u === undefined) users.set(f, [item]);
      else u.push(item);
    }
  }
  // Pages in swap: no pte (reclaim cleared it); the design holds the entry.
  let swapUnknown = false;
  const swapped: PteView[] = [];
  for (const v of mm.vmas.list) {
    if (v.shared) continue;
    const n = v.pages;
    if (n > SWAP_SEARCH_LIMIT) {
      swapUnknown = true;
      continue;
    }
    for (let i = 0; i < n; i++) {
      const addr = v.start + i * PAGE_SIZE;
      if (mm.pt.frame(addr / PAGE_SIZE) !== null) continue;
      if (m.design.peek(v, v.pgoff + i) === 'swapped') swapped.push({ addr, pfn: -1, state: 'swapped', what: 'anon', mapcount: 0 });
    }
  }
  if (swapped.length > 0) {
    ptes.push(...swapped);
    ptes.sort((a, b) => a.addr - b.addr);
  }
  return { name: mm.name, vmas, ptes, swapUnknown };
}

/**
 * What changed between two snapshots. Snapshot ids are positions (they
 * change when an earlier node goes), so nodes are matched by what they
 * show: kind, process and lines, in order. A new node with no look-alike
 * in the old snapshot is changed: in place if an unmatched old node of the
 * same kind and process is left (an anon_vma that got a page), else new.
 * A matched node whose parent is not its old parent's match moved (a vma
 * given a new space): changed too. Old nodes left over are gone.
 */
export function diffSnapshots(before: DesignSnapshot | null, after: DesignSnapshot | null): SnapshotDiff {
  const changed = new Set<string>();
  const removed: string[] = [];
  if (after === null) return { changed, removed };
  const own = (n: SnapshotNode): string => `${n.kind}\u0000${n.owner ?? ''}\u0000${n.lines.join('\u0001')}`;
  const kindOwner = (n: SnapshotNode): string => `${n.kind}\u0000${n.owner ?? ''}`;
  const unmatched = new Map<string, SnapshotNode[]>();
  for (const n of before?.nodes ?? []) {
    const l = unmatched.get(own(n));
    if (l === undefined) unmatched.set(own(n), [n]);
    else l.push(n);
  }
  /** old id -> new id */
  const match = new Map<string, string>();
  const was = new Map<string, SnapshotNode>();
  const fresh: SnapshotNode[] = [];
  for (const n of after.nodes) {
    const o = unmatched.get(own(n))?.shift();
    if (o === undefined) {
      fresh.push(n);
      continue;
    }
    match.set(o.id, n.id);
    was.set(n.id, o);
  }
  const leftByKind = new Map<string, SnapshotNode[]>();
  for (const l of unmatched.values()) {
    for (const o of l) {
      const k = kindOwner(o);
      const list = leftByKind.get(k);
      if (list === undefined) leftByKind.set(k, [o]);
      else list.push(o);
    }
  }
  for (const n of fresh) {
    changed.add(n.id);
    const o = leftByKind.get(kindOwner(n))?.shift();
    if (o !== undefined) match.set(o.id, n.id);
  }
  for (const n of after.nodes) {
    const o = was.get(n.id);
    if (o === undefined) continue;
    const parentNow = o.parent === undefined ? undefined : match.get(o.parent);
    if (parentNow !== n.parent) changed.add(n.id);
  }
  const order = new Map((before?.nodes ?? []).map((n, i) => [n.id, i]));
  const gone = [...leftByKind.values()].flat().sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  for (const n of gone) {
    removed.push(`${n.kind === 'space' ? 'address_space' : n.kind}${n.owner !== undefined ? ` (${n.owner})` : ''}: ${n.lines.join(', ')}`);
  }
  return { changed, removed };
}
