/**
 * Knative's KPA decision as a pure function: (settings, state, observation, now) → (decision,
 * next state). No clock, no I/O; the reconciler calls it every tick (2 s) and whenever a request
 * arrives at zero. The formula follows knative/serving `pkg/autoscaler/scaling/autoscaler.go`
 * (reference cloudrun_knative.md §2.3) with kumo's additions: a CPU signal (Cloud Run aims at
 * 60 % CPU), an idle grace before scale to zero, and the bounds the KPA reconciler applies.
 */
import type { ScalingSettings } from './settings.js';
import type { ConcurrencyWindow } from './window.js';

/** What the decider remembers between ticks. Plain data: it can be logged or persisted. */
export interface ScalerState {
  /** Last time the panic threshold was crossed; undefined when not panicking. */
  readonly panicSinceMs: number | undefined;
  /** The most instances asked for during this panic; panic never asks for fewer. */
  readonly maxPanicInstances: number;
  /** Last time any request was in flight or queued (creation time before the first one). */
  readonly lastActiveMs: number;
  /** Initial scale applies until the revision has once had that many ready instances. */
  readonly initialScaleReached: boolean;
  /** Recent wanted counts for scale-down delay, times ascending, values descending. */
  readonly delayWindow: readonly { readonly atMs: number; readonly desired: number }[];
}

export interface ScaleInput {
  /** Observed total concurrency (in flight + queued) for the revision, one bucket a second. */
  window: ConcurrencyWindow;
  readyInstances: number;
  startingInstances: number;
  /** In flight + queued at this moment (a request waiting at zero makes this > 0). */
  concurrencyNow: number;
  /** Mean CPU used / CPU allocated across ready instances over the stable window (0..1). */
  cpuUtilization?: number;
  /** False when no traffic target routes to the revision: it may drop at once, min instances do not apply. */
  reachable?: boolean;
}

/** Why the wanted count is what it is; instance start logs map it to Cloud Run's reasons. */
export type ScaleReason =
  | 'autoscaling'
  | 'panic'
  | 'cpu'
  | 'activation-scale'
  | 'initial-scale'
  | 'min-instances'
  | 'max-instances'
  | 'scale-down-delay'
  | 'idle-grace'
  | 'scale-to-zero';

export interface ScaleDecision {
  /** Instances wanted, within min and max instances. */
  desired: number;
  panicking: boolean;
  reason: ScaleReason;
  stableConcurrency: number;
  panicConcurrency: number;
  /** Concurrency per instance aimed at (TotalValue × utilization, at least 1). */
  targetPerInstance: number;
  /** Knative's EBC: spare capacity beyond the burst allowance; negative means short. -1 with unlimited TBC. */
  excessBurstCapacity: number;
  /** Milliseconds since the last request (0 while one is in flight). */
  idleMs: number;
}

export function initialScalerState(nowMs: number, readyInstances = 0): ScalerState {
  // Like Knative, a decider created over more than one ready instance (a server restart) starts
  // panicking so it holds the current count until it has seen a window of data.
  const adopting = readyInstances > 1;
  return {
    panicSinceMs: adopting ? nowMs : undefined,
    maxPanicInstances: adopting ? readyInstances : 0,
    lastActiveMs: nowMs,
    initialScaleReached: false,
    delayWindow: [],
  };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}

/** Scale-down delay: the largest wanted count within the delay (ascending-minima deque). */
function delayed(
  window: ScalerState['delayWindow'],
  nowMs: number,
  delayMs: number,
  desired: number,
): { window: ScalerState['delayWindow']; max: number } {
  const kept = window.filter((e) => e.atMs > nowMs - delayMs);
  while (kept.length > 0 && (kept[kept.length - 1]?.desired ?? Infinity) <= desired) kept.pop();
  kept.push({ atMs: nowMs, desired });
  return { window: kept, max: kept[0]?.desired ?? desired };
}

