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

const HEX = '0123456789abcdef';
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

function hexOf(bytes: Uint8Array, from: number, count: number): string {
  let s = '';
  for (let i = from; i < from + count; i++) {
    const b = bytes[i] ?? 0;
    s += HEX[b >> 4] ?? '0';
    s += HEX[b & 15] ?? '0';
  }
  return s;
}

/** Ids from a pool refilled by `fill` (e.g. `crypto.randomFillSync`) every 4 KiB. */
export function randomIdSource(fill: (buffer: Uint8Array) => void, poolBytes = 4096): IdSource {
  const pool = new Uint8Array(poolBytes);
  let offset = poolBytes;
  const take = (n: number, zero: string): string => {
    for (;;) {
      if (offset + n > pool.length) {
        fill(pool);
        offset = 0;
      }
      const id = hexOf(pool, offset, n);
      offset += n;
      if (id !== zero) return id; // all-zero ids are invalid in W3C trace context
    }
  };
  return { traceId: () => take(16, ZERO_TRACE), spanId: () => take(8, ZERO_SPAN) };
}

const TRACEPARENT_00 = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const TRACEPARENT_ANY = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** W3C Trace Context `traceparent`; undefined when invalid (then it must be ignored). */
export function parseTraceparent(value: string): { traceId: string; parentId: string; sampled: boolean } | undefined {
  const v = value.trim();
  let traceId: string | undefined;
  let parentId: string | undefined;
  let flags: string | undefined;
  const m00 = TRACEPARENT_00.exec(v);
  if (m00) {
    [, traceId, parentId, flags] = m00;
  } else {
    // A later version may append fields; version ff is forbidden, and 00 must match exactly.
    const m = TRACEPARENT_ANY.exec(v);
    if (!m || m[1] === 'ff' || m[1] === '00') return undefined;
    [, , traceId, parentId, flags] = m;
  }
  if (!traceId || !parentId || !flags || traceId === ZERO_TRACE || parentId === ZERO_SPAN) return undefined;
  return { traceId, parentId, sampled: (parseInt(flags, 16) & 1) === 1 };
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
    return {
      traceId: gcp.traceId,
      spanId,
      ...(gcp.spanId !== undefined ? { parentSpanId: gcp.spanId } : {}),
      sampled: gcp.sampled ?? false,
      generated: false,
    };
  }
  return { traceId: ids.traceId(), spanId, sampled: sampleNew, generated: true };
}

/** The headers to pass to the app: both formats, kumo's span as the parent. */
export function traceHeaders(ctx: TraceContext): { traceparent: string; 'x-cloud-trace-context': string } {
  const flag = ctx.sampled ? 1 : 0;
  return {
    traceparent: `00-${ctx.traceId}-${ctx.spanId}-0${flag}`,
    'x-cloud-trace-context': `${ctx.traceId}/${BigInt(`0x${ctx.spanId}`).toString(10)};o=${flag}`,
  };
}

/** Cloud Logging's trace field: `projects/PROJECT/traces/TRACE_ID`. */
export function traceResourceName(project: string, traceId: string): string {
  return `projects/${project}/traces/${traceId}`;
}
