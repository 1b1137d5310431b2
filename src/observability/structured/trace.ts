/**
 * Trace context for requests, as Cloud Run handles it: read W3C `traceparent` or
 * `X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=1`, generate one when absent, and hand the app
 * both headers with kumo's own span as the parent, so the request log and the app's lines
 * share one trace id. Randomness is injected.
 */

export interface TraceContext {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** kumo's span for this hop, 16 lowercase hex digits (what the request log records). */
  spanId: string;
  /** The caller's span, when it sent one. */
  parentSpanId?: string;
  sampled: boolean;
  /** True when the request carried no usable trace header. */
  generated: boolean;
}

/** Produces random ids; `randomIdSource` pools bytes so a request costs no syscall. */
export interface IdSource {
  traceId(): string;
  spanId(): string;
}

const ZERO_TRACE = '0'.repeat(32);
const BYTE_HEX: readonly string[] = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** Ids from a pool refilled by `fill` (e.g. `crypto.randomFillSync`) every 4 KiB. */
export function randomIdSource(fill: (buffer: Uint8Array) => void, poolBytes = 4096): IdSource {
  const pool = new Uint8Array(poolBytes);
  let offset = poolBytes;
  const take = (n: number): string => {
    for (;;) {
      if (offset + n > pool.length) {
        fill(pool);
        offset = 0;
      }
      const from = offset;
      offset += n;
      // Span ids keep their top 11 bits clear so their decimal form (X-Cloud-Trace-Context)
      // is exact in a double: no BigInt on the request path. 53 random bits remain.
      if (n === 8) {
        pool[from] = 0;
        pool[from + 1] = (pool[from + 1] ?? 0) & 0x1f;
      }
      let any = 0;
      let id = '';
      for (let i = from; i < from + n; i++) {
        const b = pool[i] ?? 0;
        any |= b;
        id += BYTE_HEX[b] ?? '00';
      }
      if (any !== 0) return id; // all-zero ids are invalid in W3C trace context
    }
  };
  return { traceId: () => take(16), spanId: () => take(8) };
}

const TRACEPARENT_LATER = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** True when s[from, to) is lowercase hex with at least one non-zero digit. */
function hexNonZero(s: string, from: number, to: number): boolean {
  let nonZero = false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 48) continue;
    if (!((c > 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
    nonZero = true;
  }
  return nonZero;
}

/** W3C Trace Context `traceparent`; undefined when invalid (then it must be ignored). */
export function parseTraceparent(value: string): { traceId: string; parentId: string; sampled: boolean } | undefined {
  const v = value.length === 55 ? value : value.trim();
  // Version 00, checked by hand (this runs on every request): 00-TRACE32-PARENT16-FLAGS2.
  if (v.length === 55 && v.charCodeAt(0) === 48 && v.charCodeAt(1) === 48) {
    if (v.charCodeAt(2) !== 45 || v.charCodeAt(35) !== 45 || v.charCodeAt(52) !== 45) return undefined;
    if (!hexNonZero(v, 3, 35) || !hexNonZero(v, 36, 52)) return undefined;
    const flags = parseInt(v.slice(53, 55), 16);
    if (!/^[0-9a-f]{2}$/.test(v.slice(53, 55))) return undefined;
    return { traceId: v.slice(3, 35), parentId: v.slice(36, 52), sampled: (flags & 1) === 1 };
  }
  // A later version may append fields; version ff is forbidden, and 00 must match exactly.
  const m = TRACEPARENT_LATER.exec(v);
  if (!m || m[1] === 'ff' || m[1] === '00') return undefined;
  const traceId = m[2] ?? '';
  const parentId = m[3] ?? '';
  if (!hexNonZero(traceId, 0, 32) || !hexNonZero(parentId, 0, 16)) return undefined;
  return { traceId, parentId, sampled: (parseInt(m[4] ?? '0', 16) & 1) === 1 };
}

const CLOUD_TRACE = /^([0-9a-fA-F]{32})(?:\/(\d{1,20}))?(?:;o=(\d+))?$/;
const MAX_U64 = (1n << 64n) - 1n;

/** `X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=OPTIONS` (span decimal); undefined when invalid. */
export function parseCloudTraceContext(
  value: string,
): { traceId: string; spanId?: string; sampled?: boolean } | undefined {
  const m = CLOUD_TRACE.exec(value.trim());
  if (!m || !m[1]) return undefined;
  const traceId = m[1].toLowerCase();
  if (traceId === ZERO_TRACE) return undefined;
  const out: { traceId: string; spanId?: string; sampled?: boolean } = { traceId };
  if (m[2] !== undefined) {
    const n = BigInt(m[2]);
    if (n > 0n && n <= MAX_U64) out.spanId = n.toString(16).padStart(16, '0');
  }
  if (m[3] !== undefined) out.sampled = (Number(m[3]) & 1) === 1;
  return out;
}

/**
 * The trace context for one request. `traceparent` wins when valid (the W3C standard), then
 * `X-Cloud-Trace-Context`; otherwise a new trace. Either way kumo opens a span of its own.
 */
export function traceContextFor(
  traceparent: string | undefined,
  cloudTraceContext: string | undefined,
  ids: IdSource,
  sampleNew = false,
): TraceContext {
  const spanId = ids.spanId();
  const w3c = traceparent !== undefined ? parseTraceparent(traceparent) : undefined;
  if (w3c) return { traceId: w3c.traceId, spanId, parentSpanId: w3c.parentId, sampled: w3c.sampled, generated: false };
  const gcp = cloudTraceContext !== undefined ? parseCloudTraceContext(cloudTraceContext) : undefined;
  if (gcp) {
    const ctx: TraceContext = { traceId: gcp.traceId, spanId, sampled: gcp.sampled ?? false, generated: false };
    if (gcp.spanId !== undefined) ctx.parentSpanId = gcp.spanId;
    return ctx;
  }
  return { traceId: ids.traceId(), spanId, sampled: sampleNew, generated: true };
}

/** A 16-hex-digit span id as the unsigned decimal X-Cloud-Trace-Context uses. */
function spanDecimal(hex: string): string {
  // Up to 2^53 - 1 (`001fffffffffffff`) a double is exact; beyond, BigInt.
  if (hex < '0020000000000000') return parseInt(hex, 16).toString(10);
  return BigInt(`0x${hex}`).toString(10);
}

/** The headers to pass to the app: both formats, kumo's span as the parent. */
export function traceHeaders(ctx: TraceContext): { traceparent: string; 'x-cloud-trace-context': string } {
  const flag = ctx.sampled ? 1 : 0;
  return {
    traceparent: `00-${ctx.traceId}-${ctx.spanId}-0${flag}`,
    'x-cloud-trace-context': `${ctx.traceId}/${spanDecimal(ctx.spanId)};o=${flag}`,
  };
}

/** Cloud Logging's trace field: `projects/PROJECT/traces/TRACE_ID`. */
export function traceResourceName(project: string, traceId: string): string {
  return `projects/${project}/traces/${traceId}`;
}
