export { RuncRuntime } from './runc.runtime.js';
export type { RuncRuntimeOptions } from './runc.runtime.js';
export { runtimeConfig } from './bundle.js';
export type { BundleInput } from './bundle.js';
