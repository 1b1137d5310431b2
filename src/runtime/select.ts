/**
 * Which runtime runs instances. The server default is runc when it can work (Linux, root, runc
 * on PATH, cgroup v1 controllers mounted), else Docker when its socket answers, else process.
 * `decideRuntime` and `runtimeForDeploy` are pure; `probeRuntimes` looks at the machine.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { KumoError } from '../shared/errors.js';
import type { RuntimeKind } from './runtime.js';

export interface MachineFacts {
  platform: NodeJS.Platform;
  uid: number | undefined;
  /** Path of the runc binary, if found. */
  runc: string | undefined;
  /** Why cgroups cannot be used, or undefined when they can. */
  cgroupProblem: string | undefined;
  /** Docker socket path when it answered /_ping. */
  dockerSocket: string | undefined;
}

export interface RuntimeChoice {
  kind: RuntimeKind;
  /** One sentence the server prints at start. */
  reason: string;
}

function runcProblem(f: MachineFacts): string | undefined {
  if (f.platform !== 'linux') return `runc needs Linux (this is ${f.platform})`;
  if (f.uid !== 0) return 'runc needs kumo to run as root';
  if (!f.runc) return 'runc is not installed (apt-get install runc)';
  return f.cgroupProblem;
}

export function decideRuntime(requested: RuntimeKind | undefined, f: MachineFacts): RuntimeChoice {
  const runc = runcProblem(f);
  const docker = f.dockerSocket ? undefined : 'no Docker engine answers on its socket (start dockerd, or set DOCKER_HOST)';
  if (requested === 'runc') {
    if (runc) throw new KumoError('FAILED_PRECONDITION', `--runtime runc cannot be used: ${runc}`, { field: 'runtime' });
    return { kind: 'runc', reason: `runc (${f.runc ?? 'runc'}), as requested` };
  }
  if (requested === 'docker') {
    if (docker) throw new KumoError('FAILED_PRECONDITION', `--runtime docker cannot be used: ${docker}`, { field: 'runtime' });
    return { kind: 'docker', reason: `Docker at ${f.dockerSocket ?? ''}, as requested` };
  }
  if (requested === 'process') return { kind: 'process', reason: 'process, as requested: apps run as host processes without isolation' };
  if (!runc) return { kind: 'runc', reason: `runc (${f.runc ?? 'runc'}): Linux, root and cgroups available` };
  if (!docker) return { kind: 'docker', reason: `Docker at ${f.dockerSocket ?? ''} (runc not usable: ${runc})` };
  return { kind: 'process', reason: `process: no container runtime here (${runc}; ${docker}); image deploys will fail until one is available` };
}

/**
 * The runtime one revision runs on: the service's override if it names one, else the server's.
 * Source deploys run on `process` until kumo builds images; an image on `process` fails with
 * what to install.
 */
export function runtimeForDeploy(o: {
  server: RuntimeKind;
  available: ReadonlySet<RuntimeKind>;
  override?: RuntimeKind;
  workload: 'image' | 'source';
}): { kind: RuntimeKind; note?: string } {
  if (o.workload === 'source') {
    return o.server === 'process' && !o.override
      ? { kind: 'process' }
      : { kind: 'process', note: 'source deploys run on the process runtime (a host process, no isolation) until kumo can build images' };
  }
  const kind = o.override ?? o.server;
  if (!o.available.has(kind)) {
    throw new KumoError('FAILED_PRECONDITION', `runtime "${kind}" is not available on this kumo server (available: ${[...o.available].join(', ')})`, {
      field: 'runtime',
    });
  }
  if (kind === 'process') {
    throw new KumoError(
      'FAILED_PRECONDITION',
      'this kumo server has no container runtime, so it cannot run images: install runc (apt-get install runc) and run kumo as root, or start dockerd, then restart kumo server',
      { field: 'image' },
    );
  }
  return { kind };
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

/** Does a Docker engine answer on this unix socket? */
export function dockerAnswers(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  if (!existsSync(socketPath)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

export function dockerSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  const host = env.DOCKER_HOST;
  if (host?.startsWith('unix://')) return host.slice('unix://'.length);
  return '/var/run/docker.sock';
}

export async function probeRuntimes(o: { cgroupRoot?: string; dockerSocket?: string } = {}): Promise<MachineFacts> {
  const root = o.cgroupRoot ?? '/sys/fs/cgroup';
  let cgroupProblem: string | undefined;
  for (const c of ['memory', 'cpu', 'cpuacct', 'freezer', 'pids']) {
    if (!existsSync(join(root, c, 'cgroup.procs'))) {
      cgroupProblem = `the cgroup v1 "${c}" controller is not mounted at ${join(root, c)} (kumo's runc runtime needs v1 or hybrid cgroups)`;
      break;
    }
  }
  const socket = o.dockerSocket ?? dockerSocketPath();
  return {
    platform: process.platform,
    uid: process.getuid?.(),
    runc: findOnPath('runc'),
    cgroupProblem,
    dockerSocket: (await dockerAnswers(socket)) ? socket : undefined,
  };
}

export async function chooseRuntime(o: { requested?: RuntimeKind; cgroupRoot?: string; dockerSocket?: string } = {}): Promise<RuntimeChoice> {
  return decideRuntime(o.requested, await probeRuntimes(o));
}
