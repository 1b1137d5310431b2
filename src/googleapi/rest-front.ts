/**
 * The REST/JSON side (HTTP/1.1): hand-written routes first (APIs with no proto), then the generic
 * transcoder over the protos' http annotations. Every failure is a Google-style JSON error.
 *
 * Order matters for memory: the route and its auth policy are found from the request line, the
 * caller is authorized from the headers and the connection's origin, and only then is the body
 * read, within the API's limit and the server-wide body budget. A refused call's body is never
 * read: the answer carries `Connection: close`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BodyBudget, BodyLease } from '../shared/body-budget.js';
import { KumoError } from '../shared/errors.js';
import type { Origin } from '../shared/origin.js';
import { closeIfUnread, readRequestBody } from '../shared/request-body.js';
import { authorize } from './auth.js';
import { jsonToObject, objectToJson } from './json-codec.js';
import type { Json, JsonObject } from './json.types.js';
import { matchTemplate } from './path-template.js';
import type { CallContext } from './plugin.types.js';
import type { CompiledRestRoute, Registry, Rpc } from './registry.js';
import { unimplemented } from './grpc-front.js';
import { restErrorOf } from './status.js';
import type { TranscodeMatch } from './transcoder.js';
import { parseJsonBody } from './transcoder.js';

export interface RestOptions {
  budget: BodyBudget;
  /** The origin of a request's connection (memoized per connection). */
  originOf(req: IncomingMessage): Promise<Origin>;
  log: (line: string) => void;
  /** When set, every REST request and its status are reported (diagnosing what a client sends). */
  trace?: (line: string) => void;
}

function headersOf(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function send(res: ServerResponse, status: number, body: Json | undefined, extra: Record<string, string | number> = {}): void {
  const text = body === undefined ? '' : `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text), ...extra });
  res.end(text);
}

export function restHandler(registry: Registry, options: RestOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (options.trace) {
      const trace = options.trace;
      res.once('finish', () => trace(`${req.method} ${req.headers.host ?? ''} ${req.url} -> ${res.statusCode}`));
    }
    const lease = options.budget.lease();
    res.once('close', () => lease.release());
    void handle(registry, options, req, res, lease).catch((err: unknown) => {
      if (!(err instanceof KumoError)) options.log(`googleapi: internal error on ${req.method} ${req.url}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      const { status, body } = restErrorOf(err);
      if (res.headersSent) return void res.destroy();
      closeIfUnread(req, res);
      const retry = err instanceof KumoError ? err.fields.retryAfterSec : undefined;
      send(res, status, body, retry !== undefined ? { 'retry-after': retry } : {});
    });
  };
}

type Target = { kind: 'route'; compiled: CompiledRestRoute; vars: Map<string, string> } | { kind: 'rpc'; rpc: Rpc; match: TranscodeMatch };

/** The route a request line names, without reading anything else. */
function targetOf(registry: Registry, method: string, rawPath: string): Target {
  for (const compiled of registry.restRoutes) {
    if (compiled.route.method !== method) continue;
    const vars = matchTemplate(compiled.template, rawPath);
    if (vars) return { kind: 'route', compiled, vars };
  }
  const match = registry.transcoder.match(method, rawPath);
  if (!match) throw new KumoError('NOT_FOUND', `no API answers ${method} ${rawPath} on kumo's Google API port`);
  if ('methodMismatch' in match) {
    throw new KumoError('NOT_FOUND', `${rawPath} does not accept ${method}; it accepts ${[...new Set(match.methodMismatch)].join(', ')}`);
  }
  const rpc = registry.rpcs.get(match.binding.rpc);
  if (!rpc) throw new KumoError('INTERNAL', `no RPC ${match.binding.rpc}`);
  return { kind: 'rpc', rpc, match };
}

async function handle(registry: Registry, options: RestOptions, req: IncomingMessage, res: ServerResponse, lease: BodyLease): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  // Absolute-form targets (through an HTTP proxy) carry the host in the URL.
  const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
  const rawPath = url.pathname;
  const headers = headersOf(req);
  const host = url.host;
  const alt = url.searchParams.get('$alt') ?? url.searchParams.get('alt') ?? 'json';
  const [format, ...altOptions] = alt.split(';');
  if (format !== 'json') throw new KumoError('UNIMPLEMENTED', `alt=${format} is not supported; kumo's REST front answers JSON only (alt=json)`);
  const enumsAsInts = altOptions.includes('enum-encoding=int');
  let origin: Promise<Origin> | undefined;
  const originOnce = (): Promise<Origin> => (origin ??= options.originOf(req));

  const target = targetOf(registry, method, rawPath);
  const [policy, id, limitBytes] = target.kind === 'route' ? [target.compiled.policy, target.compiled.route.id, target.compiled.maxRequestBytes] : [target.rpc.policy, target.rpc.name, target.rpc.maxRequestBytes];
  const principal = await authorize(policy, headers['authorization'], originOnce, registry.auth, id);
  if (target.kind === 'rpc' && !target.rpc.handler) throw unimplemented(target.rpc);
  const bodyText = (await readRequestBody(req, res, { limitBytes, lease })).toString('utf8');
  if (options.trace && bodyText) options.trace(`${method} ${req.url} body: ${bodyText.slice(0, 4000)}`);
  const ctx: CallContext = { method: id, transport: 'rest', headers, host, principal, origin: originOnce };

  if (target.kind === 'route') {
    const body = parseJsonBody(bodyText);
    const out = await target.compiled.route.handle({ method, params: Object.fromEntries(target.vars), query: url.searchParams, body }, ctx);
    send(res, out.status ?? 200, out.body);
    return;
  }
  const { rpc, match } = target;
  const request = registry.transcoder.request(match, url.searchParams, bodyText);
  if (!rpc.handler) throw unimplemented(rpc);
  const response = await rpc.handler(request, ctx);
  let out: JsonObject;
  try {
    out = objectToJson(registry.root, rpc.responseType, jsonToObject(registry.root, rpc.responseType, response), { enumsAsInts });
  } catch (err) {
    throw new KumoError('INTERNAL', `kumo built an invalid ${rpc.responseType.name}: ${err instanceof Error ? err.message : String(err)}`, {}, { cause: err });
  }
  const responseBody = match.binding.responseBody;
  send(res, 200, responseBody ? (out[responseBody] ?? null) : out);
}
