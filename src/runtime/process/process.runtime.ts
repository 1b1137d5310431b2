/**
 * The `process` runtime: each instance is a host process in a process group of its own, told
 * to listen on a free loopback PORT. It gives no isolation (no filesystem, network, CPU or
 * memory limits) and says so. Pid files under `<stateDir>` let a later server find and remove
 * what a crashed one left behind.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { KumoError } from '../../shared/errors.js';
import type { InstanceIdentity } from '../../shared/origin.js';
import { forEachLine } from '../lines.js';
import { waitForListening } from '../probe.js';
import type { ExitInfo, Instance, InstanceSink, InstanceSpec, InstanceStats, Runtime, RuntimeInstanceInfo } from '../runtime.js';
import { commandForSource } from './source-command.js';
import { freeLoopbackPort, processRelations, processStartTime, readProcStats } from './proc.js';

interface PidFile {
  instanceId: string;
  service: string;
  revision: string;
  pid: number;
  /** /proc start time, so a recycled pid is never mistaken for the instance. */
  startTime: string;
}

interface Managed {
  child: ChildProcess;
  pid: number;
  identity: InstanceIdentity;
  exited: Promise<ExitInfo>;
  frozen: boolean;
}

/** `exited with code 1`, `was killed by SIGKILL`; a shell's 128+N code is read as signal N. */
export function exitReason(code: number | null, signal: string | null): string {
  if (signal) return `was killed by ${signal}`;
  if (code !== null && code > 128 && code < 128 + 65) {
    const name = Object.entries(osConstants.signals).find(([, n]) => n === code - 128)?.[0];
    if (name) return `was killed by ${name} (exit code ${code})`;
  }
  return `exited with code ${String(code)}`;
}

export interface ProcessRuntimeOptions {
  /** Directory for pid files, e.g. `${KUMO_HOME}/run/process`. */
  stateDir: string;
}

export class ProcessRuntime implements Runtime {
  readonly kind = 'process' as const;
  readonly isolation =
    'none: apps run as host processes with your user, files and network; use --runtime runc for isolation';
  private readonly instances = new Map<string, Managed>();

  constructor(private readonly o: ProcessRuntimeOptions) {
    mkdirSync(o.stateDir, { recursive: true });
  }

