/**
 * One line of an app's stdout/stderr → the fields of a LogEntry, as Cloud Run's logging agent
 * does it (reference cloudrun_knative.md §1.21): a line that is one JSON object becomes
 * `jsonPayload` with Cloud Logging's special fields lifted out of it; any other line is
 * `textPayload`.
 *
 * Severity of lines that do not state one: stdout → DEFAULT (Cloud Run functions' logging page:
 * plain stdout/stderr lines carry no level, https://cloud.google.com/functions/1stgendocs/monitoring/logging);
 * stderr → ERROR, as Google's GKE logging agent documents ("logs written to the standard error
 * are on the ERROR level", https://cloud.google.com/stackdriver/docs/solutions/gke/managing-logs,
 * quoted in learningequality/kolibri#9162) and as Cloud Run users report. Configurable.
 */
import type { HttpRequestLog, LogEntry, Severity } from '../log.types.js';
import { SEVERITY_ORDER } from '../log.types.js';
import { traceResourceName } from './trace.js';

export type ParsedLine = Pick<
  LogEntry,
  | 'severity'
  | 'timeMs'
  | 'textPayload'
  | 'jsonPayload'
  | 'httpRequest'
  | 'trace'
  | 'spanId'
  | 'traceSampled'
  | 'labels'
  | 'sourceLocation'
  | 'operation'
> & { insertId?: string };

export interface ParseLineOptions {
  /** For `logging.googleapis.com/trace` values that are a bare trace id. */
  project: string;
  /** Severity of stderr lines that name none (default ERROR). */
  stderrSeverity?: Severity;
  /** Longer lines are cut here (Cloud Logging's entry limit is 256 KiB). */
  maxLineChars?: number;
}

export const MAX_LINE_CHARS = 256 * 1024;
const SPECIAL = 'logging.googleapis.com/';

const SEVERITY_ALIASES: Record<string, Severity> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  information: 'INFO',
  notice: 'NOTICE',
  warn: 'WARNING',
  warning: 'WARNING',
  err: 'ERROR',
  error: 'ERROR',
  crit: 'CRITICAL',
  critical: 'CRITICAL',
  fatal: 'CRITICAL',
  alert: 'ALERT',
  emerg: 'EMERGENCY',
  emergency: 'EMERGENCY',
  default: 'DEFAULT',
};

/** Cloud Logging's LogSeverity: names (any case, common aliases) or numbers 0..800. */
export function parseSeverity(value: unknown): Severity | undefined {
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    const alias = SEVERITY_ALIASES[v];
    if (alias) return alias;
    if (/^\d+$/.test(v)) return parseSeverity(Number(v));
    return undefined;
  }
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) {
    // DEFAULT 0, DEBUG 100, INFO 200, NOTICE 300, … EMERGENCY 800: take the level at or below.
    const index = Math.min(8, Math.floor(value / 100));
    return SEVERITY_ORDER[index];
  }
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseTime(payload: Record<string, unknown>): { ms: number; keys: string[] } | undefined {
  const ts = payload.timestamp;
  if (isObject(ts) && (typeof ts.seconds === 'number' || typeof ts.seconds === 'string')) {
    const ms = Number(ts.seconds) * 1000 + Number(ts.nanos ?? 0) / 1e6;
    if (Number.isFinite(ms)) return { ms, keys: ['timestamp'] };
  }
  const secs = payload.timestampSeconds;
  if (typeof secs === 'number' || typeof secs === 'string') {
    const ms = Number(secs) * 1000 + Number(payload.timestampNanos ?? 0) / 1e6;
    if (Number.isFinite(ms)) return { ms, keys: ['timestampSeconds', 'timestampNanos'] };
  }
  for (const key of ['time', 'timestamp']) {
    const v = payload[key];
    if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(v)) {
      const ms = Date.parse(v);
      if (Number.isFinite(ms)) return { ms, keys: [key] };
    }
  }
  return undefined;
}

const HTTP_FIELDS = ['requestSize', 'responseSize', 'userAgent', 'remoteIp', 'referer', 'latency', 'protocol'] as const;

