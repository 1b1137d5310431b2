/**
 * The gRPC side: a grpc-js Server that never binds a port; connections are injected by the
 * port's sniffer. Bodies pass through as raw bytes so decoding errors become INVALID_ARGUMENT
 * naming the field, not grpc-js's generic INTERNAL. Every call is authorized by the guard
 * (`grpc-guard.ts`) before its message is read; a handler only runs a call the guard let in.
 */
import * as grpc from '@grpc/grpc-js';
import { KumoError, asKumoError } from '../shared/errors.js';
import { decodeToJson, encodeFromJson } from './binary-codec.js';
import type { GrpcGuard } from './grpc-guard.js';
import type { CallContext } from './plugin.types.js';
import type { Registry, Rpc } from './registry.js';
import { statusOf } from './status.js';

const identity = (b: Buffer): Buffer => b;

function headersOf(metadata: grpc.Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata.getMap())) {
    if (typeof v === 'string') out[k.toLowerCase()] = v;
  }
  return out;
}

export function grpcErrorOf(registry: Registry, error: unknown, log: (line: string) => void): Partial<grpc.StatusObject> {
  if (!(error instanceof KumoError)) log(`googleapi: internal error: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
  const status = statusOf(error);
  const metadata = new grpc.Metadata();
  const statusType = registry.root.lookupType('google.rpc.Status');
  try {
    metadata.set('grpc-status-details-bin', Buffer.from(encodeFromJson(registry.root, statusType, status)));
  } catch (err) {
    log(`googleapi: could not encode status details: ${asKumoError(err).message}`);
  }
  return { code: status['code'] as number, details: status['message'] as string, metadata };
}

function unaryHandler(registry: Registry, rpc: Rpc, guard: GrpcGuard, log: (line: string) => void): grpc.handleUnaryCall<Buffer, Buffer> {
  return (call, callback) => {
    void (async () => {
      try {
        const verdict = guard.verdictFor(call.metadata);
        // Fail closed: a call the guard did not see is not served.
        if (!verdict) throw new KumoError('INTERNAL', `${rpc.name} reached its handler without being authorized`);
        const headers = headersOf(call.metadata);
        if (!rpc.handler) throw unimplemented(rpc);
        const request = decodeToJson(registry.root, rpc.requestType, call.request);
        const ctx: CallContext = { method: rpc.name, transport: 'grpc', headers, host: call.getHost(), principal: verdict.principal, origin: verdict.origin };
        const response = await rpc.handler(request, ctx);
        callback(null, Buffer.from(encodeFromJson(registry.root, rpc.responseType, response)));
      } catch (err) {
        callback(grpcErrorOf(registry, err, log));
      }
    })();
  };
}

export function unimplemented(rpc: Rpc): KumoError {
  return new KumoError('UNIMPLEMENTED', `kumo does not implement ${rpc.name} yet`);
}

/** A grpc-js server with every plugin service added (unary RPCs; streaming ones answer UNIMPLEMENTED). */
export function buildGrpcServer(registry: Registry, guard: GrpcGuard, log: (line: string) => void): grpc.Server {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': registry.maxRequestBytes, interceptors: [guard.interceptor] });
  const byService = new Map<string, Rpc[]>();
  for (const rpc of registry.rpcs.values()) {
    const list = byService.get(rpc.service) ?? [];
    list.push(rpc);
    byService.set(rpc.service, list);
  }
  for (const [service, rpcs] of byService) {
    const definition: grpc.ServiceDefinition = {};
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const rpc of rpcs) {
      const streaming = Boolean(rpc.method.requestStream) || Boolean(rpc.method.responseStream);
      (definition as Record<string, grpc.MethodDefinition<Buffer, Buffer>>)[rpc.method.name] = {
        path: `/${service}/${rpc.method.name}`,
        requestStream: Boolean(rpc.method.requestStream),
        responseStream: Boolean(rpc.method.responseStream),
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      };
      implementation[rpc.method.name] = streaming ? streamingUnimplemented(registry, rpc, log) : unaryHandler(registry, rpc, guard, log);
    }
    server.addService(definition, implementation);
  }
  return server;
}

function streamingUnimplemented(registry: Registry, rpc: Rpc, log: (line: string) => void): grpc.UntypedHandleCall {
  const err = (): grpc.ServiceError => Object.assign(new Error(rpc.name), grpcErrorOf(registry, new KumoError('UNIMPLEMENTED', `kumo does not implement the streaming RPC ${rpc.name} yet`), log)) as grpc.ServiceError;
  if (rpc.method.requestStream && rpc.method.responseStream) return (call: grpc.ServerDuplexStream<Buffer, Buffer>) => call.destroy(err());
  if (rpc.method.requestStream) return (_call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(err());
  return (call: grpc.ServerWritableStream<Buffer, Buffer>) => call.destroy(err());
}
