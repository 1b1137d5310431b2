/**
 * Metric time series in SQLite with two resolutions: 10 s points kept for an hour and 5 min
 * points kept for 30 days (both settable). Every roll of the recorder is written in one
 * transaction into both tables; points merge on conflict (counts and sums add, max takes the
 * larger, histogram buckets add), so the 5 min rollup builds up as the 10 s points arrive and
 * a restart loses nothing already written. Queries pick the finest table that still covers
 * the range and regroup its rows into the asked step.
 */
import type { Clock } from '../../shared/clock.js';
import { invalidArgument } from '../../shared/errors.js';
import type { FieldViolation } from '../../shared/errors.js';
import type { Database, Migration } from '../../store/database.js';
import { migrate } from '../../store/database.js';
import { METRIC_NAMES, isMetricName, metricDef } from './catalog.js';
import type { MetricKind, MetricName } from './catalog.js';
import type { MetricQuery, MetricQueryResult, MetricSeries, MetricValue } from './query.types.js';

export type { MetricQuery, MetricQueryResult, MetricSeries, MetricValue } from './query.types.js';
import { LATENCY_BUCKETS, decodeCounts, encodeCounts, mergeCounts, quantile } from './histogram.js';
import type { MetricPoint } from './recorder.js';

export interface MetricsRetention {
  fineStepMs: number;
  fineKeepMs: number;
  coarseStepMs: number;
  coarseKeepMs: number;
}

export const DEFAULT_METRICS_RETENTION: Readonly<MetricsRetention> = Object.freeze({
  fineStepMs: 10_000,
  fineKeepMs: 3_600_000,
  coarseStepMs: 300_000,
  coarseKeepMs: 30 * 86_400_000,
});

const TABLE_SQL = (name: string): string => `CREATE TABLE ${name} (
    service TEXT NOT NULL,
    metric TEXT NOT NULL,
    revision TEXT NOT NULL,
    label TEXT NOT NULL,
    t_ms INTEGER NOT NULL,
    count REAL NOT NULL,
    sum REAL NOT NULL,
    max REAL NOT NULL,
    buckets TEXT,
    PRIMARY KEY (service, metric, revision, label, t_ms)
  ) WITHOUT ROWID;
  CREATE INDEX ${name}_time ON ${name} (t_ms);`;

export const METRICS_MIGRATIONS: readonly Migration[] = [
  { id: 'metrics-001-points', sql: `${TABLE_SQL('metrics_fine')}\n${TABLE_SQL('metrics_coarse')}` },
];

const MAX_POINTS = 2000;
const PRUNE_EVERY_MS = 60_000;

interface Row {
  t: number;
  revision: string;
  label: string;
  count: number;
  sum: number;
  max: number;
  buckets: string | null;
}

interface Acc {
  count: number;
  sum: number;
  max: number;
  buckets: number[] | undefined;
}

