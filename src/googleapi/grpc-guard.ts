/**
 * Every gRPC call passes this server interceptor (grpc-js 1.14's `interceptors` option) before
 * its message is read: the caller is authorized from the metadata and the connection's origin,
 * and only then may the message flow in, byte-counted against the API's limit and the
 * server-wide body budget as it arrives. A refused call gets its status and then RST_STREAM
 * (NO_ERROR), which tells the client to stop sending (RFC 9113 §8.1), so it can have sent at most
 * one HTTP/2 stream window (64 KiB) before the refusal.
 *
 * Counting bytes as they arrive needs the call's HTTP/2 stream, which grpc-js keeps on its base
 * call object (`stream`, not part of its typed API). When a grpc-js upgrade moves it, the guard
 * says so once and falls back to checking each message once it has arrived whole.
 */
import * as grpc from '@grpc/grpc-js';
import { constants as h2 } from 'node:http2';
import type { ServerHttp2Stream } from 'node:http2';
import type { BodyBudget, BodyLease } from '../shared/body-budget.js';
import { KumoError } from '../shared/errors.js';
import type { ConnectionEnds, Origin } from '../shared/origin.js';
import { authorize } from './auth.js';
import type { Principal } from './plugin.types.js';
import type { Registry, Rpc } from './registry.js';

export interface CallVerdict {
  principal: Principal | undefined;
  origin: () => Promise<Origin>;
}

export interface GrpcGuardOptions {
  registry: Registry;
  budget: BodyBudget;
  /** The origin of the connection a call arrived on. */
  originOf(ends: ConnectionEnds): Promise<Origin>;
  /** Maps an error to the status sent (google.rpc.Status details included). */
  statusOf(err: unknown): Partial<grpc.StatusObject>;
  log: (line: string) => void;
}

/** The call's HTTP/2 stream, where grpc-js 1.14 keeps it; undefined if it moved. */
function http2StreamOf(call: grpc.ServerInterceptingCallInterface): ServerHttp2Stream | undefined {
  const s = (call as unknown as { stream?: unknown }).stream;
  if (!s || typeof s !== 'object') return undefined;
  const stream = s as ServerHttp2Stream;
  return typeof stream.close === 'function' && typeof stream.on === 'function' && 'session' in stream ? stream : undefined;
}

function first(metadata: grpc.Metadata, key: string): string | undefined {
  const v = metadata.get(key)[0];
  return typeof v === 'string' ? v : undefined;
}

function tooLarge(rpc: Rpc, got: string): KumoError {
  return new KumoError('RESOURCE_EXHAUSTED', `the ${rpc.name} request is ${got}; this API takes messages of at most ${rpc.maxRequestBytes} bytes`);
}

export class GrpcGuard {
  /** Verdicts by the metadata object, which grpc-js hands on to the handler as `call.metadata`. */
  private readonly verdicts = new WeakMap<grpc.Metadata, CallVerdict>();
  private warned = false;
  /** Calls whose bytes were counted as they arrived (for tests: proves the stream hook works). */
  streamsWatched = 0;

  constructor(private readonly o: GrpcGuardOptions) {}

  /** What the interceptor decided for this call; undefined means it was never checked. */
  verdictFor(metadata: grpc.Metadata): CallVerdict | undefined {
    return this.verdicts.get(metadata);
  }

  readonly interceptor: grpc.ServerInterceptor = (descriptor, call) => {
    const { registry, budget } = this.o;
    const rpc = registry.rpcsByPath.get(descriptor.path);
    const stream = http2StreamOf(call);
    if (!stream && !this.warned) {
      this.warned = true;
      this.o.log('googleapi: grpc-js does not expose the HTTP/2 stream of a call here; gRPC messages are checked against size limits only once received whole');
    }
    const streaming = Boolean(descriptor.requestStream);
    let lease: BodyLease = budget.lease();
    let wireBytes = 0;
    let refused = false;
    stream?.once('close', () => lease.release());
    const refuse = (err: unknown): void => {
      if (refused) return;
      refused = true;
      const status = this.o.statusOf(err);
      call.sendStatus({ code: status.code ?? grpc.status.INTERNAL, details: status.details ?? '', metadata: status.metadata ?? null });
      // The answer is complete; RST_STREAM(NO_ERROR) asks the client to stop sending the rest.
      if (stream && !stream.destroyed) stream.close(h2.NGHTTP2_NO_ERROR);
      lease.release();
    };
    const onData = (chunk: Buffer): void => {
      if (refused || !rpc) return;
      wireBytes += chunk.length;
      // 5 bytes of gRPC framing per message.
      if (wireBytes > rpc.maxRequestBytes + 5) refuse(tooLarge(rpc, `over ${rpc.maxRequestBytes} bytes`));
      else if (!lease.take(chunk.length)) refuse(lease.exhausted());
    };
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, mdNext) => {
            if (!rpc) return refuse(new KumoError('INTERNAL', `no RPC is registered at ${descriptor.path}`));
            let origin: Promise<Origin> | undefined;
            const originOnce = (): Promise<Origin> => (origin ??= this.o.originOf(call.getConnectionInfo()));
            authorize(rpc.policy, first(metadata, 'authorization'), originOnce, registry.auth, rpc.name).then(
              (principal) => {
                if (refused) return;
                this.verdicts.set(metadata, { principal, origin: originOnce });
                if (stream) {
                  this.streamsWatched++;
                  stream.on('data', onData);
                }
                // Only now does grpc-js start reading the message.
                mdNext(metadata);
              },
              refuse,
            );
          },
          onReceiveMessage: (message: unknown, msgNext) => {
            if (refused || !rpc) return;
            const size = Buffer.isBuffer(message) ? message.length : 0;
            // A compressed message is larger than what crossed the wire: count the difference too.
            if (size > rpc.maxRequestBytes) return refuse(tooLarge(rpc, `${size} bytes`));
            if (size > wireBytes && !lease.take(size - wireBytes)) return refuse(lease.exhausted());
            if (streaming) {
              // Each message of a stream is the handler's once delivered; the next one starts afresh.
              lease.release();
              lease = budget.lease();
              wireBytes = 0;
            }
            msgNext(message);
          },
        }),
    });
  };
}
