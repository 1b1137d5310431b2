/**
 * Building the runtimes: `process` always (source deploys run on it), and the container runtime
 * the config asks for or the machine allows (runc, else Docker). Container runtimes need the
 * server's ports, so they are built once the front door and the Google API port listen.
 */
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { DockerRuntime } from '../runtime/docker/index.js';
import { RuncRuntime } from '../runtime/runc/index.js';
import type { ImageSource, Runtime, RuntimeKind } from '../runtime/runtime.js';
import { chooseRuntime, dockerSocketPath } from '../runtime/select.js';
import type { RuntimeChoice } from './config.js';

export interface ContainerRuntimeOptions {
  requested: RuntimeChoice;
  /** Address range for runc instance networks. */
  networkCidr: string;
  home: string;
  project: string;
  imageSource: ImageSource;
  routerPort: number;
  apiPort: number;
  /** Where instances' connections to the gateway go (the front door's and the Google API port's `accept`). */
  accept: { router(socket: Socket): void; api(socket: Socket): void };
  /** Service host names instances resolve to kumo's router. */
  hosts: () => string[];
  /** An access token for Docker's pulls from kumo's registry. */
  registryToken: () => string;
  log: (line: string) => void;
}

/** The container runtime to use as the default, or the process runtime's reason when there is none. */
export async function containerRuntime(o: ContainerRuntimeOptions): Promise<{ kind: RuntimeKind; runtime?: Runtime; reason: string }> {
  const choice = await chooseRuntime(o.requested === 'auto' ? {} : { requested: o.requested });
  if (choice.kind === 'runc') {
    const runtime = new RuncRuntime({
      stateDir: join(o.home, 'run', 'runc'),
      layersDir: join(o.home, 'layers'),
      imageSource: o.imageSource,
      network: { cidr: o.networkCidr, routerPort: o.routerPort, apiPort: o.apiPort, accept: o.accept, hosts: o.hosts },
      project: o.project,
      onError: (err) => o.log(`kumo: runc runtime: ${err.message}`),
    });
    return { kind: 'runc', runtime, reason: choice.reason };
  }
  if (choice.kind === 'docker') {
    const runtime = new DockerRuntime({
      socketPath: dockerSocketPath(),
      registry: `localhost:${o.routerPort}`,
      registryToken: o.registryToken,
      home: o.home,
      network: { routerPort: o.routerPort, apiPort: o.apiPort, hosts: o.hosts },
      project: o.project,
    });
    return { kind: 'docker', runtime, reason: choice.reason };
  }
  return { kind: 'process', reason: choice.reason };
}
