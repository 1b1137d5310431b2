/**
 * The `runc` runtime: each instance is an OCI bundle run by Debian's runc. Its root is an overlay
 * of the image's cached, read-only layers under an in-memory (tmpfs) upper layer; its network is a
 * namespace prepared ahead (network/pool.ts); its limits, freezer and accounting live in kumo's
 * own cgroup (cgroups.ts). Once a revision has run, one container of the same shape is kept
 * created and held at its start gate (container.ts), so the next cold start of that revision only
 * starts the app. `warm.perShape: 0` turns that off.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Socket } from 'node:net';
import { KumoError } from '../../shared/errors.js';
import type { InstanceIdentity } from '../../shared/origin.js';
import { LayerCache } from '../image/layer-cache.js';
import { GatewayListeners } from '../network/gateway.js';
import { NetworkPool } from '../network/pool.js';
import { processStartTime } from '../process/proc.js';
import { waitForListening } from '../probe.js';
import type { ExitInfo, ImageSource, Instance, InstanceSink, InstanceSpec, InstanceStats, ResolvedImage, Runtime, RuntimeInstanceInfo } from '../runtime.js';
import { Cgroups } from './cgroups.js';
import { cleanUpContainer, Container, signal } from './container.js';
import type { ContainerDeps, ContainerRecord } from './container.js';
import { mountsUnder, openFilesLimit, pidInCgroup, readPid, sleep, userDatabase } from './host.js';

export interface RuncRuntimeOptions {
  /** Bundles, runc state and instance records, e.g. `${KUMO_HOME}/run/runc`. */
  stateDir: string;
  /** Unpacked layers, shared by every instance, e.g. `${KUMO_HOME}/layers`. */
  layersDir: string;
  imageSource: ImageSource;
  network: {
    /** Range for instance addresses (default 10.213.0.0/16). */
    cidr?: string;
    /** kumo's router and Google API port, reached from inside on the gateway address. */
    routerPort: number;
    apiPort: number;
    /**
     * Where connections instances make to the gateway go, in-process, with the instance's own
     * address as their peer (the front door's and the Google API port's `accept`). Without one,
     * nothing answers on that port of the gateway.
     */
    accept?: { router?: (socket: Socket) => void; api?: (socket: Socket) => void };
    /** Host names (`NAME.localhost`, `TAG---NAME.localhost`) that resolve to the router inside instances. */
    hosts: () => string[];
    /** Namespaces kept ready (default 2). */
    poolSize?: number;
  };
  /** Containers created ahead for revisions that have run (default 1 per shape, 8 in all, dropped after 60 min unused). */
  warm?: { perShape?: number; max?: number; idleMs?: number };
  /** GOOGLE_CLOUD_PROJECT for instances. */
  project: string;
  runcPath?: string;
  cgroupRoot?: string;
  onError?: (err: Error) => void;
}

const INSTANCE_ID = /^[a-z0-9]([a-z0-9-]{0,98}[a-z0-9])?$/;
const PREWARM_DELAY_MS = 200;

/** Everything about a spec except the instance id: containers of one shape are interchangeable. */
function shapeOf(spec: InstanceSpec): string {
  const { instanceId: _id, workload, ...rest } = spec;
  // The image by content: two references to one digest run the same container.
  const image = workload.kind === 'image' ? { digest: workload.image.digest, layers: workload.image.layers, config: workload.image.config } : workload;
  return createHash('sha256').update(JSON.stringify({ ...rest, image })).digest('hex');
}

