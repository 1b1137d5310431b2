/**
 * The dispatcher (activator) of one revision: its instances, their concurrency slots and the
 * bounded queue of requests waiting for a slot. Requests take a free slot on the least-loaded
 * ready instance; with none free they wait here while the pool starts more instances, up to
 * max instances and the host's budget. Scaling decisions come from a `ScalePolicy`.
 */
import { Pool } from 'undici';
import { KumoError } from '../../shared/errors.js';
import type { Clock } from '../../shared/clock.js';
import type { ExitInfo, Instance, InstanceSink, InstanceSpec, Runtime } from '../../runtime/runtime.js';
import type { RevisionSettings } from '../revision.settings.js';
import { cpuUtilizationBetween } from '../autoscaler/index.js';
import { Fifo } from './fifo.js';
import type { HostBudget } from './host-budget.js';

export type StartReason = 'deployment' | 'request' | 'autoscaling' | 'min-instances' | 'replacement';

export interface InstanceSlot {
  readonly id: string;
  readonly startReason: StartReason;
  readonly requestedAt: number;
  state: 'starting' | 'ready' | 'draining';
  inFlight: number;
  frozen: boolean;
  lastActiveMs: number;
  instance?: Instance;
  /** Persistent keep-alive connections to the instance (set once ready). */
  upstream?: Pool;
  /** The last lines it printed, for failure messages. */
  recentLines: string[];
  /** Last CPU reading, for utilization between ticks. */
  cpuSample?: { cpuUsageUsec: number; atMs: number };
  /** Utilization measured on the last tick (CPU and memory, 0..1 of the allocation). */
  utilization?: { cpu?: number; memory?: number };
}

export interface Waiter {
  cancelled: boolean;
  enqueuedAt: number;
  grant(slot: InstanceSlot): void;
  fail(err: KumoError): void;
}

/** What the pool tells the rest of kumo (logs, metrics, billing). Calls must be cheap. */
export interface PoolObserver {
  instanceStarting(slot: InstanceSlot): void;
  instanceReady(slot: InstanceSlot, startupMs: number): void;
  instanceFailed(slot: InstanceSlot, err: KumoError): void;
  instanceStopping(slot: InstanceSlot): void;
  instanceExited(slot: InstanceSlot, exit: ExitInfo, expected: boolean): void;
  requestStarted(slot: InstanceSlot, nowMs: number): void;
  requestEnded(slot: InstanceSlot, nowMs: number): void;
}

/** Decides how many instances the revision wants (the KPA, `kpa-policy.ts`). */
export interface ScalePolicy {
  /** Every request, queued or not, from arrival to its end. */
  requestArrived(nowMs: number): void;
  requestDone(nowMs: number): void;
  /** Once a second: close the second's average concurrency. */
  observe(nowMs: number): void;
  /** On every decision tick, and when a request finds no free slot: the instance count wanted now. */
  desired(view: PoolView, nowMs: number): { count: number; reason: StartReason };
  /** Concurrency one instance is meant to carry (containerConcurrency × target utilization). */
  targetPerInstance(): number;
  /** Requests arrived and not yet ended, right now (in flight plus queued). */
  concurrencyNow(): number;
}

export interface PoolView {
  readonly settings: RevisionSettings;
  readonly readyCount: number;
  readonly startingCount: number;
  readonly inFlight: number;
  readonly queued: number;
  /** Ready instances with no request in flight, and for how long each has been idle. */
  idleForMs(nowMs: number): number[];
  /** Mean CPU utilization (0..1 of the allocation) of ready instances since the last tick, when known. */
  cpuUtilization(): number | undefined;
}

export interface RevisionPoolOptions {
  service: string;
  revision: string;
  settings: RevisionSettings;
  runtime: Runtime;
  clock: Clock;
  budget: HostBudget;
  policy: ScalePolicy;
  observer: PoolObserver;
  /** Builds the runtime spec for a new instance. */
  specFor(instanceId: string): Promise<InstanceSpec>;
  newInstanceId(): string;
  sinkFor(slot: InstanceSlot): InstanceSink;
  queueLimit: number;
  stopGraceMs: number;
  /** Freeze instances with nothing in flight (CPU only while serving). */
  freezeIdle: boolean;
}

