import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../shared/clock.js';
import { RevisionAutoscaler, cpuUtilizationBetween } from './revision-autoscaler.js';
import { CLOUD_RUN_SCALING_DEFAULTS, defaultScalingSettings } from './settings.js';

describe('RevisionAutoscaler (dispatcher and reconciler wiring)', () => {
  it('wakes from zero on a poke, settles at ceil(200 / (10 × 0.6)) = 34, and returns to zero after the grace', () => {
    const clock = new FakeClock(5_000_000);
    const scaler = new RevisionAutoscaler(defaultScalingSettings(CLOUD_RUN_SCALING_DEFAULTS, 10), clock.now());
    // Deployment: initial scale 1 reached, then idle past the grace → zero.
    expect(scaler.decide(clock.now(), { readyInstances: 1, startingInstances: 0 }).desired).toBe(1);
    clock.advance(30_000);
    expect(scaler.decide(clock.now(), { readyInstances: 1, startingInstances: 0 }).desired).toBe(0);

    // One request at zero pokes: one instance at once.
    scaler.requestStarted(clock.now());
    expect(scaler.decide(clock.now(), { readyInstances: 0, startingInstances: 0 }).desired).toBe(1);
    // 199 more arrive in the same moment: 200 / 6 → 34, panicking.
    for (let i = 0; i < 199; i++) scaler.requestStarted(clock.now());
    expect(scaler.decide(clock.now(), { readyInstances: 0, startingInstances: 1 })).toMatchObject({ desired: 34, panicking: true });

    // Held for 60 s (closed loop: 200 always in flight), sampled each second, decided every 2 s.
    let last = 0;
    for (let s = 1; s <= 60; s++) {
      clock.advance(1000);
      scaler.observe(clock.now());
      if (s % 2 === 0) last = scaler.decide(clock.now(), { readyInstances: 34, startingInstances: 0 }).desired;
    }
    expect(last).toBe(34);

    // Load stops.
    for (let i = 0; i < 200; i++) scaler.requestEnded(clock.now());
    let ready = 34;
    let zeroAfterSec = -1;
    for (let s = 1; s <= 120 && zeroAfterSec < 0; s++) {
      clock.advance(1000);
      scaler.observe(clock.now());
      if (s % 2 === 0) {
        ready = scaler.decide(clock.now(), { readyInstances: ready, startingInstances: 0 }).desired;
        if (ready === 0) zeroAfterSec = s;
      }
    }
    // While idle the stable window drains: at s28 it holds 32 s of 200 → 106.7 / 6 → 18 instances.
    // At s30 the idle grace is over: halve each tick, 18 → 9 → 4 → 2 → 1 → 0, reaching 0 at s38.
    expect(zeroAfterSec).toBe(38);
  });

  it('computes CPU utilization from two cgroup readings', () => {
    // 0.5 vCPU for 2 s = 1 s of CPU at 100 %; 0.6 s used → 60 %.
    expect(cpuUtilizationBetween({ cpuUsageUsec: 0, atMs: 0 }, { cpuUsageUsec: 600_000, atMs: 2000 }, 500)).toBeCloseTo(0.6);
    expect(cpuUtilizationBetween({ cpuUsageUsec: 5, atMs: 10 }, { cpuUsageUsec: 1, atMs: 20 }, 1000)).toBeUndefined();
  });
});
