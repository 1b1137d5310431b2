/**
 * The scale policy of a revision: Knative's KPA with Cloud Run's targets (src/serving/autoscaler),
 * fed with every request's arrival and departure, sampled once a second, asked on every decision
 * tick and when a request finds no free slot.
 */
import { RevisionAutoscaler } from '../autoscaler/index.js';
import type { ScaleDecision, ScalingSettings } from '../autoscaler/index.js';
import type { PoolView, ScalePolicy, StartReason } from './revision-pool.js';

export class KpaPolicy implements ScalePolicy {
  private readonly autoscaler: RevisionAutoscaler;

  constructor(settings: ScalingSettings, nowMs: number) {
    this.autoscaler = new RevisionAutoscaler(settings, nowMs);
    this.autoscaler.observe(nowMs);
  }

  get lastDecision(): ScaleDecision | undefined {
    return this.autoscaler.lastDecision;
  }

  targetPerInstance(): number {
    const s = this.autoscaler.settings;
    return Math.max(1, s.totalConcurrency * s.targetUtilization);
  }

  concurrencyNow(): number {
    return this.autoscaler.inFlight;
  }

  requestArrived(nowMs: number): void {
    this.autoscaler.requestStarted(nowMs);
  }

  requestDone(nowMs: number): void {
    this.autoscaler.requestEnded(nowMs);
  }

  observe(nowMs: number): void {
    this.autoscaler.observe(nowMs);
  }

  desired(view: PoolView, nowMs: number): { count: number; reason: StartReason } {
    if (view.readyCount + view.startingCount === 0 && view.inFlight + view.queued > 0) this.autoscaler.wokenFromZero(nowMs);
    const cpu = view.cpuUtilization();
    const d = this.autoscaler.decide(nowMs, {
      readyInstances: view.readyCount,
      startingInstances: view.startingCount,
      ...(cpu !== undefined ? { cpuUtilization: cpu } : {}),
    });
    return { count: d.desired, reason: d.reason === 'min-instances' ? 'min-instances' : 'autoscaling' };
  }
}
