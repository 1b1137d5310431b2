/**
 * Prometheus text exposition (format 0.0.4) of the recorder's running totals and latest gauge
 * values, for `GET localhost:8080/metrics`. Served as `text/plain; version=0.0.4`.
 */
import { METRICS, RESPONSE_CLASSES, prometheusName } from './catalog.js';
import type { MetricName } from './catalog.js';
import { LATENCY_BOUNDS_MS } from './histogram.js';
import type { MetricsRecorder, RevisionMetrics } from './recorder.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function escapeHelp(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeLabel(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function labels(pairs: readonly (readonly [string, string])[]): string {
  if (pairs.length === 0) return '';
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

function header(lines: string[], metric: MetricName, type: 'counter' | 'gauge' | 'histogram'): string {
  const name = prometheusName(metric);
  const def = METRICS[metric];
  lines.push(`# HELP ${name} ${escapeHelp(`${def.help} Cloud Monitoring unit: ${def.unit}.`)}`);
  lines.push(`# TYPE ${name} ${type}`);
  return name;
}

function histogram(
  lines: string[],
  name: string,
  base: readonly (readonly [string, string])[],
  counts: Float64Array,
  sum: number,
  count: number,
): void {
  let cumulative = 0;
  for (let i = 0; i < LATENCY_BOUNDS_MS.length; i++) {
    cumulative += counts[i] ?? 0;
    lines.push(`${name}_bucket${labels([...base, ['le', num(LATENCY_BOUNDS_MS[i] ?? 0)]])} ${num(cumulative)}`);
  }
  lines.push(`${name}_bucket${labels([...base, ['le', '+Inf']])} ${num(count)}`);
  lines.push(`${name}_sum${labels(base)} ${num(sum)}`);
  lines.push(`${name}_count${labels(base)} ${num(count)}`);
}

export function renderPrometheus(recorder: MetricsRecorder): string {
  const revisions = [...recorder.revisions()].sort(
    (a, b) => a.service.localeCompare(b.service) || a.revision.localeCompare(b.revision),
  );
  const base = (r: RevisionMetrics): [string, string][] => [
    ['service_name', r.service],
    ['revision_name', r.revision],
  ];
  const lines: string[] = [];

  let name = header(lines, 'request_count', 'counter');
  for (const r of revisions) {
    for (let i = 0; i < 5; i++) {
      const v = r.totalRequestsByClass[i] ?? 0;
      if (v > 0) lines.push(`${name}${labels([...base(r), ['response_code_class', RESPONSE_CLASSES[i] ?? '']])} ${num(v)}`);
    }
  }
  name = header(lines, 'request_latencies', 'histogram');
  for (const r of revisions) histogram(lines, name, base(r), r.latency.totalCounts, r.latency.totalSum, r.latency.totalCount);

  name = header(lines, 'container/instance_count', 'gauge');
  for (const r of revisions) {
    lines.push(`${name}${labels([...base(r), ['state', 'active']])} ${num(r.active.last)}`);
    lines.push(`${name}${labels([...base(r), ['state', 'idle']])} ${num(r.idle.last)}`);
  }
  name = header(lines, 'container/max_request_concurrencies', 'gauge');
  for (const r of revisions) lines.push(`${name}${labels(base(r))} ${num(r.maxConcurrency.last)}`);

  name = header(lines, 'container/billable_instance_time', 'counter');
  for (const r of revisions) lines.push(`${name}${labels(base(r))} ${num(r.totalBillableMs / 1000)}`);

  name = header(lines, 'container/startup_latencies', 'histogram');
  for (const r of revisions) histogram(lines, name, base(r), r.startup.totalCounts, r.startup.totalSum, r.startup.totalCount);

  name = header(lines, 'container/cpu/utilizations', 'gauge');
  for (const r of revisions) lines.push(`${name}${labels(base(r))} ${num(r.cpu.last)}`);
  name = header(lines, 'container/memory/utilizations', 'gauge');
  for (const r of revisions) lines.push(`${name}${labels(base(r))} ${num(r.memory.last)}`);

  name = header(lines, 'container/network/received_bytes_count', 'counter');
  for (const r of revisions) lines.push(`${name}${labels(base(r))} ${num(r.totalBytesIn)}`);
  name = header(lines, 'container/network/sent_bytes_count', 'counter');
  for (const r of revisions) lines.push(`${name}${labels(base(r))} ${num(r.totalBytesOut)}`);

  name = header(lines, 'kumo/host/budget_in_use', 'gauge');
  for (const resource of ['cpu', 'memory', 'instances'] as const) {
    lines.push(`${name}${labels([['resource', resource]])} ${num(recorder.host[resource].last)}`);
  }
  return `${lines.join('\n')}\n`;
}
