/**
 * What the front door answers for hosts that name no service (kumo itself): the API under
 * `/api/`, the registry under `/v2/`, Prometheus text at `/metrics` (an access token, or
 * `--metrics-open` for processes on this machine), `/healthz`, and the dashboard for every other
 * path (nothing without its session).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendApiError } from '../api/http.js';
import { bearerFrom } from '../auth/tokens.js';
import { PROMETHEUS_CONTENT_TYPE } from '../observability/metrics/index.js';
import { KumoError } from '../shared/errors.js';

export interface KumoEndpoints {
  api(req: IncomingMessage, res: ServerResponse): void;
  registry(req: IncomingMessage, res: ServerResponse): void;
  /** The dashboard: sign-in, its shell and assets. */
  web(req: IncomingMessage, res: ServerResponse): void;
  prometheus(): string;
  /** Throws KumoError for a token that is not a valid access token. */
  authenticate(token: string): void;
  /** `--metrics-open`: token-less scrapes from host peers. */
  metricsOpen: boolean;
  /**
   * Whether the peer is a process on this machine that is none of kumo's instances (only these
   * get `--metrics-open`'s token-less access).
   */
  hostPeer(req: IncomingMessage): boolean | Promise<boolean>;
}

async function metricsAllowed(o: KumoEndpoints, req: IncomingMessage): Promise<void> {
  const token = bearerFrom(req.headers.authorization);
  if (token) {
    o.authenticate(token);
    return;
  }
  if (o.metricsOpen && (await o.hostPeer(req))) return;
  throw new KumoError(
    'UNAUTHENTICATED',
    o.metricsOpen
      ? '/metrics is open only to processes on this machine (--metrics-open); others send "Authorization: Bearer $(kumo auth print-access-token)"'
      : '/metrics needs an access token: send "Authorization: Bearer $(kumo auth print-access-token)", or start kumo server with --metrics-open to let processes on this machine scrape it without one',
  );
}

export function kumoEndpoints(o: KumoEndpoints): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = req.url ?? '/';
    if (path.startsWith('/api/')) return o.api(req, res);
    if (path === '/v2' || path.startsWith('/v2/')) return o.registry(req, res);
    if (path === '/metrics') {
      metricsAllowed(o, req).then(
        () => {
          const text = o.prometheus();
          res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
          res.end(text);
        },
        (err: unknown) => sendApiError(res, err),
      );
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
      return;
    }
    o.web(req, res);
  };
}
