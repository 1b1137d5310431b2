/**
 * Scaling settings: server defaults (Cloud Run's figures, every time shortenable for tests),
 * overridden per revision by Knative's `autoscaling.knative.dev/*` annotations, resolved into
 * the flat `ScalingSettings` that `decideScale` reads. Validation reports every violation with
 * its field path and the allowed range; nothing falls back silently.
 */
import type { FieldViolation } from '../../shared/errors.js';
import { parseDurationMs } from '../../shared/units.js';
import { KEYS } from '../service.types.js';

/** Knative keys kumo reads that the shared KEYS table does not list. */
export const EXTRA_SCALING_KEYS = {
  activationScale: 'autoscaling.knative.dev/activation-scale',
  targetBurstCapacity: 'autoscaling.knative.dev/target-burst-capacity',
  metric: 'autoscaling.knative.dev/metric',
  class: 'autoscaling.knative.dev/class',
  /** Knative keeps the last pod this long after deciding on zero; kumo reads it as the idle grace. */
  scaleToZeroRetention: 'autoscaling.knative.dev/scale-to-zero-pod-retention-period',
} as const;

const KPA_CLASS = 'kpa.autoscaling.knative.dev';
const AUTOSCALING_PREFIX = 'autoscaling.knative.dev/';
const KNOWN_KEYS: ReadonlySet<string> = new Set(
  [...Object.values(KEYS), ...Object.values(EXTRA_SCALING_KEYS)].filter((k) => k.startsWith(AUTOSCALING_PREFIX)),
);

/** Everything `decideScale` needs, in plain units. */
export interface ScalingSettings {
  /** Hard per-instance limit (0: unlimited). */
  containerConcurrency: number;
  /** Concurrency one instance can take (Knative's TotalValue): CC, the `target` annotation, or the default. */
  totalConcurrency: number;
  /** Fraction of totalConcurrency to aim at: Cloud Run 0.6. */
  targetUtilization: number;
  /** Fraction of allocated CPU to aim at (Cloud Run 0.6); 0 turns the CPU signal off. */
  cpuTargetUtilization: number;
  stableWindowMs: number;
  panicWindowMs: number;
  /** Panic when wanted/ready reaches this ratio (2.0 = 200 %). */
  panicThreshold: number;
  maxScaleUpRate: number;
  maxScaleDownRate: number;
  /** Keep an instance this long after the last request before going to zero (kumo's --idle-grace). */
  idleGraceMs: number;
  scaleDownDelayMs: number;
  initialScale: number;
  activationScale: number;
  minScale: number;
  /** 0: no per-revision limit. */
  maxScale: number;
  /** Knative's TBC, for excess burst capacity: 0 none, -1 unlimited. */
  targetBurstCapacity: number;
  /** How often the reconciler decides (Knative: 2 s); scale-down rates are per tick. */
  tickMs: number;
}

/** Server-wide defaults, from flags or config; annotations override per revision. */
export interface ServerScalingDefaults {
  targetUtilizationPercent: number;
  /** Concurrency target used when containerConcurrency is 0 (Knative: 100). */
  concurrencyTargetDefault: number;
  cpuTargetUtilizationPercent: number;
  stableWindowMs: number;
  panicWindowPercentage: number;
  panicThresholdPercentage: number;
  maxScaleUpRate: number;
  maxScaleDownRate: number;
  idleGraceMs: number;
  scaleDownDelayMs: number;
  initialScale: number;
  minScale: number;
  /** Cloud Run's default max instances (100); 0 means none. */
  maxScale: number;
  /** Highest max-scale a revision may ask for; 0 means no limit. */
  maxScaleLimit: number;
  targetBurstCapacity: number;
  tickMs: number;
}

