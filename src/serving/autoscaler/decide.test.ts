/**
 * The autoscaler against hand-computed timelines. Times are seconds from an arbitrary origin;
 * every expected number is worked out by hand in the comment above it (window averages over
 * whole seconds, target = concurrency 10 × 60 % = 6 per instance unless said otherwise).
 */
import { describe, expect, it } from 'vitest';
import { decideScale, initialScalerState, instanceStartReason } from './decide.js';
import type { ScaleDecision, ScalerState } from './decide.js';
import { CLOUD_RUN_SCALING_DEFAULTS, defaultScalingSettings } from './settings.js';
import type { ScalingSettings, ServerScalingDefaults } from './settings.js';
import { SecondWindow } from './window.js';

const ORIGIN_SEC = 1000;
const at = (sec: number): number => (ORIGIN_SEC + sec) * 1000;

/**
 * A replayable timeline: a planned load per second, fed into a real window as time reaches
 * it (like the dispatcher's 1 s sampler), and decisions at chosen seconds.
 */
class Timeline {
  readonly window: SecondWindow;
  state: ScalerState;
  private readonly plan = new Map<number, number>();
  private fedUpTo = -Infinity;
  constructor(
    readonly settings: ScalingSettings,
    startSec = 0,
  ) {
    this.window = new SecondWindow(Math.ceil(settings.stableWindowMs / 1000));
    this.state = initialScalerState(at(startSec));
  }
  load(fromSec: number, toSec: number, concurrency: number): this {
    for (let s = fromSec; s <= toSec; s++) this.plan.set(s, concurrency);
    return this;
  }
  private feed(toSec: number): void {
    const seconds = [...this.plan.keys()].filter((s) => s > this.fedUpTo && s <= toSec).sort((a, b) => a - b);
    for (const s of seconds) this.window.record(at(s), this.plan.get(s) ?? 0);
    this.fedUpTo = Math.max(this.fedUpTo, toSec);
  }
  decide(
    sec: number,
    ready: number,
    extra: { starting?: number; now?: number; cpu?: number; reachable?: boolean } = {},
  ): ScaleDecision {
    this.feed(sec);
    const { decision, state } = decideScale(
      this.settings,
      this.state,
      {
        window: this.window,
        readyInstances: ready,
        startingInstances: extra.starting ?? 0,
        concurrencyNow: extra.now ?? 0,
        ...(extra.cpu !== undefined ? { cpuUtilization: extra.cpu } : {}),
        ...(extra.reachable !== undefined ? { reachable: extra.reachable } : {}),
      },
      at(sec),
    );
    this.state = state;
    return decision;
  }
}

function settings(overrides: Partial<ServerScalingDefaults> = {}, cc = 10): ScalingSettings {
  return defaultScalingSettings({ ...CLOUD_RUN_SCALING_DEFAULTS, ...overrides }, cc);
}

