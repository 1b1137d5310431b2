/**
 * The `docker` runtime: instances are Docker containers made through the Engine API (dockerode),
 * from images Docker pulls from kumo's registry by digest. Networking is the host's: each
 * instance gets a free PORT on loopback (Docker's bridge needs iptables, which kumo's dockerd
 * runs without), so instances are not isolated from each other on the network; the runc runtime
 * is the one that gives each its own. Idle instances are frozen through their freezer cgroup.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { KumoError } from '../../shared/errors.js';
import type { InstanceIdentity } from '../../shared/origin.js';
import { forEachLine } from '../lines.js';
import { googleEnv } from '../network/hosts.js';
import { freeLoopbackPort } from '../process/proc.js';
import { waitForListening } from '../probe.js';
import type { ResolvedImage, ExitInfo, Instance, InstanceSink, InstanceSpec, InstanceStats, Runtime, RuntimeInstanceInfo } from '../runtime.js';
import { exitStatus, formatLimit } from '../runc/host.js';

export interface DockerRuntimeOptions {
  /** Docker Engine socket (default /var/run/docker.sock). */
  socketPath?: string;
  /** kumo's registry as Docker reaches it, e.g. `localhost:8080`; images are pulled as `REGISTRY/REPO@DIGEST`. */
  registry: string;
  /** An access token for kumo's registry, sent with each pull. */
  registryToken?: () => string;
  /** KUMO_HOME (hashed into a label, so two kumo homes on one engine never touch each other's containers). */
  home: string;
  network: { routerPort: number; apiPort: number; hosts: () => string[] };
  project: string;
  cgroupRoot?: string;
}

interface Managed {
  container: Docker.Container;
  identity: InstanceIdentity;
  exited: Promise<ExitInfo>;
  ended: AbortController;
  pid: number | undefined;
  freezerFd: number | undefined;
  frozen: boolean;
  killedByKumo: boolean;
}

const LABEL_HOME = 'dev.kumo.home';
const LABEL_INSTANCE = 'dev.kumo.instance';

export class DockerRuntime implements Runtime {
  readonly kind = 'docker' as const;
  readonly isolation =
    "docker: Docker's pid/mount/ipc/uts namespaces and cgroup CPU and memory limits, on the host's network (a free PORT per instance, so instances can reach each other)";
  private readonly docker: Docker;
  private readonly homeTag: string;
  private readonly instances = new Map<string, Managed>();
  private readonly pulls = new Map<string, Promise<void>>();

  constructor(private readonly o: DockerRuntimeOptions) {
    this.docker = new Docker({ socketPath: o.socketPath ?? '/var/run/docker.sock' });
    this.homeTag = createHash('sha256').update(o.home).digest('hex').slice(0, 12);
  }

  private imageRef(spec: InstanceSpec): string {
    if (spec.workload.kind !== 'image') throw new Error('not an image');
    return this.refOf(spec.workload.image);
  }

  private refOf(image: ResolvedImage): string {
    return `${this.o.registry}/${image.repository}@${image.digest}`;
  }

  /** Pull the image unless the engine has it (once per digest). */
  async prepareImage(image: ResolvedImage): Promise<void> {
    return this.pull(this.refOf(image));
  }

