/**
 * The foundation's scale rule: keep every busy instance, drain instances idle longer than the
 * idle grace, never go below min instances. Scale-up happens on demand in the pool. Pure.
 */
import type { PoolView, ScalePolicy, StartReason } from './revision-pool.js';

export class IdleGracePolicy implements ScalePolicy {
  constructor(private readonly idleGraceMs: number) {}

  desired(view: PoolView, nowMs: number): { count: number; reason: StartReason } {
    const live = view.readyCount + view.startingCount;
    const expired = view.idleForMs(nowMs).filter((ms) => ms >= this.idleGraceMs).length;
    const min = Math.min(view.settings.minInstances, view.settings.maxInstances);
    const count = Math.max(min, live - expired);
    return { count, reason: count > live ? 'min-instances' : 'autoscaling' };
  }
}
