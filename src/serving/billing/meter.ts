/**
 * The billing meter, fed by the dispatcher and reconciler with `now` (no clock inside).
 *
 * Request-based billing (Cloud Run's default): an instance is billable while it starts (start
 * requested → ready), while at least one request is in flight, and while it shuts down (stop
 * requested → exited). Each maximal billable stretch (a busy period) is rounded up to 100 ms;
 * requests in flight together share it. Instance-based billing (`--no-cpu-throttling`): the whole
 * lifetime, start requested → exited, is one period. A period of zero length still bills 100 ms.
 *
 * `flush(now)` returns usage since the previous flush. An open period contributes its whole
 * 100 ms units so far; its rounding up happens when it closes, so splitting by flushes never
 * changes the total.
 */

export type BillingMode = 'request' | 'instance';

export const BILLING_UNIT_MS = 100;

export interface InstanceBillingInfo {
  service: string;
  revision: string;
  instanceId: string;
  mode: BillingMode;
  cpuMillis: number;
  memoryBytes: number;
}

/** Usage of one instance between two flushes. */
export interface UsageRecord {
  service: string;
  revision: string;
  instanceId: string;
  mode: BillingMode;
  /** The span this record covers: the previous flush (or the start) to this one. */
  startMs: number;
  endMs: number;
  /** Billed milliseconds (whole 100 ms units). */
  billableMs: number;
  vcpuSeconds: number;
  gibSeconds: number;
  /** Requests that started in the span. */
  requests: number;
}

const GIB = 1024 ** 3;

/** One instance's meter. Every call is O(1) and allocation-free. */
export class InstanceMeter {
  private inFlight = 0;
  private isStarting = true;
  private isStopping = false;
  private ended = false;
  /** Start of the current billable period, or NaN when not billable. */
  private periodStartMs = NaN;
  /** When the period went idle, not yet closed (it may resume at the same instant). */
  private idleSinceMs = NaN;
  /** Milliseconds of the open period already handed out by a flush. */
  private flushedOfPeriodMs = 0;
  private pendingBillableMs = 0;
  private pendingRequests = 0;
  private spanStartMs: number;
  private lastMs: number;

  constructor(
    readonly info: Readonly<InstanceBillingInfo>,
    startRequestedMs: number,
  ) {
    this.spanStartMs = startRequestedMs;
    this.lastMs = startRequestedMs;
    this.periodStartMs = startRequestedMs;
  }

  get isStopped(): boolean {
    return this.ended;
  }

  get requestsInFlight(): number {
    return this.inFlight;
  }

  ready(nowMs: number): void {
    if (this.ended || !this.isStarting) return;
    const now = this.advance(nowMs);
    this.isStarting = false;
    this.update(now);
  }

  requestStarted(nowMs: number): void {
    if (this.ended) return;
    const now = this.advance(nowMs);
    this.inFlight += 1;
    this.pendingRequests += 1;
    this.update(now);
  }

  requestEnded(nowMs: number): void {
    if (this.ended || this.inFlight === 0) return;
    const now = this.advance(nowMs);
    this.inFlight -= 1;
    this.update(now);
  }

  stopping(nowMs: number): void {
    if (this.ended || this.isStopping) return;
    const now = this.advance(nowMs);
    this.isStopping = true;
    this.update(now);
  }

  stopped(nowMs: number): void {
    if (this.ended) return;
    const now = this.advance(nowMs);
    this.ended = true;
    this.inFlight = 0;
    this.isStarting = false;
    this.isStopping = false;
    this.update(now);
    this.closeIdle(Infinity);
  }

  /** Usage since the last flush, or undefined when there is none. */
  flush(nowMs: number): UsageRecord | undefined {
    const now = this.advance(nowMs);
    if (!this.ended && !Number.isNaN(this.periodStartMs) && Number.isNaN(this.idleSinceMs)) {
      const units = Math.floor((now - this.periodStartMs) / BILLING_UNIT_MS) * BILLING_UNIT_MS;
      if (units > this.flushedOfPeriodMs) {
        this.pendingBillableMs += units - this.flushedOfPeriodMs;
        this.flushedOfPeriodMs = units;
      }
    }
    if (this.pendingBillableMs === 0 && this.pendingRequests === 0) {
      this.spanStartMs = now;
      return undefined;
    }
    const billableMs = this.pendingBillableMs;
    const seconds = billableMs / 1000;
    const record: UsageRecord = {
      service: this.info.service,
      revision: this.info.revision,
      instanceId: this.info.instanceId,
      mode: this.info.mode,
      startMs: this.spanStartMs,
      endMs: now,
      billableMs,
      vcpuSeconds: seconds * (this.info.cpuMillis / 1000),
      gibSeconds: seconds * (this.info.memoryBytes / GIB),
      requests: this.pendingRequests,
    };
    this.pendingBillableMs = 0;
    this.pendingRequests = 0;
    this.spanStartMs = now;
    return record;
  }

