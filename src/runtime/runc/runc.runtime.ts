/**
 * The `runc` runtime: each instance is an OCI bundle run by Debian's runc. Its root is an overlay
 * of the image's cached, read-only layers under an in-memory (tmpfs) upper layer sized to the
 * memory limit; its network is a namespace prepared ahead (see network/pool.ts); its limits,
 * freezer and accounting live in kumo's own cgroup (cgroups.ts). A tiny shell wrapper mounts the
 * root, runs `runc run` in the foreground (so runc reports the exit status) and unmounts after,
 * so a server killed with -9 leaves nothing mounted once its instances end.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KumoError } from '../../shared/errors.js';
import { LayerCache } from '../image/layer-cache.js';
import { containerProcess } from '../image/process.js';
import { forEachLine } from '../lines.js';
import { GatewayForwarder } from '../network/forwarder.js';
import { googleEnv, hostsFile, resolvConf } from '../network/hosts.js';
import { NetworkPool } from '../network/pool.js';
import type { InstanceNetwork } from '../network/pool.js';
import { run } from '../network/exec.js';
import { freeLoopbackPort, processStartTime } from '../process/proc.js';
import { waitForListening } from '../probe.js';
import type { ExitInfo, ImageSource, Instance, InstanceSink, InstanceSpec, InstanceStats, ResolvedImage, Runtime, RuntimeInstanceInfo } from '../runtime.js';
import { runtimeConfig } from './bundle.js';
import { Cgroups } from './cgroups.js';
import { exitStatus, formatLimit, mountsUnder, openFilesLimit, pidInCgroup, readPid, sleep, unmountAll, userDatabase } from './host.js';
import { WRAPPER_SCRIPT } from './wrapper.js';

export interface RuncRuntimeOptions {
  /** Bundles, runc state and instance records, e.g. `${KUMO_HOME}/run/runc`. */
  stateDir: string;
  /** Unpacked layers, shared by every instance, e.g. `${KUMO_HOME}/layers`. */
  layersDir: string;
  imageSource: ImageSource;
  network: {
    /** Range for instance addresses (default 10.213.0.0/16). */
    cidr?: string;
    /** kumo's router and Google API port on the host's loopback, reached from inside through the gateway. */
    routerPort: number;
    apiPort: number;
    /** Host names (`NAME.localhost`, `TAG---NAME.localhost`) that resolve to the router inside instances. */
    hosts: () => string[];
    /** Namespaces kept ready (default 2). */
    poolSize?: number;
  };
  /** GOOGLE_CLOUD_PROJECT for instances. */
  project: string;
  runcPath?: string;
  cgroupRoot?: string;
  onError?: (err: Error) => void;
}

interface InstanceRecord {
  instanceId: string;
  service: string;
  revision: string;
  netns?: string;
  wrapperPid: number;
  wrapperStartTime: string;
}

interface Managed {
  child: ChildProcess;
  bundle: string;
  exited: Promise<ExitInfo>;
  freezerFd: number;
  frozen: boolean;
  killedByKumo: boolean;
  hostsPath: string;
  hostname: string;
  address: string | undefined;
  gateway: string;
}

const INSTANCE_ID = /^[a-z0-9]([a-z0-9-]{0,98}[a-z0-9])?$/;

export class RuncRuntime implements Runtime {
  readonly kind = 'runc' as const;
  readonly isolation: string;
  private readonly instances = new Map<string, Managed>();
  private readonly layers: LayerCache;
  private readonly cgroups: Cgroups;
  private readonly pool: NetworkPool;
  private readonly forwarder: GatewayForwarder;
  private readonly tag: string;
  private readonly runc: string;
  private readonly users = new Map<string, Promise<{ passwd?: string; group?: string }>>();
  private readonly ready: Promise<void>;
  private readonly maxOpenFiles = openFilesLimit();

  constructor(private readonly o: RuncRuntimeOptions) {
    this.tag = createHash('sha256').update(resolve(o.stateDir)).digest('hex').slice(0, 6);
    this.runc = o.runcPath ?? 'runc';
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
    this.forwarder = new GatewayForwarder(this.pool.gateway, [o.network.routerPort, o.network.apiPort]);
    this.isolation = `runc: own pid/mount/ipc/uts/network namespaces, cgroup CPU and memory limits, in-memory root over read-only image layers; instances reach only kumo's router and API on ${this.pool.gateway}`;
    this.ready = this.setUp();
    this.ready.catch(() => undefined);
  }

