import { describe, expect, it } from 'vitest';
import {
  CLOUD_RUN_SCALING_DEFAULTS,
  resolveScalingSettings,
  validateServerScalingDefaults,
} from './settings.js';

const D = CLOUD_RUN_SCALING_DEFAULTS;
const A = 'spec.template.metadata.annotations';

describe('resolveScalingSettings', () => {
  it("gives Cloud Run's defaults with no annotations", () => {
    const { settings, violations } = resolveScalingSettings(undefined, { containerConcurrency: 80 }, D);
    expect(violations).toEqual([]);
    expect(settings).toMatchObject({
      containerConcurrency: 80,
      totalConcurrency: 80,
      targetUtilization: 0.6,
      cpuTargetUtilization: 0.6,
      stableWindowMs: 60_000,
      panicWindowMs: 6000,
      panicThreshold: 2,
      maxScaleUpRate: 1000,
      maxScaleDownRate: 2,
      idleGraceMs: 30_000,
      scaleDownDelayMs: 0,
      initialScale: 1,
      minScale: 0,
      maxScale: 100,
    });
    // Concurrency 0 (unlimited) aims at Knative's default of 100.
    expect(resolveScalingSettings({}, { containerConcurrency: 0 }, D).settings.totalConcurrency).toBe(100);
  });

  it('reads every Knative annotation, camelCase and kebab-case', () => {
    const { settings, violations } = resolveScalingSettings(
      {
        'autoscaling.knative.dev/min-scale': '2',
        'autoscaling.knative.dev/maxScale': '20',
        'autoscaling.knative.dev/initial-scale': '3',
        'autoscaling.knative.dev/activation-scale': '2',
        'autoscaling.knative.dev/target': '50',
        'autoscaling.knative.dev/target-utilization-percentage': '80',
        'autoscaling.knative.dev/window': '2m',
        'autoscaling.knative.dev/panic-window-percentage': '25',
        'autoscaling.knative.dev/panic-threshold-percentage': '300',
        'autoscaling.knative.dev/scale-down-delay': '15s',
        'autoscaling.knative.dev/target-burst-capacity': '-1',
        'autoscaling.knative.dev/scale-to-zero-pod-retention-period': '5m',
        'autoscaling.knative.dev/class': 'kpa.autoscaling.knative.dev',
        'autoscaling.knative.dev/metric': 'concurrency',
      },
      { containerConcurrency: 30 },
      D,
    );
    expect(violations).toEqual([]);
    expect(settings).toMatchObject({
      minScale: 2,
      maxScale: 20,
      initialScale: 3,
      activationScale: 2,
      totalConcurrency: 30, // target 50 is capped at containerConcurrency 30
      targetUtilization: 0.8,
      stableWindowMs: 120_000,
      panicWindowMs: 30_000, // 25 % of 120 s
      panicThreshold: 3,
      scaleDownDelayMs: 15_000,
      targetBurstCapacity: -1,
      idleGraceMs: 300_000,
    });
    const camel = resolveScalingSettings({ 'autoscaling.knative.dev/minScale': '4' }, {}, D);
    expect(camel.settings.minScale).toBe(4);
    // target below CC wins.
    expect(resolveScalingSettings({ 'autoscaling.knative.dev/target': '5' }, { containerConcurrency: 30 }, D).settings.totalConcurrency).toBe(5);
  });

  it('reports every violation with its field path and allowed range', () => {
    const { violations, settings } = resolveScalingSettings(
      {
        'autoscaling.knative.dev/minScale': '-1',
        'autoscaling.knative.dev/max-scale': 'lots',
        'autoscaling.knative.dev/target-utilization-percentage': '150',
        'autoscaling.knative.dev/window': '3s',
        'autoscaling.knative.dev/panic-threshold-percentage': '100',
        'autoscaling.knative.dev/scale-down-delay': '1500ms',
        'autoscaling.knative.dev/initial-scale': '1.5',
        'autoscaling.knative.dev/class': 'hpa.autoscaling.knative.dev',
        'autoscaling.knative.dev/metric': 'rps',
      },
      { containerConcurrency: 5000 },
      D,
    );
    const fields = violations.map((v) => v.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        `${A}["autoscaling.knative.dev/minScale"]`,
        `${A}["autoscaling.knative.dev/max-scale"]`,
        `${A}["autoscaling.knative.dev/target-utilization-percentage"]`,
        `${A}["autoscaling.knative.dev/window"]`,
        `${A}["autoscaling.knative.dev/panic-threshold-percentage"]`,
        `${A}["autoscaling.knative.dev/scale-down-delay"]`,
        `${A}["autoscaling.knative.dev/initial-scale"]`,
        `${A}["autoscaling.knative.dev/class"]`,
        `${A}["autoscaling.knative.dev/metric"]`,
        'spec.template.spec.containerConcurrency',
      ]),
    );
    expect(violations).toHaveLength(10);
    const util = violations.find((v) => v.field.includes('target-utilization'));
    expect(util?.description).toBe('is "150"; must be a number from 1 to 100');
    const win = violations.find((v) => v.field.includes('window'));
    expect(win?.description).toContain('from 6s to 3600s');
    // Rejected values fall back to defaults so the caller can still show something; it must not store them.
    expect(settings.stableWindowMs).toBe(60_000);
  });

  it('names misspelt or unsupported autoscaling keys instead of ignoring them', () => {
    const r = resolveScalingSettings(
      { 'autoscaling.knative.dev/minscale': '1', 'autoscaling.knative.dev/metric-aggregation-algorithm': 'weighted' },
      {},
      D,
    );
    expect(r.violations.map((v) => v.description)).toEqual([
      'is not a key kumo reads; did you mean "autoscaling.knative.dev/minScale"?',
      expect.stringContaining('is not a key kumo reads; supported: minScale, maxScale, min-scale'),
    ]);
    // Other prefixes are not ours to judge.
    expect(resolveScalingSettings({ 'example.com/anything': 'x' }, {}, D).violations).toEqual([]);
  });

  it('checks min against max and both spellings against each other', () => {
    const r = resolveScalingSettings(
      {
        'autoscaling.knative.dev/minScale': '3',
        'autoscaling.knative.dev/min-scale': '4',
        'autoscaling.knative.dev/maxScale': '2',
      },
      {},
      D,
    );
    expect(r.violations.map((v) => v.description)).toEqual([
      'is 4 but "autoscaling.knative.dev/minScale" says 3; set only one of them',
      'is 4; must not exceed the maximum of 2 instances',
    ]);
  });

  it('enforces the server max-scale limit', () => {
    const limited = { ...D, maxScaleLimit: 10 };
    const r = resolveScalingSettings({ 'autoscaling.knative.dev/maxScale': '0' }, {}, limited);
    expect(r.violations[0]?.description).toContain('at most 10 instances');
    expect(resolveScalingSettings({}, {}, limited).settings.maxScale).toBe(10);
  });

  it('lets server defaults be shortened for tests but not set to nonsense', () => {
    expect(validateServerScalingDefaults({ ...D, stableWindowMs: 6000, idleGraceMs: 1000, tickMs: 100 })).toEqual([]);
    const bad = validateServerScalingDefaults({ ...D, stableWindowMs: 10, maxScaleDownRate: 1, minScale: 5, maxScale: 2 });
    expect(bad.map((v) => v.field)).toEqual(['scaling.stableWindowMs', 'scaling.maxScaleDownRate', 'scaling.minScale']);
    // A short stable window still gets a panic window of at least one second.
    const short = resolveScalingSettings({}, {}, { ...D, stableWindowMs: 3000 }).settings;
    expect(short.panicWindowMs).toBe(1000);
  });
});