export class RuncRuntime implements Runtime {
  readonly kind = 'runc' as const;
  readonly isolation: string;
  private readonly instances = new Map<string, Container>();
  private readonly warm = new Map<string, Container[]>();
  private readonly warming = new Set<Promise<void>>();
  private readonly discarding = new Set<Promise<void>>();
  /** Ids of containers being created ahead (not in `warm` yet). */
  private readonly launching = new Set<string>();
  private readonly layers: LayerCache;
  private readonly cgroups: Cgroups;
  private readonly pool: NetworkPool;
  private readonly gatewayListeners: GatewayListeners;
  private readonly deps: ContainerDeps;
  private readonly tag: string;
  private readonly ready: Promise<void>;
  private readonly users = new Map<string, Promise<{ passwd?: string; group?: string }>>();
  private closing = false;

  constructor(private readonly o: RuncRuntimeOptions) {
    this.tag = createHash('sha256').update(resolve(o.stateDir)).digest('hex').slice(0, 6);
    mkdirSync(this.bundlesDir, { recursive: true });
    this.layers = new LayerCache({ dir: o.layersDir, source: o.imageSource });
    this.cgroups = new Cgroups(this.tag, o.cgroupRoot);
    this.pool = new NetworkPool({
      cidr: o.network.cidr ?? '10.213.0.0/16',
      tag: this.tag,
      stateDir: o.stateDir,
      allowedPorts: [o.network.routerPort, o.network.apiPort],
      size: o.network.poolSize,
      inUse: () => new Set(this.records().flatMap((r) => (r.netns ? [r.netns] : []))),
      onError: o.onError,
    });
    const accept = o.network.accept ?? {};
    this.gatewayListeners = new GatewayListeners(this.pool.gateway, [
      ...(accept.router ? [{ port: o.network.routerPort, accept: accept.router }] : []),
      ...(accept.api ? [{ port: o.network.apiPort, accept: accept.api }] : []),
    ]);
    this.deps = {
      runc: o.runcPath ?? 'runc',
      runcRoot: join(o.stateDir, 'runc'),
      bundlesDir: this.bundlesDir,
      layers: this.layers,
      cgroups: this.cgroups,
      pool: this.pool,
      project: o.project,
      routerPort: o.network.routerPort,
      apiPort: o.network.apiPort,
      hosts: o.network.hosts,
      maxOpenFiles: openFilesLimit(),
      userDb: (image, dirs) => {
        let p = this.users.get(image.digest);
        if (!p) this.users.set(image.digest, (p = userDatabase(dirs)));
        return p;
      },
      onError: o.onError,
    };
    this.isolation = `runc: own pid/mount/ipc/uts/network namespaces, cgroup CPU and memory limits, in-memory root over read-only image layers; instances reach only kumo's router and API on ${this.pool.gateway}`;
    this.ready = this.setUp();
    this.ready.catch(() => undefined);
  }

  private async setUp(): Promise<void> {
    await this.pool.init();
    await this.gatewayListeners.start();
  }

  private get bundlesDir(): string {
    return join(this.o.stateDir, 'bundles');
  }

  /** Unpack the image's layers ahead of a start (a deploy calls this so the first cold start does not). */
  async prepareImage(image: ResolvedImage): Promise<void> {
    await this.layers.ensureImage(image);
  }

