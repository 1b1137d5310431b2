/**
 * One runc container from creation to clean-up. `launch` writes the bundle, makes kumo's cgroup
 * and spawns the wrapper; runc then sets the container up and holds it at the prestart gate until
 * `open` is called, so a container can be created ahead of the request that needs it. Output is
 * buffered until an instance sink is attached.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, constants as fsc, existsSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { KumoError } from '../../shared/errors.js';
import type { LayerCache } from '../image/layer-cache.js';
import { containerProcess } from '../image/process.js';
import { forEachLine } from '../lines.js';
import { run } from '../network/exec.js';
import { googleEnv, hostsFile, resolvConf } from '../network/hosts.js';
import type { InstanceNetwork, NetworkPool } from '../network/pool.js';
import { freeLoopbackPort, processStartTime } from '../process/proc.js';
import type { ExitInfo, InstanceSink, InstanceSpec, ResolvedImage } from '../runtime.js';
import { runtimeConfig } from './bundle.js';
import { Cgroups } from './cgroups.js';
import { exitStatus, formatLimit, readPid, sleep, unmountAll } from './host.js';
import { gateHook, WRAPPER_SCRIPT } from './wrapper.js';

export interface ContainerDeps {
  runc: string;
  runcRoot: string;
  bundlesDir: string;
  layers: LayerCache;
  cgroups: Cgroups;
  pool: NetworkPool;
  project: string;
  routerPort: number;
  apiPort: number;
  hosts: () => string[];
  maxOpenFiles: number;
  userDb: (image: ResolvedImage, layerDirs: string[]) => Promise<{ passwd?: string; group?: string }>;
  onError?: (err: Error) => void;
}

/** What `instance.json` in each bundle records, for a later server to find the container. */
export interface ContainerRecord {
  containerId: string;
  /** The instance id kumo gave it, once it serves as an instance (unset while held ready). */
  instanceId?: string;
  service: string;
  revision: string;
  netns?: string;
  wrapperPid: number;
  wrapperStartTime: string;
}

type Line = [stream: 'stdout' | 'stderr', line: string, timeMs: number];

export class Container {
  readonly exited: Promise<ExitInfo>;
  /** Aborted the moment the wrapper is gone, before clean-up (so probes stop while the network exists). */
  readonly ended = new AbortController();
  frozen = false;
  killedByKumo = false;
  readonly createdAt = Date.now();
  private sink: InstanceSink | undefined;
  private buffered: Line[] = [];
  private gateFd: number | undefined;
  private freezerFd: number | undefined;
  private record: ContainerRecord;