  private async pull(ref: string): Promise<void> {
    let p = this.pulls.get(ref);
    if (!p) {
      p = (async () => {
        try {
          await this.docker.getImage(ref).inspect();
          return;
        } catch {
          // not there yet
        }
        // kumo's registry wants a token for pulls, as GCR does: Docker sends it as X-Registry-Auth.
        const token = this.o.registryToken?.();
        const stream = await this.docker.pull(ref, token ? { authconfig: { username: 'oauth2accesstoken', password: token, serveraddress: this.o.registry } } : {});
        await new Promise<void>((resolve, reject) => this.docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())));
      })();
      p.catch(() => this.pulls.delete(ref));
      this.pulls.set(ref, p);
    }
    try {
      await p;
    } catch (err) {
      throw new KumoError('UNAVAILABLE', `Docker could not pull ${ref}: ${(err as Error).message}; is kumo's registry reachable from dockerd as ${this.o.registry}?`, { field: 'image' }, { cause: err });
    }
  }

  async start(spec: InstanceSpec, sink: InstanceSink): Promise<Instance> {
    const requestedAt = Date.now();
    if (spec.workload.kind !== 'image') {
      throw new KumoError('FAILED_PRECONDITION', 'the docker runtime runs container images; source deploys run on the process runtime until kumo builds images', {
        service: spec.service,
        revision: spec.revision,
      });
    }
    const ref = this.imageRef(spec);
    await this.pull(ref);
    const port = await freeLoopbackPort();
    const env = {
      ...googleEnv({ project: this.o.project, host: '127.0.0.1', routerPort: this.o.network.routerPort, apiPort: this.o.network.apiPort }),
      ...spec.env,
      PORT: String(port),
    };
    const container = await this.docker.createContainer({
      name: `kumo-${this.homeTag}-${spec.instanceId}`,
      Image: ref,
      ...(spec.command && spec.command.length > 0 ? { Entrypoint: spec.command, Cmd: spec.args ?? [] } : spec.args && spec.args.length > 0 ? { Cmd: spec.args } : {}),
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      Labels: { [LABEL_HOME]: this.homeTag, [LABEL_INSTANCE]: spec.instanceId, 'dev.kumo.service': spec.service, 'dev.kumo.revision': spec.revision },
      AttachStdout: true,
      AttachStderr: true,
      HostConfig: {
        NetworkMode: 'host',
        Memory: spec.memoryBytes,
        MemorySwap: spec.memoryBytes,
        NanoCpus: spec.cpuMillis * 1_000_000,
        PidsLimit: 4096,
        CapDrop: ['NET_RAW'],
        ExtraHosts: this.o.network.hosts().map((h) => `${h}:127.0.0.1`),
      },
    });
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    const out = new PassThrough();
    const err = new PassThrough();
    this.docker.modem.demuxStream(stream, out, err);
    stream.on('end', () => {
      out.end();
      err.end();
    });
    forEachLine(out, (line) => sink.log('stdout', line, Date.now()));
    forEachLine(err, (line) => sink.log('stderr', line, Date.now()));
    const preparedAt = Date.now();
    // Waiting for the next exit before starting, so an app that dies at once is not missed.
    const waited = container.wait({ condition: 'next-exit' });
    await container.start();
    const spawnedAt = Date.now();
    const ended = new AbortController();
    const identity: InstanceIdentity = { runtime: 'docker', instanceId: spec.instanceId, service: spec.service, revision: spec.revision };
    const m: Managed = { container, identity, exited: undefined as unknown as Promise<ExitInfo>, ended, pid: undefined, freezerFd: undefined, frozen: false, killedByKumo: false };
    m.exited = this.whenExited(spec, m, waited, sink);
    this.instances.set(spec.instanceId, m);
    try {
      const info = await container.inspect();
      m.pid = info.State.Pid || undefined;
      const dir = m.pid ? freezerDir(m.pid, this.o.cgroupRoot) : undefined;
      m.freezerFd = dir ? openSync(join(dir, 'freezer.state'), 'w') : undefined;
    } catch {
      // exited already; `exited` reports it
    }
    const timings: Instance['timings'] = { requestedAt, preparedAt, spawnedAt };
    const ready = (async () => {
      const ok = await waitForListening({ host: '127.0.0.1', port, timeoutMs: spec.startupTimeoutMs, signal: m.ended.signal });
      if (ok) {
        timings.readyAt = Date.now();
        return;
      }
      const fields = { service: spec.service, revision: spec.revision, instance: spec.instanceId };
      if (m.ended.signal.aborted) throw new KumoError('UNAVAILABLE', `the container ${(await m.exited).reason} before it listened on PORT=${port}`, fields);
      throw new KumoError('UNAVAILABLE', `the container did not listen on PORT=${port} within ${Math.round(spec.startupTimeoutMs / 1000)} s; does it read the PORT environment variable?`, fields);
    })();
    ready.catch(() => undefined);
    return { id: spec.instanceId, endpoint: { host: '127.0.0.1', port }, ready, exited: m.exited, timings };
  }

  private async whenExited(spec: InstanceSpec, m: Managed, waited: Promise<unknown>, sink: InstanceSink): Promise<ExitInfo> {
    const result = (await waited.catch(() => ({ StatusCode: null }))) as { StatusCode: number | null };
    m.ended.abort();
    let oom = false;
    try {
      oom = (await m.container.inspect()).State.OOMKilled;
    } catch {
      // removed already
    }
    if (m.freezerFd !== undefined) closeSync(m.freezerFd);
    this.instances.delete(spec.instanceId);
    await m.container.remove({ force: true }).catch(() => undefined);
    const { code, signal } = exitStatus(result.StatusCode, null);
    const oomKilled = oom && !m.killedByKumo;
    const reason = oomKilled ? `exceeded memory limit of ${formatLimit(spec.memoryBytes)}` : signal ? `was killed by ${signal}` : `exited with code ${String(code)}`;
    if (oomKilled) sink.log('stderr', `kumo: instance ${spec.instanceId} ${reason} and was stopped`, Date.now());
    return { code, signal, oomKilled, reason };
  }

  async stop(instanceId: string, graceMs: number): Promise<ExitInfo | undefined> {
    const m = this.instances.get(instanceId);
    if (!m) return undefined;
    this.thaw(instanceId);
    await m.container.kill({ signal: 'SIGTERM' }).catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((r) => {
      timer = setTimeout(r, graceMs);
    });
    await Promise.race([m.exited, grace]);
    clearTimeout(timer);
    if (!m.ended.signal.aborted) {
      m.killedByKumo = true;
      await m.container.kill({ signal: 'SIGKILL' }).catch(() => undefined);
    }
    return m.exited;
  }

  freeze(instanceId: string): void {
    const m = this.instances.get(instanceId);
    if (!m || m.frozen || m.freezerFd === undefined) return;
    m.frozen = true;
    writeSync(m.freezerFd, 'FROZEN', 0);
  }

  thaw(instanceId: string): void {
    const m = this.instances.get(instanceId);
    if (!m || !m.frozen || m.freezerFd === undefined) return;
    m.frozen = false;
    writeSync(m.freezerFd, 'THAWED', 0);
  }

  async list(): Promise<RuntimeInstanceInfo[]> {
    const found = await this.docker.listContainers({ all: true, filters: { label: [`${LABEL_HOME}=${this.homeTag}`] } });
    return found.map((c) => ({
      instanceId: c.Labels[LABEL_INSTANCE] ?? c.Id,
      service: c.Labels['dev.kumo.service'],
      revision: c.Labels['dev.kumo.revision'],
      running: c.State === 'running' || c.State === 'paused',
    }));
  }

  /** Instances share the host's network (see the isolation sentence). */
  hasHostNetworkInstances(): boolean {
    return this.instances.size > 0;
  }

  /** The instance whose container a host process runs in, by the container id in its cgroup path. */
  instanceOfProcess(pid: number): InstanceIdentity | undefined {
    if (this.instances.size === 0) return undefined;
    let cgroups: string;
    try {
      cgroups = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    } catch {
      return undefined;
    }
    for (const m of this.instances.values()) if (cgroups.includes(m.container.id)) return m.identity;
    return undefined;
  }

  async remove(instanceId: string): Promise<void> {
    if (this.instances.has(instanceId)) {
      await this.stop(instanceId, 0);
      return;
    }
    const found = await this.docker.listContainers({ all: true, filters: { label: [`${LABEL_HOME}=${this.homeTag}`, `${LABEL_INSTANCE}=${instanceId}`] } });
    for (const c of found) {
      const container = this.docker.getContainer(c.Id);
      // A process frozen by a crashed kumo cannot die until thawed.
      const pid = (await container.inspect().catch(() => undefined))?.State.Pid;
      const dir = pid ? freezerDir(pid, this.o.cgroupRoot) : undefined;
      if (dir) {
        try {
          const fd = openSync(join(dir, 'freezer.state'), 'w');
          writeSync(fd, 'THAWED', 0);
          closeSync(fd);
        } catch {
          // gone
        }
      }
      await container.remove({ force: true });
    }
  }

  stats(instanceId: string): InstanceStats | undefined {
    const pid = this.instances.get(instanceId)?.pid;
    if (!pid) return undefined;
    const root = this.o.cgroupRoot ?? '/sys/fs/cgroup';
    try {
      const paths = cgroupPaths(pid);
      const ns = Number(readFileSync(join(root, 'cpuacct', paths.get('cpuacct') ?? '', 'cpuacct.usage'), 'utf8'));
      const mem = Number(readFileSync(join(root, 'memory', paths.get('memory') ?? '', 'memory.usage_in_bytes'), 'utf8'));
      return { cpuUsageUsec: Math.round(ns / 1000), memoryBytes: mem };
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    // The engine keeps no connection open; instances are stopped by the caller.
  }
}

/** controller → path of the process's cgroup, from /proc/PID/cgroup (v1 lines `N:ctrl[,ctrl]:/path`). */
function cgroupPaths(pid: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const [, ctrls, path] = line.split(':');
    if (!ctrls || path === undefined) continue;
    for (const c of ctrls.split(',')) out.set(c, path);
  }
  return out;
}

function freezerDir(pid: number, cgroupRoot = '/sys/fs/cgroup'): string | undefined {
  try {
    const p = cgroupPaths(pid).get('freezer');
    return p ? join(cgroupRoot, 'freezer', p) : undefined;
  } catch {
    return undefined;
  }
}
