/**
 * Wires the request path and the instance lifecycle to the billing meter, the metrics recorder
 * and the request log. Per-request work is a few counter updates; everything that touches disk
 * (usage rows, metric points, request log entries) is batched by timers off the request path.
 */
import { randomFillSync } from 'node:crypto';
import type { Clock } from '../shared/clock.js';
import type { Database } from '../store/database.js';
import type { LogStore } from '../observability/logs/log.store.js';
import { MetricsRecorder, MetricsStore, renderPrometheus } from '../observability/metrics/index.js';
import type { RevisionMetrics } from '../observability/metrics/index.js';
import { randomIdSource, requestLogEntry, requestLogJson, requestSeverity, traceResourceName } from '../observability/structured/index.js';
import { rowOf } from '../observability/logs/log-rows.js';
import type { IdSource, RequestFacts } from '../observability/structured/index.js';
import { BillingMeter, BillingStore, resolveBillingMode } from '../serving/billing/index.js';
import type { InstanceMeter } from '../serving/billing/index.js';
import type { HostBudget } from '../serving/dispatcher/host-budget.js';
import type { Dispatchers } from '../serving/dispatcher/dispatchers.js';
import type { InstanceSlot, PoolObserver, RevisionPool } from '../serving/dispatcher/revision-pool.js';
import type { RevisionSettings } from '../serving/revision.settings.js';
import type { CallEvents, ProxyCall } from '../serving/router/proxy-call.js';

export interface TelemetryOptions {
  db: Database;
  clock: Clock;
  logs: LogStore;
  budget: HostBudget;
  project: string;
  /** Metric resolution and billing flush period (10 s). */
  stepMs: number;
  hostCpus: number;
}

export type TelemetryEvent = { kind: 'roll'; tMs: number } | { kind: 'instances'; service: string };

export class Telemetry implements CallEvents {
  readonly ids: IdSource = randomIdSource((b) => randomFillSync(b));
  readonly meter = new BillingMeter();
  readonly billing: BillingStore;
  readonly recorder: MetricsRecorder;
  readonly metricsStore: MetricsStore;
  private readonly meters = new WeakMap<InstanceSlot, InstanceMeter>();
  private readonly revisionMetrics = new WeakMap<RevisionPool, RevisionMetrics>();
  private insertSeq = 0;
  private readonly timers: NodeJS.Timeout[];
  private dispatchers: Dispatchers | undefined;
  private readonly listeners = new Set<(e: TelemetryEvent) => void>();

  constructor(private readonly o: TelemetryOptions) {
    this.billing = new BillingStore(o.db);
    this.recorder = new MetricsRecorder(o.clock.now(), o.stepMs);
    this.metricsStore = new MetricsStore(o.db, o.clock);
    this.timers = [setInterval(() => this.roll(), o.stepMs)];
    for (const t of this.timers) t.unref();
  }