  async start(spec: InstanceSpec, sink: InstanceSink): Promise<Instance> {
    const requestedAt = Date.now();
    if (spec.workload.kind !== 'image') {
      throw new KumoError('FAILED_PRECONDITION', 'the runc runtime runs container images; source deploys run on the process runtime until kumo builds images', {
        service: spec.service,
        revision: spec.revision,
      });
    }
    if (!INSTANCE_ID.test(spec.instanceId)) throw new KumoError('INVALID_ARGUMENT', `instance id "${spec.instanceId}" must be DNS-safe`, { field: 'instanceId' });
    if (this.instances.has(spec.instanceId)) throw new KumoError('ALREADY_EXISTS', `instance ${spec.instanceId} is already running`, { instance: spec.instanceId });
    if (!(spec.memoryBytes >= 16 * 1024 ** 2)) throw new KumoError('INVALID_ARGUMENT', 'memory must be at least 16Mi for a container', { field: 'memory' });
    if (!(spec.cpuMillis >= 10)) throw new KumoError('INVALID_ARGUMENT', 'cpu must be at least 10m', { field: 'cpu' });
    const image = spec.workload.image;
    await this.ready;
    const shape = shapeOf(spec);
    const c = this.takeWarm(shape) ?? (await Container.launch(this.deps, spec.instanceId, spec, image));
    c.adopt(spec.instanceId, sink);
    this.instances.set(spec.instanceId, c);
    void c.exited.then(() => {
      if (this.instances.get(spec.instanceId) === c) this.instances.delete(spec.instanceId);
      this.prewarm(shape, spec);
    });
    await c.open();
    const timings: Instance['timings'] = { requestedAt, preparedAt: Date.now() };
    const ready = this.whenReady(spec, c, timings);
    ready.catch(() => undefined);
    // Prepare the next container of this shape once this one is up, so it does not compete with its start.
    void ready
      .catch(() => undefined)
      .then(() => {
        const t = setTimeout(() => this.prewarm(shape, spec), PREWARM_DELAY_MS);
        t.unref();
      });
    return { id: spec.instanceId, endpoint: c.endpoint, ready, exited: c.exited, timings };
  }

  /** Resolves once no container is being created or discarded in the background. */
  async settled(): Promise<void> {
    while (this.warming.size > 0 || this.discarding.size > 0) await Promise.all([...this.warming, ...this.discarding]);
  }

  /** Drop the containers held ready for a revision (call when it no longer serves). */
  releaseRevision(revision: string): void {
    for (const [k, l] of [...this.warm.entries()]) for (const c of [...l]) if (c.spec.revision === revision) this.discard(k, c);
  }

  private takeWarm(shape: string): Container | undefined {
    const list = this.warm.get(shape);
    const c = list?.shift();
    if (list && list.length === 0) this.warm.delete(shape);
    return c;
  }

  private warmCount(): number {
    let n = 0;
    for (const l of this.warm.values()) n += l.length;
    return n + this.warming.size;
  }

  /** Create a container of this shape ahead, held at its gate, unless enough are held already. */
  private prewarm(shape: string, spec: InstanceSpec): void {
    const perShape = this.o.warm?.perShape ?? 1;
    const max = this.o.warm?.max ?? 8;
    if (this.closing || perShape <= 0 || spec.workload.kind !== 'image') return;
    if ((this.warm.get(shape)?.length ?? 0) >= perShape) return;
    if (this.warmCount() >= max) {
      // Drop the oldest held container of another shape to make room.
      let oldest: [string, Container] | undefined;
      for (const [k, l] of this.warm) for (const c of l) if (!oldest || c.createdAt < oldest[1].createdAt) oldest = [k, c];
      if (!oldest) return;
      this.discard(oldest[0], oldest[1]);
    }
    const image = spec.workload.image;
    const id = `warm-${randomBytes(5).toString('hex')}`;
    this.launching.add(id);
    const p = (async () => {
      const c = await Container.launch(this.deps, id, spec, image);
      this.launching.delete(id);
      const list = this.warm.get(shape) ?? [];
      list.push(c);
      this.warm.set(shape, list);
      const idle = setTimeout(() => this.discard(shape, c), this.o.warm?.idleMs ?? 60 * 60_000);
      idle.unref();
      void c.exited.then(() => {
        clearTimeout(idle);
        const l = this.warm.get(shape);
        if (l?.includes(c)) {
          l.splice(l.indexOf(c), 1);
          if (l.length === 0) this.warm.delete(shape);
        }
      });
      if (this.closing) this.discard(shape, c);
    })()
      .catch((err: unknown) => this.o.onError?.(err instanceof Error ? err : new Error(String(err))))
      .finally(() => {
        this.launching.delete(id);
        this.warming.delete(p);
      });
    this.warming.add(p);
  }

