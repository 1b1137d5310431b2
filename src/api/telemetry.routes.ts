/** API routes over metrics and billing: `/api/services/NAME/metrics`, `/api/metrics`, `/api/billing/report`. */
import { KumoError } from '../shared/errors.js';
import { isMetricName, METRIC_NAMES } from '../observability/metrics/index.js';
import type { MetricsStore } from '../observability/metrics/index.js';
import { billingReport } from '../serving/billing/index.js';
import type { BillingStore } from '../serving/billing/index.js';
import type { PricingTable } from '../serving/billing/index.js';
import type { Routes } from './http.js';
import { sendJson, timeParam } from './http.js';
import { parseDurationMs } from '../shared/units.js';

export interface TelemetryRouteOptions {
  metrics: MetricsStore;
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