const RECENT_LINES = 20;

export class RevisionPool implements PoolView {
  readonly settings: RevisionSettings;
  private readonly slots: InstanceSlot[] = [];
  private readonly queue = new Fifo<Waiter>();
  private closed = false;
  private lastPokeMs = -Infinity;
  /** The last start was refused because the host's memory budget is spent. */
  private hostFull = false;
  /** Last start failure, reported to requests that find no instance. */
  private lastFailure: KumoError | undefined;

  readonly service: string;
  readonly revision: string;

  constructor(private readonly o: RevisionPoolOptions) {
    this.settings = o.settings;
    this.service = o.service;
    this.revision = o.revision;
  }

  get readyCount(): number {
    let n = 0;
    for (const s of this.slots) if (s.state === 'ready') n++;
    return n;
  }

  get startingCount(): number {
    let n = 0;
    for (const s of this.slots) if (s.state === 'starting') n++;
    return n;
  }

  get inFlight(): number {
    let n = 0;
    for (const s of this.slots) n += s.inFlight;
    return n;
  }

  get queued(): number {
    return this.queue.size;
  }

  get instances(): readonly InstanceSlot[] {
    return this.slots;
  }

  idleForMs(nowMs: number): number[] {
    const out: number[] = [];
    for (const s of this.slots) if (s.state === 'ready' && s.inFlight === 0) out.push(nowMs - s.lastActiveMs);
    return out;
  }

  cpuUtilization(): number | undefined {
    let sum = 0;
    let n = 0;
    for (const s of this.slots) {
      const cpu = s.state === 'ready' ? s.utilization?.cpu : undefined;
      if (cpu !== undefined) {
        sum += cpu;
        n++;
      }
    }
    return n > 0 ? sum / n : undefined;
  }

  /** A request for this revision arrived (before it has a slot) / ended (however it ended). */
  arrived(): void {
    this.o.policy.requestArrived(this.o.clock.now());
    // A burst beyond what the instances (running or starting) are meant to carry starts more at
    // once, whether or not the requests had to queue (the activator's poke).
    const demand = this.o.policy.concurrencyNow();
    if (demand > this.settings.concurrency && demand > this.slots.length * this.o.policy.targetPerInstance()) this.scaleForDemand('request');
  }

  departed(): void {
    this.o.policy.requestDone(this.o.clock.now());
  }

  /** Once a second: the autoscaler's sample, and each instance's CPU and memory use. */
  observe(): void {
    const now = this.o.clock.now();
    this.o.policy.observe(now);
    const stats = this.o.runtime.stats?.bind(this.o.runtime);
    if (!stats) return;
    for (const s of this.slots) {
      if (s.state !== 'ready') continue;
      const st = stats(s.id);
      if (!st) continue;
      const next = { cpuUsageUsec: st.cpuUsageUsec, atMs: now };
      const cpu = s.cpuSample ? cpuUtilizationBetween(s.cpuSample, next, this.settings.cpuMillis) : undefined;
      s.cpuSample = next;
      s.utilization = { ...(cpu !== undefined ? { cpu } : {}), memory: st.memoryBytes / this.settings.memoryBytes };
    }
  }

  /** Whether another instance may be started (max instances and host budget). */
  get atMaxInstances(): boolean {
    return this.readyCount + this.startingCount >= this.settings.maxInstances;
  }

  /** Fast path: a free slot on the least-loaded ready instance, or undefined. */
  tryAcquire(): InstanceSlot | undefined {
    let best: InstanceSlot | undefined;
    for (const s of this.slots) {
      if (s.state !== 'ready' || s.inFlight >= this.settings.concurrency) continue;
      if (!best || s.inFlight < best.inFlight) best = s;
    }
    if (best) this.take(best);
    return best;
  }

