export { ProcessRuntime } from './process.runtime.js';
export type { ProcessRuntimeOptions } from './process.runtime.js';
export { commandForSource } from './source-command.js';