export function decideScale(
  settings: ScalingSettings,
  state: ScalerState,
  input: ScaleInput,
  nowMs: number,
): { decision: ScaleDecision; state: ScalerState } {
  const ready = Math.max(0, input.readyInstances);
  const readyForMath = Math.max(1, ready);
  const reachable = input.reachable ?? true;

  const lastActiveMs = Math.max(
    state.lastActiveMs,
    input.window.lastActiveMs ?? -Infinity,
    input.concurrencyNow > 0 ? nowMs : -Infinity,
  );
  const idleMs = input.concurrencyNow > 0 ? 0 : Math.max(0, nowMs - lastActiveMs);

  const stable = input.window.average(nowMs, settings.stableWindowMs);
  const panic = input.window.average(nowMs, settings.panicWindowMs);
  const target = Math.max(1, settings.totalConcurrency * settings.targetUtilization);

  const dspc = Math.ceil(stable / target);
  const dppc = Math.ceil(panic / target);
  const cpuWant =
    settings.cpuTargetUtilization > 0 && input.cpuUtilization !== undefined && ready > 0
      ? Math.ceil((ready * input.cpuUtilization) / settings.cpuTargetUtilization - 1e-9)
      : 0;
  const stableWant = Math.max(dspc, cpuWant);

  const maxUp = Math.ceil(settings.maxScaleUpRate * readyForMath);
  const maxDown = reachable ? Math.floor(readyForMath / settings.maxScaleDownRate) : 0;
  let desiredStable = clamp(stableWant, maxDown, maxUp);
  let desiredPanic = clamp(dppc, maxDown, maxUp);
  let reason: ScaleReason = cpuWant > dspc && desiredStable === clamp(cpuWant, maxDown, maxUp) ? 'cpu' : 'autoscaling';

  if (settings.activationScale > 1) {
    if (stableWant > 0 && desiredStable < settings.activationScale) {
      desiredStable = settings.activationScale;
      reason = 'activation-scale';
    }
    if (dppc > 0 && desiredPanic < settings.activationScale) desiredPanic = settings.activationScale;
  }

  // Panic: entered (and extended) whenever the panic-window want reaches the threshold over
  // ready capacity; left only after a full stable window without crossing it.
  const overThreshold = dppc / readyForMath >= settings.panicThreshold;
  let panicSinceMs = state.panicSinceMs;
  let maxPanicInstances = state.maxPanicInstances;
  if (overThreshold) {
    panicSinceMs = nowMs;
  } else if (panicSinceMs !== undefined && nowMs - panicSinceMs > settings.stableWindowMs) {
    panicSinceMs = undefined;
    maxPanicInstances = 0;
  }
  const panicking = panicSinceMs !== undefined;

  let desired = desiredStable;
  if (panicking) {
    desired = Math.max(desiredStable, desiredPanic);
    if (desired > maxPanicInstances) maxPanicInstances = desired; // never down while panicking
    if (maxPanicInstances > desired || desiredPanic > desiredStable) reason = 'panic';
    desired = maxPanicInstances;
  }

  // Scale to zero only once nothing has been in flight for the idle grace; until then an
  // instance that exists is kept. After the grace, shrink at the scale-down rate to zero.
  // A request waiting right now always wants an instance, whatever the window says.
  const hasInstances = ready + Math.max(0, input.startingInstances) > 0;
  if (input.concurrencyNow > 0) {
    if (desired === 0) desired = 1;
  } else if (!panicking && idleMs >= settings.idleGraceMs) {
    if (desired > maxDown || (desired === 0 && hasInstances)) reason = 'scale-to-zero';
    if (desired > maxDown) desired = maxDown;
  } else if (desired === 0 && hasInstances) {
    desired = 1;
    reason = 'idle-grace';
  }

  let delayWindow = state.delayWindow;
  if (settings.scaleDownDelayMs > 0) {
    const d = delayed(state.delayWindow, nowMs, settings.scaleDownDelayMs, desired);
    delayWindow = d.window;
    if (d.max > desired) {
      desired = d.max;
      reason = 'scale-down-delay';
    }
  }

  const initialScaleReached = state.initialScaleReached || ready >= settings.initialScale;
  if (!initialScaleReached && desired < settings.initialScale) {
    desired = settings.initialScale;
    reason = 'initial-scale';
  }
  const minScale = reachable ? settings.minScale : 0;
  if (desired < minScale) {
    desired = minScale;
    reason = 'min-instances';
  }
  if (settings.maxScale > 0 && desired > settings.maxScale) {
    desired = settings.maxScale;
    reason = 'max-instances';
  }

  let excessBurstCapacity = -1;
  if (settings.targetBurstCapacity === 0) excessBurstCapacity = 0;
  else if (settings.targetBurstCapacity > 0) {
    excessBurstCapacity = Math.floor(ready * settings.totalConcurrency - settings.targetBurstCapacity - panic);
  }

  return {
    decision: {
      desired,
      panicking,
      reason,
      stableConcurrency: stable,
      panicConcurrency: panic,
      targetPerInstance: target,
      excessBurstCapacity,
      idleMs,
    },
    state: { panicSinceMs, maxPanicInstances, lastActiveMs, initialScaleReached, delayWindow },
  };
}

/** Cloud Run's instance start reasons, as written to the system log. */
export type InstanceStartReason = 'DEPLOYMENT' | 'AUTOSCALING' | 'MANUAL_OR_CUSTOMER_MIN_INSTANCE';

export function instanceStartReason(reason: ScaleReason): InstanceStartReason {
  if (reason === 'min-instances') return 'MANUAL_OR_CUSTOMER_MIN_INSTANCE';
  if (reason === 'initial-scale') return 'DEPLOYMENT';
  return 'AUTOSCALING';
}