  /** Told after each roll (new metric points are stored) and when an instance starts, becomes ready or stops. */
  onEvent(listener: (e: TelemetryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: TelemetryEvent): void {
    for (const fn of this.listeners) fn(e);
  }

  /** The pools to sample instance counts from on each roll. */
  watch(dispatchers: Dispatchers): void {
    this.dispatchers = dispatchers;
  }

  observerFor(service: string, revision: string, settings: RevisionSettings): PoolObserver {
    const metrics = this.recorder.revision(service, revision);
    const mode = resolveBillingMode({ 'run.googleapis.com/cpu-throttling': settings.cpuThrottling ? 'true' : 'false' }).mode;
    const now = () => this.o.clock.now();
    const changed = () => this.emit({ kind: 'instances', service });
    return {
      instanceStarting: (slot) => {
        changed();
        this.meters.set(
          slot,
          this.meter.instanceStarting({ service, revision, instanceId: slot.id, mode, cpuMillis: settings.cpuMillis, memoryBytes: settings.memoryBytes }, slot.requestedAt),
        );
      },
      instanceReady: (slot, startupMs) => {
        this.meters.get(slot)?.ready(now());
        metrics.recordStartup(startupMs);
        changed();
      },
      instanceFailed: (slot) => {
        const m = this.meters.get(slot);
        if (m && !m.isStopped) m.stopped(now());
        changed();
      },
      instanceStopping: (slot) => {
        this.meters.get(slot)?.stopping(now());
        changed();
      },
      instanceExited: (slot) => {
        const m = this.meters.get(slot);
        if (m && !m.isStopped) m.stopped(now());
        changed();
      },
      requestStarted: (slot, nowMs) => {
        this.meters.get(slot)?.requestStarted(nowMs);
        metrics.requestStarted(slot.inFlight);
      },
      requestEnded: (slot, nowMs) => this.meters.get(slot)?.requestEnded(nowMs),
    };
  }

  /** CallEvents: one finished request. */
  ended(call: ProxyCall, status: number): void {
    const now = this.o.clock.now();
    const latencyMs = now - call.startedAt;
    let metrics = this.revisionMetrics.get(call.pool);
    if (!metrics) {
      metrics = this.recorder.revision(call.pool.service, call.pool.revision);
      this.revisionMetrics.set(call.pool, metrics);
    }
    metrics.recordRequest(status === 0 ? 499 : status, latencyMs, call.bytesIn, call.bytesOut);
    if (!call.trace) return;
    const h = call.inbound;
    const facts: RequestFacts = {
      project: this.o.project,
      method: call.req.method ?? 'GET',
      url: `http://${h.host ?? ''}${call.req.url ?? '/'}`,
      status: status === 0 ? 499 : status,
      latencyMs,
      requestBytes: call.bytesIn,
      responseBytes: call.bytesOut,
      timeMs: call.startedAt,
      trace: call.trace,
      protocol: `HTTP/${call.req.httpVersion}`,
    };
    if (h.userAgent !== undefined) facts.userAgent = h.userAgent;
    if (h.referer !== undefined) facts.referer = h.referer;
    const ip = call.remoteAddress;
    if (ip !== undefined) facts.remoteIp = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
    // Encoded now as text, a little per request; the log store's writer thread inserts batches.
    const origin = {
      service: call.pool.service,
      revision: call.pool.revision,
      ...(call.instanceId ? { instanceId: call.instanceId } : {}),
      insertId: `r${facts.timeMs.toString(36)}-${(this.insertSeq++).toString(36)}`,
    };
    const trace = traceResourceName(this.o.project, facts.trace.traceId);
    const row = rowOf(facts.timeMs, origin.service, origin.revision, 'requests', requestSeverity(facts.status), trace, requestLogJson(facts, origin));
    this.o.logs.appendRow(row, () => requestLogEntry(facts, origin));
  }

  prometheus(): string {
    return renderPrometheus(this.recorder);
  }

  /** Close the metric interval and the billing usage since the last roll; write both. */
  roll(): void {
    const now = this.o.clock.now();
    if (this.dispatchers) {
      let instances = 0;
      let cpuMillis = 0;
      for (const [, pool] of this.dispatchers.all()) {
        cpuMillis += pool.instances.length * pool.settings.cpuMillis;
        let active = 0;
        let idle = 0;
        let cpu = 0;
        let mem = 0;
        let sampled = 0;
        for (const s of pool.instances) {
          if (s.state !== 'ready') continue;
          if (s.inFlight > 0) active++;
          else idle++;
          if (s.utilization?.cpu !== undefined) {
            cpu += s.utilization.cpu;
            mem += s.utilization.memory ?? 0;
            sampled++;
          }
        }
        instances += pool.instances.length;
        const m = this.recorder.revision(pool.service, pool.revision);
        m.setInstances(active, idle);
        if (sampled > 0) m.recordUtilization(cpu / sampled, mem / sampled);
      }
      // cpu: vCPUs allocated to instances over the host's cores; instances: over how many
      // default-sized (512 MiB) instances the memory budget holds.
      this.recorder.setHostBudget({
        cpu: cpuMillis / (this.o.hostCpus * 1000),
        memory: this.o.budget.used / this.o.budget.limitBytes,
        instances: instances / Math.max(1, Math.floor(this.o.budget.limitBytes / (512 * 1024 ** 2))),
      });
    }
    const usage = this.meter.flush(now);
    for (const u of usage) this.recorder.revision(u.service, u.revision).addBillableMs(u.billableMs);
    this.o.db.transaction(() => {
      if (usage.length > 0) this.billing.record(usage);
      this.metricsStore.write(this.recorder.roll(now));
    })();
    this.emit({ kind: 'roll', tMs: now });
  }

  close(): void {
    for (const t of this.timers) clearInterval(t);
    this.roll();
  }
}
