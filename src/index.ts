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
export { Machine, runTrace, type MachineOptions } from './mm/machine.js';