  private constructor(
    private readonly deps: ContainerDeps,
    readonly id: string,
    readonly spec: InstanceSpec,
    readonly bundle: string,
    readonly net: InstanceNetwork | undefined,
    readonly endpoint: { host: string; port: number },
    readonly child: ChildProcess,
    private readonly hostsPath: string,
    private readonly hostname: string,
  ) {
    this.record = {
      containerId: id,
      service: spec.service,
      revision: spec.revision,
      netns: net?.name,
      wrapperPid: child.pid ?? -1,
      wrapperStartTime: processStartTime(child.pid ?? -1) ?? '',
    };
    this.writeRecord();
    if (child.stdout) forEachLine(child.stdout, (line) => this.log('stdout', line));
    if (child.stderr) forEachLine(child.stderr, (line) => this.log('stderr', line));
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        this.ended.abort();
        resolve(this.finish(code, signal));
      });
    });
    this.freezerFd = deps.cgroups.openFreezer(id);
  }

  static async launch(deps: ContainerDeps, id: string, spec: InstanceSpec, image: ResolvedImage): Promise<Container> {
    const layerDirs = await deps.layers.ensureImage(image);
    const users = await deps.userDb(image, layerDirs);
    const net = spec.network === 'isolated' ? await deps.pool.acquire() : undefined;
    const bundle = join(deps.bundlesDir, id);
    try {
      const port = net ? spec.containerPort : await freeLoopbackPort();
      const gateway = net ? net.gateway : '127.0.0.1';
      const proc = containerProcess({
        image: image.config,
        command: spec.command,
        args: spec.args,
        platformEnv: googleEnv({ project: deps.project, host: gateway, routerPort: deps.routerPort, apiPort: deps.apiPort }),
        env: spec.env,
        port,
        ...users,
      });
      const hostname = id.slice(0, 63).replace(/-+$/, '');
      mkdirSync(join(bundle, 'rootfs'), { recursive: true });
      mkdirSync(join(bundle, 'rw'), { recursive: true });
      const hostsPath = join(bundle, 'hosts');
      writeFileSync(hostsPath, hostsFile({ hostname, address: net?.address, gateway, names: deps.hosts() }));
      writeFileSync(join(bundle, 'resolv.conf'), resolvConf());
      const config = runtimeConfig({
        process: proc,
        hostname,
        netnsPath: net?.path,
        cgroupsPath: deps.cgroups.containerPath(id),
        hostsFile: hostsPath,
        resolvConf: join(bundle, 'resolv.conf'),
        shmBytes: Math.min(64 * 1024 ** 2, Math.floor(spec.memoryBytes / 2)),
        hooks: [gateHook(join(bundle, 'gate'))],
        maxOpenFiles: deps.maxOpenFiles,
        annotations: { 'dev.kumo.service': spec.service, 'dev.kumo.revision': spec.revision, 'dev.kumo.image': `${image.repository}@${image.digest}` },
      });
      writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
      deps.cgroups.create(id, { memoryBytes: spec.memoryBytes, cpuMillis: spec.cpuMillis });
      const lower = image.layers.length > 0 ? [...image.layers].reverse().map((l) => deps.layers.relativePath(l.digest)).join(':') : emptyLayer(deps.layers.root);
      if (lower.length > 3500) {
        throw new KumoError('FAILED_PRECONDITION', `image ${image.reference} has ${image.layers.length} layers, more than an overlay mount takes here; squash it`, { field: 'image' });
      }
      const child = spawn('sh', ['-c', WRAPPER_SCRIPT, 'kumo-instance', bundle, deps.layers.root, lower, String(spec.memoryBytes), deps.runc, deps.runcRoot, id], {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
      return new Container(deps, id, spec, bundle, net, { host: net ? net.address : '127.0.0.1', port }, child, hostsPath, hostname);
    } catch (err) {
      deps.cgroups.remove(id);
      if (net) await deps.pool.destroy(net.name);
      if (await unmountAll(bundle)) rmSync(bundle, { recursive: true, force: true });
      throw err;
    }
  }

  private log(stream: 'stdout' | 'stderr', line: string): void {
    if (this.sink) this.sink.log(stream, line, Date.now());
    else if (this.buffered.length < 1000) this.buffered.push([stream, line, Date.now()]);
  }

  /** Serve as instance `instanceId`, sending output to `sink`. */
  adopt(instanceId: string, sink: InstanceSink): void {
    this.sink = sink;
    for (const [s, l, t] of this.buffered.splice(0)) sink.log(s, l, t);
    this.record.instanceId = instanceId;
    this.writeRecord();
  }

  /** Let runc start the app. The FIFO is opened read-write so this never blocks, even before the hook reads. */
  async open(): Promise<void> {
    if (this.gateFd !== undefined) return;
    const fifo = join(this.bundle, 'gate');
    while (!existsSync(fifo) && !this.ended.signal.aborted) await sleep(1);
    if (this.ended.signal.aborted || this.gateFd !== undefined) return;
    this.gateFd = openSync(fifo, fsc.O_RDWR | fsc.O_NONBLOCK);
    writeSync(this.gateFd, 'go\n');
  }

  get pid(): number | undefined {
    return readPid(join(this.bundle, 'pid'));
  }

  freeze(): void {
    if (this.frozen || this.freezerFd === undefined) return;
    this.frozen = true;
    Cgroups.writeState(this.freezerFd, 'FROZEN');
  }

  thaw(): void {
    if (!this.frozen || this.freezerFd === undefined) return;
    this.frozen = false;
    Cgroups.writeState(this.freezerFd, 'THAWED');
  }

  refreshHosts(): void {
    // In place: the file is bind-mounted, so a rename would not be seen inside.
    const gateway = this.net ? this.net.gateway : '127.0.0.1';
    writeFileSync(this.hostsPath, hostsFile({ hostname: this.hostname, address: this.net?.address, gateway, names: this.deps.hosts() }));
  }

  /**
   * Kill whatever runs, including a container still held at its gate or still being created:
   * keeps killing until the wrapper is gone, so nothing started late survives.
   */
  async kill(): Promise<ExitInfo> {
    this.killedByKumo = true;
    this.thaw();
    await this.open().catch(() => undefined);
    const giveUpAt = Date.now() + 5000;
    while (!this.ended.signal.aborted) {
      const pid = this.pid;
      if (pid !== undefined) signal(pid, 'SIGKILL');
      for (const p of this.deps.cgroups.pids(this.id)) signal(p, 'SIGKILL');
      // runc stuck for good: end the wrapper's whole process group; clean-up unmounts after it.
      if (Date.now() > giveUpAt && this.child.pid) signal(-this.child.pid, 'SIGKILL');
      await Promise.race([this.exited, sleep(10)]);
    }
    return this.exited;
  }

  private writeRecord(): void {
    writeFileSync(join(this.bundle, 'instance.json'), JSON.stringify(this.record));
  }

  private async finish(rawCode: number | null, rawSignal: string | null): Promise<ExitInfo> {
    const { code, signal: sig } = exitStatus(rawCode, rawSignal);
    const oomKilled = sig === 'SIGKILL' && !this.killedByKumo && this.deps.cgroups.memoryFailures(this.id) > 0;
    const reason = oomKilled ? `exceeded memory limit of ${formatLimit(this.spec.memoryBytes)}` : sig ? `was killed by ${sig}` : `exited with code ${String(code)}`;
    if (oomKilled) this.log('stderr', `kumo: instance ${this.record.instanceId ?? this.id} ${reason} and was stopped`);
    for (const fd of [this.gateFd, this.freezerFd]) {
      if (fd !== undefined) {
        try {
          closeSync(fd);
        } catch {
          // closed
        }
      }
    }
    this.gateFd = this.freezerFd = undefined;
    await cleanUpContainer(this.deps, this.id, this.bundle, this.net?.name);
    return { code, signal: sig, oomKilled, reason };
  }
}

function emptyLayer(root: string): string {
  mkdirSync(join(root, 'empty'), { recursive: true });
  return 'empty';
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Release everything an ended container held: runc state, mounts, cgroups, network, bundle. */
export async function cleanUpContainer(deps: ContainerDeps, id: string, bundle: string, netns: string | undefined): Promise<void> {
  if (existsSync(join(deps.runcRoot, id))) await run(deps.runc, ['--root', deps.runcRoot, 'delete', '--force', id]).catch(() => undefined);
  const unmounted = await unmountAll(bundle);
  for (let i = 0; i < 50 && !deps.cgroups.remove(id); i++) await sleep(10);
  if (netns) await deps.pool.destroy(netns);
  if (unmounted) rmSync(bundle, { recursive: true, force: true });
  else deps.onError?.(new Error(`container ${id}: ${bundle} is still mounted; left in place`));
}
