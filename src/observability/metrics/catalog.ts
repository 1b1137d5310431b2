/**
 * The metrics kumo keeps per revision, named as Cloud Run names them in Cloud Monitoring
 * (`run.googleapis.com/…`, reference cloudrun_knative.md §1.22), plus kumo's host budget.
 * In Prometheus text they take Google Managed Prometheus' spelling of Cloud Monitoring names:
 * `run.googleapis.com/container/instance_count` → `run_googleapis_com:container_instance_count`.
 */

export type MetricKind = 'counter' | 'gauge' | 'distribution';

export interface MetricDef {
  kind: MetricKind;
  unit: string;
  help: string;
  /** The one metric label this metric carries, if any. */
  label?: 'response_code_class' | 'state' | 'resource';
  /** Host-wide rather than per revision. */
  host?: boolean;
}

export const METRICS = {
  request_count: {
    kind: 'counter',
    unit: '1',
    help: 'Requests that reached the revision, by response class (1xx..5xx).',
    label: 'response_code_class',
  },
  request_latencies: { kind: 'distribution', unit: 'ms', help: 'Time from request arrival to the end of the response, in milliseconds.' },
  'container/instance_count': {
    kind: 'gauge',
    unit: '1',
    help: 'Instances of the revision, by state: active (serving a request) or idle.',
    label: 'state',
  },
  'container/max_request_concurrencies': { kind: 'gauge', unit: '1', help: 'Most requests in flight on one instance during the interval.' },
  'container/billable_instance_time': { kind: 'counter', unit: 's', help: 'Billable instance time, in seconds (100 ms units).' },
  'container/startup_latencies': { kind: 'distribution', unit: 'ms', help: 'Time from instance start to listening on PORT, in milliseconds.' },
  'container/cpu/utilizations': { kind: 'gauge', unit: '1', help: 'CPU used as a fraction of the CPU allocated, averaged over instances.' },
  'container/memory/utilizations': { kind: 'gauge', unit: '1', help: 'Memory used as a fraction of the memory limit, averaged over instances.' },
  'container/network/received_bytes_count': { kind: 'counter', unit: 'By', help: 'Request bytes received by the revision.' },
  'container/network/sent_bytes_count': { kind: 'counter', unit: 'By', help: 'Response bytes sent by the revision.' },
  'kumo/host/budget_in_use': {
    kind: 'gauge',
    unit: '1',
    help: "Fraction of the host's budget in use, by resource: cpu, memory, instances.",
    label: 'resource',
    host: true,
  },
} as const satisfies Record<string, MetricDef>;

export type MetricName = keyof typeof METRICS;

export const METRIC_NAMES = Object.keys(METRICS) as MetricName[];

export function isMetricName(name: string): name is MetricName {
  return Object.hasOwn(METRICS, name);
}

export function metricDef(name: MetricName): MetricDef {
  return METRICS[name];
}

/** Google Managed Prometheus spelling: domain dots → underscores, first `/` → `:`, other `/` → `_`. */
export function prometheusName(name: MetricName): string {
  const full = name.startsWith('kumo/') ? `kumo.dev/${name.slice(5)}` : `run.googleapis.com/${name}`;
  const slash = full.indexOf('/');
  const domain = full.slice(0, slash).replace(/[.-]/g, '_');
  const path = full.slice(slash + 1).replace(/[/.-]/g, '_');
  return `${domain}:${path}`;
}

export const RESPONSE_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