/** Cloud Run's figures where it has one, Knative's otherwise (reference §1.4, §2.3). */
export const CLOUD_RUN_SCALING_DEFAULTS: Readonly<ServerScalingDefaults> = Object.freeze({
  targetUtilizationPercent: 60,
  concurrencyTargetDefault: 100,
  cpuTargetUtilizationPercent: 60,
  stableWindowMs: 60_000,
  panicWindowPercentage: 10,
  panicThresholdPercentage: 200,
  maxScaleUpRate: 1000,
  maxScaleDownRate: 2,
  idleGraceMs: 30_000,
  scaleDownDelayMs: 0,
  initialScale: 1,
  minScale: 0,
  maxScale: 100,
  maxScaleLimit: 0,
  targetBurstCapacity: 211,
  tickMs: 2000,
});

interface Range {
  min: number;
  max: number;
  integer?: boolean;
}

function rangeText(r: Range, unit = ''): string {
  const kind = r.integer ? 'a whole number' : 'a number';
  const hi = r.max === Infinity ? 'or more' : `to ${r.max}${unit}`;
  return `${kind} from ${r.min}${unit} ${hi}`;
}

/** Loose ranges: short windows are allowed so tests can run in seconds. */
const DEFAULT_RANGES: Record<keyof ServerScalingDefaults, Range> = {
  targetUtilizationPercent: { min: 1, max: 100 },
  concurrencyTargetDefault: { min: 0.01, max: 1000 },
  cpuTargetUtilizationPercent: { min: 0, max: 100 },
  stableWindowMs: { min: 1000, max: 3_600_000, integer: true },
  panicWindowPercentage: { min: 1, max: 100 },
  panicThresholdPercentage: { min: 110, max: 1000 },
  maxScaleUpRate: { min: 1.000001, max: Infinity },
  maxScaleDownRate: { min: 1.000001, max: Infinity },
  idleGraceMs: { min: 0, max: 86_400_000, integer: true },
  scaleDownDelayMs: { min: 0, max: 3_600_000, integer: true },
  initialScale: { min: 0, max: Infinity, integer: true },
  minScale: { min: 0, max: Infinity, integer: true },
  maxScale: { min: 0, max: Infinity, integer: true },
  maxScaleLimit: { min: 0, max: Infinity, integer: true },
  targetBurstCapacity: { min: -1, max: Infinity },
  tickMs: { min: 10, max: 60_000, integer: true },
};

function inRange(v: number, r: Range): boolean {
  return Number.isFinite(v) && v >= r.min && v <= r.max && (!r.integer || Number.isInteger(v));
}

/** Every problem with server defaults, named `scaling.<key>` (the config file's keys). */
export function validateServerScalingDefaults(d: ServerScalingDefaults): FieldViolation[] {
  const out: FieldViolation[] = [];
  for (const key of Object.keys(DEFAULT_RANGES) as (keyof ServerScalingDefaults)[]) {
    const r = DEFAULT_RANGES[key];
    const v = d[key];
    if (typeof v !== 'number' || !inRange(v, r)) {
      out.push({ field: `scaling.${key}`, description: `is ${String(v)}; must be ${rangeText(r)}` });
    }
  }
  if (d.maxScale > 0 && d.minScale > d.maxScale) {
    out.push({ field: 'scaling.minScale', description: `is ${d.minScale}; must not exceed scaling.maxScale (${d.maxScale})` });
  }
  return out;
}

/** Knative's annotation ranges (pkg/apis/autoscaling validation). */
const ANNOTATION_RANGES = {
  scale: { min: 0, max: Infinity, integer: true },
  activationScale: { min: 1, max: Infinity, integer: true },
  target: { min: 0.01, max: Infinity },
  targetUtilization: { min: 1, max: 100 },
  windowMs: { min: 6000, max: 3_600_000 },
  panicWindowPercentage: { min: 1, max: 100 },
  panicThresholdPercentage: { min: 110, max: 1000 },
  scaleDownDelayMs: { min: 0, max: 3_600_000 },
  idleGraceMs: { min: 0, max: 3_600_000 },
  targetBurstCapacity: { min: -1, max: Infinity },
} satisfies Record<string, Range>;

export interface ResolvedScaling {
  settings: ScalingSettings;
  /** Empty when every annotation was valid; settings then hold defaults where a value was rejected. */
  violations: FieldViolation[];
}

/** Just the revision fields scaling reads. */
export interface ScalingRevisionSpec {
  containerConcurrency?: number;
}

