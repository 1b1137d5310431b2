/**
 * The front door: one HTTP port routed by Host. `SERVICE.localhost` (and `TAG---SERVICE.…`)
 * reach services through the invoker check, the traffic split and the revision's dispatcher;
 * every other host is kumo itself (dashboard, API, registry), handed to `control`.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { KumoError } from '../../shared/errors.js';
import type { Dispatchers } from '../dispatcher/dispatchers.js';
import type { RevisionPool } from '../dispatcher/revision-pool.js';
import { parseServiceHost } from '../naming.js';
import type { RouteTable } from '../route-table.js';
import { pickRevision, revisionForTag } from '../traffic.js';
import { scanHeaders, upstreamHeaders } from './headers.js';
import type { InboundHeaders } from './headers.js';
import type { InvokerCheck } from './invoker.js';
import { ProxyCall, sendError } from './proxy-call.js';
import type { CallEvents } from './proxy-call.js';
import { rejectUpgrade, UpgradeCall } from './upgrade.js';

/** Cloud Run's HTTP/1 request size limit. */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;

export interface FrontDoorOptions {
  host: string;
  port: number;
  domain: string;
  routes: RouteTable;
  dispatchers: Dispatchers;
  invoker: InvokerCheck;
  now(): number;
  random(): number;
  /** kumo's own handlers (dashboard, /api, /v2) for hosts that name no service. */
  control(req: IncomingMessage, res: ServerResponse): void;
  /** Observes every finished call (request logs, metrics). */
  events?: CallEvents;
  maxBodyBytes?: number;
}

interface Routed {
  pool: RevisionPool;
  headers: string[];
}

const NO_EVENTS: CallEvents = { ended: () => undefined };

export class FrontDoor {
  readonly server: Server;
  private readonly maxBody: number;
  private readonly events: CallEvents;

  constructor(private readonly o: FrontDoorOptions) {
    this.maxBody = o.maxBodyBytes ?? MAX_BODY_BYTES;
    this.events = o.events ?? NO_EVENTS;
    this.server = createServer({ requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 65_000 }, (req, res) => this.onRequest(req, res));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
    this.server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.o.port, this.o.host, () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private route(req: IncomingMessage, h: InboundHeaders, keepUpgrade: boolean): Routed | KumoError | undefined {
    const target = parseServiceHost(h.host, this.o.domain);
    if (!target) return undefined;
    const entry = this.o.routes.get(target.service);
    if (!entry) {
      return new KumoError('NOT_FOUND', `no service named "${target.service}" on this kumo; list services with \`kumo run services list\``, { service: target.service });
    }
    const denied = this.o.invoker.check(entry, h.authorization);
    if (denied) return denied;
    const revName = target.tag ? revisionForTag(entry.targets, target.tag) : pickRevision(entry.targets, this.o.random());
    if (!revName) {
      return target.tag
        ? new KumoError('NOT_FOUND', `service ${entry.service} has no traffic tag "${target.tag}"`, { service: entry.service })
        : new KumoError('UNAVAILABLE', `service ${entry.service} has no ready revision to send traffic to; see \`kumo run services describe ${entry.service}\``, {
            service: entry.service,
            retryAfterSec: 5,
          });
    }
    const rev = entry.revisions.get(revName);
    if (!rev) return new KumoError('UNAVAILABLE', `revision ${revName} is not available`, { revision: revName, retryAfterSec: 1 });
    const fwd = { remoteAddress: req.socket.remoteAddress ?? '', host: h.host ?? '', proto: 'http' as const };
    return { pool: this.o.dispatchers.pool(rev), headers: upstreamHeaders(req.rawHeaders, h, fwd, keepUpgrade) };
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const h = scanHeaders(req.rawHeaders);
    const routed = this.route(req, h, false);
    if (routed === undefined) {
      this.o.control(req, res);
      return;
    }
    if (routed instanceof KumoError) {
      req.resume();
      sendError(res, routed);
      return;
    }
    if (h.contentLength !== undefined && h.contentLength > this.maxBody) {
      req.resume();
      res.shouldKeepAlive = false;
      sendError(res, new KumoError('PAYLOAD_TOO_LARGE', `request body of ${h.contentLength} bytes is over the ${this.maxBody / 1024 ** 2} MiB limit (Cloud Run's HTTP/1 limit)`));
      return;
    }
    const body = h.chunked ? 'chunked' : h.contentLength ? 'stream' : 'none';
    const call = new ProxyCall(req, res, routed.pool, routed.headers, body, this.maxBody, this.events, this.o.now());
    call.start(routed.pool.settings.timeoutMs);
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const h = scanHeaders(req.rawHeaders);
    const routed = this.route(req, h, true);
    if (routed === undefined) {
      rejectUpgrade(socket, new KumoError('NOT_FOUND', 'kumo itself does not accept upgrades; use SERVICE.localhost'));
      return;
    }
    if (routed instanceof KumoError) {
      rejectUpgrade(socket, routed);
      return;
    }
    new UpgradeCall(req, socket, head, routed.pool, routed.headers).start(routed.pool.settings.timeoutMs);
  }
}