  private discard(shape: string, c: Container): void {
    const l = this.warm.get(shape);
    if (l?.includes(c)) l.splice(l.indexOf(c), 1);
    if (l && l.length === 0) this.warm.delete(shape);
    const done = c.kill().then(() => undefined);
    this.discarding.add(done);
    void done.finally(() => this.discarding.delete(done));
  }

  private async whenReady(spec: InstanceSpec, c: Container, timings: Instance['timings']): Promise<void> {
    const deadline = Date.now() + spec.startupTimeoutMs;
    const signal = c.ended.signal;
    // runc writes the pid file once the app's process exists.
    while (!signal.aborted && c.pid === undefined && Date.now() < deadline) await sleep(1);
    if (c.pid !== undefined) timings.spawnedAt = Date.now();
    const { host, port } = c.endpoint;
    const ok = await waitForListening({ host, port, timeoutMs: Math.max(0, deadline - Date.now()), signal });
    if (ok) {
      timings.readyAt = Date.now();
      return;
    }
    const fields = { service: spec.service, revision: spec.revision, instance: spec.instanceId };
    if (signal.aborted) {
      const info = await c.exited;
      throw new KumoError('UNAVAILABLE', `the container ${info.reason} before it listened on PORT=${port}`, fields);
    }
    throw new KumoError(
      'UNAVAILABLE',
      `the container did not listen on PORT=${port} within ${Math.round(spec.startupTimeoutMs / 1000)} s; does it read the PORT environment variable and listen on 0.0.0.0 (not 127.0.0.1)?`,
      fields,
    );
  }