/**
 * Read a revision's scaling annotations over the server defaults. `fieldPrefix` is where the
 * annotations sit in the caller's document (a Service template by default).
 */
export function resolveScalingSettings(
  annotations: Readonly<Record<string, string>> | undefined,
  revisionSpec: ScalingRevisionSpec,
  defaults: ServerScalingDefaults,
  fieldPrefix = 'spec.template.metadata.annotations',
): ResolvedScaling {
  const ann = annotations ?? {};
  const violations: FieldViolation[] = [];
  const field = (key: string): string => `${fieldPrefix}["${key}"]`;

  const number = (key: string, r: Range): number | undefined => {
    const raw = ann[key];
    if (raw === undefined) return undefined;
    const text = raw.trim();
    const v = text === '' ? NaN : Number(text);
    if (!inRange(v, r)) {
      violations.push({ field: field(key), description: `is "${raw}"; must be ${rangeText(r)}` });
      return undefined;
    }
    return v;
  };

  const duration = (key: string, r: Range): number | undefined => {
    const raw = ann[key];
    if (raw === undefined) return undefined;
    const v = parseDurationMs(raw);
    if (v === undefined || !inRange(v, r) || v % 1000 !== 0) {
      violations.push({
        field: field(key),
        description: `is "${raw}"; must be a duration in whole seconds like "60s" or "2m", from ${r.min / 1000}s to ${r.max / 1000}s`,
      });
      return undefined;
    }
    return v;
  };

  /** minScale and min-scale are both accepted; when both are set they must agree. */
  const eitherScale = (camel: string, kebab: string): number | undefined => {
    const a = number(camel, ANNOTATION_RANGES.scale);
    const b = number(kebab, ANNOTATION_RANGES.scale);
    if (a !== undefined && b !== undefined && a !== b) {
      violations.push({ field: field(kebab), description: `is ${b} but "${camel}" says ${a}; set only one of them` });
    }
    return b ?? a;
  };

  // A misspelt key would otherwise be ignored without a word: name it and the likely intent.
  for (const key of Object.keys(ann)) {
    if (!key.startsWith(AUTOSCALING_PREFIX) || KNOWN_KEYS.has(key)) continue;
    const near = [...KNOWN_KEYS].find((k) => k.toLowerCase().replace(/-/g, '') === key.toLowerCase().replace(/-/g, ''));
    violations.push({
      field: field(key),
      description: near
        ? `is not a key kumo reads; did you mean "${near}"?`
        : `is not a key kumo reads; supported: ${[...KNOWN_KEYS].map((k) => k.slice(AUTOSCALING_PREFIX.length)).join(', ')}`,
    });
  }

  const cls = ann[EXTRA_SCALING_KEYS.class];
  if (cls !== undefined && cls !== KPA_CLASS) {
    violations.push({ field: field(EXTRA_SCALING_KEYS.class), description: `is "${cls}"; kumo supports only "${KPA_CLASS}"` });
  }
  const metric = ann[EXTRA_SCALING_KEYS.metric];
  if (metric !== undefined && metric !== 'concurrency') {
    violations.push({
      field: field(EXTRA_SCALING_KEYS.metric),
      description: `is "${metric}"; kumo scales on "concurrency" (and CPU as a second signal)`,
    });
  }

  const cc = revisionSpec.containerConcurrency ?? 0;
  if (!inRange(cc, { min: 0, max: 1000, integer: true })) {
    violations.push({
      field: 'spec.template.spec.containerConcurrency',
      description: `is ${String(cc)}; must be a whole number from 0 (unlimited) to 1000`,
    });
  }
  const containerConcurrency = inRange(cc, { min: 0, max: 1000, integer: true }) ? cc : 0;

  const minScale = eitherScale(KEYS.minScale, KEYS.minScaleKebab);
  const maxScale = eitherScale(KEYS.maxScale, KEYS.maxScaleKebab);
  const initialScale = number(KEYS.initialScale, ANNOTATION_RANGES.scale);
  const activationScale = number(EXTRA_SCALING_KEYS.activationScale, ANNOTATION_RANGES.activationScale);
  const target = number(KEYS.target, ANNOTATION_RANGES.target);
  const utilization = number(KEYS.targetUtilization, ANNOTATION_RANGES.targetUtilization);
  const windowMs = duration(KEYS.window, ANNOTATION_RANGES.windowMs);
  const panicPct = number(KEYS.panicWindowPercentage, ANNOTATION_RANGES.panicWindowPercentage);
  const panicThresholdPct = number(KEYS.panicThresholdPercentage, ANNOTATION_RANGES.panicThresholdPercentage);
  const scaleDownDelayMs = duration(KEYS.scaleDownDelay, ANNOTATION_RANGES.scaleDownDelayMs);
  const tbc = number(EXTRA_SCALING_KEYS.targetBurstCapacity, ANNOTATION_RANGES.targetBurstCapacity);
  const idleGraceMs = duration(EXTRA_SCALING_KEYS.scaleToZeroRetention, ANNOTATION_RANGES.idleGraceMs);

  let resolvedMax = maxScale ?? defaults.maxScale;
  const limit = defaults.maxScaleLimit;
  if (limit > 0 && (resolvedMax === 0 || resolvedMax > limit)) {
    if (maxScale !== undefined) {
      violations.push({
        field: field(ann[KEYS.maxScaleKebab] !== undefined ? KEYS.maxScaleKebab : KEYS.maxScale),
        description: `is ${maxScale}; this server allows at most ${limit} instances per revision (0, unlimited, is not allowed)`,
      });
    }
    resolvedMax = limit;
  }
  let resolvedMin = minScale ?? defaults.minScale;
  if (resolvedMax > 0 && resolvedMin > resolvedMax) {
    if (minScale !== undefined) {
      violations.push({
        field: field(ann[KEYS.minScaleKebab] !== undefined ? KEYS.minScaleKebab : KEYS.minScale),
        description: `is ${minScale}; must not exceed the maximum of ${resolvedMax} instances`,
      });
    }
    resolvedMin = resolvedMax;
  }

  // Knative's ResolveMetricTarget: CC (or the default when CC is 0), the target annotation
  // wins but never above CC; the aim is that times the utilization, at least 1.
  let totalConcurrency = containerConcurrency > 0 ? containerConcurrency : defaults.concurrencyTargetDefault;
  if (target !== undefined) totalConcurrency = containerConcurrency > 0 ? Math.min(target, containerConcurrency) : target;

  const stableWindowMs = windowMs ?? defaults.stableWindowMs;
  const panicPercentage = panicPct ?? defaults.panicWindowPercentage;
  const panicWindowMs = Math.max(1000, Math.round((stableWindowMs * panicPercentage) / 100 / 1000) * 1000);

  const settings: ScalingSettings = {
    containerConcurrency,
    totalConcurrency,
    targetUtilization: (utilization ?? defaults.targetUtilizationPercent) / 100,
    cpuTargetUtilization: defaults.cpuTargetUtilizationPercent / 100,
    stableWindowMs,
    panicWindowMs,
    panicThreshold: (panicThresholdPct ?? defaults.panicThresholdPercentage) / 100,
    maxScaleUpRate: defaults.maxScaleUpRate,
    maxScaleDownRate: defaults.maxScaleDownRate,
    idleGraceMs: idleGraceMs ?? defaults.idleGraceMs,
    scaleDownDelayMs: scaleDownDelayMs ?? defaults.scaleDownDelayMs,
    initialScale: initialScale ?? defaults.initialScale,
    activationScale: activationScale ?? 1,
    minScale: resolvedMin,
    maxScale: resolvedMax,
    targetBurstCapacity: tbc ?? defaults.targetBurstCapacity,
    tickMs: defaults.tickMs,
  };
  return { settings, violations };
}

/** Settings straight from server defaults, for a revision with no annotations. */
export function defaultScalingSettings(
  defaults: ServerScalingDefaults = CLOUD_RUN_SCALING_DEFAULTS,
  containerConcurrency = 0,
): ScalingSettings {
  return resolveScalingSettings(undefined, { containerConcurrency }, defaults).settings;
}
