/** Log rows for the viewer: one line of text per entry, request entries with their app lines. Pure. */
import type { LogEntry } from '../../../observability/log.types.js';

export interface LogRow {
  entry: LogEntry;
  /** 1 for an app line shown under its request. */
  depth: 0 | 1;
}

/** What a person reads on one line. */
export function lineText(e: LogEntry): string {
  if (e.httpRequest) {
    const h = e.httpRequest;
    let path = h.requestUrl;
    try {
      const u = new URL(h.requestUrl);
      path = u.pathname + u.search;
    } catch {
      // keep it as sent
    }
    return `${h.requestMethod} ${path} ${h.status}${h.latency ? ` ${(Number.parseFloat(h.latency) * 1000).toFixed(1)} ms` : ''}${h.responseSize ? ` ${h.responseSize} B` : ''}`;
  }
  if (e.textPayload !== undefined) return e.textPayload;
  const msg = e.jsonPayload?.message;
  if (typeof msg === 'string') {
    const rest = Object.keys(e.jsonPayload ?? {}).filter((k) => k !== 'message');
    return rest.length > 0 ? `${msg}  ${JSON.stringify(Object.fromEntries(rest.map((k) => [k, e.jsonPayload?.[k]])))}` : msg;
  }
  return JSON.stringify(e.jsonPayload ?? {});
}

/**
 * In time order; with `group`, each request entry is followed by the app lines of the same
 * trace (found anywhere in `entries`), and those lines are not repeated in their own place.
 */
export function logRows(entries: readonly LogEntry[], group: boolean): LogRow[] {
  if (!group) return entries.map((entry) => ({ entry, depth: 0 }));
  const byTrace = new Map<string, LogEntry[]>();
  const requestTraces = new Set<string>();
  for (const e of entries) {
    if (!e.trace) continue;
    if (e.kind === 'requests') requestTraces.add(e.trace);
    else {
      const list = byTrace.get(e.trace) ?? [];
      list.push(e);
      byTrace.set(e.trace, list);
    }
  }
  const out: LogRow[] = [];
  for (const e of entries) {
    if (e.kind !== 'requests' && e.trace && requestTraces.has(e.trace)) continue;
    out.push({ entry: e, depth: 0 });
    if (e.kind === 'requests' && e.trace) for (const child of byTrace.get(e.trace) ?? []) out.push({ entry: child, depth: 1 });
  }
  return out;
}

/** Which rows a scrolled box of fixed-height rows shows, with a margin either side. */
export function visibleRange(scrollTop: number, viewportPx: number, rowPx: number, count: number, overscan = 10): { first: number; last: number } {
  const first = Math.max(0, Math.floor(scrollTop / rowPx) - overscan);
  const last = Math.min(count, Math.ceil((scrollTop + viewportPx) / rowPx) + overscan);
  return { first, last };
}
