/**
 * One revision's autoscaler as the dispatcher and reconciler use it: an in-flight integrator
 * (hot path), a one-second window, and the decider state. Holds state but does no I/O and reads
 * no clock; the caller's ticker passes `now`.
 *
 * Wiring: dispatcher → `requestStarted(now)` when a request arrives (queued or not) and
 * `requestEnded(now)` when it completes; a 1 s timer → `observe(now)`; a 2 s timer and any
 * request that finds no instance → `decide(now, counts)`.
 */
import { decideScale, initialScalerState } from './decide.js';
import type { ScaleDecision, ScalerState } from './decide.js';
import { InFlightIntegrator } from './integrator.js';
import type { ScalingSettings } from './settings.js';
import { SecondWindow } from './window.js';

export interface InstanceCounts {
  readyInstances: number;
  startingInstances: number;
  cpuUtilization?: number;
  reachable?: boolean;
}

export class RevisionAutoscaler {
  readonly integrator: InFlightIntegrator;
  private window: SecondWindow;
  private scaler: ScalerState;
  private current: ScalingSettings;
  private last: ScaleDecision | undefined;

  constructor(settings: ScalingSettings, nowMs: number, adoptedReadyInstances = 0) {
    this.current = settings;
    this.integrator = new InFlightIntegrator(nowMs);
    this.window = new SecondWindow(windowCapacitySec(settings));
    this.scaler = initialScalerState(nowMs, adoptedReadyInstances);
  }

  get settings(): ScalingSettings {
    return this.current;
  }

  get state(): ScalerState {
    return this.scaler;
  }

  get lastDecision(): ScaleDecision | undefined {
    return this.last;
  }

  get inFlight(): number {
    return this.integrator.inFlight;
  }

  requestStarted(nowMs: number): void {
    this.integrator.inc(nowMs);
  }

  requestEnded(nowMs: number): void {
    this.integrator.dec(nowMs);
  }

  /** The revision is at zero instances and requests are waiting: they start a fresh window. */
  wokenFromZero(nowMs: number): void {
    this.window.startEpisode(nowMs);
    this.integrator.sample(nowMs); // the next sample covers only the time since the wake-up
  }

  /** Once a second: close the second's average concurrency into the window. */
  observe(nowMs: number): number {
    const average = this.integrator.sample(nowMs);
    this.window.record(nowMs, average);
    return average;
  }

  /** Decide now. Also records the current in-flight count, so a request at zero counts at once. */
  decide(nowMs: number, counts: InstanceCounts): ScaleDecision {
    const now = this.integrator.inFlight;
    if (now > 0) this.window.record(nowMs, now);
    const { decision, state } = decideScale(
      this.current,
      this.scaler,
      {
        window: this.window,
        readyInstances: counts.readyInstances,
        startingInstances: counts.startingInstances,
        concurrencyNow: now,
        ...(counts.cpuUtilization !== undefined ? { cpuUtilization: counts.cpuUtilization } : {}),
        ...(counts.reachable !== undefined ? { reachable: counts.reachable } : {}),
      },
      nowMs,
    );
    this.scaler = state;
    this.last = decision;
    return decision;
  }

  /** New settings (e.g. a changed annotation); keeps the observed history where it fits. */
  updateSettings(settings: ScalingSettings): void {
    if (windowCapacitySec(settings) !== this.window.capacitySec) {
      this.window = new SecondWindow(windowCapacitySec(settings));
    }
    this.current = settings;
  }
}

function windowCapacitySec(s: ScalingSettings): number {
  return Math.max(1, Math.ceil(Math.max(s.stableWindowMs, s.panicWindowMs) / 1000));
}

/** CPU utilization of one instance between two cgroup readings (0..1 of its allocation). */
export function cpuUtilizationBetween(
  previous: { cpuUsageUsec: number; atMs: number },
  next: { cpuUsageUsec: number; atMs: number },
  cpuMillis: number,
): number | undefined {
  const elapsedMs = next.atMs - previous.atMs;
  const usedUsec = next.cpuUsageUsec - previous.cpuUsageUsec;
  if (elapsedMs <= 0 || usedUsec < 0 || cpuMillis <= 0) return undefined;
  // cpuMillis/1000 cores for elapsedMs gives this many microseconds of CPU at 100 %.
  const capacityUsec = (cpuMillis / 1000) * elapsedMs * 1000;
  return usedUsec / capacityUsec;
}
