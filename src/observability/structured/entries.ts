/**
 * Builders for the entries kumo writes itself: the request log (one per request, tied to the
 * app's lines by trace id) and the system log (`varlog/system` on Cloud Run: instance start
 * with its reason, stop, crash, OOM). Pure: the caller supplies time and ids.
 */
import type { HttpRequestLog, LogEntry, Severity } from '../log.types.js';
import type { ParsedLine } from './parse-line.js';
import type { TraceContext } from './trace.js';
import { traceResourceName } from './trace.js';

/** RFC 3339 with microseconds, as Cloud Logging writes timestamps. */
export function rfc3339Micros(timeMs: number): string {
  const whole = Math.floor(timeMs);
  const micros = Math.min(999, Math.floor((timeMs - whole) * 1000));
  const iso = new Date(whole).toISOString(); // …SS.mmmZ
  return `${iso.slice(0, -1)}${String(micros).padStart(3, '0')}Z`;
}

export interface EntryOrigin {
  service: string;
  revision?: string;
  instanceId?: string;
  /** Used when the line named no insertId. */
  insertId: string;
}

/** A container line (already parsed) as a LogEntry. */
export function containerLogEntry(stream: 'stdout' | 'stderr', parsed: ParsedLine, origin: EntryOrigin): LogEntry {
  const { insertId, ...fields } = parsed;
  return {
    ...fields,
    insertId: insertId ?? origin.insertId,
    timestamp: rfc3339Micros(parsed.timeMs),
    kind: stream,
    service: origin.service,
    ...(origin.revision !== undefined ? { revision: origin.revision } : {}),
    ...(origin.instanceId !== undefined ? { instanceId: origin.instanceId } : {}),
  };
}

export interface RequestFacts {
  project: string;
  method: string;
  url: string;
  status: number;
  latencyMs: number;
  requestBytes: number;
  responseBytes: number;
  userAgent?: string;
  remoteIp?: string;
  referer?: string;
  protocol?: string;
  /** When the request arrived. */
  timeMs: number;
  trace: TraceContext;
}

/** Cloud Run's request log severity: 5xx ERROR, 4xx WARNING, otherwise INFO. */
export function requestSeverity(status: number): Severity {
  if (status >= 500) return 'ERROR';
  if (status >= 400) return 'WARNING';
  return 'INFO';
}

/** Seconds with an `s` suffix, trailing zeros dropped: 12.5 ms → `0.0125s`. */
function latencyText(ms: number): string {
  return `${(ms / 1000).toFixed(6).replace(/\.?0+$/, '')}s`;
}

export function requestLogEntry(r: RequestFacts, origin: EntryOrigin): LogEntry {
  // Plain assignments rather than conditional spreads: this runs once per request.
  const http: HttpRequestLog = {
    requestMethod: r.method,
    requestUrl: r.url,
    status: r.status,
    requestSize: String(r.requestBytes),
    responseSize: String(r.responseBytes),
    latency: latencyText(r.latencyMs),
  };
  if (r.userAgent !== undefined) http.userAgent = r.userAgent;
  if (r.remoteIp !== undefined) http.remoteIp = r.remoteIp;
  if (r.referer !== undefined) http.referer = r.referer;
  if (r.protocol !== undefined) http.protocol = r.protocol;
  const entry: LogEntry = {
    insertId: origin.insertId,
    timestamp: rfc3339Micros(r.timeMs),
    timeMs: r.timeMs,
    severity: requestSeverity(r.status),
    kind: 'requests',
    service: origin.service,
    httpRequest: http,
    trace: traceResourceName(r.project, r.trace.traceId),
    spanId: r.trace.spanId,
    traceSampled: r.trace.sampled,
  };
  if (origin.revision !== undefined) entry.revision = origin.revision;
  if (origin.instanceId !== undefined) entry.instanceId = origin.instanceId;
  return entry;
}

