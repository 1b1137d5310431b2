/**
 * kumo's own control-plane API under `/api/`: services, revisions, operations, sources, logs
 * and instances. Every call needs a kumo access token, or the dashboard's session (its page
 * calls these same routes); the admin API is never open, and no body is read before the caller
 * is checked. JSON bodies count against the server's body budget.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerFrom } from '../auth/tokens.js';
import type { TokenClaims } from '../auth/tokens.js';
import { BodyBudget } from '../shared/body-budget.js';
import type { BodyLease } from '../shared/body-budget.js';
import { KumoError } from '../shared/errors.js';
import { continueIfExpected } from '../shared/request-body.js';
import type { LogStore } from '../observability/logs/log.store.js';
import { matches } from '../observability/logs/log.store.js';
import type { LogKind, Severity } from '../observability/log.types.js';
import { SEVERITY_ORDER } from '../observability/log.types.js';
import type { Dispatchers } from '../serving/dispatcher/dispatchers.js';
import type { ServingController } from '../serving/serving.controller.js';
import type { ServiceInput } from '../serving/service.types.js';
import type { SourceStore } from '../serving/source.store.js';
import { readJson as readJsonWithin, Routes, sendApiError, sendJson, timeParam } from './http.js';

export interface ApiOptions {
  control: ServingController;
  sources: SourceStore;
  logs: LogStore;
  dispatchers: Dispatchers;
  /** Throws KumoError UNAUTHENTICATED / PERMISSION_DENIED. */
  authenticate(token: string): TokenClaims;
  /**
   * A call without a token may carry the dashboard's session: true lets it through, a KumoError
   * refuses it (ended session, cross-site call), undefined means it has none.
   */
  session?(req: IncomingMessage): true | KumoError | undefined;
  info(): Record<string, unknown>;
  now(): number;
  /** More routes from other rooms (registry admin, billing, metrics). */
  extend?(routes: Routes): void;
  /** Shared with the Google API port (default: a budget of its own). */
  bodyBudget?: BodyBudget;
}

function boolParam(url: URL, name: string): boolean {
  const v = url.searchParams.get(name);
  return v === 'true' || v === '1';
}

function intParam(url: URL, name: string, dflt: number, min: number, max: number): number {
  const v = url.searchParams.get(name);
  if (v === null) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new KumoError('INVALID_ARGUMENT', `${name} must be a whole number from ${min} to ${max}; got "${v}"`, { field: name });
  }
  return n;
}

function severityParam(url: URL): Severity | undefined {
  const v = url.searchParams.get('severity');
  if (v === null) return undefined;
  const s = v.toUpperCase() as Severity;
  if (!SEVERITY_ORDER.includes(s)) {
    throw new KumoError('INVALID_ARGUMENT', `severity must be one of ${SEVERITY_ORDER.join(', ')}; got "${v}"`, { field: 'severity' });
  }
  return s;
}

const LOG_KINDS: readonly LogKind[] = ['stdout', 'stderr', 'requests', 'system'];

function kindsParam(url: URL): LogKind[] | undefined {
  const v = url.searchParams.get('kinds');
  if (v === null) return undefined;
  const kinds = v.split(',');
  const bad = kinds.find((k) => !LOG_KINDS.includes(k as LogKind));
  if (bad !== undefined) throw new KumoError('INVALID_ARGUMENT', `kinds must be a comma-separated list of ${LOG_KINDS.join(', ')}; got "${bad}"`, { field: 'kinds' });
  return kinds as LogKind[];
}

/** A free-text parameter: at most 200 characters, no control characters. */
function textParam(url: URL, name: string): string | undefined {
  const v = url.searchParams.get(name);
  if (v === null || v === '') return undefined;
  // eslint-disable-next-line no-control-regex
  if (v.length > 200 || /[\u0000-\u001f]/.test(v)) {
    throw new KumoError('INVALID_ARGUMENT', `${name} must be at most 200 characters with no control characters`, { field: name });
  }
  return v;
}

