/** Small HTTP helpers for kumo's JSON API: read a bounded JSON body, answer JSON or a coded error. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { asKumoError, httpStatusOf, KumoError } from '../shared/errors.js';

export const MAX_JSON_BYTES = 4 * 1024 * 1024;

export async function readBody(req: IncomingMessage, maxBytes = MAX_JSON_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > maxBytes) throw new KumoError('PAYLOAD_TOO_LARGE', `request body is over ${maxBytes} bytes`);
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

export async function readJson(req: IncomingMessage): Promise<unknown> {
  const buf = await readBody(req);
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
