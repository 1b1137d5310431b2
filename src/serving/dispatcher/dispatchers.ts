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
import { revisionSettings } from '../revision.settings.js';
import type { RevisionSettings } from '../revision.settings.js';
import { instanceId } from '../naming.js';
import { KEYS } from '../service.types.js';
import type { HostBudget } from './host-budget.js';
import { IdleGracePolicy } from './idle-policy.js';
import { RevisionPool } from './revision-pool.js';
import type { InstanceSlot, PoolObserver, ScalePolicy, StartReason } from './revision-pool.js';

export interface DispatchersOptions {
  clock: Clock;
  budget: HostBudget;
  runtimes: Partial<Record<RuntimeKind, Runtime>>;
  defaultRuntime: RuntimeKind;
  idleGraceMs: number;
  stopGraceMs: number;
  startupTimeoutMs: number;
  queueLimit: number;
  tickMs: number;
  logs: LogStore;
  project: string;
  region: string;
  random: () => number;
  /** Extra environment every instance gets (GOOGLE_CLOUD_PROJECT, emulator hosts). */
  baseEnv: Record<string, string>;
  /** Where a revision's code comes from: its pinned source folder or image. */
  workloadFor(revision: Revision, settings: RevisionSettings): Promise<InstanceSpec['workload']>;
  /** Builds the scale policy of a revision; the foundation's idle-grace rule by default. */
  policyFor?(settings: RevisionSettings): ScalePolicy;
  /** Extra observers (metrics, billing). */
  observers?: PoolObserver[];
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
  private readonly timer: NodeJS.Timeout;
  private insertSeq = 0;

  constructor(private readonly o: DispatchersOptions) {
    this.timer = setInterval(() => {
      for (const p of this.pools.values()) p.tick();
    }, o.tickMs);
    this.timer.unref();
  }

  /** The runtime a revision runs on, and why, for deploy output. */
  runtimeFor(settings: RevisionSettings): { runtime: Runtime; note?: string } {
    let kind = (settings.runtime as RuntimeKind | undefined) ?? this.o.defaultRuntime;
    let note: string | undefined;
    if (settings.sourceDigest && !settings.runtime && kind !== 'process') {
      kind = 'process';
      note = 'source deploys run on the process runtime (no isolation) until kumo builds images from source';
    }
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
    const observer = this.observerFor(service, name);
    const pool = new RevisionPool({
      service,
      revision: name,
      settings,
      runtime,
      clock: this.o.clock,
      budget: this.o.budget,
      policy: this.o.policyFor?.(settings) ?? new IdleGracePolicy(this.o.idleGraceMs),
      observer,
      queueLimit: this.o.queueLimit,
      stopGraceMs: this.o.stopGraceMs,
      freezeIdle: settings.cpuThrottling && runtime.kind === 'runc',
      newInstanceId: () => instanceId(name, this.o.random),
      sinkFor: (slot) => ({
        log: (stream, line, timeMs) =>
          this.o.logs.append(this.entry(service, name, slot.id, stream, stream === 'stderr' ? 'ERROR' : 'DEFAULT', timeMs, line)),
      }),
      specFor: async (id) => ({
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
      }),
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

  async closePool(revision: string): Promise<void> {
    const p = this.pools.get(revision);
    if (!p) return;
    this.pools.delete(revision);
    await p.close();
  }

  async closeAll(): Promise<void> {
    clearInterval(this.timer);
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.close()));
  }

  private entry(service: string, revision: string, instance: string | undefined, kind: LogEntry['kind'], severity: Severity, timeMs: number, text: string): LogEntry {
    return {
      insertId: `${timeMs.toString(36)}-${(this.insertSeq++).toString(36)}`,
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

  private observerFor(service: string, revision: string): PoolObserver {
    const extra = this.o.observers ?? [];
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
