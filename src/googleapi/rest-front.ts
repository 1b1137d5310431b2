/**
 * The REST/JSON side (HTTP/1.1): hand-written routes first (APIs with no proto), then the generic
 * transcoder over the protos' http annotations. Every failure is a Google-style JSON error.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { KumoError } from '../shared/errors.js';
import { authorize } from './auth.js';
import { jsonToObject, objectToJson } from './json-codec.js';
import type { Json, JsonObject } from './json.types.js';
import { matchTemplate } from './path-template.js';
import type { CallContext } from './plugin.types.js';
import type { Registry } from './registry.js';
import { unimplemented } from './grpc-front.js';
import { restErrorOf } from './status.js';
import { parseJsonBody } from './transcoder.js';

export interface RestOptions {
  maxBodyBytes: number;
  log: (line: string) => void;
  /** When set, every REST request and its status are reported (diagnosing what a client sends). */
  trace?: (line: string) => void;
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new KumoError('PAYLOAD_TOO_LARGE', `request body is larger than ${limit} bytes`));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function headersOf(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function send(res: ServerResponse, status: number, body: Json | undefined): void {
  const text = body === undefined ? '' : `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function restHandler(registry: Registry, options: RestOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (options.trace) {
      const trace = options.trace;
      res.once('finish', () => trace(`${req.method} ${req.headers.host ?? ''} ${req.url} -> ${res.statusCode}`));
    }
    void handle(registry, options, req, res).catch((err: unknown) => {
      if (!(err instanceof KumoError)) options.log(`googleapi: internal error on ${req.method} ${req.url}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      const { status, body } = restErrorOf(err);
      if (!res.headersSent) send(res, status, body);
      else res.destroy();
    });
  };
}

async function handle(registry: Registry, options: RestOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
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
  const bodyText = await readBody(req, options.maxBodyBytes);
  if (options.trace && bodyText) options.trace(`${method} ${req.url} body: ${bodyText.slice(0, 4000)}`);
  const remote = req.socket.remoteAddress;

  for (const { route, template, policy } of registry.restRoutes) {
    if (route.method !== method) continue;
    const vars = matchTemplate(template, rawPath);
    if (!vars) continue;
    const principal = await authorize(policy, headers['authorization'], remote, registry.auth, route.id);
    const ctx: CallContext = { method: route.id, transport: 'rest', headers, host, principal };
    const body = parseJsonBody(bodyText);
    const out = await route.handle({ method, params: Object.fromEntries(vars), query: url.searchParams, body }, ctx);
    send(res, out.status ?? 200, out.body);
    return;
  }

  const match = registry.transcoder.match(method, rawPath);
  if (!match) throw new KumoError('NOT_FOUND', `no API answers ${method} ${rawPath} on kumo's Google API port`);
  if ('methodMismatch' in match) {
    throw new KumoError('NOT_FOUND', `${rawPath} does not accept ${method}; it accepts ${[...new Set(match.methodMismatch)].join(', ')}`);
  }
  const rpc = registry.rpcs.get(match.binding.rpc);
  if (!rpc) throw new KumoError('INTERNAL', `no RPC ${match.binding.rpc}`);
  const principal = await authorize(rpc.policy, headers['authorization'], remote, registry.auth, rpc.name);
  if (!rpc.handler) throw unimplemented(rpc);
  const request = registry.transcoder.request(match, url.searchParams, bodyText);
  const ctx: CallContext = { method: rpc.name, transport: 'rest', headers, host, principal };
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
