export { DockerRuntime } from './docker.runtime.js';
export type { DockerRuntimeOptions } from './docker.runtime.js';