  private async setUp(): Promise<void> {
    await this.pool.init();
    await this.forwarder.start();
  }

  private get bundlesDir(): string {
    return join(this.o.stateDir, 'bundles');
  }

  private get runcRoot(): string {
    return join(this.o.stateDir, 'runc');
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
    const layerDirs = await this.layers.ensureImage(image);
    let users = this.users.get(image.digest);
    if (!users) this.users.set(image.digest, (users = userDatabase(layerDirs)));
    const isolated = spec.network === 'isolated';
    const net: InstanceNetwork | undefined = isolated ? await this.pool.acquire() : undefined;
    const bundle = join(this.bundlesDir, spec.instanceId);
    try {
      const port = net ? spec.containerPort : await freeLoopbackPort();
      const gateway = net ? net.gateway : '127.0.0.1';
      const proc = containerProcess({
        image: image.config,
        command: spec.command,
        args: spec.args,
        platformEnv: googleEnv({ project: this.o.project, host: gateway, routerPort: this.o.network.routerPort, apiPort: this.o.network.apiPort }),
        env: spec.env,
        port,
        ...(await users),
      });
      const hostname = spec.instanceId.slice(0, 63).replace(/-+$/, '');
      mkdirSync(join(bundle, 'rootfs'), { recursive: true });
      mkdirSync(join(bundle, 'rw'), { recursive: true });
      const hostsPath = join(bundle, 'hosts');
      writeFileSync(hostsPath, hostsFile({ hostname, address: net?.address, gateway, names: this.o.network.hosts() }));
      writeFileSync(join(bundle, 'resolv.conf'), resolvConf());
      const config = runtimeConfig({
        process: proc,
        hostname,
        netnsPath: net?.path,
        cgroupsPath: this.cgroups.containerPath(spec.instanceId),
        hostsFile: hostsPath,
        resolvConf: join(bundle, 'resolv.conf'),
        shmBytes: Math.min(64 * 1024 ** 2, Math.floor(spec.memoryBytes / 2)),
        maxOpenFiles: this.maxOpenFiles,
        annotations: { 'dev.kumo.service': spec.service, 'dev.kumo.revision': spec.revision, 'dev.kumo.image': `${image.repository}@${image.digest}` },
      });
      writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
      this.cgroups.create(spec.instanceId, { memoryBytes: spec.memoryBytes, cpuMillis: spec.cpuMillis });
      const lower = image.layers.length > 0 ? [...image.layers].reverse().map((l) => this.layers.relativePath(l.digest)).join(':') : this.emptyLayer();
      if (lower.length > 3500) {
        throw new KumoError('FAILED_PRECONDITION', `image ${image.reference} has ${image.layers.length} layers, more than an overlay mount takes here; squash it`, { field: 'image' });
      }
      const preparedAt = Date.now();
      const child = spawn('sh', ['-c', WRAPPER_SCRIPT, 'kumo-instance', bundle, this.layers.root, lower, String(spec.memoryBytes), this.runc, this.runcRoot, spec.instanceId], {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
      spawnError.catch(() => undefined);
      // `ended` fires the moment the wrapper is gone, before clean-up, so probing stops while the network still exists.
      const ended = new AbortController();
      const exited = new Promise<ExitInfo>((res) => {
        child.once('close', (code, signal) => {
          ended.abort();
          res(this.finish(spec, bundle, net, code, signal, sink));
        });
      });
      if (child.stdout) forEachLine(child.stdout, (line) => sink.log('stdout', line, Date.now()));
      if (child.stderr) forEachLine(child.stderr, (line) => sink.log('stderr', line, Date.now()));
      await Promise.race([new Promise<void>((r) => child.once('spawn', () => r())), spawnError]);
      const record: InstanceRecord = {
        instanceId: spec.instanceId,
        service: spec.service,
        revision: spec.revision,
        netns: net?.name,
        wrapperPid: child.pid ?? -1,
        wrapperStartTime: processStartTime(child.pid ?? -1) ?? '',
      };
      writeFileSync(join(bundle, 'instance.json'), JSON.stringify(record));
      const managed: Managed = {
        child,
        bundle,
        exited,
        freezerFd: this.cgroups.openFreezer(spec.instanceId),
        frozen: false,
        killedByKumo: false,
        hostsPath,
        hostname,
        address: net?.address,
        gateway,
      };
      this.instances.set(spec.instanceId, managed);
      const timings: Instance['timings'] = { requestedAt, preparedAt };
      const endpoint = { host: net ? net.address : '127.0.0.1', port };
      const readyP = this.whenReady(spec, endpoint, bundle, ended.signal, exited, timings);
      readyP.catch(() => undefined);
      return { id: spec.instanceId, endpoint, ready: readyP, exited, timings };
    } catch (err) {
      if (!this.instances.has(spec.instanceId)) {
        this.cgroups.remove(spec.instanceId);
        if (net) await this.pool.destroy(net.name);
        if (await unmountAll(bundle)) rmSync(bundle, { recursive: true, force: true });
      }
      throw err;
    }
  }

  private emptyLayer(): string {
    const dir = join(this.layers.root, 'empty');
    mkdirSync(dir, { recursive: true });
    return 'empty';
  }

  private async whenReady(
    spec: InstanceSpec,
    endpoint: { host: string; port: number },
    bundle: string,
    ended: AbortSignal,
    exited: Promise<ExitInfo>,
    timings: Instance['timings'],
  ): Promise<void> {
    const abort = { signal: ended };
    const deadline = timings.requestedAt + spec.startupTimeoutMs;
    // runc writes the pid file once the container's process exists, before it starts the app.
    const pidFile = join(bundle, 'pid');
    while (!abort.signal.aborted && !existsSync(pidFile) && Date.now() < deadline) await sleep(1);
    if (existsSync(pidFile)) timings.spawnedAt = Date.now();
    const ok = await waitForListening({ host: endpoint.host, port: endpoint.port, timeoutMs: Math.max(0, deadline - Date.now()), signal: abort.signal });
    if (ok) {
      timings.readyAt = Date.now();
      return;
    }
    const fields = { service: spec.service, revision: spec.revision, instance: spec.instanceId };
    if (abort.signal.aborted) {
      const info = await exited;
      throw new KumoError('UNAVAILABLE', `the container ${info.reason} before it listened on PORT=${endpoint.port}`, fields);
    }
    throw new KumoError(
      'UNAVAILABLE',
      `the container did not listen on PORT=${endpoint.port} within ${Math.round(spec.startupTimeoutMs / 1000)} s; does it read the PORT environment variable and listen on 0.0.0.0 (not 127.0.0.1)?`,
      fields,
    );
  }

  private async finish(
    spec: InstanceSpec,
    bundle: string,
    net: InstanceNetwork | undefined,
    rawCode: number | null,
    rawSignal: string | null,
    sink: InstanceSink,
  ): Promise<ExitInfo> {
    const m = this.instances.get(spec.instanceId);
    const { code, signal } = exitStatus(rawCode, rawSignal);
    const oomKilled = signal === 'SIGKILL' && !m?.killedByKumo && this.cgroups.memoryFailures(spec.instanceId) > 0;
    const reason = oomKilled
      ? `exceeded memory limit of ${formatLimit(spec.memoryBytes)}`
      : signal
        ? `was killed by ${signal}`
        : `exited with code ${String(code)}`;
    if (oomKilled) sink.log('stderr', `kumo: instance ${spec.instanceId} ${reason} and was stopped`, Date.now());
    if (m) Cgroups.closeFd(m.freezerFd);
    this.instances.delete(spec.instanceId);
    await this.cleanUp(spec.instanceId, bundle, net?.name);
    return { code, signal, oomKilled, reason };
  }

  /** Release everything an ended instance held: runc state, mounts, cgroups, network, bundle. */
  private async cleanUp(id: string, bundle: string, netns: string | undefined): Promise<void> {
    if (existsSync(join(this.runcRoot, id))) await run(this.runc, ['--root', this.runcRoot, 'delete', '--force', id]).catch(() => undefined);
    const unmounted = await unmountAll(bundle);
    for (let i = 0; i < 50 && !this.cgroups.remove(id); i++) await sleep(10);
    if (netns) await this.pool.destroy(netns);
    if (unmounted) rmSync(bundle, { recursive: true, force: true });
    else this.o.onError?.(new Error(`instance ${id}: ${bundle} is still mounted; left in place`));
  }

  async stop(instanceId: string, graceMs: number): Promise<ExitInfo | undefined> {
    const m = this.instances.get(instanceId);
    if (!m) return undefined;
    this.thaw(instanceId);
    const pidFile = join(m.bundle, 'pid');
    const deadline = Date.now() + graceMs;
    let pid = readPid(pidFile);
    while (pid === undefined && Date.now() < deadline && this.instances.has(instanceId)) {
      await sleep(5);
      pid = readPid(pidFile);
    }
    if (pid !== undefined) signal(pid, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((r) => {
      timer = setTimeout(r, Math.max(0, deadline - Date.now()));
    });
    await Promise.race([m.exited, killed]);
    clearTimeout(timer);
    if (this.instances.has(instanceId)) {
      m.killedByKumo = true;
      const target = readPid(pidFile);
      // SIGKILL to the pid namespace's init ends every process in it.
      if (target !== undefined) signal(target, 'SIGKILL');
      else signal(-(m.child.pid ?? 0), 'SIGKILL');
    }
    return m.exited;
  }

  freeze(instanceId: string): void {
    const m = this.instances.get(instanceId);
    if (!m || m.frozen) return;
    m.frozen = true;
    Cgroups.writeState(m.freezerFd, 'FROZEN');
  }

  thaw(instanceId: string): void {
    const m = this.instances.get(instanceId);
    if (!m || !m.frozen) return;
    m.frozen = false;
    Cgroups.writeState(m.freezerFd, 'THAWED');
  }

  /** Rewrite every running instance's /etc/hosts (call after services are added or removed). */
  refreshHosts(): void {
    const names = this.o.network.hosts();
    for (const m of this.instances.values()) {
      // Written in place: the file is bind-mounted, so a rename would not be seen inside.
      writeFileSync(m.hostsPath, hostsFile({ hostname: m.hostname, address: m.address, gateway: m.gateway, names }));
    }
  }

  private records(): InstanceRecord[] {
    if (!existsSync(this.bundlesDir)) return [];
    const out: InstanceRecord[] = [];
    for (const id of readdirSync(this.bundlesDir)) {
      try {
        out.push(JSON.parse(readFileSync(join(this.bundlesDir, id, 'instance.json'), 'utf8')) as InstanceRecord);
      } catch {
        // a bundle whose start never got that far
      }
    }
    return out;
  }

  private isRunning(id: string): boolean {
    const pid = readPid(join(this.bundlesDir, id, 'pid'));
    return pid !== undefined && pidInCgroup(pid, `kumo-${this.tag}/${id}/`);
  }

  async list(): Promise<RuntimeInstanceInfo[]> {
    const seen = new Map<string, RuntimeInstanceInfo>();
    for (const r of this.records()) {
      seen.set(r.instanceId, { instanceId: r.instanceId, service: r.service, revision: r.revision, running: this.isRunning(r.instanceId) });
    }
    for (const id of [...this.cgroups.list(), ...(existsSync(this.bundlesDir) ? readdirSync(this.bundlesDir) : [])]) {
      if (!seen.has(id) && INSTANCE_ID.test(id)) seen.set(id, { instanceId: id, running: this.isRunning(id) });
    }
    return [...seen.values()];
  }

  async remove(instanceId: string): Promise<void> {
    if (!INSTANCE_ID.test(instanceId)) throw new KumoError('INVALID_ARGUMENT', `instance id "${instanceId}" must be DNS-safe`, { field: 'instanceId' });
    if (this.instances.has(instanceId)) {
      await this.stop(instanceId, 0);
      return;
    }
    const bundle = join(this.bundlesDir, instanceId);
    let record: InstanceRecord | undefined;
    try {
      record = JSON.parse(readFileSync(join(bundle, 'instance.json'), 'utf8')) as InstanceRecord;
    } catch {
      record = undefined;
    }
    this.cgroups.thaw(instanceId);
    for (let i = 0; i < 500; i++) {
      const pids = this.cgroups.pids(instanceId);
      const wrapperAlive = record ? processStartTime(record.wrapperPid) === record.wrapperStartTime && record.wrapperStartTime !== '' : false;
      if (pids.length === 0 && !wrapperAlive) break;
      for (const pid of pids) signal(pid, 'SIGKILL');
      await sleep(10);
    }
    await this.cleanUp(instanceId, bundle, record?.netns);
  }

  stats(instanceId: string): InstanceStats | undefined {
    return this.cgroups.stats(instanceId);
  }

  /** Names of mounts still held under the state directory (for leak checks). */
  leftoverMounts(): string[] {
    return mountsUnder(resolve(this.o.stateDir));
  }

  async close(): Promise<void> {
    await this.ready.catch(() => undefined);
    await this.forwarder.close();
    await this.pool.close();
    if (this.instances.size === 0) this.cgroups.removeRoot();
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}
