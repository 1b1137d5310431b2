/**
 * What the front door answers for hosts that name no service (kumo itself): the API under
 * `/api/`, the registry under `/v2/`, Prometheus text at `/metrics`, `/healthz`, and a plain
 * index at `/` until the dashboard lands.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendApiError } from '../api/http.js';
import { PROMETHEUS_CONTENT_TYPE } from '../observability/metrics/index.js';
import type { RouteTable } from '../serving/route-table.js';
import { KumoError } from '../shared/errors.js';

export interface KumoEndpoints {
  api(req: IncomingMessage, res: ServerResponse): void;
  registry(req: IncomingMessage, res: ServerResponse): void;
  prometheus(): string;
  routes: RouteTable;
  version: string;
  domain: string;
  port(): number;
}

export function kumoEndpoints(o: KumoEndpoints): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = req.url ?? '/';
    if (path.startsWith('/api/')) return o.api(req, res);
    if (path === '/v2' || path.startsWith('/v2/')) return o.registry(req, res);
    if (path === '/metrics') {
      const text = o.prometheus();
      res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
      return;
    }
    if (path === '/' || path === '/index.html') {
      const names = o.routes.names();
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`kumo ${o.version}\n\n${names.length === 0 ? 'No services yet: kumo run deploy NAME --source DIR\n' : names.map((n) => `${n}  ${o.routes.get(n)?.url ?? ''}`).join('\n') + '\n'}`);
      return;
    }
    sendApiError(res, new KumoError('NOT_FOUND', `nothing at ${path} on kumo itself; services answer at http://NAME.${o.domain}:${o.port()}`));
  };
}
