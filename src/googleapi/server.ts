/**
 * Google's API surface on one port: every connection is sniffed; one that opens with the HTTP/2
 * client preface goes to the gRPC server (cleartext h2, the official client libraries), anything
 * else to the HTTP/1.1 REST front (gcloud, the clients' REST fallback). Connections come from the
 * port's own listener or, handed over in-process, from the instances' gateway (`accept`); either
 * way each keeps its real peer, from which its origin is found.
 */
import * as grpc from '@grpc/grpc-js';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { BodyBudget } from '../shared/body-budget.js';
import type { ConnectionEnds, Origin, Origins } from '../shared/origin.js';
import { connectionKey, isLoopbackAddress, WITHOUT_INSTANCES } from '../shared/origin.js';
import type { AuthSettings } from './auth.js';
import { buildGrpcServer, grpcErrorOf } from './grpc-front.js';
import { GrpcGuard } from './grpc-guard.js';
import type { GoogleApiPlugin } from './plugin.types.js';
import { buildRegistry } from './registry.js';
import { restHandler } from './rest-front.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface GoogleApiServerOptions extends AuthSettings {
  /** Address to bind; binding beyond loopback is the caller's explicit choice. */
  host: string;
  /** 0 picks a free port. */
  port: number;
  plugins: readonly GoogleApiPlugin[];
  /** Largest request an API takes unless its plugin says otherwise (default 32 MiB). */
  maxBodyBytes?: number;
  /** Bounds every request body held in memory at once (shared with kumo's own API; default 256 MiB). */
  bodyBudget?: BodyBudget;
  /** Who is at the other end of a connection (default: loopback is the host, nothing else is). */
  origins?: Origins;
  /** Warnings and internal errors (default: stderr). */
  log?: (line: string) => void;
  /** Report every REST request (method, host, URL, body, status); for diagnosing clients. */
  traceRest?: (line: string) => void;
}

export interface GoogleApiServer {
  listen(): Promise<{ port: number }>;
  /** Serve a connection accepted elsewhere (the instances' gateway), keeping its peer. */
  accept(socket: Socket): void;
  close(): Promise<void>;
  /** gRPC calls whose message bytes were counted as they arrived (tests check the hook holds). */
  readonly grpcStreamsWatched: number;
}

export function createGoogleApiServer(options: GoogleApiServerOptions): GoogleApiServer {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const origins = options.origins ?? WITHOUT_INSTANCES;
  const budget = options.bodyBudget ?? new BodyBudget();
  const registry = buildRegistry(options.plugins, { authenticate: (token) => options.authenticate(token), openOnLoopback: options.openOnLoopback }, options.maxBodyBytes);
  // Live connections by their two ends, for the gRPC side (grpc-js tells a call its connection's ends, not its socket).
  const live = new Map<string, Socket>();
  const originOf = (ends: ConnectionEnds): Promise<Origin> => {
    const socket = live.get(connectionKey(ends));
    return socket ? origins.of(socket) : Promise.resolve({ kind: 'remote', address: ends.remoteAddress ?? '' });
  };
  const guard = new GrpcGuard({ registry, budget, originOf, statusOf: (err) => grpcErrorOf(registry, err, log), log });
  const grpcServer = buildGrpcServer(registry, guard, log);
  const injector = grpcServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const rest = restHandler(registry, {
    budget,
    originOf: (req) => origins.of(req.socket),
    log,
    ...(options.traceRest ? { trace: options.traceRest } : {}),
  });
  const http = createHttpServer({ keepAliveTimeout: 65_000 }, rest);
  // `Expect: 100-continue`: the go-ahead is given only once the call is authorized (readRequestBody).
  http.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => rest(req, res));
  const sockets = new Set<Socket>();
  // gcloud pointed at this port as its HTTP proxy tunnels https hosts through CONNECT; kumo only
  // answers its own APIs, so refuse those tunnels plainly instead of dropping the connection.
  http.on('connect', (req: IncomingMessage, socket: Socket) => {
    const target = req.url ?? '';
    options.traceRest?.(`CONNECT ${target} -> 501`);
    const text = `kumo's Google API port is not a general proxy; it cannot reach ${target}. Point only the API endpoints kumo serves (api_endpoint_overrides) at it.\n`;
    socket.end(`HTTP/1.1 501 Not Implemented\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
  });

  const route = (socket: Socket, seen: Buffer): void => {
    const h2 = seen.length >= PREFACE.length && seen.subarray(0, PREFACE.length).equals(PREFACE);
    socket.unshift(seen);
    if (h2) {
      // http2 takes over the socket's native handle and reads what is already buffered itself;
      // resuming the JS stream here would steal bytes from it.
      injector.injectConnection(socket);
    } else {
      http.emit('connection', socket);
      socket.resume();
    }
  };

  let listening = false;
  let closed = false;
  const accept = (socket: Socket): void => {
    if (closed) return void socket.destroy();
    const key = connectionKey(socket);
    sockets.add(socket);
    live.set(key, socket);
    socket.once('close', () => {
      sockets.delete(socket);
      if (live.get(key) === socket) live.delete(key);
    });
    socket.on('error', () => socket.destroy());
    let seen = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      seen = Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, PREFACE.length);
      const decided = n === PREFACE.length || !seen.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (!decided) return;
      socket.off('data', onData);
      socket.pause();
      route(socket, seen);
    };
    socket.on('data', onData);
  };
  const net = createNetServer(accept);

  return {
    accept,
    get grpcStreamsWatched() {
      return guard.streamsWatched;
    },
    async listen() {
      if (options.openOnLoopback) {
        log("googleapi: WARNING: the Google API port lets token-less calls from this machine's own processes deploy code (--api-open; never kumo's instances); use it for local emulation only");
      }
      await new Promise<void>((resolve, reject) => {
        net.once('error', reject);
        net.listen(options.port, options.host, () => {
          net.off('error', reject);
          resolve();
        });
      });
      listening = true;
      const address = net.address() as AddressInfo;
      if (!isLoopbackAddress(address.address) && address.address !== 'localhost') {
        log(`googleapi: listening on ${address.address}:${address.port}, beyond loopback`);
      }
      return { port: address.port };
    },
    async close() {
      closed = true;
      if (!listening) return;
      listening = false;
      injector.destroy();
      grpcServer.forceShutdown();
      for (const s of sockets) s.destroy();
      http.closeAllConnections();
      await new Promise<void>((resolve) => net.close(() => resolve()));
    },
  };
}

