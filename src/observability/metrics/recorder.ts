/**
 * Per-revision metrics, recorded on the hot path with no allocation: each revision's handle
 * holds typed arrays and numbers for the current interval (drained into time-series points by
 * `roll`) and running totals (for Prometheus). Nothing here touches the disk; the store writes
 * each roll's points in one batch.
 */
import { RESPONSE_CLASSES } from './catalog.js';
import type { MetricName } from './catalog.js';
import { LATENCY_BUCKETS, bucketIndex, encodeCounts } from './histogram.js';

/** One series' value over one interval, mergeable: counts and sums add, max takes the larger. */
export interface MetricPoint {
  /** Start of the interval, aligned to the recorder's step. */
  tMs: number;
  service: string;
  revision: string;
  metric: MetricName;
  /** The metric label's value (`2xx`, `active`, `cpu`) or '' when it has none. */
  label: string;
  /** Samples (gauges, distributions); 1 for counters. */
  count: number;
  /** Counter increase, or the sum of samples. */
  sum: number;
  max: number;
  /** Distributions: bucket counts, comma-separated. */
  buckets?: string;
}

/** A gauge's samples within an interval and its last value. */
class Gauge {
  sum = 0;
  count = 0;
  max = 0;
  last = 0;
  private emittedZero = false;

  sample(v: number): void {
    this.sum += v;
    this.count += 1;
    if (this.count === 1 || v > this.max) this.max = v;
    this.last = v;
  }

  /** Emit this interval; a gauge that stays at zero is written once, not every interval. */
  drain(out: MetricPoint[], base: Omit<MetricPoint, 'metric' | 'label' | 'count' | 'sum' | 'max'>, metric: MetricName, label = ''): void {
    if (this.count > 0) {
      const zero = this.max === 0;
      if (!(zero && this.emittedZero)) out.push({ ...base, metric, label, count: this.count, sum: this.sum, max: this.max });
      this.emittedZero = zero;
    }
    this.sum = 0;
    this.count = 0;
    this.max = 0;
  }
}

class Distribution {
  readonly counts = new Float64Array(LATENCY_BUCKETS);
  count = 0;
  sum = 0;
  max = 0;
  readonly totalCounts = new Float64Array(LATENCY_BUCKETS);
  totalCount = 0;
  totalSum = 0;

  record(v: number): void {
    const i = bucketIndex(v);
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.totalCounts[i] = (this.totalCounts[i] ?? 0) + 1;
    this.count += 1;
    this.sum += v;
    this.totalCount += 1;
    this.totalSum += v;
    if (v > this.max) this.max = v;
  }

  drain(out: MetricPoint[], base: Omit<MetricPoint, 'metric' | 'label' | 'count' | 'sum' | 'max'>, metric: MetricName): void {
    if (this.count > 0) {
      out.push({ ...base, metric, label: '', count: this.count, sum: this.sum, max: this.max, buckets: encodeCounts(this.counts) });
    }
    this.counts.fill(0);
    this.count = 0;
    this.sum = 0;
    this.max = 0;
  }
}

/** One revision's metrics. Get it once from `MetricsRecorder.revision` and keep it. */
export class RevisionMetrics {
  readonly requestsByClass = new Float64Array(5);
  readonly totalRequestsByClass = new Float64Array(5);
  readonly latency = new Distribution();
  readonly startup = new Distribution();
  readonly active = new Gauge();
  readonly idle = new Gauge();
  readonly cpu = new Gauge();
  readonly memory = new Gauge();
  readonly maxConcurrency = new Gauge();
  private intervalMaxConcurrency = 0;
  bytesIn = 0;
  bytesOut = 0;
  billableMs = 0;
  totalBytesIn = 0;
  totalBytesOut = 0;
  totalBillableMs = 0;

  constructor(
    readonly service: string,
    readonly revision: string,
  ) {}

  /** A finished request: its status, time from arrival to last byte, and body sizes. */
  recordRequest(status: number, latencyMs: number, bytesIn: number, bytesOut: number): void {
    let cls = ((status / 100) | 0) - 1;
    if (cls < 0) cls = 0;
    else if (cls > 4) cls = 4;
    this.requestsByClass[cls] = (this.requestsByClass[cls] ?? 0) + 1;
    this.totalRequestsByClass[cls] = (this.totalRequestsByClass[cls] ?? 0) + 1;
    this.latency.record(latencyMs);
    this.bytesIn += bytesIn;
    this.bytesOut += bytesOut;
    this.totalBytesIn += bytesIn;
    this.totalBytesOut += bytesOut;
  }

  /** A request started on an instance that now has `instanceInFlight` requests. */
  requestStarted(instanceInFlight: number): void {
    if (instanceInFlight > this.intervalMaxConcurrency) this.intervalMaxConcurrency = instanceInFlight;
  }

