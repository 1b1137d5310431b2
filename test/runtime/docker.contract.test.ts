import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { DockerRuntime } from '../../src/runtime/docker/index.js';
import { runtimeContract } from '../../src/runtime/runtime.contract.js';
import { dockerSkipReason, startDocker } from './fixtures/docker.js';
import type { DockerEnv } from './fixtures/docker.js';
import { nodeAppImage, sharedLayout } from './fixtures/images.js';

const layout = sharedLayout();
const skip = dockerSkipReason();
const env: DockerEnv | undefined = skip ? undefined : await startDocker();
const home = mkdtempSync(join(tmpdir(), 'kumo-docker-contract-'));
afterAll(async () => {
  await env?.stop();
  rmSync(home, { recursive: true, force: true });
});

runtimeContract({
  name: 'docker',
  skip,
  async create() {
    if (!env) throw new Error('no docker');
    const make = () => new DockerRuntime({ socketPath: env.socket, registry: env.registry, home, network: { routerPort: 0, apiPort: 0, hosts: () => [] }, project: 'contract' });
    const runtime = make();
    return {
      runtime,
      reopen: async () => make(),
      cleanup: async () => {
        for (const i of await runtime.list()) await runtime.remove(i.instanceId);
      },
    };
  },
  async workload(programJs) {
    if (!env) throw new Error('no docker');
    return { kind: 'image', image: await env.push(layout, await nodeAppImage(layout, programJs)) };
  },
});