  async stop(instanceId: string, graceMs: number): Promise<ExitInfo | undefined> {
    const c = this.instances.get(instanceId);
    if (!c) return undefined;
    c.thaw();
    const deadline = Date.now() + graceMs;
    let pid = c.pid;
    while (pid === undefined && Date.now() < deadline && !c.ended.signal.aborted) {
      await sleep(5);
      pid = c.pid;
    }
    if (pid !== undefined) signal(pid, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((r) => {
      timer = setTimeout(r, Math.max(0, deadline - Date.now()));
    });
    await Promise.race([c.exited, grace]);
    clearTimeout(timer);
    // SIGKILL to the pid namespace's init ends every process in it.
    if (!c.ended.signal.aborted) await c.kill();
    return c.exited;
  }

  freeze(instanceId: string): void {
    this.instances.get(instanceId)?.freeze();
  }

  thaw(instanceId: string): void {
    this.instances.get(instanceId)?.thaw();
  }

  /** Rewrite every container's /etc/hosts (call after services are added or removed). */
  refreshHosts(): void {
    for (const c of this.instances.values()) c.refreshHosts();
    for (const l of this.warm.values()) for (const c of l) c.refreshHosts();
  }

  private records(): ContainerRecord[] {
    if (!existsSync(this.bundlesDir)) return [];
    const out: ContainerRecord[] = [];
    for (const id of readdirSync(this.bundlesDir)) {
      try {
        out.push(JSON.parse(readFileSync(join(this.bundlesDir, id, 'instance.json'), 'utf8')) as ContainerRecord);
      } catch {
        // a bundle whose start never got that far
      }
    }
    return out;
  }

  private isRunning(containerId: string): boolean {
    const pid = readPid(join(this.bundlesDir, containerId, 'pid'));
    if (pid !== undefined) return pidInCgroup(pid, `kumo-${this.tag}/${containerId}/`);
    return this.cgroups.pids(containerId).length > 0;
  }

  private ownWarm(): Set<string> {
    const ids = new Set<string>(this.launching);
    for (const l of this.warm.values()) for (const c of l) ids.add(c.id);
    return ids;
  }

  /** Instances under this kumo home, plus containers a crashed server held ready (listed by container id). */
  async list(): Promise<RuntimeInstanceInfo[]> {
    const own = this.ownWarm();
    const seen = new Map<string, RuntimeInstanceInfo>();
    for (const r of this.records()) {
      if (own.has(r.containerId)) continue;
      const id = r.instanceId ?? r.containerId;
      seen.set(id, { instanceId: id, service: r.service, revision: r.revision, running: this.isRunning(r.containerId) });
    }
    const recorded = new Set(this.records().map((r) => r.containerId));
    for (const id of this.cgroups.list()) {
      if (!recorded.has(id) && !seen.has(id) && !own.has(id) && INSTANCE_ID.test(id)) seen.set(id, { instanceId: id, running: this.isRunning(id) });
    }
    return [...seen.values()];
  }

  async remove(instanceId: string): Promise<void> {
    if (!INSTANCE_ID.test(instanceId)) throw new KumoError('INVALID_ARGUMENT', `instance id "${instanceId}" must be DNS-safe`, { field: 'instanceId' });
    if (this.instances.has(instanceId)) {
      await this.stop(instanceId, 0);
      return;
    }
    const record = this.records().find((r) => r.instanceId === instanceId || r.containerId === instanceId);
    const containerId = record?.containerId ?? instanceId;
    const bundle = join(this.bundlesDir, containerId);
    this.cgroups.thaw(containerId);
    // A container held at its gate waits on the hook: release it so runc can finish.
    await openGate(join(bundle, 'gate'));
    for (let i = 0; i < 500; i++) {
      const pids = this.cgroups.pids(containerId);
      const wrapperAlive = record ? record.wrapperStartTime !== '' && processStartTime(record.wrapperPid) === record.wrapperStartTime : false;
      if (pids.length === 0 && !wrapperAlive) break;
      for (const pid of pids) signal(pid, 'SIGKILL');
      await sleep(10);
    }
    await cleanUpContainer(this.deps, containerId, bundle, record?.netns);
  }

  stats(instanceId: string): InstanceStats | undefined {
    const c = this.instances.get(instanceId);
    return c ? this.cgroups.stats(c.id) : undefined;
  }

  /** The running instance that holds this address of its own (containers held ready run no code yet). */
  instanceAt(address: string): InstanceIdentity | undefined {
    for (const [instanceId, c] of this.instances) if (c.net?.address === address) return identity(instanceId, c);
    return undefined;
  }

  hasHostNetworkInstances(): boolean {
    for (const c of this.instances.values()) if (!c.net) return true;
    return false;
  }

  /** The instance a host process runs in, by kumo's cgroup path (`kumo-<tag>/<container>/`). */
  instanceOfProcess(pid: number): InstanceIdentity | undefined {
    if (!this.hasHostNetworkInstances()) return undefined;
    let cgroups: string;
    try {
      cgroups = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    } catch {
      return undefined;
    }
    for (const [instanceId, c] of this.instances) if (cgroups.includes(`kumo-${this.tag}/${c.id}/`)) return identity(instanceId, c);
    return undefined;
  }

  /** Mounts still held under the state directory (for leak checks). */
  leftoverMounts(): string[] {
    return mountsUnder(resolve(this.o.stateDir));
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.warming]);
    for (const [k, l] of [...this.warm.entries()]) for (const c of [...l]) this.discard(k, c);
    await Promise.all([...this.discarding]);
    await this.ready.catch(() => undefined);
    await this.gatewayListeners.close();
    await this.pool.close();
    if (this.instances.size === 0) this.cgroups.removeRoot();
  }
}

function identity(instanceId: string, c: Container): InstanceIdentity {
  return { runtime: 'runc', instanceId, service: c.spec.service, revision: c.spec.revision };
}

async function openGate(fifo: string): Promise<void> {
  if (!existsSync(fifo)) return;
  try {
    const fh = await open(fifo, constants.O_RDWR | constants.O_NONBLOCK);
    await fh.write('go\n');
    // keep it open a moment so the hook can read before the pipe is gone
    await sleep(50);
    await fh.close();
  } catch {
    // not a gate any more
  }
}
