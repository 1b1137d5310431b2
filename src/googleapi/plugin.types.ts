/**
 * What a Google service (Cloud Run now; Pub/Sub, Tasks, Scheduler, Cloud Build later) hands the
 * Google API port: its protos, a handler per RPC, optional extra REST bindings or hand-written
 * routes, and whether its calls need a kumo access token.
 */
import type { Origin } from '../shared/origin.js';
import type { Json, JsonObject } from './json.types.js';
import type { ProtoSet } from './protos.js';

/** Who called, as `authenticate` found from the bearer token. */
export interface Principal {
  subject: string;
  email?: string;
  /** True when no token was given and `openOnLoopback` let the call through. */
  anonymous?: boolean;
}

export interface CallContext {
  /** Full RPC name (`google.cloud.run.v2.Services.GetService`) or the REST route's id. */
  method: string;
  transport: 'grpc' | 'rest';
  /** Lower-cased request headers (gRPC metadata on the gRPC side). */
  headers: Readonly<Record<string, string>>;
  /** Host (REST `Host` header, gRPC `:authority`), e.g. `us-central1-run.kumo.test:8085`. */
  host: string;
  principal: Principal | undefined;
  /**
   * Who is at the other end of the connection, from the connection itself (never a header): a
   * host process, one of kumo's instances (which revision, which instance, which address), or a
   * remote peer. Found once per connection; for the metadata server and per-instance policy.
   */
  origin(): Promise<Origin>;
}

/** A unary RPC: the request and the response in proto3 JSON form (json names, int64 strings, enum names). */
export type UnaryHandler = (request: JsonObject, ctx: CallContext) => JsonObject | Promise<JsonObject>;

/** `token`: a kumo access token is required. `open`: anyone may call (emulator-style data planes). */
export type AuthPolicy = 'token' | 'open';

/** An extra google.api.http binding for an RPC (as a service's yaml `http.rules` adds). */
export interface ExtraHttpRule {
  selector: string;
  get?: string;
  put?: string;
  post?: string;
  delete?: string;
  patch?: string;
  body?: string;
}

export interface RestRequest {
  method: string;
  /** Decoded path variables by name. */
  params: Readonly<Record<string, string>>;
  query: URLSearchParams;
  /** The parsed JSON body (undefined when empty). */
  body: Json | undefined;
}

export interface RestResponse {
  status?: number;
  body: Json;
}

/** A hand-written REST route, for APIs with no proto (Cloud Run Admin v1, Knative-shaped). */
export interface RestRoute {
  id: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** A google.api.http path template: `/apis/serving.knative.dev/v1/namespaces/{namespace}/services/{name}`. */
  template: string;
  handle(req: RestRequest, ctx: CallContext): RestResponse | Promise<RestResponse>;
}

export interface GoogleApiPlugin {
  /** Short name for logs and errors: `run`, `operations`, `pubsub`. */
  name: string;
  protos: ProtoSet;
  /** Fully qualified gRPC services this plugin answers, e.g. `google.cloud.run.v2.Services`. */
  services: readonly string[];
  /** By full RPC name. RPCs of `services` without a handler answer UNIMPLEMENTED, naming the RPC. */
  handlers: Readonly<Record<string, UnaryHandler>>;
  httpRules?: readonly ExtraHttpRule[];
  restRoutes?: readonly RestRoute[];
  auth: AuthPolicy | ((method: string) => AuthPolicy);
  /**
   * Largest request this API takes, REST body or gRPC message (default: the server's, 32 MiB).
   * `open` APIs that take large messages (Pub/Sub publishes up to 10 MB) set their own; the
   * server-wide body budget bounds them all together.
   */
  maxRequestBytes?: number;
}