  async start(spec: InstanceSpec, sink: InstanceSink): Promise<Instance> {
    if (spec.workload.kind !== 'source') {
      throw new KumoError(
        'FAILED_PRECONDITION',
        `the process runtime cannot run container images (${spec.workload.image.reference}); install runc (apt-get install runc) and run kumo as root, or start dockerd, then deploy again`,
        { service: spec.service, revision: spec.revision },
      );
    }
    const requestedAt = Date.now();
    const dir = spec.workload.dir;
    const argv = commandForSource(dir, spec.command, spec.args);
    // Host processes share one network, so each gets a free port instead of containerPort.
    const port = await freeLoopbackPort();
    const env: NodeJS.ProcessEnv = {
      PATH: `${join(dir, 'node_modules', '.bin')}:${process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'}`,
      HOME: process.env.HOME ?? '/tmp',
      LANG: process.env.LANG ?? 'C.UTF-8',
      ...spec.env,
      PORT: String(port),
    };
    const [file, ...rest] = argv;
    if (!file) throw new KumoError('INVALID_ARGUMENT', 'empty command', { field: 'command' });
    const child = spawn(file, rest, { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const spawned = new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid ?? -1));
      child.once('error', (err) =>
        reject(
          new KumoError('UNAVAILABLE', `could not start \`${argv.join(' ')}\`: ${err.message}; check --command and that the program is installed`, {
            service: spec.service,
            revision: spec.revision,
          }),
        ),
      );
    });
    const exited = new Promise<ExitInfo>((resolve) => {
      child.once('close', (code, signal) => {
        this.instances.delete(spec.instanceId);
        rmSync(this.pidFile(spec.instanceId), { force: true });
        resolve({
          code,
          signal,
          oomKilled: false,
          reason: exitReason(code, signal),
        });
      });
    });
    if (child.stdout) forEachLine(child.stdout, (line) => sink.log('stdout', line, Date.now()));
    if (child.stderr) forEachLine(child.stderr, (line) => sink.log('stderr', line, Date.now()));
    const pid = await spawned;
    const spawnedAt = Date.now();
    const record: PidFile = {
      instanceId: spec.instanceId,
      service: spec.service,
      revision: spec.revision,
      pid,
      startTime: processStartTime(pid) ?? '',
    };
    writeFileSync(this.pidFile(spec.instanceId), JSON.stringify(record));
    const identity: InstanceIdentity = { runtime: 'process', instanceId: spec.instanceId, service: spec.service, revision: spec.revision };
    this.instances.set(spec.instanceId, { child, pid, identity, exited, frozen: false });

    const timings: Instance['timings'] = { requestedAt, preparedAt: requestedAt, spawnedAt };
    const abort = new AbortController();
    void exited.then(() => abort.abort());
    const ready = (async () => {
      const ok = await waitForListening({ host: '127.0.0.1', port, timeoutMs: spec.startupTimeoutMs, signal: abort.signal });
      if (ok) {
        timings.readyAt = Date.now();
        return;
      }
      if (abort.signal.aborted) {
        const info = await exited;
        throw new KumoError('UNAVAILABLE', `the app ${info.reason} before it listened on PORT=${port}`, {
          service: spec.service,
          revision: spec.revision,
          instance: spec.instanceId,
        });
      }
      throw new KumoError(
        'UNAVAILABLE',
        `the app did not listen on PORT=${port} within ${Math.round(spec.startupTimeoutMs / 1000)} s; does it read the PORT environment variable?`,
        { service: spec.service, revision: spec.revision, instance: spec.instanceId },
      );
    })();
    ready.catch(() => undefined);
    return { id: spec.instanceId, endpoint: { host: '127.0.0.1', port }, ready, exited, timings };
  }

  async stop(instanceId: string, graceMs: number): Promise<ExitInfo | undefined> {
    const m = this.instances.get(instanceId);
    if (!m) return undefined;
    this.signalGroup(m.pid, 'SIGCONT');
    this.signalGroup(m.pid, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.signalGroup(m.pid, 'SIGKILL');
        resolve();
      }, graceMs);
    });
    await Promise.race([m.exited, killed]);
    clearTimeout(timer);
    return m.exited;
  }

  freeze(instanceId: string): void {
    const m = this.instances.get(instanceId);
    if (!m || m.frozen) return;
    m.frozen = true;
    this.signalGroup(m.pid, 'SIGSTOP');
  }

  thaw(instanceId: string): void {
    const m = this.instances.get(instanceId);
    if (!m || !m.frozen) return;
    m.frozen = false;
    this.signalGroup(m.pid, 'SIGCONT');
  }

  async list(): Promise<RuntimeInstanceInfo[]> {
    const out: RuntimeInstanceInfo[] = [];
    for (const name of readdirSync(this.o.stateDir)) {
      if (!name.endsWith('.json')) continue;
      const rec = this.readPidFile(join(this.o.stateDir, name));
      if (!rec) continue;
      out.push({ instanceId: rec.instanceId, service: rec.service, revision: rec.revision, running: this.isAlive(rec) });
    }
    return out;
  }

  async remove(instanceId: string): Promise<void> {
    if (this.instances.has(instanceId)) {
      await this.stop(instanceId, 0);
      return;
    }
    const file = this.pidFile(instanceId);
    const rec = this.readPidFile(file);
    if (rec && this.isAlive(rec)) {
      this.signalGroup(rec.pid, 'SIGCONT');
      this.signalGroup(rec.pid, 'SIGKILL');
      for (let i = 0; i < 100 && this.isAlive(rec); i++) await new Promise((r) => setTimeout(r, 10));
    }
    rmSync(file, { force: true });
  }

  stats(instanceId: string): InstanceStats | undefined {
    const m = this.instances.get(instanceId);
    return m ? readProcStats(m.pid) : undefined;
  }

  hasHostNetworkInstances(): boolean {
    return this.instances.size > 0;
  }

  /**
   * The instance a host process belongs to: each instance leads a session and process group of its
   * own, so a process is an instance's when its session or group is, or an ancestor is the instance.
   * (A descendant that leaves both and is re-parented escapes this; the process runtime isolates
   * nothing, and its apps can read kumo's home anyway.)
   */
  instanceOfProcess(pid: number): InstanceIdentity | undefined {
    if (this.instances.size === 0) return undefined;
    const byPid = new Map<number, InstanceIdentity>();
    for (const m of this.instances.values()) byPid.set(m.pid, m.identity);
    let p = pid;
    for (let depth = 0; depth < 64 && p > 1; depth++) {
      const id = byPid.get(p);
      if (id) return id;
      const rel = processRelations(p);
      if (!rel) return undefined;
      const bySession = byPid.get(rel.session) ?? byPid.get(rel.pgrp);
      if (bySession) return bySession;
      p = rel.ppid;
    }
    return undefined;
  }

  async close(): Promise<void> {
    // Instances are stopped by the caller; nothing runtime-wide to release.
  }

  private pidFile(instanceId: string): string {
    return join(this.o.stateDir, `${instanceId}.json`);
  }

  private readPidFile(file: string): PidFile | undefined {
    if (!existsSync(file)) return undefined;
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as PidFile;
    } catch {
      return undefined;
    }
  }

  private isAlive(rec: PidFile): boolean {
    const now = processStartTime(rec.pid);
    return now !== undefined && now === rec.startTime;
  }

  private signalGroup(pid: number, signal: NodeJS.Signals): void {
    try {
      process.kill(-pid, signal);
    } catch {
      // the group is already gone
    }
  }
}
