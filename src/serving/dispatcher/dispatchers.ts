/**
 * Every revision's dispatcher (RevisionPool), created on first use, ticked on a timer, and
 * wired to the runtime that runs the revision and to the log store.
 */
import type { Clock } from '../../shared/clock.js';
import { KumoError } from '../../shared/errors.js';
import type { LogStore } from '../../observability/logs/log.store.js';
import type { LogEntry, Severity } from '../../observability/log.types.js';
import type { InstanceSpec, Runtime, RuntimeKind } from '../../runtime/runtime.js';
import type { Revision } from '../revision.types.js';
import { hostNetworkRefusal, revisionSettings } from '../revision.settings.js';
import type { RevisionSettings } from '../revision.settings.js';
import { instanceId } from '../naming.js';
import { runtimeForDeploy } from '../../runtime/select.js';
import { KEYS } from '../service.types.js';
import type { HostBudget } from './host-budget.js';
import { resolveScalingSettings } from '../autoscaler/index.js';
import type { ServerScalingDefaults } from '../autoscaler/index.js';
import { containerLogEntry, parseLogLine } from '../../observability/structured/index.js';
import { KpaPolicy } from './kpa-policy.js';
import { RevisionPool } from './revision-pool.js';
import type { InstanceSlot, PoolObserver, StartReason } from './revision-pool.js';

export interface DispatchersOptions {
  clock: Clock;
  budget: HostBudget;
  runtimes: Partial<Record<RuntimeKind, Runtime>>;
  defaultRuntime: RuntimeKind;
  /** Autoscaler defaults (Cloud Run's, with kumo's --idle-grace); annotations override per revision. */
  scaling: ServerScalingDefaults;
  /** How often each revision's concurrency is sampled (1 s; Knative's scrape period). */
  observeMs: number;
  stopGraceMs: number;
  startupTimeoutMs: number;
  queueLimit: number;
  logs: LogStore;
  project: string;
  region: string;
  random: () => number;
  /** Extra environment every instance gets (GOOGLE_CLOUD_PROJECT, emulator hosts). */
  baseEnv: Record<string, string>;
  /** Where a revision's code comes from: its pinned source folder or image. */
  workloadFor(revision: Revision, settings: RevisionSettings): Promise<InstanceSpec['workload']>;
  /** Extra observers per revision (metrics, billing). */
  observerFor?(service: string, revision: string, settings: RevisionSettings): PoolObserver;
  /** `kumo server --allow-host-network`; without it a revision stored with host networking does not start. */
  allowHostNetwork?: boolean;
}

const REASON_TEXT: Record<StartReason, string> = {
  deployment: 'DEPLOYMENT',
  request: 'AUTOSCALING',
  autoscaling: 'AUTOSCALING',
  'min-instances': 'MANUAL_OR_CUSTOMER_MIN_INSTANCE',
  replacement: 'AUTOSCALING',
};

export class Dispatchers {
  private readonly pools = new Map<string, RevisionPool>();
  private readonly timers: NodeJS.Timeout[];
  private insertSeq = 0;

  constructor(private readonly o: DispatchersOptions) {
    const observe = setInterval(() => {
      for (const p of this.pools.values()) p.observe();
    }, o.observeMs);
    const decide = setInterval(() => {
      for (const p of this.pools.values()) p.tick();
    }, o.scaling.tickMs);
    this.timers = [observe, decide];
    for (const t of this.timers) t.unref();
  }

  /** Add a runtime once it can be built (container runtimes need the server's ports). */
  useRuntime(kind: RuntimeKind, runtime: Runtime, asDefault: boolean): void {
    this.o.runtimes[kind] = runtime;
    if (asDefault) this.o.defaultRuntime = kind;
  }

  get defaultRuntime(): RuntimeKind {
    return this.o.defaultRuntime;
  }

  /** The runtime a revision runs on, and why, for deploy output. Fails early when it cannot run. */
  runtimeFor(settings: RevisionSettings): { runtime: Runtime; note?: string } {
    const override = settings.runtime as RuntimeKind | undefined;
    const { kind, note } = runtimeForDeploy({
      server: this.o.defaultRuntime,
      available: new Set(Object.keys(this.o.runtimes) as RuntimeKind[]),
      ...(override ? { override } : {}),
      workload: settings.sourceDigest ? 'source' : 'image',
    });
    const runtime = this.o.runtimes[kind];
    if (!runtime) {
      throw new KumoError('FAILED_PRECONDITION', `the ${kind} runtime is not available on this server; start kumo with --runtime ${kind} on a machine that has it, or remove the ${KEYS.runtime} annotation`, {
        field: `spec.template.metadata.annotations["${KEYS.runtime}"]`,
      });
    }
    return { runtime, ...(note ? { note } : {}) };
  }