describe('decideScale: Cloud Run targets (60 % of concurrency 10 = 6 per instance)', () => {
  it('holds a steady load at ceil(load / 6)', () => {
    const t = new Timeline(settings()).load(0, 59, 24);
    // stable = panic = 24 → 24 / 6 = 4 instances; 4 / 4 ready = 1 < 2, no panic.
    const d = t.decide(59, 4, { now: 24 });
    expect(d).toMatchObject({ desired: 4, panicking: false, reason: 'autoscaling', targetPerInstance: 6 });
    expect(d.stableConcurrency).toBe(24);
    // 25 in flight: 25 / 6 = 4.17 → 5.
    const t2 = new Timeline(settings()).load(0, 59, 25);
    expect(t2.decide(59, 5, { now: 25 }).desired).toBe(5);
  });

  it('a step up enters panic, scales on the panic window, never down while panicking, and exits after a full stable window', () => {
    const t = new Timeline(settings())
      .load(0, 59, 12) // 2 instances' worth
      .load(60, 94, 60) // the step: 10 instances' worth
      .load(95, 130, 30); // then half of it
    // s59: stable 12, panic 12 → 2; ready 2 → ratio 1.
    expect(t.decide(59, 2, { now: 12 })).toMatchObject({ desired: 2, panicking: false });
    // s61: stable over 2..61 = (58×12 + 2×60) / 60 = 13.6 → 3; panic over 56..61 = (4×12 + 2×60) / 6 = 28 → 5;
    // 5 / 2 ready = 2.5 ≥ 2 → panic; want max(3, 5) = 5.
    expect(t.decide(61, 2, { now: 60 })).toMatchObject({ desired: 5, panicking: true, reason: 'panic' });
    // s63, 5 ready: panic over 58..63 = (2×12 + 4×60) / 6 = 44 → 8 (ratio 1.6, no new crossing); stable 15.2 → 3.
    expect(t.decide(63, 5, { now: 60 })).toMatchObject({ desired: 8, panicking: true });
    // s65, 8 ready: panic = 60 → 10; stable (54×12 + 6×60) / 60 = 16.8 → 3.
    expect(t.decide(65, 8, { now: 60 })).toMatchObject({ desired: 10, panicking: true });
    // s100, 10 ready: load fell to 30 at s95. panic 30 → 5; stable (19×12 + 35×60 + 6×30) / 60 = 41.8 → 7.
    // Still panicking (last crossing s61, 39 s ago): hold 10, never scale down.
    expect(t.decide(100, 10, { now: 30 })).toMatchObject({ desired: 10, panicking: true, reason: 'panic' });
    // s121: exactly 60 s since the crossing, not yet more than a stable window → still 10.
    expect(t.decide(121, 10, { now: 30 })).toMatchObject({ desired: 10, panicking: true });
    // s123: 62 s > 60 s → panic over. stable over 64..123 = (31×60 + 29×30) / 60 = 45.5 → 7.58 → 8;
    // floor(10 / 2) = 5 ≤ 8, so 8.
    expect(t.decide(123, 10, { now: 30 })).toMatchObject({ desired: 8, panicking: false, reason: 'autoscaling' });
  });

  it('a drop to zero keeps instances for the idle grace (30 s), then halves down to zero', () => {
    const t = new Timeline(settings()).load(0, 59, 30).load(60, 100, 0);
    // s61: stable over 2..61 = 58×30 / 60 = 29 → 4.83 → 5.
    expect(t.decide(61, 5)).toMatchObject({ desired: 5, reason: 'autoscaling' });
    // s88: idle 29 s (last load in s59); stable over 29..88 = 31×30 / 60 = 15.5 → 2.58 → 3; floor(5/2) = 2 ≤ 3.
    expect(t.decide(88, 5)).toMatchObject({ desired: 3, idleMs: 29_000, reason: 'autoscaling' });
    // s89, 3 ready: KPA alone would keep 3 (30×30 / 60 = 15 → 2.5 → 3), but idle 30 s = grace,
    // so go toward zero at the scale-down rate: floor(3 / 2) = 1.
    expect(t.decide(89, 3)).toMatchObject({ desired: 1, reason: 'scale-to-zero' });
    // s91 with 1 ready: floor(1 / 2) = 0.
    expect(t.decide(91, 1)).toMatchObject({ desired: 0, reason: 'scale-to-zero' });
  });

  it('with a stable window shorter than the grace, holds one instance until the grace ends', () => {
    const t = new Timeline(settings({ stableWindowMs: 6000 })).load(0, 20, 6).load(21, 60, 0);
    // s30: stable over 25..30 = 0 → KPA wants 0, but idle is only 10 s → keep 1.
    expect(t.decide(30, 1)).toMatchObject({ desired: 1, reason: 'idle-grace' });
    // s49: idle 29 s → still 1.  s50: idle 30 s → 0.
    expect(t.decide(49, 1).desired).toBe(1);
    expect(t.decide(50, 1)).toMatchObject({ desired: 0, reason: 'scale-to-zero' });
  });

  it('scales from zero at once on a poke, and a burst at zero enters panic', () => {
    const t = new Timeline(settings());
    // A request waiting at zero with an empty window: at least one instance.
    expect(t.decide(0, 0, { now: 1 })).toMatchObject({ desired: 1, panicking: false });
    // 200 queued at zero, recorded in this second: 200 / 6 = 33.3 → 34; 34 / max(1, 0 ready) ≥ 2 → panic.
    const b = new Timeline(settings()).load(5, 5, 200);
    expect(b.decide(5, 0, { now: 200 })).toMatchObject({ desired: 34, panicking: true });
    // Two seconds later, 34 starting, none ready yet: still 34 (never down while panicking).
    b.load(6, 7, 200);
    expect(b.decide(7, 0, { now: 200, starting: 34 })).toMatchObject({ desired: 34, panicking: true });
  });

  it('keeps min instances when idle and caps at max instances', () => {
    const min = new Timeline(settings({ minScale: 2 })).load(0, 10, 0);
    // No load ever, idle 40 s > grace: KPA 0, min instances 2.
    expect(min.decide(40, 2)).toMatchObject({ desired: 2, reason: 'min-instances' });
    // An unreachable revision (no traffic routed) ignores min instances and drops at once.
    expect(min.decide(42, 2, { reachable: false })).toMatchObject({ desired: 0 });

    const max = new Timeline(settings({ maxScale: 5 })).load(0, 59, 120);
    // 120 / 6 = 20 wanted, max instances 5.
    expect(max.decide(59, 5, { now: 120 })).toMatchObject({ desired: 5, reason: 'max-instances' });
  });

  it('scales down at most 2x per tick and up at most maxScaleUpRate x', () => {
    const t = new Timeline(settings()).load(0, 59, 240).load(60, 200, 6);
    // s59: 240 / 6 = 40 with 40 ready.
    expect(t.decide(59, 40, { now: 240 }).desired).toBe(40);
    // s119: stable over 60..119 = 6 → 1, but at most halve per tick: floor(40/2) = 20, then 10, 5, 2, 1.
    expect(t.decide(119, 40, { now: 6 }).desired).toBe(20);
    expect(t.decide(121, 20, { now: 6 }).desired).toBe(10);
    expect(t.decide(123, 10, { now: 6 }).desired).toBe(5);
    expect(t.decide(125, 5, { now: 6 }).desired).toBe(2);
    expect(t.decide(127, 2, { now: 6 }).desired).toBe(1);

    const up = new Timeline(settings({ maxScaleUpRate: 2 })).load(0, 5, 60);
    // 60 / 6 = 10 wanted; from 1 ready at most ceil(2 × 1) = 2, then 4, then 8, then 10.
    expect(up.decide(5, 1, { now: 60 }).desired).toBe(2);
    expect(up.decide(7, 2, { now: 60 }).desired).toBe(4);
    expect(up.decide(9, 4, { now: 60 }).desired).toBe(8);
    expect(up.decide(11, 8, { now: 60 }).desired).toBe(10);
  });

  it('scale-down delay keeps the highest count wanted within the delay', () => {
    // stable window 6 s → panic window 1 s; delay 10 s.
    const t = new Timeline(settings({ stableWindowMs: 6000, scaleDownDelayMs: 10_000 }))
      .load(0, 59, 24)
      .load(60, 80, 6);
    // s59: 24 / 6 = 4.
    expect(t.decide(59, 4, { now: 24 }).desired).toBe(4);
    // s61: stable over 56..61 = (4×24 + 2×6) / 6 = 18 → 3; delay holds 4 (wanted at s59).
    expect(t.decide(61, 4, { now: 6 })).toMatchObject({ desired: 4, reason: 'scale-down-delay' });
    // s63: (2×24 + 4×6) / 6 = 12 → 2; still 4 from s59.
    expect(t.decide(63, 4, { now: 6 }).desired).toBe(4);
    // s69: 6 → 1, floor(4/2) = 2; s59 has left the 10 s delay, s61 wanted 3 → 3.
    expect(t.decide(69, 4, { now: 6 })).toMatchObject({ desired: 3, reason: 'scale-down-delay' });
    // s71: s61 has left; s63 wanted 2, now wants 2 → 2.
    expect(t.decide(71, 4, { now: 6 })).toMatchObject({ desired: 2, reason: 'autoscaling' });
  });

  it('uses CPU utilization as a second signal aiming at 60 %', () => {
    // concurrency 80 → target 48; 10 in flight wants 1 instance by concurrency.
    const t = new Timeline(settings({}, 80)).load(0, 59, 10);
    // 2 ready at 90 % CPU: 2 × 0.9 / 0.6 = 3 instances.
    expect(t.decide(59, 2, { now: 10, cpu: 0.9 })).toMatchObject({ desired: 3, reason: 'cpu' });
    // 2 ready at 30 %: 2 × 0.3 / 0.6 = 1; halving floor(2/2) = 1 → 1.
    expect(t.decide(61, 2, { now: 10, cpu: 0.3 })).toMatchObject({ desired: 1, reason: 'autoscaling' });
    // CPU off (0 % target): 90 % does not matter.
    const off = new Timeline(settings({ cpuTargetUtilizationPercent: 0 }, 80)).load(0, 59, 10);
    expect(off.decide(59, 2, { now: 10, cpu: 0.9 }).desired).toBe(1);
  });

  it('applies initial scale until reached, and activation scale when waking', () => {
    const t = new Timeline(settings({ initialScale: 3 }));
    expect(t.decide(0, 0)).toMatchObject({ desired: 3, reason: 'initial-scale' });
    // s2: 3 ready, so initial scale is reached; from now on ordinary rules: no load wants 0,
    // halving allows floor(3/2) = 1, and the idle grace (since creation at s0) keeps that one.
    expect(t.decide(2, 3)).toMatchObject({ desired: 1, reason: 'autoscaling' });
    expect(t.decide(29, 1)).toMatchObject({ desired: 1, reason: 'idle-grace' });
    // s30: 30 s since creation without a request → zero; initial scale never applies again.
    expect(t.decide(30, 1)).toMatchObject({ desired: 0, reason: 'scale-to-zero' });
    expect(t.decide(32, 0).desired).toBe(0);

    const act = new Timeline({ ...settings(), activationScale: 4 }).load(0, 0, 1);
    // One request at zero wants 1, raised to the activation scale 4.
    expect(act.decide(0, 0, { now: 1 })).toMatchObject({ desired: 4, reason: 'activation-scale' });
  });

  it('reports excess burst capacity as Knative computes it', () => {
    const t = new Timeline({ ...settings(), targetBurstCapacity: 20 }).load(0, 59, 12);
    // floor(ready 4 × total 10 − TBC 20 − panic 12) = 8.
    expect(t.decide(59, 4, { now: 12 }).excessBurstCapacity).toBe(8);
    const unlimited = new Timeline({ ...settings(), targetBurstCapacity: -1 }).load(0, 59, 12);
    expect(unlimited.decide(59, 4).excessBurstCapacity).toBe(-1);
  });

  it('a decider adopting running instances starts in panic and holds them', () => {
    const s = settings();
    const window = new SecondWindow(60);
    const state = initialScalerState(at(0), 5);
    const { decision } = decideScale(s, state, { window, readyInstances: 5, startingInstances: 0, concurrencyNow: 0 }, at(2));
    expect(decision).toMatchObject({ desired: 5, panicking: true });
  });

  it('maps reasons to Cloud Run instance start reasons', () => {
    expect(instanceStartReason('min-instances')).toBe('MANUAL_OR_CUSTOMER_MIN_INSTANCE');
    expect(instanceStartReason('initial-scale')).toBe('DEPLOYMENT');
    expect(instanceStartReason('panic')).toBe('AUTOSCALING');
  });
});
