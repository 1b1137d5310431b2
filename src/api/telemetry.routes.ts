/**
 * API routes over metrics and billing: `/api/services/NAME/metrics`, `/api/metrics`,
 * `/api/services:stats` (every service's request rate, instances and sparkline at once),
 * `/api/billing/report`.
 */
import { KumoError } from '../shared/errors.js';
import { isMetricName, METRIC_NAMES } from '../observability/metrics/index.js';
import type { MetricsStore } from '../observability/metrics/index.js';
import { billingReport } from '../serving/billing/index.js';
import type { BillingStore } from '../serving/billing/index.js';
import type { PricingTable } from '../serving/billing/index.js';
import type { Routes } from './http.js';
import { sendJson, timeParam } from './http.js';
import { parseDurationMs } from '../shared/units.js';

/** A service's instances right now. */
export interface InstanceCounts {
  /** Ready and serving at least one request. */
  active: number;
  /** Ready with nothing in flight (frozen ones included). */
  idle: number;
  starting: number;
}

export interface TelemetryRouteOptions {
  metrics: MetricsStore;
  /** Live instance counts by service. */
  instances?(): Map<string, InstanceCounts>;
  billing: BillingStore;
  pricing?: PricingTable;
  now(): number;
  /** Throws NOT_FOUND for an unknown service. */
  requireService(name: string): void;
}

function metricParam(url: URL): string {
  const m = url.searchParams.get('metric') ?? 'request_count';
  // Cloud Monitoring's full names (run.googleapis.com/request_count) are accepted too.
  const short = m.replace(/^run\.googleapis\.com\//, '');
  if (!isMetricName(short)) {
    throw new KumoError('INVALID_ARGUMENT', `metric "${m}" is not one kumo records; use one of ${METRIC_NAMES.join(', ')}`, { field: 'metric' });
  }
  return short;
}

export function addTelemetryRoutes(routes: Routes, o: TelemetryRouteOptions): void {
  const window = (url: URL) => {
    const now = o.now();
    const sinceMs = timeParam(url, 'since', now) ?? now - 3_600_000;
    const untilMs = timeParam(url, 'until', now) ?? now;
    const step = url.searchParams.get('step');
    const stepMs = step === null ? undefined : parseDurationMs(step);
    if (step !== null && (stepMs === undefined || stepMs < 1000)) {
      throw new KumoError('INVALID_ARGUMENT', `step must be a duration of at least 1s (10s, 1m, 1h); got "${step}"`, { field: 'step' });
    }
    return { sinceMs, untilMs, ...(stepMs !== undefined ? { stepMs } : {}) };
  };
  routes.add('GET', '/api/services/:name/metrics', (_req, res, p, url) => {
    const service = p.name ?? '';
    o.requireService(service);
    const revision = url.searchParams.get('revision') ?? undefined;
    sendJson(
      res,
      200,
      o.metrics.query({
        service,
        metric: metricParam(url),
        ...window(url),
        ...(revision ? { revision } : {}),
        groupByRevision: url.searchParams.get('groupByRevision') === 'true',
      }),
    );
  });
  routes.add('GET', '/api/services:stats', (_req, res, _p, url) => {
    const now = o.now();
    const w = url.searchParams.get('window') ?? '30m';
    const windowMs = parseDurationMs(w);
    if (windowMs === undefined || windowMs < 60_000 || windowMs > 3_600_000) {
      throw new KumoError('INVALID_ARGUMENT', `window must be a duration from 1m to 1h; got "${w}"`, { field: 'window' });
    }
    const fine = o.metrics.retention.fineStepMs;
    const stepMs = Math.max(fine, Math.ceil(windowMs / 30 / fine) * fine);
    const spark = o.metrics.serviceTotals('request_count', now - windowMs, now, stepMs);
    const lastMinute = o.metrics.serviceTotals('request_count', now - 60_000, now, fine);
    const seconds = Math.max(1, (now - lastMinute.startMs) / 1000);
    const live = o.instances?.() ?? new Map<string, InstanceCounts>();
    const items: Record<string, { requestsPerSec: number; instances: InstanceCounts; requests: number[] }> = {};
    for (const name of new Set([...spark.services.keys(), ...live.keys()])) {
      const recent = lastMinute.services.get(name) ?? [];
      items[name] = {
        requestsPerSec: recent.reduce((a, b) => a + b, 0) / seconds,
        instances: live.get(name) ?? { active: 0, idle: 0, starting: 0 },
        requests: spark.services.get(name) ?? new Array<number>(spark.steps).fill(0),
      };
    }
    sendJson(res, 200, { nowMs: now, windowMs, startMs: spark.startMs, stepMs, steps: spark.steps, items });
  });
  routes.add('GET', '/api/metrics', (_req, res, _p, url) => {
    sendJson(res, 200, o.metrics.query({ metric: metricParam(url), ...window(url) }));
  });
  routes.add('GET', '/api/billing/report', (_req, res, _p, url) => {
    const now = o.now();
    const service = url.searchParams.get('service') ?? undefined;
    if (service) o.requireService(service);
    const sinceMs = timeParam(url, 'since', now) ?? Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), 1);
    const untilMs = timeParam(url, 'until', now) ?? now;
    sendJson(res, 200, billingReport(o.billing, { sinceMs, untilMs, ...(service ? { service } : {}) }, o.pricing));
  });
}