export class MetricsStore {
  private readonly insertFine;
  private readonly insertCoarse;
  private lastPruneMs = -Infinity;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    readonly retention: MetricsRetention = DEFAULT_METRICS_RETENTION,
  ) {
    migrate(db, METRICS_MIGRATIONS);
    db.function('kumo_merge_counts', { deterministic: true }, (a: unknown, b: unknown) => {
      if (typeof a !== 'string' || a === '') return typeof b === 'string' ? b : null;
      if (typeof b !== 'string' || b === '') return a;
      const merged = decodeCounts(a, LATENCY_BUCKETS);
      mergeCounts(merged, decodeCounts(b, LATENCY_BUCKETS));
      return encodeCounts(merged);
    });
    const upsert = (table: string): ReturnType<Database['prepare']> =>
      db.prepare(
        `INSERT INTO ${table} (service, metric, revision, label, t_ms, count, sum, max, buckets)
         VALUES (@service, @metric, @revision, @label, @t, @count, @sum, @max, @buckets)
         ON CONFLICT (service, metric, revision, label, t_ms) DO UPDATE SET
           count = count + excluded.count,
           sum = sum + excluded.sum,
           max = max(max, excluded.max),
           buckets = kumo_merge_counts(buckets, excluded.buckets)`,
      );
    this.insertFine = upsert('metrics_fine');
    this.insertCoarse = upsert('metrics_coarse');
  }

  /** Write one roll of points (one transaction); prunes old points about once a minute. */
  write(points: readonly MetricPoint[]): void {
    const { fineStepMs, coarseStepMs } = this.retention;
    if (points.length > 0) {
      this.db.transaction((batch: readonly MetricPoint[]) => {
        for (const p of batch) {
          const row = {
            service: p.service,
            metric: p.metric,
            revision: p.revision,
            label: p.label,
            count: p.count,
            sum: p.sum,
            max: p.max,
            buckets: p.buckets ?? null,
          };
          this.insertFine.run({ ...row, t: Math.floor(p.tMs / fineStepMs) * fineStepMs });
          this.insertCoarse.run({ ...row, t: Math.floor(p.tMs / coarseStepMs) * coarseStepMs });
        }
      })(points);
    }
    const now = this.clock.now();
    if (now - this.lastPruneMs >= PRUNE_EVERY_MS) this.prune(now);
  }

  prune(nowMs: number): void {
    this.lastPruneMs = nowMs;
    this.db.prepare('DELETE FROM metrics_fine WHERE t_ms < ?').run(nowMs - this.retention.fineKeepMs);
    this.db.prepare('DELETE FROM metrics_coarse WHERE t_ms < ?').run(nowMs - this.retention.coarseKeepMs);
  }

  /**
   * One counter summed per service and step, for every service at once (the services list's
   * sparklines and request rates): one scan of the fine table instead of a query per service.
   */
  serviceTotals(metric: MetricName, sinceMs: number, untilMs: number, stepMs: number): ServiceTotals {
    const def = metricDef(metric);
    const fine = this.retention.fineStepMs;
    const violations: FieldViolation[] = [];
    if (def.kind !== 'counter' || def.host) violations.push({ field: 'metric', description: `"${metric}" is not a per-revision counter` });
    if (!(stepMs >= fine && stepMs % fine === 0)) violations.push({ field: 'step', description: `must be a multiple of ${fine / 1000}s` });
    if (!(untilMs > sinceMs) || (untilMs - sinceMs) / stepMs > MAX_POINTS) violations.push({ field: 'since', description: `must be before until, at most ${MAX_POINTS} steps` });
    if (sinceMs < this.clock.now() - this.retention.fineKeepMs) violations.push({ field: 'since', description: `must be within the last ${this.retention.fineKeepMs / 60_000} minutes` });
    if (violations.length > 0) throw invalidArgument(violations);
    const startMs = Math.floor(sinceMs / stepMs) * stepMs;
    const steps = Math.ceil((untilMs - startMs) / stepMs);
    const rows = this.db
      .prepare('SELECT service, t_ms AS t, SUM(sum) AS total FROM metrics_fine WHERE metric = ? AND t_ms >= ? AND t_ms < ? GROUP BY service, t_ms')
      .all(metric, startMs, untilMs) as { service: string; t: number; total: number }[];
    const services = new Map<string, number[]>();
    for (const r of rows) {
      let series = services.get(r.service);
      if (!series) {
        series = new Array<number>(steps).fill(0);
        services.set(r.service, series);
      }
      const i = Math.floor((r.t - startMs) / stepMs);
      if (i >= 0 && i < steps) series[i] = (series[i] ?? 0) + r.total;
    }
    return { metric, startMs, stepMs, steps, services };
  }

  query(q: MetricQuery): MetricQueryResult {
    const violations: FieldViolation[] = [];
    const metricOk = typeof q.metric === 'string' && isMetricName(q.metric);
    if (!metricOk) violations.push({ field: 'metric', description: `"${String(q.metric)}" is not a metric; one of: ${METRIC_NAMES.join(', ')}` });
    if (!Number.isFinite(q.sinceMs)) violations.push({ field: 'since', description: 'must be a time' });
    if (!Number.isFinite(q.untilMs)) violations.push({ field: 'until', description: 'must be a time' });
    if (Number.isFinite(q.sinceMs) && Number.isFinite(q.untilMs) && q.sinceMs >= q.untilMs) {
      violations.push({ field: 'since', description: 'must be before until' });
    }
    if (q.stepMs !== undefined && !(Number.isFinite(q.stepMs) && q.stepMs > 0)) {
      violations.push({ field: 'step', description: 'must be a positive duration such as 60s' });
    }
    const host = metricOk && metricDef(q.metric as MetricName).host === true;
    if (metricOk && !host && !q.service) violations.push({ field: 'service', description: 'is required for this metric' });
    if (violations.length > 0) throw invalidArgument(violations);
    const metric = q.metric as MetricName;
    const def = metricDef(metric);

    const now = this.clock.now();
    const r = this.retention;
    const wantsCoarse = q.stepMs !== undefined && q.stepMs >= r.coarseStepMs;
    const fineCovers = q.sinceMs >= now - r.fineKeepMs;
    const resolutionMs = fineCovers && !wantsCoarse ? r.fineStepMs : r.coarseStepMs;
    const table = resolutionMs === r.fineStepMs ? 'metrics_fine' : 'metrics_coarse';
    const span = q.untilMs - q.sinceMs;
    const asked = q.stepMs ?? Math.max(resolutionMs, span / 120);
    const stepMs = Math.ceil(asked / resolutionMs) * resolutionMs;
    if (span / stepMs > MAX_POINTS) {
      throw invalidArgument([{ field: 'step', description: `gives ${Math.ceil(span / stepMs)} points; use a step of at least ${Math.ceil(span / MAX_POINTS / 1000)}s` }]);
    }
    const startMs = Math.floor(q.sinceMs / resolutionMs) * resolutionMs;

    const rows = this.db
      .prepare(
        `SELECT t_ms AS t, revision, label, count, sum, max, buckets FROM ${table}
         WHERE service = ? AND metric = ? AND t_ms >= ? AND t_ms < ?${q.revision !== undefined ? ' AND revision = ?' : ''}
         ORDER BY t_ms`,
      )
      .all(...[host ? '' : (q.service ?? ''), metric, startMs, q.untilMs, ...(q.revision !== undefined ? [q.revision] : [])]) as Row[];

    const series = new Map<string, { labels: Record<string, string>; steps: Map<number, Acc> }>();
    for (const row of rows) {
      const labelsOf: Record<string, string> = {};
      if (q.groupByRevision && !host) labelsOf.revision_name = row.revision;
      if (def.label) labelsOf[def.label] = row.label;
      const key = JSON.stringify(labelsOf);
      let s = series.get(key);
      if (!s) {
        s = { labels: labelsOf, steps: new Map() };
        series.set(key, s);
      }
      const stepStart = startMs + Math.floor((row.t - startMs) / stepMs) * stepMs;
      let acc = s.steps.get(stepStart);
      if (!acc) {
        acc = { count: 0, sum: 0, max: -Infinity, buckets: undefined };
        s.steps.set(stepStart, acc);
      }
      acc.count += row.count;
      acc.sum += row.sum;
      if (row.max > acc.max) acc.max = row.max;
      if (row.buckets) {
        acc.buckets ??= new Array<number>(LATENCY_BUCKETS).fill(0);
        mergeCounts(acc.buckets, decodeCounts(row.buckets));
      }
    }

    const out: MetricSeries[] = [];
    for (const s of series.values()) {
      const points: MetricValue[] = [];
      for (const [t, acc] of [...s.steps.entries()].sort((a, b) => a[0] - b[0])) {
        points.push(valueOf(def.kind, t, stepMs, acc));
      }
      out.push({ labels: s.labels, points });
    }
    out.sort((a, b) => JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels)));
    return { metric, kind: def.kind, unit: def.unit, stepMs, resolutionMs, series: out };
  }
}

export interface ServiceTotals {
  metric: MetricName;
  /** The first step's start; step i covers [startMs + i·stepMs, startMs + (i+1)·stepMs). */
  startMs: number;
  stepMs: number;
  steps: number;
  /** Per service: the counter's increase in each step (all revisions and labels summed). */
  services: Map<string, number[]>;
}

function valueOf(kind: MetricKind, t: number, stepMs: number, acc: Acc): MetricValue {
  const base = { startMs: t, endMs: t + stepMs };
  if (kind === 'counter') return { ...base, value: acc.sum, rate: acc.sum / (stepMs / 1000) };
  const mean = acc.count > 0 ? acc.sum / acc.count : 0;
  if (kind === 'gauge') return { ...base, mean, max: acc.max };
  const counts = acc.buckets ?? [];
  const p = (q: number): number | undefined => quantile(counts, q, acc.max);
  const v: MetricValue = { ...base, count: acc.count, mean, max: acc.max };
  const p50 = p(0.5);
  const p95 = p(0.95);
  const p99 = p(0.99);
  if (p50 !== undefined) v.p50 = p50;
  if (p95 !== undefined) v.p95 = p95;
  if (p99 !== undefined) v.p99 = p99;
  return v;
}
