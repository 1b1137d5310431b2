/**
 * Google's API surface on one port: every connection is sniffed; one that opens with the HTTP/2
 * client preface goes to the gRPC server (cleartext h2, the official client libraries), anything
 * else to the HTTP/1.1 REST front (gcloud, the clients' REST fallback).
 */
import * as grpc from '@grpc/grpc-js';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import type { AuthSettings } from './auth.js';
import { isLoopback } from './auth.js';
import { buildGrpcServer } from './grpc-front.js';
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
  /** Largest REST body accepted (default 32 MiB). */
  maxBodyBytes?: number;
  /** Warnings and internal errors (default: stderr). */
  log?: (line: string) => void;
  /** Report every REST request (method, host, URL, body, status); for diagnosing clients. */
  traceRest?: (line: string) => void;
}

export interface GoogleApiServer {
  listen(): Promise<{ port: number }>;
  close(): Promise<void>;
}

export function createGoogleApiServer(options: GoogleApiServerOptions): GoogleApiServer {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const registry = buildRegistry(options.plugins, { authenticate: (token) => options.authenticate(token), openOnLoopback: options.openOnLoopback });
  const grpcServer = buildGrpcServer(registry, log);
  const injector = grpcServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const http = createHttpServer({ keepAliveTimeout: 65_000 }, restHandler(registry, {
    maxBodyBytes: options.maxBodyBytes ?? 32 * 1024 * 1024,
    log,
    ...(options.traceRest ? { trace: options.traceRest } : {}),
  }));
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

  const net = createNetServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
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
  });

  let listening = false;
  return {
    async listen() {
      if (options.openOnLoopback) {
        log('googleapi: WARNING: the Google API port lets token-less calls from loopback deploy code (openOnLoopback); use it for local emulation only');
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
      if (!isLoopback(address.address) && address.address !== 'localhost') {
        log(`googleapi: listening on ${address.address}:${address.port}, beyond loopback`);
      }
      return { port: address.port };
    },
    async close() {
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