  /** From the reconciler each tick. */
  setInstances(active: number, idle: number): void {
    this.active.sample(active);
    this.idle.sample(idle);
  }

  recordStartup(latencyMs: number): void {
    this.startup.record(latencyMs);
  }

  /** One instance's (or the mean of all instances') utilization, 0..1; undefined skips one. */
  recordUtilization(cpu: number | undefined, memory: number | undefined): void {
    if (cpu !== undefined && Number.isFinite(cpu)) this.cpu.sample(cpu);
    if (memory !== undefined && Number.isFinite(memory)) this.memory.sample(memory);
  }

  addBillableMs(ms: number): void {
    this.billableMs += ms;
    this.totalBillableMs += ms;
  }

  /** Move the interval's values into `out` as points stamped `tMs`, and start a new interval. */
  drain(tMs: number, out: MetricPoint[]): void {
    const base = { tMs, service: this.service, revision: this.revision };
    for (let i = 0; i < 5; i++) {
      const n = this.requestsByClass[i] ?? 0;
      if (n > 0) out.push({ ...base, metric: 'request_count', label: RESPONSE_CLASSES[i] ?? '', count: 1, sum: n, max: n });
    }
    this.requestsByClass.fill(0);
    this.latency.drain(out, base, 'request_latencies');
    this.startup.drain(out, base, 'container/startup_latencies');
    this.active.drain(out, base, 'container/instance_count', 'active');
    this.idle.drain(out, base, 'container/instance_count', 'idle');
    this.cpu.drain(out, base, 'container/cpu/utilizations');
    this.memory.drain(out, base, 'container/memory/utilizations');
    this.maxConcurrency.sample(this.intervalMaxConcurrency);
    this.maxConcurrency.drain(out, base, 'container/max_request_concurrencies');
    this.intervalMaxConcurrency = 0;
    const counters: [MetricName, number][] = [
      ['container/network/received_bytes_count', this.bytesIn],
      ['container/network/sent_bytes_count', this.bytesOut],
      ['container/billable_instance_time', this.billableMs / 1000],
    ];
    for (const [metric, v] of counters) if (v > 0) out.push({ ...base, metric, label: '', count: 1, sum: v, max: v });
    this.bytesIn = 0;
    this.bytesOut = 0;
    this.billableMs = 0;
  }
}

export interface HostBudget {
  cpu: number;
  memory: number;
  instances: number;
}

export class MetricsRecorder {
  private readonly byKey = new Map<string, RevisionMetrics>();
  private readonly forgotten = new Set<string>();
  readonly host = { cpu: new Gauge(), memory: new Gauge(), instances: new Gauge() };
  private intervalStartMs: number;

  /** `stepMs`: the fine resolution (10 s); points are stamped with their interval's aligned start. */
  constructor(
    nowMs: number,
    readonly stepMs = 10_000,
  ) {
    this.intervalStartMs = nowMs;
  }

  /** The handle for a revision (created on first use). This is the `revisionKey` of the hot path. */
  revision(service: string, revision: string): RevisionMetrics {
    const key = `${service}/${revision}`;
    let m = this.byKey.get(key);
    if (!m) {
      m = new RevisionMetrics(service, revision);
      this.byKey.set(key, m);
    }
    this.forgotten.delete(key);
    return m;
  }

  revisions(): IterableIterator<RevisionMetrics> {
    return this.byKey.values();
  }

  recordRequest(revisionKey: RevisionMetrics, status: number, latencyMs: number, bytesIn: number, bytesOut: number): void {
    revisionKey.recordRequest(status, latencyMs, bytesIn, bytesOut);
  }

  /** Fractions (0..1) of the host's CPU, memory and instance budget in use. */
  setHostBudget(budget: HostBudget): void {
    this.host.cpu.sample(budget.cpu);
    this.host.memory.sample(budget.memory);
    this.host.instances.sample(budget.instances);
  }

  /** Drop a deleted revision after its last interval has been rolled. */
  forget(service: string, revision: string): void {
    this.forgotten.add(`${service}/${revision}`);
  }

  /** Close the interval: its points, stamped with the interval's aligned start. */
  roll(nowMs: number): MetricPoint[] {
    const tMs = Math.floor(this.intervalStartMs / this.stepMs) * this.stepMs;
    const out: MetricPoint[] = [];
    for (const m of this.byKey.values()) m.drain(tMs, out);
    const base = { tMs, service: '', revision: '' };
    this.host.cpu.drain(out, base, 'kumo/host/budget_in_use', 'cpu');
    this.host.memory.drain(out, base, 'kumo/host/budget_in_use', 'memory');
    this.host.instances.drain(out, base, 'kumo/host/budget_in_use', 'instances');
    for (const key of this.forgotten) this.byKey.delete(key);
    this.forgotten.clear();
    this.intervalStartMs = nowMs;
    return out;
  }
}