export function createApi(o: ApiOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const routes = new Routes();
  const c = o.control;
  const budget = o.bodyBudget ?? new BodyBudget();
  // Each authorized request's lease on the body budget (released when its answer is done).
  const leases = new WeakMap<IncomingMessage, BodyLease>();
  const readJson = (req: IncomingMessage, res: ServerResponse): Promise<unknown> => {
    const lease = leases.get(req);
    if (!lease) return Promise.reject(new KumoError('INTERNAL', 'a body was read before the call was authorized'));
    return readJsonWithin(req, res, lease);
  };

  routes.add('GET', '/api/config', (_req, res) => sendJson(res, 200, o.info()));
  routes.add('GET', '/api/services', (_req, res) => sendJson(res, 200, { items: c.listServices() }));
  routes.add('GET', '/api/services/:name', (_req, res, p) => sendJson(res, 200, c.getService(p.name ?? '')));
  const apply = (mode: 'create' | 'apply') => async (req: IncomingMessage, res: ServerResponse, p: Record<string, string>, url: URL) => {
    const body = (await readJson(req, res)) as ServiceInput;
    if (p.name && body?.metadata?.name !== p.name) {
      throw new KumoError('INVALID_ARGUMENT', `metadata.name "${String(body?.metadata?.name)}" does not match the URL's "${p.name}"`, { field: 'metadata.name' });
    }
    const region = url.searchParams.get('region') ?? undefined;
    const out = c.applyService(body, { mode, validateOnly: boolParam(url, 'validateOnly'), actor: 'admin', ...(region ? { region } : {}) });
    sendJson(res, mode === 'create' ? 201 : 200, out);
  };
  routes.add('POST', '/api/services', apply('create'));
  routes.add('PUT', '/api/services/:name', apply('apply'));
  routes.add('DELETE', '/api/services/:name', (_req, res, p) => sendJson(res, 200, c.deleteService(p.name ?? '')));
  routes.add('GET', '/api/services/:name/iam', (_req, res, p) => sendJson(res, 200, c.getIamPolicy(p.name ?? '')));
  routes.add('PUT', '/api/services/:name/iam', async (req, res, p) => {
    sendJson(res, 200, c.setIamPolicy(p.name ?? '', (await readJson(req, res)) as never));
  });
  routes.add('GET', '/api/services/:name/instances', (_req, res, p) => {
    const name = p.name ?? '';
    c.getService(name);
    const out = [];
    for (const [rev, pool] of o.dispatchers.all()) {
      if (!rev.startsWith(`${name}-`)) continue;
      for (const s of pool.instances) {
        out.push({ revision: rev, id: s.id, state: s.state, inFlight: s.inFlight, startReason: s.startReason, frozen: s.frozen, timings: s.instance?.timings });
      }
    }
    sendJson(res, 200, { items: out });
  });
  routes.add('GET', '/api/revisions', (_req, res, _p, url) => {
    const service = url.searchParams.get('service') ?? undefined;
    sendJson(res, 200, { items: c.listRevisions(service) });
  });
  routes.add('GET', '/api/revisions/:name', (_req, res, p) => sendJson(res, 200, c.getRevision(p.name ?? '')));
  routes.add('DELETE', '/api/revisions/:name', (_req, res, p) => sendJson(res, 200, c.deleteRevision(p.name ?? '')));
  routes.add('GET', '/api/operations', (_req, res) => sendJson(res, 200, { items: c.listOperations() }));
  routes.add('GET', '/api/operations/*', async (_req, res, p, url) => {
    const name = p['*'] ?? '';
    const waitMs = intParam(url, 'waitMs', 0, 0, 60_000);
    const since = url.searchParams.get('since') ?? undefined;
    sendJson(res, 200, waitMs > 0 ? await c.waitOperation(name, waitMs, since) : c.getOperation(name));
  });
  routes.add('POST', '/api/sources', async (req, res) => {
    sendJson(res, 201, await o.sources.put(req));
  });
  routes.add('GET', '/api/services/:name/logs', async (_req, res, p, url) => {
    const service = p.name ?? '';
    const severity = severityParam(url);
    const since = timeParam(url, 'since', o.now());
    const until = timeParam(url, 'until', o.now());
    const revision = url.searchParams.get('revision') ?? undefined;
    const kinds = kindsParam(url);
    const text = textParam(url, 'text');
    const trace = textParam(url, 'trace');
    const entries = await o.logs.query({
      service,
      limit: intParam(url, 'limit', 100, 1, 10_000),
      ...(severity ? { severity } : {}),
      ...(since !== undefined ? { sinceMs: since } : {}),
      ...(until !== undefined ? { untilMs: until } : {}),
      ...(revision ? { revision } : {}),
      ...(kinds ? { kinds } : {}),
      ...(text ? { text } : {}),
      ...(trace ? { trace } : {}),
    });
    sendJson(res, 200, { entries });
  });
  routes.add('GET', '/api/services/:name/logs/tail', (req, res, p, url) => {
    const service = p.name ?? '';
    const severity = severityParam(url);
    const revision = url.searchParams.get('revision') ?? undefined;
    const text = textParam(url, 'text');
    const filter = { service, ...(severity ? { severity } : {}), ...(revision ? { revision } : {}), ...(text ? { text } : {}) };
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(': tailing logs\n\n');
    const off = o.logs.subscribe((e) => {
      if (matches(filter, e)) res.write(`data: ${JSON.stringify(e)}\n\n`);
    });
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    req.on('close', () => {
      off();
      clearInterval(ping);
    });
  });
  o.extend?.(routes);

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://kumo.local');
    const run = async () => {
      const m = routes.match(req.method ?? 'GET', url.pathname);
      if (m === undefined) throw new KumoError('NOT_FOUND', `no API route ${req.method ?? ''} ${url.pathname}`);
      if (m === 'method') throw new KumoError('INVALID_ARGUMENT', `${req.method ?? ''} is not allowed on ${url.pathname}`);
      const token = bearerFrom(req.headers.authorization);
      if (token) o.authenticate(token);
      else {
        const session = o.session?.(req);
        if (session instanceof KumoError) throw session;
        if (session !== true) throw new KumoError('UNAUTHENTICATED', 'the kumo API needs an access token: send "Authorization: Bearer $(kumo auth print-access-token)"');
      }
      const lease = budget.lease();
      leases.set(req, lease);
      res.once('close', () => lease.release());
      // Streamed uploads (sources) read the body themselves: give an `Expect: 100-continue` client its go-ahead now.
      continueIfExpected(req, res);
      await m.handler(req, res, m.params, url);
    };
    run().catch((err: unknown) => sendApiError(res, err));
  };
}

