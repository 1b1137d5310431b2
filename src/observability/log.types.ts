/**
 * A log entry, shaped like Cloud Logging's LogEntry so `--format json` output reads like
 * `gcloud logging read` for a `cloud_run_revision`.
 */

export type Severity =
  | 'DEFAULT'
  | 'DEBUG'
  | 'INFO'
  | 'NOTICE'
  | 'WARNING'
  | 'ERROR'
  | 'CRITICAL'
  | 'ALERT'
  | 'EMERGENCY';

export const SEVERITY_ORDER: readonly Severity[] = [
  'DEFAULT',
  'DEBUG',
  'INFO',
  'NOTICE',
  'WARNING',
  'ERROR',
  'CRITICAL',
  'ALERT',
  'EMERGENCY',
];

/** Which stream an entry came from: the app's stdout/stderr, kumo's request log, or kumo's system log. */
export type LogKind = 'stdout' | 'stderr' | 'requests' | 'system';

export interface HttpRequestLog {
  requestMethod: string;
  requestUrl: string;
  status: number;
  requestSize?: string;
  responseSize?: string;
  userAgent?: string;
  remoteIp?: string;
  referer?: string;
  /** Seconds with an `s` suffix, as Cloud Logging writes it: `0.012s`. */
  latency?: string;
  protocol?: string;
}

export interface LogEntry {
  /** Monotonic id within this kumo home (assigned by the store). */
  id?: number;
  insertId: string;
  /** RFC 3339 with microseconds. */
  timestamp: string;
  /** Milliseconds since epoch, for ordering and queries. */
  timeMs: number;
  severity: Severity;
  kind: LogKind;
  service: string;
  revision?: string;
  instanceId?: string;
  textPayload?: string;
  jsonPayload?: Record<string, unknown>;
  httpRequest?: HttpRequestLog;
  /** `projects/P/traces/TRACE_ID`. */
  trace?: string;
  spanId?: string;
  traceSampled?: boolean;
  labels?: Record<string, string>;
  /** Where in the app's code the entry came from (`logging.googleapis.com/sourceLocation`). */
  sourceLocation?: { file?: string; line?: string; function?: string };
  /** A long-running operation the entry belongs to (`logging.googleapis.com/operation`). */
  operation?: { id?: string; producer?: string; first?: boolean; last?: boolean };
}