  /** Wait for a slot. Returns false when the queue is full. Scale-up is poked at once. */
  enqueue(w: Waiter): boolean {
    if (this.closed) {
      w.fail(new KumoError('UNAVAILABLE', `revision ${this.o.revision} is shutting down`, { revision: this.o.revision }));
      return true;
    }
    if (this.queue.size >= this.o.queueLimit) return false;
    this.queue.push(w);
    this.scaleForDemand('request');
    return true;
  }

  cancel(w: Waiter): void {
    this.queue.cancel(w);
  }

  release(slot: InstanceSlot): void {
    slot.inFlight--;
    const now = this.o.clock.now();
    this.o.observer.requestEnded(slot, now);
    if (slot.state === 'ready' && this.queue.size > 0) {
      const w = this.queue.shift();
      if (w) {
        this.take(slot);
        w.grant(slot);
        return;
      }
    }
    if (slot.inFlight === 0) {
      slot.lastActiveMs = now;
      if (slot.state === 'draining') void this.stopSlot(slot);
      else if (this.o.freezeIdle && !slot.frozen) {
        slot.frozen = true;
        void this.o.runtime.freeze(slot.id);
      }
    }
  }

  /**
   * The deployment probe: start one instance and resolve once it listens, or reject with the
   * reason and its last log lines. The instance then serves like any other.
   */
  async deploymentProbe(): Promise<void> {
    if (this.readyCount > 0) return;
    const slot = this.startInstance('deployment');
    if (!slot) {
      throw new KumoError(
        'RESOURCE_EXHAUSTED',
        `the host has no room for another ${Math.round(this.settings.memoryBytes / 1024 ** 2)} MiB instance; lower --memory, stop other services or raise --host-memory-share`,
        { revision: this.o.revision },
      );
    }
    await this.readyOf(slot);
  }

  /** A decision tick: bring the instance count to what the policy wants. */
  tick(): void {
    if (this.closed) return;
    const now = this.o.clock.now();
    this.lastPokeMs = now;
    const decided = this.o.policy.desired(this, now);
    const { reason } = decided;
    // Never drain below what the requests here right now need (the poke may have started them).
    const count = Math.max(decided.count, this.demandWant());
    const live = this.readyCount + this.startingCount;
    if (count > live) {
      for (let i = live; i < count; i++) if (!this.startInstance(reason)) break;
    } else if (count < live) {
      // Drain the instances idle the longest first; busy ones are left alone.
      const idle = this.slots
        .filter((s) => s.state === 'ready' && s.inFlight === 0)
        .sort((a, b) => a.lastActiveMs - b.lastActiveMs);
      for (let i = 0; i < live - count && i < idle.length; i++) {
        const s = idle[i];
        if (s) this.drainSlot(s);
      }
    }
  }