function parseHttpRequest(v: unknown): HttpRequestLog | undefined {
  if (!isObject(v)) return undefined;
  const out: HttpRequestLog = {
    requestMethod: typeof v.requestMethod === 'string' ? v.requestMethod : '',
    requestUrl: typeof v.requestUrl === 'string' ? v.requestUrl : '',
    status: typeof v.status === 'number' ? v.status : Number(v.status ?? 0) || 0,
  };
  for (const k of HTTP_FIELDS) {
    const x = v[k];
    if (typeof x === 'string' || typeof x === 'number') out[k] = String(x);
  }
  return out;
}

function parseLabels(v: unknown): Record<string, string> | undefined {
  if (!isObject(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x === 'string') out[k] = x;
    else if (typeof x === 'number' || typeof x === 'boolean') out[k] = String(x);
    else return undefined; // not a label map: leave it in the payload
  }
  return out;
}

function parseJsonObject(line: string): Record<string, unknown> | undefined {
  const t = line.trim();
  if (t.length < 2 || t.charCodeAt(0) !== 123 /* { */ || t.charCodeAt(t.length - 1) !== 125 /* } */) return undefined;
  try {
    const v: unknown = JSON.parse(t);
    return isObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

export function parseLogLine(
  stream: 'stdout' | 'stderr',
  rawLine: string,
  captureTimeMs: number,
  options: ParseLineOptions,
): ParsedLine {
  const max = options.maxLineChars ?? MAX_LINE_CHARS;
  const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
  const streamSeverity: Severity = stream === 'stderr' ? (options.stderrSeverity ?? 'ERROR') : 'DEFAULT';
  const payload = line.length <= max ? parseJsonObject(line) : undefined;
  if (!payload) {
    const text = line.length > max ? `${line.slice(0, max)}… [truncated ${line.length - max} characters]` : line;
    return { severity: streamSeverity, timeMs: captureTimeMs, textPayload: text };
  }

  const out: ParsedLine = { severity: streamSeverity, timeMs: captureTimeMs };
  const severity = parseSeverity(payload.severity);
  if (severity) {
    out.severity = severity;
    delete payload.severity;
  }
  const time = parseTime(payload);
  if (time) {
    out.timeMs = time.ms;
    for (const k of time.keys) delete payload[k];
  }
  const http = parseHttpRequest(payload.httpRequest);
  if (http) {
    out.httpRequest = http;
    delete payload.httpRequest;
  }
  const trace = payload[`${SPECIAL}trace`];
  if (typeof trace === 'string' && trace !== '') {
    out.trace = trace.startsWith('projects/') ? trace : traceResourceName(options.project, trace);
    delete payload[`${SPECIAL}trace`];
  }
  const spanId = payload[`${SPECIAL}spanId`];
  if (typeof spanId === 'string' && spanId !== '') {
    out.spanId = spanId;
    delete payload[`${SPECIAL}spanId`];
  }
  const sampled = payload[`${SPECIAL}trace_sampled`];
  if (typeof sampled === 'boolean') {
    out.traceSampled = sampled;
    delete payload[`${SPECIAL}trace_sampled`];
  }
  const labels = parseLabels(payload[`${SPECIAL}labels`]);
  if (labels) {
    out.labels = labels;
    delete payload[`${SPECIAL}labels`];
  }
  const insertId = payload[`${SPECIAL}insertId`];
  if (typeof insertId === 'string' && insertId !== '') {
    out.insertId = insertId;
    delete payload[`${SPECIAL}insertId`];
  }
  const loc = payload[`${SPECIAL}sourceLocation`];
  if (isObject(loc)) {
    const sl: NonNullable<ParsedLine['sourceLocation']> = {};
    if (typeof loc.file === 'string') sl.file = loc.file;
    if (typeof loc.line === 'string' || typeof loc.line === 'number') sl.line = String(loc.line);
    if (typeof loc.function === 'string') sl.function = loc.function;
    out.sourceLocation = sl;
    delete payload[`${SPECIAL}sourceLocation`];
  }
  const op = payload[`${SPECIAL}operation`];
  if (isObject(op)) {
    const o: NonNullable<ParsedLine['operation']> = {};
    if (typeof op.id === 'string') o.id = op.id;
    if (typeof op.producer === 'string') o.producer = op.producer;
    if (typeof op.first === 'boolean') o.first = op.first;
    if (typeof op.last === 'boolean') o.last = op.last;
    out.operation = o;
    delete payload[`${SPECIAL}operation`];
  }
  // `message` stays in jsonPayload: Cloud Logging shows jsonPayload.message as the entry's text.
  out.jsonPayload = payload;
  return out;
}
