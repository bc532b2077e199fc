// vmtree as a library: the trace language (types, parser, printer,
// generator) and the simulated machine.

export * from './trace/ast.js';
export { parseTrace, sanitizeToken } from './trace/parse.js';
export { printCommand, printTrace } from './trace/print.js';
export {
  generateCommands, generateTrace, streamTrace, traceHeader, PROFILES, Rng,
  WINDOW_START, WINDOW_END, TASK_SIZE,
  type GenOptions, type Profile,
} from './trace/gen/index.js';
export { Machine, runTrace, type MachineOptions } from './machine.js';
export { execCommand } from './trace/interpret.js';
// The machine driven by syscalls with plain arguments, with a design of your own.
export { MachineCore, MIN_FRAMES, type MachineCoreOptions, type CallResult } from './mm/machine.js';
export {
  PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC, MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_FIXED_NOREPLACE,
  MADV_DONTNEED, MADV_DONTFORK, MADV_DOFORK, MADV_WIPEONFORK, MADV_KEEPONFORK,
} from './mm/constants.js';
export { DESIGNS, DEFAULT_DESIGN } from './anon/index.js';
export type { AnonDesign, AnonDesignFactory, DesignOptions, DesignContext } from './anon/design.js';
