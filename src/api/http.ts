/** Small HTTP helpers for kumo's JSON API: read a bounded JSON body, answer JSON or a coded error. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BodyLease } from '../shared/body-budget.js';
import { asKumoError, httpStatusOf, KumoError } from '../shared/errors.js';
import { closeIfUnread, readRequestBody } from '../shared/request-body.js';
import { parseDurationMs } from '../shared/units.js';

export const MAX_JSON_BYTES = 4 * 1024 * 1024;

/** A JSON body of at most 4 MiB, taken from the server's body budget as it arrives (call once authorized). */
export async function readJson(req: IncomingMessage, res: ServerResponse, lease: BodyLease): Promise<unknown> {
  const buf = await readRequestBody(req, res, { limitBytes: MAX_JSON_BYTES, lease });
  if (buf.length === 0) throw new KumoError('INVALID_ARGUMENT', 'the request needs a JSON body');
  try {
    return JSON.parse(buf.toString('utf8')) as unknown;
  } catch (err) {
    throw new KumoError('INVALID_ARGUMENT', `the body is not valid JSON: ${(err as Error).message}`, { field: 'body' });
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** Errors as JSON in Google's shape: `{ error: { code, status, message, details } }`. */
export function sendApiError(res: ServerResponse, err: unknown): void {
  const e = asKumoError(err);
  if (e.code === 'INTERNAL') console.error('kumo: internal error:', err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // A body left unread (a refused call) is not read afterwards: the connection closes instead.
  closeIfUnread(res.req, res);
  const status = httpStatusOf(e.code);
  const headers: Record<string, string | number> = {};
  if (e.fields.retryAfterSec !== undefined) headers['retry-after'] = e.fields.retryAfterSec;
  if (status === 401) headers['www-authenticate'] = 'Bearer realm="kumo"';
  const body = JSON.stringify({
    error: {
      code: status,
      status: e.code,
      message: e.message,
      ...(e.fields.violations ? { details: [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: e.fields.violations }] } : {}),
    },
  });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

export type Params = Record<string, string>;
export type Handler = (req: IncomingMessage, res: ServerResponse, params: Params, url: URL) => Promise<void> | void;

interface Route {
  method: string;
  parts: string[];
  handler: Handler;
}

/** Method + path pattern routing (`/api/services/:name`, a trailing `*` takes the rest). */
export class Routes {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method, parts: pattern.split('/').filter(Boolean), handler });
    return this;
  }

  match(method: string, path: string): { handler: Handler; params: Params } | 'method' | undefined {
    const parts = path.split('/').filter(Boolean);
    let methodMismatch = false;
    for (const r of this.routes) {
      const params = matchParts(r.parts, parts);
      if (!params) continue;
      if (r.method !== method) {
        methodMismatch = true;
        continue;
      }
      return { handler: r.handler, params };
    }
    return methodMismatch ? 'method' : undefined;
  }
}

function matchParts(pattern: string[], parts: string[]): Params | undefined {
  const params: Params = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] as string;
    if (p === '*') {
      params['*'] = parts.slice(i).map(decodeURIComponent).join('/');
      return parts.length > i ? params : undefined;
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (p.startsWith(':')) params[p.slice(1)] = decodeURIComponent(part);
    else if (p !== part) return undefined;
  }
  return parts.length === pattern.length ? params : undefined;
}

/** A time query parameter: an RFC 3339 time, or a duration back from now (`10m`, `7d` as `168h`). */
export function timeParam(url: URL, name: string, now: number): number | undefined {
  const v = url.searchParams.get(name);
  if (v === null) return undefined;
  const days = /^(\d+)d$/.exec(v);
  const d = days ? Number(days[1]) * 86_400_000 : parseDurationMs(v);
  if (d !== undefined) return now - d;
  const t = Date.parse(v);
  if (Number.isNaN(t)) {
    throw new KumoError('INVALID_ARGUMENT', `${name} must be a time (2026-01-02T15:04:05Z) or a duration back from now (10m, 2h, 7d); got "${v}"`, { field: name });
  }
  return t;
}