/**
 * The request log entry as compact JSON text, written directly (it runs once per request on the
 * router's thread): the fields the log store keeps in columns (time, severity, kind, service,
 * revision, trace) are left out and restored on read, so a row is about half the bytes. Only the
 * strings a client controls (URL, user agent, referer) need JSON escaping; the rest are kumo's own
 * names, numbers, hex ids and header tokens.
 */
export function requestLogJson(r: RequestFacts, origin: EntryOrigin): string {
  let doc = `{"insertId":"${origin.insertId}","httpRequest":{"requestMethod":"${r.method}","requestUrl":${JSON.stringify(r.url)},"status":${r.status},"requestSize":"${r.requestBytes}","responseSize":"${r.responseBytes}","latency":"${latencyText(r.latencyMs)}"`;
  if (r.userAgent !== undefined) doc += `,"userAgent":${JSON.stringify(r.userAgent)}`;
  if (r.remoteIp !== undefined) doc += `,"remoteIp":${JSON.stringify(r.remoteIp)}`;
  if (r.referer !== undefined) doc += `,"referer":${JSON.stringify(r.referer)}`;
  if (r.protocol !== undefined) doc += `,"protocol":${JSON.stringify(r.protocol)}`;
  doc += `},"spanId":"${r.trace.spanId}","traceSampled":${r.trace.sampled}`;
  if (origin.instanceId !== undefined) doc += `,"instanceId":"${origin.instanceId}"`;
  return `${doc}}`;
}

export type SystemEvent =
  | { event: 'start'; reason: 'DEPLOYMENT' | 'AUTOSCALING' | 'MANUAL_OR_CUSTOMER_MIN_INSTANCE' }
  | { event: 'ready'; startupMs: number }
  | { event: 'stop'; why: string }
  | { event: 'crash'; exitCode: number | null; signal: string | null }
  | { event: 'oom'; limitBytes: number }
  | { event: 'startup-failed'; detail: string };

const START_DETAIL = {
  DEPLOYMENT: 'a deployment or traffic change needs an instance of this revision',
  AUTOSCALING: 'no spare capacity for current traffic, or the scaling signals asked for more',
  MANUAL_OR_CUSTOMER_MIN_INSTANCE: 'min instances are configured for this revision',
} as const;

function mib(bytes: number): string {
  return `${Math.round(bytes / 1024 ** 2)} MiB`;
}

export function systemMessage(e: SystemEvent): { severity: Severity; text: string } {
  switch (e.event) {
    case 'start':
      return { severity: 'INFO', text: `Starting new instance. Reason: ${e.reason} - ${START_DETAIL[e.reason]}.` };
    case 'ready':
      return { severity: 'INFO', text: `Instance ready: listening on PORT after ${e.startupMs} ms.` };
    case 'stop':
      return { severity: 'INFO', text: `Shutting down instance: ${e.why}.` };
    case 'crash': {
      const how = e.signal !== null ? `was killed by ${e.signal}` : `called exit(${String(e.exitCode)})`;
      return { severity: 'ERROR', text: `Container ${how}.` };
    }
    case 'oom':
      return {
        severity: 'ERROR',
        text: `Memory limit of ${mib(e.limitBytes)} exceeded; the instance was stopped. Consider raising --memory (files written count as memory).`,
      };
    case 'startup-failed':
      return { severity: 'ERROR', text: `Instance failed to start: ${e.detail}` };
  }
}

export function systemLogEntry(e: SystemEvent, timeMs: number, origin: EntryOrigin): LogEntry {
  const { severity, text } = systemMessage(e);
  return {
    insertId: origin.insertId,
    timestamp: rfc3339Micros(timeMs),
    timeMs,
    severity,
    kind: 'system',
    service: origin.service,
    ...(origin.revision !== undefined ? { revision: origin.revision } : {}),
    ...(origin.instanceId !== undefined ? { instanceId: origin.instanceId } : {}),
    textPayload: text,
  };
}