  pool(revision: Revision): RevisionPool {
    const name = revision.metadata.name;
    const existing = this.pools.get(name);
    if (existing) return existing;
    const settings = revisionSettings({ metadata: { annotations: revision.metadata.annotations }, spec: revision.spec });
    const { runtime } = this.runtimeFor(settings);
    const service = revision.metadata.labels[KEYS.serviceLabel] ?? name;
    const configuration = revision.metadata.labels[KEYS.configurationLabel] ?? service;
    const observer = this.observerFor(service, name, settings);
    const scaling = resolveScalingSettings(revision.metadata.annotations, { containerConcurrency: settings.concurrency }, this.o.scaling).settings;
    const pool = new RevisionPool({
      service,
      revision: name,
      settings,
      runtime,
      clock: this.o.clock,
      budget: this.o.budget,
      policy: new KpaPolicy(scaling, this.o.clock.now()),
      observer,
      queueLimit: this.o.queueLimit,
      stopGraceMs: this.o.stopGraceMs,
      freezeIdle: settings.cpuThrottling && runtime.kind === 'runc',
      newInstanceId: () => instanceId(name, this.o.random),
      sinkFor: (slot) => ({
        log: (stream, line, timeMs) =>
          this.o.logs.append(
            containerLogEntry(stream, parseLogLine(stream, line, timeMs, { project: this.o.project }), {
              service,
              revision: name,
              instanceId: slot.id,
              insertId: this.nextInsertId(timeMs),
            }),
          ),
      }),
      specFor: async (id) => {
        // A revision stored before the server lost --allow-host-network does not start on the host's network.
        const refused = hostNetworkRefusal(settings, this.o.allowHostNetwork ?? false, service);
        if (refused) throw refused;
        return {
          instanceId: id,
          service,
          revision: name,
          configuration,
          workload: await this.o.workloadFor(revision, settings),
          ...(settings.command ? { command: settings.command } : {}),
          ...(settings.args ? { args: settings.args } : {}),
          env: { ...this.o.baseEnv, ...settings.env, K_SERVICE: service, K_REVISION: name, K_CONFIGURATION: configuration },
          containerPort: settings.containerPort,
          cpuMillis: settings.cpuMillis,
          memoryBytes: settings.memoryBytes,
          startupTimeoutMs: this.o.startupTimeoutMs,
          network: settings.network ?? 'isolated',
        };
      },
    });
    this.pools.set(name, pool);
    return pool;
  }

  existing(revision: string): RevisionPool | undefined {
    return this.pools.get(revision);
  }

  all(): IterableIterator<[string, RevisionPool]> {
    return this.pools.entries();
  }

  /** Instances right now, by service: ready and serving, ready and idle (frozen included), starting. */
  instanceCounts(): Map<string, { active: number; idle: number; starting: number }> {
    const out = new Map<string, { active: number; idle: number; starting: number }>();
    for (const pool of this.pools.values()) {
      let c = out.get(pool.service);
      if (!c) {
        c = { active: 0, idle: 0, starting: 0 };
        out.set(pool.service, c);
      }
      for (const s of pool.instances) {
        if (s.state === 'starting') c.starting++;
        else if (s.state === 'ready') {
          if (s.inFlight > 0) c.active++;
          else c.idle++;
        }
      }
    }
    return out;
  }

  async closePool(revision: string): Promise<void> {
    const p = this.pools.get(revision);
    if (!p) return;
    this.pools.delete(revision);
    await p.close();
    for (const rt of Object.values(this.o.runtimes)) rt.releaseRevision?.(revision);
  }

  async closeAll(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.close()));
  }

  private nextInsertId(timeMs: number): string {
    return `${timeMs.toString(36)}-${(this.insertSeq++).toString(36)}`;
  }

  private entry(service: string, revision: string, instance: string | undefined, kind: LogEntry['kind'], severity: Severity, timeMs: number, text: string): LogEntry {
    return {
      insertId: this.nextInsertId(timeMs),
      timestamp: new Date(timeMs).toISOString(),
      timeMs,
      severity,
      kind,
      service,
      revision,
      ...(instance ? { instanceId: instance } : {}),
      textPayload: text,
    };
  }

  private system(service: string, revision: string, slot: InstanceSlot, severity: Severity, text: string): void {
    this.o.logs.append(this.entry(service, revision, slot.id, 'system', severity, this.o.clock.now(), text));
  }

  private observerFor(service: string, revision: string, settings: RevisionSettings): PoolObserver {
    const extraObserver = this.o.observerFor?.(service, revision, settings);
    const extra = extraObserver ? [extraObserver] : [];
    return {
      instanceStarting: (slot) => {
        this.system(service, revision, slot, 'INFO', `Starting new instance. Reason: ${REASON_TEXT[slot.startReason]}`);
        for (const x of extra) x.instanceStarting(slot);
      },
      instanceReady: (slot, ms) => {
        this.system(service, revision, slot, 'INFO', `Instance ${slot.id} is listening (started in ${ms} ms)`);
        for (const x of extra) x.instanceReady(slot, ms);
      },
      instanceFailed: (slot, err) => {
        this.system(service, revision, slot, 'ERROR', err.message);
        for (const x of extra) x.instanceFailed(slot, err);
      },
      instanceStopping: (slot) => {
        this.system(service, revision, slot, 'INFO', `Shutting down instance ${slot.id}`);
        for (const x of extra) x.instanceStopping(slot);
      },
      instanceExited: (slot, exit, expected) => {
        const text = exit.oomKilled
          ? `Instance ${slot.id} was terminated: ${exit.reason}. Raise --memory.`
          : expected
            ? `Instance ${slot.id} stopped (${exit.reason})`
            : `Instance ${slot.id} crashed: it ${exit.reason}`;
        this.system(service, revision, slot, expected && !exit.oomKilled ? 'INFO' : 'ERROR', text);
        for (const x of extra) x.instanceExited(slot, exit, expected);
      },
      requestStarted: (slot, now) => {
        for (const x of extra) x.requestStarted(slot, now);
      },
      requestEnded: (slot, now) => {
        for (const x of extra) x.requestEnded(slot, now);
      },
    };
  }
}
