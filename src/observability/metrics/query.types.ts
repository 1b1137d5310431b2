/** What a metrics query asks and answers: the wire shape of `/api/services/NAME/metrics` (no I/O here). */
import type { MetricKind, MetricName } from './catalog.js';

export interface MetricQuery {
  /** Omit only for host metrics (`kumo/host/…`). */
  service?: string;
  revision?: string;
  metric: string;
  sinceMs: number;
  untilMs: number;
  /** Width of each returned point; rounded up to the stored resolution. Default: about 120 points. */
  stepMs?: number;
  /** One series per revision instead of the service's sum. */
  groupByRevision?: boolean;
}

export interface MetricValue {
  startMs: number;
  endMs: number;
  /** Counters: the increase in the step, and per second. */
  value?: number;
  rate?: number;
  /** Gauges and distributions. */
  mean?: number;
  max?: number;
  /** Distributions. */
  count?: number;
  p50?: number;
  p95?: number;
  p99?: number;
}

export interface MetricSeries {
  labels: Record<string, string>;
  points: MetricValue[];
}

export interface MetricQueryResult {
  metric: MetricName;
  kind: MetricKind;
  unit: string;
  stepMs: number;
  /** The stored resolution the answer came from. */
  resolutionMs: number;
  series: MetricSeries[];
}
