/**
 * Everything the plugins bring, assembled once: one proto Root, each RPC with its handler and auth
 * policy, the REST bindings for the transcoder, and the hand-written REST routes.
 */
import type protobuf from 'protobufjs';
import { KumoError } from '../shared/errors.js';
import type { AuthSettings } from './auth.js';
import type { CompiledTemplate } from './path-template.js';
import { compileTemplate } from './path-template.js';
import type { AuthPolicy, GoogleApiPlugin, RestRoute, UnaryHandler } from './plugin.types.js';
import { loadProtos } from './protos.js';
import { Transcoder, bindingsOf } from './transcoder.js';

export interface Rpc {
  /** `google.cloud.run.v2.Services.GetService`. */
  name: string;
  /** `google.cloud.run.v2.Services`. */
  service: string;
  method: protobuf.Method;
  requestType: protobuf.Type;
  responseType: protobuf.Type;
  handler: UnaryHandler | undefined;
  policy: AuthPolicy;
  plugin: string;
  /** Largest request this RPC's API takes (REST body or gRPC message). */
  maxRequestBytes: number;
}

export interface CompiledRestRoute {
  route: RestRoute;
  template: CompiledTemplate;
  policy: AuthPolicy;
  maxRequestBytes: number;
}

export interface Registry {
  root: protobuf.Root;
  rpcs: Map<string, Rpc>;
  transcoder: Transcoder;
  restRoutes: CompiledRestRoute[];
  auth: AuthSettings;
  /** By gRPC path, `/google.cloud.run.v2.Services/GetService`. */
  rpcsByPath: Map<string, Rpc>;
  /** The largest request any API takes (grpc-js's receive limit). */
  maxRequestBytes: number;
}

const STATUS_PROTOS = ['google/rpc/status.proto', 'google/rpc/error_details.proto'];

/** What an API takes when its plugin does not say (Cloud Run's request limit). */
export const DEFAULT_MAX_REQUEST_BYTES = 32 * 1024 * 1024;

export function buildRegistry(plugins: readonly GoogleApiPlugin[], auth: AuthSettings, defaultMaxRequestBytes = DEFAULT_MAX_REQUEST_BYTES): Registry {
  const root = loadProtos([
    ...plugins.map((p) => p.protos),
    { includeDirs: [], files: STATUS_PROTOS },
  ]);
  const rpcs = new Map<string, Rpc>();
  const services: string[] = [];
  const extraRules = plugins.flatMap((p) => p.httpRules ?? []);
  const restRoutes: CompiledRestRoute[] = [];
  for (const plugin of plugins) {
    const policyOf = (name: string): AuthPolicy => (typeof plugin.auth === 'function' ? plugin.auth(name) : plugin.auth);
    const maxRequestBytes = plugin.maxRequestBytes ?? defaultMaxRequestBytes;
    for (const serviceName of plugin.services) {
      if (services.includes(serviceName)) throw new KumoError('INTERNAL', `two plugins serve ${serviceName}`);
      services.push(serviceName);
      const svc = root.lookupService(serviceName);
      for (const method of svc.methodsArray) {
        const name = `${serviceName}.${method.name}`;
        rpcs.set(name, {
          name,
          service: serviceName,
          method,
          requestType: method.resolvedRequestType as protobuf.Type,
          responseType: method.resolvedResponseType as protobuf.Type,
          handler: plugin.handlers[name],
          policy: policyOf(name),
          plugin: plugin.name,
          maxRequestBytes,
        });
      }
    }
    for (const key of Object.keys(plugin.handlers)) {
      if (!rpcs.has(key)) throw new KumoError('INTERNAL', `plugin ${plugin.name} has a handler for ${key}, which is not an RPC of its services`);
    }
    for (const route of plugin.restRoutes ?? []) {
      restRoutes.push({ route, template: compileTemplate(route.template), policy: policyOf(route.id), maxRequestBytes });
    }
  }
  const transcoder = new Transcoder(root, bindingsOf(root, services, extraRules));
  const rpcsByPath = new Map([...rpcs.values()].map((r) => [`/${r.service}/${r.method.name}`, r]));
  const maxRequestBytes = Math.max(defaultMaxRequestBytes, ...plugins.map((p) => p.maxRequestBytes ?? 0));
  return { root, rpcs, transcoder, restRoutes, auth, rpcsByPath, maxRequestBytes };
}