  /** Stop everything: fail waiters, drain instances, wait for them to exit. */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.queue.drain()) {
      w.fail(new KumoError('UNAVAILABLE', `revision ${this.o.revision} is shutting down`, { revision: this.o.revision }));
    }
    await Promise.all(this.slots.map((s) => this.stopSlot(s)));
  }

  private take(slot: InstanceSlot): void {
    slot.inFlight++;
    if (slot.frozen) {
      slot.frozen = false;
      void this.o.runtime.thaw(slot.id);
    }
    this.o.observer.requestStarted(slot, this.o.clock.now());
  }

  /**
   * A request found no free slot: ask the autoscaler at once (at most every 100 ms) and start
   * instances until there are as many as it wants and planned capacity covers the demand.
   */
  private scaleForDemand(reason: StartReason): void {
    const now = this.o.clock.now();
    const live = this.readyCount + this.startingCount;
    let wanted = 0;
    if (live === 0 || now - this.lastPokeMs >= 100) {
      this.lastPokeMs = now;
      wanted = this.o.policy.desired(this, now).count;
    }
    wanted = Math.max(wanted, this.demandWant());
    for (let n = live; n < wanted; n++) {
      if (!this.startInstance(reason)) break;
    }
    if (this.readyCount + this.startingCount === 0 && this.hostFull) {
      // Nothing could be started: fail the queue now instead of letting requests hang.
      const err = this.capacityError();
      if (err) for (const w of this.queue.drain()) w.fail(err);
    }
  }

  /**
   * Instances the requests here right now need: none for none, one up to one instance's
   * concurrency, beyond that sized at the autoscaler's target utilization (a burst of 200 at
   * concurrency 10 and 60 % wants 34, not 20).
   */
  private demandWant(): number {
    const demand = this.o.policy.concurrencyNow();
    if (demand === 0) return 0;
    const c = this.settings.concurrency;
    return demand <= c ? 1 : Math.ceil(demand / Math.min(c, this.o.policy.targetPerInstance()));
  }

  /**
   * Why a waiting request cannot get an instance, when it is a limit rather than a start in
   * progress: the revision's max instances, or the host's memory budget. Answered with 429.
   */
  capacityError(): KumoError | undefined {
    if (this.atMaxInstances) {
      return new KumoError(
        'RESOURCE_EXHAUSTED',
        `no instance had a free slot in time: the revision is at its maximum of ${this.settings.maxInstances} instance(s), all busy; raise --max-instances or --concurrency, or retry later`,
        { service: this.o.service, revision: this.o.revision, retryAfterSec: 1 },
      );
    }
    if (this.hostFull) {
      return new KumoError(
        'RESOURCE_EXHAUSTED',
        `the host is at capacity: no room for another ${Math.round(this.settings.memoryBytes / 1024 ** 2)} MiB instance of ${this.o.service} (kumo keeps the sum of --memory within --host-memory-share of this machine's memory); lower --memory, stop other services, or retry later`,
        { service: this.o.service, revision: this.o.revision, retryAfterSec: 5 },
      );
    }
    return undefined;
  }

  private startInstance(reason: StartReason): InstanceSlot | undefined {
    if (this.closed || this.atMaxInstances) return undefined;
    if (!this.o.budget.tryReserve(this.settings.memoryBytes)) {
      this.hostFull = true;
      return undefined;
    }
    this.hostFull = false;
    const now = this.o.clock.now();
    const slot: InstanceSlot = {
      id: this.o.newInstanceId(),
      startReason: reason,
      requestedAt: now,
      state: 'starting',
      inFlight: 0,
      frozen: false,
      lastActiveMs: now,
      recentLines: [],
    };
    this.slots.push(slot);
    this.o.observer.instanceStarting(slot);
    const started = this.launch(slot);
    this.ready.set(slot, started);
    started.catch(() => undefined);
    return slot;
  }

  private readonly ready = new WeakMap<InstanceSlot, Promise<void>>();

  private readyOf(slot: InstanceSlot): Promise<void> {
    return this.ready.get(slot) ?? Promise.resolve();
  }

  private async launch(slot: InstanceSlot): Promise<void> {
    const sink = this.o.sinkFor(slot);
    const recording: InstanceSink = {
      log: (stream, line, t) => {
        if (slot.state === 'starting') {
          slot.recentLines.push(line);
          if (slot.recentLines.length > RECENT_LINES) slot.recentLines.shift();
        }
        sink.log(stream, line, t);
      },
    };
    let instance: Instance;
    const starting = (async () => this.o.runtime.start(await this.o.specFor(slot.id), recording))();
    this.starts.set(slot, starting.catch(() => undefined));
    try {
      instance = await starting;
    } catch (err) {
      throw this.startFailed(slot, err);
    }
    slot.instance = instance;
    void instance.exited.then((exit) => this.exited(slot, exit));
    try {
      await instance.ready;
    } catch (err) {
      const failure = this.startFailed(slot, err);
      await this.o.runtime.stop(slot.id, 0).catch(() => undefined);
      throw failure;
    }
    if (slot.state !== 'starting') return; // drained or closed meanwhile
    slot.state = 'ready';
    slot.lastActiveMs = this.o.clock.now();
    slot.upstream = new Pool(`http://${instance.endpoint.host}:${instance.endpoint.port}`, {
      connections: Math.max(4, Math.min(this.settings.concurrency, 256)),
      pipelining: 1,
      keepAliveTimeout: 30_000,
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    this.lastFailure = undefined;
    this.o.observer.instanceReady(slot, slot.lastActiveMs - slot.requestedAt);
    this.pump(slot);
  }

  /** Hand queued requests to a newly ready instance. */
  private pump(slot: InstanceSlot): void {
    while (slot.state === 'ready' && slot.inFlight < this.settings.concurrency && this.queue.size > 0) {
      const w = this.queue.shift();
      if (!w) break;
      this.take(slot);
      w.grant(slot);
    }
    if (slot.inFlight === 0 && this.o.freezeIdle && !slot.frozen) {
      slot.frozen = true;
      void this.o.runtime.freeze(slot.id);
    }
  }

  private startFailed(slot: InstanceSlot, err: unknown): KumoError {
    const base = err instanceof KumoError ? err : new KumoError('UNAVAILABLE', err instanceof Error ? err.message : String(err));
    const tail = slot.recentLines.length > 0 ? `; last log lines:\n${slot.recentLines.map((l) => `  ${l}`).join('\n')}` : '';
    const failure = new KumoError(
      base.code === 'INVALID_ARGUMENT' || base.code === 'FAILED_PRECONDITION' ? base.code : 'UNAVAILABLE',
      `revision ${this.o.revision}: instance failed to start: ${base.message}${tail}`,
      { service: this.o.service, revision: this.o.revision, instance: slot.id },
      { cause: err },
    );
    this.lastFailure = failure;
    this.removeSlot(slot);
    this.o.observer.instanceFailed(slot, failure);
    // Requests waiting only on this start get the reason now (503), not a hang.
    if (this.readyCount + this.startingCount === 0) {
      for (const w of this.queue.drain()) w.fail(failure);
    }
    return failure;
  }

  private drainSlot(slot: InstanceSlot): void {
    if (slot.state === 'draining') return;
    slot.state = 'draining';
    if (slot.inFlight === 0) void this.stopSlot(slot);
  }

  private stopping = new WeakSet<InstanceSlot>();
  /** The runtime's start of each slot, resolved with the instance (or undefined when it failed). */
  private readonly starts = new WeakMap<InstanceSlot, Promise<Instance | undefined>>();

  private async stopSlot(slot: InstanceSlot): Promise<void> {
    if (this.stopping.has(slot)) return;
    this.stopping.add(slot);
    slot.state = 'draining';
    this.o.observer.instanceStopping(slot);
    // A slot stopped while the runtime is still starting it: wait for the instance, then stop it,
    // so nothing the runtime starts late is left running untracked.
    const instance = slot.instance ?? (await this.starts.get(slot));
    if (instance) {
      await this.o.runtime.stop(slot.id, this.o.stopGraceMs).catch(() => undefined);
      await instance.exited;
    }
  }

  private exited(slot: InstanceSlot, exit: ExitInfo): void {
    const expected = this.stopping.has(slot) || slot.state === 'starting';
    const wasMember = this.slots.includes(slot);
    this.removeSlot(slot);
    if (!wasMember && slot.state === 'starting') return; // start failure already reported
    this.o.observer.instanceExited(slot, exit, expected);
    if (!expected && !this.closed && this.queue.size > 0) this.scaleForDemand('replacement');
  }

  private removeSlot(slot: InstanceSlot): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    this.o.budget.release(this.settings.memoryBytes);
    const up = slot.upstream;
    if (up) void up.destroy().catch(() => undefined);
  }
}
