// `vmtree draw`: run a trace up to a line and draw the design's structures.

import type { Machine } from '../machine.js';
import type { Command } from '../trace/ast.js';
import { toDot, type DotOptions } from './dot.js';
import type { DesignSnapshot } from './types.js';

export { collapse, toDot, type DotOptions, type DrawnGraph, type DrawnNode } from './dot.js';
export type { DesignSnapshot, SnapshotEdge, SnapshotNode } from './types.js';

/**
 * Where to stop: a trace line number (run every command up to and
 * including it), 'end', or 'before-exit' (the last command before the
 * first `exit`: the moment a workload's processes are all alive).
 */
export type DrawAt = number | 'end' | 'before-exit';

/** The commands to run for `at`. */
export function commandsUpTo(cmds: readonly Command[], at: DrawAt): readonly Command[] {
  if (at === 'end') return cmds;
  if (at === 'before-exit') {
    const k = cmds.findIndex((c) => c.kind === 'exit');
    return k < 0 ? cmds : cmds.slice(0, k);
  }
  return cmds.filter((c) => c.line <= at);
}

/** The design's snapshot now; every vma of every live process, in process then address order. */
export function snapshotOf(m: Machine): DesignSnapshot {
  const snap = m.design.snapshot?.(m.allVmas());
  if (snap === undefined) throw new Error(`design '${m.design.name}' cannot draw its structures`);
  return snap;
}

/** Graphviz (WebAssembly) layout of DOT text to SVG. */
export async function renderSvg(dot: string): Promise<string> {
  const { instance } = await import('@viz-js/viz');
  const viz = await instance();
  const r = viz.render(dot, { format: 'svg' });
  if (r.status !== 'success') throw new Error(`graphviz: ${r.errors.map((e) => e.message).join('; ')}`);
  return r.output;
}

export async function drawSnapshot(s: DesignSnapshot, format: 'svg' | 'dot', opts: DotOptions = {}): Promise<string> {
  const dot = toDot(s, opts);
  return format === 'dot' ? dot : renderSvg(dot);
}
