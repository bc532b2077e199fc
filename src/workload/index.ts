// Workload generators: parameterised vmtrace programs that model real
// situations (a pre-forking server, Android's zygote, a shell, fork chains,
// a COW storm, memory pressure), for running the anonymous-memory designs
// side by side on the same trace and comparing their statistics.
//
//   workloadTrace('prefork', { workers: '64' })  // trace text
//
// Each workload's file explains what it models and what it stresses; the
// conventions they share are at the top of common.ts.

import { parseParamValue, type Workload } from './common.js';
import { cowStorm } from './cow-storm.js';
import { forkChain } from './fork-chain.js';
import { prefork } from './prefork.js';
import { pressure } from './pressure.js';
import { shell } from './shell.js';
import { zygote } from './zygote.js';

export type { Workload, WorkloadParam } from './common.js';

export const WORKLOADS: readonly Workload[] = [prefork, zygote, shell, forkChain, cowStorm, pressure];

/** The workload called `name`; throws naming the known ones if there is none. */
export function findWorkload(name: string): Workload {
  const w = WORKLOADS.find((x) => x.name === name);
  if (w === undefined) {
    throw new Error(`unknown workload '${name}' (workloads: ${WORKLOADS.map((x) => x.name).join(', ')})`);
  }
  return w;
}

/**
 * The trace text of workload `name` with parameters given as text
 * (`{ heap: '8192' }`, decimal or 0x hex); the others take their defaults.
 * Throws an Error naming the problem and the allowed values for an unknown
 * workload or parameter, a value that is not an integer, or one out of range.
 */
export function workloadTrace(name: string, overrides: Record<string, string>): string {
  const w = findWorkload(name);
  const values: Record<string, number> = {};
  for (const [key, text] of Object.entries(overrides)) {
    const p = w.params.find((x) => x.name === key);
    if (p === undefined) {
      throw new Error(`workload '${name}' has no parameter '${key}' (parameters: ${w.params.map((x) => x.name).join(', ')})`);
    }
    values[key] = parseParamValue(w, p, text);
  }
  return w.generate(values);
}
