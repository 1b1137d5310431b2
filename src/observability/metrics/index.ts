/** Metrics: the hot-path recorder, the time-series store with rollups, Prometheus text. */
export { METRICS, METRIC_NAMES, RESPONSE_CLASSES, isMetricName, metricDef, prometheusName } from './catalog.js';
export type { MetricDef, MetricKind, MetricName } from './catalog.js';
export { LATENCY_BOUNDS_MS, LATENCY_BUCKETS, bucketIndex, quantile } from './histogram.js';
export { MetricsRecorder, RevisionMetrics } from './recorder.js';
export type { HostBudget, MetricPoint } from './recorder.js';
export { DEFAULT_METRICS_RETENTION, METRICS_MIGRATIONS, MetricsStore } from './metrics.store.js';
export type { MetricQuery, MetricQueryResult, MetricSeries, MetricValue, MetricsRetention, ServiceTotals } from './metrics.store.js';
export { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from './prometheus.js';
