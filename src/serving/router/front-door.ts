/**
 * The front door: one HTTP port routed by Host. `SERVICE.localhost` (and `TAG---SERVICE.…`)
 * reach services through the invoker check, the traffic split and the revision's dispatcher;
 * every other host is kumo itself (dashboard, API, registry), handed to `control`.
 *
 * Service traffic runs on the router's own HTTP/1.1 engine on raw sockets (`raw-conn.ts`,
 * `raw-call.ts`): Node's http.Server and undici cost most of a proxied request's CPU. A
 * connection whose request names kumo itself, or that the engine leaves to Node (HTTP/1.0,
 * Upgrade, absolute-form targets), is handed to the http.Server at a request boundary; that
 * server still routes services too (through undici), so nothing depends on which side has it.
 *
 * Connections arrive on the front door's own listener or, from instances, handed over in-process
 * by the runtime's gateway listener (`accept`); either way the socket keeps its real peer, and
 * `originOf` says who that is (a host process, which instance, or a remote peer).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { KumoError } from '../../shared/errors.js';
import type { Origin, Origins } from '../../shared/origin.js';
import { WITHOUT_INSTANCES } from '../../shared/origin.js';
import type { Dispatchers } from '../dispatcher/dispatchers.js';
import type { RevisionPool } from '../dispatcher/revision-pool.js';
import { parseServiceHost } from '../naming.js';
import type { RouteTable } from '../route-table.js';
import { pickRevision, revisionForTag } from '../traffic.js';
import { scanHeaders, upstreamHeaders } from './headers.js';
import type { InboundHeaders } from './headers.js';
import type { InvokerCheck } from './invoker.js';
import { NodeProxyCall, sendError } from './proxy-call.js';
import type { CallEvents } from './proxy-call.js';
import { ClientConn } from './raw-conn.js';
import type { RawEngine } from './raw-conn.js';
import { rejectUpgrade, UpgradeCall } from './upgrade.js';
import { Upstreams } from './upstreams.js';
import { traceContextFor, traceHeaders } from '../../observability/structured/index.js';
import type { IdSource, TraceContext } from '../../observability/structured/index.js';

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
  /** Trace ids for requests that arrive without trace context. */
  traceIds?: IdSource;
  maxBodyBytes?: number;
  /** Longest wait for a slot while a revision is at max instances before 429 (default: the request timeout). */
  maxQueueWaitMs?: number;
  /** Serve service traffic on the raw HTTP/1.1 engine (default); false leaves every request to Node's http.Server. */
  rawEngine?: boolean;
  /** Who is at the other end of a connection (default: loopback is the host, nothing else is). */
  origins?: Origins;
}

/** Idle keep-alive connections are closed after this long (as Node's http.Server here). */
const IDLE_TIMEOUT_MS = 65_000;
/** A request head must arrive within this long. */
const HEAD_TIMEOUT_MS = 60_000;

interface Resolved {
  pool: RevisionPool;
  trace: TraceContext | undefined;
}

const NO_EVENTS: CallEvents = { ended: () => undefined };

export class FrontDoor {
  /** Node's HTTP server: kumo's own endpoints, and connections the raw engine hands over. */
  readonly server: Server;
  private readonly listener: NetServer;
  private readonly maxBody: number;
  private readonly events: CallEvents;
  private readonly upstreams = new Upstreams();
  private readonly conns = new Set<ClientConn>();
  private readonly engine: RawEngine;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly raw: boolean;
  private closed = false;

  constructor(private readonly o: FrontDoorOptions) {
    this.maxBody = o.maxBodyBytes ?? MAX_BODY_BYTES;
    this.events = o.events ?? NO_EVENTS;
    this.server = createServer({ requestTimeout: 0, headersTimeout: HEAD_TIMEOUT_MS, keepAliveTimeout: IDLE_TIMEOUT_MS }, (req, res) => this.onRequest(req, res));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
    // `Expect: 100-continue`: kumo's API says "continue" only once the caller is authorized;
    // everything else gets it at once, as Node's default does.
    this.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      if (!(req.url ?? '').startsWith('/api/')) res.writeContinue();
      this.onRequest(req, res);
    });
    this.server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    });
    this.engine = {
      maxBodyBytes: this.maxBody,
      maxQueueWaitMs: o.maxQueueWaitMs,
      events: this.events,
      upstreams: this.upstreams,
      now: () => o.now(),
      route: (h) => this.resolve(h),
      handOver: (socket) => {
        this.server.emit('connection', socket);
        socket.resume();
      },
      forget: (conn) => this.conns.delete(conn),
    };
    this.raw = o.rawEngine ?? true;
    this.listener = createNetServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  /** Serve a connection accepted elsewhere (the instances' gateway) as if it came to the front door's port. */
  accept(socket: Socket): void {
    if (this.closed) return void socket.destroy();
    socket.setNoDelay(true);
    if (this.raw) this.conns.add(new ClientConn(socket, this.engine));
    else this.server.emit('connection', socket);
  }

  /**
   * Who is calling on this connection, from the connection itself (never a header): for kumo's own
   * endpoints, and for request handling that depends on the caller (`internal` ingress).
   */
  originOf(socket: Socket): Promise<Origin> {
    return (this.o.origins ?? WITHOUT_INSTANCES).of(socket);
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.listener.once('error', reject);
      this.listener.listen(this.o.port, this.o.host, () => resolve());
    });
    // Node's server never listens itself; this starts its header-timeout checks.
    this.server.emit('listening');
    this.sweeper = setInterval(() => this.sweep(), 1000);
    this.sweeper.unref();
    return (this.listener.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    for (const c of this.conns) c.socket.destroy();
    this.conns.clear();
    this.upstreams.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    await new Promise<void>((resolve) => this.listener.close(() => resolve()));
  }

  private sweep(): void {
    const now = this.o.now();
    for (const c of this.conns) c.sweep(now, IDLE_TIMEOUT_MS, HEAD_TIMEOUT_MS);
    this.upstreams.sweep(now);
  }

  /** The revision a request for a service goes to, an error to answer, or undefined: kumo itself. */
  private resolve(h: InboundHeaders): Resolved | KumoError | undefined {
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
    // Trace context: the client's, or a new trace; either way kumo's span is the app's parent.
    const trace = this.o.traceIds ? traceContextFor(h.traceparent, h.cloudTraceContext, this.o.traceIds) : undefined;
    return { pool: this.o.dispatchers.pool(rev), trace };
  }

  /** `resolve` for Node's server, with the header list for undici. */
  private route(req: IncomingMessage, h: InboundHeaders, keepUpgrade: boolean): (Resolved & { headers: string[] }) | KumoError | undefined {
    const r = this.resolve(h);
    if (r === undefined || r instanceof KumoError) return r;
    const fwd = { remoteAddress: req.socket.remoteAddress ?? '', host: h.host ?? '', proto: 'http' as const };
    const headers = upstreamHeaders(req.rawHeaders, h, fwd, keepUpgrade, r.trace ? traceHeaders(r.trace) : undefined);
    return { ...r, headers };
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
    const call = new NodeProxyCall(req, res, routed.pool, routed.headers, body, this.maxBody, this.events, this.o.now(), h, routed.trace);
    call.start(routed.pool.settings.timeoutMs, this.o.maxQueueWaitMs);
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