  /** Time never runs backwards inside a meter; a pending idle closes once time moves on. */
  private advance(nowMs: number): number {
    const now = nowMs > this.lastMs ? nowMs : this.lastMs;
    this.lastMs = now;
    this.closeIdle(now);
    return now;
  }

  private billable(): boolean {
    if (this.ended) return false;
    if (this.info.mode === 'instance') return true;
    return this.isStarting || this.isStopping || this.inFlight > 0;
  }

  private update(now: number): void {
    const open = !Number.isNaN(this.periodStartMs) && Number.isNaN(this.idleSinceMs);
    const want = this.billable();
    if (want && !open) {
      if (!Number.isNaN(this.idleSinceMs)) this.idleSinceMs = NaN; // resumed at the same instant
      else {
        this.periodStartMs = now;
        this.flushedOfPeriodMs = 0;
      }
    } else if (!want && open) {
      this.idleSinceMs = now;
    }
  }

  /** Close an idle period once time has moved past the instant it went idle. */
  private closeIdle(now: number): void {
    if (Number.isNaN(this.idleSinceMs) || now <= this.idleSinceMs) return;
    const lengthMs = Math.max(1, this.idleSinceMs - this.periodStartMs);
    const billed = Math.ceil(lengthMs / BILLING_UNIT_MS) * BILLING_UNIT_MS;
    this.pendingBillableMs += billed - this.flushedOfPeriodMs;
    this.periodStartMs = NaN;
    this.idleSinceMs = NaN;
    this.flushedOfPeriodMs = 0;
  }
}

/** All instances' meters. The by-id methods suit callers that keep no handle. */
export class BillingMeter {
  private readonly instances = new Map<string, InstanceMeter>();
  /** Stopped meters replaced by a new instance of the same id before a flush collected them. */
  private readonly retired: InstanceMeter[] = [];

  instanceStarting(info: InstanceBillingInfo, nowMs: number): InstanceMeter {
    const existing = this.instances.get(info.instanceId);
    if (existing && !existing.isStopped) return existing;
    if (existing) this.retired.push(existing);
    const meter = new InstanceMeter({ ...info }, nowMs);
    this.instances.set(info.instanceId, meter);
    return meter;
  }

  get(instanceId: string): InstanceMeter | undefined {
    return this.instances.get(instanceId);
  }

  instanceReady(instanceId: string, nowMs: number): void {
    this.instances.get(instanceId)?.ready(nowMs);
  }

  requestStarted(instanceId: string, nowMs: number): void {
    this.instances.get(instanceId)?.requestStarted(nowMs);
  }

  requestEnded(instanceId: string, nowMs: number): void {
    this.instances.get(instanceId)?.requestEnded(nowMs);
  }

  instanceStopping(instanceId: string, nowMs: number): void {
    this.instances.get(instanceId)?.stopping(nowMs);
  }

  instanceStopped(instanceId: string, nowMs: number): void {
    this.instances.get(instanceId)?.stopped(nowMs);
  }

  /** Usage since the last flush, one record per instance with any; forgets stopped instances. */
  flush(nowMs: number): UsageRecord[] {
    const out: UsageRecord[] = [];
    for (const meter of this.retired.splice(0)) {
      const record = meter.flush(nowMs);
      if (record) out.push(record);
    }
    for (const [id, meter] of this.instances) {
      const record = meter.flush(nowMs);
      if (record) out.push(record);
      if (meter.isStopped) this.instances.delete(id);
    }
    return out;
  }
}

export const CPU_THROTTLING_KEY = 'run.googleapis.com/cpu-throttling';

/**
 * Cloud Run's annotation: `run.googleapis.com/cpu-throttling: "false"` (gcloud
 * `--no-cpu-throttling`) means instance-based billing; absent or "true" means request-based.
 */
export function resolveBillingMode(
  annotations: Readonly<Record<string, string>> | undefined,
  fieldPrefix = 'spec.template.metadata.annotations',
): { mode: BillingMode; violations: { field: string; description: string }[] } {
  const v = annotations?.[CPU_THROTTLING_KEY];
  if (v === undefined || v === 'true') return { mode: 'request', violations: [] };
  if (v === 'false') return { mode: 'instance', violations: [] };
  return {
    mode: 'request',
    violations: [
      {
        field: `${fieldPrefix}["${CPU_THROTTLING_KEY}"]`,
        description: `is "${v}"; must be "true" (request-based billing) or "false" (instance-based billing, CPU always allocated)`,
      },
    ],
  };
}
